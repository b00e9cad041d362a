"""Documents and photos of a job: uploading (checked and re-encoded by uploads.py), changing the tag,
caption and customer visibility, and deleting.

Files and rows stay in step: an upload writes its files through the storage API inside the
transaction that inserts the row, and deletes them again if that transaction fails; a delete removes
the files only once the row's deletion is committed. One caveat: when the caller wraps
`document_upload` in a transaction of its own and that outer transaction rolls back later, the files
stay behind unreferenced (Django has no rollback hook) — harmless, but callers should upload before
doing anything else that may fail."""

from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import IntegrityError, transaction
from django.db.models import F

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.models import Visit
from serviceopus.jobs.models import Job

from .. import uploads
from ..models import Document, DocumentTag, Incident
from .job_lock import closeout_event, open_job, require

MAX_CAPTION = 300


def _storage() -> Storage:
    return Document._meta.get_field("file").storage  # type: ignore[attr-defined]


def _clean_fields(tag: Any, caption: Any, customer_visible: Any) -> tuple[str, str, bool]:
    fields: dict[str, str] = {}
    if tag not in DocumentTag.values:
        fields["tag"] = f"Choose one of: {', '.join(DocumentTag.values)}."
    # A caption is one line under a thumbnail: runs of whitespace (newlines included) become one space.
    caption = " ".join(caption.split()) if isinstance(caption, str) else ""
    if "\x00" in caption:
        fields["caption"] = "Text must not contain NUL characters."
    elif len(caption) > MAX_CAPTION:
        fields["caption"] = f"At most {MAX_CAPTION} characters (this one has {len(caption)})."
    if not isinstance(customer_visible, bool):
        fields["customer_visible"] = "Must be true or false."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    return str(tag), caption, bool(customer_visible)


def _check_links(job: Job, visit_id: int | None, incident_id: int | None) -> None:
    fields: dict[str, str] = {}
    if visit_id is not None and not Visit.objects.filter(pk=visit_id, job=job).exists():
        fields["visit"] = "No such visit on this job."
    if incident_id is not None and not Incident.objects.filter(pk=incident_id, job=job).exists():
        fields["incident"] = "No such incident on this job."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)


def _what(document: Document) -> str:
    return "photo" if document.kind == Document.Kind.PHOTO else "document"


def delete_stored_files(names: list[str]) -> None:
    """Remove stored files by name; a file already gone is no error (a retried cleanup)."""
    storage = _storage()
    for name in names:
        if name:
            storage.delete(name)


def document_upload(
    *,
    actor: User,
    job_id: int,
    upload: Any,
    tag: str = DocumentTag.OTHER,
    caption: str = "",
    customer_visible: bool = False,
    visit_id: int | None = None,
    incident_id: int | None = None,
) -> tuple[Document, bool]:
    """Attach an uploaded file (a Django UploadedFile, or any file object with a name) to the job.

    Returns (document, created). The same bytes (sha256) already on this job return that document with
    created=False and store nothing — a phone re-sending a photo after a dropped connection gets the one
    it sent before; if this call names an incident and that document has none, it is linked to it.
    Refusals (a file type we do not accept, too large, empty, a bad tag or caption, a visit or incident of
    another job, a closed job, no closeout.record_evidence) raise having changed nothing.

    The file is checked and images re-encoded before the transaction (slow work is not done under the
    job's lock); the job row is locked while the duplicate check and the insert run, so two uploads of
    the same file cannot both store it."""
    require(actor, "closeout.record_evidence", "You may not add documents or photos.")
    tag, caption, customer_visible = _clean_fields(tag, caption, customer_visible)
    data, original_name = uploads.read(upload)
    sha256 = uploads.sha256_of(data)
    already = Document.objects.filter(job_id=job_id, sha256=sha256).exists()
    checked = None if already else uploads.inspect(data, original_name)

    stored: list[str] = []
    try:
        with transaction.atomic():
            job = open_job(job_id)
            _check_links(job, visit_id, incident_id)
            existing = Document.objects.filter(job=job, sha256=sha256).first()
            if existing is not None:
                return _link_duplicate(actor, job, existing, incident_id), False
            if checked is None:  # the copy we saw was deleted meanwhile: this one is new after all
                checked = uploads.inspect(data, original_name)
            document = Document(
                job=job,
                visit_id=visit_id,
                incident_id=incident_id,
                kind=checked.kind,
                tag=tag,
                caption=caption,
                customer_visible=customer_visible,
                original_name=checked.original_name,
                content_type=checked.content_type,
                size=len(checked.content),
                sha256=checked.sha256,
                width=checked.width,
                height=checked.height,
                uploaded_by=actor,
            )
            document.file.save(f"upload{checked.extension}", ContentFile(checked.content), save=False)
            stored.append(document.file.name)
            if checked.thumbnail is not None:
                document.thumbnail.save("thumb.jpg", ContentFile(checked.thumbnail), save=False)
                stored.append(document.thumbnail.name)
            try:
                with transaction.atomic():
                    document.save(force_insert=True)
            except IntegrityError as exc:
                # Only reachable if another writer inserted without taking the job's lock: refuse, don't guess.
                raise ConflictError("duplicate", f"“{checked.original_name}” was just uploaded to this job by someone else.") from exc
            what = _what(document)
            closeout_event(
                job,
                actor,
                f"{what.capitalize()} added: {document.original_name} ({DocumentTag(tag).label.lower()})",
                data={"document": document.pk, "op": "upload", "tag": tag, "visit": visit_id, "incident": incident_id},
            )
    except BaseException:
        # The row never committed: its files must not outlive it.
        delete_stored_files(stored)
        raise
    return document, True


def _link_duplicate(actor: User, job: Job, existing: Document, incident_id: int | None) -> Document:
    if incident_id is None or existing.incident_id is not None:
        return existing
    Document.objects.filter(pk=existing.pk).update(incident_id=incident_id, version=F("version") + 1)
    existing.refresh_from_db()
    closeout_event(
        job,
        actor,
        f"{_what(existing).capitalize()} {existing.original_name} attached to an incident",
        data={"document": existing.pk, "op": "link", "incident": incident_id},
    )
    return existing


def document_update(*, actor: User, document_id: int, version: int, tag: str, caption: str, customer_visible: bool) -> Document:
    """Change a document's tag, caption and customer visibility. `version` is the one the user read; a
    stale one is refused (ConflictError "stale") and changes nothing."""
    require(actor, "closeout.record_evidence", "You may not change documents or photos.")
    tag, caption, customer_visible = _clean_fields(tag, caption, customer_visible)
    with transaction.atomic():
        document = Document.objects.filter(pk=document_id).first()
        if document is None:
            raise DomainError("not_found", "No such document.")
        job = open_job(document.job_id)
        changed = Document.objects.filter(pk=document.pk, version=version).update(
            tag=tag, caption=caption, customer_visible=customer_visible, version=F("version") + 1
        )
        if not changed:
            raise ConflictError("stale", "This document was changed by someone else meanwhile. Reload to see it.", current_version=document.version)
        changes = []
        if tag != document.tag:
            changes.append(f"tag {DocumentTag(document.tag).label.lower()} → {DocumentTag(tag).label.lower()}")
        if caption != document.caption:
            changes.append("caption")
        if customer_visible != document.customer_visible:
            changes.append("shown to the customer" if customer_visible else "hidden from the customer")
        document.refresh_from_db()
        closeout_event(
            job,
            actor,
            f"{_what(document).capitalize()} {document.original_name} changed: {', '.join(changes) or 'no change'}",
            data={"document": document.pk, "op": "update"},
        )
    return document


def document_delete(*, actor: User, document_id: int) -> None:
    """Delete the document; its stored file and thumbnail are removed once the deletion is committed
    (a rolled-back delete keeps them, so the row never points at a missing file)."""
    require(actor, "closeout.record_evidence", "You may not delete documents or photos.")
    with transaction.atomic():
        document = Document.objects.filter(pk=document_id).first()
        if document is None:
            raise DomainError("not_found", "No such document.")
        job = open_job(document.job_id)
        names = [document.file.name, document.thumbnail.name]
        Document.objects.filter(pk=document.pk).delete()
        closeout_event(job, actor, f"{_what(document).capitalize()} deleted: {document.original_name}", data={"document": document.pk, "op": "delete"})
        transaction.on_commit(lambda: delete_stored_files([n for n in names if n]))
