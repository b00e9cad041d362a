"""Payments and refunds: record money received against an issued invoice or paid back, and the list.

Who may: billing.view_billing reads; recording needs billing.record_payment (403 otherwise). More than
the balance is 409 `overpayment` and nothing is recorded; a refund of more than was paid is 409
`over_refund`; an invoice that takes no payment (draft, paid, void, a credit note) is 409 `not_payable`.
"""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from serviceopus.api.schemas import LIST, CursorPage, body_field_names, responses
from serviceopus.jobs.pagination import SortKey, paginate

from .. import actions
from . import reads
from .invoices import require_view_billing
from .schemas import FIELD_NAMES, PaymentIn, PaymentListParams, PaymentOut, RefundIn, payment_out

router = Router(tags=["payments"])

NEWEST_FIRST = [SortKey("id", descending=True)]


def _read(payment_id: int) -> dict[str, Any]:
    return payment_out(reads.payments().get(pk=payment_id))


@router.get("/payments", response=responses({200: CursorPage[PaymentOut]}, LIST), summary="List payments and refunds")
def payment_list(request: HttpRequest, params: PaymentListParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    """Newest recorded first; filters combine: `invoice`, `customer`, received between `date_from`
    and `date_to` (inclusive). Two queries whatever the page size."""
    require_view_billing(request.auth)
    qs = reads.filtered_payments(invoice_id=params.invoice, customer_id=params.customer, date_from=params.date_from, date_to=params.date_to)
    page = paginate(qs, NEWEST_FIRST, cursor=params.cursor, size=params.limit)
    return {"items": [payment_out(p) for p in page.rows], "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@router.post("/invoices/{invoice_id}/payments", response=responses({201: PaymentOut}), summary="Record a payment")
def payment_record(request: HttpRequest, invoice_id: int, body: PaymentIn) -> Status:
    """The invoice becomes partially paid or paid; a job whose invoices are all paid closes (unless
    something still needs following up, which its timeline then says)."""
    require_view_billing(request.auth)
    with body_field_names(FIELD_NAMES):
        payment = actions.payment_record(actor=request.auth, invoice_id=invoice_id, **body.model_dump())
    return Status(201, _read(payment.pk))


@router.post("/invoices/{invoice_id}/refunds", response=responses({201: PaymentOut}), summary="Record a refund")
def refund_record(request: HttpRequest, invoice_id: int, body: RefundIn) -> Status:
    """Money paid back to the customer, at most what has been paid (less earlier refunds); `note`
    says why. The invoice's balance grows by it again."""
    require_view_billing(request.auth)
    with body_field_names(FIELD_NAMES):
        payment = actions.refund_record(actor=request.auth, invoice_id=invoice_id, **body.model_dump())
    return Status(201, _read(payment.pk))
