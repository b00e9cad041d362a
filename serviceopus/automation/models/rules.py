"""Workflow rules (trigger → conditions → actions, configured by an admin) and their run log.

The trigger, its parameters, the conditions and the actions are JSON checked by automation/rules/spec.py
on every save (rules/editing.py refuses an invalid rule with the reason); the engine (rules/engine.py) reads
them back only through that module, so what is stored is what the form accepted.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from serviceopus.core.text import reject_nul

from .events import AutomationEvent, EventType


class WorkflowRule(models.Model):
    name = models.CharField(max_length=200, validators=[reject_nul])
    description = models.TextField(max_length=2000, blank=True, validators=[reject_nul])
    enabled = models.BooleanField(default=True)
    trigger = models.CharField(max_length=40, choices=EventType.choices)
    # e.g. {"to": "work_complete"} for a status change, {"minutes": 30} for paused long, {"days": 30} unpaid.
    trigger_params = models.JSONField(default=dict, blank=True)
    # [{"field": "job_type", "op": "eq", "value": 3}, …] — all must hold.
    conditions = models.JSONField(default=list, blank=True)
    # [{"kind": "create_task", "title": "…", "owner_role": "manager", "due_days": 1}, …] — run in order.
    actions = models.JSONField(default=list)
    # The rule acts with its author's rights (like an agreement's generator): an author who left or lost
    # a right makes the action fail, logged, until someone takes the rule over by saving it.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["enabled", "trigger"], name="rule_enabled_trigger")]

    def __str__(self) -> str:
        return self.name


class RuleRun(models.Model):
    """One evaluation of one rule against one event (one row per attempt)."""

    class Outcome(models.TextChoices):
        NOT_MATCHED = "not_matched", "Conditions not met"
        DONE = "done", "Actions taken"
        FAILED = "failed", "Failed (retried)"
        GAVE_UP = "gave_up", "Failed (no more retries)"
        LOOP = "loop", "Skipped: caused by the rule itself"

    rule = models.ForeignKey(WorkflowRule, on_delete=models.CASCADE, related_name="runs")
    event = models.ForeignKey(AutomationEvent, on_delete=models.CASCADE, related_name="rule_runs")
    job = models.ForeignKey("jobs.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    # Why it matched or not, condition by condition: ["Job type is Maintenance: yes", "Photos < 2: no (3)"].
    explanation = models.JSONField(default=list, blank=True)
    # What each action did: ["Task “Check photos” for Service managers, due 2026-11-27", …].
    actions_taken = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=1000, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["rule", "-created_at"], name="rule_run_rule"),
            models.Index(fields=["event", "rule"], name="rule_run_event"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.event_id}: {self.outcome}"
