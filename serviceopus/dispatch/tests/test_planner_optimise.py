"""The planner's entry point: every plan `plan_day` returns passes the validator and holds each visit
once; what it serves (room for all, skills, locks, must over optional), cancelling, determinism for a
seed, progress reports, empty days; and `polish`/`insert_missing`/`to_plan`, the steps between a
solver's routes and people's plan. Solver calls run for at most one second."""

import time

from serviceopus.dispatch.planner.instance import Instance, Job, Vehicle, from_problem
from serviceopus.dispatch.planner.model import BreakWindow, Place, Problem, pre_check
from serviceopus.dispatch.planner.optimise import Outcome, Progress, insert_missing, optimise, plan_day, polish, to_plan
from serviceopus.dispatch.planner.solvers import with_vroom
from serviceopus.dispatch.planner.timing import Score, repair, score
from serviceopus.dispatch.planner.travel import Matrix
from serviceopus.dispatch.planner.validator import validate

from .planner_support import DAY, DEPOT, HAVERSINE, at, tech, visit

HOME = Place(41.9400, -87.7000)
A = Place(41.9000, -87.6500)
PLACES = [Place(41.8850 + 0.012 * k, -87.6300 + 0.01 * ((3 * k) % 5 - 2)) for k in range(8)]


def plan(problem: Problem, *, time_limit: float = 0.5, iterations: int | None = 100, **kwargs) -> tuple[Outcome, Matrix]:  # type: ignore[no-untyped-def]
    """plan_day's outcome, checked: no violation, each visit exactly once."""
    matrix = HAVERSINE.matrix(problem.places())
    outcome = plan_day(problem, matrix, time_limit=time_limit, iterations=iterations, **kwargs)
    assert validate(problem, outcome.plan, matrix) == []
    ids = [s.visit_id for r in outcome.plan.routes for s in r.stops] + [u.visit_id for u in outcome.plan.unassigned]
    assert sorted(ids) == sorted(v.id for v in problem.visits)
    assert [r.technician_id for r in outcome.plan.routes] == [t.id for t in problem.technicians]
    return outcome, matrix


# The stages as optimise.py documents them, in their order; each after the first runs only when it may.
STAGES = ("first plan", "deeper search", "completing", "improving")


def in_stage_order(names: list[str]) -> bool:
    return names[:1] == ["first plan"] and names == sorted(names, key=STAGES.index) and len(set(names)) == len(names)


def stops(outcome: Outcome) -> dict[int, list[int]]:
    return {r.technician_id: [s.visit_id for s in r.stops] for r in outcome.plan.routes}


def unassigned(outcome: Outcome) -> dict[int, str]:
    return {u.visit_id: u.code for u in outcome.plan.unassigned}


# Three technicians, four-hour shifts, eight 45-minute visits (13 needs Blair's skill 2; 16 is Casey's).
ROOMY = Problem(
    day=DAY,
    technicians=[
        tech(1, "Alex", skills={1}, shift=(at(8), at(12))),
        tech(2, "Blair", skills={1, 2}, shift=(at(8), at(12)), start=HOME, end=HOME, break_window=BreakWindow(at(10), at(11, 30), 20)),
        tech(3, "Casey", shift=(at(9), at(13))),
    ],
    visits=[
        visit(10 + k, PLACES[k], duration=45, window=(at(8), at(12)), skills={2} if k == 3 else (), locked_technician=3 if k == 6 else None) for k in range(8)
    ],
)


# --- what gets served ------------------------------------------------------------------------------------


def test_every_visit_is_served_when_there_is_room() -> None:
    outcome, _ = plan(ROOMY)
    routes = stops(outcome)
    assert outcome.plan.unassigned == ()
    assert outcome.plan.served == 8
    assert outcome.plan.weighted_served == 8 * 2
    assert outcome.plan.window_violations == outcome.plan.overtime_seconds == 0
    assert 13 in routes[2]
    assert 16 in routes[3]
    blair = outcome.plan.route_for(2)
    assert blair is not None
    assert blair.break_start is not None or not blair.stops
    assert outcome.plan.travel_metres == sum(r.travel_metres for r in outcome.plan.routes) > 0
    assert outcome.cancelled is False


def test_a_visit_needing_a_skill_nobody_has_is_unassigned_for_that_reason() -> None:
    problem = Problem(day=DAY, technicians=[tech(1, skills={1}), tech(2, skills={2})], visits=[visit(10, A, skills={1, 2}), visit(11, A, skills={2})])
    outcome, _ = plan(problem)
    assert unassigned(outcome) == {10: "no_skilled_technician"}
    assert stops(outcome) == {1: [], 2: [11]}


def test_a_visit_locked_to_a_technician_and_a_start_lands_there_at_that_start() -> None:
    problem = Problem(
        day=DAY,
        technicians=[tech(1), tech(2, start=HOME, end=HOME)],
        visits=[visit(10, A, window=(at(9), at(12)), locked_technician=2, locked_start=at(10, 30)), visit(11, PLACES[1])],
    )
    outcome, _ = plan(problem)
    blair = outcome.plan.route_for(2)
    assert blair is not None
    assert [(s.visit_id, s.start, s.end) for s in blair.stops if s.visit_id == 10] == [(10, at(10, 30), at(11, 30))]
    assert unassigned(outcome) == {}


def test_a_must_visit_is_kept_over_two_optional_urgent_ones_when_only_one_fits() -> None:
    # A four-hour shift and three three-hour visits at one place: one fits.
    problem = Problem(
        day=DAY,
        technicians=[tech(1, shift=(at(8), at(12)))],
        visits=[visit(10, A, duration=180, priority=4), visit(11, A, duration=180, priority=1, must=True), visit(12, A, duration=180, priority=4)],
    )
    outcome, _ = plan(problem)
    assert stops(outcome) == {1: [11]}
    assert unassigned(outcome) == {10: "not_planned", 12: "not_planned"}
    assert outcome.plan.weighted_served == 1


def test_a_visit_no_route_can_reach_in_its_window_is_window_cannot_be_met() -> None:
    # pre_check (no travel) lets it through; the drive from the depot (over 5 min) misses 08:00–08:05.
    problem = Problem(day=DAY, technicians=[tech(1)], visits=[visit(10, A, window=(at(8), at(8, 5))), visit(11, A)])
    outcome, matrix = plan(problem)
    assert matrix.travel(DEPOT, A)[0] > 300
    assert unassigned(outcome) == {10: "window_cannot_be_met"}
    assert stops(outcome) == {1: [11]}


def test_the_plan_is_never_worse_than_the_first_plan() -> None:
    outcome, _ = plan(ROOMY)
    stages = outcome.result.stages
    names = [s.stage for s in stages]
    assert in_stage_order(names)
    assert names[-1] == "improving"  # with counted iterations it always runs
    assert stages[0].kept is True
    assert outcome.result.score == max((s.score for s in stages if s.score is not None), key=lambda s: (s.weight, -s.distance))


# --- cancelling, seeds, progress ------------------------------------------------------------------------


def test_a_cancel_at_once_returns_the_first_plan_valid_and_cancelled(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    answers = []
    real = with_vroom.solve

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        answers.append(real(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(with_vroom, "solve", recorded)
    outcome, matrix = plan(ROOMY, time_limit=1, iterations=None, should_stop=lambda: True)
    assert outcome.cancelled is True
    assert [s.stage for s in outcome.result.stages] == ["first plan"]
    assert len(answers) == 1
    plannable, set_aside = pre_check(ROOMY)
    inst = from_problem(ROOMY, matrix, plannable)
    first = polish(inst, answers[0])
    assert outcome.result.routes == first
    assert outcome.plan == to_plan(ROOMY, inst, matrix, first, set_aside)
    assert outcome.plan.served == 8


def test_the_same_seed_and_iterations_give_the_same_plan() -> None:
    first, _ = plan(ROOMY, time_limit=1, iterations=150, seed=3)
    again, _ = plan(ROOMY, time_limit=1, iterations=150, seed=3)
    assert first.plan == again.plan
    assert first.result.routes == again.result.routes
    assert [s.score for s in first.result.stages] == [s.score for s in again.result.stages]


def test_progress_is_reported_stage_by_stage_and_ends_with_done() -> None:
    reports: list[Progress] = []
    outcome, _ = plan(ROOMY, time_limit=1, on_progress=reports.append)
    names = [p.stage for p in reports]
    assert names[-1] == "done"
    assert in_stage_order(names[:-1])
    assert names[:-1] == [s.stage for s in outcome.result.stages]
    assert "improving" in names
    done = reports[-1]
    assert (done.served, done.weighted_served, done.travel_metres) == (outcome.plan.served, outcome.plan.weighted_served, outcome.plan.travel_metres)
    assert reports[-2].served == done.served
    assert reports[-2].travel_metres == done.travel_metres
    assert [p.elapsed_seconds for p in reports[:-1]] == sorted(p.elapsed_seconds for p in reports[:-1])
    assert done.elapsed_seconds >= outcome.result.stages[-1].seconds
    weights = [p.weighted_served for p in reports]
    assert weights == sorted(weights)  # the best so far never gets worse


def test_without_a_time_limit_the_setting_applies(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PLANNER_TIME_LIMIT = 0.3
    began = time.monotonic()
    outcome, _ = plan(ROOMY, time_limit=None, iterations=None)  # type: ignore[arg-type]
    assert time.monotonic() - began < 3  # far below the 20 s default
    assert outcome.plan.served == 8


# --- empty days -----------------------------------------------------------------------------------------


def test_a_day_without_visits_gives_an_empty_valid_plan() -> None:
    problem = Problem(day=DAY, technicians=[tech(1), tech(2, shift=None)], visits=[])
    outcome, _ = plan(problem)
    assert stops(outcome) == {1: [], 2: []}
    assert outcome.plan.unassigned == ()
    assert (outcome.plan.served, outcome.plan.travel_metres, outcome.plan.travel_seconds) == (0, 0, 0)


def test_a_day_nobody_works_leaves_every_visit_unassigned() -> None:
    problem = Problem(day=DAY, technicians=[tech(1, shift=None), tech(2, shift=None)], visits=[visit(10, A), visit(11, None)])
    outcome, _ = plan(problem)
    assert stops(outcome) == {1: [], 2: []}
    assert unassigned(outcome) == {10: "no_shift", 11: "no_coordinates"}


def test_a_day_without_technicians() -> None:
    outcome, _ = plan(Problem(day=DAY, technicians=[], visits=[visit(10, A)]))
    assert outcome.plan.routes == ()
    assert unassigned(outcome) == {10: "no_shift"}


# --- awkward days: breaks outside the shift, separate start and end places, nothing reachable -----------


def test_an_idle_technician_whose_start_and_end_places_differ() -> None:
    problem = Problem(day=DAY, technicians=[tech(1, start=HOME)], visits=[])
    outcome, _ = plan(problem)
    assert stops(outcome) == {1: []}


def test_a_break_window_opening_before_every_shift() -> None:
    problem = Problem(day=DAY, technicians=[tech(1, break_window=BreakWindow(at(7), at(13), 30))], visits=[visit(10, A, window=(at(9), at(12)))])
    outcome, _ = plan(problem)
    assert stops(outcome) == {1: [10]}


def test_a_day_where_no_visit_can_be_reached_in_its_window() -> None:
    problem = Problem(day=DAY, technicians=[tech(1)], visits=[visit(10, A, window=(at(8), at(8, 5)))])
    outcome, _ = plan(problem)
    assert unassigned(outcome) == {10: "window_cannot_be_met"}


def test_a_break_window_outside_the_shift_leaves_that_technician_without_visits() -> None:
    problem = Problem(
        day=DAY,
        technicians=[tech(1, shift=(at(7), at(11)), break_window=BreakWindow(at(12), at(14), 30)), tech(2)],
        visits=[visit(10, A, window=(at(8), at(10))), visit(11, A)],
    )
    outcome, _ = plan(problem)
    assert stops(outcome)[1] == []
    assert sorted(stops(outcome)[2]) == [10, 11]


def test_with_overtime_a_break_after_coming_home_stays_inside_the_day() -> None:
    problem = Problem(
        day=DAY,
        technicians=[tech(1, break_window=BreakWindow(at(16, 50), at(18), 30))],
        visits=[visit(10, A, duration=60, window=(at(15), at(15)))],
        allow_overtime=True,
    )
    outcome, _ = plan(problem)
    assert stops(outcome) == {1: [10]}


def test_a_break_that_fits_only_before_the_first_drive() -> None:
    problem = Problem(day=DAY, technicians=[tech(1, break_window=BreakWindow(at(8, 5), at(9, 5), 60))], visits=[visit(10, A)])
    outcome, _ = plan(problem)
    assert stops(outcome) == {1: [10]}


# --- the steps between a solver and the plan ------------------------------------------------------------

# Places 0 (depot), 1, 2, 3 on a line, 100 s / 1000 m apart.
LINE = [[100 * abs(a - b) for b in range(4)] for a in range(4)]
LINE_METRES = [[10 * s for s in row] for row in LINE]


def line(*jobs: Job, vehicles: int = 1, shift: tuple[int, int] = (0, 10_000)) -> Instance:
    return Instance(LINE, LINE_METRES, tuple(Vehicle(k + 1, 0, 0, shift) for k in range(vehicles)), jobs)


def test_insert_missing_puts_each_job_where_it_adds_the_least_distance() -> None:
    inst = line(Job(1, 1, 10, (0, 10_000)), Job(2, 3, 10, (0, 10_000)), Job(3, 2, 10, (0, 10_000)))
    # Between 1 and 3 job 3 (at place 2) adds nothing.
    assert insert_missing(inst, ((0, 1),)) == ((0, 2, 1),)


def test_insert_missing_places_the_heaviest_first_and_skips_what_does_not_fit() -> None:
    # Room for one 500 s job (shift 800 s); the heavier one is placed.
    inst = line(Job(1, 1, 500, (0, 10_000), weight=1), Job(2, 1, 500, (0, 10_000), weight=4), shift=(0, 800))
    assert insert_missing(inst, ((),)) == ((1,),)


def test_insert_missing_respects_skills() -> None:
    inst = Instance(
        LINE,
        LINE_METRES,
        (Vehicle(1, 0, 0, (0, 10_000)), Vehicle(2, 3, 3, (0, 10_000), skills=frozenset({9}))),
        (Job(1, 1, 10, (0, 10_000), skills=frozenset({9})),),
    )
    assert insert_missing(inst, ((), ())) == ((), (0,))  # far from vehicle 2, but only it may serve


def test_polish_repairs_then_tops_up() -> None:
    # Job 1 twice, and job 0 after job 1, where its window (until 150) is over: repair keeps job 1 alone
    # on vehicle 0 (of two equal jobs the later one goes), then job 0 goes back in before job 1, on the
    # way out (no extra distance), rather than on the empty vehicle 1 (2000 m).
    inst = line(Job(1, 1, 10, (0, 150)), Job(2, 2, 10, (0, 10_000)), vehicles=2)
    assert repair(inst, ((1, 0), (1,))) == ((1,), ())
    assert polish(inst, ((1, 0), (1,))) == ((0, 1), ())
    assert score(inst, ((0, 1), ())) == Score(weight=2, distance=4000, served=2)


def test_optimise_on_an_instance_without_jobs() -> None:
    result = optimise(line(vehicles=2), time_limit=0.2, iterations=10)
    assert result.routes == ((), ())
    assert [s.stage for s in result.stages] == ["first plan", "deeper search"]  # nothing to complete or improve
    assert result.cancelled is False


def test_instants_with_fractions_of_a_second_are_kept_inside() -> None:
    # Re-planning starts shifts "now", which carries microseconds; times are whole seconds inside.
    now = at(9, 30, 12).replace(microsecond=400_000)
    problem = Problem(
        day=DAY,
        technicians=[tech(1, shift=(now, at(17)))],
        visits=[visit(10, Place(41.90, -87.65), window=(now, at(12))), visit(11, Place(41.86, -87.62), window=(at(9, 0, 1).replace(microsecond=5), at(16)))],
    )
    outcome, matrix = plan(problem)
    assert validate(problem, outcome.plan, matrix) == []
    assert stops(outcome) == {1: [10, 11]}
    first = outcome.plan.routes[0].stops[0]
    assert first.start >= now
