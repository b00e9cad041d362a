"""Jobs: the list (same filters and keyset pages as the web list), one job, create, edit, the status
transition, notes and the timeline. A technician sees only the jobs assigned to them; any other job
is 404, in lists too."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from serviceopus.accounts.models import User
from serviceopus.api.schemas import LIST, READ, CursorPage, body_field_names, responses
from serviceopus.core.errors import InvalidInput
from serviceopus.crew.models import Skill
from serviceopus.customers.models import Asset, Contact, Location

from .. import actions, queries
from ..models import JobType
from .schemas import (
    JOB_FIELD_NAMES,
    EventOut,
    JobCreateIn,
    JobListParams,
    JobOut,
    JobPatch,
    JobSummaryOut,
    NoteIn,
    NoteOut,
    TransitionIn,
    event_out,
    job_out,
    job_summary_out,
    note_out,
)

router = Router(tags=["jobs"])


def read_job(user: User, job_id: int) -> dict[str, Any]:
    job = queries.access_job_for_user(user, job_id)
    return job_out(job, queries.job_details(job))


@router.get("/jobs", response=responses({200: CursorPage[JobSummaryOut]}, LIST), summary="List jobs")
def job_list(request: HttpRequest, params: JobListParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    """Filters combine (AND); `status` and `priority` may repeat (OR within). A fixed number of
    queries whatever the page or the table size."""
    filters = queries.JobFilters(
        q=params.q,
        statuses=list(params.status),
        priorities=list(params.priority),
        job_type_id=params.job_type,
        technician_id=params.technician,
        tag=params.tag,
        date_from=params.date_from,
        date_to=params.date_to,
        parts=params.parts,
        sort=params.sort,
    )
    page = queries.job_list_page(request.auth, filters, cursor=params.cursor, size=params.limit)
    return {"items": [job_summary_out(job) for job in page.rows], "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@router.post("/jobs", response=responses({201: JobOut}), summary="Create a job")
def job_create(request: HttpRequest, body: JobCreateIn) -> Status:
    with body_field_names(JOB_FIELD_NAMES):
        job = actions.job_create(actor=request.auth, **body.model_dump())
    return Status(201, read_job(request.auth, job.pk))


@router.get("/jobs/{job_id}", response=responses({200: JobOut}, READ), summary="A job")
def job_detail(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return read_job(request.auth, job_id)


def _resolve(changes: dict[str, Any]) -> dict[str, Any]:
    """Body ids → the related rows job_update takes. Unknown ids are field errors (422)."""
    out: dict[str, Any] = {}
    fields: dict[str, str] = {}
    single = {"location_id": (Location, "location"), "contact_id": (Contact, "contact"), "job_type_id": (JobType, "job_type")}
    many = {"asset_ids": (Asset, "assets"), "required_skill_ids": (Skill, "required_skills")}
    for name, value in changes.items():
        if name in single:
            model, target = single[name]
            obj = None if value is None else model.objects.filter(pk=value).first()
            if value is not None and obj is None:
                fields[name] = "Unknown id."
            out[target] = obj
        elif name in many:
            model, target = many[name]
            objs = list(model.objects.filter(pk__in=value))
            if len(objs) != len(set(value)):
                fields[name] = "Unknown id."
            out[target] = objs
        else:
            out[name] = value
    if isinstance(out.get("job_type"), JobType) and not out["job_type"].active:
        fields["job_type_id"] = "Choose an active job type."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    return out


@router.patch("/jobs/{job_id}", response=responses({200: JobOut}), summary="Edit a job")
def job_update(request: HttpRequest, job_id: int, body: JobPatch) -> dict[str, Any]:
    queries.access_job_for_user(request.auth, job_id)
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    with body_field_names(JOB_FIELD_NAMES):
        resolved = _resolve(changes)
        actions.job_update(actor=request.auth, job_id=job_id, version=version, changes=resolved)
    return read_job(request.auth, job_id)


@router.post("/jobs/{job_id}/transition", response=responses({200: JobOut}), summary="Change a job's status")
def job_transition(request: HttpRequest, job_id: int, body: TransitionIn) -> dict[str, Any]:
    """Refusals are 409 with a machine-readable `code`: `not_allowed` (the transition table),
    `blocked` (details.blockers lists every open blocker), `conflict` (someone moved it first);
    403 `forbidden` when the role may not make this move."""
    queries.access_job_for_user(request.auth, job_id)
    actions.job_transition(actor=request.auth, job_id=job_id, to=body.to, hold_reason=body.hold_reason, note=body.note)
    return read_job(request.auth, job_id)


@router.get("/jobs/{job_id}/notes", response=responses({200: list[NoteOut]}, READ), summary="Internal notes, newest first")
def note_list(request: HttpRequest, job_id: int) -> list[dict[str, Any]]:
    job = queries.access_job_for_user(request.auth, job_id)
    return [note_out(n) for n in queries.job_notes(job)]


@router.post("/jobs/{job_id}/notes", response=responses({201: NoteOut}), summary="Add an internal note")
def note_add(request: HttpRequest, job_id: int, body: NoteIn) -> Status:
    queries.access_job_for_user(request.auth, job_id)
    note = actions.note_add(actor=request.auth, job_id=job_id, body=body.body)
    return Status(201, note_out(note))


@router.get("/jobs/{job_id}/events", response=responses({200: list[EventOut]}, READ), summary="The job's timeline, newest first")
def event_list(request: HttpRequest, job_id: int) -> list[dict[str, Any]]:
    job = queries.access_job_for_user(request.auth, job_id)
    return [event_out(e) for e in queries.job_timeline(job)]
