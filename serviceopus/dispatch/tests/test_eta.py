"""Live ETAs: refresh_etas drives each technician's remaining visits from where they are, and the hooks
queue the refresh when a visit of today changes."""

import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from serviceopus.crew.models import WeeklyShift
from serviceopus.dispatch import eta
from serviceopus.dispatch.actions import VISIT_SCHEDULE_HOOKS, VISIT_TRANSITION_HOOKS, visit_transition
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.planner.model import Place
from serviceopus.dispatch.planner.travel import Matrix
from serviceopus.dispatch.status import VisitStatus
from serviceopus.dispatch.tests.planning_support import SITES, at, technician, visit
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging import links
from serviceopus.messaging.eta import eta_text
from tests.factories import JobFactory, TechnicianFactory, VisitFactory

V = VisitStatus
DAY = date(2026, 12, 1)  # a Tuesday
LEG = 600  # every drive takes ten minutes


class TenMinutes:
    """Ten minutes between any two places: ETAs that can be worked out by hand."""

    key = "test:ten-minutes"

    def matrix(self, places: Sequence[Place]) -> Matrix:
        places = tuple(places)
        rows = tuple(tuple(0 if i == j else LEG for j in range(len(places))) for i in range(len(places)))
        return Matrix(places, rows, rows)


def hm(moment: datetime | None) -> str:
    assert moment is not None
    return f"{timezone.localtime(moment):%H:%M}"


def etas(*visits: Visit) -> list[str | None]:
    return [hm(v.eta) if v.eta else None for v in Visit.objects.filter(pk__in=[v.pk for v in visits]).order_by("scheduled_start")]


def day_of_three(window_hours: tuple[tuple[int, int], tuple[int, int]] = ((9, 30), (11, 0))):  # type: ignore[no-untyped-def]
    """Alex (08–17) has three one-hour visits: the first at 09:00, on site since 09:00; the second at
    10:00 and the third at 11:30, with windows opening at `window_hours`."""
    alex = technician("Alex", DAY)
    first = visit(DAY, 0, 9, crew=[alex])
    second = visit(DAY, 1, 10, crew=[alex])
    third = visit(DAY, 2, 11, crew=[alex])
    for v, (h, m) in zip((second, third), window_hours, strict=True):
        Visit.objects.filter(pk=v.pk).update(window_start=at(DAY, h, m), window_end=at(DAY, h, m) + timedelta(hours=3))
    Visit.objects.filter(pk=third.pk).update(scheduled_start=at(DAY, 11, 30))
    Visit.objects.filter(pk=first.pk).update(status=V.WORKING, en_route_at=at(DAY, 8, 45), arrived_at=at(DAY, 9))
    return alex, first, second, third


@pytest.mark.django_db
def test_on_time_the_next_stops_follow_the_expected_end() -> None:
    _, first, second, third = day_of_three()
    assert eta.refresh_etas(DAY, at(DAY, 9, 30), provider=TenMinutes()) == 2
    # Expected to end 10:00; 10 minutes to the next; that one ends 11:10; 10 more minutes.
    assert etas(first, second, third) == [None, "10:10", "11:20"]
    stored = Visit.objects.get(pk=second.pk)
    assert stored.eta_updated_at == at(DAY, 9, 30)
    assert stored.version == second.version  # an ETA is no edit: the phone's and the planner's versions hold


@pytest.mark.django_db
def test_an_overrun_pushes_the_later_etas_back_by_the_overrun() -> None:
    _, first, second, third = day_of_three()
    eta.refresh_etas(DAY, at(DAY, 9, 30), provider=TenMinutes())
    # Still working at 10:25: 25 minutes over the expected end.
    assert eta.refresh_etas(DAY, at(DAY, 10, 25), provider=TenMinutes()) == 2
    assert etas(first, second, third) == [None, "10:35", "11:45"]


@pytest.mark.django_db
def test_finishing_early_pulls_them_forward() -> None:
    _, first, second, third = day_of_three()
    eta.refresh_etas(DAY, at(DAY, 9, 30), provider=TenMinutes())
    Visit.objects.filter(pk=first.pk).update(status=V.COMPLETED, departed_at=at(DAY, 9, 40), completed_at=at(DAY, 9, 40))
    eta.refresh_etas(DAY, at(DAY, 9, 40), provider=TenMinutes())
    assert etas(first, second, third) == [None, "09:50", "11:00"]


@pytest.mark.django_db
def test_a_window_makes_the_technician_wait_but_the_eta_stays_the_arrival() -> None:
    _, first, second, third = day_of_three(window_hours=((11, 0), (11, 0)))
    eta.refresh_etas(DAY, at(DAY, 9, 30), provider=TenMinutes())
    # Arrives 10:10, waits for 11:00, works until 12:00, 10 minutes to the third.
    assert etas(first, second, third) == [None, "10:10", "12:10"]


@pytest.mark.django_db
def test_on_the_road_the_eta_is_the_arrival_from_where_the_phone_set_off() -> None:
    _, first, second, third = day_of_three()
    lat, lng = SITES[5]
    Visit.objects.filter(pk=first.pk).update(status=V.EN_ROUTE, arrived_at=None, en_route_at=at(DAY, 8, 55), last_lat=Decimal(lat), last_lng=Decimal(lng))
    eta.refresh_etas(DAY, at(DAY, 8, 58), provider=TenMinutes())
    # Arrives 09:05, works until 10:05; the rest follows.
    assert etas(first, second, third) == ["09:05", "10:15", "11:25"]


@pytest.mark.django_db
def test_a_paused_visit_still_needs_the_rest_of_its_time() -> None:
    _, first, second, third = day_of_three()
    Visit.objects.filter(pk=first.pk).update(status=V.PAUSED, paused_at=at(DAY, 9, 20))
    eta.refresh_etas(DAY, at(DAY, 10, 0), provider=TenMinutes())
    # 20 minutes worked before the pause: 40 to go from 10:00.
    assert etas(first, second, third) == [None, "10:50", "12:00"]


@pytest.mark.django_db
def test_a_fixed_break_is_taken_before_the_stop_that_would_run_into_it() -> None:
    alex, first, second, third = day_of_three()
    WeeklyShift.objects.filter(technician=alex).delete()
    WeeklyShift.objects.create(technician=alex, weekday=DAY.weekday(), start=time(8), end=time(10, 30))
    WeeklyShift.objects.create(technician=alex, weekday=DAY.weekday(), start=time(11), end=time(17))
    eta.refresh_etas(DAY, at(DAY, 9, 30), provider=TenMinutes())
    # The second would run 10:10–11:10 through the 10:30–11:00 break: the break first, then the drive.
    assert etas(first, second, third) == [None, "11:10", "12:20"]


@pytest.mark.django_db
def test_visits_no_longer_ahead_lose_their_eta_and_unchanged_rows_are_not_written(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    _, first, second, third = day_of_three()
    Visit.objects.filter(pk=first.pk).update(eta=at(DAY, 9, 0))
    assert eta.refresh_etas(DAY, at(DAY, 9, 30), provider=TenMinutes()) == 3
    assert etas(first, second, third) == [None, "10:10", "11:20"]
    # Nothing changed: nothing written (the six reads only).
    with django_assert_num_queries(6):
        assert eta.refresh_etas(DAY, at(DAY, 9, 30), provider=TenMinutes()) == 0


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_the_day(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    day_of_three()
    # Alex overruns: each refresh at another minute moves the ETAs.
    eta.refresh_etas(DAY, at(DAY, 10, 25), provider=TenMinutes())  # stores the day's matrix
    with django_assert_num_queries(7):  # six reads and one bulk update
        assert eta.refresh_etas(DAY, at(DAY, 10, 35), provider=TenMinutes()) == 2
    blair, casey = technician("Blair", DAY), technician("Casey", DAY)
    for hour in range(8, 16):
        visit(DAY, hour, hour, crew=[blair if hour % 2 else casey])
    eta.refresh_etas(DAY, at(DAY, 10, 25), provider=TenMinutes())
    with django_assert_num_queries(7):
        assert eta.refresh_etas(DAY, at(DAY, 10, 35), provider=TenMinutes()) > 2


# -- the hooks ---------------------------------------------------------------------------------------------


@pytest.fixture
def hooks():  # type: ignore[no-untyped-def]
    """The refresh hooks registered (as DispatchConfig.ready does), removed again afterwards."""
    before = (list(VISIT_TRANSITION_HOOKS), list(VISIT_SCHEDULE_HOOKS))
    eta.install()
    eta.install()  # twice, as a reloaded app would: still registered once
    assert VISIT_TRANSITION_HOOKS.count(eta.visit_moved) == 1
    assert VISIT_SCHEDULE_HOOKS.count(eta.visits_scheduled) == 1
    yield
    VISIT_TRANSITION_HOOKS[:] = before[0]
    VISIT_SCHEDULE_HOOKS[:] = before[1]


def today_visits():  # type: ignore[no-untyped-def]
    """Alex, working all of today, with a visit now and one 30 minutes later (both today, whatever the hour)."""
    today = timezone.localdate()
    alex = technician("Alex", today, shift=(0, 23))
    start = timezone.localtime().replace(second=0, microsecond=0)
    later = min(start + timedelta(minutes=30), timezone.make_aware(datetime.combine(today, time(23, 58))))
    first = visit(today, 0, 0, crew=[alex])
    second = visit(today, 1, 0, crew=[alex])
    Visit.objects.filter(pk=first.pk).update(scheduled_start=start, window_start=None, window_end=None)
    Visit.objects.filter(pk=second.pk).update(scheduled_start=later, window_start=None, window_end=None)
    return alex, first, second


@pytest.mark.django_db
def test_a_visit_state_change_refreshes_the_etas(hooks, dispatcher) -> None:  # type: ignore[no-untyped-def]
    _, first, second = today_visits()
    # The test settings run tasks at once: the refresh ran inside the transition.
    visit_transition(actor=dispatcher, visit_id=first.pk, to=V.EN_ROUTE)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.eta is not None
    assert second.eta is not None
    assert second.eta > first.eta
    visit_transition(actor=dispatcher, visit_id=first.pk, to=V.ARRIVED)
    first.refresh_from_db()
    assert first.eta is None  # arrived: nothing to predict


@pytest.fixture
def database_queue(settings):  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def queued() -> list[dict]:
    return list(DBTaskResult.objects.filter(task_path=eta.refresh_etas_task.module_path).values_list("args_kwargs", flat=True))


@pytest.mark.django_db
def test_the_refresh_is_queued_once_in_the_same_transaction_and_a_rollback_queues_nothing(hooks, database_queue, dispatcher) -> None:  # type: ignore[no-untyped-def]
    _, first, second = today_visits()
    try:
        with transaction.atomic():
            visit_transition(actor=dispatcher, visit_id=first.pk, to=V.EN_ROUTE)
            assert len(queued()) == 1
            raise RuntimeError("the caller fails after the change")
    except RuntimeError:
        pass
    assert queued() == []
    assert Visit.objects.get(pk=first.pk).status == V.SCHEDULED
    visit_transition(actor=dispatcher, visit_id=first.pk, to=V.EN_ROUTE)
    visit_transition(actor=dispatcher, visit_id=second.pk, to=V.CANCELLED, reason="Customer away")
    # One refresh waiting covers both changes.
    assert queued() == [{"args": [], "kwargs": {"day": timezone.localdate().isoformat()}}]


@pytest.mark.django_db
def test_another_day_queues_nothing(hooks, database_queue, dispatcher) -> None:  # type: ignore[no-untyped-def]
    alex = technician("Alex", DAY)
    future = visit(DAY, 0, 9, crew=[alex])
    Visit.objects.filter(pk=future.pk).update(scheduled_start=timezone.now() + timedelta(days=3))
    visit_transition(actor=dispatcher, visit_id=future.pk, to=V.CANCELLED, reason="Customer away")
    assert queued() == []


# -- where the ETA is shown ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_board_cards_show_the_eta_of_visits_not_reached_yet(client_as, dispatcher) -> None:  # type: ignore[no-untyped-def]
    _, first, second, third = day_of_three()
    eta.refresh_etas(DAY, at(DAY, 9, 30), provider=TenMinutes())
    html = client_as(dispatcher).get(reverse("dispatch:board"), {"day": DAY.isoformat()}).content.decode()
    assert f'<b>{second.job.number}</b> <span class="eta">ETA 10:10</span> ' in html
    assert f'data-v="{second.pk}" data-ver="{second.version}" data-job="{second.job_id}" title="ETA 10:10"' in html
    quick = client_as(dispatcher).get(reverse("dispatch:visit_quick", args=[second.pk])).content.decode()
    assert '<dt>ETA</dt><dd>10:10 <span class="muted small">predicted at 09:30</span></dd>' in quick
    assert f'<b>{third.job.number}</b> <span class="eta">ETA 11:20</span> ' in html
    assert f"<b>{first.job.number}</b> {first.job.customer.name}</span>" in html  # on site: no ETA


@pytest.mark.django_db
def test_the_office_visit_list_and_the_visit_screen_show_the_eta(client_as, dispatcher) -> None:  # type: ignore[no-untyped-def]
    _, first, second, _ = day_of_three()
    eta.refresh_etas(DAY, at(DAY, 9, 30), provider=TenMinutes())
    office = client_as(dispatcher).get(reverse("jobs:tab", args=[second.job_id, "crew"])).content.decode()
    assert re.search(r'<dt>Predicted arrival</dt><dd data-testid="visit-eta">10:10 AM <span class="muted small">updated 9:30 AM</span>', office)
    screen = client_as(dispatcher).get(reverse("field:visit", args=[second.pk])).content.decode()
    assert 'data-testid="visit-eta">Expected arrival <strong>10:10 AM</strong>' in screen
    on_site = client_as(dispatcher).get(reverse("field:visit", args=[first.pk])).content.decode()
    assert 'data-testid="visit-eta"' not in on_site


@pytest.mark.django_db
def test_the_portal_shows_the_predicted_arrival_of_todays_booked_visit(office) -> None:  # type: ignore[no-untyped-def]
    job = JobFactory(status=JobStatus.SCHEDULED)
    now = timezone.localtime()
    booked = VisitFactory(job=job, scheduled_start=now.replace(second=0, microsecond=0), crew=[TechnicianFactory()])
    link = links.link_create(actor=office, job_id=job.pk, label="Tenant")
    client = Client()
    assert client.get(reverse("portal:open", args=[links.token_for(link)])).status_code == 302
    assert "Arriving around" not in client.get(reverse("portal:job", args=[job.pk])).content.decode()
    predicted = now + timedelta(minutes=20)
    Visit.objects.filter(pk=booked.pk).update(eta=predicted)
    html = client.get(reverse("portal:job", args=[job.pk])).content.decode()
    if timezone.localdate(predicted) == timezone.localdate():  # not when the test runs just before midnight
        assert f"Arriving around <strong>{eta_text(predicted)}</strong>" in html
