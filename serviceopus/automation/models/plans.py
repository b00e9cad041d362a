"""Service agreements and recurring jobs: one plan model for both, and its occurrences.

A plan is a visit rule (an RFC 5545 RRULE anchored at the start date) over a term, at one or more
locations. A service agreement is a plan with commercial terms (coverage, price); a recurring job
("every 3 months") is a plan without them. Each rule date at each location is an Occurrence: its
(plan, location, rule date) key is unique in the database, which is what makes generation idempotent
under repetition and concurrency. A skipped or moved occurrence keeps its rule date as the key, so
regeneration never recreates it.
"""

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from serviceopus.core.text import reject_nul
from serviceopus.customers.models import Asset, Customer, Location
from serviceopus.jobs.models import Job, JobType, Priority


class PlanKind(models.TextChoices):
    AGREEMENT = "agreement", "Service agreement"
    RECURRING = "recurring", "Recurring job"


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class PricePeriod(models.TextChoices):
    PER_VISIT = "per_visit", "Per visit"
    PER_TERM = "per_term", "Per term"


class RecurringPlan(models.Model):
    kind = models.CharField(max_length=20, choices=PlanKind.choices, default=PlanKind.AGREEMENT)
    reference = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200, validators=[reject_nul])
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="recurring_plans")
    locations = models.ManyToManyField(Location, related_name="recurring_plans")
    assets = models.ManyToManyField(Asset, blank=True, related_name="recurring_plans")
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    # What each generated job is.
    job_type = models.ForeignKey(JobType, on_delete=models.PROTECT, related_name="recurring_plans")
    scope = models.TextField(max_length=10000, validators=[reject_nul])
    duration_minutes = models.PositiveIntegerField(default=60, validators=[MinValueValidator(5), MaxValueValidator(60 * 24 * 14)])
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    visit_time = models.TimeField(default=time(8, 0), help_text="Preferred start on the visit day (local time).")
    # When: the rule, inside the term; jobs are created `horizon_days` ahead.
    rrule = models.CharField("Visit rule", max_length=500, validators=[reject_nul])
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    horizon_days = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1), MaxValueValidator(730)])
    # Agreements only: what the customer pays and what the agreement covers.
    covered_kinds = models.JSONField(default=list, blank=True)
    not_to_exceed_cents = models.BigIntegerField(null=True, blank=True)
    price_cents = models.BigIntegerField(default=0)
    price_period = models.CharField(max_length=10, choices=PricePeriod.choices, default=PricePeriod.PER_VISIT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["customer__name", "reference"]
        indexes = [models.Index(fields=["status", "kind"], name="plan_status_kind")]

    def __str__(self) -> str:
        return f"{self.reference} {self.name}"

    @property
    def is_agreement(self) -> bool:
        return self.kind == PlanKind.AGREEMENT


class OccurrenceStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    GENERATED = "generated", "Job created"
    SKIPPED = "skipped", "Skipped"
    MOVED = "moved", "Moved"


class Occurrence(models.Model):
    """One rule date of a plan at one location. Rows exist only for dates that were generated, skipped
    or moved; the dates ahead without a row are computed from the rule."""

    plan = models.ForeignKey(RecurringPlan, on_delete=models.CASCADE, related_name="occurrences")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    occurrence_date = models.DateField()
    status = models.CharField(max_length=10, choices=OccurrenceStatus.choices, default=OccurrenceStatus.PLANNED)
    moved_to = models.DateField(null=True, blank=True)
    job = models.OneToOneField(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="plan_occurrence")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan_id", "occurrence_date", "location_id"]
        constraints = [models.UniqueConstraint(fields=["plan", "location", "occurrence_date"], name="occurrence_once")]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.location_id} {self.occurrence_date}"

    @property
    def visit_date(self):  # type: ignore[no-untyped-def]
        return self.moved_to or self.occurrence_date
