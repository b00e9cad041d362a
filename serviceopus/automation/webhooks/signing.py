"""Signing webhook requests, and the check a receiver runs (docs/webhooks.md shows it in Python).

A subscription's secret is HMAC-SHA256(SECRET_KEY, salt), derived when needed and never stored, the way
the portal links' secrets are (messaging/links.py): a stolen database signs nothing, rotating the secret
is a new salt, and rotating SECRET_KEY changes every subscription's secret at once.

Each request carries `X-ServiceOpus-Signature: t=<unix time>,v1=<hex>`, where the hex is
HMAC-SHA256(secret, "<t>.<body>") over the raw request body. Signing the time with the body lets a
receiver refuse a request replayed later (the tolerance), as Stripe's scheme does.
"""

import hashlib
import hmac
import time

from django.conf import settings

from serviceopus.automation.models import WebhookSubscription

HEADER = "X-ServiceOpus-Signature"
SCHEME = "v1"
# A receiver accepts a signature at most this old (or this far ahead: clocks differ) by default.
DEFAULT_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"


def secret_for_salt(salt: str) -> str:
    """The signing secret of a subscription with this salt. The prefix makes the string recognisable
    to secret scanners when it is pasted where it should not be; receivers use the whole string."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"webhook-secret:{salt}".encode(), hashlib.sha256).hexdigest()
    return SECRET_PREFIX + digest


def secret_for(subscription: WebhookSubscription) -> str:
    return secret_for_salt(subscription.salt)


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes | str, *, timestamp: int | None = None) -> str:
    """The signature header's value for `body` signed now (or at `timestamp`)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},{SCHEME}={_digest(secret, t, _as_bytes(body))}"


def verify(secret: str, header: str | None, body: bytes | str, tolerance: int = DEFAULT_TOLERANCE_SECONDS, *, now: float | None = None) -> bool:
    """True when `header` is a valid signature of `body` with `secret`, made within `tolerance` seconds
    of `now`. `body` must be the raw bytes received, before any JSON parsing. A header may carry
    several v1 values; one valid value is enough."""
    if not header or len(header) > 1000:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, _as_bytes(body))
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
