"""The planning problem model: construction checks, the places list, totals built from parts, and
pre_check's reasons for visits no plan can serve (never an exception for what a user can enter)."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from serviceopus.dispatch.planner.model import (
    PRIORITY_WEIGHT,
    REASON_TEXT,
    BreakWindow,
    Place,
    Plan,
    Problem,
    Reason,
    Route,
    Stop,
    Unassigned,
    pre_check,
)

from .planner_support import DAY, DEPOT, at, tech, visit

A = Place(41.9000, -87.6500)
B = Place(41.8500, -87.6000)


def problem(*visits, technicians=None, allow_overtime=False) -> Problem:  # type: ignore[no-untyped-def]
    return Problem(day=DAY, technicians=technicians if technicians is not None else [tech(1, skills={1, 2})], visits=visits, allow_overtime=allow_overtime)


def reasons(p: Problem) -> dict[int, str]:
    plannable, unassigned = pre_check(p)
    out = {u.visit_id: u.code for u in unassigned}
    out.update({v.id: "ok" for v in plannable})
    return out


# --- construction --------------------------------------------------------------------------------------


def test_lists_become_tuples_and_lookups_work() -> None:
    p = problem(visit(10, A), visit(11, B))
    assert isinstance(p.technicians, tuple)
    assert isinstance(p.visits, tuple)
    assert p.visit_by_id[11].place == B
    assert p.technician_by_id[1].skill_ids == frozenset({1, 2})


def test_places_lists_each_place_once_technicians_first() -> None:
    home = Place(41.95, -87.70)
    p = problem(visit(10, A), visit(11, DEPOT), visit(12, None), visit(13, A), technicians=[tech(1, start=home, end=DEPOT), tech(2)])
    assert p.places() == (home, DEPOT, A)


@pytest.mark.parametrize(
    "build",
    [
        lambda: visit(1, A, window=(datetime(2026, 3, 10, 8), at(10))),  # naive
        lambda: visit(1, A, priority=5),
        lambda: visit(1, A, priority=0),
        lambda: visit(1, A, duration=0),
        lambda: replace(tech(1), shift_end=None),  # one end of a shift only
        lambda: BreakWindow(at(12), at(12, 20), 30),  # range shorter than the break
        lambda: BreakWindow(at(12), at(13), 0),
        lambda: Place(91, 0),
        lambda: Place(float("nan"), 0),
        lambda: problem(visit(1, A), visit(1, B)),  # one id twice
        lambda: problem(technicians=[tech(1), tech(1)]),
    ],
)
def test_programming_errors_raise_value_error(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):  # noqa: PT011 (each case has its own message)
        build()


def test_place_coordinates_become_floats() -> None:
    from decimal import Decimal

    place = Place(Decimal("41.880000"), Decimal("-87.630000"))  # type: ignore[arg-type]
    assert place == Place(41.88, -87.63)
    assert isinstance(place.lat, float)


def test_priority_weights_double_per_step() -> None:
    assert PRIORITY_WEIGHT == {1: 1, 2: 2, 3: 4, 4: 8}
    assert visit(1, A, priority=4).weight == 8
    # One urgent visit outweighs three visits of every lower priority together.
    assert PRIORITY_WEIGHT[4] > PRIORITY_WEIGHT[1] + PRIORITY_WEIGHT[2] + PRIORITY_WEIGHT[3]


def test_every_reason_has_a_text() -> None:
    assert set(REASON_TEXT) == set(Reason)
    assert Unassigned.because(5, Reason.NO_SHIFT) == Unassigned(5, "no_shift", REASON_TEXT[Reason.NO_SHIFT])
    assert Unassigned.because(5, Reason.NO_SHIFT, "Alex is off.").text == "Alex is off."


# --- totals ------------------------------------------------------------------------------------------


def stop(visit_id: int, start: datetime, minutes: int, travel: int = 600, metres: int = 5000) -> Stop:
    return Stop(visit_id, start - timedelta(minutes=5), start, start + timedelta(minutes=minutes), travel, metres)


def test_route_build_adds_travel_and_measures_overtime() -> None:
    t = tech(1)
    route = Route.build(t, [stop(10, at(9), 60), stop(11, at(16), 60)], departure=at(8), end=at(17, 30), return_travel_seconds=900, return_travel_metres=7000)
    assert (route.travel_seconds, route.travel_metres) == (600 + 600 + 900, 5000 + 5000 + 7000)
    assert route.overtime_seconds == 30 * 60
    assert route.break_start is None
    on_time = Route.build(t, [], departure=at(8), end=at(8), return_travel_seconds=0, return_travel_metres=0)
    assert on_time.overtime_seconds == 0
    assert on_time.stops == ()


def test_plan_build_sums_routes_weights_and_window_violations() -> None:
    p = problem(visit(10, A, priority=4, window=(at(8), at(10))), visit(11, B, priority=1, window=(at(8), at(10))), visit(12, A))
    t = p.technicians[0]
    route = Route.build(
        t, [stop(10, at(9), 60), stop(11, at(10, 30), 60)], departure=at(8), end=at(17, 10), return_travel_seconds=100, return_travel_metres=900
    )
    plan = Plan.build(p, [route], [Unassigned.because(12, Reason.NOT_PLANNED)])
    assert plan.served == 2
    assert plan.weighted_served == 8 + 1
    assert (plan.travel_seconds, plan.travel_metres) == (1300, 10900)
    assert plan.overtime_seconds == 600
    assert plan.window_violations == 1  # visit 11 starts 10:30, after its window
    assert plan.route_for(1) is route
    assert plan.route_for(2) is None


# --- pre_check ----------------------------------------------------------------------------------------


def test_plannable_visits_pass_in_order() -> None:
    p = problem(visit(10, A), visit(11, B, skills={1}), visit(12, A, skills={1, 2}, priority=4, must=True))
    plannable, unassigned = pre_check(p)
    assert [v.id for v in plannable] == [10, 11, 12]
    assert unassigned == []


def test_no_coordinates() -> None:
    plannable, unassigned = pre_check(problem(visit(10, None), visit(11, A)))
    assert [v.id for v in plannable] == [11]
    assert unassigned == [Unassigned(10, "no_coordinates", REASON_TEXT[Reason.NO_COORDINATES])]


def test_window_that_ends_before_it_starts_is_too_short() -> None:
    assert reasons(problem(visit(10, A, window=(at(11), at(10))))) == {10: "window_too_short"}


def test_arrival_window_shorter_than_the_duration_is_fine() -> None:
    # An arrival window bounds the start only: a 3-hour job may start in a 2-hour window.
    assert reasons(problem(visit(10, A, duration=180, window=(at(8), at(10))))) == {10: "ok"}
    # So may a visit with a fixed arrival time (an empty window).
    assert reasons(problem(visit(10, A, window=(at(9), at(9))))) == {10: "ok"}


def test_nobody_working_means_no_shift() -> None:
    p = problem(visit(10, A), visit(11, B), technicians=[tech(1, shift=None), tech(2, shift=(at(9), at(9)))])
    plannable, unassigned = pre_check(p)
    assert plannable == ()
    assert [(u.visit_id, u.code, u.text) for u in unassigned] == [
        (10, "no_shift", "Nobody has a shift that day."),
        (11, "no_shift", "Nobody has a shift that day."),
    ]
    assert reasons(problem(visit(10, A), technicians=[])) == {10: "no_shift"}


def test_locked_to_a_technician_who_is_off_or_unknown() -> None:
    techs = [tech(1, "Alex"), tech(2, "Blair", shift=None)]
    _, unassigned = pre_check(problem(visit(10, A, locked_technician=2), visit(11, A, locked_technician=7), technicians=techs))
    assert [(u.code, u.text) for u in unassigned] == [
        ("no_shift", "The visit is locked to Blair, who has no shift that day."),
        ("no_shift", "The visit is locked to technician 7, who has no shift that day."),
    ]


def test_a_skill_nobody_working_has() -> None:
    techs = [tech(1, skills={1}), tech(2, skills={1, 2, 3}, shift=None)]
    p = problem(visit(10, A, skills={3}), visit(11, A, skills={1, 2}), visit(12, A, skills={1}), technicians=techs)
    assert reasons(p) == {10: "no_skilled_technician", 11: "no_skilled_technician", 12: "ok"}


def test_locked_to_a_technician_without_the_skill() -> None:
    techs = [tech(1, "Alex", skills={1}), tech(2, skills={2})]
    _, unassigned = pre_check(problem(visit(10, A, skills={2}, locked_technician=1), technicians=techs))
    assert [(u.code, u.text) for u in unassigned] == [("no_skilled_technician", "The visit is locked to Alex, who lacks a skill it needs.")]


def test_longer_than_every_shift() -> None:
    techs = [tech(1, shift=(at(8), at(12))), tech(2, shift=(at(13), at(17)))]
    p = problem(visit(10, A, duration=5 * 60), visit(11, A, duration=4 * 60), technicians=techs)
    assert reasons(p) == {10: "shift_too_short", 11: "ok"}
    # With overtime allowed, a long visit may run past the shift's end.
    assert reasons(replace(p, allow_overtime=True)) == {10: "ok", 11: "ok"}


def test_window_outside_every_shift() -> None:
    techs = [tech(1, shift=(at(8), at(12))), tech(2, skills={5}, shift=(at(12), at(20)))]
    p = problem(
        visit(10, A, window=(at(18), at(19))),  # only tech 2 works then: fine
        visit(11, A, window=(at(18), at(19)), skills={9}),  # nobody has skill 9
        visit(12, A, window=(at(6), at(7))),  # before every shift
        visit(13, A, duration=60, window=(at(19, 30), at(20))),  # would end after 20:00
        technicians=techs,
    )
    assert reasons(p) == {10: "ok", 11: "no_skilled_technician", 12: "window_cannot_be_met", 13: "window_cannot_be_met"}
    assert reasons(replace(p, allow_overtime=True))[13] == "ok"
    assert reasons(replace(p, allow_overtime=True))[12] == "window_cannot_be_met"  # overtime never starts a day early


def test_window_met_only_by_an_unskilled_technician() -> None:
    techs = [tech(1, skills={1}, shift=(at(8), at(12))), tech(2, shift=(at(12), at(17)))]
    p = problem(visit(10, A, skills={1}, window=(at(13), at(14))), technicians=techs)
    assert reasons(p) == {10: "window_cannot_be_met"}


def test_locked_start() -> None:
    techs = [tech(1, "Alex", shift=(at(8), at(12)))]
    p = problem(
        visit(10, A, window=(at(9), at(10)), locked_start=at(9, 30)),
        visit(11, A, window=(at(9), at(10)), locked_start=at(10, 30)),  # outside its window
        visit(12, A, window=(at(6), at(10)), locked_start=at(7)),  # before the shift
        visit(13, A, duration=90, window=(at(8), at(12)), locked_start=at(11)),  # would end after the shift
        technicians=techs,
    )
    plannable, unassigned = pre_check(p)
    assert [v.id for v in plannable] == [10]
    assert [(u.visit_id, u.code) for u in unassigned] == [(11, "window_cannot_be_met"), (12, "window_cannot_be_met"), (13, "window_cannot_be_met")]
    assert unassigned[0].text == "The locked start lies outside the arrival window."


def test_every_visit_comes_back_once_and_bad_input_never_raises() -> None:
    techs = [tech(1, skills={1}), tech(2, shift=None), tech(3, skills={2}, shift=(at(20), at(21)))]
    visits = [
        visit(1, None),
        visit(2, A, window=(at(12), at(11))),
        visit(3, A, skills={7}),
        visit(4, A, locked_technician=2),
        visit(5, A, duration=10 * 60),
        visit(6, A, window=(at(5), at(6))),
        visit(7, A),
        visit(8, B, skills={2}, window=(at(20), at(20, 30))),
    ]
    plannable, unassigned = pre_check(problem(*visits, technicians=techs))
    assert [v.id for v in plannable] == [7, 8]
    assert [(u.visit_id, u.code) for u in unassigned] == [
        (1, "no_coordinates"),
        (2, "window_too_short"),
        (3, "no_skilled_technician"),
        (4, "no_shift"),
        (5, "shift_too_short"),
        (6, "window_cannot_be_met"),
    ]
    assert all(u.text for u in unassigned)
