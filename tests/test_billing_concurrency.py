"""Billing raced for by many at once, against the real database (SQLite file with IMMEDIATE
transactions, or PostgreSQL with row locks), each worker on its own connection as separate requests
would be: invoice numbers stay gapless and unique when some issuing transactions roll back after
taking one; payments racing on one invoice never overpay; two people invoicing the same work make
one draft; and the accounting journal becomes visible in `seq` order, so an export's "since" cursor
never skips an entry."""

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from serviceopus.billing.actions import invoice_create, invoice_issue, payment_record
from serviceopus.billing.models import AccountingEntry, BillingSettings, Invoice, InvoiceLine, Payment, TaxRate
from serviceopus.billing.status import InvoiceStatus
from serviceopus.core.errors import DomainError
from serviceopus.jobs import search
from serviceopus.jobs.models import BillingType, Job, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, LineItemFactory, LocationFactory
from tests.test_concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 8
ISSUES = 100
ROLLBACK_EVERY = 7  # every 7th issue is rolled back by its caller after it took a number


class ForcedRollback(Exception):
    """Raised after a successful invoice_issue, so that its transaction — number and all — rolls back."""


def run_pool(workers: int, tasks: list[Callable[[], Any]]) -> list[Any]:
    """Run the tasks on `workers` threads (each with its own connection), all starting together;
    returns each task's result in task order. Any exception fails the test."""
    results: list[Any] = [None] * len(tasks)
    errors: list[BaseException] = []
    pending = iter(range(len(tasks)))
    take = threading.Lock()
    barrier = threading.Barrier(workers)

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            while True:
                with take:
                    i = next(pending, None)
                if i is None:
                    return
                results[i] = tasks[i]()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not errors, errors
    return results


def outcome(call: Callable[[], Any]) -> tuple[str, str]:
    """("ok", "") or ("refused", code) for a DomainError; anything else fails the test."""
    try:
        call()
    except DomainError as refused:
        return "refused", refused.code
    return "ok", ""


@pytest.fixture(autouse=True)
def _forget_search_documents():  # type: ignore[no-untyped-def]
    """The flush after a transactional test empties the tables but not SQLite's full-text index."""
    yield
    search.delete_documents(list(Job.objects.values_list("pk", flat=True)))


@pytest.fixture
def billing(db):  # type: ignore[no-untyped-def]
    """8.875 % sales tax as the default rate."""
    rate = TaxRate.objects.create(name="City sales tax", rate_milli_percent=8875)
    settings = BillingSettings.current()
    settings.default_tax_rate = rate
    settings.save()
    return rate


@pytest.fixture
def location(db):  # type: ignore[no-untyped-def]
    """One customer's address: every job below is that customer's."""
    return LocationFactory()


def completed_job(location, price_cents: int = 10000) -> Job:  # type: ignore[no-untyped-def]
    """A fixed-price job at work complete with one taxable service line."""
    job = JobFactory(status=JobStatus.WORK_COMPLETE, billing_type=BillingType.FIXED_PRICE, location=location)
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Repair", quantity=Decimal("1"), unit_price_cents=price_cents)
    return job


def issued_invoice(office, location, price_cents: int = 10000) -> Invoice:  # type: ignore[no-untyped-def]
    draft = invoice_create(actor=office, job_ids=[completed_job(location, price_cents).pk])
    return invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version)


def numbers(n: int) -> list[str]:
    return [f"INV-{k:06d}" for k in range(1, n + 1)]


def test_a_hundred_concurrent_issues_with_rollbacks_number_gaplessly(office, billing, location):
    drafts = [invoice_create(actor=office, job_ids=[completed_job(location).pk]) for _ in range(ISSUES)]

    def issue(i: int) -> Callable[[], tuple[str, str]]:
        def run() -> tuple[str, str]:
            try:
                with transaction.atomic():
                    invoice = invoice_issue(actor=office, invoice_id=drafts[i].pk, version=drafts[i].version)
                    if i % ROLLBACK_EVERY == ROLLBACK_EVERY - 1:
                        raise ForcedRollback(invoice.number)
            except ForcedRollback as rolled_back:
                return "rolled_back", str(rolled_back)
            return "issued", invoice.number or ""

        return run

    results = run_pool(WORKERS, [issue(i) for i in range(ISSUES)])
    rolled_back = [i for i in range(ISSUES) if i % ROLLBACK_EVERY == ROLLBACK_EVERY - 1]
    committed = ISSUES - len(rolled_back)
    assert Counter(kind for kind, _ in results) == {"issued": committed, "rolled_back": len(rolled_back)}
    assert [results[i][0] for i in rolled_back] == ["rolled_back"] * len(rolled_back)

    issued = list(Invoice.objects.exclude(status=InvoiceStatus.DRAFT).order_by("number"))
    # Exactly 1..N: no gap, no duplicate, and each caller was told the number its invoice kept.
    assert [inv.number for inv in issued] == numbers(committed)
    assert sorted(number for kind, number in results if kind == "issued") == numbers(committed)
    assert {inv.pk: inv.number for inv in issued} == {drafts[i].pk: results[i][1] for i in range(ISSUES) if i not in rolled_back}
    assert {inv.status for inv in issued} == {InvoiceStatus.ISSUED}
    # Numbers follow the order the issues committed in.
    assert [inv.issued_at for inv in issued] == sorted(inv.issued_at for inv in issued)
    # A rolled-back issue took a number that a later issue then took again (or the next one, had none come after).
    taken_back = [number for kind, number in results if kind == "rolled_back"]
    assert set(taken_back) <= set(numbers(committed + 1))
    assert set(taken_back) & set(numbers(committed)), "no rolled-back number was ever handed out again"

    for i in rolled_back:
        draft = Invoice.objects.get(pk=drafts[i].pk)
        assert (draft.status, draft.number, draft.issue_date, draft.issued_at, draft.version) == (InvoiceStatus.DRAFT, None, None, None, drafts[i].version)
        assert Job.objects.get(invoices=draft).status == JobStatus.WORK_COMPLETE
    assert Job.objects.filter(status=JobStatus.INVOICED).count() == committed

    entries = list(AccountingEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, committed + 1))
    assert {e.kind for e in entries} == {AccountingEntry.Kind.INVOICE_ISSUED}
    assert [e.data["number"] for e in entries] == numbers(committed)


def test_concurrent_payments_never_overpay(office, billing, location):
    invoice = issued_invoice(office, location)
    assert (invoice.number, invoice.total_cents) == ("INV-000001", 10888)  # 100.00 + 8.875 % = 8.875 → 8.88
    share = invoice.balance_cents * 30 // 100  # 30 % of the balance: three fit, a fourth does not
    assert share == 3266
    today = timezone.localdate()

    def pay(amount: int) -> Callable[[int], tuple[str, str]]:
        return lambda i: outcome(lambda: payment_record(actor=office, invoice_id=invoice.pk, amount_cents=amount, method="card", received_on=today))

    results = run_at_once(WORKERS, pay(share))
    assert Counter(results) == {("ok", ""): 3, ("refused", "overpayment"): WORKERS - 3}, Counter(results)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_cents, invoice.balance_cents, invoice.version) == (InvoiceStatus.PARTIALLY_PAID, 3 * share, 10888 - 3 * share, 6)
    assert list(Payment.objects.values_list("amount_cents", flat=True)) == [share] * 3
    # One journal entry per payment that went through, after the issue's, gapless.
    entries = list(AccountingEntry.objects.order_by("seq").values_list("seq", "kind", "payment_id"))
    assert [(seq, kind) for seq, kind, _ in entries] == [(1, "invoice_issued"), (2, "payment"), (3, "payment"), (4, "payment")]
    assert sorted(pid for _, _, pid in entries[1:]) == sorted(Payment.objects.values_list("pk", flat=True))

    # Everyone pays the rest at once: it is taken once, the invoice is paid and its job closes.
    rest = invoice.balance_cents
    assert rest == 1090
    results = run_at_once(WORKERS, pay(rest))
    assert Counter(results) == {("ok", ""): 1, ("refused", "not_payable"): WORKERS - 1}, Counter(results)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_cents, invoice.balance_cents) == (InvoiceStatus.PAID, 10888, 0)
    assert Payment.objects.count() == 4
    assert list(AccountingEntry.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    job = Job.objects.get(invoices=invoice)
    assert job.status == JobStatus.CLOSED
    assert JobEvent.objects.filter(job=job, new_value=JobStatus.CLOSED).count() == 1


def test_an_overpayment_refused_under_contention_changes_nothing(office, billing, location):
    invoice = issued_invoice(office, location)
    today = timezone.localdate()
    # Either one payment of all but a cent goes through (and nothing after it fits), or the small ones do.
    amounts = [invoice.total_cents - 1, 2] * (WORKERS // 2)

    results = run_at_once(
        WORKERS, lambda i: outcome(lambda: payment_record(actor=office, invoice_id=invoice.pk, amount_cents=amounts[i], method="cash", received_on=today))
    )
    invoice.refresh_from_db()
    ok = [amounts[i] for i, result in enumerate(results) if result == ("ok", "")]
    assert {code for kind, code in results if kind == "refused"} == {"overpayment"}
    assert invoice.paid_cents == sum(ok) <= invoice.total_cents
    assert sorted(Payment.objects.values_list("amount_cents", flat=True)) == sorted(ok)
    assert invoice.status == (InvoiceStatus.PAID if sum(ok) == invoice.total_cents else InvoiceStatus.PARTIALLY_PAID)
    assert AccountingEntry.objects.filter(kind="payment").count() == len(ok)
    assert list(AccountingEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, len(ok) + 2))


def test_of_many_invoicing_one_job_at_once_one_gets_a_draft(office, billing, location):
    job = completed_job(location)
    results = run_at_once(WORKERS, lambda i: outcome(lambda: invoice_create(actor=office, job_ids=[job.pk])))
    ok = Counter(results)[("ok", "")]
    assert ok == 1, Counter(results)
    assert {code for kind, code in results if kind == "refused"} <= {"nothing_to_invoice", "already_invoiced"}
    [draft] = Invoice.objects.all()
    assert (draft.status, draft.number, draft.total_cents) == (InvoiceStatus.DRAFT, None, 10888)
    assert InvoiceLine.objects.filter(live=True, line_item__job=job).count() == 1
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.BILLING).count() == 1


def test_invoices_over_overlapping_jobs_at_once_bill_each_source_once(office, billing, location):
    """Jobs locked in id order: no deadlock, and every source lands on exactly one draft."""
    a, b, c = (completed_job(location, price) for price in (10000, 20000, 30000))
    sets = [[a.pk, b.pk], [b.pk, a.pk], [b.pk, c.pk], [c.pk], [c.pk, a.pk], [a.pk, b.pk, c.pk]]
    results = run_at_once(len(sets), lambda i: outcome(lambda: invoice_create(actor=office, job_ids=sets[i])))
    assert {code for kind, code in results if kind == "refused"} <= {"nothing_to_invoice", "already_invoiced"}, results
    assert Counter(results)[("ok", "")] == Invoice.objects.count() >= 1
    sources = list(InvoiceLine.objects.filter(live=True).values_list("line_item_id", flat=True))
    assert sorted(sources) == sorted(LineItem.objects.values_list("pk", flat=True))
    assert sum(Invoice.objects.values_list("subtotal_cents", flat=True)) == 60000


def test_the_journal_becomes_visible_in_seq_order_under_issues_and_payments(office, billing, location):
    """A reader following the journal with a "since" cursor, while invoices are issued and paid at
    once, always sees a gapless prefix: no entry ever appears after one with a higher seq."""
    paying = [issued_invoice(office, location, 10000 + 100 * k) for k in range(15)]
    drafts = [invoice_create(actor=office, job_ids=[completed_job(location, 5000 + 100 * k).pk]) for k in range(15)]
    before = AccountingEntry.objects.count()
    assert before == 15
    today = timezone.localdate()

    tasks: list[Callable[[], Any]] = []
    for draft, invoice in zip(drafts, paying, strict=True):
        first = invoice.total_cents // 2
        tasks.append(lambda d=draft: invoice_issue(actor=office, invoice_id=d.pk, version=d.version))
        for amount in (first, invoice.total_cents - first):
            tasks.append(
                lambda inv=invoice, amount=amount: payment_record(actor=office, invoice_id=inv.pk, amount_cents=amount, method="check", received_on=today)
            )

    seen: list[int] = []
    problems: list[str] = []
    done = threading.Event()

    def follow() -> None:
        cursor = 0
        try:
            while True:
                finished = done.is_set()  # read once more after the writers are done
                batch = list(AccountingEntry.objects.filter(seq__gt=cursor).order_by("seq").values_list("seq", flat=True))
                if batch != list(range(cursor + 1, cursor + 1 + len(batch))):
                    problems.append(f"after {cursor} the reader saw {batch[:10]}")
                seen.extend(batch)
                cursor = max([cursor, *batch])
                if finished:
                    return
        finally:
            connection.close()

    reader = threading.Thread(target=follow)
    reader.start()
    try:
        run_pool(WORKERS, tasks)
    finally:
        done.set()
        reader.join(timeout=60)
    assert not reader.is_alive()
    assert not problems, problems

    total = before + len(tasks)
    assert seen == list(range(1, total + 1))
    entries = list(AccountingEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, total + 1))
    assert Counter(e.kind for e in entries) == {"invoice_issued": 30, "payment": 30}
    # The invoice numbers were taken in the journal's order too.
    issued = [e.data["number"] for e in entries if e.kind == "invoice_issued"]
    assert issued == numbers(30)
    assert set(Invoice.objects.filter(pk__in=[inv.pk for inv in paying]).values_list("status", "paid_cents", "total_cents")) == {
        (InvoiceStatus.PAID, inv.total_cents, inv.total_cents) for inv in paying
    }
    assert set(Invoice.objects.filter(pk__in=[d.pk for d in drafts]).values_list("status", flat=True)) == {InvoiceStatus.ISSUED}
    assert Job.objects.filter(status=JobStatus.CLOSED).count() == 15
    assert Job.objects.filter(status=JobStatus.INVOICED).count() == 15
