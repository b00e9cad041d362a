"""The job's estimate: a snapshot of its quoted lines, which the Financials tab measures actuals against.

It is priced the way the job will be billed (pricing.BILLING_RULES), so that actuals and estimate compare
like with like: covered lines earn nothing, a job that bills time earns its estimated duration at the
billing type's labour rate, a not-to-exceed job at most its limit. Its material cost is the material
lines' cost, as on the actual side."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.money import format_cents
from serviceopus.crew.models import Technician
from serviceopus.jobs.actions import lock_job
from serviceopus.jobs.models import Job, LineItem

from ..models import BillingSettings, Estimate, LabourRate
from ..pricing import BILLING_RULES, coverage_for, labour_amount, round_half_up
from .bookkeeping import job_event, require


def _labour_cost(job: Job) -> int:
    """The estimated duration at the crew's average cost per hour (the job's technicians', else the
    company's), rounded once, half-up, in Decimal: an average and a float would each round on their own."""
    costs = list(job.technicians.values_list("hourly_cost_cents", flat=True))
    if not costs:
        costs = list(Technician.objects.filter(active=True).values_list("hourly_cost_cents", flat=True))
    if not costs:
        return 0
    return round_half_up(Decimal(job.estimated_duration_minutes) * sum(costs) / (60 * len(costs)))


def _revenue(job: Job, lines: list[LineItem]) -> int:
    rule = BILLING_RULES[job.billing_type]
    # A limited coverage is not modelled here: the estimate counts covered kinds as earning nothing.
    covered = coverage_for([job], BillingSettings.current())[job.pk].kinds
    revenue = sum(line.total_cents for line in lines if line.kind not in covered)
    if rule.bill_time and "time" not in covered:
        rate = LabourRate.objects.filter(billing_type=job.billing_type).values_list("hourly_rate_cents", flat=True).first() or 0
        revenue += labour_amount(job.estimated_duration_minutes, rate)
    if rule.capped and job.not_to_exceed_cents is not None:
        revenue = min(revenue, job.not_to_exceed_cents)
    return revenue


def take_snapshot(job: Job, actor: User | None) -> Estimate:
    """Inside the caller's transaction, with the job locked."""
    lines = list(job.line_items.all())
    values = {
        "revenue_cents": _revenue(job, lines),
        "material_cost_cents": sum(line.cost_cents for line in lines if line.kind == LineItem.Kind.MATERIAL),
        "labour_cost_cents": _labour_cost(job),
        "captured_at": timezone.now(),
        "captured_by": actor,
    }
    estimate, _ = Estimate.objects.update_or_create(job=job, defaults=values)
    return estimate


def estimate_capture(*, actor: User, job_id: int) -> Estimate:
    """Re-baseline: the job's current lines and estimated duration become its estimate."""
    require(actor, "billing.invoice", "set a job's estimate")
    with transaction.atomic():
        job = lock_job(job_id)
        estimate = take_snapshot(job, actor)
        job_event(
            job.pk, actor, f"Estimate set from the current lines: revenue {format_cents(estimate.revenue_cents)}, cost {format_cents(estimate.cost_cents)}"
        )
    return estimate
