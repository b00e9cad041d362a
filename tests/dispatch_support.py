"""Helpers shared by the dispatch and field tests: local times relative to today, and a snapshot of
every row a scheduling or field action may write, to show that a refused action changed nothing."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from serviceopus.dispatch.models import CrewMember, Visit, VisitEvent
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import Job, JobEvent


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """An aware local time `day_offset` days from today."""
    day = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def snapshot() -> tuple:
    return (
        list(Visit.objects.order_by("pk").values()),
        list(CrewMember.objects.order_by("pk").values()),
        list(VisitEvent.objects.order_by("pk").values_list("pk", flat=True)),
        list(Job.objects.order_by("pk").values()),
        list(JobEvent.objects.order_by("pk").values_list("pk", flat=True)),
        list(TimeEntry.objects.order_by("pk").values()),
    )
