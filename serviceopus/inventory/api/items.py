"""Items and places: search items with their totals, one item with its stock at each place and its
latest movements, the stock locations and what each holds.

Who may: the office (inventory.view_stock) reads all of it; anyone else gets 403. A technician reads
their own truck: GET /inventory/my-truck (search it with `q`), or its stock by id.
"""

from typing import Any

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router

from serviceopus.accounts.models import User
from serviceopus.api.schemas import LIST, READ, responses
from serviceopus.core.errors import DomainError

from .. import queries
from ..models import InventoryItem, StockLocation
from .schemas import (
    ItemListParams,
    ItemOut,
    ItemSummaryOut,
    LocationStockOut,
    StockLocationOut,
    TruckOut,
    TruckParams,
    item_out,
    item_summary_out,
    location_out,
    stock_line_out,
)

router = Router(tags=["inventory"])


def require_view_stock(user: User) -> None:
    if not user.has_perm("inventory.view_stock"):
        raise DomainError("forbidden", "You may not see the company's stock; your truck's stock is at /inventory/my-truck.")


def _location(location_id: int) -> StockLocation:
    return get_object_or_404(StockLocation.objects.select_related("technician__user"), pk=location_id)


@router.get("/inventory/items", response=responses({200: list[ItemSummaryOut]}, LIST), summary="Search items, with stock totals")
def item_list(request: HttpRequest, params: ItemListParams = Query(...)) -> list[dict[str, Any]]:  # noqa: B008
    """Items whose SKU starts with, or whose name contains, `q`, by SKU; each with its on hand,
    reserved and free quantity across every place. Three queries whatever the number of items."""
    require_view_stock(request.auth)
    rows = queries.items_page(params.q, below_reorder=params.low)[: params.limit]
    return [item_summary_out(r["item"], r["on_hand_milli"], r["reserved_milli"], r["low"]) for r in rows]


@router.get("/inventory/items/{item_id}", response=responses({200: ItemOut}, LIST), summary="An item with its stock per place")
def item_detail(request: HttpRequest, item_id: int) -> dict[str, Any]:
    require_view_stock(request.auth)
    item = get_object_or_404(InventoryItem.objects.select_related("preferred_vendor"), pk=item_id)
    return item_out(item, queries.item_balances(item), queries.item_movements(item))


@router.get("/inventory/locations", response=responses({200: list[StockLocationOut]}, LIST), summary="Active stock locations")
def location_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Warehouses, then trucks (each with its technician)."""
    require_view_stock(request.auth)
    return [location_out(location) for location in queries.locations()]


@router.get("/inventory/locations/{location_id}/stock", response=responses({200: LocationStockOut}, LIST), summary="What a place holds")
def location_stock(request: HttpRequest, location_id: int) -> dict[str, Any]:
    """Every item with stock or holds at the place, by SKU. A technician may read their own truck
    only (403 for any other place)."""
    location = _location(location_id)
    if not (location.technician_id and location.technician.user_id == request.auth.pk):
        require_view_stock(request.auth)
    return {"location": location_out(location), "items": [stock_line_out(b.item, b.on_hand_milli, b.available_milli) for b in queries.stock_at(location)]}


@router.get("/inventory/my-truck", response=responses({200: TruckOut}, READ), summary="My truck's stock (a technician's)")
def my_truck(request: HttpRequest, params: TruckParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    """The signed-in technician's truck and what it holds; with `q`, active items matching it (SKU
    first) with what the truck has of each — the phone's quick search. 404 for a user without a truck."""
    truck = queries.truck_of(request.auth)
    if truck is None:
        raise Http404("You have no truck.")
    location = _location(truck.pk)
    if params.q.strip():
        items = queries.search_items(params.q, location=location, limit=params.limit)
        lines = [stock_line_out(i, i.on_hand_milli, i.available_milli) for i in items]  # type: ignore[attr-defined]
    else:
        lines = [stock_line_out(b.item, b.on_hand_milli, b.available_milli) for b in queries.stock_at(location)]
    return {"location": location_out(location), "items": lines}
