"""Writes to time entries. `record_visit_transition` is called by dispatch.actions.visit_transition in
its transaction, so time is derived from exactly the status changes that were accepted; the office's
review (approve, correct) and manual entries go through the other functions here."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.crew.models import Technician
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus as V
from serviceopus.jobs.models import Job, JobEvent

from .models import TimeEntry

MAX_ENTRY = timedelta(hours=24)

# Which entry kind a status opens, and which statuses close the running entries of the visit.
OPENS = {V.EN_ROUTE: TimeEntry.Kind.TRAVEL, V.WORKING: TimeEntry.Kind.WORK}
CLOSES = frozenset({V.ARRIVED, V.PAUSED, V.DEPARTED, V.COMPLETED, V.CANCELLED, V.SCHEDULED})


def record_visit_transition(*, visit: Visit, technician_ids: Sequence[int], to: str, at: datetime, actor: User | None) -> None:
    """Close the visit's running entries and open the ones the new status starts, for every crew member.
    A technician who starts travelling to this visit while an entry of another visit still runs (they
    forgot to depart) has that entry closed too: nobody is in two places at once."""
    if to in CLOSES or to in OPENS:
        TimeEntry.objects.filter(visit=visit, end__isnull=True, source=TimeEntry.Source.AUTOMATIC).update(end=at)
    if to in OPENS:
        TimeEntry.objects.filter(technician_id__in=technician_ids, end__isnull=True, source=TimeEntry.Source.AUTOMATIC).update(end=at)
        TimeEntry.objects.bulk_create(
            [TimeEntry(job_id=visit.job_id, visit=visit, technician_id=t, kind=OPENS[to], start=at, created_by=actor) for t in technician_ids]
        )


def _can_review(actor: User) -> None:
    if not actor.has_perm("field.review_time"):
        raise DomainError("forbidden", "You may not review time entries.")


def _clean_interval(fields: dict[str, str], start: datetime | None, end: datetime | None) -> None:
    if start is None:
        fields["start"] = "Enter a start time."
    if end is None:
        fields["end"] = "Enter an end time."
    if start and end:
        if end <= start:
            fields["end"] = "The end must be after the start."
        elif end - start > MAX_ENTRY:
            fields["end"] = "One entry covers at most 24 hours."
        elif start > timezone.now() + timedelta(minutes=5):
            fields["start"] = "Time cannot be recorded in the future."


def _clean_reason(fields: dict[str, str], reason: str) -> str:
    reason = (reason or "").strip()
    if "\x00" in reason or len(reason) > 300:
        fields["reason"] = "At most 300 characters, no NUL characters."
    elif not reason:
        fields["reason"] = "Say why this time is entered by hand."
    return reason


def _log(job_id: int, actor: User, message: str, data: dict) -> None:
    JobEvent.objects.create(job_id=job_id, actor=actor, kind=JobEvent.Kind.TIME, message=message[:500], data=data)


def time_entry_add(
    *, actor: User, job_id: int, technician_id: int, kind: str, start: datetime, end: datetime, reason: str, visit_id: int | None = None
) -> TimeEntry:
    """A manual entry (forgotten clock-in, work done without the phone). Technicians may add their
    own, on jobs they are assigned to (the caller checks access); office reviewers anyone's."""
    fields: dict[str, str] = {}
    if kind not in TimeEntry.Kind.values:
        fields["kind"] = "Choose travel or work."
    _clean_interval(fields, start, end)
    reason = _clean_reason(fields, reason)
    technician = Technician.objects.select_related("user").filter(pk=technician_id).first()
    if technician is None:
        fields["technician"] = "Unknown technician."
    elif not actor.has_perm("field.review_time") and technician.user_id != actor.pk:
        raise DomainError("forbidden", "You may only enter your own time.")
    if visit_id is not None and not Visit.objects.filter(pk=visit_id, job_id=job_id).exists():
        fields["visit"] = "This visit belongs to another job."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    assert technician is not None
    with transaction.atomic():
        job = Job.objects.get(pk=job_id)
        entry = TimeEntry.objects.create(
            job=job,
            visit_id=visit_id,
            technician=technician,
            kind=kind,
            source=TimeEntry.Source.MANUAL,
            start=start,
            end=end,
            reason=reason,
            created_by=actor,
        )
        _log(
            job.pk,
            actor,
            f"Time entered for {technician.name}: {entry.get_kind_display().lower()} {entry.minutes} min — {reason}",
            {"time_entry": entry.pk, "op": "add"},
        )
    return entry


def time_entry_approve(*, actor: User, entry_id: int, version: int) -> TimeEntry:
    _can_review(actor)
    with transaction.atomic():
        entry = TimeEntry.objects.select_related("technician__user").get(pk=entry_id)
        if entry.end is None:
            raise ConflictError("running", "This entry is still running; approve it once it has ended.")
        if entry.review != TimeEntry.Review.PENDING:
            raise ConflictError("reviewed", f"This entry is already {entry.get_review_display().lower()}.")
        now = timezone.now()
        updated = TimeEntry.objects.filter(pk=entry.pk, version=version, review=TimeEntry.Review.PENDING).update(
            review=TimeEntry.Review.APPROVED, reviewed_by=actor, reviewed_at=now, version=F("version") + 1
        )
        if not updated:
            raise ConflictError("stale", "This entry changed meanwhile. Reload to see it.")
        _log(
            entry.job_id,
            actor,
            f"Approved {entry.get_kind_display().lower()} time of {entry.technician.name}: {entry.minutes} min",
            {"time_entry": entry.pk, "op": "approve"},
        )
    entry.refresh_from_db()
    return entry


def time_entry_correct(*, actor: User, entry_id: int, version: int, start: datetime, end: datetime, reason: str) -> TimeEntry:
    """Replace an entry's times. The original is kept (marked corrected) and the correction, approved
    by the reviewer who made it, points at it; both appear on the job's timeline."""
    _can_review(actor)
    fields: dict[str, str] = {}
    _clean_interval(fields, start, end)
    reason = _clean_reason(fields, reason)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        original = TimeEntry.objects.select_related("technician__user").get(pk=entry_id)
        if original.review == TimeEntry.Review.CORRECTED:
            raise ConflictError("reviewed", "This entry has already been corrected; correct the newer entry instead.")
        if original.end is None:
            raise ConflictError("running", "This entry is still running; correct it once it has ended.")
        updated = (
            TimeEntry.objects.filter(pk=original.pk, version=version)
            .exclude(review=TimeEntry.Review.CORRECTED)
            .update(review=TimeEntry.Review.CORRECTED, reviewed_by=actor, reviewed_at=timezone.now(), version=F("version") + 1)
        )
        if not updated:
            raise ConflictError("stale", "This entry changed meanwhile. Reload to see it.")
        now = timezone.now()
        correction = TimeEntry.objects.create(
            job_id=original.job_id,
            visit_id=original.visit_id,
            technician=original.technician,
            kind=original.kind,
            source=TimeEntry.Source.CORRECTION,
            start=start,
            end=end,
            reason=reason,
            corrects=original,
            review=TimeEntry.Review.APPROVED,
            created_by=actor,
            reviewed_by=actor,
            reviewed_at=now,
        )
        _log(
            original.job_id,
            actor,
            f"Corrected {original.get_kind_display().lower()} time of {original.technician.name}: {original.minutes} → {correction.minutes} min — {reason}",
            {"time_entry": correction.pk, "corrects": original.pk, "op": "correct"},
        )
    return correction
