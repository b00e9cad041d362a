"""Who may see a portal page: the holder of a session that a portal link was exchanged for, and only
for that link's job, and only while the link is active (a revoked or expired link ends its sessions on
their next request). Every portal response is uncacheable and sends no referrer, so the page's URL, or
an earlier token URL, never leaks to a third party."""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from serviceopus.jobs.models import Job
from serviceopus.messaging.models import PortalLink, PortalTokenFailure

SESSION_KEY = "portal"


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it.
    return (request.META.get("REMOTE_ADDR", "") or "unknown")[:64]


def too_many_failures(address: str) -> bool:
    since = timezone.now() - timedelta(minutes=1)
    return PortalTokenFailure.objects.filter(address=address, at__gte=since).count() >= settings.PORTAL_TOKEN_FAILURE_LIMIT


def record_failure(address: str) -> None:
    PortalTokenFailure.objects.create(address=address)
    PortalTokenFailure.objects.filter(at__lt=timezone.now() - timedelta(days=1)).delete()


def record_open(link: PortalLink) -> bool:
    """Count an opening of the link, only while it is active: one conditional UPDATE, so concurrent
    opens all count and a link revoked a moment ago is not opened. False when the link has ended."""
    now = timezone.now()
    active = PortalLink.objects.filter(pk=link.pk, revoked_at__isnull=True, expires_at__gt=now)
    return bool(active.update(open_count=F("open_count") + 1, last_opened_at=now))


def grant(request: HttpRequest, link: PortalLink) -> None:
    """Exchange a valid link for a session scoped to its job (a new session key: no fixation)."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = {"job": link.job_id, "link": link.pk}


def private(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    # The page is one customer's: search engines that reach it through a forwarded link keep out.
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _page(request: HttpRequest, template: str, status: int, **context: Any) -> HttpResponse:
    from .queries import branding

    response = render(request, template, {**branding(), **context}, status=status)
    if getattr(request, "htmx", False):
        # A polling fragment whose session ended: reload, so the customer sees why instead of a page
        # that silently stops changing (htmx does not swap error responses).
        response["HX-Refresh"] = "true"
    return private(response)


def ended(request: HttpRequest, status: int = 403) -> HttpResponse:
    """The page for a link that was revoked or has expired."""
    return _page(request, "portal/ended.html", status)


def not_found(request: HttpRequest, *, limited: bool = False) -> HttpResponse:
    """The portal's own 404 (and 429 when `limited`): in the portal's look, private like every portal
    response, and the same whether the job exists or not."""
    response = _page(request, "portal/invalid.html", 429 if limited else 404, limited=limited)
    if limited:
        response["Retry-After"] = "60"
    return response


def portal_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a portal view taking (request, job_id, ...): 404 unless the session holds a grant for exactly
    this job; the 'link ended' page when its link was revoked or expired (the grant is dropped). The
    view is called as view(request, job, link, ...) with the job's customer, location and contact
    loaded; an Http404 it raises becomes the portal's 404 page, and its response is made private."""

    @wraps(view)
    def wrapped(request: HttpRequest, job_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        held = request.session.get(SESSION_KEY) or {}
        if not isinstance(held, dict) or held.get("job") != job_id:
            return not_found(request)
        link = PortalLink.objects.select_related("job__customer", "job__location", "job__contact").filter(pk=held.get("link"), job_id=job_id).first()
        if link is None:
            request.session.pop(SESSION_KEY, None)
            return not_found(request)
        if not link.is_active():
            request.session.pop(SESSION_KEY, None)
            return ended(request)
        job: Job = link.job
        try:
            response = view(request, job, link, *args, **kwargs)
        except Http404:
            return not_found(request)
        return private(response)

    return wrapped
