"""The follow-up tasks' guard on the job lifecycle (registered in hooks.install): a job is not closed
while one of its follow-up tasks is open — work still owed to the customer or the office.

A payment that pays the job's last invoice asks to close the job too (billing's jobs_after_paid); this
guard refuses that close like any other, the payment stands and the job's timeline says what holds it."""

from django.db.models import F

from serviceopus.jobs.guards import Blocker
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus

from .models import FollowUpTask

# The blocker names at most this many tasks; the Tasks tab lists them all.
LISTED = 10


def follow_up_guard(job: Job, to: str) -> list[Blocker]:
    if to != JobStatus.CLOSED:
        return []
    titles = list(
        FollowUpTask.objects.filter(job_id=job.pk, done_at__isnull=True).order_by(F("due_date").asc(nulls_last=True), "id").values_list("title", flat=True)
    )
    if not titles:
        return []
    count = f"{len(titles)} follow-up task is" if len(titles) == 1 else f"{len(titles)} follow-up tasks are"
    shown = "; ".join(titles[:LISTED]) + (f"; and {len(titles) - LISTED} more" if len(titles) > LISTED else "")
    return [Blocker("open_follow_up_tasks", f"{count} still open: {shown}. Mark them done first.", titles[:LISTED], tab="tasks")]
