"""Purchase order pages: the list, a new order, one order (lines, receipts, history), its header and
lines while a draft, placing it ("Mark as ordered"), cancelling it with a reason, receiving goods
against it, and its PDF. Reading needs inventory.view_stock; changing an order inventory.purchase;
receiving inventory.manage_stock. Buttons follow status.py, so a page never offers a move the
action would refuse."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.money import format_cents, line_total_cents
from serviceopus.jobs.views.conventions import require_perm

from .. import queries
from ..actions import purchasing as actions
from ..models import PurchaseOrder, PurchaseOrderLine
from ..po_pdf import pdf_filename, render_po_pdf
from ..purchasing_forms import PoCancelForm, PoHeaderForm, PoLineEditForm, PoLineForm, PoOrderForm, PoReceiveForm, apply_action_errors
from ..quantity import from_milli, show
from ..status import EDITABLE, OPEN, RECEIVABLE, can_move

NAV = "purchasing"
VIEW = "inventory.view_stock"
BUY = "inventory.purchase"
RECEIVE = "inventory.manage_stock"
PAGE_SIZE = 50
SKU_CHOICES = 300
S = PurchaseOrder.Status


def _detail_url(po_id: int, anchor: str = "") -> str:
    url = reverse("inventory:po_detail", args=[po_id])
    return f"{url}#{anchor}" if anchor else url


def _crumbs(po: PurchaseOrder | None = None) -> list[tuple[str, str]]:
    crumbs = [("Purchasing", reverse("inventory:purchasing")), ("Purchase orders", reverse("inventory:po_list"))]
    if po is not None:
        crumbs.append((po.label, _detail_url(po.pk)))
    return crumbs


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _jobs_of(lines: list[PurchaseOrderLine]) -> list:
    """The jobs an order serves, once each, in line order."""
    seen: dict[int, Any] = {}
    for line in lines:
        if line.job_id and line.job_id not in seen:
            seen[line.job_id] = line.job
    return list(seen.values())


def _run(form: forms.Form, run: Callable[[], Any]) -> tuple[Any, int]:
    """Run an action for a valid form; a refusal lands on the form. Returns (result or None, status):
    422 for bad input, 409 for a conflict (stale edit, wrong state)."""
    try:
        return run(), 200
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


def _form_page(request: HttpRequest, form: forms.Form, *, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("submit_label", "Save")
    return render(request, "inventory/stock/form.html", {"form": form, "nav_active": NAV, **context}, status=status)


def _refuse(request: HttpRequest, po: PurchaseOrder, message: str) -> HttpResponse:
    messages.warning(request, message)
    return redirect(_detail_url(po.pk))


# ---- list and detail --------------------------------------------------------------------------------------


@login_required
@require_GET
def po_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, VIEW)
    status = request.GET.get("status", "")
    if status not in S.values:
        status = ""
    # Each page's lines come in one query (totals and jobs), whatever the number of orders shown.
    orders = queries.purchase_orders(status).prefetch_related(Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("job").order_by("id")))
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for po in page.object_list:
        lines = list(po.lines.all())
        rows.append({"po": po, "total": format_cents(queries.po_total_cents(po)), "jobs": _jobs_of(lines), "line_count": len(lines)})
    context = {
        "page": page,
        "rows": rows,
        "status": status,
        "status_label": S(status).label if status else "",
        "statuses": S.choices,
        "can_buy": request.user.has_perm(BUY),
        "nav_active": NAV,
    }
    return render(request, "inventory/po/list.html", context)


def _detail_page(request: HttpRequest, po: PurchaseOrder, *, line_form: forms.Form | None = None, status: int = 200) -> HttpResponse:
    can_buy = request.user.has_perm(BUY)
    editable = can_buy and po.status in EDITABLE
    lines = [
        {
            "line": line,
            "ordered": show(line.quantity_milli),
            "received": show(line.received_milli),
            "open": show(line.open_milli),
            "over": line.received_milli > line.quantity_milli,
            "unit_cost": format_cents(line.unit_cost_cents),
            "total": format_cents(line_total_cents(from_milli(line.quantity_milli), line.unit_cost_cents)),
        }
        for line in po.line_list
    ]
    context = {
        "po": po,
        "lines": lines,
        "total": format_cents(queries.po_total_cents(po)),
        "jobs": _jobs_of(po.line_list),
        "receipts": [(m, show(m.quantity_milli)) for m in po.receipts],
        "history": po.history,
        "editable": editable,
        "line_form": line_form if line_form is not None else (PoLineForm() if editable else None),
        "sku_choices": queries.search_items("", limit=SKU_CHOICES) if editable else [],
        "can_edit": can_buy and po.status in OPEN,
        "can_order": can_buy and can_move(po.status, S.ORDERED),
        "can_cancel": can_buy and can_move(po.status, S.CANCELLED),
        "can_receive": request.user.has_perm(RECEIVE) and po.status in RECEIVABLE,
        "crumbs": _crumbs(),
        "nav_active": NAV,
    }
    return render(request, "inventory/po/detail.html", context, status=status)


@login_required
@require_GET
def po_detail(request: HttpRequest, po_id: int) -> HttpResponse:
    require_perm(request, VIEW)
    return _detail_page(request, queries.purchase_order(po_id))


@login_required
@require_GET
def po_pdf(request: HttpRequest, po_id: int) -> HttpResponse:
    require_perm(request, VIEW)
    po = queries.purchase_order(po_id)
    response = HttpResponse(render_po_pdf(po), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf_filename(po)}"'
    response["Cache-Control"] = "private, no-store"
    return response


# ---- header -----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def po_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, BUY)
    initial = {name: request.GET[name] for name in ("vendor", "ship_to") if request.GET.get(name, "").isdigit()}
    form = PoHeaderForm(_posted(request), initial=initial)
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            po, status = _run(
                form,
                lambda: actions.po_create(
                    actor=request.user, vendor_id=data["vendor"].pk, ship_to_id=data["ship_to"].pk, expected_on=data["expected_on"], notes=data["notes"]
                ),
            )
            if po is not None:
                messages.success(request, f"Draft purchase order for {po.vendor} started. Add its lines, then mark it as ordered.")
                return redirect(_detail_url(po.pk, "add-line"))
    return _form_page(
        request,
        form,
        status=status,
        title="New purchase order",
        intro="Start a draft: who sells it and where it is delivered. Lines come next; the PO number is given when you mark it as ordered.",
        submit_label="Create draft",
        cancel_url=reverse("inventory:po_list"),
        crumbs=_crumbs(),
    )


@login_required
@require_http_methods(["GET", "POST"])
def po_edit(request: HttpRequest, po_id: int) -> HttpResponse:
    require_perm(request, BUY)
    po = get_object_or_404(PurchaseOrder.objects.select_related("vendor", "ship_to"), pk=po_id)
    if po.status not in OPEN:
        return _refuse(request, po, f"{po.label} is {po.get_status_display().lower()}; it can no longer change.")
    form = PoHeaderForm(_posted(request), po=po)
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            saved, status = _run(
                form,
                lambda: actions.po_update(
                    actor=request.user,
                    po_id=po.pk,
                    version=data["version"],
                    ship_to_id=data["ship_to"].pk,
                    expected_on=data["expected_on"],
                    notes=data["notes"],
                ),
            )
            if saved is not None:
                messages.success(request, f"{saved.label} saved.")
                return redirect(_detail_url(saved.pk))
    return _form_page(
        request,
        form,
        status=status,
        title=f"Edit {po.label}",
        intro=f"Vendor: {po.vendor}. A draft's delivery place can change; an ordered one's expected date and notes.",
        submit_label="Save changes",
        cancel_url=_detail_url(po.pk),
        crumbs=_crumbs(po),
    )


# ---- lines (draft only) -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def po_line_add(request: HttpRequest, po_id: int) -> HttpResponse:
    require_perm(request, BUY)
    if request.method == "GET":
        # The form lives on the order's page.
        return redirect(_detail_url(get_object_or_404(PurchaseOrder, pk=po_id).pk, "add-line"))
    po = queries.purchase_order(po_id)
    if po.status not in EDITABLE:
        return _refuse(request, po, f"{po.label} is {po.get_status_display().lower()}; only a draft's lines can change.")
    form = PoLineForm(request.POST)
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        line, status = _run(
            form,
            lambda: actions.po_line_add(actor=request.user, po_id=po.pk, item_id=data["item"].pk, quantity=data["quantity"], unit_cost_cents=data["unit_cost"]),
        )
        if line is not None:
            messages.success(request, f"Added {show(line.quantity_milli)} {line.item.unit} of {line.item.sku}.")
            return redirect(_detail_url(po.pk, "add-line"))
    return _detail_page(request, po, line_form=form, status=status)


def _draft_line(po_id: int, line_id: int) -> PurchaseOrderLine:
    return get_object_or_404(PurchaseOrderLine.objects.select_related("item", "purchase_order__vendor"), pk=line_id, purchase_order_id=po_id)


@login_required
@require_http_methods(["GET", "POST"])
def po_line_edit(request: HttpRequest, po_id: int, line_id: int) -> HttpResponse:
    require_perm(request, BUY)
    line = _draft_line(po_id, line_id)
    po = line.purchase_order
    if po.status not in EDITABLE:
        return _refuse(request, po, f"{po.label} is {po.get_status_display().lower()}; only a draft's lines can change.")
    form = PoLineEditForm(_posted(request), line=line)
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            saved, status = _run(
                form, lambda: actions.po_line_update(actor=request.user, line_id=line.pk, quantity=data["quantity"], unit_cost_cents=data["unit_cost"])
            )
            if saved is not None:
                messages.success(request, f"{line.item.sku} now {show(saved.quantity_milli)} {line.item.unit}.")
                return redirect(_detail_url(po.pk, "lines"))
    return _form_page(
        request,
        form,
        status=status,
        title=f"Edit line: {line.item.sku}",
        intro=f"{line.item.name} ({line.item.unit}) on {po.label} from {po.vendor}.",
        submit_label="Save line",
        cancel_url=_detail_url(po.pk, "lines"),
        crumbs=_crumbs(po),
    )


@login_required
@require_POST
def po_line_remove(request: HttpRequest, po_id: int, line_id: int) -> HttpResponse:
    require_perm(request, BUY)
    line = _draft_line(po_id, line_id)
    try:
        actions.po_line_remove(actor=request.user, line_id=line.pk)
    except DomainError as refused:
        if refused.code == "forbidden":
            raise PermissionDenied(refused.message) from refused
        messages.warning(request, refused.message)
    else:
        messages.success(request, f"Removed {line.item.sku} from the order.")
    return redirect(_detail_url(po_id, "lines"))


# ---- moves --------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def po_order(request: HttpRequest, po_id: int) -> HttpResponse:
    """Placing the order: confirm (or correct) when the goods are expected; the number is given now."""
    require_perm(request, BUY)
    po = queries.purchase_order(po_id)
    if not can_move(po.status, S.ORDERED):
        return _refuse(request, po, f"{po.label} is {po.get_status_display().lower()}; only a draft can be ordered.")
    expected = po.expected_on or timezone.localdate() + timedelta(days=po.vendor.lead_time_days)
    form = PoOrderForm(_posted(request), initial={"expected_on": expected})
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            ordered, status = _run(form, lambda: actions.po_order(actor=request.user, po_id=po.pk, expected_on=form.cleaned_data["expected_on"]))
            if ordered is not None:
                messages.success(
                    request,
                    format_html(
                        'Ordered from {} as <strong>{}</strong>, expected {}. <a href="{}">Open the PDF</a> to send it.',
                        ordered.vendor,
                        ordered.number,
                        dateformat.format(ordered.expected_on, "M j, Y"),
                        reverse("inventory:po_pdf", args=[ordered.pk]),
                    ),
                )
                return redirect(_detail_url(ordered.pk))
    return _form_page(
        request,
        form,
        status=status,
        title=f"Mark {po.label} as ordered",
        intro=(
            f"Sent to {po.vendor}: {len(po.line_list)} line{'s' if len(po.line_list) != 1 else ''}, {format_cents(queries.po_total_cents(po))}. "
            "It gets its PO number now, and its lines can no longer change."
        ),
        submit_label="Mark as ordered",
        cancel_url=_detail_url(po.pk),
        crumbs=_crumbs(po),
    )


@login_required
@require_http_methods(["GET", "POST"])
def po_cancel(request: HttpRequest, po_id: int) -> HttpResponse:
    require_perm(request, BUY)
    po = get_object_or_404(PurchaseOrder.objects.select_related("vendor"), pk=po_id)
    if not can_move(po.status, S.CANCELLED):
        return _refuse(request, po, f"{po.label} is {po.get_status_display().lower()}; it cannot be cancelled.")
    form = PoCancelForm(_posted(request))
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            cancelled, status = _run(form, lambda: actions.po_cancel(actor=request.user, po_id=po.pk, reason=form.cleaned_data["reason"]))
            if cancelled is not None:
                messages.success(request, f"{cancelled.label} cancelled. The jobs it was for show their parts as not ordered again.")
                return redirect(_detail_url(cancelled.pk))
    return _form_page(
        request,
        form,
        status=status,
        title=f"Cancel {po.label}",
        intro=f"Nothing more will come from {po.vendor} on this order. What was already received stays in stock.",
        submit_label="Cancel the order",
        submit_class="btn-danger",
        confirm=f"Cancel {po.label}? This cannot be undone.",
        cancel_label="Keep the order",
        cancel_url=_detail_url(po.pk),
        crumbs=_crumbs(po),
    )


@login_required
@require_http_methods(["GET", "POST"])
def po_receive(request: HttpRequest, po_id: int) -> HttpResponse:
    """Goods arrived: one quantity per open line, prefilled with what is still open."""
    require_perm(request, RECEIVE)
    po = queries.purchase_order(po_id)
    if po.status not in RECEIVABLE:
        return _refuse(request, po, f"{po.label} is {po.get_status_display().lower()}; only an ordered purchase order can be received.")
    form = PoReceiveForm(_posted(request), po=po, lines=po.line_list)
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            movements, status = _run(
                form,
                lambda: actions.po_receive(
                    actor=request.user,
                    po_id=po.pk,
                    location_id=data["location"].pk,
                    quantities=form.quantities(),
                    over_receipt=data["over_receipt"],
                    note=data["note"],
                ),
            )
            if movements is not None:
                got = ", ".join(f"{show(m.quantity_milli)} × {m.item.sku}" for m in movements)
                messages.success(request, f"Received into {data['location'].name}: {got}.")
                return redirect(_detail_url(po.pk, "receipts"))
    rows = [{"line": line, "field": field, "ordered": show(line.quantity_milli), "received": show(line.received_milli)} for line, field in form.line_rows()]
    context = {"po": po, "form": form, "rows": rows, "crumbs": _crumbs(po), "nav_active": NAV}
    return render(request, "inventory/po/receive.html", context, status=status)


urlpatterns = [
    path("purchase-orders/", po_list, name="po_list"),
    path("purchase-orders/new/", po_create, name="po_create"),
    path("purchase-orders/<int:po_id>/", po_detail, name="po_detail"),
    path("purchase-orders/<int:po_id>/edit/", po_edit, name="po_edit"),
    path("purchase-orders/<int:po_id>/lines/", po_line_add, name="po_line_add"),
    path("purchase-orders/<int:po_id>/lines/<int:line_id>/", po_line_edit, name="po_line_edit"),
    path("purchase-orders/<int:po_id>/lines/<int:line_id>/remove/", po_line_remove, name="po_line_remove"),
    path("purchase-orders/<int:po_id>/order/", po_order, name="po_order"),
    path("purchase-orders/<int:po_id>/cancel/", po_cancel, name="po_cancel"),
    path("purchase-orders/<int:po_id>/receive/", po_receive, name="po_receive"),
    path("purchase-orders/<int:po_id>/pdf/", po_pdf, name="po_pdf"),
]
