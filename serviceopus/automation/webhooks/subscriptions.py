"""Webhook subscriptions: every write an admin makes (`automation.manage_webhooks`). Each action checks
the permission, validates everything at once (InvalidInput with one message per field) and changes
nothing when it refuses.

Edits carry the version the admin read and are refused when the row moved on. Deliveries read the
subscription again just before each request (delivery.py), so a deactivated subscription or a rotated
secret applies to deliveries already waiting too.
"""

import secrets
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.automation.models import AutomationEvent, DeliveryStatus, EventStatus, EventType, WebhookDelivery, WebhookSubscription
from serviceopus.automation.models.events import WEBHOOK_TYPES
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.text import clean_text

PERM = "automation.manage_webhooks"
URL_MAX = 500
NAME_MAX = 200
# A test delivery's event type: the event row is written already done, so the engine never reads it,
# and only the one subscription gets a delivery.
PING = EventType.PING

_url_validator = URLValidator(schemes=["http", "https"])


def _require(actor: User) -> None:
    if not actor.has_perm(PERM):
        raise DomainError("forbidden", "You may not manage webhooks.")


def new_salt() -> str:
    """256 random bits: the secret derived from it (signing.py) is as unguessable as SECRET_KEY allows."""
    return secrets.token_hex(32)


def clean_url(fields: dict[str, str], value: object) -> str:
    url = value.strip() if isinstance(value, str) else ""
    if not url:
        fields["url"] = "Enter the URL to send the events to."
        return url
    if len(url) > URL_MAX:
        fields["url"] = f"At most {URL_MAX} characters."
        return url
    if any(ord(c) < 33 or c == "\x7f" for c in url):
        fields["url"] = "A URL cannot contain spaces or control characters."
        return url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        fields["url"] = "Only http:// and https:// URLs can receive webhooks."
        return url
    # Credentials in the URL would show on every page and log line that shows the URL: the signature is
    # how a receiver knows the request is ours.
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        fields["url"] = "Leave user names and passwords out of the URL; receivers check the signature instead."
        return url
    try:
        parts.port  # noqa: B018 — raises ValueError for a port out of range
        _url_validator(url)
    except (ValueError, ValidationError):
        fields["url"] = "Enter a valid URL, e.g. https://example.com/hooks/service-opus."
    return url


def clean_event_types(fields: dict[str, str], value: object) -> list[str]:
    chosen = list(value) if isinstance(value, Iterable) and not isinstance(value, str | bytes) else None
    if not chosen:
        fields["event_types"] = "Choose at least one event."
        return []
    unknown = sorted(str(t) for t in chosen if t not in WEBHOOK_TYPES)
    if unknown:
        fields["event_types"] = f"Unknown event type: {', '.join(unknown)[:200]}."
        return []
    # Stored in the list's order, once each: the pages and the payload docs show them that way.
    return [str(t) for t in WEBHOOK_TYPES if t in chosen]


def clean_subscription(*, name: object, url: object, event_types: object) -> dict[str, Any]:
    """The subscription's fields ready to store, or InvalidInput naming every field that is wrong."""
    fields: dict[str, str] = {}
    cleaned = {
        "name": clean_text(fields, "name", name, max_length=NAME_MAX, required=True),
        "url": clean_url(fields, url),
        "event_types": clean_event_types(fields, event_types),
    }
    if fields:
        raise InvalidInput("Please correct the highlighted fields; nothing was saved.", fields)
    return cleaned


def subscription_create(*, actor: User, name: str, url: str, event_types: Iterable[str]) -> WebhookSubscription:
    """A new active subscription with its own secret. Deliveries start with the next matching event."""
    _require(actor)
    data = clean_subscription(name=name, url=url, event_types=event_types)
    now = timezone.now()
    return WebhookSubscription.objects.create(**data, salt=new_salt(), active=True, created_by=actor, created_at=now, updated_at=now)


def _get(subscription_id: int) -> WebhookSubscription:
    subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        raise DomainError("not_found", "This webhook no longer exists.")
    return subscription


def _guarded_update(subscription_id: int, version: int, **changes: Any) -> WebhookSubscription:
    """Apply `changes` only if the row is still at `version` (one conditional UPDATE, no lock held)."""
    changed = WebhookSubscription.objects.filter(pk=subscription_id, version=version).update(**changes, updated_at=timezone.now(), version=F("version") + 1)
    if not changed:
        _get(subscription_id)
        raise ConflictError("stale", "Someone changed this webhook meanwhile; nothing was saved. Reload it and try again.")
    return _get(subscription_id)


def subscription_update(*, actor: User, subscription_id: int, version: int, name: str, url: str, event_types: Iterable[str]) -> WebhookSubscription:
    """Change name, URL and events. Refused (ConflictError) when the subscription changed since the
    admin read `version`. Deliveries already waiting go to the new URL."""
    _require(actor)
    data = clean_subscription(name=name, url=url, event_types=event_types)
    return _guarded_update(subscription_id, version, **data)


def subscription_rotate_secret(*, actor: User, subscription_id: int, version: int) -> WebhookSubscription:
    """A new secret (a new salt). Every request from now on, retries of older deliveries included, is
    signed with it; receivers still checking the old secret refuse them until they are updated."""
    _require(actor)
    return _guarded_update(subscription_id, version, salt=new_salt())


def subscription_set_active(*, actor: User, subscription_id: int, version: int, active: bool) -> WebhookSubscription:
    """Pause or resume. While inactive no delivery is created for it, and one already waiting fails
    when its turn comes ("subscription deactivated"): an admin pauses a webhook to stop the traffic."""
    _require(actor)
    return _guarded_update(subscription_id, version, active=bool(active))


def subscription_delete(*, actor: User, subscription_id: int, version: int) -> int:
    """Delete the subscription and its delivery log; returns how many deliveries went with it. A worker
    in the middle of sending one finds its row gone and writes nothing."""
    _require(actor)
    with transaction.atomic():
        subscription = _get(subscription_id)
        if subscription.version != version:
            raise ConflictError("stale", "Someone changed this webhook meanwhile; nothing was deleted. Reload it and try again.")
        count = WebhookDelivery.objects.filter(subscription_id=subscription_id).count()
        deleted, _ = WebhookSubscription.objects.filter(pk=subscription_id, version=version).delete()
        if not deleted:
            raise ConflictError("stale", "Someone changed this webhook meanwhile; nothing was deleted. Reload it and try again.")
    return count


def subscription_ping(*, actor: User, subscription_id: int) -> WebhookDelivery:
    """Queue a test delivery to this subscription: a "ping" event with the subscription's name, sent by
    the worker like any other (signed, retried, logged). Refused while the subscription is inactive."""
    _require(actor)
    with transaction.atomic():
        subscription = _get(subscription_id)
        if not subscription.active:
            raise ConflictError("inactive", "This webhook is paused; activate it to send a test.")
        now = timezone.now()
        # Written done: nothing but this delivery acts on a ping (the engine takes pending events only).
        event = AutomationEvent.objects.create(
            uid=uuid.uuid4(),
            type=PING,
            actor=actor,
            data={"message": "A test delivery from Service Opus.", "subscription": {"id": subscription.pk, "name": subscription.name}},
            status=EventStatus.DONE,
            processed_at=now,
            created_at=now,
        )
        return WebhookDelivery.objects.create(subscription=subscription, event=event, next_attempt_at=now, created_at=now)


def delivery_redeliver(*, actor: User, subscription_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a failed delivery again: the same delivery (same ids on the wire), waiting again now, its
    attempts kept. A delivery that already used every attempt gets this one try; one that failed early
    (a 4xx) gets the attempts it has left. Refused for a delivery that is not failed, or while the
    subscription is paused."""
    _require(actor)
    with transaction.atomic():
        subscription = _get(subscription_id)
        if not subscription.active:
            raise ConflictError("inactive", "This webhook is paused; activate it before sending deliveries again.")
        changed = WebhookDelivery.objects.filter(pk=delivery_id, subscription_id=subscription_id, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), lease_until=None, claimed_by=""
        )
        if not changed:
            if not WebhookDelivery.objects.filter(pk=delivery_id, subscription_id=subscription_id).exists():
                raise DomainError("not_found", "This delivery no longer exists.")
            raise ConflictError("not_failed", "Only a failed delivery can be sent again; this one is not failed.")
    return WebhookDelivery.objects.get(pk=delivery_id)
