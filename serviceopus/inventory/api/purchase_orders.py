"""Purchase orders: the list (cursor pages, by newest), one order with its lines, receipts and history,
drafting (by hand, or one draft per vendor from what jobs are short of), ordering (the gapless number
is taken then), cancelling and receiving. Each write calls actions/purchasing.py, as the purchasing
pages do.

Who may: the office (inventory.view_stock) reads; drafting, ordering and cancelling need
inventory.purchase, receiving inventory.manage_stock (403 otherwise). Moves the lifecycle does not
allow are 409 `transition_refused`; ordering an empty draft is 409 `po_empty`.
"""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from serviceopus.api.schemas import LIST, CursorPage, body_field_names, responses
from serviceopus.core.errors import InvalidInput
from serviceopus.jobs.pagination import SortKey, paginate

from .. import queries
from ..actions import purchasing as actions
from .items import require_view_stock
from .schemas import (
    DraftsIn,
    NeedOut,
    POCancelIn,
    POCreateIn,
    POListParams,
    POOrderIn,
    POReceiveIn,
    PurchaseOrderOut,
    PurchaseOrderSummaryOut,
    need_out,
    po_out,
    po_summary_out,
)

router = Router(tags=["purchase orders"])

NEWEST_FIRST = [SortKey("id", descending=True)]
HEADER_FIELD_NAMES = {"vendor": "vendor_id", "ship_to": "ship_to_id", "location": "location_id", "quantities": "lines"}


def _read(po_id: int) -> dict[str, Any]:
    return po_out(queries.purchase_order(po_id))


def _line_field_names(count: int) -> dict[str, str]:
    names = {"item": "item_id", "unit_cost": "unit_cost_cents", "reservation": "reservation_id", "quantity": "quantity"}
    return {f"lines.{i}.{old}": f"lines.{i}.{new}" for i in range(count) for old, new in names.items()}


@router.get("/purchase-orders", response=responses({200: CursorPage[PurchaseOrderSummaryOut]}, LIST), summary="List purchase orders")
def po_list(request: HttpRequest, params: POListParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    """Newest first, optionally of one status. Three queries whatever the page size or the table."""
    require_view_stock(request.auth)
    page = paginate(queries.purchase_orders(params.status or "").prefetch_related("lines"), NEWEST_FIRST, cursor=params.cursor, size=params.limit)
    return {"items": [po_summary_out(po) for po in page.rows], "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@router.get("/purchase-orders/shortfalls", response=responses({200: list[NeedOut]}, LIST), summary="What jobs are short of and nobody has ordered")
def shortfalls(request: HttpRequest) -> list[dict[str, Any]]:
    """Every open reservation of a live job still short after what open orders will bring, by vendor
    then SKU — what draft-from-shortfalls would order."""
    require_view_stock(request.auth)
    return [need_out(n) for n in queries.to_order()]


@router.post("/purchase-orders/draft-from-shortfalls", response=responses({201: list[PurchaseOrderSummaryOut]}), summary="Draft orders for the shortfalls")
def drafts_from_shortfalls(request: HttpRequest, body: DraftsIn) -> Status:
    """One draft per vendor and delivery place, a line per job's shortfall at the item's cost (items
    without a preferred vendor are left out). Only `reservation_ids` when given. 409
    `nothing_to_order` when nothing is waiting."""
    require_view_stock(request.auth)
    created = actions.drafts_for_shortfalls(actor=request.auth, reservation_ids=body.reservation_ids)
    drafts = queries.purchase_orders().filter(pk__in=[po.pk for po in created]).prefetch_related("lines")
    return Status(201, [po_summary_out(po) for po in drafts])


@router.post("/purchase-orders", response=responses({201: PurchaseOrderOut}), summary="Draft a purchase order")
def po_create(request: HttpRequest, body: POCreateIn) -> Status:
    """A draft for a vendor, delivered to a stock location, with lines (item, quantity, unit cost —
    the item's cost by default — and optionally the job reservation it is bought for)."""
    require_view_stock(request.auth)
    data = body.model_dump()
    with body_field_names({**HEADER_FIELD_NAMES, **_line_field_names(len(body.lines))}):
        po = actions.po_create(actor=request.auth, **data)
    return Status(201, _read(po.pk))


@router.get("/purchase-orders/{po_id}", response=responses({200: PurchaseOrderOut}, LIST), summary="A purchase order")
def po_detail(request: HttpRequest, po_id: int) -> dict[str, Any]:
    require_view_stock(request.auth)
    return _read(po_id)


@router.post("/purchase-orders/{po_id}/order", response=responses({200: PurchaseOrderOut}), summary="Place the order")
def po_order(request: HttpRequest, po_id: int, body: POOrderIn) -> dict[str, Any]:
    """Draft → ordered: the order gets its number (PO-000001…, gapless) and an expected date. The
    body may be `{}`. 409 `po_empty` for a draft without lines, `transition_refused` for any other
    status, `po_inactive_items` when an item was retired since."""
    require_view_stock(request.auth)
    actions.po_order(actor=request.auth, po_id=po_id, expected_on=body.expected_on)
    return _read(po_id)


@router.post("/purchase-orders/{po_id}/cancel", response=responses({200: PurchaseOrderOut}), summary="Cancel the order")
def po_cancel(request: HttpRequest, po_id: int, body: POCancelIn) -> dict[str, Any]:
    """Nothing more will come; the jobs it was bought for show their parts as not ordered again. 409
    `transition_refused` once received or cancelled."""
    require_view_stock(request.auth)
    actions.po_cancel(actor=request.auth, po_id=po_id, reason=body.reason)
    return _read(po_id)


@router.post("/purchase-orders/{po_id}/receive", response=responses({200: PurchaseOrderOut}), summary="Receive goods")
def po_receive(request: HttpRequest, po_id: int, body: POReceiveIn) -> dict[str, Any]:
    """Goods arrived into a place (the order's ship-to by default): each line's quantity received now
    ("0" skips it). More than a line still has open is 422 on that line's quantity unless
    `over_receipt`. The stock goes first to the reservations the lines were bought for; the order
    becomes partially received or received. 409 `transition_refused` unless ordered."""
    require_view_stock(request.auth)
    po = queries.purchase_order(po_id)
    ours = {line.pk for line in po.line_list}  # type: ignore[attr-defined]
    fields: dict[str, str] = {}
    seen: set[int] = set()
    for i, line in enumerate(body.lines):
        if line.line_id not in ours:
            fields[f"lines.{i}.line_id"] = "Not a line of this purchase order."
        elif line.line_id in seen:
            fields[f"lines.{i}.line_id"] = "This line is listed twice."
        seen.add(line.line_id)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    names = {**HEADER_FIELD_NAMES, **{f"line_{line.line_id}": f"lines.{i}.quantity" for i, line in enumerate(body.lines)}}
    with body_field_names(names):
        actions.po_receive(
            actor=request.auth,
            po_id=po.pk,
            location_id=body.location_id,
            quantities={line.line_id: line.quantity for line in body.lines},
            over_receipt=body.over_receipt,
            note=body.note,
        )
    return _read(po.pk)
