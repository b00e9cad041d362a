"""Money against an issued invoice: recording a payment or a refund (billing.record_payment), and
issuing a credit note that corrects some of its lines (billing.void_invoice). Each form has its own
page (the invoice page carries the payment form too, posting here); a refusal — an overpayment, a
refund above what was paid, a credit above what is left on a line — is shown on the form with the
input kept and nothing recorded."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from serviceopus.core.money import format_cents
from serviceopus.jobs.forms import dollars
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from serviceopus.jobs.views.conventions import require_perm

from .. import actions, queries
from ..forms import CreditNoteForm, PaymentForm, RefundForm
from ..models import Invoice, Payment
from ..status import ISSUED_STATES, OPEN_FOR_PAYMENT, InvoiceStatus
from .invoices import NAV, PAY, VOID, crumbs, detail_url, form_page, run


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _summary(invoice: Invoice) -> list[tuple[str, str]]:
    return [
        ("Customer", invoice.customer.name),
        ("Total", format_cents(invoice.total_cents)),
        ("Paid", format_cents(invoice.paid_cents)),
        *([("Credited", format_cents(invoice.credited_cents))] if invoice.credited_cents else []),
        ("Balance", format_cents(invoice.balance_cents)),
    ]


def _closed_jobs(invoice: Invoice) -> list[str]:
    return list(Job.objects.filter(invoices=invoice, status=JobStatus.CLOSED).order_by("pk").values_list("number", flat=True))


@login_required
@require_http_methods(["GET", "POST"])
def payment_record(request: HttpRequest, invoice_id: int) -> HttpResponse:
    require_perm(request, PAY)
    invoice = queries.access_invoice(invoice_id)
    if request.method == "GET" and (invoice.kind != Invoice.Kind.INVOICE or invoice.status not in OPEN_FOR_PAYMENT):
        messages.warning(request, f"{invoice} is {invoice.get_status_display().lower()}: it takes no payment.")
        return redirect(detail_url(invoice.pk))
    form = PaymentForm(_posted(request), initial={"received_on": timezone.localdate(), "amount": dollars(max(invoice.balance_cents, 0))})
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            payment, status = run(
                form,
                lambda: actions.payment_record(actor=request.user, invoice_id=invoice.pk, **_money(data)),
            )
            if payment is not None:
                _paid_message(request, payment)
                return redirect(detail_url(invoice.pk, "payments"))
    return form_page(
        request,
        form,
        status=status,
        title=f"Record a payment on {invoice}",
        summary=_summary(invoice),
        intro="Money received from the customer. More than the balance is refused; a payment of the whole balance marks the invoice paid.",
        submit_label="Record payment",
        cancel_url=detail_url(invoice.pk),
        crumbs=crumbs(invoice),
    )


def _money(data: dict) -> dict:
    """The payment and refund forms' cleaned data as the actions take it."""
    return {
        "amount_cents": data["amount"],
        "method": data["method"],
        "received_on": data["received_on"],
        "reference": data["reference"],
        "note": data["note"],
    }


def _paid_message(request: HttpRequest, payment: Payment) -> None:
    invoice = Invoice.objects.get(pk=payment.invoice_id)
    text = f"Payment of {format_cents(payment.amount_cents)} recorded on {invoice.number}."
    if invoice.status == InvoiceStatus.PAID:
        text += " The invoice is paid in full."
        closed = _closed_jobs(invoice)
        if closed:
            text += f" {', '.join(closed)} {'is' if len(closed) == 1 else 'are'} now closed."
    else:
        text += f" Balance {format_cents(invoice.balance_cents)}."
    messages.success(request, text)


@login_required
@require_http_methods(["GET", "POST"])
def refund_record(request: HttpRequest, invoice_id: int) -> HttpResponse:
    require_perm(request, PAY)
    invoice = queries.access_invoice(invoice_id)
    if request.method == "GET" and (invoice.kind != Invoice.Kind.INVOICE or invoice.status not in ISSUED_STATES or invoice.paid_cents <= 0):
        messages.warning(request, f"Nothing has been paid on {invoice}: there is nothing to refund.")
        return redirect(detail_url(invoice.pk))
    form = RefundForm(_posted(request), initial={"received_on": timezone.localdate()})
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            refund, status = run(
                form,
                lambda: actions.refund_record(actor=request.user, invoice_id=invoice.pk, **_money(data)),
            )
            if refund is not None:
                invoice.refresh_from_db()
                messages.success(
                    request, f"Refund of {format_cents(refund.amount_cents)} recorded on {invoice.number}. Balance {format_cents(invoice.balance_cents)}."
                )
                return redirect(detail_url(invoice.pk, "payments"))
    return form_page(
        request,
        form,
        status=status,
        title=f"Record a refund on {invoice}",
        summary=_summary(invoice),
        intro=f"Money paid back to the customer: at most what has been paid ({format_cents(invoice.paid_cents)}). To lower what is owed, issue a credit note.",
        submit_label="Record refund",
        cancel_url=detail_url(invoice.pk),
        crumbs=crumbs(invoice),
    )


@login_required
@require_http_methods(["GET", "POST"])
def credit_note_create(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """A credit note against some of an issued invoice's lines: each line offers what is left to credit."""
    require_perm(request, VOID)
    invoice = queries.access_invoice(invoice_id)
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in ISSUED_STATES:
        messages.warning(request, f"{invoice} is {invoice.get_status_display().lower()}: only an issued invoice can be credited.")
        return redirect(detail_url(invoice.pk))
    # Covered lines are at zero: nothing to credit. Discounts and not-to-exceed adjustments are negative and
    # are credited with negative amounts, so crediting everything credits exactly the invoice's total.
    lines = [line for line in invoice.lines.select_related("tax_rate", "job").order_by("position", "id") if line.amount_cents != 0]
    done = queries.credited_so_far(invoice)
    left = {line.pk: line.amount_cents - done.get(line.pk, 0) for line in lines}
    form = CreditNoteForm(_posted(request), lines=lines, left=left, initial={"version": invoice.version})
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            note, status = run(
                form,
                lambda: actions.credit_note_create(
                    actor=request.user, invoice_id=invoice.pk, version=data["version"], amounts=form.amounts(), reason=data["reason"]
                ),
            )
            if note is not None:
                messages.success(request, f"Credit note {note.number} of {format_cents(note.total_cents)} issued against {invoice.number}.")
                return redirect(detail_url(invoice.pk, "credit-notes"))
    context = {
        "invoice": invoice,
        "form": form,
        "rows": form.rows(),
        "summary": _summary(invoice),
        "crumbs": crumbs(invoice),
        "nav_active": NAV,
    }
    return render(request, "billing/invoices/credit_note.html", context, status=status)


urlpatterns = [
    path("invoices/<int:invoice_id>/payments/", payment_record, name="payment_record"),
    path("invoices/<int:invoice_id>/refunds/", refund_record, name="refund_record"),
    path("invoices/<int:invoice_id>/credit-note/", credit_note_create, name="credit_note"),
]
