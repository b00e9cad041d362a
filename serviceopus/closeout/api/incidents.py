"""The closeout API: incidents — property damage, injury, complaint, near miss — with severity,
description, owner, photos and status. Every write calls actions/incidents.py, as the Incidents tab
does. Photos are uploaded through the documents API with `incident_id`.

Who may: whoever may see the job reads its incidents (technicians only on their jobs, 404 otherwise).
Reporting and editing need closeout.report_incident (the crew and the office); naming the owner,
resolving and reopening need closeout.manage_incidents (the office; 403). An edit carries the
`version` read: a stale one is 409 `stale` with the incident as it is now in `details.current`. An
open incident keeps the job from being closed."""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import BaseModel, Field

from serviceopus.api.schemas import READ, RefId, StrictIn, Text, Version, body_field_names, responses
from serviceopus.jobs.api.schemas import Ref
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user

from .. import queries
from ..actions import incidents as actions
from ..models import Incident

router = Router(tags=["incidents"])

KindName = Literal[tuple(Incident.Kind.values)]  # type: ignore[valid-type]
SeverityName = Literal[tuple(Incident.Severity.values)]  # type: ignore[valid-type]
StatusName = Literal[tuple(Incident.Status.values)]  # type: ignore[valid-type]
FIELD_NAMES = {"owner": "owner_id", "visit": "visit_id"}


class IncidentPhotoOut(BaseModel):
    id: int
    caption: str
    file_url: str
    thumbnail_url: str | None


class IncidentOut(BaseModel):
    id: int
    job_id: int
    visit_id: int | None
    kind: str = Field(description="property_damage, injury, complaint or near_miss.")
    severity: str = Field(description="low, medium, high or critical.")
    description: str
    owner: Ref | None
    status: str = Field(description="open or resolved.")
    resolution: str
    reported_by: Ref | None
    reported_at: datetime
    resolved_by: Ref | None
    resolved_at: datetime | None
    photos: list[IncidentPhotoOut]
    version: int


class IncidentIn(StrictIn):
    kind: KindName
    severity: SeverityName = "medium"
    description: Text(5000, min_length=1)  # type: ignore[valid-type]
    visit_id: RefId | None = None
    owner_id: RefId | None = Field(None, description="The office only (403 otherwise).")


class IncidentPatch(StrictIn):
    version: Version
    kind: KindName = None
    severity: SeverityName = None
    description: Text(5000, min_length=1) = None  # type: ignore[valid-type]
    owner_id: RefId | None = Field(None, description="The office only (403 otherwise); null clears the owner.")


class ResolveIn(StrictIn):
    resolution: Text(5000, min_length=1)  # type: ignore[valid-type]
    version: Version | None = None


class ReopenIn(StrictIn):
    reason: Text(500) = ""  # type: ignore[valid-type]
    version: Version | None = None


def _ref(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name}


def incident_out(incident: Incident) -> dict[str, Any]:
    """Reads the people, visit and photos queries.job_incidents selected with it (no query of its own)."""
    return {
        "id": incident.pk,
        "job_id": incident.job_id,
        "visit_id": incident.visit_id,
        "kind": incident.kind,
        "severity": incident.severity,
        "description": incident.description,
        "owner": _ref(incident.owner if incident.owner_id else None),
        "status": incident.status,
        "resolution": incident.resolution,
        "reported_by": _ref(incident.reported_by if incident.reported_by_id else None),
        "reported_at": incident.reported_at,
        "resolved_by": _ref(incident.resolved_by if incident.resolved_by_id else None),
        "resolved_at": incident.resolved_at,
        "photos": [
            {
                "id": p.pk,
                "caption": p.caption,
                "file_url": f"/api/v1/documents/{p.pk}/file",
                "thumbnail_url": f"/api/v1/documents/{p.pk}/thumbnail" if p.thumbnail else None,
            }
            for p in incident.photos.all()
        ],
        "version": incident.version,
    }


def _read(job: Job, incident_id: int) -> dict[str, Any]:
    return incident_out(queries.incident_of_job(job, incident_id))


@router.get("/jobs/{job_id}/incidents", response=responses({200: list[IncidentOut]}, READ), summary="A job's incidents, open first")
def incident_list(request: HttpRequest, job_id: int, status: StatusName | None = None) -> list[dict[str, Any]]:
    """Three queries whatever the number of incidents: the job, the incidents with their people and
    visit, their photos."""
    job = access_job_for_user(request.auth, job_id)
    return [incident_out(i) for i in queries.job_incidents(job) if status is None or i.status == status]


@router.post("/jobs/{job_id}/incidents", response=responses({201: IncidentOut}), summary="Report an incident")
def incident_create(request: HttpRequest, job_id: int, body: IncidentIn) -> Status:
    job = access_job_for_user(request.auth, job_id)
    with body_field_names(FIELD_NAMES):
        incident = actions.incident_report(actor=request.auth, job_id=job.pk, **body.model_dump())
    return Status(201, _read(job, incident.pk))


@router.get("/jobs/{job_id}/incidents/{incident_id}", response=responses({200: IncidentOut}, READ), summary="An incident")
def incident_detail(request: HttpRequest, job_id: int, incident_id: int) -> dict[str, Any]:
    return _read(access_job_for_user(request.auth, job_id), incident_id)


@router.patch("/jobs/{job_id}/incidents/{incident_id}", response=responses({200: IncidentOut}), summary="Edit an open incident")
def incident_update(request: HttpRequest, job_id: int, incident_id: int, body: IncidentPatch) -> dict[str, Any]:
    """Send only what changes, with the `version` read. 409 `stale` (details.current), 409
    `resolved` for a resolved incident (reopen it first)."""
    job = access_job_for_user(request.auth, job_id)
    incident = queries.incident_of_job(job, incident_id)
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    with body_field_names(FIELD_NAMES):
        actions.incident_update(actor=request.auth, incident_id=incident.pk, version=version, changes=changes)
    return _read(job, incident.pk)


@router.post("/jobs/{job_id}/incidents/{incident_id}/resolve", response=responses({200: IncidentOut}), summary="Resolve an incident")
def incident_resolve(request: HttpRequest, job_id: int, incident_id: int, body: ResolveIn) -> dict[str, Any]:
    """409 `already_resolved`; with `version`, 409 `stale` when it changed since."""
    job = access_job_for_user(request.auth, job_id)
    incident = queries.incident_of_job(job, incident_id)
    actions.incident_resolve(actor=request.auth, incident_id=incident.pk, resolution=body.resolution, version=body.version)
    return _read(job, incident.pk)


@router.post("/jobs/{job_id}/incidents/{incident_id}/reopen", response=responses({200: IncidentOut}), summary="Reopen a resolved incident")
def incident_reopen(request: HttpRequest, job_id: int, incident_id: int, body: ReopenIn) -> dict[str, Any]:
    """409 `already_open`; with `version`, 409 `stale` when it changed since."""
    job = access_job_for_user(request.auth, job_id)
    incident = queries.incident_of_job(job, incident_id)
    actions.incident_reopen(actor=request.auth, incident_id=incident.pk, reason=body.reason, version=body.version)
    return _read(job, incident.pk)
