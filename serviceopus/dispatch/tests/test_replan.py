"""Re-planning the rest of a day: each technician from where they are and when they are free, started
visits kept out of the problem, windows already closed explained, and the planner's plan valid."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.db.models import F

from serviceopus.crew.models import WeeklyShift
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.planner.model import Place, Reason
from serviceopus.dispatch.planner.optimise import plan_day
from serviceopus.dispatch.planner.replan import problem_for_rest_of_day, rest_of_day_input
from serviceopus.dispatch.planner.travel import cached_matrix
from serviceopus.dispatch.planner.validator import validate
from serviceopus.dispatch.status import VisitStatus
from serviceopus.dispatch.tests.planning_support import SITES, at, technician, visit
from serviceopus.dispatch.tests.test_eta import TenMinutes
from serviceopus.jobs.models import Priority

pytestmark = pytest.mark.django_db
V = VisitStatus
DAY = date(2026, 12, 1)  # a Tuesday


def place(site: int) -> Place:
    lat, lng = SITES[site]
    return Place(float(lat), float(lng))


def seeded():  # type: ignore[no-untyped-def]
    """Alex on site at 09:00 (one hour) with a visit booked after; Blair free with nothing started; an
    unassigned visit this afternoon; and an urgent job that just came in."""
    alex, blair = technician("Alex", DAY, home=SITES[6]), technician("Blair", DAY, home=SITES[7])
    on_site = visit(DAY, 0, 9, crew=[alex])
    Visit.objects.filter(pk=on_site.pk).update(status=V.WORKING, en_route_at=at(DAY, 8, 45), arrived_at=at(DAY, 9))
    booked = visit(DAY, 1, 11, crew=[alex])
    open_visit = visit(DAY, 2, 13)
    urgent = visit(DAY, 3, 10, window_hours=6)
    Visit.objects.filter(pk=urgent.pk).update(status=V.UNSCHEDULED, scheduled_start=None)
    urgent.job.priority = Priority.URGENT
    urgent.job.save(update_fields=["priority"])
    return alex, blair, on_site, booked, open_visit, urgent


def test_started_visits_stay_out_and_each_technician_starts_where_and_when_they_are_free() -> None:
    alex, blair, on_site, booked, open_visit, urgent = seeded()
    data = problem_for_rest_of_day(DAY, at(DAY, 9, 30), provider=TenMinutes())
    problem = data.problem
    assert sorted(v.id for v in problem.visits) == sorted([booked.pk, open_visit.pk, urgent.pk])
    assert on_site.pk not in data.snapshots  # not the planner's any more
    a, b = problem.technician_by_id[alex.pk], problem.technician_by_id[blair.pk]
    # Alex: on site until the expected end (09:00 + 60 min), leaving from there.
    assert (a.shift_start, a.start_place, a.end_place) == (at(DAY, 10), place(0), place(6))
    # Blair: nothing started: from home, now.
    assert (b.shift_start, b.start_place) == (at(DAY, 9, 30), place(7))
    assert a.shift_end == b.shift_end == at(DAY, 17)
    urgent_input = problem.visit_by_id[urgent.pk]
    assert urgent_input.must
    assert urgent_input.priority == Priority.URGENT


def test_an_overrun_starts_the_technician_now() -> None:
    alex, *_ = seeded()
    problem = problem_for_rest_of_day(DAY, at(DAY, 10, 25), provider=TenMinutes()).problem
    assert problem.technician_by_id[alex.pk].shift_start == at(DAY, 10, 25)


def test_paused_on_the_road_and_finished_visits_set_when_and_where() -> None:
    alex, blair, on_site, *_ = seeded()
    casey = technician("Casey", DAY)
    # Alex paused at 09:20 after 20 minutes' work: 40 minutes to go from now.
    Visit.objects.filter(pk=on_site.pk).update(status=V.PAUSED, paused_at=at(DAY, 9, 20))
    # Blair set off at 09:55 from a phone position; ten minutes' drive, then a one-hour visit.
    road = visit(DAY, 4, 10, crew=[blair])
    Visit.objects.filter(pk=road.pk).update(status=V.EN_ROUTE, en_route_at=at(DAY, 9, 55), last_lat=Decimal("41.95"), last_lng=Decimal("-87.66"))
    # Casey finished a visit and the phone last reported from a petrol station.
    done = visit(DAY, 5, 8, crew=[casey])
    Visit.objects.filter(pk=done.pk).update(status=V.COMPLETED, completed_at=at(DAY, 9, 10), last_lat=Decimal("41.96"), last_lng=Decimal("-87.70"))

    problem = problem_for_rest_of_day(DAY, at(DAY, 10), provider=TenMinutes()).problem
    a, b, c = (problem.technician_by_id[t.pk] for t in (alex, blair, casey))
    assert (a.shift_start, a.start_place) == (at(DAY, 10, 40), place(0))
    assert (b.shift_start, b.start_place) == (at(DAY, 11, 5), place(4))
    assert (c.shift_start, c.start_place) == (at(DAY, 10), Place(41.96, -87.70))
    assert {road.pk, done.pk, on_site.pk}.isdisjoint(v.id for v in problem.visits)


def test_windows_already_closed_and_passed_locked_starts_come_back_with_reasons() -> None:
    alex, *_ = seeded()
    missed = visit(DAY, 5, 7, window_hours=1)  # window 07:00–08:00, nobody went
    locked = visit(DAY, 6, 9, crew=[alex])
    Visit.objects.filter(pk=locked.pk).update(locked=True, window_end=F("window_start") + timedelta(hours=4))
    data = problem_for_rest_of_day(DAY, at(DAY, 9, 30), provider=TenMinutes())
    reasons = {u.visit_id: (u.code, u.text) for u in data.held_back}
    assert reasons[missed.pk] == (Reason.WINDOW_CANNOT_BE_MET, "Its arrival window closed at 08:00; rebook it with the customer.")
    assert reasons[locked.pk] == (
        Reason.WINDOW_CANNOT_BE_MET,
        "It is kept at 09:00 (locked or a crew of several), which has passed; move it by hand.",
    )
    assert {missed.pk, locked.pk}.isdisjoint(v.id for v in data.problem.visits)


def test_a_break_under_way_is_finished_and_one_passed_is_dropped() -> None:
    alex = technician("Alex", DAY)
    WeeklyShift.objects.filter(technician=alex).delete()
    WeeklyShift.objects.bulk_create(
        [
            WeeklyShift(technician=alex, weekday=DAY.weekday(), start=time(8), end=time(12)),
            WeeklyShift(technician=alex, weekday=DAY.weekday(), start=time(13), end=time(17)),
        ]
    )
    visit(DAY, 1, 14)
    before = problem_for_rest_of_day(DAY, at(DAY, 10)).problem.technician_by_id[alex.pk]
    assert before.break_window is not None
    assert (before.break_window.earliest_start, before.break_window.minutes) == (at(DAY, 12), 60)
    during = problem_for_rest_of_day(DAY, at(DAY, 12, 20)).problem.technician_by_id[alex.pk]
    assert (during.shift_start, during.break_window) == (at(DAY, 13), None)
    after = problem_for_rest_of_day(DAY, at(DAY, 14)).problem.technician_by_id[alex.pk]
    assert (after.shift_start, after.break_window) == (at(DAY, 14), None)


def test_after_the_shift_nobody_works_and_nothing_crashes() -> None:
    seeded()
    data = problem_for_rest_of_day(DAY, at(DAY, 17, 30), provider=TenMinutes())
    assert not any(t.works for t in data.problem.technicians)
    outcome = plan_day(data.problem, cached_matrix(TenMinutes(), DAY, data.problem.places()), time_limit=1)
    assert outcome.plan.served == 0
    assert {u.visit_id for u in outcome.plan.unassigned} | {u.visit_id for u in data.held_back} == set(data.snapshots)


def test_the_rest_of_the_day_plans_validly_from_now() -> None:
    alex, _, _, booked, open_visit, urgent = seeded()
    now = at(DAY, 10, 25)
    data = rest_of_day_input(DAY, now)
    matrix = cached_matrix(TenMinutes(), DAY, data.problem.places())
    outcome = plan_day(data.problem, matrix, time_limit=1)
    plan = outcome.plan
    assert validate(data.problem, plan, matrix) == []
    stops = {s.visit_id: s for r in plan.routes for s in r.stops}
    assert set(stops) == {booked.pk, open_visit.pk, urgent.pk}
    assert all(s.arrival >= now for s in stops.values())
    alex_route = plan.route_for(alex.pk)
    if alex_route is not None and alex_route.stops:
        assert alex_route.departure >= now  # still on site until now
