"""One day's planning problem, read from the database: `problem_for_day(day)`.

What is planned: the visits of that day (by scheduled start, or by arrival window for a visit drafted
with a window but no start) that have not set off, are not over and are not cancelled. Unassigned ones
are the work to place; assigned ones may be moved too (`include_assigned`) unless they are locked
(`Visit.locked`: a customer was promised that person or hour) or have a crew of several (the planner
routes one person per visit; moving the lead would strand the helpers), which keep technician and start.
With `include_assigned=False` every assigned visit keeps its place and only the unassigned are placed.

Who works: active technicians with a weekly shift on that weekday, less their time off, leaving from
and returning to their home base. Split shifts become one shift with the gap as a break the planner
must respect; time off that eats the start or the end of a shift shortens it; time off inside it is a
break (when there is no gap already) or, failing that, cuts the shift to its longer side.

Left out before the solver ever sees them: jobs blocked by parts (none of their materials is held, or
some is missing and the job type requires everything on hand before scheduling — the rule of the
inventory app's scheduling gate). They come back as `held_back` with the reason "blocked_by_parts".
Technicians without a home base cannot start a route and are listed in `idle` with why.

Reads a fixed number of queries (eight) whatever the number of visits and technicians.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import F, Q
from django.utils import timezone

from serviceopus.crew.models import Technician, TimeOff, WeeklyShift
from serviceopus.jobs.models import Job, JobType, PartsReadiness, Priority

from ..models import CrewMember, Visit
from ..queries import day_bounds
from ..status import VisitStatus
from .model import BreakWindow, Place, Problem, Reason, TechnicianInput, Unassigned, VisitInput

V = VisitStatus

BLOCKED_BY_PARTS = Reason.BLOCKED_BY_PARTS.value

# Visits that may be placed: not yet on the road. (Started visits belong to re-planning during the day.)
PLANNABLE = (V.UNSCHEDULED, V.SCHEDULED)


@dataclass(frozen=True)
class VisitSnapshot:
    """A visit as the run read it: what the plan's changes are measured against, and how `apply`
    tells that someone changed the visit meanwhile (`version`)."""

    visit_id: int
    job_id: int
    label: str  # "J-1042 visit 1"
    customer: str
    address: str
    technician_id: int | None  # the lead
    start: datetime | None
    version: int
    locked: bool  # kept as it is by the planner (locked, a crew of several, or include_assigned=False)
    why_fixed: str = ""

    def as_dict(self) -> dict:
        return {
            "visit_id": self.visit_id,
            "job_id": self.job_id,
            "label": self.label,
            "customer": self.customer,
            "address": self.address,
            "technician_id": self.technician_id,
            "start": self.start.isoformat() if self.start else None,
            "version": self.version,
            "locked": self.locked,
            "why_fixed": self.why_fixed,
        }


@dataclass(frozen=True)
class Idle:
    technician_id: int
    name: str
    reason: str


@dataclass
class DayInput:
    """`problem` for the solver; what was set aside before it, and what each visit was."""

    problem: Problem
    held_back: list[Unassigned] = field(default_factory=list)
    snapshots: dict[int, VisitSnapshot] = field(default_factory=dict)  # every visit read: in the problem or held back
    idle: list[Idle] = field(default_factory=list)
    colours: dict[int, str] = field(default_factory=dict)  # technician id → board colour


def _at(day: date, moment: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment), timezone.get_current_timezone())


def _blocked_by_parts(job: Job) -> bool:
    if job.parts_readiness == PartsReadiness.BLOCKED:
        return True
    return job.parts_readiness == PartsReadiness.PARTIAL and job.job_type.requires_materials_ready


def working_hours(day: date, shifts: list[WeeklyShift], time_off: list[TimeOff]) -> tuple[datetime | None, datetime | None, BreakWindow | None, str]:
    """(shift start, shift end, break, why not working) for one technician on `day`. The break is a
    fixed one (its range is exactly its length): a split shift's gap, or time off inside the shift."""
    if not shifts:
        return None, None, None, "No shift on this weekday."
    spans: list[tuple[datetime, datetime]] = []
    for a, b in sorted((_at(day, s.start), _at(day, s.end)) for s in shifts):
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))  # overlapping rows are one span
        else:
            spans.append((a, b))
    start, end = spans[0][0], spans[-1][1]
    gaps = [(spans[i][1], spans[i + 1][0]) for i in range(len(spans) - 1)]
    for period in sorted(time_off, key=lambda p: p.start):
        if period.end <= start or period.start >= end:
            continue
        if period.start <= start and period.end >= end:
            return None, None, None, "Off all day" + (f" ({period.reason})." if period.reason else ".")
        if period.start <= start:
            start = period.end
        elif period.end >= end:
            end = period.start
        else:
            gaps.append((period.start, period.end))
    rest = None
    # One break per route (the planner's model): the longest gap is the break; around any other, the
    # shift is cut to its longer side, so that nobody is booked in time they do not work.
    gaps.sort(key=lambda g: g[1] - g[0], reverse=True)
    for i, (a, b) in enumerate(gaps):
        a, b = max(a, start), min(b, end)
        if b <= a or end <= start:
            continue
        if a <= start:
            start = b
        elif b >= end:
            end = a
        elif i == 0:
            minutes = int((b - a).total_seconds() // 60)
            rest = BreakWindow(earliest_start=a, latest_end=a + timedelta(minutes=minutes), minutes=minutes) if minutes > 0 else None
        elif a - start >= end - b:
            end = a
        else:
            start = b
    if rest is not None and not (start <= rest.earliest_start and rest.latest_end <= end):
        rest = None  # a later cut removed the part of the shift the break sat in
    if end <= start:
        return None, None, None, "Off for the whole shift."
    return start, end, rest, ""


def _place(lat: object, lng: object) -> Place | None:
    if lat is None or lng is None:
        return None
    try:
        return Place(float(lat), float(lng))  # type: ignore[arg-type]
    except ValueError:
        return None


def shifts_and_time_off(tech_ids: list[int], day: date) -> tuple[dict[int, list[WeeklyShift]], dict[int, list[TimeOff]]]:
    """Per technician, their weekly shifts on `day`'s weekday and the time off touching the day (two
    queries): what `working_hours` turns into a day's hours."""
    day_start, day_end = day_bounds(day)
    shifts: dict[int, list[WeeklyShift]] = defaultdict(list)
    for shift in WeeklyShift.objects.filter(technician_id__in=tech_ids, weekday=day.weekday()):
        shifts[shift.technician_id].append(shift)
    off: dict[int, list[TimeOff]] = defaultdict(list)
    for period in TimeOff.objects.filter(technician_id__in=tech_ids, start__lt=day_end, end__gt=day_start):
        off[period.technician_id].append(period)
    return shifts, off


def problem_for_day(day: date, *, include_assigned: bool = True, allow_overtime: bool = False) -> DayInput:
    """The planning problem for `day`, from the database (see the module's text). Eight queries."""
    day_start, day_end = day_bounds(day)
    in_day = Q(scheduled_start__gte=day_start, scheduled_start__lt=day_end) | Q(
        scheduled_start__isnull=True, window_start__gte=day_start, window_start__lt=day_end
    )
    visits = list(
        Visit.objects.filter(in_day, status__in=PLANNABLE)
        .select_related("job__location", "job__customer", "job__job_type")
        .only(
            "id",
            "job_id",
            "number",
            "status",
            "scheduled_start",
            "duration_minutes",
            "window_start",
            "window_end",
            "locked",
            "version",
            "job__id",
            "job__number",
            "job__priority",
            "job__job_type__id",
            "job__job_type__requires_materials_ready",
            "job__parts_readiness",
            "job__customer__id",
            "job__customer__name",
            "job__location__id",
            "job__location__street",
            "job__location__city",
            "job__location__lat",
            "job__location__lng",
        )
        # The same order on both databases (they sort nulls apart): booked visits by start, then drafts.
        .order_by(F("scheduled_start").asc(nulls_last=True), "window_start", "id")
    )
    visit_ids = [v.pk for v in visits]
    job_ids = {v.job_id for v in visits}
    crews: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for visit_id, technician_id, is_lead in (
        CrewMember.objects.filter(visit_id__in=visit_ids).order_by("visit_id", "-is_lead", "id").values_list("visit_id", "technician_id", "is_lead")
    ):
        crews[visit_id].append((technician_id, is_lead))
    # Required skills: the job's own and its type's (the type's are the trade's minimum).
    required: dict[int, set[int]] = defaultdict(set)
    for job_id, skill_id in Job.required_skills.through.objects.filter(job_id__in=job_ids).values_list("job_id", "skill_id"):
        required[job_id].add(skill_id)
    type_ids = {v.job.job_type_id for v in visits}
    type_skills: dict[int, set[int]] = defaultdict(set)
    for type_id, skill_id in JobType.required_skills.through.objects.filter(jobtype_id__in=type_ids).values_list("jobtype_id", "skill_id"):
        type_skills[type_id].add(skill_id)

    # Technicians as the board reads them (active, with user and skills), their shifts that weekday and
    # the time off touching the day.
    technicians = list(Technician.objects.filter(active=True).select_related("user").prefetch_related("skills"))
    tech_ids = [t.pk for t in technicians]
    shifts, off = shifts_and_time_off(tech_ids, day)

    inputs: list[TechnicianInput] = []
    idle: list[Idle] = []
    for tech in technicians:
        home = _place(tech.home_lat, tech.home_lng)
        start, end, rest, why = working_hours(day, shifts.get(tech.pk, []), off.get(tech.pk, []))
        if home is None:
            if start is not None:
                idle.append(Idle(tech.pk, tech.name, "No home base on file, so a route cannot start anywhere."))
            continue
        if start is None:
            idle.append(Idle(tech.pk, tech.name, why))
        inputs.append(
            TechnicianInput(
                id=tech.pk,
                name=tech.name,
                shift_start=start,
                shift_end=end,
                start_place=home,
                end_place=home,
                skill_ids=frozenset(s.pk for s in tech.skills.all()),
                break_window=rest,
            )
        )

    planned: list[VisitInput] = []
    held_back: list[Unassigned] = []
    snapshots: dict[int, VisitSnapshot] = {}
    default_window = timedelta(hours=2)
    for visit in visits:
        job = visit.job
        crew = crews.get(visit.pk, [])
        lead = next((t for t, is_lead in crew if is_lead), crew[0][0] if crew else None)
        why_fixed = ""
        if visit.locked:
            why_fixed = "Locked on the visit page."
        elif len(crew) > 1:
            why_fixed = "A crew of several keeps its time."
        elif crew and not include_assigned:
            why_fixed = "Already assigned (only unassigned visits were planned)."
        label = f"{job.number} visit {visit.number}"
        location = job.location
        snapshots[visit.pk] = VisitSnapshot(
            visit_id=visit.pk,
            job_id=job.pk,
            label=label,
            customer=job.customer.name,
            address=f"{location.street}, {location.city}",
            technician_id=lead,
            start=visit.scheduled_start,
            version=visit.version,
            locked=bool(why_fixed),
            why_fixed=why_fixed,
        )
        if _blocked_by_parts(job):
            held_back.append(Unassigned.because(visit.pk, Reason.BLOCKED_BY_PARTS))
            continue
        window_start = visit.window_start or visit.scheduled_start
        window_end = visit.window_end or (window_start + default_window if window_start else None)
        assert window_start is not None  # in_day asks for a start or a window
        assert window_end is not None
        planned.append(
            VisitInput(
                id=visit.pk,
                place=_place(location.lat, location.lng),
                duration_minutes=visit.duration_minutes,
                window_start=window_start,
                window_end=window_end,
                required_skill_ids=frozenset(required.get(job.pk, set()) | type_skills.get(job.job_type_id, set())),
                priority=job.priority if job.priority in (1, 2, 3, 4) else Priority.NORMAL,
                # Urgent work is to be served whenever any plan can; the rest may be deferred at a cost.
                must=job.priority == Priority.URGENT,
                locked_technician_id=lead if why_fixed else None,
                locked_start=visit.scheduled_start if why_fixed else None,
                label=label,
            )
        )
    problem = Problem(day=day, technicians=tuple(inputs), visits=tuple(planned), allow_overtime=allow_overtime)
    return DayInput(problem=problem, held_back=held_back, snapshots=snapshots, idle=idle, colours={t.pk: t.color for t in technicians})
