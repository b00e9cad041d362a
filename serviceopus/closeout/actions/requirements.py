"""Closeout requirements added to one job (beyond its job type's): the office asks for evidence this job
must have before its work is complete — two photos tagged "after", a customer signature — and a workflow
rule can do the same. The blocker engine (blockers.py) reads them next to the job type's."""

from django.db import transaction
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import InvalidInput
from serviceopus.jobs.models import JobEvent

from ..blockers import closeout_state
from ..models import CloseoutRequirement, DocumentTag, RequirementKind
from .job_lock import blocker_opened, open_job, require

NOT_ADDED = "The requirement was not added."


def _clean(kind: object, photo_tag: object, min_count: object) -> tuple[str, str, int]:
    fields: dict[str, str] = {}
    if kind not in RequirementKind.values:
        fields["kind"] = "Choose a requirement: " + ", ".join(RequirementKind.values) + "."
    if kind == RequirementKind.PHOTOS:
        if photo_tag not in DocumentTag.values:
            fields["photo_tag"] = "Choose the tag the photos must have."
        if not isinstance(min_count, int) or isinstance(min_count, bool) or not 1 <= min_count <= 50:
            fields["min_count"] = "The number of photos must be 1 to 50."
    if fields:
        raise InvalidInput(NOT_ADDED, fields)
    if kind != RequirementKind.PHOTOS:
        # Only photos take a tag and a count; the other kinds are met or not.
        return str(kind), "", 1
    return str(kind), str(photo_tag), int(min_count)  # type: ignore[call-overload]


def requirement_add_to_job(*, actor: User, job_id: int, kind: str, photo_tag: str = "", min_count: int = 1, note: str = "") -> CloseoutRequirement:
    """Require `kind` of evidence on this job (PHOTOS: `min_count` photos tagged `photo_tag`).

    Needs `closeout.manage_incidents`, the office's closeout capability (admin, manager, dispatcher,
    office — not the crew, whose work the requirement holds). Locks the job (open_job: refused on a
    closed or cancelled job). A requirement of the same code already on the job is returned as it is,
    nothing written: adding twice — a rule retried, two clicks — asks for the evidence once. A new
    requirement goes on the timeline (`note` says who asked: "rule “Photos on repairs”"); when the job
    does not meet it yet, it is a new completion blocker (job_lock.blocker_opened)."""
    require(actor, "closeout.manage_incidents", "You may not add closeout requirements to a job.")
    kind, photo_tag, min_count = _clean(kind, photo_tag, min_count)
    note = (note or "").strip()[:200]
    with transaction.atomic():
        job = open_job(job_id)
        existing = CloseoutRequirement.objects.filter(job=job, kind=kind, photo_tag=photo_tag).first()
        if existing is not None:
            return existing
        now = timezone.now()
        req = CloseoutRequirement.objects.create(job=job, kind=kind, photo_tag=photo_tag, min_count=min_count, added_by=actor, created_at=now)
        message = f"Closeout requirement added: {req.describe()}" + (f" ({note})" if note else "")
        JobEvent.objects.create(
            job=job, actor=actor, kind=JobEvent.Kind.CLOSEOUT, message=message[:500], data={"requirement": req.pk, "code": req.code}, created_at=now
        )
        # Met already (the photos are there) or waived earlier by a manager: nothing new holds the job.
        state = next((s for s in closeout_state(job) if s.code == req.code), None)
        if state is not None and state.blocker is not None and state.waiver is None:
            blocker_opened(actor=actor, job=job, code=req.code, message=state.blocker.message)
    return req
