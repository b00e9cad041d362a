"""A technician works through a visit on a phone-sized screen (390×844): My day, then every status of
the visit screen, checking the screen after each tap and the database at the end. The office then
reviews the derived time on the job's Time tab."""

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from serviceopus.dispatch.models import Visit, VisitEvent
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.status import JobStatus
from tests.factories import AssetFactory, ContactFactory, CustomerFactory, JobFactory, LocationFactory, VisitFactory

V = VisitStatus
PHONE = {"width": 390, "height": 844}
GPS = {"latitude": 41.8812, "longitude": -87.6234}


def _day(tech):  # type: ignore[no-untyped-def]
    def start(hour: int):  # type: ignore[no-untyped-def]
        return timezone.make_aware(datetime.combine(timezone.localdate(), time(hour)))

    customer = CustomerFactory(name="Maple Dental", phone="555-0142")
    location = LocationFactory(customer=customer, street="9 Elm Court", lat=Decimal("41.880100"), lng=Decimal("-87.630200"), gate_code="2468")
    job = JobFactory(customer=customer, location=location, status=JobStatus.SCHEDULED, scope="Rooftop unit trips its breaker after ten minutes.")
    job.contact = ContactFactory(customer=customer, name="Dr. Ana Ruiz", role="Office manager", phone="555-0143")
    job.save()
    job.assets.add(AssetFactory(location=location, name="Rooftop unit", make="Trane", model="YSC060", serial="TR-55102"))
    first = VisitFactory(job=job, scheduled_start=start(9), window_start=start(9), window_end=start(11), crew=[tech], crew_notes="Park behind the building.")
    other = CustomerFactory(name="Harbor Lights Bakery")
    later_location = LocationFactory(customer=other, street="3 Pier Road", lat=None, lng=None)
    second = VisitFactory(
        job=JobFactory(customer=other, location=later_location, status=JobStatus.SCHEDULED, scope="Walk-in cooler not cooling."),
        scheduled_start=start(13),
        window_start=start(13),
        window_end=start(15),
        crew=[tech],
    )
    return first, second


def test_a_technician_works_a_visit_on_a_phone(tech_a, dispatcher, login_as, shot):  # type: ignore[no-untyped-def]
    first, second = _day(tech_a)
    page = login_as(tech_a.user, viewport=PHONE, geolocation=GPS, permissions=["geolocation"])

    page.goto("/field/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    cards = page.locator(".fd-card")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("Maple Dental")
    expect(cards.nth(1)).to_contain_text("Harbor Lights Bakery")
    expect(cards.nth(0).get_by_role("link", name="Navigate")).to_have_attribute("href", re.compile(r"destination=41\.880100,-87\.630200$"))
    expect(cards.nth(1).get_by_role("link", name="Navigate")).to_have_attribute("href", re.compile(r"/maps/search/.*3\+Pier\+Road"))
    expect(cards.nth(0).get_by_role("link", name="Call 555-0143")).to_have_attribute("href", "tel:555-0143")
    # Nothing is wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    button = cards.nth(0).get_by_role("button", name="Start travel")
    assert button.bounding_box()["height"] >= 48
    shot(page, "my-day")

    button.click()  # from the card straight to the visit screen
    status = page.get_by_test_id("visit-status")
    expect(status).to_have_text("En route")
    expect(page.get_by_role("status")).to_have_text("En route.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Maple Dental")

    page.get_by_role("button", name="Arrived").click()
    expect(status).to_have_text("Arrived")
    expect(page.get_by_role("button", name="Finish & depart")).to_be_visible()

    page.get_by_role("button", name="Start work").click()
    expect(status).to_have_text("Working")
    expect(page.get_by_role("button", name="Start work")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "visit-working")

    page.get_by_role("button", name="Waiting for parts").click()
    expect(status).to_have_text("Paused")
    expect(page.locator(".fd-pause-reason")).to_have_text("Waiting for parts")

    page.get_by_role("button", name="Resume work").click()
    expect(status).to_have_text("Working")

    page.get_by_role("button", name="Depart", exact=True).click()
    expect(status).to_have_text("Departed")
    expect(page.get_by_role("button", name="Complete — work finished")).to_be_visible()

    page.get_by_role("button", name="Complete — work finished").click()
    expect(status).to_have_text("Completed")
    expect(page.get_by_role("button", name="Start travel to next stop")).to_be_visible()
    expect(page.locator(".fd-timeline li")).to_have_count(7)  # the seven status changes
    shot(page, "visit-completed")

    first.refresh_from_db()
    assert (first.status, first.outcome) == (V.COMPLETED, Outcome.FINISHED)
    events = list(VisitEvent.objects.filter(visit=first, kind=VisitEvent.Kind.STATUS).order_by("at", "id"))
    assert [e.to_status for e in events] == [V.EN_ROUTE, V.ARRIVED, V.WORKING, V.PAUSED, V.WORKING, V.DEPARTED, V.COMPLETED]
    assert all(e.actor_id == tech_a.user_id for e in events)
    assert events[3].data == {"reason": "Waiting for parts"}
    # The browser offered a position, and each tap carried it.
    assert {(e.lat, e.lng) for e in events} == {(Decimal("41.881200"), Decimal("-87.623400"))}
    entries = list(TimeEntry.objects.filter(visit=first).order_by("start", "id"))
    assert [e.kind for e in entries] == [TimeEntry.Kind.TRAVEL, TimeEntry.Kind.WORK, TimeEntry.Kind.WORK]
    assert all(e.end is not None and e.technician_id == tech_a.pk for e in entries)
    assert (entries[0].start, entries[0].end) == (events[0].at, events[1].at)
    assert (entries[1].end, entries[2].start, entries[2].end) == (events[3].at, events[4].at, events[5].at)
    first.job.refresh_from_db()
    assert first.job.status == JobStatus.WORK_COMPLETE

    page.get_by_role("button", name="Start travel to next stop").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbor Lights Bakery")
    expect(status).to_have_text("En route")
    assert Visit.objects.get(pk=second.pk).status == V.EN_ROUTE

    # A second phone still showing the old screen: its tap is refused with the current state.
    stale = login_as(tech_a.user, viewport=PHONE)
    stale.goto(f"/field/visits/{first.pk}/")
    Visit.objects.filter(pk=first.pk).update(status=V.DEPARTED)  # as if the page had been loaded before completing
    stale.goto(f"/field/visits/{first.pk}/")
    Visit.objects.filter(pk=first.pk).update(status=V.COMPLETED)
    stale.get_by_role("button", name="Complete — work finished").click()
    expect(stale.get_by_role("status")).to_contain_text("already completed")
    assert VisitEvent.objects.filter(visit=first, kind=VisitEvent.Kind.STATUS).count() == 7

    # The office reviews the time on the job's Time tab (desktop).
    office = login_as(dispatcher)
    office.goto(f"/jobs/{first.job_id}/tab/time/")
    panel = office.locator("#time-panel")
    expect(panel.locator(".time-person")).to_have_count(1)
    expect(panel).to_contain_text("Alex Tech")
    approve = panel.get_by_role("button", name=f"Approve entry #{entries[0].pk}")
    approve.click()
    expect(panel.locator(f"#time-{entries[0].pk}")).to_contain_text("Approved")
    expect(office.locator("#time-panel .toast")).to_contain_text("Approved")
    office.get_by_role("link", name=f"Correct entry #{entries[1].pk}").click()
    correct = office.locator(f'form[aria-label="Correct entry #{entries[1].pk}"]')
    begun = timezone.localtime(entries[1].start) - timedelta(minutes=30)
    correct.get_by_label("Start").fill(begun.strftime("%Y-%m-%dT%H:%M"))
    correct.get_by_label("End").fill((begun + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M"))
    correct.get_by_label("Reason").fill("Started before tapping; phone had no signal")
    office.get_by_role("button", name="Save correction").click()
    expect(office.locator(f"#time-{entries[1].pk}")).to_have_class(re.compile("time-row-corrected"))
    correction = TimeEntry.objects.get(corrects=entries[1])
    expect(office.locator(f"#time-{entries[1].pk}")).to_contain_text(f"Replaced by #{correction.pk}")
    assert correction.minutes == 45
    office.set_viewport_size({"width": 1280, "height": 1200})
    shot(office, "time-tab")
    assert TimeEntry.objects.get(pk=entries[0].pk).review == TimeEntry.Review.APPROVED
    assert TimeEntry.objects.get(pk=entries[1].pk).review == TimeEntry.Review.CORRECTED
