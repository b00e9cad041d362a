"""Rest-of-today runs: the re-planning mode of a planning run (dispatch/planner/replan.py behind it)."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.core.errors import InvalidInput
from serviceopus.dispatch import planning
from serviceopus.dispatch.models import PlanningRun, Visit
from serviceopus.dispatch.status import VisitStatus

from .planning_support import seed_day

S = PlanningRun.Status
V = VisitStatus


@pytest.fixture(autouse=True)
def quick(settings):  # type: ignore[no-untyped-def]
    settings.PLANNER_TIME_LIMIT = 1.0


@pytest.mark.django_db
@pytest.mark.parametrize("day_offset", [-1, 1])
def test_only_today_can_be_re_planned_and_a_refusal_creates_nothing(dispatcher, day_offset):
    with pytest.raises(InvalidInput) as refused:
        planning.run_start(actor=dispatcher, day=timezone.localdate() + timedelta(days=day_offset), mode=PlanningRun.Mode.REST_OF_DAY)
    assert refused.value.fields == {"mode": "The rest of the day is planned for today only."}
    assert not PlanningRun.objects.exists()


@pytest.mark.django_db
def test_an_unknown_mode_is_refused(dispatcher):
    with pytest.raises(InvalidInput) as refused:
        planning.run_start(actor=dispatcher, day=timezone.localdate(), mode="tomorrow")
    assert "mode" in refused.value.fields
    assert not PlanningRun.objects.exists()


@pytest.mark.django_db
def test_a_rest_of_day_run_leaves_started_visits_out(dispatcher, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    seeded = seed_day(today, technicians=2, visits=4)
    started = seeded.visits[0]
    Visit.objects.filter(pk=started.pk).update(status=V.EN_ROUTE, en_route_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        run = planning.run_start(actor=dispatcher, day=today, mode=PlanningRun.Mode.REST_OF_DAY)
    run.refresh_from_db()
    assert (run.status, run.mode) == (S.DONE, PlanningRun.Mode.REST_OF_DAY), run.error
    assert str(started.pk) not in run.result["visits"]
    assert set(run.result["visits"]) == {str(v.pk) for v in seeded.visits[1:]}
    # Whatever the hour the test runs at, every visit not started is either planned or says why not.
    proposed = run.result["proposed"]
    placed = {s["visit_id"] for r in proposed["routes"] for s in r["stops"]} | {u["visit_id"] for u in proposed["unassigned"]}
    assert placed == {v.pk for v in seeded.visits[1:]}
    assert all(u["text"] for u in proposed["unassigned"])


@pytest.mark.django_db
def test_the_board_offers_rest_of_today_on_today_only(client_as, dispatcher):
    client = client_as(dispatcher)
    today = client.get(reverse("dispatch:board")).content.decode()
    other = client.get(reverse("dispatch:board") + "?day=" + (timezone.localdate() + timedelta(days=1)).isoformat()).content.decode()
    assert 'value="rest_of_day"' in today
    assert 'value="rest_of_day"' not in other


@pytest.mark.django_db
def test_posting_rest_of_day_for_another_day_says_why_and_creates_nothing(client_as, dispatcher):
    day = date(2026, 3, 10)
    response = client_as(dispatcher).post(reverse("dispatch:plan_start"), {"day": day.isoformat(), "scope": "rest_of_day"}, follow=True)
    assert "Only today&#x27;s rest can be re-planned." in response.content.decode()
    assert not PlanningRun.objects.exists()
