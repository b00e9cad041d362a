"""One invoice's page, and what can be done there: a draft's memo, terms and lines, issuing it,
deleting it; voiding an issued one. Stale copies and refused moves change nothing and say why."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.billing import actions
from serviceopus.billing.models import Invoice, InvoiceLine, TaxRate
from serviceopus.jobs.models import BillingType
from serviceopus.jobs.status import JobStatus

from .test_views_invoices import TOTAL, draft_for, issued_for, snapshot, url

pytestmark = pytest.mark.django_db


def follow(http, response):  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.status_code
    return http.get(response["Location"]).content.decode()


# ---- the page -------------------------------------------------------------------------------------------------------


def test_draft_page_offers_the_edits_and_issue(client_as, office, complete_job):
    job = complete_job()
    draft = draft_for(office, job)
    response = client_as(office).get(url("invoice", draft))
    assert response.status_code == 200
    assert response.context["editable"] is True
    assert response.context["can_pay"] is False
    assert response.context["pdf_url"] is None
    html = response.content.decode()
    assert f"Draft invoice #{draft.pk}" in html
    assert "Issue invoice" in html
    assert "Delete draft…" in html
    assert "Add a fee, discount or charge" in html
    assert "Run capacitor" in html
    assert "$364.38" in html
    assert reverse("jobs:detail", args=[job.pk]) in html
    assert [line.description for line in response.context["lines"]][:3] == ["Diagnostic visit", "Run capacitor", "Trip fee"]


def test_issued_page_shows_balance_payment_form_pdf_and_history(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    actions.payment_record(actor=office, invoice_id=invoice.pk, amount_cents=4438, method="check", received_on=timezone.localdate(), reference="1042")
    response = client_as(office).get(url("invoice", invoice))
    ctx = response.context
    assert (ctx["editable"], ctx["can_pay"], ctx["can_refund"], ctx["can_credit"], ctx["can_void"]) == (False, True, True, True, False)
    assert ctx["pdf_url"] == reverse("finance:invoice_pdf", args=[invoice.pk]) + "?download=1"
    assert ctx["payment_form"].initial["amount"] == "320.00"
    html = response.content.decode()
    assert "INV-000001" in html
    assert "Partially paid" in html
    assert "1042" in html
    assert "$44.38" in html
    assert "$320.00" in html
    assert "Issue invoice" not in html
    messages = [event.message for event in ctx["history"]]
    assert messages[0].startswith("Payment of $44.38 (check) on INV-000001")
    assert "Invoice INV-000001 issued: $364.38" in messages


def test_covered_lines_show_what_they_would_have_cost(client_as, office, complete_job):
    invoice = draft_for(office, complete_job(BillingType.WARRANTY))
    html = client_as(office).get(url("invoice", invoice)).content.decode()
    assert '<span class="list-amount" title="What it would have cost">$89.00</span>$0.00' in html


def test_credit_note_page_links_back_to_its_invoice(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    line = invoice.lines.first()
    note = actions.credit_note_create(actor=office, invoice_id=invoice.pk, version=invoice.version, amounts={line.pk: 8900}, reason="Diagnostic waived")
    html = client_as(office).get(url("invoice", note)).content.decode()
    assert "Credit note CN-000001" in html
    assert f'href="{url("invoice", invoice)}"' in html
    assert "Diagnostic waived" in html
    assert "Record payment" not in html
    assert "Void…" not in html


@pytest.mark.parametrize("count", [3, 10])
def test_detail_query_count_is_fixed(count, client_as, office, complete_job, django_assert_max_num_queries):
    invoice = issued_for(office, complete_job())
    for _n in range(count):
        actions.payment_record(actor=office, invoice_id=invoice.pk, amount_cents=100, method="cash", received_on=timezone.localdate())
    http = client_as(office)
    http.get(url("invoice", invoice))
    with django_assert_max_num_queries(8):
        response = http.get(url("invoice", invoice))
    assert len(response.context["payments"]) == count


def test_draft_detail_query_count_is_fixed(client_as, office, complete_job, django_assert_max_num_queries):
    http = client_as(office)
    small = draft_for(office, complete_job())
    big = draft_for(office, complete_job())
    for n in range(10):
        actions.invoice_line_add(
            actor=office,
            invoice_id=big.pk,
            version=Invoice.objects.get(pk=big.pk).version,
            kind="fee",
            description=f"Fee {n}",
            quantity=Decimal(1),
            unit_price_cents=100,
        )
    http.get(url("invoice", small))
    with django_assert_max_num_queries(10) as few:
        http.get(url("invoice", small))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(http.get(url("invoice", big)).context["lines"]) == 14


def test_unknown_invoice_is_404(client_as, office):
    assert client_as(office).get(reverse("billing:invoice", args=[999999])).status_code == 404


# ---- a draft's memo, terms and lines ----------------------------------------------------------------------------------


def test_edit_memo_and_terms(client_as, office, complete_job):
    draft = draft_for(office, complete_job())
    http = client_as(office)
    response = http.post(url("invoice_edit", draft), {"head-version": draft.version, "head-memo": "Net 15, thanks", "head-terms_days": "15"})
    assert "Memo and terms saved: due 15 days after issue." in follow(http, response)
    draft.refresh_from_db()
    assert (draft.memo, draft.terms_days) == ("Net 15, thanks", 15)


def test_edit_memo_and_terms_shows_field_errors_and_changes_nothing(client_as, office, complete_job):
    draft = draft_for(office, complete_job())
    before = snapshot()
    response = client_as(office).post(url("invoice_edit", draft), {"head-version": draft.version, "head-memo": "x", "head-terms_days": "400"})
    assert response.status_code == 422
    assert "Ensure this value is less than or equal to 365." in response.content.decode()
    assert snapshot() == before


def test_stale_edit_is_refused_with_changed_meanwhile(client_as, office, complete_job):
    draft = draft_for(office, complete_job())
    stale = draft.version
    actions.invoice_update(actor=office, invoice_id=draft.pk, version=stale, memo="First", terms_days=30)
    before = snapshot()
    response = client_as(office).post(url("invoice_edit", draft), {"head-version": stale, "head-memo": "Second", "head-terms_days": "30"})
    assert response.status_code == 409
    html = response.content.decode()
    assert f"Draft invoice #{draft.pk} was changed by someone else meanwhile; reload it and try again." in html
    assert "Reload the current version" in html
    assert snapshot() == before


def test_add_a_discount_and_a_taxed_fee(client_as, office, complete_job, tax):
    draft = draft_for(office, complete_job())
    http = client_as(office)
    response = http.post(
        url("line_add", draft),
        {
            "add-version": draft.version,
            "add-kind": "discount",
            "add-description": "Loyalty discount",
            "add-quantity": "1",
            "add-unit_price": "20",
            "add-tax_rate": "",
        },
    )
    assert "Added “Loyalty discount” (-$20.00)." in follow(http, response)
    draft.refresh_from_db()
    response = http.post(
        url("line_add", draft),
        {"add-version": draft.version, "add-kind": "fee", "add-description": "Permit", "add-quantity": "2", "add-unit_price": "$12.50", "add-tax_rate": tax.pk},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    fee = draft.lines.get(description="Permit")
    assert (fee.amount_cents, fee.tax_cents) == (2500, 206)
    assert (draft.subtotal_cents, draft.tax_cents, draft.total_cents) == (35300 - 2000 + 2500, 1138 + 206, TOTAL - 2000 + 2500 + 206)


def test_add_line_validation_errors_are_next_to_the_fields(client_as, office, complete_job):
    draft = draft_for(office, complete_job())
    before = snapshot()
    response = client_as(office).post(
        url("line_add", draft), {"add-version": draft.version, "add-kind": "fee", "add-description": "", "add-quantity": "0", "add-unit_price": "12.345"}
    )
    assert response.status_code == 422
    form = response.context["add_form"]
    assert form.errors["description"] == ["This field is required."]
    assert form.errors["quantity"] == ["A quantity above zero."]
    assert form.errors["unit_price"] == ["At most two decimal places (cents)."]
    assert 'id="add-line"' in response.content.decode()
    assert snapshot() == before


def test_edit_a_line(client_as, office, complete_job):
    draft = draft_for(office, complete_job())
    line = draft.lines.get(description="Trip fee")
    http = client_as(office)
    page = http.get(url("line_edit", draft, line_id=line.pk))
    assert page.status_code == 200
    assert page.context["form"].initial["unit_price"] == "35.00"
    response = http.post(
        url("line_edit", draft, line_id=line.pk), {"version": draft.version, "description": "Trip fee (after hours)", "quantity": "1", "unit_price": "55.00"}
    )
    assert "“Trip fee (after hours)” saved: $55.00." in follow(http, response)
    draft.refresh_from_db()
    assert draft.total_cents == TOTAL + 2000


def test_edit_a_line_with_bad_input_or_an_unknown_tax(client_as, office, complete_job):
    draft = draft_for(office, complete_job())
    line = draft.lines.get(description="Trip fee")
    inactive = TaxRate.objects.create(name="Old rate", rate_milli_percent=5000, active=False)
    before = snapshot()
    http = client_as(office)
    response = http.post(url("line_edit", draft, line_id=line.pk), {"version": draft.version, "description": "", "quantity": "-1", "unit_price": "abc"})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert (errors["description"], errors["quantity"], errors["unit_price"]) == (
        ["This field is required."],
        ["A quantity above zero."],
        ["Enter an amount in dollars, like 125.50."],
    )
    response = http.post(
        url("line_edit", draft, line_id=line.pk), {"version": draft.version, "description": "Trip", "quantity": "1", "unit_price": "1", "tax_rate": inactive.pk}
    )
    assert response.status_code == 422
    assert snapshot() == before


def test_remove_a_line_and_refuse_removing_the_last(client_as, office, complete_job):
    job = complete_job(minutes=0)
    job.line_items.exclude(description="Trip fee").delete()
    draft = draft_for(office, job)
    extra = actions.invoice_line_add(
        actor=office, invoice_id=draft.pk, version=draft.version, kind="fee", description="Permit", quantity=Decimal(1), unit_price_cents=500
    )
    draft.refresh_from_db()
    http = client_as(office)
    assert "Removed “Permit”." in follow(http, http.post(url("line_remove", draft, line_id=extra.pk), {"version": draft.version}))
    draft.refresh_from_db()
    [last] = draft.lines.all()
    before = snapshot()
    html = follow(http, http.post(url("line_remove", draft, line_id=last.pk), {"version": draft.version}))
    assert "An invoice needs at least one line: delete the draft instead." in html
    assert snapshot() == before


def test_issued_invoice_cannot_be_edited(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    line = invoice.lines.first()
    http = client_as(office)
    before = snapshot()
    html = follow(http, http.get(url("line_edit", invoice, line_id=line.pk)))
    assert "INV-000001 is issued: an issued invoice cannot be edited; issue a credit note to correct it." in html
    response = http.post(
        url("line_add", invoice), {"add-version": invoice.version, "add-kind": "fee", "add-description": "Late", "add-quantity": "1", "add-unit_price": "5"}
    )
    assert response.status_code == 409
    assert "an issued invoice cannot be edited" in response.content.decode()
    follow(http, http.post(url("line_remove", invoice, line_id=line.pk), {"version": invoice.version}))
    assert snapshot() == before


# ---- issue, delete, void ------------------------------------------------------------------------------------------------


def test_issue_a_draft(client_as, office, complete_job):
    job = complete_job()
    draft = draft_for(office, job)
    http = client_as(office)
    html = follow(http, http.post(url("invoice_issue", draft), {"version": draft.version}))
    draft.refresh_from_db()
    due = draft.due_date.strftime("%b %-d, %Y")
    assert f"Invoice INV-000001 issued: $364.38, due {due}." in html
    assert (draft.number, draft.status) == ("INV-000001", "issued")
    job.refresh_from_db()
    assert job.status == JobStatus.INVOICED


def test_issue_with_a_stale_version_changes_nothing(client_as, office, complete_job):
    draft = draft_for(office, complete_job())
    stale = draft.version
    actions.invoice_update(actor=office, invoice_id=draft.pk, version=stale, memo="Changed", terms_days=30)
    before = snapshot()
    http = client_as(office)
    html = follow(http, http.post(url("invoice_issue", draft), {"version": stale}))
    assert "was changed by someone else meanwhile; reload it and try again." in html
    assert snapshot() == before


def test_delete_a_draft_after_confirming(client_as, office, complete_job):
    job = complete_job()
    draft = draft_for(office, job)
    http = client_as(office)
    confirm = http.get(url("invoice_delete", draft))
    assert confirm.status_code == 200
    assert f"Delete draft invoice #{draft.pk}? This cannot be undone." in confirm.content.decode()
    response = http.post(url("invoice_delete", draft), {"version": draft.version})
    assert response["Location"] == reverse("billing:ready")
    assert f"Draft invoice #{draft.pk} deleted." in http.get(response["Location"]).content.decode()
    assert not Invoice.objects.exists()
    assert not InvoiceLine.objects.exists()


def test_delete_refuses_a_stale_copy_and_an_issued_invoice(client_as, office, complete_job):
    draft = draft_for(office, complete_job())
    issued = issued_for(office, complete_job())
    before = snapshot()
    http = client_as(office)
    stale = http.post(url("invoice_delete", draft), {"version": draft.version + 5})
    assert stale.status_code == 409
    assert "changed by someone else meanwhile" in stale.content.decode()
    assert "an issued invoice cannot be edited" in follow(http, http.post(url("invoice_delete", issued), {"version": issued.version}))
    assert snapshot() == before


def test_void_an_unpaid_invoice_with_a_reason(client_as, office, complete_job):
    job = complete_job()
    invoice = issued_for(office, job)
    http = client_as(office)
    confirm = http.get(url("invoice_void", invoice))
    assert confirm.status_code == 200
    assert "Void invoice INV-000001?" in confirm.content.decode()
    missing = http.post(url("invoice_void", invoice), {"version": invoice.version, "reason": ""})
    assert missing.status_code == 422
    assert "This field is required." in missing.content.decode()
    html = follow(http, http.post(url("invoice_void", invoice), {"version": invoice.version, "reason": "Billed to the wrong customer"}))
    assert "Invoice INV-000001 voided." in html
    invoice.refresh_from_db()
    assert (invoice.status, invoice.void_reason) == ("void", "Billed to the wrong customer")
    assert not invoice.lines.filter(live=True).exists()
    job.refresh_from_db()
    assert job.status == JobStatus.WORK_COMPLETE


def test_void_of_a_paid_invoice_shows_the_refusal(client_as, office, complete_job):
    invoice = issued_for(office, complete_job())
    actions.payment_record(actor=office, invoice_id=invoice.pk, amount_cents=1000, method="cash", received_on=timezone.localdate())
    invoice.refresh_from_db()
    http = client_as(office)
    assert http.get(url("invoice", invoice)).context["can_void"] is False
    before = snapshot()
    response = http.post(url("invoice_void", invoice), {"version": invoice.version, "reason": "Oops"})
    assert response.status_code == 409
    assert "INV-000001 has payments: a paid invoice cannot be voided. Issue a credit note (and a refund) instead." in response.content.decode()
    assert snapshot() == before


def test_a_draft_is_not_voided(client_as, office, complete_job):
    draft = draft_for(office, complete_job())
    http = client_as(office)
    assert "A draft is not voided: delete it instead." in follow(http, http.get(url("invoice_void", draft)))
