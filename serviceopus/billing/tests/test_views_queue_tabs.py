"""The ready-to-invoice queue, and the job workspace's Invoices and Payments tabs: what they list,
who sees them, and a fixed number of queries whatever the number of rows."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.billing import actions
from serviceopus.jobs.models import BillingType, Job, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory, LineItemFactory

from .conftest import approved_time
from .test_views_invoices import TOTAL, draft_for, issued_for

pytestmark = pytest.mark.django_db


def queue_ids(http, **params):  # type: ignore[no-untyped-def]
    return [job.pk for job in http.get(reverse("billing:ready"), params).context["page"].rows]


def tab(http, job, name):  # type: ignore[no-untyped-def]
    return http.get(reverse("jobs:tab", args=[job.pk, name]))


# ---- the queue ------------------------------------------------------------------------------------------------------


def test_queue_lists_complete_jobs_with_work_to_invoice_or_a_draft(client_as, office, complete_job, tech_a):
    waiting = complete_job()
    drafted = complete_job()
    draft = draft_for(office, drafted)
    done = complete_job()
    issued_for(office, done)  # all its work invoiced: the job moves on to invoiced
    running = complete_job(status=JobStatus.IN_PROGRESS)
    time_only = JobFactory(status=JobStatus.WORK_COMPLETE, billing_type=BillingType.TIME_AND_MATERIALS)
    approved_time(time_only, tech_a, 30)
    fixed_time_only = JobFactory(status=JobStatus.WORK_COMPLETE, billing_type=BillingType.FIXED_PRICE)
    approved_time(fixed_time_only, tech_a, 30)
    nothing = JobFactory(status=JobStatus.WORK_COMPLETE)

    http = client_as(office)
    response = http.get(reverse("billing:ready"))
    assert response.status_code == 200
    assert [job.pk for job in response.context["page"].rows] == [waiting.pk, drafted.pk, time_only.pk]
    html = response.content.decode()
    assert f'href="{reverse("billing:invoice", args=[draft.pk])}">Draft invoice #{draft.pk}</a>' in html
    assert f'name="job" value="{waiting.pk}"' in html
    assert f'name="job" value="{drafted.pk}"' not in html
    assert "Preview invoice" in html
    for absent in (done, running, fixed_time_only, nothing):
        assert absent.number not in html


def test_queue_empty_state_and_pages(client_as, office, complete_job, monkeypatch):
    from serviceopus.billing import queries

    http = client_as(office)
    assert "Nothing waiting to be invoiced" in http.get(reverse("billing:ready")).content.decode()
    monkeypatch.setattr(queries, "QUEUE_PAGE_SIZE", 2)
    jobs = [complete_job().pk for _ in range(3)]
    first = http.get(reverse("billing:ready"))
    assert [j.pk for j in first.context["page"].rows] == jobs[:2]
    assert queue_ids(http, cursor=first.context["page"].next_cursor) == jobs[2:]
    assert http.get(reverse("billing:ready"), {"cursor": "nope"}).status_code == 400


def test_queue_ticked_jobs_go_to_the_preview(client_as, office, complete_job):
    customer = CustomerFactory()
    one, two = complete_job(customer=customer), complete_job(customer=customer)
    response = client_as(office).get(reverse("billing:invoice_new"), {"job": [one.pk, two.pk]})
    assert response.context["can_create"] is True
    assert response.context["result"].total_cents == 2 * TOTAL
    assert [jb.job.pk for jb in response.context["result"].jobs] == [one.pk, two.pk]


@pytest.mark.parametrize("count", [3, 10])
def test_queue_query_count_is_fixed(count, client_as, office, complete_job, django_assert_max_num_queries):
    for _ in range(count):
        draft_for(office, complete_job())
    http = client_as(office)
    http.get(reverse("billing:ready"))
    with django_assert_max_num_queries(4):
        assert len(http.get(reverse("billing:ready")).context["page"].rows) == count


# ---- the Invoices tab -----------------------------------------------------------------------------------------------


def test_invoices_tab_lists_invoices_and_what_is_still_to_invoice(client_as, office, complete_job):
    job = complete_job()
    http = client_as(office)
    before = tab(http, job, "invoices")
    assert before.status_code == 200
    html = before.content.decode()
    assert "Still to invoice" in html
    assert "4 lines not on an invoice" in html
    assert "$364.38" in html
    assert f'href="{reverse("billing:invoice_new")}?job={job.pk}"' in html
    assert "No invoices yet" in html

    invoice = issued_for(office, job)
    LineItemFactory(job=job, kind=LineItem.Kind.FEE, description="Disposal", quantity=Decimal(1), unit_price_cents=2000, taxable=False)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.WORK_COMPLETE)
    after = tab(http, job, "invoices")
    ctx = after.context
    assert [inv.pk for inv in ctx["billing_invoices"]] == [invoice.pk]
    assert ctx["billing_preview"].total_cents == 2000
    html = after.content.decode()
    assert "INV-000001" in html
    assert "1 line not on an invoice" in html
    assert "$20.00" in html


def test_invoices_tab_on_a_job_not_yet_started_has_no_preview_button(client_as, office, complete_job):
    job = complete_job(status=JobStatus.SCHEDULED)
    response = tab(client_as(office), job, "invoices")
    assert response.context["billing_preview"] is None
    assert response.context["billing_can_invoice"] is False
    assert "Work can be invoiced once it is in progress or complete." in response.content.decode()


@pytest.mark.parametrize("persona", ["dispatcher", "tech_a"])
@pytest.mark.parametrize("name", ["invoices", "payments"])
def test_tabs_say_billing_is_the_offices(name, persona, request, client_as, office, complete_job):
    user = request.getfixturevalue(persona)
    job = complete_job()  # tech_a is on its crew
    issued_for(office, job)
    response = tab(client_as(getattr(user, "user", user)), job, name)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Billing is visible to office and managers" in html
    assert "INV-000001" not in html
    assert "$364.38" not in html
    assert "billing_invoices" not in response.context
    assert "billing_payments" not in response.context


@pytest.mark.parametrize("count", [3, 10])
def test_invoices_tab_query_count_is_fixed(count, client_as, office, complete_job, django_assert_max_num_queries):
    job = complete_job()
    draft_for(office, job)
    for n in range(count - 1):
        LineItemFactory(job=job, kind=LineItem.Kind.FEE, description=f"Extra {n}", quantity=Decimal(1), unit_price_cents=100)
        draft_for(office, job)
    LineItemFactory(job=job, kind=LineItem.Kind.FEE, description="Still open", quantity=Decimal(1), unit_price_cents=100)
    http = client_as(office)
    tab(http, job, "invoices")
    with django_assert_max_num_queries(14):
        response = tab(http, job, "invoices")
    assert len(response.context["billing_invoices"]) == count


# ---- the Payments tab -------------------------------------------------------------------------------------------------


def test_payments_tab_lists_payments_refunds_and_the_balance(client_as, office, complete_job):
    job = complete_job()
    http = client_as(office)
    assert "Once an invoice is issued for this job" in tab(http, job, "payments").content.decode()
    invoice = issued_for(office, job)
    today = timezone.localdate()
    actions.payment_record(actor=office, invoice_id=invoice.pk, amount_cents=10000, method="check", received_on=today, reference="1042")
    actions.refund_record(actor=office, invoice_id=invoice.pk, amount_cents=2500, method="check", received_on=today, note="Goodwill")
    response = tab(http, job, "payments")
    ctx = response.context
    assert [(p.kind, p.amount_cents) for p in ctx["billing_payments"]] == [("refund", 2500), ("payment", 10000)]
    assert ctx["billing_totals"] == {"invoiced": TOTAL, "paid": 7500, "credited": 0, "balance": TOTAL - 7500}
    html = response.content.decode()
    assert "1042" in html
    assert "Goodwill" in html
    assert "$289.38" in html
    assert f'href="{reverse("billing:payment_record", args=[invoice.pk])}"' in html


@pytest.mark.parametrize("count", [3, 10])
def test_payments_tab_query_count_is_fixed(count, client_as, office, complete_job, django_assert_max_num_queries):
    job = complete_job()
    invoice = issued_for(office, job)
    for _ in range(count):
        actions.payment_record(actor=office, invoice_id=invoice.pk, amount_cents=100, method="cash", received_on=timezone.localdate())
    http = client_as(office)
    tab(http, job, "payments")
    with django_assert_max_num_queries(10):
        response = tab(http, job, "payments")
    assert len(response.context["billing_payments"]) == count
