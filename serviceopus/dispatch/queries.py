"""Every read the dispatch pages and the API need: one day of visits (the board), what changed since
the board last looked (live updates), a technician's day and week, a visit's timeline with durations.
Each reads a fixed number of queries whatever the number of visits or technicians."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.crew.models import Technician
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus

from .exceptions import DispatchException, exceptions_for
from .models import CrewMember, DispatchSettings, Visit, VisitEvent
from .status import ACTIVE, VisitStatus

V = VisitStatus
TRAY_LIMIT = 50  # per tray section; the job list has the rest


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day as an aware [start, end) — 23 or 25 hours on the days clocks change."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), tz)
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)


def today() -> date:
    return timezone.localdate()


def with_visit_details(qs: QuerySet[Visit]) -> QuerySet[Visit]:
    """Everything a board block, a phone card and the exceptions read: four queries in all."""
    crew = CrewMember.objects.select_related("technician__user").prefetch_related("technician__skills")
    return qs.select_related("job__customer", "job__location", "job__job_type", "job__contact").prefetch_related(
        Prefetch("crew", queryset=crew), "job__required_skills"
    )


def access_visit_for_user(user: User, visit_id: int) -> Visit:
    """The visit with its details, or Http404 when this user may not see it (a technician sees only
    visits whose crew they are on)."""
    qs = with_visit_details(Visit.objects.filter(pk=visit_id))
    if not user.has_perm("jobs.view_all_jobs"):
        qs = qs.filter(Exists(CrewMember.objects.filter(visit=OuterRef("pk"), technician__user=user)))
    visit = qs.first()
    if visit is None:
        raise Http404("No such visit")
    return visit


def require_board(user: User) -> None:
    if not user.has_perm("dispatch.view_board"):
        raise Http404("No such page")


@dataclass
class BoardRow:
    technician: Technician
    visits: list[Visit] = field(default_factory=list)
    booked_minutes: int = 0


@dataclass
class Board:
    day: date
    start_hour: int
    end_hour: int
    rows: list[BoardRow]
    unassigned: list[Visit]  # today's visits with no crew
    drafts: list[Visit]  # unscheduled visits (return visits and drafts), any day
    new_jobs: list[Job]  # jobs waiting for their first visit
    exceptions: dict[int, list[DispatchException]]
    cursor: str  # pass back to changes_since for live updates

    @property
    def hours(self) -> list[int]:
        return list(range(self.start_hour, self.end_hour))

    @property
    def visit_count(self) -> int:
        return len({v.pk for row in self.rows for v in row.visits} | {v.pk for v in self.unassigned})


def day_visits(day: date) -> list[Visit]:
    start, end = day_bounds(day)
    return list(
        with_visit_details(Visit.objects.filter(scheduled_start__gte=start, scheduled_start__lt=end).exclude(status=V.CANCELLED)).order_by(
            "scheduled_start", "id"
        )
    )


def board(day: date, *, technician_ids: list[int] | None = None) -> Board:
    """The dispatch board for one day: a row per active technician (or the chosen ones), their visits,
    the tray and the exceptions. Fixed query count (about ten) at any size."""
    config = DispatchSettings.current()
    cursor = changes_cursor()
    technicians = Technician.objects.filter(active=True).select_related("user")
    if technician_ids:
        technicians = technicians.filter(pk__in=technician_ids)
    rows = {t.pk: BoardRow(t) for t in technicians}
    visits = day_visits(day)
    unassigned: list[Visit] = []
    for visit in visits:
        crew = list(visit.crew.all())
        if not crew:
            unassigned.append(visit)
        for member in crew:
            row = rows.get(member.technician_id)
            if row is not None:
                row.visits.append(visit)
                row.booked_minutes += visit.duration_minutes
    drafts = list(with_visit_details(Visit.objects.filter(status=V.UNSCHEDULED)).order_by("-job__priority", "id")[:TRAY_LIMIT])
    waiting = (
        Job.objects.filter(status=JobStatus.NEW)
        .exclude(Exists(Visit.objects.filter(job=OuterRef("pk"))))
        .select_related("customer", "location", "job_type")
        .order_by("-priority", "id")[:TRAY_LIMIT]
    )
    first_hour = min([config.day_start_hour] + [timezone.localtime(v.scheduled_start).hour for v in visits if v.scheduled_start])
    last_hour = max(
        [config.day_end_hour]
        + [min(24, timezone.localtime(v.scheduled_end).hour + 1) for v in visits if v.scheduled_end and timezone.localtime(v.scheduled_end).date() == day]
    )
    return Board(
        day=day,
        start_hour=first_hour,
        end_hour=max(last_hour, first_hour + 1),
        rows=list(rows.values()),
        unassigned=unassigned,
        drafts=drafts,
        new_jobs=list(waiting),
        exceptions=exceptions_for(visits, config=config),
        cursor=cursor,
    )


def changes_cursor() -> str:
    """A point in time to ask 'what changed since' from (the database's clock is not needed: every
    write stamps updated_at from the app servers' clocks, which are assumed in sync)."""
    return timezone.now().isoformat()


def changes_since(since: datetime, *, limit: int = 500) -> list[Visit]:
    """Visits changed after `since`, on any day, with their details: the board's poll. Not filtered by
    day, so that a visit moved off the shown day or cancelled is seen too (the board drops it). A
    second of overlap is read again, so that a write stamped just before the cursor was taken but
    committed just after is not missed; the board applies changes idempotently by version."""
    qs = Visit.objects.filter(updated_at__gte=since - timedelta(seconds=1)).order_by("updated_at", "id")
    return list(with_visit_details(qs)[:limit])


# ---- a technician's day and week -------------------------------------------------------------------


def technician_for(user: User) -> Technician | None:
    return Technician.objects.filter(user=user).select_related("user").first()


def technician_day(technician: Technician, day: date) -> list[Visit]:
    """The technician's visits that day in route order (by start time), with the job's customer,
    address, contact, scope and assets: the phone's "My day"."""
    start, end = day_bounds(day)
    qs = Visit.objects.filter(crew__technician=technician, scheduled_start__gte=start, scheduled_start__lt=end).exclude(status=V.CANCELLED)
    return list(with_visit_details(qs).prefetch_related("job__assets").order_by("scheduled_start", "id"))


def week_days(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


@dataclass
class WeekRow:
    technician: Technician
    days: dict[date, list[Visit]]
    minutes: dict[date, int]


def week(day: date, *, technician_ids: list[int] | None = None) -> tuple[list[date], list[WeekRow]]:
    """Monday–Sunday of `day`'s week: per technician, their visits each day."""
    days = week_days(day)
    start, _ = day_bounds(days[0])
    _, end = day_bounds(days[-1])
    technicians = Technician.objects.filter(active=True).select_related("user")
    if technician_ids:
        technicians = technicians.filter(pk__in=technician_ids)
    rows = {t.pk: WeekRow(t, {d: [] for d in days}, dict.fromkeys(days, 0)) for t in technicians}
    members = (
        CrewMember.objects.filter(technician_id__in=list(rows), visit__scheduled_start__gte=start, visit__scheduled_start__lt=end)
        .exclude(visit__status=V.CANCELLED)
        .select_related("visit__job__customer", "visit__job__location", "visit__job__job_type")
        .order_by("visit__scheduled_start", "visit_id")
    )
    for member in members:
        visit = member.visit
        assert visit.scheduled_start is not None
        d = timezone.localtime(visit.scheduled_start).date()
        rows[member.technician_id].days[d].append(visit)
        rows[member.technician_id].minutes[d] += visit.duration_minutes
    return days, list(rows.values())


def feed_visits(technician: Technician, *, past_days: int = 30, future_days: int = 90) -> list[Visit]:
    """What the iCalendar feed carries: the technician's visits from a month back to three ahead."""
    now = timezone.now()
    qs = Visit.objects.filter(
        crew__technician=technician, scheduled_start__gte=now - timedelta(days=past_days), scheduled_start__lt=now + timedelta(days=future_days)
    )
    return list(qs.exclude(status=V.CANCELLED).select_related("job__customer", "job__location", "job__job_type").order_by("scheduled_start"))


# ---- timelines -------------------------------------------------------------------------------------

# What the time between two status events was spent on.
SPANS = {V.EN_ROUTE: "travel", V.ARRIVED: "on site", V.WORKING: "working", V.PAUSED: "paused"}


@dataclass
class TimelineEntry:
    event: VisitEvent
    spent_as: str  # "travel", "working", … for the span that this event starts; "" otherwise
    minutes: int | None  # until the next status event; None while it runs or for non-status events


@dataclass
class VisitTimeline:
    entries: list[TimelineEntry]
    totals: dict[str, int]  # minutes: travel, on site, working, paused

    @property
    def total_list(self) -> list[tuple[str, int]]:
        return [(k, self.totals[k]) for k in ("travel", "on site", "working", "paused") if self.totals.get(k)]


def visit_timeline(visit: Visit, *, now: datetime | None = None) -> VisitTimeline:
    """The visit's events in order, each status span with its duration. On site counts from arrived to
    departed (working and paused time included), so it is not added to the others."""
    now = now or timezone.now()
    events = list(VisitEvent.objects.filter(visit=visit).select_related("actor").order_by("at", "id"))
    status_events = [e for e in events if e.kind == VisitEvent.Kind.STATUS]
    totals: dict[str, int] = defaultdict(int)
    spans: dict[int, tuple[str, int | None]] = {}
    arrived_at: datetime | None = None
    for i, event in enumerate(status_events):
        following = status_events[i + 1] if i + 1 < len(status_events) else None
        end = following.at if following else (now if event.to_status in SPANS else None)
        label = SPANS.get(event.to_status, "")
        minutes = int((end - event.at).total_seconds() // 60) if end is not None and label else None
        spans[event.pk] = (label, minutes if following else None)
        if label and label != "on site" and minutes is not None:
            totals[label] += minutes
        if event.to_status == V.ARRIVED:
            arrived_at = event.at
        if event.to_status in (V.DEPARTED, V.COMPLETED, V.CANCELLED, V.SCHEDULED) and arrived_at is not None:
            totals["on site"] += int((event.at - arrived_at).total_seconds() // 60)
            arrived_at = None
    if arrived_at is not None:
        totals["on site"] += int((now - arrived_at).total_seconds() // 60)
    entries = [TimelineEntry(e, *spans.get(e.pk, ("", None))) for e in events]
    return VisitTimeline(entries, dict(totals))


def job_visits(job: Job) -> list[Visit]:
    """The job's visits for its Crew & schedule tab, in order, with crews."""
    return list(with_visit_details(Visit.objects.filter(job=job)).order_by("number"))


def open_visit_count(job_id: int) -> int:
    return Visit.objects.filter(job_id=job_id, status__in=ACTIVE).count()


def visit_summary(visit: Visit) -> dict[str, Any]:
    """A visit as the board's JavaScript and the API's compact form read it."""
    crew = list(visit.crew.all())
    return {
        "id": visit.pk,
        "job": visit.job_id,
        "number": visit.number,
        "status": visit.status,
        "version": visit.version,
        "start": visit.scheduled_start.isoformat() if visit.scheduled_start else None,
        "duration_minutes": visit.duration_minutes,
        "window_start": visit.window_start.isoformat() if visit.window_start else None,
        "window_end": visit.window_end.isoformat() if visit.window_end else None,
        "lead": next((c.technician_id for c in crew if c.is_lead), None),
        "helpers": [c.technician_id for c in crew if not c.is_lead],
    }
