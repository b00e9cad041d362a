"""Fanning events out to webhook subscriptions, and sending the deliveries.

What holds, precisely:

- **One delivery per event and subscription.** `fan_out` runs in the transaction in which the engine
  marks the event done, and inserts one row per active subscription to its type; the unique
  (subscription, event) pair makes a second run for the same event add nothing.
- **Claim, then send, outside any transaction.** `deliver_due` claims a small batch under a lease
  (core/leases.py: pending → sending, `attempts + 1`); each request is made with no database lock or
  transaction open. Before each request one conditional update renews the lease and confirms the row is
  still ours; every later write is conditional the same way (`_mine`), so a worker whose lease ran out
  (and whose row another worker took over) or whose subscription was deleted writes nothing.
- **At least once.** A delivery leaves the due set only when marked delivered or failed. A worker that
  dies after the receiver accepted a request and before the row says so leaves it `sending`; when its
  lease runs out another worker sends it again, with the same `X-ServiceOpus-Event-Id` (the event's uid,
  the same for every subscription and every retry) and `X-ServiceOpus-Delivery`, so the receiver can
  drop the copy. The lease (60 s) is longer than a request may take (10 s timeout).
- **Retries back off.** 5xx, 408, 429 and network errors (refused, reset, timed out) are retried after
  30 s × 2^(attempts−1), jittered, at most an hour, up to MAX_ATTEMPTS; other 4xx fail at once (the
  receiver said the request itself is wrong), and so does a redirect (never followed: the signed body
  must not be carried to another address, and the URL needs fixing).
- **Checked again at send time.** The subscription is read just before each request: a paused one fails
  the delivery ("subscription deactivated"); a changed URL or a rotated secret applies at once.
- **Errors are short** and never hold the secret.
"""

import json
import logging
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, timedelta
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Q
from django.utils import timezone

from serviceopus.automation.models import AutomationEvent, DeliveryStatus, WebhookDelivery, WebhookSubscription
from serviceopus.automation.models.events import WEBHOOK_TYPES
from serviceopus.core import leases

from . import signing

log = logging.getLogger(__name__)

S = DeliveryStatus
LEASE_SECONDS = 60
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
TIMEOUT_SECONDS = 10.0
EXCERPT_CHARS = 500
ERROR_MAX_CHARS = 300
# Read at most this much of a response: only its start is kept, and a receiver must not make us buffer a
# large body.
READ_MAX_BYTES = 64 * 1024
USER_AGENT = "ServiceOpus-Webhooks/1"
LEASE_RAN_OUT = "The worker stopped while sending it, on every attempt; it may or may not have arrived."
DEACTIVATED = "Not sent: subscription deactivated."
# Statuses a receiver sends when it is busy or timed out, not because the request is wrong.
RETRY_STATUSES = frozenset({408, 429})


def backoff(attempts: int) -> timedelta:
    return leases.backoff(attempts, base_seconds=BACKOFF_SECONDS, max_seconds=BACKOFF_MAX_SECONDS)


# ---- fan-out -------------------------------------------------------------------------------------------


def fan_out(event: AutomationEvent) -> int:
    """Create one pending delivery of `event` for each active subscription to its type; returns how many
    subscriptions it is for. Call inside the transaction that marks the event processed: the deliveries
    then exist exactly when the event is done. Running it again for the same event adds nothing."""
    if event.type not in WEBHOOK_TYPES:
        return 0
    # A handful of subscriptions at most: filtering their JSON lists here works the same on both databases.
    targets = [pk for pk, types in WebhookSubscription.objects.filter(active=True).values_list("pk", "event_types") if event.type in (types or [])]
    if targets:
        now = timezone.now()
        WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(subscription_id=pk, event_id=event.pk, next_attempt_at=now, created_at=now) for pk in targets], ignore_conflicts=True
        )
    return len(targets)


# ---- the request ---------------------------------------------------------------------------------------


def payload(event: AutomationEvent) -> bytes:
    """The request body: compact JSON with sorted keys, so that the bytes signed are the bytes sent and
    the same event always has the same body."""
    created_at = event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    document = {"id": str(event.uid), "type": event.type, "created_at": created_at, "data": event.data}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def headers(delivery: WebhookDelivery, event: AutomationEvent, secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-ServiceOpus-Event": event.type,
        "X-ServiceOpus-Event-Id": str(event.uid),
        "X-ServiceOpus-Delivery": str(delivery.uid),
        signing.HEADER: signing.sign(secret, body),
    }


@dataclass(frozen=True)
class Response:
    """What came back: an HTTP status with the start of the body, or an error before any status."""

    status: int | None
    excerpt: str
    error: str
    duration_ms: int
    permanent: bool = False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_opener = urllib.request.build_opener(_NoRedirects)


def _read(stream: Any) -> str:
    try:
        return stream.read(READ_MAX_BYTES).decode("utf-8", "replace")[:EXCERPT_CHARS]
    except (OSError, HTTPException):
        return ""


def post(url: str, body: bytes, request_headers: dict[str, str], *, timeout: float | None = None) -> Response:
    """POST `body` to `url` once. Never raises for what the receiver or the network does."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):  # stored URLs are checked; never open file: or others
        return Response(status=None, excerpt="", error="Only http:// and https:// URLs are sent to.", duration_ms=0, permanent=True)
    request = urllib.request.Request(url, data=body, headers=request_headers, method="POST")  # noqa: S310 (the scheme is checked above)
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS if timeout is None else timeout) as answer:
            return Response(status=answer.status, excerpt=_read(answer), error="", duration_ms=elapsed())
    except urllib.error.HTTPError as exc:
        excerpt = _read(exc)
        exc.close()
        return Response(status=exc.code, excerpt=excerpt, error="", duration_ms=elapsed())
    except urllib.error.URLError as exc:
        return Response(status=None, excerpt="", error=f"Could not connect: {exc.reason}", duration_ms=elapsed())
    except TimeoutError:
        return Response(status=None, excerpt="", error=f"No answer within {TIMEOUT_SECONDS if timeout is None else timeout:g} s.", duration_ms=elapsed())
    except (OSError, HTTPException, ValueError) as exc:
        return Response(status=None, excerpt="", error=f"{type(exc).__name__}: {exc}", duration_ms=elapsed())


def classify(response: Response) -> str:
    """delivered, retry or failed (permanent)."""
    status = response.status
    if status is None:
        return "failed" if response.permanent else "retry"
    if 200 <= status < 300:
        return "delivered"
    if status >= 500 or status in RETRY_STATUSES:
        return "retry"
    return "failed"


def _describe(response: Response) -> str:
    if response.status is None:
        return response.error
    if 300 <= response.status < 400:
        return f"HTTP {response.status}: redirects are not followed; set the webhook's URL to the final address."
    if 200 <= response.status < 300:
        return ""
    return f"HTTP {response.status}" + (f": {response.excerpt}" if response.excerpt else "")


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "[secret]") if secret else text


# ---- claiming and marking --------------------------------------------------------------------------------


def claim(worker_id: str, limit: int) -> list[WebhookDelivery]:
    """Take up to `limit` due deliveries for `worker_id`: waiting ones whose time has come and ones
    whose worker's lease ran out; one whose lease ran out after its last allowed attempt is failed."""
    return leases.claim(
        WebhookDelivery,
        worker_id=worker_id,
        limit=limit,
        waiting=S.PENDING,
        claimed=S.SENDING,
        lease_seconds=LEASE_SECONDS,
        max_attempts=MAX_ATTEMPTS,
        exhausted={"status": S.FAILED, "last_error": LEASE_RAN_OUT},
    )


def release(deliveries: Iterable[WebhookDelivery], worker_id: str) -> int:
    """Give claimed deliveries back unsent (a worker asked to stop): waiting again, the attempt not counted."""
    return leases.release(WebhookDelivery, list(deliveries), worker_id=worker_id, waiting=S.PENDING, claimed=S.SENDING)


def _mine(delivery: WebhookDelivery) -> Q:
    return Q(pk=delivery.pk, status=S.SENDING, claimed_by=delivery.claimed_by)


def _mark(delivery: WebhookDelivery, response: Response, secret: str) -> str:
    """Record one attempt's outcome on the row, if the row is still ours; returns the outcome."""
    outcome = classify(response)
    if outcome == "retry" and delivery.attempts >= MAX_ATTEMPTS:
        outcome = "failed"
    now = timezone.now()
    change: dict[str, Any] = {
        "response_status": response.status,
        "response_excerpt": _scrub(response.excerpt, secret)[:EXCERPT_CHARS],
        "duration_ms": response.duration_ms,
        "last_error": _scrub(_describe(response), secret)[:ERROR_MAX_CHARS],
        "lease_until": None,
    }
    if outcome == "delivered":
        change.update(status=S.DELIVERED, delivered_at=now)
    elif outcome == "retry":
        change.update(status=S.PENDING, next_attempt_at=now + backoff(delivery.attempts))
    else:
        change.update(status=S.FAILED)
    if not WebhookDelivery.objects.filter(_mine(delivery)).update(**change):
        log.warning("webhook delivery %s: %s, but the row is no longer this worker's (lease ran out or deleted)", delivery.uid, outcome)
        return "not_ours"
    log.info("webhook delivery %s attempt %d: %s (%s)", delivery.uid, delivery.attempts, outcome, response.status or response.error)
    return outcome


def prepare(delivery: WebhookDelivery) -> tuple[WebhookSubscription, AutomationEvent] | str:
    """Renew the lease for one send and read what it needs; or the outcome when it must not be sent
    (not ours any more, or the subscription paused)."""
    if not WebhookDelivery.objects.filter(_mine(delivery)).update(lease_until=leases.lease_end(timezone.now(), LEASE_SECONDS)):
        return "not_ours"
    fresh = WebhookDelivery.objects.select_related("subscription", "event").filter(pk=delivery.pk).first()
    if fresh is None:
        return "not_ours"
    if not fresh.subscription.active:
        WebhookDelivery.objects.filter(_mine(delivery)).update(status=S.FAILED, last_error=DEACTIVATED, lease_until=None)
        return "failed"
    return fresh.subscription, fresh.event


def send_one(delivery: WebhookDelivery) -> str:
    """Send one delivery claimed by `delivery.claimed_by`; returns delivered, retry, failed or not_ours."""
    prepared = prepare(delivery)
    if isinstance(prepared, str):
        return prepared
    subscription, event = prepared
    secret = signing.secret_for(subscription)
    body = payload(event)
    response = post(subscription.url, body, headers(delivery, event, secret, body))
    return _mark(delivery, response, secret)


# ---- the worker's step -------------------------------------------------------------------------------------


def deliver_due(worker_id: str, limit: int, should_stop: Callable[[], bool] | None = None) -> Counter[str]:
    """Claim up to `limit` due deliveries and send them one by one; returns how many were claimed and
    each outcome's count. When `should_stop()` turns true, the request in flight finishes and the rest
    of the batch is released (waiting again, the attempt not counted)."""
    deliveries = claim(worker_id, limit)
    counts: Counter[str] = Counter(claimed=len(deliveries))
    for i, delivery in enumerate(deliveries):
        if should_stop is not None and should_stop():
            counts["released"] += release(deliveries[i:], worker_id)
            break
        counts[send_one(delivery)] += 1
    return counts
