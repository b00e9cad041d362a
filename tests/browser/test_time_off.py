"""A dispatcher records a technician's time off on their week page and is told which booked visit
falls in it; scheduling then refuses that technician for the period."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from serviceopus.crew.models import TimeOff
from serviceopus.dispatch.actions import visit_schedule
from tests.dispatch_support import at
from tests.factories import JobFactory


def test_dispatcher_records_time_off(dispatcher, tech_a, login_as, shot):  # type: ignore[no-untyped-def]
    [booked] = visit_schedule(actor=dispatcher, job_id=JobFactory(number="J-700001").pk, start=at(1, 10), lead_id=tech_a.pk)
    page = login_as(dispatcher)
    page.goto(f"/dispatch/schedule/technicians/{tech_a.pk}/")
    expect(page.get_by_text("No time off from this week on.")).to_be_visible()
    form = page.get_by_role("form", name="Add time off")
    day = timezone.localdate() + timedelta(days=1)
    form.get_by_label("From").fill(f"{day:%Y-%m-%d}T08:00")
    form.get_by_label("Until").fill(f"{day:%Y-%m-%d}T17:00")
    form.get_by_label("Reason").fill("Dentist")
    form.get_by_role("button", name="Add time off").click()
    expect(page.get_by_text("Time off recorded for Alex Tech.")).to_be_visible()
    expect(page.get_by_text(f"reassign on the dispatch board: {booked.job.number}")).to_be_visible()
    expect(page.locator(".time-off-list li")).to_contain_text("Dentist")
    shot(page, "recorded")
    assert TimeOff.objects.get(technician=tech_a).start == at(1, 8)
