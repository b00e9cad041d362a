"""The ready-to-invoice queue: jobs at work complete with work on no invoice yet, or with a draft
waiting for review (the job type's billing trigger makes one). Tick jobs of one customer and
preview the invoice they would make."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from serviceopus.jobs.pagination import BadCursor
from serviceopus.jobs.views.conventions import render_page, require_perm

from .. import queries
from .invoices import INVOICE, NAV, VIEW


@login_required
@require_GET
def ready_queue(request: HttpRequest) -> HttpResponse:
    require_perm(request, VIEW)
    status, cursor_error = 200, ""
    try:
        page = queries.ready_queue_page(cursor=request.GET.get("cursor") or None, size=queries.QUEUE_PAGE_SIZE)
    except BadCursor as exc:
        status, cursor_error = 400, str(exc)
        page = queries.ready_queue_page(cursor=None, size=queries.QUEUE_PAGE_SIZE)
    context = {
        "page": page,
        "cursor_error": cursor_error,
        "can_invoice": request.user.has_perm(INVOICE),
        "preview_url": reverse("billing:invoice_new"),
        "nav_active": NAV,
        "subnav": "ready",
    }
    return render_page(request, "billing/queue.html", context, status=status)


urlpatterns = [path("billing/ready/", ready_queue, name="ready")]
