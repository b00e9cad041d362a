"""The issue's acceptance paths end to end, across roles and browser contexts:

1. a dispatcher schedules a new job from its Crew & schedule tab by assigning the top crew suggestion,
   then drags the visit on the dispatch board to another technician;
2. a technician on a 390×844 phone works the visit through every status while the dispatcher's board,
   open in another browser context, shows each status without a reload.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from serviceopus.dispatch.models import Visit, VisitEvent
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from tests.browser.test_dispatch_board import VIEWPORT, block, drag_to_time, local_at, open_board
from tests.factories import CustomerFactory, JobFactory, LocationFactory, TechnicianFactory, UserFactory, VisitFactory

V = VisitStatus
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def fast_poll(settings):  # type: ignore[no-untyped-def]
    settings.DISPATCH_BOARD_POLL_SECONDS = 0.5


def _tech(first: str, lat: str, lng: str):  # type: ignore[no-untyped-def]
    return TechnicianFactory(user=UserFactory(first_name=first, last_name="Tech", username=first.lower(), role="technician"), home_lat=lat, home_lng=lng)


def test_schedule_from_suggestions_then_drag_to_another_technician(dispatcher, login_as, shot):  # type: ignore[no-untyped-def]
    near = _tech("Nora", "41.881000", "-87.631000")
    other = _tech("Felix", "42.050000", "-87.900000")
    day = timezone.localdate() + timedelta(days=1)
    job = JobFactory(
        number="J-500001",
        location=LocationFactory(customer=CustomerFactory(name="Priya Raman"), lat="41.880000", lng="-87.630000"),
        estimated_duration_minutes=90,
        status=JobStatus.NEW,
    )
    page = login_as(dispatcher, viewport=VIEWPORT)
    page.goto(f"/jobs/{job.pk}/tab/crew/")
    form = page.locator("#schedule-form")
    form.get_by_label("Date").fill(day.isoformat())
    form.get_by_label("Start", exact=True).fill("09:00")
    form.get_by_role("button", name="Suggest crew").click()
    items = page.get_by_label("Crew suggestions").locator(".suggestion")
    expect(items.first).to_contain_text("Nora Tech")
    items.first.get_by_role("button", name="Assign Nora Tech as lead").click()
    expect(page.locator(".ws-title .badge-status")).to_have_text("Scheduled")
    visit = Visit.objects.get(job=job)
    assert list(visit.crew.values_list("technician_id", flat=True)) == [near.pk]

    open_board(page, day)
    expect(block(page, near, visit)).to_contain_text("J-500001")
    drag_to_time(page, block(page, near, visit), other, 13, 0)
    expect(block(page, other, visit)).to_be_visible()
    expect(block(page, near, visit)).to_have_count(0)
    shot(page, "after-drag")
    visit.refresh_from_db()
    assert list(visit.crew.values_list("technician_id", flat=True)) == [other.pk]
    assert visit.scheduled_start == local_at(day, 13)
    assert set(Job.objects.get(pk=job.pk).technicians.all()) == {other}


def test_the_board_follows_a_technician_through_the_visit_without_reloading(dispatcher, tech_a, login_as, shot):  # type: ignore[no-untyped-def]
    day = timezone.localdate()
    now = timezone.localtime()
    # Start the visit at the current hour so that it is today and not yet late at any time of day.
    start = now.replace(minute=0, second=0, microsecond=0)
    job = JobFactory(number="J-500002", status=JobStatus.SCHEDULED, location=LocationFactory(customer=CustomerFactory(name="Tomas Lindqvist")))
    visit = VisitFactory(job=job, crew=[tech_a], scheduled_start=start, window_start=start, window_end=start + timedelta(hours=2))

    board = login_as(dispatcher, viewport=VIEWPORT)
    open_board(board, day)
    board.evaluate("window.__sameDocument = true")
    on_board = block(board, tech_a, visit)
    expect(on_board).to_have_class(re.compile(r"\bst-scheduled\b"))

    phone = login_as(tech_a.user, viewport=PHONE)
    phone.goto(f"/field/visits/{visit.pk}/")
    status = phone.get_by_test_id("visit-status")
    steps = [
        ("Start travel", "En route", V.EN_ROUTE),
        ("Arrived", "Arrived", V.ARRIVED),
        ("Start work", "Working", V.WORKING),
        ("Waiting for parts", "Paused", V.PAUSED),
        ("Resume work", "Working", V.WORKING),
        ("Depart", "Departed", V.DEPARTED),
        ("Complete — work finished", "Completed", V.COMPLETED),
    ]
    for button, label, value in steps:
        phone.get_by_role("button", name=button, exact=True).click()
        expect(status).to_have_text(label)
        expect(on_board).to_have_class(re.compile(rf"\bst-{value}\b"))
        if value == V.PAUSED:
            shot(board, "board-paused")
    assert board.evaluate("window.__sameDocument") is True  # the board never reloaded
    shot(phone, "phone-completed")
    shot(board, "board-completed")

    visit.refresh_from_db()
    assert (visit.status, visit.outcome) == (V.COMPLETED, Outcome.FINISHED)
    assert list(visit.events.filter(kind=VisitEvent.Kind.STATUS).values_list("to_status", flat=True)) == [s[2] for s in steps]
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE
