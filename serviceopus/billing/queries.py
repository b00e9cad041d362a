"""Every read the billing pages need: the invoices list (filters, keyset pages, the filtered set's
totals), one invoice with its lines, payments, credit notes and history, a job's invoices and
payments, and the ready-to-invoice queue. Each page costs a fixed number of queries whatever the
number of rows; money is summed per column in the database (exact integer sums) and combined in Python.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import BillingType, Job, JobEvent, LineItem
from serviceopus.jobs.pagination import Page, SortKey, paginate
from serviceopus.jobs.status import JobStatus

from .models import BillingSettings, Invoice, InvoiceLine, Payment
from .status import ISSUED_STATES, OPEN_FOR_PAYMENT, InvoiceStatus

PAGE_SIZE = 50
QUEUE_PAGE_SIZE = 50
HISTORY_LIMIT = 100

# Keyset sorts: the last key is unique. Dates are not offered (nullable, and the cursor carries ints).
SORTS: dict[str, tuple[str, list[SortKey]]] = {
    "newest": ("Newest first", [SortKey("id", True)]),
    "oldest": ("Oldest first", [SortKey("id", False)]),
    "total": ("Largest total", [SortKey("total_cents", True), SortKey("id", True)]),
}

# The list's status filter: the lifecycle's states, and two views the office asks for every day.
STATUS_FILTERS: list[tuple[str, str]] = [
    ("open", "Open (unpaid)"),
    ("overdue", "Overdue"),
    *InvoiceStatus.choices,
]


@dataclass
class InvoiceFilters:
    status: str = ""
    q: str = ""
    kind: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "newest"

    def is_empty(self) -> bool:
        return not (self.status or self.q or self.kind or self.date_from or self.date_to)


def filter_invoices(qs: QuerySet[Invoice], f: InvoiceFilters) -> QuerySet[Invoice]:
    if f.status == "open":
        qs = qs.filter(kind=Invoice.Kind.INVOICE, status__in=OPEN_FOR_PAYMENT)
    elif f.status == "overdue":
        qs = qs.filter(kind=Invoice.Kind.INVOICE, status__in=OPEN_FOR_PAYMENT, due_date__lt=timezone.localdate())
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.q:
        qs = qs.filter(Q(customer__name__icontains=f.q) | Q(number__iexact=f.q.strip()))
    if f.date_from:
        qs = qs.filter(issue_date__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(issue_date__lte=f.date_to)
    return qs


def invoice_list_page(f: InvoiceFilters, *, cursor: str | None, size: int = PAGE_SIZE) -> Page:
    """One page of invoices and credit notes. Raises pagination.BadCursor for a mangled cursor."""
    keys = SORTS.get(f.sort, SORTS["newest"])[1]
    qs = (
        filter_invoices(Invoice.objects.all(), f)
        .select_related("customer", "credits")
        .prefetch_related(Prefetch("jobs", queryset=Job.objects.only("id", "number")))
    )
    return paginate(qs, keys, cursor=cursor, size=size)


@dataclass
class ListTotals:
    count: int
    invoiced_cents: int
    outstanding_cents: int
    overdue_cents: int
    overdue_count: int


def invoice_list_totals(f: InvoiceFilters) -> ListTotals:
    """What the filtered set adds up to (one query): how many, what was invoiced (issued, not void),
    what is still owed, and how much of that is overdue."""
    billed = Q(kind=Invoice.Kind.INVOICE, status__in=ISSUED_STATES)
    open_ = Q(kind=Invoice.Kind.INVOICE, status__in=OPEN_FOR_PAYMENT)
    overdue = open_ & Q(due_date__lt=timezone.localdate())
    row = filter_invoices(Invoice.objects.all(), f).aggregate(
        n=Count("id"),
        total=Sum("total_cents", filter=billed),
        paid=Sum("paid_cents", filter=billed),
        credited=Sum("credited_cents", filter=billed),
        o_total=Sum("total_cents", filter=overdue),
        o_paid=Sum("paid_cents", filter=overdue),
        o_credited=Sum("credited_cents", filter=overdue),
        o_n=Count("id", filter=overdue),
    )
    v = {k: value or 0 for k, value in row.items()}
    return ListTotals(
        count=v["n"],
        invoiced_cents=v["total"],
        outstanding_cents=v["total"] - v["paid"] - v["credited"],
        overdue_cents=v["o_total"] - v["o_paid"] - v["o_credited"],
        overdue_count=v["o_n"],
    )


# ---- one invoice ----------------------------------------------------------------------------------------------


def access_invoice(invoice_id: int) -> Invoice:
    """The invoice or credit note with what its header shows, or 404. Callers check billing.view_billing."""
    qs = Invoice.objects.select_related("customer", "credits", "created_by", "issued_by", "voided_by")
    return get_object_or_404(qs, pk=invoice_id)


@dataclass
class InvoiceDetail:
    invoice: Invoice
    lines: list[InvoiceLine]
    jobs: list[Job]
    payments: list[Payment]
    credit_notes: list[Invoice]
    history: list[JobEvent]


def invoice_detail(invoice: Invoice) -> InvoiceDetail:
    """Lines, jobs, payments, credit notes and billing history of one invoice (five queries)."""
    lines = list(invoice.lines.select_related("tax_rate", "job", "credits_line").order_by("position", "id"))
    jobs = list(invoice.jobs.select_related("job_type").order_by("pk"))
    payments = list(invoice.payments.select_related("recorded_by").order_by("received_on", "id"))
    notes = list(invoice.credit_notes.order_by("id")) if invoice.kind == Invoice.Kind.INVOICE else []
    return InvoiceDetail(invoice=invoice, lines=lines, jobs=jobs, payments=payments, credit_notes=notes, history=invoice_history(invoice, jobs))


def invoice_history(invoice: Invoice, jobs: list[Job]) -> list[JobEvent]:
    """The billing events recorded on the timeline of the invoice's first job: each billing write
    records one event per job of the invoice, so one job's timeline tells the whole story once."""
    if not jobs:
        return []
    key = "credit_note" if invoice.kind == Invoice.Kind.CREDIT_NOTE else "invoice"
    events = JobEvent.objects.filter(job_id=jobs[0].pk, kind=JobEvent.Kind.BILLING, **{f"data__{key}": invoice.pk}).select_related("actor")
    return list(events.order_by("-created_at", "-id")[:HISTORY_LIMIT])


def credited_so_far(invoice: Invoice) -> dict[int, int]:
    """Invoice line id → cents already credited on it by credit notes (one query)."""
    rows = (
        InvoiceLine.objects.filter(credits_line__invoice=invoice)
        .values("credits_line")
        .annotate(total=Sum("amount_cents"))
        .values_list("credits_line", "total")
    )
    return {line_id: -total for line_id, total in rows}


# ---- a job's invoices and payments ----------------------------------------------------------------------------


def job_invoices(job: Job) -> list[Invoice]:
    """The job's invoices and credit notes, newest first (one query)."""
    return list(Invoice.objects.filter(jobs=job).select_related("credits").order_by("-id"))


def job_payments(job: Job) -> list[Payment]:
    """Payments and refunds on the job's invoices, newest first (one query)."""
    return list(Payment.objects.filter(invoice__jobs=job).select_related("invoice", "recorded_by").order_by("-received_on", "-id"))


# ---- the ready-to-invoice queue ---------------------------------------------------------------------------------

QUEUE_KEYS = [SortKey("id", False)]


def ready_queue(settings: BillingSettings | None = None) -> QuerySet[Job]:
    """Jobs at work complete with work on no live invoice line (a job line, or approved, finished time
    a billing type bills), or with a draft invoice waiting for review. Uses EXISTS subqueries, so no
    pricing is run per row; what an invoice would hold is worked out on the preview."""
    settings = settings or BillingSettings.current()
    kinds = [TimeEntry.Kind.WORK] + ([TimeEntry.Kind.TRAVEL] if settings.bill_travel else [])
    on_live_line = InvoiceLine.objects.filter(live=True)
    open_lines = LineItem.objects.filter(job=OuterRef("pk")).exclude(Exists(on_live_line.filter(line_item=OuterRef("pk"))))
    open_time = TimeEntry.objects.filter(job=OuterRef("pk"), review=TimeEntry.Review.APPROVED, end__isnull=False, kind__in=kinds).exclude(
        Exists(on_live_line.filter(time_entry=OuterRef("pk")))
    )
    draft = Invoice.objects.filter(jobs=OuterRef("pk"), status=InvoiceStatus.DRAFT).order_by("id").values("id")[:1]
    return (
        Job.objects.filter(status=JobStatus.WORK_COMPLETE)
        .annotate(
            has_open_lines=Exists(open_lines),
            has_open_time=Exists(open_time),
            draft_id=Subquery(draft),
        )
        # Fixed-price jobs do not bill time: their time alone puts nothing on an invoice.
        .filter(Q(has_open_lines=True) | (Q(has_open_time=True) & ~Q(billing_type=BillingType.FIXED_PRICE)) | Q(draft_id__isnull=False))
        .select_related("customer", "job_type")
    )


def ready_queue_page(*, cursor: str | None, size: int = QUEUE_PAGE_SIZE) -> Page:
    """One page of the queue, oldest jobs first. Raises BadCursor for a mangled cursor."""
    return paginate(ready_queue(), QUEUE_KEYS, cursor=cursor, size=size)


def jobs_for_preview(job_ids: list[int]) -> list[Job]:
    return list(Job.objects.filter(pk__in=job_ids).select_related("customer", "job_type", "location").order_by("pk"))
