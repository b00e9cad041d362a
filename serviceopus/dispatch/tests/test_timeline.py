from datetime import timedelta

import pytest
from django.utils import timezone

from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.dispatch.models import VisitEvent
from serviceopus.dispatch.queries import visit_timeline
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.actions import TransitionRefused, job_transition
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, VisitFactory

V = VisitStatus


def test_durations_of_travel_on_site_working_and_paused(tech_a):
    visit = VisitFactory(crew=[tech_a])
    t0 = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    steps = [(0, V.EN_ROUTE), (20, V.ARRIVED), (25, V.WORKING), (55, V.PAUSED), (70, V.WORKING), (100, V.DEPARTED), (101, V.COMPLETED)]
    previous = V.SCHEDULED
    for minute, status in steps:
        VisitEvent.objects.create(visit=visit, from_status=previous, to_status=status, at=t0 + timedelta(minutes=minute))
        previous = status
    timeline = visit_timeline(visit)
    spans = [(e.event.to_status, e.spent_as, e.minutes) for e in timeline.entries]
    assert spans == [
        (V.EN_ROUTE, "travel", 20),
        (V.ARRIVED, "on site", 5),
        (V.WORKING, "working", 30),
        (V.PAUSED, "paused", 15),
        (V.WORKING, "working", 30),
        (V.DEPARTED, "", None),
        (V.COMPLETED, "", None),
    ]
    assert timeline.totals == {"travel": 20, "working": 60, "paused": 15, "on site": 80}


def test_a_running_span_counts_until_now(tech_a):
    visit = VisitFactory(crew=[tech_a], status=V.WORKING)
    now = timezone.now()
    VisitEvent.objects.create(visit=visit, from_status=V.ARRIVED, to_status=V.WORKING, at=now - timedelta(minutes=12))
    timeline = visit_timeline(visit, now=now)
    assert timeline.entries[0].minutes is None  # still running: no fixed duration yet
    assert timeline.totals == {"working": 12}


@pytest.mark.parametrize("to", [JobStatus.CANCELLED, JobStatus.NEW])
def test_a_job_with_open_visits_cannot_be_cancelled_or_unscheduled(dispatcher, tech_a, to):
    job = JobFactory()
    [visit] = visit_schedule(
        actor=dispatcher, job_id=job.pk, start=timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=1), lead_id=tech_a.pk
    )
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=dispatcher, job_id=job.pk, to=to)
    assert refused.value.code == "blocked"
    assert "visit 1" in refused.value.message
    assert Job.objects.get(pk=job.pk).status == JobStatus.SCHEDULED
    visit_transition(actor=dispatcher, visit_id=visit.pk, to=V.CANCELLED, reason="Customer cancelled")
    assert job_transition(actor=dispatcher, job_id=job.pk, to=to).status == to
