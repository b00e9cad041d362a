"""The technician's phone pages (My day, the visit screen and its status buttons) and the writes of the
job's Time tab (approve, correct, add an entry). Thin views: parse → access → action → response.

The phone's buttons are plain forms (they work without JavaScript and survive a flaky connection): a
successful tap redirects back to the page it came from; a refused one re-renders the page with the
visit as it is now and says why."""

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.closeout.phone import visit_closeout
from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.dispatch import actions as dispatch_actions
from serviceopus.dispatch.queries import access_visit_for_user, today
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import render_page, safe_next, wants_fragment
from serviceopus.jobs.views.workspace import workspace_context

from . import actions, queries
from .forms import CorrectForm, FinishForm, TimeEntryForm, TransitionForm, VersionForm, apply_domain_errors

V = VisitStatus


# ---- My day --------------------------------------------------------------------------------------


def _day(request: HttpRequest) -> date:
    """`?day=YYYY-MM-DD`; anything else is today (a stale bookmark should still open the page)."""
    raw = request.GET.get("day", "")
    try:
        return date.fromisoformat(raw) if raw else today()
    except ValueError:
        return today()


@login_required
@require_GET
def my_day(request: HttpRequest) -> HttpResponse:
    technician = queries.require_technician(request.user)
    day = _day(request)
    cards = queries.my_day(technician, day)
    context = {
        "technician": technician,
        "day": day,
        "is_today": day == today(),
        "cards": cards,
        "previous_day": date.fromordinal(day.toordinal() - 1),
        "next_day": date.fromordinal(day.toordinal() + 1),
        "nav_active": "my_day",
    }
    return render(request, "field/my_day.html", context)


# ---- the visit screen ----------------------------------------------------------------------------


def _visit_page(request: HttpRequest, visit_id: int, *, status: int = 200, **extra: Any) -> HttpResponse:
    screen = queries.visit_screen(request.user, visit_id)
    context = {
        "screen": screen,
        "visit": screen.visit,
        "job": screen.visit.job,
        "can_act": request.user.has_perm("dispatch.transition_visit"),
        "pause_reasons": queries.PAUSE_REASONS,
        "nav_active": "my_day",
        "closeout": visit_closeout(request, screen.visit),
        **extra,
    }
    return render_page(request, "field/visit.html", context, fragments={"visit-panel": "panel"}, status=status)


@login_required
@require_GET
def visit_detail(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _visit_page(request, visit_id)


def _after_tap(request: HttpRequest, visit_id: int) -> HttpResponse:
    if wants_fragment(request, "visit-panel"):
        return _visit_page(request, visit_id)
    return redirect(safe_next(request, reverse("field:visit", args=[visit_id])))


def _refused(request: HttpRequest, visit_id: int, exc: DomainError) -> HttpResponse:
    """Say why and show the visit as it is now. A My day card's refusal goes back to My day."""
    message = exc.message
    current = exc.details.get("current_status")
    if current and current in V.values and "already" not in message and exc.code != "blocked":
        message += f" It is {V(current).label.lower()} now."
    messages.error(request, message)
    if request.POST.get("next") and not wants_fragment(request, "visit-panel"):
        return redirect(safe_next(request, reverse("field:visit", args=[visit_id])))
    return _visit_page(request, visit_id, status=exc.http_status)


@login_required
@require_POST
def visit_transition(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = access_visit_for_user(request.user, visit_id)
    if not request.user.has_perm("dispatch.transition_visit"):
        raise PermissionDenied("You may not change visit status.")
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return _visit_page(request, visit.pk, status=422, pause_form=form)
    kwargs = form.action_kwargs()
    try:
        changed = dispatch_actions.visit_transition(actor=request.user, visit_id=visit.pk, **kwargs)
    except InvalidInput as exc:
        apply_domain_errors(form, exc)
        if kwargs["to"] != V.PAUSED:
            messages.error(request, exc.message)
        return _visit_page(request, visit.pk, status=422, pause_form=form)
    except DomainError as exc:
        return _refused(request, visit.pk, exc)
    messages.success(request, _done_message(changed))
    return _after_tap(request, visit.pk)


@login_required
@require_POST
def visit_finish(request: HttpRequest, visit_id: int) -> HttpResponse:
    """Finish & depart: one tap, one transaction (depart, then complete as finished)."""
    visit = access_visit_for_user(request.user, visit_id)
    if not request.user.has_perm("dispatch.transition_visit"):
        raise PermissionDenied("You may not change visit status.")
    form = FinishForm(request.POST)
    if not form.is_valid():
        messages.error(request, "This button came from an outdated page; reload and try again.")
        return _visit_page(request, visit.pk, status=422)
    lat, lng = TransitionForm(request.POST).position()
    try:
        changed = dispatch_actions.visit_finish_and_depart(actor=request.user, visit_id=visit.pk, expected=form.cleaned_data["expected"], lat=lat, lng=lng)
    except DomainError as exc:
        return _refused(request, visit.pk, exc)
    messages.success(request, _done_message(changed))
    return _after_tap(request, visit.pk)


def _done_message(visit: Any) -> str:
    if visit.status == V.COMPLETED:
        return f"Visit completed — {visit.get_outcome_display().lower()}."
    if visit.status == V.PAUSED:
        return f"Paused — {visit.pause_reason}."
    return f"{V(visit.status).label}."


# ---- the Time tab's writes -----------------------------------------------------------------------


def _time_tab(request: HttpRequest, job: Job, *, status: int = 200, **extra: Any) -> HttpResponse:
    """The Time tab after a write: its own panel for HTMX, else the whole workspace."""
    context = workspace_context(request, job, "time", **extra)
    if wants_fragment(request, "time-panel"):
        return render(request, "field/time_tab.html", {**context, "is_fragment": True}, status=status)
    return render_page(request, "jobs/workspace.html", context, fragments={"tab-area": "tab_area"}, status=status)


def _saved(request: HttpRequest, job: Job, message: str) -> HttpResponse:
    messages.success(request, message)
    if wants_fragment(request, "time-panel"):
        return _time_tab(request, job)
    return redirect(reverse("jobs:tab", args=[job.pk, "time"]) + "#time-panel")


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied("You may not change time entries.")


@login_required
@require_POST
def time_add(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    _require(request, "field.add_time")
    form = TimeEntryForm(request.POST, technicians=queries.time_technicians(request.user), own_only=not request.user.has_perm("field.review_time"))
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = actions.time_entry_add(
                actor=request.user,
                job_id=job.pk,
                technician_id=data["technician"],
                kind=data["kind"],
                start=data["start"],
                end=data["end"],
                reason=data["reason"],
            )
        except InvalidInput as exc:
            apply_domain_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return _saved(request, job, f"Added {entry.minutes} min of {entry.get_kind_display().lower()} for {entry.technician.name}.")
    return _time_tab(request, job, status=422, add_form=form)


@login_required
@require_POST
def time_approve(request: HttpRequest, job_id: int, entry_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    entry = queries.time_entry_of_job(job, entry_id)
    _require(request, "field.review_time")
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "This button came from an outdated page; reload and try again.")
        return _time_tab(request, job, status=422)
    try:
        actions.time_entry_approve(actor=request.user, entry_id=entry.pk, version=form.cleaned_data["version"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return _time_tab(request, job, status=exc.http_status)
    return _saved(request, job, f"Approved {entry.minutes} min of {entry.get_kind_display().lower()} for {entry.technician.name}.")


@login_required
@require_http_methods(["GET", "POST"])
def time_correct(request: HttpRequest, job_id: int, entry_id: int) -> HttpResponse:
    """GET: the tab with this entry's correction form open. POST: save the correction."""
    job = access_job_for_user(request.user, job_id)
    entry = queries.time_entry_of_job(job, entry_id)
    _require(request, "field.review_time")
    if request.method == "GET":
        form = CorrectForm(initial={"version": entry.version, "start": entry.start, "end": entry.end})
        return _time_tab(request, job, correcting_id=entry.pk, correct_form=form)
    form = CorrectForm(request.POST)
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            correction = actions.time_entry_correct(
                actor=request.user, entry_id=entry.pk, version=data["version"], start=data["start"], end=data["end"], reason=data["reason"]
            )
        except InvalidInput as exc:
            apply_domain_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.http_status
        else:
            return _saved(request, job, f"Corrected: {entry.minutes} → {correction.minutes} min for {entry.technician.name}.")
    return _time_tab(request, job, status=status, correcting_id=entry.pk, correct_form=form)
