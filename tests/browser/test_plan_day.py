"""Plan day in a real browser: a dispatcher plans tomorrow from the dispatch board, watches the progress
while a database worker (django-tasks' db_worker, as in production) runs the planner, looks at the
proposal beside the day as booked, accepts it, and finds the new routes on the dispatch board."""

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from playwright.sync_api import expect

from serviceopus.dispatch.models import CrewMember, PlanningRun
from serviceopus.dispatch.tests.planning_support import seed_day

VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(autouse=True)
def planning_in_the_worker(settings):  # type: ignore[no-untyped-def]
    # The queue in the database and a worker thread, so the page sees the run queued, running and done.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.PLANNER_TIME_LIMIT = 4.0


class ThreadWorker(Worker):
    """db_worker's own loop; signal handlers can only be set in the main thread (the test's)."""

    def configure_signals(self) -> None:
        pass


def run_worker() -> threading.Thread:
    def work() -> None:
        try:
            ThreadWorker(
                queue_names=["default"],
                interval=0.2,
                batch=True,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id="browser-test",
                excluded_queue_names=[],
            ).run()
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_plan_a_day_watch_it_accept_and_see_the_board(dispatcher, login_as, shot):  # type: ignore[no-untyped-def]
    day = timezone.localdate() + timedelta(days=1)
    seeded = seed_day(day, technicians=3, visits=8)
    page = login_as(dispatcher, viewport=VIEWPORT)
    page.goto(f"/dispatch/?day={day:%Y-%m-%d}")
    expect(page.locator("[data-dispatch]")).to_have_attribute("data-ready", "true")
    shot(page, "board-before")

    page.locator("[data-plan-day]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Plan for {day:%A, %B} {day.day}")
    progress = page.locator("#plan-progress")
    expect(progress).to_have_attribute("data-status", "queued")
    worker = run_worker()
    expect(progress).to_have_attribute("data-status", "running", timeout=10_000)
    expect(page.locator("[data-run-stage]")).not_to_have_text("Reading the day", timeout=10_000)
    shot(page, "progress")
    expect(page.locator("#plan-progress")).to_have_attribute("data-status", "done", timeout=30_000)
    worker.join(timeout=30)
    run = PlanningRun.objects.get()
    assert run.status == PlanningRun.Status.DONE, run.error
    assert run.served == 8

    expect(page.locator(".plan-kpis")).to_contain_text("8 of 8")
    expect(page.locator("svg.plan-plot")).to_have_count(2)
    expect(page.locator("[data-tech-route]")).to_have_count(3)
    shot(page, "proposal")

    # Why a visit went where it did, worked out from the stored plan.
    page.get_by_role("link", name="Why here?").first.click()
    expect(page.locator("[data-summary]")).to_contain_text(" goes to ")
    # The times read in the company's zone, like the rest of the page: the start lies in the window.
    said = page.locator("[data-explanation]").inner_text()
    start, window = re.search(r" at (\d\d:\d\d) ", said).group(1), re.search(r"window is (\d\d:\d\d)–(\d\d:\d\d)", said).groups()
    assert window[0] <= start <= window[1], said
    shot(page, "why")
    page.get_by_role("link", name="Back to the plan").click()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Accept all").click()
    expect(page.locator("#accepted")).to_be_visible()
    expect(page.locator(".toast")).to_have_text(re.compile(r"^\d+ visits? scheduled\.$"))  # the ones that move
    shot(page, "accepted")

    page.get_by_role("link", name="Back to the board").click()
    expect(page.locator("[data-dispatch]")).to_have_attribute("data-ready", "true")
    for route in run.result["proposed"]["routes"]:
        row = page.locator(f'.drow[data-tech="{route["technician_id"]}"]')
        for stop in route["stops"]:
            expect(row.locator(f'[data-v="{stop["visit_id"]}"]')).to_have_count(1)
    assert CrewMember.objects.filter(visit__in=seeded.visits, is_lead=True).count() == 8
    shot(page, "board-after")
