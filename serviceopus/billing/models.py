"""Invoices, credit notes, payments, the settings they are built with, and the accounting journal.

Money is integer cents. An invoice line's amount is rounded once, half-up to the cent (core.money), its
tax once more (`tax.line_tax`); the invoice's totals are sums of those integers, so they are the same on
every database. Each billable source — a job's line item (inventory-backed material lines included),
an approved time entry — sits on at most one live invoice line: partial unique indexes on
InvoiceLine enforce it in the database, and voiding an invoice marks its lines not live so the work can
be invoiced again.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from serviceopus.core.text import reject_nul
from serviceopus.customers.models import Customer
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import BillingType, Job, LineItem

from .status import InvoiceStatus


class TaxRate(models.Model):
    """A sales tax rate. Stored in thousandths of a percent: 8.875 % is 8875."""

    name = models.CharField(max_length=100, unique=True, validators=[reject_nul])
    rate_milli_percent = models.PositiveIntegerField(validators=[MaxValueValidator(100_000)], help_text="8.875 % is 8875.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.percent_label})"

    @property
    def percent_label(self) -> str:
        whole, frac = divmod(self.rate_milli_percent, 1000)
        return f"{whole}.{frac:03d}".rstrip("0").rstrip(".") + " %"


class BillingSettings(models.Model):
    """The company's billing details and defaults (one row, edited in the admin site)."""

    company_name = models.CharField(max_length=200, default="Service Opus Demo Co.", validators=[reject_nul])
    company_address = models.TextField(max_length=1000, blank=True, validators=[reject_nul])
    company_email = models.EmailField(blank=True)
    company_phone = models.CharField(max_length=40, blank=True, validators=[reject_nul])
    tax_id = models.CharField(max_length=50, blank=True, validators=[reject_nul])
    payment_instructions = models.TextField(max_length=2000, blank=True, validators=[reject_nul])
    payment_terms_days = models.PositiveSmallIntegerField(default=30, validators=[MaxValueValidator(365)])
    default_tax_rate = models.ForeignKey(TaxRate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    tax_labour = models.BooleanField(default=False, help_text="Charge tax on labour from time entries.")
    bill_travel = models.BooleanField(default=False, help_text="Bill travel time as well as work time.")
    margin_warning_percent = models.PositiveSmallIntegerField(
        default=30, validators=[MaxValueValidator(100)], help_text="A job whose gross margin falls below this shows a warning."
    )
    agreement_covers_materials = models.BooleanField(default=False, help_text="Agreement-covered jobs bill materials at zero too.")

    class Meta:
        verbose_name = verbose_name_plural = "billing settings"

    def __str__(self) -> str:
        return "Billing settings"

    @classmethod
    def current(cls) -> "BillingSettings":
        row = cls.objects.select_related("default_tax_rate").order_by("pk").first()
        return row if row is not None else cls.objects.create()


class LabourRate(models.Model):
    """The hourly rate labour from time entries is billed at, per billing type. A type without a row
    bills labour at zero (fixed price: labour is in the price; warranty and agreement: covered)."""

    billing_type = models.CharField(max_length=20, choices=BillingType.choices, unique=True)
    hourly_rate_cents = models.PositiveIntegerField(validators=[MaxValueValidator(10_000_00)])

    class Meta:
        ordering = ["billing_type"]

    def __str__(self) -> str:
        return f"{self.get_billing_type_display()}: {self.hourly_rate_cents / 100:.2f}/h"


class Invoice(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    # Assigned at issue from a gapless sequence (INV-000001, CN-000001); a draft has none.
    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    status = models.CharField(max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    jobs = models.ManyToManyField(Job, blank=True, related_name="invoices")
    credits = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes")
    bill_to = models.TextField(max_length=1000, blank=True, help_text="The customer's name and address, fixed at issue.")
    memo = models.TextField(max_length=2000, blank=True, validators=[reject_nul])
    terms_days = models.PositiveSmallIntegerField(default=30, validators=[MaxValueValidator(365)])
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    subtotal_cents = models.BigIntegerField(default=0)
    tax_cents = models.BigIntegerField(default=0)
    total_cents = models.BigIntegerField(default=0)
    paid_cents = models.BigIntegerField(default=0, help_text="Payments less refunds.")
    credited_cents = models.BigIntegerField(default=0, help_text="Credit notes issued against it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    issued_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True, validators=[reject_nul])
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status=InvoiceStatus.DRAFT) | Q(number__isnull=False), name="invoice_issued_has_number"),
            models.CheckConstraint(condition=Q(kind="invoice") | Q(credits__isnull=False), name="credit_note_credits_invoice"),
            models.CheckConstraint(condition=Q(paid_cents__gte=0), name="invoice_paid_not_negative"),
        ]
        indexes = [
            models.Index(fields=["status", "id"], name="invoice_status_id"),
            models.Index(fields=["customer", "id"], name="invoice_customer_id"),
            models.Index(fields=["issue_date", "id"], name="invoice_issue_date_id"),
            models.Index(fields=["due_date", "id"], name="invoice_due_date_id"),
        ]
        permissions = [
            ("view_billing", "Can see invoices, payments and job financials"),
            ("invoice", "Can create, edit and issue invoices"),
            ("record_payment", "Can record payments and refunds"),
            ("void_invoice", "Can void invoices and issue credit notes"),
            ("export", "Can export invoices and payments for accounting"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.get_kind_display().lower()} #{self.pk}"

    @property
    def balance_cents(self) -> int:
        """What the customer still owes: the total, less payments (net of refunds) and credit notes.
        Negative when a credit note exceeds what was left: the customer is owed a refund."""
        if self.kind == self.Kind.CREDIT_NOTE or self.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            return 0
        return self.total_cents - self.paid_cents - self.credited_cents

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        SERVICE = "service", "Service"
        LABOUR = "labour", "Labour"
        MATERIAL = "material", "Material"
        FEE = "fee", "Fee"
        DISCOUNT = "discount", "Discount"
        ADJUSTMENT = "adjustment", "Not-to-exceed adjustment"
        CREDIT = "credit", "Credit"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    description = models.CharField(max_length=300, validators=[reject_nul])
    quantity = models.DecimalField(max_digits=12, decimal_places=3, default=1)
    unit_price_cents = models.BigIntegerField(default=0)
    amount_cents = models.BigIntegerField(default=0)
    # Covered work (agreement, warranty) is shown at zero; what it would have cost is kept for the reader.
    covered = models.BooleanField(default=False)
    list_amount_cents = models.BigIntegerField(default=0)
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    tax_rate_milli_percent = models.PositiveIntegerField(default=0)
    tax_cents = models.BigIntegerField(default=0)
    job = models.ForeignKey(Job, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines")
    line_item = models.ForeignKey(LineItem, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines")
    time_entry = models.ForeignKey(TimeEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines")
    credits_line = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="credited_by")
    # False once the invoice is void: its sources may be invoiced again.
    live = models.BooleanField(default=True)

    class Meta:
        ordering = ["invoice_id", "position", "id"]
        constraints = [
            # A source is on at most one live invoice line: double billing is refused by the database.
            models.UniqueConstraint(fields=["line_item"], condition=Q(live=True, line_item__isnull=False), name="invoiceline_line_item_once"),
            models.UniqueConstraint(fields=["time_entry"], condition=Q(live=True, time_entry__isnull=False), name="invoiceline_time_entry_once"),
            models.CheckConstraint(condition=Q(line_item__isnull=True) | Q(time_entry__isnull=True), name="invoiceline_one_source"),
        ]
        indexes = [
            models.Index(fields=["invoice", "position", "id"], name="invoiceline_invoice_pos"),
            models.Index(fields=["job", "live"], name="invoiceline_job_live"),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def source_label(self) -> str:
        if self.time_entry_id:
            return "time entry"
        if self.line_item_id:
            return "job line"
        return ""


class Payment(models.Model):
    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"

    class Method(models.TextChoices):
        CARD = "card", "Card"
        CASH = "cash", "Cash"
        CHECK = "check", "Check"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        OTHER = "other", "Other"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PAYMENT)
    method = models.CharField(max_length=20, choices=Method.choices)
    amount_cents = models.BigIntegerField(validators=[MinValueValidator(1)])
    reference = models.CharField(max_length=100, blank=True, validators=[reject_nul], help_text="Card reference, check number, transfer id.")
    received_on = models.DateField()
    note = models.CharField(max_length=500, blank=True, validators=[reject_nul])
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payment_amount_positive")]
        indexes = [models.Index(fields=["invoice", "id"], name="payment_invoice_id")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_cents / 100:.2f} on {self.invoice_id}"

    @property
    def signed_cents(self) -> int:
        return self.amount_cents if self.kind == self.Kind.PAYMENT else -self.amount_cents


class AccountingEntry(models.Model):
    """The accounting journal the export reads: one immutable row per issued invoice or credit note,
    void, payment and refund, holding a snapshot of what was exported. `seq` comes from a gapless
    sequence taken in the writer's transaction; the sequence row stays locked until commit, so rows
    become visible in `seq` order and a reader's "since" cursor never skips one."""

    class Kind(models.TextChoices):
        INVOICE_ISSUED = "invoice_issued", "Invoice issued"
        CREDIT_NOTE_ISSUED = "credit_note_issued", "Credit note issued"
        INVOICE_VOIDED = "invoice_voided", "Invoice voided"
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"

    seq = models.BigIntegerField(unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="accounting_entries")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="accounting_entries")
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "accounting entries"

    def __str__(self) -> str:
        return f"{self.seq} {self.kind}"


class Estimate(models.Model):
    """What the job was expected to earn and cost: a snapshot of its quoted lines (and its estimated
    labour at the crew's cost), taken when it is first scheduled or when the office re-baselines it.
    The Financials tab compares the actuals with it."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="estimate")
    revenue_cents = models.BigIntegerField(default=0)
    material_cost_cents = models.BigIntegerField(default=0)
    labour_cost_cents = models.BigIntegerField(default=0)
    captured_at = models.DateTimeField(default=timezone.now)
    captured_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"Estimate of {self.job_id}"

    @property
    def cost_cents(self) -> int:
        return self.material_cost_cents + self.labour_cost_cents

    @property
    def margin_cents(self) -> int:
        return self.revenue_cents - self.cost_cents
