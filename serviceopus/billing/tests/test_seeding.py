"""The demo company's billing: its configuration, made once and never overwritten, and the history of
its finished work billed through the real actions, at the moments the demo planned, with every row dated
then (the demo-wide checks are in jobs/tests/test_seeding.py, which runs the whole seed)."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from random import Random

import pytest
from django.utils import timezone

from serviceopus.billing.models import AccountingEntry, BillingSettings, Invoice, LabourRate, Payment, TaxRate
from serviceopus.billing.seeding import BilledJob, bill_demo_jobs, ensure_billing
from serviceopus.billing.status import InvoiceStatus
from serviceopus.jobs.actions import job_transition
from serviceopus.jobs.models import BillingTrigger, BillingType, Job, JobEvent, JobType, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, JobTypeFactory, LineItemFactory

from .conftest import approved_time

pytestmark = pytest.mark.django_db
S = JobStatus


def config() -> dict:
    return {
        "settings": list(BillingSettings.objects.values()),
        "tax_rates": list(TaxRate.objects.order_by("pk").values()),
        "labour_rates": list(LabourRate.objects.order_by("pk").values()),
        "triggers": dict(JobType.objects.values_list("name", "billing_trigger")),
    }


def test_ensure_billing_configures_the_demo_company_once():
    for name in ("Furnace maintenance", "Water heater install", "AC repair", "Drain cleaning"):
        JobTypeFactory(name=name)

    settings = ensure_billing()

    assert (settings.company_name, settings.company_address, settings.company_email, settings.company_phone) == (
        "Northwind Home Services",
        "2150 W Fulton St\nChicago, IL 60612",
        "billing@northwind.example",
        "(312) 555-0148",
    )
    assert settings.payment_instructions.startswith("Pay by card at the link in your invoice email, by check payable to Northwind Home Services")
    assert "or by bank transfer to Lakeshore Community Bank" in settings.payment_instructions
    assert (settings.payment_terms_days, settings.margin_warning_percent, settings.tax_labour, settings.bill_travel) == (30, 30, False, False)
    assert str(settings.default_tax_rate) == "Chicago sales tax (10.25 %)"
    assert dict(TaxRate.objects.values_list("name", "rate_milli_percent")) == {"Chicago sales tax": 10250, "Evanston sales tax": 10000}
    assert dict(LabourRate.objects.values_list("billing_type", "hourly_rate_cents")) == {
        BillingType.TIME_AND_MATERIALS: 12500,
        BillingType.NOT_TO_EXCEED: 12500,
        BillingType.AGREEMENT: 12500,
        BillingType.WARRANTY: 12500,
    }
    assert not LabourRate.objects.filter(billing_type=BillingType.FIXED_PRICE).exists(), "fixed-price labour is in the price"
    assert config()["triggers"] == {
        "Furnace maintenance": BillingTrigger.DRAFT_INVOICE,
        "Water heater install": BillingTrigger.DRAFT_INVOICE,
        "AC repair": BillingTrigger.QUEUE,
        "Drain cleaning": BillingTrigger.QUEUE,
    }

    # The office changes its terms, a rate and a trigger; loading the demo again keeps all of it.
    BillingSettings.objects.update(payment_terms_days=14)
    LabourRate.objects.filter(billing_type=BillingType.TIME_AND_MATERIALS).update(hourly_rate_cents=9900)
    JobType.objects.filter(name="Furnace maintenance").update(billing_trigger=BillingTrigger.QUEUE)
    before = config()
    assert ensure_billing().payment_terms_days == 14
    assert config() == before


def status_moves(job: Job) -> list[tuple[str, str]]:
    return list(JobEvent.objects.filter(job=job, kind=JobEvent.Kind.STATUS).order_by("created_at", "pk").values_list("old_value", "new_value"))


def assert_dated_before(now) -> None:  # type: ignore[no-untyped-def]
    """Nothing carries the real clock: every row the actions dated by default was dated to its moment."""
    for model in (JobEvent, Invoice, Payment, AccountingEntry):
        assert not model.objects.filter(created_at__gte=now).exists(), model.__name__
    seqs = list(AccountingEntry.objects.order_by("seq").values_list("seq", "created_at"))
    assert [s for s, _ in seqs] == list(range(1, len(seqs) + 1))
    assert [at for _, at in seqs] == sorted(at for _, at in seqs), "the journal is in time order"


def test_the_history_voids_and_reissues_one_invoice_closes_paid_work_and_leaves_a_part_payment(complete_job, office):
    paid_job, owing_job = complete_job(), complete_job()
    now = timezone.now()
    day = timedelta(days=1)
    jobs = [
        BilledJob(paid_job.pk, S.CLOSED, BillingType.TIME_AND_MATERIALS, after=now - 5 * day, invoiced_at=now - 4 * day, closed_at=now - 2 * day),
        BilledJob(owing_job.pk, S.INVOICED, BillingType.TIME_AND_MATERIALS, after=now - 4 * day, invoiced_at=now - 3 * day),
    ]

    bill_demo_jobs(Random(7), jobs, office=office, now=now)

    # Service 89.00 and 2 × 24.50 of material taxed at 8.25 % (734 + 404), trip fee 35.00, 1:30 h at 120.00.
    first, reissued, owing = Invoice.objects.order_by("number")
    assert (first.number, first.status, first.total_cents, first.tax_cents) == ("INV-000001", InvoiceStatus.VOID, 36438, 1138)
    assert first.void_reason == "Run capacitor billed at 2; the technician's log says 1. Reissued with the corrected quantity."
    assert LineItem.objects.get(job=paid_job, description="Run capacitor").quantity == Decimal("1")
    # One capacitor less: 24.50 and its 2.02 tax.
    assert (reissued.number, reissued.status, reissued.total_cents, reissued.paid_cents) == ("INV-000002", InvoiceStatus.PAID, 33786, 33786)
    assert list(reissued.jobs.all()) == [paid_job]
    [payment] = reissued.payments.all()
    assert (payment.kind, payment.amount_cents, payment.received_on) == (Payment.Kind.PAYMENT, 33786, timezone.localdate(now - 2 * day))
    assert payment.created_at == now - 2 * day
    assert Job.objects.get(pk=paid_job.pk).status == S.CLOSED
    assert status_moves(paid_job) == [(S.WORK_COMPLETE, S.INVOICED), (S.INVOICED, S.WORK_COMPLETE), (S.WORK_COMPLETE, S.INVOICED), (S.INVOICED, S.CLOSED)]
    assert JobEvent.objects.filter(job=paid_job, kind=JobEvent.Kind.STATUS).order_by("pk").last().created_at == now - 2 * day

    # The owing job: issued three days ago, part paid since in whole dollars.
    assert (owing.number, owing.status, owing.total_cents) == ("INV-000003", InvoiceStatus.PARTIALLY_PAID, 36438)
    assert (owing.issue_date, owing.due_date) == (timezone.localdate(now - 3 * day), timezone.localdate(now - 3 * day) + timedelta(days=30))
    assert 0 < owing.paid_cents < owing.total_cents
    assert owing.paid_cents % 100 == 0
    assert Job.objects.get(pk=owing_job.pk).status == S.INVOICED
    assert now - 4 * day - timedelta(minutes=40) <= first.created_at <= now - 4 * day - timedelta(minutes=5)
    assert first.issued_at == now - 4 * day

    assert Counter(AccountingEntry.objects.values_list("kind", flat=True)) == {"invoice_issued": 3, "invoice_voided": 1, "payment": 2}
    assert_dated_before(now)


def test_the_history_credits_and_refunds_a_paid_job_closes_covered_work_at_issue_and_issues_the_triggers_draft(complete_job, office, tech_a):
    # A paid job with a service line worth a goodwill credit (nothing on it is billed twice).
    credited = JobFactory(status=S.WORK_COMPLETE, billing_type=BillingType.TIME_AND_MATERIALS, technicians=[tech_a])
    LineItemFactory(job=credited, kind=LineItem.Kind.SERVICE, description="Compressor replacement", unit_price_cents=15000)
    approved_time(credited, tech_a, 60)
    warranty = complete_job(BillingType.WARRANTY)
    # Fixed-price work whose type drafts the invoice as the crew finishes.
    drafted = JobFactory(
        status=S.IN_PROGRESS, billing_type=BillingType.FIXED_PRICE, job_type=JobTypeFactory(name="Furnace tune", billing_trigger=BillingTrigger.DRAFT_INVOICE)
    )
    LineItemFactory(job=drafted, kind=LineItem.Kind.SERVICE, description="Furnace tune-up", unit_price_cents=20000)
    job_transition(actor=office, job_id=drafted.pk, to=S.WORK_COMPLETE)
    draft = Invoice.objects.get(jobs=drafted, status=InvoiceStatus.DRAFT)
    now = timezone.now()
    day = timedelta(days=1)
    jobs = [
        BilledJob(credited.pk, S.CLOSED, BillingType.TIME_AND_MATERIALS, after=now - 6 * day, invoiced_at=now - 5 * day, closed_at=now - 3 * day),
        BilledJob(warranty.pk, S.INVOICED, BillingType.WARRANTY, after=now - 5 * day, invoiced_at=now - 4 * day),
        BilledJob(drafted.pk, S.INVOICED, BillingType.FIXED_PRICE, after=now - 3 * day, invoiced_at=now - 2 * day),
    ]

    bill_demo_jobs(Random(3), jobs, office=office, now=now)

    # 150.00 of service taxed 12.38, an hour at 120.00; then 50.00 credited with its 4.13 tax and paid back.
    invoice = Invoice.objects.get(jobs=credited, kind=Invoice.Kind.INVOICE)
    [note] = invoice.credit_notes.all()
    assert (invoice.number, invoice.total_cents, invoice.credited_cents, invoice.paid_cents, invoice.balance_cents) == ("INV-000001", 28238, 5413, 22825, 0)
    assert invoice.status == InvoiceStatus.PAID
    assert (note.number, note.subtotal_cents, note.tax_cents, note.total_cents, note.memo) == (
        "CN-000001",
        5000,
        413,
        5413,
        "Goodwill credit: the crew arrived after the booked window.",
    )
    refund = invoice.payments.get(kind=Payment.Kind.REFUND)
    last_payment = invoice.payments.filter(kind=Payment.Kind.PAYMENT).order_by("pk").last()
    assert (refund.amount_cents, refund.method, refund.reference, refund.note) == (
        5413,
        last_payment.method,
        last_payment.reference,
        "Goodwill credit CN-000001 paid back",
    )
    assert now - 3 * day < note.issued_at == refund.created_at < now
    assert Job.objects.get(pk=credited.pk).status == S.CLOSED

    # Covered work: a zero invoice, paid as it is issued, and the job closes with it.
    covered = Invoice.objects.get(jobs=warranty)
    assert (covered.number, covered.status, covered.total_cents, covered.payments.count()) == ("INV-000002", InvoiceStatus.PAID, 0, 0)
    assert Job.objects.get(pk=warranty.pk).status == S.CLOSED
    assert status_moves(warranty) == [(S.WORK_COMPLETE, S.INVOICED), (S.INVOICED, S.CLOSED)]

    # The trigger's draft is the one issued; the job owes part of it.
    issued = Invoice.objects.get(jobs=drafted)
    assert (issued.pk, issued.number, issued.total_cents, issued.status) == (draft.pk, "INV-000003", 21650, InvoiceStatus.PARTIALLY_PAID)
    assert Job.objects.get(pk=drafted.pk).status == S.INVOICED
    assert_dated_before(now)
