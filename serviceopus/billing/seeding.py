"""The demo company's billing (`manage.py seed_demo`): its settings, tax and labour rates, which job
types draft their invoice on completion, and the invoices and payments behind its finished work.

Finished jobs are billed through the real actions (invoice_create, invoice_issue, payment_record,
invoice_void, credit_note_create, refund_record), one at a time in the order they happened and with the
clock set to that moment: invoice numbers follow issue dates, the accounting journal follows time, and a
job is invoiced or closed only because its invoices say so. Rows the actions date through their models'
defaults (timeline events, invoices, payments, journal entries) carry the real clock; they are dated
afterwards to the moment they stand for.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.dispatch.demo_schedule import clock_at
from serviceopus.jobs.actions import line_item_update
from serviceopus.jobs.models import BillingTrigger, BillingType, JobEvent, JobType, LineItem
from serviceopus.jobs.status import JobStatus

from .actions import credit_note_create, invoice_create, invoice_issue, invoice_void, payment_record, refund_record
from .models import AccountingEntry, BillingSettings, Invoice, InvoiceLine, LabourRate, Payment, TaxRate
from .status import InvoiceStatus

# The demo works in Chicago (and Evanston): the combined rates a customer there pays on taxable lines.
TAX_RATES = (("Chicago sales tax", 10_250), ("Evanston sales tax", 10_000))
DEFAULT_TAX_RATE = "Chicago sales tax"
COMPANY = {
    "company_address": "2150 W Fulton St\nChicago, IL 60612",
    "company_email": "billing@northwind.example",
    "company_phone": "(312) 555-0148",
    "tax_id": "EIN 36-4827150",
    "payment_instructions": (
        "Pay by card at the link in your invoice email, by check payable to Northwind Home Services, "
        "2150 W Fulton St, Chicago, IL 60612, or by bank transfer to Lakeshore Community Bank, routing 071925444, "
        "account 2290441018. Please put the invoice number on the check or in the transfer reference."
    ),
    "payment_terms_days": 30,
    "margin_warning_percent": 30,
}
# Covered work (agreement, warranty) bills at zero whatever the rate; its rate gives the covered lines
# the list value the customer is shown as saved.
LABOUR_RATES = {
    BillingType.TIME_AND_MATERIALS: 125_00,
    BillingType.NOT_TO_EXCEED: 125_00,
    BillingType.AGREEMENT: 125_00,
    BillingType.WARRANTY: 125_00,
}
# Fixed-price work whose lines are settled when the crew finishes (and which never turns into warranty
# work, whose covered time would come after the draft): its draft is ready for the office to issue.
# Time-and-materials work waits on the queue until its time is reviewed.
DRAFT_INVOICE_TYPES = ("Furnace maintenance", "Water heater install")


def ensure_billing() -> BillingSettings:
    """Create what is missing of the billing configuration. Settings someone has already filled in
    (a company address) are left as they are, and so are the job types' billing triggers then."""
    with transaction.atomic():
        rates = {name: TaxRate.objects.get_or_create(name=name, defaults={"rate_milli_percent": milli})[0] for name, milli in TAX_RATES}
        for billing_type, cents in LABOUR_RATES.items():
            LabourRate.objects.get_or_create(billing_type=billing_type, defaults={"hourly_rate_cents": cents})
        billing = BillingSettings.current()
        if not billing.company_address:
            for name, value in COMPANY.items():
                setattr(billing, name, value)
            billing.company_name = django_settings.COMPANY_NAME
            billing.default_tax_rate = rates[DEFAULT_TAX_RATE]
            billing.save()
            JobType.objects.filter(name__in=DRAFT_INVOICE_TYPES).update(billing_trigger=BillingTrigger.DRAFT_INVOICE)
    return billing


@dataclass
class BilledJob:
    """A finished demo job and when the office billed it, planned with the job's other steps."""

    job_id: int
    status: str  # where the demo means it to end: invoiced (owing) or closed (paid)
    billing_type: str
    after: datetime  # the job's last step before billing
    invoiced_at: datetime
    closed_at: datetime | None = None
    commercial: bool = False


@dataclass(order=True)
class _Op:
    at: datetime
    n: int
    run: Callable[[], None] = field(compare=False)


CHARGED = (BillingType.FIXED_PRICE, BillingType.TIME_AND_MATERIALS, BillingType.NOT_TO_EXCEED)
PARTIAL_NOTES = ("Deposit on approval", "Paid half on site; the rest on the 1st", "First instalment", "")
VOID_REASON = "{item} billed at {was}; the technician's log says {now}. Reissued with the corrected quantity."
CREDIT_REASON = "Goodwill credit: the crew arrived after the booked window."
CREDIT_CENTS = 50_00
# Stamped by their models' defaults when written, so dated afterwards.
DATED = (JobEvent, Invoice, Payment, AccountingEntry)


def bill_demo_jobs(rng: Random, jobs: list[BilledJob], *, office: User, now: datetime) -> None:
    """Invoice, issue and take payment for the demo's finished jobs as the office would have done it:
    paid in full or in two instalments (closed), part paid or not yet (invoiced; the oldest overdue),
    one invoice voided and reissued with a corrected quantity, and one goodwill credit note refunded."""
    DemoBilling(rng, office=office, now=now).plan(jobs).run()


def date_trigger_drafts(completed_at: dict[int, datetime]) -> None:
    """The drafts the billing trigger made as jobs reached work complete: dated with that moment."""
    for invoice in Invoice.objects.filter(status=InvoiceStatus.DRAFT).prefetch_related("jobs"):
        times = [completed_at[job.pk] for job in invoice.jobs.all() if job.pk in completed_at]
        if times:
            Invoice.objects.filter(pk=invoice.pk).update(created_at=max(times), updated_at=max(times))


class DemoBilling:
    def __init__(self, rng: Random, *, office: User, now: datetime) -> None:
        self.rng = rng
        self.office = office
        self.now = now
        self.ops: list[_Op] = []
        self.invoice_of: dict[int, int] = {}  # job id → the invoice it is billed on (the reissue after a void)
        self.method_of: dict[int, tuple[str, str]] = {}  # job id → how its customer pays

    def at(self, moment: datetime, run: Callable[[], None]) -> None:
        self.ops.append(_Op(min(moment, self.now - timedelta(minutes=1)), len(self.ops), run))

    # ---- planning --------------------------------------------------------------------------------

    def plan(self, jobs: list[BilledJob]) -> "DemoBilling":
        rng = self.rng
        voided = self._pick_void(jobs)
        credited = self._pick_credit(jobs, exclude={voided[0].job_id} if voided else set())
        partial_done = False
        for job in jobs:
            self.method_of[job.job_id] = self._method(job.commercial)
            gap = min(timedelta(minutes=rng.randint(5, 40)), (job.invoiced_at - job.after) / 2)
            self.at(job.invoiced_at - gap, lambda job=job: self._create(job))
            self.at(job.invoiced_at, lambda job=job: self._issue(job))
            reissued = job.invoiced_at
            if voided and voided[0] is job:
                reissued = self._plan_void(job, voided[1])
            if job.status == JobStatus.CLOSED:
                assert job.closed_at is not None
                if reissued == job.invoiced_at and rng.random() < 0.25:
                    self.at(job.invoiced_at + (job.closed_at - job.invoiced_at) * rng.uniform(0.1, 0.5), lambda job=job: self._pay(job, rng.uniform(0.3, 0.5)))
                self.at(job.closed_at, lambda job=job: self._pay(job, None))
                if credited and credited[0] is job:
                    self._plan_credit(job, credited[1])
            elif job.billing_type in CHARGED and reissued == job.invoiced_at and (not partial_done or rng.random() < 0.4):
                partial_done = True
                self.at(job.invoiced_at + (self.now - job.invoiced_at) * rng.uniform(0.2, 0.8), lambda job=job: self._pay(job, rng.uniform(0.25, 0.6)))
        return self

    def _pick_void(self, jobs: list[BilledJob]) -> tuple[BilledJob, LineItem] | None:
        """A job billed for more than one of something, at least a day ago, with time to fix it before
        it was paid."""
        by_id = {job.job_id: job for job in jobs if job.billing_type in CHARGED}
        items = LineItem.objects.filter(job_id__in=list(by_id), kind=LineItem.Kind.MATERIAL, quantity__gte=2, unit_price_cents__gt=0).order_by("job_id", "pk")
        for item in items:
            job = by_id[item.job_id]
            end = job.closed_at or self.now
            if job.invoiced_at < self.now - timedelta(days=1) and end - job.invoiced_at > timedelta(hours=6):
                return job, item
        return None

    def _pick_credit(self, jobs: list[BilledJob], *, exclude: set[int]) -> tuple[BilledJob, LineItem] | None:
        """A paid job whose customer was kept waiting: its service line is big enough for the credit."""
        by_id = {
            job.job_id: job
            for job in jobs
            if job.status == JobStatus.CLOSED and job.billing_type in CHARGED and job.job_id not in exclude and job.closed_at < self.now - timedelta(days=1)  # type: ignore[operator]
        }
        items = LineItem.objects.filter(job_id__in=list(by_id), kind=LineItem.Kind.SERVICE, unit_price_cents__gte=CREDIT_CENTS * 2).order_by("job_id", "pk")
        item = items.first()
        return (by_id[item.job_id], item) if item is not None else None

    def _plan_void(self, job: BilledJob, item: LineItem) -> datetime:
        """Void the first invoice hours after it went out, correct the line, issue a new one. Returns
        when the new one was issued."""
        voided_at = job.invoiced_at + timedelta(hours=self.rng.uniform(1, 3))
        self.at(voided_at, lambda: self._void(job, item))
        self.at(voided_at + timedelta(minutes=4), lambda: self._correct(item))
        self.at(voided_at + timedelta(minutes=6), lambda: self._create(job))
        self.at(voided_at + timedelta(minutes=9), lambda: self._issue(job))
        return voided_at + timedelta(minutes=9)

    def _plan_credit(self, job: BilledJob, item: LineItem) -> None:
        assert job.closed_at is not None
        at = job.closed_at + min(timedelta(hours=self.rng.uniform(2, 30)), (self.now - job.closed_at) / 2)
        self.at(at, lambda: self._credit_and_refund(job, item))

    def _method(self, commercial: bool) -> tuple[str, str]:
        rng = self.rng
        roll = rng.random()
        M = Payment.Method
        if commercial:
            if roll < 0.45:
                return M.CHECK, f"Check #{rng.randint(10200, 18900)}"
            if roll < 0.9:
                return M.BANK_TRANSFER, f"ACH {rng.randint(10**9, 10**10 - 1)}"
        elif roll < 0.3:
            return M.CHECK, f"Check #{rng.randint(1001, 4800)}"
        elif roll < 0.4:
            return M.CASH, ""
        elif roll < 0.45:
            return M.OTHER, "Zelle"
        brand = rng.choice(("Visa", "Visa", "Mastercard", "Amex", "Discover"))
        return M.CARD, f"{brand} ending {rng.randint(1000, 9999)}, auth {rng.randint(100000, 999999)}"

    # ---- the actions, run at their moment --------------------------------------------------------

    def _invoice(self, job: BilledJob) -> Invoice:
        return Invoice.objects.get(pk=self.invoice_of[job.job_id])

    def _create(self, job: BilledJob) -> None:
        draft = Invoice.objects.filter(jobs=job.job_id, status=InvoiceStatus.DRAFT).first()  # the billing trigger's
        if draft is None:
            draft = invoice_create(actor=self.office, job_ids=[job.job_id])
        self.invoice_of[job.job_id] = draft.pk

    def _issue(self, job: BilledJob) -> None:
        invoice = self._invoice(job)
        invoice_issue(actor=self.office, invoice_id=invoice.pk, version=invoice.version)

    def _pay(self, job: BilledJob, share: float | None) -> None:
        """The balance (share None), or about `share` of it in whole dollars; a zero invoice was paid as it was issued."""
        invoice = self._invoice(job)
        balance = invoice.balance_cents
        if balance <= 0:
            return
        amount = balance if share is None else round(balance * share / 100) * 100
        if not 0 < amount <= balance:
            return
        method, reference = self.method_of[job.job_id]
        note = "" if share is None else self.rng.choice(PARTIAL_NOTES)
        payment_record(
            actor=self.office, invoice_id=invoice.pk, amount_cents=amount, method=method, received_on=timezone.localdate(), reference=reference, note=note
        )

    def _void(self, job: BilledJob, item: LineItem) -> None:
        invoice = self._invoice(job)
        was = item.quantity.normalize()
        reason = VOID_REASON.format(item=item.description, was=f"{was:f}", now=f"{was - 1:f}")
        invoice_void(actor=self.office, invoice_id=invoice.pk, version=invoice.version, reason=reason)

    def _correct(self, item: LineItem) -> None:
        item.refresh_from_db()
        line_item_update(
            actor=self.office,
            line_item_id=item.pk,
            version=item.version,
            kind=item.kind,
            description=item.description,
            quantity=item.quantity - 1,
            unit_price_cents=item.unit_price_cents,
            unit_cost_cents=item.unit_cost_cents,
            taxable=item.taxable,
        )

    def _credit_and_refund(self, job: BilledJob, item: LineItem) -> None:
        invoice = self._invoice(job)
        line = InvoiceLine.objects.get(invoice=invoice, line_item=item)
        note = credit_note_create(actor=self.office, invoice_id=invoice.pk, version=invoice.version, amounts={line.pk: CREDIT_CENTS}, reason=CREDIT_REASON)
        paid_by = invoice.payments.filter(kind=Payment.Kind.PAYMENT).order_by("-pk").first()
        method, reference = (paid_by.method, paid_by.reference) if paid_by else (Payment.Method.CHECK, "")
        refund_record(
            actor=self.office,
            invoice_id=invoice.pk,
            amount_cents=note.total_cents,
            method=method,
            received_on=timezone.localdate(),
            reference=reference,
            note=f"Goodwill credit {note.number} paid back",
        )

    # ---- running ---------------------------------------------------------------------------------

    def run(self) -> None:
        last = _last_pks()
        spans: dict[type[Model], list[tuple[datetime, int, int]]] = {model: [] for model in DATED}
        for op in sorted(self.ops):
            with clock_at(op.at):
                op.run()
            # Ids only grow: the rows this step wrote are those above the last ids before it.
            top = _last_pks()
            for model, low, high in zip(DATED, last, top, strict=True):
                if high > low:
                    spans[model].append((op.at, low, high))
            last = top
        for model, rows in spans.items():
            _date_spans(model, rows)


def _last_pks() -> list[int]:
    """The highest id of each DATED table, in one query."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT max(id) FROM {quote(model._meta.db_table)})" for model in DATED))
        return [pk or 0 for pk in cursor.fetchone()]


def _date_spans(model: type[Model], rows: list[tuple[datetime, int, int]]) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field("created_at").column)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE id > %s AND id <= %s", [(adapt(at), low, high) for at, low, high in rows])
