"""The job workspace's Dependencies tab (registered in JobsConfig.ready) and its two writes.

"Waits for" lists the jobs this one depends on, "Holds up" the jobs that depend on it; each side adds a
job by its number (or one of the customer's other open jobs in one click) and removes a link after a
confirmation. Anyone who may open the job reads the tab; writes need `jobs.edit_job`: the job is
fetched through the workspace's access query first (404 for a technician not on it), then the
capability is checked (403). Writes answer with the tab when HTMX swaps #tab-area (409 or 422 for a
refusal), else redirect back to the tab (a refusal shown as a message)."""

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from serviceopus.core.errors import DomainError

from .. import dependencies, queries
from ..actions import job_number
from ..models import Job
from ..status import OPEN_STATUSES
from .conventions import require_perm, wants_fragment
from .workspace import render_workspace

TAB = "dependencies"
CANDIDATES = 8


class DependencyAddForm(forms.Form):
    WAITS_FOR, HOLDS_UP = "waits_for", "holds_up"

    number = forms.CharField(max_length=20, required=False, label="Job number")
    # One of the suggested jobs, picked with one click (its button sends the number here).
    pick = forms.CharField(max_length=20, required=False)
    direction = forms.ChoiceField(choices=[(WAITS_FOR, "This job waits for it"), (HOLDS_UP, "It waits for this job")])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        raw = (data.get("pick") or data.get("number") or "").strip().upper()
        if not raw:
            self.add_error("number", "Enter the number of the other job.")
            return data
        if "\x00" in raw:
            self.add_error("number", "Enter a job number such as J-000123.")
            return data
        # "123" and "J-123" mean J-000123: people read numbers off paper without the zeros.
        digits = re.fullmatch(r"(?:J-?)?0*(\d{1,9})", raw)
        data["number"] = job_number(int(digits.group(1))) if digits else raw
        return data


def _other_job(request: HttpRequest, number: str) -> Job | None:
    """The job with this number if this user may see it (one query)."""
    return queries.jobs_visible_to(request.user).filter(number=number).first()


def _candidates(job: Job, linked: set[int]) -> list[Job]:
    """The customer's other open jobs (the usual prerequisite: rough-in before trim at the same site)."""
    qs = Job.objects.filter(customer_id=job.customer_id, status__in=OPEN_STATUSES).exclude(pk=job.pk).order_by("-id")
    return [j for j in qs.select_related("job_type")[: CANDIDATES + len(linked)] if j.pk not in linked][:CANDIDATES]


def dependencies_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    data = dependencies.job_dependencies(job)
    can_edit = request.user.has_perm(dependencies.PERM)
    linked = {row.other.pk for row in data["waits_for"]} | {row.other.pk for row in data["holds_up"]}
    form = extra.get("dependency_form")
    return {
        "tab_template": "jobs/tabs/dependencies.html",
        **data,
        "can_edit_dependencies": can_edit,
        "accepts_prerequisites": job.status not in dependencies.NO_NEW_PREREQUISITES,
        "accepts_dependents": job.status != "cancelled",
        "blocks_scheduling": job.job_type.dependencies_block_scheduling,
        "dependency_form": form,
        "form_direction": form.data.get("direction") if form is not None else "",
        "candidates": _candidates(job, linked) if can_edit else [],
    }


def _answer(request: HttpRequest, job: Job, *, status: int = 200, **extra: Any) -> HttpResponse:
    if wants_fragment(request, "tab-area") or (status == 422 and extra):
        return render_workspace(request, queries.access_job_for_user(request.user, job.pk), TAB, status=status, **extra)
    return redirect(reverse("jobs:tab", args=[job.pk, TAB]))


@login_required
@require_POST
def dependency_add(request: HttpRequest, job_id: int) -> HttpResponse:
    job = queries.access_job_for_user(request.user, job_id)
    require_perm(request, dependencies.PERM)
    form = DependencyAddForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("direction", []):  # a hand-made request: no field shows it
            messages.error(request, f"Not linked: {error}")
        return _answer(request, job, status=422, dependency_form=form)
    other = _other_job(request, form.cleaned_data["number"])
    if other is None:
        form.add_error("number", f"There is no job {form.cleaned_data['number']}.")
        return _answer(request, job, status=422, dependency_form=form)
    waits_for = form.cleaned_data["direction"] == DependencyAddForm.WAITS_FOR
    dependent, prerequisite = (job, other) if waits_for else (other, job)
    try:
        dependencies.dependency_add(actor=request.user, job_id=dependent.pk, depends_on_id=prerequisite.pk)
    except DomainError as refused:
        messages.error(request, f"Not linked: {refused.message}")
        return _answer(request, job, status=refused.http_status, dependency_form=form)
    messages.success(request, f"{dependent.number} now waits for {prerequisite.number}.")
    return _answer(request, job)


@login_required
@require_POST
def dependency_remove(request: HttpRequest, job_id: int, dependency_id: int) -> HttpResponse:
    job = queries.access_job_for_user(request.user, job_id)
    require_perm(request, dependencies.PERM)
    try:
        dependencies.dependency_remove(actor=request.user, dependency_id=dependency_id, job_id=job.pk)
    except DomainError as refused:
        messages.error(request, refused.message)
        return _answer(request, job, status=404 if refused.code == "not_found" else refused.http_status)
    messages.success(request, "Dependency removed.")
    return _answer(request, job)
