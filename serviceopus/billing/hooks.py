"""How billing plugs into the apps it builds on (called once from BillingConfig.ready): the job
guards (invoiced only when fully invoiced, closed only when paid), the billing trigger on work
complete, the estimate snapshot when a job is first scheduled, the refusal to change or remove a job
line that is on an invoice, and the workspace's Invoices, Payments and Financials tabs."""

from typing import Any

from django.db import transaction

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError
from serviceopus.core.money import format_cents
from serviceopus.jobs.guards import Blocker
from serviceopus.jobs.models import BillingTrigger, Job, JobType, LineItem
from serviceopus.jobs.status import JobStatus

from .models import Estimate, Invoice, InvoiceLine
from .pricing import preview
from .status import InvoiceStatus


def _uninvoiced(job: Job) -> tuple[list[str], int]:
    lines = preview([job]).lines
    return [line.description for line in lines], sum(line.amount_cents + line.tax_cents for line in lines)


def billing_guard(job: Job, to: str) -> list[Blocker]:
    if to == JobStatus.CANCELLED:
        return _cancel_guard(job)
    if to not in (JobStatus.INVOICED, JobStatus.CLOSED):
        return []
    blockers = []
    invoices = list(Invoice.objects.filter(jobs=job, kind=Invoice.Kind.INVOICE).exclude(status=InvoiceStatus.VOID))
    drafts = [inv for inv in invoices if inv.status == InvoiceStatus.DRAFT]
    issued = [inv for inv in invoices if inv.status != InvoiceStatus.DRAFT]
    if to == JobStatus.INVOICED and not issued:
        blockers.append(Blocker("not_invoiced", "Issue an invoice for this job first.", tab="invoices"))
    if to == JobStatus.INVOICED or job.status == JobStatus.WORK_COMPLETE:
        items, amount = _uninvoiced(job)
        # Covered work left over (agreement, warranty) owes nothing: it holds neither "invoiced" nor a close
        # (a warranty job's time approved after its no-charge invoice would otherwise strand it).
        if items and amount > 0:
            blockers.append(
                Blocker(
                    "uninvoiced_work",
                    f"{len(items)} billable {'item is' if len(items) == 1 else 'items are'} not on an invoice yet.",
                    items[:10],
                    tab="invoices",
                )
            )
    if drafts:
        blockers.append(Blocker("draft_invoice", "Issue or delete the draft invoice first.", [f"Draft #{inv.pk}" for inv in drafts], tab="invoices"))
    if to == JobStatus.CLOSED:
        unpaid = [inv for inv in issued if inv.balance_cents > 0]
        if unpaid:
            blockers.append(
                Blocker(
                    "unpaid",
                    "Not paid yet: " + ", ".join(f"{inv.number} owes {format_cents(inv.balance_cents)}" for inv in unpaid) + ".",
                    [inv.number or "" for inv in unpaid],
                    tab="payments",
                )
            )
    return blockers


def _cancel_guard(job: Job) -> list[Blocker]:
    """Work billed while on hold is not silently cancelled: the invoice is voided (or the draft deleted) first."""
    billed = [str(inv) for inv in Invoice.objects.filter(jobs=job, kind=Invoice.Kind.INVOICE).exclude(status=InvoiceStatus.VOID).order_by("pk")]
    if not billed:
        return []
    return [Blocker("has_invoices", "Void its invoices and delete its draft invoices first: " + ", ".join(billed) + ".", billed, tab="invoices")]


def transition_hook(actor: User, job: Job, was: str, to: str) -> None:
    from .actions.bookkeeping import job_event
    from .actions.estimates import take_snapshot
    from .actions.invoices import create_draft

    if to == JobStatus.SCHEDULED and not Estimate.objects.filter(job=job).exists():
        take_snapshot(job, actor)
    # Back at work complete because its invoice was voided is not the work being completed: the office
    # re-invoices when it is ready rather than finding a draft made behind its back.
    if to != JobStatus.WORK_COMPLETE or was == JobStatus.INVOICED:
        return
    if JobType.objects.filter(pk=job.job_type_id, billing_trigger=BillingTrigger.DRAFT_INVOICE).exists():
        if Invoice.objects.filter(jobs=job, status=InvoiceStatus.DRAFT).exists():
            return
        try:
            with transaction.atomic():
                invoice = create_draft(actor=actor, jobs=[Job.objects.get(pk=job.pk)])
        except DomainError as refused:
            job_event(job.pk, actor, f"No draft invoice was created: {refused.message}")
        else:
            job_event(job.pk, actor, f"Work complete: draft invoice #{invoice.pk} created for review (job type's billing trigger)", invoice=invoice.pk)


def line_item_hook(op: str, line: LineItem, changes: dict[str, Any]) -> None:
    """A job line on an invoice (a draft included) is what was billed: it cannot change under it."""
    billed = InvoiceLine.objects.filter(line_item=line, live=True).select_related("invoice").first()
    if billed is not None:
        invoice = billed.invoice
        where = f"draft invoice #{invoice.pk}" if invoice.status == InvoiceStatus.DRAFT else f"invoice {invoice.number}"
        fix = "Change it on the draft, or take it off the draft first." if invoice.status == InvoiceStatus.DRAFT else "Correct it with a credit note."
        raise ConflictError("invoiced_line", f"“{line.description}” is on {where}. {fix}")
    if op == "remove":
        # A void invoice keeps its lines, and they point at the job line they billed: the line stays.
        voided = InvoiceLine.objects.filter(line_item=line).select_related("invoice").order_by("pk").first()
        if voided is not None:
            raise ConflictError(
                "invoiced_line",
                f"“{line.description}” was on invoice {voided.invoice.number}, now void, which keeps it on record: set its quantity to 0 instead.",
            )


def install() -> None:
    from serviceopus.jobs.actions import LINE_ITEM_HOOKS, TRANSITION_HOOKS
    from serviceopus.jobs.guards import register_guard

    register_guard(billing_guard)
    if transition_hook not in TRANSITION_HOOKS:
        TRANSITION_HOOKS.append(transition_hook)
    if line_item_hook not in LINE_ITEM_HOOKS:
        LINE_ITEM_HOOKS.insert(0, line_item_hook)

    from serviceopus.jobs.views.workspace import register_tab

    from .views import financials, job_tabs

    register_tab("invoices", job_tabs.invoices_tab)
    register_tab("payments", job_tabs.payments_tab)
    register_tab("financials", financials.financials_tab)
