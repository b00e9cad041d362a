"""Agreement work is billed as the agreement says: its covered kinds at zero, up to its limit per job."""

from datetime import date
from decimal import Decimal

import pytest

from serviceopus.automation import recurrence
from serviceopus.automation.models import PlanKind
from serviceopus.billing import pricing
from serviceopus.billing.actions.invoices import invoice_create
from serviceopus.billing.models import BillingSettings, InvoiceLine, TaxRate
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.models import BillingType, Job
from serviceopus.jobs.status import JobStatus

from .support import make_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def tax(db):  # type: ignore[no-untyped-def]
    rate = TaxRate.objects.create(name="State sales tax", rate_milli_percent=10000)
    settings = BillingSettings.current()
    settings.default_tax_rate = rate
    settings.save()
    return rate


def _first_job(manager, w, **plan):  # type: ignore[no-untyped-def]
    made = make_plan(manager, w, **plan)
    jobs = recurrence.generate(plan_id=made.pk, today=date(2030, 1, 1))
    return made, jobs[0]


def _add(manager, job, kind, cents, description=None):  # type: ignore[no-untyped-def]
    return job_actions.line_item_add(
        actor=manager, job_id=job.pk, kind=kind, description=description or f"{kind} work", quantity=Decimal(1), unit_price_cents=cents
    )


def _lines(job):  # type: ignore[no-untyped-def]
    return [(d.kind, d.amount_cents, d.covered, d.list_amount_cents) for d in pricing.preview([job]).lines]


def test_covered_kinds_come_from_the_agreement(manager, w, tax):  # type: ignore[no-untyped-def]
    # The agreement covers materials and fees, not service: the reverse of the billing type's default.
    made, job = _first_job(manager, w, covered_kinds=["material"], not_to_exceed_cents=None, price_cents=0)
    assert job.billing_type == BillingType.AGREEMENT
    _add(manager, job, "service", 10000)
    _add(manager, job, "material", 4000)
    preview = pricing.preview([job])
    assert _lines(job) == [("service", 10000, False, 10000), ("material", 0, True, 4000)]
    assert [line.description for line in preview.lines][1] == f"material work (covered by agreement {made.reference})"
    assert preview.total_cents == 11000  # the service line with 10 % tax; the covered material is not taxed


def test_covered_value_past_the_limit_is_charged_with_an_adjustment(manager, w, tax):  # type: ignore[no-untyped-def]
    _made, job = _first_job(manager, w, covered_kinds=["service", "labour"], not_to_exceed_cents=15000, price_cents=0)
    _add(manager, job, "service", 10000, "Tune-up")
    _add(manager, job, "labour", 8000, "Extra hour")  # only 5000 of the limit is left for it
    _add(manager, job, "fee", 2000, "Trip fee")  # not covered at all
    preview = pricing.preview([job])
    assert _lines(job) == [
        ("service", 0, True, 10000),
        ("labour", 8000, False, 8000),
        ("adjustment", -5000, True, 5000),
        ("fee", 2000, False, 2000),
    ]
    assert preview.subtotal_cents == 5000  # 3000 of labour past the limit + the fee
    assert preview.tax_cents == 500
    assert any("covers $150.00" in warning for warning in preview.warnings)


def test_the_limit_counts_what_earlier_invoices_of_the_job_covered(manager, w, tax, owner):  # type: ignore[no-untyped-def]
    _made, job = _first_job(manager, w, covered_kinds=["service"], not_to_exceed_cents=15000, price_cents=0)
    _add(manager, job, "service", 10000, "First visit")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.IN_PROGRESS)  # setup: invoicing is not what is tested
    invoice = invoice_create(actor=owner, job_ids=[job.pk])
    assert InvoiceLine.objects.filter(invoice=invoice, covered=True).values_list("list_amount_cents", flat=True).get() == 10000
    _add(manager, job, "service", 10000, "Second visit")
    assert _lines(job) == [("service", 10000, False, 10000), ("adjustment", -5000, True, 5000)]


def test_no_limit_covers_everything_of_the_covered_kinds(manager, w, tax):  # type: ignore[no-untyped-def]
    _made, job = _first_job(manager, w, covered_kinds=["service"], not_to_exceed_cents=None, price_cents=0)
    _add(manager, job, "service", 900000)
    assert _lines(job) == [("service", 0, True, 900000)]


def test_the_visit_price_is_charged_as_a_fee(manager, w, tax):  # type: ignore[no-untyped-def]
    _made, job = _first_job(manager, w, covered_kinds=["service", "labour"], not_to_exceed_cents=None, price_cents=12500)
    assert _lines(job) == [("fee", 12500, False, 12500)]


def test_agreement_jobs_not_from_a_plan_keep_the_billing_type_default(manager, w, tax):  # type: ignore[no-untyped-def]
    job = job_actions.job_create(
        actor=manager, customer_id=w["customer"].pk, location_id=w["home"].pk, job_type_id=w["job_type"].pk, scope="One-off", billing_type=BillingType.AGREEMENT
    )
    _add(manager, job, "service", 10000)
    _add(manager, job, "material", 4000)
    assert _lines(job) == [("service", 0, True, 10000), ("material", 4000, False, 4000)]


def test_a_recurring_job_is_billed_by_its_own_billing_type(manager, w, tax):  # type: ignore[no-untyped-def]
    _made, job = _first_job(manager, w, kind=PlanKind.RECURRING)
    assert job.billing_type == w["job_type"].default_billing_type
    _add(manager, job, "service", 10000)
    assert _lines(job)[0][:3] == ("service", 10000, False)


def test_one_query_for_the_coverage_of_many_jobs(manager, w, tax, django_assert_num_queries):  # type: ignore[no-untyped-def]
    made = make_plan(manager, w, covered_kinds=["service"], not_to_exceed_cents=None, price_cents=0)
    jobs = recurrence.generate(plan_id=made.pk, today=date(2030, 1, 1))
    assert len(jobs) >= 3
    settings = BillingSettings.current()
    with django_assert_num_queries(1):
        coverage = pricing.coverage_for(jobs, settings)
    assert {c.kinds for c in coverage.values()} == {frozenset({"service"})}
