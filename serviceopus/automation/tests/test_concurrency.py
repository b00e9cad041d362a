"""Generators running at the same moment (the command on two machines, or the command and "Create jobs
now") create each occurrence's job once: the unique key decides, on both databases."""

from datetime import date

import pytest

from serviceopus.automation import agreements
from serviceopus.automation.models import Occurrence, OccurrenceStatus
from serviceopus.automation.recurrence import generate
from serviceopus.jobs.models import Job
from tests.test_concurrency import run_at_once

from .support import make_plan, world

pytestmark = pytest.mark.django_db(transaction=True)
TODAY = date(2030, 1, 10)


def test_generators_at_once_create_no_duplicate(manager):
    w = world()
    plan = make_plan(manager, w, locations=[w["home"], w["annex"]])
    results = run_at_once(6, lambda i: [job.pk for job in generate(plan_id=plan.pk, today=TODAY)])
    created = [pk for result in results for pk in result]
    assert len(created) == len(set(created)) == 6  # 3 dates × 2 addresses, each made by exactly one thread
    assert Job.objects.count() == 6
    assert Occurrence.objects.filter(plan=plan, job__isnull=False).count() == 6


def test_skip_and_generate_at_once_leave_one_outcome(manager):
    w = world()
    plan = make_plan(manager, w)
    loc = w["home"].pk

    def act(i: int) -> str:
        if i % 2:
            generate(plan_id=plan.pk, today=TODAY)
            return "generated"
        agreements.occurrence_skip(actor=manager, plan_id=plan.pk, location_id=loc, occurrence_date=date(2030, 2, 15))
        return "skipped"

    run_at_once(4, act)
    occ = Occurrence.objects.select_related("job").get(plan=plan, occurrence_date=date(2030, 2, 15))
    assert occ.status == OccurrenceStatus.SKIPPED
    # Skipped first (no job), or generated first and then cancelled by the skip: never a live job.
    assert occ.job is None or occ.job.status == "cancelled"
    assert Occurrence.objects.filter(plan=plan).count() == 3
    assert Job.objects.exclude(status="cancelled").count() == 2
