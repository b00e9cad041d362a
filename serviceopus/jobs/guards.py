"""Guards on job transitions, beyond the transition table.

`transition_blockers(job, to)` returns every reason the move is refused, explained. Apps built on jobs
plug their rules in with `register_guard` (the closeout app: completion blockers before work_complete,
open incidents before closed; the billing app: invoiced only when fully invoiced, closed only when
paid), so jobs imports none of them. job_transition calls this one function and nothing else; the
dispatch app asks it too before a visit finishes the job's work.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from serviceopus.dispatch.status import ACTIVE as ACTIVE_VISIT_STATUSES
from serviceopus.dispatch.status import VisitStatus

from .models import Job
from .status import JobStatus


@dataclass(frozen=True)
class Blocker:
    code: str
    message: str
    items: list[str] = field(default_factory=list)
    # Where to fix it: a workspace tab slug, and the section of the technician's visit screen.
    tab: str = ""
    anchor: str = ""
    waivable: bool = False
    # Met only by the office after the crew has left (time review, quality review): it holds the job's
    # work_complete but not the crew's "finished" on site, which they could never satisfy.
    office_only: bool = False

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "items": self.items, "tab": self.tab, "waivable": self.waivable, "office_only": self.office_only}


Guard = Callable[[Job, str], list[Blocker]]
_GUARDS: list[Guard] = []


def register_guard(guard: Guard) -> None:
    """Add a rule (called from an AppConfig.ready): guard(job, to) returns its blockers for that move."""
    if guard not in _GUARDS:
        _GUARDS.append(guard)


def transition_blockers(job: Job, to: str, *, hold_reason: str = "") -> list[Blocker]:
    blockers: list[Blocker] = []
    if to == JobStatus.ON_HOLD and not hold_reason:
        blockers.append(Blocker("hold_reason_required", "Say why the job is on hold (parts, customer, permit or other)."))
    if to == JobStatus.SCHEDULED and job.next_visit_at is None and not job.technicians.exists():
        blockers.append(Blocker("nothing_scheduled", "Set a visit time or assign a technician before scheduling."))
    if to in (JobStatus.CANCELLED, JobStatus.NEW) and job.status != JobStatus.CANCELLED:
        # A cancelled or unscheduled job must not leave crews driving to it: cancel its visits first
        # (the dispatch board or the Crew & schedule tab), each with its reason.
        open_visits = list(job.visits.filter(status__in=ACTIVE_VISIT_STATUSES).order_by("number").values_list("number", flat=True))
        if open_visits:
            label = "visit" if len(open_visits) == 1 else "visits"
            blockers.append(
                Blocker(
                    "open_visits", f"Cancel its open {label} first: " + ", ".join(f"visit {n}" for n in open_visits) + ".", [f"visit {n}" for n in open_visits]
                )
            )
    if to == JobStatus.CLOSED:
        # A drafted return visit is work still owed to the customer: schedule it, or cancel it with a reason.
        drafts = list(job.visits.filter(status=VisitStatus.UNSCHEDULED).order_by("number").values_list("number", flat=True))
        if drafts:
            blockers.append(
                Blocker(
                    "unscheduled_return_visit",
                    "Schedule or cancel the drafted return " + ("visit " if len(drafts) == 1 else "visits ") + ", ".join(str(n) for n in drafts) + " first.",
                    [f"visit {n}" for n in drafts],
                    tab="crew",
                )
            )
    for guard in _GUARDS:
        blockers.extend(guard(job, to))
    return blockers
