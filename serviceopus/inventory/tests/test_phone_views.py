"""The technician's materials on the phone: the visit screen's "Materials used" section (search the
truck, record usage, undo) and the My truck page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from serviceopus.dispatch.status import VisitStatus
from serviceopus.inventory.actions.reservations import material_reserve, usage_record
from serviceopus.inventory.models import Reservation, StockBalance, StockMovement
from serviceopus.inventory.views.phone import MATCH_LIMIT
from serviceopus.jobs.models import JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, TruckFactory, VisitFactory

pytestmark = pytest.mark.django_db
V = VisitStatus
HTMX_SECTION = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "materials"}
HTMX_RESULTS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "materials-results"}
# session, user, the visit (with its crew and their skills, the job's required skills: four), the truck,
# the visit's usage, the truck's stock (while searching)
SECTION_QUERIES = 9


def section_url(visit) -> str:  # type: ignore[no-untyped-def]
    return reverse("inventory:visit_materials", args=[visit.pk])


def add_url(visit) -> str:  # type: ignore[no-untyped-def]
    return reverse("inventory:usage_add", args=[visit.pk])


def undo_url(visit, reservation) -> str:  # type: ignore[no-untyped-def]
    return reverse("inventory:usage_undo", args=[visit.pk, reservation.pk])


def on_truck(item, truck) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return StockBalance.objects.filter(item=item, location=truck).values_list("on_hand_milli", "reserved_milli").first() or (0, 0)


def rows() -> tuple:
    """Everything a usage or an undo could touch."""
    return (
        list(LineItem.objects.order_by("pk").values()),
        list(Reservation.objects.order_by("pk").values()),
        list(StockBalance.objects.order_by("pk").values()),
        StockMovement.objects.count(),
        JobEvent.objects.count(),
    )


@pytest.fixture
def visit(tech_a):  # type: ignore[no-untyped-def]
    return VisitFactory(crew=[tech_a], status=V.ARRIVED)


@pytest.fixture
def loaded(item, truck_a, stock):  # type: ignore[no-untyped-def]
    stock(item, truck_a, "5")
    return item


# ---- the visit screen's placeholder ----------------------------------------------------------------


def test_the_visit_screen_loads_the_section_and_links_to_it_without_javascript(client_as, tech_a, visit):
    html = client_as(tech_a.user).get(reverse("field:visit", args=[visit.pk])).content.decode()
    assert f'hx-get="{section_url(visit)}" hx-trigger="load"' in html
    assert f'<a class="fd-btn fd-btn-secondary" href="{section_url(visit)}">Record materials used</a>' in html
    assert "css/truck.css" in html


# ---- search ----------------------------------------------------------------------------------------


def test_search_lists_only_the_trucks_items_with_what_is_free_there(client_as, office, tech_a, visit, truck_a, warehouse, stock):
    for n in range(MATCH_LIMIT + 3):
        stock(ItemFactory(sku=f"CAP-{n:02d}", name=f"Capacitor {n}"), truck_a, "2")
    ItemFactory(sku="CAP-99", name="In the catalogue only")
    stock(ItemFactory(sku="CAP-98", name="In the warehouse only"), warehouse, "9")
    dual = ItemFactory(sku="DUAL-1", name="Dual run capacitor 40/5")
    stock(dual, truck_a, "4")
    material_reserve(actor=office, job_id=VisitFactory(crew=[tech_a]).job_id, item_id=dual.pk, location_id=truck_a.pk, quantity="1.5")

    client = client_as(tech_a.user)
    page = client.get(section_url(visit), {"q": "cap"})
    matches = page.context["matches"]
    # At most MATCH_LIMIT, SKU prefix first, then names containing the text; nothing off the truck.
    assert [m.item.sku for m in matches] == [f"CAP-{n:02d}" for n in range(MATCH_LIMIT)]

    fragment = client.get(section_url(visit), {"q": "cap"}, **HTMX_RESULTS)
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="materials-results"')
    assert html.count('type="radio" name="item"') == MATCH_LIMIT
    assert "In the catalogue only" not in html
    assert "In the warehouse only" not in html

    [match] = client.get(section_url(visit), {"q": "dual"}).context["matches"]
    assert (match.on_hand, match.free) == ("4", "2.5")
    text = client.get(section_url(visit), {"q": "dual"}, **HTMX_RESULTS).content.decode()
    assert "<strong>2.5</strong> each free" in text
    assert "4 on truck" in text
    # The only match is picked already: the technician just sets the quantity.
    assert f'value="{dual.pk}" checked' in text


def test_name_search_and_no_match(client_as, tech_a, visit, loaded):
    client = client_as(tech_a.user)
    assert [m.item.sku for m in client.get(section_url(visit), {"q": "run cap"}).context["matches"]] == ["CAP-45-5"]
    response = client.get(section_url(visit), {"q": "zz-none"}, **HTMX_RESULTS)
    assert "Nothing on your truck matches “zz-none”." in response.content.decode()
    assert 'name="item"' not in response.content.decode()


def test_search_works_as_a_plain_get_page(client_as, tech_a, visit, loaded):
    response = client_as(tech_a.user).get(section_url(visit), {"q": "CAP"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "‹ Back to the visit" in html
    assert f'action="{add_url(visit)}"' in html
    assert "CAP-45-5" in html


# ---- recording usage ---------------------------------------------------------------------------------


def test_adding_usage_bills_it_on_the_job_and_takes_it_off_the_truck(client_as, tech_a, visit, loaded, truck_a):
    response = client_as(tech_a.user).post(add_url(visit), {"q": "CAP", "item": loaded.pk, "quantity": "2"}, **HTMX_SECTION)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "closeout-changed"
    line = LineItem.objects.get(job=visit.job)
    assert (line.kind, line.description, line.quantity, line.unit_price_cents, line.unit_cost_cents) == (
        "material",
        "CAP-45-5 · Run capacitor 45/5 µF",
        Decimal("2.000"),
        4900,
        1850,
    )
    assert on_truck(loaded, truck_a) == (3000, 0)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="materials"')
    assert "Recorded 2 each × CAP-45-5" in html
    [row] = client_as(tech_a.user).get(section_url(visit)).context["rows"]
    assert (row.item.sku, row.net, row.mine) == ("CAP-45-5", "2", True)
    assert f'action="{undo_url(visit, row.reservation)}"' in html


def test_adding_without_javascript_redirects_to_the_section_page(client_as, tech_a, visit, loaded):
    client = client_as(tech_a.user)
    response = client.post(add_url(visit), {"item": loaded.pk, "quantity": "1.5"})
    assert response.status_code == 302
    assert response["Location"] == section_url(visit) + "#materials"
    page = client.get(response["Location"]).content.decode()
    assert "Recorded 1.5 each × CAP-45-5" in page
    assert LineItem.objects.get(job=visit.job).quantity == Decimal("1.500")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"quantity": "9"}, None, "Only 5 each of CAP-45-5 is free at Truck 1 · Alex; 9 needed."),
        ({"quantity": "abc"}, "quantity", "Enter a number, such as 2 or 1.5."),
        ({"quantity": "0"}, "quantity", "Enter a quantity above zero."),
        ({"quantity": "1.0005"}, "quantity", "At most 3 decimal places."),
        ({"quantity": "1", "item": ""}, "item", "Choose an item from your truck."),
    ],
)
def test_a_refused_usage_says_why_in_the_section_and_changes_nothing(data, field, message, client_as, tech_a, visit, loaded):
    before = rows()
    response = client_as(tech_a.user).post(add_url(visit), {"q": "CAP", "item": loaded.pk, **data}, **HTMX_SECTION)
    assert response.status_code in (409, 422)
    assert "HX-Trigger" not in response
    assert rows() == before
    html = response.content.decode()
    if field == "quantity":
        assert f'aria-invalid="true" aria-describedby="tk-qty-error-{visit.pk}"' in html
        assert f'<p class="field-error" id="tk-qty-error-{visit.pk}" role="alert">{message}</p>' in html
    elif field == "item":
        assert f'<p class="field-error" role="alert">{message}</p>' in html
    else:
        assert f'<p class="tk-error" role="alert">{message}</p>' in html
    # The search and the typed quantity stay, ready to correct.
    assert '<input type="hidden" name="q" value="CAP">' in html
    assert f'name="quantity" value="{data["quantity"]}"' in html


def test_usage_before_the_visit_started_is_refused(client_as, tech_a, loaded):
    visit = VisitFactory(crew=[tech_a], status=V.SCHEDULED)
    before = rows()
    client = client_as(tech_a.user)
    section = client.get(section_url(visit), **HTMX_SECTION).content.decode()
    assert "Record materials once you are on your way to this visit, or on site." in section
    assert f'action="{add_url(visit)}"' not in section
    response = client.post(add_url(visit), {"item": loaded.pk, "quantity": "1"}, **HTMX_SECTION)
    assert response.status_code == 409
    assert "Record materials once you are on the way to, or at, this visit." in response.content.decode()
    assert rows() == before


def test_a_technician_without_a_truck_is_told_so(client_as, tech_b, loaded):
    visit = VisitFactory(crew=[tech_b], status=V.WORKING)
    before = rows()
    client = client_as(tech_b.user)
    assert "You have no truck stock location" in client.get(section_url(visit), **HTMX_SECTION).content.decode()
    response = client.post(add_url(visit), {"item": loaded.pk, "quantity": "1"}, **HTMX_SECTION)
    assert response.status_code == 409
    assert "You have no truck stock location; ask the office to set one up." in response.content.decode()
    assert rows() == before


def test_a_closed_job_takes_no_usage(client_as, tech_a, loaded):
    visit = VisitFactory(crew=[tech_a], status=V.COMPLETED, job__status=JobStatus.INVOICED)
    before = rows()
    client = client_as(tech_a.user)
    assert "Materials cannot change on a job that is invoiced." in client.get(section_url(visit), **HTMX_SECTION).content.decode()
    assert client.post(add_url(visit), {"item": loaded.pk, "quantity": "1"}, **HTMX_SECTION).status_code == 409
    assert rows() == before


# ---- undo ------------------------------------------------------------------------------------------


def test_undo_returns_to_the_truck_and_lowers_the_line(client_as, tech_a, visit, loaded, truck_a):
    reservation = usage_record(actor=tech_a.user, visit_id=visit.pk, item_id=loaded.pk, quantity="3")
    client = client_as(tech_a.user)

    response = client.post(undo_url(visit, reservation), {"quantity": "1"}, **HTMX_SECTION)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "closeout-changed"
    assert LineItem.objects.get(job=visit.job).quantity == Decimal("2.000")
    assert on_truck(loaded, truck_a) == (3000, 0)
    back = StockMovement.objects.get(kind=StockMovement.Kind.RETURN)
    assert (back.to_location_id, back.quantity_milli, back.reason, back.actor_id) == (truck_a.pk, 1000, "Recorded by mistake", tech_a.user.pk)
    html = response.content.decode()
    assert "<strong>2</strong> each" in html
    assert "3 used, 1 taken back" in html
    assert 'name="quantity" value="2"' in html

    # Undoing the rest removes the line: nothing of it is billed any more.
    response = client.post(undo_url(visit, reservation), {"quantity": "2"})
    assert response.status_code == 302
    assert not LineItem.objects.filter(job=visit.job).exists()
    assert on_truck(loaded, truck_a) == (5000, 0)
    page = client.get(section_url(visit))
    [row] = page.context["rows"]
    assert row.net_milli == 0
    assert f'action="{undo_url(visit, reservation)}"' not in page.content.decode()


@pytest.mark.parametrize(
    ("quantity", "message"),
    [("3", "Only 2 each of CAP-45-5 were issued to this job and not returned."), ("x", "Enter a number, such as 2 or 1.5.")],
)
def test_a_refused_undo_shows_at_its_row_and_changes_nothing(quantity, message, client_as, tech_a, visit, loaded):
    reservation = usage_record(actor=tech_a.user, visit_id=visit.pk, item_id=loaded.pk, quantity="2")
    before = rows()
    response = client_as(tech_a.user).post(undo_url(visit, reservation), {"quantity": quantity}, **HTMX_SECTION)
    assert response.status_code == 422
    assert rows() == before
    html = response.content.decode()
    assert f'<p class="field-error" id="tk-undo-error-{reservation.pk}" role="alert">{message}</p>' in html
    assert f'name="quantity" value="{quantity}"' in html
    assert f'aria-describedby="tk-undo-error-{reservation.pk}"' in html


def test_another_crew_members_usage_cannot_be_undone_into_my_truck(client_as, tech_a, tech_b, loaded, truck_a, stock):
    truck_b = TruckFactory(technician=tech_b, name="Truck 2 · Sam")
    stock(loaded, truck_b, "2")
    visit = VisitFactory(crew=[tech_a, tech_b], status=V.WORKING)
    reservation = usage_record(actor=tech_b.user, visit_id=visit.pk, item_id=loaded.pk, quantity="1")
    before = rows()
    client = client_as(tech_a.user)
    section = client.get(section_url(visit), **HTMX_SECTION)
    assert f'action="{undo_url(visit, reservation)}"' not in section.content.decode()
    assert "from another crew member's truck" in section.content.decode()
    response = client.post(undo_url(visit, reservation), {"quantity": "1"}, **HTMX_SECTION)
    assert response.status_code == 403
    assert "This came from another truck; its technician can undo it." in response.content.decode()
    assert rows() == before


def test_undo_of_something_not_used_on_this_visit_is_404(client_as, tech_a, visit, loaded):
    other_visit = VisitFactory(crew=[tech_a], status=V.WORKING)
    reservation = usage_record(actor=tech_a.user, visit_id=other_visit.pk, item_id=loaded.pk, quantity="1")
    before = rows()
    assert client_as(tech_a.user).post(undo_url(visit, reservation), {"quantity": "1"}).status_code == 404
    assert rows() == before


# ---- who may ---------------------------------------------------------------------------------------


def test_another_technicians_visit_is_404_and_changes_nothing(client_as, tech_a, tech_b, loaded, truck_a):
    theirs = VisitFactory(crew=[tech_b], status=V.WORKING)
    mine = VisitFactory(crew=[tech_a], status=V.WORKING)
    reservation = usage_record(actor=tech_a.user, visit_id=mine.pk, item_id=loaded.pk, quantity="1")
    before = rows()
    client = client_as(tech_a.user)
    assert client.get(section_url(theirs)).status_code == 404
    assert client.get(section_url(theirs), {"q": "CAP"}, **HTMX_RESULTS).status_code == 404
    assert client.post(add_url(theirs), {"item": loaded.pk, "quantity": "1"}).status_code == 404
    assert client.post(undo_url(theirs, reservation), {"quantity": "1"}).status_code == 404
    assert rows() == before


def test_the_office_sees_the_usage_but_cannot_record_or_undo(client_as, office, tech_a, visit, loaded):
    reservation = usage_record(actor=tech_a.user, visit_id=visit.pk, item_id=loaded.pk, quantity="2")
    before = rows()
    client = client_as(office)

    section = client.get(section_url(visit), **HTMX_SECTION)
    assert section.status_code == 200
    html = section.content.decode()
    assert "CAP-45-5" in html
    assert "<strong>2</strong> each" in html
    assert f'action="{add_url(visit)}"' not in html
    assert f'action="{undo_url(visit, reservation)}"' not in html
    assert "The crew records the materials they use here" in html

    response = client.post(add_url(visit), {"item": loaded.pk, "quantity": "1"}, **HTMX_SECTION)
    assert response.status_code == 403
    assert "You may not record materials used." in response.content.decode()
    response = client.post(undo_url(visit, reservation), {"quantity": "1"})
    assert response.status_code == 403
    assert "Only the technician who used it can undo a usage here" in response.content.decode()
    assert rows() == before


# ---- query counts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 10])
@pytest.mark.parametrize("headers", [HTMX_SECTION, {}], ids=["section", "page"])
def test_the_section_reads_a_fixed_number_of_queries(count, headers, client_as, tech_a, visit, truck_a, stock, django_assert_num_queries):
    items = [ItemFactory(sku=f"CAP-{n:02d}") for n in range(10)]
    for item in items:
        stock(item, truck_a, "3")
    for item in items[:count]:
        usage_record(actor=tech_a.user, visit_id=visit.pk, item_id=item.pk, quantity="1")
    client = client_as(tech_a.user)
    with django_assert_num_queries(SECTION_QUERIES):
        response = client.get(section_url(visit), {"q": "CAP"}, **headers)
    html = response.content.decode()
    assert html.count('class="tk-undo"') == count
    assert html.count('type="radio" name="item"') == 10


# ---- My truck --------------------------------------------------------------------------------------


def test_my_truck_lists_the_trucks_stock_and_searches_it(client_as, office, tech_a, truck_a, loaded, stock):
    stock(ItemFactory(sku="FLT-1620", name="Pleated filter 16x20"), truck_a, "12")
    material_reserve(actor=office, job_id=VisitFactory(crew=[tech_a]).job_id, item_id=loaded.pk, location_id=truck_a.pk, quantity="2")
    client = client_as(tech_a.user)

    response = client.get(reverse("inventory:truck"))
    assert response.status_code == 200
    assert [(r["item"].sku, r["on_hand"], r["reserved"], r["free"]) for r in response.context["rows"]] == [
        ("CAP-45-5", "5", "2", "3"),
        ("FLT-1620", "12", "0", "12"),
    ]
    assert "Truck 1 · Alex · 2 items" in response.content.decode()

    assert [r["item"].sku for r in client.get(reverse("inventory:truck"), {"q": "filter"}).context["rows"]] == ["FLT-1620"]
    found = client.get(reverse("inventory:truck"), {"q": "flt"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="truck-stock").content.decode()
    assert found.lstrip().startswith('<div id="truck-stock">')
    assert "FLT-1620" in found
    assert "CAP-45-5" not in found


def test_my_truck_is_for_technicians(client_as, office, dispatcher, tech_b):
    assert client_as(office).get(reverse("inventory:truck")).status_code == 404
    assert client_as(dispatcher).get(reverse("inventory:truck")).status_code == 404
    response = client_as(tech_b.user).get(reverse("inventory:truck"))  # no truck set up yet
    assert response.status_code == 200
    assert "ask the office to set one up" in response.content.decode()


@pytest.mark.parametrize("count", [1, 10])
def test_my_truck_reads_a_fixed_number_of_queries(count, client_as, tech_a, truck_a, stock, django_assert_num_queries):
    for n in range(count):
        stock(ItemFactory(sku=f"PART-{n:02d}"), truck_a, "1")
    client = client_as(tech_a.user)
    client.get(reverse("inventory:truck"))
    # session, user, truck, stock
    with django_assert_num_queries(4):
        response = client.get(reverse("inventory:truck"))
    assert len(response.context["rows"]) == count


def test_my_day_links_to_my_truck(client_as, tech_a):
    assert f'href="{reverse("inventory:truck")}"' in client_as(tech_a.user).get(reverse("field:my_day")).content.decode()
