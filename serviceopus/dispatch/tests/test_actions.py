from datetime import time

import pytest

from serviceopus.core.errors import ConflictError, InvalidInput
from serviceopus.crew.models import TimeOff, WeeklyShift
from serviceopus.dispatch.actions import SchedulingConflict, VisitRefused, visit_finish_and_depart, visit_schedule, visit_transition, visit_update
from serviceopus.dispatch.models import Visit, VisitEvent
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.dispatch_support import at, snapshot
from tests.factories import JobFactory, SkillFactory

V = VisitStatus


@pytest.fixture
def job(db):  # type: ignore[no-untyped-def]
    return JobFactory(estimated_duration_minutes=90)


def test_scheduling_the_first_visit_schedules_the_job_and_assigns_its_crew(dispatcher, job, tech_a, tech_b):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk, helper_ids=[tech_b.pk])
    job.refresh_from_db()
    assert visit.status == V.SCHEDULED
    assert visit.duration_minutes == 90  # the job's estimate
    assert (visit.window_start, visit.window_end) == (at(1, 9), at(1, 11))  # the default two-hour window
    assert [(c.technician_id, c.is_lead) for c in visit.crew.all()] == [(tech_a.pk, True), (tech_b.pk, False)]
    assert job.status == JobStatus.SCHEDULED
    assert set(job.technicians.all()) == {tech_a, tech_b}
    assert job.next_visit_at == at(1, 9)
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.STATUS, new_value=JobStatus.SCHEDULED).count() == 1


def test_multi_day_work_creates_one_visit_per_day(dispatcher, job, tech_a):
    visits = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 8), duration_minutes=480, lead_id=tech_a.pk, days=3)
    assert [(v.number, v.scheduled_start) for v in visits] == [(1, at(1, 8)), (2, at(2, 8)), (3, at(3, 8))]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window_start": at(1, 11), "window_end": at(1, 9)}, "window_end"),
        ({"window_start": at(1, 8), "window_end": at(2, 9)}, "window_start"),
        ({"window_start": at(1, 10), "window_end": at(1, 12)}, "start"),
        ({"lead_id": 999999}, "lead"),
        ({"duration_minutes": 2}, "duration_minutes"),
    ],
)
def test_bad_slots_are_refused_and_change_nothing(dispatcher, job, tech_a, kwargs, field):
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), **{"lead_id": tech_a.pk, **kwargs})
    assert field in refused.value.fields
    assert snapshot() == before


def test_availability_problems_are_explained_and_only_a_manager_may_override(dispatcher, manager, job, tech_a):
    skill = SkillFactory(name="Gas")
    job.required_skills.add(skill)
    WeeklyShift.objects.filter(technician=tech_a).update(start=time(8), end=time(12))
    TimeOff.objects.create(technician=tech_a, start=at(1, 13), end=at(1, 15), reason="Dentist")
    other = JobFactory()
    visit_schedule(actor=manager, job_id=other.pk, start=at(1, 10), duration_minutes=60, lead_id=tech_a.pk)
    before = snapshot()
    with pytest.raises(SchedulingConflict) as refused:
        visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 10, 30), duration_minutes=180, lead_id=tech_a.pk, override_reason="Customer insists")
    codes = sorted(p["code"] for p in refused.value.details["problems"])
    assert codes == ["double_booking", "missing_skills", "outside_shift", "time_off"]
    assert refused.value.message.startswith("Only a manager may override")
    assert snapshot() == before

    [visit] = visit_schedule(actor=manager, job_id=job.pk, start=at(1, 10, 30), duration_minutes=180, lead_id=tech_a.pk, override_reason="Customer insists")
    override = visit.events.get(kind=VisitEvent.Kind.OVERRIDE)
    assert override.data["reason"] == "Customer insists"
    assert "Dentist" in override.message
    assert JobEvent.objects.filter(job=job, message__contains="Checks overridden (Customer insists)").exists()


def test_stale_edit_is_refused_with_the_current_state(dispatcher, manager, job, tech_a, tech_b):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    visit_update(actor=manager, visit_id=visit.pk, version=visit.version, lead_id=tech_b.pk)
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, start=at(1, 10))
    assert refused.value.code == "stale"
    assert refused.value.details["current"]["lead"] == tech_b.pk
    assert snapshot() == before


def test_moving_a_visit_shifts_its_window_and_reassigns(dispatcher, job, tech_a, tech_b):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), window_start=at(1, 8), window_end=at(1, 10), lead_id=tech_a.pk)
    moved = visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, start=at(1, 13), lead_id=tech_b.pk)
    assert (moved.scheduled_start, moved.window_start, moved.window_end) == (at(1, 13), at(1, 12), at(1, 14))
    assert list(moved.crew.values_list("technician_id", flat=True)) == [tech_b.pk]
    assert set(Job.objects.get(pk=job.pk).technicians.all()) == {tech_b}


def test_the_field_flow_stamps_events_derives_time_and_moves_the_job(dispatcher, job, tech_a, tech_b):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 9), lead_id=tech_a.pk, helper_ids=[tech_b.pk])
    user = tech_a.user
    visit_transition(actor=user, visit_id=visit.pk, to=V.EN_ROUTE, lat=41.9, lng=-87.6)
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    visit_transition(actor=user, visit_id=visit.pk, to=V.ARRIVED)
    visit_transition(actor=user, visit_id=visit.pk, to=V.WORKING)
    visit_transition(actor=user, visit_id=visit.pk, to=V.PAUSED, reason="Waiting for the customer")
    visit_transition(actor=user, visit_id=visit.pk, to=V.WORKING)
    done = visit_finish_and_depart(actor=user, visit_id=visit.pk)
    assert (done.status, done.outcome) == (V.COMPLETED, Outcome.FINISHED)
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE
    statuses = list(visit.events.filter(kind=VisitEvent.Kind.STATUS).values_list("to_status", flat=True))
    assert statuses == [V.EN_ROUTE, V.ARRIVED, V.WORKING, V.PAUSED, V.WORKING, V.DEPARTED, V.COMPLETED]
    first = visit.events.get(to_status=V.EN_ROUTE)
    assert (float(first.lat), float(first.lng), first.actor) == (41.9, -87.6, user)
    entries = TimeEntry.objects.filter(visit=visit).order_by("technician_id", "start", "id")
    # Each crew member: travel, work before the pause, work after it — all closed.
    assert [(e.technician_id, e.kind) for e in entries] == sorted(
        [(t, k) for t in (tech_a.pk, tech_b.pk) for k in ("travel", "work", "work")], key=lambda x: (x[0], x[1] != "travel")
    )
    assert all(e.end is not None for e in entries)


def test_return_needed_drafts_a_return_visit(dispatcher, job, tech_a):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 9), lead_id=tech_a.pk)
    for to in (V.EN_ROUTE, V.ARRIVED, V.WORKING, V.DEPARTED):
        visit_transition(actor=tech_a.user, visit_id=visit.pk, to=to)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.COMPLETED, outcome=Outcome.RETURN_NEEDED)
    draft = Visit.objects.get(job=job, number=2)
    assert (draft.status, draft.return_of_id, draft.scheduled_start) == (V.UNSCHEDULED, visit.pk, None)
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS


@pytest.mark.parametrize(
    ("to", "kwargs", "error"),
    [
        (V.ARRIVED, {}, VisitRefused),  # skips en route
        (V.EN_ROUTE, {"expected": V.ARRIVED}, VisitRefused),  # a stale button
        (V.CANCELLED, {"reason": "x"}, VisitRefused),  # technicians cannot cancel
        (V.EN_ROUTE, {"lat": 91, "lng": 0}, InvalidInput),
    ],
)
def test_refused_transitions_change_nothing(dispatcher, job, tech_a, to, kwargs, error):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 9), lead_id=tech_a.pk)
    before = snapshot()
    with pytest.raises(error):
        visit_transition(actor=tech_a.user, visit_id=visit.pk, to=to, **kwargs)
    assert snapshot() == before


def test_a_technician_off_the_crew_cannot_move_the_visit(dispatcher, job, tech_a, tech_b):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 9), lead_id=tech_a.pk)
    before = snapshot()
    with pytest.raises(VisitRefused) as refused:
        visit_transition(actor=tech_b.user, visit_id=visit.pk, to=V.EN_ROUTE)
    assert refused.value.code == "forbidden"
    assert snapshot() == before
