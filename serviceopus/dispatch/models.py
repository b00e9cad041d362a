from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from serviceopus.core.text import reject_nul
from serviceopus.crew.models import Technician
from serviceopus.jobs.models import Job

from .status import Outcome, VisitStatus


class DispatchSettings(models.Model):
    """The company's dispatch defaults (one row, edited in the admin site). `current()` creates it
    with the defaults on first use."""

    arrival_window_minutes = models.PositiveIntegerField(
        default=120, validators=[MinValueValidator(15), MaxValueValidator(12 * 60)], help_text="Default width of an arrival window."
    )
    at_risk_minutes = models.PositiveIntegerField(
        default=30, validators=[MaxValueValidator(8 * 60)], help_text="A visit not en route this long before its window ends is at risk."
    )
    paused_alert_minutes = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)], help_text="A visit paused longer than this is flagged."
    )
    day_start_hour = models.PositiveSmallIntegerField(default=6, validators=[MaxValueValidator(23)], help_text="First hour shown on the dispatch board.")
    day_end_hour = models.PositiveSmallIntegerField(default=20, validators=[MinValueValidator(1), MaxValueValidator(24)], help_text="Last hour shown.")

    class Meta:
        verbose_name = verbose_name_plural = "dispatch settings"

    def __str__(self) -> str:
        return "Dispatch settings"

    @classmethod
    def current(cls) -> "DispatchSettings":
        row = cls.objects.order_by("pk").first()
        return row if row is not None else cls.objects.create()


class Visit(models.Model):
    """One trip of a crew to the job's site."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="visits")
    number = models.PositiveIntegerField(help_text="1, 2, 3… within the job.")
    status = models.CharField(max_length=20, choices=VisitStatus.choices, default=VisitStatus.SCHEDULED)
    scheduled_start = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(default=60, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)])
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    crew_notes = models.TextField(max_length=5000, blank=True, validators=[reject_nul])
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    pause_reason = models.CharField(max_length=200, blank=True, validators=[reject_nul])
    return_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="returns")
    # When the visit last entered each field status (the exceptions and the phone pages read these;
    # the full history is the timeline).
    en_route_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    departed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    last_lng = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    # Kept on the visit row (dispatch/eta.py refreshes it in the background) so that the board, the
    # phone and the portal show it without another query.
    eta = models.DateTimeField(null=True, blank=True, help_text="Predicted arrival at the customer, refreshed as the day goes.")
    eta_updated_at = models.DateTimeField(null=True, blank=True)
    # A locked visit keeps its technician and start when a day is planned (dispatch/planner/builder.py):
    # the customer was promised that person or that hour.
    locked = models.BooleanField(default=False, help_text="Day planning keeps this visit's technician and start.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["scheduled_start", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="visit_job_number"),
            models.CheckConstraint(
                condition=models.Q(window_end__gt=models.F("window_start")) | models.Q(window_start__isnull=True), name="visit_window_order"
            ),
        ]
        indexes = [
            # The dispatch board and the exceptions read one day of visits by start time.
            models.Index(fields=["scheduled_start", "id"], name="visit_start_id"),
            # The board's live updates ask "what changed since …".
            models.Index(fields=["updated_at"], name="visit_updated_at"),
        ]

    def __str__(self) -> str:
        return f"{self.job.number} visit {self.number}" if self.job_id else f"Visit {self.number}"

    @property
    def scheduled_end(self) -> datetime | None:
        if self.scheduled_start is None:
            return None
        return self.scheduled_start + timedelta(minutes=self.duration_minutes)


class CrewMember(models.Model):
    """A technician on a visit: the lead, or a helper."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="crew")
    technician = models.ForeignKey(Technician, on_delete=models.PROTECT, related_name="crew_places")
    is_lead = models.BooleanField(default=False)

    class Meta:
        ordering = ["visit_id", "-is_lead", "id"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "technician"], name="crew_visit_technician"),
            models.UniqueConstraint(fields=["visit"], condition=models.Q(is_lead=True), name="crew_one_lead"),
        ]
        indexes = [models.Index(fields=["technician", "visit"], name="crew_tech_visit")]

    def __str__(self) -> str:
        return f"{self.technician_id} on visit {self.visit_id}{' (lead)' if self.is_lead else ''}"


class VisitEvent(models.Model):
    """Append-only timeline of one visit: every status change (with time, actor and GPS position when
    the phone sent one), scheduling change and override. The job's own timeline gets a JobEvent for
    each of these too; this table keeps the structured facts that durations and time entries need."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status changed"
        SCHEDULED = "scheduled", "Scheduled"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CREW = "crew", "Crew changed"
        OVERRIDE = "override", "Checks overridden"
        EDITED = "edited", "Edited"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.STATUS)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField(default=timezone.now)
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["visit", "at", "id"], name="visitevent_visit_at")]

    def __str__(self) -> str:
        return f"{self.visit_id}: {self.from_status} → {self.to_status}"


class TravelMatrix(models.Model):
    """A travel matrix the planner asked a provider for (dispatch/planner/travel.py `cached_matrix`), kept
    in the database so that every process planning the same day reuses it. `key` covers the provider,
    the day and the places in order; old days are dropped by `forget_matrices`."""

    key = models.CharField(max_length=64, unique=True)
    day = models.DateField()
    seconds = models.JSONField(help_text="n×n whole seconds, row = from, column = to.")
    metres = models.JSONField(help_text="n×n whole metres.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["day"], name="travelmatrix_day")]

    def __str__(self) -> str:
        return f"Travel matrix {self.day} ({len(self.seconds)} places)"


class PlanningRun(models.Model):
    """One "Plan day": the background task's progress (throttled writes while the solver runs), the
    proposed plan with a snapshot of what each visit was when the run read it (dispatch/planning.py),
    and what was accepted from it (dispatch/planner/apply.py)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    day = models.DateField()

    class Mode(models.TextChoices):
        DAY = "day", "Whole day"
        REST_OF_DAY = "rest_of_day", "Rest of today"

    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.DAY, help_text="Rest of today: from where everyone is now.")
    include_assigned = models.BooleanField(default=True, help_text="Also move visits that already have a technician (unless locked).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=100, blank=True)
    visit_count = models.PositiveIntegerField(default=0, help_text="Visits in the problem.")
    served = models.PositiveIntegerField(default=0, help_text="Best valid plan so far.")
    weighted_served = models.PositiveIntegerField(default=0)
    travel_metres = models.BigIntegerField(default=0)
    elapsed_seconds = models.FloatField(default=0)
    result = models.JSONField(default=dict, blank=True, help_text="The problem's snapshot, the current and the proposed plan.")
    applied = models.JSONField(default=dict, blank=True, help_text="What was accepted: routes and the versions written.")
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["day", "created_at"], name="planningrun_day_created")]
        # One proposal in the making per day, whoever presses the button at the same moment.
        constraints = [models.UniqueConstraint(fields=["day"], condition=models.Q(status__in=["queued", "running"]), name="planningrun_one_active_per_day")]

    def __str__(self) -> str:
        return f"Plan for {self.day} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED)
