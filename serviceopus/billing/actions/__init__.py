"""Every billing write. Keyword-only arguments, `actor` first, one transaction each; a refusal raises a
DomainError having changed nothing."""

from .estimates import estimate_capture
from .invoices import (
    create_draft,
    invoice_create,
    invoice_delete,
    invoice_issue,
    invoice_line_add,
    invoice_line_remove,
    invoice_line_update,
    invoice_update,
    invoice_void,
)
from .payments import credit_note_create, payment_record, refund_record

__all__ = [
    "create_draft",
    "credit_note_create",
    "estimate_capture",
    "invoice_create",
    "invoice_delete",
    "invoice_issue",
    "invoice_line_add",
    "invoice_line_remove",
    "invoice_line_update",
    "invoice_update",
    "invoice_void",
    "payment_record",
    "refund_record",
]
