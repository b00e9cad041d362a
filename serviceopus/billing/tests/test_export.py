"""The accounting export: the cursor (rows after `since` in seq order, next_since, has_more, a cursor
past the end), idempotency (the same since gives the same bytes, even after the live rows changed),
both CSV layouts parsed back with the csv module and summed against the invoices, the JSON shape, and
the management command."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from serviceopus.billing import actions, export
from serviceopus.billing.models import AccountingEntry, Invoice
from serviceopus.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def journal(office, complete_job):  # type: ignore[no-untyped-def]
    """Six entries: INV-000001 issued (1), a check on it (2), a credit note on its service line (3),
    INV-000002 issued (4) and voided (5), a refund on INV-000001 (6)."""
    today = timezone.localdate()
    first = complete_job()
    inv = actions.invoice_create(actor=office, job_ids=[first.pk])
    inv = actions.invoice_issue(actor=office, invoice_id=inv.pk, version=inv.version)
    actions.payment_record(actor=office, invoice_id=inv.pk, amount_cents=10000, method="check", received_on=today, reference="1042")
    inv.refresh_from_db()
    service = inv.lines.get(kind="service")
    note = actions.credit_note_create(actor=office, invoice_id=inv.pk, version=inv.version, amounts={service.pk: 8900}, reason="Goodwill")
    second = complete_job(customer=first.customer)
    other = actions.invoice_create(actor=office, job_ids=[second.pk])
    other = actions.invoice_issue(actor=office, invoice_id=other.pk, version=other.version)
    actions.invoice_void(actor=office, invoice_id=other.pk, version=other.version, reason="Billed to the wrong site")
    actions.refund_record(actor=office, invoice_id=inv.pk, amount_cents=2500, method="card", received_on=today, reference="RF-7", note="Part refund")
    inv.refresh_from_db()
    other.refresh_from_db()
    return {"invoice": inv, "credit_note": note, "voided": other, "customer": first.customer}


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_entries_come_in_seq_order_with_the_cursor(journal):
    batch = export.entries_since(0, 100)
    assert [(e.seq, e.kind) for e in batch.entries] == [
        (1, "invoice_issued"),
        (2, "payment"),
        (3, "credit_note_issued"),
        (4, "invoice_issued"),
        (5, "invoice_voided"),
        (6, "refund"),
    ]
    assert (batch.since, batch.next_since, batch.has_more) == (0, 6, False)


def test_pages_of_the_journal_cover_it_once(journal):
    seen = []
    since = 0
    pages = 0
    while True:
        batch = export.entries_since(since, 4)
        seen += [e.seq for e in batch.entries]
        pages += 1
        since = batch.next_since
        if not batch.has_more:
            break
    assert (seen, pages, since) == ([1, 2, 3, 4, 5, 6], 2, 6)
    assert (export.entries_since(0, 6).has_more, export.entries_since(0, 5).has_more) == (False, True)


def test_a_cursor_past_the_end_returns_nothing_and_stays(journal):
    for since in (6, 999):
        batch = export.entries_since(since, 10)
        assert (batch.entries, batch.next_since, batch.has_more) == ([], since, False)
        assert json.loads(export.to_json(batch)) == {"since": since, "next_since": since, "has_more": False, "entries": []}
        assert export.to_csv(export.entries_since(since, 10, "payments")) == ",".join(export.PAYMENT_COLUMNS) + "\r\n"


def test_kinds_filter_the_entries_and_move_the_cursor_over_what_they_hold(journal):
    invoices = export.entries_since(0, 100, "invoices")
    payments = export.entries_since(0, 100, "payments")
    assert ([e.seq for e in invoices.entries], invoices.next_since) == ([1, 3, 4, 5], 5)
    assert ([e.seq for e in payments.entries], payments.next_since) == ([2, 6], 6)
    assert export.entries_since(2, 1, "invoices").entries[0].seq == 3


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="limit must be 1 to 1000"):
        export.entries_since(0, 0)
    with pytest.raises(ValueError, match="limit must be 1 to 1000"):
        export.entries_since(0, export.MAX_LIMIT + 1)
    with pytest.raises(ValueError, match="since must be 0 or more"):
        export.entries_since(-1, 10)
    with pytest.raises(ValueError, match="kind must be one of all, invoices, payments"):
        export.entries_since(0, 10, "bills")
    with pytest.raises(ValueError, match="CSV needs kind invoices or payments"):
        export.to_csv(export.Batch(since=0, entries=[], next_since=0, has_more=False, kind="all"))


def test_exporting_again_gives_the_same_bytes_whatever_changed_since(journal, office):
    kinds = [("json", "all"), ("csv", "invoices"), ("csv", "payments")]
    before = {(fmt, kind): export.render(export.entries_since(0, 100, kind), fmt) for fmt, kind in kinds}
    # The live rows move on: the customer is renamed, the invoices' rows change. The snapshots do not.
    Customer.objects.filter(pk=journal["customer"].pk).update(name="Renamed Holdings LLC")
    Invoice.objects.update(memo="Changed later", bill_to="Elsewhere")
    assert {(fmt, kind): export.render(export.entries_since(0, 100, kind), fmt) for fmt, kind in kinds} == before
    # A new payment is only added, at the end of the payments file.
    invoice = journal["invoice"]
    actions.payment_record(actor=office, invoice_id=invoice.pk, amount_cents=invoice.balance_cents, method="cash", received_on=timezone.localdate())
    payments = export.to_csv(export.entries_since(0, 100, "payments"))
    assert payments.startswith(before[("csv", "payments")])
    new = rows_of(payments)[-1]
    assert (new["EntrySeq"], new["Kind"], new["Customer"], new["Amount"]) == ("7", "Payment", "Renamed Holdings LLC", "193.04")
    assert export.to_csv(export.entries_since(0, 100, "invoices")) == before[("csv", "invoices")]


def test_new_entries_appear_only_after_the_cursor(journal, office):
    first = export.entries_since(0, 100)
    invoice = journal["invoice"]
    actions.payment_record(actor=office, invoice_id=invoice.pk, amount_cents=100, method="cash", received_on=timezone.localdate())
    later = export.entries_since(first.next_since, 100)
    assert ([(e.seq, e.kind) for e in later.entries], later.next_since) == ([(7, "payment")], 7)
    assert export.entries_since(later.next_since, 100).entries == []


def test_invoice_csv_sums_to_each_documents_total(journal):
    text = export.to_csv(export.entries_since(0, 100, "invoices"))
    assert text.splitlines()[0] == ",".join(export.INVOICE_COLUMNS)
    rows = rows_of(text)
    documents: dict[str, Decimal] = {}
    for row in rows:
        if row["Kind"] != "Void":
            documents[row["InvoiceNo"]] = documents.get(row["InvoiceNo"], Decimal(0)) + Decimal(row["LineAmount"]) + Decimal(row["TaxAmount"])
    stored = {i.number: Decimal(i.total_cents) / 100 for i in Invoice.objects.exclude(number=None)}
    assert documents == stored == {"INV-000001": Decimal("364.38"), "CN-000001": Decimal("96.34"), "INV-000002": Decimal("364.38")}
    for row in rows:
        assert row["InvoiceTotal"] == f"{stored[row['InvoiceNo']]:.2f}"


def test_invoice_csv_rows(journal):
    rows = rows_of(export.to_csv(export.entries_since(0, 100, "invoices")))
    invoice, note, voided = journal["invoice"], journal["credit_note"], journal["voided"]
    customer = journal["customer"]
    issued = invoice.issue_date.isoformat()
    assert [(r["EntrySeq"], r["InvoiceNo"], r["Kind"], r["LineNo"]) for r in rows] == [
        ("1", "INV-000001", "Invoice", "1"),
        ("1", "INV-000001", "Invoice", "2"),
        ("1", "INV-000001", "Invoice", "3"),
        ("1", "INV-000001", "Invoice", "4"),
        ("3", "CN-000001", "CreditNote", "1"),
        ("4", "INV-000002", "Invoice", "1"),
        ("4", "INV-000002", "Invoice", "2"),
        ("4", "INV-000002", "Invoice", "3"),
        ("4", "INV-000002", "Invoice", "4"),
        ("5", "INV-000002", "Void", ""),
    ]
    labour = invoice.lines.get(kind="labour")
    assert rows[0] == {
        "EntrySeq": "1",
        "EntryKind": "invoice_issued",
        "EntryDate": issued,
        "InvoiceId": str(invoice.pk),
        "InvoiceNo": "INV-000001",
        "Kind": "Invoice",
        "CreditsInvoiceNo": "",
        "Customer": customer.name,
        "CustomerId": str(customer.pk),
        "InvoiceDate": issued,
        "DueDate": invoice.due_date.isoformat(),
        "Memo": "",
        "LineNo": "1",
        "LineId": str(invoice.lines.get(kind="service").pk),
        "ItemType": "Service",
        "Description": "Diagnostic visit",
        "Quantity": "1.000",
        "UnitPrice": "89.00",
        "LineAmount": "89.00",
        "TaxCode": "TAX",
        "TaxName": "State sales tax",
        "TaxRate": "8.250",
        "TaxAmount": "7.34",
        "InvoiceSubtotal": "353.00",
        "InvoiceTax": "11.38",
        "InvoiceTotal": "364.38",
        "Currency": "USD",
        "JobNumbers": invoice.jobs.get().number,
        "LineJobNumber": invoice.jobs.get().number,
    }
    assert [(r["ItemType"], r["Quantity"], r["UnitPrice"], r["LineAmount"], r["TaxCode"], r["TaxAmount"]) for r in rows[1:4]] == [
        ("Material", "2.000", "24.50", "49.00", "TAX", "4.04"),
        ("Fee", "1.000", "35.00", "35.00", "NON", "0.00"),
        ("Labour", "1.500", "120.00", "180.00", "NON", "0.00"),
    ]
    assert rows[3]["Description"] == labour.description
    # A credit note carries its own, positive amounts; Kind and CreditsInvoiceNo say what it corrects.
    credit = rows[4]
    assert (credit["InvoiceId"], credit["CreditsInvoiceNo"], credit["Memo"], credit["ItemType"], credit["Description"]) == (
        str(note.pk),
        "INV-000001",
        "Goodwill",
        "Credit",
        "Credit: Diagnostic visit",
    )
    assert (credit["UnitPrice"], credit["LineAmount"], credit["TaxAmount"], credit["InvoiceTotal"]) == ("89.00", "89.00", "7.34", "96.34")
    # The void row repeats what was issued, so an importer can reverse it.
    void = rows[-1]
    assert {k: v for k, v in void.items() if v} == {
        "EntrySeq": "5",
        "EntryKind": "invoice_voided",
        "EntryDate": voided.voided_at.astimezone(timezone.get_current_timezone()).date().isoformat(),
        "InvoiceId": str(voided.pk),
        "InvoiceNo": "INV-000002",
        "Kind": "Void",
        "Customer": customer.name,
        "CustomerId": str(customer.pk),
        "InvoiceDate": voided.issue_date.isoformat(),
        "DueDate": voided.due_date.isoformat(),
        "Description": "Void: Billed to the wrong site",
        "InvoiceSubtotal": "353.00",
        "InvoiceTax": "11.38",
        "InvoiceTotal": "364.38",
        "Currency": "USD",
        "JobNumbers": voided.jobs.get().number,
    }


def test_payment_csv_rows_and_their_sum(journal):
    text = export.to_csv(export.entries_since(0, 100, "payments"))
    assert text.splitlines()[0] == "EntrySeq,EntryKind,PaymentId,Kind,InvoiceId,InvoiceNo,Customer,CustomerId,Date,Method,Reference,Amount,Currency"
    rows = rows_of(text)
    invoice = journal["invoice"]
    payment, refund = invoice.payments.order_by("pk")
    today = timezone.localdate().isoformat()
    customer = journal["customer"]
    assert rows == [
        {
            "EntrySeq": "2",
            "EntryKind": "payment",
            "PaymentId": str(payment.pk),
            "Kind": "Payment",
            "InvoiceId": str(invoice.pk),
            "InvoiceNo": "INV-000001",
            "Customer": customer.name,
            "CustomerId": str(customer.pk),
            "Date": today,
            "Method": "Check",
            "Reference": "1042",
            "Amount": "100.00",
            "Currency": "USD",
        },
        {
            "EntrySeq": "6",
            "EntryKind": "refund",
            "PaymentId": str(refund.pk),
            "Kind": "Refund",
            "InvoiceId": str(invoice.pk),
            "InvoiceNo": "INV-000001",
            "Customer": customer.name,
            "CustomerId": str(customer.pk),
            "Date": today,
            "Method": "Card",
            "Reference": "RF-7",
            "Amount": "-25.00",
            "Currency": "USD",
        },
    ]
    assert sum(Decimal(r["Amount"]) for r in rows) * 100 == invoice.paid_cents == 7500


def test_json_shape(journal):
    body = json.loads(export.to_json(export.entries_since(4, 2)))
    voided = journal["voided"]
    assert (body["since"], body["next_since"], body["has_more"]) == (4, 6, False)
    assert [set(e) for e in body["entries"]] == [{"seq", "kind", "id", "invoice_id", "payment_id", "data"}] * 2
    void, refund = body["entries"]
    assert {k: v for k, v in void.items() if k != "data"} == {"seq": 5, "kind": "invoice_voided", "id": voided.pk, "invoice_id": voided.pk, "payment_id": None}
    assert void["data"] == {"id": voided.pk, "number": "INV-000002", "reason": "Billed to the wrong site", "voided_on": void["data"]["voided_on"]}
    payment = journal["invoice"].payments.get(kind="refund")
    assert (refund["kind"], refund["id"], refund["payment_id"], refund["data"]["amount_cents"], refund["data"]["method"]) == (
        "refund",
        payment.pk,
        payment.pk,
        2500,
        "card",
    )
    # Keys in one order at every level, whatever order the database kept them in.
    text = export.to_json(export.entries_since(0, 100))
    assert text == json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n"
    first = json.loads(text)["entries"][0]["data"]
    assert list(first) == sorted(first)
    assert list(first["lines"][0]) == sorted(first["lines"][0])


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "0.00"), (5, "0.05"), (12050, "120.50"), (-305, "-3.05"), (-5, "-0.05"), (10**13, "100000000000.00"), (None, "")],
)
def test_money_is_a_decimal_string_with_two_places(cents, text):
    assert export.money(cents) == text


def test_percent_has_three_places():
    assert (export.percent(8875), export.percent(8250), export.percent(0), export.percent(100_000)) == ("8.875", "8.250", "0.000", "100.000")


def test_the_command_prints_the_export(journal):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_accounting", "--since", "1", "--format", "csv", "--kind", "payments", stdout=out, stderr=err)
    assert out.getvalue() == export.to_csv(export.entries_since(1, export.DEFAULT_LIMIT, "payments"))
    assert [r["EntrySeq"] for r in rows_of(out.getvalue())] == ["2", "6"]
    assert err.getvalue() == "next_since=6 has_more=false\n"
    out = io.StringIO()
    call_command("export_accounting", "--limit", "2", stdout=out)
    body = json.loads(out.getvalue())
    assert ([e["seq"] for e in body["entries"]], body["next_since"], body["has_more"]) == ([1, 2], 2, True)
    out = io.StringIO()
    call_command("export_accounting", "--format", "csv", stdout=out, stderr=io.StringIO())
    assert [r["EntrySeq"] for r in rows_of(out.getvalue())][-1] == "5"


def test_the_command_refuses_bad_arguments(journal):
    before = AccountingEntry.objects.count()
    with pytest.raises(CommandError, match="choose --kind invoices or --kind payments"):
        call_command("export_accounting", "--format", "csv", "--kind", "all", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--limit must be 1 to 1000"):
        call_command("export_accounting", "--limit", "0", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("export_accounting", "--since", "-3", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("export_accounting", "--format", "xml", stdout=io.StringIO())
    assert AccountingEntry.objects.count() == before
