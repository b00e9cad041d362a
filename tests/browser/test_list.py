"""The job list: full-text search by customer name and by job number, the status and priority filters,
the view kept in the URL (a reload or a bookmark shows the same jobs), and keyset pages."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from serviceopus.jobs.models import Priority
from serviceopus.jobs.status import HoldReason, JobStatus
from tests.factories import CustomerFactory, JobFactory, JobTypeFactory, LocationFactory

FILLERS = 27


@pytest.fixture
def jobs(db):  # type: ignore[no-untyped-def]
    """30 jobs: 27 plain new ones for one customer, and three whose customers share a first or last name."""
    maintenance = JobTypeFactory(name="Maintenance")
    filler_site = LocationFactory(customer=CustomerFactory(name="Filler Holdings"))
    fillers = [JobFactory(number=f"J-3000{i:02d}", location=filler_site, job_type=maintenance, priority=Priority.NORMAL) for i in range(FILLERS)]

    def special(number: str, customer: str, status: str, priority: int):  # type: ignore[no-untyped-def]
        return JobFactory(
            number=number,
            location=LocationFactory(customer=CustomerFactory(name=customer)),
            job_type=maintenance,
            status=status,
            priority=priority,
            hold_reason=HoldReason.PARTS if status == JobStatus.ON_HOLD else "",
        )

    return {
        "fillers": fillers,
        "urgent_hold": special("J-400001", "Quincy Zeller", JobStatus.ON_HOLD, Priority.URGENT),
        "normal_hold": special("J-400002", "Quincy Abbott", JobStatus.ON_HOLD, Priority.NORMAL),
        "urgent_new": special("J-400003", "Ramona Zeller", JobStatus.NEW, Priority.URGENT),
    }


def numbers(page: Page) -> list[str]:
    return page.locator("#job-results tbody tr td a.number").all_inner_texts()


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def search(page: Page, text: str) -> None:
    """Search from the filter bar and wait for the new page (its rows may look like the old one's)."""
    box = page.get_by_role("searchbox", name="Search jobs")
    box.fill(text)
    box.press("Enter")
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == [text])


def rows(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#job-results tbody tr")


def test_search_by_customer_name_and_by_job_number(jobs, dispatcher, login_as):  # type: ignore[no-untyped-def]
    page = login_as(dispatcher)
    page.goto("/jobs/")
    expect(rows(page)).to_have_count(25)

    search(page, "quincy")
    expect(rows(page)).to_have_count(2)
    assert sorted(numbers(page)) == ["J-400001", "J-400002"]
    assert query(page)["q"] == ["quincy"]
    expect(page.locator(".pager")).to_contain_text("Showing 2 jobs · 2 match this view")

    search(page, "Zeller Quincy")  # every word, in any order
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Quincy Zeller")

    search(page, "J-400003")
    expect(rows(page)).to_have_count(1)
    assert numbers(page) == ["J-400003"]
    expect(rows(page).first).to_contain_text("Ramona Zeller")

    search(page, "400002")  # the number's digits alone find it too
    expect(rows(page)).to_have_count(1)
    assert numbers(page) == ["J-400002"]

    search(page, "nobody-by-this-name")
    expect(rows(page)).to_have_count(0)
    expect(page.get_by_text("No job matches this view")).to_be_visible()
    page.get_by_role("link", name="Clear all filters").click()
    expect(rows(page)).to_have_count(25)
    expect(page.get_by_role("searchbox", name="Search jobs")).to_have_value("")


def test_status_and_priority_filters_live_in_the_url(jobs, dispatcher, login_as, live_server, shot):  # type: ignore[no-untyped-def]
    page = login_as(dispatcher)
    page.goto("/jobs/")
    filters = page.get_by_role("search", name="Filter jobs")

    filters.locator("summary", has_text="Status").click()
    filters.get_by_role("checkbox", name="On hold").check()
    filters.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"[?&]status=on_hold\b"))
    expect(rows(page)).to_have_count(2)
    assert sorted(numbers(page)) == ["J-400001", "J-400002"]
    assert query(page)["status"] == ["on_hold"]

    filters.locator("summary", has_text="Priority").click()
    filters.get_by_role("checkbox", name="Urgent").check()
    filters.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"[?&]priority=4\b"))
    expect(rows(page)).to_have_count(1)
    assert numbers(page) == ["J-400001"]
    assert query(page)["status"] == ["on_hold"]
    assert query(page)["priority"] == ["4"]
    expect(rows(page).first.locator("td").nth(3)).to_contain_text("On hold")
    expect(rows(page).first.locator("td").nth(3)).to_contain_text("Waiting for parts")
    expect(rows(page).first.locator("td").nth(4)).to_have_text("Urgent")
    shot(page, "filtered")

    # The view is the URL: a reload, or opening the link in a new tab, shows the same jobs and filters.
    filtered_url = page.url
    page.reload()
    expect(rows(page)).to_have_count(1)
    assert numbers(page) == ["J-400001"]
    expect(filters.locator("summary", has_text="Status").locator(".pill")).to_have_text("1")
    expect(filters.locator("summary", has_text="Priority").locator(".pill")).to_have_text("1")
    filters.locator("summary", has_text="Status").click()
    expect(filters.get_by_role("checkbox", name="On hold")).to_be_checked()
    expect(filters.get_by_role("checkbox", name="New")).not_to_be_checked()
    other_tab = page.context.new_page()
    other_tab.goto(filtered_url)
    expect(rows(other_tab)).to_have_count(1)
    assert numbers(other_tab) == ["J-400001"]
    other_tab.close()

    # Priority alone, with a search on top: urgent jobs of the Zellers.
    page.goto("/jobs/?priority=4&q=zeller")
    expect(rows(page)).to_have_count(2)
    assert sorted(numbers(page)) == ["J-400001", "J-400003"]
    expect(page.get_by_role("searchbox", name="Search jobs")).to_have_value("zeller")

    page.get_by_role("link", name="Clear", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/jobs/")
    expect(rows(page)).to_have_count(25)


def test_next_page_keeps_the_filters_and_shows_the_rest(jobs, dispatcher, login_as, shot):  # type: ignore[no-untyped-def]
    new_numbers = sorted([*(j.number for j in jobs["fillers"]), jobs["urgent_new"].number])
    assert len(new_numbers) == 28
    page = login_as(dispatcher)
    page.goto("/jobs/?status=new")
    expect(rows(page)).to_have_count(25)
    expect(page.locator(".pager")).to_contain_text("Showing 25 jobs · 28 match this view")
    expect(page.get_by_role("link", name="← Previous")).to_have_count(0)
    first_page = numbers(page)

    page.get_by_role("link", name="Next →").click()
    expect(rows(page)).to_have_count(3)
    expect(page).to_have_url(re.compile(r"[?&]cursor="))
    assert query(page)["status"] == ["new"]
    second_page = numbers(page)
    assert not set(first_page) & set(second_page)
    assert sorted(first_page + second_page) == new_numbers
    expect(page.get_by_role("link", name="Next →")).to_have_count(0)
    expect(page.get_by_role("link", name="← Previous")).to_be_visible()
    expect(page.locator(".pager")).to_contain_text("Showing 3 jobs · 28 match this view")
    shot(page, "page-2")

    # The page-2 URL is a real address: reloading it shows the same three jobs.
    page.reload()
    expect(rows(page)).to_have_count(3)
    assert numbers(page) == second_page

    page.get_by_role("link", name="← Previous").click()
    expect(rows(page)).to_have_count(25)
    assert numbers(page) == first_page
