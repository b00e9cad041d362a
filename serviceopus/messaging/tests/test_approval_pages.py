"""Approval requests, the office's pages: who may use them, the form (filled rows sent, blank ones
skipped, field errors sending nothing), the request page with the decision and the signature, and the
Messages tab's section — each in a fixed number of queries."""

import base64

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging import links
from serviceopus.messaging.actions.approvals import (
    approval_decline,
)
from serviceopus.messaging.models import ApprovalRequest, OutboxMessage
from serviceopus.messaging.views.approvals import approvals_section

from .approval_support import approve, ask, state

pytestmark = pytest.mark.django_db

S = ApprovalRequest.Status


# ---- the office's pages ------------------------------------------------------------------------------


def _new_url(job: Job) -> str:
    return reverse("messaging:approval_new", args=[job.pk])


def _detail_url(approval: ApprovalRequest) -> str:
    return reverse("messaging:approval", args=[approval.job_id, approval.pk])


def _form_data(rows: list[dict[str, str]], **header: str) -> dict[str, str]:
    data = {"kind": "added_work", "title": "Add a humidifier", "message": "", "lines-TOTAL_FORMS": "10", "lines-INITIAL_FORMS": "0"}
    data["lines-MIN_NUM_FORMS"], data["lines-MAX_NUM_FORMS"] = "0", "10"
    for i in range(10):
        row = rows[i] if i < len(rows) else {}
        data[f"lines-{i}-kind"] = row.get("kind", "service")
        data[f"lines-{i}-description"] = row.get("description", "")
        data[f"lines-{i}-quantity"] = row.get("quantity", "1")
        data[f"lines-{i}-unit_price"] = row.get("unit_price", "")
    data.update(header)
    return data


@pytest.mark.parametrize("role", ["owner", "manager", "dispatcher", "office"])
def test_the_office_roles_open_the_pages(request, client_as, job, office, role):
    approval = ask(office, job)
    user = request.getfixturevalue(role)

    assert client_as(user).get(_new_url(job)).status_code == 200
    assert client_as(user).get(_detail_url(approval)).status_code == 200


def test_a_technician_gets_403_on_their_own_job_and_404_on_another(client_as, job, other_job, office, tech_a):
    own, other = ask(office, job), ask(office, other_job)
    client = client_as(tech_a.user)
    before = state()

    assert client.get(_new_url(job)).status_code == 403
    assert client.get(_detail_url(own)).status_code == 403
    assert client.post(_new_url(job), _form_data([{"description": "Free", "unit_price": "0"}])).status_code == 403
    assert client.post(reverse("messaging:approval_withdraw", args=[job.pk, own.pk])).status_code == 403
    assert client.post(_detail_url(own)).status_code == 403
    assert client.get(_new_url(other_job)).status_code == 404
    assert client.get(_detail_url(other)).status_code == 404
    assert client.post(reverse("messaging:approval_withdraw", args=[other_job.pk, other.pk])).status_code == 404
    assert state() == before


def test_a_request_of_another_job_is_not_found_under_this_one(client_as, job, other_job, office):
    other = ask(office, other_job)
    before = state()

    assert client_as(office).get(reverse("messaging:approval", args=[job.pk, other.pk])).status_code == 404
    assert client_as(office).post(reverse("messaging:approval_withdraw", args=[job.pk, other.pk])).status_code == 404
    assert state() == before


def test_the_form_sends_the_filled_rows_and_skips_blank_ones(client_as, job, dispatcher):
    rows = [
        {"kind": "material", "description": "Humidifier", "quantity": "1", "unit_price": "249.00"},
        {},
        {"kind": "labour", "description": "Install", "quantity": "1.5", "unit_price": "$95"},
    ]

    response = client_as(dispatcher).post(_new_url(job), _form_data(rows))

    approval = ApprovalRequest.objects.get(job=job)
    assert response.status_code == 302
    assert response["Location"] == _detail_url(approval)
    assert (approval.kind, approval.title, approval.requested_by) == ("added_work", "Add a humidifier", dispatcher)
    assert [(line["kind"], line["description"], line["quantity"], line["unit_price_cents"], line["amount_cents"]) for line in approval.lines] == [
        ("material", "Humidifier", "1.000", 24900, 24900),
        ("labour", "Install", "1.500", 9500, 14250),
    ]
    assert approval.total_cents == 24900 + 14250 + 2054  # tax on the humidifier only: $20.5425


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([], {}, "Add at least one line"),
        ([{"description": "Humidifier", "unit_price": ""}], {}, "This field is required."),
        ([{"description": "Humidifier", "quantity": "0", "unit_price": "10"}], {}, "A quantity above zero."),
        ([{"description": "Humidifier", "quantity": "1.2345", "unit_price": "10"}], {}, "At most three decimal places."),
        ([{"description": "Humidifier", "unit_price": "-5"}], {}, "The amount cannot be negative."),
        ([{"description": "Humidifier", "unit_price": "10.001"}], {}, "At most two decimal places (cents)."),
        ([{"description": "", "unit_price": "10"}], {}, "This field is required."),
        ([{"description": "Humidifier", "unit_price": "10"}], {"title": ""}, "This field is required."),
        ([{"description": "Humidifier", "unit_price": "10"}], {"kind": "discount"}, "Select a valid choice."),
    ],
)
def test_the_form_shows_field_errors_and_sends_nothing(client_as, job, office, rows, header, message):
    before = state()

    response = client_as(office).post(_new_url(job), _form_data(rows, **header))

    assert response.status_code == 422
    assert message in response.content.decode()
    assert state() == before


def test_the_form_refuses_more_than_ten_rows(client_as, job, office):
    data = _form_data([{"description": f"Part {i}", "unit_price": "1"} for i in range(10)])
    data.update(
        {"lines-TOTAL_FORMS": "11", "lines-10-kind": "service", "lines-10-description": "Part 10", "lines-10-quantity": "1", "lines-10-unit_price": "1"}
    )

    response = client_as(office).post(_new_url(job), data)

    assert response.status_code == 422
    assert not ApprovalRequest.objects.exists()


def test_a_locked_job_offers_no_form_and_refuses_the_post(client_as, job, office):
    Job.objects.filter(pk=job.pk).update(status=JobStatus.INVOICED)
    client = client_as(office)

    page = client.get(_new_url(job))
    assert page.status_code == 200
    assert "no work can be added" in page.content.decode()
    assert "Send for approval" not in page.content.decode()
    posted = client.post(_new_url(job), _form_data([{"description": "Humidifier", "unit_price": "10"}]))
    assert posted.status_code == 409
    assert not ApprovalRequest.objects.exists()


def test_the_request_page_shows_the_decision_and_the_signature(client_as, job, office, link):
    approval = approve(link, ask(office, job))

    page = client_as(office).get(_detail_url(approval)).content.decode()

    assert "Approved by the customer" in page
    assert "Pat Doe" in page
    assert "203.0.113.7" in page
    assert "$582.89" in page
    assert "$126.64" in page
    assert approval.content_hash in page
    with approval.signature.open("rb") as stored:
        inline = "data:image/png;base64," + base64.b64encode(stored.read()).decode()
    assert f'src="{inline}"' in page
    assert "Mark as seen" in page
    assert "Withdraw request" not in page


def test_the_request_page_shows_a_decline_and_its_reason(client_as, job, office, link):
    approval = ask(office, job)
    approval_decline(link=link, number=1, reason="We will wait until spring", address="", user_agent="")

    page = client_as(office).get(_detail_url(approval)).content.decode()

    assert "Declined by the customer" in page
    assert "We will wait until spring" in page


def test_acknowledging_and_withdrawing_from_the_pages(client_as, job, office, link):
    client = client_as(office)
    first, second = ask(office, job), ask(office, job, title="Second")
    approve(link, first)

    assert client.post(_detail_url(first)).status_code == 302
    assert ApprovalRequest.objects.get(pk=first.pk).acknowledged_at is not None
    response = client.post(reverse("messaging:approval_withdraw", args=[job.pk, second.pk]))
    assert response.status_code == 302
    assert response["Location"] == _detail_url(second)
    assert ApprovalRequest.objects.get(pk=second.pk).status == S.WITHDRAWN
    before = state()
    refused = client.post(reverse("messaging:approval_withdraw", args=[job.pk, first.pk]), follow=True)
    assert "can no longer be withdrawn" in refused.content.decode()
    assert state() == before


def test_the_request_page_reads_a_fixed_number_of_queries(client_as, job, office, link, django_assert_num_queries):
    approval = ask(office, job)
    client = client_as(office)
    client.get(_detail_url(approval))  # sessions, settings rows: warmed up
    with django_assert_num_queries(5) as few:  # session, user, job, request, its notices
        client.get(_detail_url(approval))
    for _ in range(5):
        links.link_create(actor=office, job_id=job.pk)
        ask(office, job)
    OutboxMessage.objects.filter(job=job).update(data={"approval": approval.pk})  # many notices about this one
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(_detail_url(approval))


# ---- the Messages tab's section ----------------------------------------------------------------------


def test_the_section_lists_the_jobs_requests_in_one_query(rf: RequestFactory, job, other_job, office, link, django_assert_num_queries):
    ask(office, other_job)
    first = ask(office, job)
    approve(link, first)
    ask(office, job, title="Second")
    request = rf.get("/")
    request.user = office

    with django_assert_num_queries(1):
        context = approvals_section(request, job)

    assert [a.number for a in context["approvals_list"]] == [2, 1]
    assert (context["approvals_pending"], context["approvals_unseen"], context["approvals_can_request"]) == (1, 1, True)
    assert context["approvals_new_url"] == _new_url(job)
    for _ in range(8):
        ask(office, job)
    with django_assert_num_queries(1):
        context = approvals_section(request, job)
    html = render_to_string("messaging/_approvals.html", {"job": job, **context})
    assert "Ask the customer to approve" in html
    assert "Replace the inducer" in html
    assert "1 new decision" in html
    assert "9 waiting" in html


def test_the_section_for_a_technician_or_a_locked_job_offers_no_request(rf: RequestFactory, job, office, tech_a):
    ask(office, job)
    request = rf.get("/")
    request.user = tech_a.user
    context = approvals_section(request, job)
    assert (context["approvals_may_manage"], context["approvals_can_request"]) == (False, False)
    html = render_to_string("messaging/_approvals.html", {"job": job, **context})
    assert reverse("messaging:approval", args=[job.pk, ApprovalRequest.objects.get().pk]) not in html

    Job.objects.filter(pk=job.pk).update(status=JobStatus.CLOSED)
    job.refresh_from_db()
    request.user = office
    context = approvals_section(request, job)
    assert context["approvals_can_request"] is False
    assert "closed" in context["approvals_locked_reason"]
