import secrets
from pathlib import PurePosixPath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from serviceopus.core.text import reject_nul


class Skill(models.Model):
    name = models.CharField(max_length=80, unique=True, validators=[reject_nul])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def photo_upload_name(instance: models.Model, filename: str) -> str:
    """A random stored name: the photo is served only through the portal's access check."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"technicians/{secrets.token_hex(16)}{suffix}"


class Technician(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="technician")
    skills = models.ManyToManyField(Skill, blank=True, related_name="technicians")
    home_lat = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    home_lng = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    hourly_cost_cents = models.PositiveIntegerField(default=0)
    color = models.CharField(max_length=7, default="#2563eb")
    photo = models.ImageField(upload_to=photo_upload_name, max_length=200, blank=True, help_text="Shown to customers on their job page.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["user__first_name", "user__last_name", "id"]

    def __str__(self) -> str:
        return self.user.display_name

    @property
    def name(self) -> str:
        return self.user.display_name


class WeeklyShift(models.Model):
    """One working period on one weekday (0 = Monday). Several rows per day allow split shifts."""

    technician = models.ForeignKey(Technician, on_delete=models.CASCADE, related_name="shifts")
    weekday = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["technician_id", "weekday", "start"]
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="shift_end_after_start")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    def get_weekday_display(self) -> str:
        return ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][self.weekday]


class TimeOff(models.Model):
    """A period a technician is not available (holiday, sickness, training). Scheduling checks it."""

    technician = models.ForeignKey(Technician, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True, validators=[reject_nul])

    class Meta:
        ordering = ["technician_id", "start"]
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="time_off_end_after_start")]
        indexes = [models.Index(fields=["technician", "start", "end"], name="timeoff_tech_start")]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} {self.reason}".strip()


class CalendarFeed(models.Model):
    """The secret behind a technician's iCalendar feed URL. Only a SHA-256 of the token is stored; the
    URL is shown once when the feed is created or renewed, and renewing revokes the old one."""

    technician = models.OneToOneField(Technician, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.technician}"
