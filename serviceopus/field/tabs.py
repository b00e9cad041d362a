"""The job workspace's "Time" tab (registered in apps.py): labour review per crew member."""

from typing import Any

from django.http import HttpRequest

from serviceopus.jobs.models import Job

from . import queries
from .forms import TimeEntryForm


def time_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    user = request.user
    can_review = user.has_perm("field.review_time")
    technicians = queries.time_technicians(user) if user.has_perm("field.add_time") else []
    return {
        "tab_template": "field/time_tab.html",
        "review": queries.time_review(job),
        "can_review": can_review,
        "can_add_time": bool(technicians),
        "add_form": extra.get("add_form") or TimeEntryForm(technicians=technicians, own_only=not can_review),
        "correcting_id": extra.get("correcting_id"),
        "correct_form": extra.get("correct_form"),
    }
