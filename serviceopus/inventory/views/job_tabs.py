"""The job workspace's parts: the readiness panel under the header and the Purchase orders tab (its
one write, drafting orders for the job's shortfalls, is in job_materials with the other job views).

A job without tracked parts (Job.parts_readiness empty) costs these no query. Otherwise the panel, the
materials section and the tab share one reading of the job's readiness per request (two queries)."""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from serviceopus.jobs.models import Job

from .. import queries
from ..models import PurchaseOrder, Vendor
from ..quantity import show
from ..readiness import IncomingOrder, MissingPart, Readiness, job_readiness

JOB_DONE = queries.JOB_DONE


def readiness_of(request: HttpRequest, job: Job) -> Readiness:
    """The job's readiness, read once per request: the header panel, the materials section and the
    Purchase orders tab of one page show the same reading. Views that change materials read it only
    after their action (forget_readiness if one ever needs to read before)."""
    memo: dict[int, Readiness] = request.__dict__.setdefault("_inventory_readiness", {})
    if job.pk not in memo:
        memo[job.pk] = job_readiness(job)
    return memo[job.pk]


def forget_readiness(request: HttpRequest) -> None:
    request.__dict__.pop("_inventory_readiness", None)


@dataclass
class Incoming:
    """An order bringing a missing item, as a page says it."""

    order: IncomingOrder
    quantity: str
    late: bool


@dataclass
class Missing:
    """One missing item as the panel and the tabs show it: the orders that bring it (ordered ones
    with their dates; drafts say they are not ordered) and how much nobody has ordered yet."""

    part: MissingPart
    ordered: list[Incoming]
    drafts: list[Incoming]
    uncovered_milli: int

    @property
    def uncovered(self) -> str:
        return show(self.uncovered_milli)

    @property
    def split(self) -> bool:
        """More than one source: each says how much it brings."""
        return len(self.ordered) + len(self.drafts) + (1 if self.uncovered_milli else 0) > 1


def missing_rows(readiness: Readiness) -> list[Missing]:
    today = timezone.localdate()
    rows = []
    for part in readiness.missing:
        incoming = [Incoming(o, show(o.open_milli), bool(o.expected_on and o.expected_on < today)) for o in part.orders]
        # Drafts count as covering the need, as on the purchasing page: nobody should order it twice.
        uncovered = max(0, part.short_milli - sum(o.open_milli for o in part.orders))
        rows.append(
            Missing(
                part,
                [i for i in incoming if i.order.status != PurchaseOrder.Status.DRAFT],
                [i for i in incoming if i.order.status == PurchaseOrder.Status.DRAFT],
                uncovered,
            )
        )
    return rows


# ---- the readiness panel under the job header --------------------------------------------------------


def readiness_panel(request: HttpRequest, job: Job) -> dict[str, Any]:
    if not job.parts_readiness:
        return {}
    readiness = readiness_of(request, job)
    if not readiness.tracked:
        return {}
    return {
        "template": "inventory/job/_readiness_panel.html",
        "swap_oob": True,
        "readiness": readiness,
        "missing": missing_rows(readiness),
        "line_count": sum(1 for r in readiness.reservations if r.status == r.Status.OPEN and r.quantity_milli > 0),
        "can_see_orders": request.user.has_perm("inventory.view_stock"),
    }


# ---- the Purchase orders tab ----------------------------------------------------------------------------


def purchase_orders_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    """The orders with a line for this job (their lines for it, ordered and received), and what the
    job is still short of that no order brings, with the vendor it would come from (at most four
    queries; one for a job without tracked parts)."""
    orders = [
        {"po": po, "lines": [{"line": line, "ordered": show(line.quantity_milli), "received": show(line.received_milli)} for line in po.job_lines]}
        for po in queries.job_purchase_orders(job)
    ]
    missing = missing_rows(readiness_of(request, job)) if job.parts_readiness else []
    to_order = [m for m in missing if m.uncovered_milli > 0]
    vendors = Vendor.objects.in_bulk({m.part.item.preferred_vendor_id for m in to_order} - {None}) if to_order else {}
    return {
        "tab_template": "inventory/job/purchase_orders.html",
        "orders": orders,
        "to_order": [{"need": m, "vendor": vendors.get(m.part.item.preferred_vendor_id)} for m in to_order],
        # drafts_for_shortfalls orders from each item's preferred vendor: without one, a person must.
        "can_draft": bool(vendors) and request.user.has_perm("inventory.purchase") and job.status not in JOB_DONE,
        "can_see_orders": request.user.has_perm("inventory.view_stock"),
        "can_purchase": request.user.has_perm("inventory.purchase"),
    }
