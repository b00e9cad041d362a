"""Every read the job pages and the API need. Each list reads a fixed number of queries whatever the
row count, and `access_job_for_user` fetches and authorises in one step."""

import dataclasses
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.crew.models import Technician

from . import search
from .dependencies import with_waiting_on
from .models import Job, JobEvent, JobTechnician, JobType, LineItem, Tag
from .pagination import Page, SortKey, paginate
from .status import BOARD_COLUMNS, OPEN_STATUSES, JobStatus

LIST_PAGE_SIZE = 25
BOARD_CARDS_PER_COLUMN = 15  # the most urgent; the column links to the full list
COUNT_CAP = 1000  # counts above this show as "1,000+": an exact count of a million rows costs a scan
TIMELINE_LIMIT = 100


def jobs_visible_to(user: User) -> QuerySet[Job]:
    """All jobs for office roles; only the jobs assigned to them for technicians."""
    qs = Job.objects.all()
    if user.has_perm("jobs.view_all_jobs"):
        return qs
    technician = Technician.objects.filter(user=user).first()
    if technician is None:
        return qs.none()
    # EXISTS per job, not `pk IN (subquery)` or a join: the page is read from the jobs' own index in
    # list order, each job checked against the (job, technician) unique index, and reading stops after
    # a page. The other forms make SQLite gather and sort every job the technician ever had.
    return qs.filter(Exists(JobTechnician.objects.filter(job=OuterRef("pk"), technician=technician)))


def access_job_for_user(user: User, job_id: int) -> Job:
    """The job with what its header needs, or Http404 when this user may not see it."""
    return get_object_or_404(
        jobs_visible_to(user).select_related("customer", "location", "contact", "job_type", "created_by"),
        pk=job_id,
    )


def access_job_card_for_user(user: User, job_id: int) -> Job:
    """The job with what a board card and the quick-info popover show (customer, address, type,
    technicians, tags: three queries), or Http404 when this user may not see it."""
    return get_object_or_404(_with_card_data(jobs_visible_to(user)), pk=job_id)


def line_item_of_job(job: Job, item_id: int) -> LineItem:
    """A line item of this job (the job already authorised), or Http404."""
    return get_object_or_404(LineItem.objects.filter(job_id=job.pk), pk=item_id)


def visible_job_numbers(user: User, job_ids: list[int]) -> dict[int, str]:
    """id → number for those of `job_ids` this user may see (one query); others are left out."""
    return dict(jobs_visible_to(user).filter(pk__in=job_ids).values_list("pk", "number"))


# ---- list and board filters -------------------------------------------------------------------------

SORTS: dict[str, tuple[str, list[SortKey]]] = {
    "newest": ("Newest first", [SortKey("id", True)]),
    "oldest": ("Oldest first", [SortKey("id", False)]),
    "priority": ("Priority", [SortKey("priority", True), SortKey("id", True)]),
    "next_visit": ("Next visit (scheduled jobs)", [SortKey("next_visit_at", False), SortKey("id", False)]),
}


@dataclass
class JobFilters:
    q: str = ""
    statuses: list[str] = field(default_factory=list)
    priorities: list[int] = field(default_factory=list)
    job_type_id: int | None = None
    technician_id: int | None = None
    tag: str = ""
    date_from: date | None = None
    date_to: date | None = None
    parts: str = ""  # a PartsReadiness value: "blocked" lists the jobs blocked by parts
    sort: str = "newest"

    def is_empty(self) -> bool:
        return not (
            self.q or self.statuses or self.priorities or self.job_type_id or self.technician_id or self.tag or self.date_from or self.date_to or self.parts
        )


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def filter_jobs(qs: QuerySet[Job], f: JobFilters) -> QuerySet[Job]:
    if f.statuses:
        qs = qs.filter(status__in=f.statuses)
    if f.priorities:
        qs = qs.filter(priority__in=f.priorities)
    if f.job_type_id:
        qs = qs.filter(job_type_id=f.job_type_id)
    if f.parts:
        qs = qs.filter(parts_readiness=f.parts)
    if f.technician_id:
        qs = qs.filter(pk__in=Job.technicians.through.objects.filter(technician_id=f.technician_id).values("job_id"))
    if f.tag:
        qs = qs.filter(pk__in=Job.tags.through.objects.filter(tag__name=f.tag.lower()).values("job_id"))
    if f.date_from:
        qs = qs.filter(next_visit_at__gte=_day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(next_visit_at__lt=_day_start(f.date_to + timedelta(days=1)))
    if f.sort == "next_visit":
        qs = qs.filter(next_visit_at__isnull=False)
    if f.q:
        qs = search.filter_by_text(qs, f.q)
    return qs


def _with_card_data(qs: QuerySet[Job]) -> QuerySet[Job]:
    # `waiting_on` (the first open prerequisite's number) is a subquery of the same read: the "Waiting
    # on …" badge costs no query.
    return with_waiting_on(qs.select_related("customer", "location", "job_type")).prefetch_related(
        Prefetch("technicians", queryset=Technician.objects.select_related("user")),
        "tags",
    )


def job_list_page(user: User, f: JobFilters, *, cursor: str | None, size: int = LIST_PAGE_SIZE) -> Page:
    """One page of the job list. Raises pagination.BadCursor for a mangled cursor."""
    keys = SORTS.get(f.sort, SORTS["newest"])[1]
    qs = _with_card_data(filter_jobs(jobs_visible_to(user), f))
    return paginate(qs, keys, cursor=cursor, size=size)


def job_list_count(user: User, f: JobFilters) -> int:
    """How many jobs match the list's filters, counted up to COUNT_CAP + 1 (one query)."""
    if f.is_empty() and not user.has_perm("jobs.view_all_jobs"):
        # A technician's unfiltered list: count their assignments on the (technician, job) index.
        # Counting jobs with the EXISTS check would read every job until COUNT_CAP of theirs turned
        # up — a hundred thousand rows for someone on one job in a hundred.
        return capped_count(JobTechnician.objects.filter(technician__user=user))
    return capped_count(filter_jobs(jobs_visible_to(user), f))


def capped_count(qs: QuerySet) -> int:
    """The number of rows, counting at most COUNT_CAP + 1 (shown as "1,000+")."""
    return qs.order_by()[: COUNT_CAP + 1].count()


@dataclass
class BoardColumn:
    status: str
    label: str
    jobs: list[Job]
    count: int

    @property
    def count_label(self) -> str:
        return f"{COUNT_CAP:,}+" if self.count > COUNT_CAP else f"{self.count:,}"


def board_columns(user: User, f: JobFilters) -> list[BoardColumn]:
    """One column per status with its most urgent cards; the list's filters apply. A fixed number of
    queries: one page and one capped count per column, plus the prefetches."""
    base = filter_jobs(jobs_visible_to(user), dataclasses.replace(f, statuses=[], sort="newest"))
    statuses = [s for s in BOARD_COLUMNS if not f.statuses or s in f.statuses]
    cards: dict[str, list[Job]] = {s: [] for s in statuses}
    # One small indexed read per column (status, priority, id): a UNION of LIMITed selects is not
    # portable to SQLite, and a window function would rank every row of the table.
    ids = [pk for s in statuses for pk in base.filter(status=s).order_by("-priority", "-id").values_list("id", flat=True)[:BOARD_CARDS_PER_COLUMN]]
    for job in _with_card_data(Job.objects.filter(pk__in=ids)).order_by("-priority", "-id"):
        cards[job.status].append(job)
    counts = {s: capped_count(base.filter(status=s)) for s in statuses}
    return [BoardColumn(s, JobStatus(s).label, cards[s], counts[s]) for s in statuses]


# ---- the job workspace ------------------------------------------------------------------------------


@dataclass
class Totals:
    subtotal_cents: int
    cost_cents: int
    taxable_cents: int
    by_kind: dict[str, int]

    @property
    def margin_cents(self) -> int:
        return self.subtotal_cents - self.cost_cents


def line_items_with_totals(job: Job) -> tuple[list[LineItem], Totals]:
    items = list(LineItem.objects.filter(job=job).order_by("position", "id"))
    by_kind: dict[str, int] = {}
    for item in items:
        by_kind[item.kind] = by_kind.get(item.kind, 0) + item.total_cents
    totals = Totals(
        subtotal_cents=sum(i.total_cents for i in items),
        cost_cents=sum(i.cost_cents for i in items),
        taxable_cents=sum(i.total_cents for i in items if i.taxable),
        by_kind=by_kind,
    )
    return items, totals


def job_timeline(job: Job, limit: int = TIMELINE_LIMIT) -> list[JobEvent]:
    return list(JobEvent.objects.filter(job=job).select_related("actor").order_by("-created_at", "-id")[:limit])


def job_notes(job: Job) -> list[Any]:
    return list(job.notes.select_related("author").order_by("-created_at", "-id")[:200])


def job_details(job: Job) -> dict[str, Any]:
    """Related lists the Details tab shows (one query each)."""
    return {
        "assets": list(job.assets.all()),
        "required_skills": list(job.required_skills.all()),
        "technicians": list(job.technicians.select_related("user")),
        "tags": list(job.tags.all()),
    }


# ---- choices and the dashboard ----------------------------------------------------------------------


def filter_choices() -> dict[str, list]:
    return {
        "job_types": list(JobType.objects.filter(active=True).order_by("name")),
        "technicians": list(Technician.objects.filter(active=True).select_related("user").order_by("user__first_name", "user__last_name")),
        "tags": list(Tag.objects.order_by("name")[:200]),
    }


def dashboard(user: User) -> dict[str, Any]:
    """What the dashboard shows. A fixed number of queries, each reading an index range: status counts
    are capped like the board's, and the chart counts per day in SQL with plain comparisons."""
    jobs = jobs_visible_to(user)
    today = timezone.localdate()
    # A technician's counts start from their assignments ((technician, job) index): from the jobs'
    # status index, the EXISTS check would read every job of a status until COUNT_CAP of theirs turned up.
    countable = jobs if user.has_perm("jobs.view_all_jobs") else Job.objects.filter(pk__in=JobTechnician.objects.filter(technician__user=user).values("job_id"))
    counts = {s: capped_count(countable.filter(status=s)) for s in BOARD_COLUMNS}
    days = [today - timedelta(days=29 - i) for i in range(30)]
    created = _per_day(jobs, "created_at", days)
    completed = _per_day(jobs, "completed_at", days)
    return {
        "counts": [(s, JobStatus(s).label, counts[s]) for s in BOARD_COLUMNS],
        "open_count": sum(counts[s] for s in OPEN_STATUSES),
        "open_capped": any(counts[s] > COUNT_CAP for s in OPEN_STATUSES),
        "today": list(
            _with_card_data(jobs.filter(next_visit_at__gte=_day_start(today), next_visit_at__lt=_day_start(today + timedelta(days=1)))).order_by(
                "next_visit_at", "id"
            )[:50]
        ),
        "on_hold": list(_with_card_data(jobs.filter(status=JobStatus.ON_HOLD)).order_by("-priority", "-id")[:20]),
        "chart": [{"day": d, "created": created[i], "completed": completed[i]} for i, d in enumerate(days)],
        "urgent_open": capped_count(countable.filter(status__in=OPEN_STATUSES, priority=4)),
    }


def _per_day(qs: QuerySet[Job], field_name: str, days: list[date]) -> list[int]:
    """Rows per local day, in one query of one scalar COUNT per day. Each count reads one short range
    of the field's index (index-only for office users), and the day bounds are computed here in the
    local time zone: the database never converts a timestamp per row (on SQLite that would be a
    Python function call for every job in the window)."""
    bounds = [_day_start(d) for d in [*days, days[-1] + timedelta(days=1)]]
    parts, params = [], []
    for start, end in itertools.pairwise(bounds):
        sql, p = qs.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end}).order_by().values("id").query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS day_rows)")
        params.extend(p)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        return list(cursor.fetchone())
