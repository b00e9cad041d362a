"""Webhook delivery against a real HTTP receiver on loopback (webhook_receiver.py), which checks every
signature as a real receiver would. Events come from the real actions and are processed by the
automation worker; then retries, permanent failures, timeouts, a worker that dies mid-send, paused
webhooks, and what each attempt leaves in the log.

Transactional tests: the worker claims and marks rows in transactions of its own, as in production."""

import json
from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command, get_commands
from django.utils import timezone

from serviceopus.automation.models import AutomationEvent, DeliveryStatus, EventStatus, EventType, WebhookDelivery, WebhookSubscription
from serviceopus.automation.models.events import WEBHOOK_TYPES
from serviceopus.automation.webhooks import delivery, signing, subscriptions
from serviceopus.billing.actions.invoices import invoice_create, invoice_issue
from serviceopus.billing.actions.payments import payment_record
from serviceopus.billing.models import BillingSettings, TaxRate
from serviceopus.dispatch.actions import visit_transition
from serviceopus.jobs.actions import job_create, job_transition
from serviceopus.jobs.models import BillingType, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, JobTypeFactory, LineItemFactory, LocationFactory, VisitFactory

from .webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)

S = DeliveryStatus
ALL = [t.value for t in WEBHOOK_TYPES]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


def subscribe(owner, receiver: WebhookReceiver, *, path: str = "/hooks", event_types=None, name: str = "Accounting") -> WebhookSubscription:  # type: ignore[no-untyped-def]
    sub = subscriptions.subscription_create(actor=owner, name=name, url=receiver.url(path), event_types=event_types or ALL)
    receiver.secret = receiver.secrets[path] = signing.secret_for(sub)
    return sub


def run_worker() -> None:
    """What production runs: the automation worker, once over everything due. Until the engine's command
    exists, the same two calls it makes for webhooks."""
    if "automation_worker" in get_commands():
        call_command("automation_worker", "--once")
        return
    for event in AutomationEvent.objects.filter(status=EventStatus.PENDING):
        delivery.fan_out(event)
        AutomationEvent.objects.filter(pk=event.pk).update(status=EventStatus.DONE, processed_at=timezone.now())
    delivery.deliver_due("test-worker", 100)


def make_due(*deliveries: WebhookDelivery) -> None:
    """Skip the backoff: the next run takes them."""
    qs = WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]) if deliveries else WebhookDelivery.objects.filter(status=S.PENDING)
    qs.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def one_delivery() -> WebhookDelivery:
    [only] = WebhookDelivery.objects.all()
    return only


def ping(owner, sub: WebhookSubscription) -> WebhookDelivery:  # type: ignore[no-untyped-def]
    return subscriptions.subscription_ping(actor=owner, subscription_id=sub.pk)


# ---- real events, end to end -------------------------------------------------------------------------------


def _invoice_and_payment(office, tech):  # type: ignore[no-untyped-def]
    rate = TaxRate.objects.create(name="State sales tax", rate_milli_percent=8250)
    billing = BillingSettings.current()
    billing.default_tax_rate = rate
    billing.save()
    job = JobFactory(status=JobStatus.WORK_COMPLETE, billing_type=BillingType.FIXED_PRICE, technicians=[tech])
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Furnace repair", quantity=Decimal("1"), unit_price_cents=20000)
    draft = invoice_create(actor=office, job_ids=[job.pk])
    invoice = invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version)
    payment = payment_record(actor=office, invoice_id=invoice.pk, amount_cents=5000, method="card", received_on=timezone.localdate())
    return job, invoice, payment


def test_real_events_are_delivered_signed_once_each_to_the_webhooks_that_want_them(owner, office, tech_a, receiver):
    everything = subscribe(owner, receiver, path="/all")
    money = subscribe(owner, receiver, path="/money", event_types=[EventType.INVOICE_ISSUED, EventType.PAYMENT_RECORDED], name="Money")
    paused = subscribe(owner, receiver, path="/paused", name="Paused")
    subscriptions.subscription_set_active(actor=owner, subscription_id=paused.pk, version=1, active=False)

    location = LocationFactory()
    created = job_create(actor=office, customer_id=location.customer_id, location_id=location.pk, job_type_id=JobTypeFactory().pk, scope="No heat upstairs")
    job_transition(actor=office, job_id=created.pk, to=JobStatus.ON_HOLD, hold_reason="parts")
    visit = VisitFactory(crew=[tech_a])
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to="en_route")
    _, invoice, payment = _invoice_and_payment(office, tech_a)

    run_worker()

    events = {e.uid.hex: e for e in AutomationEvent.objects.filter(type__in=ALL)}
    types = {e.type for e in events.values()}
    assert {EventType.JOB_CREATED, EventType.JOB_STATUS_CHANGED, EventType.VISIT_STATUS_CHANGED, EventType.INVOICE_ISSUED, EventType.PAYMENT_RECORDED} <= types
    got = receiver.received
    assert all(r.signature_valid and r.status == 200 for r in got)
    # Each event once to /all; the invoice and the payment once more to /money; nothing to /paused.
    assert sorted(r.event_id for r in got if r.path == "/all") == sorted(str(e.uid) for e in events.values())
    money_events = [e for e in events.values() if e.type in (EventType.INVOICE_ISSUED, EventType.PAYMENT_RECORDED)]
    assert sorted(r.event_id for r in got if r.path == "/money") == sorted(str(e.uid) for e in money_events)
    assert not [r for r in got if r.path == "/paused"]
    assert not WebhookDelivery.objects.filter(subscription=paused).exists()

    by_delivery = {str(d.uid): d for d in WebhookDelivery.objects.select_related("event")}
    for r in got:
        d = by_delivery[r.headers["X-ServiceOpus-Delivery"]]
        event = d.event
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["User-Agent"] == "ServiceOpus-Webhooks/1"
        assert (r.headers["X-ServiceOpus-Event"], r.event_id) == (event.type, str(event.uid))
        assert r.payload == {
            "id": str(event.uid),
            "type": event.type,
            "created_at": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": event.data,
        }
        # Compact, sorted keys: the bytes signed are the bytes a receiver reads.
        assert r.body == json.dumps(r.payload, sort_keys=True, separators=(",", ":")).encode()
        assert (d.status, d.attempts, d.response_status, d.last_error, d.lease_until) == (S.DELIVERED, 1, 200, "", None)
        assert d.delivered_at is not None
        assert d.duration_ms is not None
        assert d.response_excerpt == '{"ok": true, "note": "verified"}'
    # The same event carries the same id to both webhooks, each delivery its own.
    issued = next(e for e in money_events if e.type == EventType.INVOICE_ISSUED)
    copies = [r for r in got if r.event_id == str(issued.uid)]
    assert len(copies) == 2
    assert len({r.headers["X-ServiceOpus-Delivery"] for r in copies}) == 2

    # The payloads say what happened.
    payloads = {(r.path, r.payload["type"]): r.payload["data"] for r in got}
    assert payloads[("/all", "job.created")]["job"]["id"] == created.pk
    moved = [r.payload["data"] for r in got if r.path == "/all" and r.payload["type"] == "job.status_changed" and r.payload["data"]["job"]["id"] == created.pk]
    assert [(d["from"], d["to"], d["job"]["status"]) for d in moved] == [("new", "on_hold", "on_hold")]
    visit_data = payloads[("/all", "visit.status_changed")]
    assert (visit_data["from"], visit_data["to"], visit_data["visit"]["id"]) == ("scheduled", "en_route", visit.pk)
    assert payloads[("/money", "invoice.issued")]["invoice"]["number"] == invoice.number
    assert payloads[("/money", "payment.recorded")]["payment"] == {
        "id": payment.pk,
        "amount_cents": 5000,
        "method": "card",
        "received_on": str(payment.received_on),
    }
    assert WebhookDelivery.objects.filter(subscription=money).count() == 2
    assert WebhookDelivery.objects.filter(subscription=everything).count() == len(events)

    # Running again sends nothing more.
    run_worker()
    assert len(receiver.received) == len(got)


def test_ping_reaches_the_receiver(owner, receiver):
    sub = subscribe(owner, receiver)
    queued = ping(owner, sub)
    run_worker()
    [r] = receiver.received
    assert r.signature_valid
    assert r.headers["X-ServiceOpus-Event"] == "ping"
    assert r.payload["data"] == {"message": "A test delivery from Service Opus.", "subscription": {"id": sub.pk, "name": "Accounting"}}
    assert WebhookDelivery.objects.get(pk=queued.pk).status == S.DELIVERED


# ---- failures and retries ------------------------------------------------------------------------------------


def test_a_500_then_a_200_is_retried_with_backoff_and_delivered_on_the_second_attempt(owner, receiver):
    sub = subscribe(owner, receiver)
    queued = ping(owner, sub)
    receiver.answer_next(500)

    before = timezone.now()
    run_worker()
    d = one_delivery()
    assert (d.status, d.attempts, d.response_status, d.last_error) == (S.PENDING, 1, 500, 'HTTP 500: {"ok": false, "note": "planned"}')
    # 30 s for the first retry, jittered down to no less than three quarters of it.
    assert before + timedelta(seconds=22) <= d.next_attempt_at <= timezone.now() + timedelta(seconds=30)

    run_worker()  # not due yet
    assert len(receiver.received) == 1

    make_due(d)
    run_worker()
    d.refresh_from_db()
    assert (d.status, d.attempts, d.response_status, d.last_error) == (S.DELIVERED, 2, 200, "")
    first, second = receiver.received
    assert (first.status, second.status) == (500, 200)
    assert first.event_id == second.event_id == str(queued.event.uid)
    assert first.headers["X-ServiceOpus-Delivery"] == second.headers["X-ServiceOpus-Delivery"] == str(queued.uid)
    assert first.signature_valid
    assert second.signature_valid


@pytest.mark.parametrize(
    ("status", "outcome", "error"),
    [
        (400, S.FAILED, 'HTTP 400: {"ok": false, "note": "planned"}'),
        (401, S.FAILED, 'HTTP 401: {"ok": false, "note": "planned"}'),
        (410, S.FAILED, 'HTTP 410: {"ok": false, "note": "planned"}'),
        (302, S.FAILED, "HTTP 302: redirects are not followed; set the webhook's URL to the final address."),
        (408, S.PENDING, 'HTTP 408: {"ok": false, "note": "planned"}'),
        (429, S.PENDING, 'HTTP 429: {"ok": false, "note": "planned"}'),
        (503, S.PENDING, 'HTTP 503: {"ok": false, "note": "planned"}'),
    ],
)
def test_a_4xx_or_a_redirect_fails_at_once_while_408_429_and_5xx_are_retried(owner, receiver, status, outcome, error):
    sub = subscribe(owner, receiver)
    ping(owner, sub)
    receiver.answer_next(status)
    run_worker()
    d = one_delivery()
    assert (d.status, d.attempts, d.response_status, d.last_error, d.delivered_at) == (outcome, 1, status, error, None)
    # A redirect is not followed: the receiver saw one request, at the subscribed path.
    assert [r.path for r in receiver.received] == ["/hooks"]
    make_due(d)
    run_worker()
    d.refresh_from_db()
    assert d.status == (S.FAILED if outcome == S.FAILED else S.DELIVERED)
    assert len(receiver.received) == (1 if outcome == S.FAILED else 2)


def test_a_receiver_that_does_not_answer_times_out_and_is_retried(owner, receiver, monkeypatch):
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 0.5)
    sub = subscribe(owner, receiver)
    ping(owner, sub)
    receiver.hang_next(1, 3.0)

    run_worker()
    d = one_delivery()
    assert (d.status, d.attempts, d.response_status, d.last_error) == (S.PENDING, 1, None, "No answer within 0.5 s.")
    assert 400 <= d.duration_ms < 3000

    make_due(d)
    run_worker()
    d.refresh_from_db()
    assert (d.status, d.attempts, d.response_status) == (S.DELIVERED, 2, 200)
    assert len(set(receiver.event_ids())) == 1


def test_a_receiver_that_is_down_is_retried(owner, receiver):
    sub = subscribe(owner, receiver)
    receiver.stop()  # nothing listens on its port any more
    ping(owner, sub)
    run_worker()
    d = one_delivery()
    assert (d.status, d.attempts, d.response_status) == (S.PENDING, 1, None)
    assert d.last_error.startswith("Could not connect:")


def test_after_the_last_attempt_the_delivery_fails(owner, receiver, monkeypatch):
    monkeypatch.setattr(delivery, "MAX_ATTEMPTS", 3)
    sub = subscribe(owner, receiver)
    ping(owner, sub)
    receiver.answer_next(500, 502, 503)
    for _ in range(3):
        make_due()
        run_worker()
    d = one_delivery()
    assert (d.status, d.attempts, d.response_status, d.last_error) == (S.FAILED, 3, 503, 'HTTP 503: {"ok": false, "note": "planned"}')
    make_due()
    run_worker()
    assert len(receiver.received) == 3


def test_redelivering_a_failed_delivery_sends_the_same_delivery_again(owner, receiver):
    sub = subscribe(owner, receiver)
    queued = ping(owner, sub)
    receiver.answer_next(400)
    run_worker()
    assert one_delivery().status == S.FAILED

    subscriptions.delivery_redeliver(actor=owner, subscription_id=sub.pk, delivery_id=queued.pk)
    run_worker()
    d = one_delivery()
    assert (d.status, d.attempts, d.response_status) == (S.DELIVERED, 2, 200)
    assert [r.headers["X-ServiceOpus-Delivery"] for r in receiver.received] == [str(queued.uid)] * 2


def test_backoff_doubles_and_is_capped():
    for attempts, full in ((1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (20, 3600)):
        wait = delivery.backoff(attempts).total_seconds()
        assert 0.75 * full <= wait <= full


# ---- at least once ---------------------------------------------------------------------------------------------


def test_a_worker_that_dies_after_sending_leaves_it_to_be_sent_again_with_the_same_ids(owner, receiver):
    sub = subscribe(owner, receiver)
    queued = ping(owner, sub)

    # A worker claims the delivery and sends it; the receiver accepts; the worker dies before marking it.
    [claimed] = delivery.claim("doomed", 10)
    prepared = delivery.prepare(claimed)
    assert not isinstance(prepared, str)
    subscription, event = prepared
    secret = signing.secret_for(subscription)
    body = delivery.payload(event)
    assert delivery.post(subscription.url, body, delivery.headers(claimed, event, secret, body)).status == 200
    d = one_delivery()
    assert (d.status, d.claimed_by, d.attempts) == (S.SENDING, "doomed", 1)

    run_worker()  # its lease has not run out: nobody touches it
    assert len(receiver.received) == 1

    WebhookDelivery.objects.filter(pk=d.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    run_worker()
    d.refresh_from_db()
    assert (d.status, d.attempts) == (S.DELIVERED, 2)
    first, second = receiver.received
    assert first.event_id == second.event_id == str(queued.event.uid)
    assert first.headers["X-ServiceOpus-Delivery"] == second.headers["X-ServiceOpus-Delivery"]
    # The receiver that keeps the ids it handled acts once.
    assert list(receiver.deduplicated()) == [str(queued.event.uid)]


def test_a_worker_whose_lease_was_taken_over_writes_nothing(owner, receiver):
    sub = subscribe(owner, receiver)
    ping(owner, sub)
    [slow] = delivery.claim("slow", 10)
    WebhookDelivery.objects.filter(pk=slow.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    [fast] = delivery.claim("fast", 10)
    assert (fast.pk, fast.attempts) == (slow.pk, 2)

    assert delivery.send_one(slow) == "not_ours"  # its lease renewal fails: it does not even send
    assert receiver.received == []
    assert delivery.send_one(fast) == "delivered"
    d = one_delivery()
    assert (d.status, d.claimed_by, d.attempts) == (S.DELIVERED, "fast", 2)


def test_a_delivery_whose_lease_ran_out_on_its_last_attempt_fails(owner, receiver, monkeypatch):
    monkeypatch.setattr(delivery, "MAX_ATTEMPTS", 2)
    sub = subscribe(owner, receiver)
    ping(owner, sub)
    WebhookDelivery.objects.update(status=S.SENDING, attempts=2, claimed_by="dead", lease_until=timezone.now() - timedelta(seconds=1))
    run_worker()
    d = one_delivery()
    assert (d.status, d.attempts, d.last_error) == (S.FAILED, 2, delivery.LEASE_RAN_OUT)
    assert receiver.received == []


def test_a_worker_asked_to_stop_gives_the_rest_of_its_batch_back(owner, receiver):
    sub = subscribe(owner, receiver)
    for _ in range(3):
        ping(owner, sub)
    calls = iter([False, True, True])
    counts = delivery.deliver_due("w1", 10, should_stop=lambda: next(calls))
    assert (counts["claimed"], counts["delivered"], counts["released"]) == (3, 1, 2)
    assert sorted(WebhookDelivery.objects.values_list("status", "attempts", "claimed_by")) == [(S.DELIVERED, 1, "w1"), (S.PENDING, 0, ""), (S.PENDING, 0, "")]


# ---- checked again at send time ------------------------------------------------------------------------------------


def test_a_webhook_paused_after_its_deliveries_were_created_sends_nothing(owner, receiver):
    sub = subscribe(owner, receiver)
    ping(owner, sub)
    subscriptions.subscription_set_active(actor=owner, subscription_id=sub.pk, version=1, active=False)
    run_worker()
    d = one_delivery()
    assert (d.status, d.last_error, d.response_status) == (S.FAILED, "Not sent: subscription deactivated.", None)
    assert receiver.received == []


def test_a_new_url_and_a_rotated_secret_apply_to_deliveries_already_waiting(owner, receiver):
    sub = subscribe(owner, receiver)
    ping(owner, sub)
    receiver.answer_next(503)
    run_worker()
    sub = subscriptions.subscription_update(actor=owner, subscription_id=sub.pk, version=1, name=sub.name, url=receiver.url("/moved"), event_types=ALL)
    old_secret = receiver.secret
    rotated = subscriptions.subscription_rotate_secret(actor=owner, subscription_id=sub.pk, version=sub.version)
    receiver.secret = signing.secret_for(rotated)

    make_due()
    run_worker()
    first, second = receiver.received
    assert (first.path, second.path) == ("/hooks", "/moved")
    assert second.signature_valid
    assert not signing.verify(old_secret, second.headers[signing.HEADER], second.body)
    assert one_delivery().status == S.DELIVERED


def test_a_subscription_deleted_mid_send_leaves_no_error(owner, receiver):
    sub = subscribe(owner, receiver)
    ping(owner, sub)
    [claimed] = delivery.claim("w1", 10)
    subscriptions.subscription_delete(actor=owner, subscription_id=sub.pk, version=1)
    assert delivery.send_one(claimed) == "not_ours"
    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()


def test_errors_never_hold_the_secret(owner, receiver):
    sub = subscribe(owner, receiver)
    ping(owner, sub)
    [claimed] = delivery.claim("w1", 10)
    secret = signing.secret_for(sub)
    echo = delivery.Response(status=500, excerpt=f"bad signature for secret {secret}", error="", duration_ms=3)
    assert delivery._mark(claimed, echo, secret) == "retry"
    d = one_delivery()
    assert secret not in d.last_error
    assert secret not in d.response_excerpt
    assert d.last_error == "HTTP 500: bad signature for secret [secret]"
