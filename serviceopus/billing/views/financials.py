"""The job workspace's Financials tab (actual against estimate, the margin warning) and its one write:
setting the estimate from the job's current lines. Figures need billing.view_billing; setting the
estimate billing.invoice."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from serviceopus.core.errors import DomainError
from serviceopus.core.money import format_cents
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import require_perm, wants_fragment
from serviceopus.jobs.views.workspace import render_workspace

from .. import actions
from ..financials import Financials, Variance, job_financials

VIEW = "billing.view_billing"
SET_ESTIMATE = "billing.invoice"
TAB = "financials"


def signed_cents(cents: int) -> str:
    """A difference: "+$12.00", "-$3.50", "$0.00"."""
    return ("+" if cents > 0 else "") + format_cents(cents)


def show_percent(value: Decimal | int | None) -> str:
    return "—" if value is None else f"{value} %"


@dataclass(frozen=True)
class Row:
    """One line of the actual-against-estimate table, as the page says it."""

    label: str
    actual: str
    estimate: str = ""
    variance: str = ""
    unfavourable: bool = False
    note: str = ""
    strong: bool = False
    section: bool = False  # a heading row


def _compare(row: Variance | None, label: str, actual: int, *, note: str = "", strong: bool = False) -> Row:
    if row is None:
        return Row(label, format_cents(actual), note=note, strong=strong)
    return Row(label, format_cents(actual), format_cents(row.estimate_cents), signed_cents(row.delta_cents), row.unfavourable, note, strong)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def table_rows(fin: Financials) -> list[Row]:
    by_label = {v.label: v for v in fin.variances}
    to_invoice_note = ""
    if fin.draft_cents and fin.uninvoiced_cents:
        to_invoice_note = f"{format_cents(fin.draft_cents)} on draft invoices, {format_cents(fin.uninvoiced_cents)} not on an invoice yet"
    elif fin.draft_cents:
        to_invoice_note = "On draft invoices"
    elif fin.uninvoiced_cents:
        to_invoice_note = "Work not on an invoice yet, as it would be billed"
    labour_notes = [f"{fin.labour_hours} h at each technician's cost" if fin.labour_minutes else "No time recorded yet"]
    if fin.unreviewed_entries:
        labour_notes.append(_plural(fin.unreviewed_entries, "entry", "entries") + " not reviewed yet")
    if fin.running_entries:
        labour_notes.append(_plural(fin.running_entries, "entry", "entries") + " still running, counted once ended")
    material = fin.material_cost_cents + fin.committed_unreserved_cents
    material_note = "The job's material lines at cost"
    if fin.committed_unreserved_cents:
        material_note += f", and {format_cents(fin.committed_unreserved_cents)} ordered for the job on no job line"
    est = fin.estimate
    margin_points = fin.margin_points_delta
    rows = [
        Row("Revenue (before tax)", "", section=True),
        Row("Invoiced", format_cents(fin.invoiced_cents), note=f"Less {format_cents(fin.credited_cents)} credited" if fin.credited_cents else ""),
        Row("Still to invoice", format_cents(fin.to_invoice_cents), note=to_invoice_note),
        _compare(by_label.get("Revenue"), "Total revenue", fin.revenue_cents, strong=True),
        Row("Cost", "", section=True),
        _compare(by_label.get("Labour cost"), "Labour", fin.labour_cost_cents, note=" · ".join(labour_notes)),
        _compare(by_label.get("Material cost"), "Material", material, note=material_note),
        _compare(by_label.get("Total cost"), "Total cost", fin.cost_cents, strong=True),
        Row("Margin", "", section=True),
        _compare(by_label.get("Gross margin"), "Gross margin", fin.margin_cents, strong=True),
        Row(
            "Margin %",
            show_percent(fin.margin_percent),
            show_percent(est.margin_percent) if est else "",
            "" if margin_points is None else f"{'+' if margin_points > 0 else ''}{margin_points} pts",
            margin_points is not None and margin_points < 0,
            strong=True,
        ),
    ]
    return rows


def margin_warning(fin: Financials) -> str:
    if not fin.below_threshold:
        return ""
    if fin.margin_percent is None:
        return f"No revenue yet against {format_cents(fin.cost_cents)} of cost: below the company's {fin.threshold_percent} % margin threshold"
    return f"Margin {fin.margin_percent} % is below the company's {fin.threshold_percent} % threshold"


def financials_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    """The tab's context (see financials.QUERIES for what it reads); for users who may not see billing,
    only the template and no query."""
    context: dict[str, Any] = {"tab_template": "billing/tabs/financials.html", "can_view_financials": request.user.has_perm(VIEW)}
    if not context["can_view_financials"]:
        return context
    fin = job_financials(job)
    return {
        **context,
        "fin": fin,
        "rows": table_rows(fin),
        "margin_warning": margin_warning(fin),
        "revenue": format_cents(fin.revenue_cents),
        "margin": format_cents(fin.margin_cents),
        "committed": format_cents(fin.committed_cents),
        "committed_reserved": format_cents(fin.committed_reserved_cents),
        "committed_unreserved": format_cents(fin.committed_unreserved_cents),
        "can_set_estimate": request.user.has_perm(SET_ESTIMATE),
    }


@login_required
@require_POST
def estimate_capture(request: HttpRequest, job_id: int) -> HttpResponse:
    """Set (or re-baseline) the job's estimate from its current lines and estimated duration."""
    job = access_job_for_user(request.user, job_id)
    require_perm(request, SET_ESTIMATE)
    status = 200
    try:
        estimate = actions.estimate_capture(actor=request.user, job_id=job.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        status = exc.http_status
    else:
        messages.success(
            request, f"Estimate set from the current lines: revenue {format_cents(estimate.revenue_cents)}, cost {format_cents(estimate.cost_cents)}."
        )
    if wants_fragment(request, "tab-area"):
        return render_workspace(request, access_job_for_user(request.user, job.pk), TAB, status=status)
    return redirect(reverse("jobs:tab", args=[job.pk, TAB]))
