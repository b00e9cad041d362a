"""Stock movements by the office: receipts, transfers, counts (adjustments). The ledger and the
balances agree, nothing goes negative unless the company allows it, and every refusal leaves every
table exactly as it was."""

from decimal import Decimal

import pytest
from django.apps import apps

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.inventory.actions import reservations
from serviceopus.inventory.actions.stock import stock_adjust, stock_receive, stock_transfer
from serviceopus.inventory.models import InventorySettings, Reservation, StockBalance, StockMovement
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, JobFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def every_row() -> dict[str, list[dict]]:
    """Every row of every table, to show that a refused action wrote nothing anywhere."""
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in apps.get_models()}


def balance(item, location) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return StockBalance.objects.filter(item=item, location=location).values_list("on_hand_milli", "reserved_milli").first() or (0, 0)


def readiness(job) -> str:  # type: ignore[no-untyped-def]
    return Job.objects.values_list("parts_readiness", flat=True).get(pk=job.pk)


def allow_negative_stock() -> None:
    settings = InventorySettings.current()
    settings.allow_negative_stock = True
    settings.save()


@pytest.fixture
def van(db):  # type: ignore[no-untyped-def]
    return WarehouseFactory(name="Overflow store")


# ---- receive -----------------------------------------------------------------------------------------


def test_receive_puts_stock_on_hand_and_writes_the_ledger(office, item, warehouse):
    movement = stock_receive(actor=office, item_id=item.pk, location_id=warehouse.pk, quantity="2.5", reason="Counter purchase")
    assert (movement.kind, movement.quantity_milli, movement.from_location_id, movement.to_location_id) == ("receipt", 2500, None, warehouse.pk)
    assert (movement.unit_cost_cents, movement.reason, movement.actor_id) == (1850, "Counter purchase", office.pk)
    assert balance(item, warehouse) == (2500, 0)
    stock_receive(actor=office, item_id=item.pk, location_id=warehouse.pk, quantity=Decimal("1"), unit_cost_cents=1700)
    assert balance(item, warehouse) == (3500, 0)
    assert list(StockMovement.objects.order_by("id").values_list("unit_cost_cents", flat=True)) == [1850, 1700]


def test_receive_holds_stock_for_jobs_waiting_at_that_place(office, item, warehouse):
    older, newer = JobFactory(), JobFactory()
    first = reservations.material_reserve(actor=office, job_id=older.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2", backorder=True)
    second = reservations.material_reserve(actor=office, job_id=newer.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2", backorder=True)
    assert (readiness(older), readiness(newer)) == ("blocked", "blocked")

    stock_receive(actor=office, item_id=item.pk, location_id=warehouse.pk, quantity="3")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.allocated_milli, second.allocated_milli) == (2000, 1000)
    assert (readiness(older), readiness(newer)) == ("ready", "partial")
    assert balance(item, warehouse) == (3000, 3000)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "Enter a quantity above zero."),
        ("-1", "Enter a quantity above zero."),
        ("1.2345", "At most 3 decimal places."),
        ("two", "Enter a number, such as 2 or 1.5."),
        (1.5, "Enter a number, such as 2 or 1.5."),
        ("NaN", "Enter a number, such as 2 or 1.5."),
        ("1e12", "That quantity is too large."),
    ],
)
def test_receive_refuses_bad_quantities(office, item, warehouse, quantity, message):
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        stock_receive(actor=office, item_id=item.pk, location_id=warehouse.pk, quantity=quantity)
    assert refused.value.fields == {"quantity": message}
    assert every_row() == before


def test_receive_refuses_bad_places_costs_and_reasons_all_at_once(office, item, warehouse):
    warehouse.active = False
    warehouse.save()
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        stock_receive(actor=office, item_id=item.pk, location_id=warehouse.pk, quantity="1", unit_cost_cents=-5, reason="bad\x00text")
    assert refused.value.fields == {
        "location": "Choose an active stock location.",
        "unit_cost": "Enter a valid unit cost (zero or more).",
        "reason": "Text must not contain NUL characters.",
    }
    with pytest.raises(InvalidInput) as refused:
        stock_receive(actor=office, item_id=None, location_id=None, quantity="1", unit_cost_cents=True)  # type: ignore[arg-type]
    assert set(refused.value.fields) == {"item", "location", "unit_cost"}
    assert every_row() == before


def test_a_technician_may_not_receive_move_or_count_stock(tech_a, item, warehouse, van):
    before = every_row()
    for call in (
        lambda: stock_receive(actor=tech_a.user, item_id=item.pk, location_id=warehouse.pk, quantity="1"),
        lambda: stock_transfer(actor=tech_a.user, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=van.pk, quantity="1"),
        lambda: stock_adjust(actor=tech_a.user, item_id=item.pk, location_id=warehouse.pk, change="+1", reason="Count"),
    ):
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == "forbidden"
    assert every_row() == before


# ---- transfer ----------------------------------------------------------------------------------------


def test_transfer_moves_free_stock_and_feeds_reservations_waiting_at_the_destination(office, item, warehouse, truck_a, stock):
    stock(item, warehouse, "5")
    job = JobFactory()
    waiting = reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=truck_a.pk, quantity="2", backorder=True)
    assert readiness(job) == "blocked"

    movement = stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=truck_a.pk, quantity="3", reason="Restock")
    assert (movement.kind, movement.from_location_id, movement.to_location_id, movement.quantity_milli) == ("transfer", warehouse.pk, truck_a.pk, 3000)
    assert balance(item, warehouse) == (2000, 0)
    assert balance(item, truck_a) == (3000, 2000)
    waiting.refresh_from_db()
    assert waiting.allocated_milli == 2000
    assert readiness(job) == "ready"


def test_transfer_refuses_to_take_stock_held_for_jobs(office, item, warehouse, van, stock):
    stock(item, warehouse, "3")
    reservations.material_reserve(actor=office, job_id=JobFactory().pk, item_id=item.pk, location_id=warehouse.pk, quantity="2")
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=van.pk, quantity="1.5")
    assert refused.value.code == "insufficient_stock"
    assert refused.value.message == "Only 1 each of CAP-45-5 is free at Main warehouse; 1.5 needed."
    assert refused.value.details["available"] == "1"
    assert every_row() == before
    stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=van.pk, quantity="1")
    assert (balance(item, warehouse), balance(item, van)) == ((2000, 2000), (1000, 0))


def test_transfer_from_a_place_that_never_held_the_item_is_refused_cleanly(office, item, warehouse, van):
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=van.pk, quantity="1")
    assert refused.value.message == "Only 0 each of CAP-45-5 are free at Main warehouse; 1 needed."
    assert every_row() == before


def test_transfer_validates_its_places(office, item, warehouse):
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=warehouse.pk, quantity="1")
    assert refused.value.fields == {"to_location": "Choose a different place to move the stock to."}
    with pytest.raises(InvalidInput) as refused:
        stock_transfer(actor=office, item_id=item.pk, from_location_id=None, to_location_id=None, quantity="")  # type: ignore[arg-type]
    assert refused.value.fields == {
        "quantity": "Enter a number, such as 2 or 1.5.",
        "from_location": "Choose an active stock location.",
        "to_location": "Choose an active stock location.",
    }
    assert every_row() == before


# ---- adjust ------------------------------------------------------------------------------------------


def test_adjust_up_and_down_with_a_reason(office, item, warehouse, stock):
    stock(item, warehouse, "3")
    found = stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change="+2", reason="Found behind the shelf")
    assert (found.kind, found.to_location_id, found.from_location_id, found.quantity_milli, found.reason) == (
        "adjustment",
        warehouse.pk,
        None,
        2000,
        "Found behind the shelf",
    )
    damaged = stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change="-1.5", reason="Damaged")
    assert (damaged.from_location_id, damaged.to_location_id, damaged.quantity_milli) == (warehouse.pk, None, 1500)
    stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change=Decimal("1"), reason="Recount")
    stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change=-1, reason="Recount")
    assert balance(item, warehouse) == (3500, 0)


@pytest.mark.parametrize(
    ("change", "reason", "fields"),
    [
        ("+2", "", {"reason": "This field is required."}),
        ("+2", "   ", {"reason": "This field is required."}),
        ("0", "Count", {"change": "Enter a quantity above zero."}),
        ("", "Count", {"change": "Enter a number, such as 2 or 1.5."}),
        ("+-2", "Count", {"change": "Enter a number, such as 2 or 1.5."}),
        ("--2", "Count", {"change": "Enter a number, such as 2 or 1.5."}),
        ("-+2", "Count", {"change": "Enter a number, such as 2 or 1.5."}),
        (-1.5, "Count", {"change": "Enter a number, such as 2 or 1.5."}),
        ("1.0001", "Count", {"change": "At most 3 decimal places."}),
    ],
)
def test_adjust_refuses_bad_changes_and_a_missing_reason(office, item, warehouse, stock, change, reason, fields):
    stock(item, warehouse, "3")
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change=change, reason=reason)
    assert refused.value.fields == fields
    assert every_row() == before


def test_adjust_down_refuses_more_than_is_on_hand(office, item, warehouse, stock):
    stock(item, warehouse, "2")
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change="-2.5", reason="Count")
    assert refused.value.code == "insufficient_stock"
    assert refused.value.message == "Only 2 each of CAP-45-5 on hand at Main warehouse; cannot remove 2.5."
    assert every_row() == before


def test_adjust_down_below_what_is_reserved_takes_holds_back_from_the_newest_reservations(office, item, warehouse, stock):
    stock(item, warehouse, "5")
    oldest, middle, newest = JobFactory(), JobFactory(), JobFactory()
    first = reservations.material_reserve(actor=office, job_id=oldest.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2")
    second = reservations.material_reserve(actor=office, job_id=middle.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2")
    third = reservations.material_reserve(actor=office, job_id=newest.pk, item_id=item.pk, location_id=warehouse.pk, quantity="1")
    assert balance(item, warehouse) == (5000, 5000)
    assert {readiness(j) for j in (oldest, middle, newest)} == {"ready"}

    # Two units turn out broken: reserved stock may be counted away (it is simply not there).
    stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change="-2", reason="Broken in the van")
    for reservation in (first, second, third):
        reservation.refresh_from_db()
    assert (first.allocated_milli, second.allocated_milli, third.allocated_milli) == (2000, 1000, 0)
    assert (readiness(oldest), readiness(middle), readiness(newest)) == ("ready", "partial", "blocked")
    assert balance(item, warehouse) == (3000, 3000)

    # Found again: the holds come back, oldest first.
    stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change="+1.5", reason="Recount")
    second.refresh_from_db()
    third.refresh_from_db()
    assert (second.allocated_milli, third.allocated_milli) == (2000, 500)
    assert (readiness(middle), readiness(newest)) == ("ready", "partial")
    assert balance(item, warehouse) == (4500, 4500)


def test_adjust_down_of_free_stock_keeps_every_hold(office, item, warehouse, stock):
    stock(item, warehouse, "5")
    job = JobFactory()
    held = reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2")
    stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change="-3", reason="Count")
    held.refresh_from_db()
    assert held.allocated_milli == 2000
    assert balance(item, warehouse) == (2000, 2000)
    assert readiness(job) == "ready"


# ---- negative stock ------------------------------------------------------------------------------------


def test_negative_stock_is_refused_by_default_and_allowed_by_the_setting(office, item, warehouse, van, stock):
    stock(item, warehouse, "1")
    before = every_row()
    with pytest.raises(ConflictError):
        stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=van.pk, quantity="3")
    with pytest.raises(ConflictError):
        stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change="-3", reason="Count")
    assert every_row() == before

    allow_negative_stock()
    stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=van.pk, quantity="3")
    assert (balance(item, warehouse), balance(item, van)) == ((-2000, 0), (3000, 0))
    stock_adjust(actor=office, item_id=item.pk, location_id=van.pk, change="-4", reason="Count")
    assert balance(item, van) == (-1000, 0)


def test_with_negative_stock_allowed_taking_held_stock_leaves_no_hold_on_stock_that_is_not_there(office, item, warehouse, van, stock):
    """A transfer that takes stock held for a job (allowed by the setting) must not leave the job
    believing it is held: holds never exceed what is on hand."""
    stock(item, warehouse, "2")
    job = JobFactory()
    held = reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2")
    allow_negative_stock()
    stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=van.pk, quantity="1.5")
    held.refresh_from_db()
    assert balance(item, warehouse) == (500, 500)
    assert held.allocated_milli == 500
    assert readiness(job) == "partial"


def test_balances_always_equal_the_ledger(office, item, warehouse, van, truck_a, stock):
    other = ItemFactory(sku="FLT-16", name="Filter 16x25")
    stock(item, warehouse, "4")
    stock(other, van, "2")
    stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=truck_a.pk, quantity="1.25")
    stock_adjust(actor=office, item_id=other.pk, location_id=van.pk, change="-0.5", reason="Count")
    job = JobFactory(status=JobStatus.SCHEDULED)
    reservation = reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="2")
    reservations.material_return(actor=office, reservation_id=reservation.pk, quantity="0.5", location_id=van.pk)
    for row in StockBalance.objects.all():
        moves = StockMovement.objects.filter(item_id=row.item_id)
        into = sum(m.quantity_milli for m in moves if m.to_location_id == row.location_id)
        out = sum(m.quantity_milli for m in moves if m.from_location_id == row.location_id)
        assert row.on_hand_milli == into - out, row
        held = sum(r.allocated_milli for r in Reservation.objects.filter(item_id=row.item_id, location_id=row.location_id, status="open"))
        assert row.reserved_milli == held, row
