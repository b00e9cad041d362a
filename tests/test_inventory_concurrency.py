"""Stock raced for by many at once, against the real database (SQLite file with IMMEDIATE
transactions, or PostgreSQL with row locks): of several people taking the last unit exactly one gets
it and the others are told it is gone; nothing goes negative; receipts racing on one order line never
over-receive; and a mix of every kind of movement on one item at one place neither deadlocks nor
leaves the books crooked."""

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from serviceopus.core.errors import ConflictError, DomainError
from serviceopus.dispatch.status import VisitStatus
from serviceopus.inventory.actions import purchasing, reservations
from serviceopus.inventory.actions.stock import stock_adjust, stock_receive, stock_transfer
from serviceopus.inventory.models import PurchaseOrder, PurchaseOrderLine, Reservation, StockBalance, StockMovement
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs import search
from serviceopus.jobs.models import Job, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, JobFactory, TruckFactory, VendorFactory, VisitFactory, WarehouseFactory
from tests.test_concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 12


def outcome(call: Callable[[], Any]) -> Callable[[int], tuple[str, str]]:
    """Runs the call; "ok", or "refused" with the refusal's code. Anything else fails the test."""

    def run(i: int) -> tuple[str, str]:
        try:
            call()
        except DomainError as refused:
            return "refused", refused.code
        return "ok", ""

    return run


def each(calls: list[Callable[[], Any]]) -> Callable[[int], tuple[str, str]]:
    def run(i: int) -> tuple[str, str]:
        return outcome(calls[i])(i)

    return run


def balance(item, place) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return StockBalance.objects.filter(item=item, location=place).values_list("on_hand_milli", "reserved_milli").get()


@pytest.fixture(autouse=True)
def _forget_search_documents():  # type: ignore[no-untyped-def]
    """The flush after a transactional test empties the tables but not SQLite's full-text index:
    take this test's jobs out of it, so a reused test database does not carry them over."""
    yield
    search.delete_documents(list(Job.objects.values_list("pk", flat=True)))


@pytest.fixture
def item(db):  # type: ignore[no-untyped-def]
    return ItemFactory(sku="LAST-1", name="Last unit", preferred_vendor=VendorFactory(name="Race Supply"))


@pytest.fixture
def warehouse(db):  # type: ignore[no-untyped-def]
    return WarehouseFactory(name="Race store")


def test_of_many_reserving_the_last_unit_exactly_one_gets_it(office, item, warehouse):
    stock_receive(actor=office, item_id=item.pk, location_id=warehouse.pk, quantity="1")
    jobs = [JobFactory(status=JobStatus.SCHEDULED) for _ in range(THREADS)]
    calls = [
        (lambda job=job: reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="1")) for job in jobs
    ]
    results = run_at_once(THREADS, each(calls))
    assert Counter(results) == {("ok", ""): 1, ("refused", "insufficient_stock"): THREADS - 1}, Counter(results)
    [reservation] = Reservation.objects.all()
    assert (reservation.quantity_milli, reservation.allocated_milli) == (1000, 1000)
    assert balance(item, warehouse) == (1000, 1000)
    # The refused reservations left no line behind, and only the winner's job shows parts.
    assert LineItem.objects.filter(kind="material").count() == 1
    assert Counter(Job.objects.values_list("parts_readiness", flat=True)) == {"ready": 1, "": THREADS - 1}


def test_of_many_visits_using_the_last_unit_on_a_truck_one_records_it(office, tech_a, item):
    truck = TruckFactory(technician=tech_a, name="Race truck")
    stock_receive(actor=office, item_id=item.pk, location_id=truck.pk, quantity="1")
    visits = [VisitFactory(crew=[tech_a], status=VisitStatus.WORKING) for _ in range(THREADS)]
    calls = [(lambda visit=visit: reservations.usage_record(actor=tech_a.user, visit_id=visit.pk, item_id=item.pk, quantity="1")) for visit in visits]
    results = run_at_once(THREADS, each(calls))
    assert Counter(results) == {("ok", ""): 1, ("refused", "insufficient_stock"): THREADS - 1}, Counter(results)
    assert balance(item, truck) == (0, 0)
    assert Reservation.objects.count() == 1
    assert StockMovement.objects.filter(kind="issue").count() == 1
    assert list(LineItem.objects.filter(kind="material").values_list("quantity", flat=True)) == [Decimal("1.000")]


def test_receipts_racing_on_one_line_never_over_receive(office, item, warehouse):
    po = purchasing.po_create(actor=office, vendor_id=item.preferred_vendor_id, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "2"}])
    po = purchasing.po_order(actor=office, po_id=po.pk)
    line = po.lines.get()
    results = run_at_once(THREADS, outcome(lambda: purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={line.pk: "1.5"})))
    assert Counter(results) == {("ok", ""): 1, ("refused", "invalid"): THREADS - 1}, Counter(results)
    assert PurchaseOrderLine.objects.get(pk=line.pk).received_milli == 1500
    assert PurchaseOrder.objects.get(pk=po.pk).status == "partially_received"
    assert StockMovement.objects.filter(kind="receipt", purchase_order_line=line).count() == 1
    assert balance(item, warehouse) == (1500, 0)


def test_every_kind_of_movement_at_once_on_one_item_and_place(office, item, warehouse):
    """Receipts, transfers both ways, counts, issues, releases, line edits and reserves for jobs
    waiting at the same place: no deadlock, no error but refusals, and the books balance."""
    yard = WarehouseFactory(name="Race yard")
    stock_receive(actor=office, item_id=item.pk, location_id=warehouse.pk, quantity="6")
    stock_receive(actor=office, item_id=item.pk, location_id=yard.pk, quantity="4")
    jobs = [JobFactory(status=JobStatus.SCHEDULED) for _ in range(6)]
    held = [
        reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2", backorder=True) for job in jobs[:4]
    ]
    line = LineItem.objects.get(pk=held[3].line_item_id)

    def edit_line() -> None:
        job_actions.line_item_update(
            actor=office,
            line_item_id=line.pk,
            version=line.version,
            kind="material",
            description=line.description,
            quantity=Decimal("1"),
            unit_price_cents=line.unit_price_cents,
            unit_cost_cents=line.unit_cost_cents,
            taxable=True,
        )

    calls: list[Callable[[], Any]] = [
        lambda: stock_receive(actor=office, item_id=item.pk, location_id=warehouse.pk, quantity="3"),
        lambda: stock_transfer(actor=office, item_id=item.pk, from_location_id=warehouse.pk, to_location_id=yard.pk, quantity="1"),
        lambda: stock_transfer(actor=office, item_id=item.pk, from_location_id=yard.pk, to_location_id=warehouse.pk, quantity="2"),
        lambda: stock_adjust(actor=office, item_id=item.pk, location_id=warehouse.pk, change="-2", reason="Count"),
        lambda: reservations.material_issue(actor=office, reservation_id=held[0].pk, quantity="2"),
        lambda: reservations.material_release(actor=office, reservation_id=held[1].pk),
        # Only this thread removes that line (jobs.actions raises DoesNotExist for a line already gone).
        lambda: LineItem.objects.filter(pk=held[2].line_item_id).exists() and job_actions.line_item_remove(actor=office, line_item_id=held[2].line_item_id),
        edit_line,
        lambda: reservations.material_reserve(actor=office, job_id=jobs[4].pk, item_id=item.pk, location_id=warehouse.pk, quantity="3", backorder=True),
        lambda: reservations.material_reserve(actor=office, job_id=jobs[5].pk, item_id=item.pk, location_id=yard.pk, quantity="1", backorder=True),
        lambda: stock_receive(actor=office, item_id=item.pk, location_id=yard.pk, quantity="1"),
        lambda: stock_adjust(actor=office, item_id=item.pk, location_id=yard.pk, change="+1", reason="Found"),
    ]
    codes: Counter[str] = Counter()
    for _ in range(3):  # the first round does most of the work; later ones mostly hear "nothing left to do"
        codes.update(code or "ok" for _, code in run_at_once(len(calls), each(calls)))
        line.refresh_from_db()
    # Every outcome is a success or a clear refusal (run_at_once fails on anything else: a deadlock, a 500).
    assert codes["ok"] >= len(calls) // 2, codes
    # A line edit waits for the balance only briefly (it holds its job, against the lock order) and may be told to retry.
    assert set(codes) <= {"ok", "insufficient_stock", "nothing_to_issue", "nothing_to_release", "stale", "materials_in_use", "stock_busy"}, codes
    for row in StockBalance.objects.filter(item=item):
        moves = StockMovement.objects.filter(item=item)
        into = sum(m.quantity_milli for m in moves if m.to_location_id == row.location_id)
        out = sum(m.quantity_milli for m in moves if m.from_location_id == row.location_id)
        assert row.on_hand_milli == into - out >= 0
        holds = sum(r.allocated_milli for r in Reservation.objects.filter(item=item, location=row.location_id, status="open"))
        assert row.reserved_milli == holds <= row.on_hand_milli


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: SQLite serialises whole transactions")
def test_a_line_edit_waiting_long_for_a_busy_balance_is_refused_not_deadlocked(office, item, warehouse):
    """jobs.actions locks the job before the line hook locks the balance (against the inventory lock
    order), so the hook waits only briefly and then refuses with nothing changed."""
    stock_receive(actor=office, item_id=item.pk, location_id=warehouse.pk, quantity="3")
    job = JobFactory(status=JobStatus.SCHEDULED)
    reservation = reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="1")
    line = LineItem.objects.get(pk=reservation.line_item_id)
    holding, release = threading.Event(), threading.Event()

    def hold_the_balance(i: int) -> None:
        if i == 0:
            with transaction.atomic():
                StockBalance.objects.select_for_update().get(item=item, location=warehouse)
                holding.set()
                release.wait(timeout=30)
            return
        holding.wait(timeout=30)
        try:
            with pytest.raises(ConflictError) as refused:
                job_actions.line_item_update(
                    actor=office,
                    line_item_id=line.pk,
                    version=line.version,
                    kind="material",
                    description=line.description,
                    quantity=Decimal("2"),
                    unit_price_cents=line.unit_price_cents,
                    unit_cost_cents=line.unit_cost_cents,
                    taxable=True,
                )
            assert refused.value.code == "stock_busy"
        finally:
            release.set()

    run_at_once(2, hold_the_balance)
    assert LineItem.objects.get(pk=line.pk).quantity == Decimal("1.000")
    assert Reservation.objects.get(pk=reservation.pk).quantity_milli == 1000
    assert balance(item, warehouse) == (3000, 1000)
