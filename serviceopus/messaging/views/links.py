"""Portal links on the job's Messages tab: the list (links_section, included by the tab), creating a
link (optionally sending it to the customer) and revoking one.

A new link's URL is shown once, in the answer to the request that created it, so the office can copy
it: it is never stored (only its hash is) and cannot be shown again. HTMX requests get the links
section back in place (with the URL, or with the field errors and 422 / the refusal and 409); a plain
form post is redirected to the Messages tab with the URL or the reason as a flash message."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user

from .. import links, outbox
from ..models import MessagingSettings, Notice, PortalLink

PERM = "messaging.message_customer"
TARGET = "portal-links"  # the section's root element


def links_section(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    """The context of messaging/_links.html: the job's links, newest first, each with its state
    (active, expired, revoked). Two queries whatever the number of links."""
    now = timezone.now()
    rows = list(PortalLink.objects.filter(job=job).select_related("created_by", "revoked_by").order_by("-created_at", "-id"))
    for link in rows:
        link.state = "revoked" if link.revoked_at else ("expired" if link.expires_at <= now else "active")  # type: ignore[attr-defined]
    return {
        "links_job": job,
        "links_rows": rows,
        "links_can_manage": request.user.has_perm(PERM),
        "links_default_days": MessagingSettings.current().portal_link_days,
        "links_new_url": extra.get("new_url", ""),
        "links_new_label": extra.get("new_label", ""),
        "links_sent": extra.get("sent", False),
        "links_errors": extra.get("errors") or {},
        "links_refused": extra.get("refused", ""),
        "links_values": extra.get("values") or {},
    }


def _job(request: HttpRequest, job_id: int) -> Job:
    """The job (404 for a technician's other jobs, as everywhere), then 403 without the capability."""
    job = access_job_for_user(request.user, job_id)
    if not request.user.has_perm(PERM):
        raise PermissionDenied("You may not manage the customer's portal links.")
    return job


def _fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and htmx.target == TARGET


def _section(request: HttpRequest, job: Job, *, status: int = 200, **extra: Any) -> HttpResponse:
    response = render(request, "messaging/_links.html", {"job": job, **links_section(request, job, **extra)}, status=status)
    # It may hold a new link's URL: no cache keeps it.
    response["Cache-Control"] = "no-store"
    return response


def _tab(job: Job) -> HttpResponse:
    return redirect(reverse("jobs:tab", args=[job.pk, "messages"]) + "#portal-links")


def _days(raw: str) -> int | None:
    """The posted number of days, None for 'the default'; bad input becomes -1 for the action to refuse."""
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(raw) if raw.isdigit() and len(raw) < 5 else -1


@login_required
@require_POST
def link_create_view(request: HttpRequest, job_id: int) -> HttpResponse:
    """A new link for the job (fields: label, days; "send" ticked: the customer gets it by email and
    text in the same transaction, through the outbox)."""
    job = _job(request, job_id)
    values = {"label": request.POST.get("label", ""), "days": request.POST.get("days", ""), "send": bool(request.POST.get("send"))}
    try:
        with transaction.atomic():
            link = links.link_create(actor=request.user, job_id=job.pk, label=values["label"], days=_days(values["days"]))
            if values["send"]:
                outbox.notify(job=job, notice=Notice.PORTAL_LINK, actor=request.user)
    except InvalidInput as exc:
        if _fragment(request):
            return _section(request, job, status=422, errors=exc.fields, values=values)
        messages.error(request, "No link was created: " + "; ".join(exc.fields.values() or [exc.message]))
        return _tab(job)
    url = links.portal_url(link)
    if _fragment(request):
        return _section(request, job, new_url=url, new_label=link.label, sent=values["send"])
    sent = " It was sent to the customer." if values["send"] else ""
    messages.success(request, f"Portal link created — copy it now, it is shown only once: {url}{sent}")
    return _tab(job)


@login_required
@require_POST
def link_revoke_view(request: HttpRequest, job_id: int, link_id: int) -> HttpResponse:
    """Revoke a link of the job at once (its open sessions end on their next request)."""
    job = _job(request, job_id)
    if not PortalLink.objects.filter(pk=link_id, job=job).exists():
        raise Http404("No such link on this job.")
    try:
        link = links.link_revoke(actor=request.user, link_id=link_id)
    except DomainError as exc:
        if exc.code == "forbidden":
            raise PermissionDenied(exc.message) from exc
        if _fragment(request):
            return _section(request, job, status=409, refused=exc.message)
        messages.error(request, exc.message)
        return _tab(job)
    if _fragment(request):
        return _section(request, job)
    messages.success(request, f"Portal link{' for ' + link.label if link.label else ''} revoked.")
    return _tab(job)
