"""What the tests of the job workspace's inventory parts share: HTMX headers, query counts, a dump of
every row the views may write, and URLs (their fixtures — job, other_job, reserve — are in conftest)."""

from django.urls import reverse

from serviceopus.inventory.models import PurchaseOrder, PurchaseOrderLine, Reservation, StockBalance, StockMovement
from serviceopus.jobs.models import Job, JobEvent, LineItem
from serviceopus.jobs.tests.pages import WORKSPACE_QUERIES, WORKSPACE_TAB_QUERIES

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "line-items-panel"}
TAB_AREA = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "tab-area"}

# Queries on top of the workspace's own for a job with tracked parts: the readiness (reservations,
# then the orders bringing what is short), read once for the header panel and the tab.
READINESS_QUERIES = 2
# The Line items tab adds the places (for the return forms) once any line has stock issued.
LINE_ITEMS_TAB_QUERIES = WORKSPACE_TAB_QUERIES + READINESS_QUERIES + 1
# The Purchase orders tab: the job's order lines (instead of the line items) and the vendors of what
# is still to order.
PO_TAB_QUERIES = WORKSPACE_QUERIES + 1 + READINESS_QUERIES + 1


def html(response) -> str:
    return response.content.decode()


def world() -> tuple:
    """Every row these views may write, to prove a refused request wrote none."""
    return (
        list(Reservation.objects.order_by("pk").values()),
        list(LineItem.objects.order_by("pk").values()),
        list(StockBalance.objects.order_by("pk").values()),
        StockMovement.objects.count(),
        list(PurchaseOrder.objects.order_by("pk").values()),
        PurchaseOrderLine.objects.count(),
        JobEvent.objects.count(),
        list(Job.objects.order_by("pk").values("pk", "parts_readiness", "version")),
    )


def url(name: str, job: Job, reservation: Reservation | None = None) -> str:
    return reverse(f"inventory:{name}", args=[job.pk] + ([reservation.pk] if reservation else []))


def tab(job: Job, slug: str = "line-items") -> str:
    return reverse("jobs:tab", args=[job.pk, slug])
