"""Invoices: the list (cursor pages, newest first, filtered), one invoice with its lines, payments and
credit notes, a job's invoices, the jobs ready to invoice, the preview of what an invoice for some jobs
would hold, and the lifecycle — create a draft, edit it, delete it, issue it (the gapless number is
taken then), void it. Each write calls the billing actions, as the pages do.

Who may: reading needs billing.view_billing (the office, managers, admins; 403 for dispatchers and
technicians); creating, editing and issuing need billing.invoice, voiding billing.void_invoice. A job id
the user may not see is 404. Edits carry the `version` read; a stale one is 409 `stale`; editing an
issued invoice is 409 `not_draft` (issue a credit note instead).
"""

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from serviceopus.accounts.models import User
from serviceopus.api.schemas import LIST, CursorPage, PageParams, body_field_names, responses
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import Job
from serviceopus.jobs.pagination import SortKey, paginate
from serviceopus.jobs.queries import access_job_for_user, jobs_visible_to
from serviceopus.jobs.status import JobStatus

from .. import actions
from ..actions.invoices import INVOICEABLE
from ..models import Invoice
from ..pricing import preview
from . import reads
from .schemas import (
    FIELD_NAMES,
    InvoiceCreateIn,
    InvoiceListParams,
    InvoiceOut,
    InvoicePatch,
    InvoiceSummaryOut,
    JobIdsIn,
    PreviewOut,
    ReadyJobOut,
    VersionIn,
    VersionParams,
    VoidIn,
    invoice_out,
    invoice_summary_out,
    preview_out,
    ready_job_out,
)

router = Router(tags=["invoices"])

NEWEST_FIRST = [SortKey("id", descending=True)]
OLDEST_FIRST = [SortKey("id", descending=False)]


def require_view_billing(user: User) -> None:
    if not user.has_perm("billing.view_billing"):
        raise DomainError("forbidden", "You may not see invoices and payments.")


def read_invoice(invoice_id: int) -> dict[str, Any]:
    return invoice_out(reads.invoice_detail(invoice_id))


def visible_jobs(user: User, job_ids: list[int]) -> list[Job]:
    """The jobs, in id order; 404 when one does not exist or this user may not see it."""
    ids = sorted(set(job_ids))
    jobs = list(jobs_visible_to(user).filter(pk__in=ids).order_by("pk"))
    if len(jobs) != len(ids):
        raise DomainError("not_found", "One of these jobs does not exist.")
    return jobs


@router.get("/invoices", response=responses({200: CursorPage[InvoiceSummaryOut]}, LIST), summary="List invoices and credit notes")
def invoice_list(request: HttpRequest, params: InvoiceListParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    """Newest first. Filters combine: `status`, `kind` (invoice, credit_note), `customer` and `job`
    ids, `overdue` (open for payment and past the due date). Three queries whatever the page size."""
    require_view_billing(request.auth)
    if params.job:
        access_job_for_user(request.auth, params.job)
    filters = reads.InvoiceFilters(status=params.status, kind=params.kind, customer_id=params.customer, job_id=params.job, overdue=params.overdue)
    page = paginate(reads.filtered_invoices(filters), NEWEST_FIRST, cursor=params.cursor, size=params.limit)
    return {"items": [invoice_summary_out(i) for i in page.rows], "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@router.post("/invoices/preview", response=responses({200: PreviewOut}), summary="Preview an invoice for some jobs")
def invoice_preview(request: HttpRequest, body: JobIdsIn) -> dict[str, Any]:
    """The lines an invoice for the jobs' uninvoiced work would get (by each job's billing type), the
    warnings to look at first and, for not-to-exceed jobs, the cap and the overage. Creates nothing.
    `empty` is true when there is nothing left to invoice. 422 for jobs of different customers, 409
    `not_invoiceable` for a job not in progress, on hold or work complete."""
    require_view_billing(request.auth)
    jobs = visible_jobs(request.auth, body.job_ids)
    if len({job.customer_id for job in jobs}) > 1:
        raise InvalidInput("One invoice is for one customer: these jobs belong to different customers.", {"job_ids": "Different customers."})
    for job in jobs:
        if job.status not in INVOICEABLE:
            raise ConflictError("not_invoiceable", f"{job.number} is {JobStatus(job.status).label.lower()}: only work in progress or complete can be invoiced.")
    return preview_out(preview(jobs))


@router.post("/invoices", response=responses({201: InvoiceOut}), summary="Create a draft invoice")
def invoice_create(request: HttpRequest, body: InvoiceCreateIn) -> Status:
    """A draft for the jobs' uninvoiced work, as the preview shows it. 409 `nothing_to_invoice` when
    it is all invoiced already, `already_invoiced` when another invoice took some of it meanwhile."""
    require_view_billing(request.auth)
    visible_jobs(request.auth, body.job_ids)
    with body_field_names(FIELD_NAMES):
        invoice = actions.invoice_create(actor=request.auth, job_ids=body.job_ids, memo=body.memo)
    return Status(201, read_invoice(invoice.pk))


@router.get("/invoices/{invoice_id}", response=responses({200: InvoiceOut}, LIST), summary="An invoice with its lines, payments and credit notes")
def invoice_detail(request: HttpRequest, invoice_id: int) -> dict[str, Any]:
    require_view_billing(request.auth)
    return read_invoice(invoice_id)


@router.patch("/invoices/{invoice_id}", response=responses({200: InvoiceOut}), summary="Edit a draft's memo and terms")
def invoice_update(request: HttpRequest, invoice_id: int, body: InvoicePatch) -> dict[str, Any]:
    """Fields left out keep their value."""
    require_view_billing(request.auth)
    invoice = get_object_or_404(Invoice, pk=invoice_id)
    changes = body.model_dump(exclude_unset=True)
    with body_field_names(FIELD_NAMES):
        actions.invoice_update(
            actor=request.auth,
            invoice_id=invoice.pk,
            version=body.version,
            memo=changes.get("memo", invoice.memo),
            terms_days=changes.get("terms_days", invoice.terms_days),
        )
    return read_invoice(invoice.pk)


@router.delete("/invoices/{invoice_id}", response=responses({204: None}), summary="Delete a draft")
def invoice_delete(request: HttpRequest, invoice_id: int, params: VersionParams = Query(...)) -> Status:  # noqa: B008
    """Its work goes back to the ready-to-invoice queue. An issued invoice is never deleted (409
    `not_draft`): void it, or issue a credit note."""
    require_view_billing(request.auth)
    actions.invoice_delete(actor=request.auth, invoice_id=invoice_id, version=params.version)
    return Status(204, None)


@router.post("/invoices/{invoice_id}/issue", response=responses({200: InvoiceOut}), summary="Issue a draft")
def invoice_issue(request: HttpRequest, invoice_id: int, body: VersionIn) -> dict[str, Any]:
    """The next number (INV-000001…, gapless), the issue and due dates, the customer's address fixed;
    its jobs become invoiced when all their work is. A zero invoice (warranty, covered work) is paid
    as it is issued. 409 `no_lines`, `negative_total`."""
    require_view_billing(request.auth)
    actions.invoice_issue(actor=request.auth, invoice_id=invoice_id, version=body.version)
    return read_invoice(invoice_id)


@router.post("/invoices/{invoice_id}/void", response=responses({200: InvoiceOut}), summary="Void an issued invoice")
def invoice_void(request: HttpRequest, invoice_id: int, body: VoidIn) -> dict[str, Any]:
    """It keeps its number, marked void; its work may be invoiced again. 409 `paid` when anything was
    paid on it, `credited` when credit notes were issued against it, `draft`, `void`, `credit_note`."""
    require_view_billing(request.auth)
    with body_field_names(FIELD_NAMES):
        actions.invoice_void(actor=request.auth, invoice_id=invoice_id, version=body.version, reason=body.reason)
    return read_invoice(invoice_id)


@router.get("/jobs/{job_id}/invoices", response=responses({200: list[InvoiceSummaryOut]}, LIST), summary="A job's invoices and credit notes")
def job_invoices(request: HttpRequest, job_id: int) -> list[dict[str, Any]]:
    """Oldest first, drafts and void ones included."""
    require_view_billing(request.auth)
    job = access_job_for_user(request.auth, job_id)
    return [invoice_summary_out(i) for i in reads.job_invoices(job)]


@router.get("/billing/ready-to-invoice", response=responses({200: CursorPage[ReadyJobOut]}, LIST), summary="Jobs waiting to be invoiced")
def ready_to_invoice(request: HttpRequest, page: PageParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    """Jobs at work complete with billable work not yet on an issued invoice, oldest first; with the
    draft invoice holding some of it, if any. A fixed number of queries whatever the queue's length."""
    require_view_billing(request.auth)
    result = paginate(reads.ready_to_invoice(request.auth), OLDEST_FIRST, cursor=page.cursor, size=page.limit)
    return {"items": [ready_job_out(job) for job in result.rows], "next_cursor": result.next_cursor, "prev_cursor": result.prev_cursor}
