"""The job's estimate: a snapshot of its quoted lines, which the Financials tab measures actuals against."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.money import format_cents
from serviceopus.crew.models import Technician
from serviceopus.jobs.actions import lock_job
from serviceopus.jobs.models import Job

from ..models import Estimate
from ..pricing import round_half_up
from .common import job_event, require


def _labour_cost(job: Job) -> int:
    """The estimated duration at the crew's average cost per hour (the job's technicians', else the
    company's), rounded once, half-up, in Decimal: an average and a float would each round on their own."""
    costs = list(job.technicians.values_list("hourly_cost_cents", flat=True))
    if not costs:
        costs = list(Technician.objects.filter(active=True).values_list("hourly_cost_cents", flat=True))
    if not costs:
        return 0
    return round_half_up(Decimal(job.estimated_duration_minutes) * sum(costs) / (60 * len(costs)))


def take_snapshot(job: Job, actor: User | None) -> Estimate:
    """Inside the caller's transaction, with the job locked."""
    lines = list(job.line_items.all())
    values = {
        "revenue_cents": sum(line.total_cents for line in lines),
        "material_cost_cents": sum(line.cost_cents for line in lines),
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
