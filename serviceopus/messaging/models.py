"""Talking with the customer: portal links, the transactional outbox, the per-job thread of messages,
approval requests (added work, change orders) and the notification templates the company edits.

The outbox is the only way a message leaves: a row written in the same transaction as the event that
causes it, delivered after commit by the outbox worker (delivery.py). Its `uid` is the message id given
to the provider (the email's Message-ID, the SMS provider's idempotency key), so a message resent after a
crash is recognised as the same one. A portal link's secret is never stored: only its SHA-256.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from serviceopus.closeout.models import random_upload_name
from serviceopus.core.text import reject_nul
from serviceopus.dispatch.models import Visit
from serviceopus.jobs.models import Job


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"


class Notice(models.TextChoices):
    """What a notification is about; each has one editable template per channel (notices.py)."""

    APPOINTMENT_CONFIRMATION = "appointment_confirmation", "Appointment confirmation"
    APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
    ON_THE_WAY = "on_the_way", "On the way"
    ARRIVED = "arrived", "Arrived"
    COMPLETED = "completed", "Work completed"
    INVOICE_ISSUED = "invoice_issued", "Invoice issued"
    APPROVAL_REQUESTED = "approval_requested", "Approval requested"
    PORTAL_LINK = "portal_link", "Portal link"
    OFFICE_MESSAGE = "office_message", "Message from the office"
    OFFICE_ALERT = "office_alert", "Alert to the office"  # not a customer notice: no template, see outbox.alert_office


class MessagingSettings(models.Model):
    """The company's messaging defaults (one row; the company's name and address come from billing)."""

    brand_color = models.CharField(max_length=7, default="#1d4ed8", help_text="The portal's colour, as #rrggbb.")
    office_email = models.EmailField(blank=True, help_text="Where customer replies and approvals are announced.")
    reminder_hours = models.PositiveSmallIntegerField(default=24, validators=[MinValueValidator(1), MaxValueValidator(168)])
    portal_link_days = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(1), MaxValueValidator(365)])
    travel_speed_kmh = models.PositiveSmallIntegerField(
        default=40, validators=[MinValueValidator(5), MaxValueValidator(130)], help_text="Average speed for the on-the-way ETA."
    )

    class Meta:
        verbose_name = verbose_name_plural = "messaging settings"

    def __str__(self) -> str:
        return "Messaging settings"

    @classmethod
    def current(cls) -> "MessagingSettings":
        row = cls.objects.order_by("pk").first()
        return row if row is not None else cls.objects.create()


class MessageTemplate(models.Model):
    """A company's wording of one notice on one channel; without a row the default in notices.py is used."""

    notice = models.CharField(max_length=40, choices=Notice.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject = models.CharField(max_length=200, blank=True, validators=[reject_nul])
    body = models.TextField(max_length=5000, validators=[reject_nul])
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notice", "channel"], name="message_template_notice_channel")]

    def __str__(self) -> str:
        return f"{self.get_notice_display()} ({self.get_channel_display()})"


class JobNotificationMute(models.Model):
    """Present while the dispatcher has turned off automatic notifications for a job."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="notification_mute")
    muted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    muted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Notifications muted for job {self.job_id}"


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"  # opted out, no address, muted, out of date: see skip_reason
        SUPPRESSED = "suppressed", "Suppressed"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox_messages")
    visit = models.ForeignKey(Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    notice = models.CharField(max_length=40, choices=Notice.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(max_length=10000)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    skip_reason = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_ref = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    data = models.JSONField(default=dict, blank=True)
    resend_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="resends")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The worker's claim: due pending messages, and sending ones whose lease ran out.
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["job", "created_at"], name="outbox_job_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_notice_display()} by {self.get_channel_display()} to {self.recipient or '—'} ({self.status})"

    @property
    def message_id(self) -> str:
        """The RFC 5322 Message-ID (and the SMS idempotency key) of this message, stable across retries."""
        return f"<{self.uid}@serviceopus>"


class CustomerMessage(models.Model):
    """The job's thread with the customer: words the customer sent through the portal and the office's
    replies (each reply also leaves through the outbox). Kept apart from the internal notes."""

    class Direction(models.TextChoices):
        IN = "in", "From the customer"
        OUT = "out", "To the customer"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="customer_messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    body = models.TextField(max_length=2000, validators=[reject_nul])
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    author_name = models.CharField(max_length=200, blank=True, help_text="Who wrote it, as shown in the thread.")
    portal_link = models.ForeignKey("PortalLink", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    outbox = models.ForeignKey(OutboxMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True, help_text="When the office read a customer's message.")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["job", "created_at"], name="custmsg_job_created"),
            models.Index(fields=["direction", "read_at"], name="custmsg_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} on job {self.job_id}"


class PortalLink(models.Model):
    """A secret link that opens one job's portal page. Only the secret's SHA-256 is stored; the secret
    itself is derived from a random salt with the server's key (links.py), so the outbox can put the link
    in a message at send time without keeping it. It expires, and can be revoked."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="portal_links")
    salt = models.CharField(max_length=32, help_text="128 random bits; the secret is HMAC(SECRET_KEY, salt), never stored.")
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, blank=True, validators=[reject_nul], help_text="Who it is for, e.g. the tenant.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    last_opened_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Portal link for job {self.job_id}"

    def is_active(self, now=None) -> bool:  # type: ignore[no-untyped-def]
        return self.revoked_at is None and self.expires_at > (now or timezone.now())


class PortalTokenFailure(models.Model):
    """A portal token that matched no usable link, per client address: more than the limit a minute is 429."""

    address = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["address", "at"], name="portal_fail_addr_at")]

    def __str__(self) -> str:
        return f"{self.address} at {self.at:%Y-%m-%d %H:%M}"


class ApprovalRequest(models.Model):
    """Added work or a change order the office asks the customer to approve. `lines` and the totals are
    a snapshot of exactly what the customer is shown; `content_hash` is the SHA-256 of that snapshot, and
    an approval is accepted only for the hash the customer's page showed (approvals.py)."""

    class Kind(models.TextChoices):
        ADDED_WORK = "added_work", "Added work"
        CHANGE_ORDER = "change_order", "Change order"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the customer"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="approval_requests")
    number = models.PositiveIntegerField(help_text="1, 2, 3… within the job.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200, validators=[reject_nul])
    message = models.TextField(max_length=2000, blank=True, validators=[reject_nul])
    lines = models.JSONField(default=list)
    subtotal_cents = models.BigIntegerField(default=0)
    tax_cents = models.BigIntegerField(default=0)
    total_cents = models.BigIntegerField(default=0)
    content_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    signer_name = models.CharField(max_length=100, blank=True, validators=[reject_nul])
    signature = models.FileField(upload_to=random_upload_name, max_length=200, blank=True)
    signature_sha256 = models.CharField(max_length=64, blank=True)
    decline_reason = models.CharField(max_length=500, blank=True, validators=[reject_nul])
    decided_address = models.CharField(max_length=64, blank=True)
    decided_user_agent = models.CharField(max_length=300, blank=True)
    line_item_ids = models.JSONField(default=list, blank=True, help_text="The job lines an approval added.")
    acknowledged_at = models.DateTimeField(null=True, blank=True, help_text="When the office saw the decision.")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["job_id", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="approval_job_number")]
        indexes = [models.Index(fields=["status", "acknowledged_at"], name="approval_decided_unseen")]

    def __str__(self) -> str:
        return f"Approval {self.number} on job {self.job_id}: {self.title}"
