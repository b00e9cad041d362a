"""Plan day: the button on the dispatch board starts a run (dispatch/planning.py), the run page polls
its progress every second and, once it is done, shows the proposal beside the day as booked, with
Accept all / Accept one technician (dispatch/planner/apply.py) and what accepting did.

Office users who may schedule (dispatch.schedule) start, cancel and accept; everyone who sees the board
may look at a run. Technicians get 403."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput

from .. import planning
from ..models import PlanningRun
from ..planner import apply
from ..planner.explain import explain
from ..planner.serial import plan_from_dict, problem_from_dict
from ..planner.travel import cached_matrix, provider_from_settings
from ..planning_report import report

POLL_SECONDS = 1


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied("You may not plan the day.")


def _run(request: HttpRequest, run_id: int) -> PlanningRun:
    _require(request, "dispatch.view_board")
    return get_object_or_404(PlanningRun.objects.select_related("created_by"), pk=run_id)


@login_required
@require_POST
def plan_start(request: HttpRequest) -> HttpResponse:
    _require(request, "dispatch.schedule")
    try:
        day = date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        messages.error(request, "Choose a day to plan (YYYY-MM-DD).")
        return redirect("dispatch:board")
    scope = request.POST.get("scope", "all")
    mode = PlanningRun.Mode.REST_OF_DAY if scope == "rest_of_day" else PlanningRun.Mode.DAY
    try:
        run = planning.run_start(actor=request.user, day=day, include_assigned=scope != "unassigned", mode=mode)
    except ConflictError as busy:
        messages.info(request, busy.message)
        return redirect("dispatch:plan_run", run_id=busy.details["run_id"])
    except InvalidInput as refused:
        messages.error(request, refused.message)
        return redirect(f"{reverse('dispatch:board')}?day={day.isoformat()}")
    return redirect("dispatch:plan_run", run_id=run.pk)


@login_required
@require_GET
def plan_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    context = {
        "run": run,
        "can_schedule": request.user.has_perm("dispatch.schedule"),
        "poll_ms": POLL_SECONDS * 1000,
        "nav_active": "dispatch",
        "report": report(run.result, run.applied) if run.result else None,
        "accepted": apply.reports_of(run),
    }
    return render(request, "dispatch/planning/run.html", context)


@login_required
@require_GET
def plan_explain(request: HttpRequest, run_id: int, visit_id: int) -> HttpResponse:
    """Why the proposal put a visit where it is, or left it out (planner/explain.py), worked out from the
    run's stored problem and plan with the day's cached travel times. 404 when the run has no plan or
    the visit is not in it."""
    run = _run(request, run_id)
    result = run.result or {}
    visit = (result.get("visits") or {}).get(str(visit_id))
    if "problem" not in result or visit is None:
        raise Http404("This plan says nothing about that visit.")
    problem = problem_from_dict(result["problem"])
    if visit_id in problem.visit_by_id:
        plan = plan_from_dict(problem, result["proposed"])
        matrix = cached_matrix(provider_from_settings(), run.day, problem.places())
        explanation = explain(problem, matrix, plan, visit_id, tz=timezone.get_current_timezone())
        summary, details = explanation.summary, explanation.details
    else:  # set aside before planning (blocked by parts)
        held = next((u for u in result["proposed"]["unassigned"] if u["visit_id"] == visit_id), None)
        summary, details = f"{visit['label']} is not planned: {held['text'] if held else 'it was not part of the problem.'}", ()
    context = {"run": run, "visit": visit, "summary": summary, "details": details, "nav_active": "dispatch"}
    return render(request, "dispatch/planning/explain.html", context)


@login_required
@require_GET
def plan_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The progress fragment the run page polls. Once the run has finished, HTMX reloads the page
    (HX-Refresh) to show the result."""
    run = _run(request, run_id)
    response = render(
        request, "dispatch/planning/run.html#progress", {"run": run, "can_schedule": request.user.has_perm("dispatch.schedule"), "poll_ms": POLL_SECONDS * 1000}
    )
    if run.finished and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def plan_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    _require(request, "dispatch.schedule")
    run = get_object_or_404(PlanningRun, pk=run_id)
    try:
        planning.run_cancel(actor=request.user, run_id=run.pk)
        messages.info(request, "Cancelling: the planner stops and keeps the best plan it found.")
    except DomainError as refused:
        messages.warning(request, refused.message)
    return redirect("dispatch:plan_run", run_id=run.pk)


@login_required
@require_POST
def plan_accept(request: HttpRequest, run_id: int) -> HttpResponse:
    _require(request, "dispatch.schedule")
    run = get_object_or_404(PlanningRun, pk=run_id)
    raw = request.POST.get("technician", "")
    technician_id = int(raw) if raw.isdigit() else None
    if raw and technician_id is None:
        messages.error(request, "Unknown technician.")
        return redirect("dispatch:plan_run", run_id=run.pk)
    try:
        reports = apply.accept(actor=request.user, run_id=run.pk, technician_id=technician_id)
    except DomainError as refused:
        messages.error(request, refused.message)
        return redirect("dispatch:plan_run", run_id=run.pk)
    applied = sum(len(r.applied) for r in reports)
    refused_routes = [r for r in reports if r.status == "refused"]
    skipped = sum(len(r.skipped) for r in reports)
    text = f"{applied} visit{'s' if applied != 1 else ''} scheduled."
    if skipped:
        text += f" {skipped} skipped (changed since the plan was made)."
    if refused_routes:
        text += " Not applied: " + ", ".join(f"{r.name}'s route" for r in refused_routes) + " (see below)."
    (messages.warning if refused_routes or skipped else messages.success)(request, text)
    return redirect(reverse("dispatch:plan_run", kwargs={"run_id": run.pk}) + "#accepted")
