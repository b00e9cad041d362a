"""Purchase orders: drafting (by hand, or from what jobs are short of), ordering (the gapless number is
taken then), receiving (partial allowed, into a place, fulfilling the reservations the lines were
bought for) and cancelling. The moves follow status.ALLOWED; each is atomic and written to the
order's history and to the timeline of each job it serves."""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.models import next_in_sequence
from serviceopus.core.text import clean_text
from serviceopus.jobs.models import Job

from ..models import InventoryItem, PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine, Reservation, StockLocation, StockMovement, Vendor
from ..quantity import parse_quantity, show
from ..readiness import refresh_readiness
from ..status import EDITABLE, OPEN, RECEIVABLE, can_move
from .reservations import materials_event
from .stock import allocate_waiting, lock_balances, locked, move, require

S = PurchaseOrder.Status
MAX_CENTS = 10**13
LINE_ID = re.compile(r"[0-9]{1,18}")


def po_number(n: int) -> str:
    return f"PO-{n:06d}"


def _event(po: PurchaseOrder, actor: User | None, message: str) -> None:
    PurchaseOrderEvent.objects.create(purchase_order=po, actor=actor, message=message[:500])


def _locked_po(po_id: int) -> PurchaseOrder:
    po = locked(PurchaseOrder.objects.select_related("vendor", "ship_to")).filter(pk=po_id).first()
    if po is None:
        raise DomainError("not_found", "No such purchase order.")
    return po


def _clean_cost(fields: dict[str, str], name: str, cents: object) -> int:
    if not isinstance(cents, int) or isinstance(cents, bool) or not 0 <= cents <= MAX_CENTS:
        fields[name] = "Enter a valid unit cost (zero or more)."
        return 0
    return cents


def _clean_header(
    fields: dict[str, str], *, vendor_id: int | None, ship_to_id: int | None, expected_on: date | None, notes: str
) -> tuple[Vendor | None, StockLocation | None, str]:
    vendor = Vendor.objects.filter(pk=vendor_id, active=True).first() if vendor_id else None
    if vendor is None:
        fields["vendor"] = "Choose an active vendor."
    ship_to = StockLocation.objects.filter(pk=ship_to_id, active=True).first() if ship_to_id else None
    if ship_to is None:
        fields["ship_to"] = "Choose where the goods will be received."
    if expected_on is not None and not isinstance(expected_on, date):
        fields["expected_on"] = "Enter a date."
    notes = clean_text(fields, "notes", notes, max_length=2000)
    return vendor, ship_to, notes


def po_create(
    *,
    actor: User,
    vendor_id: int,
    ship_to_id: int,
    expected_on: date | None = None,
    notes: str = "",
    lines: Iterable[Mapping[str, Any]] = (),
) -> PurchaseOrder:
    """A draft order. Each line: item_id, quantity, unit_cost_cents (default: the item's cost), and
    optionally reservation_id — the job's shortfall it is bought for."""
    require(actor, "inventory.purchase", "You may not create purchase orders.")
    fields: dict[str, str] = {}
    vendor, ship_to, notes = _clean_header(fields, vendor_id=vendor_id, ship_to_id=ship_to_id, expected_on=expected_on, notes=notes)
    cleaned = [_clean_line(fields, f"lines.{i}", line) for i, line in enumerate(lines)]
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        po = PurchaseOrder.objects.create(vendor=vendor, ship_to=ship_to, expected_on=expected_on, notes=notes, created_by=actor)
        for line in cleaned:
            PurchaseOrderLine.objects.create(purchase_order=po, **line)
        _event(po, actor, f"Drafted for {vendor} with {len(cleaned)} line{'s' if len(cleaned) != 1 else ''}")
        _tell_jobs(po, actor, f"Draft purchase order #{po.pk} ({vendor}) started for this job's materials", [line["job_id"] for line in cleaned])
    return po


def _clean_line(fields: dict[str, str], prefix: str, line: Mapping[str, Any]) -> dict[str, Any]:
    item = InventoryItem.objects.filter(pk=line.get("item_id"), active=True).first() if line.get("item_id") else None
    if item is None:
        fields[f"{prefix}.item"] = "Choose an active item."
    milli = parse_quantity(line.get("quantity"), fields, f"{prefix}.quantity")
    cost = line.get("unit_cost_cents")
    cost = _clean_cost(fields, f"{prefix}.unit_cost", cost) if cost is not None else (item.default_cost_cents if item else 0)
    reservation = None
    if line.get("reservation_id"):
        reservation = Reservation.objects.filter(pk=line["reservation_id"], status=Reservation.Status.OPEN).first()
        if reservation is None or (item is not None and reservation.item_id != item.pk):
            fields[f"{prefix}.reservation"] = "That job's reservation is not open for this item."
    return {
        "item": item,
        "quantity_milli": milli,
        "unit_cost_cents": cost,
        "reservation": reservation,
        "job_id": reservation.job_id if reservation else None,
    }


def _tell_jobs(po: PurchaseOrder, actor: User | None, message: str, job_ids: Iterable[int | None]) -> None:
    for job in Job.objects.filter(pk__in={j for j in job_ids if j}):
        materials_event(job, actor, message, data={"purchase_order": po.pk})


def _editable(po: PurchaseOrder) -> None:
    if po.status not in EDITABLE:
        raise ConflictError("po_locked", f"{po.label} is {po.get_status_display().lower()}; only a draft's lines can change.")


def po_update(*, actor: User, po_id: int, version: int, ship_to_id: int, expected_on: date | None, notes: str) -> PurchaseOrder:
    """Change where and when (a draft, or an ordered one whose delivery date moved) and the notes."""
    require(actor, "inventory.purchase", "You may not change purchase orders.")
    with transaction.atomic():
        po = _locked_po(po_id)
        fields: dict[str, str] = {}
        _, ship_to, notes = _clean_header(fields, vendor_id=po.vendor_id, ship_to_id=ship_to_id, expected_on=expected_on, notes=notes)
        if fields:
            raise InvalidInput("Please correct the highlighted fields.", fields)
        if po.status not in OPEN:
            raise ConflictError("po_locked", f"{po.label} is {po.get_status_display().lower()}; it can no longer change.")
        if po.status != S.DRAFT and ship_to and ship_to.pk != po.ship_to_id:
            raise ConflictError("po_locked", "The delivery place can change only while the order is a draft.")
        if not PurchaseOrder.objects.filter(pk=po.pk, version=version).update(ship_to=ship_to, expected_on=expected_on, notes=notes, version=F("version") + 1):
            raise ConflictError("stale", "This purchase order was changed by someone else. Reload to see it.")
        if po.expected_on != expected_on:
            _event(po, actor, f"Expected delivery {expected_on:%b %d, %Y}" if expected_on else "Expected delivery date cleared")
        if ship_to and ship_to.pk != po.ship_to_id:
            _event(po, actor, f"Deliver to {ship_to.name} (was {po.ship_to.name})")
        po.refresh_from_db()
    return po


def po_line_add(
    *, actor: User, po_id: int, item_id: int, quantity: object, unit_cost_cents: int | None = None, reservation_id: int | None = None
) -> PurchaseOrderLine:
    """A line on a draft; with `reservation_id`, bought for that job's shortfall (its receipt goes to it first)."""
    require(actor, "inventory.purchase", "You may not change purchase orders.")
    fields: dict[str, str] = {}
    line = _clean_line(fields, "line", {"item_id": item_id, "quantity": quantity, "unit_cost_cents": unit_cost_cents, "reservation_id": reservation_id})
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", {k.removeprefix("line."): v for k, v in fields.items()})
    with transaction.atomic():
        po = _locked_po(po_id)
        _editable(po)
        created = PurchaseOrderLine.objects.create(purchase_order=po, **line)
        PurchaseOrder.objects.filter(pk=po.pk).update(version=F("version") + 1)
        _event(po, actor, f"Added {show(created.quantity_milli)} × {created.item.sku}")
        _tell_jobs(po, actor, f"{po.label} ({po.vendor}) will bring {show(created.quantity_milli)} × {created.item.sku} for this job", [created.job_id])
    return created


def po_line_update(*, actor: User, line_id: int, quantity: object, unit_cost_cents: int) -> PurchaseOrderLine:
    require(actor, "inventory.purchase", "You may not change purchase orders.")
    fields: dict[str, str] = {}
    milli = parse_quantity(quantity, fields)
    cost = _clean_cost(fields, "unit_cost", unit_cost_cents)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        line = PurchaseOrderLine.objects.select_related("item").filter(pk=line_id).first()
        if line is None:
            raise DomainError("not_found", "No such purchase order line.")
        po = _locked_po(line.purchase_order_id)
        _editable(po)
        PurchaseOrderLine.objects.filter(pk=line.pk).update(quantity_milli=milli, unit_cost_cents=cost)
        PurchaseOrder.objects.filter(pk=po.pk).update(version=F("version") + 1)
        _event(po, actor, f"Changed {line.item.sku}: {show(line.quantity_milli)} → {show(milli)}")
        line.refresh_from_db()
    return line


def po_line_remove(*, actor: User, line_id: int) -> None:
    require(actor, "inventory.purchase", "You may not change purchase orders.")
    with transaction.atomic():
        line = PurchaseOrderLine.objects.select_related("item").filter(pk=line_id).first()
        if line is None:
            raise DomainError("not_found", "No such purchase order line.")
        po = _locked_po(line.purchase_order_id)
        _editable(po)
        line.delete()
        PurchaseOrder.objects.filter(pk=po.pk).update(version=F("version") + 1)
        _event(po, actor, f"Removed {line.item.sku}")


def po_order(*, actor: User, po_id: int, expected_on: date | None = None) -> PurchaseOrder:
    """Draft → ordered: the order gets its number (gapless: taken in this transaction, so a refused or
    rolled-back order leaves no hole) and an expected date (the vendor's lead time by default)."""
    require(actor, "inventory.purchase", "You may not place purchase orders.")
    with transaction.atomic():
        po = _locked_po(po_id)
        if not can_move(po.status, S.ORDERED):
            raise ConflictError("transition_refused", f"{po.label} is {po.get_status_display().lower()}; only a draft can be ordered.")
        lines = list(po.lines.select_related("item"))
        if not lines:
            raise ConflictError("po_empty", "Add at least one line before ordering.")
        inactive = [line.item.sku for line in lines if not line.item.active]
        if inactive:
            raise ConflictError("po_inactive_items", "These items are no longer active: " + ", ".join(inactive) + ".")
        now = timezone.now()
        expected = expected_on or po.expected_on or (timezone.localdate(now) + timedelta(days=po.vendor.lead_time_days))
        number = po_number(next_in_sequence("purchase_order"))
        PurchaseOrder.objects.filter(pk=po.pk).update(status=S.ORDERED, number=number, ordered_at=now, expected_on=expected, version=F("version") + 1)
        po.refresh_from_db()
        _event(po, actor, f"Ordered from {po.vendor} as {number}, expected {expected:%b %d, %Y}")
        _tell_jobs(po, actor, f"Materials ordered on {number} ({po.vendor}), expected {expected:%b %d, %Y}", [line.job_id for line in lines])
    return po


def po_cancel(*, actor: User, po_id: int, reason: str) -> PurchaseOrder:
    """Nothing more will come: the jobs it was bought for show their parts as not ordered again."""
    require(actor, "inventory.purchase", "You may not cancel purchase orders.")
    fields: dict[str, str] = {}
    reason = clean_text(fields, "reason", reason, max_length=300, required=True)
    if fields:
        raise InvalidInput("Say why the order is cancelled.", fields)
    with transaction.atomic():
        po = _locked_po(po_id)
        if not can_move(po.status, S.CANCELLED):
            raise ConflictError("transition_refused", f"{po.label} is {po.get_status_display().lower()}; it cannot be cancelled.")
        PurchaseOrder.objects.filter(pk=po.pk).update(status=S.CANCELLED, version=F("version") + 1)
        po.refresh_from_db()
        _event(po, actor, f"Cancelled: {reason}")
        _tell_jobs(po, actor, f"{po.label} ({po.vendor}) cancelled: {reason}", po.lines.values_list("job_id", flat=True))
    return po


def po_receive(
    *,
    actor: User,
    po_id: int,
    location_id: int | None,
    quantities: Mapping[int, object],
    over_receipt: bool = False,
    note: str = "",
) -> list[StockMovement]:
    """Goods arrived: `quantities` maps line id → quantity received now (blank or zero lines skipped).
    More than a line still has open is refused unless `over_receipt`. Each line's stock goes into the
    place and first to the reservation it was bought for; the order becomes partially received or
    received."""
    require(actor, "inventory.manage_stock", "You may not receive stock.")
    fields: dict[str, str] = {}
    note = clean_text(fields, "note", note, max_length=300)
    with transaction.atomic():
        po = _locked_po(po_id)
        if po.status not in RECEIVABLE:
            raise ConflictError("transition_refused", f"{po.label} is {po.get_status_display().lower()}; only an ordered purchase order can be received.")
        location = StockLocation.objects.filter(pk=location_id or po.ship_to_id, active=True).first()
        if location is None:
            fields["location"] = "Choose an active stock location."
        lines = {line.pk: line for line in locked(po.lines.select_related("item"))}
        wanted: dict[int, int] = {}
        seen: set[int] = set()
        for raw_id, raw in quantities.items():
            # Keys come from forms and JSON as text: only plain ASCII digits name a line ("²".isdigit() is true).
            line = lines.get(int(raw_id)) if isinstance(raw_id, int | str) and LINE_ID.fullmatch(str(raw_id)) else None
            if line is None:
                fields[f"line_{str(raw_id)[:20]}"] = "Not a line of this purchase order."
                continue
            if line.pk in seen:
                fields[f"line_{line.pk}"] = "This line is given twice."
                continue
            seen.add(line.pk)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            milli = parse_quantity(raw, fields, f"line_{line.pk}", allow_zero=True)
            if milli and milli > line.open_milli and not over_receipt:
                fields[f"line_{line.pk}"] = (
                    f"{show(milli)} is more than the {show(line.open_milli)} still open of {show(line.quantity_milli)} ordered; "
                    "tick “over-receipt” to accept the extra."
                )
            elif milli:
                wanted[line.pk] = milli
        if not wanted and not fields:
            fields["quantities"] = "Enter the quantity received on at least one line."
        if fields:
            raise InvalidInput("Please correct the highlighted fields.", fields)
        assert location
        movements, jobs = [], set()
        # Items in a fixed order, so two receipts of the same items lock their balances alike.
        for line_id, milli in sorted(wanted.items(), key=lambda pair: (lines[pair[0]].item_id, pair[0])):
            line = lines[line_id]
            reservation = None
            if line.reservation_id:
                # The reservation's own place is locked too: it may move here with its goods.
                place = Reservation.objects.filter(pk=line.reservation_id).values_list("location_id", flat=True).first()
                lock_balances(line.item_id, location.pk, *([place] if place else []))
                reservation = locked(Reservation.objects).filter(pk=line.reservation_id).first()
            movements.append(
                move(
                    actor=actor,
                    kind=StockMovement.Kind.RECEIPT,
                    item=line.item,
                    quantity_milli=milli,
                    to_location=location,
                    purchase_order_line_id=line.pk,
                    unit_cost_cents=line.unit_cost_cents,
                    reason=f"{po.label}" + (f": {note}" if note else ""),
                )
            )
            PurchaseOrderLine.objects.filter(pk=line.pk).update(received_milli=F("received_milli") + milli)
            # Bought for a job but delivered elsewhere: a reservation that holds nothing yet moves with
            # its goods; one already partly held stays, and the goods join that place's stock.
            if (
                reservation is not None
                and reservation.status == Reservation.Status.OPEN
                and reservation.location_id != location.pk
                and reservation.allocated_milli == 0
                and reservation.in_use_milli == 0
            ):
                Reservation.objects.filter(pk=reservation.pk).update(location=location)
                reservation.location = location
            jobs |= allocate_waiting(line.item, location, first=reservation if reservation and reservation.location_id == location.pk else None)
            if line.job_id:
                jobs.add(line.job_id)
        fresh = list(po.lines.values_list("quantity_milli", "received_milli"))
        status = S.RECEIVED if all(received >= quantity for quantity, received in fresh) else S.PARTIALLY_RECEIVED
        PurchaseOrder.objects.filter(pk=po.pk).update(status=status, version=F("version") + 1)
        summary = ", ".join(f"{show(m)} × {lines[i].item.sku}" for i, m in wanted.items())
        _event(
            po,
            actor,
            f"Received into {location.name}: {summary}"
            + (" (over-receipt)" if over_receipt and any(m > lines[i].open_milli for i, m in wanted.items()) else ""),
        )
        for job_id in {lines[i].job_id for i in wanted if lines[i].job_id}:
            got = ", ".join(f"{show(m)} × {lines[i].item.sku}" for i, m in wanted.items() if lines[i].job_id == job_id)
            materials_event(Job.objects.get(pk=job_id), actor, f"Received on {po.label}: {got}", data={"purchase_order": po.pk})
        refresh_readiness(jobs)
    return movements


def drafts_for_shortfalls(*, actor: User, reservation_ids: Iterable[int] | None = None) -> list[PurchaseOrder]:
    """One draft per vendor and delivery place for what jobs are short of and nobody has ordered
    (queries.to_order): a line per job's shortfall at the item's cost, delivered where it is reserved.
    Items without a preferred vendor are left for a person to order."""
    from ..queries import to_order

    require(actor, "inventory.purchase", "You may not create purchase orders.")
    chosen = None if reservation_ids is None else set(reservation_ids)
    with transaction.atomic():
        # Two people pressing the button at once: the second waits here, then finds the first one's
        # drafts covering the shortfalls (to_order counts draft lines) instead of drafting them again.
        next_in_sequence("purchase_order_drafting")
        needs = [n for n in to_order() if n.vendor is not None and n.vendor.active and (chosen is None or n.reservation.pk in chosen)]
        if not needs:
            raise ConflictError("nothing_to_order", "Nothing is waiting to be ordered from a vendor.")
        groups: dict[tuple[int, int], list] = defaultdict(list)
        for need in needs:
            groups[(need.vendor.pk, need.reservation.location_id)].append(need)
        created = []
        for (vendor_id, location_id), group in groups.items():
            po = PurchaseOrder.objects.create(vendor_id=vendor_id, ship_to_id=location_id, created_by=actor)
            for need in group:
                PurchaseOrderLine.objects.create(
                    purchase_order=po,
                    item=need.item,
                    quantity_milli=need.to_order_milli,
                    unit_cost_cents=need.item.default_cost_cents,
                    job_id=need.reservation.job_id,
                    reservation=need.reservation,
                )
            _event(po, actor, f"Drafted for jobs short of parts: {len(group)} line{'s' if len(group) != 1 else ''}")
            _tell_jobs(po, actor, f"Draft purchase order #{po.pk} ({po.vendor}) started for this job's materials", [n.reservation.job_id for n in group])
            created.append(po)
    return created
