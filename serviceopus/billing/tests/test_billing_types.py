"""Each billing type, invoiced from complete_job (service 8900 and material 4900 taxed at 8.25 %, an
untaxed 3500 fee, 90 minutes of approved time): the lines the invoice gets, in exact cents."""

from decimal import Decimal

import pytest

from serviceopus.billing.actions import invoice_create, invoice_delete, invoice_issue, invoice_line_remove, invoice_line_update, invoice_void
from serviceopus.billing.models import AccountingEntry, BillingSettings, Invoice
from serviceopus.billing.status import InvoiceStatus
from serviceopus.core.errors import ConflictError, InvalidInput
from serviceopus.jobs.models import BillingType, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, LineItemFactory

pytestmark = pytest.mark.django_db


def lines(invoice):  # type: ignore[no-untyped-def]
    return [
        (line.kind, line.unit_price_cents, line.amount_cents, line.tax_cents, line.covered, line.list_amount_cents)
        for line in invoice.lines.order_by("position", "id")
    ]


def amounts(invoice):  # type: ignore[no-untyped-def]
    invoice.refresh_from_db()
    return (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents)


def test_fixed_price_bills_the_lines_and_no_labour(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.FIXED_PRICE)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    assert lines(invoice) == [
        ("service", 8900, 8900, 734, False, 8900),
        ("material", 2450, 4900, 404, False, 4900),
        ("fee", 3500, 3500, 0, False, 3500),
    ]
    assert amounts(invoice) == (17300, 1138, 18438)
    assert (invoice.status, invoice.number, invoice.kind, invoice.customer_id) == (InvoiceStatus.DRAFT, None, "invoice", job.customer_id)
    assert list(invoice.jobs.all()) == [job]


def test_time_and_materials_bills_lines_and_approved_time(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    assert lines(invoice) == [
        ("service", 8900, 8900, 734, False, 8900),
        ("material", 2450, 4900, 404, False, 4900),
        ("fee", 3500, 3500, 0, False, 3500),
        ("labour", 12000, 18000, 0, False, 18000),
    ]
    assert amounts(invoice) == (35300, 1138, 36438)
    labour = invoice.lines.get(kind="labour")
    assert (labour.quantity, labour.time_entry_id, labour.job_id) == (Decimal("1.500"), job.time_entries.get().pk, job.pk)


def test_agreement_covers_service_and_time_but_charges_materials_and_fees(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.AGREEMENT)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    assert lines(invoice) == [
        ("service", 0, 0, 0, True, 8900),
        ("material", 2450, 4900, 404, False, 4900),
        ("fee", 3500, 3500, 0, False, 3500),
        ("labour", 0, 0, 0, True, 18000),
    ]
    assert amounts(invoice) == (8400, 404, 8804)
    covered = invoice.lines.get(kind="service")
    assert (covered.description, covered.tax_rate_id) == ("Diagnostic visit (covered by agreement)", None)


def test_agreement_covering_materials_charges_only_fees(office, complete_job):  # type: ignore[no-untyped-def]
    settings = BillingSettings.current()
    settings.agreement_covers_materials = True
    settings.save()
    job = complete_job(BillingType.AGREEMENT)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    assert lines(invoice) == [
        ("service", 0, 0, 0, True, 8900),
        ("material", 0, 0, 0, True, 4900),
        ("fee", 3500, 3500, 0, False, 3500),
        ("labour", 0, 0, 0, True, 18000),
    ]
    assert amounts(invoice) == (3500, 0, 3500)


def test_warranty_is_all_zero_and_issuing_it_pays_it_and_closes_the_job(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.WARRANTY)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    assert lines(invoice) == [
        ("service", 0, 0, 0, True, 8900),
        ("material", 0, 0, 0, True, 4900),
        ("fee", 0, 0, 0, True, 3500),
        ("labour", 0, 0, 0, True, 0),  # warranty has no labour rate: nothing to show either
    ]
    assert invoice.lines.get(kind="fee").description == "Trip fee (warranty, no charge)"
    assert amounts(invoice) == (0, 0, 0)
    invoice = invoice_issue(actor=office, invoice_id=invoice.pk, version=invoice.version)
    assert (invoice.status, invoice.number, invoice.paid_cents, invoice.balance_cents) == (InvoiceStatus.PAID, "INV-000001", 0, 0)
    job.refresh_from_db()
    assert job.status == JobStatus.CLOSED
    moves = list(JobEvent.objects.filter(job=job, kind=JobEvent.Kind.STATUS).order_by("pk").values_list("old_value", "new_value", "message"))
    assert moves == [
        (JobStatus.WORK_COMPLETE, JobStatus.INVOICED, "Invoice INV-000001 issued"),
        (JobStatus.INVOICED, JobStatus.CLOSED, "Paid in full"),
    ]
    assert list(AccountingEntry.objects.values_list("kind", flat=True)) == ["invoice_issued"]


def test_not_to_exceed_under_the_cap_bills_everything(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=40000)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    assert [kind for kind, *_ in lines(invoice)] == ["service", "material", "fee", "labour"]
    assert amounts(invoice) == (35300, 1138, 36438)


def test_not_to_exceed_over_the_cap_is_brought_to_exactly_the_cap(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=30000)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    assert lines(invoice)[4:] == [("adjustment", -2072, -2072, -171, False, 0), ("adjustment", -3228, -3228, 0, False, 0)]
    assert amounts(invoice) == (30000, 967, 30967)
    assert invoice.lines.filter(kind="adjustment", job=job, line_item=None, time_entry=None).count() == 2


def test_not_to_exceed_second_invoice_gets_only_what_the_cap_still_allows(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=40000, status=JobStatus.IN_PROGRESS)
    first = invoice_create(actor=office, job_ids=[job.pk])
    first = invoice_issue(actor=office, invoice_id=first.pk, version=first.version)
    assert amounts(first) == (35300, 1138, 36438)
    LineItemFactory(job=job, kind="service", description="Second visit", unit_price_cents=8000, position=4)
    second = invoice_create(actor=office, job_ids=[job.pk])
    # 4700 left under the cap: 3300 of the 8000 comes off, all of it at the one rate used.
    assert lines(second) == [("service", 8000, 8000, 660, False, 8000), ("adjustment", -3300, -3300, -272, False, 0)]
    assert amounts(second) == (4700, 388, 5088)
    assert second.lines.get(kind="adjustment").description == "Not-to-exceed limit $400.00 — over by $33.00"


def test_not_to_exceed_with_the_cap_used_up_bills_zero(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=30000, status=JobStatus.IN_PROGRESS)
    invoice_create(actor=office, job_ids=[job.pk])  # a draft holds its share of the cap too
    LineItemFactory(job=job, kind="fee", description="Parking", unit_price_cents=1500, taxable=False, position=4)
    second = invoice_create(actor=office, job_ids=[job.pk])
    assert lines(second) == [("fee", 1500, 1500, 0, False, 1500), ("adjustment", -1500, -1500, 0, False, 0)]
    assert amounts(second) == (0, 0, 0)


def test_not_to_exceed_after_a_void_the_whole_cap_is_available_again(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=30000)
    first = invoice_create(actor=office, job_ids=[job.pk])
    first = invoice_issue(actor=office, invoice_id=first.pk, version=first.version)
    invoice_void(actor=office, invoice_id=first.pk, version=first.version, reason="Wrong contact")
    again = invoice_create(actor=office, job_ids=[job.pk])
    assert amounts(again) == (30000, 967, 30967)


def test_several_jobs_of_one_customer_on_one_invoice(office, complete_job):  # type: ignore[no-untyped-def]
    customer = CustomerFactory()
    first = complete_job(BillingType.TIME_AND_MATERIALS, customer=customer)
    second = complete_job(BillingType.AGREEMENT, customer=customer)
    invoice = invoice_create(actor=office, job_ids=[second.pk, first.pk, first.pk])
    assert amounts(invoice) == (35300 + 8400, 1138 + 404, 36438 + 8804)
    assert [line.job_id for line in invoice.lines.order_by("position")] == [first.pk] * 4 + [second.pk] * 4
    assert [line.position for line in invoice.lines.order_by("position")] == list(range(1, 9))
    assert set(invoice.jobs.all()) == {first, second}


def test_jobs_of_different_customers_are_refused(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    first = complete_job(BillingType.TIME_AND_MATERIALS)
    second = complete_job(BillingType.TIME_AND_MATERIALS)
    before = billing_rows()
    with pytest.raises(InvalidInput) as refused:
        invoice_create(actor=office, job_ids=[first.pk, second.pk])
    assert refused.value.fields == {"jobs": "Different customers."}
    assert billing_rows() == before


@pytest.mark.parametrize("status", [JobStatus.NEW, JobStatus.SCHEDULED, JobStatus.CANCELLED])
def test_work_not_started_is_not_invoiceable(office, complete_job, billing_rows, status):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS, status=status)
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        invoice_create(actor=office, job_ids=[job.pk])
    assert refused.value.code == "not_invoiceable"
    assert billing_rows() == before
    assert not Invoice.objects.exists()


def test_work_in_progress_can_be_invoiced(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.FIXED_PRICE, status=JobStatus.IN_PROGRESS)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    invoice = invoice_issue(actor=office, invoice_id=invoice.pk, version=invoice.version)
    job.refresh_from_db()
    assert (invoice.status, job.status) == (InvoiceStatus.ISSUED, JobStatus.IN_PROGRESS)


def test_not_to_exceed_adjustment_cannot_be_taken_off(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=30000)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        invoice_line_remove(actor=office, invoice_id=invoice.pk, version=invoice.version, line_id=invoice.lines.filter(kind="adjustment").first().pk)
    assert refused.value.code == "adjustment"
    assert billing_rows() == before


def test_not_to_exceed_draft_repriced_over_the_limit_is_not_issued(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=36000)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    fee = invoice.lines.get(kind="fee")
    invoice_line_update(
        actor=office,
        invoice_id=invoice.pk,
        version=invoice.version,
        line_id=fee.pk,
        description="Trip fee",
        quantity=Decimal(1),
        unit_price_cents=5000,
        tax_rate_id=None,
    )
    invoice.refresh_from_db()
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        invoice_issue(actor=office, invoice_id=invoice.pk, version=invoice.version)
    assert (refused.value.code, refused.value.message) == (
        "over_limit",
        f"{job.number} would be billed $368.00 here, over the $360.00 its not-to-exceed limit leaves. "
        "Delete the draft and create it again to recompute the adjustment.",
    )
    assert billing_rows() == before
    invoice_delete(actor=office, invoice_id=invoice.pk, version=invoice.version)
    again = invoice_create(actor=office, job_ids=[job.pk])
    assert invoice_issue(actor=office, invoice_id=again.pk, version=again.version).subtotal_cents == 35300


def test_not_to_exceed_limit_lowered_after_billing_still_issues_what_is_left(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=40000, status=JobStatus.IN_PROGRESS)
    first = invoice_create(actor=office, job_ids=[job.pk])
    invoice_issue(actor=office, invoice_id=first.pk, version=first.version)
    job.not_to_exceed_cents = 30000
    job.save()
    LineItemFactory(job=job, kind="fee", description="Parking", unit_price_cents=1500, taxable=False, position=4)
    second = invoice_create(actor=office, job_ids=[job.pk])
    assert amounts(second) == (0, 0, 0)
    assert invoice_issue(actor=office, invoice_id=second.pk, version=second.version).number == "INV-000002"
