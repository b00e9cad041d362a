"""Payments, refunds and credit notes from the invoice pages: amounts in dollars, partial and full
payment (the job closes), field errors, overpayment and over-refund refused with nothing recorded."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.billing.models import Invoice, Payment
from serviceopus.jobs.status import JobStatus

from .test_views_invoices import TOTAL, issued_for, snapshot, url

pytestmark = pytest.mark.django_db


def pay(http, invoice, amount, **extra):  # type: ignore[no-untyped-def]
    data = {"amount": amount, "method": "card", "reference": "", "received_on": timezone.localdate().isoformat(), "note": "", **extra}
    return http.post(url("payment_record", invoice), data)


def test_payment_form_page_prefills_the_balance(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    page = client_as(office).get(url("payment_record", invoice))
    assert page.status_code == 200
    assert page.context["form"].initial == {"received_on": timezone.localdate(), "amount": "364.38"}
    html = page.content.decode()
    assert "Record a payment on INV-000001" in html
    assert "$364.38" in html


def test_partial_payment_then_the_rest_closes_the_job(client_as, office, complete_job):
    job = complete_job()
    invoice = issued_for(office, job)
    http = client_as(office)

    first = pay(http, invoice, "120.50", reference="ch_1", method="card")
    assert first["Location"] == url("invoice", invoice) + "#payments"
    assert "Payment of $120.50 recorded on INV-000001. Balance $243.88." in http.get(first["Location"]).content.decode()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_cents) == ("partially_paid", 12050)
    payment = Payment.objects.get()
    assert (payment.amount_cents, payment.method, payment.reference, payment.recorded_by) == (12050, "card", "ch_1", office)

    rest = pay(http, invoice, "$243.88", method="check")
    html = http.get(rest["Location"]).content.decode()
    assert f"Payment of $243.88 recorded on INV-000001. The invoice is paid in full. {job.number} is now closed." in html
    invoice.refresh_from_db()
    job.refresh_from_db()
    assert (invoice.status, invoice.paid_cents, invoice.balance_cents) == ("paid", TOTAL, 0)
    assert job.status == JobStatus.CLOSED


def test_payment_field_errors_are_shown_and_nothing_is_recorded(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    http = client_as(office)
    before = snapshot()
    response = pay(http, invoice, "12.345", method="barter", received_on=(timezone.localdate() + timedelta(days=1)).isoformat())
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert errors["amount"] == ["At most two decimal places (cents)."]
    assert errors["method"] == ["Select a valid choice. barter is not one of the available choices."]
    assert errors["received_on"] == ["The date cannot be in the future."]
    assert pay(http, invoice, "0").context["form"].errors["amount"] == ["Enter an amount above zero."]
    assert pay(http, invoice, "").context["form"].errors["amount"] == ["This field is required."]
    assert snapshot() == before


def test_overpayment_is_refused_on_the_form(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    http = client_as(office)
    before = snapshot()
    response = pay(http, invoice, "364.39")
    assert response.status_code == 409
    assert "$364.39 is more than the balance of $364.38 on INV-000001; nothing was recorded." in response.content.decode()
    assert response.context["form"]["amount"].value() == "364.39"
    assert snapshot() == before


def test_a_paid_invoice_takes_no_payment(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    http = client_as(office)
    pay(http, invoice, "364.38")
    before = snapshot()
    assert "INV-000001 is paid: it takes no payment." in http.get(http.get(url("payment_record", invoice))["Location"]).content.decode()
    response = pay(http, invoice, "1.00")
    assert response.status_code == 409
    assert snapshot() == before


def test_refund_needs_a_note_and_at_most_what_was_paid(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    http = client_as(office)
    pay(http, invoice, "100.00")
    invoice.refresh_from_db()
    refund_url = url("refund_record", invoice)
    assert http.get(refund_url).status_code == 200
    before = snapshot()
    data = {"amount": "20.00", "method": "card", "received_on": timezone.localdate().isoformat(), "note": ""}
    missing = http.post(refund_url, data)
    assert missing.status_code == 422
    assert missing.context["form"].errors["note"] == ["Say why the money is refunded."]
    too_much = http.post(refund_url, {**data, "amount": "100.01", "note": "Charged twice"})
    assert too_much.status_code == 409
    assert "Only $100.00 has been paid on INV-000001; a refund cannot be more." in too_much.content.decode()
    assert snapshot() == before

    done = http.post(refund_url, {**data, "note": "Charged twice"})
    assert "Refund of $20.00 recorded on INV-000001. Balance $284.38." in http.get(done["Location"]).content.decode()
    invoice.refresh_from_db()
    assert invoice.paid_cents == 8000
    assert Payment.objects.filter(kind="refund", amount_cents=2000, note="Charged twice").count() == 1


def test_refund_page_without_payments_sends_back(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    http = client_as(office)
    response = http.get(url("refund_record", invoice))
    assert response["Location"] == url("invoice", invoice)
    assert "Nothing has been paid on INV-000001: there is nothing to refund." in http.get(response["Location"]).content.decode()


def test_credit_note_defaults_to_what_is_left_and_credits_with_tax(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    service = invoice.lines.get(description="Diagnostic visit")
    http = client_as(office)
    page = http.get(url("credit_note", invoice))
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial[f"line_{service.pk}"] == "89.00"
    data = {"version": invoice.version, "reason": "Diagnostic waived"} | {name: "" for _, _, name in form.line_fields}
    data[f"line_{service.pk}"] = "89.00"
    response = http.post(url("credit_note", invoice), data)
    assert response["Location"] == url("invoice", invoice) + "#credit-notes"
    assert "Credit note CN-000001 of $96.34 issued against INV-000001." in http.get(response["Location"]).content.decode()
    invoice.refresh_from_db()
    assert (invoice.credited_cents, invoice.balance_cents) == (9634, TOTAL - 9634)
    note = Invoice.objects.get(kind="credit_note")
    assert (note.number, note.subtotal_cents, note.tax_cents, note.credits_id) == ("CN-000001", 8900, 734, invoice.pk)

    # What is left to credit on the line is now zero; asking for more is refused on the form.
    again = http.get(url("credit_note", invoice))
    assert again.context["form"].initial[f"line_{service.pk}"] == ""
    before = snapshot()
    refused = http.post(url("credit_note", invoice), {**data, "version": invoice.version, f"line_{service.pk}": "1.00"})
    assert refused.status_code == 422
    assert "“Diagnostic visit” has $0.00 left to credit; $1.00 is more." in refused.content.decode()
    assert snapshot() == before


def test_the_credit_note_form_takes_a_discount_back_too(client_as, office, complete_job):
    from decimal import Decimal

    from serviceopus.billing import actions

    draft = actions.invoice_create(actor=office, job_ids=[complete_job().pk])
    actions.invoice_line_add(
        actor=office, invoice_id=draft.pk, version=draft.version, kind="discount", description="Loyalty", quantity=Decimal(1), unit_price_cents=2000
    )
    draft.refresh_from_db()
    invoice = actions.invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version)
    discount = invoice.lines.get(kind="discount")
    http = client_as(office)
    form = http.get(url("credit_note", invoice)).context["form"]
    # Every line defaults to what is left on it, the discount negative: as given, it credits the invoice exactly.
    assert form.initial[f"line_{discount.pk}"] == "-20.00"
    data = {"version": invoice.version, "reason": "Cancelled order"} | {name: form.initial[name] for _, _, name in form.line_fields}
    response = http.post(url("credit_note", invoice), data)
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.credited_cents, invoice.balance_cents) == (invoice.total_cents, 0)
    # Only a discount line takes a negative amount.
    service = invoice.lines.get(description="Diagnostic visit")
    refused = http.post(url("credit_note", invoice), {"version": invoice.version, "reason": "x", f"line_{service.pk}": "-1.00"})
    assert refused.status_code == 422
    assert refused.context["form"].errors[f"line_{service.pk}"] == ["The amount cannot be negative."]


def test_credit_note_needs_an_amount_and_a_reason(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    before = snapshot()
    response = client_as(office).post(url("credit_note", invoice), {"version": invoice.version, "reason": ""})
    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors["reason"] == ["This field is required."]
    response = client_as(office).post(url("credit_note", invoice), {"version": invoice.version, "reason": "x"})
    assert response.context["form"].non_field_errors() == ["Enter an amount to credit on at least one line."]
    assert snapshot() == before


@pytest.mark.parametrize("persona", ["dispatcher", "tech_a"])
def test_money_pages_are_the_offices(persona, request, client_as, office, complete_job):
    user = request.getfixturevalue(persona)
    user = getattr(user, "user", user)
    invoice = issued_for(office, complete_job())
    http = client_as(user)
    before = snapshot()
    for name in ("payment_record", "refund_record", "credit_note"):
        assert http.get(url(name, invoice)).status_code == 403
    assert pay(http, invoice, "10.00").status_code == 403
    assert snapshot() == before


def test_unknown_invoice_is_404(client_as, office):
    assert client_as(office).get(reverse("billing:payment_record", args=[999999])).status_code == 404
