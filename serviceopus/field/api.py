"""The time API: a job's time entries, a technician's entries for a day, manual entries (with a
reason), and the office's review (approve, correct). Every write calls field.actions, as the job's
Time tab does. `router` is mounted under /api/v1 by serviceopus/api/api.py.

Who sees what: whoever may see the job sees its time entries (as on the Time tab); a technician adds
only their own time, on jobs assigned to them; approving and correcting need field.review_time (403).
"""

from datetime import datetime
from typing import Any, Literal

from django.http import Http404, HttpRequest
from ninja import Query, Router, Status
from pydantic import BaseModel, Field

from serviceopus.accounts.models import User
from serviceopus.api.schemas import READ, IsoDate, IsoDateTime, RefId, StrictIn, Text, Version, body_field_names, responses
from serviceopus.core.errors import DomainError
from serviceopus.dispatch.api import JobRef
from serviceopus.dispatch.queries import access_technician_for_user, day_bounds, today
from serviceopus.jobs.api.schemas import Ref
from serviceopus.jobs.queries import access_job_for_user, jobs_visible_to

from . import actions
from .models import TimeEntry

router = Router(tags=["time"])

KindName = Literal[tuple(TimeEntry.Kind.values)]  # type: ignore[valid-type]
TIME_FIELD_NAMES = {"technician": "technician_id", "visit": "visit_id"}


# ---- reads (small enough to live here) ----------------------------------------------------------


def _entries() -> Any:
    return TimeEntry.objects.select_related("technician__user", "job")


def access_time_entry_for_user(user: User, entry_id: int) -> TimeEntry:
    """The entry, or Http404 when it does not exist or its job is not visible to this user."""
    entry = _entries().filter(pk=entry_id, job__in=jobs_visible_to(user)).first()
    if entry is None:
        raise Http404("No such time entry.")
    return entry


# ---- shapes -------------------------------------------------------------------------------------


class TimeEntryOut(BaseModel):
    id: int
    job: JobRef
    visit_id: int | None
    technician: Ref
    kind: str = Field(description="travel or work.")
    source: str = Field(description="automatic (from status updates), manual or correction.")
    start: datetime
    end: datetime | None = Field(description="null while the entry still runs.")
    minutes: int | None
    reason: str
    review: str = Field(description="pending, approved, or corrected (replaced by the entry whose `corrects` points here).")
    corrects: int | None
    reviewed_by: Ref | None
    reviewed_at: datetime | None
    created_at: datetime
    version: int


def time_entry_out(entry: TimeEntry) -> dict[str, Any]:
    """Reads the entry's technician (with user) and job, selected with it; the reviewer is read by
    id only when there is one (the review's own answer)."""
    reviewer = entry.reviewed_by if entry.reviewed_by_id else None
    return {
        "id": entry.pk,
        "job": {"id": entry.job.pk, "number": entry.job.number},
        "visit_id": entry.visit_id,
        "technician": {"id": entry.technician_id, "name": entry.technician.name},
        "kind": entry.kind,
        "source": entry.source,
        "start": entry.start,
        "end": entry.end,
        "minutes": entry.minutes,
        "reason": entry.reason,
        "review": entry.review,
        "corrects": entry.corrects_id,
        "reviewed_by": None if reviewer is None else {"id": reviewer.pk, "name": reviewer.display_name},
        "reviewed_at": entry.reviewed_at,
        "created_at": entry.created_at,
        "version": entry.version,
    }


class TimeEntryIn(StrictIn):
    technician_id: RefId
    kind: KindName
    start: IsoDateTime
    end: IsoDateTime
    reason: Text(300, min_length=1) = Field(description="Why the time is entered by hand.")
    visit_id: RefId | None = None


class ApproveIn(StrictIn):
    version: Version


class CorrectionIn(StrictIn):
    version: Version
    start: IsoDateTime
    end: IsoDateTime
    reason: Text(300, min_length=1) = Field(description="Why the entry is corrected (kept with the correction).")


class TimeDayParams(BaseModel):
    day: IsoDate | None = Field(None, description="Entries starting that (local) day; defaults to today.")


# ---- operations ---------------------------------------------------------------------------------


def _with_reviewer(ids: list[int]) -> list[TimeEntry]:
    return list(_entries().select_related("reviewed_by").filter(pk__in=ids).order_by("start", "id"))


@router.get("/jobs/{job_id}/time-entries", response=responses({200: list[TimeEntryOut]}, READ), summary="A job's time entries")
def job_time_entries(request: HttpRequest, job_id: int) -> list[dict[str, Any]]:
    """Every entry of the job in time order, corrected originals included (their corrections point
    at them). Two queries whatever the number of entries."""
    job = access_job_for_user(request.auth, job_id)
    entries = TimeEntry.objects.filter(job=job).select_related("technician__user", "job", "reviewed_by").order_by("start", "id")
    return [time_entry_out(e) for e in entries]


@router.get("/technicians/{technician_id}/time-entries", response=responses({200: list[TimeEntryOut]}, READ), summary="A technician's time for a day")
def technician_time_entries(request: HttpRequest, technician_id: int, params: TimeDayParams = Query(...)) -> list[dict[str, Any]]:  # noqa: B008
    """The office sees anyone's; a technician only their own (404 for the others)."""
    technician = access_technician_for_user(request.auth, technician_id)
    start, end = day_bounds(params.day or today())
    entries = (
        TimeEntry.objects.filter(technician=technician, start__gte=start, start__lt=end)
        .select_related("technician__user", "job", "reviewed_by")
        .order_by("start", "id")
    )
    return [time_entry_out(e) for e in entries]


@router.get("/time-entries/{entry_id}", response=responses({200: TimeEntryOut}, READ), summary="A time entry")
def time_entry_detail(request: HttpRequest, entry_id: int) -> dict[str, Any]:
    entry = access_time_entry_for_user(request.auth, entry_id)
    return time_entry_out(_with_reviewer([entry.pk])[0])


@router.post("/jobs/{job_id}/time-entries", response=responses({201: TimeEntryOut}), summary="Enter time by hand")
def time_entry_add(request: HttpRequest, job_id: int, body: TimeEntryIn) -> Status:
    """A manual entry needs a reason. A technician may enter only their own time (403 otherwise)."""
    access_job_for_user(request.auth, job_id)
    if not request.auth.has_perm("field.add_time"):
        raise DomainError("forbidden", "You may not enter time.")
    with body_field_names(TIME_FIELD_NAMES):
        entry = actions.time_entry_add(
            actor=request.auth,
            job_id=job_id,
            technician_id=body.technician_id,
            kind=body.kind,
            start=body.start,
            end=body.end,
            reason=body.reason,
            visit_id=body.visit_id,
        )
    return Status(201, time_entry_out(_with_reviewer([entry.pk])[0]))


@router.post("/time-entries/{entry_id}/approve", response=responses({200: TimeEntryOut}), summary="Approve a time entry")
def time_entry_approve(request: HttpRequest, entry_id: int, body: ApproveIn) -> dict[str, Any]:
    """409 `stale` when the entry changed since `version`, `reviewed` when it is already approved or
    corrected, `running` while it has no end."""
    entry = access_time_entry_for_user(request.auth, entry_id)
    actions.time_entry_approve(actor=request.auth, entry_id=entry.pk, version=body.version)
    return time_entry_out(_with_reviewer([entry.pk])[0])


@router.post("/time-entries/{entry_id}/corrections", response=responses({201: TimeEntryOut}), summary="Correct a time entry")
def time_entry_correct(request: HttpRequest, entry_id: int, body: CorrectionIn) -> Status:
    """Creates the correcting entry (approved, `corrects` → the original) and marks the original
    corrected; the original is kept. Answers with the new entry."""
    entry = access_time_entry_for_user(request.auth, entry_id)
    correction = actions.time_entry_correct(actor=request.auth, entry_id=entry.pk, version=body.version, start=body.start, end=body.end, reason=body.reason)
    return Status(201, time_entry_out(_with_reviewer([correction.pk])[0]))
