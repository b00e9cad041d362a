"""The office's stock pages: items list, one item, one place, and the receive / transfer / adjust forms."""

import pytest
from django.urls import reverse

from serviceopus.accounts.roles import CAPABILITIES, Role
from serviceopus.inventory.actions import reservations
from serviceopus.inventory.models import StockBalance, StockMovement
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, JobFactory, TruckFactory, VendorFactory, WarehouseFactory

ITEMS = reverse("inventory:items")
RECEIVE = reverse("inventory:stock_receive")
TRANSFER = reverse("inventory:stock_transfer")
ADJUST = reverse("inventory:stock_adjust")


def snapshot():  # type: ignore[no-untyped-def]
    return list(StockBalance.objects.order_by("pk").values()), list(StockMovement.objects.order_by("pk").values())


def on_hand(item, location):  # type: ignore[no-untyped-def]
    return StockBalance.objects.filter(item=item, location=location).values_list("on_hand_milli", "reserved_milli").first() or (0, 0)


def without(role: str, perm: str) -> frozenset:
    return frozenset(CAPABILITIES[role] - {perm})


# ---- items list ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_items_list_shows_stock_and_the_reorder_flag(client_as, office, item, warehouse, truck_a, stock):
    stock(item, warehouse, "3")
    stock(item, truck_a, "1.5")
    job = JobFactory(status=JobStatus.NEW)
    reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2")
    low = ItemFactory(sku="FLT-20", name="Filter 20x25", reorder_point_milli=5000, default_price_cents=1999)

    response = client_as(office).get(ITEMS)

    assert response.status_code == 200
    rows = {row["item"].sku: row for row in response.context["rows"]}
    assert (rows["CAP-45-5"]["on_hand"], rows["CAP-45-5"]["reserved"], rows["CAP-45-5"]["free"], rows["CAP-45-5"]["low"]) == ("4.5", "2", "2.5", False)
    assert (rows["FLT-20"]["free"], rows["FLT-20"]["low"]) == ("0", True)
    html = response.content.decode()
    assert "Reorder · 5" in html
    assert "$19.99" in html
    assert "$49.00" in html
    assert reverse("inventory:item_detail", args=[low.pk]) in html
    assert reverse("inventory:location_detail", args=[truck_a.pk]) in html
    assert response.context["nav_active"] == "stock"


@pytest.mark.django_db
def test_items_search_and_below_reorder_filter(client_as, office, item):
    ItemFactory(sku="FLT-20", name="Pleated filter", reorder_point_milli=1000)
    ItemFactory(sku="WIRE-14", name="Copper wire")
    http = client_as(office)
    assert [r["item"].sku for r in http.get(ITEMS, {"q": "flt"}).context["rows"]] == ["FLT-20"]
    assert [r["item"].sku for r in http.get(ITEMS, {"q": "copper"}).context["rows"]] == ["WIRE-14"]
    assert [r["item"].sku for r in http.get(ITEMS, {"below": "1"}).context["rows"]] == ["FLT-20"]
    empty = http.get(ITEMS, {"q": "nothing-like-this"}).content.decode()
    assert "No item matches “nothing-like-this”" in empty
    # The search box swaps only the results.
    fragment = http.get(ITEMS, {"q": "flt"}, headers={"HX-Request": "true", "HX-Target": "item-results"}).content.decode()
    assert fragment.lstrip().startswith('<section id="item-results"')
    assert "FLT-20" in fragment


@pytest.mark.django_db
def test_items_query_count_does_not_grow(client_as, office, warehouse, stock, django_assert_max_num_queries):
    def add(count):  # type: ignore[no-untyped-def]
        for _ in range(count):
            stock(ItemFactory(preferred_vendor=None), warehouse, "2")

    http = client_as(office)
    add(3)
    http.get(ITEMS)
    with django_assert_max_num_queries(8) as few:
        assert len(http.get(ITEMS).context["rows"]) == 3
    add(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(http.get(ITEMS).context["rows"]) == 30


# ---- one item, one place ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_item_detail_balances_and_movements(client_as, office, item, warehouse, truck_a, stock):
    stock(item, warehouse, "5")
    job = JobFactory(status=JobStatus.NEW)
    reservation = reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="1")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1")
    client_as(office).post(TRANSFER, {"sku": item.sku, "quantity": "2", "from_location": warehouse.pk, "to_location": truck_a.pk, "reason": ""})

    response = client_as(office).get(reverse("inventory:item_detail", args=[item.pk]))

    assert response.status_code == 200
    balances = {row["balance"].location.name: (row["on_hand"], row["reserved"], row["free"]) for row in response.context["balances"]}
    assert balances == {"Main warehouse": ("2", "0", "2"), "Truck 1 · Alex": ("2", "0", "2")}
    assert response.context["totals"] == {"on_hand": "4", "reserved": "0", "free": "4"}
    kinds = [(m.kind, qty) for m, qty in response.context["movements"]]
    assert kinds == [("transfer", "2"), ("issue", "1"), ("receipt", "5")]
    html = response.content.decode()
    assert reverse("jobs:detail", args=[job.pk]) in html
    assert job.number in html
    assert "Oscar Office" in html
    assert "Opening stock" in html
    assert "Main warehouse</span>" not in html  # places are links, not plain labels
    assert f"{reverse('inventory:stock_adjust')}?sku=CAP-45-5" in html


@pytest.mark.django_db
def test_item_detail_shows_at_most_100_movements(client_as, office, item, warehouse, stock, django_assert_max_num_queries):
    for _ in range(105):
        stock(item, warehouse, "1")
    http = client_as(office)
    with django_assert_max_num_queries(6):
        response = http.get(reverse("inventory:item_detail", args=[item.pk]))
    assert len(response.context["movements"]) == 100


@pytest.mark.django_db
def test_location_detail_lists_what_the_place_holds(client_as, office, item, warehouse, truck_a, stock):
    stock(item, truck_a, "2")
    stock(ItemFactory(sku="WIRE-14"), warehouse, "9")
    response = client_as(office).get(reverse("inventory:location_detail", args=[truck_a.pk]))
    assert [(row["balance"].item.sku, row["on_hand"]) for row in response.context["rows"]] == [("CAP-45-5", "2")]
    html = response.content.decode()
    assert "Alex Tech" in html
    assert f"{TRANSFER}?to_location={truck_a.pk}" in html
    assert client_as(office).get(reverse("inventory:location_detail", args=[999])).status_code == 404


# ---- receive -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_receive_without_a_po(client_as, office, item, warehouse):
    response = client_as(office).post(RECEIVE, {"sku": "cap-45-5", "location": warehouse.pk, "quantity": "2.5", "unit_cost": "17.25", "reason": "Counter buy"})
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:item_detail", args=[item.pk])
    movement = StockMovement.objects.get()
    assert (movement.kind, movement.quantity_milli, movement.unit_cost_cents, movement.reason) == ("receipt", 2500, 1725, "Counter buy")
    assert on_hand(item, warehouse) == (2500, 0)


@pytest.mark.django_db
def test_receive_prefills_from_the_link(client_as, office, item, warehouse):
    form = client_as(office).get(RECEIVE, {"sku": item.sku, "location": warehouse.pk}).context["form"]
    assert form.initial == {"sku": "CAP-45-5", "location": str(warehouse.pk)}


@pytest.mark.django_db
def test_receive_errors_change_nothing(client_as, office, item, warehouse):
    http = client_as(office)
    before = snapshot()
    unknown = http.post(RECEIVE, {"sku": "NOPE", "location": warehouse.pk, "quantity": "1"})
    assert unknown.status_code == 422
    assert unknown.context["form"].errors == {"sku": ["No item has the SKU “NOPE”."]}
    bad = http.post(RECEIVE, {"sku": item.sku, "location": warehouse.pk, "quantity": "-2", "unit_cost": "abc"})
    assert bad.context["form"].errors == {"unit_cost": ["Enter an amount in dollars, like 125.50."]}
    bad_quantity = http.post(RECEIVE, {"sku": item.sku, "location": warehouse.pk, "quantity": "-2"})
    assert bad_quantity.status_code == 422
    assert bad_quantity.context["form"].errors == {"quantity": ["Enter a quantity above zero."]}
    assert "Enter a quantity above zero." in bad_quantity.content.decode()
    assert snapshot() == before


# ---- transfer ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_transfer_restocks_a_truck(client_as, office, item, warehouse, truck_a, stock):
    stock(item, warehouse, "5")
    response = client_as(office).post(TRANSFER, {"sku": item.sku, "quantity": "3", "from_location": warehouse.pk, "to_location": truck_a.pk}, follow=True)
    assert "Moved 3 each of CAP-45-5 from Main warehouse to Truck 1 · Alex." in response.content.decode()
    assert (on_hand(item, warehouse), on_hand(item, truck_a)) == ((2000, 0), (3000, 0))


@pytest.mark.django_db
def test_transfer_refusals_change_nothing(client_as, office, item, warehouse, truck_a, stock):
    stock(item, warehouse, "1")
    http = client_as(office)
    before = snapshot()
    same = http.post(TRANSFER, {"sku": item.sku, "quantity": "1", "from_location": warehouse.pk, "to_location": warehouse.pk})
    assert same.status_code == 422
    assert same.context["form"].errors == {"to_location": ["Choose a different place to move the stock to."]}
    too_much = http.post(TRANSFER, {"sku": item.sku, "quantity": "2", "from_location": warehouse.pk, "to_location": truck_a.pk})
    assert too_much.status_code == 409
    assert too_much.context["form"].non_field_errors() == ["Only 1 each of CAP-45-5 is free at Main warehouse; 2 needed."]
    assert snapshot() == before


# ---- adjust -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_adjust_down_and_up_with_a_reason(client_as, office, item, warehouse, stock):
    stock(item, warehouse, "3")
    http = client_as(office)
    down = http.post(ADJUST, {"sku": item.sku, "location": warehouse.pk, "change": "-1", "reason": "Damaged in transit"}, follow=True)
    assert "Adjusted CAP-45-5 at Main warehouse: −1 each (Damaged in transit)." in down.content.decode()
    http.post(ADJUST, {"sku": item.sku, "location": warehouse.pk, "change": "+0.5", "reason": "Count found half a box"})
    assert on_hand(item, warehouse) == (2500, 0)
    assert list(StockMovement.objects.filter(kind="adjustment").order_by("id").values_list("from_location_id", "to_location_id", "quantity_milli")) == [
        (warehouse.pk, None, 1000),
        (None, warehouse.pk, 500),
    ]


@pytest.mark.django_db
def test_adjust_needs_a_reason_and_stock_that_is_there(client_as, office, item, warehouse, stock):
    stock(item, warehouse, "1")
    http = client_as(office)
    before = snapshot()
    no_reason = http.post(ADJUST, {"sku": item.sku, "location": warehouse.pk, "change": "-1", "reason": ""})
    assert no_reason.status_code == 422
    assert "reason" in no_reason.context["form"].errors
    bad_change = http.post(ADJUST, {"sku": item.sku, "location": warehouse.pk, "change": "minus one", "reason": "Count"})
    assert bad_change.context["form"].errors == {"change": ["Enter a number, such as 2 or 1.5."]}
    too_much = http.post(ADJUST, {"sku": item.sku, "location": warehouse.pk, "change": "-2", "reason": "Count"})
    assert too_much.status_code == 409
    assert "Only 1 each of CAP-45-5 on hand at Main warehouse; cannot remove 2." in too_much.content.decode()
    assert snapshot() == before


# ---- who may -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_technicians_get_403_and_change_nothing(client_as, tech_a, item, warehouse, truck_a, stock):
    stock(item, warehouse, "2")
    http = client_as(tech_a.user)
    before = snapshot()
    for target in (ITEMS, reverse("inventory:item_detail", args=[item.pk]), reverse("inventory:location_detail", args=[truck_a.pk]), RECEIVE, TRANSFER, ADJUST):
        assert http.get(target).status_code == 403, target
    assert http.post(RECEIVE, {"sku": item.sku, "location": truck_a.pk, "quantity": "9"}).status_code == 403
    assert http.post(TRANSFER, {"sku": item.sku, "quantity": "1", "from_location": warehouse.pk, "to_location": truck_a.pk}).status_code == 403
    assert http.post(ADJUST, {"sku": item.sku, "location": warehouse.pk, "change": "+5", "reason": "Mine now"}).status_code == 403
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("perm", "target", "data"),
    [
        ("inventory.manage_stock", RECEIVE, {"quantity": "1"}),
        ("inventory.manage_stock", TRANSFER, {"quantity": "1", "to": True}),
        ("inventory.adjust_stock", ADJUST, {"change": "+1", "reason": "Count"}),
    ],
)
def test_each_form_needs_its_capability(client_as, office, item, warehouse, stock, monkeypatch, perm, target, data):
    stock(item, warehouse, "2")
    other = WarehouseFactory(name="Overflow")
    monkeypatch.setitem(CAPABILITIES, Role.OFFICE, without(Role.OFFICE, perm))
    http = client_as(office)
    payload = {"sku": item.sku, "location": warehouse.pk, "from_location": warehouse.pk, "to_location": other.pk, **data}
    before = snapshot()
    assert http.get(target).status_code == 403
    assert http.post(target, payload).status_code == 403
    assert snapshot() == before
    # Reading stays open, without the buttons for what this user may not do.
    page = http.get(reverse("inventory:item_detail", args=[item.pk])).content.decode()
    assert f'href="{target}' not in page


@pytest.mark.django_db
def test_reading_needs_view_stock(client_as, office, monkeypatch):
    monkeypatch.setitem(CAPABILITIES, Role.OFFICE, without(Role.OFFICE, "inventory.view_stock"))
    assert client_as(office).get(ITEMS).status_code == 403


@pytest.mark.django_db
def test_truck_and_vendor_names_are_escaped(client_as, office, tech_b, stock):
    truck = TruckFactory(technician=tech_b, name="<b>Truck</b>")
    item = ItemFactory(sku="X-1", name="<script>x</script>", preferred_vendor=VendorFactory(name="A&B"))
    stock(item, truck, "1")
    html = client_as(office).get(reverse("inventory:location_detail", args=[truck.pk])).content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<b>Truck</b>" not in html
