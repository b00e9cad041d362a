"""Accepting a proposed plan: routes written through the scheduling action, a visit changed meanwhile
skipped and reported, a refused route rolled back whole (rows before and after), one technician at a
time, swaps inside a route and across routes."""

from datetime import date, datetime, timedelta

import pytest

from serviceopus.core.errors import ConflictError, DomainError
from serviceopus.dispatch.actions import visit_update
from serviceopus.dispatch.models import CrewMember, PlanningRun, Visit, VisitEvent
from serviceopus.dispatch.planner.apply import accept
from serviceopus.dispatch.planner.builder import problem_for_day
from serviceopus.dispatch.planning import store_result
from serviceopus.dispatch.status import VisitStatus
from tests.dispatch_support import snapshot

from .planner_support import HAVERSINE, plan_of
from .planning_support import at, technician, visit

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 10)
S = PlanningRun.Status


def make_run(user, assignment):  # type: ignore[no-untyped-def]
    """A finished run whose proposal is `assignment` (technician → visits in order), timed from 08:00."""
    data = problem_for_day(DAY)
    matrix = HAVERSINE.matrix(data.problem.places())
    plan = plan_of(data.problem, matrix, {t.pk: [v.pk for v in visits] for t, visits in assignment.items()})
    return PlanningRun.objects.create(day=DAY, created_by=user, status=S.DONE, result=store_result(data, matrix, plan))


def lead_and_start(v: Visit) -> tuple[int | None, datetime | None]:
    v.refresh_from_db()
    lead = CrewMember.objects.filter(visit=v, is_lead=True).values_list("technician_id", flat=True).first()
    return lead, v.scheduled_start


def planned_start(run: PlanningRun, v: Visit) -> datetime:
    stop = next(s for r in run.result["proposed"]["routes"] for s in r["stops"] if s["visit_id"] == v.pk)
    return datetime.fromisoformat(stop["start"])


@pytest.fixture
def crew():  # type: ignore[no-untyped-def]
    return technician("Alex", DAY), technician("Blair", DAY, home=("41.860000", "-87.610000"))


def test_accept_all_writes_every_route_through_the_action(dispatcher, crew):
    alex, blair = crew
    a = visit(DAY, 0, 8, crew=[alex])
    b = visit(DAY, 1, 9, crew=[alex], window_hours=4)
    c = visit(DAY, 2, 10)
    run = make_run(dispatcher, {alex: [b], blair: [a, c]})
    events = VisitEvent.objects.count()

    reports = accept(actor=dispatcher, run_id=run.pk)

    assert sorted((r.name, r.status) for r in reports) == [("Alex Tech", "applied"), ("Blair Tech", "applied")], [r.message for r in reports]
    assert lead_and_start(a) == (blair.pk, planned_start(run, a))
    assert lead_and_start(b) == (alex.pk, planned_start(run, b))
    assert lead_and_start(c) == (blair.pk, planned_start(run, c))
    # The arrival window promised to the customer stays; only the start moves inside it.
    c.refresh_from_db()
    assert (c.window_start, c.window_end) == (at(DAY, 10), at(DAY, 13))
    assert VisitEvent.objects.count() > events  # on the visits' timelines, as any reschedule
    run.refresh_from_db()
    assert {k: v["status"] for k, v in run.applied["routes"].items()} == {str(alex.pk): "applied", str(blair.pk): "applied"}
    # Accepting again changes nothing and says so.
    before = snapshot()
    again = accept(actor=dispatcher, run_id=run.pk)
    assert {r.status for r in again} == {"already"}
    assert snapshot() == before


def test_a_visit_changed_meanwhile_is_skipped_and_reported(dispatcher, crew):
    alex, blair = crew
    a = visit(DAY, 0, 8)
    b = visit(DAY, 1, 9)
    run = make_run(dispatcher, {blair: [a, b]})
    moved = visit_update(actor=dispatcher, visit_id=a.pk, version=a.version, start=at(DAY, 10), lead_id=alex.pk)  # someone drags it

    [report] = accept(actor=dispatcher, run_id=run.pk)

    assert report.status == "applied"
    assert report.skipped == [f"{a.job.number} visit {a.number}: changed since the plan was made; left as it is"]
    assert report.applied == [f"{b.job.number} visit {b.number} at {planned_start(run, b):%H:%M}"]
    assert lead_and_start(a) == (alex.pk, at(DAY, 10))
    a.refresh_from_db()
    assert a.version == moved.version
    assert lead_and_start(b) == (blair.pk, planned_start(run, b))


def test_a_refused_route_changes_nothing(dispatcher, crew):
    alex, blair = crew
    a = visit(DAY, 0, 8)
    b = visit(DAY, 1, 9, crew=[blair])
    run = make_run(dispatcher, {alex: [a, b]})
    # Meanwhile Alex set off to another visit at the time the plan gives `b` (not part of the plan: on the road).
    busy = visit(DAY, 3, 8, crew=[alex], window_hours=4, duration=240)
    Visit.objects.filter(pk=busy.pk).update(status=VisitStatus.EN_ROUTE)
    before = snapshot()

    [report] = accept(actor=dispatcher, run_id=run.pk, technician_id=alex.pk)

    assert report.status == "refused"
    assert "Alex Tech is already booked" in report.message
    assert snapshot() == before  # not the first stop, not the release: nothing
    run.refresh_from_db()
    assert run.applied["routes"][str(alex.pk)]["status"] == "refused"


def test_one_technician_then_the_other(dispatcher, crew):
    alex, blair = crew
    a = visit(DAY, 0, 8, crew=[alex])
    b = visit(DAY, 1, 9)
    run = make_run(dispatcher, {alex: [b], blair: [a]})

    [first] = accept(actor=dispatcher, run_id=run.pk, technician_id=alex.pk)
    assert first.released == [f"{a.job.number} visit {a.number} taken off the day (planned for Blair Tech)"]
    assert lead_and_start(a) == (None, at(DAY, 8))  # in the tray until Blair's route is accepted
    assert lead_and_start(b)[0] == alex.pk

    # Alex's accept changed `a`; that is this run's own change, not someone else's.
    [second] = accept(actor=dispatcher, run_id=run.pk, technician_id=blair.pk)
    assert (second.status, second.skipped) == ("applied", [])
    assert lead_and_start(a) == (blair.pk, planned_start(run, a))


def test_stops_that_trade_places_in_one_route(dispatcher, crew):
    alex, _ = crew
    early = visit(DAY, 0, 8, crew=[alex], window_hours=4, duration=90)
    late = visit(DAY, 0, 10, crew=[alex], window_hours=2, duration=90)
    Visit.objects.filter(pk=late.pk).update(window_start=at(DAY, 8), window_end=at(DAY, 12), scheduled_start=at(DAY, 9, 30))
    Visit.objects.filter(pk=early.pk).update(window_start=at(DAY, 8), window_end=at(DAY, 12))
    run = make_run(dispatcher, {alex: [late, early]})  # late first at 08:xx, early after it: each sits on the other
    assert planned_start(run, early) < at(DAY, 9, 30) + timedelta(minutes=90)

    [report] = accept(actor=dispatcher, run_id=run.pk)

    assert report.status == "applied", report.message
    assert lead_and_start(late) == (alex.pk, planned_start(run, late))
    assert lead_and_start(early) == (alex.pk, planned_start(run, early))


def test_refusals_before_any_route(dispatcher, tech_a, crew):
    visit(DAY, 0, 8)
    run = make_run(dispatcher, {})
    before = snapshot()
    with pytest.raises(DomainError) as forbidden:
        accept(actor=tech_a.user, run_id=run.pk)
    assert forbidden.value.code == "forbidden"
    PlanningRun.objects.filter(pk=run.pk).update(status=S.RUNNING)
    with pytest.raises(ConflictError) as running:
        accept(actor=dispatcher, run_id=run.pk)
    assert running.value.code == "run_not_ready"
    assert snapshot() == before
