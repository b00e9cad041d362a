"""The ledger: every stock movement goes through `move`, which writes the movement and the running
balances of the places it touches in one transaction, and refuses (having written nothing) to take
more than a place has free unless the company allows negative stock.

Locking: the balance rows are locked (PostgreSQL) or covered by SQLite's IMMEDIATE write lock before
they are read, so two people taking the last unit are served one after the other and the second is
told what is left. Also here: receipts without an order, transfers and adjustments (office).
"""

from django.db import OperationalError, connection, transaction
from django.db.models import F

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.text import clean_text
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus

from ..models import InventoryItem, InventorySettings, Reservation, StockBalance, StockLocation, StockMovement
from ..quantity import parse_quantity, show
from ..readiness import refresh_readiness

Kind = StockMovement.Kind
DONE_JOB = (JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED)


def locked(qs):  # type: ignore[no-untyped-def]
    """Rows locked until commit on PostgreSQL (only the queried table's, not the rows it joins);
    SQLite's IMMEDIATE transaction already holds the write lock.

    Lock order, kept by the inventory writes so that two of them never wait for each other: the
    purchase order, then balance rows (by item, then place), then jobs and reservations. A reservation
    changes only under the lock of its item's balance at its place, so whoever holds that balance may
    take the reservations and jobs behind it. The one exception is a line hook, called by jobs.actions
    with its job already locked: see lock_balances_after_job."""
    # NO KEY: rows pointing at a locked one (a movement at its reservation, an event at its job) can
    # still be written, so such inserts never join a lock cycle.
    return qs.select_for_update(of=("self",), no_key=True) if connection.vendor == "postgresql" else qs


def require(actor: User, perm: str, message: str) -> None:
    if not actor.has_perm(perm):
        raise DomainError("forbidden", message)


def balance_for_update(item_id: int, location_id: int) -> StockBalance:
    """The balance row of an item at a place, created if missing and locked until commit."""
    # INSERT … ON CONFLICT DO NOTHING: two first movements of an item at a place cannot both insert.
    StockBalance.objects.bulk_create([StockBalance(item_id=item_id, location_id=location_id)], ignore_conflicts=True)
    return locked(StockBalance.objects).get(item_id=item_id, location_id=location_id)


def lock_balances(item_id: int, *location_ids: int) -> None:
    """Lock several places' balance rows of one item in a fixed order (by place), so two movements
    between the same places in opposite directions cannot each hold one row and wait for the other."""
    for location_id in sorted(set(location_ids)):
        balance_for_update(item_id, location_id)


LOCK_WAIT = "500ms"  # below PostgreSQL's deadlock_timeout (1 s): this side gives up first


def lock_balances_after_job(item_id: int, *location_ids: int) -> None:
    """lock_balances for a caller that already holds the job's lock (jobs.actions runs its line hooks
    so). That is against the lock order: a movement holding the balance may be waiting for this very
    job (to update its readiness). So wait for the balance only briefly and refuse, with nothing
    changed, rather than deadlock."""
    if connection.vendor != "postgresql":
        lock_balances(item_id, *location_ids)
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
            lock_balances(item_id, *location_ids)
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) not in ("55P03", "40P01"):  # lock_not_available, deadlock_detected
            raise
        raise ConflictError("stock_busy", "This item's stock is being moved right now; nothing was changed. Try again in a moment.") from None


def valid_cents(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**13


def shortage_message(item: InventoryItem, location: StockLocation, wanted: int, available: int) -> str:
    free = max(available, 0)
    return f"Only {show(free)} {item.unit} of {item.sku} {'is' if free else 'are'} free at {location.name}; {show(wanted)} needed."


def move(
    *,
    actor: User | None,
    kind: str,
    item: InventoryItem,
    quantity_milli: int,
    from_location: StockLocation | None = None,
    to_location: StockLocation | None = None,
    release_reserved_milli: int = 0,
    job: Job | None = None,
    visit_id: int | None = None,
    reservation: Reservation | None = None,
    purchase_order_line_id: int | None = None,
    unit_cost_cents: int = 0,
    reason: str = "",
) -> StockMovement:
    """Write one movement. Stock taken from `from_location` must be free there (on hand − reserved),
    except the `release_reserved_milli` held for this very movement (an issue against its own
    reservation). Must run inside the caller's transaction."""
    assert transaction.get_connection().in_atomic_block, "move needs a transaction"
    assert quantity_milli > 0
    assert from_location or to_location
    if from_location is not None:
        balance = balance_for_update(item.pk, from_location.pk)
        available = balance.on_hand_milli - balance.reserved_milli + release_reserved_milli
        if quantity_milli > available and not InventorySettings.current().allow_negative_stock:
            raise ConflictError("insufficient_stock", shortage_message(item, from_location, quantity_milli, available), available=str(show(max(available, 0))))
        StockBalance.objects.filter(pk=balance.pk).update(
            on_hand_milli=F("on_hand_milli") - quantity_milli, reserved_milli=F("reserved_milli") - release_reserved_milli
        )
    if to_location is not None:
        balance = balance_for_update(item.pk, to_location.pk)
        StockBalance.objects.filter(pk=balance.pk).update(on_hand_milli=F("on_hand_milli") + quantity_milli)
    return StockMovement.objects.create(
        item=item,
        kind=kind,
        quantity_milli=quantity_milli,
        from_location=from_location,
        to_location=to_location,
        job=job,
        visit_id=visit_id,
        reservation=reservation,
        purchase_order_line_id=purchase_order_line_id,
        unit_cost_cents=unit_cost_cents,
        reason=reason,
        actor=actor,
    )


def allocate_waiting(item: InventoryItem, location: StockLocation, *, first: Reservation | None = None) -> set[int]:
    """Hold newly free stock at a place for the reservations there still short of it — `first`, then
    the oldest. Returns the jobs whose reservations changed. Inside the caller's transaction."""
    balance = balance_for_update(item.pk, location.pk)
    free = balance.on_hand_milli - balance.reserved_milli
    touched: set[int] = set()
    if free <= 0:
        return touched
    # A job that is invoiced, closed or cancelled takes no more stock, even if its line is still open.
    waiting = list(
        locked(Reservation.objects)
        .filter(item=item, location=location, status=Reservation.Status.OPEN)
        .exclude(job__status__in=DONE_JOB)
        .order_by("created_at", "id")
    )
    if first is not None:
        waiting.sort(key=lambda r: r.pk != first.pk)
    for reservation in waiting:
        take = min(reservation.short_milli, free)
        if take <= 0:
            continue
        Reservation.objects.filter(pk=reservation.pk).update(allocated_milli=F("allocated_milli") + take)
        free -= take
        touched.add(reservation.job_id)
        if free <= 0:
            break
    held = (balance.on_hand_milli - balance.reserved_milli) - free
    if held:
        StockBalance.objects.filter(pk=balance.pk).update(reserved_milli=F("reserved_milli") + held)
    return touched


def deallocate_excess(item: InventoryItem, location: StockLocation) -> set[int]:
    """After a count finds less than is reserved, take the allocations of the newest reservations back
    until what is held fits what is on hand (they show as short again). Returns the jobs touched."""
    balance = balance_for_update(item.pk, location.pk)
    excess = balance.reserved_milli - max(balance.on_hand_milli, 0)
    touched: set[int] = set()
    if excess <= 0:
        return touched
    holding = (
        locked(Reservation.objects).filter(item=item, location=location, status=Reservation.Status.OPEN, allocated_milli__gt=0).order_by("-created_at", "-id")
    )
    released = 0
    for reservation in holding:
        take = min(reservation.allocated_milli, excess - released)
        Reservation.objects.filter(pk=reservation.pk).update(allocated_milli=F("allocated_milli") - take)
        released += take
        touched.add(reservation.job_id)
        if released >= excess:
            break
    StockBalance.objects.filter(pk=balance.pk).update(reserved_milli=F("reserved_milli") - released)
    return touched


# ---- office movements -------------------------------------------------------------------------------


def _item_and_place(
    fields: dict[str, str], item_id: int | None, location_id: int | None, name: str = "location"
) -> tuple[InventoryItem | None, StockLocation | None]:
    item = InventoryItem.objects.filter(pk=item_id).first() if item_id else None
    if item is None:
        fields["item"] = "Choose an item."
    location = StockLocation.objects.filter(pk=location_id, active=True).first() if location_id else None
    if location is None:
        fields[name] = "Choose an active stock location."
    return item, location


def stock_receive(*, actor: User, item_id: int, location_id: int, quantity: object, unit_cost_cents: int | None = None, reason: str = "") -> StockMovement:
    """Stock arriving without a purchase order (a counter purchase, opening stock)."""
    require(actor, "inventory.manage_stock", "You may not receive stock.")
    fields: dict[str, str] = {}
    milli = parse_quantity(quantity, fields)
    item, location = _item_and_place(fields, item_id, location_id)
    reason = clean_text(fields, "reason", reason, max_length=300)
    if unit_cost_cents is not None and not valid_cents(unit_cost_cents):
        fields["unit_cost"] = "Enter a valid unit cost (zero or more)."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    assert item
    assert location
    with transaction.atomic():
        movement = move(
            actor=actor,
            kind=Kind.RECEIPT,
            item=item,
            quantity_milli=milli,
            to_location=location,
            unit_cost_cents=item.default_cost_cents if unit_cost_cents is None else unit_cost_cents,
            reason=reason,
        )
        refresh_readiness(allocate_waiting(item, location))
    return movement


def stock_transfer(*, actor: User, item_id: int, from_location_id: int, to_location_id: int, quantity: object, reason: str = "") -> StockMovement:
    """Move free stock between places (restocking a truck from the warehouse)."""
    require(actor, "inventory.manage_stock", "You may not move stock.")
    fields: dict[str, str] = {}
    milli = parse_quantity(quantity, fields)
    item, source = _item_and_place(fields, item_id, from_location_id, "from_location")
    destination = StockLocation.objects.filter(pk=to_location_id, active=True).first() if to_location_id else None
    if destination is None:
        fields["to_location"] = "Choose an active stock location."
    elif source is not None and destination.pk == source.pk:
        fields["to_location"] = "Choose a different place to move the stock to."
    reason = clean_text(fields, "reason", reason, max_length=300)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    assert item
    assert source
    assert destination
    with transaction.atomic():
        lock_balances(item.pk, source.pk, destination.pk)
        movement = move(actor=actor, kind=Kind.TRANSFER, item=item, quantity_milli=milli, from_location=source, to_location=destination, reason=reason)
        refresh_readiness(deallocate_excess(item, source) | allocate_waiting(item, destination))
    return movement


def stock_adjust(*, actor: User, item_id: int, location_id: int, change: object, reason: str) -> StockMovement:
    """Correct on-hand after a count: `change` is signed (+2 found, −1 damaged); the reason is required.
    A decrease takes only stock that is there (unless negative stock is allowed); when it leaves less
    than is reserved, the newest reservations lose their hold and show as short again."""
    require(actor, "inventory.adjust_stock", "You may not adjust stock.")
    fields: dict[str, str] = {}
    text = str(change).strip()
    negative = text.startswith("-")
    # One sign at most: "+-2" or "--2" is a typing slip, not a direction.
    magnitude = text[1:] if text[:1] in ("+", "-") else text
    if isinstance(change, float) or magnitude[:1] in ("+", "-"):
        fields["change"] = "Enter a number, such as 2 or 1.5."
        milli = 0
    else:
        milli = parse_quantity(magnitude, fields, "change")
    item, location = _item_and_place(fields, item_id, location_id)
    reason = clean_text(fields, "reason", reason, max_length=300, required=True)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    assert item
    assert location
    with transaction.atomic():
        if negative:
            balance = balance_for_update(item.pk, location.pk)
            # A count may take reserved stock (it is simply not there), but not more than is on hand.
            if milli > balance.on_hand_milli and not InventorySettings.current().allow_negative_stock:
                raise ConflictError(
                    "insufficient_stock",
                    f"Only {show(max(balance.on_hand_milli, 0))} {item.unit} of {item.sku} on hand at {location.name}; cannot remove {show(milli)}.",
                )
            movement = move(
                actor=actor,
                kind=Kind.ADJUSTMENT,
                item=item,
                quantity_milli=milli,
                from_location=location,
                release_reserved_milli=balance.reserved_milli,
                reason=reason,
            )
            # move() released every hold for its check; put back those that still fit.
            StockBalance.objects.filter(pk=balance.pk).update(reserved_milli=F("reserved_milli") + balance.reserved_milli)
            refresh_readiness(deallocate_excess(item, location))
        else:
            movement = move(actor=actor, kind=Kind.ADJUSTMENT, item=item, quantity_milli=milli, to_location=location, reason=reason)
            refresh_readiness(allocate_waiting(item, location))
    return movement
