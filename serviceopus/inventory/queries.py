"""Reads for the inventory pages, the job's tabs, the technician's phone and the API. Each reads a
fixed number of queries whatever the row count."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from serviceopus.accounts.models import User
from serviceopus.core.money import line_total_cents
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus

from .models import InventoryItem, PurchaseOrder, PurchaseOrderLine, Reservation, StockBalance, StockLocation, StockMovement, Vendor
from .quantity import from_milli, show
from .status import OPEN as OPEN_PO

SEARCH_LIMIT = 20
JOB_DONE = (JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED)


def truck_of(user: User) -> StockLocation | None:
    return StockLocation.objects.filter(technician__user=user, active=True).first()


def search_items(text: str, *, location: StockLocation | None = None, limit: int = SEARCH_LIMIT) -> list[InventoryItem]:
    """Active items whose SKU starts with, or whose name contains, `text` (SKU matches first). With a
    place, each item carries `on_hand_milli` and `available_milli` there (one more query)."""
    text = (text or "").strip()[:100]
    qs = InventoryItem.objects.filter(active=True)
    if text:
        qs = qs.filter(Q(sku__istartswith=text) | Q(name__icontains=text))
    items = sorted(qs.order_by("sku")[: limit * 3], key=lambda i: (not i.sku.lower().startswith(text.lower()), i.sku))[:limit]
    if location is not None:
        balances = {b.item_id: b for b in StockBalance.objects.filter(location=location, item__in=[i.pk for i in items])}
        for item in items:
            balance = balances.get(item.pk)
            item.on_hand_milli = balance.on_hand_milli if balance else 0
            item.available_milli = balance.available_milli if balance else 0
    return items


def stock_at(location: StockLocation) -> list[StockBalance]:
    """What a place holds (items with stock or holds there), by SKU."""
    return list(StockBalance.objects.filter(location=location).exclude(on_hand_milli=0, reserved_milli=0).select_related("item").order_by("item__sku"))


def item_balances(item: InventoryItem) -> list[StockBalance]:
    return list(StockBalance.objects.filter(item=item).select_related("location").order_by("location__kind", "location__name"))


def item_movements(item: InventoryItem, limit: int = 100) -> list[StockMovement]:
    return list(StockMovement.objects.filter(item=item).select_related("from_location", "to_location", "job", "actor").order_by("-created_at", "-id")[:limit])


def items_page(text: str = "", *, below_reorder: bool = False) -> list[dict]:
    """The items list: each item with its total on hand, reserved and free (one grouped query)."""
    qs = InventoryItem.objects.select_related("preferred_vendor").order_by("sku")
    if text:
        qs = qs.filter(Q(sku__istartswith=text.strip()) | Q(name__icontains=text.strip()))
    items = list(qs[:500])
    sums = {
        row["item_id"]: row
        for row in StockBalance.objects.filter(item__in=[i.pk for i in items])
        .values("item_id")
        .annotate(on_hand=Sum("on_hand_milli"), reserved=Sum("reserved_milli"))
    }
    rows = []
    for item in items:
        row = sums.get(item.pk, {"on_hand": 0, "reserved": 0})
        on_hand, reserved = row["on_hand"] or 0, row["reserved"] or 0
        low = item.reorder_point_milli > 0 and on_hand - reserved <= item.reorder_point_milli
        if below_reorder and not low:
            continue
        rows.append({"item": item, "on_hand_milli": on_hand, "reserved_milli": reserved, "available_milli": on_hand - reserved, "low": low})
    return rows


def locations() -> list[StockLocation]:
    return list(StockLocation.objects.filter(active=True).select_related("technician__user").order_by("kind", "name"))


def vendors() -> list[Vendor]:
    return list(Vendor.objects.filter(active=True).order_by("name"))


# ---- a job's materials -----------------------------------------------------------------------------


def job_reservations(job: Job) -> list[Reservation]:
    """The job's inventory-backed lines, with what each has held, in use and short."""
    return list(
        Reservation.objects.filter(job=job)
        .exclude(status=Reservation.Status.RELEASED, quantity_milli=0)
        .select_related("item", "location", "line_item")
        .order_by("created_at", "id")
    )


def reservation_of_job(job: Job, reservation_id: int) -> Reservation:
    return get_object_or_404(Reservation.objects.filter(job_id=job.pk).select_related("item", "location", "line_item"), pk=reservation_id)


def job_purchase_orders(job: Job) -> list[PurchaseOrder]:
    """Orders with a line for this job, each with `job_lines` (its lines for this job)."""
    lines = list(PurchaseOrderLine.objects.filter(job=job).select_related("item", "purchase_order__vendor").order_by("-purchase_order_id", "id"))
    orders: dict[int, PurchaseOrder] = {}
    for line in lines:
        po = orders.setdefault(line.purchase_order_id, line.purchase_order)
        po.__dict__.setdefault("job_lines", []).append(line)
    return list(orders.values())


def visit_usage(visit_id: int) -> list[StockMovement]:
    """What was used (issued) on a visit, newest first."""
    return list(
        StockMovement.objects.filter(visit_id=visit_id, kind__in=[StockMovement.Kind.ISSUE, StockMovement.Kind.RETURN])
        .select_related("item", "reservation")
        .order_by("-created_at", "-id")
    )


# ---- purchasing -------------------------------------------------------------------------------------


@dataclass
class Need:
    """A job's shortfall that no open purchase order covers yet."""

    reservation: Reservation
    item: InventoryItem
    vendor: Vendor | None
    short_milli: int
    on_order_milli: int

    @property
    def to_order_milli(self) -> int:
        return max(0, self.short_milli - self.on_order_milli)

    @property
    def to_order(self) -> str:
        return show(self.to_order_milli)


def to_order() -> list[Need]:
    """Every open reservation of a live job still short after what open orders will bring (three
    queries), by vendor then SKU."""
    reservations = [
        r
        for r in Reservation.objects.filter(status=Reservation.Status.OPEN)
        .exclude(job__status__in=JOB_DONE)
        .select_related("item__preferred_vendor", "location", "job__customer")
        .order_by("created_at", "id")
        if r.short_milli > 0
    ]
    on_order: dict[int, int] = {}
    for line in PurchaseOrderLine.objects.filter(reservation__in=[r.pk for r in reservations], purchase_order__status__in=OPEN_PO):
        on_order[line.reservation_id] = on_order.get(line.reservation_id, 0) + line.open_milli
    needs = [Need(r, r.item, r.item.preferred_vendor, r.short_milli, on_order.get(r.pk, 0)) for r in reservations]
    needs = [n for n in needs if n.to_order_milli > 0]
    return sorted(needs, key=lambda n: (n.vendor is None, n.vendor.name if n.vendor else "", n.item.sku, n.reservation.pk))


def purchase_orders(status: str = "") -> QuerySet[PurchaseOrder]:
    qs = PurchaseOrder.objects.select_related("vendor", "ship_to").order_by("-id")
    return qs.filter(status=status) if status else qs


def purchase_order(po_id: int) -> PurchaseOrder:
    """One order with its lines (jobs and items), receipts and history, or Http404 (four queries)."""
    po = get_object_or_404(PurchaseOrder.objects.select_related("vendor", "ship_to", "created_by"), pk=po_id)
    po.line_list = list(po.lines.select_related("item", "job").order_by("id"))
    po.receipts = list(
        StockMovement.objects.filter(purchase_order_line__purchase_order=po, kind=StockMovement.Kind.RECEIPT)
        .select_related("item", "to_location", "actor")
        .order_by("-created_at", "-id")
    )
    po.history = list(po.events.select_related("actor").order_by("-created_at", "-id")[:100])
    return po


def po_total_cents(po: PurchaseOrder) -> int:
    return sum(line_total_cents(from_milli(line.quantity_milli), line.unit_cost_cents) for line in getattr(po, "line_list", po.lines.all()))
