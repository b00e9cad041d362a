"""The plan validator: a hand-built valid plan passes; breaking one rule at a time gives exactly that
rule's violation; and a property test builds random valid plans by construction, checks the validator
accepts them, and checks that one random mutation is caught."""

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceopus.dispatch.planner.model import BreakWindow, Place, Plan, Problem, Reason, Route, Stop, TechnicianInput, Unassigned
from serviceopus.dispatch.planner.travel import Matrix
from serviceopus.dispatch.planner.validator import Violation, validate

from .planner_support import DAY, DEPOT, HAVERSINE, at, codes, plan_of, sequence, tech, visit

HOME = Place(41.9400, -87.7000)
A, B, C, D, E = Place(41.8900, -87.6400), Place(41.9000, -87.6100), Place(41.8600, -87.6500), Place(41.9300, -87.6900), Place(41.9100, -87.6700)

ALEX = tech(1, "Alex", skills={1, 2}, break_window=BreakWindow(at(12), at(14), 30))
BLAIR = tech(2, "Blair", skills={1}, start=HOME)
CASEY = tech(3, "Casey", skills={1, 2}, shift=None)  # off today
PROBLEM = Problem(
    day=DAY,
    technicians=[ALEX, BLAIR, CASEY],
    visits=[
        visit(101, A, duration=60, window=(at(8), at(10)), skills={2}, priority=3),
        visit(102, B, duration=90, window=(at(9), at(13))),
        visit(103, C, duration=45, window=(at(13), at(16))),
        visit(201, D, duration=60, window=(at(8), at(10)), skills={1}, locked_technician=2, locked_start=at(9)),
        visit(202, E, duration=30, window=(at(10), at(12))),
        visit(301, None),
    ],
)
MATRIX = HAVERSINE.matrix(PROBLEM.places())
ASSIGNMENT = {1: [101, 102, 103], 2: [201, 202]}
BREAKS = {1: 2}  # Alex takes the break before driving to 103


def valid_plan(problem: Problem = PROBLEM) -> Plan:
    return plan_of(problem, MATRIX, ASSIGNMENT, breaks=BREAKS, reasons={301: Reason.NO_COORDINATES})


def with_route(plan: Plan, problem: Problem, route: Route) -> Plan:
    """`plan` with `route` in place of that technician's route, totals recomputed."""
    routes = [route if r.technician_id == route.technician_id else r for r in plan.routes]
    return Plan.build(problem, routes, plan.unassigned)


def with_stop(plan: Plan, technician: TechnicianInput, index: int, **changes) -> Plan:  # type: ignore[no-untyped-def]
    """`plan` with one stop changed, the route's and the plan's totals recomputed from the parts."""
    route = plan.route_for(technician.id)
    assert route is not None
    stops = list(route.stops)
    stops[index] = replace(stops[index], **changes)
    rebuilt = Route.build(
        technician,
        stops,
        departure=route.departure,
        end=route.end,
        return_travel_seconds=route.return_travel_seconds,
        return_travel_metres=route.return_travel_metres,
        break_start=route.break_start,
    )
    return with_route(plan, PROBLEM, rebuilt)


def with_visit(problem: Problem, visit_id: int, **changes) -> Problem:  # type: ignore[no-untyped-def]
    return replace(problem, visits=[replace(v, **changes) if v.id == visit_id else v for v in problem.visits])


def with_tech(problem: Problem, technician: TechnicianInput) -> Problem:
    return replace(problem, technicians=[technician if t.id == technician.id else t for t in problem.technicians])


# --- the valid plan ------------------------------------------------------------------------------------


def test_the_hand_built_plan_is_valid() -> None:
    plan = valid_plan()
    alex, blair = plan.route_for(1), plan.route_for(2)
    assert alex is not None
    assert blair is not None
    # What the plan is: Alex serves 101, 102, takes the break at 12:00, serves 103 from 13:00; Blair
    # starts 201 at its locked 9:00; 301 has no coordinates.
    assert [s.visit_id for s in alex.stops] == [101, 102, 103]
    assert alex.break_start == at(12)
    assert alex.stops[2].start == at(13)
    assert blair.stops[0].start == at(9)
    assert [(u.visit_id, u.code) for u in plan.unassigned] == [(301, "no_coordinates")]
    assert plan.served == 5
    assert plan.weighted_served == 4 + 2 * 4
    assert plan.window_violations == plan.overtime_seconds == 0
    assert validate(PROBLEM, plan, MATRIX) == []


def test_an_empty_route_and_everything_unassigned_are_valid() -> None:
    route = sequence(PROBLEM, MATRIX, BLAIR, [])
    assert route.end == at(8) + timedelta(seconds=MATRIX.travel(HOME, DEPOT)[0])  # Blair drives home → depot
    plan = Plan.build(PROBLEM, [route], [Unassigned.because(v.id, Reason.NOT_PLANNED) for v in PROBLEM.visits])
    assert validate(PROBLEM, plan, MATRIX) == []


# --- one rule at a time ----------------------------------------------------------------------------------


def only(problem: Problem, plan: Plan, matrix: Matrix = MATRIX) -> list[str]:
    return codes(validate(problem, plan, matrix))


def test_missing_visit() -> None:
    plan = valid_plan()
    violations = validate(PROBLEM, replace(plan, unassigned=()), MATRIX)
    assert violations == [Violation("missing_visit", "V301 is neither on a route nor unassigned.", visit_id=301)]


def test_duplicate_visit() -> None:
    plan = valid_plan()
    plan = replace(plan, unassigned=(*plan.unassigned, Unassigned.because(102, Reason.NOT_PLANNED)))
    violations = validate(PROBLEM, plan, MATRIX)
    assert violations == [Violation("duplicate_visit", "V102 appears 2 times in the plan.", visit_id=102)]


def test_unknown_visit() -> None:
    plan = valid_plan()
    plan = replace(plan, unassigned=(*plan.unassigned, Unassigned.because(999, Reason.NOT_PLANNED)))
    assert only(PROBLEM, plan) == ["unknown_visit"]


def test_unknown_visit_on_a_route() -> None:
    # An unknown visit on a route: reported once; the leg after it goes unchecked (its place is unknown).
    plan = valid_plan()
    plan = with_stop(plan, BLAIR, 1, visit_id=999)
    assert only(PROBLEM, replace(plan, unassigned=(*plan.unassigned, Unassigned.because(202, Reason.NOT_PLANNED)))) == ["unknown_visit"]


def test_unknown_reason() -> None:
    plan = valid_plan()
    assert only(PROBLEM, replace(plan, unassigned=(Unassigned(301, "because", "…"),))) == ["unknown_reason"]


def test_unknown_technician() -> None:
    plan = valid_plan()
    ghost = Route(9, (), at(8), at(8), 0, 0, None, 0, 0, 0)
    assert only(PROBLEM, replace(plan, routes=(*plan.routes, ghost))) == ["unknown_technician"]


def test_duplicate_route() -> None:
    plan = valid_plan()
    assert only(PROBLEM, Plan.build(PROBLEM, [*plan.routes, sequence(PROBLEM, MATRIX, BLAIR, [])], plan.unassigned)) == ["duplicate_route"]


def test_no_shift() -> None:
    plan = valid_plan()
    blair = sequence(PROBLEM, MATRIX, BLAIR, [201])
    casey = sequence(PROBLEM, MATRIX, CASEY, [202], departure=at(8))
    assert only(PROBLEM, Plan.build(PROBLEM, [plan.routes[0], blair, casey], plan.unassigned)) == ["no_shift"]


def test_missing_skill() -> None:
    problem = with_tech(PROBLEM, replace(ALEX, skill_ids=frozenset({1})))
    violations = validate(problem, valid_plan(), MATRIX)
    assert violations == [Violation("missing_skill", "Alex lacks skill(s) [2] that V101 requires.", visit_id=101, technician_id=1)]


def test_no_coordinates_on_a_route() -> None:
    problem = with_visit(PROBLEM, 202, place=None)
    assert only(problem, valid_plan()) == ["no_coordinates"]


def test_outside_window() -> None:
    problem = with_visit(PROBLEM, 101, window_start=at(8, 30))  # Alex starts 101 just after 8:00
    plan = Plan.build(problem, valid_plan().routes, valid_plan().unassigned)
    assert plan.window_violations == 1
    violations = validate(problem, plan, MATRIX)
    assert codes(violations) == ["outside_window"]
    assert violations[0].message.startswith("V101 starts at 08:0")
    assert violations[0].message.endswith("outside its arrival window 08:30–10:00.")
    late = with_visit(PROBLEM, 103, window_end=at(12, 59))
    assert only(late, Plan.build(late, valid_plan().routes, valid_plan().unassigned)) == ["outside_window"]


def test_start_before_arrival() -> None:
    plan = valid_plan()
    assert only(PROBLEM, with_stop(plan, ALEX, 2, arrival=at(13, 5))) == ["start_before_arrival"]


def test_wrong_end() -> None:
    plan = valid_plan()
    last = plan.route_for(2).stops[-1]  # type: ignore[union-attr]
    assert only(PROBLEM, with_stop(plan, BLAIR, 1, end=last.end - timedelta(minutes=5))) == ["wrong_end"]


def test_out_of_order() -> None:
    plan = valid_plan()
    first = plan.route_for(1).stops[0]  # type: ignore[union-attr]
    assert only(PROBLEM, with_stop(plan, ALEX, 1, arrival=first.end - timedelta(minutes=1))) == ["out_of_order"]


def test_travel_time() -> None:
    plan = valid_plan()
    first, second = plan.route_for(1).stops[:2]  # type: ignore[union-attr]
    assert second.travel_seconds > 60
    assert only(PROBLEM, with_stop(plan, ALEX, 1, arrival=first.end + timedelta(seconds=second.travel_seconds - 1))) == ["travel_time"]


def test_travel_time_on_the_way_back() -> None:
    plan = valid_plan()
    route = plan.route_for(2)
    assert route is not None
    assert only(PROBLEM, with_route(plan, PROBLEM, replace(route, end=route.end - timedelta(seconds=1)))) == ["travel_time"]


def test_travel_mismatch() -> None:
    plan = valid_plan()
    second = plan.route_for(1).stops[1]  # type: ignore[union-attr]
    assert only(PROBLEM, with_stop(plan, ALEX, 1, travel_metres=second.travel_metres + 10)) == ["travel_mismatch"]
    route = plan.route_for(2)
    assert route is not None
    changed = replace(route, return_travel_seconds=route.return_travel_seconds - 1, travel_seconds=route.travel_seconds - 1)
    assert only(PROBLEM, with_route(plan, PROBLEM, changed)) == ["travel_mismatch"]


def test_travel_unknown() -> None:
    places = tuple(p for p in PROBLEM.places() if p != E)
    matrix = HAVERSINE.matrix(places)
    violations = validate(PROBLEM, valid_plan(), matrix)
    assert [(v.code, v.visit_id) for v in violations] == [("travel_unknown", 202), ("travel_unknown", None)]  # the way there and back


def test_before_shift() -> None:
    plan = valid_plan()
    route = plan.route_for(1)
    assert route is not None
    assert only(PROBLEM, with_route(plan, PROBLEM, replace(route, departure=at(7, 50)))) == ["before_shift"]


def test_overtime() -> None:
    early = replace(BLAIR, shift_end=at(10, 30))  # Blair is back after 11:00
    problem = with_tech(PROBLEM, early)
    plan = valid_plan(problem)
    assert plan.overtime_seconds > 0
    assert only(problem, plan) == ["overtime"]
    assert only(replace(problem, allow_overtime=True), plan) == []


def test_break_missing() -> None:
    plan = valid_plan()
    route = plan.route_for(1)
    assert only(PROBLEM, with_route(plan, PROBLEM, replace(route, break_start=None))) == ["break_missing"]  # type: ignore[arg-type]


def test_break_outside_its_range() -> None:
    plan = valid_plan()
    route = plan.route_for(1)
    assert only(PROBLEM, with_route(plan, PROBLEM, replace(route, break_start=at(11, 50)))) == ["break_outside_range"]  # type: ignore[arg-type]


def test_break_overlapping_a_visit() -> None:
    plan = valid_plan()
    route = plan.route_for(1)
    assert only(PROBLEM, with_route(plan, PROBLEM, replace(route, break_start=at(13, 10)))) == ["break_overlap"]  # type: ignore[arg-type]


def test_break_leaving_no_time_to_drive() -> None:
    # 102 ends at 12:00 and 103 starts 12:40: a 30-minute break fits in the gap, but not with the drive.
    problem = with_visit(with_visit(PROBLEM, 102, window_start=at(10, 30)), 103, window_start=at(12, 40))
    plan = plan_of(problem, MATRIX, ASSIGNMENT, breaks={1: 3}, reasons={301: Reason.NO_COORDINATES})
    route = plan.route_for(1)
    assert route is not None
    assert route.stops[1].end == at(12)
    assert route.stops[2].start == at(12, 40)
    assert only(problem, plan) == []  # the break after 103 is fine
    assert only(problem, with_route(plan, problem, replace(route, break_start=at(12, 5)))) == ["break_overlap"]


def test_unexpected_break() -> None:
    plan = valid_plan()
    route = plan.route_for(2)
    assert only(PROBLEM, with_route(plan, PROBLEM, replace(route, break_start=at(12)))) == ["unexpected_break"]  # type: ignore[arg-type]


def test_locked_technician() -> None:
    problem = with_visit(PROBLEM, 201, locked_technician_id=1)
    assert only(problem, valid_plan()) == ["locked_technician"]


def test_locked_start() -> None:
    problem = with_visit(PROBLEM, 201, locked_start=at(9, 15))
    assert only(problem, valid_plan()) == ["locked_start"]


def test_route_totals() -> None:
    plan = valid_plan()
    route = plan.route_for(2)
    assert route is not None
    for field in ("travel_seconds", "travel_metres", "overtime_seconds"):
        changed = replace(route, **{field: getattr(route, field) + 1})
        assert only(PROBLEM, with_route(plan, PROBLEM, changed)) == ["route_totals"], field


@pytest.mark.parametrize("field", ["served", "weighted_served", "travel_seconds", "travel_metres", "overtime_seconds", "window_violations"])
def test_plan_totals(field: str) -> None:
    plan = valid_plan()
    violations = validate(PROBLEM, replace(plan, **{field: getattr(plan, field) + 1}), MATRIX)
    assert codes(violations) == ["plan_totals"]
    assert field in violations[0].message


# --- property: valid by construction, and one mutation is caught ----------------------------------------

GRID = [Place(41.80 + 0.02 * i, -87.75 + 0.03 * j) for i in range(6) for j in range(6)]
MATRIX_GRID = HAVERSINE.matrix([DEPOT, *GRID])
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@st.composite
def built(draw: st.DrawFn) -> tuple[Problem, Plan, Matrix]:
    """A random small problem with a plan that is valid by construction: schedule first (each stop after
    the drive, with random waits), then give every visit a window around its start, every technician a
    shift around their route and skills covering their visits, a break window around the break taken."""
    n_techs = draw(st.integers(1, 3))
    places = iter(draw(st.permutations(GRID)))  # distinct places: every leg takes time
    problem_techs, problem_visits, routes = [], [], []
    next_id = iter(range(1, 100))
    for tid in range(1, n_techs + 1):
        start, end = next(places), draw(st.sampled_from([DEPOT, next(places)]))
        departure = at(7) + timedelta(minutes=draw(st.integers(0, 90)))
        n_stops = draw(st.integers(1 if tid == 1 else 0, 4))
        break_at = draw(st.one_of(st.none(), st.integers(0, n_stops))) if n_stops else None
        skills = frozenset(draw(st.sets(st.integers(1, 4), max_size=3)))
        moment, here, stops, visits, break_start = departure, start, [], [], None
        for k in range(n_stops + 1):
            if break_at == k:
                break_start, moment = moment, moment + timedelta(minutes=30)
            if k == n_stops:
                break
            vid, there = next(next_id), next(places)
            seconds, metres = MATRIX_GRID.travel(here, there)
            arrival = moment + timedelta(seconds=seconds)
            begin = arrival + timedelta(minutes=draw(st.integers(0, 45)))
            duration = draw(st.integers(5, 120))
            stop = Stop(vid, arrival, begin, begin + timedelta(minutes=duration), seconds, metres)
            lock = draw(st.sampled_from(["none", "technician", "start", "both"]))
            v = visit(
                vid,
                there,
                duration=duration,
                window=(begin - timedelta(minutes=draw(st.integers(0, 90))), begin + timedelta(minutes=draw(st.integers(0, 90)))),
                skills=draw(st.sets(st.sampled_from(sorted(skills)), max_size=len(skills))) if skills else (),
                priority=draw(st.integers(1, 4)),
                locked_technician=tid if lock in ("technician", "both") else None,
                locked_start=begin if lock in ("start", "both") else None,
            )
            stops.append(stop)
            visits.append(v)
            moment, here = stop.end, there
        seconds, metres = MATRIX_GRID.travel(here, end)
        route_end = moment + timedelta(seconds=seconds)
        shift = (departure - timedelta(minutes=draw(st.integers(0, 60))), route_end + timedelta(minutes=draw(st.integers(0, 60))))
        window = None
        if break_start is not None:
            window = BreakWindow(break_start - timedelta(minutes=draw(st.integers(0, 60))), break_start + timedelta(minutes=30 + draw(st.integers(0, 60))), 30)
            window = replace(window, earliest_start=max(window.earliest_start, shift[0]), latest_end=min(window.latest_end, shift[1]))
        t = TechnicianInput(tid, f"Tech {tid}", shift[0], shift[1], start, end, skills, window)
        problem_techs.append(t)
        problem_visits.extend(visits)
        route_args = {"departure": departure, "end": route_end, "return_travel_seconds": seconds, "return_travel_metres": metres}
        routes.append(Route.build(t, stops, break_start=break_start, **route_args))  # type: ignore[arg-type]
    left_out = [visit(next(next_id), next(places), window=(at(9), at(11))) for _ in range(draw(st.integers(0, 2)))]
    problem = Problem(day=DAY, technicians=problem_techs, visits=problem_visits + left_out)
    plan = Plan.build(problem, routes, [Unassigned.because(v.id, Reason.NOT_PLANNED) for v in left_out])
    return problem, plan, MATRIX_GRID


@PROPERTY
@given(built())
def test_plans_valid_by_construction_pass(case: tuple[Problem, Plan, Matrix]) -> None:
    problem, plan, matrix = case
    assert validate(problem, plan, matrix) == []


def _first_stop(plan: Plan) -> tuple[Route, Stop]:
    route = next(r for r in plan.routes if r.stops)
    return route, route.stops[0]


def _replace_route(plan: Plan, route: Route) -> Plan:
    return replace(plan, routes=tuple(route if r.technician_id == route.technician_id else r for r in plan.routes))


def mutate(kind: str, problem: Problem, plan: Plan) -> tuple[Problem, Plan]:
    """Break one rule in a valid (problem, plan), touching as little as possible."""
    route, stop = _first_stop(plan)
    v = problem.visit_by_id[stop.visit_id]
    t = problem.technician_by_id[route.technician_id]
    if kind == "outside_window":
        return with_visit(problem, v.id, window_start=stop.start + timedelta(minutes=1), window_end=stop.start + timedelta(hours=2)), plan
    if kind == "missing_skill":
        if v.required_skill_ids:
            return with_tech(problem, replace(t, skill_ids=t.skill_ids - v.required_skill_ids)), plan
        return with_visit(problem, v.id, required_skill_ids=frozenset({99})), plan
    if kind == "duplicate_visit":
        return problem, replace(plan, unassigned=(*plan.unassigned, Unassigned.because(v.id, Reason.NOT_PLANNED)))
    if kind == "missing_visit":
        return problem, replace(plan, unassigned=()) if plan.unassigned else _replace_route(plan, replace(route, stops=route.stops[1:]))
    if kind == "travel_time":
        # One second short of the drive from the departure (a break before the first stop makes the
        # recorded arrival later than that; the validator bounds arrivals by the drive alone).
        early = route.departure + timedelta(seconds=stop.travel_seconds - 1)
        return problem, _replace_route(plan, replace(route, stops=(replace(stop, arrival=early), *route.stops[1:])))
    if kind == "wrong_end":
        return problem, _replace_route(plan, replace(route, stops=(replace(stop, end=stop.end + timedelta(minutes=1)), *route.stops[1:])))
    if kind == "start_before_arrival":
        return problem, _replace_route(plan, replace(route, stops=(replace(stop, arrival=stop.start + timedelta(seconds=1)), *route.stops[1:])))
    if kind == "travel_mismatch":
        return problem, _replace_route(plan, replace(route, stops=(replace(stop, travel_metres=stop.travel_metres + 1), *route.stops[1:])))
    if kind == "before_shift":
        return with_tech(problem, replace(t, shift_start=route.departure + timedelta(seconds=1))), plan
    if kind == "overtime":
        return with_tech(problem, replace(t, shift_end=route.end - timedelta(seconds=1))), plan
    if kind == "locked_technician":
        return with_visit(problem, v.id, locked_technician_id=t.id + 100), plan
    if kind == "locked_start":
        return with_visit(problem, v.id, locked_start=stop.start + timedelta(minutes=1)), plan
    if kind == "break_missing":
        with_break = next((r for r in plan.routes if r.break_start is not None), None)
        if with_break is None:  # nobody took a break: ask for one from the first technician with stops
            return with_tech(problem, replace(t, break_window=BreakWindow(at(6), at(23), 30))), plan
        return problem, _replace_route(plan, replace(with_break, break_start=None))
    if kind == "plan_totals":
        return problem, replace(plan, travel_metres=plan.travel_metres + 1)
    if kind == "no_shift":
        return with_tech(problem, replace(t, shift_start=None, shift_end=None)), plan
    raise AssertionError(kind)


MUTATIONS = [
    "outside_window",
    "missing_skill",
    "duplicate_visit",
    "missing_visit",
    "travel_time",
    "wrong_end",
    "start_before_arrival",
    "travel_mismatch",
    "before_shift",
    "overtime",
    "locked_technician",
    "locked_start",
    "break_missing",
    "plan_totals",
    "no_shift",
]


@PROPERTY
@given(built(), st.sampled_from(MUTATIONS))
def test_one_mutation_is_caught(case: tuple[Problem, Plan, Matrix], kind: str) -> None:
    problem, plan, matrix = case
    broken_problem, broken_plan = mutate(kind, problem, plan)
    found = codes(validate(broken_problem, broken_plan, matrix))
    assert kind in found, (kind, found)
