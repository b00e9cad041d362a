"""The dispatch API, visits: scheduling, reading and listing, editing and crews — with who may do
what, the error body, and that refused calls change nothing."""

from datetime import time

import pytest

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.crew.models import WeeklyShift
from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.dispatch.models import CrewMember, Visit, VisitEvent
from serviceopus.jobs.models import JobTechnician
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, SkillFactory, TechnicianFactory

from .api_support import V, _ids, at, day_of, iso, parsed, put, snapshot

pytestmark = pytest.mark.django_db


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
