from django.conf import settings
from django.db import models
from django.utils import timezone

from serviceopus.core.text import reject_nul
from serviceopus.crew.models import Technician
from serviceopus.dispatch.models import Visit
from serviceopus.jobs.models import Job


class TimeEntry(models.Model):
    """Time one crew member spent on a job: travel or work.

    Automatic entries are derived from the visit's status events as they happen (travel = en route →
    arrived; work = working → paused/departed, so pauses are not counted); manual ones carry a reason.
    An open entry (no end yet) is still running. The office reviews entries: approving one stamps it;
    correcting one creates a new entry (`corrects` → the original) and marks the original `corrected`,
    so the original stays on record."""

    class Kind(models.TextChoices):
        TRAVEL = "travel", "Travel"
        WORK = "work", "Work"

    class Source(models.TextChoices):
        AUTOMATIC = "automatic", "From status updates"
        MANUAL = "manual", "Entered by hand"
        CORRECTION = "correction", "Correction"

    class Review(models.TextChoices):
        PENDING = "pending", "To review"
        APPROVED = "approved", "Approved"
        CORRECTED = "corrected", "Corrected (replaced)"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="time_entries")
    visit = models.ForeignKey(Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="time_entries")
    technician = models.ForeignKey(Technician, on_delete=models.PROTECT, related_name="time_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.AUTOMATIC)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, validators=[reject_nul])
    review = models.CharField(max_length=10, choices=Review.choices, default=Review.PENDING)
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")), name="time_entry_end_after_start"),
        ]
        indexes = [
            models.Index(fields=["job", "start"], name="timeentry_job_start"),
            models.Index(fields=["technician", "end"], name="timeentry_tech_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.technician_id} {self.start:%Y-%m-%d %H:%M}"

    @property
    def minutes(self) -> int | None:
        if self.end is None:
            return None
        return round((self.end - self.start).total_seconds() / 60)
