"""A draft's lines — add a charge, a fee or a discount, change a line, take one off — and credit notes,
which correct an issued invoice line by line. Each answers with the whole invoice, whose totals and
version the change moved.

Who may: billing.invoice edits drafts, billing.void_invoice issues credit notes (403 otherwise). Lines
change only on a draft (409 `not_draft`); the request carries the invoice's `version` (409 `stale`).
"""

from typing import Any

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from serviceopus.api.schemas import body_field_names, responses
from serviceopus.core.errors import InvalidInput

from .. import actions
from ..models import InvoiceLine
from .invoices import read_invoice, require_view_billing
from .schemas import FIELD_NAMES, CreditNoteIn, InvoiceOut, LineIn, LinePatch, VersionParams

router = Router(tags=["invoices"])


@router.post("/invoices/{invoice_id}/lines", response=responses({201: InvoiceOut}), summary="Add a line to a draft")
def line_add(request: HttpRequest, invoice_id: int, body: LineIn) -> Status:
    """A service charge, a fee, or a discount (its price entered positive, billed negative), taxed at
    `tax_rate_id` when given."""
    require_view_billing(request.auth)
    data = body.model_dump()
    with body_field_names(FIELD_NAMES):
        actions.invoice_line_add(actor=request.auth, invoice_id=invoice_id, **data)
    return Status(201, read_invoice(invoice_id))


@router.patch("/invoices/{invoice_id}/lines/{line_id}", response=responses({200: InvoiceOut}), summary="Change a line of a draft")
def line_update(request: HttpRequest, invoice_id: int, line_id: int, body: LinePatch) -> dict[str, Any]:
    """Description, quantity, price and tax; fields left out keep their value. A line from a job keeps
    its source; a covered line stays at zero; 409 `adjustment` for the not-to-exceed adjustment
    (recreate the draft to recompute it)."""
    require_view_billing(request.auth)
    # By its own key first: a foreign-key filter is not range-checked, and an id past 64 bits would
    # reach the database.
    line = get_object_or_404(InvoiceLine, pk=line_id)
    if line.invoice_id != invoice_id:
        raise Http404("No such line on this invoice.")
    changes = body.model_dump(exclude_unset=True)
    with body_field_names(FIELD_NAMES):
        actions.invoice_line_update(
            actor=request.auth,
            invoice_id=invoice_id,
            version=body.version,
            line_id=line.pk,
            description=changes.get("description", line.description),
            quantity=changes.get("quantity", line.quantity),
            # A discount is stored negative and entered positive.
            unit_price_cents=changes.get("unit_price_cents", abs(line.unit_price_cents)),
            tax_rate_id=changes.get("tax_rate_id", line.tax_rate_id),
        )
    return read_invoice(invoice_id)


@router.delete("/invoices/{invoice_id}/lines/{line_id}", response=responses({200: InvoiceOut}), summary="Take a line off a draft")
def line_remove(request: HttpRequest, invoice_id: int, line_id: int, params: VersionParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    """Its source (a job line, a time entry) is free to invoice again. 409 `last_line`: delete the
    draft instead."""
    require_view_billing(request.auth)
    actions.invoice_line_remove(actor=request.auth, invoice_id=invoice_id, version=params.version, line_id=line_id)
    return read_invoice(invoice_id)


@router.post("/invoices/{invoice_id}/credit-notes", response=responses({201: InvoiceOut}), summary="Issue a credit note against an invoice")
def credit_note_create(request: HttpRequest, invoice_id: int, body: CreditNoteIn) -> Status:
    """Credits part or all of chosen lines (amounts before tax; the tax that went with them follows).
    The credit note gets its own gapless number (CN-000001…) and lowers the invoice's balance; a
    balance below zero means the customer is owed a refund. 422 on `lines` for a line not on the
    invoice or more than is left to credit of it; 409 `not_creditable` for a draft or void invoice."""
    require_view_billing(request.auth)
    fields: dict[str, str] = {}
    seen: set[int] = set()
    for i, line in enumerate(body.lines):
        if line.line_id in seen:
            fields[f"lines.{i}.line_id"] = "This line is listed twice."
        seen.add(line.line_id)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    note = actions.credit_note_create(
        actor=request.auth, invoice_id=invoice_id, version=body.version, amounts={line.line_id: line.amount_cents for line in body.lines}, reason=body.reason
    )
    return Status(201, read_invoice(note.pk))
