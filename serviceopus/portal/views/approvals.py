"""The customer's side of an approval request: the page showing exactly the stored snapshot (lines,
quantities, unit prices, amounts, tax, total) with the hash of what it shows, the approve form (typed
name, drawn signature, the agreement box) and the decline form (a reason).

What a customer posts is read through ApproveForm and DeclineForm only: a name, the signature, the
hash, the box, a reason. Prices, quantities, statuses and job or request numbers in the body are never
read; the request is the one of the session's job named in the URL (portal_view: another job → 404).

The forms post with HTMX: the portal's pages send `Referrer-Policy: no-referrer`, under which a
browser's plain form submission carries `Origin: null` and fails Django's CSRF origin check, while an
XMLHttpRequest sends the real origin. A refusal (409, 422) comes back as the page, swapped in place."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.jobs.models import Job
from serviceopus.messaging import approval_content
from serviceopus.messaging.actions import approvals as actions
from serviceopus.messaging.approval_forms import ApproveForm, DeclineForm, apply_errors
from serviceopus.messaging.models import ApprovalRequest, PortalLink

from ..access import client_address, ended, portal_view
from ..queries import branding

Status = ApprovalRequest.Status


def _approval_of(job: Job, number: int) -> ApprovalRequest:
    approval = ApprovalRequest.objects.filter(job=job, number=number).first()
    if approval is None:
        raise Http404("No such approval request.")
    return approval


def _page(
    request: HttpRequest,
    job: Job,
    approval: ApprovalRequest,
    *,
    approve_form: ApproveForm | None = None,
    decline_form: DeclineForm | None = None,
    refused: str = "",
    status: int = 200,
) -> HttpResponse:
    intact = approval_content.is_intact(approval)
    pending = approval.status == Status.PENDING
    locked = job.status in actions.LOCKED_STATUSES
    context: dict[str, Any] = {
        **branding(),
        "job": job,
        "approval": approval,
        "lines": approval.lines,
        "intact": intact,
        "can_approve": pending and intact and not locked,
        "can_decline": pending,
        "locked": pending and locked,
        # The hash is always the stored one: a page rendered after a refusal shows the current content.
        "approve_form": approve_form or ApproveForm(initial={"content_hash": approval.content_hash}),
        "decline_form": decline_form or DeclineForm(),
        "refused": refused,
        "decline_open": decline_form is not None and bool(decline_form.errors),
        "job_url": reverse("portal:job", args=[job.pk]),
    }
    return render(request, "portal/approval.html", context, status=status)


def _after(request: HttpRequest, job: Job, number: int) -> HttpResponse:
    """Back to the request's page, which now shows the decision. The forms post with HTMX (see the
    template), so the browser is told where to go rather than handed the page."""
    url = reverse("portal:approval", args=[job.pk, number])
    return HttpResponseClientRedirect(url) if getattr(request, "htmx", False) else redirect(url)


def _meta(request: HttpRequest) -> dict[str, str]:
    return {"address": client_address(request), "user_agent": request.META.get("HTTP_USER_AGENT", "")}


@portal_view
@require_GET
def approval(request: HttpRequest, job: Job, link: PortalLink, number: int) -> HttpResponse:
    return _page(request, job, _approval_of(job, number))


@portal_view
@require_POST
def approve(request: HttpRequest, job: Job, link: PortalLink, number: int) -> HttpResponse:
    current = _approval_of(job, number)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        return _page(request, job, current, approve_form=form, status=422)
    data = form.cleaned_data
    try:
        actions.approval_approve(
            link=link,
            number=number,
            signer_name=data["signer_name"],
            signature_data_url=data["signature"],
            content_hash=data["content_hash"],
            **_meta(request),
        )
    except InvalidInput as invalid:
        apply_errors(form, invalid)
        return _page(request, job, current, approve_form=form, status=422)
    except DomainError as refused:
        if refused.code == "not_found":
            raise Http404(refused.message) from refused
        if refused.code == "link_ended":
            return ended(request)
        current.refresh_from_db()
        # The form is not kept: the page shows the request as it is now, with its current hash.
        return _page(request, job, current, refused=refused.message, status=refused.http_status)
    return _after(request, job, number)


@portal_view
@require_POST
def decline(request: HttpRequest, job: Job, link: PortalLink, number: int) -> HttpResponse:
    current = _approval_of(job, number)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        return _page(request, job, current, decline_form=form, status=422)
    try:
        actions.approval_decline(link=link, number=number, reason=form.cleaned_data["reason"], **_meta(request))
    except InvalidInput as invalid:
        apply_errors(form, invalid)
        return _page(request, job, current, decline_form=form, status=422)
    except DomainError as refused:
        if refused.code == "not_found":
            raise Http404(refused.message) from refused
        if refused.code == "link_ended":
            return ended(request)
        current.refresh_from_db()
        return _page(request, job, current, refused=refused.message, status=refused.http_status)
    return _after(request, job, number)
