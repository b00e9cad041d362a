"""The job list (search, filters, sort, keyset pages, bulk status change) and the quick-info popover."""

from collections import defaultdict
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .. import actions, queries
from ..forms import BulkTransitionForm
from ..pagination import BadCursor
from ..status import HoldReason, JobStatus
from .conventions import filter_form, render_page, report_form_errors, require_perm, safe_next

OPEN = [("status", s) for s in (JobStatus.NEW, JobStatus.SCHEDULED, JobStatus.IN_PROGRESS, JobStatus.ON_HOLD, JobStatus.WORK_COMPLETE)]


def saved_views() -> list[tuple[str, str]]:
    """The one-click views above the list: (label, query string)."""
    today = timezone.localdate().isoformat()
    return [
        ("All jobs", ""),
        ("Open, most urgent first", urlencode([*OPEN, ("sort", "priority")])),
        ("Waiting to be scheduled", "status=new"),
        ("On hold", "status=on_hold"),
        ("Ready to invoice", "status=work_complete"),
        ("Blocked by parts", "parts=blocked"),
        ("Visits today", urlencode({"date_from": today, "date_to": today, "sort": "next_visit"})),
    ]


@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    form, choices = filter_form(request)
    filters = form.to_filters()
    cursor = request.GET.get("cursor") or None
    status, cursor_error = 200, ""
    try:
        page = queries.job_list_page(request.user, filters, cursor=cursor)
    except BadCursor as exc:
        # A bookmarked or hand-edited page link: say so and show the first page of the same view.
        status, cursor_error = 400, str(exc)
        page = queries.job_list_page(request.user, filters, cursor=None)
    context = {
        "form": form,
        "filters": filters,
        "choices": choices,
        "page": page,
        "matching": queries.job_list_count(request.user, filters),
        "count_cap": queries.COUNT_CAP,
        "cursor_error": cursor_error,
        "can_bulk": request.user.has_perm("jobs.bulk_transition"),
        "can_create": request.user.has_perm("jobs.create_job"),
        "bulk_form": BulkTransitionForm(),
        "statuses": JobStatus.choices,
        "hold_reasons": HoldReason.choices,
        "saved_views": saved_views(),
        "current_query": request.GET.urlencode(),
        "nav_active": "list",
    }
    return render_page(request, "jobs/list.html", context, fragments={"job-results": "results"}, status=status)


@login_required
@require_POST
def bulk_transition(request: HttpRequest) -> HttpResponse:
    require_perm(request, "jobs.bulk_transition")
    back = safe_next(request, reverse("jobs:list"))
    form = BulkTransitionForm(request.POST)
    if not form.is_valid():
        report_form_errors(request, form, prefix="Nothing changed — ")
        return redirect(back)
    numbers = queries.visible_job_numbers(request.user, form.job_ids)
    to = form.cleaned_data["to"]
    moved, refused = actions.job_bulk_transition(
        actor=request.user, job_ids=list(numbers), to=to, hold_reason=form.cleaned_data["hold_reason"] if to == JobStatus.ON_HOLD else ""
    )
    label = JobStatus(to).label
    if moved:
        messages.success(request, f"Moved {len(moved)} job{'s' if len(moved) != 1 else ''} to {label}.")
    if refused:
        by_reason: dict[str, list[str]] = defaultdict(list)
        for job_id, refusal in refused.items():
            by_reason[refusal.message].append(numbers.get(job_id, str(job_id)))
        reasons = "; ".join(f"{', '.join(sorted(nums))} — {reason}" for reason, nums in by_reason.items())
        messages.warning(request, f"{len(refused)} job{'s' if len(refused) != 1 else ''} not moved: {reasons}")
    missing = len(form.job_ids) - len(numbers)
    if missing:
        messages.warning(request, f"{missing} selected job{'s' if missing != 1 else ''} no longer exist{'s' if missing == 1 else ''}.")
    return redirect(back)


@login_required
@require_GET
def job_quick(request: HttpRequest, job_id: int) -> HttpResponse:
    job = queries.access_job_card_for_user(request.user, job_id)
    return render(request, "jobs/quick.html", {"job": job})
