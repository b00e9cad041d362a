"""The closeout API: a job's requirements and their state, waivers (managers only, with a reason),
"no materials used", and the 409 with every open blocker that the job and visit transitions answer
while the work is blocked. Refused calls change nothing."""

from datetime import datetime

import pytest
from django.utils import timezone

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.closeout.models import BlockerWaiver, CloseoutRequirement, MaterialsConfirmation
from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import Job, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from tests.dispatch_support import at, snapshot
from tests.factories import JobFactory, JobTypeFactory, LineItemFactory

pytestmark = pytest.mark.django_db

V = VisitStatus


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    """Alex's in-progress job whose type requires the customer's signature and materials."""
    job_type = JobTypeFactory(name="Water heater install")
    for kind in ("customer_signature", "materials"):
        CloseoutRequirement.objects.create(job_type=job_type, kind=kind)
    return JobFactory(job_type=job_type, status=JobStatus.IN_PROGRESS, technicians=[tech_a])


def state(job: Job) -> tuple:
    return list(BlockerWaiver.objects.order_by("pk").values()), list(MaterialsConfirmation.objects.values()), JobEvent.objects.filter(job=job).count()


# ---- reading ------------------------------------------------------------------------------------


def test_the_closeout_of_a_job(job, office, manager):
    LineItemFactory(job=job, kind=LineItem.Kind.MATERIAL, description="Water heater 50 gal")
    body = api_client(office).get(f"/jobs/{job.pk}/closeout").json()
    assert body == {
        "job": {"id": job.pk, "number": job.number},
        "ready": False,
        "open_count": 1,
        "requirements": [
            {
                "code": "customer_signature",
                "label": "Customer signature (current)",
                "state": "open",
                "message": "No customer signature yet.",
                "items": [],
                "tab": "signatures",
                "waivable": True,
                "office_only": False,
                "waiver": None,
            },
            {
                "code": "materials",
                "label": "Materials recorded or “no materials used” confirmed",
                "state": "met",
                "message": "",
                "items": [],
                "tab": "line-items",
                "waivable": False,
                "office_only": False,
                "waiver": None,
            },
        ],
        "no_materials": None,
    }


def test_who_reads_a_closeout(job, dispatcher, tech_a, tech_b):
    assert api_client(dispatcher).get(f"/jobs/{job.pk}/closeout").status_code == 200
    assert api_client(tech_a.user).get(f"/jobs/{job.pk}/closeout").status_code == 200
    response = api_client(tech_b.user).get(f"/jobs/{job.pk}/closeout")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    response = api_client(dispatcher).get("/jobs/999999/closeout")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


def test_a_job_without_requirements_is_ready(office):
    body = api_client(office).get(f"/jobs/{JobFactory().pk}/closeout").json()
    assert (body["ready"], body["open_count"], body["requirements"]) == (True, 0, [])


# ---- waivers ------------------------------------------------------------------------------------


def test_a_manager_waives_and_withdraws(job, manager):
    client = api_client(manager)
    response = client.post(f"/jobs/{job.pk}/closeout/waivers", {"code": "customer_signature", "reason": "Signed on paper"})
    assert response.status_code == 201
    body = response.json()
    signature = body["requirements"][0]
    assert (body["ready"], body["open_count"], signature["state"]) == (False, 1, "waived")
    assert signature["message"] == "No customer signature yet."  # what was let go stays visible
    assert signature["waiver"]["reason"] == "Signed on paper"
    assert signature["waiver"]["by"] == {"id": manager.pk, "name": "Mason Manager"}
    assert abs((timezone.now() - datetime.fromisoformat(signature["waiver"]["at"])).total_seconds()) < 60

    response = client.delete(f"/jobs/{job.pk}/closeout/waivers/customer_signature")
    assert (response.status_code, response.content) == (204, b"")
    assert not BlockerWaiver.objects.exists()
    assert client.get(f"/jobs/{job.pk}/closeout").json()["requirements"][0]["state"] == "open"
    response = client.delete(f"/jobs/{job.pk}/closeout/waivers/customer_signature")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


def test_a_waived_photo_requirement_by_its_code(manager):
    job = JobFactory(status=JobStatus.IN_PROGRESS)
    CloseoutRequirement.objects.create(job=job, kind="photos", photo_tag="after", min_count=2)
    client = api_client(manager)
    body = client.post(f"/jobs/{job.pk}/closeout/waivers", {"code": "photos:after", "reason": "Customer refused photos"}).json()
    assert (body["ready"], body["requirements"][0]["code"], body["requirements"][0]["state"]) == (True, "photos:after", "waived")
    assert client.delete(f"/jobs/{job.pk}/closeout/waivers/photos:after").status_code == 204


@pytest.mark.parametrize("role", ["dispatcher", "office", "tech"])
def test_only_managers_waive(job, role, request, tech_a, manager):
    user = tech_a.user if role == "tech" else request.getfixturevalue(role)
    before = state(job)
    response = api_client(user).post(f"/jobs/{job.pk}/closeout/waivers", {"code": "customer_signature", "reason": "Please"})
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    assert state(job) == before
    BlockerWaiver.objects.create(job=job, code="customer_signature", reason="Earlier", waived_by=manager)
    response = api_client(user).delete(f"/jobs/{job.pk}/closeout/waivers/customer_signature")
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    assert BlockerWaiver.objects.count() == 1


def test_a_technician_of_another_job_gets_404(job, tech_b):
    before = state(job)
    for response in (
        api_client(tech_b.user).post(f"/jobs/{job.pk}/closeout/waivers", {"code": "customer_signature", "reason": "x"}),
        api_client(tech_b.user).post(f"/jobs/{job.pk}/closeout/no-materials"),
        api_client(tech_b.user).delete(f"/jobs/{job.pk}/closeout/no-materials"),
    ):
        assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    assert state(job) == before


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"code": "customer_signature", "reason": ""}, {"body.reason"}),
        ({"code": "customer_signature", "reason": "   "}, {"body.reason"}),
        ({"code": "customer_signature"}, {"body.reason"}),
        ({"code": "customer_signature", "reason": "x" * 501}, {"body.reason"}),
        ({"code": "customer_signature", "reason": "a\x00b"}, {"body.reason"}),
        ({"code": "Customer Signature!", "reason": "x"}, {"body.code"}),
        ({"code": "customer_signature", "reason": "x", "extra": 1}, {"body.extra"}),
        ({"code": 5, "reason": "x"}, {"body.code"}),
    ],
)
def test_a_waiver_needs_a_code_and_a_reason(job, manager, body, paths):
    before = state(job)
    response = api_client(manager).post(f"/jobs/{job.pk}/closeout/waivers", body)
    assert (response.status_code, error_of(response)["code"]) == (422, "invalid")
    assert field_paths(response) == paths
    assert state(job) == before


def test_what_cannot_be_waived(job, manager):
    LineItemFactory(job=job, kind=LineItem.Kind.MATERIAL)
    client = api_client(manager)
    before = state(job)
    response = client.post(f"/jobs/{job.pk}/closeout/waivers", {"code": "materials", "reason": "Just in case"})
    assert (response.status_code, error_of(response)["code"]) == (409, "not_blocking")
    response = client.post(f"/jobs/{job.pk}/closeout/waivers", {"code": "quality_passed", "reason": "Not required"})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    assert state(job) == before
    assert client.post(f"/jobs/{job.pk}/closeout/waivers", {"code": "customer_signature", "reason": "Paper"}).status_code == 201
    response = client.post(f"/jobs/{job.pk}/closeout/waivers", {"code": "customer_signature", "reason": "Again"})
    assert (response.status_code, error_of(response)["code"]) == (409, "already_waived")
    assert BlockerWaiver.objects.count() == 1


def test_a_closed_job_is_a_conflict(manager, tech_a):
    job = JobFactory(status=JobStatus.CLOSED, technicians=[tech_a])
    CloseoutRequirement.objects.create(job=job, kind="customer_signature")
    before = state(job)
    response = api_client(manager).post(f"/jobs/{job.pk}/closeout/waivers", {"code": "customer_signature", "reason": "Late"})
    assert (response.status_code, error_of(response)["code"]) == (409, "job_locked")
    response = api_client(tech_a.user).post(f"/jobs/{job.pk}/closeout/no-materials")
    assert (response.status_code, error_of(response)["code"]) == (409, "job_locked")
    assert state(job) == before


# ---- no materials used --------------------------------------------------------------------------


def test_the_crew_confirms_no_materials_and_takes_it_back(job, tech_a):
    client = api_client(tech_a.user)
    response = client.post(f"/jobs/{job.pk}/closeout/no-materials")
    assert response.status_code == 200
    body = response.json()
    assert body["no_materials"]["by"] == {"id": tech_a.user.pk, "name": "Alex Tech"}
    assert [r["state"] for r in body["requirements"]] == ["open", "met"]
    assert client.post(f"/jobs/{job.pk}/closeout/no-materials").status_code == 200  # again: no change
    assert MaterialsConfirmation.objects.count() == 1
    response = client.delete(f"/jobs/{job.pk}/closeout/no-materials")
    assert (response.status_code, response.content) == (204, b"")
    body = client.get(f"/jobs/{job.pk}/closeout").json()
    assert (body["no_materials"], body["requirements"][1]["state"]) == (None, "open")


# ---- the transitions answer 409 with every open blocker -----------------------------------------


def test_work_complete_is_409_with_the_blockers(job, office):
    before = (Job.objects.filter(pk=job.pk).values().get(), JobEvent.objects.count())
    response = api_client(office).post(f"/jobs/{job.pk}/transition", {"to": "work_complete"})
    error = error_of(response)
    assert (response.status_code, error["code"]) == (409, "blocked")
    assert [(b["code"], b["message"], b["tab"], b["waivable"]) for b in error["details"]["blockers"]] == [
        ("customer_signature", "No customer signature yet.", "signatures", True),
        ("materials", "Record the materials used, or confirm that none were used.", "line-items", True),
    ]
    assert error["details"]["current_status"] == "in_progress"
    assert (Job.objects.filter(pk=job.pk).values().get(), JobEvent.objects.count()) == before


def working_visit(dispatcher, tech, job) -> Visit:  # type: ignore[no-untyped-def]
    Job.objects.filter(pk=job.pk).update(status=JobStatus.NEW)
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 8), lead_id=tech.pk, duration_minutes=120)
    for to in (V.EN_ROUTE, V.ARRIVED, V.WORKING):
        visit_transition(actor=tech.user, visit_id=visit.pk, to=to)
    return visit


def test_finishing_the_last_visit_is_409_with_the_blockers(job, dispatcher, tech_a):
    visit = working_visit(dispatcher, tech_a, job)
    client = api_client(tech_a.user)
    assert client.post(f"/visits/{visit.pk}/transitions", {"to": "departed"}).status_code == 200
    before = snapshot()
    response = client.post(f"/visits/{visit.pk}/transitions", {"to": "completed", "outcome": "finished"})
    error = error_of(response)
    assert (response.status_code, error["code"]) == (409, "blocked")
    assert [b["code"] for b in error["details"]["blockers"]] == ["customer_signature", "materials"]
    assert error["details"]["current_status"] == "departed"
    assert snapshot() == before


def test_finish_and_depart_is_409_with_the_blockers_and_the_visit_keeps_working(job, dispatcher, tech_a, manager):
    visit = working_visit(dispatcher, tech_a, job)
    client = api_client(tech_a.user)
    before = snapshot()
    response = client.post(f"/visits/{visit.pk}/finish-and-depart", {})
    error = error_of(response)
    assert (response.status_code, error["code"]) == (409, "blocked")
    assert [b["code"] for b in error["details"]["blockers"]] == ["customer_signature", "materials"]
    assert snapshot() == before
    assert Visit.objects.get(pk=visit.pk).status == V.WORKING
    # Once the blockers are dealt with, the same tap finishes the work.
    assert client.post(f"/jobs/{job.pk}/closeout/no-materials").status_code == 200
    api_client(manager).post(f"/jobs/{job.pk}/closeout/waivers", {"code": "customer_signature", "reason": "Customer at work; signs the invoice"})
    response = client.post(f"/visits/{visit.pk}/finish-and-depart", {})
    assert (response.status_code, response.json()["status"]) == (200, "completed")
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE


def test_the_document_describes_the_operations():
    from django.test import Client

    document = Client().get("/api/v1/openapi.json").json()
    paths = document["paths"]
    assert set(paths["/api/v1/jobs/{job_id}/closeout"]) == {"get"}
    assert set(paths["/api/v1/jobs/{job_id}/closeout/waivers"]) == {"post"}
    assert set(paths["/api/v1/jobs/{job_id}/closeout/waivers/{code}"]) == {"delete"}
    assert set(paths["/api/v1/jobs/{job_id}/closeout/no-materials"]) == {"post", "delete"}
    report = paths["/api/v1/jobs/{job_id}/service-report"]["get"]["responses"]
    assert set(report["200"]["content"]) == {"application/pdf"}
    assert {"404", "401"} <= set(report)
