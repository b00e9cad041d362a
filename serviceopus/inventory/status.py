"""The purchase order lifecycle as data. People move an order from draft to ordered, or cancel it;
receipts move it on to partially received and received (actions.purchasing.po_receive)."""

from .models import PurchaseOrder

S = PurchaseOrder.Status

ALLOWED: dict[str, set[str]] = {
    S.DRAFT: {S.ORDERED, S.CANCELLED},
    S.ORDERED: {S.PARTIALLY_RECEIVED, S.RECEIVED, S.CANCELLED},
    S.PARTIALLY_RECEIVED: {S.PARTIALLY_RECEIVED, S.RECEIVED, S.CANCELLED},
    S.RECEIVED: set(),
    S.CANCELLED: set(),
}
# Moves a person asks for; the others follow from receipts.
BY_HAND = {S.ORDERED: "Mark as ordered", S.CANCELLED: "Cancel"}
EDITABLE = {S.DRAFT}
RECEIVABLE = {S.ORDERED, S.PARTIALLY_RECEIVED}
OPEN = (S.DRAFT, S.ORDERED, S.PARTIALLY_RECEIVED)


def can_move(current: str, to: str) -> bool:
    return to in ALLOWED.get(current, set())
