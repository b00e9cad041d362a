"""The jobs API: list and filters, one job, create, edit, transition, line items, notes, timeline and
job types — with who may do what, and that refused writes change nothing."""

from datetime import UTC, datetime

import pytest

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.jobs.models import Job, JobEvent, JobType, LineItem, Note, Priority
from serviceopus.jobs.status import JobStatus
from tests.factories import (
    AssetFactory,
    ContactFactory,
    CustomerFactory,
    JobFactory,
    JobTypeFactory,
    LineItemFactory,
    LocationFactory,
    SkillFactory,
)

pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def _snapshot(job: Job) -> dict:
    return Job.objects.values().get(pk=job.pk)


# ---- list -------------------------------------------------------------------------------------------


def test_list_items_carry_what_a_card_shows(dispatcher, tech_a):
    job = JobFactory(priority=Priority.HIGH, technicians=[tech_a])
    job.tags.create(name="vip")
    item = api_client(dispatcher).get("/jobs").json()["items"][0]
    assert item == {
        "id": job.pk,
        "number": job.number,
        "status": "new",
        "priority": 3,
        "customer": {"id": job.customer.pk, "name": job.customer.name},
        "location": {"id": job.location.pk, "one_line": job.location.one_line},
        "job_type": {"id": job.job_type.pk, "name": job.job_type.name},
        "technicians": [{"id": tech_a.pk, "name": "Alex Tech"}],
        "tags": ["vip"],
        "next_visit_at": None,
        "parts_readiness": "",
        "created_at": item["created_at"],
        "version": 1,
    }


def test_list_filters_by_status_and_priority_with_repeats(dispatcher):
    new_low = JobFactory(status=JobStatus.NEW, priority=Priority.LOW)
    new_urgent = JobFactory(status=JobStatus.NEW, priority=Priority.URGENT)
    held = JobFactory(status=JobStatus.ON_HOLD, priority=Priority.URGENT)
    JobFactory(status=JobStatus.CLOSED, priority=Priority.URGENT)
    api = api_client(dispatcher)
    assert _ids(api.get("/jobs", {"status": ["new", "on_hold"]})) == [held.pk, new_urgent.pk, new_low.pk]
    assert _ids(api.get("/jobs", {"status": ["new", "on_hold"], "priority": ["4"]})) == [held.pk, new_urgent.pk]
    assert _ids(api.get("/jobs", {"priority": ["1", "2"]})) == [new_low.pk]


def test_list_filters_by_type_technician_tag_and_dates(dispatcher, tech_a):
    boiler = JobTypeFactory(name="Boiler")
    by_type = JobFactory(job_type=boiler)
    by_tech = JobFactory(technicians=[tech_a])
    tagged = JobFactory()
    tagged.tags.create(name="warranty")
    march = JobFactory(next_visit_at=datetime(2030, 3, 10, 15, 0, tzinfo=UTC))
    april = JobFactory(next_visit_at=datetime(2030, 4, 10, 15, 0, tzinfo=UTC))
    api = api_client(dispatcher)
    assert _ids(api.get("/jobs", {"job_type": boiler.pk})) == [by_type.pk]
    assert _ids(api.get("/jobs", {"technician": tech_a.pk})) == [by_tech.pk]
    assert _ids(api.get("/jobs", {"tag": "Warranty"})) == [tagged.pk]
    assert _ids(api.get("/jobs", {"date_from": "2030-03-01", "date_to": "2030-03-31"})) == [march.pk]
    assert _ids(api.get("/jobs", {"date_from": "2030-04-10"})) == [april.pk]
    assert _ids(api.get("/jobs", {"sort": "next_visit"})) == [march.pk, april.pk]


def test_list_searches_number_customer_address_and_scope(dispatcher):
    smith = JobFactory(location=LocationFactory(customer=CustomerFactory(name="Smith Bakery"), street="12 Elm Street"), scope="Oven thermostat")
    # Fixed names and address: random ones ("Smith Street", "Jane Smith") would match too.
    JobFactory(location=LocationFactory(customer=CustomerFactory(name="Jones Dental"), street="4 Oak Avenue"), scope="Leaking tap")
    api = api_client(dispatcher)
    assert _ids(api.get("/jobs", {"q": "smith"})) == [smith.pk]
    assert _ids(api.get("/jobs", {"q": "thermo"})) == [smith.pk]
    assert _ids(api.get("/jobs", {"q": smith.number})) == [smith.pk]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"sort": "cheapest"}, "query.sort"),
        ({"date_from": "2030-02-30"}, "query.date_from"),
        ({"date_to": "yesterday"}, "query.date_to"),
        ({"job_type": "boiler"}, "query.job_type"),
        ({"q": "x" * 201}, "query.q"),
    ],
)
def test_list_refuses_bad_filters(dispatcher, params, path):
    response = api_client(dispatcher).get("/jobs", params)
    assert response.status_code == 422
    assert field_paths(response) == {path}


def test_a_technician_lists_only_their_own_jobs(tech_a, tech_b):
    mine = JobFactory(technicians=[tech_a])
    JobFactory(technicians=[tech_b])
    JobFactory()
    api = api_client(tech_a.user)
    assert _ids(api.get("/jobs")) == [mine.pk]
    # Filtering by someone else does not reveal their jobs.
    assert _ids(api.get("/jobs", {"technician": tech_b.pk})) == []


@pytest.mark.parametrize("persona", ["dispatcher", "tech"])
def test_the_job_list_costs_the_same_queries_for_5_and_50_jobs(request, persona, tech_a, django_assert_num_queries):
    user = request.getfixturevalue("dispatcher") if persona == "dispatcher" else tech_a.user

    def add_jobs(n: int) -> None:
        for job in JobFactory.create_batch(n, technicians=[tech_a]):
            job.tags.create(name=f"tag-{job.pk}")

    # The token; [a technician's own row;] one page; technicians and tags prefetched.
    queries = 5 if persona == "tech" else 4
    api = api_client(user)
    api.get("/jobs")  # the token's first use is written once; count the steady state
    add_jobs(5)
    with django_assert_num_queries(queries):
        assert len(api.get("/jobs", {"limit": 100}).json()["items"]) == 5
    add_jobs(45)
    with django_assert_num_queries(queries):
        assert len(api.get("/jobs", {"limit": 100}).json()["items"]) == 50
    with django_assert_num_queries(queries + 1):  # the text search runs first, as its own query
        assert len(api.get("/jobs", {"limit": 100, "status": ["new"], "sort": "priority", "q": "furnace"}).json()["items"]) == 50


# ---- one job ----------------------------------------------------------------------------------------


def test_detail_has_the_whole_job(dispatcher, tech_a):
    job = JobFactory(technicians=[tech_a], contact=None)
    asset = AssetFactory(location=job.location)
    job.assets.add(asset)
    skill = SkillFactory(name="Gas")
    job.required_skills.add(skill)
    body = api_client(dispatcher).get(f"/jobs/{job.pk}").json()
    assert (body["id"], body["scope"], body["contact"]) == (job.pk, job.scope, None)
    assert body["assets"] == [{"id": asset.pk, "name": str(asset)}]
    assert body["required_skills"] == [{"id": skill.pk, "name": "Gas"}]
    assert body["allowed_transitions"] == ["cancelled", "on_hold", "scheduled"]


def test_a_technician_sees_an_assigned_job_and_404_for_the_others(tech_a, tech_b):
    mine, theirs = JobFactory(technicians=[tech_a]), JobFactory(technicians=[tech_b])
    api = api_client(tech_a.user)
    assert api.get(f"/jobs/{mine.pk}").status_code == 200
    for path in (f"/jobs/{theirs.pk}", f"/jobs/{theirs.pk}/line-items", f"/jobs/{theirs.pk}/notes", f"/jobs/{theirs.pk}/events"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"


# ---- create -----------------------------------------------------------------------------------------


@pytest.fixture
def site():  # type: ignore[no-untyped-def]
    location = LocationFactory()
    return {
        "location": location,
        "contact": ContactFactory(customer=location.customer),
        "asset": AssetFactory(location=location),
        "job_type": JobTypeFactory(name="Furnace repair", default_duration_minutes=120),
    }


def _create_body(site, **extra):  # type: ignore[no-untyped-def]
    return {
        "customer_id": site["location"].customer_id,
        "location_id": site["location"].pk,
        "job_type_id": site["job_type"].pk,
        "scope": "No heat upstairs",
        **extra,
    }


def test_create_a_job(dispatcher, site):
    body = _create_body(
        site,
        contact_id=site["contact"].pk,
        asset_ids=[site["asset"].pk],
        priority=4,
        tags=["VIP", " warranty "],
        source="quote",
        source_reference="Q-1001",
        next_visit_at="2030-01-15T09:30:00-06:00",
        billing_type="not_to_exceed",
        not_to_exceed_cents=50000,
    )
    response = api_client(dispatcher).post("/jobs", body)
    assert response.status_code == 201, response.content
    created = response.json()
    job = Job.objects.get(pk=created["id"])
    assert (job.status, job.priority, job.estimated_duration_minutes, job.created_by) == ("new", 4, 120, dispatcher)
    assert (job.source, job.source_reference, job.not_to_exceed_cents) == ("quote", "Q-1001", 50000)
    assert created["tags"] == ["vip", "warranty"]
    assert created["technicians"] == []  # technicians come from visits
    assert created["next_visit_at"] == "2030-01-15T15:30:00Z"
    assert created["contact"] == {"id": site["contact"].pk, "name": site["contact"].name}
    event = JobEvent.objects.get(job=job)
    assert (event.kind, event.actor, event.message) == ("created", dispatcher, "Created from Accepted quote Q-1001")


def test_create_reports_domain_errors_under_the_body_field_names(dispatcher, site):
    other = LocationFactory()
    site["job_type"].required_fields = ["contact"]
    site["job_type"].save()
    response = api_client(dispatcher).post("/jobs", _create_body(site, location_id=other.pk, asset_ids=[999999]))
    assert response.status_code == 422
    assert field_paths(response) == {"body.location_id", "body.asset_ids"}
    response = api_client(dispatcher).post("/jobs", _create_body(site))
    assert response.status_code == 422
    assert field_paths(response) == {"body.contact_id"}
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"scope": ""}, "body.scope"),
        ({"scope": "a\x00"}, "body.scope"),
        ({"priority": 5}, "body.priority"),
        ({"priority": "4"}, "body.priority"),
        ({"estimated_duration_minutes": 4}, "body.estimated_duration_minutes"),
        ({"tags": ["x" * 51]}, "body.tags.0"),
        ({"tags": ["İ" * 30]}, "body.tags.0"),  # 60 characters once lower-cased
        ({"next_visit_at": "2030-01-15T09:30:00"}, "body.next_visit_at"),
        ({"next_visit_at": "0001-01-01T00:00:00+14:00"}, "body.next_visit_at"),
        ({"billing_type": "barter"}, "body.billing_type"),
        ({"not_to_exceed_cents": 0}, "body.not_to_exceed_cents"),
        ({"status": "closed"}, "body.status"),
    ],
)
def test_create_refuses_bad_input_and_creates_nothing(dispatcher, site, extra, path):
    response = api_client(dispatcher).post("/jobs", _create_body(site, **extra))
    assert response.status_code == 422
    assert field_paths(response) == {path}
    assert not Job.objects.exists()


def test_a_technician_cannot_create_jobs(tech_a, site):
    response = api_client(tech_a.user).post("/jobs", _create_body(site))
    assert response.status_code == 403
    assert not Job.objects.exists()


# ---- edit -------------------------------------------------------------------------------------------


def test_edit_with_the_current_version(dispatcher, site, tech_a):
    job = JobFactory(location=site["location"], job_type=site["job_type"], technicians=[tech_a])
    response = api_client(dispatcher).patch(
        f"/jobs/{job.pk}",
        {"version": 1, "scope": "New scope", "priority": 4, "contact_id": site["contact"].pk, "tags": ["Roof"]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["scope"], body["priority"], body["version"], body["tags"]) == ("New scope", 4, 2, ["roof"])
    assert body["technicians"] == [{"id": tech_a.pk, "name": "Alex Tech"}]  # read-only, from visits
    assert JobEvent.objects.filter(job=job, kind="edited").count() == 1


@pytest.mark.parametrize("method", ["post", "patch"])
def test_technicians_are_not_job_input_they_come_from_visits(dispatcher, site, tech_a, method):
    job = JobFactory(location=site["location"], job_type=site["job_type"])
    api = api_client(dispatcher)
    if method == "post":
        response = api.post("/jobs", _create_body(site, technician_ids=[tech_a.pk]))
    else:
        response = api.patch(f"/jobs/{job.pk}", {"version": 1, "technician_ids": [tech_a.pk]})
    assert response.status_code == 422
    assert field_paths(response) == {"body.technician_ids"}
    assert Job.objects.count() == 1
    assert not job.technicians.exists()


def test_edit_can_clear_nullable_fields(dispatcher, site):
    job = JobFactory(location=site["location"], contact=site["contact"], next_visit_at=datetime(2030, 1, 1, tzinfo=UTC))
    body = api_client(dispatcher).patch(f"/jobs/{job.pk}", {"version": 1, "contact_id": None, "next_visit_at": None}).json()
    assert (body["contact"], body["next_visit_at"]) == (None, None)


def test_a_stale_edit_is_409_and_changes_nothing(dispatcher):
    job = JobFactory()
    api = api_client(dispatcher)
    assert api.patch(f"/jobs/{job.pk}", {"version": 1, "scope": "First"}).status_code == 200
    before = _snapshot(job)
    response = api.patch(f"/jobs/{job.pk}", {"version": 1, "scope": "Second"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "stale"
    assert _snapshot(job) == before


def test_edit_refuses_unknown_or_foreign_ids(dispatcher, site):
    job = JobFactory(location=site["location"])
    before = _snapshot(job)
    api = api_client(dispatcher)
    response = api.patch(f"/jobs/{job.pk}", {"version": 1, "contact_id": 999999, "asset_ids": [999999]})
    assert response.status_code == 422
    assert field_paths(response) == {"body.contact_id", "body.asset_ids"}
    response = api.patch(f"/jobs/{job.pk}", {"version": 1, "location_id": LocationFactory().pk})
    assert response.status_code == 422
    assert field_paths(response) == {"body.location_id"}
    assert api.patch(f"/jobs/{job.pk}", {"version": 1, "scope": None}).status_code == 422
    assert _snapshot(job) == before


def test_a_technician_may_not_edit_even_their_own_job(tech_a, tech_b):
    mine, theirs = JobFactory(technicians=[tech_a]), JobFactory(technicians=[tech_b])
    api = api_client(tech_a.user)
    assert api.patch(f"/jobs/{mine.pk}", {"version": 1, "scope": "x"}).status_code == 403
    assert api.patch(f"/jobs/{theirs.pk}", {"version": 1, "scope": "x"}).status_code == 404
    assert Job.objects.filter(scope="x").count() == 0


# ---- transition -------------------------------------------------------------------------------------


def test_transition_moves_the_job_and_writes_one_event(dispatcher):
    job = JobFactory(status=JobStatus.NEW, next_visit_at=datetime(2030, 1, 1, tzinfo=UTC))
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/transition", {"to": "scheduled", "note": "Booked"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["version"]) == ("scheduled", 2)
    event = JobEvent.objects.get(job=job)
    assert (event.kind, event.old_value, event.new_value, event.actor, event.message) == ("status", "new", "scheduled", dispatcher, "Booked")


def test_a_transition_the_table_refuses_is_409_not_allowed(dispatcher):
    job = JobFactory(status=JobStatus.NEW)
    before = _snapshot(job)
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/transition", {"to": "invoiced"})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_allowed"
    assert error["details"] == {"current_status": "new", "allowed": ["cancelled", "on_hold", "scheduled"]}
    assert _snapshot(job) == before
    assert not JobEvent.objects.filter(job=job).exists()


def test_a_blocked_transition_lists_its_blockers(dispatcher):
    job = JobFactory(status=JobStatus.NEW)
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/transition", {"to": "scheduled"})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "blocked"
    assert [b["code"] for b in error["details"]["blockers"]] == ["nothing_scheduled"]
    assert Job.objects.get(pk=job.pk).status == "new"


def test_hold_needs_a_reason(dispatcher):
    job = JobFactory(status=JobStatus.NEW)
    api = api_client(dispatcher)
    assert error_of(api.post(f"/jobs/{job.pk}/transition", {"to": "on_hold"}))["code"] == "blocked"
    response = api.post(f"/jobs/{job.pk}/transition", {"to": "on_hold", "hold_reason": "parts", "note": "Compressor"})
    assert response.status_code == 200
    assert (response.json()["hold_reason"], response.json()["hold_note"]) == ("parts", "Compressor")
    assert field_paths(api.post(f"/jobs/{job.pk}/transition", {"to": "on_hold", "hold_reason": "weather"})) == {"body.hold_reason"}


def test_unknown_status_is_422(dispatcher):
    job = JobFactory()
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/transition", {"to": "teleported"})
    assert response.status_code == 422
    assert field_paths(response) == {"body.to"}


def test_a_technician_moves_their_own_job_between_field_states_only(tech_a, tech_b):
    mine = JobFactory(status=JobStatus.SCHEDULED, technicians=[tech_a])
    theirs = JobFactory(status=JobStatus.SCHEDULED, technicians=[tech_b])
    api = api_client(tech_a.user)
    assert api.post(f"/jobs/{mine.pk}/transition", {"to": "in_progress"}).status_code == 200
    assert api.post(f"/jobs/{theirs.pk}/transition", {"to": "in_progress"}).status_code == 404
    refused = api.post(f"/jobs/{mine.pk}/transition", {"to": "scheduled"})
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "forbidden"
    assert Job.objects.get(pk=mine.pk).status == "in_progress"
    assert Job.objects.get(pk=theirs.pk).status == "scheduled"
    assert JobEvent.objects.filter(job=theirs).count() == 0


# ---- line items -------------------------------------------------------------------------------------


def test_add_list_change_and_remove_line_items(dispatcher):
    job = JobFactory()
    api = api_client(dispatcher)
    added = api.post(f"/jobs/{job.pk}/line-items", {"kind": "labour", "description": "Labour", "quantity": "1.5", "unit_price_cents": 1999})
    assert added.status_code == 201, added.content
    item = added.json()
    assert (item["quantity"], item["total_cents"], item["position"], item["version"]) == ("1.500", 2999, 1, 1)  # 2998.5 rounds half up
    api.post(f"/jobs/{job.pk}/line-items", {"kind": "material", "description": "Filter", "quantity": "2", "unit_price_cents": 1250, "unit_cost_cents": 600})
    listing = api.get(f"/jobs/{job.pk}/line-items").json()
    assert [i["description"] for i in listing["items"]] == ["Labour", "Filter"]
    assert listing["totals"] == {
        "subtotal_cents": 5499,
        "cost_cents": 1200,
        "margin_cents": 4299,
        "taxable_cents": 5499,
        "by_kind": {"labour": 2999, "material": 2500},
    }
    changed = api.patch(f"/line-items/{item['id']}", {"version": 1, "quantity": "2"})
    assert changed.status_code == 200
    assert (changed.json()["quantity"], changed.json()["description"], changed.json()["version"]) == ("2.000", "Labour", 2)
    assert api.get(f"/line-items/{item['id']}").json()["total_cents"] == 3998
    assert api.delete(f"/line-items/{item['id']}").status_code == 204
    assert list(LineItem.objects.filter(job=job).values_list("description", flat=True)) == ["Filter"]
    ops = [e.data["op"] for e in JobEvent.objects.filter(job=job, kind="line_item").order_by("id")]
    assert ops == ["add", "add", "update", "remove"]


def test_a_stale_line_edit_is_409_and_changes_nothing(dispatcher):
    item = LineItemFactory(quantity="1", version=3)
    response = api_client(dispatcher).patch(f"/line-items/{item.pk}", {"version": 2, "quantity": "5"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "stale"
    item.refresh_from_db()
    assert (item.quantity, item.version) == (1, 3)


@pytest.mark.parametrize("status", [JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED])
def test_line_items_of_a_locked_job_cannot_change(dispatcher, status):
    item = LineItemFactory(job=JobFactory(status=status))
    api = api_client(dispatcher)
    responses = [
        api.post(f"/jobs/{item.job_id}/line-items", {"description": "Extra", "quantity": "1", "unit_price_cents": 100}),
        api.patch(f"/line-items/{item.pk}", {"version": 1, "quantity": "2"}),
        api.delete(f"/line-items/{item.pk}"),
    ]
    assert [(r.status_code, error_of(r)["code"]) for r in responses] == [(409, "job_locked")] * 3
    assert list(LineItem.objects.values_list("pk", "quantity", "version")) == [(item.pk, 1, 1)]


def test_line_domain_errors_use_the_body_field_names(dispatcher):
    job = JobFactory()
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/line-items", {"description": "   ", "quantity": "1", "unit_price_cents": 1})
    assert response.status_code == 422
    assert field_paths(response) == {"body.description"}
    assert not LineItem.objects.exists()


def test_technicians_change_lines_of_their_own_jobs_only(tech_a, tech_b):
    mine = LineItemFactory(job=JobFactory(technicians=[tech_a]))
    theirs = LineItemFactory(job=JobFactory(technicians=[tech_b]))
    api = api_client(tech_a.user)
    body = {"description": "Capacitor", "quantity": "1", "unit_price_cents": 4500}
    assert api.post(f"/jobs/{mine.job_id}/line-items", body).status_code == 201
    assert api.post(f"/jobs/{theirs.job_id}/line-items", body).status_code == 404
    assert api.get(f"/line-items/{theirs.pk}").status_code == 404
    assert api.patch(f"/line-items/{theirs.pk}", {"version": 1, "quantity": "9"}).status_code == 404
    assert api.delete(f"/line-items/{theirs.pk}").status_code == 404
    theirs.refresh_from_db()
    assert (theirs.quantity, LineItem.objects.filter(job=theirs.job).count()) == (1, 1)


# ---- notes and timeline -----------------------------------------------------------------------------


def test_notes_and_timeline(dispatcher, tech_a):
    job = JobFactory(technicians=[tech_a])
    api = api_client(tech_a.user)
    added = api.post(f"/jobs/{job.pk}/notes", {"body": "Dog in the yard"})
    assert added.status_code == 201
    assert added.json()["author"] == {"id": tech_a.user.pk, "name": "Alex Tech"}
    assert [n["body"] for n in api.get(f"/jobs/{job.pk}/notes").json()] == ["Dog in the yard"]
    events = api.get(f"/jobs/{job.pk}/events").json()
    assert [(e["kind"], e["message"]) for e in events] == [("note", "Dog in the yard")]
    assert field_paths(api.post(f"/jobs/{job.pk}/notes", {"body": ""})) == {"body.body"}
    assert Note.objects.count() == 1


# ---- job types --------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "manager", "dispatcher", "office"])
def test_office_roles_read_job_types(request, persona):
    job_type = JobTypeFactory(name="Boiler")
    job_type.required_skills.add(SkillFactory(name="Gas"))
    api = api_client(request.getfixturevalue(persona))
    listing = api.get("/job-types")
    assert listing.status_code == 200
    assert [jt["name"] for jt in listing.json()["items"]] == ["Boiler"]
    detail = api.get(f"/job-types/{job_type.pk}").json()
    assert detail["required_skills"] == [{"id": job_type.required_skills.get().pk, "name": "Gas"}]


def test_technicians_do_not_read_job_types(tech_a):
    job_type = JobTypeFactory()
    api = api_client(tech_a.user)
    assert api.get("/job-types").status_code == 403
    assert api.get(f"/job-types/{job_type.pk}").status_code == 403


def test_creating_and_changing_job_types_needs_configure(dispatcher, manager):
    skill = SkillFactory(name="Gas")
    body = {"name": "Boiler service", "default_duration_minutes": 90, "required_skill_ids": [skill.pk], "required_fields": ["contact", "assets"]}
    refused = api_client(dispatcher).post("/job-types", body)
    assert refused.status_code == 403
    assert not JobType.objects.exists()
    api = api_client(manager)
    created = api.post("/job-types", body)
    assert created.status_code == 201, created.content
    jt = JobType.objects.get()
    assert (jt.name, jt.default_duration_minutes, jt.required_fields, list(jt.required_skills.all())) == ("Boiler service", 90, ["contact", "assets"], [skill])
    assert api_client(dispatcher).patch(f"/job-types/{jt.pk}", {"active": False}).status_code == 403
    changed = api.patch(f"/job-types/{jt.pk}", {"active": False, "required_skill_ids": [], "color": "#112233"})
    assert changed.status_code == 200
    assert (changed.json()["active"], changed.json()["required_skills"], changed.json()["color"]) == (False, [], "#112233")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "Existing"}, "body.name"),
        ({"name": "New", "required_fields": ["scope"]}, "body.required_fields.0"),
        ({"name": "New", "required_skill_ids": [999999]}, "body.required_skill_ids"),
        ({"name": "New", "color": "red"}, "body.color"),
        ({"name": "New", "default_duration_minutes": 1}, "body.default_duration_minutes"),
    ],
)
def test_job_type_input_is_checked(manager, body, path):
    JobTypeFactory(name="Existing")
    response = api_client(manager).post("/job-types", body)
    assert response.status_code == 422
    assert field_paths(response) == {path}
    assert JobType.objects.count() == 1


def test_a_job_type_cannot_be_renamed_onto_another(manager):
    JobTypeFactory(name="Boiler")
    other = JobTypeFactory(name="Furnace")
    response = api_client(manager).patch(f"/job-types/{other.pk}", {"name": "Boiler"})
    assert response.status_code == 422
    assert field_paths(response) == {"body.name"}
    other.refresh_from_db()
    assert other.name == "Furnace"
