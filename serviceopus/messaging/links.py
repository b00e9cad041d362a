"""Portal link secrets. A link's secret is HMAC-SHA256(SECRET_KEY, salt) with 128 random bits of salt,
sent as URL-safe base64; the database keeps the salt and the secret's SHA-256 only. A stolen database
so opens no portal, while the outbox can still put the link into a message when it sends it (the body
holds a placeholder until then). Rotating SECRET_KEY invalidates every link, as it does every session."""

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.core.text import clean_text
from serviceopus.jobs.models import Job, JobEvent

from .models import MessagingSettings, PortalLink

# Replaced by the link's URL when the outbox sends a message (delivery.py), never stored resolved.
PORTAL_URL_PLACEHOLDER = "[[portal-url]]"


def _secret(salt: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"portal-link:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_for(link: PortalLink) -> str:
    return _secret(link.salt)


def portal_url(link: PortalLink) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("portal:open", args=[token_for(link)])


def find_link(token: str) -> PortalLink | None:
    """The link whose secret this is (active or not), or None."""
    if not token or len(token) > 100:
        return None
    return PortalLink.objects.select_related("job").filter(token_hash=hash_token(token)).first()


def _require(actor: User | None) -> None:
    if actor is not None and not actor.has_perm("messaging.message_customer"):
        raise DomainError("forbidden", "You may not manage the customer's portal links.")


def link_create(*, actor: User | None, job_id: int, label: str = "", days: int | None = None) -> PortalLink:
    """A new link for the job, valid `days` (the company default when None, 1…365). `actor` None is the
    system creating a link for a notification. Writes a timeline event."""
    _require(actor)
    fields: dict[str, str] = {}
    label = clean_text(fields, "label", label, max_length=100)
    if days is None:
        days = MessagingSettings.current().portal_link_days
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        fields["days"] = "Between 1 and 365 days."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        job = Job.objects.get(pk=job_id)
        salt, now = secrets.token_hex(16), timezone.now()
        link = PortalLink.objects.create(
            job=job, salt=salt, token_hash=hash_token(_secret(salt)), label=label, created_by=actor, created_at=now, expires_at=now + timedelta(days=days)
        )
        for_whom = f" for {label}" if label and actor is not None else " to go with the customer's notifications" if actor is None else ""
        message = f"Portal link created{for_whom}, valid {days} days"
        JobEvent.objects.create(created_at=now, job=job, actor=actor, kind=JobEvent.Kind.CUSTOMER, message=message)
    return link


def link_revoke(*, actor: User, link_id: int) -> PortalLink:
    """Revoke a link at once: its sessions stop working on their next request. Revoking twice is refused."""
    _require(actor)
    with transaction.atomic():
        link = PortalLink.objects.select_for_update().get(pk=link_id)
        if link.revoked_at is not None:
            raise DomainError("already_revoked", "This link is already revoked.")
        link.revoked_at, link.revoked_by = timezone.now(), actor
        link.save(update_fields=["revoked_at", "revoked_by"])
        for_whom = f" ({link.label})" if link.label else ""
        message = f"Portal link revoked{for_whom}"
        JobEvent.objects.create(created_at=link.revoked_at, job_id=link.job_id, actor=actor, kind=JobEvent.Kind.CUSTOMER, message=message)
    return link


def link_for_notification(job: Job) -> PortalLink:
    """The job's newest active link, or a new one: notifications carry the customer to the portal.
    Call inside the caller's transaction."""
    link = PortalLink.objects.filter(job=job, revoked_at__isnull=True, expires_at__gt=timezone.now()).order_by("-created_at", "-id").first()
    return link or link_create(actor=None, job_id=job.pk, label="Sent with notifications")
