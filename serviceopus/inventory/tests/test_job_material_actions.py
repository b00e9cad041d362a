"""The row actions of "Materials from stock" on the job's Line items tab — issue, return, release —
and the normal line edit of an inventory-backed line: what each changes, what it says when refused
(having changed nothing), and the HTMX fragment against the plain form post."""

from decimal import Decimal

import pytest
from django.urls import reverse

from serviceopus.inventory.actions import reservations
from serviceopus.inventory.models import Reservation, StockBalance, StockMovement
from serviceopus.jobs.models import Job, LineItem

from .job_views_support import (
    HTMX,
    html,
    tab,
    url,
    world,
)

# ---- issue ------------------------------------------------------------------------------------------------


def test_issue_hands_stock_over_and_a_plain_post_goes_back(client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "3")
    reservation = reserve(job, item, warehouse, "3")
    response = client_as(office).post(url("job_material_issue", job, reservation), {"quantity": "2"})
    assert response.status_code == 302
    assert response["Location"] == tab(job) + "#materials"
    reservation.refresh_from_db()
    assert (reservation.issued_milli, reservation.allocated_milli) == (2000, 1000)
    assert StockBalance.objects.get(item=item, location=warehouse).on_hand_milli == 1000


def test_issue_over_htmx_answers_with_the_panel(client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "3")
    reservation = reserve(job, item, warehouse, "3")
    response = client_as(office).post(url("job_material_issue", job, reservation), {"quantity": "1.50"}, **HTMX)
    assert response.status_code == 200
    body = html(response)
    assert body.lstrip().startswith('<section id="line-items-panel">')
    assert "Issued 1.5 each × CAP-45-5 from Main warehouse." in body
    assert 'hx-swap-oob="true"' in body


@pytest.mark.parametrize(
    ("quantity", "status", "message"),
    [
        ("4", 422, "Only 3 each of CAP-45-5 are still to issue on this line."),
        ("-1", 422, "Enter a quantity above zero."),
        ("x", 422, "Enter a number, such as 2 or 1.5."),
    ],
)
def test_a_refused_issue_is_a_field_error_on_its_row(quantity, status, message, client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "3")
    reservation = reserve(job, item, warehouse, "3")
    before = world()
    response = client_as(office).post(url("job_material_issue", job, reservation), {"quantity": quantity}, **HTMX)
    assert response.status_code == status
    body = html(response)
    row = body[body.index(f'id="mat-{reservation.pk}"') : body.index("</tr>", body.index(f'id="mat-{reservation.pk}"'))]
    assert f'<p class="field-error">{message}</p>' in row
    assert f'value="{quantity}"' in row
    assert world() == before


def test_issuing_what_the_place_no_longer_has_says_what_is_there(client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "1")
    reservation = reserve(job, item, warehouse, "3")  # 1 held, 2 short
    before = world()
    response = client_as(office).post(url("job_material_issue", job, reservation), {"quantity": "2"}, **HTMX)
    assert response.status_code == 409
    assert "Only 1 each of CAP-45-5 is free at Main warehouse; 2 needed." in html(response)
    assert world() == before


# ---- return -----------------------------------------------------------------------------------------------


def test_return_brings_stock_back_and_bills_less(client_as, office, job, item, warehouse, truck_a, stock, reserve):
    stock(item, warehouse, "3")
    reservation = reserve(job, item, warehouse, "3")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="3")
    response = client_as(office).post(url("job_material_return", job, reservation), {"quantity": "1", "location": truck_a.pk, "reason": "Not needed"}, **HTMX)
    assert response.status_code == 200
    assert "Returned 1 each × CAP-45-5 to Truck 1 · Alex; the line bills that much less." in html(response)
    assert LineItem.objects.get(job=job).quantity == Decimal("2.000")
    movement = StockMovement.objects.get(kind="return")
    assert (movement.to_location_id, movement.reason, movement.quantity_milli) == (truck_a.pk, "Not needed", 1000)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"quantity": "3"}, "quantity", "Only 2 each of CAP-45-5 were issued to this job and not returned."),
        ({"quantity": "1", "location": ""}, "location", "This field is required."),
        ({"quantity": "", "location": None}, "quantity", "This field is required."),
    ],
)
def test_a_refused_return_shows_its_form_again(data, field, message, client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "2")
    reservation = reserve(job, item, warehouse, "2")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="2")
    before = world()
    post = {"location": warehouse.pk, "reason": "", **{k: v for k, v in data.items() if v is not None}}
    response = client_as(office).post(url("job_material_return", job, reservation), post, **HTMX)
    assert response.status_code == 422
    row = response.context["tab_sections"][0]["rows"][0]
    assert row.open_action == "return"
    assert row.return_form.errors[field] == [message]
    assert '<details class="mat-return" open>' in html(response)
    assert world() == before


# ---- release ----------------------------------------------------------------------------------------------


def test_release_lets_go_and_removes_a_line_nothing_was_issued_from(client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "3")
    keep = reserve(job, item, warehouse, "1")
    gone = reserve(job, item, warehouse, "2")
    response = client_as(office).post(url("job_material_release", job, gone), **HTMX)
    assert response.status_code == 200
    assert "Released 2 each × CAP-45-5; its line was removed." in html(response)
    assert list(LineItem.objects.filter(job=job).values_list("pk", flat=True)) == [keep.line_item_id]
    assert StockBalance.objects.get(item=item, location=warehouse).reserved_milli == 1000


def test_release_keeps_what_was_issued(client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "3")
    reservation = reserve(job, item, warehouse, "3")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1")
    response = client_as(office).post(url("job_material_release", job, reservation), follow=True)
    assert "Released 2 each × CAP-45-5; the line now bills the 1 issued." in html(response)
    assert LineItem.objects.get(job=job).quantity == Decimal("1.000")


def test_releasing_the_last_material_over_htmx_reloads_the_page(client_as, office, job, item, warehouse, reserve):
    reservation = reserve(job, item, warehouse, "1")
    response = client_as(office).post(url("job_material_release", job, reservation), **HTMX)
    assert response["HX-Redirect"] == tab(job)
    assert Job.objects.get(pk=job.pk).parts_readiness == ""


def test_nothing_to_release_is_a_message(client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "1")
    reservation = reserve(job, item, warehouse, "1")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="1")
    before = world()
    response = client_as(office).post(url("job_material_release", job, reservation), **HTMX)
    assert response.status_code == 409
    assert "Nothing of CAP-45-5 is held or awaited for this job." in html(response)
    plain = client_as(office).post(url("job_material_release", job, reservation))
    assert plain.status_code == 302
    assert world() == before


# ---- the normal line edit of an inventory-backed line ---------------------------------------------------------


def test_a_refused_line_edit_says_why(client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "3")
    reservation = reserve(job, item, warehouse, "3")
    reservations.material_issue(actor=office, reservation_id=reservation.pk, quantity="2")
    line = LineItem.objects.get(job=job)
    before = world()
    data = {"kind": "material", "description": line.description, "quantity": "1", "unit_price": "49.00", "unit_cost": "18.50", "version": line.version}
    response = client_as(office).post(reverse("jobs:line_item_edit", args=[job.pk, line.pk]), data, **HTMX)
    assert response.status_code == 409
    assert "2 each of CAP-45-5 were already issued to this job; return them before billing less." in html(response)
    assert world() == before


def test_a_line_edit_resizes_the_reservation_and_the_header_follows(client_as, office, job, item, warehouse, stock, reserve):
    stock(item, warehouse, "3")
    reserve(job, item, warehouse, "2")
    line = LineItem.objects.get(job=job)
    data = {"kind": "material", "description": line.description, "quantity": "5", "unit_price": "49.00", "unit_cost": "18.50", "version": line.version}
    response = client_as(office).post(reverse("jobs:line_item_edit", args=[job.pk, line.pk]), data, **HTMX)
    assert response.status_code == 200
    assert Reservation.objects.get(job=job).short_milli == 2000
    body = html(response)
    assert 'hx-swap-oob="true"' in body
    assert "Partially ready" in body
