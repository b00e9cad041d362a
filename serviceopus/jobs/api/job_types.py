"""Job types: every office role reads them; creating and changing them needs jobs.configure."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from serviceopus.accounts.models import User
from serviceopus.api.schemas import LIST, CursorPage, PageParams, body_field_names, responses
from serviceopus.core.errors import DomainError

from .. import configuration
from ..models import JobType
from ..pagination import SortKey, paginate
from .schemas import JobTypeIn, JobTypeOut, JobTypePatch, job_type_out

router = Router(tags=["job types"])
FIELD_NAMES = {"required_skills": "required_skill_ids"}


def job_types_for(user: User) -> QuerySet[JobType]:
    # Office roles are the ones who see every job; a technician has no use for the configuration.
    if not user.has_perm("jobs.view_all_jobs"):
        raise DomainError("forbidden", "Only office roles may read job types.")
    return JobType.objects.prefetch_related("required_skills")


@router.get("/job-types", response=responses({200: CursorPage[JobTypeOut]}, LIST), summary="List job types")
def job_type_list(
    request: HttpRequest,
    page: PageParams = Query(...),  # noqa: B008
    active: bool | None = Query(None, description="Only active (true) or inactive (false) types."),
) -> dict[str, Any]:
    qs = job_types_for(request.auth)
    if active is not None:
        qs = qs.filter(active=active)
    result = paginate(qs, [SortKey("id", False)], cursor=page.cursor, size=page.limit)
    return {"items": [job_type_out(jt) for jt in result.rows], "next_cursor": result.next_cursor, "prev_cursor": result.prev_cursor}


@router.post("/job-types", response=responses({201: JobTypeOut}), summary="Create a job type")
def job_type_create(request: HttpRequest, body: JobTypeIn) -> Status:
    with body_field_names(FIELD_NAMES):
        job_type = configuration.job_type_create(actor=request.auth, **body.model_dump())
    return Status(201, job_type_out(job_types_for(request.auth).get(pk=job_type.pk)))


@router.get("/job-types/{job_type_id}", response=responses({200: JobTypeOut}, LIST), summary="A job type")
def job_type_detail(request: HttpRequest, job_type_id: int) -> dict[str, Any]:
    return job_type_out(job_types_for(request.auth).get(pk=job_type_id))


@router.patch("/job-types/{job_type_id}", response=responses({200: JobTypeOut}), summary="Change a job type (last writer wins)")
def job_type_update(request: HttpRequest, job_type_id: int, body: JobTypePatch) -> dict[str, Any]:
    with body_field_names(FIELD_NAMES):
        configuration.job_type_update(actor=request.auth, job_type_id=job_type_id, changes=body.model_dump(exclude_unset=True))
    return job_type_out(job_types_for(request.auth).get(pk=job_type_id))
