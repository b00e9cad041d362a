"""Incidents on a job — property damage, injury, complaint, near miss: reporting (the crew and the
office), editing with a version, the office's owner and resolution, reopening, and photos.

An open incident keeps the job from being closed (blockers.closing_blockers) and, where the job type
asks for it, from being complete. Resolving needs a resolution note; both it and a reopening go on the
job's timeline."""

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import Job

from ..models import Document, Incident
from .job_lock import blocker_opened, closeout_event, open_job, require, visit_of_job

Kind, Severity, Status = Incident.Kind, Incident.Severity, Incident.Status
EDITABLE = ("kind", "severity", "description", "owner_id")


def _text(fields: dict[str, str], name: str, value: object, *, limit: int, required: str = "") -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        fields[name] = required
    elif len(text) > limit or "\x00" in text:
        fields[name] = f"At most {limit} characters, no NUL characters."
    return text


def _owner(fields: dict[str, str], owner_id: object) -> User | None:
    if owner_id is None:
        return None
    owner = User.objects.filter(pk=owner_id, is_active=True).first() if isinstance(owner_id, int) and not isinstance(owner_id, bool) else None
    if owner is None:
        fields["owner"] = "Choose an active user as the owner."
    return owner


def _check_kind(fields: dict[str, str], kind: object) -> None:
    if kind not in Kind.values:
        fields["kind"] = "Choose property damage, injury, complaint or near miss."


def _check_severity(fields: dict[str, str], severity: object) -> None:
    if severity not in Severity.values:
        fields["severity"] = "Choose low, medium, high or critical."


def _incident_of(job_id: int, incident_id: int) -> Incident:
    incident = Incident.objects.filter(pk=incident_id, job_id=job_id).first()
    if incident is None:
        raise DomainError("not_found", "There is no such incident on this job.")
    return incident


def _locked_incident(incident_id: int) -> tuple[Job, Incident]:
    """The incident's job, locked and open for changes, then the incident as it is now."""
    job_id = Incident.objects.filter(pk=incident_id).values_list("job_id", flat=True).first()
    if job_id is None:
        raise DomainError("not_found", "There is no such incident.")
    job = open_job(job_id)
    return job, _incident_of(job.pk, incident_id)


def _owner_name(user: User | None) -> str:
    return user.display_name if user else "nobody"


def incident_report(
    *,
    actor: User,
    job_id: int,
    kind: str,
    severity: str,
    description: str,
    visit_id: int | None = None,
    owner_id: int | None = None,
) -> Incident:
    """Report an incident on the job (the crew on their job, or the office). Only the office
    (closeout.manage_incidents) names its owner."""
    require(actor, "closeout.report_incident", "You may not report incidents.")
    if owner_id is not None:
        require(actor, "closeout.manage_incidents", "Only the office assigns an incident's owner.")
    fields: dict[str, str] = {}
    _check_kind(fields, kind)
    _check_severity(fields, severity)
    description = _text(fields, "description", description, limit=5000, required="Describe what happened.")
    owner = _owner(fields, owner_id)
    if fields:
        raise InvalidInput("The incident was not reported.", fields)
    with transaction.atomic():
        job = open_job(job_id)
        visit = visit_of_job(job, visit_id, "The incident was not reported.")
        incident = Incident.objects.create(job=job, visit=visit, kind=kind, severity=severity, description=description, owner=owner, reported_by=actor)
        closeout_event(
            job,
            actor,
            f"Incident reported: {incident.get_kind_display()} ({incident.get_severity_display().lower()})"
            + (f", owner {owner.display_name}" if owner else ""),
            data={"incident": incident.pk, "kind": kind, "severity": severity},
        )
        blocker_opened(actor=actor, job=job, code="no_open_incident", message=f"Incident reported: {incident.get_kind_display()}")
    return incident


def incident_update(*, actor: User, incident_id: int, version: int, changes: dict[str, Any]) -> Incident:
    """Change an open incident's kind, severity, description and (the office only) owner; `changes`
    holds only what changes (keys of EDITABLE; owner_id None clears the owner). A stale `version` is
    refused with ConflictError `stale` and the incident as it is now in details["current"]."""
    require(actor, "closeout.report_incident", "You may not edit incidents.")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput("The incident was not changed.", dict.fromkeys(sorted(unknown), "This cannot be changed here."))
    if "owner_id" in changes:
        require(actor, "closeout.manage_incidents", "Only the office assigns an incident's owner.")
    fields: dict[str, str] = {}
    values: dict[str, Any] = {}
    if "kind" in changes:
        _check_kind(fields, changes["kind"])
        values["kind"] = changes["kind"]
    if "severity" in changes:
        _check_severity(fields, changes["severity"])
        values["severity"] = changes["severity"]
    if "description" in changes:
        values["description"] = _text(fields, "description", changes["description"], limit=5000, required="Describe what happened.")
    owner = None
    if "owner_id" in changes:
        owner = _owner(fields, changes["owner_id"])
        values["owner"] = owner
    if fields:
        raise InvalidInput("The incident was not changed.", fields)
    with transaction.atomic():
        job, incident = _locked_incident(incident_id)
        if incident.version != version:
            raise ConflictError(
                "stale", "Someone changed this incident meanwhile; it now shows as it is. Make your change again.", current=incident_state(incident)
            )
        if incident.status != Status.OPEN:
            raise ConflictError("resolved", "This incident is resolved; reopen it to change it.")
        said = []
        if "kind" in values and values["kind"] != incident.kind:
            said.append(f"kind {incident.get_kind_display().lower()} → {Kind(values['kind']).label.lower()}")
        if "severity" in values and values["severity"] != incident.severity:
            said.append(f"severity {incident.get_severity_display().lower()} → {Severity(values['severity']).label.lower()}")
        if "description" in values and values["description"] != incident.description:
            said.append("description")
        if "owner" in values and (owner.pk if owner else None) != incident.owner_id:
            said.append(f"owner {_owner_name(incident.owner)} → {_owner_name(owner)}")
        if not said:
            return incident  # nothing differs: no new version, no event
        updated = Incident.objects.filter(pk=incident.pk, version=version).update(**values, version=F("version") + 1)
        if not updated:  # pragma: no cover - the job lock makes this unreachable; kept as the rule
            raise ConflictError("stale", "Someone changed this incident meanwhile.")
        closeout_event(job, actor, f"Incident updated: {'; '.join(said)}", data={"incident": incident.pk})
        incident.refresh_from_db()
    return incident


def incident_resolve(*, actor: User, incident_id: int, resolution: str, version: int | None = None) -> Incident:
    """Resolve an open incident with a note saying how (the office only). With `version`, a stale
    read is refused (ConflictError `stale`)."""
    require(actor, "closeout.manage_incidents", "Only the office resolves incidents.")
    fields: dict[str, str] = {}
    resolution = _text(fields, "resolution", resolution, limit=5000, required="Say how the incident was resolved.")
    if fields:
        raise InvalidInput("The incident was not resolved.", fields)
    with transaction.atomic():
        job, incident = _locked_incident(incident_id)
        if version is not None and incident.version != version:
            raise ConflictError("stale", "Someone changed this incident meanwhile; look again before resolving it.", current=incident_state(incident))
        if incident.status == Status.RESOLVED:
            raise ConflictError("already_resolved", "This incident is already resolved.")
        Incident.objects.filter(pk=incident.pk, status=Status.OPEN).update(
            status=Status.RESOLVED, resolution=resolution, resolved_by=actor, resolved_at=timezone.now(), version=F("version") + 1
        )
        closeout_event(job, actor, f"Incident resolved: {incident.get_kind_display()} — {resolution}", data={"incident": incident.pk, "resolved": True})
        incident.refresh_from_db()
    return incident


def incident_reopen(*, actor: User, incident_id: int, reason: str = "", version: int | None = None) -> Incident:
    """Open a resolved incident again (the office only). The old resolution goes to the timeline
    event; the incident holds the job back again."""
    require(actor, "closeout.manage_incidents", "Only the office reopens incidents.")
    fields: dict[str, str] = {}
    reason = _text(fields, "reason", reason, limit=500)
    if fields:
        raise InvalidInput("The incident was not reopened.", fields)
    with transaction.atomic():
        job, incident = _locked_incident(incident_id)
        if version is not None and incident.version != version:
            raise ConflictError("stale", "Someone changed this incident meanwhile; look again before reopening it.", current=incident_state(incident))
        if incident.status == Status.OPEN:
            raise ConflictError("already_open", "This incident is already open.")
        Incident.objects.filter(pk=incident.pk, status=Status.RESOLVED).update(
            status=Status.OPEN, resolution="", resolved_by=None, resolved_at=None, version=F("version") + 1
        )
        closeout_event(
            job,
            actor,
            f"Incident reopened: {incident.get_kind_display()}" + (f" — {reason}" if reason else ""),
            data={"incident": incident.pk, "reopened": True, "previous_resolution": incident.resolution},
        )
        blocker_opened(actor=actor, job=job, code="no_open_incident", message=f"Incident reopened: {incident.get_kind_display()}")
        incident.refresh_from_db()
    return incident


def incident_add_photo(*, actor: User, incident_id: int, upload: UploadedFile, caption: str = "") -> tuple[Document, bool]:
    """Attach a photo to the incident: stored as a job document tagged "damage" and linked to the
    incident and its visit. documents.document_upload checks, re-encodes and deduplicates the file
    (outside the job's lock) and checks, under the lock, that the incident is still this job's.
    Returns (document, created)."""
    from .documents import document_upload  # the documents topic owns storing files

    require(actor, "closeout.report_incident", "You may not add photos to incidents.")
    incident = Incident.objects.filter(pk=incident_id).only("pk", "job_id", "visit_id").first()
    if incident is None:
        raise DomainError("not_found", "There is no such incident.")
    return document_upload(
        actor=actor,
        job_id=incident.job_id,
        upload=upload,
        tag="damage",
        caption=caption,
        customer_visible=False,
        visit_id=incident.visit_id,
        incident_id=incident.pk,
    )


def incident_state(incident: Incident) -> dict[str, Any]:
    """What a stale editor is shown of the incident as it is now (also the API's conflict details)."""
    return {
        "id": incident.pk,
        "version": incident.version,
        "status": incident.status,
        "kind": incident.kind,
        "severity": incident.severity,
        "description": incident.description,
        "owner_id": incident.owner_id,
    }
