"""The rest of a day that has begun: where each technician is and when they are free (`positions`), and
the planning problem for what is left (`problem_for_rest_of_day`, the "Re-plan rest of day" run).

Visits the crew has started (en route, arrived, working, paused) are not planned again: they hold their
technician until they are expected to end. A technician on site is free at arrival + duration, or now
when the visit overran; a paused visit still needs the part of its duration not worked before the pause,
from now; a crew on the road arrives after the drive from where it set off. A technician with nothing
started is where they last left a visit (the phone's last position, else that site) or at home, free
now. Nobody starts before their shift.

Everything not started is planned as `builder.problem_for_day` plans it, from those places and times. A
visit whose arrival window has already closed, or whose locked start has passed, cannot be placed again
by the planner: it comes back unassigned with the reason, for the office to rebook by hand.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from ..models import CrewMember, Visit
from ..queries import day_bounds
from ..status import VisitStatus
from .builder import DayInput, problem_for_day
from .model import BreakWindow, Place, Reason, TechnicianInput, Unassigned, VisitInput
from .travel import TravelProvider, provider_from_settings

V = VisitStatus
# The crew is out for these: the visit holds its technicians until it is expected to end.
UNDER_WAY = (V.EN_ROUTE, V.ARRIVED, V.WORKING, V.PAUSED)
ON_SITE = (V.ARRIVED, V.WORKING, V.PAUSED)
# The crew has left these: where they were last is where the technician set off from next.
LEFT = (V.DEPARTED, V.COMPLETED)

VISIT_FIELDS = (
    "id",
    "job_id",
    "number",
    "status",
    "scheduled_start",
    "duration_minutes",
    "window_start",
    "window_end",
    "en_route_at",
    "arrived_at",
    "paused_at",
    "departed_at",
    "completed_at",
    "last_lat",
    "last_lng",
    "eta",
    "job__location__lat",
    "job__location__lng",
)


@dataclass(frozen=True)
class Position:
    """Where a technician is (or will be once free) and from when they can leave for their next stop."""

    technician_id: int
    place: Place | None  # None: nothing known today (the caller falls back to the home base)
    free_at: datetime  # never before `now`
    visit_id: int | None  # the visit under way, or the last one left
    busy: bool  # a visit under way holds them until free_at
    arrival: datetime | None = None  # on the road: when they reach the visit under way


def place_of(lat: object, lng: object) -> Place | None:
    if lat is None or lng is None:
        return None
    try:
        return Place(float(lat), float(lng))  # type: ignore[arg-type]
    except ValueError:
        return None


def site(visit: Visit) -> Place | None:
    location = visit.job.location
    return place_of(location.lat, location.lng)


def in_day(day: date) -> Q:
    """The visits of `day`: booked that day, or (a draft) with its window that day, or set off that day."""
    start, end = day_bounds(day)
    return (
        Q(scheduled_start__gte=start, scheduled_start__lt=end)
        | Q(scheduled_start__isnull=True, window_start__gte=start, window_start__lt=end)
        | Q(en_route_at__gte=start, en_route_at__lt=end)
    )


def day_visits(day: date, statuses: Iterable[str]) -> tuple[list[Visit], dict[int, list[int]]]:
    """The day's visits in `statuses` with their site, and each one's crew (lead first). Two queries."""
    visits = list(Visit.objects.filter(in_day(day), status__in=list(statuses)).select_related("job__location").only(*VISIT_FIELDS).order_by("id"))
    crews: dict[int, list[int]] = defaultdict(list)
    rows = CrewMember.objects.filter(visit_id__in=[v.pk for v in visits]).order_by("visit_id", "-is_lead", "id").values_list("visit_id", "technician_id")
    for visit_id, technician_id in rows:
        crews[visit_id].append(technician_id)
    return visits, crews


def _last_stamp(visit: Visit) -> datetime:
    stamps = [s for s in (visit.en_route_at, visit.arrived_at, visit.paused_at, visit.departed_at, visit.completed_at) if s is not None]
    return max(stamps) if stamps else (visit.scheduled_start or datetime.min.replace(tzinfo=timezone.get_current_timezone()))


def positions(
    visits: Iterable[Visit], crews: dict[int, list[int]], homes: dict[int, Place | None], now: datetime, provider: TravelProvider | None = None
) -> dict[int, Position]:
    """Each technician's position at `now` (see the module's text) from the day's visits that are under
    way or left (others are ignored). Technicians in `homes` with nothing started are at home, free now.
    At most one call to the travel provider (for crews on the road), not cached: a phone's position is
    a one-off place."""
    under_way: dict[int, Visit] = {}
    left: dict[int, Visit] = {}
    for visit in visits:
        pick = under_way if visit.status in UNDER_WAY else left if visit.status in LEFT else None
        if pick is None:
            continue
        for tech in crews.get(visit.pk, []):
            # Two visits under way at once is a slip on the phone: the latest tap is the truth.
            if tech not in pick or _last_stamp(visit) > _last_stamp(pick[tech]):
                pick[tech] = visit
    last_place: dict[int, Place | None] = {}
    for tech in set(homes) | set(under_way) | set(left):
        was = left.get(tech)
        last_place[tech] = (place_of(was.last_lat, was.last_lng) or site(was)) if was is not None else None
        last_place[tech] = last_place[tech] or homes.get(tech)

    # Crews on the road arrive after the drive from where the phone set off (else from their last place).
    legs: dict[int, tuple[Place, Place]] = {}
    for tech, visit in under_way.items():
        origin, to = place_of(visit.last_lat, visit.last_lng) or last_place[tech], site(visit)
        if visit.status == V.EN_ROUTE and origin is not None and to is not None:
            legs[tech] = (origin, to)
    drive: dict[int, int] = {}
    if legs:
        matrix = (provider or provider_from_settings()).matrix(list(dict.fromkeys(p for pair in legs.values() for p in pair)))
        drive = {tech: matrix.travel(a, b)[0] for tech, (a, b) in legs.items()}

    found: dict[int, Position] = {}
    for tech in set(homes) | set(under_way) | set(left):
        visit = under_way.get(tech)
        if visit is None:
            was = left.get(tech)
            found[tech] = Position(tech, last_place[tech], now, was.pk if was else None, busy=False)
            continue
        length = timedelta(minutes=visit.duration_minutes)
        arrival = None
        if visit.status == V.EN_ROUTE:
            arrival = max(now, (visit.en_route_at or now) + timedelta(seconds=drive.get(tech, 0)))
            free_at = arrival + length
        elif visit.status == V.PAUSED:
            # The work resumes now at the earliest, and still needs what was not done before the pause.
            worked = (visit.paused_at or now) - (visit.arrived_at or visit.paused_at or now)
            free_at = now + max(timedelta(0), length - worked)
        else:
            free_at = max(now, (visit.arrived_at or now) + length)  # an overrun ends "now", over and over
        found[tech] = Position(tech, site(visit) or last_place[tech], free_at, visit.pk, busy=True, arrival=arrival)
    return found


def resume(start: datetime, rest: BreakWindow | None) -> tuple[datetime, BreakWindow | None]:
    """(when the technician can set off, the break still to take) for someone free at `start`."""
    if rest is not None:
        earliest = max(rest.earliest_start, start)
        if rest.latest_end - earliest >= rest.length:
            rest = BreakWindow(earliest_start=earliest, latest_end=rest.latest_end, minutes=rest.minutes)
        else:
            # Its room has (partly) passed: a break already begun is being taken, so they are free at
            # its end; one that is over is over.
            if start < rest.latest_end:
                start = rest.latest_end
            rest = None
    return start, rest


def _rest_of_shift(tech: TechnicianInput, position: Position | None, now: datetime) -> TechnicianInput:
    """`tech` from `position`: starts when free (not before its shift), keeps the break still to come."""
    assert tech.shift_start is not None
    start, rest = resume(max(now, tech.shift_start, position.free_at if position else now), tech.break_window)
    place = position.place if position is not None and position.place is not None else tech.start_place
    return replace(tech, shift_start=start, start_place=place, break_window=rest)


def _hm(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M}"


def _too_late(visit: VisitInput, now: datetime) -> Unassigned | None:
    if visit.window_end < now:
        return Unassigned.because(visit.id, Reason.WINDOW_CANNOT_BE_MET, f"Its arrival window closed at {_hm(visit.window_end)}; rebook it with the customer.")
    if visit.locked_start is not None and visit.locked_start < now:
        return Unassigned.because(
            visit.id, Reason.WINDOW_CANNOT_BE_MET, f"It is kept at {_hm(visit.locked_start)} (locked or a crew of several), which has passed; move it by hand."
        )
    return None


def problem_for_rest_of_day(
    day: date, now: datetime, *, include_assigned: bool = True, allow_overtime: bool = False, provider: TravelProvider | None = None
) -> DayInput:
    """The planning problem for what is left of `day` at `now` (see the module's text): problem_for_day's
    visits and technicians, each technician starting from their position. Ten queries, plus one travel
    request when a crew is on the road."""
    day_input = problem_for_day(day, include_assigned=include_assigned, allow_overtime=allow_overtime)
    problem = day_input.problem
    visits, crews = day_visits(day, UNDER_WAY + LEFT)
    homes = {t.id: t.start_place for t in problem.technicians}
    where = positions(visits, crews, homes, now, provider)
    technicians = tuple(_rest_of_shift(t, where.get(t.id), now) if t.works else t for t in problem.technicians)
    planned: list[VisitInput] = []
    for visit in problem.visits:
        late = _too_late(visit, now)
        if late is not None:
            day_input.held_back.append(late)
        else:
            planned.append(visit)
    day_input.problem = replace(problem, technicians=technicians, visits=tuple(planned))
    return day_input


def rest_of_day_input(day: date, now: datetime | None = None, *, include_assigned: bool = True, allow_overtime: bool = False) -> DayInput:
    """The entry point for a "Re-plan rest of day" run: what `planning.execute_run` calls instead of
    `problem_for_day` (now defaults to the moment the worker reads the day)."""
    return problem_for_rest_of_day(day, now or timezone.now(), include_assigned=include_assigned, allow_overtime=allow_overtime)
