"""problem_for_day: which visits and technicians a day's plan is made of, read from the database."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from serviceopus.crew.models import TimeOff, WeeklyShift
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.planner.builder import BLOCKED_BY_PARTS, problem_for_day, working_hours
from serviceopus.dispatch.planner.model import Place, Reason, pre_check
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import PartsReadiness, Priority
from tests.factories import JobFactory, JobTypeFactory, LocationFactory, SkillFactory, TechnicianFactory, UserFactory, VisitFactory

pytestmark = pytest.mark.django_db
V = VisitStatus
DAY = date(2026, 3, 10)  # a Tuesday (weekday 1)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def technician(name: str, *, shifts=((8, 17),), skills=(), home=(Decimal("41.900000"), Decimal("-87.650000"))):  # type: ignore[no-untyped-def]
    tech = TechnicianFactory(user=UserFactory(first_name=name, last_name="Tech"), shifts=[], home_lat=home[0], home_lng=home[1])
    WeeklyShift.objects.bulk_create([WeeklyShift(technician=tech, weekday=DAY.weekday(), start=time(a), end=time(b)) for a, b in shifts])
    tech.skills.add(*skills)
    return tech


def visit_on(hour: int | None, *, crew=(), status=V.SCHEDULED, job=None, locked=False, window=None, lat="41.880000"):  # type: ignore[no-untyped-def]
    job = job or JobFactory(location=LocationFactory(lat=Decimal(lat) if lat else None, lng=Decimal("-87.630000") if lat else None))
    start = at(hour) if hour is not None else None
    ws, we = window or ((start, start + timedelta(hours=2)) if start else (None, None))
    return VisitFactory(job=job, scheduled_start=start, window_start=ws, window_end=we, status=status, crew=list(crew), locked=locked)


def test_the_days_plannable_visits_with_their_facts():
    heat, gas = SkillFactory(name="Heating"), SkillFactory(name="Gas")
    alex = technician("Alex", skills=[heat])
    job_type = JobTypeFactory(name="Boiler service")
    job_type.required_skills.add(gas)
    job = JobFactory(job_type=job_type, priority=Priority.HIGH)
    job.required_skills.add(heat)
    free = visit_on(9, job=job)
    assigned = visit_on(10, crew=[alex])
    locked = visit_on(13, crew=[alex], locked=True)
    drafted = visit_on(None, status=V.UNSCHEDULED, window=(at(14), at(16)))
    # Not planned: started, over, cancelled, another day.
    visit_on(11, crew=[alex], status=V.EN_ROUTE)
    visit_on(12, status=V.COMPLETED)
    visit_on(12, status=V.CANCELLED)
    VisitFactory(scheduled_start=at(9, day=DAY + timedelta(days=1)))

    data = problem_for_day(DAY)

    problem = data.problem
    assert [v.id for v in problem.visits] == [free.pk, assigned.pk, locked.pk, drafted.pk]
    first = problem.visit_by_id[free.pk]
    assert first.required_skill_ids == {heat.pk, gas.pk}  # the job's and its type's
    assert (first.priority, first.must, first.duration_minutes) == (Priority.HIGH, False, 60)
    assert (first.window_start, first.window_end) == (at(9), at(11))
    assert first.place == Place(41.88, -87.63)
    assert first.label == f"{job.number} visit {free.number}"
    assert problem.visit_by_id[assigned.pk].locked_technician_id is None  # may move
    assert (problem.visit_by_id[locked.pk].locked_technician_id, problem.visit_by_id[locked.pk].locked_start) == (alex.pk, at(13))
    assert (problem.visit_by_id[drafted.pk].window_start, problem.visit_by_id[drafted.pk].window_end) == (at(14), at(16))
    assert data.snapshots[assigned.pk].technician_id == alex.pk
    assert data.snapshots[assigned.pk].version == assigned.version
    assert data.snapshots[locked.pk].why_fixed == "Locked on the visit page."
    [tech] = problem.technicians
    assert (tech.id, tech.name, tech.shift_start, tech.shift_end) == (alex.pk, "Alex Tech", at(8), at(17))
    assert tech.start_place == tech.end_place == Place(41.9, -87.65)
    assert tech.skill_ids == {heat.pk}


def test_only_unassigned_keeps_assigned_visits_in_place():
    alex = technician("Alex")
    assigned = visit_on(10, crew=[alex])
    data = problem_for_day(DAY, include_assigned=False)
    v = data.problem.visit_by_id[assigned.pk]
    assert (v.locked_technician_id, v.locked_start) == (alex.pk, at(10))
    assert data.snapshots[assigned.pk].locked


def test_a_crew_of_several_keeps_its_lead_and_time():
    alex, blair = technician("Alex"), technician("Blair")
    pair = visit_on(10, crew=[alex, blair])
    v = problem_for_day(DAY).problem.visit_by_id[pair.pk]
    assert (v.locked_technician_id, v.locked_start) == (alex.pk, at(10))


def test_urgent_jobs_must_be_served():
    urgent = visit_on(9, job=JobFactory(priority=Priority.URGENT))
    assert problem_for_day(DAY).problem.visit_by_id[urgent.pk].must


def test_blocked_by_parts_is_held_back_with_its_reason():
    strict = JobTypeFactory(name="Install", requires_materials_ready=True)
    blocked = visit_on(9, job=JobFactory(parts_readiness=PartsReadiness.BLOCKED))
    partial_strict = visit_on(10, job=JobFactory(parts_readiness=PartsReadiness.PARTIAL, job_type=strict))
    partial_lenient = visit_on(11, job=JobFactory(parts_readiness=PartsReadiness.PARTIAL))
    data = problem_for_day(DAY)
    assert [v.id for v in data.problem.visits] == [partial_lenient.pk]
    assert [(u.visit_id, u.code) for u in data.held_back] == [(blocked.pk, BLOCKED_BY_PARTS), (partial_strict.pk, BLOCKED_BY_PARTS)]
    assert set(data.snapshots) == {blocked.pk, partial_strict.pk, partial_lenient.pk}


def test_no_coordinates_comes_back_unassigned_from_pre_check():
    technician("Alex")
    nowhere = visit_on(9, lat=None)
    data = problem_for_day(DAY)
    assert data.problem.visit_by_id[nowhere.pk].place is None
    _, unassigned = pre_check(data.problem)
    assert [(u.visit_id, u.code) for u in unassigned] == [(nowhere.pk, Reason.NO_COORDINATES)]


def test_technicians_without_shift_or_home_or_who_are_off():
    technician("Alex", shifts=())
    technician("Blair", home=(None, None))
    casey = technician("Casey")
    TimeOff.objects.create(technician=casey, start=at(0), end=at(23, 59), reason="Holiday")
    technician("Inactive").__class__.objects.filter(user__first_name="Inactive").update(active=False)
    data = problem_for_day(DAY)
    assert sorted((t.name, t.works) for t in data.problem.technicians) == [("Alex Tech", False), ("Casey Tech", False)]
    assert sorted((i.name, i.reason) for i in data.idle) == [
        ("Alex Tech", "No shift on this weekday."),
        ("Blair Tech", "No home base on file, so a route cannot start anywhere."),
        ("Casey Tech", "Off all day (Holiday)."),
    ]


def _shifts(*spans):  # type: ignore[no-untyped-def]
    return [WeeklyShift(weekday=DAY.weekday(), start=time(*a), end=time(*b)) for a, b in spans]


def _off(a, b):  # type: ignore[no-untyped-def]
    return TimeOff(start=at(*a), end=at(*b))


def test_working_hours_split_shift_is_one_shift_with_a_break():
    start, end, rest, _ = working_hours(DAY, _shifts(((8,), (12,)), ((13,), (17,))), [])
    assert (start, end) == (at(8), at(17))
    assert rest is not None
    assert (rest.earliest_start, rest.latest_end, rest.minutes) == (at(12), at(13), 60)


def test_working_hours_time_off_trims_or_breaks():
    assert working_hours(DAY, _shifts(((8,), (17,))), [_off((7,), (10,))])[:2] == (at(10), at(17))
    assert working_hours(DAY, _shifts(((8,), (17,))), [_off((15,), (18,))])[:2] == (at(8), at(15))
    start, end, rest, _ = working_hours(DAY, _shifts(((8,), (17,))), [_off((11,), (11, 30))])
    assert (start, end, rest.earliest_start, rest.minutes) == (at(8), at(17), at(11), 30)  # type: ignore[union-attr]
    # A split shift already has its break: other time off cuts the shift to its longer side.
    start, end, rest, _ = working_hours(DAY, _shifts(((8,), (12,)), ((13,), (17,))), [_off((15,), (15, 30))])
    assert (start, end, rest.earliest_start) == (at(8), at(15), at(12))  # type: ignore[union-attr]
    assert working_hours(DAY, _shifts(((8,), (17,))), [_off((6,), (20,))])[:3] == (None, None, None)


def test_query_count_does_not_grow(django_assert_num_queries):
    skill = SkillFactory(name="Heating")
    techs = [technician(f"T{i}", skills=[skill]) for i in range(2)]
    visit_on(9, crew=[techs[0]])
    with django_assert_num_queries(8):
        problem_for_day(DAY)
    for i in range(6):
        job = JobFactory()
        job.required_skills.add(skill)
        visit_on(9 + i, crew=[techs[i % 2]], job=job)
    techs += [technician(f"U{i}", skills=[skill]) for i in range(3)]
    with django_assert_num_queries(8):
        data = problem_for_day(DAY)
    assert len(data.problem.visits) == 7
    assert len(data.problem.technicians) == 5
    assert Visit.objects.count() == 7
