"""The numeric instance built from a problem (locks as skills, locked starts as one-instant windows, must
weights, the origin) and each solver adapter on a tiny instance: its routes can be timed, each job is on
at most one route, skills and locks are kept, and PyVRP's seed solution maps back to the same routes."""

from datetime import timedelta

import pytest

from serviceopus.dispatch.planner.instance import LOCK_SKILL_BASE, MUST_FACTOR, Instance, Job, Vehicle, from_problem, lock_skill, moment
from serviceopus.dispatch.planner.model import BreakWindow, Place, Problem, pre_check
from serviceopus.dispatch.planner.solvers import with_pyvrp, with_vroom
from serviceopus.dispatch.planner.timing import schedule

from .planner_support import DAY, DEPOT, HAVERSINE, at, tech, visit

HOME = Place(41.9400, -87.7000)
# Eight places a few kilometres apart, north of the depot.
PLACES = [Place(41.8850 + 0.012 * k, -87.6300 + 0.01 * ((3 * k) % 5 - 2)) for k in range(8)]


def numeric(problem: Problem) -> Instance:
    plannable, _ = pre_check(problem)
    return from_problem(problem, HAVERSINE.matrix(problem.places()), plannable)


# --- from_problem ------------------------------------------------------------------------------------------


def test_vehicles_are_the_working_technicians_in_order_with_times_from_the_earliest_shift_start() -> None:
    problem = Problem(
        day=DAY,
        technicians=[
            tech(1, skills={4}, shift=(at(9), at(17)), break_window=BreakWindow(at(12), at(14), 30)),
            tech(2, shift=None),
            tech(3, skills={4, 5}, shift=(at(7, 30), at(15, 30)), start=HOME),
        ],
        visits=[visit(10, PLACES[0], duration=45, window=(at(8), at(10)), skills={4})],
    )
    matrix = HAVERSINE.matrix(problem.places())
    inst = numeric(problem)
    assert inst.origin == at(7, 30)
    assert moment(inst, 5400) == at(9)
    assert inst.vehicles == (
        Vehicle(1, matrix.index(DEPOT), matrix.index(DEPOT), (5400, 34200), frozenset({4, lock_skill(0)}), None, (16200, 23400, 1800)),
        Vehicle(3, matrix.index(HOME), matrix.index(DEPOT), (0, 28800), frozenset({4, 5, lock_skill(1)}), None, None),
    )
    assert inst.jobs == (Job(10, matrix.index(PLACES[0]), 2700, (1800, 9000), frozenset({4}), weight=2),)
    assert inst.durations == matrix.seconds
    assert inst.distances == matrix.metres
    assert inst.overtime is False


def test_a_visit_window_opening_before_every_shift_moves_the_origin_there() -> None:
    problem = Problem(day=DAY, technicians=[tech(1, shift=(at(8), at(17)))], visits=[visit(10, PLACES[0], window=(at(7), at(9)))])
    inst = numeric(problem)
    assert inst.origin == at(7)
    assert inst.vehicles[0].shift == (3600, 36000)
    assert inst.jobs[0].window == (0, 7200)


def test_a_lock_to_a_technician_is_a_skill_only_that_vehicle_has() -> None:
    problem = Problem(
        day=DAY,
        technicians=[tech(1, skills={1}), tech(2, skills={1}, shift=None), tech(3, skills={1}), tech(4, skills={1})],
        visits=[visit(10, PLACES[0], locked_technician=4, skills={1}), visit(11, PLACES[1])],
    )
    inst = numeric(problem)
    assert [v.id for v in inst.vehicles] == [1, 3, 4]
    assert inst.jobs[0].skills == frozenset({1, LOCK_SKILL_BASE + 2})  # technician 4 is vehicle 2
    assert [k for k, v in enumerate(inst.vehicles) if lock_skill(2) in v.skills] == [2]
    assert [inst.can_serve(k, 0) for k in range(3)] == [False, False, True]
    assert [inst.can_serve(k, 1) for k in range(3)] == [True, True, True]


def test_a_locked_start_is_a_window_of_one_instant() -> None:
    problem = Problem(day=DAY, technicians=[tech(1)], visits=[visit(10, PLACES[0], window=(at(9), at(12)), locked_start=at(10, 15))])
    assert numeric(problem).jobs[0].window == (8100, 8100)


def test_must_visits_weigh_must_factor_times_more() -> None:
    problem = Problem(
        day=DAY,
        technicians=[tech(1)],
        visits=[visit(10, PLACES[0], priority=1), visit(11, PLACES[1], priority=1, must=True), visit(12, PLACES[2], priority=4, must=True)],
    )
    assert [j.weight for j in numeric(problem).jobs] == [1, MUST_FACTOR, 8 * MUST_FACTOR]
    assert MUST_FACTOR == 1000


def test_overtime_and_the_visits_pre_check_set_aside_stay_out() -> None:
    problem = Problem(day=DAY, technicians=[tech(1)], visits=[visit(10, None), visit(11, PLACES[1])], allow_overtime=True)
    inst = numeric(problem)
    assert [j.id for j in inst.jobs] == [11]
    assert inst.overtime is True


# --- the adapters on a tiny instance -----------------------------------------------------------------------

# Three technicians with four-hour shifts and eight 45-minute visits: more than one route is needed.
# Visit 13 needs skill 2, which only Blair has; visit 16 is locked to Casey.
TINY = Problem(
    day=DAY,
    technicians=[
        tech(1, "Alex", skills={1}, shift=(at(8), at(12))),
        tech(2, "Blair", skills={1, 2}, shift=(at(8), at(12)), start=HOME, end=HOME),
        tech(3, "Casey", shift=(at(9), at(13))),
    ],
    visits=[
        visit(10 + k, PLACES[k], duration=45, window=(at(8), at(12)), skills={2} if k == 3 else (), locked_technician=3 if k == 6 else None) for k in range(8)
    ],
)


@pytest.fixture(scope="module")
def tiny() -> Instance:
    return numeric(TINY)


def check_routes(inst: Instance, routes: tuple[tuple[int, ...], ...]) -> list[int]:
    """Every route can be timed and no job is twice; the served jobs, sorted."""
    assert len(routes) == len(inst.vehicles)
    served = [j for route in routes for j in route]
    assert len(served) == len(set(served))
    for v, route in enumerate(routes):
        assert schedule(inst, v, route) is not None, (v, route)
    return sorted(served)


def test_vroom_serves_every_job_on_routes_that_can_be_timed(tiny: Instance) -> None:
    routes = with_vroom.solve(tiny, exploration_level=5, time_limit=1)
    assert check_routes(tiny, routes) == list(range(8))
    assert 3 in routes[1]  # the skill only Blair has
    assert 6 in routes[2]  # locked to Casey
    assert sum(1 for route in routes if route) >= 2


def test_vroom_keeps_the_break(tiny: Instance) -> None:
    rest = (Vehicle(1, 0, 0, (0, 14400), break_window=(7200, 9000, 1800)),)
    inst = Instance(durations=tiny.durations, distances=tiny.distances, vehicles=rest, jobs=tiny.jobs[:3])
    routes = with_vroom.solve(inst, exploration_level=5, time_limit=1)
    assert check_routes(inst, routes) == [0, 1, 2]
    timed = schedule(inst, 0, routes[0])
    assert timed is not None
    assert timed.break_start is not None


def test_vroom_on_no_jobs_or_no_vehicles() -> None:
    empty = Instance(durations=[[0]], distances=[[0]], vehicles=(Vehicle(1, 0, 0, (0, 100)), Vehicle(2, 0, 0, (0, 100))), jobs=())
    assert with_vroom.solve(empty) == ((), ())
    nobody = Instance(durations=[[0]], distances=[[0]], vehicles=(), jobs=(Job(1, 0, 10, (0, 100)),))
    assert with_vroom.solve(nobody) == ()


def test_vroom_serves_the_heavier_job_when_only_one_fits() -> None:
    # One vehicle, 0–400 s; two jobs of 300 s: the farther, heavier one (weight 8) is served.
    d = [[0, 10, 40], [10, 0, 40], [40, 40, 0]]
    inst = Instance(d, d, (Vehicle(1, 0, 0, (0, 400)),), (Job(1, 1, 300, (0, 400), weight=1), Job(2, 2, 300, (0, 400), weight=8)))
    assert with_vroom.solve(inst, time_limit=1) == ((1,),)


def test_pyvrp_serves_every_job_on_routes_that_can_be_timed(tiny: Instance) -> None:
    routes = with_pyvrp.solve(tiny, time_limit=1, seed=1, iterations=300)
    assert routes is not None
    assert check_routes(tiny, routes) == list(range(8))
    assert 3 in routes[1]
    assert 6 in routes[2]


def test_pyvrp_seeded_with_vroom_serves_all_and_repeats_for_a_seed(tiny: Instance) -> None:
    seed_routes = with_vroom.solve(tiny, exploration_level=5, time_limit=1)
    first = with_pyvrp.solve(tiny, time_limit=1, seed=7, initial=seed_routes, iterations=200)
    again = with_pyvrp.solve(tiny, time_limit=1, seed=7, initial=seed_routes, iterations=200)
    assert first is not None
    assert first == again
    assert check_routes(tiny, first) == list(range(8))


def test_pyvrp_serves_the_heavier_job_when_only_one_fits() -> None:
    d = [[0, 10, 40], [10, 0, 40], [40, 40, 0]]
    inst = Instance(d, d, (Vehicle(1, 0, 0, (0, 400)),), (Job(1, 1, 300, (0, 400), weight=1), Job(2, 2, 300, (0, 400), weight=8)))
    assert with_pyvrp.solve(inst, time_limit=0.5, iterations=100) == ((1,),)


def test_pyvrp_on_no_jobs() -> None:
    empty = Instance(durations=[[0]], distances=[[0]], vehicles=(Vehicle(1, 0, 0, (0, 100)),), jobs=())
    assert with_pyvrp.solve(empty, time_limit=0.1) == ((),)


def test_pyvrp_stops_when_asked(tiny: Instance) -> None:
    routes = with_pyvrp.solve(tiny, time_limit=30, should_stop=lambda: True)
    assert routes is not None  # the search ended long before 30 s with a feasible answer
    check_routes(tiny, routes)


def test_pyvrp_seed_solution_round_trips(tiny: Instance) -> None:
    model = with_pyvrp.Model(tiny)
    for routes in [((0, 1, 2), (3, 4), (5, 6, 7)), ((), (3,), (6,)), ((), (), ()), ((7, 0), (), (6, 5))]:
        assert model.routes(model.solution(routes)) == routes


def test_pyvrp_gives_each_job_a_place_of_its_own_and_bars_jobs_by_profile(tiny: Instance) -> None:
    model = with_pyvrp.Model(tiny)
    data = model.data
    assert data.num_clients == 8
    assert model.first_client == 2  # the depot and Blair's home
    # Alex and Blair differ in what they may serve (13 is Blair's), Casey alone may serve 16.
    assert data.num_profiles == 3
    assert sorted(k for ks in model.type_vehicles for k in ks) == [0, 1, 2]


def test_pyvrp_seed_solution_round_trips_for_vehicles_that_differ_only_in_their_break(tiny: Instance) -> None:
    vehicles = (Vehicle(1, 0, 0, (0, 14400), break_window=(3600, 7200, 1800)), Vehicle(2, 0, 0, (0, 14400)))
    inst = Instance(durations=tiny.durations, distances=tiny.distances, vehicles=vehicles, jobs=tiny.jobs[:3])
    model = with_pyvrp.Model(inst)
    routes = ((), (0, 1, 2))
    assert model.routes(model.solution(routes)) == routes


def test_time_origin_is_an_aware_instant(tiny: Instance) -> None:
    assert tiny.origin == at(8)
    assert moment(tiny, 3600) - tiny.origin == timedelta(hours=1)
