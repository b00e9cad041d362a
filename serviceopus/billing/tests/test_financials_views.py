"""The job workspace's Financials tab and setting the estimate from it: who sees figures, what the tab
says (the table, the margin warning, the estimate buttons), what a refused write leaves, query counts."""

from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from serviceopus.billing import actions
from serviceopus.billing.financials import QUERIES
from serviceopus.billing.models import Estimate
from serviceopus.billing.views.financials import financials_tab
from serviceopus.inventory.models import PurchaseOrder, PurchaseOrderLine, Reservation
from serviceopus.jobs.models import BillingType, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from serviceopus.jobs.tests.pages import HTMX, WORKSPACE_QUERIES
from tests.factories import ItemFactory, JobFactory, LineItemFactory, VendorFactory, WarehouseFactory

from .conftest import approved_time

TAB_QUERIES = WORKSPACE_QUERIES + QUERIES


def tab_url(job) -> str:  # type: ignore[no-untyped-def]
    return reverse("jobs:tab", args=[job.pk, "financials"])


def render_tab(user, job) -> str:  # type: ignore[no-untyped-def]
    """The tab's template with its loader's context, as the workspace includes it."""
    request = RequestFactory().get(tab_url(job))
    request.user = user
    context = financials_tab(request, job)
    return render_to_string(context["tab_template"], {"job": job, **context}, request=request)


@pytest.fixture
def thin_job(tax, tech_a):  # type: ignore[no-untyped-def]
    """Fixed price, 100.00 of revenue against 81.80 of material: a margin of 18.2 %."""
    job = JobFactory(status=JobStatus.IN_PROGRESS, billing_type=BillingType.FIXED_PRICE, technicians=[tech_a])
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Boiler service", quantity=Decimal("1"), unit_price_cents=10000, taxable=False)
    LineItemFactory(job=job, kind=LineItem.Kind.MATERIAL, description="Heat exchanger", quantity=Decimal("1"), unit_price_cents=0, unit_cost_cents=8180)
    return job


# ---- what the tab shows ----------------------------------------------------------------------------------


def test_office_sees_actual_against_no_estimate(complete_job, office):
    job = complete_job()
    html = render_tab(office, job)
    assert "Financials are visible" not in html
    assert "Total revenue" in html
    assert "$353.00" in html
    assert "Work not on an invoice yet, as it would be billed" in html
    assert "1.50 h at each technician&#x27;s cost" in html
    assert "$52.50" in html
    assert "$72.50" in html  # total cost: labour 52.50 + material 20.00
    assert "79.5 %" in html
    assert "No estimate yet" in html
    assert "Set estimate from current lines" in html
    assert reverse("finance:estimate_capture", args=[job.pk]) in html
    assert 'role="alert"' not in html


def test_margin_below_the_threshold_is_a_warning(thin_job, manager):
    html = render_tab(manager, thin_job)
    assert 'role="alert"' in html
    assert "Margin 18.2 % is below the company&#x27;s 30 % threshold" in html


def test_cost_without_revenue_is_a_warning(db, office, tech_a):
    job = JobFactory(status=JobStatus.IN_PROGRESS, technicians=[tech_a])
    approved_time(job, tech_a, 60)
    html = render_tab(office, job)
    assert "No revenue yet against $35.00 of cost: below the company&#x27;s 30 % margin threshold" in html
    assert "1.00 h at each technician" in html
    job = JobFactory(status=JobStatus.NEW)
    assert "No time recorded yet" in render_tab(office, job)


def test_estimate_with_variance_and_rebaseline_button(complete_job, owner, office):
    job = complete_job()
    actions.estimate_capture(actor=owner, job_id=job.pk)
    html = render_tab(office, job)
    assert "No estimate yet" not in html
    assert "by Olivia Owner" in html
    assert "Re-baseline from current lines" in html
    assert "data-confirm=" in html
    assert "+$60.00" in html  # revenue over the estimate: 1.5 h billed of the 1 h estimated, at 120.00


def test_committed_cost_has_its_own_row(complete_job, office):
    job = complete_job()
    po = PurchaseOrder.objects.create(vendor=VendorFactory(), ship_to=WarehouseFactory(), status=PurchaseOrder.Status.ORDERED)
    PurchaseOrderLine.objects.create(purchase_order=po, item=ItemFactory(), quantity_milli=3000, unit_cost_cents=1500, job=job)
    html = render_tab(office, job)
    assert "Committed on open orders" in html
    assert "$45.00</strong> still to arrive" in html
    assert "None of it is for a material line of the job, so all of it counts as cost." in html
    assert "$45.00 ordered for the job on no job line" in html
    capacitor = job.line_items.get(description="Run capacitor")
    reservation = Reservation.objects.create(job=job, line_item=capacitor, item=ItemFactory(), location=WarehouseFactory(), quantity_milli=2000)
    PurchaseOrderLine.objects.create(purchase_order=po, item=ItemFactory(), quantity_milli=2000, unit_cost_cents=1500, job=job, reservation=reservation)
    html = render_tab(office, job)
    assert "$75.00</strong> still to arrive" in html
    assert "$30.00 of it is for the job's material lines, already in material cost; the other $45.00 counts as cost." in html


def test_dispatcher_sees_no_figures(complete_job, dispatcher, django_assert_num_queries):
    job = complete_job()
    request = RequestFactory().get(tab_url(job))
    request.user = dispatcher
    with django_assert_num_queries(0):  # the role's capabilities cost no query
        context = financials_tab(request, job)
    assert context == {"tab_template": "billing/tabs/financials.html", "can_view_financials": False}
    html = render_tab(dispatcher, job)
    assert "Financials are visible to office and managers" in html
    assert "$" not in html


# ---- through the workspace ------------------------------------------------------------------------------


def test_workspace_runs_the_loader(complete_job, office, client_as):
    job = complete_job()
    response = client_as(office).get(tab_url(job))
    assert response.status_code == 200
    assert response.context["tab_template"] == "billing/tabs/financials.html"
    assert response.context["fin"].revenue_cents == 35300
    assert not client_as(office).get(tab_url(job)).context["margin_warning"]


def test_workspace_shows_the_tab(thin_job, office, client_as):
    html = client_as(office).get(tab_url(thin_job)).content.decode()
    assert 'id="financials-tab"' in html
    assert "Margin 18.2 % is below the company&#x27;s 30 % threshold" in html


def test_technician_on_the_job_sees_the_message(complete_job, tech_a, client_as):
    html = client_as(tech_a.user).get(tab_url(complete_job())).content.decode()
    assert "Financials are visible to office and managers" in html
    assert "$353.00" not in html


def test_tab_query_count_is_fixed(complete_job, owner, office, tech_b, client_as):
    client = client_as(office)
    small, large = complete_job(), complete_job()
    for i in range(12):
        LineItemFactory(job=large, kind=LineItem.Kind.MATERIAL, quantity=Decimal("1"), unit_price_cents=100 + i, unit_cost_cents=40)
        approved_time(large, tech_b, 5 + i)
    actions.estimate_capture(actor=owner, job_id=large.pk)
    counts = []
    for job in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(tab_url(job)).status_code == 200
        counts.append(len(queries))
    assert counts == [TAB_QUERIES, TAB_QUERIES]


# ---- setting the estimate ---------------------------------------------------------------------------------


def test_set_estimate(complete_job, office, client_as):
    job = complete_job()
    response = client_as(office).post(reverse("finance:estimate_capture", args=[job.pk]))
    assert response.status_code == 302
    assert response["Location"] == tab_url(job)
    estimate = Estimate.objects.get(job=job)
    assert (estimate.revenue_cents, estimate.material_cost_cents, estimate.labour_cost_cents, estimate.captured_by) == (17300 + 12000, 2000, 3500, office)
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.BILLING, message__startswith="Estimate set from the current lines").count() == 1


def test_rebaseline_with_htmx_answers_with_the_tab(complete_job, owner, office, client_as):
    job = complete_job()
    client = client_as(office)
    actions.estimate_capture(actor=owner, job_id=job.pk)
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Extra coil clean", quantity=Decimal("1"), unit_price_cents=4000)
    response = client.post(reverse("finance:estimate_capture", args=[job.pk]), HTTP_HX_TARGET="tab-area", **HTMX)
    assert response.status_code == 200
    # The lines (173.00 + the new 40.00) and the estimated hour at the labour rate (120.00).
    assert Estimate.objects.get(job=job).revenue_cents == 21300 + 12000
    assert response.context["tab"] == "financials"
    assert response.context["fin"].estimate.revenue_cents == 21300 + 12000
    assert [str(m) for m in response.context["messages"]] == ["Estimate set from the current lines: revenue $333.00, cost $55.00."]
    html = response.content.decode()
    assert 'id="tab-area"' in html
    assert "<html" not in html


def test_htmx_answer_shows_the_message_in_the_tab(complete_job, office, client_as):
    job = complete_job()
    response = client_as(office).post(reverse("finance:estimate_capture", args=[job.pk]), HTTP_HX_TARGET="tab-area", **HTMX)
    html = response.content.decode()
    assert 'id="financials-tab"' in html
    assert "Estimate set from the current lines: revenue $293.00, cost $55.00." in html


@pytest.mark.parametrize("persona", ["dispatcher", "tech"])
def test_set_estimate_is_refused_and_changes_nothing(complete_job, dispatcher, tech_a, client_as, billing_rows, persona):
    job = complete_job()
    user = dispatcher if persona == "dispatcher" else tech_a.user  # Alex is on this job: 403, not 404
    before = billing_rows()
    assert client_as(user).post(reverse("finance:estimate_capture", args=[job.pk])).status_code == 403
    assert billing_rows() == before


def test_set_estimate_on_another_technicians_job_is_404(complete_job, tech_b, client_as, billing_rows):
    job = complete_job()
    before = billing_rows()
    assert client_as(tech_b.user).post(reverse("finance:estimate_capture", args=[job.pk])).status_code == 404
    assert billing_rows() == before


def test_set_estimate_is_post_only(complete_job, office, client_as, client):
    job = complete_job()
    url = reverse("finance:estimate_capture", args=[job.pk])
    assert client_as(office).get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302
    assert "/login" in response["Location"]
    assert not Estimate.objects.filter(job=job).exists()
