"""A technician's iCalendar feed: the page that creates, renews and revokes its secret URL, and the feed.

The feed URL carries a 256-bit random token (crew.actions.calendar_feed_renew) because calendar apps
subscribe without signing in; only the token's SHA-256 is stored, so the URL is shown once, right
after it is made. Renewing replaces the secret (the old URL answers 404 at once)."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from icalendar import Calendar, Event

from serviceopus.core.errors import DomainError
from serviceopus.crew import actions as crew_actions
from serviceopus.crew.models import Technician

from .. import queries
from ..models import Visit

PRODID = "-//Service Opus//Technician schedule//EN"


def _may_manage(request: HttpRequest, technician: Technician) -> bool:
    return technician.user_id == request.user.pk or request.user.has_perm("dispatch.schedule")


def _page(request: HttpRequest, technician: Technician, *, feed_url: str = "", status: int = 200) -> HttpResponse:
    context = {
        "technician": technician,
        "feed": queries.calendar_feed_of(technician),
        "feed_url": feed_url,
        "can_manage": _may_manage(request, technician),
        "is_self": technician.user_id == request.user.pk,
        "nav_active": "schedule",
    }
    return render(request, "dispatch/calendar.html", context, status=status)


@login_required
@require_GET
def feed_settings(request: HttpRequest, technician_id: int) -> HttpResponse:
    technician = queries.access_technician_for_user(request.user, technician_id)
    return _page(request, technician)


@never_cache  # the page shows the secret URL: no cache may keep it
@login_required
@require_POST
def feed_renew(request: HttpRequest, technician_id: int) -> HttpResponse:
    technician = queries.access_technician_for_user(request.user, technician_id)
    if not _may_manage(request, technician):
        raise PermissionDenied("You may not manage this calendar feed.")
    try:
        token = crew_actions.calendar_feed_renew(actor=request.user, technician_id=technician.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _page(request, technician, status=exc.http_status)
    # Rendered, not redirected: the token is not kept anywhere a redirect could read it back from.
    return _page(request, technician, feed_url=request.build_absolute_uri(reverse("dispatch:calendar_feed", args=[token])))


@login_required
@require_POST
def feed_revoke(request: HttpRequest, technician_id: int) -> HttpResponse:
    technician = queries.access_technician_for_user(request.user, technician_id)
    if not _may_manage(request, technician):
        raise PermissionDenied("You may not manage this calendar feed.")
    try:
        revoked = crew_actions.calendar_feed_revoke(actor=request.user, technician_id=technician.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The calendar feed URL was revoked." if revoked else "There was no calendar feed to revoke.")
    return redirect("dispatch:calendar", technician_id=technician.pk)


def _event(visit: Visit, job_url: str) -> Event:
    job = visit.job
    assert visit.scheduled_start is not None
    assert visit.scheduled_end is not None
    event = Event()
    # One UID per visit for ever: a calendar app updates the event when the visit moves.
    event.add("uid", f"visit-{visit.pk}@service-opus")
    event.add("dtstamp", visit.updated_at)
    event.add("last-modified", visit.updated_at)
    event.add("sequence", visit.version)
    event.add("dtstart", visit.scheduled_start)
    event.add("dtend", visit.scheduled_end)
    event.add("summary", f"{job.number} · {job.customer.name} · {job.job_type.name}")
    event.add("location", job.location.one_line)
    lines = [job.scope.strip()] if job.scope.strip() else []
    if visit.window_start and visit.window_end:
        lines.append(f"Arrival window {timezone.localtime(visit.window_start):%H:%M}–{timezone.localtime(visit.window_end):%H:%M}")
    if visit.crew_notes:
        lines.append(f"Crew notes: {visit.crew_notes}")
    lines.append(job_url)
    event.add("description", "\n\n".join(lines))
    event.add("url", job_url)
    event.add("status", "CONFIRMED")
    if job.location.lat is not None and job.location.lng is not None:
        event.add("geo", (float(job.location.lat), float(job.location.lng)))
    return event


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself: no sign-in, the token is the credential. Cancelled visits are left out (a
    calendar app drops an event that disappears from the feed)."""
    technician = queries.technician_for_feed(crew_actions.feed_token_hash(token))
    if technician is None:
        raise Http404("No such calendar")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{technician.name} · Service Opus")
    calendar.add("x-wr-timezone", timezone.get_current_timezone_name())
    calendar.add("refresh-interval", timedelta(minutes=30), parameters={"VALUE": "DURATION"})
    for visit in queries.feed_visits(technician):
        calendar.add_component(_event(visit, request.build_absolute_uri(reverse("jobs:detail", args=[visit.job_id]))))
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="schedule.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
