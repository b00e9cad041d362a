"""The closeout API: a job's documents and photos. Uploads are multipart (one or more files under
`files`, with the form fields tag, caption, customer_visible and visit_id); every write calls
actions/documents.py, as the Documents tab does. Files are served only through this API (or the
pages), after the same access check as the job.

Who sees what: whoever may see the job sees its documents (a technician only on jobs assigned to them,
404 otherwise); uploading, changing and deleting need closeout.record_evidence (403) and a job that is
not closed or cancelled (409 job_locked).

An upload is idempotent by content: the same file sent again to the same job answers with the stored
document (`status: duplicate`) and stores nothing, so a retry after a dropped connection is safe even
without an Idempotency-Key. With one, the whole request body is hashed in memory: it may be at most the
size limit plus 1 MB, so send one file per request then."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from ninja import File, Form, Query, Router, Status, UploadedFile
from pydantic import BaseModel, Field

from serviceopus.api.schemas import READ, WRITE, ErrorBody, RefId, StrictIn, Text, Version, body_field_names, error_body, responses
from serviceopus.core.errors import ConflictError, DomainError
from serviceopus.core.text import NO_NUL_PATTERN
from serviceopus.jobs.api.schemas import Ref
from serviceopus.jobs.queries import access_job_for_user

from .. import uploads
from ..actions import documents as actions
from ..models import Document, DocumentTag
from ..views.documents import access_document_for_user, job_documents, serve_document

router = Router(tags=["documents"])

TagName = Literal[tuple(DocumentTag.values)]  # type: ignore[valid-type]
DOCUMENT_FIELD_NAMES = {"visit": "visit_id", "incident": "incident_id"}
MAX_FILES = 20
FILE_SCHEMA = {
    "description": "The stored file: images as re-encoded JPEG or PNG (inline), everything else as a download.",
    "content": {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in uploads.stored_content_types()},
}
THUMBNAIL_SCHEMA = {
    "description": "The thumbnail (JPEG, at most 320 px); 404 for documents that are not photos.",
    "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
}


class DocumentOut(BaseModel):
    id: int
    job_id: int
    visit_id: int | None
    incident_id: int | None
    kind: str = Field(description="photo (an image, stored re-encoded with a thumbnail) or document.")
    tag: str
    caption: str
    customer_visible: bool
    original_name: str = Field(description="The uploaded file's name, cleaned; for display only.")
    content_type: str = Field(description="Detected from the file's content, not from its name.")
    size: int = Field(description="Bytes stored (after re-encoding, for images).")
    sha256: str = Field(description="Of the bytes as uploaded: the same file is stored once per job.")
    width: int | None
    height: int | None
    uploaded_by: Ref | None
    uploaded_at: datetime
    version: int
    file_url: str
    thumbnail_url: str | None


class UploadResult(BaseModel):
    name: str = Field(description="The file's cleaned name.")
    status: Literal["created", "duplicate", "refused"]
    document: DocumentOut | None = None
    error: ErrorBody | None = Field(None, description="Why the file was refused (status refused).")


class UploadOut(BaseModel):
    results: list[UploadResult] = Field(description="One per file, in the order sent.")


class DocumentPatch(StrictIn):
    version: Version
    tag: TagName | None = None
    caption: Text(300) | None = None  # type: ignore[valid-type]
    customer_visible: bool | None = None


class DocumentListParams(BaseModel):
    tag: TagName | None = Field(None, description="Only documents with this tag.")


def document_out(document: Document) -> dict[str, Any]:
    """Reads the uploader selected with the document (no query of its own)."""
    uploader = document.uploaded_by if document.uploaded_by_id else None
    return {
        "id": document.pk,
        "job_id": document.job_id,
        "visit_id": document.visit_id,
        "incident_id": document.incident_id,
        "kind": document.kind,
        "tag": document.tag,
        "caption": document.caption,
        "customer_visible": document.customer_visible,
        "original_name": document.original_name,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "width": document.width,
        "height": document.height,
        "uploaded_by": None if uploader is None else {"id": uploader.pk, "name": uploader.display_name},
        "uploaded_at": document.uploaded_at,
        "version": document.version,
        "file_url": f"/api/v1/documents/{document.pk}/file",
        "thumbnail_url": f"/api/v1/documents/{document.pk}/thumbnail" if document.thumbnail else None,
    }


@contextmanager
def locked_job_is_conflict() -> Iterator[None]:
    """A closed or cancelled job refuses changes because of its state: a 409 here, as for line items."""
    try:
        yield
    except DomainError as exc:
        if exc.code == "job_locked":
            raise ConflictError(exc.code, exc.message, **exc.details) from exc
        raise


@router.get("/jobs/{job_id}/documents", response=responses({200: list[DocumentOut]}, READ), summary="A job's documents and photos")
def document_list(request: HttpRequest, job_id: int, params: DocumentListParams = Query(...)) -> list[dict[str, Any]]:  # noqa: B008
    """Newest first. Two queries whatever the number of documents."""
    job = access_job_for_user(request.auth, job_id)
    return [document_out(d) for d in job_documents(job, params.tag or "")]


@router.post(
    "/jobs/{job_id}/documents",
    response=responses({200: UploadOut, 201: UploadOut}),
    summary="Upload documents or photos",
)
def document_upload(
    request: HttpRequest,
    job_id: int,
    files: File[list[UploadedFile]],
    tag: Form[TagName] = "other",  # type: ignore[valid-type]
    caption: str = Form("", max_length=300, pattern=NO_NUL_PATTERN),
    customer_visible: Form[bool] = False,
    visit_id: Form[RefId | None] = None,  # type: ignore[valid-type]
) -> Status:
    """Each file is stored, recognised as already on the job, or refused on its own (its result says
    which, and why). 201 when at least one file was stored, 200 when all were already there, 422
    (with a field error per file, `files.0`, `files.1`, …) when every file was refused. Accepted: JPEG,
    PNG, GIF and WebP photos (re-encoded without metadata), PDF, Office and OpenDocument files without
    macros, and plain text or CSV; the size limit applies to each file."""
    job = access_job_for_user(request.auth, job_id)
    if not request.auth.has_perm("closeout.record_evidence"):
        raise DomainError("forbidden", "You may not add documents or photos.")
    if len(files) > MAX_FILES:
        raise DomainError("invalid", f"Send at most {MAX_FILES} files at once.")
    results: list[dict[str, Any]] = []
    for upload in files:
        name = uploads.clean_name(upload.name)
        # A refused file is this file's result; any other refusal (a form field, the job) is the request's.
        with body_field_names(DOCUMENT_FIELD_NAMES), locked_job_is_conflict():
            try:
                document, created = actions.document_upload(
                    actor=request.auth,
                    job_id=job.pk,
                    upload=upload,
                    tag=tag,
                    caption=caption,
                    customer_visible=customer_visible,
                    visit_id=visit_id,
                )
            except uploads.UploadRefused as exc:
                results.append({"name": name, "status": "refused", "error": {"code": exc.reason, "message": exc.message}})
                continue
        results.append({"name": name, "status": "created" if created else "duplicate", "document": document_out(document)})
    if all(r["status"] == "refused" for r in results):
        fields = {f"files.{i}": r["error"]["message"] for i, r in enumerate(results)}
        return Status(422, error_body("invalid", "No file was accepted.", fields, details={"results": results}))
    return Status(201 if any(r["status"] == "created" for r in results) else 200, {"results": results})


@router.get("/documents/{document_id}", response=responses({200: DocumentOut}, READ), summary="A document or photo")
def document_detail(request: HttpRequest, document_id: int) -> dict[str, Any]:
    return document_out(access_document_for_user(request.auth, document_id))


@router.patch("/documents/{document_id}", response=responses({200: DocumentOut}, WRITE), summary="Change a document's tag, caption or visibility")
def document_update(request: HttpRequest, document_id: int, body: DocumentPatch) -> dict[str, Any]:
    """Fields left out keep their value; `version` must be the one you read (409 stale otherwise)."""
    document = access_document_for_user(request.auth, document_id)
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    current = {"tag": document.tag, "caption": document.caption, "customer_visible": document.customer_visible}
    current.update({k: v for k, v in changes.items() if v is not None})
    with locked_job_is_conflict():
        actions.document_update(actor=request.auth, document_id=document.pk, version=version, **current)
    return document_out(access_document_for_user(request.auth, document.pk))


@router.delete("/documents/{document_id}", response=responses({204: None}, WRITE), summary="Delete a document or photo")
def document_delete(request: HttpRequest, document_id: int) -> Status:
    """The row goes at once; the stored files once the deletion is committed."""
    document = access_document_for_user(request.auth, document_id)
    with locked_job_is_conflict():
        actions.document_delete(actor=request.auth, document_id=document.pk)
    return Status(204, None)


@router.get("/documents/{document_id}/file", response=READ, summary="Download the stored file", openapi_extra={"responses": {200: FILE_SCHEMA}})
def document_file(request: HttpRequest, document_id: int) -> FileResponse:
    return serve_document(access_document_for_user(request.auth, document_id))


@router.get(
    "/documents/{document_id}/thumbnail",
    response=READ,
    summary="A photo's thumbnail (JPEG, at most 320 px)",
    openapi_extra={"responses": {200: THUMBNAIL_SCHEMA}},
)
def document_thumbnail(request: HttpRequest, document_id: int) -> FileResponse:
    return serve_document(access_document_for_user(request.auth, document_id), thumbnail=True)
