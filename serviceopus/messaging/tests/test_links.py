"""Portal links on the job's Messages tab: creating one (its URL shown once; sent to the customer in
the same transaction when asked), revoking one, who may do either, and the list's states."""

import hashlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging import links
from serviceopus.messaging.links import PORTAL_URL_PLACEHOLDER
from serviceopus.messaging.models import Notice, OutboxMessage, PortalLink
from serviceopus.messaging.views.links import links_section
from tests.factories import JobFactory

HTMX = {"HX-Request": "true", "HX-Target": "portal-links"}


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    return JobFactory(status=JobStatus.SCHEDULED, technicians=[tech_a])


def create_url(job) -> str:  # type: ignore[no-untyped-def]
    return reverse("messaging:link_create", args=[job.pk])


def revoke_url(link: PortalLink) -> str:
    return reverse("messaging:link_revoke", args=[link.job_id, link.pk])


def tab_url(job) -> str:  # type: ignore[no-untyped-def]
    return reverse("jobs:tab", args=[job.pk, "messages"]) + "#portal-links"


def token_in(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def everything_stored() -> str:
    parts = [repr(row) for model in apps.get_models() for row in model.objects.values()]
    parts += [repr(s.get_decoded()) for s in Session.objects.all()]
    return "\n".join(parts)


def rows() -> tuple:
    return (
        list(PortalLink.objects.order_by("pk").values()),
        list(JobEvent.objects.order_by("pk").values_list("pk", flat=True)),
        list(OutboxMessage.objects.order_by("pk").values_list("pk", flat=True)),
    )


# ---- create -------------------------------------------------------------------------------------------------


def test_office_creates_a_link_and_sees_its_url_once(client_as, office, job):
    client = client_as(office)
    before = timezone.now()
    response = client.post(create_url(job), {"label": "Tenant", "days": "7"})
    assert response.status_code == 302
    assert response["Location"] == tab_url(job)
    link = PortalLink.objects.get(job=job)
    assert (link.label, link.created_by, link.revoked_at, link.open_count) == ("Tenant", office, None, 0)
    assert before + timedelta(days=7) <= link.expires_at <= timezone.now() + timedelta(days=7)
    [flash] = [str(m) for m in get_messages(response.wsgi_request)]
    url = links.portal_url(link)
    assert url in flash
    assert "shown only once" in flash
    assert hashlib.sha256(token_in(url).encode()).hexdigest() == link.token_hash
    assert token_in(url) not in everything_stored()
    event = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CUSTOMER).get()
    assert event.message == "Portal link created for Tenant, valid 7 days"
    assert event.actor == office
    # The list shows the link from now on, never its URL.
    html = client.post(revoke_url(link), headers=HTMX).content.decode()
    assert "Tenant" in html
    assert token_in(url) not in html


def test_with_htmx_the_url_is_shown_in_place(client_as, dispatcher, job):
    response = client_as(dispatcher).post(create_url(job), {"label": "", "days": ""}, headers=HTMX)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    link = PortalLink.objects.get(job=job)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="portal-links"')
    assert f'value="{links.portal_url(link)}"' in html
    assert "shown only this once" in html
    # No days given: the company's default.
    assert abs(link.expires_at - link.created_at - timedelta(days=30)) < timedelta(seconds=1)
    # The next rendering of the list does not have it.
    request = RequestFactory().get("/")
    request.user = dispatcher
    assert links_section(request, job)["links_new_url"] == ""


def test_send_to_customer_writes_the_notice_in_the_same_transaction(client_as, office, job):
    response = client_as(office).post(create_url(job), {"label": "Owner", "days": "10", "send": "1"})
    assert response.status_code == 302
    link = PortalLink.objects.get(job=job)
    sent = list(OutboxMessage.objects.filter(job=job, notice=Notice.PORTAL_LINK).order_by("channel"))
    assert [m.channel for m in sent] == ["email", "sms"]
    for message in sent:
        assert message.data["portal_link"] == link.pk
        assert PORTAL_URL_PLACEHOLDER in message.body
        assert message.created_by == office
    assert token_in(links.portal_url(link)) not in everything_stored()
    assert "sent to the customer" in next(str(m) for m in get_messages(response.wsgi_request))


def test_a_failing_send_leaves_no_link(client_as, office, job, monkeypatch):
    from serviceopus.messaging.views import links as view

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("outbox down")

    monkeypatch.setattr(view.outbox, "notify", broken)
    before = rows()
    with pytest.raises(RuntimeError):
        client_as(office).post(create_url(job), {"label": "Owner", "days": "10", "send": "1"})
    assert rows() == before


@pytest.mark.parametrize("days", ["0", "366", "abc", "-3", "99999999"])
def test_bad_days_are_refused_and_nothing_created(client_as, office, job, days):
    client = client_as(office)
    before = rows()
    response = client.post(create_url(job), {"label": "Owner", "days": days}, headers=HTMX)
    assert response.status_code == 422
    assert "Between 1 and 365 days." in response.content.decode()
    assert rows() == before
    plain = client.post(create_url(job), {"label": "Owner", "days": days})
    assert plain.status_code == 302
    assert "No link was created" in next(str(m) for m in get_messages(plain.wsgi_request))
    assert rows() == before


def test_a_label_with_nul_is_refused(client_as, office, job):
    before = rows()
    response = client_as(office).post(create_url(job), {"label": "A\x00B", "days": "5"}, headers=HTMX)
    assert response.status_code == 422
    assert rows() == before


@pytest.mark.parametrize("persona", ["owner", "manager", "dispatcher", "office"])
def test_the_office_roles_may_create_links(request, client_as, persona, job):
    assert client_as(request.getfixturevalue(persona)).post(create_url(job), {"days": "3"}).status_code == 302
    assert PortalLink.objects.filter(job=job).count() == 1


def test_a_technician_may_not_create_links(client_as, tech_a, tech_b, job):
    before = rows()
    assert client_as(tech_a.user).post(create_url(job), {"days": "3"}).status_code == 403  # their own job
    assert client_as(tech_b.user).post(create_url(job), {"days": "3"}).status_code == 404  # another's
    assert rows() == before


def test_signed_out_is_sent_to_sign_in(client, job):
    response = client.post(create_url(job), {"days": "3"})
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    assert not PortalLink.objects.exists()


def test_create_and_revoke_take_only_posts(client_as, office, job):
    link = links.link_create(actor=office, job_id=job.pk)
    client = client_as(office)
    assert client.get(create_url(job)).status_code == 405
    assert client.get(revoke_url(link)).status_code == 405


# ---- revoke -----------------------------------------------------------------------------------------------


def test_office_revokes_a_link(client_as, office, job):
    link = links.link_create(actor=office, job_id=job.pk, label="Tenant")
    response = client_as(office).post(revoke_url(link))
    assert response.status_code == 302
    assert response["Location"] == tab_url(job)
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert link.revoked_by == office
    assert JobEvent.objects.filter(job=job, message="Portal link revoked (Tenant)").count() == 1
    assert "revoked" in next(str(m) for m in get_messages(response.wsgi_request))


def test_revoking_twice_is_refused_and_changes_nothing(client_as, office, manager, job):
    link = links.link_create(actor=office, job_id=job.pk)
    links.link_revoke(actor=office, link_id=link.pk)
    before = rows()
    response = client_as(manager).post(revoke_url(link), headers=HTMX)
    assert response.status_code == 409
    assert "already revoked" in response.content.decode()
    plain = client_as(manager).post(revoke_url(link))
    assert plain.status_code == 302
    assert "already revoked" in next(str(m) for m in get_messages(plain.wsgi_request))
    assert rows() == before


def test_a_link_of_another_job_is_404(client_as, office, job):
    other = links.link_create(actor=office, job_id=JobFactory().pk)
    before = rows()
    assert client_as(office).post(reverse("messaging:link_revoke", args=[job.pk, other.pk])).status_code == 404
    assert rows() == before


def test_a_technician_may_not_revoke(client_as, office, tech_a, tech_b, job):
    link = links.link_create(actor=office, job_id=job.pk)
    before = rows()
    assert client_as(tech_a.user).post(revoke_url(link)).status_code == 403
    assert client_as(tech_b.user).post(revoke_url(link)).status_code == 404
    assert rows() == before


# ---- the list ------------------------------------------------------------------------------------------------


def test_the_list_shows_each_links_state(client_as, office, tech_a, job, django_assert_num_queries):
    active = links.link_create(actor=office, job_id=job.pk, label="Active one")
    expired = links.link_create(actor=office, job_id=job.pk, label="Expired one")
    PortalLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    revoked = links.link_create(actor=office, job_id=job.pk, label="Revoked one")
    links.link_revoke(actor=office, link_id=revoked.pk)
    PortalLink.objects.filter(pk=active.pk).update(open_count=4, last_opened_at=timezone.now())
    request = RequestFactory().get("/")
    request.user = office
    with django_assert_num_queries(2):
        context = links_section(request, job)
    assert {link.label: link.state for link in context["links_rows"]} == {"Active one": "active", "Expired one": "expired", "Revoked one": "revoked"}
    assert context["links_can_manage"] is True
    html = client_as(office).post(create_url(job), {"label": "Fourth", "days": "2"}, headers=HTMX).content.decode()
    # One revoke button: for the active links only (the new one and "Active one").
    assert html.count("Revoke</button>") == 2
    assert revoke_url(active) in html
    assert revoke_url(expired) not in html
    assert revoke_url(revoked) not in html
    for word in ("Active", "Expired", "Revoked"):
        assert f">{word}</span>" in html
    # A technician sees the list without the forms.
    request.user = tech_a.user
    assert links_section(request, job)["links_can_manage"] is False


def test_the_list_costs_the_same_whatever_the_number_of_links(office, job, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = office
    links.link_create(actor=office, job_id=job.pk)
    links_section(request, job)
    with django_assert_num_queries(2):
        links_section(request, job)
    for _ in range(5):
        links.link_create(actor=office, job_id=job.pk)
    with django_assert_num_queries(2):
        assert len(links_section(request, job)["links_rows"]) == 6
