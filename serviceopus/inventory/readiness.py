"""Whether a job's materials are on hand: ready, partially ready or blocked by parts.

`job_readiness(job)` explains it (each missing item, how many, and the purchase order bringing it with
its expected date) for the job header, the API and the scheduling gate. The one-word state is also
kept on the job row (`Job.parts_readiness`), refreshed in the transaction of every change to a
reservation, so the list and the board show and filter it without reading reservations.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q

from serviceopus.jobs.models import Job, PartsReadiness

from .models import InventoryItem, PurchaseOrder, PurchaseOrderLine, Reservation, StockLocation
from .quantity import show

OPEN_PO = (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.ORDERED, PurchaseOrder.Status.PARTIALLY_RECEIVED)


def state_of(reservations: Iterable[Reservation]) -> str:
    """ready when nothing is short; blocked when nothing needed is held yet; partial in between."""
    needed = [r for r in reservations if r.status == Reservation.Status.OPEN and r.quantity_milli > 0]
    if not needed:
        return PartsReadiness.NONE
    short = sum(r.short_milli for r in needed)
    if not short:
        return PartsReadiness.READY
    held = sum(r.allocated_milli + r.in_use_milli for r in needed)
    return PartsReadiness.PARTIAL if held else PartsReadiness.BLOCKED


def refresh_readiness(job_ids: Iterable[int]) -> None:
    """Recompute the state kept on each job (two queries, whatever the count). Inside the caller's
    transaction; never bumps the job's version (it is derived, not an edit)."""
    ids = set(job_ids)
    if not ids:
        return
    by_job: dict[int, list[Reservation]] = {pk: [] for pk in ids}
    for reservation in Reservation.objects.filter(job_id__in=ids, status=Reservation.Status.OPEN):
        by_job[reservation.job_id].append(reservation)
    for pk, reservations in by_job.items():
        Job.objects.filter(pk=pk).exclude(parts_readiness=state_of(reservations)).update(parts_readiness=state_of(reservations))


@dataclass
class IncomingOrder:
    label: str  # "PO-000012" or "Draft PO #4"
    status: str
    status_label: str
    expected_on: date | None
    open_milli: int
    purchase_order_id: int


@dataclass
class MissingPart:
    item: InventoryItem
    location: StockLocation
    short_milli: int
    reservation_id: int
    orders: list[IncomingOrder] = field(default_factory=list)

    @property
    def short(self) -> str:
        return show(self.short_milli)

    @property
    def on_order_milli(self) -> int:
        return sum(o.open_milli for o in self.orders if o.status != PurchaseOrder.Status.DRAFT)

    def describe(self) -> str:
        text = f"{self.short} {self.item.unit} × {self.item.sku} {self.item.name}"
        ordered = [o for o in self.orders if o.status != PurchaseOrder.Status.DRAFT]
        if ordered:
            text += " (" + ", ".join(o.label + (f", expected {o.expected_on:%b %d}" if o.expected_on else "") for o in ordered) + ")"
        elif self.orders:
            text += " (on a draft purchase order, not ordered yet)"
        else:
            text += " (not ordered)"
        return text


@dataclass
class Readiness:
    state: str
    reservations: list[Reservation]
    missing: list[MissingPart]

    @property
    def label(self) -> str:
        return PartsReadiness(self.state).label

    @property
    def tracked(self) -> bool:
        return self.state != PartsReadiness.NONE

    def summary(self) -> str:
        return "; ".join(m.describe() for m in self.missing)


def job_readiness(job: Job) -> Readiness:
    """The job's reservations and what is missing, with the orders bringing it (two queries)."""
    reservations = list(
        Reservation.objects.filter(job=job).exclude(status=Reservation.Status.RELEASED, quantity_milli=0).select_related("item", "location", "line_item")
    )
    short = [r for r in reservations if r.short_milli > 0]
    orders: dict[int, list[IncomingOrder]] = {r.pk: [] for r in short}
    if short:
        lines = PurchaseOrderLine.objects.filter(Q(reservation__in=[r.pk for r in short]), purchase_order__status__in=OPEN_PO).select_related("purchase_order")
        for line in lines.order_by("purchase_order__expected_on", "purchase_order_id"):
            po = line.purchase_order
            orders[line.reservation_id].append(IncomingOrder(po.label, po.status, po.get_status_display(), po.expected_on, line.open_milli, po.pk))
    missing = [MissingPart(r.item, r.location, r.short_milli, r.pk, orders[r.pk]) for r in short]
    return Readiness(state_of(reservations), reservations, missing)
