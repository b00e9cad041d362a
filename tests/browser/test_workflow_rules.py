"""Workflow rules in the browser: the owner (admin) opens Automation → New rule and builds "when a job's
status changes to Work complete, if the job type is Furnace maintenance and there are fewer than 2 photos
on the job, create a follow-up task for the Service managers" with real selects and clicks — first with
a mistake, which comes back marked on its row with nothing saved. Then two furnace jobs reach work
complete, one with a single photo and one with two; the automation worker runs; the manager finds the
task for the first on My tasks, linking to the job, and none for the second. The rule's run log shows
both runs."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image
from playwright.sync_api import Page, expect

from serviceopus.automation.models import FollowUpTask, RuleRun, WorkflowRule
from serviceopus.closeout.actions.documents import document_upload
from serviceopus.jobs.actions import job_transition
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory, JobTypeFactory, LocationFactory

SENTENCE = (
    "When a job's status changes to Work complete, if Job type is Furnace maintenance and Photos on the job < 2, "
    "create a follow-up task “Check the photos of {job_number}” for Service managers due 1 day later."
)


def photo(actor, job, shade: int) -> None:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 90, 40)).save(buffer, "JPEG")
    document_upload(actor=actor, job_id=job.pk, upload=SimpleUploadedFile(f"furnace-{shade}.jpg", buffer.getvalue()), tag="after")


@pytest.fixture
def shop(db):  # type: ignore[no-untyped-def]
    furnace = JobTypeFactory(name="Furnace maintenance")
    JobTypeFactory(name="Drain cleaning")
    location = LocationFactory(customer=CustomerFactory(name="Harbor Dental"), street="12 Pier Road")
    few = JobFactory(number="J-000801", job_type=furnace, location=location, customer=location.customer, status=JobStatus.IN_PROGRESS)
    enough = JobFactory(number="J-000802", job_type=furnace, location=location, customer=location.customer, status=JobStatus.IN_PROGRESS)
    return furnace, few, enough


def test_admin_builds_the_photo_rule_and_it_fires(login_as, owner, manager, shop, shot):
    furnace, few, enough = shop
    page: Page = login_as(owner)
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Automation").click()
    expect(page.get_by_role("heading", name="Workflow rules")).to_be_visible()
    expect(page.get_by_text("No workflow rules yet")).to_be_visible()
    page.get_by_role("link", name="New rule").first.click()

    page.get_by_label("Name", exact=True).fill("Furnace photos before closeout")
    page.get_by_label("Trigger").select_option("job.status_changed")
    page.locator('select[name="tp-job.status_changed-to"]').select_option(label="Work complete")

    page.get_by_role("button", name="+ Add condition").click()
    first = page.locator("[data-row=condition]").nth(0)
    first.get_by_label("Field", exact=True).select_option(label="Job type")
    first.get_by_label("Job type", exact=True).select_option(label="Furnace maintenance")
    page.get_by_role("button", name="+ Add condition").click()
    second = page.locator("[data-row=condition]").nth(1)
    second.get_by_label("Field", exact=True).select_option(label="Photos on the job")
    second.get_by_label("Comparison").select_option(label="<")
    # The value is forgotten: the mistake.

    action = page.locator("[data-row=action]").nth(0)
    action.get_by_label("Action", exact=True).select_option(label="Create a follow-up task")
    expect(action.get_by_label("Level")).to_be_hidden()  # an alert's input, not a task's
    action.get_by_label("Title", exact=True).fill("Check the photos of {job_number}")
    action.get_by_label("For", exact=True).select_option(label="Service manager")
    page.get_by_role("button", name="Save rule").click()

    expect(page.get_by_role("alert").first).to_contain_text("The rule was not saved")
    second = page.locator("[data-row=condition]").nth(1)
    expect(second.locator(".field-error")).to_have_text("Photos on the job: Photos on the job takes a whole number from 0 to 1000000.")
    expect(page.locator("[data-row=condition]").nth(0).locator(".field-error")).to_have_count(0)
    assert not WorkflowRule.objects.exists()
    shot(page, "form-error")

    second.get_by_label("Photos on the job", exact=True).fill("2")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("Rule “Furnace photos before closeout” saved.")).to_be_visible()
    expect(page.get_by_text(SENTENCE)).to_be_visible()
    expect(page.get_by_text("Olivia Owner", exact=True)).to_be_visible()
    rule = WorkflowRule.objects.get()
    assert (rule.trigger, rule.trigger_params, rule.enabled, rule.created_by) == ("job.status_changed", {"to": "work_complete"}, True, owner)
    assert rule.conditions == [{"field": "job_type", "op": "is", "value": furnace.pk}, {"field": "photo_count", "op": "lt", "value": 2}]
    assert rule.actions == [{"kind": "create_task", "title": "Check the photos of {job_number}", "notes": "", "due_days": 1, "to_role": "manager"}]

    # One photo on the first job, two on the second; both reach work complete.
    photo(manager, few, 10)
    photo(manager, enough, 20)
    photo(manager, enough, 30)
    job_transition(actor=manager, job_id=few.pk, to=JobStatus.WORK_COMPLETE)
    job_transition(actor=manager, job_id=enough.pk, to=JobStatus.WORK_COMPLETE)
    call_command("automation_worker", "--once")

    task = FollowUpTask.objects.get()
    assert (task.job, task.title, task.owner_role, task.rule) == (few, "Check the photos of J-000801", "manager", rule)
    assert sorted(RuleRun.objects.values_list("job__number", "outcome")) == [("J-000801", "done"), ("J-000802", "not_matched")]

    page.reload()
    log = page.locator("#runs")
    expect(log.get_by_role("row", name="J-000801")).to_contain_text("Actions taken")
    expect(log.get_by_role("row", name="J-000802")).to_contain_text("Conditions not met")
    shot(page, "detail")
    page.goto("/automation/rules/")
    expect(page.get_by_text("Actions taken: 1")).to_be_visible()
    shot(page, "list")

    mason: Page = login_as(manager)
    mason.goto("/")
    mason.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    expect(mason.get_by_text("Check the photos of J-000801")).to_be_visible()
    expect(mason.get_by_text("J-000802")).to_have_count(0)
    shot(mason, "my-tasks")
    link = mason.get_by_role("link", name="J-000801")
    assert link.get_attribute("href").startswith(f"/jobs/{few.pk}/")
