"""A job's financials, live while it runs: what it has earned and will earn, what it has cost, its gross
margin, and how that compares with its estimate.

Revenue is pre-tax (tax is the state's money, not the company's):
- invoiced: the job's lines on issued invoices (not void), less its lines on credit notes (negative);
- still to invoice: the job's lines on draft invoices, plus what `pricing.preview` would bill for its
  uninvoiced work (capped by a not-to-exceed limit, covered work at zero). A cancelled job will not be
  invoiced: nothing of it is counted as still to come.

Cost:
- labour: each ended time entry not replaced by a correction (work and travel, reviewed or not: the
  crew was paid for it either way) × its technician's hourly cost, rounded half-up to the cent per entry;
- material: the job's material lines at their unit cost (LineItem.cost_cents);
- committed: what open purchase orders (ordered, partially received) still bring for the job — the
  unreceived quantity × unit cost, rounded half-up per order line. An order line that serves a reserved
  job line buys material whose cost is already the line's cost, so only order lines with no reservation
  add to the total cost; the whole committed figure is shown on its own row.

Margin = revenue (invoiced + still to invoice) − cost; its percentage is of revenue, to one decimal
half-up, and None when there is no revenue. The job is below the company's threshold
(BillingSettings.margin_warning_percent) when its margin % is lower, or when it has cost and no revenue —
except covered work (agreement, warranty): its revenue is the agreement's or the manufacturer's, not the
job's, so a low margin there is expected and says nothing; the tab says so instead of warning.

All sums are of integer cents, done in Python: the same on every database. Reading takes a fixed
number of queries whatever the job holds (see QUERIES)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from serviceopus.core.money import line_total_cents
from serviceopus.field.models import TimeEntry
from serviceopus.inventory.models import PurchaseOrder, PurchaseOrderLine
from serviceopus.inventory.quantity import from_milli
from serviceopus.jobs.models import BillingType, Job, LineItem
from serviceopus.jobs.status import JobStatus

from .models import BillingSettings, Estimate, Invoice, InvoiceLine
from .pricing import labour_amount, preview
from .status import ISSUED_STATES, InvoiceStatus

# Invoice lines, time entries, material lines, purchase order lines, the estimate, the settings, and the
# pricing preview (settings, labour rates, uninvoiced lines, billable time, time to review; a
# not-to-exceed job one more for what earlier invoices billed). A cancelled job skips the preview.
QUERIES = 11
QUERIES_NOT_TO_EXCEED = 12
QUERIES_CANCELLED = 6

OPEN_ORDER = (PurchaseOrder.Status.ORDERED, PurchaseOrder.Status.PARTIALLY_RECEIVED)
TENTH = Decimal("0.1")


def percent(part: int, whole: int) -> Decimal | None:
    """part as a percentage of whole, to one decimal, half-up (away from zero); None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Variance:
    """One row of actual against estimate. `higher_is_better` says which way is good news (revenue,
    margin) or bad news (cost)."""

    label: str
    actual_cents: int
    estimate_cents: int
    higher_is_better: bool

    @property
    def delta_cents(self) -> int:
        return self.actual_cents - self.estimate_cents

    @property
    def unfavourable(self) -> bool:
        return self.delta_cents < 0 if self.higher_is_better else self.delta_cents > 0


@dataclass(frozen=True)
class EstimateFigures:
    revenue_cents: int
    labour_cost_cents: int
    material_cost_cents: int
    captured_at: datetime
    captured_by_name: str

    @property
    def cost_cents(self) -> int:
        return self.labour_cost_cents + self.material_cost_cents

    @property
    def margin_cents(self) -> int:
        return self.revenue_cents - self.cost_cents

    @property
    def margin_percent(self) -> Decimal | None:
        return percent(self.margin_cents, self.revenue_cents)


@dataclass(frozen=True)
class Financials:
    invoiced_gross_cents: int  # lines on issued invoices
    credited_cents: int  # lines on credit notes, as a positive amount
    draft_cents: int  # lines on draft invoices
    uninvoiced_cents: int  # work on no invoice yet, as pricing would bill it
    labour_cost_cents: int
    labour_minutes: int
    running_entries: int  # time entries still open: not counted until they end
    unreviewed_entries: int  # counted, but may still be corrected
    material_cost_cents: int
    committed_cents: int  # all that open orders still bring for the job
    committed_unreserved_cents: int  # … of which counts as cost (no reserved job line holds it)
    threshold_percent: int
    estimate: EstimateFigures | None
    covered: bool = False  # agreement or warranty work: revenue comes from elsewhere

    @property
    def invoiced_cents(self) -> int:
        return self.invoiced_gross_cents - self.credited_cents

    @property
    def to_invoice_cents(self) -> int:
        return self.draft_cents + self.uninvoiced_cents

    @property
    def revenue_cents(self) -> int:
        return self.invoiced_cents + self.to_invoice_cents

    @property
    def labour_hours(self) -> Decimal:
        return (Decimal(self.labour_minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def committed_reserved_cents(self) -> int:
        return self.committed_cents - self.committed_unreserved_cents

    @property
    def cost_cents(self) -> int:
        return self.labour_cost_cents + self.material_cost_cents + self.committed_unreserved_cents

    @property
    def margin_cents(self) -> int:
        return self.revenue_cents - self.cost_cents

    @property
    def margin_percent(self) -> Decimal | None:
        return percent(self.margin_cents, self.revenue_cents)

    @property
    def below_threshold(self) -> bool:
        if self.covered:
            return False
        if self.revenue_cents == 0:
            return self.cost_cents > 0
        margin = self.margin_percent
        return margin is not None and margin < self.threshold_percent

    @property
    def variances(self) -> list[Variance]:
        """Actual against estimate, row by row ([] without an estimate)."""
        est = self.estimate
        if est is None:
            return []
        return [
            Variance("Revenue", self.revenue_cents, est.revenue_cents, True),
            Variance("Labour cost", self.labour_cost_cents, est.labour_cost_cents, False),
            Variance("Material cost", self.material_cost_cents + self.committed_unreserved_cents, est.material_cost_cents, False),
            Variance("Total cost", self.cost_cents, est.cost_cents, False),
            Variance("Gross margin", self.margin_cents, est.margin_cents, True),
        ]

    @property
    def margin_points_delta(self) -> Decimal | None:
        """Margin % actual − estimated, in percentage points (None when either has no revenue)."""
        if self.estimate is None or self.margin_percent is None or self.estimate.margin_percent is None:
            return None
        return self.margin_percent - self.estimate.margin_percent


def _revenue(job: Job) -> tuple[int, int, int]:
    invoiced = credited = draft = 0
    for status, kind, amount in InvoiceLine.objects.filter(job=job).values_list("invoice__status", "invoice__kind", "amount_cents"):
        if status in ISSUED_STATES:
            if kind == Invoice.Kind.CREDIT_NOTE:
                credited -= amount
            else:
                invoiced += amount
        elif status == InvoiceStatus.DRAFT:
            draft += amount
    return invoiced, credited, draft


def _labour(job: Job) -> tuple[int, int, int, int]:
    cost = minutes = running = unreviewed = 0
    entries = TimeEntry.objects.filter(job=job).exclude(review=TimeEntry.Review.CORRECTED).select_related("technician")
    for entry in entries:
        if entry.end is None:
            running += 1
            continue
        entry_minutes = entry.minutes or 0
        minutes += entry_minutes
        cost += labour_amount(entry_minutes, entry.technician.hourly_cost_cents)
        if entry.review == TimeEntry.Review.PENDING:
            unreviewed += 1
    return cost, minutes, running, unreviewed


def _material(job: Job) -> int:
    rows = LineItem.objects.filter(job=job, kind=LineItem.Kind.MATERIAL).values_list("quantity", "unit_cost_cents")
    return sum(line_total_cents(quantity, unit_cost) for quantity, unit_cost in rows)


def _committed(job: Job) -> tuple[int, int]:
    committed = unreserved = 0
    rows = PurchaseOrderLine.objects.filter(job=job, purchase_order__status__in=OPEN_ORDER).values_list(
        "quantity_milli", "received_milli", "unit_cost_cents", "reservation_id"
    )
    for quantity, received, unit_cost, reservation_id in rows:
        cents = line_total_cents(from_milli(max(0, quantity - received)), unit_cost)
        committed += cents
        if reservation_id is None:
            unreserved += cents
    return committed, unreserved


def _estimate(job: Job) -> EstimateFigures | None:
    estimate = Estimate.objects.filter(job=job).select_related("captured_by").first()
    if estimate is None:
        return None
    by = estimate.captured_by
    return EstimateFigures(
        revenue_cents=estimate.revenue_cents,
        labour_cost_cents=estimate.labour_cost_cents,
        material_cost_cents=estimate.material_cost_cents,
        captured_at=estimate.captured_at,
        captured_by_name=by.display_name if by is not None else "",  # taken when the job was first scheduled
    )


def job_financials(job: Job) -> Financials:
    """The job's financials as of now (see the module docstring for what each figure counts)."""
    invoiced, credited, draft = _revenue(job)
    labour_cost, minutes, running, unreviewed = _labour(job)
    committed, unreserved = _committed(job)
    uninvoiced = 0 if job.status == JobStatus.CANCELLED else preview([job]).subtotal_cents
    return Financials(
        invoiced_gross_cents=invoiced,
        credited_cents=credited,
        draft_cents=draft,
        uninvoiced_cents=uninvoiced,
        labour_cost_cents=labour_cost,
        labour_minutes=minutes,
        running_entries=running,
        unreviewed_entries=unreviewed,
        material_cost_cents=_material(job),
        committed_cents=committed,
        committed_unreserved_cents=unreserved,
        threshold_percent=BillingSettings.current().margin_warning_percent,
        estimate=_estimate(job),
        covered=job.billing_type in (BillingType.AGREEMENT, BillingType.WARRANTY),
    )


def expected_queries(job: Job) -> int:
    if job.status == JobStatus.CANCELLED:
        return QUERIES_CANCELLED
    return QUERIES_NOT_TO_EXCEED if job.billing_type == BillingType.NOT_TO_EXCEED and job.not_to_exceed_cents is not None else QUERIES
