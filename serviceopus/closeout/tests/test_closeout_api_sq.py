"""The signatures, quality and incidents API: reads with their stale flags and fixed query counts,
writes through the same actions as the pages, the one error body, who may do what, and that refused
calls change nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.closeout import signing
from serviceopus.closeout.actions.incidents import incident_report
from serviceopus.closeout.actions.quality import quality_review_add
from serviceopus.closeout.models import Incident, QualityReview, Signature
from serviceopus.closeout.tests.test_signatures import data_url, png_bytes, png_data_url
from serviceopus.dispatch.models import Visit
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, LineItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    job = JobFactory(status=JobStatus.IN_PROGRESS, technicians=[tech_a], scope="Replace the igniter")
    LineItemFactory(job=job, description="Igniter", unit_price_cents=4500)
    return job


def sign_body(job, **extra):  # type: ignore[no-untyped-def]
    return {"signer_name": "Pat Customer", "role": "customer", "image": png_data_url(), "signed_hash": signing.current_hash(job), **extra}


def queries_of(call):  # type: ignore[no-untyped-def]
    call()  # the token's first use of the day is recorded: measure the next call
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, len(captured.captured_queries)


# ---- signatures --------------------------------------------------------------------------------------


def test_current_content_then_sign_then_list(job, tech_a):
    api = api_client(tech_a.user)
    current = api.get(f"/jobs/{job.pk}/signatures/current-content").json()
    assert current["sha256"] == signing.current_hash(job)
    assert current["content"]["lines"] == [{"kind": "service", "description": "Igniter", "quantity": "1", "unit_price_cents": 4500, "total_cents": 4500}]
    assert current["content"]["totals"] == {"subtotal_cents": 4500, "taxable_cents": 4500}

    created = api.post(f"/jobs/{job.pk}/signatures", sign_body(job, signed_hash=current["sha256"]))
    assert created.status_code == 201
    body = created.json()
    assert (body["signer_name"], body["role"], body["stale"], body["content_sha256"]) == ("Pat Customer", "customer", False, current["sha256"])
    assert body["captured_by"] == {"id": tech_a.user.pk, "name": "Alex Tech"}
    assert body["content"] == current["content"]

    image = api.get(body["image_url"].removeprefix("/api/v1"))
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")

    LineItemFactory(job=job, description="Filter", unit_price_cents=1500)
    [listed] = api.get(f"/jobs/{job.pk}/signatures").json()
    assert (listed["id"], listed["stale"]) == (body["id"], True)


def test_an_outdated_hash_is_a_409_and_stores_nothing(job, tech_a):
    shown = signing.current_hash(job)
    LineItemFactory(job=job, description="Filter", unit_price_cents=1500)
    events = JobEvent.objects.count()
    response = api_client(tech_a.user).post(f"/jobs/{job.pk}/signatures", sign_body(job, signed_hash=shown))
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "content_changed"
    assert error["details"]["current_hash"] == signing.current_hash(job)
    assert Signature.objects.count() == 0
    assert JobEvent.objects.count() == events


@pytest.mark.parametrize(
    ("image", "path"),
    [
        (lambda: data_url(png_bytes(Image.new("RGBA", (200, 100), (0, 0, 0, 0)))), "body.image"),
        (lambda: data_url(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "data:image/svg+xml;base64,"), "body.image"),
        (lambda: data_url(png_bytes(Image.new("RGBA", (4001, 4), (0, 0, 0, 255)))), "body.image"),
    ],
    ids=["blank", "svg", "too-wide"],
)
def test_bad_images_are_a_422_on_the_image(job, office, image, path):
    response = api_client(office).post(f"/jobs/{job.pk}/signatures", sign_body(job, image=image()))
    assert response.status_code == 422
    assert field_paths(response) == {path}
    assert Signature.objects.count() == 0


def test_the_body_is_strict(job, office):
    api = api_client(office)
    assert field_paths(api.post(f"/jobs/{job.pk}/signatures", sign_body(job, role="manager"))) == {"body.role"}
    assert field_paths(api.post(f"/jobs/{job.pk}/signatures", sign_body(job, signed_hash="ABC"))) == {"body.signed_hash"}
    assert field_paths(api.post(f"/jobs/{job.pk}/signatures", sign_body(job, signer_name=""))) == {"body.signer_name"}
    assert "body.extra" in field_paths(api.post(f"/jobs/{job.pk}/signatures", sign_body(job, extra=1)))
    assert field_paths(api.post(f"/jobs/{job.pk}/signatures", sign_body(job, visit_id=999999))) == {"body.visit_id"}
    assert Signature.objects.count() == 0


def test_signatures_of_another_technicians_job_are_404(job, tech_a, tech_b):
    api_client(tech_a.user).post(f"/jobs/{job.pk}/signatures", sign_body(job))
    signature = Signature.objects.get()
    other = api_client(tech_b.user)
    for path in (f"/jobs/{job.pk}/signatures", f"/jobs/{job.pk}/signatures/current-content", f"/jobs/{job.pk}/signatures/{signature.pk}/image"):
        assert other.get(path).status_code == 404
    assert other.post(f"/jobs/{job.pk}/signatures", sign_body(job)).status_code == 404
    assert Signature.objects.count() == 1


def test_a_closed_job_is_a_409(job, office):
    Job.objects.filter(pk=job.pk).update(status=JobStatus.CLOSED)
    response = api_client(office).post(f"/jobs/{job.pk}/signatures", sign_body(job))
    assert response.status_code == 409
    assert error_of(response)["code"] == "job_locked"


def test_the_signature_list_reads_a_fixed_number_of_queries(job, office):
    api = api_client(office)
    api.post(f"/jobs/{job.pk}/signatures", sign_body(job))
    _, few = queries_of(lambda: api.get(f"/jobs/{job.pk}/signatures"))
    for n in range(4):
        api.post(f"/jobs/{job.pk}/signatures", sign_body(job, signer_name=f"Signer {n}"))
    response, many = queries_of(lambda: api.get(f"/jobs/{job.pk}/signatures"))
    assert len(response.json()) == 5
    assert many == few


# ---- quality -----------------------------------------------------------------------------------------


def test_reviews_are_created_and_listed(job, manager, tech_a):
    api = api_client(manager)
    failed = api.post(
        f"/jobs/{job.pk}/quality-reviews",
        {
            "passed": False,
            "scores": [{"label": "Workmanship", "score": 2}],
            "notes": "Drips",
            "follow_up": "return_visit",
            "follow_up_reason": "Condensate line drips",
        },
    )
    assert failed.status_code == 201
    body = failed.json()
    draft = Visit.objects.get(pk=body["return_visit_id"])
    assert draft.status == "unscheduled"
    assert (body["passed"], body["total"], body["max_total"], body["follow_up"], body["follow_up_open"]) == (False, 2, 5, "return_visit", False)
    assert body["scores"] == [{"label": "Workmanship", "score": 2, "max_score": 5}]
    assert body["reviewer"] == {"id": manager.pk, "name": "Mason Manager"}

    follow = api.post(
        f"/jobs/{job.pk}/quality-reviews",
        {"passed": False, "scores": [{"label": "Tidiness", "score": 3}], "follow_up": "follow_up", "follow_up_reason": "Call back"},
    )
    assert follow.json()["follow_up_open"] is True
    listed = api_client(tech_a.user).get(f"/jobs/{job.pk}/quality-reviews").json()
    assert [r["follow_up"] for r in listed] == ["follow_up", "return_visit"]


def test_quality_refusals(job, manager, tech_a, tech_b):
    before = (QualityReview.objects.count(), Visit.objects.count(), JobEvent.objects.count())
    api = api_client(manager)
    bad = api.post(f"/jobs/{job.pk}/quality-reviews", {"passed": False, "scores": [{"label": "Workmanship", "score": 2}]})
    assert bad.status_code == 422
    assert field_paths(bad) == {"body.follow_up", "body.follow_up_reason"}
    out_of_range = api.post(f"/jobs/{job.pk}/quality-reviews", {"passed": True, "scores": [{"label": "Workmanship", "score": 6}]})
    assert out_of_range.status_code == 422
    assert field_paths(out_of_range) == {"body.scores.0.score"}
    twice = api.post(f"/jobs/{job.pk}/quality-reviews", {"passed": True, "scores": [{"label": "A", "score": 1}, {"label": "a", "score": 2}]})
    assert twice.status_code == 422
    assert field_paths(twice) == {"body.scores.1.label"}
    body = {"passed": True, "scores": [{"label": "Workmanship", "score": 4}]}
    tech = api_client(tech_a.user).post(f"/jobs/{job.pk}/quality-reviews", body)
    assert tech.status_code == 403
    assert error_of(tech)["code"] == "forbidden"
    assert api_client(tech_b.user).post(f"/jobs/{job.pk}/quality-reviews", body).status_code == 404
    Job.objects.filter(pk=job.pk).update(status=JobStatus.INVOICED)
    invoiced = api.post(f"/jobs/{job.pk}/quality-reviews", {**body, "passed": False, "follow_up": "return_visit", "follow_up_reason": "Leak"})
    assert invoiced.status_code == 409
    assert error_of(invoiced)["code"] == "invoiced"
    assert (QualityReview.objects.count(), Visit.objects.count(), JobEvent.objects.count()) == before


def test_the_review_list_reads_a_fixed_number_of_queries(job, manager):
    api = api_client(manager)
    quality_review_add(actor=manager, job_id=job.pk, passed=True, scores=[("A", 3)], notes="", follow_up="", follow_up_reason="")
    _, few = queries_of(lambda: api.get(f"/jobs/{job.pk}/quality-reviews"))
    for n in range(4):
        quality_review_add(actor=manager, job_id=job.pk, passed=True, scores=[("A", n), ("B", 2)], notes="", follow_up="", follow_up_reason="")
    response, many = queries_of(lambda: api.get(f"/jobs/{job.pk}/quality-reviews"))
    assert len(response.json()) == 5
    assert many == few


# ---- incidents ---------------------------------------------------------------------------------------


def test_incidents_are_reported_edited_resolved_and_reopened(job, tech_a, office, manager):
    tech = api_client(tech_a.user)
    created = tech.post(f"/jobs/{job.pk}/incidents", {"kind": "property_damage", "severity": "high", "description": "Scratched floor"})
    assert created.status_code == 201
    incident = created.json()
    assert (incident["status"], incident["owner"], incident["version"], incident["photos"]) == ("open", None, 1, [])
    assert incident["reported_by"] == {"id": tech_a.user.pk, "name": "Alex Tech"}
    path = f"/jobs/{job.pk}/incidents/{incident['id']}"

    edited = tech.patch(path, {"version": 1, "severity": "critical"})
    assert edited.status_code == 200
    assert (edited.json()["severity"], edited.json()["version"]) == ("critical", 2)
    stale = tech.patch(path, {"version": 1, "description": "Mine"})
    assert stale.status_code == 409
    assert error_of(stale)["code"] == "stale"
    assert error_of(stale)["details"]["current"]["version"] == 2

    office_api = api_client(office)
    owned = office_api.patch(path, {"version": 2, "owner_id": manager.pk})
    assert owned.json()["owner"] == {"id": manager.pk, "name": "Mason Manager"}
    assert tech.post(f"{path}/resolve", {"resolution": "Fixed"}).status_code == 403
    resolved = office_api.post(f"{path}/resolve", {"resolution": "Refinished", "version": 3})
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolved_by"]["id"] == office.pk
    assert office_api.post(f"{path}/resolve", {"resolution": "Again"}).status_code == 409
    reopened = office_api.post(f"{path}/reopen", {"reason": "Mark is back"})
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"

    assert [i["id"] for i in tech.get(f"/jobs/{job.pk}/incidents", {"status": "open"}).json()] == [incident["id"]]
    assert tech.get(f"/jobs/{job.pk}/incidents", {"status": "resolved"}).json() == []
    assert tech.get(path).json()["version"] == 5


def test_incident_refusals_change_nothing(job, tech_a, tech_b, manager):
    incident = incident_report(actor=tech_a.user, job_id=job.pk, kind="injury", severity="low", description="Cut")
    before = (list(Incident.objects.values()), JobEvent.objects.count())
    tech = api_client(tech_a.user)
    owner = tech.post(f"/jobs/{job.pk}/incidents", {"kind": "injury", "description": "x", "owner_id": manager.pk})
    assert owner.status_code == 403
    assert tech.patch(f"/jobs/{job.pk}/incidents/{incident.pk}", {"version": 1, "owner_id": manager.pk}).status_code == 403
    assert field_paths(tech.post(f"/jobs/{job.pk}/incidents", {"kind": "flood", "description": "x"})) == {"body.kind"}
    assert field_paths(tech.post(f"/jobs/{job.pk}/incidents", {"kind": "injury", "description": "x", "visit_id": 999999})) == {"body.visit_id"}
    assert field_paths(tech.patch(f"/jobs/{job.pk}/incidents/{incident.pk}", {"severity": "low"})) == {"body.version"}
    other = api_client(tech_b.user)
    assert other.get(f"/jobs/{job.pk}/incidents").status_code == 404
    assert other.get(f"/jobs/{job.pk}/incidents/{incident.pk}").status_code == 404
    assert other.post(f"/jobs/{job.pk}/incidents", {"kind": "injury", "description": "x"}).status_code == 404
    other_job = JobFactory(technicians=[tech_b])
    assert api_client(manager).get(f"/jobs/{other_job.pk}/incidents/{incident.pk}").status_code == 404
    assert (list(Incident.objects.values()), JobEvent.objects.count()) == before


def test_the_incident_list_reads_a_fixed_number_of_queries(job, tech_a, office):
    api = api_client(office)
    incident_report(actor=tech_a.user, job_id=job.pk, kind="injury", severity="low", description="First", owner_id=None)
    _, few = queries_of(lambda: api.get(f"/jobs/{job.pk}/incidents"))
    for n in range(4):
        incident_report(actor=office, job_id=job.pk, kind="complaint", severity="medium", description=f"More {n}", owner_id=office.pk)
    response, many = queries_of(lambda: api.get(f"/jobs/{job.pk}/incidents"))
    assert len(response.json()) == 5
    assert many == few
