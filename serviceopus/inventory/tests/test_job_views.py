"""The inventory parts of the job workspace: the parts readiness panel under the header, "Materials from
stock" on the Line items tab (the table, adding and the add form's option lists; issue, return and
release are in test_job_material_actions.py) and the Purchase orders tab. Each view: what it changes, what it says when refused (having changed
nothing), who may use it, the HTMX fragment against the plain form post, and a fixed query count."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.inventory.actions import purchasing, reservations
from serviceopus.inventory.models import PurchaseOrderLine, Reservation
from serviceopus.jobs.models import Job, LineItem
from serviceopus.jobs.status import JobStatus
from serviceopus.jobs.tests.pages import WORKSPACE_QUERIES
from tests.factories import ItemFactory, LineItemFactory, VendorFactory, VisitFactory

from .job_views_support import (
    HTMX,
    LINE_ITEMS_TAB_QUERIES,
    PO_TAB_QUERIES,
    READINESS_QUERIES,
    TAB_AREA,
    html,
    tab,
    url,
    world,
)

# ---- the readiness panel -----------------------------------------------------------------------------


def test_no_panel_and_no_query_for_a_job_without_parts(client_as, dispatcher, job, django_assert_num_queries):
    client = client_as(dispatcher)
    with django_assert_num_queries(WORKSPACE_QUERIES):
        response = client.get(reverse("jobs:detail", args=[job.pk]))
    assert 'id="parts-readiness"' not in html(response)


def test_panel_lists_each_missing_item_with_the_order_bringing_it(client_as, office, job, item, warehouse, truck_a, stock, reserve):
    stock(item, warehouse, "1")
    filt = ItemFactory(sku="FLT-16", name="Pleated filter", preferred_vendor=item.preferred_vendor)
    valve = ItemFactory(sku="TXV-3T", name="TXV valve")
    pipe = ItemFactory(sku="CU-12", name="Copper pipe", unit="ft", preferred_vendor=VendorFactory(name="Pipe & Co"))
    partial = reserve(job, item, warehouse, "3")
    ordered_on = timezone.localdate() + timedelta(days=4)
    [po] = purchasing.drafts_for_shortfalls(actor=office, reservation_ids=[partial.pk])
    purchasing.po_update(actor=office, po_id=po.pk, version=po.version, ship_to_id=warehouse.pk, expected_on=ordered_on, notes="")
    po = purchasing.po_order(actor=office, po_id=po.pk)
    drafted = reserve(job, pipe, truck_a, "12.5")
    [draft] = purchasing.drafts_for_shortfalls(actor=office, reservation_ids=[drafted.pk])
    reserve(job, valve, warehouse, "1")
    stock(filt, warehouse, "2")
    reserve(job, filt, warehouse, "2")

    page = html(client_as(office).get(reverse("jobs:detail", args=[job.pk])))
    panel = page[page.index('id="parts-readiness"') : page.index("</section>", page.index('id="parts-readiness"'))]
    assert '<span class="badge badge-parts parts-partial">Partially ready</span>' in panel
    assert "3 of 4 reserved items missing" in panel
    assert '2 each × <span class="mono">CAP-45-5</span> Run capacitor 45/5 µF' in panel
    assert "Reserved at Main warehouse" in panel
    assert f'<a href="{reverse("inventory:po_detail", kwargs={"po_id": po.pk})}">PO-000001</a>, expected {ordered_on:%a %b} {ordered_on.day}' in panel
    assert '12.5 ft × <span class="mono">CU-12</span> Copper pipe' in panel
    assert f'on a draft PO, not ordered (<a href="{reverse("inventory:po_detail", kwargs={"po_id": draft.pk})}">{draft.label}</a>)' in panel
    assert '1 each × <span class="mono">TXV-3T</span> TXV valve' in panel
    assert '<span class="po-note not-ordered">not ordered</span>' in panel
    assert "FLT-16" not in panel  # held in full: not missing
    assert reverse("jobs:tab", args=[job.pk, "purchase-orders"]) in panel


def test_panel_states_ready_and_blocked(client_as, office, job, other_job, item, warehouse, stock, reserve):
    stock(item, warehouse, "2")
    reserve(job, item, warehouse, "2")
    reserve(other_job, item, warehouse, "1")
    client = client_as(office)
    ready = html(client.get(reverse("jobs:detail", args=[job.pk])))
    assert '<span class="badge badge-parts parts-ready">Parts ready</span>' in ready
    assert "The reserved item is on hand or issued" in ready
    blocked = html(client.get(reverse("jobs:detail", args=[other_job.pk])))
    assert '<span class="badge badge-parts parts-blocked">Blocked by parts</span>' in blocked
    assert "1 of 1 reserved item missing" in blocked


def test_a_technician_sees_the_panel_without_links_to_orders(client_as, office, tech_a, job, item, warehouse, reserve):
    reservation = reserve(job, item, warehouse, "2")
    purchasing.drafts_for_shortfalls(actor=office, reservation_ids=[reservation.pk])
    page = html(client_as(tech_a.user).get(reverse("jobs:detail", args=[job.pk])))
    assert "Blocked by parts" in page
    assert "on a draft PO, not ordered (Draft PO #" in page
    assert 'href="/purchase-orders/' not in page


# ---- the Line items tab --------------------------------------------------------------------------------


def test_the_tab_shows_each_line_with_its_state_and_actions(client_as, office, job, item, warehouse, truck_a, stock, reserve):
    stock(item, warehouse, "3")
    valve = ItemFactory(sku="TXV-3T", name="TXV valve")
    ready = reserve(job, item, warehouse, "3")
    reservations.material_issue(actor=office, reservation_id=ready.pk, quantity="1")
    short = reserve(job, valve, truck_a, "2")
    page = html(client_as(office).get(tab(job)))
    section = page[page.index('id="materials"') :]
    row = section[section.index(f'id="mat-{ready.pk}"') : section.index("</tr>", section.index(f'id="mat-{ready.pk}"'))]
    assert "Ready" in row
    assert 'value="2"' in row
    assert url("job_material_issue", job, ready) in row
    assert url("job_material_return", job, ready) in row
    assert 'hx-confirm="Release the 2 each still held or awaited?"' in row
    row = section[section.index(f'id="mat-{short.pk}"') : section.index("</tr>", section.index(f'id="mat-{short.pk}"'))]
    assert "Not in stock" in row
    assert "not ordered" in row
    assert url("job_material_issue", job, short) not in row  # nothing held to issue
    assert url("job_material_return", job, short) not in row  # nothing issued to return
    assert url("job_material_release", job, short) in row


def test_a_technician_sees_the_materials_read_only(client_as, tech_a, job, item, warehouse, reserve):
    reserve(job, item, warehouse, "2")
    page = html(client_as(tech_a.user).get(tab(job)))
    assert "Materials from stock" in page
    assert "CAP-45-5" in page
    assert "/materials/" not in page


def test_a_technician_sees_no_section_on_a_job_without_parts(client_as, tech_a, office, job):
    assert 'id="materials"' not in html(client_as(tech_a.user).get(tab(job)))
    assert url("job_material_add", job) in html(client_as(office).get(tab(job)))


def test_a_closed_job_shows_its_materials_without_actions(client_as, office, job, item, warehouse, reserve):
    reserve(job, item, warehouse, "1")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.INVOICED)
    page = html(client_as(office).get(tab(job)))
    assert "Materials are locked: the job is invoiced." in page
    assert "/materials/" not in page


@pytest.mark.parametrize("count", [2, 6])
def test_the_tab_and_the_panel_read_a_fixed_number_of_queries(count, client_as, office, job, vendor, warehouse, stock, reserve, django_assert_num_queries):
    items = [ItemFactory(preferred_vendor=vendor) for _ in range(count)]
    for i, item in enumerate(items):
        stock(item, warehouse, "1")
        reservation = reserve(job, item, warehouse, "2")  # half short
        if i % 2:
            reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1")
    purchasing.drafts_for_shortfalls(actor=office)
    reserve(job, ItemFactory(preferred_vendor=vendor), warehouse, "1")  # still to order: the PO tab names its vendor
    client = client_as(office)
    with django_assert_num_queries(LINE_ITEMS_TAB_QUERIES):
        response = client.get(tab(job))
    assert len(response.context["tab_sections"][0]["rows"]) == count + 1
    with django_assert_num_queries(WORKSPACE_QUERIES + READINESS_QUERIES):
        client.get(reverse("jobs:detail", args=[job.pk]))
    with django_assert_num_queries(PO_TAB_QUERIES):
        response = client.get(tab(job, "purchase-orders"))
    assert len(response.context["orders"]) == 1
    assert len(response.context["to_order"]) == 1


# ---- add from stock -------------------------------------------------------------------------------------


def test_the_add_form_opens_as_page_or_fragment(client_as, office, job, warehouse):
    client = client_as(office)
    page = client.get(url("job_material_add", job))
    assert page.status_code == 200
    assert "<html" in html(page)
    assert 'id="mat-add"' in html(page)
    assert f'<option value="{warehouse.pk}">Main warehouse</option>' in html(page)
    fragment = client.get(url("job_material_add", job), **HTMX)
    assert fragment.status_code == 200
    assert "<html" not in html(fragment)
    assert html(fragment).lstrip().startswith('<section id="line-items-panel">')
    assert 'id="mat-add"' in html(fragment)


def test_add_reserves_and_a_plain_post_goes_back_to_the_tab(client_as, office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    response = client_as(office).post(url("job_material_add", job), {"item": "cap-45-5", "location": warehouse.pk, "quantity": "2"}, follow=True)
    assert response.redirect_chain == [(tab(job) + "#materials", 302)]
    reservation = Reservation.objects.get(job=job)
    assert (reservation.item_id, reservation.quantity_milli, reservation.allocated_milli) == (item.pk, 2000, 2000)
    assert LineItem.objects.get(job=job).quantity == Decimal("2.000")
    assert "Added 2 each × CAP-45-5 from Main warehouse." in html(response)
    assert Job.objects.get(pk=job.pk).parts_readiness == "ready"


def test_the_first_material_over_htmx_reloads_the_page_for_the_new_panel(client_as, office, job, item, warehouse, stock):
    stock(item, warehouse, "5")
    response = client_as(office).post(url("job_material_add", job), {"item": "CAP-45-5", "location": warehouse.pk, "quantity": "1"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == tab(job)
    assert Reservation.objects.filter(job=job).count() == 1


def test_add_over_htmx_answers_with_the_panel_and_the_header_out_of_band(client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "1")
    reserve(job, item, warehouse, "1")
    filt = ItemFactory(sku="FLT-16", name="Pleated filter")
    response = client_as(office).post(url("job_material_add", job), {"item": "Pleated", "location": warehouse.pk, "quantity": "4", "backorder": "on"}, **HTMX)
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    body = html(response)
    assert body.lstrip().startswith('<section id="line-items-panel">')
    assert "<html" not in body
    assert "FLT-16 · Pleated filter" in body  # the new line in the lines table
    assert "Added 4 each × FLT-16 from Main warehouse; 4 each short, backordered." in body
    assert 'id="parts-readiness" aria-labelledby="parts-title" hx-swap-oob="true"' in body
    assert "Partially ready" in body
    assert Reservation.objects.get(item=filt).short_milli == 4000


def test_not_enough_stock_is_a_field_error_that_keeps_what_was_typed(client_as, office, job, item, warehouse, stock):
    stock(item, warehouse, "1")
    before = world()
    response = client_as(office).post(url("job_material_add", job), {"item": "CAP-45-5", "location": warehouse.pk, "quantity": "3"}, **HTMX)
    assert response.status_code == 409
    body = html(response)
    assert 'id="mat-quantity-error" role="alert"' in body
    assert "Only 1 each of CAP-45-5 is free at Main warehouse; 3 needed." in body
    assert 'name="item" list="mat-item-options" value="CAP-45-5"' in body
    assert 'name="quantity" value="3"' in body
    assert f'<option value="{warehouse.pk}" selected>Main warehouse — 1 each free</option>' in body
    assert 'class="field mat-backorder suggest"' in body
    assert world() == before


def test_add_with_backorder_holds_what_there_is(client_as, office, job, item, warehouse, stock):
    stock(item, warehouse, "1")
    client_as(office).post(url("job_material_add", job), {"item": "CAP-45-5", "location": warehouse.pk, "quantity": "3", "backorder": "on"})
    reservation = Reservation.objects.get(job=job)
    assert (reservation.allocated_milli, reservation.short_milli) == (1000, 2000)
    assert Job.objects.get(pk=job.pk).parts_readiness == "partial"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"item": "NOPE-1", "quantity": "1"}, "item", "No active item matches “NOPE-1”. Type its SKU or part of its name."),
        ({"item": "Part", "quantity": "1"}, "item", "Several items match “Part” (SKU-A1, SKU-A2); type the SKU of the one you want."),
        ({"item": "CAP-45-5", "quantity": "abc"}, "quantity", "Enter a number, such as 2 or 1.5."),
        ({"item": "CAP-45-5", "quantity": "1.0005"}, "quantity", "At most 3 decimal places."),
        ({"item": "CAP-45-5", "quantity": "0"}, "quantity", "Enter a quantity above zero."),
        ({"item": "CAP-45-5", "quantity": "1", "location": ""}, "location", "This field is required."),
        ({"item": "CAP-45-5", "quantity": "1", "location": "999999"}, "location", "Select a valid choice. 999999 is not one of the available choices."),
    ],
)
def test_add_validation_errors_change_nothing(data, field, message, client_as, office, job, item, warehouse, stock):
    ItemFactory(sku="SKU-A1", name="Part one")
    ItemFactory(sku="SKU-A2", name="Part two")
    stock(item, warehouse, "5")
    before = world()
    response = client_as(office).post(url("job_material_add", job), {"location": warehouse.pk, **data})
    assert response.status_code == 422
    assert response.context["tab_sections"][0]["add_form"].errors[field] == [message]
    assert message.replace("“", "&ldquo;") in html(response) or message in html(response)
    assert world() == before


def test_a_name_that_matches_one_item_is_enough(client_as, office, job, item, warehouse, stock):
    stock(item, warehouse, "2")
    client_as(office).post(url("job_material_add", job), {"item": "capacitor", "location": warehouse.pk, "quantity": "1"})
    assert Reservation.objects.get(job=job).item == item


def test_add_on_a_closed_job_is_refused_with_a_message(client_as, office, job, item, warehouse, stock):
    stock(item, warehouse, "2")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.CLOSED)
    before = world()
    response = client_as(office).post(url("job_material_add", job), {"item": "CAP-45-5", "location": warehouse.pk, "quantity": "1"}, **HTMX)
    assert response.status_code == 409
    assert 'class="toast toast-error"' in html(response)
    assert world() == before


# ---- the add form's option lists ---------------------------------------------------------------------------


def test_item_options_say_what_is_free_where(client_as, office, job, item, warehouse, truck_a, stock, reserve):
    stock(item, warehouse, "3")
    stock(item, truck_a, "1")
    reserve(job, item, warehouse, "1")
    ItemFactory(sku="CAP-10", name="Start capacitor")
    response = client_as(office).get(url("job_material_items", job), {"item": "cap"})
    assert response.status_code == 200
    body = html(response)
    assert '<option value="CAP-45-5">Run capacitor 45/5 µF — Truck 1 · Alex 1, Main warehouse 2</option>' in body
    assert '<option value="CAP-10">Start capacitor — none free</option>' in body


def test_place_options_say_what_is_free_of_the_item(client_as, office, job, item, warehouse, truck_a, stock):
    stock(item, warehouse, "3")
    response = client_as(office).get(url("job_material_places", job), {"item": "CAP-45-5", "location": truck_a.pk})
    body = html(response)
    assert f'<option value="{warehouse.pk}">Main warehouse — 3 each free</option>' in body
    assert f'<option value="{truck_a.pk}" selected>Truck 1 · Alex (truck) — 0 each free</option>' in body


# ---- the Purchase orders tab ----------------------------------------------------------------------------------


def test_the_tab_explains_itself_when_there_are_no_orders(client_as, office, job):
    body = html(client_as(office).get(tab(job, "purchase-orders")))
    assert "No purchase orders for this job" in body
    assert url("job_po_drafts", job) not in body


def test_the_tab_lists_the_orders_with_this_jobs_lines(client_as, office, job, other_job, item, warehouse, stock, reserve):
    mine = reserve(job, item, warehouse, "2")
    theirs = reserve(other_job, item, warehouse, "5")
    [po] = purchasing.drafts_for_shortfalls(actor=office, reservation_ids=[mine.pk, theirs.pk])
    po = purchasing.po_order(actor=office, po_id=po.pk)
    body = html(client_as(office).get(tab(job, "purchase-orders")))
    assert f'<a href="{reverse("inventory:po_detail", kwargs={"po_id": po.pk})}"><strong>PO-000001</strong></a>' in body
    assert '<span class="badge po-status po-ordered">Ordered</span>' in body
    assert "2 each ordered, 0 received" in body
    assert "5 each" not in body  # the other job's line
    assert url("job_po_drafts", job) not in body  # everything short is on order


def test_the_draft_button_shows_only_when_something_is_to_order_and_for_purchasers(client_as, office, tech_a, job, item, warehouse, reserve):
    reserve(job, item, warehouse, "2")
    assert url("job_po_drafts", job) in html(client_as(office).get(tab(job, "purchase-orders")))
    body = html(client_as(tech_a.user).get(tab(job, "purchase-orders")))
    assert "Still to order" in body
    assert url("job_po_drafts", job) not in body


def test_an_item_without_a_vendor_is_left_to_a_person(client_as, office, job, warehouse, reserve):
    reserve(job, ItemFactory(sku="TXV-3T", preferred_vendor=None), warehouse, "1")
    body = html(client_as(office).get(tab(job, "purchase-orders")))
    assert "No preferred vendor" in body
    assert url("job_po_drafts", job) not in body


def test_drafting_orders_covers_this_jobs_shortfalls_only(client_as, office, job, other_job, item, warehouse, reserve):
    mine = reserve(job, item, warehouse, "2")
    reserve(other_job, item, warehouse, "5")
    response = client_as(office).post(url("job_po_drafts", job), **TAB_AREA)
    assert response.status_code == 200
    [line] = PurchaseOrderLine.objects.all()
    assert (line.reservation_id, line.quantity_milli, line.job_id) == (mine.pk, 2000, job.pk)
    body = html(response)
    assert body.lstrip().startswith('<div id="tab-area">')
    assert f"Drafted 1 purchase order: Draft PO #{line.purchase_order_id} (Ferguson HVAC Supply). Check it and mark it ordered." in body
    assert 'id="parts-readiness" aria-labelledby="parts-title" hx-swap-oob="true"' in body
    assert "on a draft PO, not ordered" in body


def test_drafting_with_nothing_to_order_is_a_message(client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "1")
    reserve(job, item, warehouse, "1")
    before = world()
    response = client_as(office).post(url("job_po_drafts", job), **TAB_AREA)
    assert response.status_code == 409
    assert "Nothing is waiting to be ordered from a vendor." in html(response)
    plain = client_as(office).post(url("job_po_drafts", job), follow=True)
    assert plain.redirect_chain == [(tab(job, "purchase-orders"), 302)]
    assert "Nothing is waiting to be ordered from a vendor." in html(plain)
    assert world() == before


# ---- who may -------------------------------------------------------------------------------------------------


def writes(job, reservation):  # type: ignore[no-untyped-def]
    return [
        (url("job_material_add", job), {"item": "CAP-45-5", "location": "", "quantity": "1"}),
        (url("job_material_issue", job, reservation), {"quantity": "1"}),
        (url("job_material_return", job, reservation), {"quantity": "1"}),
        (url("job_material_release", job, reservation), {}),
        (url("job_po_drafts", job), {}),
    ]


def test_a_technician_may_not_change_materials_on_their_own_job(client_as, office, tech_a, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "1")
    reservation = reserve(job, item, warehouse, "2")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1")
    client = client_as(tech_a.user)
    before = world()
    for target, data in writes(job, reservation):
        assert client.post(target, {**data, "location": warehouse.pk}).status_code == 403, target
    for name in ("job_material_add", "job_material_items", "job_material_places"):
        assert client.get(url(name, job)).status_code == 403
    assert world() == before


def test_a_technician_gets_404_on_someone_elses_job(client_as, tech_a, other_job, item, warehouse, reserve):
    reservation = reserve(other_job, item, warehouse, "2")
    client = client_as(tech_a.user)
    before = world()
    for target, data in writes(other_job, reservation):
        assert client.post(target, data).status_code == 404, target
    for name in ("job_material_add", "job_material_items", "job_material_places"):
        assert client.get(url(name, other_job)).status_code == 404
    assert world() == before


def test_a_reservation_of_another_job_is_404(client_as, office, job, other_job, item, warehouse, reserve):
    reservation = reserve(other_job, item, warehouse, "2")
    before = world()
    for name in ("job_material_issue", "job_material_return", "job_material_release"):
        assert client_as(office).post(url(name, job, reservation), {"quantity": "1"}).status_code == 404
    assert world() == before


def test_a_technician_on_the_crew_still_sees_the_tab(client_as, tech_a, item, warehouse, reserve):
    visit = VisitFactory(crew=[tech_a])
    reserve(visit.job, item, warehouse, "1")
    LineItemFactory(job=visit.job)
    assert client_as(tech_a.user).get(tab(visit.job)).status_code == 200
