"""The office's side of approval requests: the form that asks the customer to approve added work or a
change order, a request's page (what was asked, what the customer decided, their signature), withdrawing
a request and acknowledging a decision, and the section of the job's Messages tab that lists them.

Access: the job through the workspace's own query (a technician sees only their jobs: 404 on another's),
then `messaging.message_customer` (403 for a technician on their own job)."""

import base64
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from serviceopus.billing.models import BillingSettings
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.money import format_cents
from serviceopus.jobs.models import Job, LineItem
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.status import JobStatus
from serviceopus.jobs.views.conventions import require_perm

from .. import approval_content, outbox
from ..actions import approvals as actions
from ..approval_forms import ApprovalRequestForm, LineFormSet, apply_errors
from ..models import ApprovalRequest, Channel, OutboxMessage

PERM = "messaging.message_customer"
TAB = "messages"
SECTION_LIMIT = 50  # the newest requests on the tab; a job rarely has more than a handful
MAX_INLINE_SIGNATURE = 1_000_000  # the stored PNG is re-encoded and at most this size (closeout's limit)

Status = ApprovalRequest.Status


def _tab_url(job: Job) -> str:
    return reverse("jobs:tab", args=[job.pk, TAB])


def _detail_url(job: Job, approval: ApprovalRequest) -> str:
    return reverse("messaging:approval", args=[job.pk, approval.pk])


def _crumbs(job: Job, *more: tuple[str, str]) -> list[tuple[str, str]]:
    return [("Jobs", reverse("jobs:list")), (job.number, reverse("jobs:detail", args=[job.pk])), ("Messages", _tab_url(job)), *more]


def _locked_reason(job: Job) -> str:
    if job.status in actions.LOCKED_STATUSES:
        return f"The job is {JobStatus(job.status).label.lower()}: no work can be added to it, so there is nothing to ask approval for."
    return ""


def _office_job(request: HttpRequest, job_id: int) -> Job:
    job = access_job_for_user(request.user, job_id)
    require_perm(request, PERM)
    return job


# ---- the Messages tab's section ------------------------------------------------------------------------


def approvals_section(request: HttpRequest, job: Job) -> dict[str, Any]:
    """Context of messaging/_approvals.html (keys prefixed approvals_): the job's requests, newest
    first, and whether this user may ask for a new one. One query, whatever the job holds."""
    may = request.user.has_perm(PERM)
    rows = list(
        ApprovalRequest.objects.filter(job=job)
        .defer("lines", "message", "line_item_ids", "decided_user_agent")
        .select_related("requested_by")
        .order_by("-number")[:SECTION_LIMIT]
    )
    locked = _locked_reason(job)
    return {
        "approvals_list": rows,
        "approvals_may_manage": may,
        "approvals_can_request": may and not locked,
        "approvals_locked_reason": locked,
        "approvals_new_url": reverse("messaging:approval_new", args=[job.pk]),
        "approvals_pending": sum(1 for a in rows if a.status == Status.PENDING),
        "approvals_unseen": sum(1 for a in rows if a.status in (Status.APPROVED, Status.DECLINED) and a.acknowledged_at is None),
        "approvals_truncated": len(rows) == SECTION_LIMIT,
    }


# ---- asking --------------------------------------------------------------------------------------------


def _tax_hint(settings: BillingSettings) -> dict[str, Any]:
    rate = settings.default_tax_rate
    return {
        "rate_milli_percent": rate.rate_milli_percent if rate else 0,
        "rate_label": str(rate) if rate else "",
        "tax_labour": settings.tax_labour,
    }


def _delivery(job: Job) -> list[dict[str, str]]:
    """Where the approval-requested notice will go (or why not), for the form's side note."""
    addresses = outbox.recipients(job)
    out = []
    for channel, label, opted_out in ((Channel.EMAIL, "Email", job.customer.email_opt_out), (Channel.SMS, "Text", job.customer.sms_opt_out)):
        address = addresses[channel]
        note = "opted out" if opted_out else ("" if address else "no address on file")
        out.append({"label": label, "address": address, "note": note})
    return out


@login_required
@require_http_methods(["GET", "POST"])
def approval_new(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _office_job(request, job_id)
    posted = request.POST if request.method == "POST" else None
    form = ApprovalRequestForm(posted)
    formset = LineFormSet(posted, prefix="lines")
    status = 200
    if posted is not None:
        status = 422
        valid = form.is_valid()
        if formset.is_valid() and valid:
            data = form.cleaned_data
            try:
                approval = actions.approval_request_create(
                    actor=request.user, job_id=job.pk, kind=data["kind"], title=data["title"], message=data["message"], lines=formset.lines()
                )
            except InvalidInput as invalid:
                apply_errors(form, invalid, formset)
            except ConflictError as conflict:
                form.add_error(None, conflict.message)
                status = 409
            except DomainError as refused:
                if refused.code == "forbidden":
                    raise PermissionDenied(refused.message) from refused
                form.add_error(None, refused.message)
                status = 400
            else:
                messages.success(
                    request,
                    f"Sent {approval.get_kind_display().lower()} {approval.number} ({format_cents(approval.total_cents)}) to the customer for approval.",
                )
                return redirect(_detail_url(job, approval))
    context = {
        "job": job,
        "form": form,
        "formset": formset,
        "tax": _tax_hint(BillingSettings.current()),
        "delivery": _delivery(job),
        "locked_reason": _locked_reason(job),
        "crumbs": _crumbs(job),
        "nav_active": "list",
        "cancel_url": _tab_url(job),
    }
    return render(request, "messaging/approval_new.html", context, status=status)


# ---- one request ---------------------------------------------------------------------------------------


def _signature_data_url(approval: ApprovalRequest) -> str:
    """The stored signature as a data: URL for the page (read through the storage API, so it works
    with any storage backend); '' when there is none or the file is missing."""
    if not approval.signature.name:
        return ""
    try:
        with approval.signature.open("rb") as handle:
            png = handle.read(MAX_INLINE_SIGNATURE + 1)
    except (FileNotFoundError, OSError, ValueError):
        return ""
    if len(png) > MAX_INLINE_SIGNATURE:
        return ""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _detail_context(job: Job, approval: ApprovalRequest) -> dict[str, Any]:
    added = {item.pk: item for item in LineItem.objects.filter(job=job, pk__in=approval.line_item_ids or [])}
    notices = list(OutboxMessage.objects.filter(job=job, data__approval=approval.pk).order_by("created_at", "id"))
    return {
        "job": job,
        "approval": approval,
        "lines": approval.lines,
        "intact": approval_content.is_intact(approval),
        "signature_url": _signature_data_url(approval),
        "added_items": [added[pk] for pk in approval.line_item_ids or [] if pk in added],
        "added_missing": len([pk for pk in approval.line_item_ids or [] if pk not in added]),
        "notices": notices,
        "can_withdraw": approval.status == Status.PENDING,
        "can_acknowledge": approval.status in (Status.APPROVED, Status.DECLINED) and approval.acknowledged_at is None,
        "crumbs": _crumbs(job),
        "nav_active": "list",
    }


@login_required
@require_http_methods(["GET", "POST"])
def approval_detail(request: HttpRequest, job_id: int, approval_id: int) -> HttpResponse:
    """The request as sent and as decided. A POST acknowledges the customer's decision."""
    job = _office_job(request, job_id)
    approval = get_object_or_404(ApprovalRequest.objects.select_related("requested_by"), pk=approval_id, job_id=job.pk)
    if request.method == "POST":
        try:
            actions.approval_acknowledge(actor=request.user, approval_id=approval.pk)
        except DomainError as refused:
            if refused.code == "forbidden":
                raise PermissionDenied(refused.message) from refused
            messages.error(request, refused.message)
        else:
            messages.success(request, f"Marked {approval.get_kind_display().lower()} {approval.number} as seen.")
        return redirect(_detail_url(job, approval))
    return render(request, "messaging/approval_detail.html", _detail_context(job, approval))


@login_required
@require_POST
def approval_withdraw(request: HttpRequest, job_id: int, approval_id: int) -> HttpResponse:
    job = _office_job(request, job_id)
    approval = get_object_or_404(ApprovalRequest, pk=approval_id, job_id=job.pk)
    try:
        actions.approval_withdraw(actor=request.user, approval_id=approval.pk)
    except DomainError as refused:
        if refused.code == "forbidden":
            raise PermissionDenied(refused.message) from refused
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Withdrew {approval.get_kind_display().lower()} {approval.number}: the customer can no longer approve it.")
    return redirect(_detail_url(job, approval))
