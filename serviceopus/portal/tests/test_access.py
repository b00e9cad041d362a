"""Portal links and the portal session: the secret, the exchange of a token for a session on one job,
expiry and revocation, guessing limits, and the headers every portal response carries."""

import base64
import hashlib
import logging
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from serviceopus.closeout.models import Document
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging import links
from serviceopus.messaging.models import ApprovalRequest, CustomerMessage, PortalLink, PortalTokenFailure
from serviceopus.portal import access
from tests.factories import JobFactory, VisitFactory

PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def assert_private(response) -> None:  # type: ignore[no-untyped-def]
    for header, value in PRIVATE.items():
        assert response[header] == value, (response.status_code, header)


def token_of(link: PortalLink) -> str:
    return links.token_for(link)


def open_url(link: PortalLink) -> str:
    return reverse("portal:open", args=[token_of(link)])


@pytest.fixture
def job(db):  # type: ignore[no-untyped-def]
    return JobFactory(status=JobStatus.SCHEDULED)


@pytest.fixture
def link(office, job):  # type: ignore[no-untyped-def]
    return links.link_create(actor=office, job_id=job.pk, label="Tenant")


def every_value_in_the_database() -> str:
    """Every row of every table as text, sessions decoded: where a secret must not be."""
    parts = []
    for model in apps.get_models():
        parts += [repr(row) for row in model.objects.values()]
    parts += [repr(s.get_decoded()) for s in Session.objects.all()]
    return "\n".join(parts)


# ---- the secret -------------------------------------------------------------------------------------------


def test_token_has_128_random_bits_and_only_its_hash_is_stored(link):
    token = token_of(link)
    assert len(bytes.fromhex(link.salt)) == 16  # the random part: 128 bits
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == 32
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in every_value_in_the_database()


def test_each_link_has_its_own_secret(office, job, link):
    other = links.link_create(actor=office, job_id=job.pk)
    assert token_of(other) != token_of(link)
    assert other.salt != link.salt
    assert other.token_hash != link.token_hash


# ---- opening a link -----------------------------------------------------------------------------------------


def test_open_redirects_to_a_url_without_the_token_and_grants_the_job(client, link, job):
    token = token_of(link)
    client.get("/")  # a session before the link, to see that the link starts a new one
    before = client.session.session_key
    response = client.get(open_url(link))
    assert response.status_code == 302
    assert response["Location"] == f"/portal/jobs/{job.pk}/"
    assert token not in response["Location"]
    assert_private(response)
    assert client.session[access.SESSION_KEY] == {"job": job.pk, "link": link.pk}
    assert client.session.session_key != before
    link.refresh_from_db()
    assert link.open_count == 1
    assert link.last_opened_at is not None
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert token not in page.content.decode()
    assert token not in every_value_in_the_database()


def test_each_opening_counts(client, link):
    for _ in range(3):
        assert client.get(open_url(link)).status_code == 302
    link.refresh_from_db()
    assert link.open_count == 3


def test_open_is_get_only(client, link):
    response = client.post(open_url(link))
    assert response.status_code == 405
    assert_private(response)
    assert access.SESSION_KEY not in client.session
    link.refresh_from_db()
    assert link.open_count == 0


def test_unknown_token_is_404_and_counted(client, job):
    response = client.get(reverse("portal:open", args=["x" * 43]))
    assert response.status_code == 404
    assert_private(response)
    assert "We could not open this page" in response.content.decode()
    assert PortalTokenFailure.objects.filter(address="127.0.0.1").count() == 1
    assert access.SESSION_KEY not in client.session


def test_an_overlong_token_is_404(client, db):
    assert client.get(reverse("portal:open", args=["a" * 500])).status_code == 404


def test_a_refused_token_is_not_written_to_the_request_log(client, link, caplog):
    links.link_revoke(actor=link.created_by, link_id=link.pk)
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert client.get(open_url(link)).status_code == 410
        assert client.get(reverse("portal:open", args=["y" * 43])).status_code == 404
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token_of(link) not in logged
    assert "y" * 43 not in logged


def test_expired_link_is_refused(client, link):
    PortalLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(open_url(link))
    assert response.status_code == 410
    assert_private(response)
    assert "This link has ended" in response.content.decode()
    assert access.SESSION_KEY not in client.session
    link.refresh_from_db()
    assert link.open_count == 0
    assert link.last_opened_at is None
    assert PortalTokenFailure.objects.count() == 1


def test_revoked_link_is_refused(client, office, link):
    links.link_revoke(actor=office, link_id=link.pk)
    response = client.get(open_url(link))
    assert response.status_code == 410
    assert access.SESSION_KEY not in client.session
    link.refresh_from_db()
    assert link.open_count == 0


def test_revoking_ends_an_open_session_on_its_next_request(client, office, link, job):
    client.get(open_url(link))
    assert client.get(reverse("portal:job", args=[job.pk])).status_code == 200
    links.link_revoke(actor=office, link_id=link.pk)
    page = client.get(reverse("portal:job", args=[job.pk]))
    assert page.status_code == 403
    assert_private(page)
    assert "This link has ended" in page.content.decode()
    # The grant is gone: the session opens nothing any more, whatever happens to the link.
    assert access.SESSION_KEY not in client.session
    assert client.get(reverse("portal:progress", args=[job.pk])).status_code == 404


def test_a_polling_fragment_whose_link_ended_reloads_the_page(client, office, link, job):
    client.get(open_url(link))
    links.link_revoke(actor=office, link_id=link.pk)
    response = client.get(reverse("portal:progress", args=[job.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert response["HX-Refresh"] == "true"


def test_expiry_ends_an_open_session(client, link, job):
    client.get(open_url(link))
    PortalLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("portal:job", args=[job.pk])).status_code == 403


# ---- one job only ---------------------------------------------------------------------------------------------


def portal_url_names() -> list[str]:
    """Every portal URL under /portal/jobs/<id>/ (all but the link itself), as the URLconf has them."""
    _, portal = get_resolver().namespace_dict["portal"]
    return sorted(n for n in portal.reverse_dict if isinstance(n, str) and n != "open")


def kwargs_for(name: str, job, ids: dict) -> dict:  # type: ignore[no-untyped-def]
    by_name = {
        "document": {"document_id": ids["document"]},
        "invoice_pdf": {"invoice_id": ids["invoice"]},
        "technician_photo": {"technician_id": ids["technician"]},
        "approval": {"number": ids["approval"]},
        "approve": {"number": ids["approval"]},
        "decline": {"number": ids["approval"]},
    }
    return {"job_id": job.pk, **by_name.get(name, {})}


def test_a_token_of_job_a_opens_no_url_of_job_b(client, office, tech_b, link, job):
    job_b = JobFactory(status=JobStatus.WORK_COMPLETE)
    visit_b = VisitFactory(job=job_b, crew=[tech_b])
    document_b = Document.objects.create(
        job=job_b,
        kind=Document.Kind.DOCUMENT,
        customer_visible=True,
        file="x.pdf",
        original_name="x.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
    )
    approval_b = ApprovalRequest.objects.create(job=job_b, number=1, kind="added_work", title="Extra", content_hash="0" * 64)
    ids = {"document": document_b.pk, "invoice": 1, "technician": visit_b.crew.get().technician_id, "approval": approval_b.number}
    client.get(open_url(link))
    names = portal_url_names()
    assert {"job", "progress", "message_send", "document", "report", "invoice_pdf", "technician_photo", "approval", "approve", "decline"} <= set(names)
    for name in names:
        url = reverse(f"portal:{name}", kwargs=kwargs_for(name, job_b, ids))
        for method in (client.get, client.post):
            response = method(url, {"body": "Hello", "signer_name": "Eve", "reason": "No"})
            assert response.status_code == 404, (name, method)
            assert_private(response)
    assert not CustomerMessage.objects.filter(job=job_b).exists()
    approval_b.refresh_from_db()
    assert approval_b.status == ApprovalRequest.Status.PENDING
    # The session still holds job A, and A still opens.
    assert client.get(reverse("portal:job", args=[job.pk])).status_code == 200


@pytest.mark.parametrize("persona", ["owner", "manager", "dispatcher", "office", "tech_a"])
def test_signed_in_staff_without_a_portal_session_get_404(request, client_as, persona, job):
    user = request.getfixturevalue(persona)
    user = getattr(user, "user", user)
    client = client_as(user)
    for name in ("job", "progress", "report"):
        response = client.get(reverse(f"portal:{name}", args=[job.pk]))
        assert response.status_code == 404, name
        assert_private(response)


def test_anonymous_visitor_gets_404(client, job):
    assert client.get(reverse("portal:job", args=[job.pk])).status_code == 404


def test_a_session_with_a_forged_grant_opens_nothing(client, job, link):
    session = client.session
    session[access.SESSION_KEY] = {"job": job.pk, "link": link.pk + 999}
    session.save()
    assert client.get(reverse("portal:job", args=[job.pk])).status_code == 404


# ---- guessing -----------------------------------------------------------------------------------------------------


def test_the_21st_bad_token_in_a_minute_is_429_and_a_good_one_waits_too(link, job):
    guesser = Client(REMOTE_ADDR="10.0.0.1")
    for i in range(20):
        assert guesser.get(reverse("portal:open", args=[f"guess{i:038d}"])).status_code == 404
    limited = guesser.get(reverse("portal:open", args=["guess-21".ljust(43, "z")]))
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    assert_private(limited)
    # While limited, even the right token is refused from that address, and grants nothing.
    right = guesser.get(open_url(link))
    assert right.status_code == 429
    assert access.SESSION_KEY not in guesser.session
    link.refresh_from_db()
    assert link.open_count == 0
    # Another address is not held back.
    assert Client(REMOTE_ADDR="10.0.0.2").get(open_url(link)).status_code == 302
    # A minute later the address may try again.
    PortalTokenFailure.objects.filter(address="10.0.0.1").update(at=timezone.now() - timedelta(seconds=61))
    assert guesser.get(open_url(link)).status_code == 302


def test_record_open_refuses_a_link_that_ended_meanwhile(office, link):
    assert access.record_open(link)
    links.link_revoke(actor=office, link_id=link.pk)
    assert not access.record_open(link)
    link.refresh_from_db()
    assert link.open_count == 1
