"""The purchase order PDF: a real PDF, with what the vendor needs and nothing of the customers."""

from datetime import date

import pytest
from django.test import override_settings
from django.urls import reverse
from weasyprint import HTML

from serviceopus.inventory import po_pdf
from serviceopus.inventory.actions import purchasing, reservations
from serviceopus.inventory.queries import purchase_order
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, ItemFactory, JobFactory, VendorFactory


@pytest.fixture
def order(office, item, warehouse):  # type: ignore[no-untyped-def]
    """A draft for a job's shortfall plus a stock line (no job)."""
    job = JobFactory(status=JobStatus.NEW, customer=CustomerFactory(name="Harbor Bakery"))
    reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=warehouse.pk, quantity="2", backorder=True)
    [po] = purchasing.drafts_for_shortfalls(actor=office)
    purchasing.po_line_add(
        actor=office, po_id=po.pk, item_id=ItemFactory(sku="WIRE-14", name="14 AWG wire", unit="ft").pk, quantity="250.5", unit_cost_cents=45
    )
    po.job = job
    return po


@pytest.mark.django_db
@override_settings(COMPANY_NAME="Northwind & Sons")
def test_html_holds_company_vendor_lines_total_and_jobs(order, office):
    vendor = order.vendor
    vendor.email, vendor.phone = "orders@ferguson.example", "555-0142"
    vendor.save()
    purchasing.po_order(actor=office, po_id=order.pk, expected_on=date(2030, 4, 9))

    html = po_pdf.render_po_html(purchase_order(order.pk))

    assert "Northwind &amp; Sons" in html
    assert "PO-000001" in html
    assert "DRAFT" not in html
    assert "Ferguson HVAC Supply" in html
    assert "orders@ferguson.example" in html
    assert "555-0142" in html
    assert "Main warehouse" in html
    assert "Apr 9, 2030" in html
    for text in ("CAP-45-5", "Run capacitor 45/5 µF", "$18.50", "$37.00", "WIRE-14", "250.5", "ft", "$0.45", "$112.73", "$149.73"):
        assert text in html, text
    assert f"For job {order.job.number}" in html
    assert 'counter(page) " of " counter(pages)' in html
    # Margin boxes name their font (they do not inherit the body's).
    assert html.count('font-family: "DejaVu Sans", sans-serif;') >= 5
    # It goes to a supplier: the customer's name stays out.
    assert "Harbor Bakery" not in html


@pytest.mark.django_db
def test_a_draft_is_marked_draft(order):
    html = po_pdf.render_po_html(purchase_order(order.pk))
    assert f"DRAFT #{order.pk}" in html
    assert '<div class="watermark">DRAFT</div>' in html
    assert po_pdf.pdf_filename(order) == f"draft-po-{order.pk}.pdf"


@pytest.mark.django_db
def test_renders_a_real_pdf(order, office):
    purchasing.po_order(actor=office, po_id=order.pk)
    pdf = po_pdf.render_po_pdf(purchase_order(order.pk))
    assert pdf.startswith(b"%PDF-")
    assert b"%%EOF" in pdf[-1024:]


@pytest.mark.django_db
def test_many_lines_run_over_several_pages(office, warehouse):
    vendor = VendorFactory(name="Bulk Parts Co")
    po = purchasing.po_create(
        actor=office,
        vendor_id=vendor.pk,
        ship_to_id=warehouse.pk,
        lines=[{"item_id": ItemFactory(preferred_vendor=vendor).pk, "quantity": "1"} for _ in range(90)],
    )
    document = HTML(string=po_pdf.render_po_html(purchase_order(po.pk)), url_fetcher=po_pdf.NoFetching()).render()
    assert len(document.pages) >= 2


@pytest.mark.django_db
def test_the_pdf_url(client_as, office, tech_a, order):
    response = client_as(office).get(reverse("inventory:po_pdf", kwargs={"po_id": order.pk}))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="draft-po-{order.pk}.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.startswith(b"%PDF-")
    assert client_as(tech_a.user).get(reverse("inventory:po_pdf", kwargs={"po_id": order.pk})).status_code == 403
    assert client_as(office).get(reverse("inventory:po_pdf", kwargs={"po_id": 999})).status_code == 404


def test_nothing_is_fetched():
    with pytest.raises(ValueError, match="fetches nothing"):
        po_pdf.NoFetching().fetch("file:///etc/passwd")
