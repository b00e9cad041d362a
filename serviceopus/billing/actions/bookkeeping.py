"""What every billing write shares: locking an invoice, the job timeline, the accounting journal, and
moving the invoice's jobs along (invoiced when fully invoiced, closed when paid) through job_transition."""

from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError
from serviceopus.core.models import next_in_sequence
from serviceopus.jobs.actions import TransitionRefused, job_transition
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus

from ..models import AccountingEntry, Invoice, InvoiceLine, Payment
from ..status import ISSUED_STATES


def require(actor: User, perm: str, what: str) -> None:
    if not actor.has_perm(perm):
        raise DomainError("forbidden", f"You may not {what}.")


def lock_invoice(invoice_id: int, *, version: int | None = None) -> Invoice:
    """The invoice row, locked until commit (PostgreSQL; SQLite's IMMEDIATE transaction already holds
    the write lock). With `version`, refuses a caller that acted on a stale copy."""
    qs = Invoice.objects.select_related("customer")
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(of=("self",))
    invoice = qs.filter(pk=invoice_id).first()
    if invoice is None:
        raise DomainError("not_found", "This invoice no longer exists.")
    if version is not None and invoice.version != version:
        raise ConflictError("stale", f"{invoice} was changed by someone else meanwhile; reload it and try again.")
    return invoice


def save_invoice(invoice: Invoice, **values: Any) -> None:
    """Write `values` (and a new version) to the locked invoice, and mirror them on the instance."""
    values["updated_at"] = timezone.now()
    Invoice.objects.filter(pk=invoice.pk).update(version=F("version") + 1, **values)
    for name, value in values.items():
        setattr(invoice, name, value)
    invoice.version += 1


def job_event(job_id: int, actor: User | None, message: str, **data: Any) -> None:
    JobEvent.objects.create(job_id=job_id, actor=actor, kind=JobEvent.Kind.BILLING, message=message[:500], data=data)


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    """The snapshot the accounting export carries for an issued invoice or credit note."""
    lines = list(invoice.lines.select_related("job", "tax_rate").order_by("position", "id"))
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "kind": invoice.kind,
        "customer": {"id": invoice.customer_id, "name": invoice.customer.name},
        "bill_to": invoice.bill_to,
        "jobs": sorted(invoice.jobs.values_list("number", flat=True)),
        "credits": invoice.credits.number if invoice.credits_id else None,
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "currency": "USD",
        "subtotal_cents": invoice.subtotal_cents,
        "tax_cents": invoice.tax_cents,
        "total_cents": invoice.total_cents,
        "memo": invoice.memo,
        "lines": [
            {
                "id": line.pk,
                "position": line.position,
                "kind": line.kind,
                "description": line.description,
                "quantity": f"{line.quantity:.3f}",
                "unit_price_cents": line.unit_price_cents,
                "amount_cents": line.amount_cents,
                "covered": line.covered,
                "tax_rate": line.tax_rate.name if line.tax_rate else None,
                "tax_rate_milli_percent": line.tax_rate_milli_percent,
                "tax_cents": line.tax_cents,
                "job": line.job.number if line.job else None,
            }
            for line in lines
        ],
    }


def payment_data(payment: Payment, invoice: Invoice) -> dict[str, Any]:
    return {
        "id": payment.pk,
        "kind": payment.kind,
        "invoice_id": invoice.pk,
        "invoice_number": invoice.number,
        "customer": {"id": invoice.customer_id, "name": invoice.customer.name},
        "method": payment.method,
        "amount_cents": payment.amount_cents,
        "reference": payment.reference,
        "received_on": payment.received_on.isoformat(),
        "currency": "USD",
    }


def journal(kind: str, invoice: Invoice, data: dict[str, Any], payment: Payment | None = None) -> AccountingEntry:
    """Append to the accounting journal, in the caller's transaction (see AccountingEntry)."""
    return AccountingEntry.objects.create(seq=next_in_sequence("accounting_journal"), kind=kind, invoice=invoice, payment=payment, data=data)


def _follow(actor: User, job_id: int, to: str, note: str) -> str:
    """Ask the job to move, in a savepoint; returns why not ("" when it moved)."""
    try:
        with transaction.atomic():
            job_transition(actor=actor, job_id=job_id, to=to, note=note)
    except TransitionRefused as refused:
        return refused.message
    return ""


def jobs_after_issue(actor: User, invoice: Invoice) -> None:
    """Each job whose work is now all invoiced becomes `invoiced` (the guard checks "all")."""
    for job in Job.objects.filter(invoices=invoice, status=JobStatus.WORK_COMPLETE).order_by("pk"):
        _follow(actor, job.pk, JobStatus.INVOICED, f"Invoice {invoice.number} issued")


def jobs_after_void(actor: User, invoice: Invoice) -> None:
    for job in Job.objects.filter(invoices=invoice, status=JobStatus.INVOICED).order_by("pk"):
        _follow(actor, job.pk, JobStatus.WORK_COMPLETE, f"Invoice {invoice.number} voided")


def jobs_after_paid(actor: User, invoice: Invoice) -> None:
    """A job whose invoices are all paid closes, unless something still needs following up (an open
    incident, a drafted return visit…): then its timeline says what holds it."""
    for job in Job.objects.filter(invoices=invoice, status=JobStatus.INVOICED).order_by("pk"):
        why = _follow(actor, job.pk, JobStatus.CLOSED, "Paid in full")
        if why:
            job_event(job.pk, actor, f"Paid in full, but not closed: {why}", invoice=invoice.pk)


def live_lines_of_issued(job_id: int):  # type: ignore[no-untyped-def]
    return InvoiceLine.objects.filter(job_id=job_id, live=True, invoice__status__in=ISSUED_STATES)
