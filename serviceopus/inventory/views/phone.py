"""The technician's materials on the phone: the visit screen's "Materials used" section (find an item
on the truck, record what was used, undo a mistake) and the My truck page.

The visit screen (field app) only includes a placeholder that loads this section over HTMX, with a link
to the same section as a page of its own: the field app imports nothing of inventory and its query count
does not change. Every form is a plain form too; without JavaScript the section's page is where they
come back to. A refused write changes nothing and says why inside the section."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.queries import access_visit_for_user
from serviceopus.jobs.status import JobStatus
from serviceopus.jobs.views.conventions import render_page, wants_fragment

from .. import queries
from ..actions.reservations import CLOSED_JOB, USAGE_VISIT_STATUSES, material_return, usage_record
from ..models import InventoryItem, Reservation, StockBalance, StockLocation, StockMovement
from ..quantity import parse_quantity, show

SECTION = "materials"  # the section's element id: the HTMX target and the anchor the closeout box links to
RESULTS = "materials-results"
MATCH_LIMIT = 12
UNDO_REASON = "Recorded by mistake"
NO_TRUCK = "You have no truck stock location; ask the office to set one up."
TEMPLATE = "inventory/phone/visit_materials.html"


# ---- what the templates show ---------------------------------------------------------------------


@dataclass
class Match:
    """An item on the truck that matches the search, with what is there and what is free."""

    item: InventoryItem
    on_hand_milli: int
    free_milli: int

    @property
    def on_hand(self) -> str:
        return show(self.on_hand_milli)

    @property
    def free(self) -> str:
        return show(max(self.free_milli, 0))


def matches_text(item: InventoryItem, needle: str) -> bool:
    """SKU starts with, or name contains, `needle` (already casefolded) — as queries.search_items."""
    return item.sku.casefold().startswith(needle) or needle in item.name.casefold()


def truck_matches(stock: list[StockBalance], text: str, limit: int = MATCH_LIMIT) -> list[Match]:
    """The truck's items matching `text`, SKU matches first. Filtered from the truck's stock rather
    than searched in the catalogue: a catalogue search caps its rows before knowing what the truck
    holds, so a truck item could be cut off by others."""
    needle = text.strip().casefold()
    if not needle:
        return []
    found = [b for b in stock if b.item.active and b.on_hand_milli > 0 and matches_text(b.item, needle)]
    found.sort(key=lambda b: (not b.item.sku.casefold().startswith(needle), b.item.sku))
    return [Match(b.item, b.on_hand_milli, b.available_milli) for b in found[:limit]]


@dataclass
class UsageRow:
    """One item used on this visit: what was taken from a truck here, less what went back."""

    item: InventoryItem
    reservation: Reservation | None
    from_location_id: int | None
    used_milli: int = 0
    returned_milli: int = 0
    last_at: datetime | None = None
    mine: bool = False  # from the signed-in technician's truck: theirs to undo
    error: str = ""  # a refused undo, shown at the row
    undo_value: str = ""  # the refused undo's quantity, to correct

    @property
    def net_milli(self) -> int:
        here = self.used_milli - self.returned_milli
        # Returns of the job's stock carry no visit; what the job still has of the line bounds this
        # visit's share, so an undo shows here even when the ledger cannot say which visit it undid.
        if self.reservation is not None:
            here = min(here, self.reservation.in_use_milli)
        return max(here, 0)

    @property
    def taken_back_milli(self) -> int:
        return self.used_milli - self.net_milli

    @property
    def net(self) -> str:
        return show(self.net_milli)

    @property
    def used(self) -> str:
        return show(self.used_milli)

    @property
    def taken_back(self) -> str:
        return show(self.taken_back_milli)

    @property
    def reservation_id(self) -> int | None:
        return self.reservation.pk if self.reservation else None


def usage_rows(visit: Visit, truck: StockLocation | None) -> list[UsageRow]:
    """The visit's usage grouped per material line, most recent first (one query)."""
    rows: dict[object, UsageRow] = {}
    for movement in queries.visit_usage(visit.pk):
        key = movement.reservation_id or ("item", movement.item_id)
        row = rows.get(key)
        if row is None:
            row = rows[key] = UsageRow(movement.item, movement.reservation, movement.from_location_id)
        if movement.kind == StockMovement.Kind.ISSUE:
            row.used_milli += movement.quantity_milli
            row.from_location_id = row.from_location_id or movement.from_location_id
        else:
            row.returned_milli += movement.quantity_milli
        row.last_at = max(row.last_at or movement.created_at, movement.created_at)
    for row in rows.values():
        row.mine = truck is not None and row.reservation is not None and row.from_location_id == truck.pk
    return sorted(rows.values(), key=lambda r: (r.last_at.timestamp() if r.last_at else 0.0, r.reservation_id or 0), reverse=True)


def section_context(
    request: HttpRequest,
    visit: Visit,
    *,
    q: str = "",
    picked: int | None = None,
    quantity: str = "1",
    error: str = "",
    fields: dict[str, str] | None = None,
    done: str = "",
    undo_error: tuple[int, str, str] | None = None,
) -> dict[str, Any]:
    """Everything the section shows. Queries: the truck, the visit's usage and, while searching, the
    truck's stock — whatever the number of items or usages."""
    user = request.user
    truck = queries.truck_of(user)
    may_record = truck is not None and user.has_perm("inventory.record_usage")
    job = visit.job
    notice = ""
    if truck is None and user.is_technician:
        notice = NO_TRUCK
    elif not may_record:
        notice = "The crew records the materials they use here, from their trucks."
    elif job.status in CLOSED_JOB:
        notice = f"Materials cannot change on a job that is {JobStatus(job.status).label.lower()}."
    elif visit.status not in USAGE_VISIT_STATUSES:
        notice = "Record materials once you are on your way to this visit, or on site."
    can_record = may_record and not notice
    rows = usage_rows(visit, truck)
    if undo_error:
        for row in rows:
            if row.reservation_id == undo_error[0]:
                row.error, row.undo_value = undo_error[1], undo_error[2]
    matches = truck_matches(queries.stock_at(truck), q) if can_record and truck is not None and q.strip() else []
    if picked is None and len(matches) == 1:
        picked = matches[0].item.pk
    return {
        "visit": visit,
        "job": job,
        "truck": truck,
        "can_record": can_record,
        "can_undo": may_record and job.status not in CLOSED_JOB,
        "notice": notice,
        "q": q,
        "matches": matches,
        "picked": picked,
        "quantity": quantity,
        "error": error,
        "fields": fields or {},
        "done": done,
        "rows": rows,
        "nav_active": "my_day",
    }


# ---- the visit screen's section ------------------------------------------------------------------


def _query_text(raw: str) -> str:
    return raw.replace("\x00", "").strip()[:100]


def _section_url(visit: Visit) -> str:
    return reverse("inventory:visit_materials", args=[visit.pk]) + f"#{SECTION}"


def _respond(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    """The section for HTMX (the results only when the search asks), else the section's own page."""
    response = render_page(request, TEMPLATE, context, fragments={SECTION: "section", RESULTS: "results"}, status=status)
    if status < 400 and context.get("done"):
        # The visit screen's "Before you finish" box listens for this to refresh itself.
        response["HX-Trigger"] = "closeout-changed"
    return response


@login_required
@require_GET
def visit_materials(request: HttpRequest, visit_id: int) -> HttpResponse:
    """The section (GET `q` searches the technician's truck)."""
    visit = access_visit_for_user(request.user, visit_id)
    return _respond(request, section_context(request, visit, q=_query_text(request.GET.get("q", ""))))


def _status(exc: DomainError) -> int:
    return 403 if exc.code == "forbidden" else exc.http_status


def _first_message(exc: DomainError) -> str:
    return next(iter(exc.fields.values()), exc.message) if isinstance(exc, InvalidInput) else exc.message


def _done(request: HttpRequest, visit: Visit, message: str) -> HttpResponse:
    if wants_fragment(request, SECTION):
        return _respond(request, section_context(request, visit, done=message))
    messages.success(request, message)
    return redirect(_section_url(visit))


def _int(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def _quantity(request: HttpRequest) -> str:
    return request.POST.get("quantity", "").replace("\x00", "").strip()[:30]


@login_required
@require_POST
def usage_add(request: HttpRequest, visit_id: int) -> HttpResponse:
    """Record `quantity` of `item` used on this visit from the technician's truck."""
    visit = access_visit_for_user(request.user, visit_id)
    q = _query_text(request.POST.get("q", ""))
    item_id = _int(request.POST.get("item", ""))
    quantity = _quantity(request)
    try:
        reservation = usage_record(actor=request.user, visit_id=visit.pk, item_id=item_id or 0, quantity=quantity)
    except DomainError as exc:
        fields = exc.fields if isinstance(exc, InvalidInput) else {}
        # Field errors show at their fields; anything else at the top of the section.
        error = "" if fields and set(fields) <= {"item", "quantity"} else exc.message
        context = section_context(request, visit, q=q, picked=item_id, quantity=quantity, error=error, fields=fields)
        return _respond(request, context, status=_status(exc))
    item = reservation.item
    return _done(request, visit, f"Recorded {show(parse_quantity(quantity, {}))} {item.unit} × {item.sku} — it is on the job's bill.")


@login_required
@require_POST
def usage_undo(request: HttpRequest, visit_id: int, reservation_id: int) -> HttpResponse:
    """Take `quantity` of a usage on this visit back to the technician's own truck. Only usage from that
    truck can be undone here; the office returns other stock on the job's Line items tab."""
    visit = access_visit_for_user(request.user, visit_id)
    user = request.user
    truck = queries.truck_of(user)
    row = next((r for r in usage_rows(visit, truck) if r.reservation_id == reservation_id), None)
    if row is None:
        raise Http404("Nothing of that was used on this visit.")
    quantity = _quantity(request)
    try:
        if truck is None and user.is_technician:
            raise DomainError("forbidden", NO_TRUCK)
        if truck is None or not user.has_perm("inventory.record_usage"):
            raise DomainError("forbidden", "Only the technician who used it can undo a usage here; the office returns stock on the job's Line items tab.")
        if not row.mine:
            raise DomainError("forbidden", "This came from another truck; its technician can undo it.")
        material_return(actor=user, reservation_id=reservation_id, quantity=quantity, location_id=truck.pk, reason=UNDO_REASON, visit_id=visit.pk)
    except DomainError as exc:
        context = section_context(request, visit, undo_error=(reservation_id, _first_message(exc), quantity))
        return _respond(request, context, status=_status(exc))
    return _done(request, visit, f"Took {show(parse_quantity(quantity, {}))} {row.item.unit} × {row.item.sku} back to your truck.")


# ---- My truck ------------------------------------------------------------------------------------


@login_required
@require_GET
def truck(request: HttpRequest) -> HttpResponse:
    """The signed-in technician's truck stock, searchable. Office users have no truck: 404, as for My
    day (the page does not exist for them, it is not a refusal of something they could ask for)."""
    if not request.user.is_technician:
        raise Http404("Only technicians have a truck.")
    location = queries.truck_of(request.user)
    q = _query_text(request.GET.get("q", ""))
    stock = queries.stock_at(location) if location is not None else []
    needle = q.casefold()
    rows = [b for b in stock if not needle or matches_text(b.item, needle)]
    context = {
        "truck": location,
        "q": q,
        "rows": [_truck_row(b) for b in rows],
        "total": len(stock),
        "nav_active": "my_day",
    }
    return render_page(request, "inventory/phone/truck.html", context, fragments={"truck-stock": "stock"})


def _truck_row(balance: StockBalance) -> dict[str, Any]:
    return {
        "item": balance.item,
        "on_hand": show(balance.on_hand_milli),
        "reserved": show(balance.reserved_milli),
        "free": show(max(balance.available_milli, 0)),
        "short": balance.available_milli <= 0,
    }


VISIT = "field/visits/<int:visit_id>/materials"
urlpatterns = [
    path(f"{VISIT}/", visit_materials, name="visit_materials"),
    path(f"{VISIT}/use/", usage_add, name="usage_add"),
    path(f"{VISIT}/<int:reservation_id>/undo/", usage_undo, name="usage_undo"),
    path("field/truck/", truck, name="truck"),
]
