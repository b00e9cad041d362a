"""The closeout API: signatures. A client first reads what a signature covers now
(GET …/signatures/current-content: the content and its SHA-256), shows it to the signer, and posts
the drawn PNG (a base64 data URL) with that hash. If the job's content changed meanwhile the post is
refused with 409 `content_changed` (details.current_hash) and nothing is stored. Each signature in a
response says whether it is `stale` (its content no longer matches the job's).

Who may: whoever may see the job reads its signatures (a technician only on jobs assigned to them,
404 otherwise); capturing needs closeout.record_evidence (403) and a job that is not closed or
cancelled (409 job_locked)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import FileResponse, HttpRequest
from ninja import Router, Status
from pydantic import BaseModel, Field

from serviceopus.api.schemas import READ, RefId, StrictIn, Text, body_field_names, responses
from serviceopus.jobs.api.schemas import Ref
from serviceopus.jobs.queries import access_job_for_user

from .. import queries
from ..actions import signatures as actions
from ..models import Signature
from ..views.signatures import signature_file_response

router = Router(tags=["signatures"])

RoleName = Literal[tuple(Signature.Role.values)]  # type: ignore[valid-type]
FIELD_NAMES = {"visit": "visit_id"}
PNG_RESPONSE = {
    "description": "The signature as drawn (PNG, re-encoded when stored).",
    "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
}


class SignedLineOut(BaseModel):
    kind: str
    description: str
    quantity: str = Field(description='A decimal string, e.g. "1.5".')
    unit_price_cents: int
    total_cents: int


class SignedTotalsOut(BaseModel):
    subtotal_cents: int
    taxable_cents: int


class SignedContentOut(BaseModel):
    """Exactly what is hashed: canonical JSON (sorted keys, no spaces, UTF-8) of this object."""

    job: str = Field(description="The job's number.")
    scope: str
    lines: list[SignedLineOut]
    totals: SignedTotalsOut


class ContentToSignOut(BaseModel):
    content: SignedContentOut
    sha256: str = Field(description="Send this back as `signed_hash` with the signature.")


class SignatureOut(BaseModel):
    id: int
    job_id: int
    visit_id: int | None
    signer_name: str
    role: str = Field(description="customer or technician.")
    signed_at: datetime
    captured_by: Ref | None
    content: SignedContentOut = Field(description="What was signed.")
    content_sha256: str
    stale: bool = Field(description="True when the job's scope, lines or totals changed after signing: it no longer counts as a sign-off.")
    image_url: str


class SignatureIn(StrictIn):
    signer_name: Text(100, min_length=1)  # type: ignore[valid-type]
    role: RoleName
    image: Annotated[
        str,
        Field(max_length=actions.MAX_DATA_URL_CHARS, description="The drawn signature as a data URL: data:image/png;base64,… (at most 1 MB, 4000×4000 px)."),
    ]
    signed_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="The sha256 of current-content shown to the signer.")]
    visit_id: RefId | None = None


def signature_out(signature: Signature, current_sha256: str) -> dict[str, Any]:
    """Reads captured_by selected with the signature (no query of its own)."""
    by = signature.captured_by if signature.captured_by_id else None
    return {
        "id": signature.pk,
        "job_id": signature.job_id,
        "visit_id": signature.visit_id,
        "signer_name": signature.signer_name,
        "role": signature.role,
        "signed_at": signature.signed_at,
        "captured_by": None if by is None else {"id": by.pk, "name": by.display_name},
        "content": signature.content,
        "content_sha256": signature.content_sha256,
        "stale": signature.content_sha256 != current_sha256,
        "image_url": f"/api/v1/jobs/{signature.job_id}/signatures/{signature.pk}/image",
    }


@router.get("/jobs/{job_id}/signatures", response=responses({200: list[SignatureOut]}, READ), summary="A job's signatures, newest first")
def signature_list(request: HttpRequest, job_id: int) -> list[dict[str, Any]]:
    """Three queries whatever the number of signatures: the job, its line items (the current hash,
    computed once), the signatures."""
    job = access_job_for_user(request.auth, job_id)
    to_sign, signatures = queries.signatures_with_state(job)
    return [signature_out(s, to_sign.sha256) for s in signatures]


@router.get("/jobs/{job_id}/signatures/current-content", response=responses({200: ContentToSignOut}, READ), summary="What a signature covers now")
def signature_current_content(request: HttpRequest, job_id: int) -> dict[str, Any]:
    job = access_job_for_user(request.auth, job_id)
    to_sign = queries.content_to_sign(job)
    return {"content": to_sign.content, "sha256": to_sign.sha256}


@router.post("/jobs/{job_id}/signatures", response=responses({201: SignatureOut}), summary="Capture a signature")
def signature_create(request: HttpRequest, job_id: int, body: SignatureIn) -> Status:
    """422 for a bad image (not a PNG, too large, blank), 409 `content_changed` when `signed_hash`
    is not the job's current hash."""
    access_job_for_user(request.auth, job_id)
    with body_field_names(FIELD_NAMES):
        signature = actions.signature_capture(
            actor=request.auth,
            job_id=job_id,
            signer_name=body.signer_name,
            role=body.role,
            image_data_url=body.image,
            signed_hash=body.signed_hash,
            visit_id=body.visit_id,
        )
    # Just checked against the job's content under its lock: current by construction.
    return Status(201, signature_out(signature, signature.content_sha256))


@router.get(
    "/jobs/{job_id}/signatures/{signature_id}/image",
    response=READ,
    summary="A signature's image (PNG)",
    openapi_extra={"responses": {200: PNG_RESPONSE}},
)
def signature_image(request: HttpRequest, job_id: int, signature_id: int) -> FileResponse:
    return signature_file_response(queries.access_signature_for_user(request.auth, job_id, signature_id))
