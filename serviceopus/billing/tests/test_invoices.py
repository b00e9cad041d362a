"""The invoice lifecycle: double billing refused (by the actions and by the database), draft edits,
issue with gapless numbers, void, delete. Every refusal leaves every row as it was."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from serviceopus.billing.actions import (
    invoice_create,
    invoice_delete,
    invoice_issue,
    invoice_line_add,
    invoice_line_remove,
    invoice_line_update,
    invoice_update,
    invoice_void,
    payment_record,
)
from serviceopus.billing.models import AccountingEntry, Invoice, InvoiceLine
from serviceopus.billing.status import InvoiceStatus
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import BillingType, JobEvent
from serviceopus.jobs.status import JobStatus

pytestmark = pytest.mark.django_db


def issue(actor, invoice):  # type: ignore[no-untyped-def]
    invoice.refresh_from_db()
    return invoice_issue(actor=actor, invoice_id=invoice.pk, version=invoice.version)


def fresh(invoice):  # type: ignore[no-untyped-def]
    invoice.refresh_from_db()
    return invoice


def add(actor, invoice, kind="fee", description="After-hours fee", quantity="1", price=2500, tax_rate_id=None):  # type: ignore[no-untyped-def]
    invoice.refresh_from_db()
    return invoice_line_add(
        actor=actor,
        invoice_id=invoice.pk,
        version=invoice.version,
        kind=kind,
        description=description,
        quantity=Decimal(quantity),
        unit_price_cents=price,
        tax_rate_id=tax_rate_id,
    )


# ---- billed once -------------------------------------------------------------------------------------


def test_a_second_invoice_for_the_same_work_is_refused(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        invoice_create(actor=office, job_ids=[job.pk])
    # The job is invoiced now, so the status check speaks first; a job still at work complete (below) gets
    # the "nothing left" refusal.
    assert refused.value.code == "not_invoiceable"
    assert billing_rows() == before


def test_a_draft_holds_its_sources(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice_create(actor=office, job_ids=[job.pk])
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        invoice_create(actor=office, job_ids=[job.pk])
    assert refused.value.code == "nothing_to_invoice"
    assert refused.value.message == f"Nothing left to invoice on {job.number}: every line and approved time entry is already on an invoice."
    assert billing_rows() == before


def test_an_issued_invoice_of_part_of_a_job_holds_its_sources(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    fee = invoice.lines.get(kind="fee")
    invoice_line_remove(actor=office, invoice_id=invoice.pk, version=fresh(invoice).version, line_id=fee.pk)
    issue(office, invoice)
    job.refresh_from_db()
    assert job.status == JobStatus.WORK_COMPLETE
    rest = invoice_create(actor=office, job_ids=[job.pk])
    assert [(line.kind, line.amount_cents, line.line_item_id) for line in rest.lines.all()] == [("fee", 3500, fee.line_item_id)]


def test_the_database_refuses_a_second_live_line_for_a_line_item(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    item = job.line_items.get(kind="service")
    other = Invoice.objects.create(customer=job.customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.create(invoice=other, kind="service", description="Again", amount_cents=8900, line_item=item, job=job)
    # Not live (a voided invoice's line) it may be there twice.
    InvoiceLine.objects.create(invoice=other, kind="service", description="Void copy", amount_cents=8900, line_item=item, job=job, live=False)
    assert InvoiceLine.objects.filter(line_item=item).count() == 2
    assert invoice.lines.filter(line_item=item).count() == 1


def test_the_database_refuses_a_second_live_line_for_a_time_entry(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice_create(actor=office, job_ids=[job.pk])
    entry = job.time_entries.get()
    other = Invoice.objects.create(customer=job.customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.create(invoice=other, kind="labour", description="Again", amount_cents=18000, time_entry=entry, job=job)
    assert InvoiceLine.objects.filter(time_entry=entry).count() == 1


def test_a_line_has_at_most_one_source(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    other = Invoice.objects.create(customer=job.customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.create(invoice=other, kind="labour", description="Both", line_item=job.line_items.first(), time_entry=job.time_entries.get())


def test_work_put_on_another_invoice_meanwhile_is_refused_creating_nothing(office, complete_job, billing_rows, monkeypatch):  # type: ignore[no-untyped-def]
    """The preview was read, then another transaction invoiced the same line: the database refuses."""
    from serviceopus.billing.actions import invoices as invoice_actions

    job = complete_job(BillingType.TIME_AND_MATERIALS)
    real_preview = invoice_actions.preview

    def racing_preview(jobs):  # type: ignore[no-untyped-def]
        result = real_preview(jobs)
        elsewhere = Invoice.objects.create(customer=job.customer)
        InvoiceLine.objects.create(invoice=elsewhere, kind="service", description="Raced", amount_cents=8900, line_item=job.line_items.get(kind="service"))
        return result

    before = billing_rows()
    monkeypatch.setattr(invoice_actions, "preview", racing_preview)
    with pytest.raises(ConflictError) as refused:
        invoice_create(actor=office, job_ids=[job.pk])
    assert refused.value.code == "already_invoiced"
    assert billing_rows() == before


def test_after_void_the_work_can_be_invoiced_again(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    first = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    invoice_void(actor=office, invoice_id=first.pk, version=first.version, reason="Billed to the wrong address")
    assert not first.lines.filter(live=True).exists()
    again = invoice_create(actor=office, job_ids=[job.pk])
    assert (again.total_cents, again.lines.count()) == (36438, 4)
    assert set(again.lines.values_list("line_item_id", flat=True)) == set(first.lines.values_list("line_item_id", flat=True))


def test_removing_a_line_from_a_draft_frees_its_source(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    labour = invoice.lines.get(kind="labour")
    invoice_line_remove(actor=office, invoice_id=invoice.pk, version=invoice.version, line_id=labour.pk)
    assert (fresh(invoice).subtotal_cents, fresh(invoice).tax_cents, fresh(invoice).total_cents) == (17300, 1138, 18438)
    other = invoice_create(actor=office, job_ids=[job.pk])
    assert [(line.kind, line.amount_cents, line.time_entry_id) for line in other.lines.all()] == [("labour", 18000, labour.time_entry_id)]


def test_deleting_a_draft_frees_its_work(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    invoice_delete(actor=office, invoice_id=invoice.pk, version=invoice.version)
    assert not Invoice.objects.filter(pk=invoice.pk).exists()
    assert not InvoiceLine.objects.exists()
    assert JobEvent.objects.filter(job=job, message=f"Draft invoice #{invoice.pk} deleted").count() == 1
    assert invoice_create(actor=office, job_ids=[job.pk]).total_cents == 36438


def test_a_job_with_nothing_on_it_has_nothing_to_invoice(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS, minutes=0)
    job.line_items.all().delete()
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        invoice_create(actor=office, job_ids=[job.pk])
    assert refused.value.code == "nothing_to_invoice"
    assert billing_rows() == before


def test_a_job_with_nothing_left_is_not_linked_to_a_new_invoice(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    other = complete_job(BillingType.TIME_AND_MATERIALS, customer=job.customer)
    invoice_create(actor=office, job_ids=[job.pk])
    invoice = invoice_create(actor=office, job_ids=[job.pk, other.pk])
    assert list(invoice.jobs.all()) == [other]
    assert not JobEvent.objects.filter(job=job, message__startswith=f"Draft invoice #{invoice.pk}").exists()


def test_only_billing_roles_create_invoices(dispatcher, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    before = billing_rows()
    with pytest.raises(DomainError) as refused:
        invoice_create(actor=dispatcher, job_ids=[job.pk])
    assert (refused.value.code, refused.value.message) == ("forbidden", "You may not create invoices.")
    assert billing_rows() == before


def test_no_jobs_or_a_missing_job_is_refused(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    before = billing_rows()
    with pytest.raises(InvalidInput) as refused:
        invoice_create(actor=office, job_ids=[])
    assert refused.value.fields == {"jobs": "Choose at least one job."}
    with pytest.raises(DomainError) as refused:
        invoice_create(actor=office, job_ids=[job.pk, job.pk + 1000])
    assert refused.value.code == "not_found"
    assert billing_rows() == before


# ---- draft edits ------------------------------------------------------------------------------------


def test_fees_and_discounts_on_a_draft(office, complete_job, tax):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.FIXED_PRICE)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    fee = add(office, invoice, price=2500, tax_rate_id=tax.pk)
    discount = add(office, invoice, kind="discount", description="Loyal customer", price=1000, tax_rate_id=tax.pk)
    assert (fee.position, fee.amount_cents, fee.tax_cents, fee.job_id) == (4, 2500, 206, None)  # 206.25
    assert (discount.position, discount.unit_price_cents, discount.amount_cents, discount.tax_cents) == (5, -1000, -1000, -83)  # -82.5
    invoice = fresh(invoice)
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents, invoice.version) == (18800, 1261, 20061, 4)


def test_updating_a_line_reprices_it(office, complete_job, tax):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    service = invoice.lines.get(kind="service")
    line = invoice_line_update(
        actor=office,
        invoice_id=invoice.pk,
        version=invoice.version,
        line_id=service.pk,
        description="Diagnostic visit, after hours",
        quantity=Decimal("1.5"),
        unit_price_cents=8900,
        tax_rate_id=tax.pk,
    )
    assert (line.description, line.quantity, line.amount_cents, line.tax_cents, line.line_item_id) == (
        "Diagnostic visit, after hours",
        Decimal("1.500"),
        13350,
        1101,  # 1101.375
        service.line_item_id,
    )
    invoice = fresh(invoice)
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == (39750, 1505, 41255)


def test_labour_keeps_its_minute_price_when_only_the_words_change(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS, minutes=50)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    labour = invoice.lines.get(kind="labour")
    assert (labour.quantity, labour.amount_cents) == (Decimal("0.833"), 10000)
    line = invoice_line_update(
        actor=office,
        invoice_id=invoice.pk,
        version=invoice.version,
        line_id=labour.pk,
        description="Labour",
        quantity=labour.quantity,
        unit_price_cents=12000,
        tax_rate_id=None,
    )
    assert (line.description, line.amount_cents) == ("Labour", 10000)  # not 0.833 × 12000 = 9996


def test_covered_lines_stay_at_zero(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.AGREEMENT)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    covered = invoice.lines.get(kind="service")
    line = invoice_line_update(
        actor=office,
        invoice_id=invoice.pk,
        version=invoice.version,
        line_id=covered.pk,
        description="Tune-up",
        quantity=Decimal("2"),
        unit_price_cents=5000,
        tax_rate_id=None,
    )
    assert (line.unit_price_cents, line.amount_cents, line.covered) == (0, 0, True)


def test_the_not_to_exceed_adjustment_cannot_be_edited(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=30000)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    adjustment = invoice.lines.filter(kind="adjustment").first()
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        invoice_line_update(
            actor=office,
            invoice_id=invoice.pk,
            version=invoice.version,
            line_id=adjustment.pk,
            description="x",
            quantity=Decimal(1),
            unit_price_cents=0,
            tax_rate_id=None,
        )
    assert refused.value.code == "adjustment"
    assert billing_rows() == before


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"kind": "labour"}, {"kind": "Choose service, fee or discount."}),
        ({"description": "  "}, {"description": "Enter a description (at most 300 characters)."}),
        ({"description": "a\x00b"}, {"description": "Enter a description (at most 300 characters)."}),
        ({"quantity": "0"}, {"quantity": "A quantity above zero, at most 3 decimal places."}),
        ({"quantity": "1.0001"}, {"quantity": "A quantity above zero, at most 3 decimal places."}),
        ({"price": -5}, {"unit_price": "A price of zero or more (enter a discount as a positive amount)."}),
        ({"tax_rate_id": 999_999}, {"tax_rate": "Unknown tax rate."}),
    ],
)
def test_invalid_lines_are_refused(office, complete_job, billing_rows, changes, fields):  # type: ignore[no-untyped-def]
    invoice = invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk])
    before = billing_rows()
    with pytest.raises(InvalidInput) as refused:
        add(office, invoice, **changes)
    assert refused.value.fields == fields
    assert billing_rows() == before


def test_memo_and_terms(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    invoice = invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk], memo="  PO 4471  ")
    assert (invoice.memo, invoice.terms_days) == ("PO 4471", 30)
    invoice = invoice_update(actor=office, invoice_id=invoice.pk, version=invoice.version, memo="PO 4472", terms_days=15)
    assert (fresh(invoice).memo, fresh(invoice).terms_days, fresh(invoice).version) == ("PO 4472", 15, 3)
    event = JobEvent.objects.filter(kind=JobEvent.Kind.BILLING).latest("pk")
    assert event.message == f"Draft invoice #{invoice.pk}: memo changed, terms net 30 → net 15 days"
    # Saving it unchanged records nothing.
    invoice_update(actor=office, invoice_id=invoice.pk, version=fresh(invoice).version, memo="PO 4472", terms_days=15)
    assert JobEvent.objects.filter(kind=JobEvent.Kind.BILLING).latest("pk") == event
    before = billing_rows()
    with pytest.raises(InvalidInput) as refused:
        invoice_update(actor=office, invoice_id=invoice.pk, version=fresh(invoice).version, memo="", terms_days=366)
    assert refused.value.fields == {"terms_days": "Payment terms of 0 to 365 days."}
    assert billing_rows() == before
    issued = issue(office, invoice)
    assert (issued.issue_date, issued.due_date) == (timezone.localdate(), timezone.localdate() + timedelta(days=15))


def test_a_stale_version_is_refused(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    invoice = invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk])
    stale = invoice.version
    add(office, invoice)
    before = billing_rows()
    attempts = [
        lambda: invoice_update(actor=office, invoice_id=invoice.pk, version=stale, memo="x", terms_days=10),
        lambda: invoice_line_remove(actor=office, invoice_id=invoice.pk, version=stale, line_id=invoice.lines.first().pk),
        lambda: invoice_issue(actor=office, invoice_id=invoice.pk, version=stale),
        lambda: invoice_delete(actor=office, invoice_id=invoice.pk, version=stale),
    ]
    for attempt in attempts:
        with pytest.raises(ConflictError) as refused:
            attempt()
        assert refused.value.code == "stale"
        assert refused.value.message == f"Draft invoice #{invoice.pk} was changed by someone else meanwhile; reload it and try again."
    assert billing_rows() == before


def test_the_last_line_cannot_be_removed(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.FIXED_PRICE)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    for line in list(invoice.lines.order_by("position"))[:-1]:
        invoice_line_remove(actor=office, invoice_id=invoice.pk, version=fresh(invoice).version, line_id=line.pk)
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        invoice_line_remove(actor=office, invoice_id=invoice.pk, version=fresh(invoice).version, line_id=invoice.lines.get().pk)
    assert refused.value.code == "last_line"
    assert billing_rows() == before


# ---- issue ------------------------------------------------------------------------------------------


def test_issue_numbers_in_order_and_a_failed_issue_takes_none(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    first, second, third = (invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]) for _ in range(3))
    assert issue(office, first).number == "INV-000001"
    add(office, second, kind="discount", description="Goodwill", price=20000)
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        issue(office, second)
    assert (refused.value.code, refused.value.message) == ("negative_total", "The total is -$15.62: an invoice cannot be negative. Reduce the discount.")
    assert billing_rows() == before
    assert issue(office, third).number == "INV-000002"
    assert fresh(second).number is None


def test_an_issue_rolled_back_after_taking_its_number_leaves_no_gap(office, complete_job, billing_rows, monkeypatch):  # type: ignore[no-untyped-def]
    from serviceopus.billing.actions import invoices as invoice_actions

    invoice = invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk])
    before = billing_rows()

    def fail(actor, invoice):  # type: ignore[no-untyped-def]
        raise RuntimeError("the job could not follow")

    with monkeypatch.context() as patch:
        patch.setattr(invoice_actions, "jobs_after_issue", fail)
        with pytest.raises(RuntimeError):
            issue(office, invoice)
    assert billing_rows() == before
    assert issue(office, invoice).number == "INV-000001"


def test_issue_fixes_the_details_and_writes_the_journal(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    today = timezone.localdate()
    assert (invoice.status, invoice.number, invoice.issue_date, invoice.due_date, invoice.issued_by) == (
        InvoiceStatus.ISSUED,
        "INV-000001",
        today,
        today + timedelta(days=30),
        office,
    )
    location = job.location
    assert invoice.bill_to.splitlines()[:2] == [job.customer.name, location.street]
    assert invoice.balance_cents == 36438
    entry = AccountingEntry.objects.get()
    assert (entry.seq, entry.kind, entry.invoice_id, entry.payment_id) == (1, "invoice_issued", invoice.pk, None)
    assert (entry.data["number"], entry.data["total_cents"], entry.data["jobs"], len(entry.data["lines"])) == ("INV-000001", 36438, [job.number], 4)
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.BILLING, message="Invoice INV-000001 issued: $364.38").count() == 1


def test_an_issued_invoice_cannot_be_edited(office, complete_job, tax, billing_rows):  # type: ignore[no-untyped-def]
    invoice = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    line = invoice.lines.first()
    v = invoice.version
    before = billing_rows()
    attempts = [
        lambda: add(office, invoice),
        lambda: invoice_line_update(
            actor=office, invoice_id=invoice.pk, version=v, line_id=line.pk, description="x", quantity=Decimal(1), unit_price_cents=1, tax_rate_id=None
        ),
        lambda: invoice_line_remove(actor=office, invoice_id=invoice.pk, version=v, line_id=line.pk),
        lambda: invoice_update(actor=office, invoice_id=invoice.pk, version=v, memo="x", terms_days=10),
        lambda: invoice_delete(actor=office, invoice_id=invoice.pk, version=v),
        lambda: invoice_issue(actor=office, invoice_id=invoice.pk, version=v),
    ]
    for attempt in attempts:
        with pytest.raises(ConflictError) as refused:
            attempt()
        assert refused.value.code == "not_draft"
        assert refused.value.message == "INV-000001 is issued: an issued invoice cannot be edited; issue a credit note to correct it."
    assert billing_rows() == before


# ---- void -------------------------------------------------------------------------------------------


def test_void_keeps_the_number_frees_the_work_and_writes_the_journal(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    voided = invoice_void(actor=office, invoice_id=invoice.pk, version=invoice.version, reason="  Wrong customer  ")
    assert (voided.status, voided.number, voided.void_reason, voided.voided_by, voided.balance_cents, voided.total_cents) == (
        InvoiceStatus.VOID,
        "INV-000001",
        "Wrong customer",
        office,
        0,
        36438,
    )
    assert list(voided.lines.values_list("live", flat=True)) == [False] * 4
    assert list(AccountingEntry.objects.values_list("seq", "kind")) == [(1, "invoice_issued"), (2, "invoice_voided")]
    assert AccountingEntry.objects.get(seq=2).data == {
        "id": invoice.pk,
        "number": "INV-000001",
        "reason": "Wrong customer",
        "voided_on": timezone.localdate().isoformat(),
    }
    job.refresh_from_db()
    assert job.status == JobStatus.WORK_COMPLETE


def test_void_needs_a_reason(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    invoice = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    before = billing_rows()
    for reason in ("", "   ", "a\x00", "x" * 501):
        with pytest.raises(InvalidInput) as refused:
            invoice_void(actor=office, invoice_id=invoice.pk, version=invoice.version, reason=reason)
        assert refused.value.fields == {"reason": "A reason is required (at most 500 characters)."}
    assert billing_rows() == before


def test_void_refused_when_paid_partly_paid_credited_draft_or_void(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    from serviceopus.billing.actions import credit_note_create

    today = timezone.localdate()
    part = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    payment_record(actor=office, invoice_id=part.pk, amount_cents=1000, method="cash", received_on=today)
    full = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    payment_record(actor=office, invoice_id=full.pk, amount_cents=18438, method="card", received_on=today)
    credited = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    credit_note_create(actor=office, invoice_id=credited.pk, version=credited.version, amounts={credited.lines.first().pk: 100}, reason="Price match")
    draft = invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk])
    void = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    void = invoice_void(actor=office, invoice_id=void.pk, version=void.version, reason="Duplicate")
    note = Invoice.objects.get(kind="credit_note")
    before = billing_rows()
    for invoice, code in [(part, "paid"), (full, "paid"), (credited, "credited"), (draft, "draft"), (void, "void"), (note, "credit_note")]:
        invoice = fresh(invoice)
        with pytest.raises(ConflictError) as refused:
            invoice_void(actor=office, invoice_id=invoice.pk, version=invoice.version, reason="Try")
        assert refused.value.code == code
    assert billing_rows() == before


def test_only_voiders_void(dispatcher, office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    invoice = issue(office, invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk]))
    before = billing_rows()
    with pytest.raises(DomainError) as refused:
        invoice_void(actor=dispatcher, invoice_id=invoice.pk, version=invoice.version, reason="No")
    assert refused.value.code == "forbidden"
    assert billing_rows() == before


def test_delete_is_for_drafts(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    invoice = invoice_create(actor=office, job_ids=[complete_job(BillingType.FIXED_PRICE).pk])
    invoice_delete(actor=office, invoice_id=invoice.pk, version=invoice.version)
    before = billing_rows()
    with pytest.raises(DomainError) as refused:
        invoice_delete(actor=office, invoice_id=invoice.pk, version=invoice.version)
    assert refused.value.code == "not_found"
    assert billing_rows() == before
