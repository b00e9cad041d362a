"""Purchase orders: drafting, editing, ordering (gapless numbers), cancelling, receiving (partial, over,
into another place) and drafting from the jobs' shortfalls."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.inventory.actions import purchasing
from serviceopus.inventory.actions.reservations import material_reserve
from serviceopus.inventory.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine, Reservation, StockMovement
from serviceopus.inventory.readiness import job_readiness
from serviceopus.inventory.status import ALLOWED, BY_HAND, can_move
from serviceopus.jobs.models import Job, JobEvent
from tests.factories import ItemFactory, JobFactory, VendorFactory, WarehouseFactory

from .test_stock import balance, every_row, readiness

pytestmark = pytest.mark.django_db
S = PurchaseOrder.Status


def status(po: PurchaseOrder) -> str:
    return PurchaseOrder.objects.values_list("status", flat=True).get(pk=po.pk)


def draft(actor, vendor, place, *lines, **kwargs) -> PurchaseOrder:  # type: ignore[no-untyped-def]
    return purchasing.po_create(actor=actor, vendor_id=vendor.pk, ship_to_id=place.pk, lines=list(lines), **kwargs)


def ordered(actor, vendor, place, *lines) -> tuple[PurchaseOrder, list[PurchaseOrderLine]]:  # type: ignore[no-untyped-def]
    po = purchasing.po_order(actor=actor, po_id=draft(actor, vendor, place, *lines).pk)
    return po, list(po.lines.order_by("id"))


def short_reservation(actor, item, place, quantity) -> Reservation:  # type: ignore[no-untyped-def]
    job = JobFactory()
    return material_reserve(actor=actor, job_id=job.pk, item_id=item.pk, location_id=place.pk, quantity=quantity, backorder=True)


# ---- the lifecycle table -------------------------------------------------------------------------------


def test_the_status_table():
    assert ALLOWED[S.DRAFT] == {S.ORDERED, S.CANCELLED}
    assert ALLOWED[S.ORDERED] == {S.PARTIALLY_RECEIVED, S.RECEIVED, S.CANCELLED}
    assert ALLOWED[S.RECEIVED] == ALLOWED[S.CANCELLED] == set()
    assert set(BY_HAND) == {S.ORDERED, S.CANCELLED}
    assert can_move(S.PARTIALLY_RECEIVED, S.RECEIVED)
    assert not can_move(S.RECEIVED, S.CANCELLED)
    assert not can_move("bogus", S.ORDERED)


# ---- draft and edit ------------------------------------------------------------------------------------


def test_create_a_draft_with_lines(office, vendor, item, warehouse):
    reservation = short_reservation(office, item, warehouse, "2")
    po = draft(
        office,
        vendor,
        warehouse,
        {"item_id": item.pk, "quantity": "2", "reservation_id": reservation.pk},
        {"item_id": item.pk, "quantity": "1.5", "unit_cost_cents": 1700},
        notes="Call before delivery",
    )
    assert (po.status, po.number, po.ship_to_id, po.notes, po.label) == ("draft", None, warehouse.pk, "Call before delivery", f"Draft PO #{po.pk}")
    lines = list(po.lines.order_by("id").values_list("quantity_milli", "unit_cost_cents", "reservation_id", "job_id"))
    assert lines == [(2000, 1850, reservation.pk, reservation.job_id), (1500, 1700, None, None)]
    assert PurchaseOrderEvent.objects.get(purchase_order=po).message == "Drafted for Ferguson HVAC Supply with 2 lines"
    assert JobEvent.objects.filter(job=reservation.job, kind="materials", message__startswith="Draft purchase order").exists()


def test_create_validates_header_and_every_line_at_once(office, tech_a, vendor, item, warehouse):
    retired = VendorFactory(name="Gone Ltd", active=False)
    other_item = ItemFactory(sku="FLT-16")
    reservation = short_reservation(office, item, warehouse, "1")
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        purchasing.po_create(
            actor=office,
            vendor_id=retired.pk,
            ship_to_id=None,  # type: ignore[arg-type]
            expected_on="tomorrow",  # type: ignore[arg-type]
            notes="x" * 2001,
            lines=[
                {"item_id": None, "quantity": "0"},
                {"item_id": other_item.pk, "quantity": "1", "unit_cost_cents": -1, "reservation_id": reservation.pk},
            ],
        )
    assert refused.value.fields == {
        "vendor": "Choose an active vendor.",
        "ship_to": "Choose where the goods will be received.",
        "expected_on": "Enter a date.",
        "notes": "At most 2000 characters.",
        "lines.0.item": "Choose an active item.",
        "lines.0.quantity": "Enter a quantity above zero.",
        "lines.1.unit_cost": "Enter a valid unit cost (zero or more).",
        "lines.1.reservation": "That job's reservation is not open for this item.",
    }
    with pytest.raises(DomainError) as refused:
        draft(tech_a.user, vendor, warehouse)
    assert refused.value.code == "forbidden"
    assert every_row() == before


def test_draft_lines_change_only_while_a_draft(office, vendor, item, warehouse):
    po = draft(office, vendor, warehouse)
    line = purchasing.po_line_add(actor=office, po_id=po.pk, item_id=item.pk, quantity="3")
    assert (line.quantity_milli, line.unit_cost_cents) == (3000, 1850)
    line = purchasing.po_line_update(actor=office, line_id=line.pk, quantity="4", unit_cost_cents=1500)
    assert (line.quantity_milli, line.unit_cost_cents) == (4000, 1500)
    extra = purchasing.po_line_add(actor=office, po_id=po.pk, item_id=item.pk, quantity="1", unit_cost_cents=0)
    purchasing.po_line_remove(actor=office, line_id=extra.pk)
    assert list(po.lines.values_list("pk", flat=True)) == [line.pk]
    assert PurchaseOrder.objects.get(pk=po.pk).version == 5
    assert [e.message for e in PurchaseOrderEvent.objects.filter(purchase_order=po).order_by("id")] == [
        "Drafted for Ferguson HVAC Supply with 0 lines",
        "Added 3 × CAP-45-5",
        "Changed CAP-45-5: 3 → 4",
        "Added 1 × CAP-45-5",
        "Removed CAP-45-5",
    ]
    with pytest.raises(InvalidInput) as refused:
        purchasing.po_line_update(actor=office, line_id=line.pk, quantity="-1", unit_cost_cents=True)  # type: ignore[arg-type]
    assert refused.value.fields == {"quantity": "Enter a quantity above zero.", "unit_cost": "Enter a valid unit cost (zero or more)."}
    with pytest.raises(InvalidInput) as refused:
        purchasing.po_line_add(actor=office, po_id=po.pk, item_id=None, quantity="x")  # type: ignore[arg-type]
    assert refused.value.fields == {"item": "Choose an active item.", "quantity": "Enter a number, such as 2 or 1.5."}

    purchasing.po_order(actor=office, po_id=po.pk)
    before = every_row()
    for call in (
        lambda: purchasing.po_line_add(actor=office, po_id=po.pk, item_id=item.pk, quantity="1"),
        lambda: purchasing.po_line_update(actor=office, line_id=line.pk, quantity="1", unit_cost_cents=1),
        lambda: purchasing.po_line_remove(actor=office, line_id=line.pk),
    ):
        with pytest.raises(ConflictError) as refused:
            call()
        assert (refused.value.code, refused.value.message) == ("po_locked", "PO-000001 is ordered; only a draft's lines can change.")
    assert every_row() == before


def test_a_line_added_for_a_jobs_shortfall_is_linked_to_it(office, vendor, item, warehouse):
    reservation = short_reservation(office, item, warehouse, "2")
    po = draft(office, vendor, warehouse)
    line = purchasing.po_line_add(actor=office, po_id=po.pk, item_id=item.pk, quantity="2", reservation_id=reservation.pk)
    assert (line.reservation_id, line.job_id) == (reservation.pk, reservation.job_id)
    assert "on a draft purchase order" in job_readiness(reservation.job).summary()


def test_update_changes_place_date_and_notes_with_a_version(office, vendor, item, warehouse):
    other = WarehouseFactory(name="North yard")
    po = draft(office, vendor, warehouse, {"item_id": item.pk, "quantity": "1"})
    when = timezone.localdate() + timedelta(days=9)
    po = purchasing.po_update(actor=office, po_id=po.pk, version=1, ship_to_id=other.pk, expected_on=when, notes="Dock 2")
    assert (po.ship_to_id, po.expected_on, po.notes, po.version) == (other.pk, when, "Dock 2", 2)
    messages = list(PurchaseOrderEvent.objects.filter(purchase_order=po).order_by("id").values_list("message", flat=True))
    assert messages[1:] == [f"Expected delivery {when:%b %d, %Y}", "Deliver to North yard (was Main warehouse)"]
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        purchasing.po_update(actor=office, po_id=po.pk, version=1, ship_to_id=other.pk, expected_on=None, notes="")
    assert refused.value.code == "stale"
    purchasing.po_order(actor=office, po_id=po.pk)
    with pytest.raises(ConflictError) as refused:
        purchasing.po_update(actor=office, po_id=po.pk, version=3, ship_to_id=warehouse.pk, expected_on=None, notes="")
    assert refused.value.message == "The delivery place can change only while the order is a draft."
    assert every_row() != before  # the order itself moved on
    po = purchasing.po_update(actor=office, po_id=po.pk, version=3, ship_to_id=other.pk, expected_on=date(2031, 1, 2), notes="Late")
    assert (po.expected_on, po.version) == (date(2031, 1, 2), 4)


# ---- order and cancel -----------------------------------------------------------------------------------


def test_order_takes_the_next_number_and_an_expected_date(office, vendor, item, warehouse):
    po, _ = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "1"})
    assert (po.status, po.number, po.label) == ("ordered", "PO-000001", "PO-000001")
    assert po.expected_on == timezone.localdate() + timedelta(days=2)  # the vendor's lead time
    assert po.ordered_at is not None
    second = draft(office, vendor, warehouse, {"item_id": item.pk, "quantity": "1"}, expected_on=date(2030, 5, 1))
    second = purchasing.po_order(actor=office, po_id=second.pk)
    assert (second.number, second.expected_on) == ("PO-000002", date(2030, 5, 1))
    with pytest.raises(ConflictError) as refused:
        purchasing.po_order(actor=office, po_id=second.pk)
    assert (refused.value.code, refused.value.message) == ("transition_refused", "PO-000002 is ordered; only a draft can be ordered.")


def test_a_refused_order_takes_no_number(office, vendor, item, warehouse):
    empty = draft(office, vendor, warehouse)
    retired_item = ItemFactory(sku="OLD-9")
    stale = draft(office, vendor, warehouse, {"item_id": retired_item.pk, "quantity": "1"})
    retired_item.active = False
    retired_item.save()
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        purchasing.po_order(actor=office, po_id=empty.pk)
    assert (refused.value.code, refused.value.message) == ("po_empty", "Add at least one line before ordering.")
    with pytest.raises(ConflictError) as refused:
        purchasing.po_order(actor=office, po_id=stale.pk)
    assert (refused.value.code, refused.value.message) == ("po_inactive_items", "These items are no longer active: OLD-9.")
    with pytest.raises(DomainError) as refused:
        purchasing.po_order(actor=office, po_id=10**9)
    assert refused.value.code == "not_found"
    assert every_row() == before
    po, _ = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "1"})
    assert po.number == "PO-000001"


def test_cancel_needs_a_reason_and_an_open_order(office, vendor, item, warehouse):
    po, [line] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "2"})
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        purchasing.po_cancel(actor=office, po_id=po.pk, reason="  ")
    assert refused.value.fields == {"reason": "This field is required."}
    assert every_row() == before
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={line.pk: "1"})
    po = purchasing.po_cancel(actor=office, po_id=po.pk, reason="Vendor out of stock")
    assert po.status == "cancelled"
    assert PurchaseOrderEvent.objects.filter(purchase_order=po).order_by("-id").first().message == "Cancelled: Vendor out of stock"
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        purchasing.po_cancel(actor=office, po_id=po.pk, reason="Again")
    assert refused.value.message == "PO-000001 is cancelled; it cannot be cancelled."
    with pytest.raises(ConflictError):
        purchasing.po_order(actor=office, po_id=po.pk)
    with pytest.raises(ConflictError) as refused:
        purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={line.pk: "1"})
    assert refused.value.message == "PO-000001 is cancelled; only an ordered purchase order can be received."
    assert every_row() == before


def test_a_draft_may_be_cancelled_and_a_received_order_may_not(office, vendor, item, warehouse):
    assert purchasing.po_cancel(actor=office, po_id=draft(office, vendor, warehouse).pk, reason="Not needed").status == "cancelled"
    po, [line] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "1"})
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={line.pk: "1"})
    with pytest.raises(ConflictError) as refused:
        purchasing.po_cancel(actor=office, po_id=po.pk, reason="Too late")
    assert refused.value.code == "transition_refused"
    with pytest.raises(ConflictError):
        purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={line.pk: "1"})


def test_a_draft_cannot_be_received(office, vendor, item, warehouse):
    po = draft(office, vendor, warehouse, {"item_id": item.pk, "quantity": "1"})
    with pytest.raises(ConflictError) as refused:
        purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={po.lines.get().pk: "1"})
    assert refused.value.message == f"Draft PO #{po.pk} is draft; only an ordered purchase order can be received."


# ---- receive ----------------------------------------------------------------------------------------------


def test_receipts_move_the_order_through_partially_received_to_received(office, vendor, item, warehouse):
    filters = ItemFactory(sku="FLT-16", name="Filter", default_cost_cents=700)
    po, [caps, filt] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "3"}, {"item_id": filters.pk, "quantity": "2"})
    [movement] = purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={caps.pk: "1", str(filt.pk): "0"}, note="Box 1 of 2")
    assert (movement.kind, movement.to_location_id, movement.quantity_milli, movement.unit_cost_cents) == ("receipt", warehouse.pk, 1000, 1850)
    assert (movement.purchase_order_line_id, movement.reason) == (caps.pk, "PO-000001: Box 1 of 2")
    assert status(po) == "partially_received"
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={str(caps.pk): "2", filt.pk: "1.5"})
    assert status(po) == "partially_received"
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={filt.pk: "0.5"})
    assert status(po) == "received"
    assert (balance(item, warehouse), balance(filters, warehouse)) == ((3000, 0), (2000, 0))
    assert list(PurchaseOrderLine.objects.filter(purchase_order=po).order_by("id").values_list("received_milli", flat=True)) == [3000, 2000]
    assert StockMovement.objects.filter(kind="receipt").count() == 4


def test_receiving_more_than_is_open_needs_the_over_receipt_mark(office, vendor, item, warehouse):
    po, [line] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "2"})
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={line.pk: "1.5"})
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={line.pk: "1"})
    assert refused.value.fields == {f"line_{line.pk}": "1 is more than the 0.5 still open of 2 ordered; tick “over-receipt” to accept the extra."}
    assert every_row() == before
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={line.pk: "1"}, over_receipt=True)
    assert status(po) == "received"
    assert PurchaseOrderLine.objects.get(pk=line.pk).received_milli == 2500
    assert balance(item, warehouse) == (2500, 0)
    assert PurchaseOrderEvent.objects.filter(purchase_order=po).order_by("-id").first().message == "Received into Main warehouse: 1 × CAP-45-5 (over-receipt)"


@pytest.mark.parametrize(
    ("quantities", "fields"),
    [
        ({}, {"quantities": "Enter the quantity received on at least one line."}),
        ({"LINE": "  "}, {"quantities": "Enter the quantity received on at least one line."}),
        ({"LINE": None}, {"quantities": "Enter the quantity received on at least one line."}),
        ({"LINE": "0"}, {"quantities": "Enter the quantity received on at least one line."}),
        ({"LINE": "-1"}, {"line_LINE": "Enter a quantity above zero."}),
        ({"LINE": "1.0001"}, {"line_LINE": "At most 3 decimal places."}),
        ({"LINE": 1.5}, {"line_LINE": "Enter a number, such as 2 or 1.5."}),
        ({"abc": "1"}, {"line_abc": "Not a line of this purchase order."}),
        ({"²": "1"}, {"line_²": "Not a line of this purchase order."}),
        ({"-1": "1"}, {"line_-1": "Not a line of this purchase order."}),
        ({" LINE": "1"}, {"line_ LINE": "Not a line of this purchase order."}),
        ({"OTHER": "1"}, {"line_OTHER": "Not a line of this purchase order."}),
        ({"99999999999999999999999": "1"}, {"line_99999999999999999999": "Not a line of this purchase order."}),
        ({"LINE": "1", "LINE_INT": "1"}, {"line_LINE": "This line is given twice."}),
    ],
)
def test_receive_refuses_bad_quantities_and_keys_and_changes_nothing(office, vendor, item, warehouse, quantities, fields):
    po, [line] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "2"})
    _, [other_line] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "2"})

    names = {"LINE": str(line.pk), "OTHER": str(other_line.pk)}
    keys = {"LINE": str(line.pk), " LINE": f" {line.pk}", "LINE_INT": line.pk, "OTHER": str(other_line.pk)}
    given = {keys.get(key, key): value for key, value in quantities.items()}
    expected = {name.replace("OTHER", names["OTHER"]).replace("LINE", names["LINE"]): message for name, message in fields.items()}
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities=given)
    assert refused.value.fields == expected
    assert every_row() == before


def test_receive_refuses_an_inactive_place_and_a_technician(office, tech_a, vendor, item, warehouse):
    closed = WarehouseFactory(name="Closed store", active=False)
    po, [line] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "2"})
    before = every_row()
    with pytest.raises(InvalidInput) as refused:
        purchasing.po_receive(actor=office, po_id=po.pk, location_id=closed.pk, quantities={line.pk: "1"})
    assert refused.value.fields == {"location": "Choose an active stock location."}
    with pytest.raises(DomainError) as refused:
        purchasing.po_receive(actor=tech_a.user, po_id=po.pk, location_id=None, quantities={line.pk: "1"})
    assert refused.value.code == "forbidden"
    assert every_row() == before


def test_a_receipt_fulfils_its_own_reservation_first_then_the_oldest_waiting(office, vendor, item, warehouse):
    oldest = short_reservation(office, item, warehouse, "2")
    bought_for = short_reservation(office, item, warehouse, "2")
    newest = short_reservation(office, item, warehouse, "2")
    po, [line] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "3", "reservation_id": bought_for.pk})
    assert "PO-000001, expected" in job_readiness(bought_for.job).summary()
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={line.pk: "3"})
    held = [Reservation.objects.get(pk=r.pk).allocated_milli for r in (oldest, bought_for, newest)]
    assert held == [1000, 2000, 0]
    assert [readiness(r.job) for r in (oldest, bought_for, newest)] == ["partial", "ready", "blocked"]
    assert balance(item, warehouse) == (3000, 3000)
    assert JobEvent.objects.filter(job=bought_for.job, message="Received on PO-000001: 3 × CAP-45-5").exists()


def test_a_receipt_into_another_place_moves_a_reservation_that_holds_nothing(office, vendor, item, warehouse):
    yard = WarehouseFactory(name="North yard")
    empty_handed = short_reservation(office, item, warehouse, "2")
    po, [line] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "2", "reservation_id": empty_handed.pk})
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=yard.pk, quantities={line.pk: "2"})
    moved = Reservation.objects.get(pk=empty_handed.pk)
    assert (moved.location_id, moved.allocated_milli) == (yard.pk, 2000)
    assert readiness(moved.job) == "ready"
    assert (balance(item, warehouse), balance(item, yard)) == ((0, 0), (2000, 2000))


def test_a_receipt_into_another_place_leaves_a_partly_held_reservation_where_it_is(office, vendor, item, warehouse, stock):
    yard = WarehouseFactory(name="North yard")
    stock(item, warehouse, "1")
    partly = short_reservation(office, item, warehouse, "3")
    po, [line] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "2", "reservation_id": partly.pk})
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=yard.pk, quantities={line.pk: "2"})
    stayed = Reservation.objects.get(pk=partly.pk)
    assert (stayed.location_id, stayed.allocated_milli, stayed.short_milli) == (warehouse.pk, 1000, 2000)
    assert (balance(item, warehouse), balance(item, yard)) == ((1000, 1000), (2000, 0))


# ---- drafting from shortfalls ----------------------------------------------------------------------------


def test_drafts_for_shortfalls_group_by_vendor_and_place(office, vendor, item, warehouse):
    yard = WarehouseFactory(name="North yard")
    other_vendor = VendorFactory(name="Johnstone Supply")
    coil = ItemFactory(sku="COIL-1", preferred_vendor=other_vendor, default_cost_cents=9000)
    loose = ItemFactory(sku="MISC-1", preferred_vendor=None)
    a = short_reservation(office, item, warehouse, "2")
    b = short_reservation(office, item, warehouse, "1.5")
    c = short_reservation(office, item, yard, "1")
    d = short_reservation(office, coil, warehouse, "1")
    short_reservation(office, loose, warehouse, "4")
    drafts = purchasing.drafts_for_shortfalls(actor=office)
    got = {
        (po.vendor.name, po.ship_to.name): sorted((line.item.sku, line.quantity_milli, line.reservation_id, line.job_id) for line in po.lines.all())
        for po in drafts
    }
    assert got == {
        ("Ferguson HVAC Supply", "Main warehouse"): sorted([("CAP-45-5", 2000, a.pk, a.job_id), ("CAP-45-5", 1500, b.pk, b.job_id)]),
        ("Ferguson HVAC Supply", "North yard"): [("CAP-45-5", 1000, c.pk, c.job_id)],
        ("Johnstone Supply", "Main warehouse"): [("COIL-1", 1000, d.pk, d.job_id)],
    }
    assert all(po.status == "draft" and po.number is None for po in drafts)
    assert PurchaseOrderLine.objects.get(reservation=d).unit_cost_cents == 9000
    # Asked again: what the drafts cover is not ordered twice; only the item without a vendor is left.
    with pytest.raises(ConflictError) as refused:
        purchasing.drafts_for_shortfalls(actor=office)
    assert (refused.value.code, refused.value.message) == ("nothing_to_order", "Nothing is waiting to be ordered from a vendor.")


def test_drafts_cover_only_what_open_orders_do_not(office, vendor, item, warehouse):
    reservation = short_reservation(office, item, warehouse, "5")
    po, [line] = ordered(office, vendor, warehouse, {"item_id": item.pk, "quantity": "2", "reservation_id": reservation.pk})
    [topup] = purchasing.drafts_for_shortfalls(actor=office)
    assert list(topup.lines.values_list("quantity_milli", "reservation_id")) == [(3000, reservation.pk)]
    # Part received: still covered (received stock is held, the rest is on order).
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={line.pk: "1"})
    with pytest.raises(ConflictError):
        purchasing.drafts_for_shortfalls(actor=office)
    # A cancelled order covers nothing: its open quantity is orderable again.
    purchasing.po_cancel(actor=office, po_id=po.pk, reason="Vendor cannot deliver")
    [again] = purchasing.drafts_for_shortfalls(actor=office)
    assert list(again.lines.values_list("quantity_milli", "reservation_id")) == [(1000, reservation.pk)]


def test_drafts_for_chosen_reservations_only_and_not_for_done_jobs_or_inactive_vendors(office, vendor, item, warehouse):
    chosen = short_reservation(office, item, warehouse, "1")
    other = short_reservation(office, item, warehouse, "1")
    [po] = purchasing.drafts_for_shortfalls(actor=office, reservation_ids=[chosen.pk])
    assert list(po.lines.values_list("reservation_id", flat=True)) == [chosen.pk]
    Job.objects.filter(pk=other.job_id).update(status="cancelled")
    dormant = VendorFactory(name="Dormant Co", active=False)
    short_reservation(office, ItemFactory(sku="DRM-1", preferred_vendor=dormant), warehouse, "1")
    before = every_row()
    with pytest.raises(ConflictError):
        purchasing.drafts_for_shortfalls(actor=office)
    assert every_row() == before


def test_only_purchasers_draft_order_or_cancel(tech_a, office, vendor, item, warehouse):
    po = draft(office, vendor, warehouse, {"item_id": item.pk, "quantity": "1"})
    before = every_row()
    for call in (
        lambda: purchasing.drafts_for_shortfalls(actor=tech_a.user),
        lambda: purchasing.po_order(actor=tech_a.user, po_id=po.pk),
        lambda: purchasing.po_cancel(actor=tech_a.user, po_id=po.pk, reason="No"),
        lambda: purchasing.po_update(actor=tech_a.user, po_id=po.pk, version=1, ship_to_id=warehouse.pk, expected_on=None, notes=""),
        lambda: purchasing.po_line_add(actor=tech_a.user, po_id=po.pk, item_id=item.pk, quantity="1"),
    ):
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == "forbidden"
    assert every_row() == before
