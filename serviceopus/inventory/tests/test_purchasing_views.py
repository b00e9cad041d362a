"""The purchasing page: what to order across jobs, grouped by vendor, and drafting purchase orders from it."""

import pytest
from django.urls import reverse

from serviceopus.accounts.roles import CAPABILITIES, Role
from serviceopus.inventory.actions import purchasing, reservations
from serviceopus.inventory.models import PurchaseOrder, PurchaseOrderLine
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, ItemFactory, JobFactory, VendorFactory

URL = reverse("inventory:purchasing")
DRAFT_URL = reverse("inventory:purchasing_draft")


@pytest.fixture
def short(office):  # type: ignore[no-untyped-def]
    """short(item, place, "3") → a job that reserved that much with none in stock (a backorder)."""

    def make(item, location, quantity, **job):  # type: ignore[no-untyped-def]
        job = JobFactory(status=JobStatus.NEW, **job)
        return reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=location.pk, quantity=quantity, backorder=True)

    return make


def without(role: str, perm: str) -> frozenset:
    return frozenset(CAPABILITIES[role] - {perm})


@pytest.mark.django_db
def test_lists_needs_by_vendor_with_job_place_and_what_is_on_order(client_as, office, item, warehouse, short):
    other_vendor = VendorFactory(name="Acme Electrical")
    wire = ItemFactory(sku="WIRE-14", name="14 AWG wire", unit="ft", preferred_vendor=other_vendor)
    first = short(item, warehouse, "3", customer=CustomerFactory(name="Harbor Bakery"))
    second = short(wire, warehouse, "50")
    # One unit of the first job's shortfall is already on a draft: 2 remain to order.
    purchasing.po_create(
        actor=office, vendor_id=item.preferred_vendor_id, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "1", "reservation_id": first.pk}]
    )

    response = client_as(office).get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    # Vendors in name order, each its own group.
    assert html.index("Acme Electrical") < html.index("Ferguson HVAC Supply")
    assert f'id="vendor-{other_vendor.pk}"' in html
    assert "CAP-45-5" in html
    assert "Run capacitor 45/5 µF" in html
    assert "<strong>2</strong> each" in html
    assert "1 already on order" in html
    assert reverse("jobs:detail", args=[first.job_id]) in html
    assert first.job.number in html
    assert "Harbor Bakery" in html
    assert "Main warehouse" in html
    assert "<strong>50</strong> ft" in html
    assert second.job.number in html
    assert f'name="reservation_ids" value="{first.pk}"' in html
    assert "Create draft purchase orders" in html
    assert response.context["nav_active"] == "purchasing"


@pytest.mark.django_db
def test_items_without_a_vendor_are_their_own_group_and_cannot_be_ticked(client_as, office, warehouse, short):
    loose = ItemFactory(sku="ODD-1", name="Odd fitting", preferred_vendor=None)
    need = short(loose, warehouse, "2")

    html = client_as(office).get(URL).content.decode()

    assert "No preferred vendor" in html
    assert "A vendor must be chosen" in html
    assert f'value="{need.pk}"' not in html
    # Nothing a draft could be made of: no draft button.
    assert "Create draft purchase orders" not in html


@pytest.mark.django_db
def test_empty_state(client_as, office):
    html = client_as(office).get(URL).content.decode()
    assert "Nothing to order — every job's materials are in stock or on order." in html


@pytest.mark.django_db
def test_below_reorder_point_section(client_as, office, warehouse, stock):
    low = ItemFactory(sku="FLT-20", name="Filter 20x25", reorder_point_milli=5000)
    fine = ItemFactory(sku="FLT-16", name="Filter 16x25", reorder_point_milli=2000)
    stock(low, warehouse, "4")
    stock(fine, warehouse, "9")

    response = client_as(office).get(URL)

    restock = response.context["restock"]
    assert [row["item"].sku for row in restock] == ["FLT-20"]
    assert (restock[0]["on_hand"], restock[0]["free"], restock[0]["reorder_point"]) == ("4", "4", "5")
    assert "Below reorder point" in response.content.decode()


@pytest.mark.django_db
def test_draft_everything_creates_one_po_per_vendor_and_links_them(client_as, office, item, warehouse, short):
    wire = ItemFactory(sku="WIRE-14", preferred_vendor=VendorFactory(name="Acme Electrical"))
    a = short(item, warehouse, "3")
    b = short(wire, warehouse, "10")

    response = client_as(office).post(DRAFT_URL, follow=True)

    drafts = list(PurchaseOrder.objects.order_by("vendor__name"))
    assert [(po.vendor.name, po.status) for po in drafts] == [("Acme Electrical", "draft"), ("Ferguson HVAC Supply", "draft")]
    assert set(PurchaseOrderLine.objects.values_list("reservation_id", "quantity_milli")) == {(a.pk, 3000), (b.pk, 10000)}
    html = response.content.decode()
    assert "2 draft purchase orders created" in html
    for po in drafts:
        assert f'<a href="{reverse("inventory:po_detail", args=[po.pk])}">Draft #{po.pk}' in html
    # Everything is on order now.
    assert "Nothing to order" in html


@pytest.mark.django_db
def test_draft_only_the_ticked_rows(client_as, office, item, warehouse, short):
    a = short(item, warehouse, "3")
    b = short(item, warehouse, "1")

    client_as(office).post(DRAFT_URL, {"reservation_ids": [str(b.pk)]})

    [line] = PurchaseOrderLine.objects.all()
    assert (line.reservation_id, line.quantity_milli) == (b.pk, 1000)
    assert [n.reservation.pk for n in client_as(office).get(URL).context["groups"][0].needs] == [a.pk]


@pytest.mark.django_db
def test_draft_with_nothing_to_order_changes_nothing(client_as, office):
    response = client_as(office).post(DRAFT_URL, follow=True)
    assert "Nothing is waiting to be ordered from a vendor." in response.content.decode()
    assert not PurchaseOrder.objects.exists()


@pytest.mark.django_db
def test_technicians_get_403_and_change_nothing(client_as, tech_a, office, item, warehouse, short):
    short(item, warehouse, "2")
    http = client_as(tech_a.user)
    assert http.get(URL).status_code == 403
    assert http.post(DRAFT_URL).status_code == 403
    assert not PurchaseOrder.objects.exists()


@pytest.mark.django_db
def test_a_role_without_the_purchase_capability_gets_403(client_as, dispatcher, item, warehouse, short, monkeypatch):
    short(item, warehouse, "2")
    monkeypatch.setitem(CAPABILITIES, Role.DISPATCHER, without(Role.DISPATCHER, "inventory.purchase"))
    http = client_as(dispatcher)
    assert http.get(URL).status_code == 403
    assert http.post(DRAFT_URL).status_code == 403
    assert not PurchaseOrder.objects.exists()
    # The navigation offers only what the user may open: Stock stays, Purchasing goes.
    keys = [key for _, _, key in http.get(reverse("inventory:items")).context["nav_items"]]
    assert "stock" in keys
    assert "purchasing" not in keys


@pytest.mark.django_db
def test_navigation_offers_purchasing_and_stock_after_customers(client_as, office, tech_a):
    keys = [key for _, _, key in client_as(office).get(URL).context["nav_items"]]
    # The office sees agreements and billing too: they sit between Customers and Purchasing.
    assert keys[keys.index("customers") + 1 : keys.index("customers") + 5] == ["agreements", "invoices", "purchasing", "stock"]
    tech_keys = [key for _, _, key in client_as(tech_a.user).get(reverse("jobs:list")).context["nav_items"]]
    assert "purchasing" not in tech_keys
    assert "stock" not in tech_keys


@pytest.mark.django_db
def test_query_count_does_not_grow_with_rows(client_as, office, warehouse, short, django_assert_max_num_queries):
    vendors = [VendorFactory(name=f"Vendor {n}") for n in range(3)]

    def add(count):  # type: ignore[no-untyped-def]
        for n in range(count):
            item = ItemFactory(preferred_vendor=vendors[n % 3], reorder_point_milli=1000)
            short(item, warehouse, "2")

    http = client_as(office)
    add(3)
    http.get(URL)  # warm the session
    with django_assert_max_num_queries(8) as few:
        assert len(http.get(URL).context["groups"]) == 3
    add(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = http.get(URL)
    assert sum(len(g.needs) for g in response.context["groups"]) == 30
