"""The materials flow end to end through the actions: reserve short, order, receive, ready, use."""

from decimal import Decimal

import pytest

from serviceopus.core.errors import ConflictError, InvalidInput
from serviceopus.inventory.actions import purchasing, reservations
from serviceopus.inventory.models import PurchaseOrder, Reservation, StockBalance
from serviceopus.inventory.readiness import job_readiness
from serviceopus.jobs.models import Job, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, VisitFactory


def balance(item, location):
    return StockBalance.objects.filter(item=item, location=location).values_list("on_hand_milli", "reserved_milli").first() or (0, 0)


@pytest.mark.django_db
def test_reserve_short_order_receive_then_ready(office, item, warehouse, stock):
    job = JobFactory(status=JobStatus.NEW)
    stock(item, warehouse, "1")
    with pytest.raises(ConflictError) as refused:
        reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="3")
    assert refused.value.code == "insufficient_stock"
    assert "Only 1 each of CAP-45-5 is free at Main warehouse; 3 needed." in refused.value.message
    assert not LineItem.objects.filter(job=job).exists()
    assert not Reservation.objects.exists()

    reservation = reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="3", backorder=True)
    assert (reservation.allocated_milli, reservation.short_milli) == (1000, 2000)
    assert Job.objects.get(pk=job.pk).parts_readiness == "partial"
    assert balance(item, warehouse) == (1000, 1000)
    line = LineItem.objects.get(job=job)
    assert (line.kind, line.quantity, line.unit_price_cents, line.unit_cost_cents) == ("material", Decimal("3.000"), 4900, 1850)

    [po] = purchasing.drafts_for_shortfalls(actor=office)
    [po_line] = po.lines.all()
    assert (po_line.quantity_milli, po_line.reservation_id, po.ship_to_id) == (2000, reservation.pk, warehouse.pk)
    assert "not ordered yet" in job_readiness(job).summary()
    po = purchasing.po_order(actor=office, po_id=po.pk)
    assert po.number == "PO-000001"
    assert po.status == "ordered"
    assert "PO-000001, expected" in job_readiness(job).summary()

    with pytest.raises(InvalidInput):
        purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={po_line.pk: "3"})
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={po_line.pk: "1"})
    assert PurchaseOrder.objects.get(pk=po.pk).status == "partially_received"
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={po_line.pk: "1"})
    assert PurchaseOrder.objects.get(pk=po.pk).status == "received"
    assert Job.objects.get(pk=job.pk).parts_readiness == "ready"
    assert balance(item, warehouse) == (3000, 3000)

    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="3")
    assert balance(item, warehouse) == (0, 0)
    with pytest.raises(InvalidInput):
        reservations.material_return(actor=office, reservation_id=reservation.pk, quantity="4")
    reservations.material_return(actor=office, reservation_id=reservation.pk, quantity="1")
    assert LineItem.objects.get(job=job).quantity == Decimal("2.000")
    assert balance(item, warehouse) == (1000, 0)


@pytest.mark.django_db
def test_technician_records_usage_from_truck(office, tech_a, item, truck_a, stock):
    stock(item, truck_a, "5")
    visit = VisitFactory(crew=[tech_a], status="working")
    reservation = reservations.usage_record(actor=tech_a.user, visit_id=visit.pk, item_id=item.pk, quantity="2")
    line = reservation.line_item
    line.refresh_from_db()
    assert (line.kind, line.quantity, line.unit_cost_cents) == ("material", Decimal("2.000"), 1850)
    reservations.usage_record(actor=tech_a.user, visit_id=visit.pk, item_id=item.pk, quantity="1.5")
    line.refresh_from_db()
    assert line.quantity == Decimal("3.500")
    assert balance(item, truck_a) == (1500, 0)
    with pytest.raises(ConflictError):
        reservations.usage_record(actor=tech_a.user, visit_id=visit.pk, item_id=item.pk, quantity="2")
    assert balance(item, truck_a) == (1500, 0)
