"""The closeout API: what still blocks a job's work (the completion-blocker engine's answer, as the job
header shows it), a manager's waivers, the crew's "no materials used", and the service report PDF.

Who may do what: whoever may see the job reads its closeout and its report (a technician only on jobs
assigned to them; any other job is 404); waiving needs closeout.waive_blocker (managers: 403 for the
others); confirming "no materials used" needs closeout.record_evidence (technicians and the office).
Refusals: 409 `not_blocking` (a met requirement needs no waiver), `already_waived`, `job_locked` (the
job is closed or cancelled); 422 without a reason; 404 for a code the job does not require."""

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Path, Router, Status
from pydantic import BaseModel, Field

from serviceopus.api.schemas import READ, StrictIn, Text, responses
from serviceopus.dispatch.api import JobRef
from serviceopus.jobs.api.schemas import Ref
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user

from .. import blockers
from ..actions import waivers
from ..models import MaterialsConfirmation, RequirementKind
from ..views.report import pdf_response

router = Router(tags=["closeout"])

CODE_PATTERN = r"^[a-z_]{1,30}(:[a-z_]{1,10})?$"
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=CODE_PATTERN, description='A requirement code, e.g. "customer_signature" or "photos:before".')]


# ---- shapes -------------------------------------------------------------------------------------


class WaiverOut(BaseModel):
    reason: str
    by: Ref | None
    at: datetime


class RequirementOut(BaseModel):
    code: str = Field(description='Stable code of the requirement: a kind, or "photos:<tag>".')
    label: str
    state: str = Field(description="met, open (blocks work complete) or waived (not met, but a manager let it go).")
    message: str = Field(description="Why it is not met (empty when met).")
    items: list[str] = Field(description="What is missing, one entry each (checklist items, incidents).")
    tab: str = Field(description="The job workspace tab where it is fixed.")
    waivable: bool
    office_only: bool = Field(
        description="Only the office can meet it after the crew has left (time and quality review): it holds work_complete, not the crew's finish."
    )
    waiver: WaiverOut | None


class NoMaterialsOut(BaseModel):
    by: Ref | None
    at: datetime


class CloseoutOut(BaseModel):
    job: JobRef
    ready: bool = Field(description="No open blocker: the job's work may be completed.")
    open_count: int
    requirements: list[RequirementOut]
    no_materials: NoMaterialsOut | None = Field(description="The crew's confirmation that no materials were used, if given.")


class WaiveIn(StrictIn):
    code: Code
    reason: Text(500) = Field(description="Why the requirement is waived (on the job's timeline).")


def _ref(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name}


def closeout_out(job: Job) -> dict[str, Any]:
    states = blockers.closeout_state(job)
    confirmation = MaterialsConfirmation.objects.filter(job=job).select_related("confirmed_by").first()
    requirements = []
    for s in states:
        blocker = s.blocker
        kind = RequirementKind(s.code.split(":", 1)[0])
        requirements.append(
            {
                "code": s.code,
                "label": s.label,
                "state": s.state,
                "message": blocker.message if blocker else "",
                "items": list(blocker.items) if blocker else [],
                "tab": blocker.tab if blocker else blockers.FIX_AT[kind][0],
                "waivable": blocker.waivable if blocker else False,
                "office_only": kind in blockers.OFFICE_ONLY,
                "waiver": None if s.waiver is None else {"reason": s.waiver.reason, "by": _ref(s.waiver.waived_by), "at": s.waiver.waived_at},
            }
        )
    open_count = sum(1 for s in states if s.state == "open")
    return {
        "job": {"id": job.pk, "number": job.number},
        "ready": open_count == 0,
        "open_count": open_count,
        "requirements": requirements,
        "no_materials": None if confirmation is None else {"by": _ref(confirmation.confirmed_by), "at": confirmation.confirmed_at},
    }


# ---- operations ---------------------------------------------------------------------------------


@router.get("/jobs/{job_id}/closeout", response=responses({200: CloseoutOut}, READ), summary="What still blocks the job's work")
def closeout(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """Every closeout requirement of the job (its type's and its own) with its state: met, open or
    waived. `ready` is true when none is open — then the job may move to work_complete and its last
    visit may finish."""
    job = access_job_for_user(request.auth, job_id)
    return closeout_out(job)


@router.post("/jobs/{job_id}/closeout/waivers", response=responses({201: CloseoutOut}), summary="Waive a blocker")
def waiver_add(request: HttpRequest, job_id: int, body: WaiveIn) -> Status:
    """A manager lets an open requirement go, with a reason. 403 for other roles; 409 `not_blocking`
    when the requirement is met, `already_waived` when it is waived; 404 when the job has no such
    requirement. Answers with the job's closeout as it is now."""
    job = access_job_for_user(request.auth, job_id)
    waivers.blocker_waive(actor=request.auth, job_id=job.pk, code=body.code, reason=body.reason)
    return Status(201, closeout_out(job))


@router.delete("/jobs/{job_id}/closeout/waivers/{code}", response=responses({204: None}), summary="Withdraw a waiver")
def waiver_remove(request: HttpRequest, job_id: int, code: Annotated[str, Path(max_length=40, pattern=CODE_PATTERN)]) -> Status:
    """The requirement holds the job again while it is not met. 404 when there is no such waiver."""
    job = access_job_for_user(request.auth, job_id)
    waivers.blocker_unwaive(actor=request.auth, job_id=job.pk, code=code)
    return Status(204, None)


@router.post("/jobs/{job_id}/closeout/no-materials", response=responses({200: CloseoutOut}), summary="Confirm that no materials were used")
def no_materials_confirm(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """Meets the materials requirement without a material line. Confirming again changes nothing."""
    job = access_job_for_user(request.auth, job_id)
    waivers.materials_confirm_none(actor=request.auth, job_id=job.pk)
    return closeout_out(job)


@router.delete("/jobs/{job_id}/closeout/no-materials", response=responses({204: None}), summary="Withdraw “no materials used”")
def no_materials_undo(request: HttpRequest, job_id: int) -> Status:
    job = access_job_for_user(request.auth, job_id)
    waivers.materials_confirm_undo(actor=request.auth, job_id=job.pk)
    return Status(204, None)


PDF_RESPONSE = {
    200: {
        "description": "The service report (PDF), as an attachment named <job number>-service-report.pdf.",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get("/jobs/{job_id}/service-report", response=READ, summary="The service report (PDF)", openapi_extra={"responses": PDF_RESPONSE})
def service_report(request: HttpRequest, job_id: int) -> HttpResponse:
    """Scope, visits and crew, checklist results, photos, materials, time, charges, closeout state and
    signatures, as the web page's download."""
    job = access_job_for_user(request.auth, job_id)
    return pdf_response(job)
