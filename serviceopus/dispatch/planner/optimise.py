"""The planner's strategy: a fast VROOM plan first, then improvement within the time left, keeping the
best valid plan.

Why this combination (measured in bench/routing.py, see docs/planning.md): VROOM models every rule of a
field day natively (skills, windows, shifts, breaks, priorities, optional and locked visits) and returns a
good plan in about a second, but stops there; PyVRP's iterated local search finds much shorter
routes when given time but has neither skills nor breaks. So:
1. "first plan" — VROOM at its lowest exploration level: a feasible plan in about a second for 30
   technicians and 250 visits.
2. "deeper search" — VROOM at the deepest exploration level (up to 4) that should finish within 75 % of
   the budget (a cut-short VROOM run is worse than a finished shallower one).
3. "completing" — only when nearly every visit is served: PyVRP with every servable visit required,
   which closes the last gaps far better than prizes do (and then shortens the routes).
4. "improving" — PyVRP seeded with the best plan so far, skills as routing profiles, for the rest of the
   budget.
After each stage the routes are timed by `timing.schedule` (which knows the breaks), repaired where the
solver's model was looser than ours, topped up by inserting any job that still fits, and scored: most
priority weight served, then least distance. A stage's plan replaces the best only when it scores
better, so the result is never worse than its VROOM stages, and every plan returned is checked by the
validator. A cancel or the time limit stops PyVRP's search at once and skips the stages not begun (a
VROOM pass, a few seconds at most, runs to its end); the best plan so far is returned.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from .instance import Instance, from_problem, moment
from .model import Plan, Problem, Reason, Route, Stop, Unassigned, pre_check
from .solvers import with_pyvrp, with_vroom
from .timing import Routes, Score, repair, schedule, score
from .travel import Matrix
from .validator import validate

# (exploration level, its time as a multiple of level 0's), deepest first. Measured on five seeded days
# of 30 technicians and 250 visits, one thread: level 0 took 0.6–0.8 s; level 1 ×2.5, level 2 ×7,
# level 3 ×13, level 4 ×25, level 5 ×40; served on average 228, 231, 235, 236, 236 visits (level 5,
# 236.4). Two threads roughly halve the deeper levels' time.
VROOM_LEVELS = ((5, 40), (4, 25), (3, 14), (2, 7), (1, 2.5))
# The level when the search is bounded by iterations rather than the clock.
COUNTED_LEVEL = 2


@dataclass(frozen=True)
class Progress:
    stage: str  # for people: "first plan", "deeper search", "completing", "improving", "done"
    served: int  # of the best plan so far
    weighted_served: int
    travel_metres: int
    elapsed_seconds: float


@dataclass(frozen=True)
class StageResult:
    stage: str
    seconds: float  # since the start, when the stage ended
    score: Score | None  # what the stage's own plan scored (None: it found none)
    kept: bool  # whether it became the best


@dataclass(frozen=True)
class Result:
    routes: Routes
    score: Score
    first_feasible_seconds: float
    stages: tuple[StageResult, ...]
    cancelled: bool


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    result: Result

    @property
    def cancelled(self) -> bool:
        return self.result.cancelled


def insert_missing(instance: Instance, routes: Routes) -> Routes:
    """Put each job that is on no route, heaviest first, where it fits at the least extra distance."""
    routes_list = [list(r) for r in routes]
    served = {j for r in routes for j in r}
    missing = sorted((j for j in range(len(instance.jobs)) if j not in served), key=lambda j: -instance.jobs[j].weight)
    for j in missing:
        best: tuple[int, int, int] | None = None  # (extra distance, vehicle, position)
        job_place = instance.jobs[j].location
        for v, route in enumerate(routes_list):
            if not instance.can_serve(v, j):
                continue
            vehicle = instance.vehicles[v]
            places = [vehicle.start, *(instance.jobs[i].location for i in route), vehicle.end]
            for position in range(len(route) + 1):
                a, b = places[position], places[position + 1]
                extra = instance.distances[a][job_place] + instance.distances[job_place][b] - (instance.distances[a][b] if route else 0)
                if best is not None and extra >= best[0]:
                    continue
                if schedule(instance, v, [*route[:position], j, *route[position:]]) is not None:
                    best = (extra, v, position)
        if best is not None:
            routes_list[best[1]].insert(best[2], j)
    return tuple(tuple(r) for r in routes_list)


def polish(instance: Instance, routes: Routes) -> Routes:
    """A solver's routes made to keep every rule (`repair`) and topped up (`insert_missing`)."""
    return insert_missing(instance, repair(instance, routes))


def optimise(
    instance: Instance,
    *,
    time_limit: float,
    seed: int = 0,
    on_progress: Callable[[str, Score, float, Routes], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    iterations: int | None = None,
    threads: int = 1,
) -> Result:
    """The best routes found within `time_limit` seconds. `iterations` bounds the improvement phase by a
    count instead of the clock: the same seed then gives the same routes on any machine. VROOM's stages
    use `threads` threads (PyVRP uses one)."""
    began = time.monotonic()
    stop = should_stop or (lambda: False)

    def elapsed() -> float:
        return time.monotonic() - began

    best: Routes = tuple(() for _ in instance.vehicles)
    best_score = score(instance, best)
    stages: list[StageResult] = []
    first_feasible = 0.0

    def offer(stage: str, routes: Routes | None) -> None:
        nonlocal best, best_score, first_feasible
        candidate = polish(instance, routes) if routes is not None else None
        candidate_score = score(instance, candidate) if candidate is not None else None
        kept = candidate_score is not None and (not stages or candidate_score.better(best_score))
        if kept:
            assert candidate is not None
            assert candidate_score is not None
            best, best_score = candidate, candidate_score
            if not stages:
                first_feasible = elapsed()
        stages.append(StageResult(stage, elapsed(), candidate_score, kept))
        if on_progress is not None:
            on_progress(stage, best_score, elapsed(), best)

    offer("first plan", with_vroom.solve(instance, exploration_level=0, threads=threads))
    first_seconds = elapsed()
    servable = frozenset(j for j in range(len(instance.jobs)) if _servable_alone(instance, j))

    def nearly_complete() -> bool:
        """At most 5 % of the servable jobs (and at least 2) left out, but some."""
        missing = servable - {j for route in best for j in route}
        return 0 < len(missing) <= max(2, len(servable) // 20)

    # VROOM's deeper levels serve more but take many times its first pass, and are worse when cut
    # short: run the deepest that should end within 75 % of the budget, leaving the rest to PyVRP.
    # Counted iterations make the result depend on the seed alone: then the level does not depend on
    # the clock either. When the first plan is nearly complete, the time goes to completing it instead.
    for level, factor in VROOM_LEVELS:
        if stop() or nearly_complete():
            break
        if iterations is not None:
            offer("deeper search", with_vroom.solve(instance, exploration_level=COUNTED_LEVEL, threads=threads))
            break
        if elapsed() + factor * first_seconds <= 0.75 * time_limit:
            offer("deeper search", with_vroom.solve(instance, exploration_level=level, time_limit=0.75 * time_limit - elapsed(), threads=threads))
            break
    if nearly_complete() and not stop() and (elapsed() < time_limit or iterations is not None):
        # Search for a plan that serves everything, with 75 % of the time left (the search also shortens
        # the routes once it has one). It starts from scratch: seeded with the incomplete plan it stays
        # stuck near it (measured on Solomon's RC101). When there is no complete plan, the time is lost
        # and the improvement below has the rest.
        share = max(0.05, 0.75 * (time_limit - elapsed()))
        offer("completing", with_pyvrp.solve(instance, time_limit=share, seed=seed, should_stop=stop, iterations=iterations, required=servable))
    if not stop() and instance.jobs and (elapsed() < time_limit or iterations is not None):
        # Leave a moment for timing, checking and storing the plan within the limit.
        remaining = max(0.05, time_limit - elapsed() - min(0.5, 0.03 * time_limit))
        # A complete plan is improved among complete plans only; otherwise visits are prizes.
        complete = servable if servable <= {j for route in best for j in route} else frozenset()
        offer(
            "improving",
            with_pyvrp.solve(instance, time_limit=remaining, seed=seed, initial=best, should_stop=stop, iterations=iterations, required=complete),
        )
    return Result(routes=best, score=best_score, first_feasible_seconds=first_feasible, stages=tuple(stages), cancelled=stop())


def _servable_alone(instance: Instance, j: int) -> bool:
    """Whether some vehicle that may take the job could serve it as its only job."""
    return any(instance.can_serve(v, j) and schedule(instance, v, [j]) is not None for v in range(len(instance.vehicles)))


def _why_unassigned(instance: Instance, j: int) -> Reason:
    """For a job no route holds: whether it was left out for others, or fits no route even alone."""
    return Reason.NOT_PLANNED if _servable_alone(instance, j) else Reason.WINDOW_CANNOT_BE_MET


def to_plan(problem: Problem, instance: Instance, matrix: Matrix, routes: Routes, set_aside: Sequence[Unassigned]) -> Plan:
    """People's plan from timed routes; jobs on no route become unassigned with their reason."""
    by_vehicle = {vehicle.id: v for v, vehicle in enumerate(instance.vehicles)}
    plan_routes = []
    for tech in problem.technicians:
        v = by_vehicle.get(tech.id)
        route = routes[v] if v is not None else ()
        if v is None or not route:
            # Staying home: the validator still wants the drive from the start place to the end place.
            start = tech.shift_start or moment(instance, 0)
            seconds, metres = matrix.travel(tech.start_place, tech.end_place) if tech.works else (0, 0)
            plan_routes.append(
                Route.build(tech, (), departure=start, end=start + timedelta(seconds=seconds), return_travel_seconds=seconds, return_travel_metres=metres)
            )
            continue
        timed = schedule(instance, v, route)
        assert timed is not None, "routes are repaired before they are turned into a plan"
        vehicle = instance.vehicles[v]
        stops, place = [], vehicle.start
        for j, arrival, start in zip(route, timed.arrivals, timed.starts, strict=True):
            job = instance.jobs[j]
            stops.append(
                Stop(
                    visit_id=job.id,
                    arrival=moment(instance, arrival),
                    start=moment(instance, start),
                    end=moment(instance, start) + timedelta(seconds=job.service),
                    travel_seconds=instance.durations[place][job.location],
                    travel_metres=instance.distances[place][job.location],
                )
            )
            place = job.location
        plan_routes.append(
            Route.build(
                tech,
                stops,
                departure=moment(instance, timed.departure),
                end=moment(instance, timed.end),
                return_travel_seconds=instance.durations[place][vehicle.end],
                return_travel_metres=instance.distances[place][vehicle.end],
                break_start=moment(instance, timed.break_start) if timed.break_start is not None else None,
            )
        )
    served = {j for route in routes for j in route}
    unassigned = list(set_aside)
    for j, job in enumerate(instance.jobs):
        if j not in served:
            unassigned.append(Unassigned.because(job.id, _why_unassigned(instance, j)))
    return Plan.build(problem, plan_routes, unassigned)


class InvalidPlan(Exception):
    """The planner produced a plan its validator refuses: a defect, never shown to people."""


def plan_day(
    problem: Problem,
    matrix: Matrix,
    *,
    time_limit: float | None = None,
    seed: int = 0,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    iterations: int | None = None,
) -> Outcome:
    """The best valid plan for `problem` within `time_limit` seconds (default: settings.PLANNER_TIME_LIMIT)."""
    began = time.monotonic()
    limit = float(time_limit if time_limit is not None else settings.PLANNER_TIME_LIMIT)
    plannable, set_aside = pre_check(problem)
    instance = from_problem(problem, matrix, plannable)

    def track(stage: str, best: Score, elapsed: float, routes: Routes) -> None:
        assert on_progress is not None
        weighted = sum(problem.visit_by_id[instance.jobs[j].id].weight for route in routes for j in route)
        on_progress(Progress(stage, best.served, weighted, best.distance, elapsed))

    result = optimise(
        instance,
        time_limit=limit,
        seed=seed,
        on_progress=track if on_progress else None,
        should_stop=should_stop,
        iterations=iterations,
        threads=settings.PLANNER_THREADS,
    )
    plan = to_plan(problem, instance, matrix, result.routes, set_aside)
    violations = validate(problem, plan, matrix)
    if violations:
        raise InvalidPlan("; ".join(v.message for v in violations[:5]))
    if on_progress is not None:
        on_progress(Progress("done", plan.served, plan.weighted_served, plan.travel_metres, time.monotonic() - began))
    return Outcome(plan=plan, result=result)
