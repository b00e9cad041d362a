"""The kanban board and the one status-change endpoint used by the board (drag, Move select), the
workspace's status control and anything else that moves a single job."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from serviceopus.core.errors import DomainError

from .. import actions, queries
from ..forms import TransitionForm
from ..status import HoldReason, JobStatus
from .conventions import filter_form, require_perm, safe_next


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    require_perm(request, "jobs.view_all_jobs")
    form, choices = filter_form(request)
    filters = form.to_filters()
    context = {
        "form": form,
        "filters": filters,
        "choices": choices,
        "columns": queries.board_columns(request.user, filters),
        "cards_per_column": queries.BOARD_CARDS_PER_COLUMN,
        "hold_reasons": HoldReason.choices,
        "board_url": request.get_full_path(),
        "nav_active": "board",
    }
    return render(request, "jobs/board.html", context)


def _card(request: HttpRequest, job_id: int, *, refused: str = "", status: int = 200) -> HttpResponse:
    job = queries.access_job_card_for_user(request.user, job_id)
    context = {"job": job, "refused": refused, "board_url": safe_next(request, reverse("jobs:board"))}
    return render(request, "jobs/board.html#card", context, status=status)


@login_required
@require_POST
def job_transition(request: HttpRequest, job_id: int) -> HttpResponse:
    """Answers the board with the card (200 moved, 409 refused with the reason, 422 unreadable input);
    answers a plain form with a message and a redirect."""
    job = queries.access_job_for_user(request.user, job_id)
    as_card = request.POST.get("response") == "card"
    back = safe_next(request, reverse("jobs:detail", args=[job.pk]))
    form = TransitionForm(request.POST)
    if not form.is_valid():
        problem = " ".join(str(e) for errors in form.errors.values() for e in errors)
        if as_card:
            return _card(request, job.pk, refused=problem, status=422)
        messages.error(request, f"{job.number} was not moved: {problem}")
        return redirect(back)
    to = form.cleaned_data["to"]
    try:
        actions.job_transition(
            actor=request.user,
            job_id=job.pk,
            to=to,
            hold_reason=form.cleaned_data["hold_reason"],
            note=form.cleaned_data["note"],
            expected=form.cleaned_data["expected"],
        )
    except DomainError as refusal:
        if as_card:
            return _card(request, job.pk, refused=refusal.message, status=refusal.http_status if refusal.http_status != 400 else 409)
        messages.error(request, f"{job.number} was not moved: {refusal.message}")
        return redirect(back)
    if as_card:
        return _card(request, job.pk)
    messages.success(request, f"{job.number} is now {JobStatus(to).label}.")
    return redirect(back)
