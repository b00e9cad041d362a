"""The job workspace's "Crew & schedule" tab (registered in apps.py): the job's visits with their
timelines, and for the office the forms to schedule, edit and cancel visits and to pick a crew from the
suggestions. The views in views/schedule.py pass their bound forms, refusals and suggestions as extras.

Queries: the visits with their crews (four), all their timelines (one), and for the office the
technician choices and the dispatch settings (two) — the same count whatever the number of visits."""

from typing import Any

from django.http import HttpRequest

from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus

from . import queries
from .forms import CancelForm, VisitForm
from .models import DispatchSettings
from .status import ACTIVE, FINAL, VisitStatus

# A job in these states takes no new visits (actions.visit_schedule refuses them too).
CLOSED_JOB = (JobStatus.WORK_COMPLETE, JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED)
# Visits whose time may still change; a visit under way can only change its crew and notes.
MOVABLE = (VisitStatus.UNSCHEDULED, VisitStatus.SCHEDULED)
PROBLEM_LABELS = {"double_booking": "Double booking", "outside_shift": "Outside shift", "time_off": "Time off", "missing_skills": "Missing skills"}


def crew_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    visits = queries.job_visits(job)
    timelines = queries.visit_timelines(visits)
    for visit in visits:
        visit.timeline = timelines[visit.pk]  # type: ignore[attr-defined]
        visit.movable = visit.status in MOVABLE  # type: ignore[attr-defined]
        visit.open = visit.status not in FINAL  # type: ignore[attr-defined]
    can_schedule = request.user.has_perm("dispatch.schedule")
    context: dict[str, Any] = {
        "tab_template": "dispatch/job_tab.html",
        "visits": visits,
        "can_schedule": can_schedule,
        "can_add_visit": can_schedule and job.status not in CLOSED_JOB,
        "can_override": request.user.has_perm("dispatch.override_checks"),
        "active_statuses": ACTIVE,
        "editing_id": extra.get("editing_id"),
        "cancelling_id": extra.get("cancelling_id"),
        "cancel_form": extra.get("cancel_form") or CancelForm(),
        "suggestions": extra.get("suggestions"),
        "suggest_for": extra.get("suggest_for"),
        "conflict": extra.get("conflict"),
        "conflict_problems": [
            {**p, "label": PROBLEM_LABELS.get(p["code"], p["code"])} for p in (extra["conflict"].details.get("problems", []) if extra.get("conflict") else [])
        ],
        "conflict_for": extra.get("conflict_for"),
        "stale": extra.get("stale"),
    }
    if can_schedule:
        technicians = extra.get("technicians") or queries.active_technicians()
        context["window_minutes"] = DispatchSettings.current().arrival_window_minutes
        context["schedule_form"] = extra.get("schedule_form") or VisitForm(
            technicians=technicians, for_new=True, initial=VisitForm.initial_for_new(job.estimated_duration_minutes)
        )
        context["edit_form"] = extra.get("edit_form")
    return context
