"""delivery.py: claiming under a lease, sending, retrying with backoff, giving up, and everything that is
checked again at send time. Email goes to Django's in-memory outbox (the test backend) and texts to the
recording provider in a temporary folder; the channels against real servers are in test_channels_*."""

import json
import threading
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.messaging import channels, delivery
from serviceopus.messaging.links import PORTAL_URL_PLACEHOLDER, link_revoke, portal_url, token_for
from serviceopus.messaging.models import Channel, MessagingSettings, Notice, OutboxMessage, PortalLink
from serviceopus.messaging.outbox import notify
from tests.factories import CustomerFactory, JobFactory, LocationFactory, VisitFactory

S = OutboxMessage.Status


@pytest.fixture(autouse=True)
def _sms_folder(tmp_path, settings):  # type: ignore[no-untyped-def]
    settings.SMS_PROVIDER = "serviceopus.messaging.channels.RecordingSmsProvider"
    settings.SMS_RECORD_PATH = str(tmp_path / "sms")
    settings.OUTBOX_MAX_ATTEMPTS = 4
    settings.OUTBOX_LEASE_SECONDS = 60


@pytest.fixture
def job(db):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Rosa Diaz", email="rosa@example.com", phone="+1 555 010 0199")
    return JobFactory(location=LocationFactory(customer=customer))


def pending(job, *, channel=Channel.EMAIL, notice=Notice.OFFICE_MESSAGE, body="We are running late.", **fields) -> OutboxMessage:  # type: ignore[no-untyped-def]
    recipient = "rosa@example.com" if channel == Channel.EMAIL else "+1 555 010 0199"
    return OutboxMessage.objects.create(
        job=job, notice=notice, channel=channel, recipient=recipient, subject="About your job" if channel == Channel.EMAIL else "", body=body, **fields
    )


def sms_records(settings) -> list[dict]:  # type: ignore[no-untyped-def]
    path = f"{settings.SMS_RECORD_PATH}/messages.jsonl"
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def claimed_one(worker: str = "w1") -> OutboxMessage:
    claimed = delivery.claim(worker, 1)
    assert len(claimed) == 1
    return claimed[0]


# ---- claim -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_claim_takes_due_messages_oldest_first_under_a_lease(job):
    now = timezone.now()
    late = pending(job, next_attempt_at=now - timedelta(minutes=1))
    early = pending(job, next_attempt_at=now - timedelta(minutes=5))
    pending(job, next_attempt_at=now + timedelta(minutes=5))  # not due
    pending(job, status=S.SKIPPED)
    pending(job, status=S.SENT)
    pending(job, status=S.SUPPRESSED)
    pending(job, status=S.FAILED)

    claimed = delivery.claim("w1", 10)

    assert [m.pk for m in claimed] == [early.pk, late.pk]
    for m in claimed:
        assert (m.status, m.claimed_by, m.attempts) == (S.SENDING, "w1", 1)
        assert now + timedelta(seconds=59) < m.lease_until <= timezone.now() + timedelta(seconds=60)
    assert OutboxMessage.objects.filter(status=S.SENDING).count() == 2
    assert delivery.claim("w2", 10) == []  # held by w1's lease


@pytest.mark.django_db
def test_claim_respects_the_limit(job):
    made = [pending(job) for _ in range(5)]

    assert [m.pk for m in delivery.claim("w1", 2)] == [made[0].pk, made[1].pk]
    assert [m.pk for m in delivery.claim("w2", 2)] == [made[2].pk, made[3].pk]
    assert OutboxMessage.objects.get(pk=made[4].pk).status == S.PENDING


@pytest.mark.django_db
def test_an_expired_lease_is_claimed_again_by_another_worker(job):
    message = pending(job)
    delivery.claim("dead", 1)
    OutboxMessage.objects.filter(pk=message.pk).update(lease_until=timezone.now() - timedelta(seconds=1))

    again = delivery.claim("alive", 1)

    assert [(m.pk, m.claimed_by, m.attempts, m.status) for m in again] == [(message.pk, "alive", 2, S.SENDING)]
    # The dead worker, were it to wake up, no longer owns it: it sends nothing.
    stale = OutboxMessage.objects.get(pk=message.pk)
    stale.claimed_by = "dead"
    assert delivery.send_one(stale) == "not_ours"
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_lease_that_ran_out_on_the_last_attempt_fails_the_message(job, settings):
    message = pending(job, status=S.SENDING, claimed_by="dead", attempts=settings.OUTBOX_MAX_ATTEMPTS, lease_until=timezone.now() - timedelta(seconds=1))

    assert delivery.claim("alive", 10) == []

    message.refresh_from_db()
    assert (message.status, message.attempts, message.lease_until, message.last_error) == (S.FAILED, 4, None, delivery.LEASE_RAN_OUT)


# ---- send_one ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_email_is_sent_with_its_stable_message_id(job):
    message = pending(job)
    claimed = claimed_one()

    assert delivery.send_one(claimed) == "sent"

    [sent] = mail.outbox
    assert (sent.to, sent.subject, sent.body, sent.extra_headers["Message-ID"]) == (
        ["rosa@example.com"],
        "About your job",
        "We are running late.",
        message.message_id,
    )
    assert sent.from_email == "Northwind Home Services <service@northwind.example>"
    message.refresh_from_db()
    assert (message.status, message.provider_ref, message.lease_until, message.attempts, message.last_error) == (S.SENT, message.message_id, None, 1, "")
    assert message.sent_at is not None


@pytest.mark.django_db
def test_customer_email_replies_go_to_the_office_and_office_alerts_have_no_reply_to(job):
    settings_row = MessagingSettings.current()
    settings_row.office_email = "office@northwind.example"
    settings_row.save()
    pending(job)
    pending(job, notice=Notice.OFFICE_ALERT, data={"to_office": True})

    assert delivery.deliver_due("w1", 10) == {"claimed": 2, "sent": 2}

    assert [m.reply_to for m in mail.outbox] == [["office@northwind.example"], []]


@pytest.mark.django_db
def test_a_text_is_sent_through_the_configured_provider(job, settings):
    message = pending(job, channel=Channel.SMS, body="Alex has arrived.")

    assert delivery.send_one(claimed_one()) == "sent"

    [record] = sms_records(settings)
    assert (record["message_id"], record["to"], record["body"]) == (str(message.uid), "+15550100199", "Alex has arrived.")
    message.refresh_from_db()
    assert (message.status, message.provider_ref) == (S.SENT, f"recorded:{message.uid}")


@pytest.mark.django_db
def test_the_portal_url_is_resolved_at_send_time_and_never_stored(job):
    written = notify(job=job, notice=Notice.ON_THE_WAY)
    link = PortalLink.objects.get(job=job)
    url = portal_url(link)

    assert delivery.deliver_due("w1", 10) == {"claimed": 2, "sent": 2}

    [sent] = mail.outbox
    assert url.startswith("http://127.0.0.1:8000/p/")
    assert token_for(link) in url
    assert f"Follow along: {url}\n" in sent.body
    for message in written:
        message.refresh_from_db()
        assert message.status == S.SENT
        assert PORTAL_URL_PLACEHOLDER in message.body
        assert token_for(link) not in message.body + message.subject + json.dumps(message.data)


@pytest.mark.django_db
def test_a_revoked_link_is_replaced_by_the_jobs_current_one(job, dispatcher):
    [email, _sms] = notify(job=job, notice=Notice.ON_THE_WAY)
    old = PortalLink.objects.get(job=job)
    link_revoke(actor=dispatcher, link_id=old.pk)

    assert delivery.send_one(claimed_one()) == "sent"

    new = PortalLink.objects.exclude(pk=old.pk).get(job=job)
    assert new.is_active()
    email.refresh_from_db()
    assert email.data == {"portal_link": new.pk}
    assert portal_url(new) in mail.outbox[0].body
    assert token_for(old) not in mail.outbox[0].body


@pytest.mark.django_db
def test_a_temporary_failure_backs_off_and_keeps_the_message(job, monkeypatch):
    message = pending(job)

    def down(**kwargs):  # type: ignore[no-untyped-def]
        raise channels.TemporaryError("The mail server could not be reached: ConnectionRefusedError.")

    monkeypatch.setattr(channels, "send_email", down)
    before = timezone.now()

    assert delivery.send_one(claimed_one()) == "retry"

    message.refresh_from_db()
    assert (message.status, message.attempts, message.lease_until, message.claimed_by) == (S.PENDING, 1, None, "w1")
    assert message.last_error == "The mail server could not be reached: ConnectionRefusedError."
    # 30 s × 2^0 with jitter (75–100 %).
    assert before + timedelta(seconds=22) <= message.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    assert delivery.claim("w1", 10) == []  # not due again yet


@pytest.mark.parametrize(("attempts", "low", "high"), [(1, 22.5, 30), (2, 45, 60), (3, 90, 120), (8, 2700, 3600), (20, 2700, 3600)])
def test_backoff_doubles_with_jitter_up_to_an_hour(attempts, low, high):
    waits = [delivery.backoff(attempts).total_seconds() for _ in range(50)]

    assert all(low <= w <= high for w in waits)
    assert len(set(waits)) > 1  # jittered


@pytest.mark.django_db
def test_the_last_attempt_fails_the_message(job, monkeypatch):
    message = pending(job)
    monkeypatch.setattr(channels, "send_email", lambda **kw: (_ for _ in ()).throw(channels.TemporaryError("The mail server answered 421.")))

    outcomes = []
    for _ in range(4):
        OutboxMessage.objects.filter(pk=message.pk, status=S.PENDING).update(next_attempt_at=timezone.now())
        outcomes.append(delivery.send_one(claimed_one()))

    assert outcomes == ["retry", "retry", "retry", "failed"]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error, message.lease_until) == (S.FAILED, 4, "The mail server answered 421.", None)
    assert delivery.claim("w1", 10) == []


@pytest.mark.django_db
def test_a_permanent_failure_fails_at_once(job, monkeypatch):
    message = pending(job)
    monkeypatch.setattr(channels, "send_email", lambda **kw: (_ for _ in ()).throw(channels.PermanentError("The mail server refused the address (550).")))

    assert delivery.send_one(claimed_one()) == "failed"

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (S.FAILED, 1, "The mail server refused the address (550).")


@pytest.mark.django_db
def test_an_unexpected_error_is_retried_and_never_stores_the_secret(job, monkeypatch):
    notify(job=job, notice=Notice.ON_THE_WAY, channels=(Channel.SMS,))
    secret = token_for(PortalLink.objects.get(job=job))

    def broken(*, to, body, message_id):  # type: ignore[no-untyped-def]
        raise ValueError(f"cannot encode {body}")

    monkeypatch.setattr(channels, "send_sms", broken)

    assert delivery.send_one(claimed_one()) == "retry"

    message = OutboxMessage.objects.get()
    assert message.last_error.startswith("ValueError: cannot encode ")
    assert "[secret]" in message.last_error
    assert secret not in message.last_error
    assert len(message.last_error) <= delivery.ERROR_MAX_CHARS


@pytest.mark.django_db
def test_a_message_suppressed_after_it_was_claimed_is_not_sent(job):
    message = pending(job)
    claimed = claimed_one()
    OutboxMessage.objects.filter(pk=message.pk).update(status=S.SUPPRESSED)  # the dispatcher, meanwhile

    assert delivery.send_one(claimed) == "not_ours"

    assert mail.outbox == []
    message.refresh_from_db()
    assert (message.status, message.sent_at, message.provider_ref) == (S.SUPPRESSED, None, "")


@pytest.mark.django_db
def test_a_message_suppressed_while_on_the_wire_is_recorded_as_sent(job, monkeypatch):
    message = pending(job)
    real = channels.send_email

    def suppressed_mid_send(**kwargs):  # type: ignore[no-untyped-def]
        OutboxMessage.objects.filter(pk=message.pk).update(status=S.SUPPRESSED)
        return real(**kwargs)

    monkeypatch.setattr(channels, "send_email", suppressed_mid_send)

    assert delivery.send_one(claimed_one()) == "sent"

    message.refresh_from_db()
    assert (message.status, len(mail.outbox)) == (S.SENT, 1)


def _reminder(job, visit):  # type: ignore[no-untyped-def]
    return pending(job, notice=Notice.APPOINTMENT_REMINDER, visit=visit, data={"visit_start": visit.scheduled_start.isoformat()})


@pytest.mark.django_db
@pytest.mark.parametrize("zone", [UTC, ZoneInfo("America/Chicago")], ids=["utc", "chicago"])
def test_a_reminder_for_an_unchanged_appointment_is_sent(job, zone):
    visit = VisitFactory(job=job, scheduled_start=timezone.now() + timedelta(days=1))
    # The same instant written with any offset is the same appointment.
    pending(job, notice=Notice.APPOINTMENT_REMINDER, visit=visit, data={"visit_start": visit.scheduled_start.astimezone(zone).isoformat()})

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "sent": 1}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"scheduled_start": timezone.now() + timedelta(days=2)},
        {"status": VisitStatus.CANCELLED},
        {"status": VisitStatus.COMPLETED},
        {"scheduled_start": None, "window_start": None, "window_end": None, "status": VisitStatus.UNSCHEDULED},
    ],
    ids=["moved", "cancelled", "completed", "unscheduled"],
)
def test_a_stale_reminder_is_skipped(job, change):
    visit = VisitFactory(job=job, scheduled_start=timezone.now() + timedelta(days=1))
    message = _reminder(job, visit)
    Visit.objects.filter(pk=visit.pk).update(**change)

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "skipped": 1}

    message.refresh_from_db()
    assert (message.status, message.skip_reason, message.lease_until, message.sent_at) == (S.SKIPPED, "The appointment moved or was cancelled.", None, None)
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_reminder_whose_visit_is_gone_is_skipped(job):
    visit = VisitFactory(job=job, scheduled_start=timezone.now() + timedelta(days=1))
    message = _reminder(job, visit)
    visit.delete()

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "skipped": 1}
    message.refresh_from_db()
    assert (message.status, message.visit_id) == (S.SKIPPED, None)


# ---- deliver_due and the worker command ----------------------------------------------------------------


@pytest.mark.django_db
def test_deliver_due_counts_each_outcome(job, monkeypatch):
    pending(job)
    pending(job, channel=Channel.SMS)
    pending(job, channel=Channel.SMS, body="bad")
    real = channels.send_sms

    def flaky(*, to, body, message_id):  # type: ignore[no-untyped-def]
        if body == "bad":
            raise channels.TemporaryError("The SMS provider answered 503.")
        return real(to=to, body=body, message_id=message_id)

    monkeypatch.setattr(channels, "send_sms", flaky)

    assert delivery.deliver_due("w1", 10) == {"claimed": 3, "sent": 2, "retry": 1}


@pytest.mark.django_db
def test_a_stop_request_finishes_the_current_message_and_releases_the_rest(job):
    made = [pending(job) for _ in range(4)]
    asked = iter([False, True])

    counts = delivery.deliver_due("w1", 10, should_stop=lambda: next(asked))

    assert counts == {"claimed": 4, "sent": 1, "released": 3}
    rows = list(OutboxMessage.objects.filter(pk__in=[m.pk for m in made]).order_by("pk").values_list("status", "attempts", "claimed_by", "lease_until"))
    assert rows == [(S.SENT, 1, "w1", None)] + [(S.PENDING, 0, "", None)] * 3


# The command runs as its own process, where it closes stale connections between batches: in a test it
# needs real commits (transaction=True), not the test case's one long transaction.


@pytest.mark.django_db(transaction=True)
def test_the_worker_command_once_sends_everything_due(job):
    for _ in range(5):
        pending(job)
    pending(job, channel=Channel.SMS)

    call_command("outbox_worker", "--once", "--batch", "2", "--worker-id", "cron")

    assert OutboxMessage.objects.filter(status=S.SENT, claimed_by="cron").count() == 6
    assert len(mail.outbox) == 5


@pytest.mark.django_db(transaction=True)
def test_the_worker_stops_on_sigterm_after_the_current_message(job, monkeypatch):
    import os
    import signal

    for _ in range(3):
        pending(job)
    real = channels.send_email
    sends = []

    def send_then_sigterm(**kwargs):  # type: ignore[no-untyped-def]
        sends.append(kwargs["message_id"])
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the first message is being sent
        return real(**kwargs)

    monkeypatch.setattr(channels, "send_email", send_then_sigterm)
    before = signal.getsignal(signal.SIGTERM)

    call_command("outbox_worker", "--batch", "3", "--interval", "0")

    assert len(sends) == 1
    assert sorted(OutboxMessage.objects.values_list("status", flat=True)) == [S.PENDING, S.PENDING, S.SENT]
    assert signal.getsignal(signal.SIGTERM) is before  # the command put the test process's handler back


# ---- two workers at once ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_claim_the_same_message():
    job = JobFactory()
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(job=job, notice=Notice.OFFICE_MESSAGE, channel=Channel.EMAIL, recipient="a@example.com", body=f"n{i}") for i in range(120)]
    )
    workers = 4
    barrier = threading.Barrier(workers)
    taken: dict[str, list[int]] = {f"w{i}": [] for i in range(workers)}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            while batch := delivery.claim(name, 3):
                taken[name].extend(m.pk for m in batch)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    every = [pk for pks in taken.values() for pk in pks]
    assert len(every) == len(set(every)) == 120
    assert sum(1 for pks in taken.values() if pks) > 1  # they really ran side by side
    by_worker = dict(OutboxMessage.objects.values_list("pk", "claimed_by"))
    assert all(by_worker[pk] == name for name, pks in taken.items() for pk in pks)
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(S.SENDING, 1)}
