"""Invoices: created from jobs' uninvoiced work (pricing.preview), edited while draft, issued with a
gapless number, voided (never deleted once issued)."""

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.models import next_in_sequence
from serviceopus.core.money import format_cents
from serviceopus.jobs.actions import lock_job
from serviceopus.jobs.models import BillingType, Job
from serviceopus.jobs.status import JobStatus

from ..models import AccountingEntry, BillingSettings, Invoice, InvoiceLine, TaxRate
from ..pricing import Draft, manual_amount, preview, totals
from ..status import InvoiceStatus, by_balance
from .bookkeeping import invoice_data, job_event, jobs_after_issue, jobs_after_paid, jobs_after_void, journal, lock_invoice, require, save_invoice

# Work can be invoiced while it runs (progress billing) and once it is complete.
INVOICEABLE = (JobStatus.IN_PROGRESS, JobStatus.ON_HOLD, JobStatus.WORK_COMPLETE)
MAX_JOBS = 50
MANUAL_KINDS = {"service", "fee", "discount"}
# Called in the issuing transaction as hook(actor=, invoice=): the messaging app tells the customer.
INVOICE_ISSUED_HOOKS: list = []


def invoice_number(n: int) -> str:
    return f"INV-{n:06d}"


def credit_note_number(n: int) -> str:
    return f"CN-{n:06d}"


def _jobs(job_ids: Sequence[int]) -> list[Job]:
    ids = sorted(set(job_ids))
    if not ids:
        raise InvalidInput("Choose at least one job to invoice.", {"jobs": "Choose at least one job."})
    if len(ids) > MAX_JOBS:
        raise InvalidInput(f"At most {MAX_JOBS} jobs on one invoice.", {"jobs": f"At most {MAX_JOBS} jobs."})
    jobs = []
    for pk in ids:  # in id order: two invoices over overlapping jobs lock them in the same order
        try:
            jobs.append(lock_job(pk))
        except Job.DoesNotExist:
            raise DomainError("not_found", "One of these jobs no longer exists.") from None
    return jobs


def _check_jobs(jobs: list[Job]) -> None:
    if len({job.customer_id for job in jobs}) > 1:
        raise InvalidInput("One invoice is for one customer: these jobs belong to different customers.", {"jobs": "Different customers."})
    for job in jobs:
        if job.status not in INVOICEABLE:
            raise ConflictError("not_invoiceable", f"{job.number} is {JobStatus(job.status).label.lower()}: only work in progress or complete can be invoiced.")


def _save_lines(invoice: Invoice, drafts: list[Draft], start: int = 1) -> None:
    """Write draft lines; a source already on another live invoice line is refused by the database."""
    rows = [
        InvoiceLine(
            invoice=invoice,
            position=start + i,
            kind=d.kind,
            description=d.description[:300],
            quantity=d.quantity,
            unit_price_cents=d.unit_price_cents,
            amount_cents=d.amount_cents,
            covered=d.covered,
            list_amount_cents=d.list_amount_cents,
            tax_rate=d.tax_rate,
            tax_rate_milli_percent=d.tax_rate_milli_percent,
            tax_cents=d.tax_cents,
            job_id=d.job_id,
            line_item_id=d.line_item_id,
            time_entry_id=d.time_entry_id,
        )
        for i, d in enumerate(drafts)
    ]
    try:
        with transaction.atomic():
            InvoiceLine.objects.bulk_create(rows)
    except IntegrityError:
        raise ConflictError("already_invoiced", "Some of this work was put on another invoice meanwhile; nothing was created. Reload the preview.") from None


def _retotal(invoice: Invoice) -> None:
    subtotal, tax, total = totals(list(invoice.lines.all()))
    save_invoice(invoice, subtotal_cents=subtotal, tax_cents=tax, total_cents=total)


def create_draft(*, actor: User | None, jobs: list[Job], memo: str = "") -> Invoice:
    """The draft for these (locked, checked) jobs' uninvoiced work. Inside the caller's transaction."""
    result = preview(jobs)
    if result.empty:
        numbers = ", ".join(job.number for job in jobs)
        raise ConflictError("nothing_to_invoice", f"Nothing left to invoice on {numbers}: every line and approved time entry is already on an invoice.")
    # A job with nothing left to bill is not "on" this invoice: linked, it would be held by a draft it has no line on.
    billed = [billing.job for billing in result.jobs if billing.lines]
    invoice = Invoice.objects.create(customer_id=jobs[0].customer_id, terms_days=BillingSettings.current().payment_terms_days, memo=memo, created_by=actor)
    invoice.jobs.set(billed)
    _save_lines(invoice, result.lines)
    _retotal(invoice)
    for job in billed:
        job_event(job.pk, actor, f"Draft invoice #{invoice.pk} created ({format_cents(invoice.total_cents)})", invoice=invoice.pk)
    return invoice


def invoice_create(*, actor: User, job_ids: Sequence[int], memo: str = "") -> Invoice:
    """A draft invoice for the jobs' uninvoiced work, as the preview showed it. Refused, creating
    nothing, when there is nothing left to invoice or the jobs are of different customers."""
    require(actor, "billing.invoice", "create invoices")
    memo = _memo(memo)
    with transaction.atomic():
        jobs = _jobs(job_ids)
        _check_jobs(jobs)
        return create_draft(actor=actor, jobs=jobs, memo=memo)


def _memo(memo: str) -> str:
    memo = (memo or "").strip()
    if "\x00" in memo or len(memo) > 2000:
        raise InvalidInput("Invalid memo.", {"memo": "At most 2,000 characters."})
    return memo


def _draft(actor: User, invoice_id: int, version: int) -> Invoice:
    require(actor, "billing.invoice", "edit invoices")
    invoice = lock_invoice(invoice_id, version=version)
    if invoice.status != InvoiceStatus.DRAFT:
        raise ConflictError(
            "not_draft", f"{invoice} is {invoice.get_status_display().lower()}: an issued invoice cannot be edited; issue a credit note to correct it."
        )
    return invoice


def _clean_line(fields: dict[str, str], *, kind: str, description: str, quantity: Decimal, unit_price_cents: int, tax_rate_id: int | None) -> TaxRate | None:
    if kind not in MANUAL_KINDS:
        fields["kind"] = "Choose service, fee or discount."
    if not (description or "").strip() or "\x00" in description or len(description) > 300:
        fields["description"] = "Enter a description (at most 300 characters)."
    if (
        not isinstance(quantity, Decimal)
        or not quantity.is_finite()
        or quantity <= 0
        or quantity >= Decimal("1e9")
        or quantity != quantity.quantize(Decimal("0.001"))
    ):
        fields["quantity"] = "A quantity above zero, at most 3 decimal places."
    if not isinstance(unit_price_cents, int) or isinstance(unit_price_cents, bool) or not (0 <= unit_price_cents <= 10**11):
        fields["unit_price"] = "A price of zero or more (enter a discount as a positive amount)."
    rate = None
    if tax_rate_id is not None:
        rate = TaxRate.objects.filter(pk=tax_rate_id, active=True).first()
        if rate is None:
            fields["tax_rate"] = "Unknown tax rate."
    return rate


def invoice_line_add(
    *, actor: User, invoice_id: int, version: int, kind: str, description: str, quantity: Decimal, unit_price_cents: int, tax_rate_id: int | None = None
) -> InvoiceLine:
    """A fee, a discount (entered positive, billed negative) or another charge on a draft."""
    fields: dict[str, str] = {}
    rate = _clean_line(fields, kind=kind, description=description, quantity=quantity, unit_price_cents=unit_price_cents, tax_rate_id=tax_rate_id)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        invoice = _draft(actor, invoice_id, version)
        price = -unit_price_cents if kind == "discount" else unit_price_cents
        amount = manual_amount(quantity, price)
        last = invoice.lines.order_by("-position").values_list("position", flat=True).first() or 0
        draft = Draft(kind=kind, description=description.strip(), quantity=quantity, unit_price_cents=price, amount_cents=amount, tax_rate=rate)
        line = InvoiceLine.objects.create(
            invoice=invoice,
            position=last + 1,
            kind=kind,
            description=draft.description,
            quantity=quantity,
            unit_price_cents=price,
            amount_cents=amount,
            tax_rate=rate,
            tax_rate_milli_percent=draft.tax_rate_milli_percent,
            tax_cents=draft.tax_cents,
        )
        _retotal(invoice)
    return line


def invoice_line_update(
    *, actor: User, invoice_id: int, version: int, line_id: int, description: str, quantity: Decimal, unit_price_cents: int, tax_rate_id: int | None
) -> InvoiceLine:
    """Change a draft's line: description, quantity, price and tax. A line from a job keeps its source
    (it is still billed once); covered lines stay at zero."""
    with transaction.atomic():
        invoice = _draft(actor, invoice_id, version)
        line = invoice.lines.filter(pk=line_id).first()
        if line is None:
            raise DomainError("not_found", "This line is no longer on the invoice.")
        kind = "discount" if line.kind == "discount" else "service"
        price = abs(unit_price_cents) if isinstance(unit_price_cents, int) else unit_price_cents
        fields: dict[str, str] = {}
        rate = _clean_line(fields, kind=kind, description=description, quantity=quantity, unit_price_cents=price, tax_rate_id=tax_rate_id)
        if line.kind == "adjustment":
            raise ConflictError(
                "adjustment", "The not-to-exceed adjustment is worked out when the draft is made: delete the draft and create it again to recompute it."
            )
        if fields:
            raise InvalidInput("Please correct the highlighted fields.", fields)
        if line.kind == "discount":
            price = -price
        if line.covered:
            price = 0
        # Labour from a time entry is priced by the minute; it keeps that amount unless the price changes.
        amount = line.amount_cents if (quantity == line.quantity and price == line.unit_price_cents) else manual_amount(quantity, price)
        draft = Draft(kind=line.kind, description=description.strip(), quantity=quantity, unit_price_cents=price, amount_cents=amount, tax_rate=rate)
        InvoiceLine.objects.filter(pk=line.pk).update(
            description=draft.description,
            quantity=quantity,
            unit_price_cents=price,
            amount_cents=amount,
            tax_rate=rate,
            tax_rate_milli_percent=draft.tax_rate_milli_percent,
            tax_cents=draft.tax_cents,
        )
        _retotal(invoice)
        line.refresh_from_db()
    return line


def invoice_line_remove(*, actor: User, invoice_id: int, version: int, line_id: int) -> None:
    """Take a line off a draft; its source (a job line, a time entry) is free to invoice again."""
    with transaction.atomic():
        invoice = _draft(actor, invoice_id, version)
        if invoice.lines.filter(pk=line_id, kind=InvoiceLine.Kind.ADJUSTMENT).exists():
            raise ConflictError(
                "adjustment", "The not-to-exceed adjustment is worked out when the draft is made: delete the draft and create it again to recompute it."
            )
        deleted, _ = invoice.lines.filter(pk=line_id).delete()
        if not deleted:
            raise DomainError("not_found", "This line is no longer on the invoice.")
        if not invoice.lines.exists():
            raise ConflictError("last_line", "An invoice needs at least one line: delete the draft instead.")
        _retotal(invoice)


def _check_limits(invoice: Invoice) -> None:
    """A not-to-exceed job's lines on this invoice stay within what its limit leaves after its other live
    invoices. The draft was made within it; a line repriced or an adjustment taken off could break it."""
    capped = invoice.jobs.filter(billing_type=BillingType.NOT_TO_EXCEED, not_to_exceed_cents__isnull=False).order_by("pk")
    for job in capped:
        rows = InvoiceLine.objects.filter(job=job, live=True).values("invoice_id").annotate(s=Sum("amount_cents")).values_list("invoice_id", "s")
        by_invoice = dict(rows)
        here = by_invoice.pop(invoice.pk, 0)
        allowed = max(job.not_to_exceed_cents - sum(by_invoice.values()), 0)
        if here > allowed:
            raise ConflictError(
                "over_limit",
                f"{job.number} would be billed {format_cents(here)} here, over the {format_cents(allowed)} its not-to-exceed limit leaves. "
                "Delete the draft and create it again to recompute the adjustment.",
            )


def invoice_update(*, actor: User, invoice_id: int, version: int, memo: str, terms_days: int) -> Invoice:
    memo = _memo(memo)
    if not isinstance(terms_days, int) or not 0 <= terms_days <= 365:
        raise InvalidInput("Please correct the highlighted fields.", {"terms_days": "Payment terms of 0 to 365 days."})
    with transaction.atomic():
        invoice = _draft(actor, invoice_id, version)
        changes = []
        if memo != invoice.memo:
            changes.append("memo changed")
        if terms_days != invoice.terms_days:
            changes.append(f"terms net {invoice.terms_days} → net {terms_days} days")
        save_invoice(invoice, memo=memo, terms_days=terms_days)
        if changes:  # the invoice's history is its jobs' billing events
            for job_id in invoice.jobs.values_list("pk", flat=True):
                job_event(job_id, actor, f"Draft invoice #{invoice.pk}: " + ", ".join(changes), invoice=invoice.pk)
    return invoice


def invoice_delete(*, actor: User, invoice_id: int, version: int) -> None:
    """Delete a draft (its work goes back to the ready-to-invoice queue). Issued invoices are voided."""
    with transaction.atomic():
        invoice = _draft(actor, invoice_id, version)
        job_ids = list(invoice.jobs.values_list("pk", flat=True))
        for job_id in job_ids:
            job_event(job_id, actor, f"Draft invoice #{invoice.pk} deleted", invoice=invoice.pk)
        invoice.lines.all().delete()
        invoice.delete()


def _bill_to(invoice: Invoice) -> str:
    customer = invoice.customer
    job = invoice.jobs.select_related("location").order_by("pk").first()
    lines = [customer.name]
    if job is not None:
        loc = job.location
        lines += [loc.street, " ".join(p for p in (loc.city + ",", loc.region, loc.postal_code) if p).rstrip(",")]
    if customer.email:
        lines.append(customer.email)
    return "\n".join(lines)


def invoice_issue(*, actor: User, invoice_id: int, version: int) -> Invoice:
    """Issue a draft: the next number from the gapless sequence (a refused or rolled-back issue takes
    none), the date, the due date, the customer's address fixed; then its jobs move on. A zero invoice
    (warranty, covered work) is paid as it is issued."""
    with transaction.atomic():
        invoice = _draft(actor, invoice_id, version)
        if not invoice.lines.exists():
            raise ConflictError("no_lines", "This invoice has no lines.")
        if invoice.total_cents < 0:
            raise ConflictError("negative_total", f"The total is {format_cents(invoice.total_cents)}: an invoice cannot be negative. Reduce the discount.")
        _check_limits(invoice)
        today = timezone.localdate()
        status = by_balance(balance_cents=invoice.total_cents, paid_cents=0)
        save_invoice(
            invoice,
            number=invoice_number(next_in_sequence("invoice")),
            status=status,
            issue_date=today,
            due_date=today + timedelta(days=invoice.terms_days),
            bill_to=_bill_to(invoice),
            issued_by=actor,
            issued_at=timezone.now(),
        )
        journal(AccountingEntry.Kind.INVOICE_ISSUED, invoice, invoice_data(invoice))
        for job_id in invoice.jobs.values_list("pk", flat=True):
            job_event(job_id, actor, f"Invoice {invoice.number} issued: {format_cents(invoice.total_cents)}", invoice=invoice.pk)
        jobs_after_issue(actor, invoice)
        if status == InvoiceStatus.PAID:
            jobs_after_paid(actor, invoice)
        invoice.refresh_from_db()
        for hook in INVOICE_ISSUED_HOOKS:
            hook(actor=actor, invoice=invoice)
    return invoice


def invoice_void(*, actor: User, invoice_id: int, version: int, reason: str) -> Invoice:
    """Void an issued invoice nobody has paid or credited: it stays on record, numbered, marked void,
    and its work can be invoiced again."""
    require(actor, "billing.void_invoice", "void invoices")
    reason = (reason or "").strip()
    if not reason or "\x00" in reason or len(reason) > 500:
        raise InvalidInput("Say why the invoice is voided.", {"reason": "A reason is required (at most 500 characters)."})
    with transaction.atomic():
        invoice = lock_invoice(invoice_id, version=version)
        if invoice.kind != Invoice.Kind.INVOICE:
            raise ConflictError("credit_note", "A credit note cannot be voided.")
        if invoice.status == InvoiceStatus.DRAFT:
            raise ConflictError("draft", "A draft is not voided: delete it instead.")
        if invoice.status == InvoiceStatus.VOID:
            raise ConflictError("void", f"{invoice} is already void.")
        if invoice.status == InvoiceStatus.PAID and invoice.paid_cents == 0 and invoice.total_cents == 0:
            raise ConflictError("paid", f"{invoice} is a no-charge invoice, settled when it was issued: it stays on record and cannot be voided.")
        if invoice.status == InvoiceStatus.PAID or invoice.paid_cents > 0:
            raise ConflictError("paid", f"{invoice} has payments: a paid invoice cannot be voided. Issue a credit note (and a refund) instead.")
        if invoice.credited_cents:
            raise ConflictError("credited", f"{invoice} has credit notes against it: credit the rest instead of voiding it.")
        invoice.lines.update(live=False)
        save_invoice(invoice, status=InvoiceStatus.VOID, voided_by=actor, voided_at=timezone.now(), void_reason=reason)
        journal(
            AccountingEntry.Kind.INVOICE_VOIDED,
            invoice,
            {"id": invoice.pk, "number": invoice.number, "reason": reason, "voided_on": timezone.localdate().isoformat()},
        )
        for job_id in invoice.jobs.values_list("pk", flat=True):
            job_event(job_id, actor, f"Invoice {invoice.number} voided: {reason}", invoice=invoice.pk)
        jobs_after_void(actor, invoice)
    invoice.refresh_from_db()
    return invoice
