"""The job lifecycle as data: the states, and which state may follow which.

The board, the API, the list's bulk control and the tests all read ALLOWED; actions.job_transition is
the one function that enforces it (plus the guards in guards.py).
"""

from django.db import models


class JobStatus(models.TextChoices):
    NEW = "new", "New"
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    ON_HOLD = "on_hold", "On hold"
    WORK_COMPLETE = "work_complete", "Work complete"
    INVOICED = "invoiced", "Invoiced"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class HoldReason(models.TextChoices):
    PARTS = "parts", "Waiting for parts"
    CUSTOMER = "customer", "Waiting for customer"
    PERMIT = "permit", "Waiting for permit"
    OTHER = "other", "Other"


S = JobStatus
ALLOWED: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.SCHEDULED, S.ON_HOLD, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.IN_PROGRESS, S.ON_HOLD, S.CANCELLED, S.NEW}),
    S.IN_PROGRESS: frozenset({S.WORK_COMPLETE, S.ON_HOLD, S.SCHEDULED}),
    # Leaving hold goes back to where work stands; job_transition checks nothing else about it.
    S.ON_HOLD: frozenset({S.NEW, S.SCHEDULED, S.IN_PROGRESS, S.CANCELLED}),
    S.WORK_COMPLETE: frozenset({S.INVOICED, S.IN_PROGRESS, S.CLOSED}),
    S.INVOICED: frozenset({S.CLOSED, S.WORK_COMPLETE}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset({S.NEW}),
}

# Statuses in which a job still needs attention (the board shows them; the list's "open" filter).
OPEN_STATUSES = (S.NEW, S.SCHEDULED, S.IN_PROGRESS, S.ON_HOLD, S.WORK_COMPLETE)
# A technician may move their own jobs only between field states; office roles may do the rest.
TECHNICIAN_TARGETS = frozenset({S.IN_PROGRESS, S.ON_HOLD, S.WORK_COMPLETE})
# Board columns, in order.
BOARD_COLUMNS = (S.NEW, S.SCHEDULED, S.IN_PROGRESS, S.ON_HOLD, S.WORK_COMPLETE, S.INVOICED, S.CLOSED, S.CANCELLED)


def allowed_targets(status: str) -> frozenset[str]:
    return ALLOWED[status]
