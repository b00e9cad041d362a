"""The dispatch API: visits (list, one, schedule, edit, crew, transitions, finish & depart, timeline),
crew suggestions and a technician's day — with who may do what, the error body, and that refused
calls change nothing."""

import json
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from serviceopus.api.tests.client import BASE, api_client, error_of, field_paths
from serviceopus.crew.models import WeeklyShift
from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.dispatch.models import CrewMember, Visit, VisitEvent
from serviceopus.dispatch.status import VisitStatus
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import Job, JobEvent, JobTechnician
from serviceopus.jobs.status import JobStatus
from tests.factories import AssetFactory, ContactFactory, JobFactory, LocationFactory, SkillFactory, TechnicianFactory

pytestmark = pytest.mark.django_db

V = VisitStatus


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """An aware local time `day_offset` days from today."""
    day = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def iso(moment: datetime) -> str:
    return moment.isoformat()


def parsed(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def day_of(offset: int) -> str:
    return (timezone.localdate() + timedelta(days=offset)).isoformat()


def snapshot():  # type: ignore[no-untyped-def]
    """Everything a dispatch call could change."""
    return (
        list(Visit.objects.order_by("pk").values()),
        list(CrewMember.objects.order_by("pk").values()),
        list(VisitEvent.objects.order_by("pk").values()),
        list(Job.objects.order_by("pk").values()),
        list(JobTechnician.objects.order_by("pk").values()),
        JobEvent.objects.count(),
        list(TimeEntry.objects.order_by("pk").values()),
    )


@pytest.fixture
def job(db):  # type: ignore[no-untyped-def]
    return JobFactory(estimated_duration_minutes=90)


@pytest.fixture
def visit(dispatcher, job, tech_a):  # type: ignore[no-untyped-def]
    """Tomorrow 09:00, tech A leading."""
    [made] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    return made


@pytest.fixture
def today_visit(dispatcher, job, tech_a):  # type: ignore[no-untyped-def]
    [made] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 9), lead_id=tech_a.pk)
    return made


def put(api, path: str, body: dict):  # type: ignore[no-untyped-def]
    return api.client.put(BASE + path, json.dumps(body), content_type="application/json", headers=api._headers())


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


# ---- schedule -------------------------------------------------------------------------------------


def test_schedule_a_visit_with_a_crew(dispatcher, job, tech_a, tech_b):
    body = {"start": iso(at(1, 9)), "lead_id": tech_a.pk, "helper_ids": [tech_b.pk], "crew_notes": "Bring the ladder"}
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/visits", body)
    assert response.status_code == 201, response.content
    [created] = response.json()
    visit = Visit.objects.get()
    assert created["id"] == visit.pk
    assert created["job"] == {"id": job.pk, "number": job.number}
    assert (created["number"], created["status"], created["duration_minutes"], created["version"]) == (1, "scheduled", 90, 1)
    assert parsed(created["scheduled_start"]) == at(1, 9)
    assert parsed(created["scheduled_end"]) == at(1, 10, 30)
    assert (parsed(created["window_start"]), parsed(created["window_end"])) == (at(1, 9), at(1, 11))  # the default window
    assert created["lead"] == {"id": tech_a.pk, "name": "Alex Tech"}
    assert created["helpers"] == [{"id": tech_b.pk, "name": "Blair Tech"}]
    assert created["crew_notes"] == "Bring the ladder"
    assert created["customer"] == {"id": job.customer_id, "name": job.customer.name}
    assert created["allowed_transitions"] == ["cancelled", "en_route"]
    # The job follows: scheduled, and its technicians are the visit's crew (read-only on the job).
    job_body = api_client(dispatcher).get(f"/jobs/{job.pk}").json()
    assert job_body["status"] == "scheduled"
    assert job_body["technicians"] == [{"id": tech_a.pk, "name": "Alex Tech"}, {"id": tech_b.pk, "name": "Blair Tech"}]


def test_multi_day_work_and_drafts(dispatcher, job, tech_a):
    api = api_client(dispatcher)
    response = api.post(f"/jobs/{job.pk}/visits", {"start": iso(at(1, 8)), "duration_minutes": 480, "lead_id": tech_a.pk, "days": 3})
    assert response.status_code == 201, response.content
    assert [(v["number"], parsed(v["scheduled_start"])) for v in response.json()] == [(1, at(1, 8)), (2, at(2, 8)), (3, at(3, 8))]
    draft = api.post(f"/jobs/{job.pk}/visits", {}).json()
    assert [(v["number"], v["status"], v["scheduled_start"], v["lead"]) for v in draft] == [(4, "unscheduled", None, None)]


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"window_start": iso(at(1, 11)), "window_end": iso(at(1, 9))}, "body.window_end"),  # ends before it starts
        ({"window_start": iso(at(1, 8)), "window_end": iso(at(2, 9))}, "body.window_start"),  # outside the visit's day
        ({"window_start": iso(at(1, 10)), "window_end": iso(at(1, 12))}, "body.start"),  # start outside the window
        ({"lead_id": 999999}, "body.lead_id"),  # unknown technician
        ({"helper_ids": [999999]}, "body.helper_ids"),
        ({"duration_minutes": 2}, "body.duration_minutes"),
        ({"duration_minutes": "60"}, "body.duration_minutes"),  # strict: no coercion
        ({"days": 15}, "body.days"),
        ({"start": "2030-01-15T09:30:00"}, "body.start"),  # no offset
        ({"crew_notes": "a\x00b"}, "body.crew_notes"),
        ({"technicians": [1]}, "body.technicians"),  # unknown field
    ],
)
def test_bad_schedules_are_422_and_change_nothing(dispatcher, job, tech_a, extra, path):
    before = snapshot()
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/visits", {"start": iso(at(1, 9)), "lead_id": tech_a.pk, **extra})
    assert response.status_code == 422, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field_paths(response) == {path}
    assert snapshot() == before


def test_a_skill_mismatch_is_409_with_every_problem_until_a_manager_overrides(dispatcher, manager, job, tech_a):
    job.required_skills.add(SkillFactory(name="Gas"))
    WeeklyShift.objects.filter(technician=tech_a).update(start=time(8), end=time(10))
    body = {"start": iso(at(1, 9)), "lead_id": tech_a.pk}
    before = snapshot()
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/visits", {**body, "override_reason": "Customer insists"})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "scheduling_conflict"
    assert sorted(p["code"] for p in error["details"]["problems"]) == ["missing_skills", "outside_shift"]
    assert error["details"]["can_override"] is False
    assert snapshot() == before

    response = api_client(manager).post(f"/jobs/{job.pk}/visits", {**body, "override_reason": "Customer insists"})
    assert response.status_code == 201, response.content
    assert VisitEvent.objects.filter(kind=VisitEvent.Kind.OVERRIDE, data__reason="Customer insists").count() == 1


def test_technicians_may_not_schedule(job, tech_a, tech_b):
    JobTechnician.objects.create(job=job, technician=tech_a)
    other = JobFactory()
    before = snapshot()
    response = api_client(tech_a.user).post(f"/jobs/{job.pk}/visits", {"start": iso(at(1, 9)), "lead_id": tech_a.pk})
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    response = api_client(tech_a.user).post(f"/jobs/{other.pk}/visits", {"start": iso(at(1, 9))})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    assert snapshot() == before


def test_a_closed_job_takes_no_visits(dispatcher):
    closed = JobFactory(status=JobStatus.CLOSED)
    response = api_client(dispatcher).post(f"/jobs/{closed.pk}/visits", {"start": iso(at(1, 9))})
    assert (response.status_code, error_of(response)["code"]) == (409, "job_closed")
    assert not Visit.objects.exists()


# ---- read -----------------------------------------------------------------------------------------


def test_one_visit_and_who_may_read_it(dispatcher, visit, tech_a, tech_b):
    body = api_client(dispatcher).get(f"/visits/{visit.pk}").json()
    assert (body["id"], body["status"], body["version"], body["outcome"], body["return_of"]) == (visit.pk, "scheduled", 1, "", None)
    for stamp in ("en_route_at", "arrived_at", "paused_at", "departed_at", "completed_at", "last_lat", "last_lng"):
        assert body[stamp] is None, stamp
    assert api_client(tech_a.user).get(f"/visits/{visit.pk}").json() == body
    response = api_client(tech_b.user).get(f"/visits/{visit.pk}")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    assert api_client(dispatcher).get("/visits/999999").status_code == 404


def test_list_filters_by_day_technician_job_and_status(dispatcher, job, tech_a, tech_b):
    api = api_client(dispatcher)
    [a_tomorrow] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    other_job = JobFactory()
    [b_tomorrow_early] = visit_schedule(actor=dispatcher, job_id=other_job.pk, start=at(1, 8), lead_id=tech_b.pk)
    [a_later] = visit_schedule(actor=dispatcher, job_id=other_job.pk, start=at(2, 9), lead_id=tech_a.pk, helper_ids=[tech_b.pk])
    [draft] = visit_schedule(actor=dispatcher, job_id=job.pk, start=None)
    assert _ids(api.get("/visits")) == [a_tomorrow.pk, b_tomorrow_early.pk, a_later.pk, draft.pk]  # the order they were made
    assert _ids(api.get("/visits", {"day": day_of(1)})) == [b_tomorrow_early.pk, a_tomorrow.pk]  # time order
    assert _ids(api.get("/visits", {"technician": tech_b.pk})) == [b_tomorrow_early.pk, a_later.pk]
    assert _ids(api.get("/visits", {"job": job.pk})) == [a_tomorrow.pk, draft.pk]
    assert _ids(api.get("/visits", {"status": ["unscheduled"]})) == [draft.pk]
    assert _ids(api.get("/visits", {"status": ["scheduled"], "day": day_of(2), "technician": tech_b.pk})) == [a_later.pk]


def test_a_technician_lists_only_visits_whose_crew_they_are_on(dispatcher, job, tech_a, tech_b):
    [mine] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    [shared] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(2, 9), lead_id=tech_b.pk, helper_ids=[tech_a.pk])
    visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_b.pk)
    visit_schedule(actor=dispatcher, job_id=job.pk, start=None)
    api = api_client(tech_a.user)
    assert _ids(api.get("/visits")) == [mine.pk, shared.pk]
    # Filtering by someone else does not reveal their visits.
    assert _ids(api.get("/visits", {"technician": tech_b.pk})) == [shared.pk]
    assert _ids(api.get("/visits", {"job": job.pk, "day": day_of(1)})) == [mine.pk]


def test_the_list_pages_forwards_and_back_in_time_order(dispatcher, tech_a):
    made = []
    for hour in (13, 9, 11, 9, 15):
        made += visit_schedule(actor=dispatcher, job_id=JobFactory().pk, start=at(1, hour), duration_minutes=30, lead_id=None)
    expected = [v.pk for v in sorted(made, key=lambda v: (v.scheduled_start, v.pk))]
    api = api_client(dispatcher)
    seen, cursor, pages = [], None, []
    while True:
        body = api.get("/visits", {"day": day_of(1), "limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        pages.append(body)
        seen += [v["id"] for v in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    back = api.get("/visits", {"day": day_of(1), "limit": 2, "cursor": pages[-1]["prev_cursor"]}).json()
    assert [v["id"] for v in back["items"]] == [v["id"] for v in pages[-2]["items"]]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"day": "2030-02-30"}, "query.day"),
        ({"status": ["lost"]}, "query.status.0"),
        ({"technician": "alex"}, "query.technician"),
        ({"limit": 101}, "query.limit"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
    ],
)
def test_the_list_refuses_bad_filters(dispatcher, params, path):
    response = api_client(dispatcher).get("/visits", params)
    assert response.status_code == 422
    assert field_paths(response) == {path}


@pytest.mark.parametrize("persona", ["dispatcher", "tech"])
def test_the_visit_list_costs_the_same_queries_for_3_and_30_visits(persona, dispatcher, tech_a, tech_b, django_assert_num_queries):
    user = dispatcher if persona == "dispatcher" else tech_a.user
    api = api_client(user)
    api.get("/visits")  # the token's first use is written once; count the steady state

    # The token; one page (with job, customer, address); the crews with their users.
    for total in (3, 30):
        CrewMember.objects.all().delete()
        Visit.objects.all().delete()
        for _ in range(total):
            made = Visit.objects.create(job=JobFactory(), number=1, scheduled_start=at(1, 9), window_start=at(1, 9), window_end=at(1, 11))
            CrewMember.objects.bulk_create([CrewMember(visit=made, technician=tech_a, is_lead=True), CrewMember(visit=made, technician=tech_b)])
        with django_assert_num_queries(3):
            assert len(api.get("/visits", {"limit": 100}).json()["items"]) == total
        with django_assert_num_queries(3):
            assert len(api.get("/visits", {"limit": 100, "day": day_of(1), "technician": tech_b.pk, "status": ["scheduled"]}).json()["items"]) == total


# ---- edit and crew ---------------------------------------------------------------------------------


def test_reschedule_with_the_current_version(dispatcher, visit, tech_b):
    response = api_client(dispatcher).patch(f"/visits/{visit.pk}", {"version": 1, "start": iso(at(1, 13)), "lead_id": tech_b.pk, "crew_notes": "Side gate"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert parsed(body["scheduled_start"]) == at(1, 13)
    assert (parsed(body["window_start"]), parsed(body["window_end"])) == (at(1, 13), at(1, 15))  # the window moves along
    assert (body["lead"]["id"], body["crew_notes"], body["version"]) == (tech_b.pk, "Side gate", 2)
    assert VisitEvent.objects.filter(visit=visit, kind=VisitEvent.Kind.RESCHEDULED).count() == 1


def test_a_stale_edit_is_409_with_the_current_state_and_overwrites_nothing(dispatcher, manager, visit, tech_b):
    assert put(api_client(manager), f"/visits/{visit.pk}/crew", {"version": 1, "lead_id": tech_b.pk}).status_code == 200
    before = snapshot()
    response = api_client(dispatcher).patch(f"/visits/{visit.pk}", {"version": 1, "start": iso(at(1, 14))})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "stale"
    assert (error["details"]["current"]["version"], error["details"]["current"]["lead"]) == (2, tech_b.pk)
    assert snapshot() == before


def test_time_cannot_move_once_the_crew_set_off(dispatcher, today_visit):
    visit_transition(actor=dispatcher, visit_id=today_visit.pk, to=V.EN_ROUTE)
    before = snapshot()
    response = api_client(dispatcher).patch(f"/visits/{today_visit.pk}", {"version": 2, "start": iso(at(0, 11))})
    assert (response.status_code, error_of(response)["code"]) == (409, "visit_started")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"version": 1, "window_start": iso(at(1, 11)), "window_end": iso(at(1, 10))}, "body.window_end"),
        ({"version": 1, "lead_id": 999999}, "body.lead_id"),
        ({"version": 1, "duration_minutes": None}, "body.duration_minutes"),
        ({"version": 0}, "body.version"),
        ({"start": iso(at(1, 10))}, "body.version"),
        ({"version": 1, "status": "completed"}, "body.status"),
    ],
)
def test_bad_edits_are_422_and_change_nothing(dispatcher, visit, body, path):
    before = snapshot()
    response = api_client(dispatcher).patch(f"/visits/{visit.pk}", body)
    assert response.status_code == 422, response.content
    assert field_paths(response) == {path}
    assert snapshot() == before


def test_assign_a_crew_replaces_it_and_the_jobs_technicians_follow(dispatcher, job, visit, tech_a, tech_b):
    tech_c = TechnicianFactory()
    response = put(api_client(dispatcher), f"/visits/{visit.pk}/crew", {"version": 1, "lead_id": tech_b.pk, "helper_ids": [tech_c.pk]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["lead"]["id"], [h["id"] for h in body["helpers"]], body["version"]) == (tech_b.pk, [tech_c.pk], 2)
    assert set(job.technicians.all()) == {tech_b, tech_c}
    # Unknown ids and a helper without a lead are field errors; nothing changes.
    before = snapshot()
    for payload, path in (({"version": 2, "lead_id": 999999}, "body.lead_id"), ({"version": 2, "lead_id": None, "helper_ids": [tech_a.pk]}, "body.lead_id")):
        response = put(api_client(dispatcher), f"/visits/{visit.pk}/crew", payload)
        assert response.status_code == 422, response.content
        assert field_paths(response) == {path}
    assert snapshot() == before


def test_technicians_may_not_edit_or_reassign(visit, tech_a, tech_b):
    before = snapshot()
    own = api_client(tech_a.user)
    response = own.patch(f"/visits/{visit.pk}", {"version": 1, "start": iso(at(1, 10))})
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    response = put(own, f"/visits/{visit.pk}/crew", {"version": 1, "lead_id": tech_b.pk})
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    response = put(api_client(tech_b.user), f"/visits/{visit.pk}/crew", {"version": 1, "lead_id": tech_b.pk})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    assert snapshot() == before


# ---- transitions ------------------------------------------------------------------------------------


def test_a_technician_walks_the_field_flow(job, today_visit, tech_a):
    api = api_client(tech_a.user)
    path = f"/visits/{today_visit.pk}/transitions"
    response = api.post(path, {"to": "en_route", "expected": "scheduled", "lat": "41.900000", "lng": "-87.6"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["version"], body["last_lat"], body["last_lng"]) == ("en_route", 2, "41.900000", "-87.600000")
    assert body["en_route_at"] is not None
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    for step in ({"to": "arrived"}, {"to": "working"}, {"to": "paused", "reason": "Waiting for parts"}):
        assert api.post(path, step).status_code == 200
    assert api.get(f"/visits/{today_visit.pk}").json()["pause_reason"] == "Waiting for parts"
    assert api.post(path, {"to": "working"}).status_code == 200
    done = api.post(f"/visits/{today_visit.pk}/finish-and-depart", {"expected": "working"})
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["outcome"]) == ("completed", "finished")
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE
    statuses = list(VisitEvent.objects.filter(visit=today_visit, kind="status").values_list("to_status", flat=True))
    assert statuses == ["en_route", "arrived", "working", "paused", "working", "departed", "completed"]


def test_complete_with_return_needed_drafts_a_return_visit(dispatcher, today_visit):
    api = api_client(dispatcher)
    path = f"/visits/{today_visit.pk}/transitions"
    for to in ("en_route", "arrived", "working", "departed"):
        assert api.post(path, {"to": to}).status_code == 200
    response = api.post(path, {"to": "completed", "outcome": "return_needed"})
    assert response.status_code == 200, response.content
    [draft] = _ids(api.get("/visits", {"status": ["unscheduled"]}))
    assert api.get(f"/visits/{draft}").json()["return_of"] == today_visit.pk


@pytest.mark.parametrize(
    ("body", "status", "code", "path"),
    [
        ({"to": "arrived"}, 409, "not_allowed", None),  # skips en route
        ({"to": "en_route", "expected": "arrived"}, 409, "conflict", None),  # a stale button
        ({"to": "cancelled", "reason": "Sick"}, 403, "forbidden", None),  # only the office cancels
        ({"to": "paused", "reason": "Break"}, 409, "not_allowed", None),
        ({"to": "flying"}, 422, "invalid", "body.to"),
        ({"to": "en_route", "lat": "91", "lng": "0"}, 422, "invalid", "body.lat"),
        ({"to": "en_route", "lat": "41.9"}, 422, "invalid", "body.lat"),  # lat without lng
        ({"to": "en_route", "lat": 41.9, "lng": -87.6}, 422, "invalid", "body.lat"),  # numbers, not strings
        ({"to": "en_route", "reason": "x" * 201}, 422, "invalid", "body.reason"),
        ({"to": "en_route", "speed": 3}, 422, "invalid", "body.speed"),
    ],
)
def test_refused_transitions_have_the_error_shape_and_change_nothing(today_visit, tech_a, body, status, code, path):
    before = snapshot()
    response = api_client(tech_a.user).post(f"/visits/{today_visit.pk}/transitions", body)
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == code
    if path:
        assert path in field_paths(response)
    if code == "not_allowed":
        assert error["details"] == {"current_status": "scheduled", "allowed": ["cancelled", "en_route"], "version": 1}
    if code == "conflict":
        assert error["details"]["current_status"] == "scheduled"
    assert snapshot() == before


def test_pause_needs_a_reason_and_completion_an_outcome(dispatcher, today_visit):
    api = api_client(dispatcher)
    path = f"/visits/{today_visit.pk}/transitions"
    for to in ("en_route", "arrived", "working"):
        api.post(path, {"to": to})
    before = snapshot()
    response = api.post(path, {"to": "paused"})
    assert (response.status_code, field_paths(response)) == (422, {"body.reason"})
    assert snapshot() == before
    api.post(path, {"to": "departed"})
    before = snapshot()
    response = api.post(path, {"to": "completed"})
    assert (response.status_code, field_paths(response)) == (422, {"body.outcome"})
    assert snapshot() == before


def test_a_technician_off_the_crew_gets_404_and_the_office_may_cancel(dispatcher, today_visit, tech_b):
    before = snapshot()
    response = api_client(tech_b.user).post(f"/visits/{today_visit.pk}/transitions", {"to": "en_route"})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    response = api_client(tech_b.user).post(f"/visits/{today_visit.pk}/finish-and-depart", {})
    assert response.status_code == 404
    assert snapshot() == before
    response = api_client(dispatcher).post(f"/visits/{today_visit.pk}/transitions", {"to": "cancelled", "reason": "Customer away"})
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")


def test_finish_and_depart_is_refused_before_arrival(today_visit, tech_a):
    before = snapshot()
    response = api_client(tech_a.user).post(f"/visits/{today_visit.pk}/finish-and-depart", {})
    assert (response.status_code, error_of(response)["code"]) == (409, "not_allowed")
    assert snapshot() == before


def test_a_retried_transition_with_one_idempotency_key_has_one_effect(today_visit, tech_a):
    api = api_client(tech_a.user)
    first = api.post(f"/visits/{today_visit.pk}/transitions", {"to": "en_route"}, key="tap-1")
    second = api.post(f"/visits/{today_visit.pk}/transitions", {"to": "en_route"}, key="tap-1")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert second["Idempotent-Replayed"] == "true"
    assert VisitEvent.objects.filter(visit=today_visit, kind="status").count() == 1
    # The same key with another body is refused; without a key, a retry is a clear 409.
    other = api.post(f"/visits/{today_visit.pk}/transitions", {"to": "arrived"}, key="tap-1")
    assert (other.status_code, error_of(other)["code"]) == (422, "idempotency_key_reused")
    again = api.post(f"/visits/{today_visit.pk}/transitions", {"to": "en_route"})
    assert (again.status_code, error_of(again)["code"]) == (409, "not_allowed")


# ---- timeline -----------------------------------------------------------------------------------------


def test_the_timeline_has_durations_per_span(dispatcher, today_visit, tech_a):
    start = timezone.now() - timedelta(hours=2)
    steps = [("en_route", 0), ("arrived", 20), ("working", 25), ("paused", 55), ("working", 65), ("departed", 95)]
    for to, _ in steps:
        visit_transition(actor=tech_a.user, visit_id=today_visit.pk, to=to, reason="Parts" if to == "paused" else "")
    # Place the events at known moments (the actions stamp "now").
    for event, (_, minute) in zip(VisitEvent.objects.filter(visit=today_visit, kind="status").order_by("at", "id"), steps, strict=True):
        VisitEvent.objects.filter(pk=event.pk).update(at=start + timedelta(minutes=minute))
    body = api_client(tech_a.user).get(f"/visits/{today_visit.pk}/timeline").json()
    assert body["totals"] == {"travel": 20, "on_site": 75, "working": 60, "paused": 10}
    spans = [(e["to_status"], e["spent_as"], e["minutes"]) for e in body["entries"] if e["kind"] == "status"]
    assert spans == [
        ("en_route", "travel", 20),
        ("arrived", "on site", 5),
        ("working", "working", 30),
        ("paused", "paused", 10),
        ("working", "working", 30),
        ("departed", "", None),
    ]
    scheduled = next(e for e in body["entries"] if e["kind"] == "scheduled")
    assert (scheduled["spent_as"], scheduled["minutes"]) == ("", None)
    assert scheduled["actor"] == {"id": dispatcher.pk, "name": dispatcher.display_name}
    assert api_client(dispatcher).get("/visits/999999/timeline").status_code == 404


# ---- crew suggestions -------------------------------------------------------------------------------


def test_suggestions_rank_free_skilled_technicians_with_reasons(dispatcher, job, tech_a, tech_b):
    gas = SkillFactory(name="Gas")
    job.required_skills.add(gas)
    tech_a.skills.add(gas)
    tech_b.skills.add(gas)
    TechnicianFactory()  # lacks the skill: not suggested
    visit_schedule(actor=dispatcher, job_id=JobFactory().pk, start=at(1, 7), duration_minutes=60, lead_id=tech_b.pk)
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), duration_minutes=60)
    body = api_client(dispatcher).get(f"/visits/{visit.pk}/suggestions").json()
    assert [s["technician"]["id"] for s in body] == [tech_a.pk, tech_b.pk]  # B already has an hour booked
    first = body[0]
    assert set(first) == {"technician", "score", "reasons", "distance_km", "booked_minutes", "previous_technician"}
    assert first["reasons"]
    assert all(isinstance(r, str) for r in first["reasons"])
    assert body[1]["booked_minutes"] == 60
    # At another time B is busy and drops out.
    clash = api_client(dispatcher).get(f"/visits/{visit.pk}/suggestions", {"start": iso(at(1, 7, 30))}).json()
    assert [s["technician"]["id"] for s in clash] == [tech_a.pk]


def test_suggestions_for_a_job_need_a_start(dispatcher, job, tech_a):
    api = api_client(dispatcher)
    response = api.get(f"/jobs/{job.pk}/crew-suggestions")
    assert (response.status_code, field_paths(response)) == (422, {"query.start"})
    body = api.get(f"/jobs/{job.pk}/crew-suggestions", {"start": iso(at(1, 9)), "duration_minutes": 60}).json()
    assert [s["technician"]["id"] for s in body] == [tech_a.pk]
    [draft] = visit_schedule(actor=dispatcher, job_id=job.pk, start=None)
    response = api.get(f"/visits/{draft.pk}/suggestions")
    assert (response.status_code, field_paths(response)) == (422, {"query.start"})


def test_technicians_do_not_get_suggestions(visit, tech_a, tech_b, job):
    response = api_client(tech_a.user).get(f"/visits/{visit.pk}/suggestions")
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    response = api_client(tech_b.user).get(f"/visits/{visit.pk}/suggestions")
    assert response.status_code == 404
    response = api_client(tech_a.user).get(f"/jobs/{job.pk}/crew-suggestions", {"start": iso(at(1, 9))})
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")


# ---- a technician's day -----------------------------------------------------------------------------


def test_a_technicians_day_in_route_order_with_what_the_crew_needs(dispatcher, tech_a, tech_b):
    location = LocationFactory(access_notes="Dog in yard", gate_code="4412#")
    contact = ContactFactory(customer=location.customer, phone="555-0100")
    asset = AssetFactory(location=location)
    job = JobFactory(location=location, customer=location.customer, contact=contact, scope="No heat upstairs")
    job.assets.add(asset)
    [late] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 14), lead_id=tech_a.pk)
    [early] = visit_schedule(actor=dispatcher, job_id=JobFactory().pk, start=at(0, 8), lead_id=tech_b.pk, helper_ids=[tech_a.pk])
    visit_schedule(actor=dispatcher, job_id=JobFactory().pk, start=at(1, 8), lead_id=tech_a.pk)  # another day
    body = api_client(dispatcher).get(f"/technicians/{tech_a.pk}/day", {"day": day_of(0)}).json()
    assert (body["technician"], body["day"]) == ({"id": tech_a.pk, "name": "Alex Tech"}, day_of(0))
    assert [v["id"] for v in body["visits"]] == [early.pk, late.pk]
    card = body["visits"][1]
    assert card["scope"] == "No heat upstairs"
    assert (card["site"]["access_notes"], card["site"]["gate_code"]) == ("Dog in yard", "4412#")
    assert card["site"]["navigation_url"].startswith("https://www.google.com/maps/")
    assert card["contact"] == {"name": contact.name, "phone": "555-0100", "email": contact.email}
    assert card["assets"] == [{"id": asset.pk, "name": str(asset)}]
    # The technician themself: the same, by id or as /me/day (today by default).
    mine = api_client(tech_a.user)
    assert mine.get(f"/technicians/{tech_a.pk}/day", {"day": day_of(0)}).json() == body
    assert mine.get("/me/day").json() == body


def test_a_technician_cannot_read_another_technicians_day(dispatcher, tech_a, tech_b):
    response = api_client(tech_a.user).get(f"/technicians/{tech_b.pk}/day")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    response = api_client(dispatcher).get("/me/day")  # not a technician
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    response = api_client(dispatcher).get(f"/technicians/{tech_a.pk}/day", {"day": "tomorrow"})
    assert (response.status_code, field_paths(response)) == (422, {"query.day"})


def test_the_day_costs_the_same_queries_for_3_and_30_visits(tech_a):
    api = api_client(tech_a.user)
    api.get("/me/day")  # the token's first use is written once; count the steady state
    counts = []
    for total in (3, 30):
        while Visit.objects.filter(crew__technician=tech_a).count() < total:
            job = JobFactory()
            job.assets.add(AssetFactory(location=job.location))
            made = Visit.objects.create(job=job, number=1, scheduled_start=at(0, 9), window_start=at(0, 9), window_end=at(0, 11))
            CrewMember.objects.create(visit=made, technician=tech_a, is_lead=True)
        with CaptureQueriesContext(connection) as captured:
            assert len(api.get("/me/day").json()["visits"]) == total
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts


def test_scheduling_retried_with_one_idempotency_key_books_one_visit(dispatcher, job, tech_a):
    api = api_client(dispatcher)
    body = {"start": iso(at(1, 9)), "lead_id": tech_a.pk}
    first = api.post(f"/jobs/{job.pk}/visits", body, key="book-1")
    second = api.post(f"/jobs/{job.pk}/visits", body, key="book-1")
    assert (first.status_code, second.status_code, second["Idempotent-Replayed"]) == (201, 201, "true")
    assert first.content == second.content
    assert Visit.objects.count() == 1


# ---- the document -----------------------------------------------------------------------------------

OPERATIONS = {
    ("get", "/api/v1/visits"): ("200", "CursorPage_VisitOut_"),
    ("get", "/api/v1/visits/{visit_id}"): ("200", "VisitOut"),
    ("post", "/api/v1/jobs/{job_id}/visits"): ("201", "VisitOut"),
    ("patch", "/api/v1/visits/{visit_id}"): ("200", "VisitOut"),
    ("put", "/api/v1/visits/{visit_id}/crew"): ("200", "VisitOut"),
    ("post", "/api/v1/visits/{visit_id}/transitions"): ("200", "VisitOut"),
    ("post", "/api/v1/visits/{visit_id}/finish-and-depart"): ("200", "VisitOut"),
    ("get", "/api/v1/visits/{visit_id}/timeline"): ("200", "TimelineOut"),
    ("get", "/api/v1/visits/{visit_id}/suggestions"): ("200", "SuggestionOut"),
    ("get", "/api/v1/jobs/{job_id}/crew-suggestions"): ("200", "SuggestionOut"),
    ("get", "/api/v1/technicians/{technician_id}/day"): ("200", "DayOut"),
    ("get", "/api/v1/me/day"): ("200", "DayOut"),
    ("get", "/api/v1/jobs/{job_id}/time-entries"): ("200", "TimeEntryOut"),
    ("post", "/api/v1/jobs/{job_id}/time-entries"): ("201", "TimeEntryOut"),
    ("get", "/api/v1/technicians/{technician_id}/time-entries"): ("200", "TimeEntryOut"),
    ("get", "/api/v1/time-entries/{entry_id}"): ("200", "TimeEntryOut"),
    ("post", "/api/v1/time-entries/{entry_id}/approve"): ("200", "TimeEntryOut"),
    ("post", "/api/v1/time-entries/{entry_id}/corrections"): ("201", "TimeEntryOut"),
}


def test_the_openapi_document_lists_every_dispatch_and_time_operation():
    document = Client().get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    for (method, path), (ok, schema) in OPERATIONS.items():
        operation = document["paths"][path][method]
        answers = operation["responses"]
        assert schema in json.dumps(answers[ok]["content"]), (method, path)
        errors = {code for code in answers if int(code) >= 400}
        assert {"401", "404", "422"} <= errors, (method, path)
        if method != "get":
            assert {"403", "409"} <= errors, (method, path)
            body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            assert schemas[body]["additionalProperties"] is False, body
        if method == "post":
            assert [p["name"] for p in operation["parameters"] if p["in"] == "header"] == ["Idempotency-Key"], path
    assert "technician_ids" not in schemas["JobCreateIn"]["properties"]
    assert "technician_ids" not in schemas["JobPatch"]["properties"]
