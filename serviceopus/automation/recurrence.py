"""The visit rule and the generator that turns a plan's rule dates into jobs.

generate() is idempotent: each (plan, location, rule date) is an Occurrence row under a unique
constraint, inserted in its own savepoint together with its job. A second run, or a run at the same
moment in another process, hits the constraint for every date already taken, and that date is skipped
— nothing is locked beforehand and no process has to know about another. Skipped and moved
occurrences keep their row under the rule date, so they are never regenerated.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from dateutil.rrule import rrulestr
from django.db import IntegrityError, transaction
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import DomainError
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.models import BillingType, Job, Source

from .models import Occurrence, OccurrenceStatus, PlanStatus, PricePeriod, RecurringPlan

# Finer rules than daily would create a job every hour: no trade works to such a plan.
ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
RULE_MAX = 500
# dateutil accepts out-of-range values and then yields no date at all: refuse them with a reason.
BY_RANGES = {"BYMONTH": (1, 12), "BYMONTHDAY": (1, 31), "BYYEARDAY": (1, 366), "BYWEEKNO": (1, 53), "BYSETPOS": (1, 366)}


class RuleError(ValueError):
    """An RRULE we do not accept; the message is for the form."""


def normalize_rule(text: str) -> str:
    """The rule as stored: upper case, without an "RRULE:" prefix or spaces."""
    rule = (text or "").strip().upper().replace(" ", "")
    return rule.removeprefix("RRULE:")


def parse_rule(text: str, start: date):  # type: ignore[no-untyped-def]
    """The dateutil rrule of `text` anchored at `start`; raises RuleError saying what is wrong. Only a
    single RRULE is accepted: DTSTART comes from the plan's start date, never from the text."""
    rule = normalize_rule(text)
    if not rule:
        raise RuleError("Enter a visit rule, e.g. FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=15.")
    if len(rule) > RULE_MAX or "\x00" in rule or "\n" in rule or ":" in rule:
        raise RuleError("Enter one RRULE only (no DTSTART, EXDATE or other lines), e.g. FREQ=MONTHLY;INTERVAL=3.")
    parts = dict(part.split("=", 1) for part in rule.split(";") if "=" in part)
    if parts.get("FREQ") not in ALLOWED_FREQ:
        raise RuleError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY.")
    for name, (low, high) in BY_RANGES.items():
        for value in filter(None, parts.get(name, "").split(",")):
            number = int(value) if value.lstrip("+-").isdigit() else 0
            if not (low <= abs(number) <= high) or (name == "BYMONTH" and number < 0):
                raise RuleError(f"{name} must be {'' if name == 'BYMONTH' else '±'}{low} to {high}.")
    try:
        return rrulestr(rule, dtstart=datetime.combine(start, time()))
    except (ValueError, TypeError, KeyError) as exc:
        raise RuleError(f"Not a valid RRULE: {exc}.") from exc


def rule_dates(plan: RecurringPlan, first: date, last: date) -> list[date]:
    """The plan's rule dates in [first, last], clipped to its term."""
    first = max(first, plan.start_date)
    if plan.end_date is not None:
        last = min(last, plan.end_date)
    if last < first:
        return []
    rule = parse_rule(plan.rrule, plan.start_date)
    return [d.date() for d in rule.between(datetime.combine(first, time()), datetime.combine(last, time()), inc=True)]


def window(plan: RecurringPlan, today: date) -> tuple[date, date]:
    return today, today + timedelta(days=plan.horizon_days)


def visit_at(plan: RecurringPlan, day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, plan.visit_time))


def _actor(plan: RecurringPlan, actor: User | None) -> User:
    """Who the generated jobs are created by: the caller when given (a person pressing "Generate now"),
    else whoever set the plan up — the timeline then names a person who answers for the plan, not an
    anonymous system account. A plan whose creator may no longer create jobs generates nothing."""
    user = actor or plan.created_by
    if user is None or not user.is_active or not user.has_perm("jobs.create_job"):
        raise DomainError("no_actor", f"{plan.reference}: nobody may create its jobs (its creator left or lost the right); edit the plan to take it over.")
    return user


def create_job(plan: RecurringPlan, occurrence: Occurrence, actor: User) -> Job:
    """The job of one occurrence, inside the caller's transaction."""
    asset_ids = [a.pk for a in plan.assets.all() if a.location_id == occurrence.location_id]
    agreement = plan.is_agreement
    job = job_actions.job_create(
        actor=actor,
        customer_id=plan.customer_id,
        location_id=occurrence.location_id,
        job_type_id=plan.job_type_id,
        scope=plan.scope,
        source=Source.AGREEMENT_VISIT if agreement else Source.DIRECT,
        source_reference=plan.reference,
        asset_ids=asset_ids,
        priority=plan.priority,
        estimated_duration_minutes=plan.duration_minutes,
        billing_type=BillingType.AGREEMENT if agreement else None,
        # The agreement's limit travels with the job so that billing and the office see it on the job.
        not_to_exceed_cents=plan.not_to_exceed_cents if agreement else None,
        next_visit_at=visit_at(plan, occurrence.visit_date),
    )
    if agreement and plan.price_period == PricePeriod.PER_VISIT and plan.price_cents > 0:
        # A fee line: billing charges fees on agreement jobs, so the visit price is invoiced as agreed.
        job_actions.line_item_add(
            actor=actor,
            job_id=job.pk,
            kind="fee",
            description=f"Agreement visit {plan.reference}",
            quantity=Decimal(1),
            unit_price_cents=plan.price_cents,
        )
    return job


def _take(plan: RecurringPlan, location_id: int, day: date, actor: User) -> Job | None:
    """Insert the occurrence and its job in one savepoint; None when the date is already taken (by an
    earlier run, a concurrent one, a skip or a move)."""
    try:
        with transaction.atomic():
            occurrence = Occurrence.objects.create(plan=plan, location_id=location_id, occurrence_date=day, status=OccurrenceStatus.GENERATED)
            occurrence.job = create_job(plan, occurrence, actor)
            occurrence.save(update_fields=["job"])
            return occurrence.job
    except IntegrityError:
        return None


def generate(*, plan_id: int, today: date | None = None, actor: User | None = None) -> list[Job]:
    """Create the jobs of the plan's rule dates in [today, today + horizon] inside its term, at each of
    its locations, that have no occurrence yet. Returns the jobs created by this call. An inactive plan
    creates nothing. Each occurrence commits on its own: a failure part-way keeps what was made and a
    rerun fills in the rest."""
    plan = RecurringPlan.objects.select_related("created_by").prefetch_related("locations", "assets").get(pk=plan_id)
    if plan.status != PlanStatus.ACTIVE:
        return []
    today = today or timezone.localdate()
    days = rule_dates(plan, *window(plan, today))
    if not days:
        return []
    user = _actor(plan, actor)
    location_ids = sorted(loc.pk for loc in plan.locations.all())
    taken = set(Occurrence.objects.filter(plan=plan, occurrence_date__in=days).values_list("location_id", "occurrence_date"))
    created = []
    for day in days:
        for location_id in location_ids:
            if (location_id, day) in taken:
                continue
            job = _take(plan, location_id, day, user)
            if job is not None:
                created.append(job)
    return created


def generate_all(*, today: date | None = None, plan_ids: Iterable[int] | None = None) -> tuple[int, list[str]]:
    """Generate every active plan (the management command and the worker task). Returns the number of
    jobs created and one message per plan that could not generate."""
    qs = RecurringPlan.objects.filter(status=PlanStatus.ACTIVE)
    if plan_ids is not None:
        qs = qs.filter(pk__in=list(plan_ids))
    count, problems = 0, []
    for plan_id in qs.order_by("pk").values_list("pk", flat=True):
        try:
            count += len(generate(plan_id=plan_id, today=today))
        except DomainError as exc:
            problems.append(exc.message)
    return count, problems
