"""Payments and refunds through the API: partial then full payment (the invoice and the job move on),
overpayment and over-refund refused with nothing recorded, field errors, the list (filters, pages, a
fixed query count), and who may."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.billing import actions
from serviceopus.billing.models import AccountingEntry, Invoice, Payment
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus

pytestmark = pytest.mark.django_db

TOTAL = 36438  # complete_job(): see test_api_invoices


def snapshot():  # type: ignore[no-untyped-def]
    return (
        list(Invoice.objects.values_list("pk", "status", "version", "paid_cents", "credited_cents").order_by("pk")),
        list(Payment.objects.values_list("pk", "kind", "amount_cents").order_by("pk")),
        list(AccountingEntry.objects.values_list("seq", "kind").order_by("seq")),
        list(Job.objects.values_list("pk", "status").order_by("pk")),
        JobEvent.objects.count(),
    )


def queries_of(call):  # type: ignore[no-untyped-def]
    call()
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, len(captured.captured_queries)


def issue(actor, job):  # type: ignore[no-untyped-def]
    invoice = actions.invoice_create(actor=actor, job_ids=[job.pk])
    return actions.invoice_issue(actor=actor, invoice_id=invoice.pk, version=invoice.version)


@pytest.fixture
def job(complete_job):  # type: ignore[no-untyped-def]
    return complete_job()


@pytest.fixture
def issued(office, job):  # type: ignore[no-untyped-def]
    return issue(office, job)


def pay(invoice, cents, **extra):  # type: ignore[no-untyped-def]
    return {"amount_cents": cents, "method": "card", "received_on": timezone.localdate().isoformat(), "reference": "ch_3PQ", **extra}


def test_a_partial_payment_then_the_rest_closes_the_job(office, job, issued):
    client = api_client(office)
    today = timezone.localdate().isoformat()
    response = client.post(f"/invoices/{issued.pk}/payments", pay(issued, 20000, note="Deposit"))
    assert response.status_code == 201
    payment = Payment.objects.get()
    assert response.json() == {
        "id": payment.pk,
        "kind": "payment",
        "invoice": {"id": issued.pk, "number": "INV-000001", "label": "INV-000001"},
        "customer": {"id": job.customer_id, "name": job.customer.name},
        "method": "card",
        "amount_cents": 20000,
        "signed_cents": 20000,
        "reference": "ch_3PQ",
        "received_on": today,
        "note": "Deposit",
        "recorded_by": {"id": office.pk, "name": "Oscar Office"},
        "created_at": response.json()["created_at"],
    }
    invoice = client.get(f"/invoices/{issued.pk}").json()
    assert (invoice["status"], invoice["paid_cents"], invoice["balance_cents"]) == ("partially_paid", 20000, TOTAL - 20000)
    response = client.post(f"/invoices/{issued.pk}/payments", {**pay(issued, TOTAL - 20000), "method": "check", "reference": "1042"})
    assert response.status_code == 201
    invoice = client.get(f"/invoices/{issued.pk}").json()
    assert (invoice["status"], invoice["paid_cents"], invoice["balance_cents"], invoice["allowed_actions"]) == ("paid", TOTAL, 0, ["credit", "refund"])
    job.refresh_from_db()
    assert job.status == JobStatus.CLOSED
    assert list(AccountingEntry.objects.values_list("seq", "kind")) == [(1, "invoice_issued"), (2, "payment"), (3, "payment")]


def test_an_overpayment_is_refused_and_nothing_is_recorded(office, issued):
    client = api_client(office)
    client.post(f"/invoices/{issued.pk}/payments", pay(issued, 30000))
    before = snapshot()
    response = client.post(f"/invoices/{issued.pk}/payments", pay(issued, TOTAL - 30000 + 1))
    assert (response.status_code, error_of(response)["code"], error_of(response)["message"]) == (
        409,
        "overpayment",
        "$64.39 is more than the balance of $64.38 on INV-000001; nothing was recorded.",
    )
    assert snapshot() == before


def test_payment_field_errors_change_nothing(office, issued):
    client = api_client(office)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    before = snapshot()
    cases = [
        (pay(issued, 0), {"body.amount_cents"}),
        (pay(issued, "100"), {"body.amount_cents"}),
        (pay(issued, 10.5), {"body.amount_cents"}),
        (pay(issued, 100, method="bitcoin"), {"body.method"}),
        (pay(issued, 100, received_on="26/11/2026"), {"body.received_on"}),
        (pay(issued, 100, received_on=tomorrow), {"body.received_on"}),
        (pay(issued, 100, reference="x" * 101), {"body.reference"}),
        (pay(issued, 100, tip=5), {"body.tip"}),
    ]
    for body, paths in cases:
        response = client.post(f"/invoices/{issued.pk}/payments", body)
        assert (response.status_code, field_paths(response)) == (422, paths), body
    response = client.post(f"/invoices/{issued.pk}/payments", pay(issued, 100, received_on=tomorrow))
    assert error_of(response)["fields"] == [{"path": "body.received_on", "message": "The date cannot be in the future."}]
    assert client.post("/invoices/999999/payments", pay(issued, 100)).status_code == 404
    assert snapshot() == before


def test_a_draft_takes_no_payment(office, complete_job):
    draft = actions.invoice_create(actor=office, job_ids=[complete_job().pk])
    before = snapshot()
    response = api_client(office).post(f"/invoices/{draft.pk}/payments", pay(draft, 100))
    assert (response.status_code, error_of(response)["code"]) == (409, "not_payable")
    assert snapshot() == before


def test_a_refund(office, issued):
    client = api_client(office)
    client.post(f"/invoices/{issued.pk}/payments", pay(issued, TOTAL))
    response = client.post(f"/invoices/{issued.pk}/refunds", pay(issued, 5000, method="cash", reference="", note="Part returned"))
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["method"], body["amount_cents"], body["signed_cents"], body["note"]) == ("refund", "cash", 5000, -5000, "Part returned")
    invoice = client.get(f"/invoices/{issued.pk}").json()
    assert (invoice["status"], invoice["paid_cents"], invoice["balance_cents"]) == ("partially_paid", TOTAL - 5000, 5000)


def test_refund_refusals_change_nothing(office, issued):
    client = api_client(office)
    client.post(f"/invoices/{issued.pk}/payments", pay(issued, 1000))
    before = snapshot()
    response = client.post(f"/invoices/{issued.pk}/refunds", pay(issued, 1001, note="Too much"))
    assert (response.status_code, error_of(response)["code"], error_of(response)["message"]) == (
        409,
        "over_refund",
        "Only $10.00 has been paid on INV-000001; a refund cannot be more.",
    )
    response = client.post(f"/invoices/{issued.pk}/refunds", pay(issued, 100))
    assert (response.status_code, field_paths(response)) == (422, {"body.note"})
    response = client.post(f"/invoices/{issued.pk}/refunds", pay(issued, 100, note=""))
    assert (response.status_code, field_paths(response)) == (422, {"body.note"})
    assert snapshot() == before


def test_the_payments_list(office, complete_job, job, issued):
    client = api_client(office)
    today = timezone.localdate()
    other = issue(office, complete_job())
    first = actions.payment_record(actor=office, invoice_id=issued.pk, amount_cents=100, method="cash", received_on=today - timedelta(days=3))
    second = actions.payment_record(actor=office, invoice_id=other.pk, amount_cents=200, method="check", received_on=today - timedelta(days=1))
    refund = actions.refund_record(actor=office, invoice_id=issued.pk, amount_cents=50, method="cash", received_on=today, note="Change")

    def ids(**params):  # type: ignore[no-untyped-def]
        response = client.get("/payments", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["items"]]

    assert ids() == [refund.pk, second.pk, first.pk]
    assert ids(invoice=issued.pk) == [refund.pk, first.pk]
    assert ids(customer=other.customer_id) == [second.pk]
    assert ids(date_from=(today - timedelta(days=1)).isoformat()) == [refund.pk, second.pk]
    assert ids(date_to=(today - timedelta(days=1)).isoformat()) == [second.pk, first.pk]
    assert ids(date_from=(today - timedelta(days=2)).isoformat(), date_to=(today - timedelta(days=2)).isoformat()) == []
    row = client.get("/payments", {"invoice": issued.pk}).json()["items"][0]
    assert (row["kind"], row["signed_cents"], row["invoice"]["number"], row["customer"]["id"]) == ("refund", -50, "INV-000001", job.customer_id)
    response = client.get("/payments", {"date_from": "yesterday"})
    assert (response.status_code, field_paths(response)) == (422, {"query.date_from"})


def test_the_payments_list_pages_at_a_fixed_query_count(office, complete_job):
    client = api_client(office)
    invoices = [issue(office, complete_job()) for _ in range(3)]
    for invoice in invoices[:1]:
        actions.payment_record(actor=office, invoice_id=invoice.pk, amount_cents=100, method="cash", received_on=timezone.localdate())
    _, small = queries_of(lambda: client.get("/payments"))
    for invoice in invoices:
        for _ in range(2):
            actions.payment_record(actor=office, invoice_id=invoice.pk, amount_cents=100, method="cash", received_on=timezone.localdate())
    response, large = queries_of(lambda: client.get("/payments"))
    assert (len(response.json()["items"]), large) == (7, small)
    first = client.get("/payments", {"limit": 5}).json()
    second = client.get("/payments", {"limit": 5, "cursor": first["next_cursor"]}).json()
    assert (len(first["items"]), len(second["items"]), second["next_cursor"]) == (5, 2, None)


@pytest.mark.parametrize("persona", ["dispatcher", "tech"])
def test_dispatchers_and_technicians_may_not_see_or_record_payments(request, persona, issued):
    user = request.getfixturevalue("dispatcher") if persona == "dispatcher" else request.getfixturevalue("tech_a").user
    client = api_client(user)
    before = snapshot()
    for response in (
        client.get("/payments"),
        client.post(f"/invoices/{issued.pk}/payments", pay(issued, 100)),
        client.post(f"/invoices/{issued.pk}/refunds", pay(issued, 100, note="x")),
    ):
        assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    assert snapshot() == before
