"""Follow-up tasks (work someone in the office owes after a job's event) and in-app alerts."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from serviceopus.accounts.roles import Role
from serviceopus.core.text import reject_nul
from serviceopus.jobs.models import Job


class FollowUpTask(models.Model):
    """Owned by one user, or by a role (anyone in it may do it). An open task holds the job's close
    (a guard in the job's transition function)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="follow_up_tasks")
    title = models.CharField(max_length=200, validators=[reject_nul])
    notes = models.TextField(max_length=2000, blank=True, validators=[reject_nul])
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_up_tasks")
    owner_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    due_date = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule = models.ForeignKey("automation.WorkflowRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["done_at", "due_date", "id"]
        indexes = [
            models.Index(fields=["owner", "done_at", "due_date"], name="task_owner_open"),
            models.Index(fields=["owner_role", "done_at", "due_date"], name="task_role_open"),
            models.Index(fields=["job", "done_at"], name="task_job_open"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.done_at is None


class AlertLevel(models.TextChoices):
    INFO = "info", "Information"
    WARNING = "warning", "Warning"
    URGENT = "urgent", "Urgent"


class Alert(models.Model):
    """One alert for one user (an alert to a role is one row per member, each read on its own)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts")
    title = models.CharField(max_length=200, validators=[reject_nul])
    body = models.TextField(max_length=2000, blank=True, validators=[reject_nul])
    level = models.CharField(max_length=10, choices=AlertLevel.choices, default=AlertLevel.INFO)
    rule = models.ForeignKey("automation.WorkflowRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="alert_user_unread")]

    def __str__(self) -> str:
        return self.title
