"""Scheduling from the job workspace (the Crew & schedule tab's forms) and the week views.

The tab's forms post here; each view answers with the tab panel (an HTMX swap of #crew-panel) or the
whole workspace page, the way the line items tab does. A write that succeeds changes the workspace
header too (job status, next visit, technicians), so it ends in a redirect to the tab: a plain 302, or
HX-Redirect for HTMX. Refusals re-render the form with the user's input, 4xx, and change nothing."""

from datetime import date, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.crew import actions as crew_actions
from serviceopus.crew.models import Technician
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import render_page, wants_fragment
from serviceopus.jobs.views.workspace import workspace_context

from .. import actions, queries
from ..forms import CancelForm, TimeOffForm, VisitForm
from ..models import Visit
from ..status import VisitStatus
from ..suggestions import suggest_crew
from ..tabs import MOVABLE

PANEL = "crew-panel"


def _require_schedule(request: HttpRequest) -> None:
    if not request.user.has_perm("dispatch.schedule"):
        raise PermissionDenied("Only the office schedules visits.")


def _visit_of_job(job: Job, visit_id: int) -> Visit:
    visit = Visit.objects.filter(job=job, pk=visit_id).prefetch_related("crew").first()
    if visit is None:
        raise Http404("No such visit")
    return visit


def _tab(request: HttpRequest, job: Job, *, status: int = 200, **extra: Any) -> HttpResponse:
    context = workspace_context(request, job, "crew", **extra)
    if wants_fragment(request, PANEL):
        response = render(request, "dispatch/job_tab.html", {**context, "is_fragment": True}, status=status)
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    return render_page(request, "jobs/workspace.html", context, fragments={"tab-area": "tab_area"}, status=status)


def _done(request: HttpRequest, job: Job, message: str) -> HttpResponse:
    messages.success(request, message)
    url = reverse("jobs:tab", args=[job.pk, "crew"])
    if getattr(request, "htmx", False):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _conflict(exc: DomainError, target: object) -> dict[str, Any]:
    return {"conflict": exc, "conflict_for": target}


def _as_data(initial: dict[str, Any]) -> QueryDict:
    """A form's initial values as submitted data (the suggestions start from these when nothing is
    typed yet: a visit's own slot, or the new-visit defaults)."""
    data = QueryDict(mutable=True)
    for name, value in initial.items():
        if name == "helpers":
            data.setlist(name, [str(v) for v in value])
        elif isinstance(value, time):
            data[name] = value.strftime("%H:%M")
        elif value is not None:
            data[name] = str(value)
    return data


# ---- the job's visits ---------------------------------------------------------------------------------


@login_required
@require_POST
def visit_schedule(request: HttpRequest, job_id: int) -> HttpResponse:
    """Add a visit (or one per day) to the job; `assign` (a suggestion's button) sets the lead."""
    job = access_job_for_user(request.user, job_id)
    _require_schedule(request)
    technicians = queries.active_technicians()
    form = VisitForm(request.POST, technicians=technicians, for_new=True)
    status, extra = 422, {}
    if form.is_valid():
        try:
            created = actions.visit_schedule(actor=request.user, job_id=job.pk, **form.schedule_kwargs())
        except InvalidInput as exc:
            form.apply(exc)
        except actions.SchedulingConflict as exc:
            status, extra = exc.http_status, _conflict(exc, "new")
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.http_status
        else:
            numbers = ", ".join(str(v.number) for v in created)
            return _done(request, job, f"Visit {numbers} scheduled." if created[0].scheduled_start else f"Visit {numbers} added, not scheduled yet.")
    return _tab(request, job, status=status, schedule_form=form, technicians=technicians, **extra)


@login_required
@require_http_methods(["GET", "POST"])
def visit_edit(request: HttpRequest, job_id: int, visit_id: int) -> HttpResponse:
    """GET: the tab with this visit as a form. POST: reschedule / reassign / edit notes, carrying the
    version the editor saw; a stale edit shows the visit as it is now and changes nothing."""
    job = access_job_for_user(request.user, job_id)
    _require_schedule(request)
    visit = _visit_of_job(job, visit_id)
    technicians = queries.active_technicians()
    if request.method == "GET":
        form = VisitForm(technicians=technicians, for_new=False, initial=VisitForm.initial_for_visit(visit))
        return _tab(request, job, editing_id=visit.pk, edit_form=form, technicians=technicians)
    form = VisitForm(request.POST, technicians=technicians, for_new=False)
    status, extra = 422, {}
    if form.is_valid():
        kwargs = form.schedule_kwargs()
        if visit.status not in MOVABLE:
            # The crew has set off: only the crew and the notes may change.
            kwargs = {k: kwargs[k] for k in ("lead_id", "helper_ids", "crew_notes", "locked", "override_reason")}
        try:
            actions.visit_update(actor=request.user, visit_id=visit.pk, version=form.cleaned_data.get("version") or 0, **kwargs)
        except InvalidInput as exc:
            form.apply(exc)
        except actions.SchedulingConflict as exc:
            status, extra = exc.http_status, _conflict(exc, visit.pk)
        except ConflictError as exc:
            status = exc.http_status
            if exc.code == "stale":
                # Start again from the visit as it is now; the message says what happened.
                visit = _visit_of_job(job, visit.pk)
                form = VisitForm(technicians=technicians, for_new=False, initial=VisitForm.initial_for_visit(visit))
                extra = {"stale": exc}
            else:
                form.add_error(None, exc.message)
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.http_status
        else:
            return _done(request, job, f"Visit {visit.number} updated.")
    return _tab(request, job, status=status, editing_id=visit.pk, edit_form=form, technicians=technicians, **extra)


@login_required
@require_POST
def visit_cancel(request: HttpRequest, job_id: int, visit_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    _require_schedule(request)
    visit = _visit_of_job(job, visit_id)
    form = CancelForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            actions.visit_transition(
                actor=request.user, visit_id=visit.pk, to=VisitStatus.CANCELLED, expected=form.cleaned_data["expected"], reason=form.cleaned_data["reason"]
            )
        except InvalidInput as exc:
            for name, message in exc.fields.items():
                form.add_error(name if name in form.fields else None, message)
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.http_status
        else:
            return _done(request, job, f"Visit {visit.number} cancelled.")
    return _tab(request, job, status=status, cancelling_id=visit.pk, cancel_form=form)


@login_required
@require_GET
def crew_suggest(request: HttpRequest, job_id: int) -> HttpResponse:
    """The ranked technicians for the slot in the schedule form (or in a visit's form, `visit=<id>`);
    each suggestion's Assign button submits that form with it as the lead."""
    job = access_job_for_user(request.user, job_id)
    _require_schedule(request)
    raw_visit = request.GET.get("visit", "")
    visit = _visit_of_job(job, int(raw_visit)) if raw_visit.isdigit() else None
    technicians = queries.active_technicians()
    # From a "Suggest crew" link nothing is typed yet: start from the visit itself, or the defaults.
    if "duration_minutes" in request.GET:
        data = request.GET
    elif visit is not None:
        data = _as_data(VisitForm.initial_for_visit(visit))
    else:
        data = _as_data(VisitForm.initial_for_new(job.estimated_duration_minutes))
    form = VisitForm(data, technicians=technicians, for_new=visit is None)
    suggestions = None
    status = 200
    if form.has_slot_for_suggestions():
        start = form.start()
        assert start is not None
        suggestions = suggest_crew(job, start, form.cleaned_data["duration_minutes"], exclude_visit_id=visit.pk if visit else None)
    else:
        form.suggestion_errors()
        status = 422
    extra: dict[str, Any] = {"suggestions": suggestions, "suggest_for": visit.pk if visit else "new", "technicians": technicians}
    if visit is not None:
        extra.update(editing_id=visit.pk, edit_form=form)
    else:
        extra["schedule_form"] = form
    return _tab(request, job, status=status, **extra)


# ---- week views ---------------------------------------------------------------------------------------


def _day(request: HttpRequest) -> date:
    parsed = None
    try:
        parsed = parse_date(request.GET.get("date", ""))
    except ValueError:
        parsed = None
    return parsed or timezone.localdate()


def _week_nav(day: date, url: str) -> dict[str, Any]:
    monday = day - timedelta(days=day.weekday())
    return {
        "prev_url": f"{url}?date={monday - timedelta(days=7):%Y-%m-%d}",
        "next_url": f"{url}?date={monday + timedelta(days=7):%Y-%m-%d}",
        "today_url": url,
        "today": timezone.localdate(),
        "monday": monday,
        "sunday": monday + timedelta(days=6),
    }


@login_required
@require_GET
def week(request: HttpRequest) -> HttpResponse:
    """The team's week: a row per technician, a column per day. A technician is sent to their own week."""
    day = _day(request)
    if not request.user.has_perm("dispatch.view_board"):
        technician = queries.technician_for(request.user)
        if technician is None:
            raise Http404("No schedule for this user")
        return redirect(f"{reverse('dispatch:technician_week', args=[technician.pk])}?date={day:%Y-%m-%d}")
    days, rows = queries.week(day)
    table = [
        {
            "technician": row.technician,
            "cells": [{"day": d, "visits": row.days[d], "minutes": row.minutes[d]} for d in days],
            "minutes": sum(row.minutes.values()),
        }
        for row in rows
    ]
    day_totals = [sum(row.minutes[d] for row in rows) for d in days]
    context = {
        "days": days,
        "rows": table,
        "day_totals": day_totals,
        "visit_count": len({v.pk for row in rows for visits in row.days.values() for v in visits}),
        "nav_active": "schedule",
        **_week_nav(day, reverse("dispatch:week")),
    }
    return render(request, "dispatch/week.html", context)


@login_required
@require_GET
def technician_week(request: HttpRequest, technician_id: int) -> HttpResponse:
    """One technician's week: seven columns, their visits in time order; their time off from this
    week on, which the office records here."""
    return _technician_week_page(request, queries.access_technician_for_user(request.user, technician_id))


def _technician_week_page(request: HttpRequest, technician: Technician, *, time_off_form: TimeOffForm | None = None, status: int = 200) -> HttpResponse:
    day = _day(request)
    days, [row] = queries.week(day, technician_ids=[technician.pk])
    context = {
        "time_off": queries.time_off_from(technician, days[0]),
        "can_edit_time_off": request.user.has_perm("crew.edit_time_off"),
        "time_off_form": time_off_form or TimeOffForm(),
        "technician": technician,
        "columns": [{"day": d, "visits": row.days[d], "minutes": row.minutes[d]} for d in days],
        "minutes": sum(row.minutes.values()),
        "is_self": technician.user_id == request.user.pk,
        "nav_active": "schedule",
        **_week_nav(day, reverse("dispatch:technician_week", args=[technician.pk])),
    }
    return render(request, "dispatch/week_technician.html", context, status=status)


@login_required
@require_POST
def time_off_add(request: HttpRequest, technician_id: int) -> HttpResponse:
    if not request.user.has_perm("crew.edit_time_off"):
        raise PermissionDenied("Only the office records time off.")
    technician = queries.access_technician_for_user(request.user, technician_id)
    form = TimeOffForm(request.POST)
    if form.is_valid():
        try:
            period = crew_actions.time_off_add(actor=request.user, technician_id=technician.pk, **form.cleaned_data)
        except InvalidInput as exc:
            for name, message in exc.fields.items():
                form.add_error(name if name in form.fields else None, message)
        else:
            affected = queries.visits_during(technician, period.start, period.end)
            messages.success(request, f"Time off recorded for {technician.name}.")
            if affected:
                numbers = ", ".join(f"{v.job.number} ({timezone.localtime(v.scheduled_start):%a %H:%M})" for v in affected)
                messages.warning(request, f"Already booked in that time — reassign on the dispatch board: {numbers}.")
            return redirect(f"{reverse('dispatch:technician_week', args=[technician.pk])}?date={timezone.localtime(period.start):%Y-%m-%d}")
    return _technician_week_page(request, technician, time_off_form=form, status=422)


@login_required
@require_POST
def time_off_remove(request: HttpRequest, technician_id: int, time_off_id: int) -> HttpResponse:
    technician = queries.access_technician_for_user(request.user, technician_id)
    if not technician.time_off.filter(pk=time_off_id).exists():
        raise Http404("No such time off")
    try:
        crew_actions.time_off_remove(actor=request.user, time_off_id=time_off_id)
    except DomainError as exc:
        if exc.code == "forbidden":
            raise PermissionDenied(exc.message) from exc
        messages.info(request, exc.message)
    else:
        messages.success(request, f"Time off removed for {technician.name}.")
    return redirect("dispatch:technician_week", technician.pk)
