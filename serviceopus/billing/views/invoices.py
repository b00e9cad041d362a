"""Invoice pages: the list, the preview of a new invoice and its creation, one invoice (lines, totals,
payments, credit notes, history), and a draft's edits: memo and terms, lines, issuing, deleting; an
issued invoice's voiding. Reading needs billing.view_billing; each write the permission its action
checks. Buttons follow the invoice's state, so a page rarely offers what the action would refuse;
when it does (another user got there first), the action's message is shown and nothing changes."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.money import format_cents
from serviceopus.jobs.forms import dollars
from serviceopus.jobs.pagination import BadCursor
from serviceopus.jobs.status import JobStatus
from serviceopus.jobs.views.conventions import render_page, require_perm

from .. import actions, queries
from ..actions.invoices import INVOICEABLE
from ..forms import DraftHeaderForm, InvoiceFilterForm, JobChoiceForm, LineAddForm, LineEditForm, PaymentForm, VersionForm, VoidForm, apply_action_errors
from ..models import BillingSettings, Invoice, InvoiceLine
from ..pricing import preview
from ..status import ISSUED_STATES, OPEN_FOR_PAYMENT, InvoiceStatus

NAV = "invoices"
VIEW = "billing.view_billing"
INVOICE = "billing.invoice"
PAY = "billing.record_payment"
VOID = "billing.void_invoice"


def detail_url(invoice_id: int, anchor: str = "") -> str:
    url = reverse("billing:invoice", args=[invoice_id])
    return f"{url}#{anchor}" if anchor else url


def crumbs(invoice: Invoice | None = None) -> list[tuple[str, str]]:
    trail = [("Invoices", reverse("billing:invoices"))]
    if invoice is not None:
        trail.append((str(invoice), detail_url(invoice.pk)))
    return trail


def pdf_url(invoice: Invoice) -> str | None:
    """The PDF download, once the documents app serves it (drafts have none: no number yet)."""
    if invoice.is_draft:
        return None
    try:
        return reverse("finance:invoice_pdf", args=[invoice.pk]) + "?download=1"
    except NoReverseMatch:
        return None


def run(form: forms.Form, action: Callable[[], Any]) -> tuple[Any, int]:
    """Run an action for a valid form; a refusal lands on the form. Returns (result or None, status):
    422 for bad input, 409 for a conflict (a stale copy, the wrong state)."""
    try:
        return action(), 200
    except InvalidInput as invalid:
        apply_action_errors(form, invalid)
        return None, 422
    except ConflictError as conflict:
        form.add_error(None, conflict.message)
        form.stale = conflict.code == "stale"  # type: ignore[attr-defined]
        return None, 409
    except DomainError as refused:
        if refused.code == "forbidden":
            raise PermissionDenied(refused.message) from refused
        form.add_error(None, refused.message)
        return None, 400


def run_button(request: HttpRequest, action: Callable[[], Any]) -> Any:
    """Run the action of a button (no fields but the version): a refusal becomes a message."""
    try:
        return action()
    except DomainError as refused:
        if refused.code == "forbidden":
            raise PermissionDenied(refused.message) from refused
        messages.error(request, refused.message)
        return None


def form_page(request: HttpRequest, form: forms.Form, *, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("submit_label", "Save")
    return render(request, "billing/form.html", {"form": form, "nav_active": NAV, **context}, status=status)


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


# ---- the list -----------------------------------------------------------------------------------------------------


@login_required
@require_GET
def invoice_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, VIEW)
    form = InvoiceFilterForm(request.GET)
    filters = form.to_filters()
    status, cursor_error = 200, ""
    try:
        page = queries.invoice_list_page(filters, cursor=request.GET.get("cursor") or None, size=queries.PAGE_SIZE)
    except BadCursor as exc:
        # A bookmarked or hand-edited page link: say so and show the first page of the same view.
        status, cursor_error = 400, str(exc)
        page = queries.invoice_list_page(filters, cursor=None, size=queries.PAGE_SIZE)
    today = timezone.localdate()
    rows = [
        {"invoice": inv, "overdue": inv.status in OPEN_FOR_PAYMENT and inv.kind == Invoice.Kind.INVOICE and inv.due_date is not None and inv.due_date < today}
        for inv in page.rows
    ]
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": rows,
        "totals": queries.invoice_list_totals(filters),
        "cursor_error": cursor_error,
        "query": query.urlencode(),
        "can_export": request.user.has_perm("billing.export"),
        "nav_active": NAV,
        "subnav": "invoices",
    }
    return render_page(request, "billing/invoices/list.html", context, fragments={"invoice-results": "results"}, status=status)


# ---- preview and create -------------------------------------------------------------------------------------------


def _preview_page(request: HttpRequest, form: JobChoiceForm, *, refusal: str = "", status: int = 200) -> HttpResponse:
    ids = form.cleaned_data.get("job", []) if form.is_valid() else []
    jobs = queries.jobs_for_preview(ids) if ids else []
    problems = []
    if ids and len(jobs) != len(ids):
        problems.append("One of these jobs no longer exists.")
    if len({job.customer_id for job in jobs}) > 1:
        problems.append("One invoice is for one customer: these jobs belong to different customers. Preview them one customer at a time.")
    for job in jobs:
        if job.status not in INVOICEABLE:
            problems.append(f"{job.number} is {JobStatus(job.status).label.lower()}: only work in progress or complete can be invoiced.")
    result = preview(jobs) if jobs else None
    if result is not None and result.empty:
        problems.append("Nothing left to invoice on these jobs: every line and approved time entry is already on an invoice.")
    drafts = list(Invoice.objects.filter(jobs__in=jobs, status=InvoiceStatus.DRAFT).distinct().order_by("id")) if jobs else []
    context = {
        "form": form,
        "jobs": jobs,
        "result": result,
        "problems": problems,
        "refusal": refusal,
        "drafts": drafts,
        "can_create": request.user.has_perm(INVOICE) and result is not None and not problems,
        "nav_active": NAV,
        "crumbs": [("Invoices", reverse("billing:invoices")), ("Ready to invoice", reverse("billing:ready"))],
    }
    return render(request, "billing/invoices/preview.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def invoice_new(request: HttpRequest) -> HttpResponse:
    """GET: what an invoice for the chosen jobs (?job=1&job=2) would hold. POST: create that draft."""
    require_perm(request, VIEW if request.method == "GET" else INVOICE)
    data = request.POST if request.method == "POST" else request.GET
    form = JobChoiceForm(data)
    if request.method == "GET":
        if "job" not in request.GET:
            return _preview_page(request, form.__class__())
        return _preview_page(request, form, status=200 if form.is_valid() else 422)
    if not form.is_valid():
        return _preview_page(request, form, status=422)
    try:
        invoice = actions.invoice_create(actor=request.user, job_ids=form.cleaned_data["job"], memo=form.cleaned_data["memo"])
    except DomainError as refused:
        if refused.code == "forbidden":
            raise PermissionDenied(refused.message) from refused
        return _preview_page(request, form, refusal=refused.message, status=refused.http_status)
    messages.success(request, f"Draft invoice #{invoice.pk} created: {format_cents(invoice.total_cents)}. Check it, then issue it.")
    return redirect(detail_url(invoice.pk))


# ---- one invoice ----------------------------------------------------------------------------------------------------


def detail_page(
    request: HttpRequest,
    invoice: Invoice,
    *,
    head_form: DraftHeaderForm | None = None,
    add_form: LineAddForm | None = None,
    status: int = 200,
) -> HttpResponse:
    d = queries.invoice_detail(invoice)
    user = request.user
    is_invoice = invoice.kind == Invoice.Kind.INVOICE
    editable = is_invoice and invoice.is_draft and user.has_perm(INVOICE)
    issued = invoice.status in ISSUED_STATES
    can_pay = is_invoice and invoice.status in OPEN_FOR_PAYMENT and user.has_perm(PAY)
    settings = BillingSettings.current() if editable else None
    context = {
        "invoice": invoice,
        "lines": d.lines,
        "jobs": d.jobs,
        "payments": d.payments,
        "credit_notes": d.credit_notes,
        "history": d.history,
        "is_invoice": is_invoice,
        "editable": editable,
        "head_form": head_form or (DraftHeaderForm.for_invoice(invoice) if editable else None),
        "add_form": add_form or (LineAddForm.for_invoice(invoice, default_tax=settings.default_tax_rate) if settings else None),
        "version_form": VersionForm(initial={"version": invoice.version}),
        "can_pay": can_pay,
        "payment_form": PaymentForm(initial={"received_on": timezone.localdate(), "amount": dollars(invoice.balance_cents)}) if can_pay else None,
        "can_refund": is_invoice and issued and invoice.paid_cents > 0 and user.has_perm(PAY),
        "can_credit": is_invoice and issued and user.has_perm(VOID),
        # Voiding is offered only where the action allows it; a paid or credited invoice is corrected by a credit note.
        "can_void": is_invoice and issued and invoice.paid_cents == 0 and invoice.credited_cents == 0 and user.has_perm(VOID),
        "pdf_url": pdf_url(invoice),
        "today": timezone.localdate(),
        "overdue": is_invoice and invoice.status in OPEN_FOR_PAYMENT and invoice.due_date is not None and invoice.due_date < timezone.localdate(),
        "crumbs": crumbs(),
        "nav_active": NAV,
    }
    return render(request, "billing/invoices/detail.html", context, status=status)


@login_required
@require_GET
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    require_perm(request, VIEW)
    return detail_page(request, queries.access_invoice(invoice_id))


def _draft_or_refuse(request: HttpRequest, invoice: Invoice) -> HttpResponse | None:
    if invoice.is_draft and invoice.kind == Invoice.Kind.INVOICE:
        return None
    messages.warning(request, f"{invoice} is {invoice.get_status_display().lower()}: an issued invoice cannot be edited; issue a credit note to correct it.")
    return redirect(detail_url(invoice.pk))


@login_required
@require_POST
def invoice_edit(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The draft's memo and payment terms (the form on the invoice page)."""
    require_perm(request, INVOICE)
    invoice = queries.access_invoice(invoice_id)
    form = DraftHeaderForm(request.POST, prefix="head")
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        saved, status = run(
            form,
            lambda: actions.invoice_update(
                actor=request.user, invoice_id=invoice.pk, version=data["version"], memo=data["memo"], terms_days=data["terms_days"]
            ),
        )
        if saved is not None:
            messages.success(request, f"Memo and terms saved: due {saved.terms_days} days after issue.")
            return redirect(detail_url(invoice.pk))
    return detail_page(request, invoice, head_form=form, status=status)


@login_required
@require_POST
def line_add(request: HttpRequest, invoice_id: int) -> HttpResponse:
    require_perm(request, INVOICE)
    invoice = queries.access_invoice(invoice_id)
    form = LineAddForm(request.POST, prefix="add")
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        line, status = run(
            form,
            lambda: actions.invoice_line_add(
                actor=request.user,
                invoice_id=invoice.pk,
                version=data["version"],
                kind=data["kind"],
                description=data["description"],
                quantity=data["quantity"],
                unit_price_cents=data["unit_price"] or 0,
                tax_rate_id=data["tax_rate"].pk if data["tax_rate"] else None,
            ),
        )
        if line is not None:
            messages.success(request, f"Added “{line.description}” ({format_cents(line.amount_cents)}).")
            return redirect(detail_url(invoice.pk, "lines"))
    return detail_page(request, invoice, add_form=form, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def line_edit(request: HttpRequest, invoice_id: int, line_id: int) -> HttpResponse:
    require_perm(request, INVOICE)
    invoice = queries.access_invoice(invoice_id)
    line = get_object_or_404(InvoiceLine.objects.select_related("job"), pk=line_id, invoice=invoice)
    if refused := _draft_or_refuse(request, invoice):
        return refused
    if line.kind == InvoiceLine.Kind.ADJUSTMENT:
        messages.warning(request, "The not-to-exceed adjustment is worked out when the draft is made: delete the draft and create it again to recompute it.")
        return redirect(detail_url(invoice.pk, "lines"))
    form = LineEditForm.for_line(invoice, line, _posted(request))
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            saved, status = run(
                form,
                lambda: actions.invoice_line_update(
                    actor=request.user,
                    invoice_id=invoice.pk,
                    version=data["version"],
                    line_id=line.pk,
                    description=data["description"],
                    quantity=data["quantity"],
                    unit_price_cents=data["unit_price"] or 0,
                    tax_rate_id=data["tax_rate"].pk if data["tax_rate"] else None,
                ),
            )
            if saved is not None:
                messages.success(request, f"“{saved.description}” saved: {format_cents(saved.amount_cents)}.")
                return redirect(detail_url(invoice.pk, "lines"))
    notes = []
    if line.covered:
        notes.append("This line is covered (agreement or warranty): it stays at zero whatever price is entered.")
    if line.time_entry_id:
        notes.append("Labour from a time entry: it keeps its amount by the minute unless the quantity or price changes.")
    if line.kind == InvoiceLine.Kind.DISCOUNT:
        notes.append("A discount is entered as a positive amount and billed negative.")
    return form_page(
        request,
        form,
        status=status,
        title=f"Edit line on {invoice}",
        intro=f"{line.get_kind_display()}{' from ' + line.job.number if line.job else ''}: {line.description}",
        notes=notes,
        submit_label="Save line",
        cancel_url=detail_url(invoice.pk, "lines"),
        crumbs=crumbs(invoice),
    )


@login_required
@require_POST
def line_remove(request: HttpRequest, invoice_id: int, line_id: int) -> HttpResponse:
    require_perm(request, INVOICE)
    invoice = queries.access_invoice(invoice_id)
    line = get_object_or_404(InvoiceLine, pk=line_id, invoice=invoice)
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Reload the invoice and try again: the form was incomplete.")
        return redirect(detail_url(invoice.pk, "lines"))
    done = run_button(
        request, lambda: actions.invoice_line_remove(actor=request.user, invoice_id=invoice.pk, version=form.cleaned_data["version"], line_id=line.pk) or True
    )
    if done:
        source = " Its work is back on the ready-to-invoice queue." if line.line_item_id or line.time_entry_id else ""
        messages.success(request, f"Removed “{line.description}”.{source}")
    return redirect(detail_url(invoice.pk, "lines"))


@login_required
@require_POST
def invoice_issue(request: HttpRequest, invoice_id: int) -> HttpResponse:
    require_perm(request, INVOICE)
    invoice = queries.access_invoice(invoice_id)
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Reload the invoice and try again: the form was incomplete.")
        return redirect(detail_url(invoice.pk))
    issued = run_button(request, lambda: actions.invoice_issue(actor=request.user, invoice_id=invoice.pk, version=form.cleaned_data["version"]))
    if issued is not None:
        if issued.status == InvoiceStatus.PAID:
            messages.success(request, f"Invoice {issued.number} issued at {format_cents(issued.total_cents)}: nothing to pay, so it is marked paid.")
        else:
            due = dateformat.format(issued.due_date, "M j, Y")
            messages.success(request, f"Invoice {issued.number} issued: {format_cents(issued.total_cents)}, due {due}.")
    return redirect(detail_url(invoice.pk))


@login_required
@require_http_methods(["GET", "POST"])
def invoice_delete(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Confirm, then delete a draft; its work goes back to the ready-to-invoice queue."""
    require_perm(request, INVOICE)
    invoice = queries.access_invoice(invoice_id)
    if refused := _draft_or_refuse(request, invoice):
        return refused
    form = VersionForm(_posted(request), initial={"version": invoice.version})
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            done, status = run(form, lambda: actions.invoice_delete(actor=request.user, invoice_id=invoice.pk, version=form.cleaned_data["version"]) or True)
            if done:
                messages.success(request, f"Draft invoice #{invoice.pk} deleted. Its work is back on the ready-to-invoice queue.")
                return redirect("billing:ready")
    return form_page(
        request,
        form,
        status=status,
        title=f"Delete draft invoice #{invoice.pk}?",
        intro=f"{invoice.customer.name} · {format_cents(invoice.total_cents)}. The draft and its lines are deleted; the work on it can be invoiced again.",
        submit_label="Delete draft",
        submit_class="btn-danger",
        confirm=f"Delete draft invoice #{invoice.pk}? This cannot be undone.",
        cancel_label="Keep the draft",
        cancel_url=detail_url(invoice.pk),
        crumbs=crumbs(invoice),
    )


@login_required
@require_http_methods(["GET", "POST"])
def invoice_void(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Confirm with a reason, then void an issued invoice nobody has paid or credited."""
    require_perm(request, VOID)
    invoice = queries.access_invoice(invoice_id)
    if request.method == "GET" and (invoice.kind != Invoice.Kind.INVOICE or invoice.status not in ISSUED_STATES):
        if invoice.kind == Invoice.Kind.CREDIT_NOTE:
            messages.warning(request, "A credit note cannot be voided.")
        elif invoice.is_draft:
            messages.warning(request, "A draft is not voided: delete it instead.")
        else:
            messages.warning(request, f"{invoice} is already void.")
        return redirect(detail_url(invoice.pk))
    form = VoidForm(_posted(request), initial={"version": invoice.version})
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            voided, status = run(form, lambda: actions.invoice_void(actor=request.user, invoice_id=invoice.pk, version=data["version"], reason=data["reason"]))
            if voided is not None:
                messages.success(request, f"Invoice {voided.number} voided. It stays on record; its work can be invoiced again.")
                return redirect(detail_url(invoice.pk))
    return form_page(
        request,
        form,
        status=status,
        title=f"Void invoice {invoice.number}?",
        intro=(
            f"{invoice.customer.name} · {format_cents(invoice.total_cents)}. A void invoice keeps its number and stays on record; "
            "its work goes back to the ready-to-invoice queue. An invoice with payments or credit notes is corrected by a credit note instead."
        ),
        submit_label="Void invoice",
        submit_class="btn-danger",
        confirm=f"Void invoice {invoice.number}? This cannot be undone.",
        cancel_label="Keep it",
        cancel_url=detail_url(invoice.pk),
        crumbs=crumbs(invoice),
    )


urlpatterns = [
    path("invoices/", invoice_list, name="invoices"),
    path("invoices/new/", invoice_new, name="invoice_new"),
    path("invoices/<int:invoice_id>/", invoice_detail, name="invoice"),
    path("invoices/<int:invoice_id>/edit/", invoice_edit, name="invoice_edit"),
    path("invoices/<int:invoice_id>/lines/", line_add, name="line_add"),
    path("invoices/<int:invoice_id>/lines/<int:line_id>/", line_edit, name="line_edit"),
    path("invoices/<int:invoice_id>/lines/<int:line_id>/remove/", line_remove, name="line_remove"),
    path("invoices/<int:invoice_id>/issue/", invoice_issue, name="invoice_issue"),
    path("invoices/<int:invoice_id>/delete/", invoice_delete, name="invoice_delete"),
    path("invoices/<int:invoice_id>/void/", invoice_void, name="invoice_void"),
]
