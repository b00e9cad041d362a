"""The time-based scan: one event per rule, subject and occasion however often it runs (and when two run
at once), a new occasion counts again, the thresholds and statuses that keep a subject out, and a
fixed number of queries per rule whatever the number of subjects."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from serviceopus.automation.models import AutomationEvent, EventType
from serviceopus.automation.rules import scan
from serviceopus.billing.models import Invoice
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, VisitFactory
from tests.test_concurrency import run_at_once

from .rule_support import issued_invoice, make_rule, world

NOON = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))
ALERT = [{"kind": "raise_alert", "title": "Look", "to_role": "admin"}]


def rule_for(owner, trigger, params):  # type: ignore[no-untyped-def]
    return make_rule(owner, trigger=trigger, params=params, actions=ALERT)


def keys() -> list[str]:
    return sorted(AutomationEvent.objects.filter(dedupe_key__isnull=False).values_list("dedupe_key", flat=True))


def paused(minutes_ago: int, **kwargs) -> Visit:  # type: ignore[no-untyped-def]
    return VisitFactory(status=VisitStatus.PAUSED, pause_reason="Parts", paused_at=NOON - timedelta(minutes=minutes_ago), **kwargs)


def overdue_job(hours_ago: float, status: str = JobStatus.IN_PROGRESS):  # type: ignore[no-untyped-def]
    """A job whose one visit (60 minutes) ended `hours_ago` before noon."""
    job = JobFactory(status=status)
    VisitFactory(job=job, number=1, scheduled_start=NOON - timedelta(hours=hours_ago, minutes=60), status=VisitStatus.DEPARTED)
    return job


@pytest.mark.django_db
def test_scanning_again_emits_nothing_new(owner):
    rule = rule_for(owner, EventType.VISIT_PAUSED_LONG, {"minutes": 30})
    visit = paused(40)
    assert scan.scan(now=NOON) == 1
    assert scan.scan(now=NOON + timedelta(minutes=5)) == 0
    event = AutomationEvent.objects.get()
    assert (event.type, event.rule_id, event.job_id, event.visit_id, event.actor_id, event.rule_chain) == (
        EventType.VISIT_PAUSED_LONG,
        rule.pk,
        visit.job_id,
        visit.pk,
        None,
        [],
    )
    assert event.dedupe_key == f"r{rule.pk}:visit:{visit.pk}:{scan.moment(visit.paused_at)}"
    assert event.data["visit"] == {"id": visit.pk, "number": visit.number, "status": "paused"}


@pytest.mark.django_db
def test_a_new_pause_is_a_new_occasion(owner):
    rule_for(owner, EventType.VISIT_PAUSED_LONG, {"minutes": 30})
    visit = paused(40)
    scan.scan(now=NOON)
    Visit.objects.filter(pk=visit.pk).update(paused_at=NOON + timedelta(minutes=10))
    assert scan.scan(now=NOON + timedelta(minutes=20)) == 0  # paused again 10 minutes ago: not long yet
    assert scan.scan(now=NOON + timedelta(minutes=45)) == 1
    assert AutomationEvent.objects.count() == 2


@pytest.mark.django_db
def test_each_rule_gets_its_own_event_for_the_same_subject(owner):
    a = rule_for(owner, EventType.VISIT_PAUSED_LONG, {"minutes": 30})
    b = rule_for(owner, EventType.VISIT_PAUSED_LONG, {"minutes": 10})
    rule_for(owner, EventType.VISIT_PAUSED_LONG, {"minutes": 60})
    make_rule(owner, trigger=EventType.VISIT_PAUSED_LONG, params={"minutes": 5}, actions=ALERT, enabled=False)
    paused(40)
    assert scan.scan(now=NOON) == 2
    assert sorted(AutomationEvent.objects.values_list("rule_id", flat=True)) == [a.pk, b.pk]


@pytest.mark.django_db
def test_late_visits_are_read_from_today_with_the_boards_rules(owner):
    late = rule_for(owner, EventType.VISIT_LATE, {"which": "late"})
    at_risk = rule_for(owner, EventType.VISIT_LATE, {"which": "at_risk"})
    behind = VisitFactory(scheduled_start=NOON - timedelta(hours=2), window_end=NOON - timedelta(minutes=10))
    VisitFactory(
        scheduled_start=NOON - timedelta(hours=2), window_end=NOON - timedelta(minutes=10), status=VisitStatus.ARRIVED, arrived_at=NOON - timedelta(hours=1)
    )
    VisitFactory(scheduled_start=NOON - timedelta(days=1), window_end=NOON - timedelta(days=1) + timedelta(hours=1))  # yesterday's
    VisitFactory(scheduled_start=NOON - timedelta(hours=2), window_end=NOON - timedelta(minutes=10), status=VisitStatus.CANCELLED)
    risky = VisitFactory(scheduled_start=NOON - timedelta(hours=1), window_end=NOON + timedelta(minutes=29))
    VisitFactory(scheduled_start=NOON - timedelta(hours=1), window_end=NOON + timedelta(minutes=31))  # not yet at risk
    VisitFactory(scheduled_start=NOON - timedelta(hours=1), window_end=NOON + timedelta(minutes=20), status=VisitStatus.EN_ROUTE)  # on its way
    assert scan.scan(now=NOON) == 2
    assert keys() == sorted(
        [
            f"r{late.pk}:visit:{behind.pk}:late:{scan.moment(behind.window_end)}",
            f"r{at_risk.pk}:visit:{risky.pk}:at_risk:{scan.moment(risky.window_end)}",
        ]
    )


@pytest.mark.django_db
def test_overdue_counts_from_the_last_visits_end_and_only_open_jobs(owner):
    rule = rule_for(owner, EventType.JOB_OVERDUE, {"hours": 4})
    due = overdue_job(5)
    VisitFactory(job=due, number=2, scheduled_start=NOON - timedelta(hours=3), status=VisitStatus.CANCELLED)  # cancelled: not its last visit
    overdue_job(3)  # ended 3 hours ago: not yet
    overdue_job(5, status=JobStatus.WORK_COMPLETE)
    overdue_job(5, status=JobStatus.ON_HOLD)
    later = overdue_job(6)
    # A second visit ending an hour ago: the job's work goes on.
    VisitFactory(job=later, number=2, scheduled_start=NOON - timedelta(hours=2), duration_minutes=60)
    # A long visit: started 6 hours ago, 3 hours long, so it ended 3 hours ago.
    long = JobFactory(status=JobStatus.SCHEDULED)
    VisitFactory(job=long, number=1, scheduled_start=NOON - timedelta(hours=6), duration_minutes=180)
    assert scan.scan(now=NOON) == 1
    end = NOON - timedelta(hours=5)
    assert keys() == [f"r{rule.pk}:job:{due.pk}:{scan.moment(end)}"]


@pytest.mark.django_db
def test_unpaid_invoices_with_a_balance_only(owner, office):
    rule = rule_for(owner, EventType.INVOICE_UNPAID, {"days": 30})
    unpaid = issued_invoice(office)
    paid = issued_invoice(office)
    recent = issued_invoice(office)
    old = timezone.localdate() - timedelta(days=31)
    Invoice.objects.filter(pk__in=[unpaid.pk, paid.pk]).update(issue_date=old)
    Invoice.objects.filter(pk=paid.pk).update(paid_cents=8900, status="paid")
    assert recent.issue_date == timezone.localdate()
    assert scan.scan() == 1
    event = AutomationEvent.objects.get(type=EventType.INVOICE_UNPAID)
    assert (event.dedupe_key, event.invoice_id, event.job_id) == (f"r{rule.pk}:invoice:{unpaid.pk}:{old.isoformat()}", unpaid.pk, unpaid.jobs.get().pk)
    assert event.data["invoice"]["balance_cents"] == 8900


def _scan_queries() -> int:
    with CaptureQueriesContext(connection) as ctx:
        scan.scan(now=NOON)
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_queries_per_rule_do_not_grow_with_the_subjects(owner, office):
    rule_for(owner, EventType.VISIT_PAUSED_LONG, {"minutes": 30})
    rule_for(owner, EventType.JOB_OVERDUE, {"hours": 4})
    rule_for(owner, EventType.VISIT_LATE, {"which": "late"})
    rule_for(owner, EventType.INVOICE_UNPAID, {"days": 30})

    def add_subjects(n: int) -> None:
        for _ in range(n):
            paused(40)
            overdue_job(5)
            VisitFactory(scheduled_start=NOON - timedelta(hours=2), window_end=NOON - timedelta(minutes=10))
            invoice = issued_invoice(office)
            Invoice.objects.filter(pk=invoice.pk).update(issue_date=timezone.localdate() - timedelta(days=40))

    add_subjects(1)
    assert scan.scan(now=NOON) == 4
    few = _scan_queries()
    add_subjects(4)
    assert scan.scan(now=NOON) == 16
    assert _scan_queries() == few
    # The rules' list, then per rule its finder and the lookup of keys already written.
    assert few <= 1 + 4 * 4


@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_emit_each_occasion_once(owner):
    world()
    rule_for(owner, EventType.VISIT_PAUSED_LONG, {"minutes": 30})
    rule_for(owner, EventType.JOB_OVERDUE, {"hours": 4})
    for _ in range(3):
        paused(40)
        overdue_job(5)
    results = run_at_once(4, lambda i: scan.scan(now=NOON))
    assert sum(results) == 6
    assert AutomationEvent.objects.filter(rule__isnull=False).count() == 6
    assert len(set(keys())) == 6
