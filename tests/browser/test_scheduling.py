"""A dispatcher schedules a new job from its Crew & schedule tab by assigning the top crew suggestion; the
week views and the calendar feed page show the result."""

import re
from datetime import datetime, time, timedelta

from django.utils import timezone
from playwright.sync_api import expect

from serviceopus.crew.models import TimeOff
from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, JobTypeFactory, LocationFactory, TechnicianFactory, UserFactory


def _tech(first: str, lat: str, lng: str):  # type: ignore[no-untyped-def]
    return TechnicianFactory(user=UserFactory(first_name=first, last_name="Tech", username=first.lower(), role="technician"), home_lat=lat, home_lng=lng)


def test_dispatcher_assigns_the_top_suggestion_with_one_click(dispatcher, login_as, shot):  # type: ignore[no-untyped-def]
    near = _tech("Nora", "41.881000", "-87.631000")
    far = _tech("Felix", "42.050000", "-87.900000")
    away = _tech("Owen", "41.880000", "-87.630000")
    tomorrow = timezone.localdate() + timedelta(days=1)
    TimeOff.objects.create(
        technician=away,
        start=timezone.make_aware(datetime.combine(tomorrow, time(0))),
        end=timezone.make_aware(datetime.combine(tomorrow, time(23))),
        reason="Training",
    )
    job = JobFactory(
        location=LocationFactory(street="48 Dock Street"), job_type=JobTypeFactory(name="Furnace repair"), estimated_duration_minutes=120, status=JobStatus.NEW
    )
    page = login_as(dispatcher, viewport={"width": 1280, "height": 1100})

    page.goto(f"/jobs/{job.pk}/")
    page.get_by_role("link", name="Crew & schedule").click()
    expect(page.get_by_role("heading", name="Schedule a visit")).to_be_visible()
    expect(page.get_by_text("No visits scheduled yet")).to_be_visible()
    form = page.locator("#schedule-form")
    expect(form.get_by_label("Duration (minutes)")).to_have_value("120")  # the job's estimate
    form.get_by_label("Date").fill(tomorrow.isoformat())
    form.get_by_label("Start", exact=True).fill("09:30")
    form.get_by_label("Crew notes").fill("Gate code 4411")
    shot(page, "tab")

    form.get_by_role("button", name="Suggest crew").click()
    suggestions = page.get_by_label("Crew suggestions")
    expect(suggestions).to_be_visible()
    items = suggestions.locator(".suggestion")
    expect(items).to_have_count(2)  # Owen is on time off
    expect(items.first).to_contain_text("Nora Tech")
    expect(items.first).to_contain_text("km from home base")
    expect(items.nth(1)).to_contain_text("Felix Tech")
    expect(page.locator("#schedule-form").get_by_label("Crew notes")).to_have_value("Gate code 4411")  # kept
    shot(page, "suggestions")

    items.first.get_by_role("button", name="Assign Nora Tech as lead").click()

    expect(page.get_by_role("status").first).to_have_text("Visit 1 scheduled.")
    expect(page.locator(".ws-title .badge-status")).to_have_text("Scheduled")
    card = page.locator(".visit-card").first
    expect(card).to_contain_text("Visit 1")
    expect(card).to_contain_text("Nora Tech")
    expect(card).to_contain_text("(lead)")
    expect(card).to_contain_text("9:30 AM")
    expect(card).to_contain_text("Gate code 4411")
    visit = Visit.objects.get(job=job)
    assert [(c.technician_id, c.is_lead) for c in visit.crew.all()] == [(near.pk, True)]
    assert far.pk not in [c.technician_id for c in visit.crew.all()]
    job.refresh_from_db()
    assert job.status == JobStatus.SCHEDULED
    shot(page, "assigned")

    # The team week and Nora's week show the visit.
    page.get_by_role("link", name="Schedule", exact=True).click()
    expect(page.get_by_role("heading", name="Team schedule")).to_be_visible()
    page.goto(f"/dispatch/schedule/?date={tomorrow.isoformat()}")
    expect(page.locator(".week-table")).to_contain_text(job.number)
    shot(page, "team-week")
    page.get_by_role("link", name="Nora Tech").click()
    expect(page.locator(".week-cols")).to_contain_text(job.number)
    expect(page.locator(".week-cols")).to_contain_text("9:30 AM – 11:30 AM")
    shot(page, "technician-week")


def test_visit_timeline_override_and_calendar_feed(manager, login_as, shot):  # type: ignore[no-untyped-def]
    tech = _tech("Nora", "41.881000", "-87.631000")
    helper = _tech("Hank", "41.900000", "-87.650000")
    job = JobFactory(estimated_duration_minutes=90, status=JobStatus.NEW)
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time(8)))
    [visit] = visit_schedule(actor=manager, job_id=job.pk, start=start, lead_id=tech.pk, helper_ids=[helper.pk], crew_notes="Bring the ladder")
    for to, extra in ((VisitStatus.EN_ROUTE, {"lat": 41.87, "lng": -87.62}), (VisitStatus.ARRIVED, {}), (VisitStatus.WORKING, {})):
        visit_transition(actor=tech.user, visit_id=visit.pk, to=to, **extra)
    visit_transition(actor=tech.user, visit_id=visit.pk, to=VisitStatus.PAUSED, reason="Waiting for parts")
    TimeOff.objects.create(technician=helper, start=start + timedelta(days=1), end=start + timedelta(days=1, hours=10), reason="Dentist")
    page = login_as(manager, viewport={"width": 1280, "height": 1200})

    page.goto(f"/jobs/{job.pk}/tab/crew/")
    card = page.locator(".visit-card").first
    expect(card.locator(".vt li")).to_have_count(5)
    expect(card).to_contain_text("GPS 41.87000, -87.62000")
    expect(card).to_contain_text("Waiting for parts")
    form = page.locator("#schedule-form")
    form.get_by_label("Date").fill((today + timedelta(days=1)).isoformat())
    form.get_by_label("Lead technician").select_option(label="Hank Tech")
    form.get_by_role("button", name="Schedule visit").click()
    expect(page.locator(".conflict")).to_contain_text("Dentist")
    expect(page.locator(".conflict")).to_contain_text("Time off")
    shot(page, "conflict")
    page.get_by_label(re.compile("Override as manager")).fill("Customer emergency; Hank agreed")
    page.get_by_role("button", name="Schedule anyway").click()
    expect(page.get_by_role("status").first).to_have_text("Visit 2 scheduled.")
    expect(page.locator("#visit-" + str(Visit.objects.get(job=job, number=2).pk))).to_contain_text("Customer emergency; Hank agreed")
    shot(page, "timeline")

    # Nora's calendar feed, made by the office.
    page.goto(f"/dispatch/technicians/{tech.pk}/calendar/")
    page.get_by_role("button", name="Create feed URL").click()
    feed_url = page.get_by_label("Feed URL").input_value()
    assert re.search(r"/dispatch/calendar/[A-Za-z0-9_-]{40,}\.ics$", feed_url)
    shot(page, "calendar")
    response = page.request.get(feed_url)
    assert response.status == 200
    assert "BEGIN:VEVENT" in response.text()
    assert job.number in response.text()
