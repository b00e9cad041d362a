"""Materials for a job: reserving an item for a material line, issuing it to the job, returning what
was not used, releasing what is no longer needed, and a technician recording what they used from
their truck. The line's quantity is what the customer is billed, and follows the reservation: a
return lowers it, usage beyond the plan raises it. Lines are written through jobs.actions, so the
job's timeline, version and locks are the usual ones.
"""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.text import clean_text
from serviceopus.dispatch.models import CrewMember, Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.models import Job, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus

from ..models import InventoryItem, Reservation, StockBalance, StockLocation, StockMovement
from ..quantity import from_milli, parse_quantity, show
from ..readiness import refresh_readiness
from .stock import (
    allocate_waiting,
    balance_for_update,
    deallocate_excess,
    lock_balances,
    lock_balances_after_job,
    locked,
    move,
    require,
    shortage_message,
    valid_cents,
)

Kind = StockMovement.Kind
CLOSED_JOB = (JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED)


def materials_event(job: Job, actor: User | None, message: str, *, data: dict | None = None) -> None:
    JobEvent.objects.create(job=job, actor=actor, kind=JobEvent.Kind.MATERIALS, message=message[:500], data=data or {})


def _description(item: InventoryItem) -> str:
    return f"{item.sku} · {item.name}"[:300]


def _locked_reservation(reservation_id: int, *also: int, job_locked: bool = False) -> Reservation:
    """The reservation and its job, locked in the inventory lock order (stock.locked): the balance of
    its item at its place (and at the places in `also`), the job, then the reservation. `job_locked`:
    the caller holds the job's lock already (a line hook)."""
    while True:
        row = Reservation.objects.filter(pk=reservation_id).values("item_id", "location_id", "job_id").first()
        if row is None:
            raise DomainError("not_found", "No such reservation.")
        (lock_balances_after_job if job_locked else lock_balances)(row["item_id"], row["location_id"], *also)
        job_actions.lock_job(row["job_id"])
        reservation = locked(Reservation.objects.select_related("item", "location", "job")).filter(pk=reservation_id).first()
        if reservation is None:
            raise DomainError("not_found", "No such reservation.")
        # A receipt elsewhere may have moved a reservation that held nothing; lock its new place too.
        if reservation.location_id == row["location_id"]:
            return reservation


def _set_line_quantity(actor: User, reservation: Reservation) -> None:
    """Make the material line bill what the reservation now says (through jobs.actions, whose hook
    sees nothing to do because the reservation already holds the new quantity)."""
    line = reservation.line_item
    if line is None:
        return
    line.refresh_from_db()
    if reservation.quantity_milli == 0 and reservation.status == Reservation.Status.RELEASED:
        job_actions.line_item_remove(actor=actor, line_item_id=line.pk)
        return
    job_actions.line_item_update(
        actor=actor,
        line_item_id=line.pk,
        version=line.version,
        kind=line.kind,
        description=line.description,
        quantity=from_milli(reservation.quantity_milli),
        unit_price_cents=line.unit_price_cents,
        unit_cost_cents=line.unit_cost_cents,
        taxable=line.taxable,
    )


# ---- reserve ----------------------------------------------------------------------------------------


def material_reserve(
    *,
    actor: User,
    job_id: int,
    item_id: int,
    location_id: int,
    quantity: object,
    backorder: bool = False,
    unit_price_cents: int | None = None,
) -> Reservation:
    """Add a material line for an item and hold its quantity at a place. What the place does not
    have free is refused — unless `backorder`, when the rest is left short (the job shows "blocked by
    parts" and the purchasing page lists it to order)."""
    require(actor, "inventory.reserve", "You may not reserve materials.")
    fields: dict[str, str] = {}
    milli = parse_quantity(quantity, fields)
    item = InventoryItem.objects.filter(pk=item_id, active=True).first() if item_id else None
    if item is None:
        fields["item"] = "Choose an active item."
    location = StockLocation.objects.filter(pk=location_id, active=True).first() if location_id else None
    if location is None:
        fields["location"] = "Choose an active stock location."
    if unit_price_cents is not None and not valid_cents(unit_price_cents):
        fields["unit_price"] = "Enter a valid unit price."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    assert item
    assert location
    if not Job.objects.filter(pk=job_id).exists():
        raise DomainError("not_found", "No such job.")
    with transaction.atomic():
        balance_for_update(item.pk, location.pk)
        line = job_actions.line_item_add(
            actor=actor,
            job_id=job_id,
            kind=LineItem.Kind.MATERIAL,
            description=_description(item),
            quantity=from_milli(milli),
            unit_price_cents=item.default_price_cents if unit_price_cents is None else unit_price_cents,
            unit_cost_cents=item.default_cost_cents,
        )
        balance = balance_for_update(item.pk, location.pk)
        free = max(balance.available_milli, 0)
        held = min(milli, free)
        if held < milli and not backorder:
            raise ConflictError(
                "insufficient_stock",
                shortage_message(item, location, milli, free) + " Reserve it as a backorder to hold what there is and order the rest.",
                available=str(show(free)),
            )
        reservation = Reservation.objects.create(
            job_id=job_id, line_item=line, item=item, location=location, quantity_milli=milli, allocated_milli=held, created_by=actor
        )
        if held:
            StockBalance.objects.filter(pk=balance.pk).update(reserved_milli=F("reserved_milli") + held)
        short = milli - held
        materials_event(
            line.job,
            actor,
            f"Reserved {show(milli)} {item.unit} × {item.sku} at {location.name}" + (f" — {show(short)} short, to order" if short else ""),
            data={"reservation": reservation.pk, "op": "reserve"},
        )
        refresh_readiness([job_id])
    return reservation


def _resize(actor: User | None, reservation: Reservation, milli: int) -> None:
    """The line's quantity changed: need that much now. Never below what the job already has."""
    if milli < reservation.in_use_milli:
        raise ConflictError(
            "materials_in_use",
            f"{show(reservation.in_use_milli)} {reservation.item.unit} of {reservation.item.sku} were already issued to this job; "
            "return them before billing less.",
        )
    balance = balance_for_update(reservation.item_id, reservation.location_id)
    want = milli - reservation.in_use_milli  # still to hold or to arrive
    allocated = min(reservation.allocated_milli, want)
    allocated += max(0, min(want - allocated, balance.available_milli))
    Reservation.objects.filter(pk=reservation.pk).update(quantity_milli=milli, allocated_milli=allocated)
    StockBalance.objects.filter(pk=balance.pk).update(reserved_milli=F("reserved_milli") + allocated - reservation.allocated_milli)
    touched = {reservation.job_id}
    if allocated < reservation.allocated_milli:
        # What this job let go of goes to the jobs waiting for it there.
        touched |= allocate_waiting(reservation.item, reservation.location)
    refresh_readiness(touched)


def _release(reservation: Reservation) -> int:
    """Let go of everything not issued; returns the quantity the job keeps (what it has in use)."""
    balance = balance_for_update(reservation.item_id, reservation.location_id)
    keep = reservation.in_use_milli
    Reservation.objects.filter(pk=reservation.pk).update(
        quantity_milli=keep, allocated_milli=0, status=Reservation.Status.RELEASED if keep == 0 else Reservation.Status.OPEN
    )
    if reservation.allocated_milli:
        StockBalance.objects.filter(pk=balance.pk).update(reserved_milli=F("reserved_milli") - reservation.allocated_milli)
        refresh_readiness(allocate_waiting(reservation.item, reservation.location))
    refresh_readiness([reservation.job_id])
    return keep


def line_item_hook(op: str, line: LineItem, changes: dict[str, Any]) -> None:
    """Registered with jobs.actions.LINE_ITEM_HOOKS: editing or removing an inventory-backed line
    changes its reservation in the same transaction."""
    found = Reservation.objects.filter(line_item=line, status=Reservation.Status.OPEN).values_list("pk", flat=True).first()
    if found is None:
        return
    reservation = _locked_reservation(found, job_locked=True)
    if reservation.status != Reservation.Status.OPEN:
        return
    if op == "remove":
        if reservation.in_use_milli:
            raise ConflictError(
                "materials_in_use",
                f"{show(reservation.in_use_milli)} {reservation.item.unit} of {reservation.item.sku} were issued to this job; "
                "return them before removing the line.",
            )
        _release(reservation)
        return
    if changes.get("kind") != LineItem.Kind.MATERIAL:
        raise ConflictError("inventory_line", "This line is stock of an inventory item; it stays a material line.")
    quantity = changes.get("quantity")
    if isinstance(quantity, Decimal):
        milli = int(quantity * 1000)
        if milli != reservation.quantity_milli:
            if milli <= 0:
                raise ConflictError("inventory_line", "To bill none of an inventory item, release its reservation or remove the line.")
            _resize(None, reservation, milli)


def job_transition_hook(actor: User, job: Job, old: str, new: str) -> None:
    """Registered with jobs.actions.TRANSITION_HOOKS: a cancelled job lets go of the stock held for it
    (others waiting for the items get it). What was issued stays on its lines: it left the shelf."""
    if new != JobStatus.CANCELLED:
        return
    let_go = []
    for found in Reservation.objects.filter(job=job, status=Reservation.Status.OPEN).values_list("pk", flat=True):
        reservation = _locked_reservation(found, job_locked=True)
        if reservation.status != Reservation.Status.OPEN:
            continue
        Reservation.objects.filter(pk=reservation.pk).update(allocated_milli=0, status=Reservation.Status.RELEASED)
        if reservation.allocated_milli:
            balance = balance_for_update(reservation.item_id, reservation.location_id)
            StockBalance.objects.filter(pk=balance.pk).update(reserved_milli=F("reserved_milli") - reservation.allocated_milli)
            refresh_readiness(allocate_waiting(reservation.item, reservation.location))
            let_go.append(f"{show(reservation.allocated_milli)} {reservation.item.unit} × {reservation.item.sku} at {reservation.location.name}")
    refresh_readiness([job.pk])
    if let_go:
        materials_event(job, actor, "Job cancelled: released " + ", ".join(let_go), data={"op": "release_on_cancel"})


# ---- issue, return, release -------------------------------------------------------------------------


def _job_open_for_materials(job: Job) -> None:
    if job.status in CLOSED_JOB:
        raise ConflictError("job_locked", f"Materials cannot change on a job that is {JobStatus(job.status).label.lower()}.")


def material_issue(*, actor: User, reservation_id: int, quantity: object, visit_id: int | None = None) -> StockMovement:
    """The office hands reserved stock over for the job (from the reservation's place): it leaves the
    place and is the job's, billed on its line."""
    require(actor, "inventory.manage_stock", "You may not issue stock.")
    fields: dict[str, str] = {}
    milli = parse_quantity(quantity, fields)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        reservation = _locked_reservation(reservation_id)
        _job_open_for_materials(reservation.job)
        if visit_id is not None and not Visit.objects.filter(pk=visit_id, job_id=reservation.job_id).exists():
            raise InvalidInput("Please correct the highlighted fields.", {"visit": "Choose a visit of this job."})
        outstanding = reservation.quantity_milli - reservation.in_use_milli
        if reservation.status != Reservation.Status.OPEN or outstanding <= 0:
            raise ConflictError("nothing_to_issue", f"Everything reserved of {reservation.item.sku} was already issued to this job.")
        if milli > outstanding:
            raise InvalidInput(
                "Please correct the highlighted fields.",
                {"quantity": f"Only {show(outstanding)} {reservation.item.unit} of {reservation.item.sku} are still to issue on this line."},
            )
        release = min(milli, reservation.allocated_milli)
        movement = move(
            actor=actor,
            kind=Kind.ISSUE,
            item=reservation.item,
            quantity_milli=milli,
            from_location=reservation.location,
            release_reserved_milli=release,
            job=reservation.job,
            visit_id=visit_id,
            reservation=reservation,
            unit_cost_cents=reservation.line_item.unit_cost_cents if reservation.line_item else reservation.item.default_cost_cents,
        )
        Reservation.objects.filter(pk=reservation.pk).update(allocated_milli=F("allocated_milli") - release, issued_milli=F("issued_milli") + milli)
        materials_event(
            reservation.job,
            actor,
            f"Issued {show(milli)} {reservation.item.unit} × {reservation.item.sku} from {reservation.location.name}",
            data={"reservation": reservation.pk, "movement": movement.pk, "op": "issue"},
        )
        # With negative stock allowed an issue may take stock held for others: their holds shrink to what is there.
        refresh_readiness(deallocate_excess(reservation.item, reservation.location) | {reservation.job_id})
    return movement


def material_return(
    *, actor: User, reservation_id: int, quantity: object, location_id: int | None = None, reason: str = "", visit_id: int | None = None
) -> StockMovement:
    """Unused stock comes back from the job to a place (the reservation's by default): the line bills
    that much less. Returning more than the job has is refused. `visit_id` (a visit of the job) says
    on which visit it came back, as usage records which visit it was used on."""
    fields: dict[str, str] = {}
    milli = parse_quantity(quantity, fields)
    reason = clean_text(fields, "reason", reason, max_length=300)
    if location_id is not None and not StockLocation.objects.filter(pk=location_id, active=True).exists():
        fields["location"] = "Choose an active stock location."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        reservation = _locked_reservation(reservation_id, *([location_id] if location_id else []))
        _may_return(actor, reservation, location_id)
        _job_open_for_materials(reservation.job)
        if visit_id is not None and not Visit.objects.filter(pk=visit_id, job_id=reservation.job_id).exists():
            raise InvalidInput("Please correct the highlighted fields.", {"visit": "Not a visit of this job."})
        destination = StockLocation.objects.filter(pk=location_id or reservation.location_id, active=True).first()
        if destination is None:
            raise InvalidInput("Please correct the highlighted fields.", {"location": "Choose an active stock location."})
        if milli > reservation.in_use_milli:
            item = reservation.item
            message = f"Only {show(reservation.in_use_milli)} {item.unit} of {item.sku} were issued to this job and not returned."
            raise InvalidInput("Please correct the highlighted fields.", {"quantity": message})
        movement = move(
            actor=actor,
            kind=Kind.RETURN,
            item=reservation.item,
            quantity_milli=milli,
            to_location=destination,
            job=reservation.job,
            visit_id=visit_id,
            reservation=reservation,
            unit_cost_cents=reservation.line_item.unit_cost_cents if reservation.line_item else reservation.item.default_cost_cents,
            reason=reason,
        )
        # The job keeps needing what it still awaits: quantity and in-use fall together, the hold stays.
        Reservation.objects.filter(pk=reservation.pk).update(returned_milli=F("returned_milli") + milli, quantity_milli=F("quantity_milli") - milli)
        reservation.refresh_from_db()
        if reservation.quantity_milli == 0 and reservation.allocated_milli == 0:
            Reservation.objects.filter(pk=reservation.pk).update(status=Reservation.Status.RELEASED)
            reservation.status = Reservation.Status.RELEASED
        materials_event(
            reservation.job,
            actor,
            f"Returned {show(milli)} {reservation.item.unit} × {reservation.item.sku} to {destination.name}",
            data={"reservation": reservation.pk, "movement": movement.pk, "op": "return"},
        )
        _set_line_quantity(actor, reservation)
        refresh_readiness(allocate_waiting(reservation.item, destination) | {reservation.job_id})
    return movement


def _may_return(actor: User, reservation: Reservation, location_id: int | None) -> None:
    """The office returns to any place; a technician only what came from their own truck, back into
    it, on a job they work."""
    if actor.has_perm("inventory.manage_stock"):
        return
    truck = StockLocation.objects.filter(technician__user=actor).first()
    if (
        actor.has_perm("inventory.record_usage")
        and truck is not None
        and reservation.location_id == truck.pk
        and (location_id or reservation.location_id) == truck.pk
        and CrewMember.objects.filter(visit__job_id=reservation.job_id, technician__user=actor).exists()
    ):
        return
    raise DomainError("forbidden", "You may not return stock from this job.")


def material_release(*, actor: User, reservation_id: int) -> Reservation:
    """The job no longer needs what it has not been given: the hold is let go (others waiting for the
    item get it) and the line bills only what was issued — or disappears when nothing was."""
    require(actor, "inventory.reserve", "You may not release reservations.")
    with transaction.atomic():
        reservation = _locked_reservation(reservation_id)
        _job_open_for_materials(reservation.job)
        if reservation.status != Reservation.Status.OPEN or reservation.quantity_milli == reservation.in_use_milli:
            raise ConflictError("nothing_to_release", f"Nothing of {reservation.item.sku} is held or awaited for this job.")
        let_go = reservation.quantity_milli - reservation.in_use_milli
        _release(reservation)
        reservation.refresh_from_db()
        materials_event(
            reservation.job,
            actor,
            f"Released {show(let_go)} {reservation.item.unit} × {reservation.item.sku} no longer needed",
            data={"reservation": reservation.pk, "op": "release"},
        )
        _set_line_quantity(actor, reservation)
    return reservation


# ---- a technician's usage from the truck ------------------------------------------------------------

USAGE_VISIT_STATUSES = (VisitStatus.EN_ROUTE, VisitStatus.ARRIVED, VisitStatus.WORKING, VisitStatus.PAUSED, VisitStatus.DEPARTED, VisitStatus.COMPLETED)


def usage_record(*, actor: User, visit_id: int, item_id: int, quantity: object) -> Reservation:
    """A technician used stock from their truck on a visit. What was reserved for the job on the truck
    is consumed first; anything beyond it is added to the job's line for the item (a new line when
    there is none), at the item's price and cost — billable without anyone re-keying it. Returns the
    reservation of that line."""
    require(actor, "inventory.record_usage", "You may not record materials used.")
    fields: dict[str, str] = {}
    milli = parse_quantity(quantity, fields)
    item = InventoryItem.objects.filter(pk=item_id, active=True).first() if item_id else None
    if item is None:
        fields["item"] = "Choose an item from your truck."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    assert item
    truck = StockLocation.objects.filter(technician__user=actor, active=True).first()
    if truck is None:
        raise ConflictError("no_truck", "You have no truck stock location; ask the office to set one up.")
    with transaction.atomic():
        visit = Visit.objects.filter(pk=visit_id).first() if visit_id else None
        if visit is None or not CrewMember.objects.filter(visit=visit, technician__user=actor).exists():
            raise DomainError("forbidden", "You are not on this visit's crew.")
        balance_for_update(item.pk, truck.pk)
        job = job_actions.lock_job(visit.job_id)
        _job_open_for_materials(job)
        if visit.status not in USAGE_VISIT_STATUSES:
            raise ConflictError("visit_not_started", "Record materials once you are on the way to, or at, this visit.")
        planned = list(
            locked(Reservation.objects.select_related("item", "location", "line_item"))
            .filter(job=job, item=item, location=truck, status=Reservation.Status.OPEN, line_item__isnull=False)
            .order_by("created_at", "id")
        )
        if not planned:
            line = job_actions.line_item_add(
                actor=actor,
                job_id=job.pk,
                kind=LineItem.Kind.MATERIAL,
                description=_description(item),
                quantity=from_milli(milli),
                unit_price_cents=item.default_price_cents,
                unit_cost_cents=item.default_cost_cents,
            )
            planned = [Reservation.objects.create(job=job, line_item=line, item=item, location=truck, quantity_milli=milli, created_by=actor)]
        # Each of the job's reservations here gives what it still has to give (oldest first); the rest
        # was used beyond the plan and is added to the oldest line.
        left = milli
        takes: list[tuple[Reservation, int]] = []
        for reservation in planned:
            take = min(left, reservation.quantity_milli - reservation.in_use_milli)
            if take > 0:
                takes.append((reservation, take))
                left -= take
        extra = left
        if extra and takes and takes[0][0].pk == planned[0].pk:
            takes[0] = (planned[0], takes[0][1] + extra)
        elif extra:
            takes.insert(0, (planned[0], extra))
        for reservation, take in takes:
            release = min(take, reservation.allocated_milli)
            move(
                actor=actor,
                kind=Kind.ISSUE,
                item=item,
                quantity_milli=take,
                from_location=truck,
                release_reserved_milli=release,
                job=job,
                visit_id=visit.pk,
                reservation=reservation,
                unit_cost_cents=reservation.line_item.unit_cost_cents if reservation.line_item else item.default_cost_cents,
            )
            grow = extra if reservation.pk == planned[0].pk else 0
            Reservation.objects.filter(pk=reservation.pk).update(
                allocated_milli=F("allocated_milli") - release, issued_milli=F("issued_milli") + take, quantity_milli=F("quantity_milli") + grow
            )
        reservation = planned[0]
        reservation.refresh_from_db()
        if extra:
            _set_line_quantity(actor, reservation)
        materials_event(
            job,
            actor,
            f"Used {show(milli)} {item.unit} × {item.sku} from {truck.name} on visit {visit.number}",
            data={"reservation": reservation.pk, "visit": visit.pk, "op": "use"},
        )
        refresh_readiness(deallocate_excess(item, truck) | {job.pk})
    return reservation
