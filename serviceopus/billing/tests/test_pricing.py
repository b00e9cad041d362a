"""pricing: the rounding points, tax per line, what time is billed, and the not-to-exceed split."""

from decimal import Decimal

import pytest

from serviceopus.billing.models import BillingSettings, LabourRate, TaxRate
from serviceopus.billing.pricing import labour_amount, line_tax, manual_amount, preview, round_half_up, totals
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import BillingType, LineItem
from tests.factories import JobFactory, LineItemFactory

from .conftest import approved_time

pytestmark = pytest.mark.django_db


def shape(lines):  # type: ignore[no-untyped-def]
    return [(line.kind, line.amount_cents, line.tax_cents, line.covered, line.list_amount_cents) for line in lines]


def settings(**values):  # type: ignore[no-untyped-def]
    row = BillingSettings.current()
    for name, value in values.items():
        setattr(row, name, value)
    row.save()


@pytest.mark.parametrize(
    ("amount", "rate", "tax"),
    [
        (8900, 8250, 734),  # 734.25
        (1000, 8250, 83),  # 82.5 exactly: half up
        (-1000, 8250, -83),  # a credit mirrors its charge
        (50, 5000, 3),  # 2.5: half up, not to even
        (-50, 5000, -3),
        (2000, 8875, 178),  # 177.5
        (3500, 0, 0),
        (0, 8250, 0),
        (99_999_999_999, 100_000, 99_999_999_999),
    ],
)
def test_line_tax_rounds_half_away_from_zero(amount, rate, tax):  # type: ignore[no-untyped-def]
    assert line_tax(amount, rate) == tax


@pytest.mark.parametrize(
    ("minutes", "rate", "cents"),
    [(90, 12000, 18000), (7, 4350, 508), (1, 12030, 201), (1, 12000, 200), (0, 12000, 0), (61, 9999, 10166)],  # 507.5, 200.5, 10165.985
)
def test_labour_is_minutes_times_rate_rounded_half_up(minutes, rate, cents):  # type: ignore[no-untyped-def]
    assert labour_amount(minutes, rate) == cents


def test_manual_amounts_and_half_up():  # type: ignore[no-untyped-def]
    assert manual_amount(Decimal("0.5"), 1001) == 501
    assert manual_amount(Decimal("0.5"), -1001) == -501
    assert manual_amount(Decimal("2.125"), 100) == 213
    assert round_half_up(Decimal("-0.5")) == -1
    assert round_half_up(Decimal("0.4999")) == 0


def test_time_and_materials_lines_and_tax_per_line(complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    result = preview([job])
    assert shape(result.lines) == [
        ("service", 8900, 734, False, 8900),
        ("material", 4900, 404, False, 4900),  # 404.25
        ("fee", 3500, 0, False, 3500),  # not taxable
        ("labour", 18000, 0, False, 18000),  # labour untaxed unless the settings say so
    ]
    assert (result.subtotal_cents, result.tax_cents, result.total_cents) == (35300, 1138, 36438)
    assert totals(result.lines) == (35300, 1138, 36438)
    labour = result.lines[3]
    assert (labour.quantity, labour.unit_price_cents, labour.time_entry_id is not None, labour.line_item_id) == (Decimal("1.500"), 12000, True, None)
    assert result.warnings == []


def test_labour_taxed_only_with_tax_labour(complete_job, tax):  # type: ignore[no-untyped-def]
    settings(tax_labour=True)
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    labour = preview([job]).lines[3]
    assert (labour.kind, labour.amount_cents, labour.tax_cents, labour.tax_rate) == ("labour", 18000, 1485, tax)
    assert preview([job]).tax_cents == 734 + 404 + 1485


def test_half_cent_tax_on_each_line_rounds_up_separately(tax, rates):  # type: ignore[no-untyped-def]
    tax.rate_milli_percent = 5000
    tax.save()
    job = JobFactory(status="work_complete", billing_type=BillingType.FIXED_PRICE)
    for position in (1, 2, 3):
        LineItemFactory(job=job, description=f"Washer {position}", quantity=Decimal("1"), unit_price_cents=50, position=position)
    result = preview([job])
    # 2.5 cents each, rounded per line: 3 + 3 + 3, not round(7.5) = 8.
    assert [line.tax_cents for line in result.lines] == [3, 3, 3]
    assert (result.subtotal_cents, result.tax_cents, result.total_cents) == (150, 9, 159)


def test_no_default_rate_means_no_tax(rates):  # type: ignore[no-untyped-def]
    job = JobFactory(status="work_complete", billing_type=BillingType.FIXED_PRICE)
    LineItemFactory(job=job, unit_price_cents=8900)
    result = preview([job])
    assert [(line.amount_cents, line.tax_cents, line.tax_rate) for line in result.lines] == [(8900, 0, None)]


def test_pending_time_is_not_billed_and_warned(complete_job, tech_a, tech_b):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    approved_time(job, tech_b, 45, review=TimeEntry.Review.PENDING)
    approved_time(job, tech_b, 30, review=TimeEntry.Review.PENDING)
    approved_time(job, tech_b, 20, review=TimeEntry.Review.CORRECTED)
    result = preview([job])
    assert [line.amount_cents for line in result.lines if line.kind == "labour"] == [18000]
    assert result.warnings == [f"{job.number}: 2 time entries are still to review and will not be billed until approved."]


def test_one_pending_entry_is_worded_singular(complete_job, tech_b):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    approved_time(job, tech_b, 45, review=TimeEntry.Review.PENDING)
    assert preview([job]).warnings == [f"{job.number}: 1 time entry is still to review and will not be billed until approved."]


def test_pending_travel_is_not_warned_about_when_travel_is_not_billed(complete_job, tech_b):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    approved_time(job, tech_b, 25, kind=TimeEntry.Kind.TRAVEL, review=TimeEntry.Review.PENDING)
    assert preview([job]).warnings == []
    settings(bill_travel=True)
    assert preview([job]).warnings == [f"{job.number}: 1 time entry is still to review and will not be billed until approved."]


def test_fixed_price_does_not_warn_about_time_it_never_bills(complete_job, tech_b):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.FIXED_PRICE)
    approved_time(job, tech_b, 45, review=TimeEntry.Review.PENDING)
    assert preview([job]).warnings == []


def test_travel_billed_only_with_bill_travel(complete_job, tech_a):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    approved_time(job, tech_a, 30, kind=TimeEntry.Kind.TRAVEL)
    assert [line.amount_cents for line in preview([job]).lines if line.kind == "labour"] == [18000]
    settings(bill_travel=True)
    labour = [line for line in preview([job]).lines if line.kind == "labour"]
    assert [line.amount_cents for line in labour] == [18000, 6000]
    assert labour[1].description.startswith("Travel — Alex Tech")
    assert labour[0].description.startswith("Labour — Alex Tech")


def test_open_time_entry_is_not_billed(complete_job, tech_b):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    entry = approved_time(job, tech_b, 45)
    entry.end = None
    entry.save()
    assert [line.amount_cents for line in preview([job]).lines if line.kind == "labour"] == [18000]


def test_labour_rate_is_per_billing_type(complete_job):  # type: ignore[no-untyped-def]
    LabourRate.objects.filter(billing_type=BillingType.TIME_AND_MATERIALS).update(hourly_rate_cents=9500)
    job = complete_job(BillingType.TIME_AND_MATERIALS, minutes=50)
    labour = preview([job]).lines[3]
    assert (labour.amount_cents, labour.unit_price_cents, labour.quantity) == (7917, 9500, Decimal("0.833"))  # 7916.67


def test_not_to_exceed_split_over_tax_rates_by_largest_remainder(complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=30000)
    billing = preview([job]).jobs[0]
    assert (billing.cap_cents, billing.overage_cents) == (30000, 5300)
    adjustments = [line for line in billing.lines if line.kind == "adjustment"]
    # Taxed 13800 and untaxed 21500 of 35300: 5300 splits 2071.95 / 3228.05; the cent left over goes to
    # the larger remainder (the taxed share).
    assert [(line.amount_cents, line.tax_cents, line.tax_rate_milli_percent) for line in adjustments] == [(-2072, -171, 8250), (-3228, 0, 0)]
    assert sum(line.amount_cents for line in billing.lines) == 30000
    result = preview([job])
    assert (result.subtotal_cents, result.tax_cents, result.total_cents) == (30000, 967, 30967)
    assert adjustments[0].description == "Not-to-exceed limit $300.00 — over by $53.00 (State sales tax)"
    assert adjustments[1].description == "Not-to-exceed limit $300.00 — over by $53.00"
    assert result.warnings == [f"{job.number}: the work comes to $353.00, $53.00 over its not-to-exceed limit; the overage is not billed."]


def test_not_to_exceed_with_two_tax_rates_keeps_the_cap_exact(tax, rates):  # type: ignore[no-untyped-def]
    city = TaxRate.objects.create(name="City tax", rate_milli_percent=4500)
    job = JobFactory(status="work_complete", billing_type=BillingType.NOT_TO_EXCEED, not_to_exceed_cents=10000)
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="A", unit_price_cents=3333, position=1)
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="B", unit_price_cents=3333, position=2, taxable=False)
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="C", unit_price_cents=3334, position=3, taxable=False)
    LineItemFactory(job=job, kind=LineItem.Kind.FEE, description="D", unit_price_cents=1, position=4)
    result = preview([job])
    # 10001 against a 10000 cap: one cent off, from the larger share (6667 untaxed vs 3334 taxed).
    assert [(line.kind, line.amount_cents) for line in result.lines if line.kind == "adjustment"] == [("adjustment", -1)]
    assert result.subtotal_cents == 10000
    assert city.pk  # an unused rate takes no share


def test_not_to_exceed_under_the_cap_has_no_adjustment(complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=35300)
    billing = preview([job]).jobs[0]
    assert (billing.cap_cents, billing.overage_cents, billing.warnings) == (35300, 0, [])
    assert [line.kind for line in billing.lines] == ["service", "material", "fee", "labour"]
    assert preview([job]).subtotal_cents == 35300


def test_not_to_exceed_without_a_limit_bills_like_time_and_materials(complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED)
    billing = preview([job]).jobs[0]
    assert (billing.cap_cents, billing.overage_cents, sum(line.amount_cents for line in billing.lines)) == (None, 0, 35300)
