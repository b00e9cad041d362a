"""Input and output shapes of the billing API, and the functions that turn rows into output.

Money is integer cents; quantities are decimal strings with three places ("1.500"). Each `*_out`
function reads only what the query behind it selected or prefetched (api/reads.py), so a list costs
the same number of queries whatever its length.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.utils import timezone
from pydantic import BaseModel, Field

from serviceopus.api.schemas import MAX_ID, IsoDate, PageParams, Quantity, RefId, StrictIn, Text, Version, decimal_out
from serviceopus.jobs.api.schemas import Ref
from serviceopus.jobs.models import Job

from ..actions.invoices import MAX_JOBS
from ..actions.payments import MAX_CENTS
from ..models import Invoice, InvoiceLine, Payment
from ..pricing import Draft, JobBilling, Preview
from ..status import OPEN_FOR_PAYMENT, InvoiceStatus

StatusName = Literal[tuple(InvoiceStatus.values)]  # type: ignore[valid-type]
InvoiceKindName = Literal[tuple(Invoice.Kind.values)]  # type: ignore[valid-type]
MethodName = Literal[tuple(Payment.Method.values)]  # type: ignore[valid-type]
ManualKind = Literal["service", "fee", "discount"]
Amount = Annotated[int, Field(ge=1, le=MAX_CENTS, description="Cents, above zero.")]
LinePrice = Annotated[int, Field(ge=0, le=MAX_CENTS, description="Cents per unit; a discount is entered positive and billed negative.")]
TermsDays = Annotated[int, Field(ge=0, le=365, description="Payment terms in days (the due date is the issue date plus these).")]
JobIds = Annotated[list[RefId], Field(min_length=1, max_length=MAX_JOBS, description=f"The jobs to invoice: one customer's, at most {MAX_JOBS}.")]
Reason = Text(500, min_length=1)
MAX_CREDIT_LINES = 200

# Actions name fields after the model or the form; bodies send ids and cents. Errors are reported
# under the body's names.
FIELD_NAMES = {"jobs": "job_ids", "amount": "amount_cents", "unit_price": "unit_price_cents", "tax_rate": "tax_rate_id"}


# ---- output -------------------------------------------------------------------------------------


class JobRef(BaseModel):
    id: int
    number: str


class InvoiceRef(BaseModel):
    id: int
    number: str | None = Field(description="INV-000001 / CN-000001 once issued; null for a draft.")
    label: str


class TaxRateRef(BaseModel):
    id: int
    name: str
    rate_milli_percent: int = Field(description="Thousandths of a percent: 8.875 % is 8875.")


class InvoiceLineOut(BaseModel):
    id: int
    position: int
    kind: str = Field(description="service, labour, material, fee, discount, adjustment (not-to-exceed) or credit.")
    description: str
    quantity: str
    unit_price_cents: int
    amount_cents: int
    covered: bool = Field(description="Covered work (agreement, warranty) is billed at zero; list_amount_cents is what it would have cost.")
    list_amount_cents: int
    tax_rate: TaxRateRef | None
    tax_rate_milli_percent: int
    tax_cents: int
    job: JobRef | None
    line_item_id: int | None = Field(description="The job line it bills, if any.")
    time_entry_id: int | None = Field(description="The approved time entry it bills, if any.")
    credits_line_id: int | None = Field(description="On a credit note: the invoice line it credits.")
    live: bool = Field(description="False once the invoice is void: its work may be invoiced again.")


class PaymentOut(BaseModel):
    id: int
    kind: str = Field(description="payment or refund.")
    invoice: InvoiceRef
    customer: Ref
    method: str
    amount_cents: int
    signed_cents: int = Field(description="Negative for a refund.")
    reference: str
    received_on: date
    note: str
    recorded_by: Ref | None
    created_at: datetime


class InvoiceSummaryOut(BaseModel):
    id: int
    number: str | None = Field(description="Assigned at issue from a gapless sequence; null for a draft.")
    label: str
    kind: str = Field(description="invoice or credit_note.")
    status: str
    customer: Ref
    jobs: list[JobRef]
    credits: InvoiceRef | None = Field(description="On a credit note: the invoice it corrects.")
    issue_date: date | None
    due_date: date | None
    overdue: bool = Field(description="Open for payment and past its due date.")
    terms_days: int
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    paid_cents: int = Field(description="Payments less refunds.")
    credited_cents: int = Field(description="Credit notes issued against it.")
    balance_cents: int = Field(description="What the customer still owes; negative when a credit note exceeds it.")
    created_at: datetime
    version: int


class InvoiceOut(InvoiceSummaryOut):
    memo: str
    bill_to: str
    created_by: Ref | None
    issued_at: datetime | None
    voided_at: datetime | None
    void_reason: str
    allowed_actions: list[str] = Field(description="What may be done next: edit, issue, delete, void, credit, pay, refund.")
    lines: list[InvoiceLineOut]
    payments: list[PaymentOut] = Field(description="Payments and refunds, in the order received.")
    credit_notes: list[InvoiceRef]


class PreviewLineOut(BaseModel):
    kind: str
    description: str
    quantity: str
    unit_price_cents: int
    amount_cents: int
    covered: bool
    list_amount_cents: int
    tax_rate: TaxRateRef | None
    tax_rate_milli_percent: int
    tax_cents: int
    job_id: int | None
    line_item_id: int | None
    time_entry_id: int | None


class PreviewJobOut(BaseModel):
    job: JobRef
    billing_type: str
    lines: list[PreviewLineOut]
    warnings: list[str]
    cap_cents: int | None = Field(description="Not-to-exceed: what the limit still allows (less earlier invoices); null otherwise.")
    overage_cents: int = Field(description="Not-to-exceed: what the work comes to above the limit (not billed).")


class PreviewOut(BaseModel):
    empty: bool = Field(description="Nothing left to invoice: creating the invoice would be refused (409 nothing_to_invoice).")
    jobs: list[PreviewJobOut]
    lines: list[PreviewLineOut]
    warnings: list[str]
    subtotal_cents: int
    tax_cents: int
    total_cents: int


class ReadyJobOut(BaseModel):
    id: int
    number: str
    customer: Ref
    job_type: Ref
    billing_type: str
    completed_at: datetime | None
    draft_invoice_id: int | None = Field(description="A draft invoice already holding some of its work, if any.")


class ExportEntryOut(BaseModel):
    seq: int = Field(description="The entry's place in the journal: stable, gapless, the cursor.")
    kind: str = Field(description="invoice_issued, credit_note_issued, invoice_voided, payment or refund.")
    id: int | None = Field(description="The document the entry records: the invoice or credit note, or the payment.")
    invoice_id: int
    payment_id: int | None
    data: dict[str, Any] = Field(description="The snapshot taken when the entry was written (see docs/accounting-export.md).")


class ExportOut(BaseModel):
    since: int
    next_since: int = Field(description="Store it and send it as `since` next time; equals `since` when nothing was new.")
    has_more: bool = Field(description="More entries wait after next_since: ask again at once.")
    entries: list[ExportEntryOut]


def _user_ref(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name}


def invoice_ref(invoice: Invoice) -> dict[str, Any]:
    return {"id": invoice.pk, "number": invoice.number, "label": str(invoice)}


def job_ref(job: Job) -> dict[str, Any]:
    return {"id": job.pk, "number": job.number}


def tax_rate_ref(rate: Any) -> dict[str, Any] | None:
    return None if rate is None else {"id": rate.pk, "name": rate.name, "rate_milli_percent": rate.rate_milli_percent}


def is_overdue(invoice: Invoice, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return invoice.kind == Invoice.Kind.INVOICE and invoice.status in OPEN_FOR_PAYMENT and invoice.due_date is not None and invoice.due_date < today


def invoice_summary_out(invoice: Invoice) -> dict[str, Any]:
    """Reads customer and credits (selected) and jobs (prefetched)."""
    return {
        **invoice_ref(invoice),
        "kind": invoice.kind,
        "status": invoice.status,
        "customer": {"id": invoice.customer.pk, "name": invoice.customer.name},
        "jobs": [job_ref(job) for job in invoice.jobs.all()],
        "credits": invoice_ref(invoice.credits) if invoice.credits_id else None,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "overdue": is_overdue(invoice),
        "terms_days": invoice.terms_days,
        "subtotal_cents": invoice.subtotal_cents,
        "tax_cents": invoice.tax_cents,
        "total_cents": invoice.total_cents,
        "paid_cents": invoice.paid_cents,
        "credited_cents": invoice.credited_cents,
        "balance_cents": invoice.balance_cents,
        "created_at": invoice.created_at,
        "version": invoice.version,
    }


def allowed_actions(invoice: Invoice) -> list[str]:
    """What the actions would accept now (they check again, under the lock)."""
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status == InvoiceStatus.VOID:
        return []
    if invoice.status == InvoiceStatus.DRAFT:
        return ["edit", "issue", "delete"]
    actions = []
    if invoice.status == InvoiceStatus.ISSUED and not invoice.paid_cents and not invoice.credited_cents:
        actions.append("void")
    actions.append("credit")
    if invoice.status in OPEN_FOR_PAYMENT and invoice.balance_cents > 0:
        actions.append("pay")
    if invoice.paid_cents > 0:
        actions.append("refund")
    return actions


def line_out(line: InvoiceLine) -> dict[str, Any]:
    """Reads tax_rate and job, selected with the line."""
    return {
        "id": line.pk,
        "position": line.position,
        "kind": line.kind,
        "description": line.description,
        "quantity": decimal_out(line.quantity, 3),
        "unit_price_cents": line.unit_price_cents,
        "amount_cents": line.amount_cents,
        "covered": line.covered,
        "list_amount_cents": line.list_amount_cents,
        "tax_rate": tax_rate_ref(line.tax_rate if line.tax_rate_id else None),
        "tax_rate_milli_percent": line.tax_rate_milli_percent,
        "tax_cents": line.tax_cents,
        "job": job_ref(line.job) if line.job_id else None,
        "line_item_id": line.line_item_id,
        "time_entry_id": line.time_entry_id,
        "credits_line_id": line.credits_line_id,
        "live": line.live,
    }


def payment_out(payment: Payment, invoice: Invoice | None = None) -> dict[str, Any]:
    """Reads invoice with its customer (selected, or passed in) and recorded_by (selected)."""
    invoice = invoice or payment.invoice
    return {
        "id": payment.pk,
        "kind": payment.kind,
        "invoice": invoice_ref(invoice),
        "customer": {"id": invoice.customer.pk, "name": invoice.customer.name},
        "method": payment.method,
        "amount_cents": payment.amount_cents,
        "signed_cents": payment.signed_cents,
        "reference": payment.reference,
        "received_on": payment.received_on,
        "note": payment.note,
        "recorded_by": _user_ref(payment.recorded_by if payment.recorded_by_id else None),
        "created_at": payment.created_at,
    }


def invoice_out(invoice: Invoice) -> dict[str, Any]:
    """`invoice` as reads.invoice_detail returns it (line_list, payment_list, credit_note_list loaded)."""
    return {
        **invoice_summary_out(invoice),
        "memo": invoice.memo,
        "bill_to": invoice.bill_to,
        "created_by": _user_ref(invoice.created_by if invoice.created_by_id else None),
        "issued_at": invoice.issued_at,
        "voided_at": invoice.voided_at,
        "void_reason": invoice.void_reason,
        "allowed_actions": allowed_actions(invoice),
        "lines": [line_out(line) for line in invoice.line_list],  # type: ignore[attr-defined]
        "payments": [payment_out(p, invoice) for p in invoice.payment_list],  # type: ignore[attr-defined]
        "credit_notes": [invoice_ref(note) for note in invoice.credit_note_list],  # type: ignore[attr-defined]
    }


def _draft_out(line: Draft) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "description": line.description,
        "quantity": decimal_out(line.quantity, 3),
        "unit_price_cents": line.unit_price_cents,
        "amount_cents": line.amount_cents,
        "covered": line.covered,
        "list_amount_cents": line.list_amount_cents,
        "tax_rate": tax_rate_ref(line.tax_rate),
        "tax_rate_milli_percent": line.tax_rate_milli_percent,
        "tax_cents": line.tax_cents,
        "job_id": line.job_id,
        "line_item_id": line.line_item_id,
        "time_entry_id": line.time_entry_id,
    }


def _job_billing_out(billing: JobBilling) -> dict[str, Any]:
    return {
        "job": job_ref(billing.job),
        "billing_type": billing.job.billing_type,
        "lines": [_draft_out(line) for line in billing.lines],
        "warnings": billing.warnings,
        "cap_cents": billing.cap_cents,
        "overage_cents": billing.overage_cents,
    }


def preview_out(preview: Preview) -> dict[str, Any]:
    return {
        "empty": preview.empty,
        "jobs": [_job_billing_out(b) for b in preview.jobs],
        "lines": [_draft_out(line) for line in preview.lines],
        "warnings": preview.warnings,
        "subtotal_cents": preview.subtotal_cents,
        "tax_cents": preview.tax_cents,
        "total_cents": preview.total_cents,
    }


def ready_job_out(job: Job) -> dict[str, Any]:
    """Reads customer and job_type (selected) and the draft_id annotation (queries.ready_queue)."""
    return {
        "id": job.pk,
        "number": job.number,
        "customer": {"id": job.customer.pk, "name": job.customer.name},
        "job_type": {"id": job.job_type.pk, "name": job.job_type.name},
        "billing_type": job.billing_type,
        "completed_at": job.completed_at,
        "draft_invoice_id": job.draft_id,  # type: ignore[attr-defined]
    }


# ---- input --------------------------------------------------------------------------------------


class InvoiceListParams(PageParams):
    status: StatusName | None = None
    kind: InvoiceKindName | None = None
    customer: int | None = Field(None, ge=1, le=MAX_ID, description="Customer id.")
    job: int | None = Field(None, ge=1, le=MAX_ID, description="Job id: its invoices and credit notes.")
    overdue: bool = Field(False, description="Only invoices open for payment and past their due date.")


class PaymentListParams(PageParams):
    invoice: int | None = Field(None, ge=1, le=MAX_ID, description="Invoice id.")
    customer: int | None = Field(None, ge=1, le=MAX_ID, description="Customer id.")
    date_from: IsoDate | None = Field(None, description="Received on or after this day.")
    date_to: IsoDate | None = Field(None, description="Received on or before this day.")


class ExportParams(BaseModel):
    since: int = Field(0, ge=0, le=MAX_ID, description="The next_since of the previous export; 0 for everything.")
    format: Literal["json", "csv"] = "json"
    kind: Literal["all", "invoices", "payments"] | None = Field(
        None,
        description="all (JSON only), invoices (issued, credit notes, voids) or payments (and refunds). Default: all for JSON, invoices for CSV.",
    )
    limit: int = Field(500, ge=1, le=1000, description="At most this many journal entries.")


class JobIdsIn(StrictIn):
    job_ids: JobIds


class InvoiceCreateIn(StrictIn):
    job_ids: JobIds
    memo: Text(2000) = ""  # type: ignore[valid-type]


class InvoicePatch(StrictIn):
    version: Version
    memo: Text(2000) = None  # type: ignore[valid-type]
    terms_days: TermsDays = None  # type: ignore[assignment]


class VersionParams(BaseModel):
    version: Version


class VersionIn(StrictIn):
    version: Version


class VoidIn(StrictIn):
    version: Version
    reason: Reason  # type: ignore[valid-type]


class LineIn(StrictIn):
    version: Version
    kind: ManualKind = "service"
    description: Text(300, min_length=1)  # type: ignore[valid-type]
    quantity: Quantity
    unit_price_cents: LinePrice
    tax_rate_id: RefId | None = Field(None, description="A tax rate's id; none for an untaxed line.")


class LinePatch(StrictIn):
    version: Version
    description: Text(300, min_length=1) = None  # type: ignore[valid-type]
    quantity: Quantity = None
    unit_price_cents: LinePrice = None  # type: ignore[assignment]
    tax_rate_id: RefId | None = None


class CreditLineIn(StrictIn):
    line_id: RefId = Field(description="A line of the invoice.")
    amount_cents: Annotated[int, Field(ge=-MAX_CENTS, le=MAX_CENTS)] = Field(
        description="How much of the line to credit (before tax), at most what is left of it; negative for a discount line, which a full credit takes back."
    )


class CreditNoteIn(StrictIn):
    version: Version
    lines: Annotated[list[CreditLineIn], Field(min_length=1, max_length=MAX_CREDIT_LINES)]
    reason: Reason  # type: ignore[valid-type]


class PaymentIn(StrictIn):
    amount_cents: Amount
    method: MethodName
    received_on: IsoDate = Field(description="The day it was received (not in the future).")
    reference: Text(100) = ""  # type: ignore[valid-type]
    note: Text(500) = ""  # type: ignore[valid-type]


class RefundIn(StrictIn):
    amount_cents: Amount
    method: MethodName
    received_on: IsoDate = Field(description="The day it was paid back (not in the future).")
    reference: Text(100) = ""  # type: ignore[valid-type]
    note: Reason = Field(description="Why the money is refunded.")  # type: ignore[valid-type]
