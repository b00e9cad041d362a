"""Documents and photos: the job workspace's Documents tab, the photos section of the technician's
visit screen, the upload POST (many files at once), inline edits and deletes, and serving the stored
files — only ever after access_job_for_user, never from a public media URL.

Each file of an upload succeeds or is refused on its own, with a message per file. A write that stored
or changed something ends in a redirect to `next` (the tab or the visit screen; HX-Redirect for HTMX,
since the workspace header's closeout panel counts photos too). When nothing was stored, an HTMX
request that targets #documents-panel gets the panel back with the reasons; refused edits re-render
the panel with the reason (409 stale, 422 bad input)."""

from pathlib import PurePosixPath
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user, jobs_visible_to
from serviceopus.jobs.views.conventions import render_page, safe_next, wants_fragment
from serviceopus.jobs.views.workspace import workspace_context

from .. import uploads
from ..actions import documents as actions
from ..actions.job_lock import LOCKED_STATUSES
from ..files import stored_file_response
from ..models import Document, DocumentTag

TAB = "documents"
PANEL = "documents-panel"  # the tab's root element
SECTION = "photos"  # the visit screen's section
# What the file inputs offer; the server decides from the bytes (uploads.py) whatever the browser says.
ACCEPT = "image/jpeg,image/png,image/gif,image/webp,application/pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp,.txt,.csv,text/plain,text/csv"
# On site, photos taken once the crew is there show the "before" state until work is done.
BEFORE_STATUSES = (VisitStatus.EN_ROUTE, VisitStatus.ARRIVED, VisitStatus.WORKING, VisitStatus.PAUSED)


# ---- reads (small enough to live here; the API uses them too) -----------------------------------------


def _documents() -> Any:
    return Document.objects.select_related("uploaded_by", "visit", "incident")


def job_documents(job: Job, tag: str = "") -> list[Document]:
    """The job's documents and photos, newest first, with uploader, visit and incident: one query."""
    qs = _documents().filter(job=job)
    if tag:
        qs = qs.filter(tag=tag)
    return list(qs.order_by("-uploaded_at", "-id"))


def job_photos(job: Job) -> list[Document]:
    """The job's photos only (what the visit screen shows), newest first: one query."""
    return list(_documents().filter(job=job, kind=Document.Kind.PHOTO).order_by("-uploaded_at", "-id"))


def tag_counts(job: Job) -> dict[str, int]:
    """How many documents the job has per tag: one query."""
    return {row["tag"]: row["n"] for row in Document.objects.filter(job=job).values("tag").annotate(n=Count("id")).order_by()}


def document_of_job(job: Job, document_id: int) -> Document:
    """A document of this job (the job already authorised), or Http404."""
    document = _documents().filter(job=job, pk=document_id).first()
    if document is None:
        raise Http404("No such document.")
    return document


def access_document_for_user(user: User, document_id: int) -> Document:
    """A document of a job this user may see, or Http404 (a technician's other jobs included)."""
    document = _documents().filter(pk=document_id, job__in=jobs_visible_to(user)).first()
    if document is None:
        raise Http404("No such document.")
    return document


# ---- contexts -----------------------------------------------------------------------------------------


def _may_change(request: HttpRequest, job: Job) -> bool:
    return request.user.has_perm("closeout.record_evidence") and job.status not in LOCKED_STATUSES


def _tag_filter(request: HttpRequest) -> str:
    tag = request.GET.get("tag", "")
    return tag if tag in DocumentTag.values else ""


# How the list labels a document, by its checked content type: (label, style class).
TYPE_LABELS = {
    "application/pdf": ("PDF", "pdf"),
    "application/msword": ("DOC", "word"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("DOCX", "word"),
    "application/vnd.ms-excel": ("XLS", "sheet"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("XLSX", "sheet"),
    "application/vnd.ms-powerpoint": ("PPT", "slides"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("PPTX", "slides"),
    "application/vnd.oasis.opendocument.text": ("ODT", "word"),
    "application/vnd.oasis.opendocument.spreadsheet": ("ODS", "sheet"),
    "application/vnd.oasis.opendocument.presentation": ("ODP", "slides"),
    "text/plain": ("TXT", "text"),
    "text/csv": ("CSV", "sheet"),
}


def documents_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    """The tab: photos as a grid, other documents as a list, filter chips by tag. Two queries (the
    documents, the counts per tag) whatever the job holds."""
    tag = _tag_filter(request)
    documents = job_documents(job, tag)
    counts = tag_counts(job)
    editing_id, edit_values = extra.get("editing_id"), extra.get("edit_values")
    for d in documents:
        # The edit form shows what the user typed after a refusal, the stored values otherwise.
        own = {"tag": d.tag, "caption": d.caption, "customer_visible": d.customer_visible, "version": d.version}
        d.form = edit_values if (d.pk == editing_id and edit_values) else own  # type: ignore[attr-defined]
        d.type_label, d.type_class = TYPE_LABELS.get(d.content_type, ("FILE", "other"))  # type: ignore[attr-defined]
    return {
        "tab_template": "closeout/tabs/documents.html",
        "photos": [d for d in documents if d.kind == Document.Kind.PHOTO],
        "files": [d for d in documents if d.kind != Document.Kind.PHOTO],
        "tag_filter": tag,
        "tag_chips": [(value, label, counts.get(value, 0)) for value, label in DocumentTag.choices],
        "total_count": sum(counts.values()),
        "tags": DocumentTag.choices,
        "can_change": _may_change(request, job),
        "accept": ACCEPT,
        "max_upload": uploads.human_size(uploads.max_upload_bytes()),
        "max_upload_bytes": uploads.max_upload_bytes(),
        "editing_id": editing_id,
        "edit_errors": extra.get("edit_errors") or {},
        "upload_values": extra.get("upload_values") or {"tag": tag or DocumentTag.OTHER, "caption": "", "customer_visible": False},
        "edit_refused": extra.get("edit_refused"),
    }


def phone_context(request: HttpRequest, visit: Visit, job: Job) -> dict[str, Any]:
    """Context of the photos section of the visit screen: the job's photos and the camera form. One query."""
    return {
        "photos": job_photos(job),
        "tags": DocumentTag.choices,
        "default_tag": DocumentTag.BEFORE if visit.status in BEFORE_STATUSES else DocumentTag.AFTER,
        "can_upload": _may_change(request, job),
        "max_upload": uploads.human_size(uploads.max_upload_bytes()),
        "max_upload_bytes": uploads.max_upload_bytes(),
    }


# ---- responses ----------------------------------------------------------------------------------------


def _tab(request: HttpRequest, job: Job, *, status: int = 200, **extra: Any) -> HttpResponse:
    context = workspace_context(request, job, TAB, **extra)
    if wants_fragment(request, PANEL):
        response = render(request, "closeout/tabs/documents.html", {**context, "is_fragment": True}, status=status)
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    return render_page(request, "jobs/workspace.html", context, fragments={"tab-area": "tab_area"}, status=status)


def _back(request: HttpRequest, job: Job) -> HttpResponse:
    """After a write that changed something: back to `next`. The workspace header (the closeout panel
    counts photos by tag) changes too, so an HTMX request reloads the page rather than the panel."""
    url = safe_next(request, reverse("jobs:tab", args=[job.pk, TAB]))
    if getattr(request, "htmx", False):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _require_change(request: HttpRequest) -> None:
    if not request.user.has_perm("closeout.record_evidence"):
        raise PermissionDenied("You may not change documents or photos.")


def _visit_id(request: HttpRequest, job: Job) -> int | None:
    raw = request.POST.get("visit", "")
    if not raw:
        return None
    visit = Visit.objects.filter(job=job, pk=int(raw)).only("pk").first() if raw.isdigit() and len(raw) < 19 else None
    if visit is None:
        raise Http404("No such visit on this job.")
    return visit.pk


# ---- writes -------------------------------------------------------------------------------------------


@login_required
@require_POST
def document_upload(request: HttpRequest, job_id: int) -> HttpResponse:
    """Store every chosen file (field `files`, several allowed) with the same tag, caption and
    visibility. Each is stored, recognised as already there, or refused — a message for each."""
    job = access_job_for_user(request.user, job_id)
    _require_change(request)
    files = request.FILES.getlist("files")
    visit_id = _visit_id(request, job)
    stored, created_any = 0, False
    if not files:
        # A body cut off in the middle of a file reaches us without that file (Django drops a part
        # whose closing boundary never came), so "nothing arrived" also covers a dropped connection.
        messages.error(request, "No file arrived. Choose one or more files (or take a photo) and try again.")
    for upload in files:
        try:
            document, created = actions.document_upload(
                actor=request.user,
                job_id=job.pk,
                upload=upload,
                tag=request.POST.get("tag", DocumentTag.OTHER),
                caption=request.POST.get("caption", ""),
                customer_visible=bool(request.POST.get("customer_visible")),
                visit_id=visit_id,
            )
        except uploads.UploadRefused as exc:
            messages.error(request, exc.message)
            continue
        except InvalidInput as exc:
            # Not about this file (the tag or the caption): every file would be refused alike.
            messages.error(request, f"Nothing uploaded: {'; '.join(exc.fields.values()) or exc.message}")
            break
        except DomainError as exc:
            if exc.code == "forbidden":
                raise PermissionDenied(exc.message) from exc
            messages.error(request, exc.message)
            break
        stored += 1
        created_any = created_any or created
        if created:
            messages.success(request, f"Uploaded “{document.original_name}”.")
        else:
            messages.info(request, f"“{document.original_name}” is already on this job; it was not stored twice.")
    if wants_fragment(request, PANEL) and not created_any:
        # Nothing new: the refusals (or "already there") show in place, the form keeps its tag and caption.
        typed = {"tag": request.POST.get("tag", ""), "caption": request.POST.get("caption", ""), "customer_visible": bool(request.POST.get("customer_visible"))}
        return _tab(request, job, status=200 if stored else 422, upload_values=typed)
    return _back(request, job)


@login_required
@require_http_methods(["GET", "POST"])
def document_edit(request: HttpRequest, job_id: int, document_id: int) -> HttpResponse:
    """GET: the tab with this document's edit form open. POST: save tag, caption and visibility (the
    form carries the version it was read at)."""
    job = access_job_for_user(request.user, job_id)
    document = document_of_job(job, document_id)
    _require_change(request)
    if request.method == "GET":
        return _tab(request, job, editing_id=document.pk)
    values = {
        "tag": request.POST.get("tag", ""),
        "caption": request.POST.get("caption", ""),
        "customer_visible": bool(request.POST.get("customer_visible")),
        "version": request.POST.get("version", ""),
    }
    version = values["version"]
    try:
        if not (isinstance(version, str) and version.isdigit() and len(version) < 10):
            raise InvalidInput("This form is out of date; reload the page.", {"version": "Missing or invalid version."})
        actions.document_update(
            actor=request.user,
            document_id=document.pk,
            version=int(version),
            tag=values["tag"],
            caption=values["caption"],
            customer_visible=values["customer_visible"],
        )
    except ConflictError as exc:
        # Show the document as it is now, so the user redoes the change on top of the other one.
        current = document_of_job(job, document.pk)
        now = {"tag": current.tag, "caption": current.caption, "customer_visible": current.customer_visible, "version": current.version}
        return _tab(request, job, status=exc.http_status, editing_id=document.pk, edit_values=now, edit_refused=exc.message)
    except InvalidInput as exc:
        return _tab(request, job, status=422, editing_id=document.pk, edit_values=values, edit_errors=exc.fields, edit_refused=exc.message)
    except DomainError as exc:
        if exc.code == "forbidden":
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
        return _tab(request, job, status=exc.http_status)
    messages.success(request, f"Saved “{document.original_name}”.")
    return _back(request, job)


@login_required
@require_POST
def document_delete(request: HttpRequest, job_id: int, document_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    document = document_of_job(job, document_id)
    _require_change(request)
    try:
        actions.document_delete(actor=request.user, document_id=document.pk)
    except DomainError as exc:
        if exc.code == "forbidden":
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted “{document.original_name}”.")
    return _back(request, job)


# ---- serving files ------------------------------------------------------------------------------------


def serve_document(document: Document, *, thumbnail: bool = False, download: bool = False) -> FileResponse:
    """The stored file as a response that a browser cannot turn into a page: the stored content type
    with nosniff, a download for anything but an image, and a sandboxing CSP in case it is opened."""
    field = document.thumbnail if thumbnail else document.file
    content_type = "image/jpeg" if thumbnail else document.content_type
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    # The name the user gave, with the extension of what is stored ("scan.png" re-encoded is a JPEG).
    filename = PurePosixPath(document.original_name).stem + PurePosixPath(field.name).suffix
    return stored_file_response(field, content_type=content_type, filename=filename, as_attachment=download or not document.is_image, max_age=3600)


@login_required
@require_GET
def document_file(request: HttpRequest, job_id: int, document_id: int) -> FileResponse:
    job = access_job_for_user(request.user, job_id)
    return serve_document(document_of_job(job, document_id), download=request.GET.get("download") == "1")


@login_required
@require_GET
def document_thumb(request: HttpRequest, job_id: int, document_id: int) -> FileResponse:
    job = access_job_for_user(request.user, job_id)
    return serve_document(document_of_job(job, document_id), thumbnail=True)


urlpatterns = [
    path("jobs/<int:job_id>/documents/upload/", document_upload, name="document_upload"),
    path("jobs/<int:job_id>/documents/<int:document_id>/file/", document_file, name="document_file"),
    path("jobs/<int:job_id>/documents/<int:document_id>/thumb/", document_thumb, name="document_thumb"),
    path("jobs/<int:job_id>/documents/<int:document_id>/edit/", document_edit, name="document_edit"),
    path("jobs/<int:job_id>/documents/<int:document_id>/delete/", document_delete, name="document_delete"),
]
