"""Input and output shapes of the inventory API, and the functions that turn rows into output.

Quantities travel as decimal strings with at most three places ("1.5"), never as the stored
thousandths; money is integer cents. Each `*_out` function reads only what the query behind it
selected, so a list costs the same number of queries whatever its length.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from serviceopus.api.schemas import IsoDate, PageParams, PositiveCents, Quantity, RefId, StrictIn, Text, decimal_string
from serviceopus.core.money import line_total_cents
from serviceopus.core.text import NO_NUL_PATTERN
from serviceopus.jobs.api.schemas import LineItemOut, Ref, line_item_out
from serviceopus.jobs.models import LineItem

from ..models import InventoryItem, PurchaseOrder, PurchaseOrderLine, Reservation, StockBalance, StockLocation, StockMovement
from ..quantity import from_milli, show
from ..queries import Need, po_total_cents
from ..readiness import IncomingOrder, MissingPart, Readiness
from ..status import BY_HAND, RECEIVABLE, can_move

POStatusName = Literal[tuple(PurchaseOrder.Status.values)]  # type: ignore[valid-type]
SignedQuantity = decimal_string(
    digits=12, places=3, signed=True, description='Signed quantity as a decimal string: "2" adds two found in a count, "-1.5" removes one and a half.'
)
QuantityText = Annotated[str, Field(description='A decimal string with at most 3 places, e.g. "1.5".')]
Reason = Text(300)
SearchText = Annotated[str, Field(max_length=100, pattern=NO_NUL_PATTERN, description="The start of a SKU, or words of the name.")]
SearchLimit = Annotated[int, Field(ge=1, le=100)]
MAX_PO_LINES = 200


# ---- output -------------------------------------------------------------------------------------


class ItemRef(BaseModel):
    id: int
    sku: str
    name: str
    unit: str


class StockLocationRef(BaseModel):
    id: int
    name: str
    kind: str = Field(description="warehouse or truck.")


class StockLocationOut(StockLocationRef):
    technician: Ref | None = Field(description="Whose truck it is (a technician id and name); null for a warehouse.")
    active: bool


class JobRef(BaseModel):
    id: int
    number: str


class ItemSummaryOut(BaseModel):
    id: int
    sku: str
    name: str
    unit: str
    default_cost_cents: int
    default_price_cents: int
    reorder_point: QuantityText
    preferred_vendor: Ref | None
    active: bool
    on_hand: QuantityText = Field(description="Across every place.")
    reserved: QuantityText = Field(description="Held for jobs, across every place.")
    available: QuantityText = Field(description="On hand and not held for a job.")
    low: bool = Field(description="Free stock is at or below the reorder point.")


class BalanceOut(BaseModel):
    location: StockLocationRef
    on_hand: QuantityText
    reserved: QuantityText
    available: QuantityText


class MovementOut(BaseModel):
    id: int
    kind: str = Field(description="receipt, transfer, issue, return or adjustment.")
    item: ItemRef
    quantity: QuantityText
    from_location: StockLocationRef | None
    to_location: StockLocationRef | None
    job_id: int | None
    visit_id: int | None
    reservation_id: int | None
    purchase_order_line_id: int | None
    unit_cost_cents: int
    reason: str
    actor: Ref | None
    created_at: datetime


class ItemOut(ItemSummaryOut):
    balances: list[BalanceOut] = Field(description="On hand, held and free at each place that has had the item.")
    movements: list[MovementOut] = Field(description="The latest movements of the item, newest first (at most 100).")


class StockLineOut(BaseModel):
    item: ItemRef
    on_hand: QuantityText
    reserved: QuantityText
    available: QuantityText


class LocationStockOut(BaseModel):
    location: StockLocationOut
    items: list[StockLineOut]


class ReservationOut(BaseModel):
    id: int
    job_id: int
    line_item_id: int | None = Field(description="The material line that bills it; null once released with nothing issued.")
    item: ItemRef
    location: StockLocationRef
    status: str = Field(description="open or released.")
    quantity: QuantityText = Field(description="What the job needs (and its line bills).")
    held: QuantityText = Field(description="Held for the job at the place.")
    issued: QuantityText
    returned: QuantityText
    in_use: QuantityText = Field(description="Issued and not returned.")
    short: QuantityText = Field(description="Still to arrive: quantity − held − in use.")
    unit_price_cents: int | None
    unit_cost_cents: int | None
    created_at: datetime


class IncomingOrderOut(BaseModel):
    purchase_order_id: int
    number: str | None = Field(description="PO-000012 once ordered; null for a draft.")
    label: str
    status: str
    expected_on: date | None
    open_quantity: QuantityText = Field(description="What the order still has to bring for this line.")


class MissingPartOut(BaseModel):
    reservation_id: int
    item: ItemRef
    location: StockLocationRef
    quantity: QuantityText = Field(description="How much is missing.")
    orders: list[IncomingOrderOut]
    description: str


class ReadinessOut(BaseModel):
    state: str = Field(description='"" (no parts tracked), ready, partial or blocked.')
    label: str
    summary: str
    missing: list[MissingPartOut]


class MaterialsOut(BaseModel):
    readiness: ReadinessOut
    reservations: list[ReservationOut]


class UsageOut(LineItemOut):
    """The billable material line the usage landed on."""

    reservation_id: int
    item: ItemRef
    used: QuantityText = Field(description="The quantity this request recorded.")


class TruckOut(BaseModel):
    location: StockLocationOut
    items: list[StockLineOut] = Field(description="With `q`: matching items (zero where the truck has none); otherwise what the truck holds.")


class POLineOut(BaseModel):
    id: int
    item: ItemRef
    quantity: QuantityText
    received: QuantityText
    open: QuantityText
    unit_cost_cents: int
    total_cents: int
    job: JobRef | None
    reservation_id: int | None


class ReceiptOut(BaseModel):
    id: int
    purchase_order_line_id: int | None
    item: ItemRef
    quantity: QuantityText
    location: StockLocationRef | None
    unit_cost_cents: int
    reason: str
    actor: Ref | None
    created_at: datetime


class POEventOut(BaseModel):
    message: str
    actor: Ref | None
    created_at: datetime


class PurchaseOrderSummaryOut(BaseModel):
    id: int
    number: str | None = Field(description="Assigned when ordered (gapless); null for a draft.")
    label: str
    status: str
    vendor: Ref
    ship_to: StockLocationRef
    expected_on: date | None
    created_at: datetime
    ordered_at: datetime | None
    total_cents: int
    version: int


class PurchaseOrderOut(PurchaseOrderSummaryOut):
    notes: str
    created_by: Ref | None
    allowed_actions: list[str] = Field(description="What may be done next: order, cancel, receive.")
    lines: list[POLineOut]
    receipts: list[ReceiptOut] = Field(description="Newest first.")
    history: list[POEventOut] = Field(description="Newest first (at most 100).")


class NeedOut(BaseModel):
    reservation_id: int
    job: JobRef
    item: ItemRef
    location: StockLocationRef
    vendor: Ref | None = Field(description="The item's preferred vendor; null when none is set (draft-from-shortfalls skips it).")
    short: QuantityText
    on_order: QuantityText
    to_order: QuantityText


def _user_ref(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name}


def item_ref(item: InventoryItem) -> dict[str, Any]:
    return {"id": item.pk, "sku": item.sku, "name": item.name, "unit": item.unit}


def location_ref(location: StockLocation | None) -> dict[str, Any] | None:
    return None if location is None else {"id": location.pk, "name": location.name, "kind": location.kind}


def location_out(location: StockLocation) -> dict[str, Any]:
    """Reads technician__user, selected with the place."""
    technician = location.technician if location.technician_id else None
    return {
        **location_ref(location),  # type: ignore[dict-item]
        "technician": None if technician is None else {"id": technician.pk, "name": technician.user.display_name},
        "active": location.active,
    }


def item_summary_out(item: InventoryItem, on_hand: int, reserved: int, low: bool) -> dict[str, Any]:
    vendor = item.preferred_vendor if item.preferred_vendor_id else None
    return {
        "id": item.pk,
        "sku": item.sku,
        "name": item.name,
        "unit": item.unit,
        "default_cost_cents": item.default_cost_cents,
        "default_price_cents": item.default_price_cents,
        "reorder_point": show(item.reorder_point_milli),
        "preferred_vendor": None if vendor is None else {"id": vendor.pk, "name": vendor.name},
        "active": item.active,
        "on_hand": show(on_hand),
        "reserved": show(reserved),
        "available": show(on_hand - reserved),
        "low": low,
    }


def item_out(item: InventoryItem, balances: list[StockBalance], movements: list[StockMovement]) -> dict[str, Any]:
    on_hand = sum(b.on_hand_milli for b in balances)
    reserved = sum(b.reserved_milli for b in balances)
    low = item.reorder_point_milli > 0 and on_hand - reserved <= item.reorder_point_milli
    return {
        **item_summary_out(item, on_hand, reserved, low),
        "balances": [
            {"location": location_ref(b.location), "on_hand": show(b.on_hand_milli), "reserved": show(b.reserved_milli), "available": show(b.available_milli)}
            for b in balances
        ],
        "movements": [movement_out(m) for m in movements],
    }


def stock_line_out(item: InventoryItem, on_hand: int, available: int) -> dict[str, Any]:
    return {"item": item_ref(item), "on_hand": show(on_hand), "reserved": show(on_hand - available), "available": show(available)}


def movement_out(movement: StockMovement) -> dict[str, Any]:
    """Reads item, from_location, to_location and actor, selected with the movement."""
    return {
        "id": movement.pk,
        "kind": movement.kind,
        "item": item_ref(movement.item),
        "quantity": show(movement.quantity_milli),
        "from_location": location_ref(movement.from_location if movement.from_location_id else None),
        "to_location": location_ref(movement.to_location if movement.to_location_id else None),
        "job_id": movement.job_id,
        "visit_id": movement.visit_id,
        "reservation_id": movement.reservation_id,
        "purchase_order_line_id": movement.purchase_order_line_id,
        "unit_cost_cents": movement.unit_cost_cents,
        "reason": movement.reason,
        "actor": _user_ref(movement.actor if movement.actor_id else None),
        "created_at": movement.created_at,
    }


def reservation_out(reservation: Reservation) -> dict[str, Any]:
    """Reads item, location and line_item, selected with the reservation."""
    line = reservation.line_item if reservation.line_item_id else None
    return {
        "id": reservation.pk,
        "job_id": reservation.job_id,
        "line_item_id": reservation.line_item_id,
        "item": item_ref(reservation.item),
        "location": location_ref(reservation.location),
        "status": reservation.status,
        "quantity": show(reservation.quantity_milli),
        "held": show(reservation.allocated_milli),
        "issued": show(reservation.issued_milli),
        "returned": show(reservation.returned_milli),
        "in_use": show(reservation.in_use_milli),
        "short": show(reservation.short_milli),
        "unit_price_cents": None if line is None else line.unit_price_cents,
        "unit_cost_cents": None if line is None else line.unit_cost_cents,
        "created_at": reservation.created_at,
    }


def _incoming_out(order: IncomingOrder) -> dict[str, Any]:
    return {
        "purchase_order_id": order.purchase_order_id,
        "number": None if order.status == PurchaseOrder.Status.DRAFT else order.label,
        "label": order.label,
        "status": order.status,
        "expected_on": order.expected_on,
        "open_quantity": show(order.open_milli),
    }


def _missing_out(part: MissingPart) -> dict[str, Any]:
    return {
        "reservation_id": part.reservation_id,
        "item": item_ref(part.item),
        "location": location_ref(part.location),
        "quantity": part.short,
        "orders": [_incoming_out(o) for o in part.orders],
        "description": part.describe(),
    }


def materials_out(readiness: Readiness) -> dict[str, Any]:
    return {
        "readiness": {
            "state": readiness.state,
            "label": readiness.label,
            "summary": readiness.summary(),
            "missing": [_missing_out(m) for m in readiness.missing],
        },
        "reservations": [reservation_out(r) for r in readiness.reservations],
    }


def usage_out(line: LineItem, reservation: Reservation, used_milli: int) -> dict[str, Any]:
    return {**line_item_out(line), "reservation_id": reservation.pk, "item": item_ref(reservation.item), "used": show(used_milli)}


def po_line_out(line: PurchaseOrderLine) -> dict[str, Any]:
    """Reads item and job, selected with the line."""
    return {
        "id": line.pk,
        "item": item_ref(line.item),
        "quantity": show(line.quantity_milli),
        "received": show(line.received_milli),
        "open": show(line.open_milli),
        "unit_cost_cents": line.unit_cost_cents,
        "total_cents": line_total_cents(from_milli(line.quantity_milli), line.unit_cost_cents),
        "job": None if line.job_id is None else {"id": line.job.pk, "number": line.job.number},
        "reservation_id": line.reservation_id,
    }


def po_summary_out(po: PurchaseOrder) -> dict[str, Any]:
    """Reads vendor and ship_to (selected) and the lines (prefetched, or `line_list`)."""
    return {
        "id": po.pk,
        "number": po.number,
        "label": po.label,
        "status": po.status,
        "vendor": {"id": po.vendor.pk, "name": po.vendor.name},
        "ship_to": location_ref(po.ship_to),
        "expected_on": po.expected_on,
        "created_at": po.created_at,
        "ordered_at": po.ordered_at,
        "total_cents": po_total_cents(po),
        "version": po.version,
    }


def allowed_actions(po: PurchaseOrder) -> list[str]:
    names = {PurchaseOrder.Status.ORDERED: "order", PurchaseOrder.Status.CANCELLED: "cancel"}
    actions = [names[to] for to in BY_HAND if can_move(po.status, to)]
    if po.status in RECEIVABLE:
        actions.append("receive")
    return actions


def po_out(po: PurchaseOrder) -> dict[str, Any]:
    """`po` as queries.purchase_order returns it (line_list, receipts and history loaded)."""
    return {
        **po_summary_out(po),
        "notes": po.notes,
        "created_by": _user_ref(po.created_by if po.created_by_id else None),
        "allowed_actions": allowed_actions(po),
        "lines": [po_line_out(line) for line in po.line_list],  # type: ignore[attr-defined]
        "receipts": [
            {
                "id": m.pk,
                "purchase_order_line_id": m.purchase_order_line_id,
                "item": item_ref(m.item),
                "quantity": show(m.quantity_milli),
                "location": location_ref(m.to_location if m.to_location_id else None),
                "unit_cost_cents": m.unit_cost_cents,
                "reason": m.reason,
                "actor": _user_ref(m.actor if m.actor_id else None),
                "created_at": m.created_at,
            }
            for m in po.receipts  # type: ignore[attr-defined]
        ],
        "history": [{"message": e.message, "actor": _user_ref(e.actor if e.actor_id else None), "created_at": e.created_at} for e in po.history],  # type: ignore[attr-defined]
    }


def need_out(need: Need) -> dict[str, Any]:
    reservation = need.reservation
    return {
        "reservation_id": reservation.pk,
        "job": {"id": reservation.job.pk, "number": reservation.job.number},
        "item": item_ref(need.item),
        "location": location_ref(reservation.location),
        "vendor": None if need.vendor is None else {"id": need.vendor.pk, "name": need.vendor.name},
        "short": show(need.short_milli),
        "on_order": show(need.on_order_milli),
        "to_order": need.to_order,
    }


# ---- input --------------------------------------------------------------------------------------


class ItemListParams(BaseModel):
    q: SearchText = ""
    low: bool = Field(False, description="Only items whose free stock is at or below their reorder point.")
    limit: SearchLimit = 25


class TruckParams(BaseModel):
    q: SearchText = ""
    limit: SearchLimit = 25


class ReceiptIn(StrictIn):
    item_id: RefId
    location_id: RefId
    quantity: Quantity
    unit_cost_cents: PositiveCents | None = Field(None, description="Defaults to the item's cost.")
    reason: Reason = ""  # type: ignore[valid-type]


class TransferIn(StrictIn):
    item_id: RefId
    from_location_id: RefId
    to_location_id: RefId
    quantity: Quantity
    reason: Reason = ""  # type: ignore[valid-type]


class AdjustmentIn(StrictIn):
    item_id: RefId
    location_id: RefId
    change: SignedQuantity
    reason: Text(300, min_length=1)  # type: ignore[valid-type]


class ReserveIn(StrictIn):
    item_id: RefId
    location_id: RefId = Field(description="The warehouse or truck to hold it at.")
    quantity: Quantity
    backorder: bool = Field(False, description="Hold what the place has free and leave the rest short, to order (otherwise 409 insufficient_stock).")
    unit_price_cents: PositiveCents | None = Field(None, description="Defaults to the item's price.")


class IssueIn(StrictIn):
    quantity: Quantity


class ReturnIn(StrictIn):
    quantity: Quantity
    location_id: RefId | None = Field(None, description="Where it goes back to; the reservation's place by default.")
    reason: Reason = ""  # type: ignore[valid-type]


class UsageIn(StrictIn):
    item_id: RefId
    quantity: Quantity


class POListParams(PageParams):
    status: POStatusName | None = None


class POLineIn(StrictIn):
    item_id: RefId
    quantity: Quantity
    unit_cost_cents: PositiveCents | None = Field(None, description="Defaults to the item's cost.")
    reservation_id: RefId | None = Field(None, description="The job's reservation this line is bought for.")


class POCreateIn(StrictIn):
    vendor_id: RefId
    ship_to_id: RefId = Field(description="The stock location the goods will be received into.")
    expected_on: IsoDate | None = None
    notes: Text(2000) = ""  # type: ignore[valid-type]
    lines: Annotated[list[POLineIn], Field(max_length=MAX_PO_LINES)] = []


class POOrderIn(StrictIn):
    expected_on: IsoDate | None = Field(None, description="Defaults to the order's date, or today plus the vendor's lead time.")


class POCancelIn(StrictIn):
    reason: Text(300, min_length=1)  # type: ignore[valid-type]


class ReceiveLineIn(StrictIn):
    line_id: RefId
    quantity: Quantity = Field(description='Received now; "0" skips the line.')


class POReceiveIn(StrictIn):
    location_id: RefId | None = Field(None, description="Where the goods went; the order's ship-to place by default.")
    lines: Annotated[list[ReceiveLineIn], Field(min_length=1, max_length=MAX_PO_LINES)]
    over_receipt: bool = Field(False, description="Accept more than a line still has open (otherwise 422 on that line's quantity).")
    note: Reason = ""  # type: ignore[valid-type]


class DraftsIn(StrictIn):
    reservation_ids: Annotated[list[RefId], Field(max_length=500)] | None = Field(None, description="Only these shortfalls; all of them by default.")
