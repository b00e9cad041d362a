"""The job workspace's Invoices and Payments tabs (registered in hooks.install). Billing is the
office's: a user without billing.view_billing (technicians, dispatchers) sees a short note, and the
tab reads nothing. The Invoices tab also says what is still to invoice, from the same preview the
invoice would be made from (a fixed number of queries for one job)."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from serviceopus.jobs.models import Job

from .. import queries
from ..actions.invoices import INVOICEABLE
from ..models import Invoice
from ..pricing import preview
from ..status import ISSUED_STATES, OPEN_FOR_PAYMENT, InvoiceStatus
from .invoices import INVOICE, PAY, VIEW

NO_ACCESS = {"tab_template": "billing/tabs/no_access.html"}


def invoices_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    if not request.user.has_perm(VIEW):
        return NO_ACCESS
    invoices = queries.job_invoices(job)
    to_invoice = preview([job]) if job.status in INVOICEABLE else None
    drafts = [inv for inv in invoices if inv.status == InvoiceStatus.DRAFT]
    return {
        "tab_template": "billing/tabs/invoices.html",
        "billing_invoices": invoices,
        "billing_drafts": drafts,
        "billing_preview": to_invoice,
        "billing_invoiceable": job.status in INVOICEABLE,
        "billing_can_invoice": request.user.has_perm(INVOICE) and to_invoice is not None and not to_invoice.empty,
        "billing_preview_url": f"{reverse('billing:invoice_new')}?job={job.pk}",
    }


def payments_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    if not request.user.has_perm(VIEW):
        return NO_ACCESS
    invoices = [inv for inv in queries.job_invoices(job) if inv.kind == Invoice.Kind.INVOICE and inv.status in ISSUED_STATES]
    return {
        "tab_template": "billing/tabs/payments.html",
        "billing_payments": queries.job_payments(job),
        "billing_open": [inv for inv in invoices if inv.status in OPEN_FOR_PAYMENT],
        "billing_totals": {
            "invoiced": sum(inv.total_cents for inv in invoices),
            "paid": sum(inv.paid_cents for inv in invoices),
            "credited": sum(inv.credited_cents for inv in invoices),
            "balance": sum(inv.balance_cents for inv in invoices),
        },
        "billing_has_invoices": bool(invoices),
        "billing_can_pay": request.user.has_perm(PAY),
    }
