"""Fixtures of the approval tests (approval_support.py holds their data and helpers): a job whose
customer has both addresses, another customer's job, a portal link, the default tax rate; uploaded
signatures go to a temporary media folder."""

import pytest

from serviceopus.billing.models import BillingSettings, TaxRate
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging import links
from tests.factories import CustomerFactory, JobFactory, LocationFactory


@pytest.fixture(autouse=True)
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def tax(db):  # type: ignore[no-untyped-def]
    rate = TaxRate.objects.create(name="State sales tax", rate_milli_percent=8250)
    settings = BillingSettings.current()
    settings.default_tax_rate, settings.tax_labour = rate, False
    settings.save()
    return rate


@pytest.fixture
def job(tax, tech_a):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Pat Doe", email="pat@example.com", phone="555-0142")
    return JobFactory(status=JobStatus.IN_PROGRESS, location=LocationFactory(customer=customer), technicians=[tech_a], number="J-000101")


@pytest.fixture
def other_job(tax, tech_b):  # type: ignore[no-untyped-def]
    return JobFactory(status=JobStatus.SCHEDULED, technicians=[tech_b], number="J-000102")


@pytest.fixture
def link(job, office):  # type: ignore[no-untyped-def]
    return links.link_create(actor=office, job_id=job.pk, label="Pat")
