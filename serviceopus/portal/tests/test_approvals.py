"""The customer's approval page: it shows exactly the stored snapshot with its hash and is private; the
customer approves (name, signature, the box) or declines (a reason); and nothing a customer posts
changes a price, a quantity, a status or another job — one test per field a tampered form could carry,
a session of one job reaching for another job's request, a changed hash, decisions that come too late."""

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from serviceopus.billing.models import BillingSettings, TaxRate
from serviceopus.jobs.models import Job, LineItem
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging import links
from serviceopus.messaging.actions.approvals import approval_withdraw
from serviceopus.messaging.models import ApprovalRequest, PortalLink
from serviceopus.messaging.tests.approval_support import PRICED, TOTAL, ask, job_lines, signature_data_url, snapshot_lines, state
from serviceopus.portal.access import SESSION_KEY
from tests.factories import CustomerFactory, JobFactory, LineItemFactory, LocationFactory

pytestmark = pytest.mark.django_db

S = ApprovalRequest.Status


@pytest.fixture(autouse=True)
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def tax(db):  # type: ignore[no-untyped-def]
    rate = TaxRate.objects.create(name="State sales tax", rate_milli_percent=8250)
    settings = BillingSettings.current()
    settings.default_tax_rate, settings.tax_labour = rate, False
    settings.save()
    return rate


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Pat Doe", email="pat@example.com", phone="555-0142")
    return JobFactory(status=JobStatus.IN_PROGRESS, location=LocationFactory(customer=customer), technicians=[tech_a], number="J-000101")


@pytest.fixture
def other_job(tech_b, office):  # type: ignore[no-untyped-def]
    """Another customer's job with a line and a pending request of its own: never touched by this job's customer."""
    job = JobFactory(status=JobStatus.SCHEDULED, technicians=[tech_b], number="J-000202")
    LineItemFactory(job=job, description="Water heater flush", quantity=Decimal("1"), unit_price_cents=14900)
    ask(office, job, title="Anode rod")
    return job


@pytest.fixture
def link(job, office):  # type: ignore[no-untyped-def]
    return links.link_create(actor=office, job_id=job.pk, label="Pat")


@pytest.fixture
def approval(job, office):  # type: ignore[no-untyped-def]
    """Request 1 of the job, and request 2 pending beside it."""
    first = ask(office, job)
    ask(office, job, title="Second request", lines=[{"kind": "fee", "description": "After-hours fee", "quantity": Decimal("1"), "unit_price_cents": 7500}])
    return first


def portal(link: PortalLink) -> Client:
    """A browser holding the session a portal link is exchanged for (portal.access.grant)."""
    client = Client()
    session = client.session
    session[SESSION_KEY] = {"job": link.job_id, "link": link.pk}
    session.save()
    return client


def page_url(job: Job, number: int = 1) -> str:
    return reverse("portal:approval", args=[job.pk, number])


def approve_url(job: Job, number: int = 1) -> str:
    return reverse("portal:approve", args=[job.pk, number])


def decline_url(job: Job, number: int = 1) -> str:
    return reverse("portal:decline", args=[job.pk, number])


def approve_form(approval: ApprovalRequest, **extra: str) -> dict[str, str]:
    return {"signer_name": "Pat Doe", "signature": signature_data_url(), "content_hash": approval.content_hash, "agree": "on", **extra}


def stored(approval: ApprovalRequest) -> dict[str, Any]:
    """What the customer must never be able to change on a request."""
    row = ApprovalRequest.objects.get(pk=approval.pk)
    return {
        "job": row.job_id,
        "number": row.number,
        "kind": row.kind,
        "title": row.title,
        "message": row.message,
        "lines": row.lines,
        "totals": (row.subtotal_cents, row.tax_cents, row.total_cents),
        "hash": row.content_hash,
        "requested_by": row.requested_by_id,
    }


def job_world(job: Job) -> dict[str, Any]:
    """A job with everything on it a customer of another job might try to reach."""
    return {
        "job": Job.objects.filter(pk=job.pk).values("status", "version").get(),
        "lines": list(LineItem.objects.filter(job=job).order_by("pk").values()),
        "approvals": list(ApprovalRequest.objects.filter(job=job).order_by("pk").values()),
    }


# ---- the page ------------------------------------------------------------------------------------------


def test_the_page_shows_exactly_the_snapshot_and_its_hash_privately(job, link, approval):
    response = portal(link).get(page_url(job))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    html = response.content.decode()
    for line in PRICED:
        assert line["description"] in html
    assert "1 × $389.00" in html
    assert "2.5 × $12.99" in html
    assert "1.333 × $95.00" in html
    assert "$32.48" in html
    assert "$126.64" in html
    assert "tax $32.09" in html
    assert "tax $2.68" in html
    assert '<dd data-testid="approval-subtotal">$548.12</dd>' in html
    assert '<dd data-testid="approval-tax">$34.77</dd>' in html
    assert '<dd class="strong" data-testid="approval-total">$582.89</dd>' in html
    assert f'<input type="hidden" name="content_hash" value="{approval.content_hash}">' in html
    assert "Replace the inducer" in html
    assert "The inducer motor bearings are worn." in html
    assert "data-signature-pad" in html
    assert 'name="agree"' in html
    assert 'name="reason"' in html
    assert TOTAL == 58289


def test_the_page_costs_a_fixed_number_of_queries(job, link, approval, office, django_assert_num_queries):
    client = portal(link)
    client.get(page_url(job))
    with django_assert_num_queries(5):  # session, link with its job, the request, two settings rows
        client.get(page_url(job))


def test_a_request_number_the_job_does_not_have_is_not_found(job, link, approval):
    client = portal(link)
    assert client.get(page_url(job, 9)).status_code == 404
    assert client.post(approve_url(job, 9), approve_form(approval)).status_code == 404
    assert client.post(decline_url(job, 9), {"reason": "No"}).status_code == 404


def test_approve_and_decline_take_posts_only(job, link, approval):
    client = portal(link)
    assert client.get(approve_url(job)).status_code == 405
    assert client.get(decline_url(job)).status_code == 405
    assert client.post(page_url(job)).status_code == 405


def test_without_the_portal_session_there_is_no_page(client_as, job, office, approval):
    before = state()
    for client in (Client(), client_as(office)):
        assert client.get(page_url(job)).status_code == 404
        assert client.post(approve_url(job), approve_form(approval)).status_code == 404
        assert client.post(decline_url(job), {"reason": "No"}).status_code == 404
    assert state() == before


def test_the_link_opens_the_session_that_approves(job, link, approval):
    """The whole path: the secret link, the job page's list, the request, the signature."""
    client = Client()
    opened = client.get(reverse("portal:open", args=[links.token_for(link)]))
    assert opened.status_code == 302
    assert page_url(job) in client.get(reverse("portal:job", args=[job.pk])).content.decode()

    response = client.post(approve_url(job), approve_form(approval))

    assert response.status_code == 302
    assert response["Location"] == page_url(job)
    assert ApprovalRequest.objects.get(pk=approval.pk).status == S.APPROVED


# ---- approving and declining -----------------------------------------------------------------------------


def test_approving_adds_the_snapshot_and_the_page_says_so(job, link, approval):
    client = portal(link)

    response = client.post(approve_url(job), approve_form(approval), HTTP_USER_AGENT="Mozilla/5.0 (iPhone)", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 302
    assert response["Location"] == page_url(job)
    row = ApprovalRequest.objects.get(pk=approval.pk)
    assert (row.status, row.signer_name, row.decided_address, row.decided_user_agent) == (S.APPROVED, "Pat Doe", "203.0.113.7", "Mozilla/5.0 (iPhone)")
    assert job_lines(job) == snapshot_lines(approval)
    page = client.get(page_url(job)).content.decode()
    assert "Approved — thank you." in page
    assert "Signed by Pat Doe" in page
    assert 'name="signer_name"' not in page
    assert 'name="reason"' not in page


def test_the_forms_post_with_htmx_and_a_decision_sends_the_browser_back_to_the_page(job, link, approval):
    """A plain form post would carry "Origin: null" under the portal's no-referrer policy; the forms post
    with HTMX, which sends the real origin."""
    client = portal(link)
    page = client.get(page_url(job)).content.decode()
    assert f'hx-post="{approve_url(job)}"' in page
    assert f'hx-post="{decline_url(job)}"' in page

    refused = client.post(approve_url(job), approve_form(approval, signer_name=""), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="approval-page")
    assert refused.status_code == 422
    assert '<div id="approval-page"' in refused.content.decode()
    done = client.post(approve_url(job), approve_form(approval), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="approval-page")
    assert done.status_code == 200
    assert done["HX-Redirect"] == page_url(job)
    assert done["Cache-Control"] == "no-store"
    assert ApprovalRequest.objects.get(pk=approval.pk).status == S.APPROVED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"signer_name": ""}, "Type your full name."),
        ({"signature": ""}, "Sign on the pad."),
        ({"signature": "data:image/png;base64,AAAA"}, "The signature"),
        ({"agree": ""}, "Tick the box to approve the work and its prices."),
        ({"content_hash": ""}, "This field is required."),
        ({"content_hash": "zz"}, "reload it and try again"),
    ],
)
def test_an_incomplete_approval_is_refused_with_the_reason(job, link, approval, change, message):
    before = state()

    response = portal(link).post(approve_url(job), approve_form(approval, **change))

    assert response.status_code == 422
    assert message in response.content.decode()
    assert state() == before


def test_a_changed_hash_is_refused_and_the_current_content_shown(job, link, approval):
    before = state()

    response = portal(link).post(approve_url(job), approve_form(approval, content_hash="f" * 64))

    assert response.status_code == 409
    html = response.content.decode()
    assert "This request changed since your page was loaded" in html
    assert f'name="content_hash" value="{approval.content_hash}"' in html
    assert response["Cache-Control"] == "no-store"
    assert state() == before


def test_approving_after_a_withdrawal_is_refused(job, link, approval, office):
    approval_withdraw(actor=office, approval_id=approval.pk)
    before = state()

    response = portal(link).post(approve_url(job), approve_form(approval))

    assert response.status_code == 409
    html = response.content.decode()
    assert "This request was withdrawn" in html
    assert 'name="signer_name"' not in html
    assert state() == before


def test_approving_twice_is_refused(job, link, approval):
    client = portal(link)
    client.post(approve_url(job), approve_form(approval))
    before = state()

    again = client.post(approve_url(job), approve_form(approval, signer_name="Someone Else"))
    declined = client.post(decline_url(job), {"reason": "Changed my mind"})

    assert (again.status_code, declined.status_code) == (409, 409)
    assert "Approved — thank you." in again.content.decode()
    assert "Signed by Pat Doe" in again.content.decode()
    assert state() == before


def test_a_revoked_link_ends_the_session_and_decides_nothing(job, link, approval, office):
    client = portal(link)
    links.link_revoke(actor=office, link_id=link.pk)
    before = state()

    response = client.post(approve_url(job), approve_form(approval))

    assert response.status_code == 403
    assert state() == before


def test_a_locked_job_offers_no_approval_but_a_decline(job, link, approval):
    Job.objects.filter(pk=job.pk).update(status=JobStatus.INVOICED)
    client = portal(link)

    page = client.get(page_url(job)).content.decode()
    assert "can no longer be approved online" in page
    assert 'name="signer_name"' not in page
    assert 'name="reason"' in page
    before = state()
    assert client.post(approve_url(job), approve_form(approval)).status_code == 409
    assert state() == before


def test_declining_with_a_reason(job, link, approval):
    client = portal(link)

    response = client.post(decline_url(job), {"reason": "We'll wait until spring"})

    assert response.status_code == 302
    row = ApprovalRequest.objects.get(pk=approval.pk)
    assert (row.status, row.decline_reason) == (S.DECLINED, "We'll wait until spring")
    assert not LineItem.objects.filter(job=job).exists()
    assert "We&#x27;ll wait until spring" in client.get(page_url(job)).content.decode()


@pytest.mark.parametrize("reason", ["", "x" * 501])
def test_a_decline_without_a_proper_reason_is_refused(job, link, approval, reason):
    before = state()

    response = portal(link).post(decline_url(job), {"reason": reason})

    assert response.status_code == 422
    assert '<details class="pt-card apc-decline" id="decline" open>' in response.content.decode()
    assert state() == before


def test_the_forms_need_the_csrf_token(job, link, approval):
    client = portal(link)
    client.handler.enforce_csrf_checks = True
    before = state()

    assert client.post(approve_url(job), approve_form(approval)).status_code == 403
    assert client.post(decline_url(job), {"reason": "No"}).status_code == 403
    assert state() == before


# ---- nothing a customer sends changes a price, a status or another job -----------------------------------


def _tampered(other_job: Job) -> dict[str, str]:
    cheap = [{"kind": "service", "description": "Everything", "quantity": "100", "unit_price_cents": 0, "amount_cents": 0}]
    return {
        "unit_price_cents": "1",
        "unit_price": "0.01",
        "amount_cents": "1",
        "total_cents": "1",
        "quantity": "999",
        "lines": json.dumps(cheap),
        "status": "declined",
        "job_id": str(other_job.pk),
        "job": str(other_job.pk),
        "number": "2",
        "kind": "added_work",
        "title": "Free work",
    }


FIELDS = ["unit_price_cents", "unit_price", "amount_cents", "total_cents", "quantity", "lines", "status", "job_id", "job", "number", "kind", "title"]


@pytest.mark.parametrize("field", FIELDS)
def test_an_extra_field_in_an_approval_changes_nothing_but_the_decision(job, other_job, link, approval, field):
    before, second, elsewhere = stored(approval), job_world(job)["approvals"][1], job_world(other_job)

    response = portal(link).post(approve_url(job), approve_form(approval, **{field: _tampered(other_job)[field]}))

    assert response.status_code == 302
    row = ApprovalRequest.objects.get(pk=approval.pk)
    assert row.status == S.APPROVED
    assert stored(approval) == before  # the snapshot, its totals and its hash
    assert job_lines(job) == snapshot_lines(approval)  # the job's lines: exactly the snapshot's prices and quantities
    assert [i.total_cents for i in LineItem.objects.filter(job=job).order_by("position")] == [line["amount_cents"] for line in approval.lines]
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    assert job_world(job)["approvals"][1] == second  # request 2 of the same job: untouched
    assert job_world(other_job) == elsewhere  # the other job: untouched


@pytest.mark.parametrize("field", FIELDS)
def test_an_extra_field_in_a_decline_changes_nothing_but_the_decision(job, other_job, link, approval, field):
    before, second, elsewhere = stored(approval), job_world(job)["approvals"][1], job_world(other_job)
    job_before = job_world(job)["job"]

    response = portal(link).post(decline_url(job), {"reason": "Not now", field: _tampered(other_job)[field]})

    assert response.status_code == 302
    assert ApprovalRequest.objects.get(pk=approval.pk).status == S.DECLINED
    assert stored(approval) == before
    assert not LineItem.objects.filter(job=job).exists()
    assert job_world(job)["job"] == job_before
    assert job_world(job)["approvals"][1] == second
    assert job_world(other_job) == elsewhere


def test_a_session_for_one_job_reaches_no_request_of_another(job, other_job, link, approval):
    """Job A's session on job B's URLs: 404, whatever the body says, and nothing changes."""
    other = ApprovalRequest.objects.get(job=other_job)
    client = portal(link)
    before = state()

    assert client.get(page_url(other_job)).status_code == 404
    assert client.post(approve_url(other_job), approve_form(other)).status_code == 404
    assert client.post(decline_url(other_job), {"reason": "No"}).status_code == 404
    # The right job in the URL with the other job's hash and number in the body: the hash does not match.
    assert client.post(approve_url(job), approve_form(other, number="1", job_id=str(other_job.pk))).status_code == 409
    assert state() == before
