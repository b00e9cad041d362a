"""The numeric form of a planning problem that every solver adapter reads: whole numbers only.

Places are matrix indices, times are seconds from an origin instant, travel is seconds and metres from
two matrices. A `Problem` (people's terms: datetimes, places, minutes) becomes an `Instance` through
`from_problem`, which keeps the mapping back (`Instance.origin`, job and vehicle ids); Solomon's
benchmark instances are built directly (bench/routing.py), with capacity and demand, which field work
does not use.

Conventions the adapters rely on:
- A job's window bounds the *start* of service (arrival may be earlier: the technician waits).
- A vehicle leaves its start no earlier than `shift[0]` and is back at its end by `shift[1]` (unless
  `overtime` allows more; then any return time is accepted and costs nothing but travel).
- A locked technician becomes a skill that only that vehicle has (`lock_skill`), and a locked start a
  window of one instant: every solver that honours skills and windows then honours locks.
- `weight` is what serving a job is worth (priority weight; `must` jobs count `MUST_FACTOR` times more),
  so the objective is: most weight served, then least distance.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Problem, TechnicianInput, VisitInput
from .travel import Matrix

# A `must` visit outweighs any number of optional ones on a day of field work (250 urgent visits weigh
# 2,000), so a plan never drops one to fit in others.
MUST_FACTOR = 1_000

# Skill ids at and above this stand for "locked to vehicle k" (LOCK_SKILL_BASE + k).
LOCK_SKILL_BASE = 1 << 40


# A skill no vehicle has: a visit locked to a technician who cannot work carries it.
NOBODY = LOCK_SKILL_BASE - 1


def lock_skill(vehicle_index: int) -> int:
    return LOCK_SKILL_BASE + vehicle_index


@dataclass(frozen=True)
class Vehicle:
    id: int  # the technician's id (or the vehicle's number)
    start: int  # matrix index
    end: int
    shift: tuple[int, int]  # seconds from the origin
    skills: frozenset[int] = frozenset()
    capacity: int | None = None  # None: no capacity constraint
    # (earliest start, latest end, length) in seconds, or None.
    break_window: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class Job:
    id: int  # the visit's id (or the customer's number)
    location: int  # matrix index
    service: int  # seconds
    window: tuple[int, int]  # service starts inside, seconds from the origin
    skills: frozenset[int] = frozenset()
    weight: int = 1
    demand: int = 0


@dataclass(frozen=True)
class Instance:
    durations: Sequence[Sequence[int]]  # seconds, [from][to]
    distances: Sequence[Sequence[int]]  # metres (or scaled units)
    vehicles: tuple[Vehicle, ...]
    jobs: tuple[Job, ...]
    overtime: bool = False
    origin: datetime | None = None  # the instant that time 0 stands for (None: abstract times)
    # Solomon: distances scaled ×100; people-facing figures divide by this.
    distance_scale: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        n = len(self.durations)
        if len(self.distances) != n or any(len(r) != n for r in self.durations) or any(len(r) != n for r in self.distances):
            raise ValueError("The duration and distance matrices must be square and of one size.")
        for job in self.jobs:
            if not 0 <= job.location < n:
                raise ValueError(f"Job {job.id}: location {job.location} is not in the matrix.")
        for vehicle in self.vehicles:
            if not (0 <= vehicle.start < n and 0 <= vehicle.end < n):
                raise ValueError(f"Vehicle {vehicle.id}: start or end is not in the matrix.")

    def can_serve(self, vehicle_index: int, job_index: int) -> bool:
        """Whether the vehicle has every skill the job needs (locks included)."""
        return self.jobs[job_index].skills <= self.vehicles[vehicle_index].skills


def _seconds(origin: datetime, moment: datetime, *, up: bool = False) -> int:
    """Whole seconds from `origin` (a whole second) to `moment`: rounded up for the start of a range
    (a shift starting at 08:00:00.4 cannot be left at 08:00:00), down for its end."""
    exact = moment - origin
    whole = exact.days * 86400 + exact.seconds
    return whole + 1 if up and exact.microseconds else whole


def job_weight(visit: VisitInput) -> int:
    return visit.weight * (MUST_FACTOR if visit.must else 1)


def _break(tech: TechnicianInput, overtime: bool) -> tuple[datetime, datetime, int] | bool | None:
    """The technician's break clamped to the shift: (earliest start, latest end, seconds), None when
    there is no break, False when the break cannot be taken inside the shift (then the technician can
    serve nothing: a route with visits must hold the break)."""
    bw = tech.break_window
    if bw is None:
        return None
    assert tech.shift_start is not None
    assert tech.shift_end is not None
    early = max(bw.earliest_start, tech.shift_start)
    late = bw.latest_end if overtime else min(bw.latest_end, tech.shift_end)
    if late - early < bw.length:
        return False
    return early, late, bw.minutes * 60


def from_problem(problem: Problem, matrix: Matrix, visits: Sequence[VisitInput]) -> Instance:
    """The instance for `visits` (the ones `pre_check` let through) on the working technicians of
    `problem` who can take their break inside their shift (others can serve nothing). Vehicles are
    those technicians in the problem's order; jobs are `visits` in the given order. Time 0 is the
    earliest shift start (or window start)."""
    working = [t for t in problem.technicians if t.works and _break(t, problem.allow_overtime) is not False]
    starts = [t.shift_start for t in working if t.shift_start is not None] + [v.window_start for v in visits]
    origin = (min(starts) if starts else datetime.combine(problem.day, datetime.min.time()).astimezone()).replace(microsecond=0)
    vehicle_index = {tech.id: k for k, tech in enumerate(working)}
    vehicles = []
    for k, tech in enumerate(working):
        assert tech.shift_start is not None
        assert tech.shift_end is not None
        rest = _break(tech, problem.allow_overtime)
        assert rest is not False
        vehicles.append(
            Vehicle(
                id=tech.id,
                start=matrix.index(tech.start_place),
                end=matrix.index(tech.end_place),
                shift=(_seconds(origin, tech.shift_start, up=True), _seconds(origin, tech.shift_end)),
                skills=frozenset(tech.skill_ids) | {lock_skill(k)},
                break_window=(_seconds(origin, rest[0], up=True), _seconds(origin, rest[1]), rest[2]) if rest is not None else None,
            )
        )
    jobs = []
    for visit in visits:
        assert visit.place is not None, "pre_check keeps visits without coordinates out"
        skills = set(visit.required_skill_ids)
        if visit.locked_technician_id is not None:
            # Locked to a technician who cannot work today: a skill nobody has.
            skills.add(lock_skill(vehicle_index[visit.locked_technician_id]) if visit.locked_technician_id in vehicle_index else NOBODY)
        if visit.locked_start is not None:
            window = (_seconds(origin, visit.locked_start, up=True), _seconds(origin, visit.locked_start))
        else:
            window = (_seconds(origin, visit.window_start, up=True), _seconds(origin, visit.window_end))
        jobs.append(
            Job(
                id=visit.id,
                location=matrix.index(visit.place),
                service=visit.duration_minutes * 60,
                window=window,
                skills=frozenset(skills),
                weight=job_weight(visit),
            )
        )
    return Instance(
        durations=matrix.seconds,
        distances=matrix.metres,
        vehicles=tuple(vehicles),
        jobs=tuple(jobs),
        overtime=problem.allow_overtime,
        origin=origin,
        name=f"{problem.day:%Y-%m-%d}",
    )


def moment(instance: Instance, seconds: int) -> datetime:
    assert instance.origin is not None
    return instance.origin + timedelta(seconds=seconds)
