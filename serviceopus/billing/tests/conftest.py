"""A small billing world: a sales tax rate set as the default, labour rates for time & materials and
not-to-exceed, and `complete_job(...)` — a job at work complete with a service line, a material line,
a fee and 90 minutes of Alex's approved work."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from serviceopus.billing.models import AccountingEntry, BillingSettings, Estimate, Invoice, InvoiceLine, LabourRate, Payment, TaxRate
from serviceopus.core.models import Sequence
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import BillingType, Job, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, LineItemFactory


@pytest.fixture
def tax(db):  # type: ignore[no-untyped-def]
    rate = TaxRate.objects.create(name="State sales tax", rate_milli_percent=8250)
    settings = BillingSettings.current()
    settings.default_tax_rate = rate
    settings.save()
    return rate


@pytest.fixture
def rates(db):  # type: ignore[no-untyped-def]
    LabourRate.objects.create(billing_type=BillingType.TIME_AND_MATERIALS, hourly_rate_cents=12000)
    LabourRate.objects.create(billing_type=BillingType.NOT_TO_EXCEED, hourly_rate_cents=12000)
    LabourRate.objects.create(billing_type=BillingType.AGREEMENT, hourly_rate_cents=12000)


def approved_time(job, tech, minutes=90, *, kind=TimeEntry.Kind.WORK, review=TimeEntry.Review.APPROVED):  # type: ignore[no-untyped-def]
    start = timezone.now().replace(microsecond=0) - timedelta(days=1)
    return TimeEntry.objects.create(job=job, technician=tech, kind=kind, start=start, end=start + timedelta(minutes=minutes), review=review)


@pytest.fixture
def complete_job(tax, rates, tech_a):  # type: ignore[no-untyped-def]
    def make(billing_type=BillingType.TIME_AND_MATERIALS, *, customer=None, status=JobStatus.WORK_COMPLETE, nte=None, minutes=90):  # type: ignore[no-untyped-def]
        extra = {"customer": customer, "location__customer": customer} if customer else {}
        job = JobFactory(status=status, billing_type=billing_type, not_to_exceed_cents=nte, technicians=[tech_a], **extra)
        LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Diagnostic visit", quantity=Decimal("1"), unit_price_cents=8900, position=1)
        LineItemFactory(
            job=job, kind=LineItem.Kind.MATERIAL, description="Run capacitor", quantity=Decimal("2"), unit_price_cents=2450, unit_cost_cents=1000, position=2
        )
        LineItemFactory(job=job, kind=LineItem.Kind.FEE, description="Trip fee", quantity=Decimal("1"), unit_price_cents=3500, taxable=False, position=3)
        if minutes:
            approved_time(job, tech_a, minutes)
        return job

    return make


@pytest.fixture
def billing_rows(db):  # type: ignore[no-untyped-def]
    """billing_rows() → every billing row, the numbering sequences, the jobs' statuses and the timeline's
    length: compared before and after a refused action, which must leave all of it exactly as it was."""

    def rows():  # type: ignore[no-untyped-def]
        return {
            "invoices": list(Invoice.objects.order_by("pk").values()),
            "invoice_jobs": list(Invoice.jobs.through.objects.order_by("pk").values_list("invoice_id", "job_id")),
            "lines": list(InvoiceLine.objects.order_by("pk").values()),
            "payments": list(Payment.objects.order_by("pk").values()),
            "journal": list(AccountingEntry.objects.order_by("seq").values()),
            "sequences": dict(Sequence.objects.filter(name__in=["invoice", "credit_note", "accounting_journal"]).values_list("name", "value")),
            "estimates": list(Estimate.objects.order_by("pk").values()),
            "jobs": list(Job.objects.order_by("pk").values_list("pk", "status", "version")),
            "line_items": list(LineItem.objects.order_by("pk").values()),
            "events": JobEvent.objects.count(),
        }

    return rows
