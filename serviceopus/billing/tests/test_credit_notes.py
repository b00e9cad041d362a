"""Credit notes: whole and partial line credits with their tax, their own numbers, the invoice's
balance and state following, and what cannot be credited. The fixed-price invoice credited here has a
service line of 8900 (tax 734), a material line of 4900 (tax 404) and an untaxed fee of 3500: 18438."""

import pytest
from django.utils import timezone

from serviceopus.billing.actions import credit_note_create, invoice_create, invoice_void
from serviceopus.billing.models import AccountingEntry, Invoice, InvoiceLine
from serviceopus.billing.status import InvoiceStatus
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import BillingType, JobEvent
from serviceopus.jobs.status import JobStatus

from .test_invoices import add, fresh, issue
from .test_payments import pay, refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(office, complete_job):  # type: ignore[no-untyped-def]
    return issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))


def line(invoice, kind):  # type: ignore[no-untyped-def]
    return invoice.lines.get(kind=kind)


def credit(actor, invoice, amounts, reason="Price corrected"):  # type: ignore[no-untyped-def]
    invoice = fresh(invoice)
    return credit_note_create(actor=actor, invoice_id=invoice.pk, version=invoice.version, amounts=amounts, reason=reason)


def state(invoice):  # type: ignore[no-untyped-def]
    invoice = fresh(invoice)
    return (invoice.status, invoice.paid_cents, invoice.credited_cents, invoice.balance_cents)


def test_a_whole_line_is_credited_with_its_tax(office, issued):  # type: ignore[no-untyped-def]
    service = line(issued, "service")
    note = credit(office, issued, {service.pk: 8900}, reason="  Visit was free  ")
    assert (note.kind, note.number, note.status, note.credits_id, note.memo) == ("credit_note", "CN-000001", InvoiceStatus.ISSUED, issued.pk, "Visit was free")
    assert (note.subtotal_cents, note.tax_cents, note.total_cents, note.balance_cents) == (8900, 734, 9634, 0)
    assert [(cl.kind, cl.amount_cents, cl.tax_cents, cl.credits_line_id, cl.live, cl.description) for cl in note.lines.all()] == [
        ("credit", -8900, -734, service.pk, False, "Credit: Diagnostic visit")
    ]
    assert state(issued) == (InvoiceStatus.ISSUED, 0, 9634, 8804)
    assert list(note.jobs.all()) == list(issued.jobs.all())
    entry = AccountingEntry.objects.get(kind="credit_note_issued")
    assert (entry.invoice_id, entry.data["number"], entry.data["credits"], entry.data["total_cents"]) == (note.pk, "CN-000001", "INV-000001", 9634)
    job = issued.jobs.get()
    assert JobEvent.objects.filter(job=job, message="Credit note CN-000001 of $96.34 against INV-000001: Visit was free").count() == 1


def test_part_of_a_line_is_credited_with_the_tax_on_that_part(office, issued):  # type: ignore[no-untyped-def]
    material = line(issued, "material")
    note = credit(office, issued, {material.pk: 1000})
    assert (note.subtotal_cents, note.tax_cents, note.total_cents) == (1000, 83, 1083)  # 82.5 rounds up
    assert state(issued) == (InvoiceStatus.ISSUED, 0, 1083, 17355)


def test_a_line_credited_in_parts_returns_exactly_its_tax(office, issued):  # type: ignore[no-untyped-def]
    service = line(issued, "service")
    # Each part rounded on its own would be 245 + 245 + 245 = 735 against the line's 734.
    notes = [credit(office, issued, {service.pk: cents}) for cents in (2967, 2967, 2966)]
    assert [note.tax_cents for note in notes] == [245, 245, 244]
    assert sum(note.total_cents for note in notes) == 8900 + 734
    assert [note.number for note in notes] == ["CN-000001", "CN-000002", "CN-000003"]


def test_crediting_everything_leaves_nothing_owed(office, issued):  # type: ignore[no-untyped-def]
    service, material, fee = line(issued, "service"), line(issued, "material"), line(issued, "fee")
    credit(office, issued, {material.pk: 2450})
    note = credit(office, issued, {service.pk: 8900, fee.pk: 3500, material.pk: 2450})
    assert (note.subtotal_cents, note.tax_cents, note.total_cents) == (14850, 936, 15786)
    assert [cl.credits_line_id for cl in note.lines.order_by("position")] == sorted([service.pk, material.pk, fee.pk])
    # Credited in full: the invoice owes nothing and counts as settled; its job closes.
    assert state(issued) == (InvoiceStatus.PAID, 0, 18438, 0)
    assert issued.jobs.get().status == JobStatus.CLOSED


def test_credit_note_numbers_are_their_own_sequence(office, issued, complete_job):  # type: ignore[no-untyped-def]
    credit(office, issued, {line(issued, "fee").pk: 100})
    second = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    assert second.number == "INV-000002"
    assert credit(office, second, {line(second, "fee").pk: 100}).number == "CN-000002"
    assert list(Invoice.objects.order_by("pk").values_list("number", flat=True)) == ["INV-000001", "CN-000001", "INV-000002", "CN-000002"]


def test_cannot_credit_more_than_is_left(office, issued, billing_rows):  # type: ignore[no-untyped-def]
    service = line(issued, "service")
    credit(office, issued, {service.pk: 8000})
    before = billing_rows()
    with pytest.raises(InvalidInput) as refused:
        credit(office, issued, {service.pk: 901})
    assert refused.value.fields == {"lines": "“Diagnostic visit” has $9.00 left to credit; $9.01 is more."}
    assert billing_rows() == before
    assert credit(office, issued, {service.pk: 900}).total_cents == 900 + (734 - 660)


def test_credit_on_a_paid_invoice_is_owed_back_as_a_refund(office, issued):  # type: ignore[no-untyped-def]
    pay(office, issued, 18438)
    assert issued.jobs.get().status == JobStatus.CLOSED
    credit(office, issued, {line(issued, "fee").pk: 3500}, reason="Trip fee waived")
    assert state(issued) == (InvoiceStatus.PAID, 18438, 3500, -3500)
    with pytest.raises(ConflictError):
        pay(office, issued, 1)
    refund(office, issued, 3500, note="Trip fee waived")
    assert state(issued) == (InvoiceStatus.PAID, 14938, 3500, 0)


def test_credit_on_a_partly_paid_invoice_settles_the_rest(office, issued):  # type: ignore[no-untyped-def]
    pay(office, issued, 14938)
    assert state(issued) == (InvoiceStatus.PARTIALLY_PAID, 14938, 0, 3500)
    credit(office, issued, {line(issued, "fee").pk: 3500})
    assert state(issued) == (InvoiceStatus.PAID, 14938, 3500, 0)
    assert issued.jobs.get().status == JobStatus.CLOSED


@pytest.fixture
def discounted(office, complete_job):  # type: ignore[no-untyped-def]
    """An agreement invoice: service and labour covered, material 4900 (tax 404), fee 3500, an untaxed
    discount of 500: 8304."""
    draft = invoice_create(actor=office, job_ids=[complete_job(BillingType.AGREEMENT).pk])
    add(office, draft, kind="discount", description="Goodwill", price=500)
    return issue(office, draft)


def test_covered_lines_and_wrong_signs_are_refused(office, discounted, billing_rows):  # type: ignore[no-untyped-def]
    before = billing_rows()
    cases = [
        ("service", 1, "“Diagnostic visit (covered by agreement)” has $0.00 left to credit; $0.01 is more."),
        ("discount", 1, "“Goodwill” is credited with a negative amount (it is a discount)."),
        ("discount", -501, "“Goodwill” has -$5.00 left to credit; -$5.01 is more."),
        ("fee", -5, "“Trip fee” is credited with an amount above zero."),
    ]
    for kind, cents, message in cases:
        with pytest.raises(InvalidInput) as refused:
            credit(office, discounted, {line(discounted, kind).pk: cents})
        assert refused.value.fields == {"lines": message}
    assert billing_rows() == before


def test_a_discounted_invoice_is_credited_in_full(office, discounted):  # type: ignore[no-untyped-def]
    assert fresh(discounted).total_cents == 8304
    amounts = {line.pk: line.amount_cents for line in discounted.lines.exclude(amount_cents=0)}
    note = credit(office, discounted, amounts, reason="Cancelled")
    assert (note.subtotal_cents, note.tax_cents, note.total_cents) == (7900, 404, 8304)
    assert sorted(cl.amount_cents for cl in note.lines.all()) == [-4900, -3500, 500]
    assert state(discounted) == (InvoiceStatus.PAID, 0, 8304, 0)


def test_a_credit_note_of_the_discount_alone_is_refused(office, discounted, billing_rows):  # type: ignore[no-untyped-def]
    before = billing_rows()
    with pytest.raises(InvalidInput) as refused:
        credit(office, discounted, {line(discounted, "discount").pk: -500})
    assert refused.value.fields == {"lines": "A credit note lowers what is owed: this one comes to -$5.00. Credit the charged lines too."}
    assert billing_rows() == before
    note = credit(office, discounted, {line(discounted, "discount").pk: -500, line(discounted, "fee").pk: 600})
    assert note.total_cents == 100


@pytest.mark.parametrize(
    ("amounts", "reason", "fields"),
    [
        ("none", "Dent", {"lines": "Choose at least one line and an amount to credit."}),
        ("zero", "Dent", {"lines": "Choose at least one line and an amount to credit."}),
        ("negative", "Dent", {"lines": "“Trip fee” is credited with an amount above zero."}),
        ("text", "Dent", {"lines": "Amounts to credit are whole cents."}),
        ("fee", "", {"reason": "Say what the credit note corrects (at most 500 characters)."}),
        ("fee", "x" * 501, {"reason": "Say what the credit note corrects (at most 500 characters)."}),
        ("other", "Dent", {"lines": "A chosen line is not on this invoice."}),
        ("junk", "Dent", {"lines": "A chosen line is not on this invoice."}),
    ],
)
def test_invalid_credit_notes_are_refused(office, issued, complete_job, billing_rows, amounts, reason, fields):  # type: ignore[no-untyped-def]
    fee = line(issued, "fee").pk
    other = invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]).lines.first().pk
    amounts = {
        "none": {},
        "zero": {fee: 0},
        "negative": {fee: -5},
        "text": {fee: "5"},
        "fee": {fee: 100},
        "other": {other: 100},
        "junk": {"first": 100},
    }[amounts]
    before = billing_rows()
    with pytest.raises(InvalidInput) as refused:
        credit(office, issued, amounts, reason=reason)
    assert refused.value.fields == fields
    assert billing_rows() == before


def test_only_issued_invoices_are_credited(office, complete_job, issued, billing_rows):  # type: ignore[no-untyped-def]
    draft = invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk])
    void = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    void = invoice_void(actor=office, invoice_id=void.pk, version=void.version, reason="Duplicate")
    note = credit(office, issued, {line(issued, "fee").pk: 100})
    before = billing_rows()
    for invoice, label in [(draft, "draft"), (void, "void"), (note, "issued")]:
        with pytest.raises(ConflictError) as refused:
            credit(office, invoice, {invoice.lines.first().pk: 1})
        assert (refused.value.code, refused.value.message) == ("not_creditable", f"{fresh(invoice)} is {label}: only an issued invoice can be credited.")
    assert billing_rows() == before


def test_stale_or_forbidden_credit_notes_are_refused(office, dispatcher, issued, billing_rows):  # type: ignore[no-untyped-def]
    fee = line(issued, "fee").pk
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        credit_note_create(actor=office, invoice_id=issued.pk, version=issued.version - 1, amounts={fee: 100}, reason="Dent")
    assert refused.value.code == "stale"
    with pytest.raises(DomainError) as refused:
        credit(dispatcher, issued, {fee: 100})
    assert (refused.value.code, refused.value.message) == ("forbidden", "You may not issue credit notes.")
    assert billing_rows() == before


def test_a_credited_invoice_keeps_its_work_billed(office, issued):  # type: ignore[no-untyped-def]
    """A credit note corrects the price; the work stays on the invoice (it is not billed again)."""
    credit(office, issued, {line(issued, "service").pk: 8900})
    assert InvoiceLine.objects.filter(invoice=issued, live=True).count() == 3
    assert AccountingEntry.objects.filter(kind="credit_note_issued").get().data["issue_date"] == timezone.localdate().isoformat()
