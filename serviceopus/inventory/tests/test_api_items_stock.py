"""The inventory API for items, places and office stock movements: what each read shows, who may read
it (the office; a technician only their own truck), the movements through the same actions as the
pages, field errors and refusals that change nothing, an idempotent replay, and list query counts that
do not grow with the rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.inventory.actions.reservations import material_reserve
from serviceopus.inventory.models import StockBalance, StockMovement
from tests.factories import ItemFactory, JobFactory, TruckFactory

pytestmark = pytest.mark.django_db


def balance(item, location):  # type: ignore[no-untyped-def]
    return StockBalance.objects.filter(item=item, location=location).values_list("on_hand_milli", "reserved_milli").first() or (0, 0)


def queries_of(call):  # type: ignore[no-untyped-def]
    call()  # the token's first use is recorded once: measure the steady state
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, len(captured.captured_queries)


@pytest.fixture
def stocked(office, item, warehouse, truck_a, stock):  # type: ignore[no-untyped-def]
    """3 in the warehouse (1 of them reserved for a job), 2 on Alex's truck."""
    stock(item, warehouse, "3")
    stock(item, truck_a, "2")
    material_reserve(actor=office, job_id=JobFactory().pk, item_id=item.pk, location_id=warehouse.pk, quantity="1")
    return item


# ---- reads -------------------------------------------------------------------------------------------


def test_item_search_shows_totals_across_places(office, stocked, vendor):
    ItemFactory(sku="FLT-16", name="Pleated filter 16x25")
    response = api_client(office).get("/inventory/items", {"q": "cap"})
    assert response.status_code == 200
    [row] = response.json()
    assert row == {
        "id": stocked.pk,
        "sku": "CAP-45-5",
        "name": "Run capacitor 45/5 µF",
        "unit": "each",
        "default_cost_cents": 1850,
        "default_price_cents": 4900,
        "reorder_point": "0",
        "preferred_vendor": {"id": vendor.pk, "name": "Ferguson HVAC Supply"},
        "active": True,
        "on_hand": "5",
        "reserved": "1",
        "available": "4",
        "low": False,
    }
    by_name = api_client(office).get("/inventory/items", {"q": "pleated"}).json()
    assert [r["sku"] for r in by_name] == ["FLT-16"]
    assert [r["on_hand"] for r in by_name] == ["0"]


def test_item_search_low_and_limit(office, stocked):
    stocked.reorder_point_milli = 4000
    stocked.save()
    for n in range(3):
        ItemFactory(sku=f"ZZ-{n}")
    api = api_client(office)
    assert [r["sku"] for r in api.get("/inventory/items", {"low": "true"}).json()] == ["CAP-45-5"]
    assert api.get("/inventory/items", {"low": "true"}).json()[0]["low"] is True
    assert len(api.get("/inventory/items", {"limit": 2}).json()) == 2
    assert field_paths(api.get("/inventory/items", {"limit": 0})) == {"query.limit"}
    assert field_paths(api.get("/inventory/items", {"q": "x" * 101})) == {"query.q"}


def test_item_detail_has_balances_per_place_and_movements(office, stocked, warehouse, truck_a):
    body = api_client(office).get(f"/inventory/items/{stocked.pk}").json()
    assert (body["on_hand"], body["reserved"], body["available"]) == ("5", "1", "4")
    assert body["balances"] == [
        {"location": {"id": truck_a.pk, "name": "Truck 1 · Alex", "kind": "truck"}, "on_hand": "2", "reserved": "0", "available": "2"},
        {"location": {"id": warehouse.pk, "name": "Main warehouse", "kind": "warehouse"}, "on_hand": "3", "reserved": "1", "available": "2"},
    ]
    assert [(m["kind"], m["quantity"], m["to_location"]["id"]) for m in body["movements"]] == [("receipt", "2", truck_a.pk), ("receipt", "3", warehouse.pk)]
    assert body["movements"][0]["actor"]["name"] == "Oscar Office"
    assert api_client(office).get("/inventory/items/999999").status_code == 404


def test_locations_and_what_each_holds(office, stocked, warehouse, truck_a, tech_a):
    api = api_client(office)
    places = api.get("/inventory/locations").json()
    assert places == [
        {"id": truck_a.pk, "name": "Truck 1 · Alex", "kind": "truck", "technician": {"id": tech_a.pk, "name": "Alex Tech"}, "active": True},
        {"id": warehouse.pk, "name": "Main warehouse", "kind": "warehouse", "technician": None, "active": True},
    ]
    held = api.get(f"/inventory/locations/{warehouse.pk}/stock").json()
    assert held["location"]["name"] == "Main warehouse"
    assert held["items"] == [
        {"item": {"id": stocked.pk, "sku": "CAP-45-5", "name": "Run capacitor 45/5 µF", "unit": "each"}, "on_hand": "3", "reserved": "1", "available": "2"}
    ]
    assert api.get("/inventory/locations/999999/stock").status_code == 404


def test_a_technician_sees_only_their_own_truck(tech_a, tech_b, stocked, warehouse, truck_a):
    truck_b = TruckFactory(technician=tech_b, name="Truck 2 · Blair")
    api = api_client(tech_a.user)
    for path in ("/inventory/items", f"/inventory/items/{stocked.pk}", "/inventory/locations", f"/inventory/locations/{warehouse.pk}/stock"):
        response = api.get(path)
        assert response.status_code == 403, path
        assert error_of(response)["code"] == "forbidden"
    assert api.get(f"/inventory/locations/{truck_b.pk}/stock").status_code == 403
    assert api.get(f"/inventory/locations/{truck_a.pk}/stock").json()["items"][0]["on_hand"] == "2"

    mine = api.get("/inventory/my-truck").json()
    assert mine["location"] == {
        "id": truck_a.pk,
        "name": "Truck 1 · Alex",
        "kind": "truck",
        "technician": {"id": tech_a.pk, "name": "Alex Tech"},
        "active": True,
    }
    assert [(r["item"]["sku"], r["on_hand"], r["available"]) for r in mine["items"]] == [("CAP-45-5", "2", "2")]
    ItemFactory(sku="CAP-10", name="Start capacitor")
    searched = api.get("/inventory/my-truck", {"q": "cap"}).json()["items"]
    assert [(r["item"]["sku"], r["on_hand"]) for r in searched] == [("CAP-10", "0"), ("CAP-45-5", "2")]
    assert api_client(tech_b.user).get("/inventory/my-truck").json()["items"] == []


def test_my_truck_is_404_for_someone_without_one(office):
    response = api_client(office).get("/inventory/my-truck")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_the_item_list_reads_a_fixed_number_of_queries(office, item, warehouse, stock):
    api = api_client(office)
    stock(item, warehouse, "1")
    _, few = queries_of(lambda: api.get("/inventory/items", {"limit": 100}))
    for n in range(20):
        stock(ItemFactory(sku=f"BULK-{n:02d}"), warehouse, "2")
    response, many = queries_of(lambda: api.get("/inventory/items", {"limit": 100}))
    assert len(response.json()) == 21
    assert many == few


def test_location_lists_read_a_fixed_number_of_queries(office, item, warehouse, stock, tech_b):
    api = api_client(office)
    stock(item, warehouse, "1")
    _, few_places = queries_of(lambda: api.get("/inventory/locations"))
    _, few_stock = queries_of(lambda: api.get(f"/inventory/locations/{warehouse.pk}/stock"))
    for n in range(10):
        stock(ItemFactory(sku=f"BULK-{n:02d}"), warehouse, "2")
    TruckFactory(technician=tech_b)
    places, many_places = queries_of(lambda: api.get("/inventory/locations"))
    held, many_stock = queries_of(lambda: api.get(f"/inventory/locations/{warehouse.pk}/stock"))
    assert (len(places.json()), len(held.json()["items"])) == (2, 11)
    assert (many_places, many_stock) == (few_places, few_stock)


# ---- receipts, transfers, adjustments ----------------------------------------------------------------


def test_receive_stock(office, item, warehouse):
    response = api_client(office).post(
        "/inventory/receipts", {"item_id": item.pk, "location_id": warehouse.pk, "quantity": "2.5", "unit_cost_cents": 1700, "reason": "Counter purchase"}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["quantity"], body["unit_cost_cents"], body["reason"]) == ("receipt", "2.5", 1700, "Counter purchase")
    assert (body["from_location"], body["to_location"]["id"], body["item"]["sku"]) == (None, warehouse.pk, "CAP-45-5")
    assert balance(item, warehouse) == (2500, 0)


@pytest.mark.parametrize(
    ("change", "paths"),
    [
        ({"quantity": "1.2345"}, {"body.quantity"}),
        ({"quantity": 2}, {"body.quantity"}),
        ({"quantity": "0"}, {"body.quantity"}),
        ({"quantity": "-1"}, {"body.quantity"}),
        ({"item_id": 999999}, {"body.item_id"}),
        ({"location_id": 999999}, {"body.location_id"}),
        ({"item_id": "1"}, {"body.item_id"}),
        ({"unit_cost_cents": -1}, {"body.unit_cost_cents"}),
        ({"reason": "bad\x00"}, {"body.reason"}),
        ({"surprise": True}, {"body.surprise"}),
    ],
)
def test_bad_receipts_are_field_errors_and_change_nothing(office, item, warehouse, change, paths):
    response = api_client(office).post("/inventory/receipts", {"item_id": item.pk, "location_id": warehouse.pk, "quantity": "1", **change})
    assert response.status_code == 422
    assert field_paths(response) == paths
    assert not StockMovement.objects.exists()
    assert not StockBalance.objects.filter(on_hand_milli__gt=0).exists()


def test_transfer_between_places(office, item, warehouse, truck_a, stock):
    stock(item, warehouse, "3")
    api = api_client(office)
    moved = api.post("/inventory/transfers", {"item_id": item.pk, "from_location_id": warehouse.pk, "to_location_id": truck_a.pk, "quantity": "2"})
    assert moved.status_code == 201
    assert (moved.json()["kind"], moved.json()["from_location"]["id"], moved.json()["to_location"]["id"]) == ("transfer", warehouse.pk, truck_a.pk)
    assert (balance(item, warehouse), balance(item, truck_a)) == ((1000, 0), (2000, 0))

    movements = StockMovement.objects.count()
    short = api.post("/inventory/transfers", {"item_id": item.pk, "from_location_id": warehouse.pk, "to_location_id": truck_a.pk, "quantity": "1.5"})
    assert short.status_code == 409
    error = error_of(short)
    assert (error["code"], error["details"]) == ("insufficient_stock", {"available": "1"})
    same = api.post("/inventory/transfers", {"item_id": item.pk, "from_location_id": warehouse.pk, "to_location_id": warehouse.pk, "quantity": "1"})
    assert field_paths(same) == {"body.to_location_id"}
    assert StockMovement.objects.count() == movements
    assert (balance(item, warehouse), balance(item, truck_a)) == ((1000, 0), (2000, 0))


def test_adjust_after_a_count(office, item, warehouse, stock):
    stock(item, warehouse, "3")
    api = api_client(office)
    down = api.post("/inventory/adjustments", {"item_id": item.pk, "location_id": warehouse.pk, "change": "-1", "reason": "Damaged"})
    assert down.status_code == 201
    assert (down.json()["kind"], down.json()["quantity"], down.json()["from_location"]["id"]) == ("adjustment", "1", warehouse.pk)
    up = api.post("/inventory/adjustments", {"item_id": item.pk, "location_id": warehouse.pk, "change": "0.5", "reason": "Found in the back"})
    assert up.json()["to_location"]["id"] == warehouse.pk
    assert balance(item, warehouse) == (2500, 0)

    movements = StockMovement.objects.count()
    too_many = api.post("/inventory/adjustments", {"item_id": item.pk, "location_id": warehouse.pk, "change": "-3", "reason": "Lost"})
    assert too_many.status_code == 409
    assert error_of(too_many)["code"] == "insufficient_stock"
    assert field_paths(api.post("/inventory/adjustments", {"item_id": item.pk, "location_id": warehouse.pk, "change": "-1", "reason": ""})) == {"body.reason"}
    assert field_paths(api.post("/inventory/adjustments", {"item_id": item.pk, "location_id": warehouse.pk, "change": "-1", "reason": "   "})) == {
        "body.reason"
    }
    assert field_paths(api.post("/inventory/adjustments", {"item_id": item.pk, "location_id": warehouse.pk, "change": "+1", "reason": "x"})) == {"body.change"}
    assert field_paths(api.post("/inventory/adjustments", {"item_id": item.pk, "location_id": warehouse.pk, "change": "-0", "reason": "x"})) == {"body.change"}
    assert StockMovement.objects.count() == movements
    assert balance(item, warehouse) == (2500, 0)


@pytest.mark.parametrize("persona", ["tech", "dispatcher"])
def test_only_the_office_moves_stock(request, persona, tech_a, item, warehouse, truck_a, stock):
    user = tech_a.user if persona == "tech" else request.getfixturevalue("dispatcher")
    stock(item, warehouse, "3")
    movements = StockMovement.objects.count()
    api = api_client(user)
    responses = [
        api.post("/inventory/receipts", {"item_id": item.pk, "location_id": truck_a.pk, "quantity": "1"}),
        api.post("/inventory/transfers", {"item_id": item.pk, "from_location_id": warehouse.pk, "to_location_id": truck_a.pk, "quantity": "1"}),
        api.post("/inventory/adjustments", {"item_id": item.pk, "location_id": warehouse.pk, "change": "-1", "reason": "Count"}),
    ]
    expected = [403, 403, 403] if persona == "tech" else [201, 201, 201]
    assert [r.status_code for r in responses] == expected
    if persona == "tech":
        assert {error_of(r)["code"] for r in responses} == {"forbidden"}
        assert StockMovement.objects.count() == movements


def test_a_replayed_receipt_is_written_once(office, item, warehouse):
    api = api_client(office)
    body = {"item_id": item.pk, "location_id": warehouse.pk, "quantity": "4"}
    first = api.post("/inventory/receipts", body, key="receipt-1")
    again = api.post("/inventory/receipts", body, key="receipt-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert StockMovement.objects.count() == 1
    assert balance(item, warehouse) == (4000, 0)
    other = api.post("/inventory/receipts", {**body, "quantity": "5"}, key="receipt-1")
    assert other.status_code == 422
    assert error_of(other)["code"] == "idempotency_key_reused"
    assert balance(item, warehouse) == (4000, 0)
