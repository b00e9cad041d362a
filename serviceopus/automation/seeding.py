"""Demo data for automation: service agreements and a recurring job with their jobs generated ahead,
workflow rules as a company would set them up, and a few follow-up tasks and alerts — through the real
actions.

The demo's history (jobs created and moved, visits, invoices) wrote automation events through the same
hooks as real use. They are recorded as processed when the demo is loaded, before the rules exist: a
rule acts on what happens from now on, not on last month's work."""

from datetime import date, datetime, time, timedelta

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.customers.models import Customer
from serviceopus.jobs.models import Job, JobType
from serviceopus.jobs.status import JobStatus

from . import agreements, recurrence, tasks
from .models import AlertLevel, AutomationEvent, EventStatus, EventType, PlanKind, RecurringPlan
from .rules.editing import rule_create

AGREEMENTS = (
    # (name, job type, rule, covered kinds, limit per visit in cents, price per visit in cents)
    ("Commercial HVAC care", "Furnace maintenance", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=10", ["service", "labour", "time"], 60000, 18500),
    ("Rooftop units — seasonal service", "AC repair", "FREQ=YEARLY;BYMONTH=4,10;BYMONTHDAY=1", ["service", "labour", "time", "material"], 90000, 0),
)


def ensure_automation(*, users: dict[str, User], today: date, now: datetime) -> None:
    """Once per database (nothing is done when a plan exists already)."""
    if RecurringPlan.objects.exists():
        return
    manager, owner, office = users["manager"], users["owner"], users["office"]
    types = {t.name: t for t in JobType.objects.all()}
    commercial = list(Customer.objects.filter(kind=Customer.Kind.COMMERCIAL).prefetch_related("locations").order_by("pk")[:2])
    for customer, (name, type_name, rule, kinds, limit, price) in zip(commercial, AGREEMENTS, strict=False):
        plan = agreements.plan_create(
            actor=manager,
            kind=PlanKind.AGREEMENT,
            customer_id=customer.pk,
            locations=list(customer.locations.all()),
            name=name,
            job_type=types[type_name],
            scope=f"{name}: inspect, clean and service the equipment; report anything that needs repair.",
            duration_minutes=120,
            priority=2,
            visit_time=time(8, 0),
            rrule=rule,
            start_date=today - timedelta(days=30),
            end_date=today + timedelta(days=365 * 2),
            horizon_days=120,
            covered_kinds=kinds,
            not_to_exceed_cents=limit,
            price_cents=price,
            price_period="per_visit",
        )
        recurrence.generate(plan_id=plan.pk, today=today)
    residential = Customer.objects.filter(kind=Customer.Kind.RESIDENTIAL).prefetch_related("locations").order_by("pk").first()
    if residential is not None:
        plan = agreements.plan_create(
            actor=manager,
            kind=PlanKind.RECURRING,
            customer_id=residential.pk,
            locations=list(residential.locations.all())[:1],
            name="Filter change every 3 months",
            job_type=types["Furnace maintenance"],
            scope="Replace the furnace filter and check the airflow.",
            duration_minutes=45,
            priority=1,
            visit_time=time(10, 0),
            rrule="FREQ=MONTHLY;INTERVAL=3",
            start_date=today + timedelta(days=7),
            end_date=None,
            horizon_days=200,
        )
        recurrence.generate(plan_id=plan.pk, today=today)

    # History is history: what the demo's past wrote is not acted on (see the module's docstring).
    AutomationEvent.objects.filter(status=EventStatus.PENDING).update(status=EventStatus.DONE, processed_at=now)

    _rules(owner, types)
    _tasks(manager=manager, office=office, today=today)
    _alerts(manager=manager)


def _rules(owner: User, types: dict[str, JobType]) -> None:
    rule_create(
        actor=owner,
        name="Maintenance needs its photos",
        description="A furnace maintenance finished with fewer than 2 photos: the service manager checks before it is billed.",
        enabled=True,
        trigger=EventType.JOB_STATUS_CHANGED,
        trigger_params={"to": JobStatus.WORK_COMPLETE},
        conditions=[{"field": "job_type", "op": "is", "value": types["Furnace maintenance"].pk}, {"field": "photo_count", "op": "lt", "value": 2}],
        actions=[{"kind": "create_task", "title": "Check the photos of {job_number} ({customer})", "to_role": Role.MANAGER, "due_days": 1}],
    )
    rule_create(
        actor=owner,
        name="Crew running late",
        description="The arrival window has passed and nobody has arrived: dispatch calls the customer.",
        enabled=True,
        trigger=EventType.VISIT_LATE,
        trigger_params={"which": "late"},
        conditions=[],
        actions=[{"kind": "raise_alert", "title": "{job_number}: the crew is late at {customer}", "level": AlertLevel.WARNING, "to_role": Role.DISPATCHER}],
    )
    rule_create(
        actor=owner,
        name="Incident on a job",
        description="Any incident reported or reopened goes straight to the service manager.",
        enabled=True,
        trigger=EventType.BLOCKER_OPENED,
        trigger_params={},
        conditions=[],
        actions=[{"kind": "raise_alert", "title": "{job_number}: a completion blocker opened", "level": AlertLevel.URGENT, "to_role": Role.MANAGER}],
    )
    rule_create(
        actor=owner,
        name="Unpaid after 30 days",
        description="An invoice still open a month after issue: the office calls the customer.",
        enabled=True,
        trigger=EventType.INVOICE_UNPAID,
        trigger_params={"days": 30},
        conditions=[],
        actions=[{"kind": "create_task", "title": "Call {customer} about the unpaid invoice of {job_number}", "to_role": Role.OFFICE, "due_days": 2}],
    )


def _tasks(*, manager: User, office: User, today: date) -> None:
    """A short list with one of each kind of due date, so My tasks shows overdue, today and later."""
    done = list(Job.objects.filter(status=JobStatus.WORK_COMPLETE).order_by("pk")[:4])
    plans = [
        ("Confirm the warranty claim with the manufacturer", manager, "", -2),
        ("Send the customer the permit copy", None, Role.OFFICE, 0),
        ("Quote the duct cleaning the technician recommended", manager, "", 3),
        ("Schedule the follow-up inspection", None, Role.MANAGER, None),
    ]
    for job, (title, owner, role, days) in zip(done, plans, strict=False):
        tasks.task_create(
            actor=office,
            job_id=job.pk,
            title=title,
            owner_id=owner.pk if owner else None,
            owner_role=role,
            due_date=today + timedelta(days=days) if days is not None else None,
        )


def _alerts(*, manager: User) -> None:
    jobs = list(Job.objects.filter(status__in=(JobStatus.IN_PROGRESS, JobStatus.SCHEDULED)).order_by("pk")[:3])
    for job, (title, level) in zip(
        jobs,
        (("{n}: the customer asked to be called before the visit", AlertLevel.INFO), ("{n}: parts for this job are late", AlertLevel.WARNING)),
        strict=False,
    ):
        tasks.alert_raise(job=job, title=title.format(n=job.number), level=level, to_user_id=manager.pk)
