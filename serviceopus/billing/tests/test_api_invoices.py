"""The invoices API: preview, create, read, list (filters, pages, a fixed query count), edit, delete,
issue and void, a job's invoices and the ready-to-invoice queue; validation (422 with field paths),
conflicts (409) and 404s that change nothing; who may (the office; dispatchers and technicians 403)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.billing import actions
from serviceopus.billing.models import AccountingEntry, Invoice, InvoiceLine, Payment
from serviceopus.billing.tests.conftest import approved_time
from serviceopus.core.models import Sequence
from serviceopus.jobs.models import BillingType, Job, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db

SUBTOTAL, TAX, TOTAL = 35300, 1138, 36438  # complete_job(): 89.00 + 2 × 24.50 + 35.00 + 1.5 h × 120.00; 8.25 % on the first two


def snapshot():  # type: ignore[no-untyped-def]
    """Everything a refused billing call must leave as it was."""
    return (
        list(
            Invoice.objects.values_list(
                "pk", "status", "number", "version", "memo", "terms_days", "subtotal_cents", "tax_cents", "total_cents", "paid_cents", "credited_cents"
            ).order_by("pk")
        ),
        list(
            InvoiceLine.objects.values_list("pk", "invoice_id", "description", "quantity", "unit_price_cents", "amount_cents", "tax_cents", "live").order_by(
                "pk"
            )
        ),
        list(Payment.objects.values_list("pk", "kind", "amount_cents").order_by("pk")),
        list(AccountingEntry.objects.values_list("seq", "kind").order_by("seq")),
        list(Sequence.objects.values_list("name", "value").order_by("name")),
        list(Job.objects.values_list("pk", "status", "version").order_by("pk")),
        JobEvent.objects.count(),
    )


def queries_of(call):  # type: ignore[no-untyped-def]
    call()  # the token's first use is recorded once: measure the steady state
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, len(captured.captured_queries)


@pytest.fixture
def job(complete_job):  # type: ignore[no-untyped-def]
    return complete_job()


@pytest.fixture
def draft(office, job):  # type: ignore[no-untyped-def]
    return actions.invoice_create(actor=office, job_ids=[job.pk], memo="Thanks for your business")


@pytest.fixture
def issued(office, draft):  # type: ignore[no-untyped-def]
    return actions.invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version)


# ---- preview and create ---------------------------------------------------------------------------


def test_preview_shows_the_lines_without_creating_anything(office, job, tax):
    before = snapshot()
    response = api_client(office).post("/invoices/preview", {"job_ids": [job.pk]})
    assert response.status_code == 200
    body = response.json()
    assert (body["empty"], body["subtotal_cents"], body["tax_cents"], body["total_cents"], body["warnings"]) == (False, SUBTOTAL, TAX, TOTAL, [])
    assert [(line["kind"], line["quantity"], line["unit_price_cents"], line["amount_cents"], line["tax_cents"]) for line in body["lines"]] == [
        ("service", "1.000", 8900, 8900, 734),
        ("material", "2.000", 2450, 4900, 404),
        ("fee", "1.000", 3500, 3500, 0),
        ("labour", "1.500", 12000, 18000, 0),
    ]
    assert body["lines"][0]["tax_rate"] == {"id": tax.pk, "name": "State sales tax", "rate_milli_percent": 8250}
    assert [(j["job"], j["billing_type"], j["cap_cents"], j["overage_cents"], len(j["lines"])) for j in body["jobs"]] == [
        ({"id": job.pk, "number": job.number}, "time_materials", None, 0, 4)
    ]
    assert snapshot() == before


def test_preview_of_a_not_to_exceed_job_shows_the_cap_and_the_overage(office, complete_job, tax):
    job = complete_job(BillingType.NOT_TO_EXCEED, nte=30000)
    body = api_client(office).post("/invoices/preview", {"job_ids": [job.pk]}).json()
    assert (body["subtotal_cents"], body["tax_cents"], body["total_cents"]) == (30000, 967, 30967)
    assert [(line["kind"], line["amount_cents"], line["tax_cents"], (line["tax_rate"] or {}).get("id")) for line in body["lines"][4:]] == [
        ("adjustment", -2072, -171, tax.pk),
        ("adjustment", -3228, 0, None),
    ]
    assert (body["jobs"][0]["cap_cents"], body["jobs"][0]["overage_cents"]) == (30000, 5300)
    assert body["warnings"] == [f"{job.number}: the work comes to $353.00, $53.00 over its not-to-exceed limit; the overage is not billed."]


def test_preview_refusals(office, job, complete_job):
    client = api_client(office)
    other = complete_job()
    new = JobFactory(customer=job.customer, location=job.location, status=JobStatus.NEW)
    before = snapshot()
    response = client.post("/invoices/preview", {"job_ids": [job.pk, other.pk]})
    assert (response.status_code, error_of(response)["message"], field_paths(response)) == (
        422,
        "One invoice is for one customer: these jobs belong to different customers.",
        {"body.job_ids"},
    )
    response = client.post("/invoices/preview", {"job_ids": [new.pk]})
    assert (response.status_code, error_of(response)["code"], error_of(response)["message"]) == (
        409,
        "not_invoiceable",
        f"{new.number} is new: only work in progress or complete can be invoiced.",
    )
    response = client.post("/invoices/preview", {"job_ids": [job.pk, 999_999]})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    response = client.post("/invoices/preview", {"job_ids": []})
    assert (response.status_code, field_paths(response)) == (422, {"body.job_ids"})
    response = client.post("/invoices/preview", {"job_ids": ["1"]})
    assert (response.status_code, field_paths(response)) == (422, {"body.job_ids.0"})
    assert snapshot() == before


def test_preview_is_empty_once_everything_is_on_an_invoice(office, job, draft):
    body = api_client(office).post("/invoices/preview", {"job_ids": [job.pk]}).json()
    assert (body["empty"], body["lines"], body["total_cents"]) == (True, [], 0)


def test_create_a_draft(office, job):
    response = api_client(office).post("/invoices", {"job_ids": [job.pk], "memo": "Thanks"})
    assert response.status_code == 201
    body = response.json()
    invoice = Invoice.objects.get()
    assert (body["id"], body["number"], body["label"], body["kind"], body["status"], body["version"]) == (
        invoice.pk,
        None,
        f"Draft invoice #{invoice.pk}",
        "invoice",
        "draft",
        invoice.version,
    )
    assert (body["subtotal_cents"], body["tax_cents"], body["total_cents"], body["balance_cents"], body["memo"], body["terms_days"]) == (
        SUBTOTAL,
        TAX,
        TOTAL,
        0,
        "Thanks",
        30,
    )
    assert (body["customer"], body["jobs"], body["allowed_actions"], body["created_by"]["name"]) == (
        {"id": job.customer_id, "name": job.customer.name},
        [{"id": job.pk, "number": job.number}],
        ["edit", "issue", "delete"],
        "Oscar Office",
    )
    assert [
        (line["kind"], line["amount_cents"], line["line_item_id"] is not None, line["time_entry_id"] is not None, line["live"]) for line in body["lines"]
    ] == [
        ("service", 8900, True, False, True),
        ("material", 4900, True, False, True),
        ("fee", 3500, True, False, True),
        ("labour", 18000, False, True, True),
    ]


def test_create_refusals_change_nothing(office, job, draft, complete_job):
    client = api_client(office)
    other = complete_job()
    before = snapshot()
    response = client.post("/invoices", {"job_ids": [job.pk]})
    assert (response.status_code, error_of(response)["code"]) == (409, "nothing_to_invoice")
    response = client.post("/invoices", {"job_ids": [other.pk, job.pk]})
    assert (response.status_code, field_paths(response)) == (422, {"body.job_ids"})
    response = client.post("/invoices", {"job_ids": [other.pk], "memo": "x" * 2001})
    assert (response.status_code, field_paths(response)) == (422, {"body.memo"})
    response = client.post("/invoices", {"job_ids": [other.pk], "discount": 5})
    assert (response.status_code, field_paths(response)) == (422, {"body.discount"})
    response = client.post("/invoices", {"job_ids": [999_999]})
    assert response.status_code == 404
    assert snapshot() == before


# ---- who may ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["dispatcher", "tech"])
def test_dispatchers_and_technicians_are_forbidden(request, persona, job, issued):
    user = request.getfixturevalue("dispatcher") if persona == "dispatcher" else request.getfixturevalue("tech_a").user
    client = api_client(user)
    before = snapshot()
    calls = [
        lambda: client.get("/invoices"),
        lambda: client.get(f"/invoices/{issued.pk}"),
        lambda: client.get(f"/jobs/{job.pk}/invoices"),
        lambda: client.get("/billing/ready-to-invoice"),
        lambda: client.post("/invoices/preview", {"job_ids": [job.pk]}),
        lambda: client.post("/invoices", {"job_ids": [job.pk]}),
        lambda: client.patch(f"/invoices/{issued.pk}", {"version": issued.version, "memo": "x"}),
        lambda: client.delete(f"/invoices/{issued.pk}?version={issued.version}"),
        lambda: client.post(f"/invoices/{issued.pk}/issue", {"version": issued.version}),
        lambda: client.post(f"/invoices/{issued.pk}/void", {"version": issued.version, "reason": "x"}),
    ]
    for call in calls:
        response = call()
        assert (response.status_code, error_of(response)["code"], error_of(response)["message"]) == (403, "forbidden", "You may not see invoices and payments.")
    assert snapshot() == before


def test_a_manager_may_do_what_the_office_does(manager, job):
    response = api_client(manager).post("/invoices", {"job_ids": [job.pk]})
    assert response.status_code == 201
    invoice = response.json()
    response = api_client(manager).post(f"/invoices/{invoice['id']}/issue", {"version": invoice["version"]})
    assert (response.status_code, response.json()["number"], response.json()["status"]) == (200, "INV-000001", "issued")


# ---- read and list --------------------------------------------------------------------------------------


def test_read_an_issued_invoice_with_payments_and_credit_notes(office, issued):
    today = timezone.localdate()
    actions.payment_record(actor=office, invoice_id=issued.pk, amount_cents=10000, method="check", received_on=today, reference="1042")
    issued.refresh_from_db()
    service = issued.lines.get(kind="service")
    note = actions.credit_note_create(actor=office, invoice_id=issued.pk, version=issued.version, amounts={service.pk: 8900}, reason="Goodwill")
    issued.refresh_from_db()
    body = api_client(office).get(f"/invoices/{issued.pk}").json()
    assert (body["number"], body["status"], body["issue_date"], body["due_date"], body["overdue"]) == (
        "INV-000001",
        "partially_paid",
        today.isoformat(),
        (today + timedelta(days=30)).isoformat(),
        False,
    )
    assert (body["total_cents"], body["paid_cents"], body["credited_cents"], body["balance_cents"], body["version"]) == (
        TOTAL,
        10000,
        9634,
        TOTAL - 10000 - 9634,
        issued.version,
    )
    assert body["allowed_actions"] == ["credit", "pay", "refund"]
    assert body["bill_to"].startswith(issued.customer.name)
    assert [(p["kind"], p["method"], p["amount_cents"], p["signed_cents"], p["reference"], p["invoice"]["number"]) for p in body["payments"]] == [
        ("payment", "check", 10000, 10000, "1042", "INV-000001")
    ]
    assert body["credit_notes"] == [{"id": note.pk, "number": "CN-000001", "label": "CN-000001"}]
    note_body = api_client(office).get(f"/invoices/{note.pk}").json()
    assert (note_body["kind"], note_body["status"], note_body["credits"], note_body["total_cents"], note_body["allowed_actions"]) == (
        "credit_note",
        "issued",
        {"id": issued.pk, "number": "INV-000001", "label": "INV-000001"},
        9634,
        [],
    )
    assert [(line["kind"], line["amount_cents"], line["tax_cents"], line["credits_line_id"], line["live"]) for line in note_body["lines"]] == [
        ("credit", -8900, -734, service.pk, False)
    ]


def test_an_unknown_invoice_is_404(office):
    response = api_client(office).get("/invoices/999999")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


def _issue(actor, job):  # type: ignore[no-untyped-def]
    invoice = actions.invoice_create(actor=actor, job_ids=[job.pk])
    return actions.invoice_issue(actor=actor, invoice_id=invoice.pk, version=invoice.version)


def test_list_filters(office, complete_job, job, issued):
    client = api_client(office)
    other_customer_job = complete_job()
    draft = actions.invoice_create(actor=office, job_ids=[other_customer_job.pk])
    late = _issue(office, complete_job(customer=job.customer))
    Invoice.objects.filter(pk=late.pk).update(due_date=timezone.localdate() - timedelta(days=1))
    service = issued.lines.get(kind="service")
    note = actions.credit_note_create(actor=office, invoice_id=issued.pk, version=issued.version, amounts={service.pk: 100}, reason="Rounding")

    def ids(**params):  # type: ignore[no-untyped-def]
        response = client.get("/invoices", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["items"]]

    assert ids() == [note.pk, late.pk, draft.pk, issued.pk]
    assert ids(status="draft") == [draft.pk]
    assert ids(kind="credit_note") == [note.pk]
    assert ids(customer=job.customer_id) == [note.pk, late.pk, issued.pk]
    assert ids(job=job.pk) == [note.pk, issued.pk]
    assert ids(overdue="true") == [late.pk]
    assert ids(overdue="true", customer=other_customer_job.customer_id) == []
    row = client.get("/invoices", {"overdue": "true"}).json()["items"][0]
    assert (row["overdue"], row["status"], row["balance_cents"]) == (True, "issued", TOTAL)
    response = client.get("/invoices", {"job": 999_999})
    assert response.status_code == 404
    response = client.get("/invoices", {"status": "lost"})
    assert (response.status_code, field_paths(response)) == (422, {"query.status"})


def test_list_pages_and_costs_the_same_queries_whatever_its_length(office, complete_job):
    client = api_client(office)
    for _ in range(2):
        _issue(office, complete_job())
    _, small = queries_of(lambda: client.get("/invoices", {"limit": 25}))
    for _ in range(4):
        _issue(office, complete_job())
    _, large = queries_of(lambda: client.get("/invoices", {"limit": 25}))
    assert small == large
    first = client.get("/invoices", {"limit": 4}).json()
    second = client.get("/invoices", {"limit": 4, "cursor": first["next_cursor"]}).json()
    numbers = [row["number"] for row in first["items"] + second["items"]]
    assert numbers == [f"INV-{n:06d}" for n in range(6, 0, -1)]
    assert (second["next_cursor"], first["prev_cursor"]) == (None, None)
    response = client.get("/invoices", {"cursor": "not-a-cursor"})
    assert (response.status_code, field_paths(response)) == (422, {"query.cursor"})


def test_a_jobs_invoices(office, job, issued, complete_job):
    client = api_client(office)
    complete_job()  # another job's invoice stays out
    response = client.get(f"/jobs/{job.pk}/invoices")
    assert [(row["id"], row["number"], row["status"]) for row in response.json()] == [(issued.pk, "INV-000001", "issued")]
    assert client.get("/jobs/999999/invoices").status_code == 404


# ---- edit, delete, issue, void -----------------------------------------------------------------------------


def test_edit_a_drafts_memo_and_terms(office, draft):
    client = api_client(office)
    response = client.patch(f"/invoices/{draft.pk}", {"version": draft.version, "terms_days": 15})
    assert response.status_code == 200
    body = response.json()
    assert (body["memo"], body["terms_days"], body["version"]) == ("Thanks for your business", 15, draft.version + 1)
    response = client.patch(f"/invoices/{draft.pk}", {"version": body["version"], "memo": "Net 15, please"})
    assert (response.json()["memo"], response.json()["terms_days"]) == ("Net 15, please", 15)


def test_edit_refusals_change_nothing(office, draft, complete_job):
    client = api_client(office)
    issued = _issue(office, complete_job())
    before = snapshot()
    response = client.patch(f"/invoices/{draft.pk}", {"version": draft.version + 5, "memo": "late"})
    assert (response.status_code, error_of(response)["code"]) == (409, "stale")
    response = client.patch(f"/invoices/{issued.pk}", {"version": issued.version, "memo": "after the fact"})
    assert (response.status_code, error_of(response)["code"]) == (409, "not_draft")
    assert error_of(response)["message"] == "INV-000001 is issued: an issued invoice cannot be edited; issue a credit note to correct it."
    response = client.patch(f"/invoices/{draft.pk}", {"version": draft.version, "terms_days": 366})
    assert (response.status_code, field_paths(response)) == (422, {"body.terms_days"})
    response = client.patch(f"/invoices/{draft.pk}", {"memo": "no version"})
    assert (response.status_code, field_paths(response)) == (422, {"body.version"})
    response = client.patch(f"/invoices/{draft.pk}", {"version": draft.version, "memo": "nul \x00"})
    assert (response.status_code, field_paths(response)) == (422, {"body.memo"})
    assert client.patch("/invoices/999999", {"version": 1, "memo": "x"}).status_code == 404
    assert snapshot() == before


def test_delete_a_draft(office, job, draft):
    client = api_client(office)
    response = client.delete(f"/invoices/{draft.pk}?version={draft.version}")
    assert (response.status_code, response.content) == (204, b"")
    assert (Invoice.objects.count(), InvoiceLine.objects.count()) == (0, 0)
    assert client.post("/invoices", {"job_ids": [job.pk]}).status_code == 201  # its work is free again


def test_delete_refusals_change_nothing(office, draft, complete_job):
    client = api_client(office)
    issued = _issue(office, complete_job())
    before = snapshot()
    response = client.delete(f"/invoices/{draft.pk}?version={draft.version + 1}")
    assert (response.status_code, error_of(response)["code"]) == (409, "stale")
    response = client.delete(f"/invoices/{issued.pk}?version={issued.version}")
    assert (response.status_code, error_of(response)["code"]) == (409, "not_draft")
    response = client.delete(f"/invoices/{draft.pk}")
    assert (response.status_code, field_paths(response)) == (422, {"query.version"})
    assert client.delete("/invoices/999999?version=1").status_code == 404
    assert snapshot() == before


def test_issue_takes_the_next_number_and_moves_the_job(office, job, draft):
    response = api_client(office).post(f"/invoices/{draft.pk}/issue", {"version": draft.version})
    assert response.status_code == 200
    body = response.json()
    today = timezone.localdate()
    assert (body["number"], body["label"], body["status"], body["issue_date"], body["balance_cents"], body["allowed_actions"]) == (
        "INV-000001",
        "INV-000001",
        "issued",
        today.isoformat(),
        TOTAL,
        ["void", "credit", "pay"],
    )
    job.refresh_from_db()
    assert job.status == JobStatus.INVOICED
    assert list(AccountingEntry.objects.values_list("seq", "kind")) == [(1, "invoice_issued")]


def test_issue_refusals_change_nothing(office, draft):
    client = api_client(office)
    before = snapshot()
    response = client.post(f"/invoices/{draft.pk}/issue", {"version": draft.version + 1})
    assert (response.status_code, error_of(response)["code"]) == (409, "stale")
    response = client.post(f"/invoices/{draft.pk}/issue", {"version": "1"})
    assert (response.status_code, field_paths(response)) == (422, {"body.version"})
    response = client.post(f"/invoices/{draft.pk}/issue", {})
    assert (response.status_code, field_paths(response)) == (422, {"body.version"})
    assert client.post("/invoices/999999/issue", {"version": 1}).status_code == 404
    assert snapshot() == before
    issued = actions.invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version)
    before = snapshot()
    response = client.post(f"/invoices/{issued.pk}/issue", {"version": issued.version})
    assert (response.status_code, error_of(response)["code"]) == (409, "not_draft")
    assert snapshot() == before


def test_void_an_issued_invoice(office, job, issued):
    response = api_client(office).post(f"/invoices/{issued.pk}/void", {"version": issued.version, "reason": "Billed to the wrong site"})
    assert response.status_code == 200
    body = response.json()
    assert (body["number"], body["status"], body["void_reason"], body["balance_cents"], body["allowed_actions"]) == (
        "INV-000001",
        "void",
        "Billed to the wrong site",
        0,
        [],
    )
    assert {line["live"] for line in body["lines"]} == {False}
    job.refresh_from_db()
    assert job.status == JobStatus.WORK_COMPLETE


def test_void_refusals_change_nothing(office, issued):
    client = api_client(office)
    actions.payment_record(actor=office, invoice_id=issued.pk, amount_cents=100, method="cash", received_on=timezone.localdate())
    issued.refresh_from_db()
    before = snapshot()
    response = client.post(f"/invoices/{issued.pk}/void", {"version": issued.version, "reason": "Oops"})
    assert (response.status_code, error_of(response)["code"]) == (409, "paid")
    response = client.post(f"/invoices/{issued.pk}/void", {"version": issued.version, "reason": ""})
    assert (response.status_code, field_paths(response)) == (422, {"body.reason"})
    response = client.post(f"/invoices/{issued.pk}/void", {"version": issued.version - 1, "reason": "Oops"})
    assert (response.status_code, error_of(response)["code"]) == (409, "stale")
    assert snapshot() == before


def test_voiding_a_draft_is_refused(office, draft):
    before = snapshot()
    response = api_client(office).post(f"/invoices/{draft.pk}/void", {"version": draft.version, "reason": "Oops"})
    assert (response.status_code, error_of(response)["code"], error_of(response)["message"]) == (409, "draft", "A draft is not voided: delete it instead.")
    assert snapshot() == before


# ---- the ready-to-invoice queue ---------------------------------------------------------------------------------


def test_ready_to_invoice(office, complete_job, tech_a):
    client = api_client(office)
    waiting = complete_job()
    drafted = complete_job()
    draft = actions.invoice_create(actor=office, job_ids=[drafted.pk])
    done = complete_job()
    _issue(office, done)
    complete_job(status=JobStatus.IN_PROGRESS)  # not complete yet
    # Fixed price bills no time: approved time alone leaves nothing to invoice.
    fixed = JobFactory(status=JobStatus.WORK_COMPLETE, billing_type=BillingType.FIXED_PRICE)
    approved_time(fixed, tech_a, 60)
    # Time & materials does bill it.
    timed = JobFactory(status=JobStatus.WORK_COMPLETE, billing_type=BillingType.TIME_AND_MATERIALS)
    approved_time(timed, tech_a, 60)
    body = client.get("/billing/ready-to-invoice").json()
    assert [(row["id"], row["draft_invoice_id"]) for row in body["items"]] == [(waiting.pk, None), (drafted.pk, draft.pk), (timed.pk, None)]
    row = body["items"][0]
    assert (row["number"], row["customer"], row["job_type"]["id"], row["billing_type"]) == (
        waiting.number,
        {"id": waiting.customer_id, "name": waiting.customer.name},
        waiting.job_type_id,
        "time_materials",
    )


def test_ready_to_invoice_costs_the_same_queries_whatever_its_length(office, complete_job):
    client = api_client(office)
    for _ in range(2):
        complete_job()
    _, small = queries_of(lambda: client.get("/billing/ready-to-invoice"))
    for _ in range(4):
        actions.invoice_create(actor=office, job_ids=[complete_job().pk])
    response, large = queries_of(lambda: client.get("/billing/ready-to-invoice"))
    assert (len(response.json()["items"]), large) == (6, small)
    first = client.get("/billing/ready-to-invoice", {"limit": 5}).json()
    second = client.get("/billing/ready-to-invoice", {"limit": 5, "cursor": first["next_cursor"]}).json()
    assert (len(first["items"]), len(second["items"]), second["next_cursor"]) == (5, 1, None)


def test_reading_an_invoice_costs_the_same_queries_whatever_it_holds(office, complete_job, job, issued):
    client = api_client(office)
    _, small = queries_of(lambda: client.get(f"/invoices/{issued.pk}"))
    _, jobs_small = queries_of(lambda: client.get(f"/jobs/{job.pk}/invoices"))
    today = timezone.localdate()
    for _ in range(3):
        actions.payment_record(actor=office, invoice_id=issued.pk, amount_cents=100, method="cash", received_on=today)
    for line in issued.lines.all()[:2]:
        issued.refresh_from_db()
        actions.credit_note_create(actor=office, invoice_id=issued.pk, version=issued.version, amounts={line.pk: 100}, reason="Adjust")
    response, large = queries_of(lambda: client.get(f"/invoices/{issued.pk}"))
    assert (len(response.json()["payments"]), len(response.json()["credit_notes"]), large) == (3, 2, small)
    response, jobs_large = queries_of(lambda: client.get(f"/jobs/{job.pk}/invoices"))
    assert (len(response.json()), jobs_large) == (3, jobs_small)
