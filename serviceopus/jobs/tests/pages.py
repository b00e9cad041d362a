"""Shared by the job page tests: the tab slugs, the expected query counts, and data helpers."""

from datetime import timedelta

from django.utils import timezone

from serviceopus.jobs import actions
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, TechnicianFactory

OFFICE_ROLES = ["owner", "manager", "dispatcher", "office"]
TABS = [
    "details",
    "line-items",
    "crew",
    "documents",
    "purchase-orders",
    "invoices",
    "payments",
    "incidents",
    "time",
    "notes",
    "messages",
    "tasks",
    "dependencies",
    "signatures",
    "quality",
    "financials",
    "timeline",
]
STATUSES = [JobStatus.NEW, JobStatus.SCHEDULED, JobStatus.IN_PROGRESS, JobStatus.ON_HOLD, JobStatus.WORK_COMPLETE]
HTMX = {"HTTP_HX_REQUEST": "true"}

# Queries per request (session and user included; the role's capabilities cost none). They must not change with
# the number of rows; the tests below load each page with few and with many rows.
LIST_QUERIES = 9  # session, user, 3 filter choices, page, technicians, tags, capped count
LIST_SEARCH_QUERIES = 11  # the same, plus the text search run once for the page and once for the count
BOARD_QUERIES = 24  # as the list, plus 8 column pages, the cards, and 8 capped counts
BOARD_SEARCH_QUERIES = 25  # … plus the text search, run once for all columns
WORKSPACE_QUERIES = 8  # session, user, job (+ customer, location, contact, type), 4 related lists, closeout requirements
WORKSPACE_TAB_QUERIES = 9  # … plus the tab's own list (line items, notes or timeline)


def html(response) -> str:
    return response.content.decode()


def make_jobs(n: int, *, tech=None) -> list[Job]:
    """n jobs across the open statuses, each with a technician and two tags, so every prefetch works."""
    tech = tech or TechnicianFactory()
    jobs = []
    for i in range(n):
        status = STATUSES[i % len(STATUSES)]
        job = JobFactory(
            status=status,
            priority=1 + i % 4,
            technicians=[tech],
            next_visit_at=timezone.now() + timedelta(hours=i + 1),
            hold_reason="parts" if status == JobStatus.ON_HOLD else "",
            scope=f"Furnace job {i}",
        )
        actions._set_tags(job, ["vip", f"zone-{i % 3}"])
        jobs.append(job)
    return jobs
