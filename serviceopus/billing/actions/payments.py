"""Payments, refunds and credit notes: everything that moves an issued invoice's balance.

Each runs with the invoice row locked (PostgreSQL) or the database write lock held (SQLite), reads the
balance after taking the lock, and refuses what would take it below zero, so two concurrent payments
never overpay."""

from collections.abc import Mapping
from datetime import date

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, InvalidInput
from serviceopus.core.models import next_in_sequence
from serviceopus.core.money import format_cents
from serviceopus.jobs.models import Job

from ..models import AccountingEntry, Invoice, InvoiceLine, Payment
from ..pricing import line_tax
from ..status import ISSUED_STATES, OPEN_FOR_PAYMENT, InvoiceStatus, by_balance
from .bookkeeping import invoice_data, job_event, jobs_after_paid, journal, lock_invoice, payment_data, require, save_invoice
from .invoices import credit_note_number

MAX_CENTS = 10**11
# Called as hook(actor=, payment=, invoice=) inside payment_record's transaction, after the payment and
# the invoice's new balance are written (automation: the "payment recorded" event).
PAYMENT_RECORDED_HOOKS: list = []


def _clean(fields: dict[str, str], *, amount_cents: int, method: str, reference: str, received_on: date | None, note: str) -> None:
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or not 0 < amount_cents <= MAX_CENTS:
        fields["amount"] = "An amount above zero."
    if method not in Payment.Method.values:
        fields["method"] = "Choose card, cash, check, bank transfer or other."
    if "\x00" in (reference or "") or len(reference or "") > 100:
        fields["reference"] = "At most 100 characters."
    if "\x00" in (note or "") or len(note or "") > 500:
        fields["note"] = "At most 500 characters."
    if not isinstance(received_on, date):
        fields["received_on"] = "Enter the date it was received."
    elif received_on > timezone.localdate():
        fields["received_on"] = "The date cannot be in the future."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)


def _record(actor: User, invoice: Invoice, kind: str, *, amount_cents: int, method: str, reference: str, received_on: date, note: str) -> Payment:
    signed = amount_cents if kind == Payment.Kind.PAYMENT else -amount_cents
    paid = invoice.paid_cents + signed
    status = by_balance(balance_cents=invoice.total_cents - paid - invoice.credited_cents, paid_cents=paid)
    save_invoice(invoice, paid_cents=paid, status=status)
    payment = Payment.objects.create(
        invoice=invoice,
        kind=kind,
        method=method,
        amount_cents=amount_cents,
        reference=reference.strip(),
        received_on=received_on,
        note=note.strip(),
        recorded_by=actor,
    )
    entry_kind = AccountingEntry.Kind.PAYMENT if kind == Payment.Kind.PAYMENT else AccountingEntry.Kind.REFUND
    journal(entry_kind, invoice, payment_data(payment, invoice), payment=payment)
    what = "Payment" if kind == Payment.Kind.PAYMENT else "Refund"
    for job_id in invoice.jobs.values_list("pk", flat=True):
        job_event(
            job_id,
            actor,
            f"{what} of {format_cents(amount_cents)} ({payment.get_method_display().lower()}) on {invoice.number}; "
            f"balance {format_cents(invoice.balance_cents)}",
            invoice=invoice.pk,
            payment=payment.pk,
        )
    return payment


def payment_record(*, actor: User, invoice_id: int, amount_cents: int, method: str, received_on: date | None, reference: str = "", note: str = "") -> Payment:
    """Record money received against an issued invoice. More than the balance is refused (an
    overpayment); the invoice becomes partially paid or paid, and a job whose invoices are all paid closes."""
    require(actor, "billing.record_payment", "record payments")
    _clean({}, amount_cents=amount_cents, method=method, reference=reference, received_on=received_on, note=note)
    with transaction.atomic():
        invoice = lock_invoice(invoice_id)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in OPEN_FOR_PAYMENT:
            raise ConflictError("not_payable", f"{invoice} is {invoice.get_status_display().lower()}: it takes no payment.")
        if amount_cents > invoice.balance_cents:
            raise ConflictError(
                "overpayment",
                f"{format_cents(amount_cents)} is more than the balance of {format_cents(invoice.balance_cents)} on {invoice.number}; nothing was recorded.",
            )
        payment = _record(
            actor, invoice, Payment.Kind.PAYMENT, amount_cents=amount_cents, method=method, reference=reference, received_on=received_on, note=note
        )
        if invoice.status == InvoiceStatus.PAID:
            jobs_after_paid(actor, invoice)
        for hook in PAYMENT_RECORDED_HOOKS:
            hook(actor=actor, payment=payment, invoice=invoice)
    return payment


def refund_record(*, actor: User, invoice_id: int, amount_cents: int, method: str, received_on: date | None, reference: str = "", note: str = "") -> Payment:
    """Record money paid back to the customer: at most what has been paid (less earlier refunds)."""
    require(actor, "billing.record_payment", "record refunds")
    fields: dict[str, str] = {}
    if not (note or "").strip():
        fields["note"] = "Say why the money is refunded."
    _clean(fields, amount_cents=amount_cents, method=method, reference=reference, received_on=received_on, note=note)
    with transaction.atomic():
        invoice = lock_invoice(invoice_id)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in ISSUED_STATES:
            raise ConflictError("not_refundable", f"{invoice} is {invoice.get_status_display().lower()}: nothing on it can be refunded.")
        if amount_cents > invoice.paid_cents:
            raise ConflictError("over_refund", f"Only {format_cents(invoice.paid_cents)} has been paid on {invoice.number}; a refund cannot be more.")
        return _record(actor, invoice, Payment.Kind.REFUND, amount_cents=amount_cents, method=method, reference=reference, received_on=received_on, note=note)


def credit_note_create(*, actor: User, invoice_id: int, version: int, amounts: Mapping[int, int], reason: str) -> Invoice:
    """Correct an issued invoice: a credit note (its own gapless number, CN-000001) crediting some or
    all of each chosen line, with the tax that went with it. It lowers the invoice's balance; if that
    goes below zero the customer is owed a refund. `amounts` maps invoice line ids to cents to credit,
    with the sign of the line: a discount (a negative line) is credited with a negative amount, so an
    invoice with a discount can be credited in full; the credit note as a whole must come to more than zero."""
    require(actor, "billing.void_invoice", "issue credit notes")
    reason = (reason or "").strip()
    fields: dict[str, str] = {}
    if not reason or "\x00" in reason or len(reason) > 500:
        fields["reason"] = "Say what the credit note corrects (at most 500 characters)."
    try:
        wanted = {int(k): v for k, v in amounts.items() if v}
    except (TypeError, ValueError):
        raise InvalidInput("Please correct the highlighted fields.", {"lines": "A chosen line is not on this invoice."}) from None
    if not wanted:
        fields["lines"] = "Choose at least one line and an amount to credit."
    elif any(not isinstance(v, int) or isinstance(v, bool) for v in wanted.values()):
        fields["lines"] = "Amounts to credit are whole cents."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        invoice = lock_invoice(invoice_id, version=version)
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in ISSUED_STATES:
            raise ConflictError("not_creditable", f"{invoice} is {invoice.get_status_display().lower()}: only an issued invoice can be credited.")
        lines = {line.pk: line for line in invoice.lines.filter(pk__in=wanted).select_related("tax_rate")}
        if len(lines) != len(wanted):
            raise InvalidInput("Please correct the highlighted fields.", {"lines": "A chosen line is not on this invoice."})
        done = {
            row["credits_line"]: (-row["amount"], -row["tax"])
            for row in InvoiceLine.objects.filter(credits_line__in=lines)
            .values("credits_line")
            .annotate(amount=Sum("amount_cents"), tax=Sum("tax_cents"))
            .values("credits_line", "amount", "tax")
        }
        rows = []
        for position, (line_id, cents) in enumerate(sorted(wanted.items()), start=1):
            line = lines[line_id]
            done_amount, done_tax = done.get(line_id, (0, 0))
            left = line.amount_cents - done_amount
            if left != 0 and (cents > 0) != (left > 0):
                sign = "a negative amount (it is a discount)" if left < 0 else "an amount above zero"
                raise InvalidInput("Please correct the highlighted fields.", {"lines": f"“{line.description}” is credited with {sign}."})
            if left == 0 or abs(cents) > abs(left):
                raise InvalidInput(
                    "Please correct the highlighted fields.",
                    {"lines": f"“{line.description}” has {format_cents(left)} left to credit; {format_cents(cents)} is more."},
                )
            # The tax on everything credited so far, less what earlier credit notes took: parts of a line
            # rounded one by one would drift from its tax by a cent; crediting it all returns its tax exactly.
            upto = done_amount + cents
            tax_so_far = line.tax_cents if upto == line.amount_cents else line_tax(upto, line.tax_rate_milli_percent)
            rows.append((position, line, cents, -(tax_so_far - done_tax)))
        credit_total = sum(cents - credit_tax for _, _, cents, credit_tax in rows)
        if credit_total <= 0:
            raise InvalidInput(
                "Please correct the highlighted fields.",
                {"lines": f"A credit note lowers what is owed: this one comes to {format_cents(credit_total)}. Credit the charged lines too."},
            )
        note = Invoice.objects.create(
            kind=Invoice.Kind.CREDIT_NOTE,
            customer_id=invoice.customer_id,
            credits=invoice,
            memo=reason,
            terms_days=0,
            created_by=actor,
        )
        note.jobs.set(invoice.jobs.all())
        # Credit-note lines are negative; the credit note's totals are the positive credit they add up to.
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=note,
                position=position,
                kind=InvoiceLine.Kind.CREDIT,
                description=f"Credit: {line.description}"[:300],
                quantity=1,
                unit_price_cents=-cents,
                amount_cents=-cents,
                tax_rate=line.tax_rate,
                tax_rate_milli_percent=line.tax_rate_milli_percent,
                tax_cents=credit_tax,
                job_id=line.job_id,
                credits_line=line,
                live=False,
            )
            for position, line, cents, credit_tax in rows
        )
        subtotal = sum(cents for _, _, cents, _ in rows)
        tax = -sum(credit_tax for *_, credit_tax in rows)
        today = timezone.localdate()
        Invoice.objects.filter(pk=note.pk).update(
            number=credit_note_number(next_in_sequence("credit_note")),
            status=InvoiceStatus.ISSUED,
            subtotal_cents=subtotal,
            tax_cents=tax,
            total_cents=subtotal + tax,
            issue_date=today,
            due_date=today,
            bill_to=invoice.bill_to,
            issued_by=actor,
            issued_at=timezone.now(),
        )
        note.refresh_from_db()
        credited = invoice.credited_cents + note.total_cents
        status = by_balance(balance_cents=invoice.total_cents - invoice.paid_cents - credited, paid_cents=invoice.paid_cents)
        save_invoice(invoice, credited_cents=credited, status=status)
        journal(AccountingEntry.Kind.CREDIT_NOTE_ISSUED, note, invoice_data(note))
        for job in Job.objects.filter(invoices=invoice).order_by("pk"):
            job_event(
                job.pk,
                actor,
                f"Credit note {note.number} of {format_cents(note.total_cents)} against {invoice.number}: {reason}",
                invoice=invoice.pk,
                credit_note=note.pk,
            )
        if status == InvoiceStatus.PAID:
            jobs_after_paid(actor, invoice)
    return note
