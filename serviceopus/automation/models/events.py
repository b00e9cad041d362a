"""The automation outbox: one row per thing that happened which rules or webhooks may act on.

A row is written in the transaction of the change it reports (a rolled-back change leaves none), and the
automation worker processes it later, outside that transaction: the rules that match run, and each
webhook subscribed to its type gets a delivery. A rule's own effects carry the rule's id in
`rule_chain`, which is how a rule is kept from triggering itself again and again.
"""

import uuid

from django.db import models
from django.utils import timezone

from serviceopus.jobs.models import Job


class EventType(models.TextChoices):
    # Written by the apps' actions as they happen.
    JOB_CREATED = "job.created", "Job created"
    JOB_STATUS_CHANGED = "job.status_changed", "Job status changed"
    VISIT_STATUS_CHANGED = "visit.status_changed", "Visit status changed"
    BLOCKER_OPENED = "job.blocker_opened", "Completion blocker opened"
    INVOICE_ISSUED = "invoice.issued", "Invoice issued"
    PAYMENT_RECORDED = "payment.recorded", "Payment recorded"
    # Found by the periodic scan (time-based triggers); each names the one rule it is for.
    VISIT_LATE = "visit.late", "Visit at risk or late"
    JOB_OVERDUE = "job.overdue", "Job overdue"
    VISIT_PAUSED_LONG = "visit.paused_long", "Visit paused longer than N minutes"
    INVOICE_UNPAID = "invoice.unpaid", "Invoice unpaid N days"
    # Sent by an admin to test a webhook; no rule acts on it.
    PING = "ping", "Test ping"


TIME_BASED = frozenset({EventType.VISIT_LATE, EventType.JOB_OVERDUE, EventType.VISIT_PAUSED_LONG, EventType.INVOICE_UNPAID})
# What a webhook may subscribe to: the events of the apps, not the rule-specific time-based ones.
WEBHOOK_TYPES = (
    EventType.JOB_CREATED,
    EventType.JOB_STATUS_CHANGED,
    EventType.VISIT_STATUS_CHANGED,
    EventType.BLOCKER_OPENED,
    EventType.INVOICE_ISSUED,
    EventType.PAYMENT_RECORDED,
)


class EventStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class AutomationEvent(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, null=True, blank=True, related_name="automation_events")
    # Plain ids, not foreign keys: the event outlives a deleted visit or invoice, and its payload keeps
    # what the subject looked like.
    visit_id = models.BigIntegerField(null=True, blank=True)
    invoice_id = models.BigIntegerField(null=True, blank=True)
    # The webhook payload's "data" and what conditions read: {"from": …, "to": …, "job": {…}, …}.
    data = models.JSONField(default=dict, blank=True)
    # Ids of the rules whose actions caused this event, outermost first (empty for a person's change).
    rule_chain = models.JSONField(default=list, blank=True)
    # Time-based events only: the rule they are for (the scan evaluates each rule's own threshold).
    rule = models.ForeignKey("automation.WorkflowRule", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # Time-based events only: one event per rule, subject and occasion, however often the scan runs.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(max_length=12, choices=EventStatus.choices, default=EventStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="automation_event_due"),
            models.Index(fields=["job", "created_at"], name="automation_event_job"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.uid} ({self.status})"
