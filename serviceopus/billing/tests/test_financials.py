"""A job's financials: revenue invoiced and still to invoice, labour, material and committed cost, margin,
the estimate and the company's threshold — exact cents, and a fixed number of queries.

`complete_job()` (conftest) is time & materials: Diagnostic visit 89.00, Run capacitor 2 × 24.50 (cost
2 × 10.00), Trip fee 35.00 untaxed, and 90 minutes of Alex's approved work billed at 120.00/h (180.00).
Alex costs 35.00/h (the factory's), so 90 minutes cost 52.50."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from serviceopus.billing import actions
from serviceopus.billing.financials import QUERIES, QUERIES_CANCELLED, QUERIES_NOT_TO_EXCEED, expected_queries, job_financials, percent
from serviceopus.billing.models import BillingSettings, Estimate, Invoice
from serviceopus.field.models import TimeEntry
from serviceopus.inventory.models import PurchaseOrder, PurchaseOrderLine, Reservation
from serviceopus.jobs.models import BillingType, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, JobFactory, LineItemFactory, VendorFactory, WarehouseFactory

from .conftest import approved_time

WORK = 8900 + 4900 + 3500 + 18000  # the lines and the labour, as billed: 353.00


def _invoice(owner, job):  # type: ignore[no-untyped-def]
    return actions.invoice_create(actor=owner, job_ids=[job.pk])


def _issue(owner, invoice):  # type: ignore[no-untyped-def]
    return actions.invoice_issue(actor=owner, invoice_id=invoice.pk, version=invoice.version)


def _order(job, *, status=PurchaseOrder.Status.ORDERED, lines=()):  # type: ignore[no-untyped-def]
    """A purchase order in `status` with lines (quantity_milli, received_milli, unit_cost_cents, reservation)."""
    po = PurchaseOrder.objects.create(vendor=VendorFactory(), ship_to=WarehouseFactory(), status=status)
    for quantity, received, cost, reservation in lines:
        PurchaseOrderLine.objects.create(
            purchase_order=po, item=ItemFactory(), quantity_milli=quantity, received_milli=received, unit_cost_cents=cost, job=job, reservation=reservation
        )
    return po


def test_percent_is_one_decimal_half_up():
    assert percent(1, 3) == Decimal("33.3")
    assert percent(2, 3) == Decimal("66.7")
    assert percent(1, 16) == Decimal("6.3")  # 6.25
    assert percent(-1, 16) == Decimal("-6.3")
    assert percent(182, 1000) == Decimal("18.2")
    assert percent(5, 0) is None


def test_uninvoiced_work_is_revenue_still_to_invoice(complete_job):
    job = complete_job()
    fin = job_financials(job)
    assert (fin.invoiced_cents, fin.draft_cents, fin.uninvoiced_cents, fin.to_invoice_cents, fin.revenue_cents) == (0, 0, WORK, WORK, WORK)
    assert (fin.labour_minutes, fin.labour_hours, fin.labour_cost_cents) == (90, Decimal("1.50"), 5250)
    assert fin.material_cost_cents == 2000
    assert (fin.committed_cents, fin.committed_unreserved_cents) == (0, 0)
    assert fin.cost_cents == 7250
    assert fin.margin_cents == WORK - 7250 == 28050
    assert fin.margin_percent == Decimal("79.5")  # 79.46
    assert fin.estimate is None
    assert fin.variances == []
    assert fin.margin_points_delta is None
    assert fin.threshold_percent == 30
    assert not fin.below_threshold


def test_draft_then_issued_then_credited_then_void(complete_job, owner):
    job = complete_job()
    invoice = _invoice(owner, job)
    fin = job_financials(job)
    assert (fin.invoiced_cents, fin.draft_cents, fin.uninvoiced_cents, fin.revenue_cents) == (0, WORK, 0, WORK)

    invoice = _issue(owner, invoice)
    fin = job_financials(job)
    assert (fin.invoiced_gross_cents, fin.credited_cents, fin.invoiced_cents, fin.to_invoice_cents) == (WORK, 0, WORK, 0)

    # Credit the diagnostic visit in full and 10.00 of the trip fee: revenue is pre-tax, so 99.00 less.
    service = invoice.lines.get(description="Diagnostic visit")
    fee = invoice.lines.get(description="Trip fee")
    actions.credit_note_create(actor=owner, invoice_id=invoice.pk, version=invoice.version, amounts={service.pk: 8900, fee.pk: 1000}, reason="Goodwill")
    fin = job_financials(job)
    assert (fin.invoiced_gross_cents, fin.credited_cents, fin.invoiced_cents, fin.revenue_cents) == (WORK, 9900, WORK - 9900, WORK - 9900)
    assert fin.margin_cents == WORK - 9900 - 7250


def test_a_void_invoice_is_not_revenue_and_its_work_is_to_invoice_again(complete_job, owner):
    job = complete_job()
    invoice = _issue(owner, _invoice(owner, job))
    actions.invoice_void(actor=owner, invoice_id=invoice.pk, version=invoice.version, reason="Wrong customer")
    fin = job_financials(job)
    assert (fin.invoiced_cents, fin.draft_cents, fin.uninvoiced_cents) == (0, 0, WORK)


def test_covered_work_earns_nothing(complete_job):
    fin = job_financials(complete_job(BillingType.AGREEMENT))
    # Service and labour covered by the agreement; the capacitor and the trip fee are charged.
    assert fin.revenue_cents == 4900 + 3500
    assert fin.cost_cents == 7250
    assert fin.covered
    assert fin.margin_cents == 8400 - 7250
    assert not fin.below_threshold
    fin = job_financials(complete_job(BillingType.WARRANTY))
    assert fin.revenue_cents == 0
    assert fin.margin_percent is None
    # Cost and no revenue, but the warranty pays for it elsewhere: no warning.
    assert fin.covered
    assert not fin.below_threshold
    fin = job_financials(complete_job(BillingType.TIME_AND_MATERIALS, minutes=0))
    assert not fin.covered


def test_not_to_exceed_revenue_is_capped(complete_job, owner):
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=20000)
    fin = job_financials(job)
    assert fin.uninvoiced_cents == 20000
    assert fin.revenue_cents == 20000
    _issue(owner, _invoice(owner, job))
    fin = job_financials(job)
    assert (fin.invoiced_cents, fin.uninvoiced_cents) == (20000, 0)


def test_a_cancelled_job_has_nothing_still_to_invoice(complete_job):
    job = complete_job(status=JobStatus.CANCELLED)
    fin = job_financials(job)
    assert (fin.to_invoice_cents, fin.revenue_cents, fin.cost_cents) == (0, 0, 7250)
    assert fin.below_threshold


def test_labour_is_rounded_per_entry_and_skips_corrected_and_running_time(complete_job, tech_a, tech_b):
    job = complete_job(minutes=0)
    tech_a.hourly_cost_cents = 3030  # a minute costs 50.5 cents
    tech_a.save()
    tech_b.hourly_cost_cents = 6000
    tech_b.save()
    approved_time(job, tech_a, 1)
    approved_time(job, tech_a, 1, kind=TimeEntry.Kind.TRAVEL)  # travel costs too
    approved_time(job, tech_b, 45, review=TimeEntry.Review.PENDING)  # not reviewed yet: still paid for
    approved_time(job, tech_b, 600, review=TimeEntry.Review.CORRECTED)  # replaced by a correction: not counted
    TimeEntry.objects.create(job=job, technician=tech_a, kind=TimeEntry.Kind.WORK, start=timezone.now() - timedelta(minutes=30))  # running
    fin = job_financials(job)
    # 51 + 51 (per entry, half-up; 2 minutes together would be 101) + 45 × 60.00 / 60 = 4500.
    assert fin.labour_cost_cents == 51 + 51 + 4500
    assert (fin.labour_minutes, fin.labour_hours) == (47, Decimal("0.78"))
    assert (fin.running_entries, fin.unreviewed_entries) == (1, 1)


def test_material_cost_is_material_lines_at_cost(complete_job):
    job = complete_job()
    LineItemFactory(job=job, kind=LineItem.Kind.MATERIAL, description="Copper", quantity=Decimal("1.333"), unit_price_cents=900, unit_cost_cents=375)
    # A service line's cost is not material (labour cost comes from the time entries).
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Subcontract", quantity=Decimal("1"), unit_price_cents=0, unit_cost_cents=9999)
    fin = job_financials(job)
    assert fin.material_cost_cents == 2000 + 500  # 1.333 × 3.75 = 4.99875 → 5.00


def test_committed_cost_of_open_orders(complete_job):
    job = complete_job()
    capacitor = job.line_items.get(description="Run capacitor")
    reservation = Reservation.objects.create(job=job, line_item=capacitor, item=ItemFactory(), location=WarehouseFactory(), quantity_milli=2000)
    _order(job, lines=[(2500, 1000, 333, None), (2000, 0, 1000, reservation)])  # 1.5 × 3.33 = 4.995 → 5.00; 2 × 10.00 reserved
    _order(job, status=PurchaseOrder.Status.PARTIALLY_RECEIVED, lines=[(4000, 1000, 250, None), (1000, 1000, 9000, None)])  # 3 × 2.50; all in
    _order(job, status=PurchaseOrder.Status.DRAFT, lines=[(1000, 0, 7777, None)])  # not ordered: no commitment
    _order(job, status=PurchaseOrder.Status.RECEIVED, lines=[(1000, 0, 7777, None)])
    _order(job, status=PurchaseOrder.Status.CANCELLED, lines=[(1000, 0, 7777, None)])
    _order(JobFactory(), lines=[(1000, 0, 7777, None)])  # another job's
    fin = job_financials(job)
    assert fin.committed_cents == 500 + 2000 + 750
    assert fin.committed_unreserved_cents == 500 + 750
    assert fin.committed_reserved_cents == 2000
    # The reserved capacitors are in material cost once, through their line.
    assert fin.cost_cents == 5250 + 2000 + 1250


def test_below_threshold_exactly(db, tech_a):
    job = JobFactory(status=JobStatus.IN_PROGRESS, billing_type=BillingType.FIXED_PRICE, technicians=[tech_a])
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, quantity=Decimal("1"), unit_price_cents=10000, taxable=False)
    material = LineItemFactory(job=job, kind=LineItem.Kind.MATERIAL, quantity=Decimal("1"), unit_price_cents=0, unit_cost_cents=8180, taxable=False)
    fin = job_financials(job)
    assert (fin.revenue_cents, fin.cost_cents, fin.margin_cents, fin.margin_percent) == (10000, 8180, 1820, Decimal("18.2"))
    assert fin.below_threshold
    LineItem.objects.filter(pk=material.pk).update(unit_cost_cents=7000)  # exactly 30.0 %: not below
    fin = job_financials(job)
    assert fin.margin_percent == Decimal("30.0")
    assert not fin.below_threshold
    settings = BillingSettings.current()
    settings.margin_warning_percent = 31
    settings.save()
    assert job_financials(job).below_threshold


def test_nothing_at_all_is_not_a_warning(db):
    fin = job_financials(JobFactory())
    assert (fin.revenue_cents, fin.cost_cents, fin.margin_percent, fin.below_threshold) == (0, 0, None, False)


def test_estimate_and_variance(complete_job, owner, tech_a):
    job = complete_job()
    job.estimated_duration_minutes = 120
    job.save()
    actions.estimate_capture(actor=owner, job_id=job.pk)
    fin = job_financials(job)
    est = fin.estimate
    # Priced as time & materials bills: the quoted lines (89.00 + 49.00 + 35.00) and the estimated 2 h at
    # the labour rate (120.00); their cost: the capacitors, and 2 h of Alex at 35.00.
    assert (est.revenue_cents, est.material_cost_cents, est.labour_cost_cents) == (17300 + 24000, 2000, 7000)
    assert (est.cost_cents, est.margin_cents, est.margin_percent) == (9000, 32300, Decimal("78.2"))
    assert est.captured_by_name == "Olivia Owner"
    assert [(v.label, v.actual_cents, v.estimate_cents, v.delta_cents, v.unfavourable) for v in fin.variances] == [
        ("Revenue", WORK, 41300, -6000, True),  # 1.5 h billed of the 2 h estimated
        ("Labour cost", 5250, 7000, -1750, False),
        ("Material cost", 2000, 2000, 0, False),
        ("Total cost", 7250, 9000, -1750, False),
        ("Gross margin", 28050, 32300, -4250, True),
    ]
    assert fin.margin_points_delta == Decimal("1.3")  # 79.5 − 78.2


def test_estimate_taken_when_first_scheduled_has_no_author(db, tech_a):
    job = JobFactory(status=JobStatus.NEW, technicians=[tech_a])
    LineItemFactory(job=job, quantity=Decimal("1"), unit_price_cents=5000)
    Estimate.objects.create(job=job, revenue_cents=5000)
    assert job_financials(job).estimate.captured_by_name == ""


@pytest.mark.parametrize("billing_type", [BillingType.TIME_AND_MATERIALS, BillingType.NOT_TO_EXCEED])
def test_query_count_is_fixed(complete_job, owner, tech_a, tech_b, billing_type, django_assert_num_queries):
    small = complete_job(billing_type, nte=10**7)
    large = complete_job(billing_type, nte=10**7)
    for i in range(15):
        LineItemFactory(job=large, kind=LineItem.Kind.MATERIAL, quantity=Decimal("1"), unit_price_cents=100 + i, unit_cost_cents=50)
        approved_time(large, tech_b if i % 2 else tech_a, 10 + i)
    _order(large, lines=[(1000, 0, 100, None)] * 5)
    actions.estimate_capture(actor=owner, job_id=large.pk)
    _issue(owner, _invoice(owner, large))
    LineItemFactory(job=large, kind=LineItem.Kind.FEE, quantity=Decimal("1"), unit_price_cents=1000)  # after the invoice: still to invoice
    expected = QUERIES_NOT_TO_EXCEED if billing_type == BillingType.NOT_TO_EXCEED else QUERIES
    assert expected_queries(large) == expected
    BillingSettings.current()  # the settings row exists, as it always does once billing is set up
    for job in (small, large):
        with django_assert_num_queries(expected):
            job_financials(job)


def test_query_count_of_a_cancelled_job(complete_job, django_assert_num_queries):
    job = complete_job(status=JobStatus.CANCELLED)
    assert expected_queries(job) == QUERIES_CANCELLED
    with django_assert_num_queries(QUERIES_CANCELLED):
        job_financials(job)


def test_financials_change_nothing(complete_job, owner, billing_rows):
    job = complete_job()
    _invoice(owner, job)
    before = billing_rows()
    job_financials(job)
    assert billing_rows() == before
    assert Invoice.objects.count() == 1
