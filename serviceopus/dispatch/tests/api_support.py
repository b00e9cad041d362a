"""What the dispatch API tests share: times, a snapshot of everything a dispatch call could change
and small request helpers."""

import json
from datetime import datetime, time, timedelta

from django.utils import timezone

from serviceopus.api.tests.client import BASE
from serviceopus.dispatch.models import CrewMember, Visit, VisitEvent
from serviceopus.dispatch.status import VisitStatus
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import Job, JobEvent, JobTechnician

V = VisitStatus


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """An aware local time `day_offset` days from today."""
    day = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def iso(moment: datetime) -> str:
    return moment.isoformat()


def parsed(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def day_of(offset: int) -> str:
    return (timezone.localdate() + timedelta(days=offset)).isoformat()


def snapshot():  # type: ignore[no-untyped-def]
    """Everything a dispatch call could change."""
    return (
        list(Visit.objects.order_by("pk").values()),
        list(CrewMember.objects.order_by("pk").values()),
        list(VisitEvent.objects.order_by("pk").values()),
        list(Job.objects.order_by("pk").values()),
        list(JobTechnician.objects.order_by("pk").values()),
        JobEvent.objects.count(),
        list(TimeEntry.objects.order_by("pk").values()),
    )


def put(api, path: str, body: dict):  # type: ignore[no-untyped-def]
    return api.client.put(BASE + path, json.dumps(body), content_type="application/json", headers=api._headers())


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]
