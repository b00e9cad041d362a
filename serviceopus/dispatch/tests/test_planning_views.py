"""The Plan day pages: the board's button, starting a run, the progress fragment and its poll, the
proposal page (KPIs, changes, route lists, the SVG plot), cancelling, accepting all or one route, the
empty day, and who may do what. Query counts do not grow with the day's size."""

from datetime import date

import pytest
from django.urls import reverse

from serviceopus.dispatch.models import CrewMember, PlanningRun
from tests.dispatch_support import snapshot

from .planning_support import seed_day

pytestmark = pytest.mark.django_db
S = PlanningRun.Status
DAY = date(2026, 3, 10)
RUN_PAGE_QUERIES = 3  # session, user, the run with who started it: the proposal is in the run row


@pytest.fixture(autouse=True)
def quick(settings):  # type: ignore[no-untyped-def]
    settings.PLANNER_TIME_LIMIT = 1.0


def start(client, captured, day=DAY, scope="all"):  # type: ignore[no-untyped-def]
    with captured(execute=True):
        response = client.post(reverse("dispatch:plan_start"), {"day": day.isoformat(), "scope": scope})
    run = PlanningRun.objects.latest("created_at")
    assert response.status_code == 302
    assert response["Location"] == reverse("dispatch:plan_run", args=[run.pk])
    run.refresh_from_db()
    return run


def test_the_board_offers_plan_day_to_those_who_schedule(client_as, dispatcher, owner):
    page = client_as(dispatcher).get(reverse("dispatch:board") + f"?day={DAY}").content.decode()
    assert "data-plan-day" in page
    assert f'<input type="hidden" name="day" value="{DAY}">' in page


def test_plan_a_day_then_see_the_proposal(client_as, dispatcher, django_capture_on_commit_callbacks, django_assert_num_queries):
    seeded = seed_day(DAY, technicians=2, visits=6)
    client = client_as(dispatcher)
    run = start(client, django_capture_on_commit_callbacks)
    assert run.status == S.DONE, run.error

    with django_assert_num_queries(RUN_PAGE_QUERIES):
        response = client.get(reverse("dispatch:plan_run", args=[run.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Plan for Tuesday, March 10" in page
    assert '<td>Visits served</td><td class="num">3 of 6</td>' in page
    assert 'class="num better">6 of 6</td>' in page
    assert page.count('<svg class="plan-plot"') == 2
    assert page.count("data-tech-route=") == 2
    for v in seeded.visits:
        assert f"{v.job.number} visit {v.number}" in page
    assert 'data-kind="assigned"' in page  # the three from the tray
    assert "Accept all" in page
    assert "/progress/" not in page  # finished: no polling


def test_run_page_query_count_does_not_grow(client_as, dispatcher, django_capture_on_commit_callbacks, django_assert_num_queries):
    seed_day(DAY, technicians=1, visits=2)
    client = client_as(dispatcher)
    small = start(client, django_capture_on_commit_callbacks)
    big_day = date(2026, 3, 11)
    seed_day(big_day, technicians=3, visits=8)
    big = start(client, django_capture_on_commit_callbacks, day=big_day)
    for run in (small, big):
        with django_assert_num_queries(RUN_PAGE_QUERIES):
            assert client.get(reverse("dispatch:plan_run", args=[run.pk])).status_code == 200


def test_progress_polls_while_running_and_reloads_when_done(client_as, dispatcher):
    run = PlanningRun.objects.create(day=DAY, created_by=dispatcher, status=S.RUNNING, stage="improving", served=4, visit_count=6, travel_metres=21400)
    client = client_as(dispatcher)
    fragment = client.get(reverse("dispatch:plan_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert 'hx-trigger="every 1000ms"' in html
    assert "improving" in html
    assert "4 of 6 visits" in html
    assert "21 km" in html
    assert "Cancel" in html
    assert "HX-Refresh" not in fragment.headers
    PlanningRun.objects.filter(pk=run.pk).update(status=S.DONE, stage="Done")
    done = client.get(reverse("dispatch:plan_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert done.headers["HX-Refresh"] == "true"


def test_cancel_from_the_page(client_as, dispatcher):
    run = PlanningRun.objects.create(day=DAY, created_by=dispatcher, status=S.RUNNING)
    response = client_as(dispatcher).post(reverse("dispatch:plan_cancel", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.cancel_requested
    assert run.status == S.RUNNING  # the worker stops at its next check


def test_accept_all_and_one_route(client_as, dispatcher, django_capture_on_commit_callbacks):
    seeded = seed_day(DAY, technicians=2, visits=6)
    client = client_as(dispatcher)
    run = start(client, django_capture_on_commit_callbacks)
    blair = seeded.technicians[1]
    response = client.post(reverse("dispatch:plan_accept", args=[run.pk]), {"technician": blair.pk})
    assert response.status_code == 302
    planned = {s["visit_id"] for r in run.result["proposed"]["routes"] if r["technician_id"] == blair.pk for s in r["stops"]}
    assert set(CrewMember.objects.filter(technician=blair, is_lead=True).values_list("visit_id", flat=True)) == planned
    client.post(reverse("dispatch:plan_accept", args=[run.pk]))
    for route in run.result["proposed"]["routes"]:
        crews = CrewMember.objects.filter(technician_id=route["technician_id"])
        assert set(crews.values_list("visit_id", flat=True)) == {s["visit_id"] for s in route["stops"]}
    page = client.get(reverse("dispatch:plan_run", args=[run.pk])).content.decode()
    assert 'id="accepted"' in page
    assert f'data-report="{blair.pk}" data-report-status="applied"' in page


def test_nothing_to_plan(client_as, dispatcher, django_capture_on_commit_callbacks):
    run = start(client_as(dispatcher), django_capture_on_commit_callbacks)
    assert run.status == S.DONE
    page = client_as(dispatcher).get(reverse("dispatch:plan_run", args=[run.pk])).content.decode()
    assert "Nothing to plan on this day." in page
    assert "Accept all" not in page


def test_a_bad_day_is_refused_with_a_message(client_as, dispatcher):
    response = client_as(dispatcher).post(reverse("dispatch:plan_start"), {"day": "tomorrow"}, follow=True)
    assert "Choose a day to plan (YYYY-MM-DD)." in response.content.decode()
    assert not PlanningRun.objects.exists()


def test_a_second_start_goes_to_the_run_in_progress(client_as, dispatcher):
    running = PlanningRun.objects.create(day=DAY, created_by=dispatcher, status=S.RUNNING)
    response = client_as(dispatcher).post(reverse("dispatch:plan_start"), {"day": DAY.isoformat()})
    assert response["Location"] == reverse("dispatch:plan_run", args=[running.pk])
    assert PlanningRun.objects.count() == 1


def test_technicians_may_not_plan_nor_accept(client_as, tech_a, dispatcher, django_capture_on_commit_callbacks):
    seed_day(DAY, technicians=1, visits=2)
    run = start(client_as(dispatcher), django_capture_on_commit_callbacks)
    before = snapshot()
    client = client_as(tech_a.user)
    assert client.post(reverse("dispatch:plan_start"), {"day": DAY.isoformat()}).status_code == 403
    assert client.post(reverse("dispatch:plan_accept", args=[run.pk])).status_code == 403
    assert client.post(reverse("dispatch:plan_cancel", args=[run.pk])).status_code == 403
    assert snapshot() == before
    assert PlanningRun.objects.count() == 1


def test_a_failed_run_page_says_why(client_as, office):
    run = PlanningRun.objects.create(day=DAY, status=S.FAILED, stage="Failed", error="The routing server did not answer.")
    page = client_as(office).get(reverse("dispatch:plan_run", args=[run.pk])).content.decode()
    assert "Planning failed: The routing server did not answer." in page
    assert "Accept all" not in page
    assert "/progress/" not in page
