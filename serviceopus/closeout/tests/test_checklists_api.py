"""The checklists API: a job's checklists, answering and clearing items, adding a checklist to one job —
who may do what, the error body, strict input, and that refused calls change nothing."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from serviceopus.api.tests.client import BASE, api_client, error_of, field_paths
from serviceopus.closeout.models import ChecklistAnswer, ChecklistRun, Document
from serviceopus.closeout.tests.test_checklists import answer, key, make_document, make_template, snapshot
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, JobTypeFactory, VisitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def job_type(db):  # type: ignore[no-untyped-def]
    return JobTypeFactory(name="Furnace service")


@pytest.fixture
def template(job_type):  # type: ignore[no-untyped-def]
    return make_template(job_types=[job_type])


@pytest.fixture
def visit(job_type, tech_a):  # type: ignore[no-untyped-def]
    return VisitFactory(job=JobFactory(job_type=job_type, status=JobStatus.IN_PROGRESS), crew=[tech_a])


@pytest.fixture
def job(visit):  # type: ignore[no-untyped-def]
    return visit.job


def item_path(job, template, label: str) -> str:  # type: ignore[no-untyped-def]
    return f"/jobs/{job.pk}/checklists/{template.pk}/items/{key(template, label)}"


def put(client, path: str, body) -> object:  # type: ignore[no-untyped-def]
    return client.client.put(BASE + path, json.dumps(body), content_type="application/json", headers=client._headers())


# ---- reading ------------------------------------------------------------------------------------------


def test_a_jobs_checklists_with_items_answers_flags_and_open_required(tech_a, job, template, visit):
    answer(tech_a.user, job, template, "Gas pressure", "12", visit_id=visit.pk)
    answer(tech_a.user, job, template, "Filter replaced", True, visit_id=visit.pk)
    make_template("Water heater check")  # of no type, not on this job

    response = api_client(tech_a.user).get(f"/jobs/{job.pk}/checklists")
    assert response.status_code == 200
    [checklist] = response.json()
    assert {k: checklist[k] for k in ("template_id", "name", "version", "status", "visit_id", "carried_from_visit_id", "answered_count", "item_count")} == {
        "template_id": template.pk,
        "name": "Furnace check",
        "version": 1,
        "status": "open",
        "visit_id": visit.pk,
        "carried_from_visit_id": None,
        "answered_count": 2,
        "item_count": 5,
    }
    assert checklist["open_required"] == [key(template, "Burner condition"), key(template, "Nameplate photo")]
    items = {i["label"]: i for i in checklist["items"]}
    pressure = items["Gas pressure"]
    assert (pressure["kind"], pressure["unit"], pressure["min"], pressure["max"], pressure["answered"]) == ("number", "psi", "3.500", "10.500", True)
    assert {k: pressure["answer"][k] for k in ("value", "out_of_range", "visit_id", "document_id")} == {
        "value": "12.000",
        "out_of_range": True,
        "visit_id": visit.pk,
        "document_id": None,
    }
    assert pressure["answer"]["answered_by"] == {"id": tech_a.user.pk, "name": "Alex Tech"}
    assert items["Filter replaced"]["answer"]["value"] is True
    assert items["Burner condition"]["choices"] == ["Clean", "Dirty", "Replaced"]
    assert (items["Notes"]["required"], items["Notes"]["answer"]) == (False, None)


def test_a_template_not_started_is_listed_from_the_template(office, job, template):
    [checklist] = api_client(office).get(f"/jobs/{job.pk}/checklists").json()
    assert (checklist["status"], checklist["visit_id"], checklist["answered_count"], len(checklist["open_required"])) == ("not_started", None, 0, 4)


def test_a_technician_reads_only_their_own_jobs_checklists(tech_b, job, template):
    response = api_client(tech_b.user).get(f"/jobs/{job.pk}/checklists")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("extra_items", [0, 30])
def test_reading_costs_the_same_queries_however_long_the_checklists(office, tech_a, job_type, job, extra_items):
    started = make_template("Started check", [job_type], extra_items=extra_items)
    make_template("Pending check", [job_type], extra_items=extra_items)
    answer(tech_a.user, job, started, "Filter replaced", True)
    for n in range(extra_items):
        answer(tech_a.user, job, started, f"Extra check {n}", True)
    client = api_client(office)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/jobs/{job.pk}/checklists").status_code == 200
    # token and user, the job, runs, answers, pending templates and their items
    assert len(queries) == 7


# ---- answering ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "value", "stored"),
    [
        ("Filter replaced", False, False),
        ("Gas pressure", "7.5", "7.500"),
        ("Gas pressure", "-2", "-2.000"),
        ("Notes", "All good", "All good"),
        ("Burner condition", "Replaced", "Replaced"),
    ],
)
def test_answering_each_kind(tech_a, job, template, visit, label, value, stored):
    response = put(api_client(tech_a.user), item_path(job, template, label), {"value": value, "visit_id": visit.pk})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "open"
    assert body["visit_id"] == visit.pk
    [item] = [i for i in body["items"] if i["label"] == label]
    assert (item["answered"], item["answer"]["value"]) == (True, stored)
    assert ChecklistRun.objects.get(job=job).template_version == 1


def test_a_photo_item_is_answered_with_a_photo_of_the_job(tech_a, job, template):
    photo = make_document(job)
    response = put(api_client(tech_a.user), item_path(job, template, "Nameplate photo"), {"document_id": photo.pk})
    assert response.status_code == 200
    [item] = [i for i in response.json()["items"] if i["kind"] == "photo"]
    assert (item["answer"]["document_id"], item["answer"]["value"]) == (photo.pk, None)


def test_the_checklist_is_complete_when_its_required_items_are_answered(tech_a, job, template):
    client = api_client(tech_a.user)
    put(client, item_path(job, template, "Filter replaced"), {"value": True})
    put(client, item_path(job, template, "Gas pressure"), {"value": "20"})
    put(client, item_path(job, template, "Burner condition"), {"value": "Clean"})
    body = put(client, item_path(job, template, "Nameplate photo"), {"document_id": make_document(job).pk}).json()
    assert (body["status"], body["open_required"]) == ("complete", [])

    response = client.delete(item_path(job, template, "Burner condition"))
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["open_required"]) == ("open", [key(template, "Burner condition")])
    assert not ChecklistAnswer.objects.filter(item_key=key(template, "Burner condition")).exists()


@pytest.mark.parametrize(
    ("label", "body", "path"),
    [
        ("Filter replaced", {"value": "yes"}, "body.value"),
        ("Filter replaced", {"value": 1}, "body.value"),  # strict: no coercion to true
        ("Gas pressure", {"value": 7.5}, "body.value"),  # numbers come as decimal strings
        ("Gas pressure", {"value": "7.1234"}, "body.value"),
        ("Gas pressure", {"value": "NaN"}, "body.value"),
        ("Notes", {"value": "a\u0000b"}, "body.value"),
        ("Notes", {"value": "x" * 2001}, "body.value"),
        ("Burner condition", {"value": "Sparkling"}, "body.value"),
        ("Nameplate photo", {}, "body.document_id"),
        ("Nameplate photo", {"document_id": 999999}, "body.document_id"),
        ("Filter replaced", {"value": True, "document_id": 1}, "body.document_id"),
        ("Filter replaced", {"value": True, "colour": "red"}, "body.colour"),
        ("Filter replaced", {"value": True, "visit_id": 999999}, "body.visit_id"),
    ],
)
def test_a_value_that_does_not_fit_is_422_and_changes_nothing(tech_a, job, template, label, body, path):
    before = snapshot()
    response = put(api_client(tech_a.user), item_path(job, template, label), body)
    assert response.status_code == 422
    assert path in field_paths(response)
    assert snapshot() == before


def test_a_visit_of_another_job_is_refused(tech_a, job, template):
    elsewhere = VisitFactory(crew=[tech_a])
    response = put(api_client(tech_a.user), item_path(job, template, "Filter replaced"), {"value": True, "visit_id": elsewhere.pk})
    assert (response.status_code, field_paths(response)) == (422, {"body.visit_id"})


def test_unknown_checklists_and_items_are_404(tech_a, job, template):
    client = api_client(tech_a.user)
    stranger = make_template("Roof inspection")
    for path in (
        f"/jobs/{job.pk}/checklists/{stranger.pk}/items/{key(stranger, 'Notes')}",
        f"/jobs/{job.pk}/checklists/{template.pk}/items/999999",
        f"/jobs/{job.pk}/checklists/999999/items/1",
    ):
        response = put(client, path, {"value": "x"})
        assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
        assert client.delete(path).status_code == 404
    assert put(client, f"/jobs/{job.pk}/checklists/{template.pk}/items/not%20a%20key", {"value": "x"}).status_code == 422
    assert not ChecklistRun.objects.exists()


def test_another_technicians_job_is_404_and_changes_nothing(tech_b, job, template):
    before = snapshot()
    client = api_client(tech_b.user)
    assert put(client, item_path(job, template, "Filter replaced"), {"value": True}).status_code == 404
    assert client.delete(item_path(job, template, "Filter replaced")).status_code == 404
    assert client.post(f"/jobs/{job.pk}/checklists", {"template_id": template.pk}).status_code == 404
    assert snapshot() == before


def test_a_closed_job_is_a_conflict(tech_a, job, template):
    job.status = JobStatus.CLOSED
    job.save()
    response = put(api_client(tech_a.user), item_path(job, template, "Filter replaced"), {"value": True})
    assert (response.status_code, error_of(response)["code"]) == (409, "job_locked")
    assert api_client(tech_a.user).delete(item_path(job, template, "Filter replaced")).status_code == 409
    assert not ChecklistRun.objects.exists()


def test_an_out_of_range_reading_is_flagged_in_the_answer(tech_a, job, template):
    body = put(api_client(tech_a.user), item_path(job, template, "Gas pressure"), {"value": "2.5"}).json()
    [item] = [i for i in body["items"] if i["label"] == "Gas pressure"]
    assert (item["answer"]["value"], item["answer"]["out_of_range"]) == ("2.500", True)


# ---- adding a checklist to one job -----------------------------------------------------------------------


def test_the_office_adds_a_checklist_to_one_job(office, tech_a, job, template):
    extra = make_template("Water heater check")
    client = api_client(office)
    response = client.post(f"/jobs/{job.pk}/checklists", {"template_id": extra.pk})
    assert response.status_code == 201
    body = response.json()
    assert (body["template_id"], body["name"], body["status"], body["version"], body["item_count"]) == (extra.pk, "Water heater check", "open", 1, 5)
    assert [c["name"] for c in client.get(f"/jobs/{job.pk}/checklists").json()] == ["Water heater check", "Furnace check"]

    again = client.post(f"/jobs/{job.pk}/checklists", {"template_id": extra.pk})
    assert (again.status_code, error_of(again)["code"]) == (409, "already_added")
    own = client.post(f"/jobs/{job.pk}/checklists", {"template_id": template.pk})
    assert (own.status_code, error_of(own)["code"]) == (409, "already_added")


def test_adding_is_for_the_office_and_takes_only_active_templates(office, tech_a, job):
    retired = make_template("Old check")
    retired.active = False
    retired.save()
    before = snapshot()
    response = api_client(tech_a.user).post(f"/jobs/{job.pk}/checklists", {"template_id": make_template("Third").pk})
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    for body in ({"template_id": retired.pk}, {"template_id": 999999}):
        response = api_client(office).post(f"/jobs/{job.pk}/checklists", body)
        assert (response.status_code, field_paths(response)) == (422, {"body.template_id"})
    for body in ({"template_id": "1"}, {}, {"template_id": 0}):
        assert api_client(office).post(f"/jobs/{job.pk}/checklists", body).status_code == 422
    assert snapshot()[:3] == before[:3]
    assert Document.objects.count() == 0
