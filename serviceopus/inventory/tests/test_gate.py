"""The materials-ready gate: a job type may require its materials on hand before a visit gets a time."""

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.api.tests.client import api_client, error_of
from serviceopus.core.errors import ConflictError
from serviceopus.dispatch.actions import visit_schedule, visit_update
from serviceopus.dispatch.models import DispatchSettings, Visit
from serviceopus.inventory.actions import purchasing
from serviceopus.inventory.actions.reservations import material_reserve
from serviceopus.inventory.readiness import job_readiness
from serviceopus.jobs.status import JobStatus
from tests.dispatch_support import at
from tests.factories import ItemFactory, JobFactory, JobTypeFactory

from .test_stock import every_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def gated_job(office, item, warehouse, stock):  # type: ignore[no-untyped-def]
    """A compressor change-out whose type needs its parts first: 1 of 3 capacitors on hand, no filter."""
    # Dispatch writes its settings row on first use, even for a refused call; make it exist already.
    DispatchSettings.current()
    job = JobFactory(job_type=JobTypeFactory(name="Compressor change-out", requires_materials_ready=True), estimated_duration_minutes=120)
    stock(item, warehouse, "1")
    material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="3", backorder=True)
    filter_item = ItemFactory(sku="FLT-16", name="Filter 16x25", preferred_vendor=None)
    material_reserve(actor=office, job_id=job.pk, item_id=filter_item.pk, location_id=warehouse.pk, quantity="1", backorder=True)
    return job


def test_scheduling_a_gated_job_with_parts_missing_is_refused_with_the_list(dispatcher, gated_job, tech_a):
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        visit_schedule(actor=dispatcher, job_id=gated_job.pk, start=at(1, 9), lead_id=tech_a.pk)
    assert refused.value.code == "materials_not_ready"
    assert refused.value.message == (
        f"{gated_job.number} cannot be scheduled until its materials are ready. Missing: "
        "2 each × CAP-45-5 Run capacitor 45/5 µF (not ordered); 1 each × FLT-16 Filter 16x25 (not ordered)."
    )
    assert refused.value.details["missing"] == [
        {"sku": "CAP-45-5", "name": "Run capacitor 45/5 µF", "quantity": "2", "unit": "each", "orders": []},
        {"sku": "FLT-16", "name": "Filter 16x25", "quantity": "1", "unit": "each", "orders": []},
    ]
    assert every_row() == before


def test_a_gated_job_may_get_an_unscheduled_visit_but_not_its_time(dispatcher, gated_job, tech_a):
    [visit] = visit_schedule(actor=dispatcher, job_id=gated_job.pk, start=None)
    assert (visit.status, visit.scheduled_start) == ("unscheduled", None)
    before = every_row()
    with pytest.raises(ConflictError) as refused:
        visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, start=at(1, 9), lead_id=tech_a.pk)
    assert refused.value.code == "materials_not_ready"
    assert [m["sku"] for m in refused.value.details["missing"]] == ["CAP-45-5", "FLT-16"]
    assert every_row() == before
    # Notes on the unscheduled visit are not scheduling.
    visit = visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, crew_notes="Bring the vacuum pump")
    assert visit.crew_notes == "Bring the vacuum pump"


def test_the_refusal_names_the_order_bringing_each_part(dispatcher, office, gated_job, vendor, item, warehouse):
    reservation = gated_job.reservations.get(item=item)
    po = purchasing.po_create(
        actor=office, vendor_id=vendor.pk, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "2", "reservation_id": reservation.pk}]
    )
    po = purchasing.po_order(actor=office, po_id=po.pk)
    with pytest.raises(ConflictError) as refused:
        visit_schedule(actor=dispatcher, job_id=gated_job.pk, start=at(1, 9))
    assert f"2 each × CAP-45-5 Run capacitor 45/5 µF (PO-000001, expected {po.expected_on:%b %d})" in refused.value.message
    assert refused.value.details["missing"][0]["orders"] == ["PO-000001"]


def test_once_everything_is_received_the_job_schedules(dispatcher, office, gated_job, vendor, item, warehouse, stock, tech_a):
    filter_item = gated_job.reservations.exclude(item=item).get().item
    reservation = gated_job.reservations.get(item=item)
    po = purchasing.po_create(
        actor=office, vendor_id=vendor.pk, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "2", "reservation_id": reservation.pk}]
    )
    po = purchasing.po_order(actor=office, po_id=po.pk)
    purchasing.po_receive(actor=office, po_id=po.pk, location_id=None, quantities={po.lines.get().pk: "2"})
    with pytest.raises(ConflictError) as refused:
        visit_schedule(actor=dispatcher, job_id=gated_job.pk, start=at(1, 9), lead_id=tech_a.pk)
    assert [m["sku"] for m in refused.value.details["missing"]] == ["FLT-16"]
    stock(filter_item, warehouse, "1")
    assert job_readiness(gated_job).state == "ready"
    [visit] = visit_schedule(actor=dispatcher, job_id=gated_job.pk, start=at(1, 9), lead_id=tech_a.pk)
    assert visit.status == "scheduled"
    gated_job.refresh_from_db()
    assert gated_job.status == JobStatus.SCHEDULED


def test_an_unscheduled_visit_of_a_ready_job_gets_its_time(dispatcher, gated_job, item, warehouse, stock, tech_a):
    [visit] = visit_schedule(actor=dispatcher, job_id=gated_job.pk, start=None)
    stock(item, warehouse, "2")
    stock(gated_job.reservations.exclude(item=item).get().item, warehouse, "1")
    visit = visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, start=at(1, 9), lead_id=tech_a.pk)
    assert visit.status == "scheduled"


def test_a_visit_that_already_has_a_time_may_be_moved_while_parts_go_missing(dispatcher, office, item, warehouse, stock, tech_a):
    """The gate guards getting a first time; moving a booked visit does not unbook the customer."""
    job = JobFactory(job_type=JobTypeFactory(name="Gated", requires_materials_ready=True))
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="1", backorder=True)
    visit = visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, start=at(2, 10))
    assert Visit.objects.get(pk=visit.pk).scheduled_start == at(2, 10)


def test_job_types_without_the_flag_schedule_with_parts_missing(dispatcher, office, item, warehouse, tech_a):
    job = JobFactory(job_type=JobTypeFactory(name="Maintenance"))
    material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="5", backorder=True)
    assert job_readiness(job).state == "blocked"
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    assert visit.status == "scheduled"
    [draft] = visit_schedule(actor=dispatcher, job_id=job.pk, start=None)
    assert visit_update(actor=dispatcher, visit_id=draft.pk, version=draft.version, start=at(1, 14), lead_id=tech_a.pk).status == "scheduled"


def test_a_gated_job_without_tracked_parts_schedules(dispatcher, tech_a):
    job = JobFactory(job_type=JobTypeFactory(name="Gated, nothing reserved", requires_materials_ready=True))
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    assert visit.status == "scheduled"


# ---- where people schedule: the dispatch board's drop and the API ------------------------------------


def test_dropping_a_gated_job_on_the_dispatch_board_is_refused_with_the_missing_parts(client_as, dispatcher, gated_job, tech_a):
    client = client_as(dispatcher)
    client.get(reverse("dispatch:board"))  # signs in (the session row) before the snapshot
    before = every_row()
    start = timezone.localtime(at(1, 9)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("dispatch:place_job", args=[gated_job.pk]), {"to_tech": tech_a.pk, "start": start})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "materials_not_ready"
    assert f"{gated_job.number} cannot be scheduled until its materials are ready." in body["message"]
    assert "2 each × CAP-45-5" in body["message"]
    assert "1 each × FLT-16 Filter 16x25 (not ordered)" in body["message"]
    assert every_row() == before


def test_the_api_refuses_scheduling_a_gated_job_with_409_and_the_missing_items(dispatcher, gated_job, tech_a):
    api = api_client(dispatcher)
    before = {k: v for k, v in every_row().items() if k != "accounts.ApiToken"}  # the token notes its last use
    response = api.post(f"/jobs/{gated_job.pk}/visits", {"start": at(1, 9).isoformat(), "lead_id": tech_a.pk})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "materials_not_ready"
    assert [(m["sku"], m["quantity"], m["orders"]) for m in error["details"]["missing"]] == [("CAP-45-5", "2", []), ("FLT-16", "1", [])]
    assert {k: v for k, v in every_row().items() if k != "accounts.ApiToken"} == before
