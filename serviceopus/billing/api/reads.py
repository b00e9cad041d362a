"""The reads the billing API needs, each a fixed number of queries whatever the row count: invoices
with their customer and jobs, one invoice with its lines, payments and credit notes, payments, and the
jobs waiting to be invoiced."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import jobs_visible_to

from ..models import Invoice, InvoiceLine, Payment
from ..queries import ready_queue
from ..status import OPEN_FOR_PAYMENT


def _jobs_prefetch() -> Prefetch:
    return Prefetch("jobs", queryset=Job.objects.only("id", "number").order_by("pk"))


def invoices() -> QuerySet[Invoice]:
    """Invoices with what a list row shows: three queries for any page (rows, jobs)."""
    return Invoice.objects.select_related("customer", "credits").prefetch_related(_jobs_prefetch())


@dataclass
class InvoiceFilters:
    status: str | None = None
    kind: str | None = None
    customer_id: int | None = None
    job_id: int | None = None
    overdue: bool = False


def filtered_invoices(filters: InvoiceFilters, *, today: date | None = None) -> QuerySet[Invoice]:
    qs = invoices()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.customer_id:
        qs = qs.filter(customer_id=filters.customer_id)
    if filters.job_id:
        # Through the join table, so an invoice of two jobs appears once.
        qs = qs.filter(pk__in=Invoice.jobs.through.objects.filter(job_id=filters.job_id).values("invoice_id"))
    if filters.overdue:
        qs = qs.filter(kind=Invoice.Kind.INVOICE, status__in=OPEN_FOR_PAYMENT, due_date__lt=today or timezone.localdate())
    return qs


def invoice_detail(invoice_id: int) -> Invoice:
    """The invoice with its lines, payments and credit notes (six queries), or Http404."""
    qs = (
        invoices()
        .select_related("created_by")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.select_related("tax_rate", "job").order_by("position", "id"), to_attr="line_list"),
            Prefetch("payments", queryset=Payment.objects.select_related("recorded_by").order_by("received_on", "id"), to_attr="payment_list"),
            Prefetch("credit_notes", queryset=Invoice.objects.order_by("pk"), to_attr="credit_note_list"),
        )
    )
    return get_object_or_404(qs, pk=invoice_id)


def job_invoices(job: Job) -> QuerySet[Invoice]:
    """The job's invoices and credit notes, oldest first."""
    return invoices().filter(pk__in=Invoice.jobs.through.objects.filter(job_id=job.pk).values("invoice_id")).order_by("pk")


def payments() -> QuerySet[Payment]:
    return Payment.objects.select_related("invoice__customer", "recorded_by")


def filtered_payments(*, invoice_id: int | None, customer_id: int | None, date_from: date | None, date_to: date | None) -> QuerySet[Payment]:
    qs = payments()
    if invoice_id:
        qs = qs.filter(invoice_id=invoice_id)
    if customer_id:
        qs = qs.filter(invoice__customer_id=customer_id)
    if date_from:
        qs = qs.filter(received_on__gte=date_from)
    if date_to:
        qs = qs.filter(received_on__lte=date_to)
    return qs


def ready_to_invoice(user: User) -> QuerySet[Job]:
    """The ready-to-invoice queue of the office's page (queries.ready_queue), as far as this user sees jobs."""
    return ready_queue().filter(pk__in=jobs_visible_to(user).values("pk"))
