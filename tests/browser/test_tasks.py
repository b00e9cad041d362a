"""Follow-up tasks and alerts in the browser: a manager sees the bell's unread count, opens the alert
centre, follows an alert to its job (the count drops), then marks an overdue task done on My tasks
without leaving the page."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from serviceopus.automation.models import AlertLevel, FollowUpTask
from serviceopus.automation.tasks import alert_raise, task_create
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory, LocationFactory


def test_manager_follows_an_alert_and_finishes_a_task(login_as, manager, office, live_server, shot):  # type: ignore[no-untyped-def]
    location = LocationFactory(customer=CustomerFactory(name="Harbor View Condos"))
    job = JobFactory(number="J-000901", location=location, customer=location.customer, status=JobStatus.IN_PROGRESS)
    other = JobFactory(number="J-000902")
    alert_raise(job=job, title="Visit 1 is running late", body="The crew is still en route.", level=AlertLevel.URGENT, to_user_id=manager.pk)
    alert_raise(job=other, title="Job paused for 2 hours", level=AlertLevel.WARNING, to_user_id=manager.pk)
    today = timezone.localdate()
    late = task_create(actor=office, job_id=job.pk, title="Call the customer back", owner_id=manager.pk, due_date=today - timedelta(days=2))
    task_create(actor=office, job_id=other.pk, title="Send the warranty papers", owner_id=manager.pk, due_date=today + timedelta(days=3))

    page: Page = login_as(manager)
    page.goto("/")
    bell = page.get_by_role("link", name=re.compile(r"^Alerts"))
    expect(bell.locator(".bell-count")).to_have_text("2")

    bell.click()
    expect(page).to_have_url(live_server.url + "/alerts/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts")
    expect(page.get_by_text("2 unread.")).to_be_visible()
    shot(page, "alert-centre")

    page.get_by_role("link", name=re.compile(r"^Visit 1 is running late")).click()
    expect(page).to_have_url(live_server.url + f"/jobs/{job.pk}/")
    expect(page.get_by_role("link", name=re.compile(r"^Alerts")).locator(".bell-count")).to_have_text("1")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    expect(page).to_have_url(live_server.url + "/tasks/")
    row = page.locator(f"#task-{late.pk}")
    expect(row).to_contain_text("Overdue")
    expect(page.locator("#task-summary").get_by_role("link", name="1 overdue")).to_be_visible()
    shot(page, "my-tasks")

    row.get_by_role("button", name="Mark “Call the customer back” done").click()
    expect(row).to_have_class(re.compile(r"\bb-done\b"))
    expect(row.get_by_role("button", name="Reopen")).to_be_visible()
    expect(page.locator("#task-summary").get_by_role("link", name="0 overdue")).to_be_visible()
    assert FollowUpTask.objects.get(pk=late.pk).done_by == manager
    shot(page, "done")
