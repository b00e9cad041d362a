"""What the planner tests share: a fixed day and places, builders for technicians and visits, and a
sequential scheduler that turns "these visits, in this order, for this technician" into a route with
exact times (each stop as early as its arrival and window allow), so tests can build valid plans and
break one rule at a time."""

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from serviceopus.dispatch.planner.model import BreakWindow, Place, Plan, Problem, Reason, Route, Stop, TechnicianInput, Unassigned, VisitInput
from serviceopus.dispatch.planner.travel import HaversineProvider, Matrix

TZ = ZoneInfo("America/Chicago")
DAY = date(2026, 3, 10)
DEPOT = Place(41.8800, -87.6300)
# Fixed parameters, so that no test depends on the settings.
HAVERSINE = HaversineProvider(road_factor=1.3, speed_kmh=40)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, tzinfo=TZ)


def tech(
    id: int,
    name: str = "",
    *,
    skills: Iterable[int] = (),
    shift: tuple[datetime, datetime] | None = (at(8), at(17)),
    start: Place = DEPOT,
    end: Place = DEPOT,
    break_window: BreakWindow | None = None,
) -> TechnicianInput:
    return TechnicianInput(
        id=id,
        name=name or f"Tech {id}",
        shift_start=shift[0] if shift else None,
        shift_end=shift[1] if shift else None,
        start_place=start,
        end_place=end,
        skill_ids=frozenset(skills),
        break_window=break_window,
    )


def visit(
    id: int,
    place: Place | None,
    *,
    duration: int = 60,
    window: tuple[datetime, datetime] = (at(8), at(17)),
    skills: Iterable[int] = (),
    priority: int = 2,
    must: bool = False,
    locked_technician: int | None = None,
    locked_start: datetime | None = None,
) -> VisitInput:
    return VisitInput(
        id=id,
        place=place,
        duration_minutes=duration,
        window_start=window[0],
        window_end=window[1],
        required_skill_ids=frozenset(skills),
        priority=priority,
        must=must,
        locked_technician_id=locked_technician,
        locked_start=locked_start,
        label=f"V{id}",
    )


def sequence(
    problem: Problem,
    matrix: Matrix,
    technician: TechnicianInput,
    visit_ids: Iterable[int],
    *,
    departure: datetime | None = None,
    break_before: int | None = None,
) -> Route:
    """The route serving `visit_ids` in order: leave at `departure` (the shift start), drive, start each
    visit at the latest of arrival, window start and locked start. With `break_before=k` the break is
    taken before driving to stop k (k = number of stops: before the way back), at the earliest."""
    ids = list(visit_ids)
    moment = departure if departure is not None else technician.shift_start
    assert moment is not None
    place = technician.start_place
    stops: list[Stop] = []
    break_start = None

    def take_break(now: datetime) -> datetime:
        nonlocal break_start
        assert technician.break_window is not None
        break_start = max(now, technician.break_window.earliest_start)
        return break_start + technician.break_window.length

    for k, visit_id in enumerate(ids):
        v = problem.visit_by_id[visit_id]
        assert v.place is not None
        if break_before == k:
            moment = take_break(moment)
        seconds, metres = matrix.travel(place, v.place)
        arrival = moment + timedelta(seconds=seconds)
        start = max(arrival, v.window_start) if v.locked_start is None else v.locked_start
        stops.append(Stop(visit_id=visit_id, arrival=arrival, start=start, end=start + v.duration, travel_seconds=seconds, travel_metres=metres))
        moment, place = start + v.duration, v.place
    if break_before == len(ids):
        moment = take_break(moment)
    seconds, metres = matrix.travel(place, technician.end_place)
    return Route.build(
        technician,
        stops,
        departure=departure if departure is not None else technician.shift_start,  # type: ignore[arg-type]
        end=moment + timedelta(seconds=seconds),
        return_travel_seconds=seconds,
        return_travel_metres=metres,
        break_start=break_start,
    )


def plan_of(
    problem: Problem,
    matrix: Matrix,
    assignment: Mapping[int, Iterable[int]],
    *,
    breaks: Mapping[int, int] | None = None,
    reasons: Mapping[int, Reason] | None = None,
) -> Plan:
    """Routes for `assignment` (technician id → visit ids in order; `breaks`: technician id → the stop
    the break comes before) and every other visit unassigned (with `reasons`, else not_planned)."""
    routes = [sequence(problem, matrix, problem.technician_by_id[tid], ids, break_before=(breaks or {}).get(tid)) for tid, ids in assignment.items()]
    served = {s.visit_id for r in routes for s in r.stops}
    unassigned = [Unassigned.because(v.id, (reasons or {}).get(v.id, Reason.NOT_PLANNED)) for v in problem.visits if v.id not in served]
    return Plan.build(problem, routes, unassigned)


def codes(violations: Iterable[object]) -> list[str]:
    return sorted(v.code for v in violations)  # type: ignore[attr-defined]
