"""Signatures: the job workspace's Signatures tab, the signature section of the technician's visit
screen (the pad), the pad's POST and the signature image.

The pad posts the PNG together with the hash of the content it showed. A refusal answers in place:
the visit screen's section (HTMX target #signature) or the tab re-rendered with the reason and the
content as it is now — 409 when the content changed while signing, 422 for bad input — and nothing
is stored. A saved signature redirects back to `next` (HX-Redirect for HTMX)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.dispatch.models import Visit
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import render_page, safe_next, wants_fragment
from serviceopus.jobs.views.workspace import workspace_context

from .. import queries
from ..actions import signatures as actions
from ..actions.job_lock import LOCKED_STATUSES
from ..files import stored_file_response
from ..models import Signature

TAB = "signatures"
PANEL = "signatures-panel"  # the tab's root element
SECTION = "signature"  # the visit screen's section


def _may_sign(request: HttpRequest, job: Job) -> bool:
    return request.user.has_perm("closeout.record_evidence") and job.status not in LOCKED_STATUSES


def signatures_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    """Two queries: the line items (the content to sign now, hashed once) and the signatures."""
    to_sign, signatures = queries.signatures_with_state(job)
    return {
        "tab_template": "closeout/tabs/signatures.html",
        "to_sign": to_sign,
        "signatures": signatures,
        "signature_refused": extra.get("signature_refused"),
    }


def phone_context(request: HttpRequest, visit: Visit, job: Job, **extra: Any) -> dict[str, Any]:
    """Context of the signature section of the visit screen: what is signed now and its hash, the
    pad's form (with the refusal and the typed values after a refused save) and the job's signatures,
    each current or stale. Two queries."""
    to_sign, signatures = queries.signatures_with_state(job)
    return {
        "to_sign": to_sign,
        "signatures": signatures,
        "can_sign": _may_sign(request, job),
        "refused": extra.get("refused"),
        "errors": extra.get("errors") or {},
        "values": extra.get("values") or {"role": Signature.Role.CUSTOMER},
        "roles": Signature.Role.choices,
        "customer_signed": any(s.is_current and s.role == Signature.Role.CUSTOMER for s in signatures),  # type: ignore[attr-defined]
    }


def _refused(request: HttpRequest, job: Job, visit: Visit | None, exc: DomainError, values: dict[str, str]) -> HttpResponse:
    fields = exc.fields if isinstance(exc, InvalidInput) else {}
    if visit is not None and wants_fragment(request, SECTION):
        section = phone_context(request, visit, job, refused=exc.message, errors=fields, values=values)
        response = render(
            request, "closeout/phone/_signature.html", {"section": section, "visit": visit, "job": job, "section_only": True}, status=exc.http_status
        )
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    detail = "; ".join(fields.values())
    refusal = f"{exc.message} {detail}".strip() if detail else exc.message
    context = workspace_context(request, job, TAB, signature_refused=refusal)
    return render_page(request, "jobs/workspace.html", context, fragments={"tab-area": "tab_area"}, status=exc.http_status)


@login_required
@require_POST
def signature_capture(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    raw_visit = request.POST.get("visit", "")
    visit = None
    if raw_visit:
        visit = Visit.objects.filter(job=job, pk=int(raw_visit)).first() if raw_visit.isdigit() and len(raw_visit) < 19 else None
        if visit is None:
            raise Http404("No such visit on this job.")
    values = {"signer_name": request.POST.get("signer_name", ""), "role": request.POST.get("role", "")}
    try:
        signature = actions.signature_capture(
            actor=request.user,
            job_id=job.pk,
            signer_name=values["signer_name"],
            role=values["role"],
            image_data_url=request.POST.get("image", ""),
            signed_hash=request.POST.get("signed_hash", ""),
            visit_id=visit.pk if visit else None,
        )
    except DomainError as exc:
        if exc.code == "forbidden":
            raise PermissionDenied(exc.message) from exc
        return _refused(request, job, visit, exc, values)
    messages.success(request, f"Signature saved: {signature.signer_name} ({signature.get_role_display().lower()}).")
    fallback = (reverse("field:visit", args=[visit.pk]) + f"#{SECTION}") if visit else reverse("jobs:tab", args=[job.pk, TAB])
    url = safe_next(request, fallback)
    if getattr(request, "htmx", False):
        response = HttpResponse(status=200)
        # Without the #fragment: to the page the phone is on, a fragment alone would only scroll it,
        # not reload it with the signature and the closeout box updated.
        response["HX-Redirect"] = url.split("#", 1)[0]
        return response
    return redirect(url)


def signature_file_response(signature: Signature) -> FileResponse:
    """The stored PNG as a response a browser shows as an image and nothing else (the pages and the
    API serve it this way, after their access checks)."""
    return stored_file_response(signature.image, content_type="image/png", filename=f"signature-{signature.pk}.png", as_attachment=False, max_age=86400)


@login_required
@require_GET
def signature_image(request: HttpRequest, job_id: int, signature_id: int) -> FileResponse:
    """The drawn image, only to users who may see the job."""
    return signature_file_response(queries.access_signature_for_user(request.user, job_id, signature_id))


urlpatterns = [
    path("jobs/<int:job_id>/signatures/", signature_capture, name="signature_capture"),
    path("jobs/<int:job_id>/signatures/<int:signature_id>/image/", signature_image, name="signature_image"),
]
