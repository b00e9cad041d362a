"""A technician's usage from their truck on a visit (inventory.actions.reservations.usage_record): what
it consumes, what it bills, and every refusal leaving every row as it was."""

from decimal import Decimal

import pytest

from serviceopus.closeout.blockers import completion_blockers
from serviceopus.closeout.models import CloseoutRequirement, RequirementKind
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.status import VisitStatus
from serviceopus.inventory.actions import reservations
from serviceopus.inventory.actions.stock import stock_transfer
from serviceopus.inventory.models import Reservation, StockLocation, StockMovement
from serviceopus.jobs.models import Job, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, VisitFactory

from .test_reservations import edit_line, line_quantity, reserve, state
from .test_stock import balance, every_row, readiness

pytestmark = pytest.mark.django_db


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
