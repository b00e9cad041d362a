"""Any sequence of stock movements, made through the actions (refusals included), keeps the books
straight: each place's on-hand is the ledger's sum, holds match the reservations, nothing negative
unless the company allows it, and the job rows and lines agree with their reservations.

Each example runs inside a transaction that is rolled back afterwards, so examples start from the
same people, items and places without rebuilding them."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from serviceopus.core.errors import DomainError
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.inventory.actions import purchasing, reservations
from serviceopus.inventory.actions.stock import stock_adjust, stock_receive, stock_transfer
from serviceopus.inventory.models import (
    InventoryItem,
    InventorySettings,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    StockBalance,
    StockLocation,
    StockMovement,
)
from serviceopus.inventory.readiness import state_of
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.models import Job, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, JobFactory, TruckFactory, VendorFactory, VisitFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

ITEMS, PLACES, JOBS = 2, 3, 3
quantity = st.sampled_from(["0.5", "1", "1.5", "2", "3", "5"])
item = st.integers(0, ITEMS - 1)
place = st.integers(0, PLACES - 1)  # the last place is the technician's truck
job = st.integers(0, JOBS - 1)
pick = st.integers(0, 30)  # an existing reservation or order, modulo how many there are

step = st.one_of(
    st.tuples(st.just("receive"), item, place, quantity),
    st.tuples(st.just("transfer"), item, place, place, quantity),
    st.tuples(st.just("adjust"), item, place, st.sampled_from(["+", "-"]), quantity),
    st.tuples(st.just("reserve"), job, item, place, quantity, st.booleans()),
    st.tuples(st.just("issue"), pick, quantity),
    st.tuples(st.just("return"), pick, quantity, st.none() | place),
    st.tuples(st.just("release"), pick),
    st.tuples(st.just("resize"), pick, quantity),
    st.tuples(st.just("remove_line"), pick),
    st.tuples(st.just("use"), job, item, quantity),
    st.tuples(st.just("order"), item, place, quantity, st.none() | pick),
    st.tuples(st.just("receive_po"), pick, quantity, st.none() | place, st.booleans()),
    st.tuples(st.just("cancel_po"), pick),
    st.tuples(st.just("drafts"), st.booleans()),
)


@dataclass
class World:
    office: object
    tech: object
    items: list[InventoryItem]
    places: list[StockLocation]
    jobs: list[Job]
    visits: list[Visit]
    vendor_id: int


@pytest.fixture
def world(office, tech_a) -> World:  # type: ignore[no-untyped-def]
    vendor = VendorFactory(name="Ledger Supply")
    items = [ItemFactory(sku="PROP-A", preferred_vendor=vendor), ItemFactory(sku="PROP-B", preferred_vendor=None)]
    places = [WarehouseFactory(name="Prop store"), WarehouseFactory(name="Prop yard"), TruckFactory(technician=tech_a, name="Prop truck")]
    jobs = [JobFactory(status=JobStatus.IN_PROGRESS) for _ in range(JOBS)]
    visits = [VisitFactory(job=j, crew=[tech_a], status=VisitStatus.WORKING) for j in jobs]
    return World(office, tech_a, items, places, jobs, visits, vendor.pk)


def nth(rows: list, index: int):  # type: ignore[no-untyped-def]
    return rows[index % len(rows)] if rows else None


def apply(w: World, op: tuple) -> None:
    kind, *args = op
    office = w.office
    if kind == "receive":
        i, p, q = args
        stock_receive(actor=office, item_id=w.items[i].pk, location_id=w.places[p].pk, quantity=q)
    elif kind == "transfer":
        i, a, b, q = args
        stock_transfer(actor=office, item_id=w.items[i].pk, from_location_id=w.places[a].pk, to_location_id=w.places[b].pk, quantity=q)
    elif kind == "adjust":
        i, p, sign, q = args
        stock_adjust(actor=office, item_id=w.items[i].pk, location_id=w.places[p].pk, change=sign + q, reason="Count")
    elif kind == "reserve":
        j, i, p, q, backorder = args
        reservations.material_reserve(actor=office, job_id=w.jobs[j].pk, item_id=w.items[i].pk, location_id=w.places[p].pk, quantity=q, backorder=backorder)
    elif kind == "use":
        j, i, q = args
        reservations.usage_record(actor=w.tech.user, visit_id=w.visits[j].pk, item_id=w.items[i].pk, quantity=q)
    elif kind in ("issue", "return", "release", "resize", "remove_line"):
        reservation = nth(list(Reservation.objects.order_by("pk")), args[0])
        if reservation is None:
            return
        if kind == "issue":
            reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity=args[1])
        elif kind == "return":
            to = w.places[args[2]].pk if args[2] is not None else None
            reservations.material_return(actor=office, reservation_id=reservation.pk, quantity=args[1], location_id=to)
        elif kind == "release":
            reservations.material_release(actor=office, reservation_id=reservation.pk)
        elif reservation.line_item_id is not None:
            line = LineItem.objects.get(pk=reservation.line_item_id)
            if kind == "remove_line":
                job_actions.line_item_remove(actor=office, line_item_id=line.pk)
            else:
                job_actions.line_item_update(
                    actor=office,
                    line_item_id=line.pk,
                    version=line.version,
                    kind=line.kind,
                    description=line.description,
                    quantity=Decimal(args[1]),
                    unit_price_cents=line.unit_price_cents,
                    unit_cost_cents=line.unit_cost_cents,
                    taxable=line.taxable,
                )
    elif kind == "order":
        i, p, q, for_reservation = args
        linked = nth(list(Reservation.objects.order_by("pk")), for_reservation) if for_reservation is not None else None
        line = {"item_id": w.items[i].pk, "quantity": q, "reservation_id": linked.pk if linked else None}
        po = purchasing.po_create(actor=office, vendor_id=w.vendor_id, ship_to_id=w.places[p].pk, lines=[line])
        purchasing.po_order(actor=office, po_id=po.pk)
    elif kind in ("receive_po", "cancel_po"):
        po = nth(list(PurchaseOrder.objects.order_by("pk")), args[0])
        if po is None:
            return
        if kind == "cancel_po":
            purchasing.po_cancel(actor=office, po_id=po.pk, reason="Changed our mind")
            return
        if po.status == PurchaseOrder.Status.DRAFT:
            purchasing.po_order(actor=office, po_id=po.pk)
        _, q, p, over = args
        quantities = {line.pk: q for line in po.lines.all()}
        purchasing.po_receive(actor=office, po_id=po.pk, location_id=w.places[p].pk if p is not None else None, quantities=quantities, over_receipt=over)
    elif kind == "drafts":
        for po in purchasing.drafts_for_shortfalls(actor=office):
            if args[0]:
                purchasing.po_order(actor=office, po_id=po.pk)


def check_books(allow_negative: bool) -> None:
    ledger: dict[tuple[int, int], int] = defaultdict(int)
    issued: dict[int, int] = defaultdict(int)
    returned: dict[int, int] = defaultdict(int)
    for item_id, kind, milli, origin, destination, reservation_id in StockMovement.objects.values_list(
        "item_id", "kind", "quantity_milli", "from_location_id", "to_location_id", "reservation_id"
    ):
        if destination:
            ledger[item_id, destination] += milli
        if origin:
            ledger[item_id, origin] -= milli
        if reservation_id:
            (issued if kind == StockMovement.Kind.ISSUE else returned)[reservation_id] += milli
    held: dict[tuple[int, int], int] = defaultdict(int)
    lines = dict(LineItem.objects.values_list("pk", "quantity"))
    by_job: dict[int, list[Reservation]] = defaultdict(list)
    for r in Reservation.objects.all():
        assert r.allocated_milli >= 0, r
        assert 0 <= r.in_use_milli <= r.quantity_milli, r
        assert r.allocated_milli + r.in_use_milli <= r.quantity_milli, r
        assert (r.issued_milli, r.returned_milli) == (issued[r.pk], returned[r.pk]), r
        if r.status == Reservation.Status.OPEN:
            held[r.item_id, r.location_id] += r.allocated_milli
            by_job[r.job_id].append(r)
            # The line bills what the reservation says.
            assert r.line_item_id is not None, r
            assert lines[r.line_item_id] * 1000 == r.quantity_milli, r
        else:
            assert (r.quantity_milli, r.allocated_milli, r.in_use_milli, r.line_item_id) == (0, 0, 0, None), r
    balances = {
        (i, p): (on_hand, reserved) for i, p, on_hand, reserved in StockBalance.objects.values_list("item_id", "location_id", "on_hand_milli", "reserved_milli")
    }
    for key in set(balances) | set(ledger) | set(held):
        on_hand, reserved = balances.get(key, (0, 0))
        assert on_hand == ledger[key], key
        assert reserved == held[key], key
        assert 0 <= reserved <= max(on_hand, 0), key
        if not allow_negative:
            assert on_hand >= 0, key
    for pk, kept in Job.objects.values_list("pk", "parts_readiness"):
        assert kept == state_of(by_job[pk]), pk
    orders: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for po_id, received, wanted in PurchaseOrderLine.objects.values_list("purchase_order_id", "received_milli", "quantity_milli"):
        orders[po_id].append((received, wanted))
    numbered = []
    for po_id, number, status in PurchaseOrder.objects.values_list("pk", "number", "status"):
        if number:
            numbered.append(number)
        if status in ("draft", "cancelled"):
            continue
        everything = all(received >= wanted for received, wanted in orders[po_id])
        something = any(received for received, _ in orders[po_id])
        assert status == ("received" if everything else "partially_received" if something else "ordered"), po_id
    assert sorted(numbered) == [f"PO-{n:06d}" for n in range(1, len(numbered) + 1)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(allow_negative=st.booleans(), opening=st.sampled_from(["", "2"]), steps=st.lists(step, min_size=6, max_size=16))
def test_any_sequence_of_movements_keeps_the_books(world, allow_negative, opening, steps):
    with transaction.atomic():
        InventorySettings.objects.update_or_create(pk=InventorySettings.current().pk, defaults={"allow_negative_stock": allow_negative})
        if opening:  # half the examples start with some of everything everywhere, so that more steps succeed
            for i in range(ITEMS):
                for p in range(PLACES):
                    apply(world, ("receive", i, p, opening))
        for op in steps:
            try:
                apply(world, op)
                event(f"{op[0]}: done")
            except DomainError as refused:  # refused: the books must still be straight
                event(f"{op[0]}: refused ({refused.code})")
            check_books(allow_negative)
        transaction.set_rollback(True)
