"""Billing arithmetic holds for any amounts, not only the examples the other tests pick.

- Rounding (pricing's docstring): half away from zero, so a credit mirrors its charge to the cent.
- A not-to-exceed job's invoices bill exactly up to its limit, the overage split over the tax rates.
- A full credit note of an invoice, in one note or in parts, leaves exactly the payments to refund
  (nothing owed either way once they are).
- Ten thousand generated invoices total the same in Python and in the database, and the digest of
  their totals is a constant written here: the same constant on SQLite and PostgreSQL.

The database examples run inside a transaction rolled back afterwards, so each starts from the same
world without rebuilding it."""

import hashlib
import random
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from serviceopus.accounts.models import User
from serviceopus.billing.actions import credit_note_create, invoice_create, invoice_issue, invoice_line_add, payment_record, refund_record
from serviceopus.billing.models import AccountingEntry, Invoice, InvoiceLine, TaxRate
from serviceopus.billing.pricing import Draft, JobBilling, _cap, labour_amount, line_tax, round_half_up, totals
from serviceopus.billing.status import InvoiceStatus
from serviceopus.core.money import line_total_cents
from serviceopus.customers.models import Location
from serviceopus.jobs.models import BillingType, Job, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, LineItemFactory, LocationFactory

from .conftest import approved_time

DB_EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FAST = settings(max_examples=400, deadline=None)

RATES_MILLI = [8875, 8250, 6000, 10250]  # 8.875 %, 8.25 %, 6 %, 10.25 %
MAX_CENTS = 10**11


def sign(n: int) -> int:
    return -1 if n < 0 else 1


# ---- rounding ------------------------------------------------------------------------------------


@FAST
@given(amount=st.integers(-MAX_CENTS, MAX_CENTS), rate=st.integers(0, 100_000))
def test_line_tax_is_half_away_from_zero_and_a_credit_mirrors_its_charge(amount, rate):
    # amount × rate / 100 000, rounded half away from zero, in integers only.
    exact = (2 * abs(amount) * rate + 100_000) // 200_000
    assert line_tax(amount, rate) == sign(amount) * exact
    assert line_tax(-amount, rate) == -line_tax(amount, rate)


@FAST
@given(value=st.decimals(min_value=-(10**12), max_value=10**12, places=6, allow_nan=False, allow_infinity=False))
def test_round_half_up_is_symmetric_and_exact(value):
    magnitude = Fraction(abs(value))
    assert round_half_up(value) == sign(value) * int(magnitude + Fraction(1, 2))
    assert round_half_up(-value) == -round_half_up(value)


@FAST
@given(quantity_milli=st.integers(-(10**12) + 1, 10**12 - 1), unit_cents=st.integers(-(10**9), 10**9))
def test_a_line_amount_is_rounded_once_half_away_from_zero(quantity_milli, unit_cents):
    quantity = Decimal(quantity_milli) / 1000
    product = quantity_milli * unit_cents
    assert line_total_cents(quantity, unit_cents) == sign(product) * ((2 * abs(product) + 1000) // 2000)
    assert line_total_cents(-quantity, unit_cents) == -line_total_cents(quantity, unit_cents)


@FAST
@given(minutes=st.integers(0, 60 * 24 * 14), hourly=st.integers(0, 10_000_00))
def test_labour_is_minutes_times_the_rate_rounded_once(minutes, hourly):
    assert labour_amount(minutes, hourly) == (2 * minutes * hourly + 60) // 120


@FAST
@given(lines=st.lists(st.tuples(st.integers(-MAX_CENTS, MAX_CENTS), st.sampled_from([0, *RATES_MILLI])), max_size=30))
def test_totals_are_sums_of_the_rounded_lines(lines):
    rows = [SimpleNamespace(amount_cents=amount, tax_cents=line_tax(amount, rate)) for amount, rate in lines]
    credits = [SimpleNamespace(amount_cents=-row.amount_cents, tax_cents=line_tax(-amount, rate)) for row, (amount, rate) in zip(rows, lines, strict=True)]
    subtotal, tax, total = totals(rows)
    assert (subtotal, tax, total) == (sum(a for a, _ in lines), sum(row.tax_cents for row in rows), subtotal + tax)
    # A credit of every line, each at its own rate, is exactly the negative of the charge.
    assert totals(credits) == (-subtotal, -tax, -total)


# ---- not-to-exceed ---------------------------------------------------------------------------------

CAP_RATES = [TaxRate(pk=k + 1, name=f"Rate {k + 1}", rate_milli_percent=r) for k, r in enumerate(RATES_MILLI)]
draft_line = st.tuples(st.integers(-20_000, 500_000), st.none() | st.integers(0, len(CAP_RATES) - 1))


@FAST
@given(lines=st.lists(draft_line, min_size=1, max_size=12), remaining=st.integers(-50_000, 3_000_000))
def test_the_cap_makes_the_subtotal_exactly_the_limit_whatever_the_rates(lines, remaining):
    job = Job(pk=1, number="J-000001", not_to_exceed_cents=max(remaining, 0))
    drafts = [
        Draft(
            kind="service",
            description="Work",
            quantity=Decimal(1),
            unit_price_cents=amount,
            amount_cents=amount,
            tax_rate=None if k is None else CAP_RATES[k],
            job_id=1,
        )
        for amount, k in lines
    ]
    billing = JobBilling(job=job, lines=list(drafts))
    charged = sum(amount for amount, _ in lines)
    _cap(billing, remaining)
    cap = max(remaining, 0)
    adjustments = billing.lines[len(drafts) :]
    assert billing.cap_cents == cap
    assert all(line.kind == "adjustment" for line in adjustments)
    subtotal = sum(line.amount_cents for line in billing.lines)
    if charged <= cap:
        assert (adjustments, billing.overage_cents, subtotal, billing.warnings) == ([], 0, charged, [])
        return
    overage = charged - cap
    assert subtotal == cap
    assert billing.overage_cents == overage == -sum(line.amount_cents for line in adjustments)
    # One adjustment per rate, each a share of the overage in proportion to what that rate charged
    # (to the cent), never more than the rate charged: no rate's net goes negative.
    net: dict[int | None, int] = {}
    for line in drafts:
        key = line.tax_rate.pk if line.tax_rate else None
        net[key] = net.get(key, 0) + line.amount_cents
    positive = {k: v for k, v in net.items() if v > 0}
    base = sum(positive.values())
    keys = [line.tax_rate.pk if line.tax_rate else None for line in adjustments]
    assert len(keys) == len(set(keys))
    for line, key in zip(adjustments, keys, strict=True):
        share = -line.amount_cents
        assert 0 < share <= positive[key]
        assert abs(Fraction(share) - Fraction(overage * positive[key], base)) < 1
        assert line.tax_cents == line_tax(line.amount_cents, line.tax_rate_milli_percent)
    assert len(billing.warnings) == 1


@dataclass
class World:
    office: User
    location: Location
    rates: list[TaxRate]


@pytest.fixture
def world(office, tax, rates) -> World:  # type: ignore[no-untyped-def]
    """The billing conftest's 8.25 % default rate and labour rates, and a few more rates for manual lines."""
    others = [TaxRate.objects.create(name=f"Rate {r}", rate_milli_percent=r) for r in RATES_MILLI if r != tax.rate_milli_percent]
    return World(office=office, location=LocationFactory(), rates=[tax, *others])


job_line = st.tuples(
    st.sampled_from([LineItem.Kind.SERVICE, LineItem.Kind.LABOUR, LineItem.Kind.MATERIAL, LineItem.Kind.FEE]),
    st.integers(1, 20_000),  # quantity in thousandths
    st.integers(0, 150_000),  # unit price in cents
    st.booleans(),  # taxable
)


def add_lines(job: Job, lines: list[tuple[str, int, int, bool]]) -> int:
    """The job's lines; returns what they charge."""
    for position, (kind, milli, price, taxable) in enumerate(lines, start=job.line_items.count() + 1):
        LineItemFactory(job=job, kind=kind, description=f"{kind} {position}", quantity=Decimal(milli) / 1000, unit_price_cents=price, taxable=taxable)
    return sum(line_total_cents(Decimal(milli) / 1000, price) for _, milli, price, _ in lines)


def check_lines(invoice: Invoice) -> list[InvoiceLine]:
    lines = list(invoice.lines.all())
    for line in lines:
        assert line.tax_cents == line_tax(line.amount_cents, line.tax_rate_milli_percent)
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == totals(lines)
    return lines


@DB_EXAMPLES
@given(
    lines=st.lists(job_line, min_size=1, max_size=6),
    minutes=st.integers(0, 600),
    nte=st.integers(0, 400_000),
    more=st.lists(job_line, max_size=4),
)
def test_not_to_exceed_invoices_bill_exactly_up_to_the_limit(world, tech_a, lines, minutes, nte, more):
    with transaction.atomic():
        job = JobFactory(status=JobStatus.IN_PROGRESS, billing_type=BillingType.NOT_TO_EXCEED, not_to_exceed_cents=nte, location=world.location)
        charged = add_lines(job, lines)
        if minutes:
            approved_time(job, tech_a, minutes)
            charged += labour_amount(minutes, 12000)
        first = invoice_create(actor=world.office, job_ids=[job.pk])
        first_lines = check_lines(first)
        assert first.subtotal_cents == min(charged, nte)
        assert -sum(line.amount_cents for line in first_lines if line.kind == "adjustment") == max(charged - nte, 0)
        if more:
            # Work added later is capped by what the first invoice left of the limit.
            charged += add_lines(job, more)
            second = invoice_create(actor=world.office, job_ids=[job.pk])
            check_lines(second)
            assert first.subtotal_cents + second.subtotal_cents == min(charged, nte)
        transaction.set_rollback(True)


# ---- credit notes ----------------------------------------------------------------------------------

fee_line = st.tuples(st.integers(1, 5_000), st.integers(1, 90_000), st.integers(0, len(RATES_MILLI) - 1))


@DB_EXAMPLES
@given(lines=st.lists(job_line, min_size=1, max_size=6), fees=st.lists(fee_line, max_size=3), paid_percent=st.integers(0, 100))
def test_a_full_credit_note_zeroes_the_balance_exactly(world, lines, fees, paid_percent):
    office = world.office
    with transaction.atomic():
        job = JobFactory(status=JobStatus.WORK_COMPLETE, billing_type=BillingType.FIXED_PRICE, location=world.location)
        add_lines(job, lines)
        invoice = invoice_create(actor=office, job_ids=[job.pk])
        for milli, price, k in fees:
            invoice_line_add(
                actor=office,
                invoice_id=invoice.pk,
                version=invoice.version,
                kind="fee",
                description="Fee",
                quantity=Decimal(milli) / 1000,
                unit_price_cents=price,
                tax_rate_id=world.rates[k].pk,
            )
            invoice.refresh_from_db()
        invoice = invoice_issue(actor=office, invoice_id=invoice.pk, version=invoice.version)
        assume(invoice.total_cents > 0)
        today = timezone.localdate()
        paid = invoice.total_cents * paid_percent // 100
        if paid:
            payment_record(actor=office, invoice_id=invoice.pk, amount_cents=paid, method="card", received_on=today)
            invoice.refresh_from_db()
        charged = check_lines(invoice)

        note = credit_note_create(
            actor=office, invoice_id=invoice.pk, version=invoice.version, amounts={line.pk: line.amount_cents for line in charged}, reason="Cancelled"
        )
        invoice.refresh_from_db()
        assert (note.subtotal_cents, note.tax_cents, note.total_cents) == (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents)
        assert -sum(note.lines.values_list("tax_cents", flat=True)) == invoice.tax_cents
        assert (invoice.credited_cents, invoice.balance_cents, invoice.status) == (invoice.total_cents, -paid, InvoiceStatus.PAID)
        assert AccountingEntry.objects.get(invoice=note).data["total_cents"] == invoice.total_cents
        if paid:
            # Paying back what the customer paid leaves nothing owed either way.
            refund_record(actor=office, invoice_id=invoice.pk, amount_cents=paid, method="card", received_on=today, note="Cancelled")
            invoice.refresh_from_db()
            assert (invoice.paid_cents, invoice.balance_cents, invoice.status) == (0, 0, InvoiceStatus.PAID)
        transaction.set_rollback(True)


def issued_with(world: World, lines: list[tuple[str, int, int]]) -> Invoice:
    """An issued invoice of manual lines (kind, cents, rate in thousandths of a percent) on a fixed-price job with nothing else."""
    job = JobFactory(status=JobStatus.IN_PROGRESS, billing_type=BillingType.FIXED_PRICE, location=world.location)
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Visit", quantity=Decimal(1), unit_price_cents=0, taxable=False)
    invoice = invoice_create(actor=world.office, job_ids=[job.pk])
    by_milli = {rate.rate_milli_percent: rate for rate in world.rates}
    for kind, cents, milli in lines:
        invoice = Invoice.objects.get(pk=invoice.pk)
        invoice_line_add(
            actor=world.office,
            invoice_id=invoice.pk,
            version=invoice.version,
            kind=kind,
            description=kind,
            quantity=Decimal(1),
            unit_price_cents=cents,
            tax_rate_id=by_milli[milli].pk,
        )
    invoice = Invoice.objects.get(pk=invoice.pk)
    return invoice_issue(actor=world.office, invoice_id=invoice.pk, version=invoice.version)


part_line = st.tuples(st.integers(2, 200_000), st.sampled_from(RATES_MILLI), st.lists(st.integers(1, 99), max_size=3))


@DB_EXAMPLES
@example(lines=[(100, 8875, [50])])  # 1.00 at 8.875 % is taxed 0.09; each half alone would be taxed 0.04
@given(lines=st.lists(part_line, min_size=1, max_size=4))
def test_lines_credited_in_parts_leave_nothing_owing(world, lines):
    """Each line is credited in up to four parts, over as many credit notes (cut at the given percents)."""
    with transaction.atomic():
        invoice = issued_with(world, [("service", cents, milli) for cents, milli, _ in lines])
        charged = list(invoice.lines.exclude(amount_cents=0).order_by("position"))
        parts = []
        for line, (_, _, cuts) in zip(charged, lines, strict=True):
            cents = line.amount_cents
            marks = sorted({cents * cut // 100 for cut in cuts} - {0, cents})
            parts.append([b - a for a, b in zip([0, *marks], [*marks, cents], strict=True)])
        for k in range(max(len(p) for p in parts)):
            invoice.refresh_from_db()
            amounts = {line.pk: p[k] for line, p in zip(charged, parts, strict=True) if k < len(p)}
            credit_note_create(actor=world.office, invoice_id=invoice.pk, version=invoice.version, amounts=amounts, reason=f"Part {k + 1}")
        invoice.refresh_from_db()
        assert (invoice.credited_cents, invoice.balance_cents, invoice.status) == (invoice.total_cents, 0, InvoiceStatus.PAID)
        for line in charged:
            credited = InvoiceLine.objects.filter(credits_line=line).aggregate(amount=Sum("amount_cents"), tax=Sum("tax_cents"))
            assert (credited["amount"], credited["tax"]) == (-line.amount_cents, -line.tax_cents)
        transaction.set_rollback(True)


def test_a_discounted_invoice_credited_line_by_line_leaves_nothing_owing(world):
    invoice = issued_with(world, [("service", 10000, 8875), ("discount", 1000, 8875)])
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == (9000, 888 - 89, 9799)
    lines = {line.pk: line.amount_cents for line in invoice.lines.exclude(amount_cents=0)}
    credit_note_create(actor=world.office, invoice_id=invoice.pk, version=invoice.version, amounts=lines, reason="Cancelled")
    invoice.refresh_from_db()
    assert (invoice.credited_cents, invoice.balance_cents) == (9799, 0)


# ---- ten thousand invoices -------------------------------------------------------------------------

GENERATED = 10_000
SEED = 20_260_601
# sha256 of the sorted "memo subtotal tax total" rows: the same on SQLite and PostgreSQL.
DIGEST = "53d73fe05344388d80c4d00810e01a3b97378012f70184f99becd05ab48e1a3b"


def generate(rng: random.Random, rates: dict[int, TaxRate], customer_id: int) -> tuple[list[Invoice], list[list[InvoiceLine]]]:
    """Invoices with 1–6 random lines: quantities to the thousandth, prices, discounts, a few tax rates
    (or none), amounts and tax worked out by the pricing functions."""
    invoices, lines = [], []
    choices = [None, *sorted(rates)]
    for i in range(GENERATED):
        rows = []
        for position in range(1, rng.randint(1, 6) + 1):
            kind = rng.choice(["service", "labour", "material", "material", "fee", "discount"])
            quantity = Decimal(rng.randint(1, 500_000)) / 1000
            price = rng.randint(0, 250_000)
            if kind == "discount":
                quantity, price = Decimal(rng.randint(1, 3)), -rng.randint(1, 20_000)
            milli = rng.choice(choices)
            amount = line_total_cents(quantity, price)
            rows.append(
                InvoiceLine(
                    position=position,
                    kind=kind,
                    description=f"{kind} {position}",
                    quantity=quantity,
                    unit_price_cents=price,
                    amount_cents=amount,
                    tax_rate=rates.get(milli) if milli is not None else None,
                    tax_rate_milli_percent=milli or 0,
                    tax_cents=line_tax(amount, milli or 0),
                )
            )
        subtotal, tax, total = totals(rows)
        invoices.append(Invoice(customer_id=customer_id, memo=f"gen-{i:05d}", subtotal_cents=subtotal, tax_cents=tax, total_cents=total))
        lines.append(rows)
    return invoices, lines


def test_ten_thousand_generated_invoices_total_the_same_in_python_and_in_the_database(world):
    rates = {rate.rate_milli_percent: rate for rate in world.rates}
    assert sorted(rates) == sorted(RATES_MILLI)
    invoices, lines = generate(random.Random(SEED), rates, world.location.customer_id)
    Invoice.objects.bulk_create(invoices, batch_size=2000)
    for invoice, rows in zip(invoices, lines, strict=True):
        for row in rows:
            row.invoice = invoice
    InvoiceLine.objects.bulk_create([row for rows in lines for row in rows], batch_size=5000)

    expected = {inv.memo: (inv.subtotal_cents, inv.tax_cents, inv.total_cents) for inv in invoices}
    n_lines = sum(len(rows) for rows in lines)
    summed = (
        InvoiceLine.objects.filter(invoice__memo__startswith="gen-")
        .values("invoice__memo")
        .annotate(n=Count("id"), subtotal=Sum("amount_cents"), tax=Sum("tax_cents"), total=Sum(F("amount_cents") + F("tax_cents")))
        .order_by()
    )
    in_db = {row["invoice__memo"]: (row["subtotal"], row["tax"], row["total"]) for row in summed}
    assert in_db == expected
    stored = {
        memo: (s, t, tot)
        for memo, s, t, tot in Invoice.objects.filter(memo__startswith="gen-").values_list("memo", "subtotal_cents", "tax_cents", "total_cents")
    }
    assert stored == expected
    overall = InvoiceLine.objects.filter(invoice__memo__startswith="gen-").aggregate(n=Count("id"), subtotal=Sum("amount_cents"), tax=Sum("tax_cents"))
    assert overall == {
        "n": n_lines,
        "subtotal": sum(v[0] for v in expected.values()),
        "tax": sum(v[1] for v in expected.values()),
    }
    assert Invoice.objects.filter(memo__startswith="gen-").aggregate(total=Sum("total_cents"))["total"] == sum(v[2] for v in expected.values())

    # What the database gives back re-prices to what was stored: quantities keep their three decimals.
    for quantity, price, amount, milli, tax in InvoiceLine.objects.filter(invoice__memo__startswith="gen-").values_list(
        "quantity", "unit_price_cents", "amount_cents", "tax_rate_milli_percent", "tax_cents"
    ):
        assert (line_total_cents(quantity, price), line_tax(amount, milli)) == (amount, tax)

    digest = hashlib.sha256("\n".join(f"{memo} {s} {t} {tot}" for memo, (s, t, tot) in sorted(in_db.items())).encode()).hexdigest()
    assert digest == DIGEST
