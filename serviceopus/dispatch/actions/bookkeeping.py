"""The bookkeeping every visit write does: the row lock, the event written to both
timelines, and keeping a job's derived fields in step with its visits."""

from datetime import datetime

from django.db import connection
from django.db.models import Min
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.jobs.models import Job, JobEvent, JobTechnician

from ..models import CrewMember, Visit, VisitEvent
from ..status import ACTIVE, VisitStatus

V = VisitStatus


def lock(qs):  # type: ignore[no-untyped-def]
    return qs.select_for_update() if connection.vendor == "postgresql" else qs


def visit_event(
    visit: Visit,
    actor: User | None,
    kind: str,
    message: str,
    *,
    old: str = "",
    new: str = "",
    data: dict | None = None,
    at: datetime | None = None,
    lat=None,
    lng=None,
) -> None:  # type: ignore[no-untyped-def]
    at = at or timezone.now()
    VisitEvent.objects.create(
        visit=visit, actor=actor, kind=kind, from_status=old, to_status=new, at=at, lat=lat, lng=lng, message=message[:500], data=data or {}
    )
    JobEvent.objects.create(
        job_id=visit.job_id,
        actor=actor,
        kind=JobEvent.Kind.VISIT,
        old_value=old,
        new_value=new,
        message=f"Visit {visit.number}: {message}"[:500],
        data={"visit": visit.pk, **(data or {})},
        created_at=at,
    )


def sync_job_from_visits(job_id: int) -> None:
    """Keep the job's derived fields in step with its visits: the assigned technicians are the crews of
    its visits that are not cancelled, and next_visit_at is the earliest active visit's start."""
    wanted = set(CrewMember.objects.filter(visit__job_id=job_id).exclude(visit__status=V.CANCELLED).values_list("technician_id", flat=True))
    have = set(JobTechnician.objects.filter(job_id=job_id).values_list("technician_id", flat=True))
    if have - wanted:
        JobTechnician.objects.filter(job_id=job_id, technician_id__in=have - wanted).delete()
    if wanted - have:
        JobTechnician.objects.bulk_create([JobTechnician(job_id=job_id, technician_id=t) for t in wanted - have])
    next_at = Visit.objects.filter(job_id=job_id, status__in=ACTIVE).aggregate(first=Min("scheduled_start"))["first"]
    Job.objects.filter(pk=job_id).update(next_visit_at=next_at)
