"""A draft's lines through the API (add a fee or a discount, change a line, take one off) and credit
notes; each answers with the whole invoice. Refusals (409 not_draft, stale, last_line, adjustment;
422 with field paths; 404) change nothing."""

import pytest

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.billing import actions
from serviceopus.billing.models import AccountingEntry, Invoice, InvoiceLine, Payment, TaxRate
from serviceopus.core.models import Sequence
from serviceopus.jobs.models import BillingType, Job, JobEvent

pytestmark = pytest.mark.django_db

SUBTOTAL, TAX, TOTAL = 35300, 1138, 36438  # complete_job(): see test_api_invoices


def snapshot():  # type: ignore[no-untyped-def]
    return (
        list(Invoice.objects.values_list("pk", "status", "number", "version", "subtotal_cents", "tax_cents", "total_cents", "credited_cents").order_by("pk")),
        list(
            InvoiceLine.objects.values_list("pk", "invoice_id", "description", "quantity", "unit_price_cents", "amount_cents", "tax_cents", "live").order_by(
                "pk"
            )
        ),
        list(Payment.objects.values_list("pk", "amount_cents").order_by("pk")),
        list(AccountingEntry.objects.values_list("seq", "kind").order_by("seq")),
        list(Sequence.objects.values_list("name", "value").order_by("name")),
        list(Job.objects.values_list("pk", "status").order_by("pk")),
        JobEvent.objects.count(),
    )


@pytest.fixture
def draft(office, complete_job):  # type: ignore[no-untyped-def]
    return actions.invoice_create(actor=office, job_ids=[complete_job().pk])


@pytest.fixture
def issued(office, draft):  # type: ignore[no-untyped-def]
    return actions.invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version)


@pytest.fixture
def issued_other(office, complete_job):  # type: ignore[no-untyped-def]
    invoice = actions.invoice_create(actor=office, job_ids=[complete_job().pk])
    return actions.invoice_issue(actor=office, invoice_id=invoice.pk, version=invoice.version)


def test_add_a_taxed_fee_and_a_discount(office, draft, tax):
    client = api_client(office)
    response = client.post(
        f"/invoices/{draft.pk}/lines",
        {"version": draft.version, "kind": "fee", "description": "After-hours call-out", "quantity": "1", "unit_price_cents": 5000, "tax_rate_id": tax.pk},
    )
    assert response.status_code == 201
    body = response.json()
    fee = body["lines"][-1]
    assert (fee["position"], fee["kind"], fee["quantity"], fee["unit_price_cents"], fee["amount_cents"], fee["tax_cents"], fee["tax_rate"]["id"]) == (
        5,
        "fee",
        "1.000",
        5000,
        5000,
        413,  # 8.25 % of 50.00 = 4.125 → 4.13, half up
        tax.pk,
    )
    assert (body["subtotal_cents"], body["tax_cents"], body["total_cents"], body["version"]) == (SUBTOTAL + 5000, TAX + 413, TOTAL + 5413, draft.version + 1)
    response = client.post(
        f"/invoices/{draft.pk}/lines",
        {"version": body["version"], "kind": "discount", "description": "Loyal customer", "quantity": "1", "unit_price_cents": 2000},
    )
    body = response.json()
    assert (body["lines"][-1]["kind"], body["lines"][-1]["unit_price_cents"], body["lines"][-1]["amount_cents"]) == ("discount", -2000, -2000)
    assert body["subtotal_cents"] == SUBTOTAL + 3000


def test_add_refusals_change_nothing(office, draft, issued_other):
    client = api_client(office)
    inactive = TaxRate.objects.create(name="Old county tax", rate_milli_percent=1000, active=False)
    good = {"version": draft.version, "kind": "fee", "description": "Permit", "quantity": "1", "unit_price_cents": 1500}
    before = snapshot()
    response = client.post(f"/invoices/{draft.pk}/lines", {**good, "version": draft.version + 1})
    assert (response.status_code, error_of(response)["code"]) == (409, "stale")
    response = client.post(f"/invoices/{issued_other.pk}/lines", {**good, "version": issued_other.version})
    assert (response.status_code, error_of(response)["code"]) == (409, "not_draft")
    response = client.post(f"/invoices/{draft.pk}/lines", {**good, "kind": "labour"})
    assert (response.status_code, field_paths(response)) == (422, {"body.kind"})
    response = client.post(f"/invoices/{draft.pk}/lines", {**good, "quantity": "0"})
    assert (response.status_code, field_paths(response)) == (422, {"body.quantity"})
    response = client.post(f"/invoices/{draft.pk}/lines", {**good, "quantity": 1.5})
    assert (response.status_code, field_paths(response)) == (422, {"body.quantity"})
    response = client.post(f"/invoices/{draft.pk}/lines", {**good, "unit_price_cents": -1})
    assert (response.status_code, field_paths(response)) == (422, {"body.unit_price_cents"})
    response = client.post(f"/invoices/{draft.pk}/lines", {**good, "tax_rate_id": inactive.pk})
    assert (response.status_code, error_of(response)["fields"]) == (422, [{"path": "body.tax_rate_id", "message": "Unknown tax rate."}])
    response = client.post(f"/invoices/{draft.pk}/lines", {**good, "description": "   "})
    assert (response.status_code, field_paths(response)) == (422, {"body.description"})
    assert client.post("/invoices/999999/lines", {**good, "version": 1}).status_code == 404
    assert snapshot() == before


def test_change_a_line(office, draft):
    client = api_client(office)
    service = draft.lines.get(kind="service")
    response = client.patch(f"/invoices/{draft.pk}/lines/{service.pk}", {"version": draft.version, "quantity": "2"})
    assert response.status_code == 200
    body = response.json()
    line = next(line for line in body["lines"] if line["id"] == service.pk)
    assert (line["description"], line["quantity"], line["unit_price_cents"], line["amount_cents"], line["tax_cents"], line["line_item_id"]) == (
        "Diagnostic visit",
        "2.000",
        8900,
        17800,
        1469,  # 8.25 % of 178.00 = 14.685 → 14.69
        service.line_item_id,
    )
    assert (body["subtotal_cents"], body["tax_cents"]) == (SUBTOTAL + 8900, TAX - 734 + 1469)
    response = client.patch(
        f"/invoices/{draft.pk}/lines/{service.pk}", {"version": body["version"], "description": "Diagnostic, two visits", "tax_rate_id": None}
    )
    line = next(line for line in response.json()["lines"] if line["id"] == service.pk)
    assert (line["description"], line["amount_cents"], line["tax_cents"], line["tax_rate"]) == ("Diagnostic, two visits", 17800, 0, None)


def test_change_refusals_change_nothing(office, complete_job):
    client = api_client(office)
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=30000)
    draft = actions.invoice_create(actor=office, job_ids=[job.pk])
    service = draft.lines.get(kind="service")
    adjustment = draft.lines.filter(kind="adjustment").first()
    other = actions.invoice_create(actor=office, job_ids=[complete_job().pk]).lines.first()
    before = snapshot()
    response = client.patch(f"/invoices/{draft.pk}/lines/{adjustment.pk}", {"version": draft.version, "quantity": "2"})
    assert (response.status_code, error_of(response)["code"]) == (409, "adjustment")
    response = client.patch(f"/invoices/{draft.pk}/lines/{service.pk}", {"version": draft.version + 1, "quantity": "2"})
    assert (response.status_code, error_of(response)["code"]) == (409, "stale")
    response = client.patch(f"/invoices/{draft.pk}/lines/{service.pk}", {"version": draft.version, "quantity": "2.0005"})
    assert (response.status_code, field_paths(response)) == (422, {"body.quantity"})
    response = client.patch(f"/invoices/{draft.pk}/lines/{service.pk}", {"version": draft.version, "kind": "fee"})
    assert (response.status_code, field_paths(response)) == (422, {"body.kind"})
    response = client.patch(f"/invoices/{draft.pk}/lines/999999", {"version": draft.version, "quantity": "2"})
    assert response.status_code == 404
    response = client.patch(f"/invoices/{draft.pk}/lines/{other.pk}", {"version": draft.version, "quantity": "2"})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    # Ids past 64 bits are simply not found.
    response = client.patch(f"/invoices/{2**70}/lines/{service.pk}", {"version": draft.version, "quantity": "2"})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    response = client.patch(f"/invoices/{draft.pk}/lines/{2**70}", {"version": draft.version, "quantity": "2"})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    assert snapshot() == before


def test_take_a_line_off(office, draft):
    client = api_client(office)
    fee = draft.lines.get(kind="fee")
    response = client.delete(f"/invoices/{draft.pk}/lines/{fee.pk}?version={draft.version}")
    assert response.status_code == 200
    body = response.json()
    assert ([line["kind"] for line in body["lines"]], body["subtotal_cents"], body["version"]) == (
        ["service", "material", "labour"],
        SUBTOTAL - 3500,
        draft.version + 1,
    )
    # The job line is free to invoice again.
    preview = client.post("/invoices/preview", {"job_ids": [fee.job_id]}).json()
    assert [(line["kind"], line["line_item_id"]) for line in preview["lines"]] == [("fee", fee.line_item_id)]


def test_taking_off_refusals_change_nothing(office, complete_job):
    client = api_client(office)
    job = complete_job(minutes=0)
    draft = actions.invoice_create(actor=office, job_ids=[job.pk])
    service, material, fee = draft.lines.order_by("position")
    actions.invoice_line_remove(actor=office, invoice_id=draft.pk, version=draft.version, line_id=material.pk)
    draft.refresh_from_db()
    actions.invoice_line_remove(actor=office, invoice_id=draft.pk, version=draft.version, line_id=fee.pk)
    draft.refresh_from_db()
    before = snapshot()
    response = client.delete(f"/invoices/{draft.pk}/lines/{service.pk}?version={draft.version}")
    assert (response.status_code, error_of(response)["code"], error_of(response)["message"]) == (
        409,
        "last_line",
        "An invoice needs at least one line: delete the draft instead.",
    )
    response = client.delete(f"/invoices/{draft.pk}/lines/{service.pk}?version={draft.version - 1}")
    assert (response.status_code, error_of(response)["code"]) == (409, "stale")
    response = client.delete(f"/invoices/{draft.pk}/lines/{fee.pk}?version={draft.version}")
    assert response.status_code == 404
    response = client.delete(f"/invoices/{draft.pk}/lines/{service.pk}")
    assert (response.status_code, field_paths(response)) == (422, {"query.version"})
    assert snapshot() == before


# ---- credit notes ---------------------------------------------------------------------------------------------


def test_credit_part_of_a_line_and_all_of_another(office, issued):
    service = issued.lines.get(kind="service")
    fee = issued.lines.get(kind="fee")
    response = api_client(office).post(
        f"/invoices/{issued.pk}/credit-notes",
        {
            "version": issued.version,
            "lines": [{"line_id": fee.pk, "amount_cents": 3500}, {"line_id": service.pk, "amount_cents": 1000}],
            "reason": "Trip fee waived",
        },
    )
    assert response.status_code == 201
    note = response.json()
    # 10.00 of the taxed service line brings 0.825 → 0.83 of tax back; the fee had none.
    assert (note["number"], note["kind"], note["status"], note["credits"]["number"], note["memo"]) == (
        "CN-000001",
        "credit_note",
        "issued",
        "INV-000001",
        "Trip fee waived",
    )
    assert (note["subtotal_cents"], note["tax_cents"], note["total_cents"]) == (4500, 83, 4583)
    assert [(line["credits_line_id"], line["amount_cents"], line["tax_cents"]) for line in note["lines"]] == [(service.pk, -1000, -83), (fee.pk, -3500, 0)]
    invoice = api_client(office).get(f"/invoices/{issued.pk}").json()
    assert (invoice["credited_cents"], invoice["balance_cents"], invoice["status"]) == (4583, TOTAL - 4583, "issued")
    assert [n["number"] for n in invoice["credit_notes"]] == ["CN-000001"]


def test_credit_note_refusals_change_nothing(office, issued, complete_job):
    client = api_client(office)
    draft = actions.invoice_create(actor=office, job_ids=[complete_job().pk])
    service = issued.lines.get(kind="service")
    good = {"version": issued.version, "lines": [{"line_id": service.pk, "amount_cents": 1000}], "reason": "Goodwill"}
    before = snapshot()
    response = client.post(f"/invoices/{issued.pk}/credit-notes", {**good, "lines": [{"line_id": service.pk, "amount_cents": 8901}]})
    assert (response.status_code, error_of(response)["fields"]) == (
        422,
        [{"path": "body.lines", "message": "“Diagnostic visit” has $89.00 left to credit; $89.01 is more."}],
    )
    response = client.post(f"/invoices/{issued.pk}/credit-notes", {**good, "lines": [{"line_id": service.pk, "amount_cents": 10}] * 2})
    assert (response.status_code, field_paths(response)) == (422, {"body.lines.1.line_id"})
    response = client.post(f"/invoices/{issued.pk}/credit-notes", {**good, "lines": []})
    assert (response.status_code, field_paths(response)) == (422, {"body.lines"})
    response = client.post(f"/invoices/{issued.pk}/credit-notes", {**good, "lines": [{"line_id": service.pk, "amount_cents": 0}]})
    assert (response.status_code, field_paths(response)) == (422, {"body.lines"})
    # Negative amounts are for discount lines only.
    response = client.post(f"/invoices/{issued.pk}/credit-notes", {**good, "lines": [{"line_id": service.pk, "amount_cents": -100}]})
    assert (response.status_code, error_of(response)["fields"]) == (
        422,
        [{"path": "body.lines", "message": "“Diagnostic visit” is credited with an amount above zero."}],
    )
    response = client.post(f"/invoices/{issued.pk}/credit-notes", {**good, "reason": ""})
    assert (response.status_code, field_paths(response)) == (422, {"body.reason"})
    other_line = draft.lines.first()
    response = client.post(f"/invoices/{issued.pk}/credit-notes", {**good, "lines": [{"line_id": other_line.pk, "amount_cents": 10}]})
    assert (response.status_code, error_of(response)["fields"]) == (422, [{"path": "body.lines", "message": "A chosen line is not on this invoice."}])
    response = client.post(f"/invoices/{issued.pk}/credit-notes", {**good, "version": issued.version + 1})
    assert (response.status_code, error_of(response)["code"]) == (409, "stale")
    response = client.post(f"/invoices/{draft.pk}/credit-notes", {**good, "version": draft.version, "lines": [{"line_id": other_line.pk, "amount_cents": 10}]})
    assert (response.status_code, error_of(response)["code"]) == (409, "not_creditable")
    assert client.post("/invoices/999999/credit-notes", {**good, "version": 1}).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["dispatcher", "tech"])
def test_dispatchers_and_technicians_may_not_touch_lines(request, persona, office, issued):
    user = request.getfixturevalue("dispatcher") if persona == "dispatcher" else request.getfixturevalue("tech_a").user
    client = api_client(user)
    line = issued.lines.first()
    before = snapshot()
    for response in (
        client.post(f"/invoices/{issued.pk}/lines", {"version": issued.version, "kind": "fee", "description": "x", "quantity": "1", "unit_price_cents": 1}),
        client.patch(f"/invoices/{issued.pk}/lines/{line.pk}", {"version": issued.version, "quantity": "2"}),
        client.delete(f"/invoices/{issued.pk}/lines/{line.pk}?version={issued.version}"),
        client.post(f"/invoices/{issued.pk}/credit-notes", {"version": issued.version, "lines": [{"line_id": line.pk, "amount_cents": 1}], "reason": "x"}),
    ):
        assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    assert snapshot() == before
