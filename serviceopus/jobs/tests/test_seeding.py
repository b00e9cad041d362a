"""The demo and scale seeders: what they promise the run command, the demo and the benchmark."""

import io
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.core.models import Sequence
from serviceopus.customers.models import Customer
from serviceopus.jobs import search
from serviceopus.jobs.actions import job_create
from serviceopus.jobs.models import Job, JobEvent, JobTechnician, JobType, LineItem
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


def test_seed_demo_builds_a_company_in_every_status_and_is_skipped_once_jobs_exist():
    output = run("seed_demo")

    assert set(Job.objects.values_list("status", flat=True)) == set(JobStatus.values)
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    for username in ["owner", "manager", "dispatcher", "office", *(f"tech{n}" for n in range(1, 13))]:
        assert User.objects.get(username=username).check_password(DEMO_PASSWORD)
        assert f"\n{username} " in output, "the sign-in table lists every account"
    assert User.objects.get(username="owner").role == Role.ADMIN

    now = timezone.now()
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
        assert [e.pk for e in timeline] == sorted(e.pk for e in timeline), "times agree with the order things happened"

    # Assigned technicians have the job type's skills.
    for jt in JobTechnician.objects.select_related("job__job_type", "technician"):
        required = set(jt.job.job_type.required_skills.values_list("pk", flat=True))
        assert required <= set(jt.technician.skills.values_list("pk", flat=True))
    assert LineItem.objects.filter(job__status=JobStatus.INVOICED).exists()
    assert search_rows() == Job.objects.count()

    before = snapshot()
    again = run("seed_demo", "--if-empty")
    assert snapshot() == before
    assert "already has jobs" in again
    assert "dispatcher" in again, "the accounts are shown on every start"


def test_seed_scale_writes_jobs_with_their_rows_and_numbering_continues(dispatcher):
    output = run("seed_scale", "--jobs", "500", "--batch", "200")

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
    run("seed_scale", "--jobs", "120", "--batch", "50", "--no-analyze")
    run("seed_scale", "--jobs", "80", "--no-analyze")

    assert Job.objects.count() == 201
    numbers = list(Job.objects.filter(number__startswith="J-").values_list("number", flat=True))
    assert sorted(numbers) == [f"J-{n:06d}" for n in range(1, 201)]
    assert search_rows() == 201
    assert JobEvent.objects.filter(kind=JobEvent.Kind.CREATED).count() == 200
    names = list(Customer.objects.exclude(pk=existing.customer_id).values_list("name", flat=True))
    assert len(names) == 3 + 3 + 1 + 4, "one customer per 20 jobs, rounded up per batch"
    assert len(set(names)) == len(names), "every seeded customer has its own surname"
