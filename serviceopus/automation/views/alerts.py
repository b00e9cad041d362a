"""The alert centre: my alerts, newest first; opening one marks it read and goes to its job; mark one
or all read; and the unread count behind the bell in the header.

The header is on every page, and many pages assert their query count: the bell costs a page nothing.
It fetches its count after load (and every minute) from `alert_count`, a fragment of one query.
Everything here is the signed-in user's own: another user's alert is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from serviceopus.jobs.views.conventions import require_perm, safe_next, wants_fragment

from .. import task_queries as queries
from .. import tasks as actions

PERM = "automation.view_alerts"
NAV = "alerts"


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    page = queries.alerts_page(request.user, request.GET.get("page"))
    context = {
        "page": page,
        "alerts": page.object_list,
        "unread": queries.unread_alert_count(request.user),
        "next_url": request.get_full_path(),
        "nav_active": NAV,
    }
    return render(request, "automation/alerts/list.html", context)


@login_required
@require_GET
@never_cache
def alert_count(request: HttpRequest) -> HttpResponse:
    """The bell's count: a tiny fragment, fetched by HTMX (never cached: it changes under the same URL)."""
    require_perm(request, PERM)
    return render(request, "automation/alerts/_count.html", {"unread": queries.unread_alert_count(request.user)})


@login_required
@require_GET
def alert_open(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Follow an alert's link: it is read now, and the browser goes on to its job (or back to the alert
    centre for an alert about no job). Marking read twice changes nothing, so a GET may do it."""
    require_perm(request, PERM)
    alert = queries.access_alert(request.user, alert_id)
    actions.alert_mark_read(user=request.user, alert_id=alert.pk)
    return redirect(reverse("jobs:detail", args=[alert.job_id]) if alert.job_id else reverse("automation:alerts"))


@login_required
@require_POST
def alert_read(request: HttpRequest, alert_id: int) -> HttpResponse:
    require_perm(request, PERM)
    alert = queries.access_alert(request.user, alert_id)
    alert.read_at = actions.alert_mark_read(user=request.user, alert_id=alert.pk).read_at
    if wants_fragment(request, f"alert-{alert.pk}"):
        # The row, and the unread counts (the page's and the bell's) out of band.
        context = {"alert": alert, "unread": queries.unread_alert_count(request.user), "next_url": safe_next(request, reverse("automation:alerts"))}
        response = render(request, "automation/alerts/list.html#row_swap", context)
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    return redirect(safe_next(request, reverse("automation:alerts")))


@login_required
@require_POST
def alerts_read_all(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    count = actions.alerts_mark_all_read(user=request.user)
    messages.success(request, f"Marked {count} alert{'s' if count != 1 else ''} read." if count else "No unread alerts.")
    return redirect(safe_next(request, reverse("automation:alerts")))
