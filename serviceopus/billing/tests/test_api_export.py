"""GET /accounting/export: JSON and the CSV attachment, byte-identical for the same since, the cursor in
the body and the headers, field errors, and who may (billing.export; dispatchers and technicians 403)."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.billing import actions, export
from serviceopus.billing.models import Invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def journal(office, complete_job):  # type: ignore[no-untyped-def]
    """INV-000001 issued (1) and paid in part (2); INV-000002 issued (3)."""
    invoices = []
    for _ in range(2):
        draft = actions.invoice_create(actor=office, job_ids=[complete_job().pk])
        invoices.append(actions.invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version))
        if len(invoices) == 1:
            actions.payment_record(actor=office, invoice_id=draft.pk, amount_cents=12050, method="bank_transfer", received_on=timezone.localdate())
    return invoices


def test_json_export(office, journal):
    client = api_client(office)
    response = client.get("/accounting/export")
    assert (response.status_code, response["Content-Type"], response["X-Next-Since"], response["X-Has-More"]) == (200, "application/json", "3", "false")
    body = response.json()
    assert (body["since"], body["next_since"], body["has_more"]) == (0, 3, False)
    assert [(e["seq"], e["kind"], e["id"]) for e in body["entries"]] == [
        (1, "invoice_issued", journal[0].pk),
        (2, "payment", journal[0].payments.get().pk),
        (3, "invoice_issued", journal[1].pk),
    ]
    assert response.content.decode() == export.to_json(export.entries_since(0, 500))


def test_the_same_since_gives_the_same_bytes(office, journal):
    client = api_client(office)
    for params in ({"since": 1}, {"format": "csv"}, {"format": "csv", "kind": "payments"}, {"kind": "invoices", "limit": 1}):
        first = client.get("/accounting/export", params)
        assert first.status_code == 200
        assert client.get("/accounting/export", params).content == first.content


def test_paging_with_the_cursor(office, journal):
    client = api_client(office)
    body = client.get("/accounting/export", {"limit": 2}).json()
    assert ([e["seq"] for e in body["entries"]], body["next_since"], body["has_more"]) == ([1, 2], 2, True)
    body = client.get("/accounting/export", {"limit": 2, "since": body["next_since"]}).json()
    assert ([e["seq"] for e in body["entries"]], body["next_since"], body["has_more"]) == ([3], 3, False)
    # Past the end: nothing, and the cursor stays.
    response = client.get("/accounting/export", {"since": 50})
    assert response.json() == {"since": 50, "next_since": 50, "has_more": False, "entries": []}
    response = client.get("/accounting/export", {"since": 50, "format": "csv"})
    assert (response.content.decode(), response["X-Next-Since"]) == (",".join(export.INVOICE_COLUMNS) + "\r\n", "50")


def test_csv_attachment_parses_and_sums_to_the_totals(office, journal):
    response = api_client(office).get("/accounting/export", {"format": "csv"})
    assert (response.status_code, response["Content-Type"], response["Content-Disposition"], response["X-Next-Since"]) == (
        200,
        "text/csv; charset=utf-8",
        'attachment; filename="accounting-invoices-since-0.csv"',
        "3",
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["InvoiceNo"]] = totals.get(row["InvoiceNo"], Decimal(0)) + Decimal(row["LineAmount"]) + Decimal(row["TaxAmount"])
    assert (
        totals == {i.number: Decimal(i.total_cents) / 100 for i in Invoice.objects.all()} == {"INV-000001": Decimal("364.38"), "INV-000002": Decimal("364.38")}
    )
    response = api_client(office).get("/accounting/export", {"format": "csv", "kind": "payments", "since": 1})
    assert response["Content-Disposition"] == 'attachment; filename="accounting-payments-since-1.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    assert [(r["EntrySeq"], r["Kind"], r["InvoiceNo"], r["Method"], r["Amount"]) for r in rows] == [("2", "Payment", "INV-000001", "Bank transfer", "120.50")]


def test_field_errors(office, journal):
    client = api_client(office)
    cases = [
        ({"format": "csv", "kind": "all"}, {"query.kind"}),
        ({"format": "xml"}, {"query.format"}),
        ({"kind": "bills"}, {"query.kind"}),
        ({"since": -1}, {"query.since"}),
        ({"since": "latest"}, {"query.since"}),
        ({"limit": 0}, {"query.limit"}),
        ({"limit": 1001}, {"query.limit"}),
    ]
    for params, paths in cases:
        response = client.get("/accounting/export", params)
        assert (response.status_code, field_paths(response)) == (422, paths), params
    response = client.get("/accounting/export", {"format": "csv", "kind": "all"})
    assert error_of(response)["message"] == "CSV is laid out per kind: choose kind=invoices or kind=payments."


@pytest.mark.parametrize("persona", ["dispatcher", "tech"])
def test_dispatchers_and_technicians_may_not_export(request, persona, journal):
    user = request.getfixturevalue("dispatcher") if persona == "dispatcher" else request.getfixturevalue("tech_a").user
    for params in ({}, {"format": "csv"}):
        response = api_client(user).get("/accounting/export", params)
        assert (response.status_code, error_of(response)["code"], error_of(response)["message"]) == (
            403,
            "forbidden",
            "You may not export invoices and payments.",
        )


def test_the_office_signed_in_may_follow_the_link(client_as, office, journal):
    """The invoices page links here; a session works on the API as a token does."""
    response = client_as(office).get("/api/v1/accounting/export?format=csv")
    assert (response.status_code, response["Content-Disposition"]) == (200, 'attachment; filename="accounting-invoices-since-0.csv"')
    assert json.loads(client_as(office).get("/api/v1/accounting/export").content)["next_since"] == 3


def test_the_export_costs_the_same_queries_whatever_its_length(office, journal, complete_job):
    client = api_client(office)

    def counts():  # type: ignore[no-untyped-def]
        result = []
        for params in ({}, {"format": "csv"}, {"format": "csv", "kind": "payments"}):
            client.get("/accounting/export", params)
            with CaptureQueriesContext(connection) as captured:
                client.get("/accounting/export", params)
            result.append(len(captured.captured_queries))
        return result

    small = counts()
    for _ in range(3):
        draft = actions.invoice_create(actor=office, job_ids=[complete_job().pk])
        invoice = actions.invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version)
        actions.invoice_void(actor=office, invoice_id=invoice.pk, version=invoice.version, reason="Duplicate")
    # The voids read the issue snapshots they repeat: one more query, however many there are.
    assert counts() == [small[0], small[1] + 1, small[2]]
