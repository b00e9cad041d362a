"""Every write to visits and crews: scheduling, rescheduling and reassigning (with the availability
checks and a manager's override), and the visit status machine. Each function is atomic; a refused
call raises a DomainError having changed nothing.

Locking: a visit write locks the visit row (PostgreSQL) or holds SQLite's write lock (IMMEDIATE
transactions), then changes it with a conditional UPDATE on the status or version it read, so two
crew members tapping the same button, or two dispatchers dragging the same block, cannot both win.
The job follows through jobs.actions.job_transition, its own guarded function, in the same transaction.
"""

from .bookkeeping import sync_job_from_visits
from .scheduling import MAX_DAYS, SCHEDULE_GUARDS, UNSET, VISIT_SCHEDULE_HOOKS, SchedulingConflict, Slot, visit_schedule, visit_update
from .transitions import (
    RETURN_VISIT_HOOKS,
    VISIT_START_GUARDS,
    VISIT_TRANSITION_HOOKS,
    VisitRefused,
    draft_return_visit,
    visit_finish_and_depart,
    visit_transition,
)

__all__ = [
    "MAX_DAYS",
    "RETURN_VISIT_HOOKS",
    "SCHEDULE_GUARDS",
    "UNSET",
    "VISIT_SCHEDULE_HOOKS",
    "VISIT_START_GUARDS",
    "VISIT_TRANSITION_HOOKS",
    "SchedulingConflict",
    "Slot",
    "VisitRefused",
    "draft_return_visit",
    "sync_job_from_visits",
    "visit_finish_and_depart",
    "visit_schedule",
    "visit_transition",
    "visit_update",
]
