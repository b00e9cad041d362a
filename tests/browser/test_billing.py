"""Billing through the office's pages: a completed job's Invoices tab → the invoice preview → a draft →
issued → its PDF downloads → a partial payment → the rest → the job is closed. Along the way the
ready-to-invoice queue, the invoices list and the job's Payments tab show what happened.

Screenshots of each page go to test-artifacts/screenshots/<database>/, and to BILLING_SHOTS (a folder
outside the tree) when that variable is set."""

import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, expect

from serviceopus.billing.models import BillingSettings, Invoice, LabourRate, Payment, TaxRate
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import BillingType, Job, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory, JobTypeFactory, LineItemFactory, LocationFactory


def completed_job(tech, customer_name: str, job_type) -> Job:  # type: ignore[no-untyped-def]
    """A time & materials repair at work complete: a diagnostic, a part, a trip fee and 90 minutes of
    approved work at 120.00/h, with 8.25 % sales tax on the taxable lines."""
    customer = CustomerFactory(name=customer_name)
    job = JobFactory(
        customer=customer,
        location=LocationFactory(customer=customer),
        job_type=job_type,
        status=JobStatus.WORK_COMPLETE,
        billing_type=BillingType.TIME_AND_MATERIALS,
        technicians=[tech],
        completed_at=timezone.now(),
    )
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Diagnostic visit", quantity=Decimal(1), unit_price_cents=8900, position=1)
    LineItemFactory(job=job, kind=LineItem.Kind.MATERIAL, description="Run capacitor", quantity=Decimal(2), unit_price_cents=2450, position=2)
    LineItemFactory(job=job, kind=LineItem.Kind.FEE, description="Trip fee", quantity=Decimal(1), unit_price_cents=3500, taxable=False, position=3)
    start = timezone.now().replace(microsecond=0) - timedelta(days=1)
    TimeEntry.objects.create(
        job=job, technician=tech, kind=TimeEntry.Kind.WORK, start=start, end=start + timedelta(minutes=90), review=TimeEntry.Review.APPROVED
    )
    return job


def billing_setup() -> None:
    settings = BillingSettings.current()
    settings.default_tax_rate = TaxRate.objects.create(name="State sales tax", rate_milli_percent=8250)
    settings.payment_instructions = "Pay by check to Service Opus Demo Co."
    settings.save()
    LabourRate.objects.create(billing_type=BillingType.TIME_AND_MATERIALS, hourly_rate_cents=12000)


def snap(page: Page, name: str) -> None:
    folder = Path(os.environ["BILLING_SHOTS"]) if os.environ.get("BILLING_SHOTS") else None
    page.evaluate("window.scrollTo(0, 0)")
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{connection.vendor}-{name}.png"), full_page=True)


def pay(page: Page, amount: str | None, *, method: str) -> None:
    form = page.locator("#record-payment form")
    if amount is not None:
        form.get_by_label("Amount ($)").fill(amount)
    form.get_by_label("Method").select_option(method)
    form.get_by_role("button", name="Record payment").click()


def test_invoice_a_completed_job_and_get_paid(login_as, shot, office, tech_a, tmp_path):
    billing_setup()
    repair = JobTypeFactory(name="AC repair")
    job = completed_job(tech_a, "Harbor Bakery", repair)
    other = completed_job(tech_a, "Linden School", repair)
    page = login_as(office)

    # The queue shows both jobs; the Invoices tab of one says what is still to invoice.
    page.goto("/billing/ready/")
    expect(page.get_by_role("heading", name="Ready to invoice")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(job.number))).to_contain_text("Harbor Bakery")
    expect(page.get_by_role("row", name=re.compile(other.number))).to_contain_text("Linden School")
    snap(page, "queue")

    page.goto(f"/jobs/{job.pk}/tab/invoices/")
    expect(page.locator("[data-testid=to-invoice-total]")).to_have_text("$364.38")
    snap(page, "tab-invoices-before")
    page.get_by_role("link", name="Preview invoice").first.click()

    # The preview: the lines the invoice would get, taxes and the total. Nothing is saved yet.
    expect(page.get_by_role("heading", name="Preview invoice")).to_be_visible()
    expect(page.locator("[data-testid=preview-total]")).to_have_text("$364.38")
    expect(page.get_by_text("Labour — Alex Tech")).to_be_visible()
    snap(page, "preview")
    shot(page, "preview")
    assert not Invoice.objects.exists()
    page.get_by_label("Memo (printed on the invoice)").fill("Thank you for your business.")
    page.get_by_role("button", name="Create draft invoice").click()

    # The draft: check it, add nothing, issue it (the page asks first).
    expect(page.get_by_role("heading", name=re.compile(r"Draft invoice #\d+"))).to_be_visible()
    expect(page.get_by_text("Check it, then issue it.")).to_be_visible()
    snap(page, "detail-draft")
    shot(page, "draft")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_role("heading", name=re.compile("INV-000001"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Invoice INV-000001 issued: \$364\.38, due"))).to_be_visible()
    invoice = Invoice.objects.get(number="INV-000001")
    job.refresh_from_db()
    assert job.status == JobStatus.INVOICED

    # The PDF downloads.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")
    assert target.suffix == ".pdf"

    # A partial payment, then the rest (the form offers the balance).
    pay(page, "100.00", method="check")
    expect(page.get_by_text("Payment of $100.00 recorded on INV-000001. Balance $264.38.")).to_be_visible()
    expect(page.locator("[data-testid=balance]")).to_have_text("$264.38")
    snap(page, "detail-partially-paid")
    shot(page, "partially-paid")
    expect(page.locator("#record-payment").get_by_label("Amount ($)")).to_have_value("264.38")
    pay(page, None, method="card")
    expect(page.get_by_text(f"The invoice is paid in full. {job.number} is now closed.")).to_be_visible()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_cents, invoice.balance_cents) == ("paid", 36438, 0)
    assert list(Payment.objects.filter(invoice=invoice).order_by("id").values_list("amount_cents", "method")) == [(10000, "check"), (26438, "card")]

    # The job shows Closed, its Payments tab both payments and a zero balance.
    page.goto(f"/jobs/{job.pk}/tab/payments/")
    expect(page.locator(".status-card .badge-status")).to_have_text("Closed")
    expect(page.locator("[data-testid=job-balance]")).to_have_text("$0.00")
    expect(page.get_by_role("row", name=re.compile(r"Check.*\$100\.00"))).to_be_visible()
    snap(page, "tab-payments")
    page.locator("nav.ws-tabs").get_by_role("link", name="Invoices", exact=True).click()
    expect(page.locator("#billing-invoices-tab")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("INV-000001"))).to_contain_text("Paid")
    snap(page, "tab-invoices-after")
    job.refresh_from_db()
    assert job.status == JobStatus.CLOSED

    # The invoices list: the paid invoice, and nothing outstanding.
    page.goto("/invoices/")
    expect(page.get_by_role("row", name=re.compile("INV-000001"))).to_contain_text("Harbor Bakery")
    expect(page.locator("[data-testid=outstanding]")).to_have_text("$0.00")
    snap(page, "list")
    shot(page, "list")


def test_invoices_list_filters_as_you_type(login_as, office, tech_a):
    """Several customers' invoices: an overdue one, a credit note, a draft. Typing a customer's name
    narrows the list in place (HTMX) and the totals follow; the URL keeps the filter."""
    from serviceopus.billing import actions

    billing_setup()
    repair = JobTypeFactory(name="AC repair")
    names = ["Harbor Bakery", "Linden School", "Maple Dental"]
    invoices = []
    for name in names:
        draft = actions.invoice_create(actor=office, job_ids=[completed_job(tech_a, name, repair).pk])
        invoices.append(actions.invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version))
    late = invoices[0]
    Invoice.objects.filter(pk=late.pk).update(due_date=timezone.localdate() - timedelta(days=12))
    service = invoices[1].lines.get(description="Diagnostic visit")
    actions.credit_note_create(actor=office, invoice_id=invoices[1].pk, version=invoices[1].version, amounts={service.pk: 8900}, reason="Diagnostic waived")
    actions.invoice_create(actor=office, job_ids=[completed_job(tech_a, "Oak Pharmacy", repair).pk])

    page = login_as(office)
    page.goto("/invoices/")
    rows = page.locator("#invoice-results tbody tr")
    expect(rows).to_have_count(5)
    expect(page.get_by_role("row", name=re.compile("INV-000001"))).to_contain_text("Overdue")
    expect(page.locator("[data-testid=outstanding]")).to_have_text("$996.80")  # 3 × 364.38 − 96.34 credited
    snap(page, "list-all")

    page.get_by_label("Customer or number").fill("harbor")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Harbor Bakery")
    expect(page.locator("[data-testid=outstanding]")).to_have_text("$364.38")
    expect(page).to_have_url(re.compile(r"q=harbor"))

    page.get_by_label("Customer or number").fill("")
    page.get_by_label("Status").select_option("overdue")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("INV-000001")
    page.get_by_label("Status").select_option("")
    page.get_by_label("Kind").select_option("credit_note")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("CN-000001")

    # The credit note form offers what is left on each line; the void page asks for a reason.
    page.goto(f"/invoices/{invoices[2].pk}/credit-note/")
    expect(page.get_by_label("Credit on “Diagnostic visit”")).to_have_value("89.00")
    snap(page, "credit-note-form")
    page.goto(f"/invoices/{invoices[2].pk}/void/")
    expect(page.get_by_role("heading", name="Void invoice INV-000003?")).to_be_visible()
    snap(page, "void-confirm")
