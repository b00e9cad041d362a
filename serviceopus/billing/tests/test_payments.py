"""Payments and refunds: the balance, the invoice's state, the journal, and what is refused."""

from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from serviceopus.billing.actions import invoice_create, invoice_void, payment_record, refund_record
from serviceopus.billing.models import AccountingEntry, Invoice, Payment
from serviceopus.billing.status import InvoiceStatus
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import BillingType, JobEvent
from serviceopus.jobs.status import JobStatus

from .test_invoices import fresh, issue

pytestmark = pytest.mark.django_db


def pay(actor, invoice, cents, method="card", **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("received_on", timezone.localdate())
    return payment_record(actor=actor, invoice_id=invoice.pk, amount_cents=cents, method=method, **kwargs)


def refund(actor, invoice, cents, method="card", note="Returned part", **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("received_on", timezone.localdate())
    return refund_record(actor=actor, invoice_id=invoice.pk, amount_cents=cents, method=method, note=note, **kwargs)


def state(invoice):  # type: ignore[no-untyped-def]
    invoice = fresh(invoice)
    return (invoice.status, invoice.paid_cents, invoice.balance_cents)


@pytest.fixture
def issued(office, complete_job):  # type: ignore[no-untyped-def]
    """An issued time & materials invoice of 364.38 for a job now invoiced."""
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    return issue(office, invoice_create(actor=office, job_ids=[job.pk]))


def test_a_partial_payment_then_the_rest(office, issued):  # type: ignore[no-untyped-def]
    job = issued.jobs.get()
    assert job.status == JobStatus.INVOICED
    first = pay(office, issued, 10000, method="check", reference=" 1042 ", note="Deposit")
    assert (first.kind, first.method, first.amount_cents, first.reference, first.note, first.recorded_by) == (
        "payment",
        "check",
        10000,
        "1042",
        "Deposit",
        office,
    )
    assert state(issued) == (InvoiceStatus.PARTIALLY_PAID, 10000, 26438)
    job.refresh_from_db()
    assert job.status == JobStatus.INVOICED
    assert JobEvent.objects.filter(job=job, message="Payment of $100.00 (check) on INV-000001; balance $264.38").count() == 1
    pay(office, issued, 26438, method="bank_transfer")
    assert state(issued) == (InvoiceStatus.PAID, 36438, 0)
    job.refresh_from_db()
    assert job.status == JobStatus.CLOSED
    entries = list(AccountingEntry.objects.values_list("seq", "kind", "payment__amount_cents"))
    assert entries == [(1, "invoice_issued", None), (2, "payment", 10000), (3, "payment", 26438)]
    assert AccountingEntry.objects.get(seq=2).data == {
        "id": first.pk,
        "kind": "payment",
        "invoice_id": issued.pk,
        "invoice_number": "INV-000001",
        "customer": {"id": issued.customer_id, "name": issued.customer.name},
        "method": "check",
        "amount_cents": 10000,
        "reference": "1042",
        "received_on": timezone.localdate().isoformat(),
        "currency": "USD",
    }


def test_an_overpayment_is_refused_and_changes_nothing(office, issued, billing_rows):  # type: ignore[no-untyped-def]
    pay(office, issued, 36000)
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        pay(office, issued, 439)
    assert refused.value.code == "overpayment"
    assert refused.value.message == "$4.39 is more than the balance of $4.38 on INV-000001; nothing was recorded."
    assert billing_rows() == before
    pay(office, issued, 438)
    assert state(issued) == (InvoiceStatus.PAID, 36438, 0)


@pytest.mark.parametrize("method", ["card", "cash", "check", "bank_transfer", "other"])
def test_every_method_is_accepted(office, issued, method):  # type: ignore[no-untyped-def]
    assert pay(office, issued, 100, method=method).method == method


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"method": "bitcoin"}, {"method": "Choose card, cash, check, bank transfer or other."}),
        ({"method": ""}, {"method": "Choose card, cash, check, bank transfer or other."}),
        ({"cents": 0}, {"amount": "An amount above zero."}),
        ({"cents": -100}, {"amount": "An amount above zero."}),
        ({"cents": True}, {"amount": "An amount above zero."}),
        ({"cents": 10**11 + 1}, {"amount": "An amount above zero."}),
        ({"received_on": None}, {"received_on": "Enter the date it was received."}),
        ({"received_on": "2024-01-01"}, {"received_on": "Enter the date it was received."}),
        ({"reference": "x" * 101}, {"reference": "At most 100 characters."}),
        ({"note": "a\x00"}, {"note": "At most 500 characters."}),
    ],
)
def test_invalid_payments_are_refused(office, issued, billing_rows, changes, fields):  # type: ignore[no-untyped-def]
    before = billing_rows()
    cents = changes.pop("cents", 1000)
    with pytest.raises(InvalidInput) as refused:
        pay(office, issued, cents, **changes)
    assert refused.value.fields == fields
    assert billing_rows() == before


def test_a_future_date_is_refused(office, issued, billing_rows):  # type: ignore[no-untyped-def]
    before = billing_rows()
    with pytest.raises(InvalidInput) as refused:
        pay(office, issued, 1000, received_on=timezone.localdate() + timedelta(days=1))
    assert refused.value.fields == {"received_on": "The date cannot be in the future."}
    assert billing_rows() == before
    assert pay(office, issued, 1000, received_on=timezone.localdate() - timedelta(days=40)).amount_cents == 1000


def test_payments_on_a_draft_a_void_a_paid_invoice_or_a_credit_note_are_refused(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    from serviceopus.billing.actions import credit_note_create

    draft = invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk])
    void = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    void = invoice_void(actor=office, invoice_id=void.pk, version=void.version, reason="Duplicate")
    paid = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    pay(office, paid, 18438)
    credited = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    note = credit_note_create(actor=office, invoice_id=credited.pk, version=credited.version, amounts={credited.lines.first().pk: 100}, reason="Dent")
    before = billing_rows()
    for invoice, label in [(draft, "draft"), (void, "void"), (paid, "paid"), (note, "issued")]:
        with pytest.raises(ConflictError) as refused:
            pay(office, invoice, 100)
        assert (refused.value.code, refused.value.message) == ("not_payable", f"{fresh(invoice)} is {label}: it takes no payment.")
    with pytest.raises(ConflictError) as refused:
        refund(office, draft, 100)
    assert refused.value.code == "not_refundable"
    assert billing_rows() == before


def test_refunds_move_the_state_back(office, issued):  # type: ignore[no-untyped-def]
    pay(office, issued, 36438)
    assert state(issued) == (InvoiceStatus.PAID, 36438, 0)
    back = refund(office, issued, 5000, method="cash", note="Unused part returned")
    assert (back.kind, back.amount_cents, back.signed_cents, back.note) == ("refund", 5000, -5000, "Unused part returned")
    assert state(issued) == (InvoiceStatus.PARTIALLY_PAID, 31438, 5000)
    refund(office, issued, 31438)
    assert state(issued) == (InvoiceStatus.ISSUED, 0, 36438)
    assert list(AccountingEntry.objects.values_list("kind", flat=True)) == ["invoice_issued", "payment", "refund", "refund"]
    assert AccountingEntry.objects.get(seq=3).data["kind"] == "refund"


def test_a_refund_is_at_most_what_was_paid(office, issued, billing_rows):  # type: ignore[no-untyped-def]
    pay(office, issued, 10000)
    refund(office, issued, 4000)
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        refund(office, issued, 6001)
    assert (refused.value.code, refused.value.message) == ("over_refund", "Only $60.00 has been paid on INV-000001; a refund cannot be more.")
    assert billing_rows() == before
    refund(office, issued, 6000)
    assert state(issued) == (InvoiceStatus.ISSUED, 0, 36438)


def test_a_refund_needs_a_reason(office, issued, billing_rows):  # type: ignore[no-untyped-def]
    pay(office, issued, 10000)
    before = billing_rows()
    with pytest.raises(InvalidInput) as refused:
        refund(office, issued, 100, note="  ")
    assert refused.value.fields == {"note": "Say why the money is refunded."}
    assert billing_rows() == before


def test_only_billing_roles_record_money(dispatcher, tech_a, issued, billing_rows):  # type: ignore[no-untyped-def]
    before = billing_rows()
    for actor in (dispatcher, tech_a.user):
        with pytest.raises(DomainError) as refused:
            pay(actor, issued, 100)
        assert (refused.value.code, refused.value.message) == ("forbidden", "You may not record payments.")
        with pytest.raises(DomainError) as refused:
            refund(actor, issued, 100)
        assert refused.value.code == "forbidden"
    assert billing_rows() == before


def test_a_missing_invoice_is_not_found(office, issued):  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as refused:
        payment_record(actor=office, invoice_id=issued.pk + 100, amount_cents=100, method="card", received_on=timezone.localdate())
    assert refused.value.code == "not_found"
    assert not Payment.objects.exists()


def test_the_balance_is_always_total_less_payments_and_credits(office, issued):  # type: ignore[no-untyped-def]
    steps = [("pay", 1), ("pay", 20000), ("refund", 5000), ("pay", 21437), ("refund", 36438), ("pay", 36438)]
    paid, version = 0, issued.version
    for kind, cents in steps:
        (pay if kind == "pay" else refund)(office, issued, cents)
        paid += cents if kind == "pay" else -cents
        invoice = fresh(issued)
        assert (invoice.paid_cents, invoice.balance_cents) == (paid, 36438 - paid)
        assert invoice.paid_cents == sum(p.signed_cents for p in Payment.objects.filter(invoice=invoice))
    assert fresh(issued).status == InvoiceStatus.PAID
    assert Invoice.objects.get(pk=issued.pk).version == version + len(steps)


def test_every_move_the_actions_make_is_in_the_table(office, complete_job):  # type: ignore[no-untyped-def]
    from serviceopus.billing.actions import credit_note_create
    from serviceopus.billing.status import ALLOWED

    invoice = invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk])
    seen = [fresh(invoice).status]
    steps = [
        lambda: issue(office, invoice),
        lambda: pay(office, invoice, 1000),
        lambda: refund(office, invoice, 1000),
        lambda: pay(office, invoice, 18438),
        lambda: refund(office, invoice, 438),
        lambda: credit_note_create(
            actor=office, invoice_id=invoice.pk, version=fresh(invoice).version, amounts={invoice.lines.get(kind="fee").pk: 438}, reason="Fee"
        ),
        lambda: refund(office, invoice, 18000),
        lambda: pay(office, invoice, 18000),
    ]
    for step in steps:
        step()
        seen.append(fresh(invoice).status)
    assert seen == ["draft", "issued", "partially_paid", "issued", "paid", "partially_paid", "paid", "issued", "paid"]
    for old, new in pairwise(seen):
        assert new in ALLOWED[old], (old, new)
