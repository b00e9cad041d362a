"""Webhook subscriptions (webhooks/subscriptions.py), signing (signing.py) and fan-out (delivery.fan_out):
what an admin may set, what is refused and that a refusal saves nothing."""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from serviceopus.automation.events import emit
from serviceopus.automation.models import AutomationEvent, DeliveryStatus, EventStatus, EventType, WebhookDelivery, WebhookSubscription
from serviceopus.automation.models.events import WEBHOOK_TYPES
from serviceopus.automation.webhooks import delivery, signing, subscriptions
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db

ALL = [t.value for t in WEBHOOK_TYPES]


def subscribe(actor, **overrides) -> WebhookSubscription:  # type: ignore[no-untyped-def]
    data = {"name": "Accounting", "url": "https://hooks.example.com/service-opus", "event_types": [EventType.INVOICE_ISSUED, EventType.PAYMENT_RECORDED]}
    return subscriptions.subscription_create(actor=actor, **{**data, **overrides})


def rows() -> tuple[list, list, list]:
    return (
        list(WebhookSubscription.objects.order_by("pk").values()),
        list(WebhookDelivery.objects.order_by("pk").values()),
        list(AutomationEvent.objects.order_by("pk").values()),
    )


# ---- create and its validation -------------------------------------------------------------------------


def test_create_stores_the_subscription_with_a_secret_of_its_own(owner):
    first = subscribe(owner, event_types=[EventType.PAYMENT_RECORDED, EventType.JOB_CREATED, EventType.JOB_CREATED])
    second = subscribe(owner, name="CRM")

    assert (first.name, first.url, first.active, first.version, first.created_by) == ("Accounting", "https://hooks.example.com/service-opus", True, 1, owner)
    # Once each, in the order of WEBHOOK_TYPES.
    assert first.event_types == [EventType.JOB_CREATED, EventType.PAYMENT_RECORDED]
    assert len(first.salt) == 64
    assert first.salt != second.salt
    secret = signing.secret_for(first)
    assert re.fullmatch(r"whsec_[0-9a-f]{64}", secret)
    assert secret != signing.secret_for(second)
    # Derived, not stored: no column holds it.
    assert secret not in str(list(WebhookSubscription.objects.values()))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter the URL"),
        ("ftp://hooks.example.com/x", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("hooks.example.com/x", "Only http:// and https://"),
        ("https://user:secret@hooks.example.com/x", "Leave user names and passwords out"),
        ("https://token@hooks.example.com/x", "Leave user names and passwords out"),
        ("https://hooks.example.com/a b", "spaces or control characters"),
        ("https://hooks.example.com/\x00", "spaces or control characters"),
        ("https://", "Enter a valid URL"),
        ("https://hooks.example.com:99999/x", "Enter a valid URL"),
        ("https://" + "a" * 490 + ".com/", "At most 500 characters"),
    ],
)
def test_a_bad_url_is_refused_with_the_reason_and_nothing_is_saved(owner, url, message):
    before = rows()
    with pytest.raises(InvalidInput) as refused:
        subscribe(owner, url=url)
    assert set(refused.value.fields) == {"url"}
    assert message in refused.value.fields["url"]
    assert rows() == before


@pytest.mark.parametrize(
    ("event_types", "message"),
    [
        ([], "Choose at least one event."),
        (None, "Choose at least one event."),
        ("job.created", "Choose at least one event."),
        (["job.created", "job.deleted"], "Unknown event type: job.deleted."),
        # Time-based events belong to rules, a ping to one subscription: neither can be subscribed to.
        ([EventType.JOB_OVERDUE], "Unknown event type: job.overdue."),
        (["ping"], "Unknown event type: ping."),
    ],
)
def test_unknown_or_no_event_types_are_refused_and_nothing_is_saved(owner, event_types, message):
    before = rows()
    with pytest.raises(InvalidInput) as refused:
        subscriptions.subscription_create(actor=owner, name="CRM", url="https://crm.example.com/in", event_types=event_types)
    assert refused.value.fields == {"event_types": message}
    assert rows() == before


def test_every_field_error_at_once(owner):
    with pytest.raises(InvalidInput) as refused:
        subscriptions.subscription_create(actor=owner, name=" ", url="ftp://x", event_types=[])
    assert set(refused.value.fields) == {"name", "url", "event_types"}
    assert not WebhookSubscription.objects.exists()


def test_loopback_and_ports_are_allowed(owner):
    # Receivers on the same machine or network (a relay, a local integration) are the admin's call.
    sub = subscribe(owner, url="http://127.0.0.1:8080/hooks?source=opus")
    assert sub.url == "http://127.0.0.1:8080/hooks?source=opus"


@pytest.mark.parametrize("role", ["manager", "dispatcher", "office"])
def test_only_admins_manage_webhooks(request, owner, role):
    actor = request.getfixturevalue(role)
    sub = subscribe(owner)
    before = rows()
    for call in (
        lambda: subscribe(actor),
        lambda: subscriptions.subscription_update(actor=actor, subscription_id=sub.pk, version=1, name="x", url=sub.url, event_types=ALL),
        lambda: subscriptions.subscription_rotate_secret(actor=actor, subscription_id=sub.pk, version=1),
        lambda: subscriptions.subscription_set_active(actor=actor, subscription_id=sub.pk, version=1, active=False),
        lambda: subscriptions.subscription_delete(actor=actor, subscription_id=sub.pk, version=1),
        lambda: subscriptions.subscription_ping(actor=actor, subscription_id=sub.pk),
    ):
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == "forbidden"
    assert rows() == before


# ---- update, rotate, pause, delete ---------------------------------------------------------------------------


def test_update_is_version_guarded(owner):
    sub = subscribe(owner)
    updated = subscriptions.subscription_update(
        actor=owner, subscription_id=sub.pk, version=1, name="Ledger", url="https://ledger.example.com/in", event_types=ALL
    )
    assert (updated.name, updated.url, updated.event_types, updated.version, updated.salt) == ("Ledger", "https://ledger.example.com/in", ALL, 2, sub.salt)

    before = rows()
    with pytest.raises(ConflictError) as stale:
        subscriptions.subscription_update(actor=owner, subscription_id=sub.pk, version=1, name="Old tab", url=sub.url, event_types=ALL)
    assert stale.value.code == "stale"
    assert rows() == before


def test_a_refused_update_changes_nothing(owner):
    sub = subscribe(owner)
    before = rows()
    with pytest.raises(InvalidInput) as refused:
        subscriptions.subscription_update(actor=owner, subscription_id=sub.pk, version=1, name="Ledger", url="https://u:p@x.example.com", event_types=["nope"])
    assert set(refused.value.fields) == {"url", "event_types"}
    assert rows() == before


def test_rotating_gives_a_new_secret(owner):
    sub = subscribe(owner)
    old = signing.secret_for(sub)
    rotated = subscriptions.subscription_rotate_secret(actor=owner, subscription_id=sub.pk, version=sub.version)
    assert rotated.salt != sub.salt
    assert rotated.version == 2
    assert signing.secret_for(rotated) != old
    with pytest.raises(ConflictError):
        subscriptions.subscription_rotate_secret(actor=owner, subscription_id=sub.pk, version=1)
    assert WebhookSubscription.objects.get(pk=sub.pk).salt == rotated.salt


def test_pause_and_resume(owner):
    sub = subscribe(owner)
    paused = subscriptions.subscription_set_active(actor=owner, subscription_id=sub.pk, version=1, active=False)
    assert (paused.active, paused.version) == (False, 2)
    resumed = subscriptions.subscription_set_active(actor=owner, subscription_id=sub.pk, version=2, active=True)
    assert (resumed.active, resumed.version) == (True, 3)


def test_delete_takes_the_delivery_log_with_it(owner):
    sub, other = subscribe(owner), subscribe(owner, name="Other")
    job = JobFactory()
    for _ in range(3):
        event = emit(EventType.INVOICE_ISSUED, actor=owner, job=job, data={})
        delivery.fan_out(event)
    assert WebhookDelivery.objects.filter(subscription=sub).count() == 3

    with pytest.raises(ConflictError):
        subscriptions.subscription_delete(actor=owner, subscription_id=sub.pk, version=7)
    assert WebhookSubscription.objects.filter(pk=sub.pk).exists()

    assert subscriptions.subscription_delete(actor=owner, subscription_id=sub.pk, version=1) == 3
    assert not WebhookSubscription.objects.filter(pk=sub.pk).exists()
    assert not WebhookDelivery.objects.filter(subscription_id=sub.pk).exists()
    # The events stay (rules and other subscriptions use them), and so does the other log.
    assert AutomationEvent.objects.count() == 3
    assert WebhookDelivery.objects.filter(subscription=other).count() == 3
    with pytest.raises(DomainError) as gone:
        subscriptions.subscription_delete(actor=owner, subscription_id=sub.pk, version=1)
    assert gone.value.code == "not_found"


# ---- ping and redeliver --------------------------------------------------------------------------------------


def test_ping_queues_one_delivery_of_a_ping_event_nothing_else_reads(owner):
    sub, other = subscribe(owner), subscribe(owner, name="Other", event_types=ALL)
    ping = subscriptions.subscription_ping(actor=owner, subscription_id=sub.pk)

    assert (ping.subscription_id, ping.status, ping.attempts) == (sub.pk, DeliveryStatus.PENDING, 0)
    event = ping.event
    assert (event.type, event.status, event.job_id, event.actor) == ("ping", EventStatus.DONE, None, owner)
    assert event.data == {"message": "A test delivery from Service Opus.", "subscription": {"id": sub.pk, "name": "Accounting"}}
    # Written done, so the engine never picks it up; and fan-out ignores the type.
    assert delivery.fan_out(event) == 0
    assert not WebhookDelivery.objects.filter(subscription=other).exists()


def test_ping_is_refused_while_paused(owner):
    sub = subscribe(owner)
    subscriptions.subscription_set_active(actor=owner, subscription_id=sub.pk, version=1, active=False)
    before = rows()
    with pytest.raises(ConflictError) as refused:
        subscriptions.subscription_ping(actor=owner, subscription_id=sub.pk)
    assert refused.value.code == "inactive"
    assert rows() == before


def test_redeliver_puts_a_failed_delivery_back_with_its_attempts(owner):
    sub = subscribe(owner)
    failed = subscriptions.subscription_ping(actor=owner, subscription_id=sub.pk)
    WebhookDelivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED, attempts=8, last_error="HTTP 500", response_status=500)
    delivered = subscriptions.subscription_ping(actor=owner, subscription_id=sub.pk)
    WebhookDelivery.objects.filter(pk=delivered.pk).update(status=DeliveryStatus.DELIVERED, attempts=1)

    again = subscriptions.delivery_redeliver(actor=owner, subscription_id=sub.pk, delivery_id=failed.pk)
    assert (again.pk, again.uid, again.status, again.attempts) == (failed.pk, failed.uid, DeliveryStatus.PENDING, 8)
    assert again.next_attempt_at <= timezone.now()
    # The last failure stays readable until the next attempt replaces it.
    assert (again.last_error, again.response_status) == ("HTTP 500", 500)

    before = rows()
    for delivery_id, code in ((delivered.pk, "not_failed"), (failed.pk, "not_failed"), (10**9, "not_found")):
        with pytest.raises(DomainError) as refused:
            subscriptions.delivery_redeliver(actor=owner, subscription_id=sub.pk, delivery_id=delivery_id)
        assert refused.value.code == code
    assert rows() == before


def test_redeliver_is_refused_for_another_subscriptions_delivery_or_while_paused(owner):
    sub, other = subscribe(owner), subscribe(owner, name="Other")
    failed = subscriptions.subscription_ping(actor=owner, subscription_id=sub.pk)
    WebhookDelivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED)
    before = rows()
    with pytest.raises(DomainError) as refused:
        subscriptions.delivery_redeliver(actor=owner, subscription_id=other.pk, delivery_id=failed.pk)
    assert refused.value.code == "not_found"
    assert rows() == before
    subscriptions.subscription_set_active(actor=owner, subscription_id=sub.pk, version=1, active=False)
    before = rows()
    with pytest.raises(ConflictError) as paused:
        subscriptions.delivery_redeliver(actor=owner, subscription_id=sub.pk, delivery_id=failed.pk)
    assert paused.value.code == "inactive"
    assert rows() == before


# ---- fan-out -----------------------------------------------------------------------------------------------


def test_fan_out_creates_one_delivery_per_active_subscription_to_the_type_and_is_idempotent(owner):
    accounting = subscribe(owner)
    everything = subscribe(owner, name="Everything", event_types=ALL)
    paused = subscribe(owner, name="Paused", event_types=ALL)
    subscriptions.subscription_set_active(actor=owner, subscription_id=paused.pk, version=1, active=False)
    subscribe(owner, name="Jobs only", event_types=[EventType.JOB_CREATED])
    job = JobFactory()

    issued = emit(EventType.INVOICE_ISSUED, actor=owner, job=job, data={"invoice": {"id": 1}})
    assert delivery.fan_out(issued) == 2
    assert delivery.fan_out(issued) == 2  # processed twice: still one delivery each
    assert sorted(WebhookDelivery.objects.filter(event=issued).values_list("subscription_id", flat=True)) == sorted([accounting.pk, everything.pk])
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.PENDING, 0)}

    # Time-based events are the rules' own: never sent.
    overdue = emit(EventType.JOB_OVERDUE, actor=None, job=job, data={})
    assert delivery.fan_out(overdue) == 0
    assert WebhookDelivery.objects.count() == 2


# ---- signing ---------------------------------------------------------------------------------------------------


def test_sign_and_verify():
    secret, body = "whsec_" + "ab" * 32, b'{"id":"x","type":"job.created"}'
    header = signing.sign(secret, body, timestamp=1_900_000_000)
    assert re.fullmatch(r"t=1900000000,v1=[0-9a-f]{64}", header)
    assert signing.verify(secret, header, body, now=1_900_000_000)
    assert signing.verify(secret, header, body.decode(), now=1_900_000_299)
    # Another secret, another body, a replay after the tolerance, a signature from the future, garbage.
    assert not signing.verify("whsec_other", header, body, now=1_900_000_000)
    assert not signing.verify(secret, header, body + b" ", now=1_900_000_000)
    assert not signing.verify(secret, header, body, now=1_900_000_301)
    assert not signing.verify(secret, header, body, now=1_899_999_600)
    assert not signing.verify(secret, header, body, tolerance=10, now=1_900_000_011)
    for bad in ("", None, "v1=abc", "t=1900000000", "t=x,v1=" + "0" * 64, "t=1900000000,v1=" + "0" * 64, "x" * 2000):
        assert not signing.verify(secret, bad, body, now=1_900_000_000)
    # Several v1 values (as during a receiver's own rotation): one valid is enough.
    digest = header.split("v1=")[1]
    assert signing.verify(secret, f"t=1900000000,v1={'0' * 64},v1={digest}", body, now=1_900_000_000)


def test_the_secret_follows_the_server_key(owner, settings):
    sub = subscribe(owner)
    before = signing.secret_for(sub)
    settings.SECRET_KEY = "another-key-" + "x" * 50
    assert signing.secret_for(sub) != before


def _doc_sample() -> str:
    text = (Path(settings.BASE_DIR) / "docs" / "webhooks.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return next(b for b in blocks if "def verify" in b)


def test_the_verification_sample_in_the_docs_accepts_our_signatures_and_refuses_others():
    namespace: dict = {}
    exec(_doc_sample(), namespace)
    verify = namespace["verify"]
    secret, body = signing.secret_for_salt("s" * 64), b'{"data":{},"id":"1"}'
    header = signing.sign(secret, body)
    assert verify(secret, header, body) is True
    assert verify(secret, header, body + b"x") is False
    assert verify("whsec_wrong", header, body) is False
    assert verify(secret, signing.sign(secret, body, timestamp=int(time.time()) - 600), body) is False
    assert verify(secret, "garbage", body) is False
