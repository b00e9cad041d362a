"""Job dependencies in the browser: the office links the trim-out to the rough-in from the Dependencies
tab (one click on the customer's other open job), the tab says what holds the job up, the list and the
board mark it, and removing the link asks first."""

import pytest
from playwright.sync_api import Page, expect

from serviceopus.jobs.models import JobDependency
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory, JobTypeFactory, LocationFactory


@pytest.fixture
def site(db):  # type: ignore[no-untyped-def]
    location = LocationFactory(customer=CustomerFactory(name="Harbor View Condos"), street="12 Pier Road")
    rough_in = JobFactory(
        number="J-000501", location=location, customer=location.customer, job_type=JobTypeFactory(name="Electrical rough-in"), status=JobStatus.SCHEDULED
    )
    trim_out = JobFactory(
        number="J-000502", location=location, customer=location.customer, job_type=JobTypeFactory(name="Electrical trim-out"), status=JobStatus.NEW
    )
    return rough_in, trim_out


def test_link_see_and_unlink(login_as, dispatcher, site, shot):
    rough_in, trim_out = site
    page: Page = login_as(dispatcher)
    page.goto(f"/jobs/{trim_out.pk}/tab/dependencies/")
    expect(page.get_by_text("Waits for no other job")).to_be_visible()
    shot(page, "empty")

    page.get_by_role("form", name="Add a job this one waits for").get_by_role("button", name="J-000501").click()
    expect(page.get_by_text("J-000502 now waits for J-000501.")).to_be_visible()
    expect(page.locator(".dep-banner")).to_contain_text("Waiting on J-000501")
    expect(page.get_by_text("Blocking this job")).to_be_visible()
    assert list(JobDependency.objects.values_list("job_id", "depends_on_id")) == [(trim_out.pk, rough_in.pk)]
    shot(page, "linked")

    page.goto("/jobs/")
    expect(page.locator("tr", has_text="J-000502").get_by_role("link", name="Waiting on J-000501")).to_be_visible()
    shot(page, "list")
    page.goto("/jobs/board/")
    expect(page.locator(f"#card-{trim_out.pk}").get_by_role("link", name="Waiting on J-000501")).to_be_visible()
    shot(page, "board")

    page.goto(f"/jobs/{rough_in.pk}/tab/dependencies/")
    expect(page.get_by_text("Waiting on this job")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove the dependency on J-000502").click()
    expect(page.get_by_text("Dependency removed.")).to_be_visible()
    expect(page.get_by_text("Holds up no other job")).to_be_visible()
    assert not JobDependency.objects.exists()
