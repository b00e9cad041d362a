"""Who may see a portal page: the holder of a session that a portal link was exchanged for, and only
for that link's job, and only while the link is active (a revoked or expired link ends its sessions on
their next request). Every portal response is uncacheable and sends no referrer, so the page's URL, or
an earlier token URL, never leaks to a third party."""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
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


def grant(request: HttpRequest, link: PortalLink) -> None:
    """Exchange a valid link for a session scoped to its job (a new session key: no fixation)."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = {"job": link.job_id, "link": link.pk}


def private(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def ended(request: HttpRequest, status: int = 403) -> HttpResponse:
    """The page for a link that was revoked or has expired."""
    return private(render(request, "portal/ended.html", {"company_name": _company_name()}, status=status))


def _company_name() -> str:
    from serviceopus.billing.models import BillingSettings

    return BillingSettings.current().company_name


def portal_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a portal view taking (request, job_id, ...): 404 unless the session holds a grant for exactly
    this job; the 'link ended' page when its link was revoked or expired. The view is called as
    view(request, job, link, ...) and its response is made private."""

    @wraps(view)
    def wrapped(request: HttpRequest, job_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        held = request.session.get(SESSION_KEY) or {}
        if not isinstance(held, dict) or held.get("job") != job_id:
            raise Http404("No such page.")
        link = PortalLink.objects.select_related("job").filter(pk=held.get("link"), job_id=job_id).first()
        if link is None:
            raise Http404("No such page.")
        if not link.is_active():
            return ended(request)
        job: Job = link.job
        return private(view(request, job, link, *args, **kwargs))

    return wrapped
