"""Delivering the outbox: claiming due messages and sending them through their channel (channels.py).

What holds, precisely:

- **Nothing leaves before its event commits.** outbox.py writes a message in the transaction of the
  event that causes it; the worker reads committed rows only, so a rolled-back change sends nothing.
- **Claim, then send, outside any transaction.** `claim` marks a small batch `sending` under a lease
  (`lease_until`, `claimed_by`, `attempts + 1`) in one short transaction — `SELECT … FOR UPDATE SKIP
  LOCKED` on PostgreSQL, SQLite's IMMEDIATE transaction elsewhere — so two workers never hold the same
  message. No database lock is held while a channel talks to a server.
- **Never lost.** A message leaves the due set only when it is marked `sent`, `failed`, `skipped` or
  `suppressed`. A worker that dies (even SIGKILL) leaves its claims `sending`; when their lease runs out
  any worker claims them again.
- **At-least-once on the wire, once to the customer.** The one window where a message can go out twice
  is a worker dying after the server accepted a message and before the row says `sent`. A worker sends
  one message at a time and renews that message's lease just before sending, so the window holds at most
  the one message in flight per dead worker (or one whose send outlived its lease: the lease is longer
  than any channel's timeout). The resend carries the same id — the email's `Message-ID`, the SMS
  provider's `Idempotency-Key` (the message's uid) — so an SMS provider that deduplicates on the key
  texts the customer once, and mail software that deduplicates on Message-ID shows one email. A plain
  SMTP relay does not deduplicate: there the window can mean one duplicate email.
- **Retries back off.** A temporary failure returns the message to `pending` after 30 s × 2^(attempts−1)
  with jitter, at most an hour; after OUTBOX_MAX_ATTEMPTS, or at once on a permanent failure (the
  address is refused), it is `failed` with a short `last_error` that never holds a secret.
- **Checked again at send time.** A message whose row is no longer `sending` under this worker's claim
  when its turn in the batch comes (suppressed or skipped meanwhile, or taken over after the lease ran
  out) is not sent; a reminder whose appointment moved or was cancelled is `skipped`; the portal link's
  secret is put into the text in memory only, never stored.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from serviceopus.core import leases
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import FINAL

from . import channels
from .links import PORTAL_URL_PLACEHOLDER, link_for_notification, portal_url, token_for
from .models import Channel, MessagingSettings, Notice, OutboxMessage, PortalLink

log = logging.getLogger(__name__)

S = OutboxMessage.Status
STALE_REMINDER = "The appointment moved or was cancelled."
LEASE_RAN_OUT = "The worker stopped while sending it, on every attempt; it may or may not have arrived."
ERROR_MAX_CHARS = 300


def backoff(attempts: int) -> timedelta:
    return leases.backoff(attempts, base_seconds=settings.OUTBOX_BACKOFF_SECONDS, max_seconds=settings.OUTBOX_BACKOFF_MAX_SECONDS)


def _lease_end(now: datetime) -> datetime:
    return leases.lease_end(now, settings.OUTBOX_LEASE_SECONDS)


# ---- claiming ----------------------------------------------------------------------------------------


def claim(worker_id: str, limit: int) -> list[OutboxMessage]:
    """Take up to `limit` due messages for `worker_id` (core/leases.py: due pending ones, and sending
    ones whose worker's lease ran out); one whose lease ran out after its last allowed attempt is failed."""
    return leases.claim(
        OutboxMessage,
        worker_id=worker_id,
        limit=limit,
        waiting=S.PENDING,
        claimed=S.SENDING,
        lease_seconds=settings.OUTBOX_LEASE_SECONDS,
        max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
        exhausted={"status": S.FAILED, "last_error": LEASE_RAN_OUT},
    )


def release(messages: Iterable[OutboxMessage], worker_id: str) -> int:
    """Give claimed messages back unsent (a worker asked to stop): pending again, the attempt not counted."""
    return leases.release(OutboxMessage, list(messages), worker_id=worker_id, waiting=S.PENDING, claimed=S.SENDING)


# ---- sending -----------------------------------------------------------------------------------------


def _mine(message: OutboxMessage) -> Q:
    return Q(pk=message.pk, status=S.SENDING, claimed_by=message.claimed_by)


def _reminder_is_stale(message: OutboxMessage) -> bool:
    """A reminder goes only for the appointment it was written for: the visit still there, not over or
    cancelled, and still starting when it did when the reminder was written."""
    visit = Visit.objects.filter(pk=message.visit_id).only("status", "scheduled_start").first() if message.visit_id else None
    if visit is None or visit.status in FINAL or visit.scheduled_start is None:
        return True
    written_for = message.data.get("visit_start")
    if not written_for:
        return False
    start = parse_datetime(str(written_for))
    return start is None or start != visit.scheduled_start


def _portal_link(message: OutboxMessage) -> PortalLink | None:
    """The link to put into the message: the one it was written with while that is still usable, else
    the job's current one (created if need be); the message then remembers the new link's id."""
    if message.job_id is None:
        return None
    link = PortalLink.objects.filter(pk=message.data.get("portal_link"), job_id=message.job_id).first() if message.data.get("portal_link") else None
    if link is not None and link.is_active():
        return link
    with transaction.atomic():
        link = link_for_notification(message.job)
        data = {**message.data, "portal_link": link.pk}
        OutboxMessage.objects.filter(_mine(message)).update(data=data)
    message.data = data
    return link


def _scrub(text: str, secret: str) -> str:
    if secret:
        text = text.replace(secret, "[secret]")
    return text[:ERROR_MAX_CHARS]


def _send(message: OutboxMessage, subject: str, body: str) -> str:
    if message.channel == Channel.EMAIL:
        to_office = bool(message.data.get("to_office"))
        # Customers answer a notification by replying to it: that reaches the office, not a no-reply box.
        reply_to = "" if to_office else MessagingSettings.current().office_email
        return channels.send_email(to=message.recipient, subject=" ".join(subject.split()), body=body, message_id=message.message_id, reply_to=reply_to)
    if message.channel == Channel.SMS:
        return channels.send_sms(to=message.recipient, body=body, message_id=str(message.uid))
    raise channels.PermanentError(f"Unknown channel {message.channel!r}.")


def send_one(message: OutboxMessage) -> str:
    """Send one message claimed by `message.claimed_by`; returns the outcome: sent, retry, failed,
    skipped, or not_ours (suppressed, or taken over by another worker after this one's lease ran out).

    Precondition: the message came from `claim`. Before sending, one conditional update checks that the
    row is still `sending` and ours and renews the lease for this send; every later write is conditional
    the same way, so a message suppressed meanwhile keeps its status."""
    now = timezone.now()
    if not OutboxMessage.objects.filter(_mine(message)).update(lease_until=_lease_end(now)):
        log.info("outbox %s %s/%s: not sent, suppressed or taken over meanwhile", message.uid, message.notice, message.channel)
        return "not_ours"
    message.refresh_from_db()
    if message.notice == Notice.APPOINTMENT_REMINDER and _reminder_is_stale(message):
        OutboxMessage.objects.filter(_mine(message)).update(status=S.SKIPPED, skip_reason=STALE_REMINDER, lease_until=None)
        log.info("outbox %s %s/%s: skipped, %s", message.uid, message.notice, message.channel, STALE_REMINDER)
        return "skipped"

    secret = ""
    try:
        subject, body = message.subject, message.body
        if PORTAL_URL_PLACEHOLDER in subject or PORTAL_URL_PLACEHOLDER in body:
            link = _portal_link(message)
            url = portal_url(link) if link is not None else ""
            secret = token_for(link) if link is not None else ""
            subject, body = subject.replace(PORTAL_URL_PLACEHOLDER, url), body.replace(PORTAL_URL_PLACEHOLDER, url)
        ref = _send(message, subject, body)
    except channels.PermanentError as exc:
        return _failed(message, _scrub(str(exc), secret), permanent=True)
    except channels.ChannelError as exc:
        return _failed(message, _scrub(str(exc), secret), permanent=False)
    except Exception as exc:
        # A bug or an unexpected library error must not stop the queue: retried like a temporary error.
        log.exception("outbox %s: unexpected error while sending", message.uid)
        return _failed(message, _scrub(f"{type(exc).__name__}: {exc}", secret), permanent=False)
    return _sent(message, ref)


def _sent(message: OutboxMessage, ref: str) -> str:
    done = {"status": S.SENT, "sent_at": timezone.now(), "provider_ref": ref[:200], "lease_until": None, "last_error": ""}
    if OutboxMessage.objects.filter(_mine(message)).update(**done):
        log.info("outbox %s %s/%s attempt %d: sent (%s)", message.uid, message.notice, message.channel, message.attempts, ref)
        return "sent"
    # Suppressed while it was already on the wire: it did reach the customer, so the row says so.
    if OutboxMessage.objects.filter(pk=message.pk, status=S.SUPPRESSED).update(**done):
        log.warning("outbox %s: sent, it had already left when it was suppressed", message.uid)
        return "sent"
    log.warning("outbox %s: sent, but another worker took it over after this one's lease ran out; it resends with the same id", message.uid)
    return "not_ours"


def _failed(message: OutboxMessage, error: str, *, permanent: bool) -> str:
    last = permanent or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    if last:
        change = {"status": S.FAILED, "last_error": error, "lease_until": None}
    else:
        change = {"status": S.PENDING, "last_error": error, "lease_until": None, "next_attempt_at": timezone.now() + backoff(message.attempts)}
    OutboxMessage.objects.filter(_mine(message)).update(**change)
    outcome = "failed" if last else "retry"
    log.warning("outbox %s %s/%s attempt %d: %s, %s", message.uid, message.notice, message.channel, message.attempts, outcome, error)
    return outcome


# ---- the worker's step ---------------------------------------------------------------------------------


def deliver_due(worker_id: str, limit: int, should_stop: Callable[[], bool] | None = None) -> Counter[str]:
    """Claim up to `limit` due messages and send them one by one; returns how many were claimed and each
    outcome's count. When `should_stop()` turns true, the message being sent finishes and the rest of the
    batch is released (pending again, not counted as an attempt)."""
    messages = claim(worker_id, limit)
    counts: Counter[str] = Counter(claimed=len(messages))
    for i, message in enumerate(messages):
        if should_stop is not None and should_stop():
            counts["released"] += release(messages[i:], worker_id)
            break
        counts[send_one(message)] += 1
    return counts
