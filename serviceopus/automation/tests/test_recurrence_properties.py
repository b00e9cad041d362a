"""Any sequence of generate / skip / move (with `today` moving forward) leaves exactly one job per
occurrence that was not skipped, never two jobs for one occurrence, and no live job for a skipped one."""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serviceopus.automation import agreements
from serviceopus.automation.models import Occurrence, OccurrenceStatus
from serviceopus.automation.recurrence import generate, rule_dates
from serviceopus.core.errors import DomainError
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus

from .support import make_plan, world

START = date(2030, 1, 1)
# Weekly visits over a short term at two addresses: many occurrences, crossed by moves and skips.
RULE = "FREQ=WEEKLY;BYDAY=MO,TH"
END = date(2030, 3, 31)

operation = st.one_of(
    st.tuples(st.just("generate"), st.integers(0, 20)),
    st.tuples(st.just("skip"), st.integers(0, 25), st.integers(0, 1)),
    st.tuples(st.just("move"), st.integers(0, 25), st.integers(0, 1), st.integers(-3, 10)),
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(operation, max_size=12))
def test_one_job_per_occurrence_whatever_the_sequence(manager, ops):
    Job.objects.all().delete()
    w = world()
    plan = make_plan(manager, w, locations=[w["home"], w["annex"]], rrule=RULE, start_date=START, end_date=END, horizon_days=21)
    locations = [w["home"].pk, w["annex"].pk]
    all_days = rule_dates(plan, START, END)
    today = START
    generated_window: set[tuple[int, date]] = set()
    for op in ops:
        if op[0] == "generate":
            today += timedelta(days=op[1])
            generate(plan_id=plan.pk, today=today)
            generated_window |= {(loc, d) for d in rule_dates(plan, today, today + timedelta(days=plan.horizon_days)) for loc in locations}
            continue
        day, loc = all_days[op[1] % len(all_days)], locations[op[2]]
        try:
            if op[0] == "skip":
                agreements.occurrence_skip(actor=manager, plan_id=plan.pk, location_id=loc, occurrence_date=day)
            else:
                agreements.occurrence_move(
                    actor=manager, plan_id=plan.pk, location_id=loc, occurrence_date=day, new_date=today + timedelta(days=op[3]), today=today
                )
        except DomainError:
            pass  # a refused move (skipped visit, a day in the past) changes nothing; checked below

    rows = {(o.location_id, o.occurrence_date): o for o in Occurrence.objects.filter(plan=plan).select_related("job")}
    jobs = list(Job.objects.filter(source_reference=plan.reference))
    # No job without its occurrence, and no occurrence with two jobs (the key and the one-to-one link).
    assert len(jobs) == len({o.job_id for o in rows.values() if o.job_id})
    for key, occ in rows.items():
        if occ.status == OccurrenceStatus.SKIPPED:
            assert occ.job is None or occ.job.status == JobStatus.CANCELLED
        else:
            assert occ.job is not None, key
            assert occ.job.status != JobStatus.CANCELLED, key
            assert occ.job.next_visit_at is not None
    # Every occurrence a generator covered has its row: a job, or a skip.
    assert generated_window <= set(rows)
