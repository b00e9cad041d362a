"""The periodic scan for time-based triggers: for each enabled rule with one, find the subjects past
its threshold now and write one event per rule, subject and occasion, for the engine to run that rule on.

An occasion is what makes the same subject count again: a visit paused at 10:00 and again at 14:00 is
two occasions (the key holds the pause's start), a job whose last visit moved is a new one (the key
holds the visit's end). The event's unique `dedupe_key` makes the scan idempotent: keys already written
are skipped with one query, and each new event is inserted in its own savepoint whose IntegrityError —
another scan (another worker, another machine) wrote the same key a moment before — is ignored. So
running the scan again, or two at once, emits nothing twice.

Each trigger's finder costs a fixed number of queries per rule, whatever the number of subjects; then
one insert per new event.

- visit.late (which = at_risk | late): today's visits flagged by the dispatch board's own rules
  (dispatch/exceptions.py with DispatchSettings' thresholds), so the rule fires on what the board shows.
- job.overdue (hours): a job still new, scheduled or in progress `hours` after its last visit's
  scheduled end (cancelled and unscheduled visits aside).
- visit.paused_long (minutes): a visit paused for more than `minutes` (since `paused_at`, as the board
  counts it).
- invoice.unpaid (days): an issued invoice with a balance left `days` after its issue date.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from serviceopus.billing.models import Invoice
from serviceopus.billing.status import OPEN_FOR_PAYMENT
from serviceopus.dispatch.exceptions import CrewFacts, exceptions_for
from serviceopus.dispatch.models import DispatchSettings, Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus

from .. import events
from ..models import AutomationEvent, EventType, WorkflowRule
from ..models.events import TIME_BASED

V = VisitStatus
OVERDUE_STATUSES = (JobStatus.NEW, JobStatus.SCHEDULED, JobStatus.IN_PROGRESS)
# The lateness rules read no crew: an empty crew fact keeps exceptions_for from querying one per visit.
NO_CREW = CrewFacts(technician_ids=(), held=frozenset(), required=())
KEY_CHUNK = 500


@dataclass(frozen=True)
class Found:
    key: str
    job: Job | None
    data: dict[str, Any]
    visit_id: int | None = None
    invoice_id: int | None = None


def moment(at: datetime) -> str:
    """A time in a key, in UTC whatever zone it was read in: the same moment always makes the same key."""
    return at.astimezone(UTC).isoformat()


def _visit_data(visit: Visit, **extra: Any) -> dict[str, Any]:
    return {"visit": {"id": visit.pk, "number": visit.number, "status": visit.status}, **extra}


def _late_visits(rule: WorkflowRule, now: datetime) -> list[Found]:
    which = rule.trigger_params["which"]
    day = timezone.localdate(now)
    start = timezone.make_aware(datetime.combine(day, time.min))
    visits = list(
        Visit.objects.select_related("job")
        .filter(scheduled_start__gte=start, scheduled_start__lt=start + timedelta(days=1), window_end__isnull=False)
        .exclude(status__in=(V.UNSCHEDULED, V.COMPLETED, V.CANCELLED))
    )
    flagged = exceptions_for(visits, now=now, config=DispatchSettings.current(), facts={v.pk: NO_CREW for v in visits})
    found = []
    for visit in visits:
        for exc in flagged.get(visit.pk, ()):
            if exc.kind == which:
                key = f"r{rule.pk}:visit:{visit.pk}:{which}:{moment(visit.window_end)}"  # type: ignore[arg-type]
                found.append(Found(key, visit.job, _visit_data(visit, which=which, message=exc.message), visit_id=visit.pk))
    return found


def _overdue_jobs(rule: WorkflowRule, now: datetime) -> list[Found]:
    hours = timedelta(hours=rule.trigger_params["hours"])
    counted = Q(visits__scheduled_start__isnull=False) & ~Q(visits__status__in=(V.CANCELLED, V.UNSCHEDULED))
    # A visit ends after it starts: a job whose last visit started after now − hours cannot be overdue
    # yet, so the database narrows the jobs down and the exact end is worked out below.
    candidates = (
        Job.objects.filter(status__in=OVERDUE_STATUSES).annotate(last_start=Max("visits__scheduled_start", filter=counted)).filter(last_start__lte=now - hours)
    )
    jobs = {job.pk: job for job in candidates}
    if not jobs:
        return []
    ends: dict[int, datetime] = {}
    rows = (
        Visit.objects.filter(job_id__in=candidates.values("pk"), scheduled_start__isnull=False)
        .exclude(status__in=(V.CANCELLED, V.UNSCHEDULED))
        .values_list("job_id", "scheduled_start", "duration_minutes")
    )
    for job_id, start, minutes in rows:
        end = start + timedelta(minutes=minutes)
        if job_id in jobs and (job_id not in ends or end > ends[job_id]):
            ends[job_id] = end
    return [
        Found(f"r{rule.pk}:job:{job_id}:{moment(end)}", jobs[job_id], {"last_visit_end": end.isoformat(), "hours": rule.trigger_params["hours"]})
        for job_id, end in sorted(ends.items())
        if end + hours <= now
    ]


def _paused_visits(rule: WorkflowRule, now: datetime) -> list[Found]:
    minutes = rule.trigger_params["minutes"]
    visits = Visit.objects.select_related("job").filter(status=V.PAUSED, paused_at__lt=now - timedelta(minutes=minutes)).order_by("pk")
    return [
        Found(
            f"r{rule.pk}:visit:{v.pk}:{moment(v.paused_at)}",  # type: ignore[arg-type]
            v.job,
            _visit_data(v, paused_at=v.paused_at.isoformat(), reason=v.pause_reason, minutes=minutes),  # type: ignore[union-attr]
            visit_id=v.pk,
        )
        for v in visits
    ]


def _unpaid_invoices(rule: WorkflowRule, now: datetime) -> list[Found]:
    days = rule.trigger_params["days"]
    qs = Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status__in=OPEN_FOR_PAYMENT, issue_date__lte=timezone.localdate(now) - timedelta(days=days))
    # The balance is worked out in Python from the integer columns (balance_cents), as billing does.
    invoices = [inv for inv in qs.order_by("pk") if inv.balance_cents > 0]
    if not invoices:
        return []
    # An invoice's event belongs to its first job, as the issue and payment events do.
    first_job = dict(
        Invoice.jobs.through.objects.filter(invoice_id__in=qs.values("pk")).values("invoice_id").annotate(job=Min("job_id")).values_list("invoice_id", "job")
    )
    jobs = Job.objects.in_bulk(set(first_job.values()))
    return [
        Found(
            f"r{rule.pk}:invoice:{inv.pk}:{inv.issue_date.isoformat()}",  # type: ignore[union-attr]
            jobs.get(first_job.get(inv.pk)),  # type: ignore[arg-type]
            {"invoice": {"id": inv.pk, "number": inv.number, "balance_cents": inv.balance_cents, "issue_date": str(inv.issue_date)}, "days": days},
            invoice_id=inv.pk,
        )
        for inv in invoices
    ]


FINDERS: dict[str, Callable[[WorkflowRule, datetime], list[Found]]] = {
    EventType.VISIT_LATE: _late_visits,
    EventType.JOB_OVERDUE: _overdue_jobs,
    EventType.VISIT_PAUSED_LONG: _paused_visits,
    EventType.INVOICE_UNPAID: _unpaid_invoices,
}


def _taken(keys: list[str]) -> set[str]:
    """The keys already written, looked up in chunks (a long-overdue backlog can hold thousands)."""
    taken: set[str] = set()
    for i in range(0, len(keys), KEY_CHUNK):
        taken.update(AutomationEvent.objects.filter(dedupe_key__in=keys[i : i + KEY_CHUNK]).values_list("dedupe_key", flat=True))
    return taken


def _emit_new(rule: WorkflowRule, found: Iterable[Found]) -> int:
    found = list(found)
    taken = _taken([f.key for f in found])
    emitted = 0
    for f in found:
        if f.key in taken:
            continue
        try:
            with transaction.atomic():
                events.emit(rule.trigger, actor=None, job=f.job, data=f.data, visit_id=f.visit_id, invoice_id=f.invoice_id, rule_id=rule.pk, dedupe_key=f.key)
        except IntegrityError:
            continue  # another scan wrote this occasion a moment ago
        emitted += 1
    return emitted


def scan(now: datetime | None = None) -> int:
    """Emit the time-based events due now for every enabled rule; returns how many were new. Safe to run
    as often as wanted, from several workers at once."""
    now = now or timezone.now()
    emitted = 0
    for rule in WorkflowRule.objects.filter(enabled=True, trigger__in=TIME_BASED).order_by("pk"):
        emitted += _emit_new(rule, FINDERS[rule.trigger](rule, now))
    return emitted
