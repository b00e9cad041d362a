"""Office stock movements: receipts without a purchase order, transfers between places (restocking a
truck), and adjustments after a count. Each calls actions/stock.py, as the stock pages do, and answers
the movement written.

Who may: receipts and transfers need inventory.manage_stock, adjustments inventory.adjust_stock (403
otherwise). Taking more than a place has free is 409 `insufficient_stock`.
"""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from serviceopus.api.schemas import body_field_names, responses

from ..actions import stock as actions
from ..models import StockMovement
from .schemas import AdjustmentIn, MovementOut, ReceiptIn, TransferIn, movement_out

router = Router(tags=["inventory"])

FIELD_NAMES = {
    "item": "item_id",
    "location": "location_id",
    "from_location": "from_location_id",
    "to_location": "to_location_id",
    "unit_cost": "unit_cost_cents",
}


def _written(movement: StockMovement) -> dict[str, Any]:
    fresh = StockMovement.objects.select_related("item", "from_location", "to_location", "actor").get(pk=movement.pk)
    return movement_out(fresh)


@router.post("/inventory/receipts", response=responses({201: MovementOut}), summary="Receive stock without a purchase order")
def receipt_create(request: HttpRequest, body: ReceiptIn) -> Status:
    """A counter purchase or opening stock. What arrives first goes to jobs waiting for the item there."""
    with body_field_names(FIELD_NAMES):
        movement = actions.stock_receive(actor=request.auth, **body.model_dump())
    return Status(201, _written(movement))


@router.post("/inventory/transfers", response=responses({201: MovementOut}), summary="Move stock between places")
def transfer_create(request: HttpRequest, body: TransferIn) -> Status:
    """Only free stock moves (not what is held for jobs): 409 `insufficient_stock`, with
    `details.available`."""
    with body_field_names(FIELD_NAMES):
        movement = actions.stock_transfer(actor=request.auth, **body.model_dump())
    return Status(201, _written(movement))


@router.post("/inventory/adjustments", response=responses({201: MovementOut}), summary="Correct stock after a count")
def adjustment_create(request: HttpRequest, body: AdjustmentIn) -> Status:
    """`change` is signed ("-1" for one damaged); the reason is required. Removing more than is on
    hand is 409 `insufficient_stock`; when less than is reserved remains, the newest reservations
    there lose their hold and show as short again."""
    with body_field_names(FIELD_NAMES):
        movement = actions.stock_adjust(actor=request.auth, item_id=body.item_id, location_id=body.location_id, change=body.change, reason=body.reason)
    return Status(201, _written(movement))
