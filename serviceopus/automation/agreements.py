"""Every write to service agreements, recurring plans and their occurrences. Views and the command call
these; each is atomic and a refused call raises a DomainError having changed nothing.

Who: managers and owners (`jobs.configure`) set plans up and skip or move their visits; the office and
dispatchers see them. The jobs themselves are written through jobs.actions, so their rules, timeline
and hooks apply as for any other job.
"""

from datetime import date, time
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.models import next_in_sequence
from serviceopus.core.text import clean_text
from serviceopus.customers.models import Asset, Customer, Location
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.models import Job, JobType, LineItem, Priority
from serviceopus.jobs.status import JobStatus

from .models import Occurrence, OccurrenceStatus, PlanKind, PlanStatus, PricePeriod, RecurringPlan
from .recurrence import RuleError, create_job, normalize_rule, parse_rule, rule_dates, visit_at

PERM = "jobs.configure"
MAX_CENTS = 10**13
# Line kinds an agreement may cover, and approved time (billing's "time").
COVERABLE = {**dict(LineItem.Kind.choices), "time": "Approved time"}
# A job not yet started may be cancelled (skip) or re-dated (move); after that the visit happened.
NOT_STARTED = (JobStatus.NEW, JobStatus.SCHEDULED, JobStatus.ON_HOLD)
PREFIX = {PlanKind.AGREEMENT: "SA", PlanKind.RECURRING: "RJ"}

FIELDS = (
    "name",
    "status",
    "job_type",
    "scope",
    "duration_minutes",
    "priority",
    "visit_time",
    "rrule",
    "start_date",
    "end_date",
    "horizon_days",
    "covered_kinds",
    "not_to_exceed_cents",
    "price_cents",
    "price_period",
)


def _lock(qs):  # type: ignore[no-untyped-def]
    # PostgreSQL: row lock until commit. SQLite: the IMMEDIATE transaction already holds the write lock.
    return qs.select_for_update() if connection.vendor == "postgresql" else qs


def _require(actor: User) -> None:
    if not actor.has_perm(PERM):
        raise DomainError("forbidden", "Only managers may set up agreements and recurring jobs.")


def clean_plan(kind: str, customer: Customer | None, data: dict[str, Any]) -> dict[str, Any]:
    """Check a whole plan (create, or an edit merged onto the current values); raises InvalidInput with
    every field error at once. Returns the cleaned values."""
    fields: dict[str, str] = {}
    out = dict(data)
    if kind not in PlanKind.values:
        fields["kind"] = "Choose agreement or recurring job."
    if customer is None:
        fields["customer"] = "Choose a customer."
    out["name"] = clean_text(fields, "name", data.get("name"), max_length=200, required=True)
    out["scope"] = clean_text(fields, "scope", data.get("scope"), max_length=10000, required=True)
    if data.get("status") not in PlanStatus.values:
        fields["status"] = "Choose active, paused or ended."
    job_type = data.get("job_type")
    if not isinstance(job_type, JobType) or not job_type.active:
        fields["job_type"] = "Choose an active job type."
    locations = list(data.get("locations") or [])
    if not locations:
        fields["locations"] = "Choose at least one address."
    elif customer is not None and any(loc.customer_id != customer.pk for loc in locations):
        fields["locations"] = "These addresses must belong to the customer."
    location_ids = {loc.pk for loc in locations}
    foreign = [a for a in data.get("assets") or [] if a.location_id not in location_ids]
    if foreign:
        fields["assets"] = "Covered assets must be at a covered address: " + ", ".join(str(a) for a in foreign)
    minutes = data.get("duration_minutes")
    if not isinstance(minutes, int) or not 5 <= minutes <= 60 * 24 * 14:
        fields["duration_minutes"] = "Between 5 minutes and 14 days."
    if data.get("priority") not in Priority.values:
        fields["priority"] = "Priority must be 1 (low) to 4 (urgent)."
    if not isinstance(data.get("visit_time"), time):
        fields["visit_time"] = "Enter a time of day."
    horizon = data.get("horizon_days")
    if not isinstance(horizon, int) or not 1 <= horizon <= 730:
        fields["horizon_days"] = "Between 1 and 730 days."
    start, end = data.get("start_date"), data.get("end_date")
    if not isinstance(start, date):
        fields["start_date"] = "Enter the first day."
    if end is not None and isinstance(start, date) and end < start:
        fields["end_date"] = "The term cannot end before it starts."
    if kind == PlanKind.AGREEMENT and end is None:
        fields["end_date"] = "An agreement needs the end of its term."
    out["rrule"] = normalize_rule(data.get("rrule") or "")
    if isinstance(start, date):
        try:
            parse_rule(out["rrule"], start)
        except RuleError as exc:
            fields["rrule"] = str(exc)
        else:
            if "end_date" not in fields and end is not None:
                probe = RecurringPlan(rrule=out["rrule"], start_date=start, end_date=end)
                if not rule_dates(probe, start, end):
                    fields["rrule"] = "This rule has no visit inside the term."
    if kind == PlanKind.AGREEMENT:
        kinds = list(data.get("covered_kinds") or [])
        if any(k not in COVERABLE for k in kinds):
            fields["covered_kinds"] = "Choose among: " + ", ".join(COVERABLE)
        out["covered_kinds"] = sorted(set(kinds))
        nte = data.get("not_to_exceed_cents")
        if nte is not None and not (isinstance(nte, int) and 0 < nte <= MAX_CENTS):
            fields["not_to_exceed_cents"] = "The limit must be a positive amount."
        price = data.get("price_cents")
        if not isinstance(price, int) or not 0 <= price <= MAX_CENTS:
            fields["price_cents"] = "The price must be zero or more."
        if data.get("price_period") not in PricePeriod.values:
            fields["price_period"] = "Per visit or per term."
    else:
        # A recurring job without an agreement is billed by its job type like any other job.
        out.update(covered_kinds=[], not_to_exceed_cents=None, price_cents=0, price_period=PricePeriod.PER_VISIT)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    return out


def plan_create(*, actor: User, kind: str, customer_id: int | None, locations: list[Location], assets: list[Asset] = (), **data: Any) -> RecurringPlan:  # type: ignore[assignment]
    """Set up an agreement or a recurring job. Creates no job: generation does (generate_recurring_jobs,
    or "Generate now" on its page)."""
    _require(actor)
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise InvalidInput("Unknown fields.", dict.fromkeys(unknown, "Unknown field."))
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    data.setdefault("status", PlanStatus.ACTIVE)
    clean = clean_plan(kind, customer, {**data, "locations": locations, "assets": list(assets)})
    with transaction.atomic():
        now = timezone.now()
        reference = f"{PREFIX[kind]}-{next_in_sequence('plan_' + kind):05d}"
        plan = RecurringPlan.objects.create(
            kind=kind, reference=reference, customer=customer, created_by=actor, created_at=now, updated_at=now, **{k: clean[k] for k in FIELDS if k in clean}
        )
        plan.locations.set(locations)
        plan.assets.set(assets)
    return plan


def plan_update(*, actor: User, plan_id: int, version: int, changes: dict[str, Any]) -> RecurringPlan:
    """Edit a plan. `version` is what the editor saw; a plan changed since is refused ("stale"). The
    customer and kind stay. Jobs already created keep their dates; a new rule applies to dates not yet
    generated, and occurrences already taken stay taken."""
    _require(actor)
    unknown = set(changes) - set(FIELDS) - {"locations", "assets"}
    if unknown:
        raise InvalidInput("Unknown fields.", dict.fromkeys(unknown, "This field cannot be edited."))
    with transaction.atomic():
        plan = _lock(RecurringPlan.objects.select_related("customer")).get(pk=plan_id)
        if plan.version != version:
            raise ConflictError("stale", "Someone else changed this plan after you opened it. Reload to see their changes.", current_version=plan.version)
        current = {name: getattr(plan, name) for name in FIELDS}
        current["locations"] = list(plan.locations.all())
        current["assets"] = list(plan.assets.all())
        merged = {**current, **changes}
        clean = clean_plan(plan.kind, plan.customer, merged)
        for name in FIELDS:
            setattr(plan, name, clean[name])
        plan.updated_at = timezone.now()
        plan.version = F("version") + 1
        if plan.created_by_id is None or not plan.created_by.is_active:
            plan.created_by = actor  # whoever edits an orphaned plan takes over its generation
        plan.save()
        plan.locations.set(merged["locations"])
        plan.assets.set(merged["assets"])
    plan.refresh_from_db()
    return plan


def _occurrence_for(plan: RecurringPlan, location_id: int, occurrence_date: date) -> None:
    """Refuse a date that is not one of the plan's rule dates at one of its addresses."""
    if not plan.locations.filter(pk=location_id).exists():
        raise InvalidInput("Not an address of this plan.", {"location": "Not an address of this plan."})
    if occurrence_date not in rule_dates(plan, occurrence_date, occurrence_date):
        raise InvalidInput("Not a visit date of this plan.", {"occurrence_date": "Not a visit date of this plan."})


def _take_row(plan: RecurringPlan, location_id: int, occurrence_date: date, **values: Any) -> tuple[Occurrence, bool]:
    """The occurrence row, locked: created with `values` if it did not exist (True), else the existing
    one (False). A generator inserting it at the same moment makes our insert fail; we then read theirs.
    The job is not joined: PostgreSQL cannot lock the nullable side of an outer join."""
    try:
        with transaction.atomic():
            return Occurrence.objects.create(plan=plan, location_id=location_id, occurrence_date=occurrence_date, **values), True
    except IntegrityError:
        return _lock(Occurrence.objects).get(plan=plan, location_id=location_id, occurrence_date=occurrence_date), False


def occurrence_skip(*, actor: User, plan_id: int, location_id: int, occurrence_date: date) -> Occurrence:
    """Skip one visit. Not generated yet: it never will be. Generated and not started: its job is
    cancelled (through job_transition, so the timeline and the hooks see it). Started: refused
    ("started"). Skipping twice is a no-op."""
    _require(actor)
    plan = RecurringPlan.objects.get(pk=plan_id)
    _occurrence_for(plan, location_id, occurrence_date)
    with transaction.atomic():
        occurrence, created = _take_row(plan, location_id, occurrence_date, status=OccurrenceStatus.SKIPPED)
        if created or occurrence.status == OccurrenceStatus.SKIPPED:
            return occurrence
        job = occurrence.job
        if job is not None and job.status != JobStatus.CANCELLED:
            if job.status not in NOT_STARTED:
                raise ConflictError("started", f"Job {job.number} is {job.get_status_display().lower()}: a visit that started cannot be skipped.")
            job_actions.job_transition(actor=actor, job_id=job.pk, to=JobStatus.CANCELLED, note=f"Visit of {plan.reference} skipped")
        occurrence.status = OccurrenceStatus.SKIPPED
        occurrence.save(update_fields=["status"])
    return occurrence


def occurrence_move(*, actor: User, plan_id: int, location_id: int, occurrence_date: date, new_date: date, today: date | None = None) -> Occurrence:
    """Move one visit to `new_date` (today or later). The rule date stays the occurrence's key, so the
    generator never recreates it. Not generated yet: its job is created now, on the new date.
    Generated and not started: the job's preferred visit time moves. Refused when the job started, was
    cancelled, or already has a visit booked (reschedule that visit instead), and for a skipped visit.
    Moving back to the rule date undoes the move."""
    _require(actor)
    today = today or timezone.localdate()
    if not isinstance(new_date, date) or new_date < today:
        raise InvalidInput("Choose a day from today on.", {"new_date": "Choose a day from today on."})
    plan = RecurringPlan.objects.prefetch_related("assets").get(pk=plan_id)
    _occurrence_for(plan, location_id, occurrence_date)
    status = OccurrenceStatus.GENERATED if new_date == occurrence_date else OccurrenceStatus.MOVED
    moved_to = None if new_date == occurrence_date else new_date
    with transaction.atomic():
        occurrence, created = _take_row(plan, location_id, occurrence_date, status=status, moved_to=moved_to)
        if created:
            occurrence.job = create_job(plan, occurrence, actor)
            occurrence.save(update_fields=["job"])
            return occurrence
        if occurrence.status == OccurrenceStatus.SKIPPED:
            raise ConflictError("skipped", "This visit was skipped; it cannot be moved.")
        job = occurrence.job
        if job is not None:
            _movable(job)
            job_actions.job_update(actor=actor, job_id=job.pk, version=job.version, changes={"next_visit_at": visit_at(plan, new_date)})
        occurrence.status, occurrence.moved_to = status, moved_to
        occurrence.save(update_fields=["status", "moved_to"])
    return occurrence


def _movable(job: Job) -> None:
    if job.status == JobStatus.CANCELLED:
        raise ConflictError("cancelled", f"Job {job.number} was cancelled; skip this visit instead.")
    if job.status not in NOT_STARTED:
        raise ConflictError("started", f"Job {job.number} is {job.get_status_display().lower()}: a visit that started cannot be moved.")
    if Visit.objects.filter(job=job).exclude(status=VisitStatus.CANCELLED).exists():
        raise ConflictError("booked", f"Job {job.number} already has a visit booked: reschedule it on the job's Crew & schedule tab.")
