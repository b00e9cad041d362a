"""The invoice PDF: what it says (read back with pdftotext), for an issued, a paid, a draft, a void invoice
and a credit note, and who may download it."""

import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.billing import actions
from serviceopus.billing.models import BillingSettings, Invoice
from serviceopus.billing.pdf import invoice_pdf, invoice_pdf_context, pdf_filename
from serviceopus.jobs.models import BillingType, LineItem
from tests.factories import LineItemFactory

# complete_job(): 89.00 + 49.00 (taxed at 8.25 %: 7.34 + 4.04) + 35.00 + 90 minutes at 120.00 = 353.00 + 11.38.
SUBTOTAL, TAX, TOTAL = 35300, 1138, 36438

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) reads the PDFs back")


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    # -raw keeps the order the text was laid down in: the watermark first, then the page top to bottom.
    done = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode()


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def company(db):  # type: ignore[no-untyped-def]
    settings = BillingSettings.current()
    settings.company_name = "Prairie Comfort HVAC"
    settings.company_address = "410 W Lake St\nChicago, IL 60606"
    settings.company_email = "billing@prairie.example"
    settings.company_phone = "(312) 555-0142"
    settings.tax_id = "36-1234567"
    settings.payment_instructions = "Pay by check to Prairie Comfort HVAC, or by bank transfer to account 000123456."
    settings.save()
    return settings


def _issued(owner, job):  # type: ignore[no-untyped-def]
    invoice = actions.invoice_create(actor=owner, job_ids=[job.pk])
    return actions.invoice_issue(actor=owner, invoice_id=invoice.pk, version=invoice.version)


def test_issued_invoice(complete_job, owner, company):
    job = complete_job()
    invoice = _issued(owner, job)
    assert (invoice.number, invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == ("INV-000001", SUBTOTAL, TAX, TOTAL)
    text = squash(text_of(invoice_pdf(invoice)))
    for expected in (
        "Prairie Comfort HVAC",
        "410 W Lake St",
        "billing@prairie.example",
        "(312) 555-0142",
        "Tax ID 36-1234567",
        "INVOICE",
        "INV-000001",
        job.customer.name,
        job.location.street,
        f"Job: {job.number}",
        f"Date: {invoice.issue_date:%b} {invoice.issue_date.day}, {invoice.issue_date.year}",
        f"Due: {invoice.due_date:%b} {invoice.due_date.day}, {invoice.due_date.year}",
        "Diagnostic visit",
        "Run capacitor",
        "2 $24.50 8.25 % $49.00",
        "Trip fee",
        "Subtotal $353.00",
        "State sales tax 8.25 % $138.00 $11.38",  # the tax summary: base and tax of the rate
        "Total $364.38",
        "Balance due $364.38",
        "due within 30 days",
        "Please quote INV-000001 with your payment",
        "or by bank transfer to account 000123456",
        "Page 1 of 1",
    ):
        assert expected in text, expected
    assert text.startswith("Prairie Comfort HVAC ")  # no watermark


def test_partly_paid_and_credited_invoice_shows_the_balance(complete_job, owner, company):
    invoice = _issued(owner, complete_job())
    actions.payment_record(actor=owner, invoice_id=invoice.pk, amount_cents=10000, method="check", received_on=timezone.localdate(), reference="1042", note="")
    invoice.refresh_from_db()
    fee = invoice.lines.get(description="Trip fee")
    actions.credit_note_create(actor=owner, invoice_id=invoice.pk, version=invoice.version, amounts={fee.pk: 3500}, reason="Trip fee waived")
    invoice.refresh_from_db()
    assert invoice.balance_cents == TOTAL - 10000 - 3500
    text = squash(text_of(invoice_pdf(invoice)))
    assert "Total $364.38 Paid −$100.00 Credited −$35.00 Balance due $229.38" in text


def test_paid_invoice_says_so(complete_job, owner, company):
    invoice = _issued(owner, complete_job())
    actions.payment_record(actor=owner, invoice_id=invoice.pk, amount_cents=TOTAL, method="card", received_on=timezone.localdate(), reference="", note="")
    invoice.refresh_from_db()
    text = squash(text_of(invoice_pdf(invoice)))
    assert "Paid — thank you" in text
    assert "Paid in full. Thank you." in text
    assert "Balance due $0.00" in text


def test_draft_is_marked_and_shows_whom_it_will_bill(complete_job, owner, company):
    job = complete_job()
    invoice = actions.invoice_create(actor=owner, job_ids=[job.pk])
    assert invoice.bill_to == ""
    text = squash(text_of(invoice_pdf(invoice)))
    assert text.startswith("DRAFT Prairie Comfort HVAC ")  # the watermark, on every page
    assert f"INVOICE DRAFT #{invoice.pk} Draft Draft — not issued yet." in text
    assert f"BILL TO {job.customer.name} {job.location.street}" in text
    assert "Invoice no.: not issued yet Date: — Due: 30 days after issue" in text
    assert "BALANCE DUE $364.38 When issued" in text
    assert "Total $364.38 PAYMENT Terms: due within 30 days. Please quote the invoice number with your payment." in text
    assert pdf_filename(invoice) == f"draft-{invoice.pk}.pdf"


def test_void_invoice_is_marked(complete_job, owner, company):
    invoice = _issued(owner, complete_job())
    invoice = actions.invoice_void(actor=owner, invoice_id=invoice.pk, version=invoice.version, reason="Billed to the wrong customer")
    text = squash(text_of(invoice_pdf(invoice)))
    assert text.startswith("VOID Prairie Comfort HVAC ")
    assert f"Void since {invoice.voided_at:%b} {invoice.voided_at.day}, {invoice.voided_at.year} — nothing is owed on this invoice." in text
    assert "Reason: Billed to the wrong customer" in text
    assert "BALANCE DUE $0.00 Void" in text
    assert "Please quote" not in text


def test_credit_note(complete_job, owner, company):
    invoice = _issued(owner, complete_job())
    service = invoice.lines.get(description="Diagnostic visit")
    note = actions.credit_note_create(actor=owner, invoice_id=invoice.pk, version=invoice.version, amounts={service.pk: 8900}, reason="Diagnostic free")
    note = Invoice.objects.select_related("customer", "credits").get(pk=note.pk)
    text = squash(text_of(invoice_pdf(note)))
    assert "CREDIT NOTE" in text
    assert "CN-000001" in text
    assert "Credits invoice: INV-000001" in text
    # Stored negative, shown as what is credited.
    assert "Credit: Diagnostic visit" in text
    assert "$89.00" in text
    assert "-$89.00" not in text
    assert "Total credit $96.34" in text  # 89.00 + its 7.34 tax
    assert "REASON Diagnostic free" in text
    assert pdf_filename(note) == "CN-000001.pdf"


def test_covered_lines_show_their_list_amount(complete_job, owner, company):
    invoice = _issued(owner, complete_job(BillingType.AGREEMENT))
    text = squash(text_of(invoice_pdf(invoice)))
    assert "Diagnostic visit (covered by agreement)" in text
    assert "$0.00 covered · list $89.00" in text
    assert "$0.00 covered · list $180.00" in text  # the 90 minutes of labour


def test_many_lines_run_onto_more_pages(complete_job, owner, company):
    job = complete_job()
    for i in range(60):
        LineItemFactory(job=job, kind=LineItem.Kind.MATERIAL, description=f"Fitting {i:02d}", quantity=Decimal("1"), unit_price_cents=100, position=10 + i)
    invoice = _issued(owner, job)
    text = text_of(invoice_pdf(invoice))
    pages = re.findall(r"Page (\d+) of (\d+)", text)
    assert len(pages) > 1
    assert pages == [(str(n), str(len(pages))) for n in range(1, len(pages) + 1)]
    assert text.count("Prairie Comfort HVAC Invoice INV-000001") == len(pages) - 1  # the running header, from page 2 on
    assert "Fitting 59" in text
    assert "Total $" in text.split("Fitting 59")[1]


def test_text_is_text_not_markup(complete_job, owner, company):
    job = complete_job()
    invoice = actions.invoice_create(actor=owner, job_ids=[job.pk], memo='<img src="http://example.invalid/x.png"> Thanks & see you')
    text = squash(text_of(invoice_pdf(invoice)))
    assert '<img src="http://example.invalid/x.png"> Thanks & see you' in text


def test_context_reads_a_fixed_number_of_queries(complete_job, owner, company, django_assert_num_queries):
    job = complete_job()
    invoice = Invoice.objects.select_related("customer", "credits").get(pk=_issued(owner, job).pk)
    with django_assert_num_queries(3):  # settings, lines, job numbers
        invoice_pdf_context(invoice)


# ---- the download ----------------------------------------------------------------------------------------


def test_download(complete_job, owner, office, client_as, company):
    invoice = _issued(owner, complete_job())
    response = client_as(office).get(reverse("finance:invoice_pdf", args=[invoice.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="INV-000001.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert "INV-000001" in text_of(response.content)
    response = client_as(office).get(reverse("finance:invoice_pdf", args=[invoice.pk]) + "?download=1")
    assert response["Content-Disposition"] == 'attachment; filename="INV-000001.pdf"'


def test_draft_download_name(complete_job, owner, manager, client_as):
    invoice = actions.invoice_create(actor=owner, job_ids=[complete_job().pk])
    response = client_as(manager).get(reverse("finance:invoice_pdf", args=[invoice.pk]))
    assert response["Content-Disposition"] == f'inline; filename="draft-{invoice.pk}.pdf"'


@pytest.mark.parametrize("persona", ["dispatcher", "tech"])
def test_who_may_not_see_billing_gets_404(complete_job, owner, dispatcher, tech_a, client_as, persona):
    invoice = _issued(owner, complete_job())
    user = dispatcher if persona == "dispatcher" else tech_a.user  # Alex worked on this very job
    assert client_as(user).get(reverse("finance:invoice_pdf", args=[invoice.pk])).status_code == 404


def test_unknown_invoice_is_404_and_anonymous_is_sent_to_sign_in(owner, client_as, client):
    assert client_as(owner).get(reverse("finance:invoice_pdf", args=[999999])).status_code == 404
    response = client.get(reverse("finance:invoice_pdf", args=[1]))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_post_is_refused(complete_job, owner, client_as):
    invoice = _issued(owner, complete_job())
    assert client_as(owner).post(reverse("finance:invoice_pdf", args=[invoice.pk])).status_code == 405
