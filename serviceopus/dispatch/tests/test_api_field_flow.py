"""The dispatch API, the field flow: transitions, finish & depart, timelines, crew suggestions, a
technician's day, idempotent retries and the OpenAPI document."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.dispatch.models import CrewMember, Visit, VisitEvent
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from tests.factories import AssetFactory, ContactFactory, JobFactory, LocationFactory, SkillFactory, TechnicianFactory

from .api_support import _ids, at, day_of, iso, snapshot

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


def test_a_start_with_any_iso_offset_is_the_same_instant(dispatcher, job, tech_a):
    """ISO 8601 allows offsets up to ±23:59; PostgreSQL stores only ±15:59: the API works in UTC."""
    api = api_client(dispatcher)
    start = at(1, 9)
    far_offset = start.astimezone(timezone.get_fixed_timezone(-(23 * 60 + 5))).isoformat()
    assert far_offset.endswith("-23:05")
    plain = api.get(f"/jobs/{job.pk}/crew-suggestions", {"start": iso(start), "duration_minutes": 60})
    offset = api.get(f"/jobs/{job.pk}/crew-suggestions", {"start": far_offset, "duration_minutes": 60})
    assert (plain.status_code, offset.status_code) == (200, 200)
    assert offset.json() == plain.json()


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
