"""The office's stock pages: the items list (search, below reorder point), one item (its balance per
place and its last movements), one place's stock, and three forms that move stock without a purchase
order — receive, transfer (restocking a truck) and adjust after a count. Reading needs
inventory.view_stock (technicians get 403); each form needs its own capability."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.views.conventions import require_perm, safe_next, wants_fragment

from .. import queries
from ..actions import stock as actions
from ..models import InventoryItem, StockLocation, StockMovement
from ..purchasing_forms import StockAdjustForm, StockReceiveForm, StockTransferForm, apply_action_errors
from ..quantity import show

NAV = "stock"
VIEW = "inventory.view_stock"
SKU_CHOICES = 300


def item_row(row: dict) -> dict:
    """An items_page row with the texts a page shows (quantities are decimals on pages)."""
    item = row["item"]
    return {
        **row,
        "on_hand": show(row["on_hand_milli"]),
        "reserved": show(row["reserved_milli"]),
        "free": show(row["available_milli"]),
        "reorder_point": show(item.reorder_point_milli) if item.reorder_point_milli else "",
    }


def balance_row(balance: Any) -> dict:
    return {
        "balance": balance,
        "on_hand": show(balance.on_hand_milli),
        "reserved": show(balance.reserved_milli),
        "free": show(balance.available_milli),
        "negative": balance.on_hand_milli < 0,
    }


def _search_text(request: HttpRequest) -> str:
    return request.GET.get("q", "")[:100].replace("\x00", "").strip()


# ---- reading --------------------------------------------------------------------------------------------


@login_required
@require_GET
def items(request: HttpRequest) -> HttpResponse:
    require_perm(request, VIEW)
    q = _search_text(request)
    below = request.GET.get("below") == "1"
    rows = [item_row(row) for row in queries.items_page(q, below_reorder=below)]
    context = {
        "rows": rows,
        "q": q,
        "below": below,
        "places": queries.locations(),
        "can_receive": request.user.has_perm("inventory.manage_stock"),
        "can_adjust": request.user.has_perm("inventory.adjust_stock"),
        "nav_active": NAV,
    }
    template = "inventory/stock/items.html#results" if wants_fragment(request, "item-results") else "inventory/stock/items.html"
    response = render(request, template, context)
    # The same URL serves page and fragment: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_GET
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    require_perm(request, VIEW)
    item = get_object_or_404(InventoryItem.objects.select_related("preferred_vendor"), pk=item_id)
    balances = [balance_row(b) for b in queries.item_balances(item)]
    movements = queries.item_movements(item)
    context = {
        "item": item,
        "balances": balances,
        "totals": {
            "on_hand": show(sum(b["balance"].on_hand_milli for b in balances)),
            "reserved": show(sum(b["balance"].reserved_milli for b in balances)),
            "free": show(sum(b["balance"].available_milli for b in balances)),
        },
        "reorder_point": show(item.reorder_point_milli) if item.reorder_point_milli else "",
        "movements": [(m, show(m.quantity_milli)) for m in movements],
        "movement_limit": 100,
        # The forms open with this item chosen.
        "query": urlencode({"sku": item.sku}),
        "can_receive": request.user.has_perm("inventory.manage_stock"),
        "can_adjust": request.user.has_perm("inventory.adjust_stock"),
        "nav_active": NAV,
    }
    return render(request, "inventory/stock/item.html", context)


@login_required
@require_GET
def location_detail(request: HttpRequest, location_id: int) -> HttpResponse:
    require_perm(request, VIEW)
    location = get_object_or_404(StockLocation.objects.select_related("technician__user"), pk=location_id)
    context = {
        "location": location,
        "rows": [balance_row(b) for b in queries.stock_at(location)],
        # The forms open with this place chosen; a transfer brings stock here (restocking a truck).
        "query": urlencode({"location": location.pk}),
        "transfer_query": urlencode({"to_location": location.pk}),
        "can_receive": request.user.has_perm("inventory.manage_stock"),
        "can_adjust": request.user.has_perm("inventory.adjust_stock"),
        "nav_active": NAV,
    }
    return render(request, "inventory/stock/location.html", context)


# ---- the three forms --------------------------------------------------------------------------------------


def _initial(request: HttpRequest, *names: str) -> dict[str, str]:
    """Prefill from links such as ?sku=CAP-45-5&location=3 (the item and place pages offer them)."""
    return {name: request.GET[name][:40] for name in names if request.GET.get(name, "").strip()}


def _office_form(
    request: HttpRequest,
    form: forms.Form,
    run: Callable[[dict[str, Any]], StockMovement],
    *,
    title: str,
    intro: str,
    submit_label: str,
    done: Callable[[StockMovement], str],
) -> HttpResponse:
    """Validate, run the action, and on success go back to the item (or `next`). A refusal stays on the
    form with its errors — 422 for bad input, 409 when the stock is not there — having changed nothing."""
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            try:
                movement = run(form.cleaned_data)
            except InvalidInput as invalid:
                apply_action_errors(form, invalid)
            except ConflictError as conflict:
                form.add_error(None, conflict.message)
                status = 409
            except DomainError as refused:
                if refused.code == "forbidden":
                    raise PermissionDenied(refused.message) from refused
                form.add_error(None, refused.message)
            else:
                messages.success(request, done(movement))
                return redirect(safe_next(request, reverse("inventory:item_detail", args=[movement.item_id])))
    context = {
        "form": form,
        "title": title,
        "intro": intro,
        "submit_label": submit_label,
        "cancel_url": safe_next(request, reverse("inventory:items")),
        "next": safe_next(request, ""),
        "crumbs": [("Stock", reverse("inventory:items"))],
        "sku_choices": queries.search_items("", limit=SKU_CHOICES),
        "nav_active": NAV,
    }
    return render(request, "inventory/stock/form.html", context, status=status)


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


@login_required
@require_http_methods(["GET", "POST"])
def stock_receive(request: HttpRequest) -> HttpResponse:
    require_perm(request, "inventory.manage_stock")
    form = StockReceiveForm(_posted(request), initial=_initial(request, "sku", "location"))
    return _office_form(
        request,
        form,
        lambda data: actions.stock_receive(
            actor=request.user,
            item_id=data["item"].pk,
            location_id=data["location"].pk,
            quantity=data["quantity"],
            unit_cost_cents=data["unit_cost"],
            reason=data["reason"],
        ),
        title="Receive stock",
        intro="Stock that arrived without a purchase order: a counter purchase, opening stock. Goods ordered on a purchase order are received from the order.",
        submit_label="Receive",
        done=lambda m: f"Received {show(m.quantity_milli)} {m.item.unit} of {m.item.sku} into {m.to_location.name}.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def stock_transfer(request: HttpRequest) -> HttpResponse:
    require_perm(request, "inventory.manage_stock")
    initial = _initial(request, "sku", "from_location", "to_location")
    form = StockTransferForm(_posted(request), initial=initial)
    return _office_form(
        request,
        form,
        lambda data: actions.stock_transfer(
            actor=request.user,
            item_id=data["item"].pk,
            from_location_id=data["from_location"].pk,
            to_location_id=data["to_location"].pk,
            quantity=data["quantity"],
            reason=data["reason"],
        ),
        title="Transfer stock",
        intro="Move free stock from one place to another — restocking a technician's truck from the warehouse, say. Stock held for jobs stays where it is.",
        submit_label="Transfer",
        done=lambda m: f"Moved {show(m.quantity_milli)} {m.item.unit} of {m.item.sku} from {m.from_location.name} to {m.to_location.name}.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def stock_adjust(request: HttpRequest) -> HttpResponse:
    require_perm(request, "inventory.adjust_stock")
    form = StockAdjustForm(_posted(request), initial=_initial(request, "sku", "location"))
    return _office_form(
        request,
        form,
        lambda data: actions.stock_adjust(
            actor=request.user, item_id=data["item"].pk, location_id=data["location"].pk, change=data["change"], reason=data["reason"]
        ),
        title="Adjust stock",
        intro="Correct what is on hand after a count. Removing stock held for jobs puts those jobs back to waiting for parts.",
        submit_label="Adjust",
        done=lambda m: (
            f"Adjusted {m.item.sku} at {(m.to_location or m.from_location).name}: "
            f"{'+' if m.to_location else '−'}{show(m.quantity_milli)} {m.item.unit} ({m.reason})."
        ),
    )


urlpatterns = [
    path("stock/", items, name="items"),
    path("stock/items/<int:item_id>/", item_detail, name="item_detail"),
    path("stock/places/<int:location_id>/", location_detail, name="location_detail"),
    path("stock/receive/", stock_receive, name="stock_receive"),
    path("stock/transfer/", stock_transfer, name="stock_transfer"),
    path("stock/adjust/", stock_adjust, name="stock_adjust"),
]
