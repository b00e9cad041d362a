"""Email through Django's SMTP backend to a real SMTP server on loopback (aiosmtpd): what arrives, with
which Message-ID, and how the server's refusals turn into retries or failures."""

import pytest
from django.utils import timezone

from serviceopus.messaging import channels, delivery
from serviceopus.messaging.links import PORTAL_URL_PLACEHOLDER, portal_url
from serviceopus.messaging.models import Channel, MessagingSettings, Notice, OutboxMessage, PortalLink
from serviceopus.messaging.outbox import alert_office, notify
from serviceopus.messaging.tests.fakes import SmtpServer, free_port
from tests.factories import CustomerFactory, JobFactory, LocationFactory, VisitFactory

pytestmark = pytest.mark.django_db

S = OutboxMessage.Status


def _smtp_settings(settings, port: int) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_TIMEOUT = False, "", 5


@pytest.fixture
def smtp(settings):  # type: ignore[no-untyped-def]
    server = SmtpServer(refuse={"nobody@example.com": "550 5.1.1 No such user", "busy@example.com": "450 4.2.1 Mailbox busy, try later"})
    _smtp_settings(settings, server.port)
    with server:
        yield server


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Rosa Diaz", email="rosa@example.com", phone="555-0199")
    job = JobFactory(location=LocationFactory(customer=customer), number="J-000042")
    VisitFactory(job=job, crew=[tech_a])
    return job


def test_a_notification_arrives_with_the_portal_url_and_its_message_id(smtp, job):
    office = MessagingSettings.current()
    office.office_email = "office@northwind.example"
    office.save()
    [email] = notify(job=job, notice=Notice.ON_THE_WAY, channels=(Channel.EMAIL,), context={"eta": "10:40"})
    url = portal_url(PortalLink.objects.get(job=job))

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "sent": 1}

    [mail] = smtp.received
    assert mail.rcpt_tos == ("rosa@example.com",)
    assert mail.mail_from == "service@northwind.example"
    assert mail.subject == "Alex is on the way"
    assert mail.message_id == email.message_id == f"<{email.uid}@serviceopus>"
    assert mail.headers["From"] == "Northwind Home Services <service@northwind.example>"
    assert mail.headers["Reply-To"] == "office@northwind.example"
    assert mail.body.startswith("Hello Rosa Diaz,\n\nAlex from Service Opus Demo Co. is on the way and should arrive around 10:40.")
    assert f"Follow along: {url}\n" in mail.body
    assert PORTAL_URL_PLACEHOLDER not in mail.body
    email.refresh_from_db()
    assert (email.status, email.provider_ref, email.attempts) == (S.SENT, email.message_id, 1)
    assert PORTAL_URL_PLACEHOLDER in email.body


def test_an_office_alert_goes_to_the_office(smtp, job):
    office = MessagingSettings.current()
    office.office_email = "office@northwind.example"
    office.save()
    alert = alert_office(job=job, subject="Rosa sent a message", body="Can you come after 3 pm?")

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "sent": 1}

    [mail] = smtp.received
    assert (mail.rcpt_tos, mail.subject, mail.body.strip(), mail.message_id) == (
        ("office@northwind.example",),
        "Rosa sent a message",
        "Can you come after 3 pm?",
        alert.message_id,
    )
    assert "Reply-To" not in mail.headers


def test_a_resend_after_a_lost_confirmation_carries_the_same_message_id(smtp, job):
    """The crash window in small: the server took the message, the worker died before marking it sent;
    the next worker sends it again, and the receiving side sees the same Message-ID twice."""
    message = OutboxMessage.objects.create(
        job=job, notice=Notice.OFFICE_MESSAGE, channel=Channel.EMAIL, recipient="rosa@example.com", subject="Hi", body="Hello"
    )
    [first] = delivery.claim("dies", 1)
    channels.send_email(to=first.recipient, subject=first.subject, body=first.body, message_id=first.message_id)  # …then the worker is killed
    OutboxMessage.objects.filter(pk=message.pk).update(lease_until=timezone.now())

    assert delivery.deliver_due("next", 1) == {"claimed": 1, "sent": 1}

    assert [m.message_id for m in smtp.received] == [message.message_id] * 2
    assert list(smtp.by_message_id()) == [message.message_id]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.claimed_by) == (S.SENT, 2, "next")


def test_an_address_the_server_refuses_fails_at_once(smtp, job):
    message = OutboxMessage.objects.create(job=job, notice=Notice.ARRIVED, channel=Channel.EMAIL, recipient="nobody@example.com", subject="Hi", body="Hello")

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "failed": 1}

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (S.FAILED, 1, "The mail server refused the address (550).")
    assert smtp.received == []


def test_a_deferred_address_is_retried(smtp, job):
    message = OutboxMessage.objects.create(job=job, notice=Notice.ARRIVED, channel=Channel.EMAIL, recipient="busy@example.com", subject="Hi", body="Hello")

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "retry": 1}

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (S.PENDING, 1, "The mail server deferred the address (450).")
    assert message.next_attempt_at > timezone.now()


def test_an_unreachable_server_is_retried(settings, job):
    _smtp_settings(settings, free_port())  # nobody listens there
    message = OutboxMessage.objects.create(job=job, notice=Notice.ARRIVED, channel=Channel.EMAIL, recipient="rosa@example.com", subject="Hi", body="Hello")

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "retry": 1}

    message.refresh_from_db()
    assert (message.status, message.last_error) == (S.PENDING, "The mail server could not be reached: ConnectionRefusedError.")


def test_a_subject_with_line_breaks_is_sent_on_one_line(smtp, job):
    OutboxMessage.objects.create(
        job=job, notice=Notice.ARRIVED, channel=Channel.EMAIL, recipient="rosa@example.com", subject="Alex\nhas  arrived", body="Hello"
    )

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "sent": 1}

    assert smtp.received[0].subject == "Alex has arrived"


@pytest.mark.parametrize("address", ["", "not-an-address"])
def test_no_usable_address_is_permanent(address):
    with pytest.raises(channels.PermanentError, match="No usable email address"):
        channels.send_email(to=address, subject="s", body="b", message_id="<x@serviceopus>")
