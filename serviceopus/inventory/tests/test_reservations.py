"""Materials for a job: reserving behind a material line, the readiness kept on the job, the line's
edits resizing its reservation, issue / return / release (a technician's usage from the truck: test_usage.py)."""

from decimal import Decimal

import pytest

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.status import VisitStatus
from serviceopus.inventory.actions import reservations
from serviceopus.inventory.models import Reservation, StockBalance
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.models import Job, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, JobFactory, TruckFactory, VisitFactory, WarehouseFactory

from .test_stock import balance, every_row, readiness

pytestmark = pytest.mark.django_db


def reserve(actor, job, item, place, quantity, **kwargs) -> Reservation:  # type: ignore[no-untyped-def]
    return reservations.material_reserve(actor=actor, job_id=job.pk, item_id=item.pk, location_id=place.pk, quantity=quantity, **kwargs)


def edit_line(actor, reservation: Reservation, quantity: str, **changes) -> LineItem:  # type: ignore[no-untyped-def]
    line = LineItem.objects.get(pk=reservation.line_item_id)
    fields = {
        "kind": line.kind,
        "description": line.description,
        "quantity": Decimal(quantity),
        "unit_price_cents": line.unit_price_cents,
        "unit_cost_cents": line.unit_cost_cents,
        "taxable": line.taxable,
        **changes,
    }
    return job_actions.line_item_update(actor=actor, line_item_id=line.pk, version=line.version, **fields)


def fresh(reservation: Reservation) -> Reservation:
    return Reservation.objects.get(pk=reservation.pk)


def state(reservation: Reservation) -> tuple[int, int, int, int, str]:
    r = fresh(reservation)
    return r.quantity_milli, r.allocated_milli, r.issued_milli, r.returned_milli, r.status


def line_quantity(reservation: Reservation) -> Decimal | None:
    return LineItem.objects.filter(pk=fresh(reservation).line_item_id).values_list("quantity", flat=True).first()


@pytest.fixture
def job(db):  # type: ignore[no-untyped-def]
    return JobFactory(status=JobStatus.SCHEDULED)


# ---- reserve -----------------------------------------------------------------------------------------


def test_reserve_adds_a_material_line_and_holds_its_quantity(office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    reservation = reserve(office, job, item, warehouse, "2.5", unit_price_cents=5500)
    assert state(reservation) == (2500, 2500, 0, 0, "open")
    line = LineItem.objects.get(job=job)
    assert (line.kind, line.description, line.quantity, line.unit_price_cents, line.unit_cost_cents) == (
        "material",
        "CAP-45-5 · Run capacitor 45/5 µF",
        Decimal("2.500"),
        5500,
        1850,
    )
    assert reservation.line_item_id == line.pk
    assert balance(item, warehouse) == (5000, 2500)
    assert readiness(job) == "ready"
    event = JobEvent.objects.filter(job=job, kind="materials").get()
    assert event.message == "Reserved 2.5 each × CAP-45-5 at Main warehouse"


def test_reserve_without_enough_free_stock_is_refused_and_changes_nothing(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reserve(office, JobFactory(), item, warehouse, "2")
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        reserve(office, job, item, warehouse, "2")
    assert refused.value.code == "insufficient_stock"
    assert refused.value.message == (
        "Only 1 each of CAP-45-5 is free at Main warehouse; 2 needed. Reserve it as a backorder to hold what there is and order the rest."
    )
    assert every_row() == before


def test_reserve_at_a_place_that_never_held_the_item(office, job, item, warehouse):
    """No balance row yet: the refusal creates none, the backorder creates one holding nothing."""
    before = every_row()
    with pytest.raises(ConflictError):
        reserve(office, job, item, warehouse, "1")
    assert every_row() == before
    reservation = reserve(office, job, item, warehouse, "1", backorder=True)
    assert state(reservation) == (1000, 0, 0, 0, "open")
    assert balance(item, warehouse) == (0, 0)
    assert StockBalance.objects.filter(item=item, location=warehouse).exists()
    assert readiness(job) == "blocked"
    assert JobEvent.objects.filter(job=job, kind="materials").get().message == "Reserved 1 each × CAP-45-5 at Main warehouse — 1 short, to order"


def test_readiness_is_ready_partial_or_blocked_across_the_jobs_reservations(office, job, item, warehouse, stock):
    filter_item = ItemFactory(sku="FLT-16", name="Filter")
    assert readiness(job) == ""
    stock(item, warehouse, "2")
    reserve(office, job, item, warehouse, "2")
    assert readiness(job) == "ready"
    reserve(office, job, filter_item, warehouse, "1", backorder=True)
    assert readiness(job) == "partial"
    other = JobFactory()
    reserve(office, other, filter_item, warehouse, "4", backorder=True)
    assert readiness(other) == "blocked"


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"quantity": "0"}, {"quantity": "Enter a quantity above zero."}),
        ({"quantity": "1.0005"}, {"quantity": "At most 3 decimal places."}),
        ({"item_id": None}, {"item": "Choose an active item."}),
        ({"location_id": None}, {"location": "Choose an active stock location."}),
        ({"unit_price_cents": -1}, {"unit_price": "Enter a valid unit price."}),
        ({"unit_price_cents": "12"}, {"unit_price": "Enter a valid unit price."}),
    ],
)
def test_reserve_validates_every_field(office, job, item, warehouse, stock, kwargs, fields):
    stock(item, warehouse, "5")
    before = every_row()
    arguments = {"job_id": job.pk, "item_id": item.pk, "location_id": warehouse.pk, "quantity": "1", **kwargs}
    with pytest.raises(InvalidInput) as refused:
        reservations.material_reserve(actor=office, **arguments)
    assert refused.value.fields == fields
    assert every_row() == before


def test_reserve_refuses_inactive_items_missing_jobs_closed_jobs_and_technicians(office, tech_a, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    retired = ItemFactory(sku="OLD-1", active=False)
    closed = JobFactory(status=JobStatus.INVOICED)
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        reserve(office, job, retired, warehouse, "1")
    assert refused.value.fields == {"item": "Choose an active item."}
    with pytest.raises(DomainError) as refused:
        reservations.material_reserve(actor=office, job_id=10**9, item_id=item.pk, location_id=warehouse.pk, quantity="1")
    assert refused.value.code == "not_found"
    with pytest.raises(ConflictError) as refused:
        reserve(office, closed, item, warehouse, "1")
    assert refused.value.code == "job_locked"
    with pytest.raises(DomainError) as refused:
        reserve(tech_a.user, job, item, warehouse, "1")
    assert refused.value.code == "forbidden"
    assert every_row() == before


# ---- the line's edits --------------------------------------------------------------------------------


def test_raising_the_line_holds_more_when_free_and_leaves_the_rest_short(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reservation = reserve(office, job, item, warehouse, "1")
    edit_line(office, reservation, "2")
    assert state(reservation) == (2000, 2000, 0, 0, "open")
    assert balance(item, warehouse) == (3000, 2000)
    edit_line(office, reservation, "4.5")
    assert state(reservation) == (4500, 3000, 0, 0, "open")
    assert fresh(reservation).short_milli == 1500
    assert balance(item, warehouse) == (3000, 3000)
    assert readiness(job) == "partial"
    assert line_quantity(reservation) == Decimal("4.500")


def test_lowering_the_line_lets_go_of_the_hold_for_the_next_job_waiting(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reservation = reserve(office, job, item, warehouse, "3")
    waiting_job = JobFactory()
    waiting = reserve(office, waiting_job, item, warehouse, "2", backorder=True)
    assert (readiness(job), readiness(waiting_job)) == ("ready", "blocked")

    edit_line(office, reservation, "1.5")
    assert state(reservation) == (1500, 1500, 0, 0, "open")
    assert fresh(waiting).allocated_milli == 1500
    assert balance(item, warehouse) == (3000, 3000)
    # The job that received the freed stock shows it at once (the list filters on this column).
    assert (readiness(job), readiness(waiting_job)) == ("ready", "partial")


def test_lowering_the_line_below_what_was_issued_is_refused(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reservation = reserve(office, job, item, warehouse, "3")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="2")
    edit_line(office, reservation, "2")  # down to what is in use: allowed
    assert state(reservation) == (2000, 0, 2000, 0, "open")
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        edit_line(office, reservation, "1")
    assert refused.value.code == "materials_in_use"
    assert refused.value.message == "2 each of CAP-45-5 were already issued to this job; return them before billing less."
    assert every_row() == before


def test_the_line_stays_a_material_line_with_a_quantity(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reservation = reserve(office, job, item, warehouse, "1")
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        edit_line(office, reservation, "1", kind="service")
    assert refused.value.code == "inventory_line"
    with pytest.raises(ConflictError) as refused:
        edit_line(office, reservation, "0")
    assert refused.value.message == "To bill none of an inventory item, release its reservation or remove the line."
    assert every_row() == before
    # Price and description may change freely; the hold is untouched.
    edit_line(office, reservation, "1", unit_price_cents=9900, description="Capacitor (customer's brand)")
    assert state(reservation) == (1000, 1000, 0, 0, "open")


def test_a_stale_edit_of_the_line_changes_neither_line_nor_hold(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reservation = reserve(office, job, item, warehouse, "1")
    line = LineItem.objects.get(pk=reservation.line_item_id)
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        job_actions.line_item_update(
            actor=office,
            line_item_id=line.pk,
            version=line.version + 7,
            kind="material",
            description=line.description,
            quantity=Decimal("3"),
            unit_price_cents=line.unit_price_cents,
            unit_cost_cents=line.unit_cost_cents,
            taxable=True,
        )
    assert refused.value.code == "stale"
    assert every_row() == before


def test_removing_the_line_releases_its_hold(office, job, item, warehouse, stock):
    stock(item, warehouse, "2")
    reservation = reserve(office, job, item, warehouse, "2")
    waiting_job = JobFactory()
    waiting = reserve(office, waiting_job, item, warehouse, "1", backorder=True)
    job_actions.line_item_remove(actor=office, line_item_id=reservation.line_item_id)
    assert not LineItem.objects.filter(job=job).exists()
    r = fresh(reservation)
    assert (r.quantity_milli, r.allocated_milli, r.status, r.line_item_id) == (0, 0, "released", None)
    assert fresh(waiting).allocated_milli == 1000
    assert balance(item, warehouse) == (2000, 1000)
    assert (readiness(job), readiness(waiting_job)) == ("", "ready")


def test_removing_a_line_with_stock_issued_is_refused(office, job, item, warehouse, stock):
    stock(item, warehouse, "2")
    reservation = reserve(office, job, item, warehouse, "2")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="0.5")
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        job_actions.line_item_remove(actor=office, line_item_id=reservation.line_item_id)
    assert refused.value.code == "materials_in_use"
    assert refused.value.message == "0.5 each of CAP-45-5 were issued to this job; return them before removing the line."
    assert every_row() == before


def test_lines_without_a_reservation_are_not_touched_by_inventory(office, job):
    line = job_actions.line_item_add(actor=office, job_id=job.pk, kind="material", description="Duct tape", quantity=Decimal("1"), unit_price_cents=500)
    job_actions.line_item_update(
        actor=office,
        line_item_id=line.pk,
        version=line.version,
        kind="fee",
        description="Duct tape",
        quantity=Decimal("0"),
        unit_price_cents=500,
        unit_cost_cents=0,
        taxable=True,
    )
    job_actions.line_item_remove(actor=office, line_item_id=line.pk)
    assert not Reservation.objects.exists()


# ---- issue -------------------------------------------------------------------------------------------


def test_issue_hands_held_stock_to_the_job(office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    reservation = reserve(office, job, item, warehouse, "3")
    visit = VisitFactory(job=job)
    movement = reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="2", visit_id=visit.pk)
    assert (movement.kind, movement.from_location_id, movement.to_location_id, movement.job_id, movement.visit_id) == (
        "issue",
        warehouse.pk,
        None,
        job.pk,
        visit.pk,
    )
    assert (movement.reservation_id, movement.unit_cost_cents, movement.quantity_milli) == (reservation.pk, 1850, 2000)
    assert state(reservation) == (3000, 1000, 2000, 0, "open")
    assert balance(item, warehouse) == (3000, 1000)
    assert readiness(job) == "ready"
    assert line_quantity(reservation) == Decimal("3.000")


def test_issue_of_what_is_short_takes_free_stock_or_is_refused(office, job, item, warehouse, van_stock):
    place, stock = van_stock
    reservation = reserve(office, job, item, place, "3", backorder=True)
    assert state(reservation) == (3000, 0, 0, 0, "open")
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1")
    assert refused.value.code == "insufficient_stock"
    assert every_row() == before
    stock(item, place, "1")  # the receipt holds it for the reservation
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1")
    assert state(reservation) == (3000, 0, 1000, 0, "open")
    assert readiness(job) == "partial"


@pytest.fixture
def van_stock(stock):  # type: ignore[no-untyped-def]
    return WarehouseFactory(name="Side store"), stock


def test_issue_refuses_more_than_remains_to_issue_and_bad_visits(office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    reservation = reserve(office, job, item, warehouse, "2")
    other_visit = VisitFactory()
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="2.5")
    assert refused.value.fields == {"quantity": "Only 2 each of CAP-45-5 are still to issue on this line."}
    with pytest.raises(InvalidInput) as refused:
        reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1", visit_id=other_visit.pk)
    assert refused.value.fields == {"visit": "Choose a visit of this job."}
    with pytest.raises(DomainError) as refused:
        reservations.material_issue(actor=office, reservation_id=10**9, quantity="1")
    assert refused.value.code == "not_found"
    assert every_row() == before
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="2")
    with pytest.raises(ConflictError) as refused:
        reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1")
    assert refused.value.code == "nothing_to_issue"


def test_a_technician_may_not_issue_from_the_warehouse(tech_a, job, item, warehouse, stock, office):
    stock(item, warehouse, "5")
    reservation = reserve(office, job, item, warehouse, "2")
    with pytest.raises(DomainError) as refused:
        reservations.material_issue(actor=tech_a.user, reservation_id=reservation.pk, quantity="1")
    assert refused.value.code == "forbidden"


# ---- return ------------------------------------------------------------------------------------------


def test_return_puts_unused_stock_back_and_bills_less(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reservation = reserve(office, job, item, warehouse, "3")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="3")
    movement = reservations.material_return(actor=office, reservation_id=reservation.pk, quantity="1", reason="Spare")
    assert (movement.kind, movement.from_location_id, movement.to_location_id, movement.reason) == ("return", None, warehouse.pk, "Spare")
    assert state(reservation) == (2000, 0, 3000, 1000, "open")
    assert line_quantity(reservation) == Decimal("2.000")
    assert balance(item, warehouse) == (1000, 0)


def test_returning_more_than_was_issued_is_refused(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reservation = reserve(office, job, item, warehouse, "3")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="2")
    reservations.material_return(actor=office, reservation_id=reservation.pk, quantity="0.5")
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        reservations.material_return(actor=office, reservation_id=reservation.pk, quantity="2")
    assert refused.value.fields == {"quantity": "Only 1.5 each of CAP-45-5 were issued to this job and not returned."}
    with pytest.raises(InvalidInput) as refused:
        reservations.material_return(actor=office, reservation_id=reservation.pk, quantity="1", reason="nul\x00")
    assert refused.value.fields == {"reason": "Text must not contain NUL characters."}
    with pytest.raises(InvalidInput) as refused:
        reservations.material_return(actor=office, reservation_id=reservation.pk, quantity="1", location_id=10**9)
    assert refused.value.fields == {"location": "Choose an active stock location."}
    assert every_row() == before


def test_returning_everything_issued_to_another_place_feeds_jobs_waiting_there(office, job, item, warehouse, truck_a, stock):
    stock(item, warehouse, "2")
    reservation = reserve(office, job, item, warehouse, "2")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="2")
    waiting_job = JobFactory()
    waiting = reserve(office, waiting_job, item, truck_a, "1", backorder=True)
    reservations.material_return(actor=office, reservation_id=reservation.pk, quantity="2", location_id=truck_a.pk)
    # Nothing left to bill or to hold: the reservation is released and its line goes.
    r = fresh(reservation)
    assert (r.quantity_milli, r.allocated_milli, r.in_use_milli, r.status, r.line_item_id) == (0, 0, 0, "released", None)
    assert not LineItem.objects.filter(job=job).exists()
    assert fresh(waiting).allocated_milli == 1000
    assert balance(item, truck_a) == (2000, 1000)
    assert (readiness(job), readiness(waiting_job)) == ("", "ready")


def test_a_technician_returns_only_to_their_own_truck_on_their_own_job(office, tech_a, tech_b, item, warehouse, truck_a, stock):
    stock(item, truck_a, "2")
    visit = VisitFactory(crew=[tech_a], status=VisitStatus.WORKING)
    reservation = reservations.usage_record(actor=tech_a.user, visit_id=visit.pk, item_id=item.pk, quantity="2")
    TruckFactory(technician=tech_b, name="Truck 2 · Blair")
    before = every_row()
    for actor, place in ((tech_a.user, warehouse.pk), (tech_b.user, None)):
        with pytest.raises(DomainError) as refused:
            reservations.material_return(actor=actor, reservation_id=reservation.pk, quantity="1", location_id=place)
        assert refused.value.code == "forbidden"
    assert every_row() == before
    reservations.material_return(actor=tech_a.user, reservation_id=reservation.pk, quantity="1")
    assert balance(item, truck_a) == (1000, 0)
    assert line_quantity(reservation) == Decimal("1.000")


# ---- release -----------------------------------------------------------------------------------------


def test_release_lets_go_of_what_was_not_issued_and_bills_what_was(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reservation = reserve(office, job, item, warehouse, "3")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1")
    waiting_job = JobFactory()
    waiting = reserve(office, waiting_job, item, warehouse, "2", backorder=True)
    assert readiness(waiting_job) == "blocked"
    released = reservations.material_release(actor=office, reservation_id=reservation.pk)
    assert (released.quantity_milli, released.allocated_milli, released.status) == (1000, 0, "open")
    assert line_quantity(reservation) == Decimal("1.000")
    assert fresh(waiting).allocated_milli == 2000
    assert (readiness(job), readiness(waiting_job)) == ("ready", "ready")
    assert balance(item, warehouse) == (2000, 2000)
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        reservations.material_release(actor=office, reservation_id=reservation.pk)
    assert refused.value.code == "nothing_to_release"
    assert every_row() == before


def test_release_of_an_untouched_reservation_removes_its_line(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reservation = reserve(office, job, item, warehouse, "2")
    reservations.material_release(actor=office, reservation_id=reservation.pk)
    assert (fresh(reservation).status, fresh(reservation).line_item_id) == ("released", None)
    assert not LineItem.objects.filter(job=job).exists()
    assert balance(item, warehouse) == (3000, 0)
    assert readiness(job) == ""
    with pytest.raises(ConflictError):
        reservations.material_release(actor=office, reservation_id=reservation.pk)


def test_materials_do_not_change_on_a_closed_job(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    reservation = reserve(office, job, item, warehouse, "2")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.INVOICED)
    before = every_row()
    for call in (
        lambda: reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1"),
        lambda: reservations.material_return(actor=office, reservation_id=reservation.pk, quantity="1"),
        lambda: reservations.material_release(actor=office, reservation_id=reservation.pk),
    ):
        with pytest.raises(ConflictError) as refused:
            call()
        assert (refused.value.code, refused.value.message) == ("job_locked", "Materials cannot change on a job that is invoiced.")
    assert every_row() == before


def test_stock_freed_at_a_place_does_not_go_to_a_cancelled_job(office, job, item, warehouse, stock):
    cancelled = JobFactory()
    reserve(office, cancelled, item, warehouse, "1", backorder=True)
    Job.objects.filter(pk=cancelled.pk).update(status=JobStatus.CANCELLED)
    waiting = reserve(office, job, item, warehouse, "1", backorder=True)
    stock(item, warehouse, "1")
    assert fresh(waiting).allocated_milli == 1000
    assert balance(item, warehouse) == (1000, 1000)


def test_cancelling_a_job_lets_go_of_its_holds_for_the_next_job_waiting(office, manager, item, warehouse, stock):
    stock(item, warehouse, "2")
    cancelled = JobFactory(status=JobStatus.NEW)
    held = reserve(office, cancelled, item, warehouse, "2")
    waiting = reserve(office, JobFactory(status=JobStatus.NEW), item, warehouse, "1", backorder=True)
    assert (fresh(held).allocated_milli, fresh(waiting).short_milli) == (2000, 1000)

    job_actions.job_transition(actor=manager, job_id=cancelled.pk, to=JobStatus.CANCELLED)

    assert state(held)[1] == 0
    assert fresh(held).status == Reservation.Status.RELEASED
    assert fresh(waiting).allocated_milli == 1000
    assert balance(item, warehouse) == (2000, 1000)
    assert readiness(cancelled) == ""
    assert readiness(waiting.job) == "ready"
    assert JobEvent.objects.filter(job=cancelled, kind=JobEvent.Kind.MATERIALS, message__startswith="Job cancelled: released 2 each").exists()
    # The line stays (a cancelled job's record), and other moves leave reservations alone.
    assert line_quantity(held) == Decimal("2.000")


def test_other_moves_of_the_job_keep_its_holds(office, manager, item, warehouse, stock):
    stock(item, warehouse, "1")
    job = JobFactory(status=JobStatus.NEW)
    held = reserve(office, job, item, warehouse, "1")
    job_actions.job_transition(actor=manager, job_id=job.pk, to=JobStatus.ON_HOLD, hold_reason="customer")
    assert (fresh(held).allocated_milli, fresh(held).status) == (1000, Reservation.Status.OPEN)
