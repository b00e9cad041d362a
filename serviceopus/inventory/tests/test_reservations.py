"""Materials for a job: reserving behind a material line, the readiness kept on the job, the line's
edits resizing its reservation, issue / return / release, and a technician's usage from the truck."""

from decimal import Decimal

import pytest

from serviceopus.closeout.blockers import completion_blockers
from serviceopus.closeout.models import CloseoutRequirement, RequirementKind
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.status import VisitStatus
from serviceopus.inventory.actions import reservations
from serviceopus.inventory.actions.stock import stock_transfer
from serviceopus.inventory.models import Reservation, StockBalance, StockLocation, StockMovement
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


# ---- usage from the truck ----------------------------------------------------------------------------


@pytest.fixture
def on_site(tech_a, truck_a, item, stock):  # type: ignore[no-untyped-def]
    """Alex at work on a visit, with 5 on the truck."""
    stock(item, truck_a, "5")
    return VisitFactory(crew=[tech_a], status=VisitStatus.WORKING)


def use(tech, visit, item, quantity) -> Reservation:  # type: ignore[no-untyped-def]
    return reservations.usage_record(actor=tech.user, visit_id=visit.pk, item_id=item.pk, quantity=quantity)


def test_usage_consumes_the_reservation_on_the_truck_first(office, tech_a, truck_a, item, on_site):
    reservation = reserve(office, on_site.job, item, truck_a, "2", unit_price_cents=6000)
    used = use(tech_a, on_site, item, "1.5")
    assert used.pk == reservation.pk
    assert state(reservation) == (2000, 500, 1500, 0, "open")
    assert balance(item, truck_a) == (3500, 500)
    assert LineItem.objects.filter(job=on_site.job).count() == 1
    movement = StockMovement.objects.get(kind="issue")
    assert (movement.visit_id, movement.from_location_id, movement.actor_id, movement.unit_cost_cents) == (on_site.pk, truck_a.pk, tech_a.user.pk, 1850)
    event = JobEvent.objects.filter(job=on_site.job, kind="materials").order_by("-id").first()
    assert event.message == f"Used 1.5 each × CAP-45-5 from Truck 1 · Alex on visit {on_site.number}"


def test_usage_beyond_the_reservation_is_added_to_the_same_line(office, tech_a, truck_a, item, on_site):
    reservation = reserve(office, on_site.job, item, truck_a, "2", unit_price_cents=6000)
    use(tech_a, on_site, item, "3")
    assert state(reservation) == (3000, 0, 3000, 0, "open")
    line = LineItem.objects.get(job=on_site.job)
    assert (line.quantity, line.unit_price_cents, line.unit_cost_cents) == (Decimal("3.000"), 6000, 1850)
    assert balance(item, truck_a) == (2000, 0)
    use(tech_a, on_site, item, "0.25")
    assert state(reservation) == (3250, 0, 3250, 0, "open")
    assert LineItem.objects.get(job=on_site.job).quantity == Decimal("3.250")


def test_usage_draws_on_every_reservation_of_the_job_on_the_truck(office, tech_a, truck_a, item, on_site):
    first = reserve(office, on_site.job, item, truck_a, "1")
    second = reserve(office, on_site.job, item, truck_a, "2")
    reserve(office, JobFactory(), item, truck_a, "2")  # the truck's last 2 are another job's
    used = use(tech_a, on_site, item, "3")
    assert used.pk == first.pk
    assert (state(first), state(second)) == ((1000, 0, 1000, 0, "open"), (2000, 0, 2000, 0, "open"))
    assert balance(item, truck_a) == (2000, 2000)
    # Beyond both, the oldest line bills the rest.
    reservations.material_return(actor=office, reservation_id=second.pk, quantity="1")
    use(tech_a, on_site, item, "1")
    assert (state(first), state(second)) == ((2000, 0, 2000, 0, "open"), (1000, 0, 2000, 1000, "open"))
    assert [line_quantity(first), line_quantity(second)] == [Decimal("2.000"), Decimal("1.000")]
    assert list(StockMovement.objects.filter(kind="issue").order_by("id").values_list("reservation_id", "quantity_milli")) == [
        (first.pk, 1000),
        (second.pk, 2000),
        (first.pk, 1000),
    ]
    assert balance(item, truck_a) == (2000, 2000)


def test_usage_on_a_line_with_its_own_cost_issues_at_that_cost(office, tech_a, truck_a, item, on_site):
    reservation = reserve(office, on_site.job, item, truck_a, "1")
    edit_line(office, reservation, "1", unit_cost_cents=2000)
    use(tech_a, on_site, item, "1")
    reservations.material_return(actor=tech_a.user, reservation_id=reservation.pk, quantity="0.5")
    assert list(StockMovement.objects.filter(reservation=reservation).order_by("id").values_list("kind", "unit_cost_cents")) == [
        ("issue", 2000),
        ("return", 2000),
    ]


def test_usage_never_takes_stock_held_on_the_truck_for_another_job(office, tech_a, truck_a, item, on_site):
    other = JobFactory()
    reserve(office, other, item, truck_a, "4")  # 1 free left on the truck
    reservation = reserve(office, on_site.job, item, truck_a, "3", backorder=True)
    assert state(reservation) == (3000, 1000, 0, 0, "open")
    use(tech_a, on_site, item, "1")
    assert state(reservation) == (3000, 0, 1000, 0, "open")
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        use(tech_a, on_site, item, "1")
    assert refused.value.message == "Only 0 each of CAP-45-5 are free at Truck 1 · Alex; 1 needed."
    assert every_row() == before
    assert balance(item, truck_a) == (4000, 4000)


def test_usage_without_a_line_makes_a_billable_one_with_price_and_cost(tech_a, truck_a, item, on_site):
    reservation = use(tech_a, on_site, item, "2")
    line = LineItem.objects.get(pk=reservation.line_item_id)
    assert (line.job_id, line.kind, line.description, line.quantity, line.unit_price_cents, line.unit_cost_cents) == (
        on_site.job_id,
        "material",
        "CAP-45-5 · Run capacitor 45/5 µF",
        Decimal("2.000"),
        4900,
        1850,
    )
    assert (reservation.location_id, reservation.quantity_milli, reservation.issued_milli) == (truck_a.pk, 2000, 2000)
    assert balance(item, truck_a) == (3000, 0)
    assert readiness(on_site.job) == "ready"


def test_usage_ignores_a_reservation_of_the_item_at_another_place(office, tech_a, truck_a, warehouse, item, stock, on_site):
    stock(item, warehouse, "1")
    at_warehouse = reserve(office, on_site.job, item, warehouse, "1")
    used = use(tech_a, on_site, item, "1")
    assert used.pk != at_warehouse.pk
    assert LineItem.objects.filter(job=on_site.job).count() == 2
    assert state(at_warehouse) == (1000, 1000, 0, 0, "open")


def test_usage_is_refused_when_the_truck_lacks_it(tech_a, truck_a, item, on_site, office):
    reserve(office, JobFactory(), item, truck_a, "4")
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        use(tech_a, on_site, item, "2")
    assert refused.value.code == "insufficient_stock"
    assert refused.value.message == "Only 1 each of CAP-45-5 is free at Truck 1 · Alex; 2 needed."
    assert every_row() == before


def test_usage_is_refused_before_the_visit_starts_or_off_the_crew_or_without_a_truck(tech_a, tech_b, truck_a, item, stock, office):
    stock(item, truck_a, "5")
    not_started = VisitFactory(crew=[tech_a], status=VisitStatus.SCHEDULED)
    someone_elses = VisitFactory(crew=[tech_b], status=VisitStatus.WORKING)
    with_b = VisitFactory(crew=[tech_b], status=VisitStatus.WORKING)
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        use(tech_a, not_started, item, "1")
    assert (refused.value.code, refused.value.message) == ("visit_not_started", "Record materials once you are on the way to, or at, this visit.")
    with pytest.raises(DomainError) as refused:
        use(tech_a, someone_elses, item, "1")
    assert (refused.value.code, refused.value.message) == ("forbidden", "You are not on this visit's crew.")
    with pytest.raises(ConflictError) as refused:
        use(tech_b, with_b, item, "1")
    assert refused.value.code == "no_truck"
    with pytest.raises(DomainError) as refused:
        reservations.usage_record(actor=office, visit_id=with_b.pk, item_id=item.pk, quantity="1")
    assert refused.value.code == "forbidden"
    with pytest.raises(InvalidInput) as refused:
        reservations.usage_record(actor=tech_a.user, visit_id=not_started.pk, item_id=None, quantity="-1")  # type: ignore[arg-type]
    assert refused.value.fields == {"quantity": "Enter a quantity above zero.", "item": "Choose an item from your truck."}
    assert every_row() == before


def test_usage_on_a_closed_job_is_refused(tech_a, item, on_site):
    Job.objects.filter(pk=on_site.job_id).update(status=JobStatus.CLOSED)
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        use(tech_a, on_site, item, "1")
    assert refused.value.code == "job_locked"
    assert every_row() == before


def test_usage_meets_the_materials_recorded_closeout_requirement(tech_a, item, on_site):
    CloseoutRequirement.objects.create(job=on_site.job, kind=RequirementKind.MATERIALS)
    assert [b.code for b in completion_blockers(on_site.job)] == ["materials"]
    use(tech_a, on_site, item, "1")
    assert completion_blockers(on_site.job) == []


def test_usage_is_recorded_after_departing_and_on_a_completed_visit(tech_a, item, truck_a, stock):
    stock(item, truck_a, "2")
    for status in (VisitStatus.EN_ROUTE, VisitStatus.DEPARTED, VisitStatus.COMPLETED):
        visit = VisitFactory(crew=[tech_a], status=status)
        use(tech_a, visit, item, "0.5")
    assert balance(item, truck_a) == (500, 0)


def test_a_truck_restocked_for_a_job_feeds_its_reservation_before_usage(office, tech_a, truck_a, warehouse, item, stock):
    visit = VisitFactory(crew=[tech_a], status=VisitStatus.WORKING)
    reservation = reserve(office, visit.job, item, truck_a, "2", backorder=True)
    stock(item, warehouse, "2")
    stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=truck_a.pk, quantity="2")
    assert state(reservation) == (2000, 2000, 0, 0, "open")
    use(tech_a, visit, item, "2")
    assert state(reservation) == (2000, 0, 2000, 0, "open")
    assert StockLocation.objects.get(pk=truck_a.pk).balances.get(item=item).on_hand_milli == 0
