"""The materials API: a job's readiness and reservations, reserve / issue / return / release through the
same actions as the pages, a technician's usage from their truck landing on the billable lines, the
parts readiness on the jobs API, and for each: field errors and refusals that change nothing, who may
(technicians only on their jobs), an idempotent replay, and fixed query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.inventory.actions import purchasing
from serviceopus.inventory.actions.reservations import material_reserve
from serviceopus.inventory.models import Reservation, StockBalance, StockMovement
from serviceopus.jobs.models import Job, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, JobFactory, VisitFactory

pytestmark = pytest.mark.django_db


def balance(item, location):  # type: ignore[no-untyped-def]
    return StockBalance.objects.filter(item=item, location=location).values_list("on_hand_milli", "reserved_milli").first() or (0, 0)


def snapshot(job):  # type: ignore[no-untyped-def]
    """Everything a refused materials call must leave as it was."""
    return (
        list(Reservation.objects.values_list("pk", "quantity_milli", "allocated_milli", "issued_milli", "returned_milli", "status").order_by("pk")),
        list(LineItem.objects.filter(job=job).values_list("pk", "quantity", "version").order_by("pk")),
        list(StockBalance.objects.values_list("pk", "on_hand_milli", "reserved_milli").order_by("pk")),
        StockMovement.objects.count(),
        JobEvent.objects.filter(job=job).count(),
        Job.objects.get(pk=job.pk).parts_readiness,
    )


def queries_of(call):  # type: ignore[no-untyped-def]
    call()  # the token's first use is recorded once: measure the steady state
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, len(captured.captured_queries)


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    return JobFactory(status=JobStatus.SCHEDULED, technicians=[tech_a])


def reserve_body(item, place, quantity="2", **extra):  # type: ignore[no-untyped-def]
    return {"item_id": item.pk, "location_id": place.pk, "quantity": quantity, **extra}


# ---- readiness and reserving -------------------------------------------------------------------------


def test_reserve_then_read_the_job_materials(office, job, item, warehouse, stock):
    stock(item, warehouse, "3")
    api = api_client(office)
    assert api.get(f"/jobs/{job.pk}/materials").json() == {
        "readiness": {"state": "", "label": "No parts tracked", "summary": "", "missing": []},
        "reservations": [],
    }
    response = api.post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "1.5"))
    assert response.status_code == 201
    body = response.json()
    reservation = Reservation.objects.get()
    assert body["id"] == reservation.pk
    assert (body["job_id"], body["line_item_id"], body["status"]) == (job.pk, reservation.line_item_id, "open")
    assert (body["quantity"], body["held"], body["issued"], body["in_use"], body["short"]) == ("1.5", "1.5", "0", "0", "0")
    assert (body["unit_price_cents"], body["unit_cost_cents"]) == (4900, 1850)
    assert body["item"] == {"id": item.pk, "sku": "CAP-45-5", "name": "Run capacitor 45/5 µF", "unit": "each"}
    assert body["location"] == {"id": warehouse.pk, "name": "Main warehouse", "kind": "warehouse"}
    line = LineItem.objects.get(job=job)
    assert (line.kind, line.quantity, line.unit_price_cents) == ("material", Decimal("1.500"), 4900)

    materials = api.get(f"/jobs/{job.pk}/materials").json()
    assert materials["readiness"] == {"state": "ready", "label": "Parts ready", "summary": "", "missing": []}
    assert [r["id"] for r in materials["reservations"]] == [reservation.pk]
    assert balance(item, warehouse) == (3000, 1500)


def test_not_enough_stock_is_a_409_with_what_is_available_and_changes_nothing(office, job, item, warehouse, stock):
    stock(item, warehouse, "1")
    before = snapshot(job)
    response = api_client(office).post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "3"))
    assert response.status_code == 409
    error = error_of(response)
    assert (error["code"], error["details"]) == ("insufficient_stock", {"available": "1"})
    assert "Only 1 each of CAP-45-5 is free at Main warehouse; 3 needed." in error["message"]
    assert snapshot(job) == before


def test_a_backorder_shows_what_is_missing_and_the_order_bringing_it(office, job, item, warehouse, stock):
    stock(item, warehouse, "1")
    api = api_client(office)
    response = api.post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "3", backorder=True))
    assert response.status_code == 201
    assert (response.json()["held"], response.json()["short"]) == ("1", "2")
    readiness = api.get(f"/jobs/{job.pk}/materials").json()["readiness"]
    assert (readiness["state"], readiness["label"]) == ("partial", "Partially ready")
    [missing] = readiness["missing"]
    assert (missing["quantity"], missing["item"]["sku"], missing["location"]["id"], missing["orders"]) == ("2", "CAP-45-5", warehouse.pk, [])
    assert missing["description"].endswith("(not ordered)")

    [po] = purchasing.drafts_for_shortfalls(actor=office)
    [draft] = api.get(f"/jobs/{job.pk}/materials").json()["readiness"]["missing"][0]["orders"]
    assert (draft["number"], draft["label"], draft["status"]) == (None, f"Draft PO #{po.pk}", "draft")
    po = purchasing.po_order(actor=office, po_id=po.pk)
    [ordered] = api.get(f"/jobs/{job.pk}/materials").json()["readiness"]["missing"][0]["orders"]
    assert ordered == {
        "purchase_order_id": po.pk,
        "number": "PO-000001",
        "label": "PO-000001",
        "status": "ordered",
        "expected_on": po.expected_on.isoformat(),
        "open_quantity": "2",
    }


def test_nothing_free_at_all_is_blocked(office, job, item, warehouse):
    api_client(office).post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "2", backorder=True))
    assert api_client(office).get(f"/jobs/{job.pk}/materials").json()["readiness"]["state"] == "blocked"


@pytest.mark.parametrize(
    ("change", "paths"),
    [
        ({"quantity": "1.2345"}, {"body.quantity"}),
        ({"quantity": 2}, {"body.quantity"}),
        ({"quantity": "0"}, {"body.quantity"}),
        ({"quantity": "1e3"}, {"body.quantity"}),
        ({"backorder": "yes"}, {"body.backorder"}),
        ({"item_id": 999999}, {"body.item_id"}),
        ({"location_id": 999999}, {"body.location_id"}),
        ({"unit_price_cents": -5}, {"body.unit_price_cents"}),
        ({"line_item_id": 1}, {"body.line_item_id"}),
    ],
)
def test_bad_reservations_are_field_errors_and_change_nothing(office, job, item, warehouse, stock, change, paths):
    stock(item, warehouse, "5")
    before = snapshot(job)
    response = api_client(office).post(f"/jobs/{job.pk}/materials", {**reserve_body(item, warehouse), **change})
    assert response.status_code == 422
    assert field_paths(response) == paths
    assert snapshot(job) == before


def test_an_inactive_item_is_a_field_error(office, job, warehouse):
    retired = ItemFactory(sku="OLD-1", active=False)
    response = api_client(office).post(f"/jobs/{job.pk}/materials", reserve_body(retired, warehouse))
    assert field_paths(response) == {"body.item_id"}
    assert not Reservation.objects.exists()


def test_a_closed_job_takes_no_materials(office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.CLOSED)
    before = snapshot(job)
    response = api_client(office).post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse))
    assert response.status_code == 409
    assert error_of(response)["code"] == "job_locked"
    assert snapshot(job) == before


# ---- issue, return, release --------------------------------------------------------------------------


def test_issue_return_release(office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    api = api_client(office)
    rid = api.post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "4")).json()["id"]

    issued = api.post(f"/jobs/{job.pk}/materials/{rid}/issue", {"quantity": "3"})
    assert issued.status_code == 200
    assert (issued.json()["issued"], issued.json()["in_use"], issued.json()["held"]) == ("3", "3", "1")
    assert balance(item, warehouse) == (2000, 1000)

    returned = api.post(f"/jobs/{job.pk}/materials/{rid}/return", {"quantity": "1", "reason": "Not needed"})
    assert returned.status_code == 200
    assert (returned.json()["quantity"], returned.json()["returned"], returned.json()["in_use"]) == ("3", "1", "2")
    assert LineItem.objects.get(job=job).quantity == Decimal("3.000")
    assert balance(item, warehouse) == (3000, 1000)

    released = api.post(f"/jobs/{job.pk}/materials/{rid}/release")
    assert released.status_code == 200
    assert (released.json()["quantity"], released.json()["held"], released.json()["status"]) == ("2", "0", "open")
    assert LineItem.objects.get(job=job).quantity == Decimal("2.000")
    assert balance(item, warehouse) == (3000, 0)

    again = api.post(f"/jobs/{job.pk}/materials/{rid}/release")
    assert again.status_code == 409
    assert error_of(again)["code"] == "nothing_to_release"


def test_releasing_an_unissued_reservation_removes_its_line(office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    api = api_client(office)
    rid = api.post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "2")).json()["id"]
    released = api.post(f"/jobs/{job.pk}/materials/{rid}/release").json()
    assert (released["status"], released["quantity"], released["line_item_id"], released["unit_price_cents"]) == ("released", "0", None, None)
    assert not LineItem.objects.filter(job=job).exists()
    assert balance(item, warehouse) == (5000, 0)


def test_issue_and_return_refusals_change_nothing(office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    api = api_client(office)
    rid = api.post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "2")).json()["id"]
    api.post(f"/jobs/{job.pk}/materials/{rid}/issue", {"quantity": "1"})
    before = snapshot(job)

    too_much = api.post(f"/jobs/{job.pk}/materials/{rid}/issue", {"quantity": "2"})
    assert too_much.status_code == 422
    assert field_paths(too_much) == {"body.quantity"}
    returned_more = api.post(f"/jobs/{job.pk}/materials/{rid}/return", {"quantity": "1.5"})
    assert returned_more.status_code == 422
    assert field_paths(returned_more) == {"body.quantity"}
    assert "Only 1 each of CAP-45-5 were issued to this job and not returned." in error_of(returned_more)["fields"][0]["message"]
    assert field_paths(api.post(f"/jobs/{job.pk}/materials/{rid}/return", {"quantity": "1", "location_id": 999999})) == {"body.location_id"}
    assert field_paths(api.post(f"/jobs/{job.pk}/materials/{rid}/issue", {"quantity": "1", "visit_id": 1})) == {"body.visit_id"}
    assert field_paths(api.post(f"/jobs/{job.pk}/materials/{rid}/issue", {})) == {"body.quantity"}
    assert api.post(f"/jobs/{job.pk}/materials/999999/issue", {"quantity": "1"}).status_code == 404
    assert snapshot(job) == before

    api.post(f"/jobs/{job.pk}/materials/{rid}/issue", {"quantity": "1"})
    nothing = api.post(f"/jobs/{job.pk}/materials/{rid}/issue", {"quantity": "1"})
    assert nothing.status_code == 409
    assert error_of(nothing)["code"] == "nothing_to_issue"


def test_a_reservation_is_reached_only_through_its_own_job(office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    api = api_client(office)
    rid = api.post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "2")).json()["id"]
    other = JobFactory()
    before = snapshot(job)
    for op in ("issue", "return"):
        assert api.post(f"/jobs/{other.pk}/materials/{rid}/{op}", {"quantity": "1"}).status_code == 404
    assert api.post(f"/jobs/{other.pk}/materials/{rid}/release").status_code == 404
    assert snapshot(job) == before


# ---- who may -----------------------------------------------------------------------------------------


def test_technicians_read_their_jobs_materials_and_may_not_reserve_or_issue(office, job, tech_a, tech_b, item, warehouse, stock):
    stock(item, warehouse, "5")
    rid = api_client(office).post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "2")).json()["id"]
    mine = api_client(tech_a.user)
    assert [r["id"] for r in mine.get(f"/jobs/{job.pk}/materials").json()["reservations"]] == [rid]
    before = snapshot(job)
    for response in (
        mine.post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "1")),
        mine.post(f"/jobs/{job.pk}/materials/{rid}/issue", {"quantity": "1"}),
        mine.post(f"/jobs/{job.pk}/materials/{rid}/release"),
    ):
        assert response.status_code == 403
        assert error_of(response)["code"] == "forbidden"

    theirs = api_client(tech_b.user)
    assert theirs.get(f"/jobs/{job.pk}/materials").status_code == 404
    assert theirs.post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "1")).status_code == 404
    for op in ("issue", "return"):
        assert theirs.post(f"/jobs/{job.pk}/materials/{rid}/{op}", {"quantity": "1"}).status_code == 404
    assert theirs.post(f"/jobs/{job.pk}/materials/{rid}/release").status_code == 404
    assert snapshot(job) == before


# ---- a technician's usage from the truck -------------------------------------------------------------


@pytest.fixture
def visit(job, tech_a):  # type: ignore[no-untyped-def]
    return VisitFactory(job=job, crew=[tech_a], status="working")


def test_usage_from_the_truck_lands_on_a_billable_line(tech_a, job, visit, item, truck_a, stock):
    stock(item, truck_a, "5")
    api = api_client(tech_a.user)
    response = api.post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "2"})
    assert response.status_code == 201
    body = response.json()
    line = LineItem.objects.get(job=job)
    assert (body["id"], body["kind"], body["quantity"], body["unit_price_cents"], body["unit_cost_cents"]) == (line.pk, "material", "2.000", 4900, 1850)
    assert (body["total_cents"], body["cost_cents"], body["used"], body["item"]["sku"]) == (9800, 3700, "2", "CAP-45-5")
    assert body["reservation_id"] == Reservation.objects.get().pk

    more = api.post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "0.5"}).json()
    assert (more["id"], more["quantity"], more["used"]) == (line.pk, "2.500", "0.5")
    assert balance(item, truck_a) == (2500, 0)
    used = api.get(f"/visits/{visit.pk}/materials").json()
    assert [(m["kind"], m["quantity"], m["from_location"]["id"], m["visit_id"]) for m in used] == [
        ("issue", "0.5", truck_a.pk, visit.pk),
        ("issue", "2", truck_a.pk, visit.pk),
    ]

    returned = api.post(f"/jobs/{job.pk}/materials/{more['reservation_id']}/return", {"quantity": "0.5"})
    assert returned.status_code == 200
    assert LineItem.objects.get(pk=line.pk).quantity == Decimal("2.000")
    assert balance(item, truck_a) == (3000, 0)


def test_usage_refusals_change_nothing(office, tech_a, tech_b, job, visit, item, truck_a, stock):
    stock(item, truck_a, "1")
    before = snapshot(job)
    api = api_client(tech_a.user)
    short = api.post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "2"})
    assert short.status_code == 409
    assert (error_of(short)["code"], error_of(short)["details"]) == ("insufficient_stock", {"available": "1"})
    assert field_paths(api.post(f"/visits/{visit.pk}/materials", {"item_id": 999999, "quantity": "1"})) == {"body.item_id"}
    assert field_paths(api.post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "1.0001"})) == {"body.quantity"}
    assert field_paths(api.post(f"/visits/{visit.pk}/materials", {"item_id": item.pk})) == {"body.quantity"}
    assert api_client(tech_b.user).post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "1"}).status_code == 404
    assert api_client(tech_b.user).get(f"/visits/{visit.pk}/materials").status_code == 404
    office_try = api_client(office).post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "1"})
    assert office_try.status_code == 403
    assert error_of(office_try)["code"] == "forbidden"
    assert snapshot(job) == before


def test_usage_waits_for_the_visit_to_start(tech_a, job, item, truck_a, stock):
    stock(item, truck_a, "1")
    scheduled = VisitFactory(job=job, crew=[tech_a])
    response = api_client(tech_a.user).post(f"/visits/{scheduled.pk}/materials", {"item_id": item.pk, "quantity": "1"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "visit_not_started"
    assert not LineItem.objects.filter(job=job).exists()


def test_a_technician_without_a_truck_is_told_so(tech_b, item):
    visit = VisitFactory(crew=[tech_b], status="working")
    response = api_client(tech_b.user).post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "1"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "no_truck"


# ---- replays and query counts ------------------------------------------------------------------------


def test_a_replayed_reservation_reserves_once(office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    api = api_client(office)
    first = api.post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "2"), key="reserve-1")
    again = api.post(f"/jobs/{job.pk}/materials", reserve_body(item, warehouse, "2"), key="reserve-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert Reservation.objects.count() == 1
    assert LineItem.objects.filter(job=job).count() == 1
    assert balance(item, warehouse) == (5000, 2000)


def test_a_replayed_usage_is_recorded_once(tech_a, visit, item, truck_a, stock):
    stock(item, truck_a, "5")
    api = api_client(tech_a.user)
    first = api.post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "1"}, key="use-1")
    again = api.post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "1"}, key="use-1")
    assert again.json() == first.json()
    assert StockMovement.objects.filter(kind="issue").count() == 1
    assert balance(item, truck_a) == (4000, 0)


def test_the_materials_read_costs_the_same_queries_for_1_and_10_items(office, job, warehouse, stock):
    api = api_client(office)
    items = [ItemFactory(sku=f"PART-{n:02d}") for n in range(10)]
    material_reserve(actor=office, job_id=job.pk, item_id=items[0].pk, location_id=warehouse.pk, quantity="1", backorder=True)
    _, few = queries_of(lambda: api.get(f"/jobs/{job.pk}/materials"))
    for item in items[1:]:
        material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="1", backorder=True)
    purchasing.drafts_for_shortfalls(actor=office)
    response, many = queries_of(lambda: api.get(f"/jobs/{job.pk}/materials"))
    assert len(response.json()["readiness"]["missing"]) == 10
    assert all(m["orders"] for m in response.json()["readiness"]["missing"])
    assert many == few


def test_the_visit_usage_list_costs_the_same_queries_for_1_and_10_uses(tech_a, visit, item, truck_a, stock):
    stock(item, truck_a, "20")
    api = api_client(tech_a.user)
    api.post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "1"})
    _, few = queries_of(lambda: api.get(f"/visits/{visit.pk}/materials"))
    for _ in range(9):
        api.post(f"/visits/{visit.pk}/materials", {"item_id": item.pk, "quantity": "1"})
    response, many = queries_of(lambda: api.get(f"/visits/{visit.pk}/materials"))
    assert len(response.json()) == 10
    assert many == few


# ---- parts readiness on the jobs API -----------------------------------------------------------------


def test_jobs_show_and_filter_parts_readiness(office, dispatcher, tech_a, item, warehouse, stock):
    stock(item, warehouse, "1")
    ready, blocked, untracked = JobFactory(), JobFactory(), JobFactory()
    material_reserve(actor=office, job_id=ready.pk, item_id=item.pk, location_id=warehouse.pk, quantity="1")
    material_reserve(actor=office, job_id=blocked.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2", backorder=True)
    api = api_client(dispatcher)
    listed = {row["id"]: row["parts_readiness"] for row in api.get("/jobs").json()["items"]}
    assert listed == {ready.pk: "ready", blocked.pk: "blocked", untracked.pk: ""}
    assert [row["id"] for row in api.get("/jobs", {"parts": "blocked"}).json()["items"]] == [blocked.pk]
    assert [row["id"] for row in api.get("/jobs", {"parts": "ready"}).json()["items"]] == [ready.pk]
    assert api.get(f"/jobs/{blocked.pk}").json()["parts_readiness"] == "blocked"
    assert field_paths(api.get("/jobs", {"parts": "missing"})) == {"query.parts"}


def test_the_parts_filter_costs_no_extra_query(office, dispatcher, item, warehouse, django_assert_num_queries):
    api = api_client(dispatcher)
    api.get("/jobs")  # the token's first use is recorded once
    for _ in range(3):
        material_reserve(actor=office, job_id=JobFactory().pk, item_id=item.pk, location_id=warehouse.pk, quantity="1", backorder=True)
    with django_assert_num_queries(4):  # the token; one page; technicians and tags prefetched (as without the filter)
        assert len(api.get("/jobs", {"parts": "blocked"}).json()["items"]) == 3
    with django_assert_num_queries(4):
        assert len(api.get("/jobs").json()["items"]) == 3
