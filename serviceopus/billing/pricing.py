"""What a job's uninvoiced work comes to, by its billing type: the lines an invoice would get.

Rounding, in one place: a line's amount is quantity × unit price rounded half-up to the cent; labour
from a time entry is minutes × hourly rate / 60, rounded half-up to the cent; a line's tax is amount ×
rate rounded half-up to the cent (half away from zero for credits and discounts). Totals are sums of
those integers — exact, and the same on every database.

How each billing type bills (BILLING_RULES):
- fixed price: the job's lines; time entries are not billed (labour is in the price);
- time & materials: the job's lines, and approved time at the type's labour rate;
- agreement-covered: service and labour lines and time are shown at zero ("covered"); materials and
  fees are charged unless the settings say the agreement covers materials too;
- warranty / no charge: everything is shown at zero;
- not-to-exceed: as time & materials, capped: what goes over the job's limit (less what earlier invoices
  of the job already billed) comes off as adjustment lines, split over the tax rates in proportion, so
  the capped subtotal is exactly the limit and the tax follows it.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Sum

from serviceopus.core.money import format_cents, line_total_cents
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import BillingType, Job, LineItem

from .models import BillingSettings, InvoiceLine, LabourRate, TaxRate


@dataclass(frozen=True)
class Rule:
    bill_time: bool  # time entries become labour lines
    covered_kinds: frozenset[str]  # line kinds (and "time") shown at zero
    capped: bool = False


_ALL = frozenset({"service", "labour", "material", "fee", "time"})
BILLING_RULES: dict[str, Rule] = {
    BillingType.FIXED_PRICE: Rule(bill_time=False, covered_kinds=frozenset()),
    BillingType.TIME_AND_MATERIALS: Rule(bill_time=True, covered_kinds=frozenset()),
    BillingType.AGREEMENT: Rule(bill_time=True, covered_kinds=frozenset({"service", "labour", "time"})),
    BillingType.WARRANTY: Rule(bill_time=True, covered_kinds=_ALL),
    BillingType.NOT_TO_EXCEED: Rule(bill_time=True, covered_kinds=frozenset(), capped=True),
}
COVER_LABEL = {BillingType.AGREEMENT: "covered by agreement", BillingType.WARRANTY: "warranty, no charge"}


def round_half_up(value: Decimal) -> int:
    """Half away from zero, so a credit of a line mirrors its charge exactly."""
    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def line_tax(amount_cents: int, rate_milli_percent: int) -> int:
    return round_half_up(Decimal(amount_cents) * rate_milli_percent / 100_000)


def labour_amount(minutes: int, hourly_rate_cents: int) -> int:
    return round_half_up(Decimal(minutes) * hourly_rate_cents / 60)


@dataclass
class Draft:
    """One line an invoice would get (not saved)."""

    kind: str
    description: str
    quantity: Decimal
    unit_price_cents: int
    amount_cents: int
    tax_rate: TaxRate | None = None
    covered: bool = False
    list_amount_cents: int = 0
    job_id: int | None = None
    line_item_id: int | None = None
    time_entry_id: int | None = None

    @property
    def tax_rate_milli_percent(self) -> int:
        return self.tax_rate.rate_milli_percent if self.tax_rate else 0

    @property
    def tax_cents(self) -> int:
        return line_tax(self.amount_cents, self.tax_rate_milli_percent)


@dataclass
class JobBilling:
    job: Job
    lines: list[Draft] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cap_cents: int | None = None
    overage_cents: int = 0


@dataclass
class Preview:
    jobs: list[JobBilling]

    @property
    def lines(self) -> list[Draft]:
        return [line for job in self.jobs for line in job.lines]

    @property
    def subtotal_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    @property
    def tax_cents(self) -> int:
        return sum(line.tax_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.tax_cents

    @property
    def warnings(self) -> list[str]:
        return [w for job in self.jobs for w in job.warnings]

    @property
    def empty(self) -> bool:
        return not self.lines


def totals(lines: list) -> tuple[int, int, int]:
    """(subtotal, tax, total) of saved or draft lines."""
    subtotal = sum(line.amount_cents for line in lines)
    tax = sum(line.tax_cents for line in lines)
    return subtotal, tax, subtotal + tax


def uninvoiced_line_items(job_ids: list[int]):  # type: ignore[no-untyped-def]
    return LineItem.objects.filter(job_id__in=job_ids).exclude(invoice_lines__live=True).select_related("reservation").order_by("job_id", "position", "id")


def billed_time_kinds(*, bill_travel: bool) -> list[str]:
    return [TimeEntry.Kind.WORK] + ([TimeEntry.Kind.TRAVEL] if bill_travel else [])


def billable_time(job_ids: list[int], *, bill_travel: bool):  # type: ignore[no-untyped-def]
    return (
        TimeEntry.objects.filter(job_id__in=job_ids, review=TimeEntry.Review.APPROVED, end__isnull=False, kind__in=billed_time_kinds(bill_travel=bill_travel))
        .exclude(invoice_lines__live=True)
        .select_related("technician__user")
        .order_by("job_id", "start", "id")
    )


def invoiced_before(job_id: int) -> int:
    """What live invoice lines of the job already bill (drafts included: they will be issued or deleted)."""
    return InvoiceLine.objects.filter(job_id=job_id, live=True).aggregate(s=Sum("amount_cents"))["s"] or 0


def preview(jobs: list[Job]) -> Preview:
    """The lines an invoice for these jobs' uninvoiced work would get, with what to look at first."""
    settings = BillingSettings.current()
    rates = dict(LabourRate.objects.values_list("billing_type", "hourly_rate_cents"))
    ids = [job.pk for job in jobs]
    items = defaultdict(list)
    for item in uninvoiced_line_items(ids):
        items[item.job_id].append(item)
    entries = defaultdict(list)
    for entry in billable_time(ids, bill_travel=settings.bill_travel):
        entries[entry.job_id].append(entry)
    # Only entries that would be billed once approved are worth a warning: unbilled travel is not.
    pending = dict(
        TimeEntry.objects.filter(job_id__in=ids, review=TimeEntry.Review.PENDING, kind__in=billed_time_kinds(bill_travel=settings.bill_travel))
        .values("job_id")
        .annotate(n=Count("id"))
        .values_list("job_id", "n")
    )
    result = []
    for job in jobs:
        result.append(_job_billing(job, items[job.pk], entries[job.pk], settings=settings, rate=rates.get(job.billing_type, 0), pending=pending.get(job.pk, 0)))
    return Preview(result)


def _job_billing(job: Job, items: list[LineItem], entries: list[TimeEntry], *, settings: BillingSettings, rate: int, pending: int) -> JobBilling:
    rule = BILLING_RULES[job.billing_type]
    covered_kinds = set(rule.covered_kinds)
    if job.billing_type == BillingType.AGREEMENT and settings.agreement_covers_materials:
        covered_kinds.add("material")
    cover_note = COVER_LABEL.get(job.billing_type, "")
    billing = JobBilling(job=job)
    tax = settings.default_tax_rate
    for item in items:
        amount = item.total_cents
        covered = item.kind in covered_kinds
        billing.lines.append(
            Draft(
                kind=item.kind,
                description=item.description + (f" ({cover_note})" if covered else ""),
                quantity=item.quantity,
                unit_price_cents=0 if covered else item.unit_price_cents,
                amount_cents=0 if covered else amount,
                tax_rate=tax if item.taxable and not covered else None,
                covered=covered,
                list_amount_cents=amount,
                job_id=job.pk,
                line_item_id=item.pk,
            )
        )
        reservation = getattr(item, "reservation", None)
        if reservation is not None and reservation.status == "open" and reservation.issued_milli < reservation.quantity_milli:
            billing.warnings.append(f"{job.number}: “{item.description}” is billed at its line quantity, but not all of it has been issued from stock yet.")
    if rule.bill_time:
        covered = "time" in covered_kinds
        for entry in entries:
            minutes = entry.minutes or 0
            amount = labour_amount(minutes, rate)
            label = "Travel" if entry.kind == TimeEntry.Kind.TRAVEL else "Labour"
            billing.lines.append(
                Draft(
                    kind="labour",
                    description=f"{label} — {entry.technician.name}, {entry.start:%b %-d} ({minutes // 60}:{minutes % 60:02d} h)"
                    + (f" ({cover_note})" if covered else ""),
                    quantity=(Decimal(minutes) / 60).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP),
                    unit_price_cents=0 if covered else rate,
                    amount_cents=0 if covered else amount,
                    tax_rate=tax if settings.tax_labour and not covered else None,
                    covered=covered,
                    list_amount_cents=amount,
                    job_id=job.pk,
                    time_entry_id=entry.pk,
                )
            )
        if pending:
            billing.warnings.append(
                f"{job.number}: {pending} time {'entry is' if pending == 1 else 'entries are'} still to review and will not be billed until approved."
            )
    if rule.capped and job.not_to_exceed_cents is not None:
        _cap(billing, job.not_to_exceed_cents - invoiced_before(job.pk))
    return billing


def _cap(billing: JobBilling, remaining_cents: int) -> None:
    """Bring the job's charged lines down to what its not-to-exceed limit still allows."""
    remaining = max(remaining_cents, 0)
    billing.cap_cents = remaining
    charged = sum(line.amount_cents for line in billing.lines)
    overage = charged - remaining
    if overage <= 0:
        return
    billing.overage_cents = overage
    by_rate: dict[int | None, int] = defaultdict(int)
    rates: dict[int | None, TaxRate | None] = {}
    for line in billing.lines:
        key = line.tax_rate.pk if line.tax_rate else None
        by_rate[key] += line.amount_cents
        rates[key] = line.tax_rate
    # Largest remainder: each rate's share of the overage, in whole cents, summing to it exactly.
    positive = {k: v for k, v in by_rate.items() if v > 0}
    base = sum(positive.values())
    shares = {k: overage * v // base for k, v in positive.items()}
    left = overage - sum(shares.values())
    for k in sorted(positive, key=lambda k: (-(overage * positive[k] % base), str(k)))[:left]:
        shares[k] += 1
    job = billing.job
    for key, share in sorted(shares.items(), key=lambda kv: str(kv[0])):
        if share == 0:
            continue
        rate = rates[key]
        suffix = f" ({rate.name})" if rate is not None and len(shares) > 1 else ""
        billing.lines.append(
            Draft(
                kind="adjustment",
                description=f"Not-to-exceed limit {format_cents(job.not_to_exceed_cents)} — over by {format_cents(overage)}{suffix}",
                quantity=Decimal(1),
                unit_price_cents=-share,
                amount_cents=-share,
                tax_rate=rate,
                job_id=job.pk,
            )
        )
    billing.warnings.append(
        f"{job.number}: the work comes to {format_cents(charged)}, {format_cents(overage)} over its not-to-exceed limit; the overage is not billed."
    )


def manual_amount(quantity: Decimal, unit_price_cents: int) -> int:
    return line_total_cents(quantity, unit_price_cents)
