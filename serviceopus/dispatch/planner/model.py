"""A planning problem and its plan, as frozen dataclasses that belong to no solver.

Units: instants are aware datetimes; visit and break lengths are whole minutes (as people enter them);
travel is whole seconds and metres (as a travel matrix gives it). A visit's window is an *arrival*
window, as on the dispatch board: service starts inside it (window_start ≤ start ≤ window_end) and may
run past its end. A technician without a shift that day (shift_start/shift_end None) does not work.

`pre_check(problem)` sets aside the visits that no plan can serve, for reasons that need no solver. It
tests only necessary conditions (zero travel, breaks ignored), so it never sets aside a visit that a
solver could have served; whatever passes may still be left out by the solver ("not_planned", or a
solver-found reason).

Malformed values that only a programming error produces (a naive datetime, a priority outside 1–4, a
duration ≤ 0, two visits with one id) raise ValueError at construction; everything a user can enter
(no coordinates, an inverted window, nobody working, an unknown skill) is a reason, never an exception.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from math import isfinite


class Reason(StrEnum):
    """Why a visit is left unassigned."""

    NO_COORDINATES = "no_coordinates"
    NO_SKILLED_TECHNICIAN = "no_skilled_technician"
    WINDOW_TOO_SHORT = "window_too_short"
    NO_SHIFT = "no_shift"
    WINDOW_CANNOT_BE_MET = "window_cannot_be_met"
    SHIFT_TOO_SHORT = "shift_too_short"
    NOT_PLANNED = "not_planned"
    BLOCKED_BY_PARTS = "blocked_by_parts"


REASON_TEXT: dict[Reason, str] = {
    Reason.NO_COORDINATES: "The address has no coordinates, so the visit cannot be placed on a route.",
    Reason.NO_SKILLED_TECHNICIAN: "Nobody working that day has every skill the visit needs.",
    Reason.WINDOW_TOO_SHORT: "The arrival window ends before it starts.",
    Reason.NO_SHIFT: "Nobody who could take the visit has a shift that day.",
    Reason.WINDOW_CANNOT_BE_MET: "No technician's shift leaves room to start the visit inside its arrival window.",
    Reason.SHIFT_TOO_SHORT: "The visit is longer than the shift of every technician who could take it.",
    Reason.NOT_PLANNED: "No route had room for it without leaving out visits that count for more.",
    Reason.BLOCKED_BY_PARTS: "The job's materials are not on hand yet, so the visit cannot be planned.",
}

# Priority 1 (low) … 4 (urgent), as jobs.models.Priority. Doubling per step: one urgent visit outweighs
# any three lower ones together, so a plan never drops an urgent visit to fit in two normal ones.
PRIORITY_WEIGHT: dict[int, int] = {1: 1, 2: 2, 3: 4, 4: 8}


def priority_weight(priority: int) -> int:
    return PRIORITY_WEIGHT[priority]


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be an aware datetime, not {value!r}.")


@dataclass(frozen=True)
class Place:
    """A point on the earth (decimal degrees)."""

    lat: float
    lng: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "lat", float(self.lat))
        object.__setattr__(self, "lng", float(self.lng))
        if not (isfinite(self.lat) and isfinite(self.lng) and -90 <= self.lat <= 90 and -180 <= self.lng <= 180):
            raise ValueError(f"Not a position on the earth: {self.lat}, {self.lng}.")


@dataclass(frozen=True)
class BreakWindow:
    """A break of `minutes` that starts at or after `earliest_start` and ends by `latest_end`."""

    earliest_start: datetime
    latest_end: datetime
    minutes: int

    def __post_init__(self) -> None:
        _aware("earliest_start", self.earliest_start)
        _aware("latest_end", self.latest_end)
        if self.minutes <= 0 or self.latest_end - self.earliest_start < timedelta(minutes=self.minutes):
            raise ValueError("A break needs a positive length and a range at least that long.")

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class TechnicianInput:
    """A technician as the planner sees them. Leaves from `start_place` and returns to `end_place`."""

    id: int
    name: str
    shift_start: datetime | None
    shift_end: datetime | None
    start_place: Place
    end_place: Place
    skill_ids: frozenset[int] = frozenset()
    break_window: BreakWindow | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "skill_ids", frozenset(self.skill_ids))
        _aware("shift_start", self.shift_start)
        _aware("shift_end", self.shift_end)
        if (self.shift_start is None) != (self.shift_end is None):
            raise ValueError(f"Technician {self.id}: give both ends of the shift, or neither.")

    @property
    def works(self) -> bool:
        """Has a (non-empty) shift that day."""
        return self.shift_start is not None and self.shift_end is not None and self.shift_end > self.shift_start


@dataclass(frozen=True)
class VisitInput:
    """A visit to plan. `must` visits are to be served whenever possible; the others may be deferred at
    a cost by priority. A locked technician and/or start is kept as given."""

    id: int
    place: Place | None
    duration_minutes: int
    window_start: datetime
    window_end: datetime
    required_skill_ids: frozenset[int] = frozenset()
    priority: int = 2
    must: bool = False
    locked_technician_id: int | None = None
    locked_start: datetime | None = None
    label: str = ""  # for people: "J-1042 visit 1"

    def __post_init__(self) -> None:
        object.__setattr__(self, "required_skill_ids", frozenset(self.required_skill_ids))
        _aware("window_start", self.window_start)
        _aware("window_end", self.window_end)
        _aware("locked_start", self.locked_start)
        if self.duration_minutes <= 0:
            raise ValueError(f"Visit {self.id}: the duration must be positive.")
        if self.priority not in PRIORITY_WEIGHT:
            raise ValueError(f"Visit {self.id}: priority must be 1–4, not {self.priority!r}.")

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def name(self) -> str:
        return self.label or f"Visit {self.id}"

    @property
    def weight(self) -> int:
        """What serving the visit is worth (its priority weight)."""
        return priority_weight(self.priority)


@dataclass(frozen=True)
class Problem:
    """One day's planning problem. Lists given for `technicians`/`visits` are kept as tuples."""

    day: date
    technicians: tuple[TechnicianInput, ...]
    visits: tuple[VisitInput, ...]
    allow_overtime: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "technicians", tuple(self.technicians))
        object.__setattr__(self, "visits", tuple(self.visits))
        for kind, ids in (("technician", [t.id for t in self.technicians]), ("visit", [v.id for v in self.visits])):
            if len(set(ids)) != len(ids):
                raise ValueError(f"Each {kind} id may appear once in a problem.")

    @cached_property
    def technician_by_id(self) -> dict[int, TechnicianInput]:
        return {t.id: t for t in self.technicians}

    @cached_property
    def visit_by_id(self) -> dict[int, VisitInput]:
        return {v.id: v for v in self.visits}

    def places(self) -> tuple[Place, ...]:
        """Every place of the problem once, in a fixed order (technicians' start and end places, then the
        visits'): the list to ask a travel matrix for."""
        seen: dict[Place, None] = {}
        for tech in self.technicians:
            seen.setdefault(tech.start_place)
            seen.setdefault(tech.end_place)
        for visit in self.visits:
            if visit.place is not None:
                seen.setdefault(visit.place)
        return tuple(seen)


@dataclass(frozen=True)
class Stop:
    """A visit on a route: the technician arrives, may wait, starts, and ends after the duration.
    Travel is from the previous place on the route (the start place for the first stop)."""

    visit_id: int
    arrival: datetime
    start: datetime
    end: datetime
    travel_seconds: int
    travel_metres: int


@dataclass(frozen=True)
class Route:
    """One technician's day: leaves the start place at `departure`, serves `stops` in order, travels back
    to the end place and arrives there at `end`. `break_start` is when the break begins (None: no break).
    Totals: travel includes the way back; overtime is how long `end` runs past the shift's end."""

    technician_id: int
    stops: tuple[Stop, ...]
    departure: datetime
    end: datetime
    return_travel_seconds: int
    return_travel_metres: int
    break_start: datetime | None
    travel_seconds: int
    travel_metres: int
    overtime_seconds: int

    @classmethod
    def build(
        cls,
        technician: TechnicianInput,
        stops: Iterable[Stop],
        *,
        departure: datetime,
        end: datetime,
        return_travel_seconds: int,
        return_travel_metres: int,
        break_start: datetime | None = None,
    ) -> "Route":
        """A route with its totals computed from its parts."""
        stops = tuple(stops)
        overtime = 0
        if technician.shift_end is not None and end > technician.shift_end:
            overtime = int((end - technician.shift_end).total_seconds())
        return cls(
            technician_id=technician.id,
            stops=stops,
            departure=departure,
            end=end,
            return_travel_seconds=return_travel_seconds,
            return_travel_metres=return_travel_metres,
            break_start=break_start,
            travel_seconds=sum(s.travel_seconds for s in stops) + return_travel_seconds,
            travel_metres=sum(s.travel_metres for s in stops) + return_travel_metres,
            overtime_seconds=overtime,
        )


@dataclass(frozen=True)
class Unassigned:
    """A visit left out of the plan, with a reason code (a `Reason` value) and a text for people."""

    visit_id: int
    code: str
    text: str

    @classmethod
    def because(cls, visit_id: int, reason: Reason, detail: str = "") -> "Unassigned":
        return cls(visit_id=visit_id, code=reason.value, text=detail or REASON_TEXT[reason])


@dataclass(frozen=True)
class Plan:
    """Routes and the visits left out. Totals: `served` visits, their `weighted_served` priority weight,
    travel over all routes, overtime, and how many stops start outside their window."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    served: int
    weighted_served: int
    travel_seconds: int
    travel_metres: int
    overtime_seconds: int
    window_violations: int

    @classmethod
    def build(cls, problem: Problem, routes: Iterable[Route], unassigned: Iterable[Unassigned]) -> "Plan":
        """A plan with its totals computed from its routes (stops of visits unknown to `problem` count as
        served with no weight; the validator reports them)."""
        routes, unassigned = tuple(routes), tuple(unassigned)
        stops = [(stop, problem.visit_by_id.get(stop.visit_id)) for route in routes for stop in route.stops]
        return cls(
            routes=routes,
            unassigned=unassigned,
            served=len(stops),
            weighted_served=sum(v.weight for _, v in stops if v is not None),
            travel_seconds=sum(r.travel_seconds for r in routes),
            travel_metres=sum(r.travel_metres for r in routes),
            overtime_seconds=sum(r.overtime_seconds for r in routes),
            window_violations=sum(1 for s, v in stops if v is not None and not v.window_start <= s.start <= v.window_end),
        )

    def route_for(self, technician_id: int) -> Route | None:
        return next((r for r in self.routes if r.technician_id == technician_id), None)


def _room_to_start(problem: Problem, visit: VisitInput, tech: TechnicianInput) -> bool:
    """Whether `tech`'s shift leaves an instant to start `visit` inside its window (and at its locked
    start), ignoring travel and breaks."""
    assert tech.shift_start is not None
    assert tech.shift_end is not None
    earliest, latest = max(visit.window_start, tech.shift_start), visit.window_end
    if not problem.allow_overtime:
        latest = min(latest, tech.shift_end - visit.duration)
    if visit.locked_start is not None:
        return earliest <= visit.locked_start <= latest
    return earliest <= latest


def _check_one(problem: Problem, visit: VisitInput, working: list[TechnicianInput]) -> Unassigned | None:
    if visit.place is None:
        return Unassigned.because(visit.id, Reason.NO_COORDINATES)
    if visit.window_end < visit.window_start:
        return Unassigned.because(visit.id, Reason.WINDOW_TOO_SHORT)
    if visit.locked_technician_id is not None:
        locked = problem.technician_by_id.get(visit.locked_technician_id)
        if locked is None or not locked.works:
            who = locked.name if locked is not None else f"technician {visit.locked_technician_id}"
            return Unassigned.because(visit.id, Reason.NO_SHIFT, f"The visit is locked to {who}, who has no shift that day.")
        if not visit.required_skill_ids <= locked.skill_ids:
            return Unassigned.because(visit.id, Reason.NO_SKILLED_TECHNICIAN, f"The visit is locked to {locked.name}, who lacks a skill it needs.")
        candidates = [locked]
    else:
        if not working:
            return Unassigned.because(visit.id, Reason.NO_SHIFT, "Nobody has a shift that day.")
        candidates = [t for t in working if visit.required_skill_ids <= t.skill_ids]
        if not candidates:
            return Unassigned.because(visit.id, Reason.NO_SKILLED_TECHNICIAN)
    if any(_room_to_start(problem, visit, t) for t in candidates):
        return None
    if visit.locked_start is not None and not visit.window_start <= visit.locked_start <= visit.window_end:
        return Unassigned.because(visit.id, Reason.WINDOW_CANNOT_BE_MET, "The locked start lies outside the arrival window.")
    if not problem.allow_overtime and all(t.shift_end - t.shift_start < visit.duration for t in candidates):  # type: ignore[operator]
        return Unassigned.because(visit.id, Reason.SHIFT_TOO_SHORT)
    return Unassigned.because(visit.id, Reason.WINDOW_CANNOT_BE_MET)


def pre_check(problem: Problem) -> tuple[tuple[VisitInput, ...], list[Unassigned]]:
    """(the visits a solver should try, the others each with its reason), in the problem's order.
    Every visit of the problem is in exactly one of the two."""
    working = [t for t in problem.technicians if t.works]
    plannable: list[VisitInput] = []
    unassigned: list[Unassigned] = []
    for visit in problem.visits:
        reason = _check_one(problem, visit, working)
        if reason is None:
            plannable.append(visit)
        else:
            unassigned.append(reason)
    return tuple(plannable), unassigned
