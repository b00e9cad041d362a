"""Can these technicians take this visit at this time? One function, used by scheduling, the drag on
the dispatch board, crew suggestions and the API.

`assignment_problems` returns every problem, explained: double booking, outside shift hours, time off,
required skills the crew lacks. Scheduling refuses when there are problems unless a manager overrides
them with a reason (actions.visit_schedule / visit_update record the override on both timelines).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from serviceopus.crew.models import Skill, Technician, TimeOff, WeeklyShift

from .models import CrewMember
from .status import ACTIVE

# Longest visit we look back for when searching overlaps by start time (a visit is at most a day).
MAX_VISIT = timedelta(hours=24)


@dataclass(frozen=True)
class Problem:
    code: str  # double_booking | outside_shift | time_off | missing_skills
    message: str
    technician_id: int | None = None

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "technician": self.technician_id}


def _fmt(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%a %d %b %H:%M")


def within_shifts(shifts: Iterable[WeeklyShift], start: datetime, end: datetime) -> bool:
    """True when [start, end) lies inside one of the weekly shifts on the start's local day."""
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    if local_end.date() != local_start.date() and local_end.time() != time(0, 0):
        return False  # a visit that runs past midnight is outside any shift
    end_time = time(23, 59, 59) if local_end.date() != local_start.date() else local_end.time()
    return any(s.weekday == local_start.weekday() and s.start <= local_start.time() and end_time <= s.end for s in shifts)


def busy_intervals(
    technician_ids: Sequence[int], start: datetime, end: datetime, *, exclude_visit_id: int | None = None
) -> dict[int, list[tuple[datetime, datetime, int]]]:
    """Active visits of each technician overlapping [start, end): technician → [(start, end, visit id)]."""
    rows = (
        CrewMember.objects.filter(
            technician_id__in=technician_ids,
            visit__status__in=ACTIVE,
            visit__scheduled_start__lt=end,
            visit__scheduled_start__gt=start - MAX_VISIT,
        )
        .exclude(visit_id=exclude_visit_id)
        .values_list("technician_id", "visit_id", "visit__scheduled_start", "visit__duration_minutes")
    )
    busy: dict[int, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    for tech_id, visit_id, visit_start, minutes in rows:
        visit_end = visit_start + timedelta(minutes=minutes)
        if visit_end > start:
            busy[tech_id].append((visit_start, visit_end, visit_id))
    return busy


def assignment_problems(
    *,
    technicians: Sequence[Technician],
    start: datetime,
    duration_minutes: int,
    required_skills: Iterable[Skill],
    exclude_visit_id: int | None = None,
) -> list[Problem]:
    """Every reason these technicians (a crew) should not take a visit at [start, start+duration).
    Four queries whatever the crew size."""
    end = start + timedelta(minutes=duration_minutes)
    ids = [t.pk for t in technicians]
    problems: list[Problem] = []
    busy = busy_intervals(ids, start, end, exclude_visit_id=exclude_visit_id)
    shifts: dict[int, list[WeeklyShift]] = defaultdict(list)
    for shift in WeeklyShift.objects.filter(technician_id__in=ids):
        shifts[shift.technician_id].append(shift)
    off: dict[int, list[TimeOff]] = defaultdict(list)
    for period in TimeOff.objects.filter(technician_id__in=ids, start__lt=end, end__gt=start):
        off[period.technician_id].append(period)
    held: set[int] = set()
    for tech in technicians:
        held |= {s.pk for s in tech.skills.all()}
        for other_start, other_end, _visit_id in busy.get(tech.pk, []):
            problems.append(Problem("double_booking", f"{tech.name} is already booked {_fmt(other_start)}–{timezone.localtime(other_end):%H:%M}.", tech.pk))
        if not within_shifts(shifts.get(tech.pk, []), start, end):
            problems.append(Problem("outside_shift", f"{tech.name} does not work {_fmt(start)}–{timezone.localtime(end):%H:%M}.", tech.pk))
        for period in off.get(tech.pk, []):
            reason = f" ({period.reason})" if period.reason else ""
            problems.append(Problem("time_off", f"{tech.name} is off {_fmt(period.start)} – {_fmt(period.end)}{reason}.", tech.pk))
    missing = [s.name for s in required_skills if s.pk not in held]
    if technicians and missing:
        problems.append(Problem("missing_skills", "The crew lacks required skills: " + ", ".join(missing) + "."))
    return problems
