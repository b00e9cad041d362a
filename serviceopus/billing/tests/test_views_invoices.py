"""Invoice pages: the list (filters, totals, pages), the preview and creating a draft from it, one
invoice's page, and a draft's edits, issuing, deleting and voiding — each refusal shown with nothing
changed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.accounts.roles import CAPABILITIES, Role
from serviceopus.billing import actions
from serviceopus.billing.models import AccountingEntry, Invoice, InvoiceLine, Payment
from serviceopus.jobs.models import BillingType, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def snapshot():  # type: ignore[no-untyped-def]
    """Every row these pages can write: a refused request leaves all of them as they were."""
    return (
        list(Invoice.objects.order_by("pk").values()),
        list(InvoiceLine.objects.order_by("pk").values()),
        list(Payment.objects.order_by("pk").values()),
        AccountingEntry.objects.count(),
        JobEvent.objects.count(),
    )


def draft_for(office, job):  # type: ignore[no-untyped-def]
    return actions.invoice_create(actor=office, job_ids=[job.pk])


def issued_for(office, job):  # type: ignore[no-untyped-def]
    draft = draft_for(office, job)
    return actions.invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version)


def url(name, invoice, **extra):  # type: ignore[no-untyped-def]
    return reverse(f"billing:{name}", kwargs={"invoice_id": invoice.pk, **extra})


# The T&M job of the conftest: service 89.00 (taxed 8.25 %: 7.34), material 2 × 24.50 (taxed: 4.04),
# trip fee 35.00 (untaxed), 90 minutes at 120.00/h = 180.00 (labour untaxed by default).
SUBTOTAL, TAX = 8900 + 4900 + 3500 + 18000, 734 + 404
TOTAL = SUBTOTAL + TAX


# ---- the list ------------------------------------------------------------------------------------------------------


def test_list_shows_invoices_with_status_balance_and_totals(client_as, office, complete_job):
    job = complete_job()
    issued = issued_for(office, job)
    actions.payment_record(actor=office, invoice_id=issued.pk, amount_cents=10000, method="cash", received_on=timezone.localdate())
    other = draft_for(office, complete_job())

    response = client_as(office).get(reverse("billing:invoices"))

    assert response.status_code == 200
    assert [row["invoice"].pk for row in response.context["rows"]] == [other.pk, issued.pk]
    totals = response.context["totals"]
    assert (totals.count, totals.invoiced_cents, totals.outstanding_cents, totals.overdue_cents) == (2, TOTAL, TOTAL - 10000, 0)
    html = response.content.decode()
    assert "INV-000001" in html
    assert f"Draft #{other.pk}" in html
    assert "Partially paid" in html
    assert "$264.38" in html  # the balance: 364.38 − 100.00
    assert reverse("jobs:detail", args=[job.pk]) in html
    assert "/api/v1/accounting/export?format=csv" in html


def test_list_filters_by_status_overdue_customer_kind_and_dates(client_as, office, complete_job):
    acme = CustomerFactory(name="Acme Heating")
    late = issued_for(office, complete_job(customer=acme))
    Invoice.objects.filter(pk=late.pk).update(due_date=timezone.localdate() - timedelta(days=3), issue_date=timezone.localdate() - timedelta(days=33))
    current = issued_for(office, complete_job())
    draft = draft_for(office, complete_job())
    note = actions.credit_note_create(actor=office, invoice_id=current.pk, version=current.version, amounts={current.lines.first().pk: 1000}, reason="Goodwill")
    http = client_as(office)

    def pks(**params):  # type: ignore[no-untyped-def]
        return [row["invoice"].pk for row in http.get(reverse("billing:invoices"), params).context["rows"]]

    assert pks(status="overdue") == [late.pk]
    assert pks(status="open") == [current.pk, late.pk]
    assert pks(status="draft") == [draft.pk]
    assert pks(q="acme") == [late.pk]
    assert pks(q="inv-000002") == [current.pk]
    assert pks(kind="credit_note") == [note.pk]
    assert pks(date_to=(timezone.localdate() - timedelta(days=1)).isoformat()) == [late.pk]
    assert pks(date_from=timezone.localdate().isoformat(), kind="invoice") == [current.pk]
    overdue = http.get(reverse("billing:invoices"), {"status": "overdue"})
    assert overdue.context["totals"].overdue_cents == TOTAL
    assert overdue.context["totals"].overdue_count == 1
    assert "Overdue" in overdue.content.decode()
    # Invalid parameters are ignored rather than failing; a filter matching nothing says so.
    assert len(pks(status="bogus", date_from="not a date")) == 4
    assert "No invoices match these filters." in http.get(reverse("billing:invoices"), {"q": "nobody"}).content.decode()


def test_list_empty_state_and_htmx_fragment(client_as, office):
    http = client_as(office)
    assert "No invoices yet" in http.get(reverse("billing:invoices")).content.decode()
    fragment = http.get(reverse("billing:invoices"), headers={"HX-Request": "true", "HX-Target": "invoice-results"})
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="invoice-results">')
    assert "<html" not in html


def test_list_pages_with_a_cursor(client_as, office, complete_job, monkeypatch):
    from serviceopus.billing import queries

    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    created = [draft_for(office, complete_job()).pk for _ in range(3)]
    http = client_as(office)
    first = http.get(reverse("billing:invoices"))
    assert [r["invoice"].pk for r in first.context["rows"]] == created[::-1][:2]
    cursor = first.context["page"].next_cursor
    second = http.get(reverse("billing:invoices"), {"cursor": cursor})
    assert [r["invoice"].pk for r in second.context["rows"]] == [created[0]]
    assert second.context["page"].next_cursor is None
    bad = http.get(reverse("billing:invoices"), {"cursor": "garbage!"})
    assert bad.status_code == 400
    assert "This page link is no longer valid." in bad.content.decode()


def test_list_query_count_does_not_grow(client_as, office, complete_job, django_assert_max_num_queries):
    http = client_as(office)
    for _ in range(3):
        issued_for(office, complete_job())
    http.get(reverse("billing:invoices"))
    with django_assert_max_num_queries(5) as few:
        assert len(http.get(reverse("billing:invoices")).context["rows"]) == 3
    for _ in range(7):
        issued_for(office, complete_job())
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(http.get(reverse("billing:invoices")).context["rows"]) == 10


@pytest.mark.parametrize("persona", ["dispatcher", "tech_a"])
def test_billing_pages_are_the_offices(persona, request, client_as, office, complete_job):
    user = request.getfixturevalue(persona)
    user = getattr(user, "user", user)
    invoice = draft_for(office, complete_job())
    http = client_as(user)
    before = snapshot()
    for target in (reverse("billing:invoices"), reverse("billing:ready"), url("invoice", invoice), f"{reverse('billing:invoice_new')}?job=1"):
        assert http.get(target).status_code == 403
    assert http.post(url("invoice_issue", invoice), {"version": invoice.version}).status_code == 403
    assert http.post(url("invoice_delete", invoice), {"version": invoice.version}).status_code == 403
    assert snapshot() == before


def test_nav_shows_invoices_to_the_office_only(client_as, office, dispatcher):
    assert ">Invoices</a>" in client_as(office).get(reverse("jobs:dashboard")).content.decode()
    assert ">Invoices</a>" not in client_as(dispatcher).get(reverse("jobs:dashboard")).content.decode()


# ---- preview and create ---------------------------------------------------------------------------------------------


def test_preview_shows_lines_by_job_taxes_and_totals(client_as, office, complete_job):
    job = complete_job()
    response = client_as(office).get(reverse("billing:invoice_new"), {"job": job.pk})
    assert response.status_code == 200
    result = response.context["result"]
    assert (result.subtotal_cents, result.tax_cents, result.total_cents) == (SUBTOTAL, TAX, TOTAL)
    assert response.context["can_create"] is True
    html = response.content.decode()
    assert "Diagnostic visit" in html
    assert "Run capacitor" in html
    assert "Trip fee" in html
    assert "Labour — Alex Tech" in html
    assert "$364.38" in html
    assert "Create draft invoice" in html
    assert Invoice.objects.count() == 0


def test_preview_shows_covered_lines_struck_through_and_the_not_to_exceed_overage(client_as, office, complete_job):
    agreement = complete_job(BillingType.AGREEMENT)
    html = client_as(office).get(reverse("billing:invoice_new"), {"job": agreement.pk}).content.decode()
    assert 'class="list-amount"' in html
    assert "$89.00" in html
    assert "covered" in html

    capped = complete_job(BillingType.NOT_TO_EXCEED, nte=20000)
    response = client_as(office).get(reverse("billing:invoice_new"), {"job": capped.pk})
    [billing] = response.context["result"].jobs
    assert billing.overage_cents == SUBTOTAL - 20000
    assert response.context["result"].subtotal_cents == 20000
    assert "over by <strong>$153.00</strong>" in response.content.decode()


def test_create_a_draft_from_the_preview(client_as, office, complete_job):
    job = complete_job()
    http = client_as(office)
    response = http.post(reverse("billing:invoice_new"), {"job": [job.pk], "memo": "Thanks for your business"})
    invoice = Invoice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("invoice", invoice)
    assert (invoice.status, invoice.total_cents, invoice.memo, invoice.number) == ("draft", TOTAL, "Thanks for your business", None)
    assert list(invoice.jobs.all()) == [job]
    page = http.get(response["Location"]).content.decode()
    assert f"Draft invoice #{invoice.pk} created: $364.38. Check it, then issue it." in page


def test_preview_and_create_refuse_jobs_of_different_customers(client_as, office, complete_job):
    one, two = complete_job(), complete_job()
    http = client_as(office)
    preview = http.get(reverse("billing:invoice_new"), {"job": [one.pk, two.pk]})
    assert preview.context["can_create"] is False
    assert "these jobs belong to different customers" in preview.content.decode()
    before = snapshot()
    refused = http.post(reverse("billing:invoice_new"), {"job": [one.pk, two.pk]})
    assert refused.status_code == 422
    assert "Nothing was created." in refused.content.decode()
    assert "One invoice is for one customer: these jobs belong to different customers." in refused.content.decode()
    assert snapshot() == before


def test_create_refuses_work_already_invoiced_and_jobs_not_invoiceable(client_as, office, complete_job):
    job = complete_job()
    draft = draft_for(office, job)
    scheduled = complete_job(status=JobStatus.SCHEDULED)
    http = client_as(office)
    before = snapshot()

    again = http.post(reverse("billing:invoice_new"), {"job": [job.pk]})
    assert again.status_code == 409
    html = again.content.decode()
    assert f"Nothing left to invoice on {job.number}" in html
    assert f"draft invoice #{draft.pk}" in html

    early = http.post(reverse("billing:invoice_new"), {"job": [scheduled.pk]})
    assert early.status_code == 409
    assert f"{scheduled.number} is scheduled: only work in progress or complete can be invoiced." in early.content.decode()
    assert snapshot() == before


def test_preview_without_jobs_and_with_bad_ids(client_as, office):
    http = client_as(office)
    empty = http.get(reverse("billing:invoice_new"))
    assert empty.status_code == 200
    assert "No jobs chosen" in empty.content.decode()
    bad = http.get(reverse("billing:invoice_new"), {"job": "abc"})
    assert bad.status_code == 422
    assert "No jobs chosen" in bad.content.decode()
    gone = http.get(reverse("billing:invoice_new"), {"job": 999999})
    assert "One of these jobs no longer exists." in gone.content.decode()


def test_creating_needs_the_invoice_permission(client_as, manager, complete_job, monkeypatch):
    job = complete_job()
    monkeypatch.setitem(CAPABILITIES, Role.MANAGER, frozenset(CAPABILITIES[Role.MANAGER] - {"billing.invoice"}))
    http = client_as(manager)
    assert http.get(reverse("billing:invoice_new"), {"job": job.pk}).context["can_create"] is False
    assert http.post(reverse("billing:invoice_new"), {"job": [job.pk]}).status_code == 403
    assert Invoice.objects.count() == 0
