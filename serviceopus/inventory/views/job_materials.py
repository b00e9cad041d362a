"""Materials from stock on the job's Line items tab (office): the job's reservations with issue, return
and release per line, "Add from stock" (an item held at a warehouse or truck, the rest backordered
when asked), the small option lists its form asks for as one types, and drafting purchase orders
from the Purchase orders tab.

Every view authorises the job first (a technician on someone else's job gets 404), then the
capability (403), then parses a form and calls one action. An HTMX request gets the Line items panel
back (with the readiness panel out of band); a plain form post is redirected to the tab."""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.forms import apply_domain_errors
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import wants_fragment
from serviceopus.jobs.views.workspace import render_workspace

from .. import queries
from ..actions import purchasing, reservations
from ..forms import IssueForm, MaterialAddForm, ReturnForm, available_text, place_label
from ..models import InventoryItem, Reservation, StockBalance, StockLocation
from ..quantity import parse_quantity, show
from ..readiness import job_readiness
from .job_tabs import JOB_DONE, Missing, missing_rows, readiness_of

PANEL = "line-items-panel"


# ---- the section on the Line items tab ------------------------------------------------------------------


@dataclass
class MaterialRow:
    """One reservation as the table shows it, with the forms its actions need."""

    reservation: Reservation
    missing: Missing | None
    can_issue: bool
    can_return: bool
    can_release: bool
    issue_form: IssueForm | None = None
    return_form: ReturnForm | None = None
    open_action: str = ""  # the row form re-shown with its errors

    @property
    def unit(self) -> str:
        return self.reservation.item.unit

    @property
    def quantity(self) -> str:
        return show(self.reservation.quantity_milli)

    @property
    def held(self) -> str:
        return show(self.reservation.allocated_milli)

    @property
    def issued(self) -> str:
        return show(self.reservation.issued_milli)

    @property
    def returned(self) -> str:
        return show(self.reservation.returned_milli)

    @property
    def in_use(self) -> str:
        return show(self.reservation.in_use_milli)

    @property
    def short(self) -> str:
        return show(self.reservation.short_milli)

    @property
    def let_go(self) -> str:
        """What a release lets go of: everything held or awaited, not what the job already has."""
        return show(self.reservation.quantity_milli - self.reservation.in_use_milli)

    @property
    def status(self) -> tuple[str, str]:
        r = self.reservation
        if r.short_milli:
            return ("partial", "Partly short") if r.allocated_milli or r.in_use_milli else ("blocked", "Not in stock")
        if r.in_use_milli >= r.quantity_milli:
            return ("issued", "All issued")
        return ("ready", "Ready")


def _issue_default(reservation: Reservation) -> str:
    """What is still to issue; of a line still short, what is held (the rest is not there to issue)."""
    outstanding = reservation.quantity_milli - reservation.in_use_milli
    return show(reservation.allocated_milli if reservation.short_milli else outstanding)


def _place_options(locations: list[StockLocation], item: InventoryItem | None, selected: Any) -> list[dict[str, Any]]:
    """The add form's places, each with what is free there of the chosen item (one query, none
    before an item is chosen)."""
    free: dict[int, int] = {}
    if item is not None:
        free = {b.location_id: b.available_milli for b in StockBalance.objects.filter(item=item, location__in=[loc.pk for loc in locations])}
    return [
        {
            "id": loc.pk,
            "label": place_label(loc),
            "free": available_text(free.get(loc.pk, 0), item.unit) if item is not None else "",
            "selected": str(loc.pk) == str(selected or ""),
        }
        for loc in locations
    ]


def materials_section(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    """The "Materials from stock" section of the Line items tab. Nothing for a job without tracked
    parts, unless the user may add some; a fixed number of queries whatever the number of lines."""
    user = request.user
    job_open = job.status not in JOB_DONE
    can_reserve = job_open and user.has_perm("inventory.reserve")
    can_manage = job_open and user.has_perm("inventory.manage_stock")
    add_form: MaterialAddForm | None = extra.get("materials_add_form")
    if not job.parts_readiness and not can_reserve:
        return {}
    rows: list[MaterialRow] = []
    readiness = readiness_of(request, job) if job.parts_readiness else None
    if readiness is not None:
        missing = {m.part.reservation_id: m for m in missing_rows(readiness)}
        wanted = readiness.reservations
        returnable = can_manage and any(r.in_use_milli > 0 for r in wanted)
        places = queries.locations() if returnable else []
        failed_id, failed_action, failed_form = extra.get("materials_row") or (None, "", None)
        for r in wanted:
            open_line = r.status == Reservation.Status.OPEN
            row = MaterialRow(
                reservation=r,
                missing=missing.get(r.pk),
                can_issue=can_manage and open_line and r.allocated_milli > 0,
                can_return=can_manage and r.in_use_milli > 0,
                can_release=can_reserve and open_line and r.quantity_milli > r.in_use_milli,
            )
            if row.can_issue:
                row.issue_form = IssueForm(initial={"quantity": _issue_default(r)}, auto_id=f"r{r.pk}-issue-%s")
            if row.can_return:
                row.return_form = ReturnForm(initial={"quantity": row.in_use, "location": r.location_id}, locations=places, auto_id=f"r{r.pk}-return-%s")
            if r.pk == failed_id:
                row.open_action = failed_action
                setattr(row, f"{failed_action}_form", failed_form)
            rows.append(row)
    context: dict[str, Any] = {
        "template": "inventory/job/materials.html",
        "rows": rows,
        "state": readiness.state if readiness else "",
        "state_label": readiness.label if readiness else "",
        "can_reserve": can_reserve,
        "can_manage": can_manage,
        "add_form": add_form,
        "locked": not job_open,
    }
    if add_form is not None:
        context["place_options"] = _place_options(add_form.locations, add_form.resolved_item, add_form["location"].value())
    return context


# ---- helpers of the views -------------------------------------------------------------------------------


def _job_for(request: HttpRequest, job_id: int, perm: str) -> Job:
    job = access_job_for_user(request.user, job_id)
    if not request.user.has_perm(perm):
        raise PermissionDenied("You may not change this job's materials.")
    return job


def _tab_url(job: Job) -> str:
    return reverse("jobs:tab", args=[job.pk, "line-items"]) + "#materials"


def _answer(request: HttpRequest, job: Job, *, was_tracked: bool, changed: bool, status: int = 200, **extra: Any) -> HttpResponse:
    """The Line items panel for HTMX, the page otherwise. A change, or a refusal said as a message,
    sends a plain form post back to the tab; a form with errors is shown again with what was typed.
    The job is read again: the action changed its parts readiness."""
    job = access_job_for_user(request.user, job.pk)
    if wants_fragment(request, PANEL):
        if changed and bool(job.parts_readiness) != was_tracked:
            # The readiness panel appears or goes: the page is loaded again (no fragment in the URL,
            # or a browser already there would only scroll), and shows the messages not read here.
            return HttpResponse(headers={"HX-Redirect": reverse("jobs:tab", args=[job.pk, "line-items"])})
        return render_workspace(request, job, "line-items", status=status, **extra)
    if changed or not extra:
        return redirect(_tab_url(job))
    return render_workspace(request, job, "line-items", status=status, **extra)


def _refused(request: HttpRequest, form: Any, exc: DomainError) -> int:
    """Put a refusal where the user looks: on the fields it names, on the quantity when stock is
    short, otherwise above the tab as a message. Returns the HTTP status to answer with."""
    if isinstance(exc, InvalidInput):
        apply_domain_errors(form, exc)
        return 422
    if isinstance(exc, ConflictError) and exc.code == "insufficient_stock":
        form.add_error("quantity", exc.message)
        return 409
    messages.error(request, exc.message)
    return 409


def _typed(quantity: str) -> str:
    """A quantity as typed ("1.50"), as pages show it ("1.5")."""
    return show(parse_quantity(quantity, {}))


# ---- add from stock -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def material_add(request: HttpRequest, job_id: int) -> HttpResponse:
    """GET: the tab with the "Add from stock" form open. POST: add the item — a material line held
    at the place; what is not free there is refused, or left short to order when backordered."""
    job = _job_for(request, job_id, "inventory.reserve")
    was_tracked = bool(job.parts_readiness)
    if request.method == "GET":
        form = MaterialAddForm(locations=queries.locations(), auto_id="mat-%s")
        return _answer(request, job, was_tracked=was_tracked, changed=False, materials_add_form=form)
    form = MaterialAddForm(request.POST, locations=queries.locations(), auto_id="mat-%s")
    status = 422
    if form.is_valid():
        try:
            reservation = reservations.material_reserve(actor=request.user, job_id=job.pk, **form.action_kwargs())
        except DomainError as exc:
            status = _refused(request, form, exc)
            if not form.errors:
                return _answer(request, job, was_tracked=was_tracked, changed=False, status=status)
            form.suggest_backorder = exc.code == "insufficient_stock"
        else:
            item, place = reservation.item, reservation.location
            text = f"Added {show(reservation.quantity_milli)} {item.unit} × {item.sku} from {place.name}"
            if reservation.short_milli:
                text += f"; {show(reservation.short_milli)} {item.unit} short, backordered"
            messages.success(request, text + ".")
            return _answer(request, job, was_tracked=was_tracked, changed=True)
    return _answer(request, job, was_tracked=was_tracked, changed=False, status=status, materials_add_form=form)


@login_required
@require_GET
def item_options(request: HttpRequest, job_id: int) -> HttpResponse:
    """<option>s for the item box as one types (SKU or name), each saying what is free where."""
    _job_for(request, job_id, "inventory.reserve")
    text = (request.GET.get("item") or request.GET.get("q") or "").strip()[:100]
    items = queries.search_items(text)
    free: dict[int, list[str]] = {}
    balances = StockBalance.objects.filter(item__in=[i.pk for i in items], location__active=True).select_related("location")
    for balance in balances.order_by("location__kind", "location__name"):
        if balance.available_milli > 0:
            free.setdefault(balance.item_id, []).append(f"{balance.location.name} {show(balance.available_milli)}")
    options = [{"item": i, "free": ", ".join(free.get(i.pk, [])) or "none free"} for i in items]
    return render(request, "inventory/job/_item_options.html", {"options": options})


@login_required
@require_GET
def place_options(request: HttpRequest, job_id: int) -> HttpResponse:
    """<option>s of the place select for the item typed, each with what is free there."""
    _job_for(request, job_id, "inventory.reserve")
    sku = (request.GET.get("item") or "").split(" · ", 1)[0].strip()[:100]
    item = InventoryItem.objects.filter(sku__iexact=sku, active=True).first() if sku else None
    options = _place_options(queries.locations(), item, request.GET.get("location"))
    return render(request, "inventory/job/_place_options.html", {"place_options": options})


# ---- issue, return, release -----------------------------------------------------------------------------


@login_required
@require_POST
def material_issue(request: HttpRequest, job_id: int, reservation_id: int) -> HttpResponse:
    job = _job_for(request, job_id, "inventory.manage_stock")
    reservation = queries.reservation_of_job(job, reservation_id)
    was_tracked = bool(job.parts_readiness)
    form = IssueForm(request.POST, auto_id=f"r{reservation.pk}-issue-%s")
    status = 422
    if form.is_valid():
        try:
            reservations.material_issue(actor=request.user, reservation_id=reservation.pk, quantity=form.cleaned_data["quantity"])
        except DomainError as exc:
            status = _refused(request, form, exc)
            if not form.errors:
                return _answer(request, job, was_tracked=was_tracked, changed=False, status=status)
        else:
            item = reservation.item
            messages.success(request, f"Issued {_typed(form.cleaned_data['quantity'])} {item.unit} × {item.sku} from {reservation.location.name}.")
            return _answer(request, job, was_tracked=was_tracked, changed=True)
    return _answer(request, job, was_tracked=was_tracked, changed=False, status=status, materials_row=(reservation.pk, "issue", form))


@login_required
@require_POST
def material_return(request: HttpRequest, job_id: int, reservation_id: int) -> HttpResponse:
    job = _job_for(request, job_id, "inventory.manage_stock")
    reservation = queries.reservation_of_job(job, reservation_id)
    was_tracked = bool(job.parts_readiness)
    form = ReturnForm(request.POST, locations=queries.locations(), auto_id=f"r{reservation.pk}-return-%s")
    status = 422
    if form.is_valid():
        c = form.cleaned_data
        try:
            movement = reservations.material_return(
                actor=request.user, reservation_id=reservation.pk, quantity=c["quantity"], location_id=c["location"], reason=c["reason"]
            )
        except DomainError as exc:
            status = _refused(request, form, exc)
            if not form.errors:
                return _answer(request, job, was_tracked=was_tracked, changed=False, status=status)
        else:
            item = reservation.item
            text = f"Returned {_typed(c['quantity'])} {item.unit} × {item.sku} to {movement.to_location.name}"
            messages.success(request, text + "; the line bills that much less.")
            return _answer(request, job, was_tracked=was_tracked, changed=True)
    return _answer(request, job, was_tracked=was_tracked, changed=False, status=status, materials_row=(reservation.pk, "return", form))


@login_required
@require_POST
def material_release(request: HttpRequest, job_id: int, reservation_id: int) -> HttpResponse:
    """Let go of what the line holds or awaits; the line keeps billing only what was issued."""
    job = _job_for(request, job_id, "inventory.reserve")
    reservation = queries.reservation_of_job(job, reservation_id)
    was_tracked = bool(job.parts_readiness)
    try:
        released = reservations.material_release(actor=request.user, reservation_id=reservation.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _answer(request, job, was_tracked=was_tracked, changed=False, status=409)
    item = reservation.item
    let_go = show(reservation.quantity_milli - reservation.in_use_milli)
    if released.quantity_milli:
        messages.success(request, f"Released {let_go} {item.unit} × {item.sku}; the line now bills the {show(released.quantity_milli)} issued.")
    else:
        messages.success(request, f"Released {let_go} {item.unit} × {item.sku}; its line was removed.")
    return _answer(request, job, was_tracked=was_tracked, changed=True)


# ---- the Purchase orders tab's one write ----------------------------------------------------------------


@login_required
@require_POST
def draft_purchase_orders(request: HttpRequest, job_id: int) -> HttpResponse:
    """Draft purchase orders for what this job is short of and nobody has ordered yet (one per
    vendor and delivery place, as from the purchasing page)."""
    job = _job_for(request, job_id, "inventory.purchase")
    short = [m.reservation_id for m in job_readiness(job).missing]
    status = 200
    try:
        drafts = purchasing.drafts_for_shortfalls(actor=request.user, reservation_ids=short)
    except DomainError as exc:
        messages.error(request, exc.message)
        status = 409
    else:
        names = ", ".join(f"{po.label} ({po.vendor.name})" for po in drafts)
        them = "them" if len(drafts) != 1 else "it"
        messages.success(request, f"Drafted {len(drafts)} purchase order{'s' if len(drafts) != 1 else ''}: {names}. Check {them} and mark {them} ordered.")
    if wants_fragment(request, "tab-area"):
        job = access_job_for_user(request.user, job.pk)
        return render_workspace(request, job, "purchase-orders", status=status)
    return redirect(reverse("jobs:tab", args=[job.pk, "purchase-orders"]))


urlpatterns = [
    path("jobs/<int:job_id>/materials/add/", material_add, name="job_material_add"),
    path("jobs/<int:job_id>/materials/items/", item_options, name="job_material_items"),
    path("jobs/<int:job_id>/materials/places/", place_options, name="job_material_places"),
    path("jobs/<int:job_id>/materials/<int:reservation_id>/issue/", material_issue, name="job_material_issue"),
    path("jobs/<int:job_id>/materials/<int:reservation_id>/return/", material_return, name="job_material_return"),
    path("jobs/<int:job_id>/materials/<int:reservation_id>/release/", material_release, name="job_material_release"),
    path("jobs/<int:job_id>/purchase-orders/draft/", draft_purchase_orders, name="job_po_drafts"),
]
