"""Text messages: the HTTP provider against a local fake of an SMS service (what it posts, how answers
turn into retries or failures, the idempotency key that makes a resend harmless), the recording
provider that is the default, and phone number clean-up."""

import json

import pytest
from django.utils import timezone

from serviceopus.messaging import delivery
from serviceopus.messaging.channels import HttpSmsProvider, PermanentError, RecordingSmsProvider, get_sms_provider, normalise_phone
from serviceopus.messaging.links import portal_url
from serviceopus.messaging.models import Channel, Notice, OutboxMessage, PortalLink
from serviceopus.messaging.outbox import notify
from serviceopus.messaging.tests.fakes import SmsProviderFake, free_port
from tests.factories import CustomerFactory, JobFactory, LocationFactory, VisitFactory

S = OutboxMessage.Status


@pytest.fixture
def provider(settings):  # type: ignore[no-untyped-def]
    fake = SmsProviderFake(token="sms-secret-token")
    settings.SMS_PROVIDER = "serviceopus.messaging.channels.HttpSmsProvider"
    settings.SMS_HTTP_URL, settings.SMS_HTTP_TOKEN, settings.SMS_FROM = fake.url, "sms-secret-token", "+15550100"
    settings.OUTBOX_MAX_ATTEMPTS = 5
    with fake:
        yield fake


@pytest.fixture
def job(db, tech_a):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Rosa Diaz", email="", phone="+1 (555) 010-0199")
    job = JobFactory(location=LocationFactory(customer=customer), number="J-000042")
    VisitFactory(job=job, crew=[tech_a])
    return job


def text(job, body="Alex has arrived.") -> OutboxMessage:  # type: ignore[no-untyped-def]
    return OutboxMessage.objects.create(job=job, notice=Notice.ARRIVED, channel=Channel.SMS, recipient="+1 (555) 010-0199", body=body)


def due_again(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk, status=S.PENDING).update(next_attempt_at=timezone.now())


# ---- the HTTP provider --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_text_is_posted_with_its_idempotency_key_and_the_token(provider, job):
    [sms] = notify(job=job, notice=Notice.ON_THE_WAY, channels=(Channel.SMS,), context={"eta": "10:40"})
    url = portal_url(PortalLink.objects.get(job=job))

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "sent": 1}

    [request] = provider.requests
    assert request.key == str(sms.uid)
    assert request.authorization == "Bearer sms-secret-token"
    assert request.payload == {"to": "+15550100199", "from": "+15550100", "body": f"Service Opus Demo Co.: Alex is on the way, arriving around 10:40. {url}"}
    assert provider.delivered[str(sms.uid)]["id"] == "sms_1"
    sms.refresh_from_db()
    assert (sms.status, sms.provider_ref, sms.attempts) == (S.SENT, "sms_1", 1)


@pytest.mark.django_db
def test_server_errors_are_retried_until_the_provider_takes_it(provider, job):
    message = text(job)
    provider.fail_next(2, status=500)

    outcomes = []
    for _ in range(3):
        outcomes.extend(delivery.deliver_due("w1", 10).elements())
        due_again(message)

    assert [o for o in outcomes if o != "claimed"] == ["retry", "retry", "sent"]
    assert [r.status for r in provider.requests] == [500, 500, 200]
    assert {r.key for r in provider.requests} == {str(message.uid)}
    assert len(provider.delivered) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_ref, message.last_error) == (S.SENT, 3, "sms_1", "")


@pytest.mark.django_db
@pytest.mark.parametrize("status", [408, 429, 502, 503, 401, 403])
def test_answers_that_may_change_are_temporary(provider, job, status):
    message = text(job)
    provider.fail_next(1, status=status)

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "retry": 1}

    message.refresh_from_db()
    assert message.status == S.PENDING
    assert str(status) in message.last_error
    assert "sms-secret-token" not in message.last_error


@pytest.mark.django_db
@pytest.mark.parametrize("status", [400, 404, 422])
def test_a_refused_message_fails_at_once(provider, job, status):
    message = text(job)
    provider.fail_next(1, status=status)

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "failed": 1}

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (S.FAILED, 1, f"The SMS provider refused the message ({status}).")
    assert provider.delivered == {}


@pytest.mark.django_db
def test_a_timed_out_send_is_retried_with_the_same_key_and_reaches_the_customer_once(provider, job, monkeypatch):
    monkeypatch.setattr(HttpSmsProvider, "TIMEOUT_SECONDS", 0.3)
    message = text(job)
    provider.slow_next(1, 1.0)  # the provider takes the text but its answer comes too late

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "retry": 1}
    message.refresh_from_db()
    assert (message.status, message.last_error) == (S.PENDING, "The SMS provider could not be reached: TimeoutError.")
    due_again(message)
    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "sent": 1}

    assert provider.sent_count(str(message.uid)) == 2  # twice on the wire…
    assert list(provider.delivered) == [str(message.uid)]  # …once to the phone
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_ref) == (S.SENT, 2, "sms_1")


@pytest.mark.django_db
def test_an_unreachable_provider_is_retried(settings, job):
    settings.SMS_PROVIDER = "serviceopus.messaging.channels.HttpSmsProvider"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{free_port()}/messages"
    message = text(job)

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "retry": 1}

    message.refresh_from_db()
    assert message.last_error == "The SMS provider could not be reached: ConnectionRefusedError."


@pytest.mark.django_db
def test_a_provider_without_a_url_is_a_temporary_error(settings, job):
    settings.SMS_PROVIDER = "serviceopus.messaging.channels.HttpSmsProvider"
    settings.SMS_HTTP_URL = ""
    message = text(job)

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "retry": 1}

    message.refresh_from_db()
    assert message.last_error == "SMS_HTTP_URL is not set to an http(s) address."


@pytest.mark.django_db
def test_a_number_that_is_no_number_fails_without_a_request(provider, job):
    message = OutboxMessage.objects.create(job=job, notice=Notice.ARRIVED, channel=Channel.SMS, recipient="call the office", body="Hi")

    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "failed": 1}

    message.refresh_from_db()
    assert message.last_error == "No usable phone number."
    assert provider.requests == []


def test_a_2xx_without_an_id_keeps_the_message_id_as_reference(settings):
    with SmsProviderFake() as fake:
        settings.SMS_HTTP_URL, settings.SMS_HTTP_TOKEN = fake.url, fake.token
        fake.delivered["k1"] = {"id": ""}  # answers {"id": ""}

        assert HttpSmsProvider().send(to="5550100199", body="Hi", message_id="k1") == "k1"


# ---- the recording provider ------------------------------------------------------------------------------


def _lines(path) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_recording_provider_writes_one_line_per_message_and_dedups(settings, tmp_path):
    settings.SMS_RECORD_PATH = str(tmp_path / "sms")
    provider = RecordingSmsProvider()

    assert provider.send(to="+1 (555) 010-0199", body="First", message_id="id-1") == "recorded:id-1"
    assert provider.send(to="555.010.0100", body="Second", message_id="id-2") == "recorded:id-2"
    assert provider.send(to="+1 (555) 010-0199", body="First", message_id="id-1") == "recorded:id-1"
    # A fresh process (no memory of the file) still finds id-1 in it.
    RecordingSmsProvider._seen.clear()
    assert RecordingSmsProvider().send(to="+15550100199", body="First", message_id="id-1") == "recorded:id-1"

    records = _lines(tmp_path / "sms" / "messages.jsonl")
    assert [(r["message_id"], r["to"], r["body"]) for r in records] == [("id-1", "+15550100199", "First"), ("id-2", "5550100100", "Second")]


def test_the_recording_provider_survives_a_torn_last_line(settings, tmp_path):
    settings.SMS_RECORD_PATH = str(tmp_path)
    RecordingSmsProvider._seen.clear()
    (tmp_path / "messages.jsonl").write_text(json.dumps({"message_id": "id-1", "to": "1", "body": "x", "at": ""}) + '\n{"message_id": "id-2", "to')

    RecordingSmsProvider().send(to="5550100199", body="Again", message_id="id-2")
    RecordingSmsProvider().send(to="5550100199", body="One", message_id="id-1")

    lines = (tmp_path / "messages.jsonl").read_text().splitlines()
    assert [json.loads(line)["message_id"] for line in (lines[0], lines[2])] == ["id-1", "id-2"]
    assert len(lines) == 3  # the torn line stays, unread; id-2 is recorded on a line of its own, id-1 not again


@pytest.mark.django_db
def test_the_default_provider_records_through_the_outbox(settings, tmp_path, job):
    settings.SMS_PROVIDER = "serviceopus.messaging.channels.RecordingSmsProvider"
    settings.SMS_RECORD_PATH = str(tmp_path)
    message = text(job)

    assert isinstance(get_sms_provider(), RecordingSmsProvider)
    assert delivery.deliver_due("w1", 10) == {"claimed": 1, "sent": 1}

    [record] = _lines(tmp_path / "messages.jsonl")
    assert (record["message_id"], record["to"], record["body"]) == (str(message.uid), "+15550100199", "Alex has arrived.")


def test_get_sms_provider_builds_the_configured_class(settings):
    settings.SMS_PROVIDER = "serviceopus.messaging.channels.HttpSmsProvider"
    settings.SMS_HTTP_URL = "https://sms.example/v1/messages"

    provider = get_sms_provider()

    assert isinstance(provider, HttpSmsProvider)
    assert provider.url == "https://sms.example/v1/messages"


# ---- phone numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "number"),
    [("+1 (555) 010-0199", "+15550100199"), ("555.010.0199", "5550100199"), (" +44 20 7946 0958 ", "+442079460958"), ("0049-30-1234567", "0049301234567")],
)
def test_phone_numbers_are_cleaned_lightly(typed, number):
    assert normalise_phone(typed) == number


@pytest.mark.parametrize("typed", ["", "call me", "12345", "+1234567890123456"])
def test_something_that_is_no_phone_number_is_permanent(typed):
    with pytest.raises(PermanentError, match="No usable phone number"):
        normalise_phone(typed)
