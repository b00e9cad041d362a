"""Checklist writes: starting a run, answering items, adding a checklist to one job, carrying
unfinished runs over to a return visit."""

from serviceopus.accounts.models import User
from serviceopus.dispatch.models import Visit

from ..models import ChecklistRun
from .common import closeout_event


def carry_over_to_return_visit(*, actor: User, visit: Visit, return_visit: Visit) -> None:
    """A visit ended with "return needed": its unfinished checklist runs move to the return visit, so the
    crew that comes back sees what is left (dispatch calls this in the same transaction)."""
    runs = list(ChecklistRun.objects.filter(job_id=visit.job_id, visit=visit, status=ChecklistRun.Status.OPEN).order_by("id"))
    if not runs:
        return
    ChecklistRun.objects.filter(pk__in=[r.pk for r in runs]).update(visit=return_visit, carried_from=visit)
    names = ", ".join(r.name for r in runs)
    closeout_event(visit.job, actor, f"Unfinished checklists carried over to visit {return_visit.number}: {names}", data={"visit": return_visit.pk})
