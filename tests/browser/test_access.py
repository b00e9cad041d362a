"""A technician sees and opens only the jobs assigned to them: another technician's job is not in their
list or search, and its pages answer 404 (not 403: its existence is not revealed either)."""

import re

from playwright.sync_api import expect

from tests.factories import CustomerFactory, JobFactory, LocationFactory

PHONE = {"width": 390, "height": 844}


def test_technician_opens_own_job_but_not_another_technicians(tech_a, tech_b, login_as, live_server, shot):  # type: ignore[no-untyped-def]
    mine = JobFactory(number="J-500001", location=LocationFactory(customer=CustomerFactory(name="Imogen Marsh")), technicians=[tech_a])
    theirs = JobFactory(number="J-500002", location=LocationFactory(customer=CustomerFactory(name="Theo Blackwood")), technicians=[tech_b])
    shared = JobFactory(number="J-500003", location=LocationFactory(customer=CustomerFactory(name="Una Fairweather")), technicians=[tech_a, tech_b])
    JobFactory(number="J-500004")  # nobody's yet
    page = login_as(tech_a.user, viewport=PHONE)

    page.goto("/jobs/")
    job_links = page.locator("#job-results tbody a.number")
    expect(job_links).to_have_count(2)
    assert sorted(job_links.all_inner_texts()) == [mine.number, shared.number]
    expect(page.get_by_text("Theo Blackwood")).to_have_count(0)
    shot(page, "list")

    # Searching for the other technician's job by number or customer finds nothing either.
    for text in (theirs.number, "Blackwood"):
        page.goto(f"/jobs/?q={text}")
        expect(page.get_by_role("searchbox", name="Search jobs")).to_have_value(text)
        expect(job_links).to_have_count(0)
        expect(page.get_by_text("No job matches this view")).to_be_visible()

    # Their own job opens, from the list.
    page.goto("/jobs/")
    page.get_by_role("link", name=mine.number).click()
    expect(page).to_have_url(f"{live_server.url}/jobs/{mine.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(mine.number)
    expect(page.get_by_role("region", name="Key facts")).to_contain_text("Imogen Marsh")
    shot(page, "own-job")

    # The other technician's job: every page of it is a 404 that shows nothing of the job.
    for path in (f"/jobs/{theirs.pk}/", f"/jobs/{theirs.pk}/tab/line-items/", f"/jobs/{theirs.pk}/quick/"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404, path
        expect(page.locator("body")).to_contain_text("This page does not exist, or it is not yours to see.")
        expect(page.locator("body")).not_to_contain_text("Theo Blackwood")
        expect(page.locator("body")).not_to_contain_text(theirs.number)
    page.goto(f"/jobs/{theirs.pk}/")
    shot(page, "other-job-404")

    # Office pages are not theirs at all.
    response = page.goto("/jobs/board/")
    assert response is not None
    assert response.status == 403


def test_technician_cannot_change_another_technicians_job(tech_a, tech_b, login_as):  # type: ignore[no-untyped-def]
    theirs = JobFactory(number="J-600001", technicians=[tech_b], status="scheduled")
    page = login_as(tech_a.user, viewport=PHONE)
    page.goto("/jobs/")  # a page of the app, for its CSRF token
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value") or ""
    response = page.request.post(
        f"/jobs/{theirs.pk}/transition/",
        form={"to": "in_progress", "expected": "scheduled", "response": "card"},
        headers={"X-CSRFToken": token, "Referer": live_url(page)},
    )
    assert response.status == 404
    theirs.refresh_from_db()
    assert theirs.status == "scheduled"


def live_url(page):  # type: ignore[no-untyped-def]
    return re.sub(r"(https?://[^/]+).*", r"\1/", page.url)
