"""The demo and scale seeders: what they promise the run command, the demo and the benchmark."""

import io
from collections import Counter, defaultdict
from datetime import datetime, time
from random import Random

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Min
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.billing.models import AccountingEntry, Invoice, Payment
from serviceopus.billing.pricing import preview
from serviceopus.billing.status import ISSUED_STATES, OPEN_FOR_PAYMENT, InvoiceStatus
from serviceopus.core.models import Sequence
from serviceopus.crew.models import Technician, TimeOff, WeeklyShift
from serviceopus.customers.models import Customer
from serviceopus.dispatch.demo_schedule import clock_at
from serviceopus.dispatch.exceptions import exceptions_for
from serviceopus.dispatch.models import CrewMember, Visit, VisitEvent
from serviceopus.dispatch.queries import day_bounds, day_visits
from serviceopus.dispatch.seeding import BENCH_TECHNICIANS, BENCH_VISITS, bench_day_layout
from serviceopus.dispatch.status import ACTIVE, VisitStatus
from serviceopus.field.models import TimeEntry
from serviceopus.jobs import search
from serviceopus.jobs.actions import job_create
from serviceopus.jobs.models import BillingType, Job, JobEvent, JobTechnician, JobType, LineItem
from serviceopus.jobs.seeding import DEMO_PASSWORD, scale_surname
from serviceopus.jobs.status import JobStatus

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def search_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM jobs_search")
        return cursor.fetchone()[0]


def snapshot() -> dict[str, int]:
    return {
        "jobs": Job.objects.count(),
        "customers": Customer.objects.count(),
        "users": User.objects.count(),
        "events": JobEvent.objects.count(),
        "items": LineItem.objects.count(),
    }


def assert_jobs_follow_their_visits() -> None:
    """A job's technicians are its visits' crews (cancelled visits aside); its next visit is the earliest
    active visit's start."""
    crews: dict[int, set[int]] = defaultdict(set)
    for job_id, tech_id in CrewMember.objects.exclude(visit__status=VisitStatus.CANCELLED).values_list("visit__job_id", "technician_id"):
        crews[job_id].add(tech_id)
    assigned: dict[int, set[int]] = defaultdict(set)
    for job_id, tech_id in JobTechnician.objects.values_list("job_id", "technician_id"):
        assigned[job_id].add(tech_id)
    assert assigned == crews
    first = dict(Visit.objects.filter(status__in=ACTIVE).values_list("job_id").annotate(at=Min("scheduled_start")))
    # Jobs an agreement generated ahead carry the date they are wanted, before anyone books their visit.
    booked = Job.objects.filter(plan_occurrence__isnull=True)
    assert {j: at for j, at in booked.values_list("id", "next_visit_at") if at or j in first} == first


def assert_field_history(visit: Visit) -> None:
    """A completed visit carries the status steps and its crew's travel and work time."""
    steps = [e.to_status for e in visit.events.filter(kind=VisitEvent.Kind.STATUS).order_by("at", "id")]
    assert steps == ["en_route", "arrived", "working", "departed", "completed"], steps
    crew = {c.technician_id for c in visit.crew.all()}
    entries = Counter((e.technician_id, e.kind) for e in visit.time_entries.all())
    assert entries == Counter({(t, k): 1 for t in crew for k in ("travel", "work")})
    assert all(e.end is not None and e.end >= e.start for e in visit.time_entries.all())


def assert_demo_billing(now: datetime) -> None:
    """Finished work was billed through the actions: the statuses are what the invoices say."""
    invoices = Invoice.objects.filter(kind=Invoice.Kind.INVOICE)
    assert set(invoices.values_list("status", flat=True)) == set(InvoiceStatus.values)
    numbers = sorted(invoices.exclude(status=InvoiceStatus.DRAFT).values_list("number", flat=True))
    assert numbers == [f"INV-{n:06d}" for n in range(1, len(numbers) + 1)], "gapless"
    issued = list(invoices.exclude(status=InvoiceStatus.DRAFT).order_by("number").values_list("issue_date", flat=True))
    assert issued == sorted(issued), "numbered in the order they were issued"
    assert list(Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).values_list("number", flat=True)) == ["CN-000001"]
    assert Invoice.objects.filter(status__in=OPEN_FOR_PAYMENT, due_date__lt=now.date()).exists(), "some are overdue"
    methods = Counter(Payment.objects.filter(kind=Payment.Kind.PAYMENT).values_list("method", flat=True))
    assert set(methods) == set(Payment.Method.values)
    assert Payment.objects.filter(kind=Payment.Kind.REFUND).count() == 1
    assert not Payment.objects.filter(received_on__gt=now.date()).exists()
    for model in (Invoice, Payment, AccountingEntry):
        assert not model.objects.filter(created_at__gt=now).exists(), model.__name__
    seqs = list(AccountingEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))

    done = Job.objects.filter(status__in=[JobStatus.INVOICED, JobStatus.CLOSED]).prefetch_related("invoices")
    assert done.count() > 150
    for job in done:
        billed = [i for i in job.invoices.all() if i.kind == Invoice.Kind.INVOICE and i.status in ISSUED_STATES]
        assert billed, f"{job.number} is {job.status} without an issued invoice"
        assert not any(i.status == InvoiceStatus.DRAFT for i in job.invoices.all())
        if job.status == JobStatus.CLOSED:
            assert all(i.status == InvoiceStatus.PAID and i.balance_cents <= 0 for i in billed), job.number
        else:
            assert sum(i.balance_cents for i in billed) > 0, f"{job.number} is invoiced and owes nothing"
    assert not any(billing.lines for billing in preview(list(done)).jobs), "all their work is on an invoice"
    assert Job.objects.filter(status=JobStatus.CLOSED, invoices__total_cents=0, billing_type=BillingType.WARRANTY).exists()
    assert Job.objects.filter(status=JobStatus.WORK_COMPLETE, invoices__status=InvoiceStatus.DRAFT).exists(), "the billing trigger's drafts"
    assert Job.objects.filter(status=JobStatus.WORK_COMPLETE, invoices__isnull=True).exists(), "the ready-to-invoice queue"
    voided = Invoice.objects.get(status=InvoiceStatus.VOID)
    assert set(voided.jobs.values_list("status", flat=True)) <= {JobStatus.INVOICED, JobStatus.CLOSED}, "re-invoiced"


def test_seed_demo_builds_a_company_in_every_status_and_is_skipped_once_jobs_exist():
    # At 14:30 today the demo's day is half done: early visits over, crews out, the afternoon to come.
    now = timezone.make_aware(datetime.combine(timezone.localdate(), time(14, 30)))
    with clock_at(now):
        output = run("seed_demo")

    assert set(Job.objects.values_list("status", flat=True)) == set(JobStatus.values)
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    for username in ["owner", "manager", "dispatcher", "office", *(f"tech{n}" for n in range(1, 13))]:
        assert User.objects.get(username=username).check_password(DEMO_PASSWORD)
        assert f"\n{username} " in output, "the sign-in table lists every account"
    assert User.objects.get(username="owner").role == Role.ADMIN

    assert not JobEvent.objects.filter(created_at__gt=now).exists(), "the timeline is all in the past"
    assert not Job.objects.filter(created_at__gt=now).exists()
    today = timezone.localdate()
    assert Job.objects.filter(status__in=[JobStatus.SCHEDULED, JobStatus.IN_PROGRESS], next_visit_at__date=today).exists()
    assert not Job.objects.filter(status=JobStatus.SCHEDULED, next_visit_at__isnull=True).exists()
    assert not Job.objects.filter(status__in=[JobStatus.WORK_COMPLETE, JobStatus.INVOICED, JobStatus.CLOSED], completed_at__isnull=True).exists()
    assert not Job.objects.filter(status=JobStatus.ON_HOLD, hold_reason="").exists()
    assert not Job.objects.exclude(location__customer=F("customer")).exists()

    # The timeline follows the status path: created first, and the last status event lands on the status.
    events: dict[int, list[JobEvent]] = defaultdict(list)
    for event in JobEvent.objects.order_by("created_at", "id"):
        events[event.job_id].append(event)
    for job in Job.objects.all():
        timeline = events[job.pk]
        assert timeline[0].kind == JobEvent.Kind.CREATED
        moves = [e for e in timeline if e.kind == JobEvent.Kind.STATUS]
        assert (moves[-1].new_value if moves else JobStatus.NEW) == job.status
        # Visit history is written after the jobs, and with it what the visits told the customer.
        own = [e.pk for e in timeline if e.kind not in (JobEvent.Kind.VISIT, JobEvent.Kind.CUSTOMER)]
        assert own == sorted(own), "times agree with the order things happened"

    # Assigned technicians have the job type's skills.
    for jt in JobTechnician.objects.select_related("job__job_type", "technician"):
        required = set(jt.job.job_type.required_skills.values_list("pk", flat=True))
        assert required <= set(jt.technician.skills.values_list("pk", flat=True))
    assert LineItem.objects.filter(job__status=JobStatus.INVOICED).exists()
    assert search_rows() == Job.objects.count()

    # Visits: today's schedule, crews consistent with the jobs, history with its time, exceptions to see.
    assert_jobs_follow_their_visits()
    today = day_visits(now.date())
    statuses = Counter(v.status for v in today)
    assert {"completed", "scheduled"} <= set(statuses)
    assert statuses.keys() & {"en_route", "arrived", "working", "departed"}
    assert statuses["paused"] == 1
    per_technician = Counter(c.technician_id for v in today for c in v.crew.all())
    assert len(per_technician) >= 10
    assert max(per_technician.values()) <= 8
    kinds = {e.kind for found in exceptions_for(today, now=now).values() for e in found}
    assert {"late", "paused_long", "unassigned"} <= kinds
    for visit in Visit.objects.filter(status=VisitStatus.COMPLETED, outcome="finished").prefetch_related("crew", "time_entries")[:40]:
        assert_field_history(visit)
    assert not Job.objects.filter(status=JobStatus.NEW, visits__isnull=False).exists(), "new jobs wait for their first visit"
    # STATUS_MIX's new jobs, and those the demo's service agreements generated ahead (automation.seeding).
    assert Job.objects.filter(status=JobStatus.NEW, plan_occurrence__isnull=True).count() == 40
    generated = Job.objects.filter(plan_occurrence__isnull=False)
    assert generated.exists()
    assert set(generated.values_list("status", flat=True)) == {JobStatus.NEW}
    assert Visit.objects.filter(status=VisitStatus.UNSCHEDULED, return_of__isnull=False).exists(), "a return visit to book"
    assert not VisitEvent.objects.filter(at__gt=now).exists()
    assert not TimeEntry.objects.filter(start__gt=now).exists()
    assert WeeklyShift.objects.filter(weekday=5).exists()
    assert TimeOff.objects.count() == 2
    assert not Visit.objects.filter(
        status=VisitStatus.SCHEDULED, crew__technician__time_off__start__lt=F("scheduled_start"), crew__technician__time_off__end__gt=F("scheduled_start")
    ).exists()

    assert_demo_billing(now)
    assert_demo_automation(now)

    before = snapshot()
    again = run("seed_demo", "--if-empty")
    assert snapshot() == before
    assert "already has jobs" in again
    assert "dispatcher" in again, "the accounts are shown on every start"


def assert_demo_automation(now: datetime) -> None:
    """Agreements with their jobs ahead, rules set up, tasks of every kind of due date, unread alerts; the
    history's events recorded as processed, so no rule acts on last month's work."""
    from serviceopus.automation.models import Alert, AutomationEvent, EventStatus, FollowUpTask, PlanKind, RecurringPlan, WorkflowRule

    assert set(RecurringPlan.objects.values_list("kind", flat=True)) == {PlanKind.AGREEMENT, PlanKind.RECURRING}
    assert WorkflowRule.objects.filter(enabled=True).count() == 4
    assert not AutomationEvent.objects.exclude(status=EventStatus.DONE).exists()
    dues = {task.due_date and (task.due_date - now.date()).days for task in FollowUpTask.objects.all()}
    assert {-2, 0, 3, None} == dues
    assert Alert.objects.filter(read_at__isnull=True).exists()


SMALL_BENCH = ("--bench-day", "2026-03-11", "--bench-technicians", "8", "--bench-visits", "60", "--technicians", "12")


def test_seed_scale_writes_jobs_with_their_rows_and_numbering_continues(dispatcher):
    output = run("seed_scale", "--jobs", "500", "--batch", "200", *SMALL_BENCH)

    assert "Seeded 500 jobs" in output
    jobs = Job.objects.all()
    assert jobs.count() == 500
    assert sorted(jobs.values_list("number", flat=True)) == [f"J-{n:06d}" for n in range(1, 501)]
    assert Sequence.objects.get(name="job").value == 500
    assert not jobs.filter(line_items__isnull=True).exists()
    assert LineItem.objects.count() >= 700
    assert JobEvent.objects.filter(kind=JobEvent.Kind.CREATED).count() == 500
    assert JobEvent.objects.count() >= 900
    assert JobTechnician.objects.values("job").distinct().count() > 350
    assert search_rows() == 500
    statuses = dict(jobs.values_list("status").annotate(n=Count("id")))
    assert statuses[JobStatus.CLOSED] > 250, "most historical work is closed"
    assert not jobs.exclude(location__customer=F("customer")).exists()
    assert not jobs.exclude(contact__customer=F("customer")).exists()
    assert Customer.objects.count() == 25, "about one customer per 20 jobs"

    # A customer's surname finds that customer's jobs and nothing else.
    customer = Job.objects.order_by("id")[250].customer
    surname = scale_surname(customer.pk)
    assert surname in customer.name
    found = set(search.filter_by_text(Job.objects.all(), surname).values_list("pk", flat=True))
    assert found == set(customer.jobs.values_list("pk", flat=True))

    # Visits follow the statuses, crews match the jobs' technicians, finished work has its field history.
    assert_jobs_follow_their_visits()
    assert not Visit.objects.filter(job__status__in=[JobStatus.NEW, JobStatus.CANCELLED]).exists()
    assert not jobs.filter(status=JobStatus.SCHEDULED, next_visit_at__isnull=True).exists()
    assert not jobs.filter(status__in=[JobStatus.CLOSED, JobStatus.INVOICED], visits__isnull=True).exists()
    for visit in Visit.objects.filter(status=VisitStatus.COMPLETED).prefetch_related("crew", "time_entries").order_by("?")[:50]:
        assert_field_history(visit)

    # The bench day: exactly the promised technicians and visits, nobody booked twice.
    assert "Bench day 2026-03-11: 8 technicians, 60 visits." in output
    start, end = day_bounds(datetime(2026, 3, 11).date())
    day = Visit.objects.filter(scheduled_start__gte=start, scheduled_start__lt=end)
    assert day.count() == 60
    places = list(CrewMember.objects.filter(visit__in=day).values_list("technician_id", "visit__scheduled_start"))
    assert len(places) == len(set(places)), "nobody is in two places at once"
    assert Counter(t for t, _ in places) == dict.fromkeys(Technician.objects.order_by("id").values_list("id", flat=True)[:8], 8)
    assert {"completed", "scheduled"} <= set(day.values_list("status", flat=True))

    job = job_create(
        actor=dispatcher,
        customer_id=customer.pk,
        location_id=customer.locations.first().pk,
        job_type_id=JobType.objects.get(name="Drain cleaning").pk,
        scope="Basement floor drain backs up",
    )
    assert job.number == "J-000501"


def test_seed_scale_appends_to_a_database_that_has_jobs(job_factory):
    existing = job_factory()  # numbered outside the sequence, with its own customer and search row
    run("seed_scale", "--jobs", "120", "--batch", "50", "--no-analyze", *SMALL_BENCH)
    again = run("seed_scale", "--jobs", "80", "--no-analyze", *SMALL_BENCH)
    assert "already has visits" in again, "the bench day is laid out once"
    start, end = day_bounds(datetime(2026, 3, 11).date())
    assert Visit.objects.filter(scheduled_start__gte=start, scheduled_start__lt=end).count() == 60

    assert Job.objects.count() == 201
    numbers = list(Job.objects.filter(number__startswith="J-").values_list("number", flat=True))
    assert sorted(numbers) == [f"J-{n:06d}" for n in range(1, 201)]
    assert search_rows() == 201
    assert JobEvent.objects.filter(kind=JobEvent.Kind.CREATED).count() == 200
    names = list(Customer.objects.exclude(pk=existing.customer_id).values_list("name", flat=True))
    assert len(names) == 3 + 3 + 1 + 4, "one customer per 20 jobs, rounded up per batch"
    assert len(set(names)) == len(names), "every seeded customer has its own surname"


def test_the_bench_day_layout_fills_200_technicians_with_1500_visits():
    """The defaults, checked by computation: every technician has eight stops (seven as lead and one as
    helper, or eight as lead), one per slot."""
    layout = bench_day_layout(BENCH_TECHNICIANS, BENCH_VISITS, Random(1))
    assert (BENCH_TECHNICIANS, BENCH_VISITS) == (200, 1500)
    assert len(layout) == 1500
    places = [(b.lead, b.slot) for b in layout] + [(b.helper, b.slot) for b in layout if b.helper is not None]
    assert len(places) == len(set(places))
    assert Counter(t for t, _ in places) == dict.fromkeys(range(200), 8)
    assert sorted(Counter(b.lead for b in layout).values()) == [7] * 100 + [8] * 100
    statuses = Counter(b.status for b in layout)
    assert statuses["completed"] > 600
    assert statuses["scheduled"] > 500
    assert statuses["working"]
    assert statuses["paused"]


def test_seed_scale_refuses_fewer_jobs_than_the_bench_day_needs():
    with pytest.raises(CommandError, match="--bench-visits 0"):
        run("seed_scale", "--jobs", "100", "--technicians", "12")
