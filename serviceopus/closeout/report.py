"""The service report: one PDF that says what was done on a job — scope, visits and crew, checklist
results, photos, materials, time, charges, the closeout state and the signatures — rendered from the
models with WeasyPrint.

Internal notes are never part of it: the report goes to the customer. The office's cost of the work is
left out for the same reason.

Files (photos, signature images) are embedded through `JobFileFetcher`: the HTML names each file by
an opaque `job-file:<n>` URL that the fetcher maps to a stored file of this job. Nothing else is
fetched — no network, no local paths — whatever the HTML holds."""

import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.field.models import TimeEntry
from serviceopus.jobs import queries as job_queries
from serviceopus.jobs.models import Job, LineItem

from . import signing
from .blockers import closeout_state
from .checklist_rules import Checklist, is_answered, job_checklists, out_of_range
from .models import ChecklistAnswer, Document, DocumentTag, ItemKind, MaterialsConfirmation, Signature

TEMPLATE = "closeout/report/service_report.html"
PAGE_SIZES = ("Letter", "A4")
# The photo tags a customer's report shows, in this order (permits and "other" stay in the workspace).
REPORT_TAGS = (DocumentTag.BEFORE, DocumentTag.AFTER, DocumentTag.NAMEPLATE, DocumentTag.DAMAGE)
FILE_SCHEME = "job-file:"


# ---- embedded files ------------------------------------------------------------------------------------


class JobFiles:
    """The stored files one report embeds, each under an opaque URL. Only files added here (this job's
    documents and signatures, chosen by the code below) can reach the PDF."""

    def __init__(self) -> None:
        self._by_url: dict[str, tuple[str, str]] = {}
        self._by_name: dict[str, str] = {}

    def add(self, name: str, content_type: str = "") -> str:
        if not name:
            return ""
        if name not in self._by_name:
            url = f"{FILE_SCHEME}{len(self._by_name) + 1}"
            self._by_name[name] = url
            self._by_url[url] = (name, content_type or mimetypes.guess_type(name)[0] or "application/octet-stream")
        return self._by_name[name]

    def get(self, url: str) -> tuple[str, str] | None:
        return self._by_url.get(url)

    def __len__(self) -> int:
        return len(self._by_url)


class JobFileFetcher(URLFetcher):
    """WeasyPrint's fetcher for the report: serves the registered files from default storage and
    refuses every other URL (WeasyPrint then leaves the image out with its alt text)."""

    def __init__(self, files: JobFiles) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self.files = files

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        entry = self.files.get(url)
        if entry is None:
            raise ValueError(f"The service report embeds only the job's own files, not {url[:100]!r}.")
        name, content_type = entry
        with default_storage.open(name, "rb") as handle:
            data = handle.read()
        return URLFetcherResponse(url, data, {"Content-Type": content_type})


# ---- the rows the template shows -------------------------------------------------------------------------


def quantity_text(value: Decimal | None) -> str:
    """1.000 → "1", 2.500 → "2.5"."""
    return "" if value is None else f"{Decimal(value).normalize():f}"


@dataclass
class VisitRow:
    visit: Visit
    lead: str
    helpers: list[str]
    on_site_minutes: int | None
    result: str


@dataclass
class ChecklistRow:
    label: str
    required: bool
    answered: bool
    value: str
    expected: str
    out_of_range: bool = False
    photo_src: str = ""
    answered_by: str = ""
    answered_at: Any = None


@dataclass
class ChecklistBlock:
    name: str
    version: int
    status: str
    answered: int
    total: int
    rows: list[ChecklistRow]

    @property
    def out_of_range_count(self) -> int:
        return sum(1 for r in self.rows if r.out_of_range)


@dataclass
class PhotoRow:
    src: str
    tag: str
    caption: str
    uploaded_at: Any
    visit_number: int | None


@dataclass
class TechnicianTime:
    name: str
    travel_minutes: int = 0
    work_minutes: int = 0
    entries: int = 0
    pending: int = 0
    running: int = 0

    @property
    def total_minutes(self) -> int:
        return self.travel_minutes + self.work_minutes

    @property
    def review(self) -> str:
        if self.running:
            return f"{self.running} running"
        if self.pending:
            return f"{self.pending} to review"
        return "Approved"


@dataclass
class SignatureRow:
    signature: Signature
    src: str
    stale: bool
    signed_subtotal_cents: int | None


@dataclass
class TimeSummary:
    entries: list[TimeEntry]
    technicians: list[TechnicianTime] = field(default_factory=list)

    @property
    def travel_minutes(self) -> int:
        return sum(t.travel_minutes for t in self.technicians)

    @property
    def work_minutes(self) -> int:
        return sum(t.work_minutes for t in self.technicians)

    @property
    def total_minutes(self) -> int:
        return self.travel_minutes + self.work_minutes

    @property
    def all_approved(self) -> bool:
        return all(t.pending == 0 and t.running == 0 for t in self.technicians)


def _visits(job: Job) -> list[VisitRow]:
    visits = Visit.objects.filter(job=job).exclude(status=VisitStatus.CANCELLED).prefetch_related("crew__technician__user").order_by("number", "id")
    rows = []
    for visit in visits:
        crew = list(visit.crew.all())
        lead = next((c.technician.name for c in crew if c.is_lead), "")
        helpers = [c.technician.name for c in crew if not c.is_lead]
        on_site = None
        if visit.arrived_at and visit.departed_at and visit.departed_at >= visit.arrived_at:
            on_site = round((visit.departed_at - visit.arrived_at).total_seconds() / 60)
        if visit.status == VisitStatus.COMPLETED and visit.outcome:
            result = "Work finished" if visit.outcome == Outcome.FINISHED else "Return visit needed"
        elif visit.status == VisitStatus.UNSCHEDULED:
            result = "To be scheduled"
        else:
            result = VisitStatus(visit.status).label
        rows.append(VisitRow(visit, lead, helpers, on_site, result))
    return rows


def _answer_text(item: dict, answer: ChecklistAnswer) -> str:
    kind = item["kind"]
    if kind == ItemKind.YES_NO:
        return "Yes" if answer.value_bool else "No"
    if kind == ItemKind.NUMBER:
        value = quantity_text(answer.value_number)
        return f"{value} {item['unit']}".strip()
    if kind == ItemKind.PHOTO:
        return "Photo taken"
    return answer.value_text.strip()


def _expected_text(item: dict) -> str:
    kind = item["kind"]
    if kind == ItemKind.NUMBER:
        unit = f" {item['unit']}" if item.get("unit") else ""
        low, high = item.get("min"), item.get("max")
        low_text = quantity_text(Decimal(low)) if low is not None else None
        high_text = quantity_text(Decimal(high)) if high is not None else None
        if low_text is not None and high_text is not None:
            return f"{low_text}–{high_text}{unit}"
        if low_text is not None:
            return f"at least {low_text}{unit}"
        if high_text is not None:
            return f"at most {high_text}{unit}"
        return item.get("unit", "")
    if kind == ItemKind.CHOICE:
        return " / ".join(item.get("choices") or [])
    if kind == ItemKind.YES_NO:
        return "Yes / no"
    return ""


def _checklists(job: Job, files: JobFiles) -> list[ChecklistBlock]:
    blocks = []
    for checklist in job_checklists(job):
        rows = [_checklist_row(job, item, checklist, files) for item in checklist.items]
        if checklist.run is None:
            status = "Not started"
        elif checklist.run.status == checklist.run.Status.COMPLETE:
            status = "Complete"
        else:
            status = "In progress"
        blocks.append(ChecklistBlock(checklist.name, checklist.version, status, checklist.answered_count, len(checklist.items), rows))
    return blocks


def _checklist_row(job: Job, item: dict, checklist: Checklist, files: JobFiles) -> ChecklistRow:
    answer = checklist.answers.get(item["key"])
    row = ChecklistRow(label=item["label"], required=bool(item["required"]), answered=is_answered(item, answer), value="", expected=_expected_text(item))
    if answer is None or not row.answered:
        return row
    row.value = _answer_text(item, answer)
    if item["kind"] == ItemKind.NUMBER and answer.value_number is not None:
        row.out_of_range = answer.out_of_range or out_of_range(item, answer.value_number)
    document = answer.document
    if item["kind"] == ItemKind.PHOTO and document is not None and document.job_id == job.pk and document.kind == Document.Kind.PHOTO:
        row.photo_src = files.add(document.file.name, document.content_type)
    row.answered_by = answer.answered_by.display_name if answer.answered_by else ""
    row.answered_at = answer.answered_at
    return row


def _photos(job: Job, files: JobFiles) -> list[PhotoRow]:
    order = {tag: i for i, tag in enumerate(REPORT_TAGS)}
    docs = Document.objects.filter(job=job, kind=Document.Kind.PHOTO, tag__in=REPORT_TAGS).select_related("visit")
    photos = sorted(docs, key=lambda d: (order[DocumentTag(d.tag)], d.uploaded_at, d.pk))
    return [
        PhotoRow(
            src=files.add(d.file.name, d.content_type),
            tag=DocumentTag(d.tag).label,
            caption=d.caption,
            uploaded_at=d.uploaded_at,
            visit_number=d.visit.number if d.visit else None,
        )
        for d in photos
    ]


def _time(job: Job) -> TimeSummary:
    # A corrected entry was replaced by its correction: count the correction only.
    entries = list(TimeEntry.objects.filter(job=job).exclude(review=TimeEntry.Review.CORRECTED).select_related("technician__user").order_by("start", "id"))
    by_technician: dict[int, TechnicianTime] = {}
    for entry in entries:
        row = by_technician.setdefault(entry.technician_id, TechnicianTime(entry.technician.name))
        row.entries += 1
        if entry.end is None:
            row.running += 1
        elif entry.review == TimeEntry.Review.PENDING:
            row.pending += 1
        minutes = entry.minutes or 0
        if entry.kind == TimeEntry.Kind.TRAVEL:
            row.travel_minutes += minutes
        else:
            row.work_minutes += minutes
    return TimeSummary(entries, sorted(by_technician.values(), key=lambda t: t.name.lower()))


def _signatures(job: Job, files: JobFiles) -> list[SignatureRow]:
    current = signing.current_hash(job)
    rows = []
    for signature in Signature.objects.filter(job=job).order_by("signed_at", "id"):
        totals = signature.content.get("totals") if isinstance(signature.content, dict) else None
        subtotal = totals.get("subtotal_cents") if isinstance(totals, dict) else None
        rows.append(
            SignatureRow(
                signature=signature,
                src=files.add(signature.image.name),
                stale=signature.content_sha256 != current,
                signed_subtotal_cents=subtotal if isinstance(subtotal, int) else None,
            )
        )
    return rows


def _line_groups(items: Iterable[LineItem]) -> tuple[list[LineItem], list[LineItem]]:
    materials, others = [], []
    for item in items:
        (materials if item.kind == LineItem.Kind.MATERIAL else others).append(item)
    return materials, others


def service_report_context(job: Job, *, files: JobFiles | None = None, page_size: str = "Letter") -> dict[str, Any]:
    """Everything the report template shows, read from the models. `files` collects the files the
    PDF embeds (render_service_report hands them to the fetcher)."""
    files = files if files is not None else JobFiles()
    job = Job.objects.select_related("customer", "location", "contact", "job_type").get(pk=job.pk)
    items, totals = job_queries.line_items_with_totals(job)
    materials, other_lines = _line_groups(items)
    states = closeout_state(job)
    visits = _visits(job)
    return {
        "company_name": settings.COMPANY_NAME,
        "page_size": page_size if page_size in PAGE_SIZES else PAGE_SIZES[0],
        "generated_at": timezone.now(),
        "job": job,
        "customer": job.customer,
        "location": job.location,
        "contact": job.contact,
        "assets": list(job.assets.order_by("name", "id")),
        "visits": visits,
        "completed_visits": sum(1 for v in visits if v.visit.status == VisitStatus.COMPLETED),
        "checklists": _checklists(job, files),
        "photos": _photos(job, files),
        "materials": [(m, quantity_text(m.quantity)) for m in materials],
        "materials_total_cents": sum(m.total_cents for m in materials),
        "no_materials": MaterialsConfirmation.objects.filter(job=job).select_related("confirmed_by").first() if not materials else None,
        "other_lines": [(line, quantity_text(line.quantity)) for line in other_lines],
        "totals": totals,
        "time": _time(job),
        "requirements": states,
        "open_requirements": sum(1 for s in states if s.state == "open"),
        "signatures": _signatures(job, files),
    }


def render_service_report(job: Job, *, page_size: str = "Letter") -> bytes:
    """The report as PDF bytes. Files reach WeasyPrint only through JobFileFetcher."""
    files = JobFiles()
    html = render_to_string(TEMPLATE, service_report_context(job, files=files, page_size=page_size))
    pdf = HTML(string=html, base_url=FILE_SCHEME, url_fetcher=JobFileFetcher(files)).write_pdf()
    assert pdf is not None
    return pdf


def report_filename(job: Job) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in job.number)
    return f"{safe}-service-report.pdf"
