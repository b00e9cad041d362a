import pytest

from serviceopus.jobs.actions import TransitionRefused, job_transition
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import ALLOWED, JobStatus


def test_every_status_has_a_row_in_the_table():
    assert set(ALLOWED) == set(JobStatus.values)
    for targets in ALLOWED.values():
        assert targets <= set(JobStatus.values)


def test_accepted_transition_writes_one_event(dispatcher, job_factory):
    job = job_factory(status=JobStatus.NEW, next_visit_at="2026-12-01T09:00:00Z")
    moved = job_transition(actor=dispatcher, job_id=job.pk, to=JobStatus.SCHEDULED)
    assert moved.status == JobStatus.SCHEDULED
    assert moved.version == job.version + 1
    event = JobEvent.objects.get(job=job)
    assert (event.kind, event.old_value, event.new_value, event.actor) == ("status", "new", "scheduled", dispatcher)


def test_refused_transition_changes_nothing(dispatcher, job_factory):
    job = job_factory(status=JobStatus.NEW)
    before = Job.objects.values().get(pk=job.pk)
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=dispatcher, job_id=job.pk, to=JobStatus.CLOSED)
    assert refused.value.code == "not_allowed"
    assert Job.objects.values().get(pk=job.pk) == before
    assert not JobEvent.objects.filter(job=job).exists()


def test_on_hold_needs_a_reason_and_records_it(dispatcher, job_factory):
    job = job_factory(status=JobStatus.NEW)
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=dispatcher, job_id=job.pk, to=JobStatus.ON_HOLD)
    assert refused.value.code == "blocked"
    assert refused.value.details["blockers"][0]["code"] == "hold_reason_required"
    moved = job_transition(actor=dispatcher, job_id=job.pk, to=JobStatus.ON_HOLD, hold_reason="parts", note="Compressor on order")
    assert (moved.status, moved.hold_reason, moved.hold_note) == ("on_hold", "parts", "Compressor on order")
    released = job_transition(actor=dispatcher, job_id=job.pk, to=JobStatus.NEW)
    assert (released.hold_reason, released.hold_note) == ("", "")


def test_technician_cannot_invoice(tech_a, job_factory):
    job = job_factory(status=JobStatus.WORK_COMPLETE, technicians=[tech_a])
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=tech_a.user, job_id=job.pk, to=JobStatus.INVOICED)
    assert refused.value.code == "forbidden"
    job.refresh_from_db()
    assert job.status == JobStatus.WORK_COMPLETE
