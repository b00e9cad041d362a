"""The closeout panel under the job header (each requirement met, open or waived, with a link to fix
it), a manager's waivers, and the crew's "no materials used". Writes redirect back to `next` (the
workspace or the visit screen) with a message; refusals say why and change nothing."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from serviceopus.core.errors import DomainError
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import safe_next

from .. import blockers
from ..actions import waivers


def header_panel(request: HttpRequest, job: Job) -> dict[str, Any]:
    states = blockers.closeout_state(job)
    if not states:
        return {}
    return {
        "template": "closeout/_header_panel.html",
        "requirements": states,
        "open_count": sum(1 for s in states if s.state == "open"),
        "can_waive": request.user.has_perm("closeout.waive_blocker"),
    }


def _back(request: HttpRequest, job: Job) -> HttpResponse:
    return redirect(safe_next(request, reverse("jobs:detail", args=[job.pk])))


@login_required
@require_POST
def waive(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    try:
        waiver = waivers.blocker_waive(actor=request.user, job_id=job.pk, code=request.POST.get("code", ""), reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Waived “{waiver.code}”: {waiver.reason}")
    return _back(request, job)


@login_required
@require_POST
def unwaive(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    try:
        waivers.blocker_unwaive(actor=request.user, job_id=job.pk, code=request.POST.get("code", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Waiver withdrawn.")
    return _back(request, job)


@login_required
@require_POST
def no_materials(request: HttpRequest, job_id: int) -> HttpResponse:
    """Confirm that no materials were used (or, with undo=1, take that back)."""
    job = access_job_for_user(request.user, job_id)
    try:
        if request.POST.get("undo"):
            waivers.materials_confirm_undo(actor=request.user, job_id=job.pk)
            messages.success(request, "“No materials used” withdrawn.")
        else:
            waivers.materials_confirm_none(actor=request.user, job_id=job.pk)
            messages.success(request, "Recorded: no materials used.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(request, job)


urlpatterns = [
    path("jobs/<int:job_id>/closeout/waive/", waive, name="waive"),
    path("jobs/<int:job_id>/closeout/unwaive/", unwaive, name="unwaive"),
    path("jobs/<int:job_id>/closeout/no-materials/", no_materials, name="no_materials"),
]
