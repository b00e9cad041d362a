"""Purchase order pages: list, create, detail, header and line edits while a draft, ordering,
cancelling and receiving — each refusal shown on the form with nothing changed."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.accounts.roles import CAPABILITIES, Role
from serviceopus.inventory.actions import purchasing, reservations
from serviceopus.inventory.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine, StockBalance, StockMovement
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, JobFactory, TechnicianFactory, TruckFactory, VendorFactory


def url(name, po, line=None):  # type: ignore[no-untyped-def]
    kwargs = {"po_id": po.pk} if line is None else {"po_id": po.pk, "line_id": line.pk}
    return reverse(f"inventory:{name}", kwargs=kwargs)


def snapshot():  # type: ignore[no-untyped-def]
    """Every row these pages can write: a refused request leaves all of them as they were."""
    return (
        list(PurchaseOrder.objects.order_by("pk").values()),
        list(PurchaseOrderLine.objects.order_by("pk").values()),
        PurchaseOrderEvent.objects.count(),
        list(StockBalance.objects.order_by("pk").values()),
        StockMovement.objects.count(),
    )


@pytest.fixture
def draft(office, item, warehouse):  # type: ignore[no-untyped-def]
    return purchasing.po_create(actor=office, vendor_id=item.preferred_vendor_id, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "4"}])


@pytest.fixture
def ordered(office, draft):  # type: ignore[no-untyped-def]
    return purchasing.po_order(actor=office, po_id=draft.pk, expected_on=date(2030, 5, 17))


def only_line(po):  # type: ignore[no-untyped-def]
    return PurchaseOrderLine.objects.get(purchase_order=po)


def without(role: str, *perms: str) -> frozenset:
    return frozenset(CAPABILITIES[role] - set(perms))


# ---- list ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_shows_orders_newest_first_with_totals_and_jobs(client_as, office, item, warehouse, ordered):
    job = JobFactory(status=JobStatus.NEW)
    reservation = reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2", backorder=True)
    [from_job] = purchasing.drafts_for_shortfalls(actor=office)

    response = client_as(office).get(reverse("inventory:po_list"))

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row["po"].pk for row in rows] == [from_job.pk, ordered.pk]
    assert rows[0]["jobs"] == [reservation.job]
    assert rows[0]["total"] == "$37.00"
    assert rows[1]["total"] == "$74.00"
    assert rows[1]["jobs"] == []
    html = response.content.decode()
    assert "PO-000001" in html
    assert f"Draft #{from_job.pk}" in html
    assert "May 17, 2030" in html
    assert reverse("jobs:detail", args=[job.pk]) in html


@pytest.mark.django_db
def test_list_filters_by_status_and_paginates_fifty_a_page(client_as, office, item, warehouse, ordered):
    for _ in range(51):
        purchasing.po_create(actor=office, vendor_id=item.preferred_vendor_id, ship_to_id=warehouse.pk)
    http = client_as(office)

    drafts = http.get(reverse("inventory:po_list"), {"status": "draft"})
    assert drafts.context["page"].paginator.count == 51
    assert len(drafts.context["rows"]) == 50
    assert all(row["po"].status == "draft" for row in drafts.context["rows"])
    second = http.get(reverse("inventory:po_list"), {"status": "draft", "page": 2})
    assert len(second.context["rows"]) == 1
    [row] = http.get(reverse("inventory:po_list"), {"status": "ordered"}).context["rows"]
    assert row["po"].pk == ordered.pk
    empty = http.get(reverse("inventory:po_list"), {"status": "received"}).content.decode()
    assert "No purchase orders with the status “Received”." in empty
    # An unknown status shows everything rather than failing.
    assert http.get(reverse("inventory:po_list"), {"status": "bogus"}).context["page"].paginator.count == 52


@pytest.mark.django_db
def test_list_query_count_does_not_grow(client_as, office, warehouse, django_assert_max_num_queries):
    def add(count):  # type: ignore[no-untyped-def]
        for _ in range(count):
            item = ItemFactory()
            job = JobFactory(status=JobStatus.NEW)
            reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="1", backorder=True)
        purchasing.drafts_for_shortfalls(actor=office)

    http = client_as(office)
    add(3)
    http.get(reverse("inventory:po_list"))
    with django_assert_max_num_queries(8) as few:
        assert len(http.get(reverse("inventory:po_list")).context["rows"]) == 3
    add(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(http.get(reverse("inventory:po_list")).context["rows"]) == 30


# ---- create and edit the header ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_a_draft(client_as, office, vendor, warehouse):
    response = client_as(office).post(
        reverse("inventory:po_create"), {"vendor": vendor.pk, "ship_to": warehouse.pk, "expected_on": "2030-01-15", "notes": "Call before delivery"}
    )
    po = PurchaseOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("po_detail", po) + "#add-line"
    assert (po.status, po.vendor_id, po.ship_to_id, po.expected_on, po.notes, po.number) == (
        "draft",
        vendor.pk,
        warehouse.pk,
        date(2030, 1, 15),
        "Call before delivery",
        None,
    )


@pytest.mark.django_db
def test_create_with_errors_shows_them_and_creates_nothing(client_as, office, warehouse):
    before = snapshot()
    response = client_as(office).post(reverse("inventory:po_create"), {"vendor": "", "ship_to": warehouse.pk, "expected_on": "someday"})
    assert response.status_code == 422
    form = response.context["form"]
    assert set(form.errors) == {"vendor", "expected_on"}
    assert "Please correct the highlighted fields" in response.content.decode()
    assert snapshot() == before


@pytest.mark.django_db
def test_edit_header(client_as, office, draft):
    truck = TruckFactory(technician=TechnicianFactory())
    response = client_as(office).post(
        url("po_edit", draft), {"ship_to": truck.pk, "expected_on": "2030-02-01", "notes": "Leave at gate", "version": draft.version}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.ship_to_id, draft.expected_on, draft.notes, draft.version) == (truck.pk, date(2030, 2, 1), "Leave at gate", 2)


@pytest.mark.django_db
def test_stale_edit_is_refused_and_changes_nothing(client_as, office, draft, warehouse):
    seen = draft.version
    purchasing.po_update(actor=office, po_id=draft.pk, version=seen, ship_to_id=warehouse.pk, expected_on=None, notes="Someone else's change")
    before = snapshot()

    response = client_as(office).post(url("po_edit", draft), {"ship_to": warehouse.pk, "expected_on": "", "notes": "Mine", "version": seen})

    assert response.status_code == 409
    html = response.content.decode()
    assert "This purchase order was changed by someone else. Reload to see it." in html
    assert "Reload the current version" in html
    assert snapshot() == before


@pytest.mark.django_db
def test_an_ordered_po_keeps_its_delivery_place(client_as, office, ordered, warehouse):
    page = client_as(office).get(url("po_edit", ordered))
    assert page.context["form"].fields["ship_to"].disabled
    response = client_as(office).post(url("po_edit", ordered), {"expected_on": "2030-06-01", "notes": "", "version": ordered.version})
    assert response.status_code == 302
    ordered.refresh_from_db()
    assert (ordered.ship_to_id, ordered.expected_on) == (warehouse.pk, date(2030, 6, 1))


@pytest.mark.django_db
def test_a_closed_po_cannot_be_edited(client_as, office, draft):
    purchasing.po_cancel(actor=office, po_id=draft.pk, reason="Not needed")
    response = client_as(office).get(url("po_edit", draft), follow=True)
    assert "is cancelled; it can no longer change." in response.content.decode()


# ---- detail -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_of_an_ordered_po_with_a_receipt(client_as, office, item, warehouse, ordered):
    job = JobFactory(status=JobStatus.NEW)
    reservation = reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="1", backorder=True)
    PurchaseOrderLine.objects.filter(purchase_order=ordered).update(job=job, reservation=reservation)
    purchasing.po_receive(actor=office, po_id=ordered.pk, location_id=None, quantities={only_line(ordered).pk: "1.5"}, note="Slip 4471")

    response = client_as(office).get(url("po_detail", ordered))

    assert response.status_code == 200
    [row] = response.context["lines"]
    assert (row["ordered"], row["received"], row["open"], row["unit_cost"], row["total"]) == ("4", "1.5", "2.5", "$18.50", "$74.00")
    assert response.context["total"] == "$74.00"
    assert response.context["jobs"] == [job]
    html = response.content.decode()
    assert "PO-000001" in html
    assert "Partially received" in html
    assert "Ferguson HVAC Supply" in html
    assert "Main warehouse" in html
    assert "May 17, 2030" in html
    assert reverse("jobs:detail", args=[job.pk]) in html
    [(receipt, qty)] = response.context["receipts"]
    assert (qty, receipt.to_location_id) == ("1.5", warehouse.pk)
    assert next(e.message for e in response.context["history"]) == "Received into Main warehouse: 1.5 × CAP-45-5"
    # What an ordered order allows: receive, cancel, edit its date; not its lines, not ordering again.
    assert url("po_receive", ordered) in html
    assert url("po_cancel", ordered) in html
    assert url("po_edit", ordered) in html
    assert url("po_order", ordered) not in html
    assert url("po_line_add", ordered) not in html


@pytest.mark.django_db
def test_detail_of_a_draft_offers_lines_and_ordering_but_no_receiving(client_as, office, draft):
    html = client_as(office).get(url("po_detail", draft)).content.decode()
    assert f"Draft purchase order #{draft.pk}" in html
    assert url("po_order", draft) in html
    assert url("po_line_add", draft) in html
    assert url("po_line_edit", draft, only_line(draft)) in html
    assert url("po_receive", draft) not in html


@pytest.mark.django_db
def test_detail_of_a_received_po_offers_no_moves(client_as, office, ordered):
    purchasing.po_receive(actor=office, po_id=ordered.pk, location_id=None, quantities={only_line(ordered).pk: "4"})
    html = client_as(office).get(url("po_detail", ordered)).content.decode()
    for name in ("po_receive", "po_cancel", "po_order", "po_edit", "po_line_add"):
        assert url(name, ordered) not in html, name
    assert url("po_pdf", ordered) in html


@pytest.mark.django_db
def test_unknown_po_is_404(client_as, office):
    assert client_as(office).get(reverse("inventory:po_detail", kwargs={"po_id": 999})).status_code == 404


# ---- lines --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_add_edit_and_remove_lines_of_a_draft(client_as, office, draft):
    wire = ItemFactory(sku="WIRE-14", unit="ft", default_cost_cents=45)
    http = client_as(office)

    response = http.post(url("po_line_add", draft), {"sku": "wire-14", "quantity": "250", "unit_cost": ""})
    assert response.status_code == 302
    line = PurchaseOrderLine.objects.get(purchase_order=draft, item=wire)
    assert (line.quantity_milli, line.unit_cost_cents) == (250000, 45)

    assert http.get(url("po_line_edit", draft, line)).context["form"].initial == {"quantity": "250", "unit_cost": "0.45"}
    assert http.post(url("po_line_edit", draft, line), {"quantity": "100.5", "unit_cost": "0.40"}).status_code == 302
    line.refresh_from_db()
    assert (line.quantity_milli, line.unit_cost_cents) == (100500, 40)

    assert http.post(url("po_line_remove", draft, line)).status_code == 302
    assert not PurchaseOrderLine.objects.filter(pk=line.pk).exists()


@pytest.mark.django_db
def test_add_line_errors_stay_on_the_order_page_and_change_nothing(client_as, office, draft):
    ItemFactory(sku="OLD-1", active=False)
    http = client_as(office)
    before = snapshot()

    unknown = http.post(url("po_line_add", draft), {"sku": "NOPE", "quantity": "1", "unit_cost": "1.999"})
    assert unknown.status_code == 422
    assert unknown.context["line_form"].errors == {"sku": ["No active item has the SKU “NOPE”."], "unit_cost": ["At most two decimal places (cents)."]}
    assert "No active item has the SKU “NOPE”." in unknown.content.decode()

    inactive = http.post(url("po_line_add", draft), {"sku": "OLD-1", "quantity": "1"})
    assert inactive.context["line_form"].errors["sku"] == ["No active item has the SKU “OLD-1”."]

    # The quantity is the action's to judge: its message lands on the field.
    bad_quantity = http.post(url("po_line_add", draft), {"sku": "CAP-45-5", "quantity": "1.2345"})
    assert bad_quantity.status_code == 422
    assert bad_quantity.context["line_form"].errors == {"quantity": ["At most 3 decimal places."]}
    assert snapshot() == before


@pytest.mark.django_db
def test_line_edit_errors_change_nothing(client_as, office, draft):
    line = only_line(draft)
    before = snapshot()
    response = client_as(office).post(url("po_line_edit", draft, line), {"quantity": "0", "unit_cost": ""})
    assert response.status_code == 422
    assert response.context["form"].errors == {"unit_cost": ["Enter the unit cost in dollars, like 18.50."]}
    response = client_as(office).post(url("po_line_edit", draft, line), {"quantity": "0", "unit_cost": "2"})
    assert response.context["form"].errors == {"quantity": ["Enter a quantity above zero."]}
    assert snapshot() == before


@pytest.mark.django_db
def test_lines_of_an_ordered_po_cannot_change(client_as, office, ordered):
    line = only_line(ordered)
    http = client_as(office)
    before = snapshot()
    refused = "PO-000001 is ordered; only a draft&#x27;s lines can change."
    assert refused in http.post(url("po_line_add", ordered), {"sku": "CAP-45-5", "quantity": "1"}, follow=True).content.decode()
    assert refused in http.post(url("po_line_remove", ordered, line), follow=True).content.decode()
    assert http.get(url("po_line_edit", ordered, line)).status_code == 302
    assert snapshot() == before


@pytest.mark.django_db
def test_a_line_of_another_po_is_404(client_as, office, draft, item, warehouse):
    other = purchasing.po_create(actor=office, vendor_id=item.preferred_vendor_id, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "1"}])
    assert client_as(office).get(url("po_line_edit", draft, only_line(other))).status_code == 404


# ---- order and cancel -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_mark_as_ordered_confirms_the_expected_date(client_as, office, draft):
    http = client_as(office)
    page = http.get(url("po_order", draft))
    # Two days: the vendor's lead time.
    assert page.context["form"].initial["expected_on"] == timezone.localdate() + timedelta(days=2)
    assert "Mark as ordered" in page.content.decode()

    response = http.post(url("po_order", draft), {"expected_on": "2030-03-03"}, follow=True)

    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.expected_on) == ("ordered", "PO-000001", date(2030, 3, 3))
    html = response.content.decode()
    assert "Ordered from Ferguson HVAC Supply as <strong>PO-000001</strong>, expected Mar 3, 2030." in html
    assert url("po_pdf", draft) in html


@pytest.mark.django_db
def test_ordering_needs_a_date_and_a_line(client_as, office, vendor, warehouse):
    empty = purchasing.po_create(actor=office, vendor_id=vendor.pk, ship_to_id=warehouse.pk)
    http = client_as(office)
    before = snapshot()
    no_date = http.post(url("po_order", empty), {"expected_on": ""})
    assert no_date.status_code == 422
    assert "expected_on" in no_date.context["form"].errors
    no_lines = http.post(url("po_order", empty), {"expected_on": "2030-01-01"})
    assert no_lines.status_code == 409
    assert "Add at least one line before ordering." in no_lines.content.decode()
    assert snapshot() == before


@pytest.mark.django_db
def test_an_ordered_po_is_not_ordered_again(client_as, office, ordered):
    before = snapshot()
    response = client_as(office).post(url("po_order", ordered), {"expected_on": "2030-01-01"}, follow=True)
    assert "only a draft can be ordered" in response.content.decode()
    assert snapshot() == before


@pytest.mark.django_db
def test_cancel_needs_a_reason(client_as, office, ordered):
    http = client_as(office)
    page = http.get(url("po_cancel", ordered)).content.decode()
    assert "Cancel the order" in page
    assert 'data-confirm="Cancel PO-000001? This cannot be undone."' in page
    before = snapshot()
    refused = http.post(url("po_cancel", ordered), {"reason": "   "})
    assert refused.status_code == 422
    assert "reason" in refused.context["form"].errors
    assert snapshot() == before

    http.post(url("po_cancel", ordered), {"reason": "Vendor out of stock"})
    ordered.refresh_from_db()
    assert ordered.status == "cancelled"
    assert PurchaseOrderEvent.objects.filter(purchase_order=ordered, message="Cancelled: Vendor out of stock").exists()


# ---- receive ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_receive_form_is_prefilled_with_what_is_open(client_as, office, ordered, warehouse):
    line = only_line(ordered)
    purchasing.po_receive(actor=office, po_id=ordered.pk, location_id=None, quantities={line.pk: "1"})
    form = client_as(office).get(url("po_receive", ordered)).context["form"]
    assert form.initial[f"line_{line.pk}"] == "3"
    assert form.initial["location"] == warehouse.pk
    assert not form.initial.get("over_receipt")


@pytest.mark.django_db
def test_over_receipt_is_refused_then_accepted_with_the_box(client_as, office, ordered, warehouse):
    line = only_line(ordered)
    http = client_as(office)
    before = snapshot()

    refused = http.post(url("po_receive", ordered), {f"line_{line.pk}": "5", "location": warehouse.pk, "note": ""})

    assert refused.status_code == 422
    message = "5 is more than the 4 still open of 4 ordered; tick “over-receipt” to accept the extra."
    assert refused.context["form"].errors == {f"line_{line.pk}": [message]}
    assert message in refused.content.decode()
    assert snapshot() == before

    accepted = http.post(url("po_receive", ordered), {f"line_{line.pk}": "5", "location": warehouse.pk, "over_receipt": "on", "note": "Sent one extra"})

    assert accepted.status_code == 302
    line.refresh_from_db()
    ordered.refresh_from_db()
    assert (line.received_milli, ordered.status) == (5000, "received")
    assert StockBalance.objects.get(item=line.item, location=warehouse).on_hand_milli == 5000


@pytest.mark.django_db
def test_partial_receipt_into_another_place(client_as, office, ordered, tech_a):
    truck = TruckFactory(technician=tech_a)
    line = only_line(ordered)
    response = client_as(office).post(url("po_receive", ordered), {f"line_{line.pk}": "1", "location": truck.pk}, follow=True)
    assert f"Received into {truck.name}: 1 × CAP-45-5." in response.content.decode()
    ordered.refresh_from_db()
    assert ordered.status == "partially_received"
    assert StockBalance.objects.get(item=line.item, location=truck).on_hand_milli == 1000


@pytest.mark.django_db
def test_receive_errors_change_nothing(client_as, office, ordered, warehouse):
    line = only_line(ordered)
    http = client_as(office)
    before = snapshot()
    nothing = http.post(url("po_receive", ordered), {f"line_{line.pk}": "0", "location": warehouse.pk})
    assert nothing.status_code == 422
    assert nothing.context["form"].non_field_errors() == ["Enter the quantity received on at least one line."]
    garbage = http.post(url("po_receive", ordered), {f"line_{line.pk}": "lots", "location": warehouse.pk})
    assert garbage.context["form"].errors == {f"line_{line.pk}": ["Enter a number, such as 2 or 1.5."]}
    no_place = http.post(url("po_receive", ordered), {f"line_{line.pk}": "1", "location": ""})
    assert "location" in no_place.context["form"].errors
    assert snapshot() == before


@pytest.mark.django_db
def test_a_draft_cannot_be_received(client_as, office, draft):
    before = snapshot()
    response = client_as(office).get(url("po_receive", draft), follow=True)
    assert "only an ordered purchase order can be received" in response.content.decode()
    assert snapshot() == before


# ---- who may ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_technicians_get_403_everywhere(client_as, tech_a, draft, ordered):
    http = client_as(tech_a.user)
    line = only_line(ordered)
    before = snapshot()
    for name in ("po_detail", "po_edit", "po_order", "po_cancel", "po_receive", "po_pdf"):
        assert http.get(url(name, ordered)).status_code == 403, name
    assert http.get(reverse("inventory:po_list")).status_code == 403
    assert http.get(reverse("inventory:po_create")).status_code == 403
    assert http.post(reverse("inventory:po_create"), {"vendor": ordered.vendor_id, "ship_to": ordered.ship_to_id}).status_code == 403
    assert http.post(url("po_receive", ordered), {f"line_{line.pk}": "1", "location": ordered.ship_to_id}).status_code == 403
    assert http.post(url("po_cancel", ordered), {"reason": "x"}).status_code == 403
    assert http.post(url("po_line_remove", ordered, line)).status_code == 403
    assert snapshot() == before


@pytest.mark.django_db
def test_without_purchase_capability_orders_can_be_read_not_changed(client_as, dispatcher, draft, monkeypatch):
    monkeypatch.setitem(CAPABILITIES, Role.DISPATCHER, without(Role.DISPATCHER, "inventory.purchase"))
    http = client_as(dispatcher)
    line = only_line(draft)
    before = snapshot()
    detail = http.get(url("po_detail", draft))
    assert detail.status_code == 200
    assert url("po_order", draft) not in detail.content.decode()
    assert url("po_line_add", draft) not in detail.content.decode()
    assert http.post(url("po_order", draft), {"expected_on": "2030-01-01"}).status_code == 403
    assert http.post(url("po_line_add", draft), {"sku": "CAP-45-5", "quantity": "1"}).status_code == 403
    assert http.post(url("po_line_edit", draft, line), {"quantity": "1", "unit_cost": "1"}).status_code == 403
    assert http.post(url("po_cancel", draft), {"reason": "x"}).status_code == 403
    assert http.get(reverse("inventory:po_create")).status_code == 403
    assert snapshot() == before


@pytest.mark.django_db
def test_receiving_needs_the_manage_stock_capability(client_as, dispatcher, ordered, monkeypatch):
    monkeypatch.setitem(CAPABILITIES, Role.DISPATCHER, without(Role.DISPATCHER, "inventory.manage_stock"))
    http = client_as(dispatcher)
    before = snapshot()
    assert url("po_receive", ordered) not in http.get(url("po_detail", ordered)).content.decode()
    assert http.post(url("po_receive", ordered), {f"line_{only_line(ordered).pk}": "1", "location": ordered.ship_to_id}).status_code == 403
    assert snapshot() == before


@pytest.mark.django_db
def test_another_vendor_is_kept_apart(client_as, office, warehouse):
    """The vendor of an order cannot change through the edit form (its lines were priced with it)."""
    first = VendorFactory(name="First")
    po = purchasing.po_create(actor=office, vendor_id=first.pk, ship_to_id=warehouse.pk)
    client_as(office).post(url("po_edit", po), {"vendor": VendorFactory(name="Second").pk, "ship_to": warehouse.pk, "version": po.version})
    po.refresh_from_db()
    assert po.vendor_id == first.pk
