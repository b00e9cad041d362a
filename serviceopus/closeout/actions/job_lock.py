"""The job a closeout write touches: locked (and refused when closed or cancelled), the visit it names
checked to be one of its own, the capability required, and the timeline event written."""

from django.db import connection

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.models import Visit
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus

# Evidence can still be added after the work is complete (a late photo, a signature for the invoice),
# but not to a job that is closed or cancelled.
LOCKED_STATUSES = (JobStatus.CLOSED, JobStatus.CANCELLED)


def lock_job(job_id: int) -> Job:
    """The job row, locked until commit on PostgreSQL (SQLite's IMMEDIATE transaction already holds
    the write lock). Call inside transaction.atomic()."""
    qs = Job.objects.select_for_update() if connection.vendor == "postgresql" else Job.objects
    return qs.get(pk=job_id)


def open_job(job_id: int) -> Job:
    job = lock_job(job_id)
    if job.status in LOCKED_STATUSES:
        raise ConflictError("job_locked", f"Job {job.number} is {JobStatus(job.status).label.lower()}; its closeout can no longer change.")
    return job


def closeout_event(job: Job, actor: User | None, message: str, *, data: dict | None = None) -> JobEvent:
    return JobEvent.objects.create(job=job, actor=actor, kind=JobEvent.Kind.CLOSEOUT, message=message[:500], data=data or {})


# Called as hook(actor=, job=, code=, message=) inside the transaction of a write that gives the job a
# new completion blocker (an incident reported or reopened, a requirement added to the job): the
# automation app's "completion blocker opened" event.
BLOCKER_OPENED_HOOKS: list = []


def blocker_opened(*, actor: User | None, job: Job, code: str, message: str) -> None:
    for hook in BLOCKER_OPENED_HOOKS:
        hook(actor=actor, job=job, code=code, message=message)


def require(actor: User, perm: str, message: str) -> None:
    if not actor.has_perm(perm):
        raise DomainError("forbidden", message)


def visit_of_job(job: Job, visit_id: int | None, message: str) -> Visit | None:
    """The visit evidence is recorded on, which must be one of this job's (`message` says what was
    refused: "The signature was not saved.")."""
    if visit_id is None:
        return None
    visit = Visit.objects.filter(pk=visit_id, job=job).first()
    if visit is None:
        raise InvalidInput(message, {"visit": "That visit is not one of this job's."})
    return visit
