"""Every read the agreement pages need. The list costs a fixed number of queries whatever the number of
plans: the plans with their customer and a count of their jobs, and one prefetch of the occurrences
from today on (the next visit is worked out from the rule in Python)."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from serviceopus.customers.models import Location

from .models import Occurrence, OccurrenceStatus, PlanKind, PlanStatus, RecurringPlan
from .recurrence import RuleError, rule_dates

LIST_LIMIT = 200
AHEAD_ROWS = 24
# How far the list looks for a plan's next visit (a yearly rule needs a year).
NEXT_VISIT_SPAN = 800


def plans(*, kind: str = "", status: str = "", q: str = "", today: date) -> list[RecurringPlan]:
    """Plans for the list, each with `jobs_generated` and `next_visit` (a date or None)."""
    qs: QuerySet[RecurringPlan] = RecurringPlan.objects.select_related("customer", "job_type")
    if kind in PlanKind.values:
        qs = qs.filter(kind=kind)
    if status in PlanStatus.values:
        qs = qs.filter(status=status)
    if q.strip():
        qs = qs.filter(Q(customer__name__icontains=q.strip()) | Q(reference__icontains=q.strip()) | Q(name__icontains=q.strip()))
    qs = qs.annotate(jobs_generated=Count("occurrences", filter=Q(occurrences__job__isnull=False))).prefetch_related(
        "locations", Prefetch("occurrences", queryset=Occurrence.objects.filter(Q(occurrence_date__gte=today) | Q(moved_to__gte=today)), to_attr="upcoming")
    )
    rows = list(qs.order_by("customer__name", "reference")[:LIST_LIMIT])
    for plan in rows:
        plan.next_visit = next_visit(plan, today) if plan.status == PlanStatus.ACTIVE else None
    return rows


def next_visit(plan: RecurringPlan, today: date) -> date | None:
    """The first day from today on with a visit not skipped: a rule date without a row, or a generated
    or moved occurrence's visit date. Uses plan.upcoming (prefetched)."""
    rows = plan.upcoming
    # Rows that take a rule date away from that day (its visit is elsewhere or not at all).
    away = {(o.location_id, o.occurrence_date) for o in rows if o.status in (OccurrenceStatus.SKIPPED, OccurrenceStatus.MOVED)}
    candidates = [o.visit_date for o in rows if o.status != OccurrenceStatus.SKIPPED and o.visit_date >= today]
    try:
        days = rule_dates(plan, today, today + timedelta(days=NEXT_VISIT_SPAN))
    except RuleError:
        days = []
    location_ids = [loc.pk for loc in plan.locations.all()]
    candidates += [d for d in days if any((loc, d) not in away for loc in location_ids)][:1]
    return min(candidates, default=None)


def access_plan(plan_id: int) -> RecurringPlan:
    return get_object_or_404(RecurringPlan.objects.select_related("customer", "job_type", "created_by"), pk=plan_id)


@dataclass
class AheadRow:
    occurrence_date: date
    location: Location
    occurrence: Occurrence | None

    @property
    def status(self) -> str:
        return self.occurrence.status if self.occurrence else OccurrenceStatus.PLANNED

    @property
    def status_label(self) -> str:
        return OccurrenceStatus(self.status).label

    @property
    def visit_date(self) -> date:
        return self.occurrence.visit_date if self.occurrence else self.occurrence_date


def ahead(plan: RecurringPlan, today: date, locations: list[Location]) -> list[AheadRow]:
    """The next visits from today (rule dates at each address, with what happened to them), at most
    AHEAD_ROWS, plus visits moved from an earlier rule date to today or later."""
    try:
        days = rule_dates(plan, today, today + timedelta(days=NEXT_VISIT_SPAN))
    except RuleError:
        days = []
    days = days[: max(1, AHEAD_ROWS // max(1, len(locations)))]
    rows_by_key = {
        (o.location_id, o.occurrence_date): o
        for o in Occurrence.objects.filter(plan=plan)
        .filter(Q(occurrence_date__in=days) | Q(occurrence_date__lt=today, moved_to__gte=today))
        .select_related("job")
    }
    out = [AheadRow(d, loc, rows_by_key.pop((loc.pk, d), None)) for d in days for loc in locations]
    by_id = {loc.pk: loc for loc in locations}
    out += [AheadRow(o.occurrence_date, by_id[o.location_id], o) for o in rows_by_key.values() if o.location_id in by_id]
    return sorted(out, key=lambda r: (r.visit_date, r.location.pk))


def generated(plan: RecurringPlan) -> list[Occurrence]:
    """The plan's occurrences that have a job, newest first."""
    return list(
        Occurrence.objects.filter(plan=plan, job__isnull=False).select_related("job", "location").order_by("-occurrence_date", "location_id")[:LIST_LIMIT]
    )
