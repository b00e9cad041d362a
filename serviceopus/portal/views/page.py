"""The customer's pages: a secret link (/p/<token>/) is exchanged for a session scoped to one job, then
every page lives under /portal/jobs/<job>/ without the token.

The token appears only in the request that opens the link: it is not stored (only its hash is), the
redirect goes to a URL without it, and the refusals of that request are kept out of Django's request
log, which would otherwise write the path with the token in it."""

from pathlib import PurePosixPath

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse

from serviceopus.billing.pdf import invoice_pdf as render_invoice_pdf
from serviceopus.billing.pdf import pdf_filename
from serviceopus.closeout.files import stored_file_response
from serviceopus.closeout.report import render_service_report, report_filename
from serviceopus.closeout.views.documents import serve_document
from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.jobs.models import Job
from serviceopus.messaging.actions.customer import customer_message_receive
from serviceopus.messaging.links import find_link
from serviceopus.messaging.models import PortalLink

from .. import access, queries

# How often the page asks for fresh progress. A template variable, so a test can read what it polls.
POLL_SECONDS = 5
MESSAGES_TARGET = "portal-messages"


def _unlogged(response: HttpResponse) -> HttpResponse:
    # Django logs every 4xx with the request's path; on /p/<token>/ the path is the secret.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _only(request: HttpRequest, *methods: str) -> HttpResponse | None:
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())
    return None if request.method in allowed else HttpResponseNotAllowed(sorted(allowed))


def _pdf(data: bytes, filename: str, request: HttpRequest) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    # Opened in the phone's viewer; ?download=1 saves it instead.
    disposition = "attachment" if request.GET.get("download") == "1" else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---- the link --------------------------------------------------------------------------------------------


def open_link(request: HttpRequest, token: str) -> HttpResponse:
    """Exchange a link's token for a session on its job and send the browser on to the job's page.
    Too many bad tokens from this address in a minute → 429 (a good token too, while it lasts);
    unknown → 404; revoked or expired → 410."""
    refused = _only(request, "GET")
    if refused:
        return _unlogged(access.private(refused))
    address = access.client_address(request)
    if access.too_many_failures(address):
        return _unlogged(access.not_found(request, limited=True))
    link = find_link(token)
    if link is None:
        access.record_failure(address)
        return _unlogged(access.not_found(request))
    if not access.record_open(link):
        access.record_failure(address)
        return _unlogged(access.ended(request, status=410))
    access.grant(request, link)
    return access.private(redirect("portal:job", job_id=link.job_id))


# ---- pages -----------------------------------------------------------------------------------------------


def _page(request: HttpRequest, job: Job, link: PortalLink, *, status: int = 200, **extra: object) -> HttpResponse:
    context = {**queries.page_context(job), "job": job, "link": link, "poll_seconds": POLL_SECONDS, **extra}
    return render(request, "portal/job.html", context, status=status)


@access.portal_view
def job_page(request: HttpRequest, job: Job, link: PortalLink) -> HttpResponse:
    return _only(request, "GET") or _page(request, job, link)


@access.portal_view
def progress(request: HttpRequest, job: Job, link: PortalLink) -> HttpResponse:
    """The live step list alone, polled by the page."""
    refused = _only(request, "GET")
    if refused:
        return refused
    context = {**queries.progress_context(job), "job": job, "poll_seconds": POLL_SECONDS}
    return render(request, "portal/_progress.html", context)


@access.portal_view
def message_send(request: HttpRequest, job: Job, link: PortalLink) -> HttpResponse:
    """The customer's message to the office. Only `body` is read: nothing else posted here can change
    anything. HTMX swaps the thread; a plain form posts, redirects and shows the thread again."""
    refused = _only(request, "POST")
    if refused:
        return refused
    body = request.POST.get("body", "")
    fragment = getattr(request, "htmx", False) and request.htmx.target == MESSAGES_TARGET  # type: ignore[attr-defined]
    try:
        customer_message_receive(link=link, body=body, address=access.client_address(request))
    except InvalidInput as exc:
        errors = {"body": exc.fields.get("body", exc.message), "message": exc.message}
        if fragment:
            context = {**queries.branding(), **queries.messages_context(job), "job": job, "message_errors": errors, "message_body": body.replace("\x00", "")}
            return render(request, "portal/_messages.html", context, status=422)
        return _page(request, job, link, status=422, message_errors=errors, message_body=body.replace("\x00", ""))
    except DomainError:
        # Revoked between the page and the post: nothing was written.
        return access.ended(request)
    if fragment:
        return render(request, "portal/_messages.html", {**queries.branding(), **queries.messages_context(job), "job": job, "message_sent": True})
    messages.success(request, "Thanks — your message was sent to the office.")
    return redirect(reverse("portal:job", args=[job.pk]) + "#messages")


# ---- files -----------------------------------------------------------------------------------------------


@access.portal_view
def document(request: HttpRequest, job: Job, link: PortalLink, document_id: int) -> HttpResponse:
    """A customer-visible document or photo of this job (?thumb=1: the photo's thumbnail)."""
    refused = _only(request, "GET")
    if refused:
        return refused
    found = queries.customer_document(job, document_id)
    thumbnail = request.GET.get("thumb") == "1" and bool(found.thumbnail)
    return serve_document(found, thumbnail=thumbnail, download=request.GET.get("download") == "1")


@access.portal_view
def report(request: HttpRequest, job: Job, link: PortalLink) -> HttpResponse:
    """The service report, once the work is complete."""
    refused = _only(request, "GET")
    if refused:
        return refused
    if job.status not in queries.REPORT_STATUSES:
        return access.not_found(request)
    return _pdf(render_service_report(job), report_filename(job), request)


@access.portal_view
def invoice_pdf(request: HttpRequest, job: Job, link: PortalLink, invoice_id: int) -> HttpResponse:
    """An issued invoice of this job as PDF."""
    refused = _only(request, "GET")
    if refused:
        return refused
    invoice = queries.customer_invoice(job, invoice_id)
    return _pdf(render_invoice_pdf(invoice), pdf_filename(invoice), request)


@access.portal_view
def technician_photo(request: HttpRequest, job: Job, link: PortalLink, technician_id: int) -> HttpResponse:
    """The photo of a technician on one of this job's visits."""
    refused = _only(request, "GET")
    if refused:
        return refused
    technician = queries.crew_technician(job, technician_id)
    content_type = queries.photo_content_type(technician.photo.name)
    if not content_type:
        return access.not_found(request)
    suffix = PurePosixPath(technician.photo.name).suffix
    return stored_file_response(technician.photo, content_type=content_type, filename=f"technician{suffix}", as_attachment=False, max_age=0)
