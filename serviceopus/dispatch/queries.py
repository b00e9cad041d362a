"""Every read the dispatch pages and the API need: one day of visits (the board), what changed since
the board last looked (live updates), a technician's day and week, a visit's timeline with durations.
Each reads a fixed number of queries whatever the number of visits or technicians."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.crew.models import CalendarFeed, Technician, TimeOff
from serviceopus.jobs.models import Job
from serviceopus.jobs.pagination import Page, SortKey, paginate
from serviceopus.jobs.status import JobStatus

from .availability import busy_intervals
from .exceptions import LABELS, CrewFacts, DispatchException, exceptions_for
from .models import CrewMember, DispatchSettings, Visit, VisitEvent
from .status import VisitStatus

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
    crew: dict[int, list[tuple[int, bool]]] = field(default_factory=dict)  # visit id → [(technician id, is lead)], lead first

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
    the tray and the exceptions. Fixed query count (about ten) at any size. The day's visits are read
    lean (day_facts: only what a block shows; crews as plain rows in `Board.crew`)."""
    config = DispatchSettings.current()
    cursor = changes_cursor()
    # Skills too: the board filters its rows by skill.
    technicians = Technician.objects.filter(active=True).select_related("user").prefetch_related("skills")
    if technician_ids:
        technicians = technicians.filter(pk__in=technician_ids)
    rows = {t.pk: BoardRow(t) for t in technicians}
    facts = day_facts(day)
    visits = facts.visits
    unassigned: list[Visit] = []
    for visit in visits:
        crew = facts.crew.get(visit.pk, [])
        if not crew:
            unassigned.append(visit)
        for technician_id, _is_lead in crew:
            row = rows.get(technician_id)
            if row is not None:
                row.visits.append(visit)
                row.booked_minutes += visit.duration_minutes
    # An unscheduled visit has no start: asking for that too lets the start-time index find the few
    # drafts, where status alone (not indexed) would scan every visit ever made.
    unscheduled = Visit.objects.filter(status=V.UNSCHEDULED, scheduled_start__isnull=True)
    drafts = list(with_visit_details(unscheduled).order_by("-job__priority", "id")[:TRAY_LIMIT])
    waiting = (
        Job.objects.filter(status=JobStatus.NEW)
        .exclude(Exists(Visit.objects.filter(job=OuterRef("pk"))))
        .select_related("customer", "location", "job_type")
        .order_by("-priority", "id")[:TRAY_LIMIT]
    )
    tz = timezone.get_current_timezone()
    ends = [v.scheduled_end.astimezone(tz) for v in visits if v.scheduled_end]
    first_hour = min([config.day_start_hour] + [v.scheduled_start.astimezone(tz).hour for v in visits if v.scheduled_start])
    last_hour = max([config.day_end_hour] + [_hour_ceiling(end) for end in ends if end.date() == day])
    return Board(
        day=day,
        start_hour=first_hour,
        end_hour=max(last_hour, first_hour + 1),
        rows=list(rows.values()),
        unassigned=unassigned,
        drafts=drafts,
        new_jobs=list(waiting),
        exceptions=exceptions_for(visits, config=config, facts=facts.facts),
        cursor=cursor,
        crew=facts.crew,
    )


def _hour_ceiling(moment: datetime) -> int:
    """The first whole hour at or after `moment` (a visit ending 16:00 needs no 16:00 column)."""
    return min(24, moment.hour + (1 if (moment.minute, moment.second, moment.microsecond) != (0, 0, 0) else 0))


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


# Most pressing first: the exceptions panel and the dashboard list them in this order.
EXCEPTION_ORDER = ("late", "running_over", "paused_long", "at_risk", "skill_mismatch", "unassigned")


@dataclass
class DayException:
    exception: DispatchException
    visit: Visit


LEAN_FIELDS = (
    "id",
    "job_id",
    "number",
    "status",
    "scheduled_start",
    "duration_minutes",
    "window_start",
    "window_end",
    "arrived_at",
    "paused_at",
    "pause_reason",
    "version",
    "eta",
    "locked",
    "job__id",
    "job__number",
    "job__customer__id",
    "job__customer__name",
)


@dataclass
class DayFacts:
    visits: list[Visit]  # not cancelled, by start; job number and customer name loaded
    crew: dict[int, list[tuple[int, bool]]]  # visit id → [(technician id, is lead)], lead first
    facts: dict[int, CrewFacts]  # visit id → what the exceptions' skill check needs


def day_facts(day: date) -> DayFacts:
    """One day's visits as the board and the exceptions read them: the visits with only the fields
    they show, and crews, skills and required skills as plain rows. Four queries; at 1,500 visits
    this is a fraction of what prefetching model instances for each crew member costs."""
    start, end = day_bounds(day)
    in_day = {"scheduled_start__gte": start, "scheduled_start__lt": end}
    visits = list(
        Visit.objects.filter(**in_day).exclude(status=V.CANCELLED).select_related("job__customer").only(*LEAN_FIELDS).order_by("scheduled_start", "id")
    )
    crew: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    rows = CrewMember.objects.filter(**{f"visit__{k}": v for k, v in in_day.items()}).order_by("visit_id", "-is_lead", "id")
    for visit_id, technician_id, is_lead in rows.values_list("visit_id", "technician_id", "is_lead"):
        crew[visit_id].append((technician_id, is_lead))
    technician_ids = {t for members in crew.values() for t, _ in members}
    skills: dict[int, set[int]] = defaultdict(set)
    for technician_id, skill_id in Technician.skills.through.objects.filter(technician_id__in=technician_ids).values_list("technician_id", "skill_id"):
        skills[technician_id].add(skill_id)
    required: dict[int, list[tuple[int, str]]] = defaultdict(list)
    through = Job.required_skills.through.objects.filter(**{f"job__visits__{k}": v for k, v in in_day.items()}).distinct()
    for job_id, skill_id, name in through.values_list("job_id", "skill_id", "skill__name"):
        required[job_id].append((skill_id, name))
    facts = {
        v.pk: CrewFacts(
            technician_ids=tuple(t for t, _ in crew.get(v.pk, [])),
            held=frozenset(s for t, _ in crew.get(v.pk, []) for s in skills.get(t, ())),
            required=tuple(required.get(v.job_id, ())),
        )
        for v in visits
    }
    return DayFacts(visits, dict(crew), facts)


def day_exceptions(day: date, *, now: datetime | None = None, config: DispatchSettings | None = None) -> list[DayException]:
    """The day's dispatch exceptions, most pressing first, each with its visit (job number and
    customer loaded): what the board's poll and the dashboard show. Five queries (four when `config`
    is given) whatever the number of visits, and cheap enough to run on every poll."""
    config = config or DispatchSettings.current()
    data = day_facts(day)
    return sort_exceptions(exceptions_for(data.visits, now=now, config=config, facts=data.facts), {v.pk: v for v in data.visits})


def sort_exceptions(found: dict[int, list[DispatchException]], visits: dict[int, Visit]) -> list[DayException]:
    rank = {kind: i for i, kind in enumerate(EXCEPTION_ORDER)}
    flat = [DayException(e, visits[vid]) for vid, items in found.items() for e in items if vid in visits]
    far = datetime.max.replace(tzinfo=timezone.get_current_timezone())
    return sorted(flat, key=lambda d: (rank.get(d.exception.kind, 99), d.visit.scheduled_start or far, d.visit.pk))


def exception_counts(items: list[DayException]) -> list[tuple[str, str, int]]:
    """(kind, label, count) for each kind present, in EXCEPTION_ORDER."""
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item.exception.kind] += 1
    return [(kind, LABELS[kind], counts[kind]) for kind in EXCEPTION_ORDER if counts[kind]]


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


def active_technicians() -> list[Technician]:
    """The technicians a crew can be chosen from (the scheduling forms' choices)."""
    return list(Technician.objects.filter(active=True).select_related("user"))


def access_technician_for_user(user: User, technician_id: int) -> Technician:
    """A technician whose week and calendar feed this user may see: any, for the office; only
    themself, for a technician. Http404 otherwise, so that other technicians' ids reveal nothing."""
    qs = Technician.objects.select_related("user").filter(pk=technician_id, active=True)
    if not user.has_perm("dispatch.view_board"):
        qs = qs.filter(user=user)
    technician = qs.first()
    if technician is None:
        raise Http404("No such technician")
    return technician


def time_off_from(technician: Technician, day: date, *, limit: int = 20) -> list[TimeOff]:
    """The technician's time off that has not ended before `day`, soonest first."""
    start, _ = day_bounds(day)
    return list(TimeOff.objects.filter(technician=technician, end__gt=start).order_by("start")[:limit])


def visits_during(technician: Technician, start: datetime, end: datetime) -> list[Visit]:
    """The technician's active visits that overlap [start, end): booked before their time off was."""
    ids = [visit_id for _s, _e, visit_id in busy_intervals([technician.pk], start, end).get(technician.pk, [])]
    return list(Visit.objects.filter(pk__in=ids).select_related("job").order_by("scheduled_start"))


def calendar_feed_of(technician: Technician) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(technician=technician).first()


def technician_for_feed(token_hash: str) -> Technician | None:
    """The active technician whose calendar feed has this token hash (crew.actions.feed_token_hash)."""
    return Technician.objects.filter(calendar_feed__token_hash=token_hash, active=True).select_related("user").first()


def feed_visits(technician: Technician, *, past_days: int = 30, future_days: int = 90) -> list[Visit]:
    """What the iCalendar feed carries: the technician's visits from a month back to three ahead."""
    now = timezone.now()
    qs = Visit.objects.filter(
        crew__technician=technician, scheduled_start__gte=now - timedelta(days=past_days), scheduled_start__lt=now + timedelta(days=future_days)
    )
    return list(qs.exclude(status=V.CANCELLED).select_related("job__customer", "job__location", "job__job_type").order_by("scheduled_start", "id"))


# ---- timelines -------------------------------------------------------------------------------------

# What the time between two status events was spent on.
SPANS = {V.EN_ROUTE: "travel", V.ARRIVED: "on site", V.WORKING: "working", V.PAUSED: "paused"}


@dataclass
class TimelineEntry:
    event: VisitEvent
    spent_as: str  # "travel", "working", … for the span that this event starts; "" otherwise
    minutes: int | None  # until the next status event; None while it runs or for non-status events

    @property
    def status_label(self) -> str:
        return VisitStatus(self.event.to_status).label if self.event.to_status in VisitStatus.values else ""

    @property
    def detail(self) -> str:
        """A status event's message without the status name the badge already shows ("— Waiting for parts")."""
        message = self.event.message
        label = self.status_label
        if label and message.startswith(label):
            message = message[len(label) :].lstrip(" —-")
        return message


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
    events = list(VisitEvent.objects.filter(visit=visit).select_related("actor").order_by("at", "id"))
    return _timeline(events, now or timezone.now())


def visit_timelines(visits: list[Visit], *, now: datetime | None = None) -> dict[int, VisitTimeline]:
    """visit_timeline for several visits (a job's Crew & schedule tab) in one query."""
    now = now or timezone.now()
    by_visit: dict[int, list[VisitEvent]] = defaultdict(list)
    for event in VisitEvent.objects.filter(visit__in=[v.pk for v in visits]).select_related("actor").order_by("at", "id"):
        by_visit[event.visit_id].append(event)
    return {v.pk: _timeline(by_visit[v.pk], now) for v in visits}


def _timeline(events: list[VisitEvent], now: datetime) -> VisitTimeline:
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
    return list(with_visit_details(Visit.objects.filter(job=job)).select_related("return_of").order_by("number"))


# ---- the API's visit list ------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitFilters:
    day: date | None = None
    technician_id: int | None = None
    job_id: int | None = None
    statuses: tuple[str, ...] = ()


# With a day the list reads in time order from the (scheduled_start, id) index; without one, in the
# order visits were made (by id), because undated drafts have no start to sort by.
BY_START = [SortKey("start_at", descending=False), SortKey("id", descending=False)]
BY_ID = [SortKey("id", descending=False)]


def visits_visible_to(user: User) -> QuerySet[Visit]:
    """Every visit for office roles; for a technician, only the visits whose crew they are on."""
    qs = Visit.objects.all()
    if user.has_perm("jobs.view_all_jobs"):
        return qs
    return qs.filter(Exists(CrewMember.objects.filter(visit=OuterRef("pk"), technician__user=user)))


def visit_list_page(user: User, f: VisitFilters, *, cursor: str | None, size: int) -> Page:
    """One page of the visits this user may see: two queries (the page, the crews) at any size.
    Raises pagination.BadCursor for a mangled cursor."""
    qs = visits_visible_to(user)
    if f.day is not None:
        start, end = day_bounds(f.day)
        qs = qs.filter(scheduled_start__gte=start, scheduled_start__lt=end)
    if f.technician_id is not None:
        qs = qs.filter(Exists(CrewMember.objects.filter(visit=OuterRef("pk"), technician_id=f.technician_id)))
    if f.job_id is not None:
        qs = qs.filter(job_id=f.job_id)
    if f.statuses:
        qs = qs.filter(status__in=f.statuses)
    keys = BY_ID
    if f.day is not None:
        # Named *_at so that the cursor carries it as a date-time.
        qs, keys = qs.annotate(start_at=F("scheduled_start")), BY_START
    crew = CrewMember.objects.select_related("technician__user")
    qs = qs.select_related("job__customer", "job__location").prefetch_related(Prefetch("crew", queryset=crew))
    return paginate(qs, keys, cursor=cursor, size=size)


def visits_with_details(ids: list[int]) -> list[Visit]:
    """These visits (just written, say) with their details, in job and number order."""
    return list(with_visit_details(Visit.objects.filter(pk__in=ids)).order_by("job_id", "number"))


def visit_state(visit: Visit) -> dict:
    """What a refused editor is told about the visit as it is now."""
    crew = list(visit.crew.all())
    return {
        "id": visit.pk,
        "status": visit.status,
        "version": visit.version,
        "scheduled_start": visit.scheduled_start.isoformat() if visit.scheduled_start else None,
        "duration_minutes": visit.duration_minutes,
        "lead": next((c.technician_id for c in crew if c.is_lead), None),
        "helpers": [c.technician_id for c in crew if not c.is_lead],
    }
