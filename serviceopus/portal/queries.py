"""Everything a customer may see of their job, and nothing more.

Each read here picks the customer-facing fields on purpose: no internal notes, costs, crew notes,
pause reasons, office timeline or hidden documents ever reach a portal template, because the template
only gets what these functions return. The job page and its progress fragment cost a fixed number of
queries whatever the job holds (visits, documents, invoices, messages)."""

import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from serviceopus.billing.models import BillingSettings, Invoice
from serviceopus.billing.status import ISSUED_STATES
from serviceopus.closeout.models import Document
from serviceopus.closeout.views.documents import TYPE_LABELS
from serviceopus.crew.models import Technician
from serviceopus.dispatch.models import CrewMember, Visit
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging.eta import eta_for, eta_text
from serviceopus.messaging.models import ApprovalRequest, CustomerMessage, MessagingSettings
from serviceopus.messaging.outbox import window_text

V = VisitStatus
# From these on, the service report exists and is the customer's to read.
REPORT_STATUSES = (JobStatus.WORK_COMPLETE, JobStatus.INVOICED, JobStatus.CLOSED)
# The crew is out for this visit: it is the one the customer follows.
LIVE = (V.EN_ROUTE, V.ARRIVED, V.WORKING, V.PAUSED)
FINISHED = (V.DEPARTED, V.COMPLETED)
# Where each visit status stands on the customer's step list (paused is still "work in progress":
# why the crew paused is the office's business).
STEP_OF = {V.SCHEDULED: 0, V.EN_ROUTE: 1, V.ARRIVED: 2, V.WORKING: 3, V.PAUSED: 3, V.DEPARTED: 4, V.COMPLETED: 4}
STEPS = (("scheduled", "Scheduled"), ("on_the_way", "On the way"), ("arrived", "Arrived"), ("working", "Work in progress"), ("completed", "Completed"))
# The photo formats a technician's picture may be served as (anything else is not shown).
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#1d4ed8"


# ---- the company (every portal page's header) ------------------------------------------------------------


def branding() -> dict[str, str]:
    """The company's name, phone and colour (two queries)."""
    return _branding(BillingSettings.current(), MessagingSettings.current())


def _branding(company: BillingSettings, messaging: MessagingSettings) -> dict[str, str]:
    # The colour goes into CSS, where HTML escaping does not protect: anything but #rrggbb falls back.
    color = messaging.brand_color
    return {
        "company_name": company.company_name,
        "company_phone": company.company_phone,
        "brand_color": color if _COLOR.match(color or "") else DEFAULT_COLOR,
    }


# ---- progress ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    state: str  # "done", "current" or "todo"
    detail: str = ""


@dataclass(frozen=True)
class Progress:
    steps: list[Step]
    visit: Visit | None
    window: str
    technician_name: str
    technician_photo_id: int | None
    eta: str
    cancelled: bool
    finished: bool  # nothing left to follow: the page stops polling
    report_ready: bool
    return_pending: bool  # the last visit ended with "we'll come back", none booked yet


def _time(at: datetime | None) -> str:
    return f"{timezone.localtime(at):%H:%M}" if at else ""


def job_visits(job: Job) -> list[Visit]:
    """The job's visits the customer can know of (booked, not cancelled), in time order, each with its
    crew and their users: two queries."""
    crew = Prefetch("crew", queryset=CrewMember.objects.select_related("technician__user").order_by("-is_lead", "id"))
    qs = Visit.objects.filter(job=job, scheduled_start__isnull=False).exclude(status__in=(V.CANCELLED, V.UNSCHEDULED))
    return list(qs.prefetch_related(crew).order_by("scheduled_start", "number", "id"))


def current_visit(visits: list[Visit]) -> Visit | None:
    """The visit the customer follows: one the crew is out for, else the next booked one, else the
    last one that ended."""
    for wanted in (LIVE, (V.SCHEDULED,)):
        for visit in visits:
            if visit.status in wanted:
                return visit
    ended = [v for v in visits if v.status in FINISHED]
    return ended[-1] if ended else None


def _lead(visit: Visit | None) -> Technician | None:
    if visit is None:
        return None
    crew = list(visit.crew.all())  # prefetched, lead first
    return crew[0].technician if crew else None


def progress(job: Job, visits: list[Visit], *, speed_kmh: int) -> Progress:
    """The step list Scheduled → On the way → Arrived → Work in progress → Completed for the visit the
    customer follows, from visit statuses and their time stamps only. No queries: `job` comes with its
    location, `visits` from job_visits()."""
    visit = current_visit(visits)
    report_ready = job.status in REPORT_STATUSES
    cancelled = job.status == JobStatus.CANCELLED
    technician = _lead(visit)
    name = (technician.user.first_name or technician.name) if technician else ""
    if visit is not None:
        visit.job = job  # eta_for reads the location; the job at hand has it
    at = 5 if report_ready else (STEP_OF.get(visit.status, 0) if visit else -1)
    eta = eta_text(eta_for(visit, speed_kmh=speed_kmh)) if visit is not None and visit.status == V.EN_ROUTE else ""
    if visit is not None and visit.status == V.SCHEDULED and visit.eta and timezone.localdate(visit.eta) == timezone.localdate():
        eta = eta_text(visit.eta)  # today's booked visit: the arrival predicted from the crew's day so far
    details = {
        "scheduled": window_text(visit) if visit else "We will let you know as soon as your visit is booked.",
        "on_the_way": "",
        "arrived": "",
        "working": "",
        "completed": "",
    }
    if visit is not None:
        who = name or "Your technician"
        if visit.status == V.EN_ROUTE:
            details["on_the_way"] = f"{who} is on the way" + (f", arriving around {eta}" if eta else "") + "."
        elif visit.en_route_at and at > 1:
            details["on_the_way"] = f"Left at {_time(visit.en_route_at)}"
        if visit.arrived_at and at >= 2:
            details["arrived"] = f"At {_time(visit.arrived_at)}"
        if visit.status in (V.WORKING, V.PAUSED):
            details["working"] = "The work is under way."
        if visit.status in FINISHED and not report_ready:
            details["completed"] = f"Visit finished at {_time(visit.departed_at or visit.completed_at)}"
    if report_ready:
        details["completed"] = "The work is complete."
    return_pending = (
        not report_ready
        and visit is not None
        and visit.status == V.COMPLETED
        and visit.outcome == Outcome.RETURN_NEEDED
        and not any(v.status == V.SCHEDULED for v in visits)
    )
    steps = []
    for index, (key, label) in enumerate(STEPS):
        if index < at or (index == at == 4):
            state = "done"
        elif index == at:
            state = "current"
        else:
            state = "todo"
        steps.append(Step(key, label, state, details[key]))
    return Progress(
        steps=steps,
        visit=visit,
        window=window_text(visit) if visit and visit.status == V.SCHEDULED else "",
        technician_name=name,
        technician_photo_id=technician.pk if technician and technician.photo else None,
        eta=eta,
        cancelled=cancelled,
        finished=cancelled or report_ready,
        report_ready=report_ready,
        return_pending=return_pending,
    )


# ---- what the page lists ------------------------------------------------------------------------------------


def customer_documents(job: Job) -> QuerySet[Document]:
    """Documents and photos the office marked customer-visible, newest first."""
    return Document.objects.filter(job=job, customer_visible=True).order_by("-uploaded_at", "-id")


def customer_document(job: Job, document_id: int) -> Document:
    document = customer_documents(job).filter(pk=document_id).first()
    if document is None:
        raise Http404("No such document.")
    return document


def customer_invoices(job: Job) -> QuerySet[Invoice]:
    """The job's issued invoices (drafts are not the customer's yet; a void one is no longer owed)."""
    return Invoice.objects.filter(jobs=job, kind=Invoice.Kind.INVOICE, status__in=ISSUED_STATES).order_by("issue_date", "id")


def customer_invoice(job: Job, invoice_id: int) -> Invoice:
    invoice = customer_invoices(job).select_related("customer", "credits").filter(pk=invoice_id).first()
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def pending_approvals(job: Job) -> list[ApprovalRequest]:
    return list(ApprovalRequest.objects.filter(job=job, status=ApprovalRequest.Status.PENDING).order_by("number"))


def thread(job: Job) -> list[CustomerMessage]:
    """The customer's conversation with the office, oldest first (the newest sits above the box)."""
    return list(CustomerMessage.objects.filter(job=job).only("job_id", "direction", "body", "author_name", "created_at").order_by("created_at", "id"))


def crew_technician(job: Job, technician_id: int) -> Technician:
    """A technician on one of this job's (booked) visits, else Http404: a photo is shown only to the
    customers this technician works for."""
    place = (
        CrewMember.objects.filter(technician_id=technician_id, visit__job=job)
        .exclude(visit__status__in=(V.CANCELLED, V.UNSCHEDULED))
        .select_related("technician")
        .first()
    )
    technician = place.technician if place else None
    if technician is None or not technician.photo:
        raise Http404("No such photo.")
    return technician


def photo_content_type(name: str) -> str:
    """The image type of a stored photo by its name, or '' for anything that is not an image we show."""
    guessed = mimetypes.guess_type(name)[0] or ""
    return guessed if guessed in PHOTO_TYPES else ""


def messages_context(job: Job) -> dict[str, Any]:
    return {"thread": thread(job)}


def page_context(job: Job) -> dict[str, Any]:
    """The job page: branding, the job's address and scope, progress, documents, the report, invoices,
    approvals waiting and the thread. Eight queries (two more on the first call ever, when the
    settings rows are created), whatever the job holds."""
    messaging = MessagingSettings.current()
    documents = list(customer_documents(job))
    for d in documents:
        d.type_label = TYPE_LABELS.get(d.content_type, ("FILE", ""))[0]  # type: ignore[attr-defined]
    return {
        **_branding(BillingSettings.current(), messaging),
        "scope": short_scope(job.scope),
        "address": job.location.one_line,
        "progress": progress(job, job_visits(job), speed_kmh=messaging.travel_speed_kmh),
        "photos": [d for d in documents if d.kind == Document.Kind.PHOTO],
        "files": [d for d in documents if d.kind != Document.Kind.PHOTO],
        "invoices": list(customer_invoices(job)),
        "approvals": pending_approvals(job),
        **messages_context(job),
    }


def progress_context(job: Job) -> dict[str, Any]:
    """The progress fragment alone: three queries (the settings, the visits, their crews)."""
    settings = MessagingSettings.current()
    return {"progress": progress(job, job_visits(job), speed_kmh=settings.travel_speed_kmh)}


def short_scope(scope: str, limit: int = 280) -> str:
    """The scope's first paragraph, cut at a word near `limit`: what the job is about, not the notes
    the office wrote under it."""
    first = (scope or "").replace("\r\n", "\n").strip().split("\n\n")[0].strip()
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0] + "…"
