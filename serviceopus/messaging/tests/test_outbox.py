"""outbox.notify and outbox.alert_office: what is written, what is skipped and why, and that a message
exists only if the transaction that caused it commits."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from serviceopus.jobs.models import JobEvent
from serviceopus.messaging import delivery
from serviceopus.messaging.links import PORTAL_URL_PLACEHOLDER, token_for
from serviceopus.messaging.models import Channel, JobNotificationMute, MessageTemplate, MessagingSettings, Notice, OutboxMessage, PortalLink
from serviceopus.messaging.notices import SMS_MAX_CHARS
from serviceopus.messaging.outbox import alert_office, notify
from tests.factories import ContactFactory, CustomerFactory, JobFactory, LocationFactory, VisitFactory

pytestmark = pytest.mark.django_db

S = OutboxMessage.Status


@pytest.fixture
def customer():  # type: ignore[no-untyped-def]
    return CustomerFactory(name="Rosa Diaz", email="rosa@example.com", phone="+1 (555) 010-0199")


@pytest.fixture
def job(customer, tech_a):  # type: ignore[no-untyped-def]
    job = JobFactory(location=LocationFactory(customer=customer, street="12 Elm Street"), number="J-000042")
    VisitFactory(job=job, crew=[tech_a])
    return job


def _fields(message: OutboxMessage) -> list[str]:
    return [message.subject, message.body, str(message.data), message.recipient, message.skip_reason, message.last_error]


def test_notify_writes_one_pending_message_per_channel(job, dispatcher):
    written = notify(job=job, notice=Notice.ON_THE_WAY, actor=dispatcher, context={"eta": "10:40"})

    assert [(m.channel, m.status, m.skip_reason, m.recipient) for m in written] == [
        (Channel.EMAIL, S.PENDING, "", "rosa@example.com"),
        (Channel.SMS, S.PENDING, "", "+1 (555) 010-0199"),
    ]
    email, sms = written
    assert email.subject == "Alex is on the way"
    assert email.body.startswith("Hello Rosa Diaz,\n\nAlex from Service Opus Demo Co. is on the way and should arrive around 10:40.")
    assert sms.subject == ""
    assert sms.body == f"Service Opus Demo Co.: Alex is on the way, arriving around 10:40. {PORTAL_URL_PLACEHOLDER}"
    assert {m.created_by for m in written} == {dispatcher}
    assert all(m.attempts == 0 and m.claimed_by == "" and m.lease_until is None for m in written)
    assert OutboxMessage.objects.count() == 2


def test_notify_stores_the_placeholder_and_the_link_id_never_the_secret(job):
    written = notify(job=job, notice=Notice.ON_THE_WAY)

    link = PortalLink.objects.get(job=job)
    assert link.label == "Sent with notifications"
    secret = token_for(link)
    for message in written:
        assert message.data == {"portal_link": link.pk}
        assert PORTAL_URL_PLACEHOLDER in message.body
        assert not any(secret in text for text in _fields(message))
    # The next notification reuses the job's active link rather than minting another.
    notify(job=job, notice=Notice.ARRIVED)
    notify(job=job, notice=Notice.COMPLETED)
    assert PortalLink.objects.filter(job=job).count() == 1


def test_a_notice_without_the_portal_url_carries_no_link(job):
    written = notify(job=job, notice=Notice.ARRIVED)

    assert [m.data for m in written] == [{}, {}]
    assert not PortalLink.objects.exists()


def test_email_opt_out_skips_the_email_only(job, customer):
    customer.email_opt_out = True
    customer.save()

    written = notify(job=job, notice=Notice.ARRIVED)

    assert [(m.channel, m.status, m.skip_reason) for m in written] == [
        (Channel.EMAIL, S.SKIPPED, "The customer opted out of emails."),
        (Channel.SMS, S.PENDING, ""),
    ]


def test_sms_opt_out_skips_the_text_only(job, customer):
    customer.sms_opt_out = True
    customer.save()

    written = notify(job=job, notice=Notice.ARRIVED)

    assert [(m.channel, m.status, m.skip_reason) for m in written] == [
        (Channel.EMAIL, S.PENDING, ""),
        (Channel.SMS, S.SKIPPED, "The customer opted out of text messages."),
    ]


def test_no_address_on_file_is_a_skip_with_its_reason(job, customer):
    customer.email, customer.phone = "", ""
    customer.save()

    written = notify(job=job, notice=Notice.ARRIVED)

    assert [(m.channel, m.status, m.skip_reason, m.recipient) for m in written] == [
        (Channel.EMAIL, S.SKIPPED, "No email address on file.", ""),
        (Channel.SMS, S.SKIPPED, "No phone number on file.", ""),
    ]


def test_the_jobs_contact_is_preferred_over_the_customer(job, customer):
    job.contact = ContactFactory(customer=customer, name="Tenant Tom", email="tom@example.com", phone="555-0177")
    job.save()

    written = notify(job=job, notice=Notice.ARRIVED)

    assert [m.recipient for m in written] == ["tom@example.com", "555-0177"]
    assert written[0].body.startswith("Hello Tenant Tom,")


def test_a_muted_job_skips_automatic_notices_only(job, dispatcher):
    JobNotificationMute.objects.create(job=job, muted_by=dispatcher)

    automatic = notify(job=job, notice=Notice.ARRIVED, automatic=True)
    by_hand = notify(job=job, notice=Notice.OFFICE_MESSAGE, actor=dispatcher, context={"message": "We are running late"})

    assert [(m.status, m.skip_reason) for m in automatic] == [(S.SKIPPED, "Automatic notifications are off for this job.")] * 2
    assert [m.status for m in by_hand] == [S.PENDING, S.PENDING]


def test_mute_is_reported_before_opt_out(job, customer, dispatcher):
    customer.email_opt_out = True
    customer.save()
    JobNotificationMute.objects.create(job=job, muted_by=dispatcher)

    written = notify(job=job, notice=Notice.ARRIVED, automatic=True)

    assert [m.skip_reason for m in written] == ["Automatic notifications are off for this job."] * 2


def test_send_after_holds_a_reminder_back(job):
    later = timezone.now() + timedelta(hours=20)
    visit = job.visits.get()

    written = notify(
        job=job, notice=Notice.APPOINTMENT_REMINDER, visit=visit, send_after=later, data={"visit_start": visit.scheduled_start.isoformat()}, automatic=True
    )

    assert [m.next_attempt_at for m in written] == [later, later]
    assert [m.visit_id for m in written] == [visit.pk, visit.pk]
    assert written[0].data["visit_start"] == visit.scheduled_start.isoformat()
    assert delivery.claim("w", 10) == []  # not due yet


def test_channels_can_be_limited(job):
    written = notify(job=job, notice=Notice.ARRIVED, channels=(Channel.SMS,))

    assert [m.channel for m in written] == [Channel.SMS]


def test_the_companys_template_is_used(job, owner):
    MessageTemplate.objects.create(
        notice=Notice.ARRIVED, channel=Channel.SMS, body="{{ technician }} is at {{ address }} for {{ job_number }}", updated_by=owner
    )

    sms = notify(job=job, notice=Notice.ARRIVED)[1]

    assert sms.body == f"Alex is at {job.location.one_line} for J-000042"


def test_a_long_text_message_is_cut(job, owner):
    MessageTemplate.objects.create(notice=Notice.ARRIVED, channel=Channel.SMS, body="x" * 2000, updated_by=owner)

    sms = notify(job=job, notice=Notice.ARRIVED)[1]

    assert len(sms.body) == SMS_MAX_CHARS


def _notify_then_fail(job) -> None:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        notify(job=job, notice=Notice.ON_THE_WAY)
        assert OutboxMessage.objects.count() == 2  # written inside the transaction…
        raise RuntimeError("the event failed")


def test_a_rolled_back_change_writes_and_sends_nothing(job):
    events = JobEvent.objects.count()

    with pytest.raises(RuntimeError, match="the event failed"):
        _notify_then_fail(job)

    assert OutboxMessage.objects.count() == 0  # …and gone with it, the portal link too
    assert PortalLink.objects.count() == 0
    assert JobEvent.objects.count() == events
    assert delivery.deliver_due("w", 10) == {"claimed": 0}
    assert mail.outbox == []


def test_alert_office_emails_the_office_address(job):
    settings = MessagingSettings.current()
    settings.office_email = "office@northwind.example"
    settings.save()

    alert = alert_office(job=job, subject="Rosa approved change order 1", body="Approved by Rosa Diaz.")

    assert alert is not None
    assert (alert.notice, alert.channel, alert.recipient, alert.status) == (Notice.OFFICE_ALERT, Channel.EMAIL, "office@northwind.example", S.PENDING)
    assert (alert.subject, alert.body, alert.data, alert.job_id) == ("Rosa approved change order 1", "Approved by Rosa Diaz.", {"to_office": True}, job.pk)


def test_alert_office_without_an_office_address_writes_nothing(job):
    assert alert_office(job=job, subject="s", body="b") is None
    assert OutboxMessage.objects.count() == 0
