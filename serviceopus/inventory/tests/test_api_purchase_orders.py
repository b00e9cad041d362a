"""The purchase orders API: drafting by hand and from shortfalls, ordering (the gapless number),
receiving (partial, over-receipt), cancelling; the list's filter, pages and fixed query count; field
errors and refusals that change nothing; who may (the office; technicians 403); an idempotent replay."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.core.models import Sequence
from serviceopus.inventory.actions import purchasing
from serviceopus.inventory.actions.reservations import material_reserve
from serviceopus.inventory.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine, StockBalance, StockMovement
from serviceopus.jobs.models import Job
from tests.factories import ItemFactory, JobFactory, VendorFactory

pytestmark = pytest.mark.django_db


def queries_of(call):  # type: ignore[no-untyped-def]
    call()  # the token's first use is recorded once: measure the steady state
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, len(captured.captured_queries)


def snapshot():  # type: ignore[no-untyped-def]
    """Everything a refused purchasing call must leave as it was."""
    return (
        list(PurchaseOrder.objects.values_list("pk", "status", "number", "version", "expected_on").order_by("pk")),
        list(PurchaseOrderLine.objects.values_list("pk", "quantity_milli", "received_milli").order_by("pk")),
        list(StockBalance.objects.values_list("pk", "on_hand_milli", "reserved_milli").order_by("pk")),
        StockMovement.objects.count(),
        PurchaseOrderEvent.objects.count(),
        list(Sequence.objects.values_list("name", "value").order_by("name")),
    )


def draft_body(vendor, place, *lines):  # type: ignore[no-untyped-def]
    return {"vendor_id": vendor.pk, "ship_to_id": place.pk, "notes": "Leave at the back door", "lines": list(lines)}


@pytest.fixture
def draft(office, vendor, item, warehouse):  # type: ignore[no-untyped-def]
    return purchasing.po_create(
        actor=office, vendor_id=vendor.pk, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "4", "unit_cost_cents": 1800}]
    )


@pytest.fixture
def ordered(office, draft):  # type: ignore[no-untyped-def]
    return purchasing.po_order(actor=office, po_id=draft.pk)


# ---- drafting and reading ----------------------------------------------------------------------------


def test_draft_an_order_and_read_it(office, vendor, item, warehouse):
    response = api_client(office).post(
        "/purchase-orders",
        draft_body(vendor, warehouse, {"item_id": item.pk, "quantity": "2.5"}, {"item_id": item.pk, "quantity": "1", "unit_cost_cents": 1700}),
    )
    assert response.status_code == 201
    body = response.json()
    po = PurchaseOrder.objects.get()
    assert (body["id"], body["number"], body["label"], body["status"]) == (po.pk, None, f"Draft PO #{po.pk}", "draft")
    assert (body["vendor"], body["ship_to"]) == (
        {"id": vendor.pk, "name": "Ferguson HVAC Supply"},
        {"id": warehouse.pk, "name": "Main warehouse", "kind": "warehouse"},
    )
    assert (body["notes"], body["created_by"]["name"], body["allowed_actions"], body["version"]) == (
        "Leave at the back door",
        "Oscar Office",
        ["order", "cancel"],
        1,
    )
    assert [(line["quantity"], line["unit_cost_cents"], line["total_cents"], line["open"]) for line in body["lines"]] == [
        ("2.5", 1850, 4625, "2.5"),
        ("1", 1700, 1700, "1"),
    ]
    assert body["total_cents"] == 6325
    assert body["receipts"] == []
    assert [e["message"] for e in body["history"]] == ["Drafted for Ferguson HVAC Supply with 2 lines"]
    assert api_client(office).get(f"/purchase-orders/{po.pk}").json() == body


def test_a_draft_for_a_jobs_reservation_names_the_job(office, vendor, item, warehouse):
    job = JobFactory()
    reservation = material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2", backorder=True)
    body = (
        api_client(office)
        .post("/purchase-orders", draft_body(vendor, warehouse, {"item_id": item.pk, "quantity": "2", "reservation_id": reservation.pk}))
        .json()
    )
    assert (body["lines"][0]["job"], body["lines"][0]["reservation_id"]) == ({"id": job.pk, "number": job.number}, reservation.pk)


@pytest.mark.parametrize(
    ("change", "paths"),
    [
        ({"vendor_id": 999999}, {"body.vendor_id"}),
        ({"ship_to_id": 999999}, {"body.ship_to_id"}),
        ({"expected_on": "2026-02-30"}, {"body.expected_on"}),
        ({"notes": "x" * 2001}, {"body.notes"}),
        ({"lines": [{"item_id": 999999, "quantity": "1"}]}, {"body.lines.0.item_id"}),
        ({"lines": [{"item_id": 1, "quantity": "1.0001"}]}, {"body.lines.0.quantity"}),
        ({"lines": [{"item_id": 1, "quantity": 1}]}, {"body.lines.0.quantity"}),
        ({"lines": [{"item_id": 1, "quantity": "0"}]}, {"body.lines.0.quantity"}),
        ({"lines": [{"item_id": 1, "quantity": "1", "unit_cost_cents": -1}]}, {"body.lines.0.unit_cost_cents"}),
        ({"lines": [{"item_id": 1, "quantity": "1", "reservation_id": 999999}]}, {"body.lines.0.reservation_id"}),
        ({"lines": [{"item_id": 1, "quantity": "1", "job_id": 1}]}, {"body.lines.0.job_id"}),
        ({"status": "ordered"}, {"body.status"}),
    ],
)
def test_bad_drafts_are_field_errors_and_change_nothing(office, vendor, item, warehouse, change, paths):
    body = {**draft_body(vendor, warehouse, {"item_id": item.pk, "quantity": "1"}), **change}
    for line in body["lines"]:
        if line.get("item_id") == 1:
            line["item_id"] = item.pk
    before = snapshot()
    response = api_client(office).post("/purchase-orders", body)
    assert response.status_code == 422
    assert field_paths(response) == paths
    assert snapshot() == before


def test_the_list_filters_by_status_and_pages(office, vendor, warehouse, draft, ordered):
    others = [purchasing.po_create(actor=office, vendor_id=vendor.pk, ship_to_id=warehouse.pk) for _ in range(3)]
    api = api_client(office)
    everything = api.get("/purchase-orders").json()
    assert [po["id"] for po in everything["items"]] == [o.pk for o in reversed(others)] + [ordered.pk]
    assert everything["items"][-1]["number"] == "PO-000001"
    assert [po["id"] for po in api.get("/purchase-orders", {"status": "ordered"}).json()["items"]] == [ordered.pk]
    first = api.get("/purchase-orders", {"limit": 2}).json()
    assert [po["id"] for po in first["items"]] == [others[2].pk, others[1].pk]
    second = api.get("/purchase-orders", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [po["id"] for po in second["items"]] == [others[0].pk, ordered.pk]
    assert second["next_cursor"] is None
    assert field_paths(api.get("/purchase-orders", {"status": "lost"})) == {"query.status"}
    assert field_paths(api.get("/purchase-orders", {"cursor": "bm9wZQ"})) == {"query.cursor"}
    assert api.get("/purchase-orders/999999").status_code == 404


def test_the_list_reads_a_fixed_number_of_queries(office, vendor, item, warehouse, draft):
    api = api_client(office)
    _, few = queries_of(lambda: api.get("/purchase-orders", {"limit": 100}))
    for _ in range(10):
        purchasing.po_create(actor=office, vendor_id=VendorFactory().pk, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "1"}] * 3)
    response, many = queries_of(lambda: api.get("/purchase-orders", {"limit": 100}))
    assert len(response.json()["items"]) == 11
    assert response.json()["items"][0]["total_cents"] == 3 * 1850
    assert many == few


# ---- ordering, receiving, cancelling -----------------------------------------------------------------


def test_order_a_draft(office, draft):
    response = api_client(office).post(f"/purchase-orders/{draft.pk}/order", {"expected_on": "2030-05-04"})
    assert response.status_code == 200
    body = response.json()
    assert (body["number"], body["label"], body["status"], body["expected_on"], body["allowed_actions"]) == (
        "PO-000001",
        "PO-000001",
        "ordered",
        "2030-05-04",
        ["cancel", "receive"],
    )
    again = api_client(office).post(f"/purchase-orders/{draft.pk}/order", {})
    assert again.status_code == 409
    assert error_of(again)["code"] == "transition_refused"


def test_ordering_an_empty_draft_is_refused(office, vendor, warehouse):
    empty = purchasing.po_create(actor=office, vendor_id=vendor.pk, ship_to_id=warehouse.pk)
    before = snapshot()
    response = api_client(office).post(f"/purchase-orders/{empty.pk}/order", {})
    assert response.status_code == 409
    assert error_of(response)["code"] == "po_empty"
    assert snapshot() == before
    assert api_client(office).post(f"/purchase-orders/{empty.pk}/order", {"expected_on": "soon"}).status_code == 422


def test_receive_partly_then_the_rest_into_the_job_reservation(office, vendor, item, warehouse):
    job = JobFactory()
    reservation = material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="3", backorder=True)
    [po] = purchasing.drafts_for_shortfalls(actor=office)
    purchasing.po_order(actor=office, po_id=po.pk)
    [line] = po.lines.all()
    api = api_client(office)

    partial = api.post(f"/purchase-orders/{po.pk}/receive", {"lines": [{"line_id": line.pk, "quantity": "1"}], "note": "First box"})
    assert partial.status_code == 200
    body = partial.json()
    assert (body["status"], body["lines"][0]["received"], body["lines"][0]["open"]) == ("partially_received", "1", "2")
    assert [(r["quantity"], r["location"]["id"], r["purchase_order_line_id"], r["reason"]) for r in body["receipts"]] == [
        ("1", warehouse.pk, line.pk, "PO-000001: First box")
    ]
    assert Job.objects.get(pk=job.pk).parts_readiness == "partial"

    rest = api.post(f"/purchase-orders/{po.pk}/receive", {"lines": [{"line_id": line.pk, "quantity": "2"}]}).json()
    assert (rest["status"], rest["allowed_actions"], len(rest["receipts"])) == ("received", [], 2)
    assert Job.objects.get(pk=job.pk).parts_readiness == "ready"
    reservation.refresh_from_db()
    assert reservation.allocated_milli == 3000


def test_over_receipt_is_refused_unless_marked(office, ordered, warehouse):
    [line] = ordered.lines.all()
    api = api_client(office)
    before = snapshot()
    refused = api.post(f"/purchase-orders/{ordered.pk}/receive", {"lines": [{"line_id": line.pk, "quantity": "5"}]})
    assert refused.status_code == 422
    assert field_paths(refused) == {"body.lines.0.quantity"}
    assert "more than the 4 still open" in error_of(refused)["fields"][0]["message"]
    assert snapshot() == before

    accepted = api.post(f"/purchase-orders/{ordered.pk}/receive", {"lines": [{"line_id": line.pk, "quantity": "5"}], "over_receipt": True})
    assert accepted.status_code == 200
    assert (accepted.json()["status"], accepted.json()["lines"][0]["received"]) == ("received", "5")
    assert StockBalance.objects.get(location=warehouse).on_hand_milli == 5000


def test_bad_receipts_are_field_errors_and_change_nothing(office, ordered, draft, vendor, item, warehouse):
    [line] = ordered.lines.all()
    elsewhere = purchasing.po_create(actor=office, vendor_id=vendor.pk, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "1"}])
    [foreign] = elsewhere.lines.all()
    api = api_client(office)
    before = snapshot()
    cases = [
        ({"lines": [{"line_id": foreign.pk, "quantity": "1"}]}, {"body.lines.0.line_id"}),
        ({"lines": [{"line_id": line.pk, "quantity": "1"}, {"line_id": line.pk, "quantity": "1"}]}, {"body.lines.1.line_id"}),
        ({"lines": [{"line_id": line.pk, "quantity": "0"}]}, {"body.lines"}),
        ({"lines": []}, {"body.lines"}),
        ({"lines": [{"line_id": line.pk, "quantity": "1"}], "location_id": 999999}, {"body.location_id"}),
        ({"lines": [{"line_id": line.pk, "quantity": "1.2345"}]}, {"body.lines.0.quantity"}),
        ({"lines": [{"line_id": line.pk, "quantity": "1"}], "over_receipt": "yes"}, {"body.over_receipt"}),
    ]
    for body, paths in cases:
        response = api.post(f"/purchase-orders/{ordered.pk}/receive", body)
        assert response.status_code == 422, body
        assert field_paths(response) == paths, body
    assert snapshot() == before


def test_a_draft_cannot_be_received(office, vendor, item, warehouse):
    draft = purchasing.po_create(actor=office, vendor_id=vendor.pk, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "1"}])
    [line] = draft.lines.all()
    before = snapshot()
    response = api_client(office).post(f"/purchase-orders/{draft.pk}/receive", {"lines": [{"line_id": line.pk, "quantity": "1"}]})
    assert response.status_code == 409
    assert error_of(response)["code"] == "transition_refused"
    assert snapshot() == before


def test_cancel_an_order_but_not_a_received_one(office, ordered, draft):
    [line] = ordered.lines.all()
    api = api_client(office)
    assert field_paths(api.post(f"/purchase-orders/{ordered.pk}/cancel", {"reason": ""})) == {"body.reason"}
    assert field_paths(api.post(f"/purchase-orders/{ordered.pk}/cancel", {"reason": "   "})) == {"body.reason"}
    assert field_paths(api.post(f"/purchase-orders/{ordered.pk}/cancel", {})) == {"body.reason"}
    purchasing.po_receive(actor=office, po_id=ordered.pk, location_id=None, quantities={line.pk: "4"})
    before = snapshot()
    refused = api.post(f"/purchase-orders/{ordered.pk}/cancel", {"reason": "Vendor out of stock"})
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "transition_refused"
    assert snapshot() == before

    other = purchasing.po_order(
        actor=office,
        po_id=purchasing.po_create(actor=office, vendor_id=draft.vendor_id, ship_to_id=draft.ship_to_id, lines=[{"item_id": line.item_id, "quantity": "1"}]).pk,
    )
    cancelled = api.post(f"/purchase-orders/{other.pk}/cancel", {"reason": "Vendor out of stock"})
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["allowed_actions"]) == ("cancelled", [])
    assert cancelled.json()["history"][0]["message"] == "Cancelled: Vendor out of stock"


# ---- shortfalls --------------------------------------------------------------------------------------


def test_shortfalls_and_drafts_from_them(office, vendor, item, warehouse):
    job = JobFactory()
    reservation = material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2", backorder=True)
    loose = ItemFactory(sku="NOVENDOR", preferred_vendor=None)
    material_reserve(actor=office, job_id=job.pk, item_id=loose.pk, location_id=warehouse.pk, quantity="1", backorder=True)
    api = api_client(office)
    needs = api.get("/purchase-orders/shortfalls").json()
    assert [(n["item"]["sku"], n["to_order"], n["vendor"] and n["vendor"]["id"]) for n in needs] == [("CAP-45-5", "2", vendor.pk), ("NOVENDOR", "1", None)]
    assert needs[0]["job"] == {"id": job.pk, "number": job.number}
    assert needs[0]["reservation_id"] == reservation.pk

    created = api.post("/purchase-orders/draft-from-shortfalls", {})
    assert created.status_code == 201
    [po] = created.json()
    assert (po["status"], po["vendor"]["id"], po["ship_to"]["id"], po["total_cents"]) == ("draft", vendor.pk, warehouse.pk, 2 * 1850)
    assert [n["item"]["sku"] for n in api.get("/purchase-orders/shortfalls").json()] == ["NOVENDOR"]

    before = snapshot()
    nothing = api.post("/purchase-orders/draft-from-shortfalls", {})
    assert nothing.status_code == 409
    assert error_of(nothing)["code"] == "nothing_to_order"
    assert field_paths(api.post("/purchase-orders/draft-from-shortfalls", {"reservation_ids": ["x"]})) == {"body.reservation_ids.0"}
    assert snapshot() == before


def test_the_shortfalls_list_reads_a_fixed_number_of_queries(office, warehouse):
    api = api_client(office)
    material_reserve(actor=office, job_id=JobFactory().pk, item_id=ItemFactory(sku="SHORT-0").pk, location_id=warehouse.pk, quantity="1", backorder=True)
    _, few = queries_of(lambda: api.get("/purchase-orders/shortfalls"))
    for n in range(1, 10):
        material_reserve(actor=office, job_id=JobFactory().pk, item_id=ItemFactory(sku=f"SHORT-{n}").pk, location_id=warehouse.pk, quantity="1", backorder=True)
    response, many = queries_of(lambda: api.get("/purchase-orders/shortfalls"))
    assert len(response.json()) == 10
    assert many == few


# ---- who may, and replays ----------------------------------------------------------------------------


def test_technicians_may_not_read_or_write_purchase_orders(tech_a, draft, vendor, item, warehouse):
    api = api_client(tech_a.user)
    before = snapshot()
    responses = [
        api.get("/purchase-orders"),
        api.get(f"/purchase-orders/{draft.pk}"),
        api.get("/purchase-orders/shortfalls"),
        api.post("/purchase-orders", draft_body(vendor, warehouse, {"item_id": item.pk, "quantity": "1"})),
        api.post(f"/purchase-orders/{draft.pk}/order", {}),
        api.post(f"/purchase-orders/{draft.pk}/cancel", {"reason": "No"}),
        api.post(f"/purchase-orders/{draft.pk}/receive", {"lines": [{"line_id": draft.lines.get().pk, "quantity": "1"}]}),
        api.post("/purchase-orders/draft-from-shortfalls", {}),
    ]
    assert [r.status_code for r in responses] == [403] * len(responses)
    assert {error_of(r)["code"] for r in responses} == {"forbidden"}
    assert snapshot() == before


def test_a_replayed_order_takes_one_number(office, draft, vendor, item, warehouse):
    api = api_client(office)
    first = api.post(f"/purchase-orders/{draft.pk}/order", {}, key="order-1")
    again = api.post(f"/purchase-orders/{draft.pk}/order", {}, key="order-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (200, 200, "true")
    assert again.json() == first.json()
    assert first.json()["number"] == "PO-000001"
    other = purchasing.po_create(actor=office, vendor_id=vendor.pk, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "1"}])
    assert api.post(f"/purchase-orders/{other.pk}/order", {}, key="order-2").json()["number"] == "PO-000002"


def test_a_replayed_receipt_is_received_once(office, ordered, warehouse):
    [line] = ordered.lines.all()
    api = api_client(office)
    body = {"lines": [{"line_id": line.pk, "quantity": "1"}]}
    first = api.post(f"/purchase-orders/{ordered.pk}/receive", body, key="receive-1")
    again = api.post(f"/purchase-orders/{ordered.pk}/receive", body, key="receive-1")
    assert again.json() == first.json()
    assert StockMovement.objects.filter(kind="receipt").count() == 1
    assert StockBalance.objects.get(location=warehouse).on_hand_milli == 1000
