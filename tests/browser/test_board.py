"""The board: dragging a card (real HTML5 drag and drop through Playwright) runs the same rules as every
other status change. An allowed move sticks (in the page, after a reload and in the database); a
refused one puts the card back with the reason on it and changes nothing."""

import re

from playwright.sync_api import Locator, Page, expect

from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory, LocationFactory

# Wide enough for all eight columns side by side: drag_to needs both ends on screen.
BOARD_VIEWPORT = {"width": 1440, "height": 900}


def column(page: Page, status: str) -> Locator:
    return page.locator(f'[data-board] [data-column="{status}"]')


def card(page: Page, job: Job) -> Locator:
    return page.locator(f"#card-{job.pk}")


def drag_card(page: Page, job: Job, to_status: str) -> None:
    """Drag by the card's customer line (a plain part of the draggable card, not its link or select)."""
    card(page, job).locator(".customer").drag_to(column(page, to_status).locator("[data-cards]"))


def open_board(page: Page) -> None:
    page.goto("/jobs/board/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Board")
    # Every column fits on the screen: no horizontal scrolling needed to reach a drop target.
    assert page.locator("[data-board]").evaluate("b => b.scrollWidth <= b.clientWidth")
    expect(page.locator("[data-board] [data-column]")).to_have_count(8)
    for status in JobStatus.values:
        expect(column(page, status)).to_be_in_viewport()


def test_drag_to_an_allowed_column_moves_the_job_and_a_refused_drag_puts_it_back(dispatcher, tech_a, login_as, shot):  # type: ignore[no-untyped-def]
    ready = JobFactory(
        number="J-100001", location=LocationFactory(customer=CustomerFactory(name="Avery Lindqvist")), technicians=[tech_a], status=JobStatus.NEW
    )
    fresh = JobFactory(number="J-100002", location=LocationFactory(customer=CustomerFactory(name="Bruno Castellanos")), status=JobStatus.NEW)
    JobFactory(number="J-100003", status=JobStatus.SCHEDULED, technicians=[tech_a])
    page = login_as(dispatcher, viewport=BOARD_VIEWPORT)
    open_board(page)
    expect(column(page, "new").locator(".job-card")).to_have_count(2)
    expect(column(page, "new").locator("[data-count]")).to_have_text("2")
    expect(column(page, "scheduled").locator("[data-count]")).to_have_text("1")
    expect(column(page, "new").locator(f"#card-{ready.pk}")).to_be_visible()
    shot(page, "1-before")

    # Allowed: New → Scheduled (the job has a technician, so the scheduling guard lets it through).
    drag_card(page, ready, "scheduled")
    moved = column(page, "scheduled").locator(f"#card-{ready.pk}")
    expect(moved).to_have_attribute("data-status", "scheduled")  # the server's card, swapped in
    expect(page.locator("[data-live]")).to_have_text("J-100001 moved to Scheduled.")  # a toast, gone after 5 s
    expect(moved).not_to_have_class(re.compile(r"\bsaving\b"))
    expect(column(page, "new").locator(f"#card-{ready.pk}")).to_have_count(0)
    expect(column(page, "new").locator("[data-count]")).to_have_text("1")
    expect(column(page, "scheduled").locator("[data-count]")).to_have_text("2")
    ready.refresh_from_db()
    assert ready.status == JobStatus.SCHEDULED
    assert list(ready.events.filter(kind="status").values_list("old_value", "new_value", "actor_id")) == [("new", "scheduled", dispatcher.pk)]
    shot(page, "2-after-accepted-move")

    page.reload()
    expect(column(page, "scheduled").locator(f"#card-{ready.pk}")).to_be_visible()
    expect(column(page, "new").locator(f"#card-{ready.pk}")).to_have_count(0)
    expect(column(page, "scheduled").locator("[data-count]")).to_have_text("2")

    # Refused by the transition table: a New job cannot become Work complete.
    version = Job.objects.get(pk=fresh.pk).version
    drag_card(page, fresh, "work_complete")
    back = column(page, "new").locator(f"#card-{fresh.pk}")
    expect(back.locator("[data-refused]")).to_have_text("A job that is New cannot become Work complete.")
    expect(page.locator("[data-live]")).to_have_text("J-100002 was not moved.")
    expect(back).to_have_class(re.compile(r"\bis-refused\b"))
    expect(back).to_have_attribute("data-status", "new")
    expect(column(page, "work_complete").locator(".job-card")).to_have_count(0)
    expect(column(page, "new").locator("[data-count]")).to_have_text("1")
    expect(column(page, "work_complete").locator("[data-count]")).to_have_text("0")
    fresh.refresh_from_db()
    assert (fresh.status, fresh.version) == (JobStatus.NEW, version)
    assert not fresh.events.filter(kind="status").exists()
    shot(page, "3-after-refused-move")

    page.reload()
    expect(column(page, "new").locator(f"#card-{fresh.pk}")).to_be_visible()
    expect(column(page, "new").locator(f"#card-{fresh.pk} [data-refused]")).to_have_count(0)


def test_a_guard_refuses_the_drag_and_the_move_menu_goes_the_same_way(dispatcher, tech_a, login_as, shot):  # type: ignore[no-untyped-def]
    unassigned = JobFactory(number="J-200001", status=JobStatus.NEW)
    page = login_as(dispatcher, viewport={"width": 1280, "height": 800})  # the narrowest office screen
    open_board(page)

    # An allowed transition that a guard blocks: nothing scheduled, nobody assigned.
    drag_card(page, unassigned, "scheduled")
    back = column(page, "new").locator(f"#card-{unassigned.pk}")
    expect(back.locator("[data-refused]")).to_have_text("Scheduled is blocked: Set a visit time or assign a technician before scheduling.")
    expect(column(page, "scheduled").locator(".job-card")).to_have_count(0)
    assert Job.objects.get(pk=unassigned.pk).status == JobStatus.NEW
    shot(page, "guard-refused")

    # The keyboard path: the card's "Move to…" menu, through the same endpoint.
    back.get_by_label("Move J-200001 to").select_option(label="Cancelled")
    back.get_by_role("button", name="Move J-200001").click()
    cancelled = column(page, "cancelled").locator(f"#card-{unassigned.pk}")
    expect(cancelled).to_have_attribute("data-status", "cancelled")
    expect(cancelled.locator("[data-refused]")).to_have_count(0)
    expect(page.locator("[data-live]")).to_have_text("J-200001 moved to Cancelled.")
    assert Job.objects.get(pk=unassigned.pk).status == JobStatus.CANCELLED
