"""Idempotency-Key on POST: same key and body → the stored response; same key, other body → 422;
still in flight → 409; scoped per user; a server error releases the key."""

from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import encode_multipart
from PIL import Image

from serviceopus.api.models import IdempotencyRecord
from serviceopus.closeout.models import Document
from serviceopus.customers import actions as customer_actions
from serviceopus.customers.models import Customer
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory

from .client import BASE, api_client, error_of

pytestmark = pytest.mark.django_db


def test_same_key_and_body_replays_the_stored_response_with_one_effect(dispatcher):
    api = api_client(dispatcher)
    first = api.post("/customers", {"name": "Ann"}, key="k-1")
    second = api.post("/customers", {"name": "Ann"}, key="k-1")
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Customer.objects.count() == 1
    record = IdempotencyRecord.objects.get(user=dispatcher, key="k-1")
    assert (record.state, record.status_code, record.path) == ("done", 201, "/api/v1/customers")


def test_a_replayed_transition_does_not_move_the_job_twice(dispatcher):
    job = JobFactory(status=JobStatus.SCHEDULED)
    api = api_client(dispatcher)
    first = api.post(f"/jobs/{job.pk}/transition", {"to": "in_progress"}, key="move-1")
    second = api.post(f"/jobs/{job.pk}/transition", {"to": "in_progress"}, key="move-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert JobEvent.objects.filter(job=job, kind="status").count() == 1
    # Without the key the same request is a new request, and the table refuses it.
    assert api.post(f"/jobs/{job.pk}/transition", {"to": "in_progress"}).status_code == 409


def test_same_key_with_another_body_is_422_and_runs_nothing(dispatcher):
    api = api_client(dispatcher)
    assert api.post("/customers", {"name": "Ann"}, key="k-1").status_code == 201
    response = api.post("/customers", {"name": "Bob"}, key="k-1")
    assert response.status_code == 422
    assert error_of(response)["code"] == "idempotency_key_reused"
    assert list(Customer.objects.values_list("name", flat=True)) == ["Ann"]


def test_same_key_on_another_url_is_422(dispatcher):
    job = JobFactory(status=JobStatus.NEW, next_visit_at="2030-01-01T09:00:00Z")
    api = api_client(dispatcher)
    assert api.post(f"/jobs/{job.pk}/notes", {"body": "Call first"}, key="k-1").status_code == 201
    other = JobFactory()
    response = api.post(f"/jobs/{other.pk}/notes", {"body": "Call first"}, key="k-1")
    assert response.status_code == 422
    assert error_of(response)["code"] == "idempotency_key_reused"
    assert not other.notes.exists()


def test_a_key_still_in_flight_is_409(dispatcher):
    api = api_client(dispatcher)
    # The first request has claimed the key and is still running (its row is in flight).
    api.post("/customers", {"name": "Ann"}, key="k-1")
    IdempotencyRecord.objects.filter(key="k-1").update(state=IdempotencyRecord.State.IN_FLIGHT, status_code=None, body=b"")
    response = api.post("/customers", {"name": "Ann"}, key="k-1")
    assert response.status_code == 409
    assert error_of(response)["code"] == "idempotency_in_flight"
    assert Customer.objects.count() == 1


def test_keys_are_scoped_per_user(dispatcher, office):
    first = api_client(dispatcher).post("/customers", {"name": "Ann"}, key="shared")
    second = api_client(office).post("/customers", {"name": "Ann"}, key="shared")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert not second.has_header("Idempotent-Replayed")
    assert Customer.objects.count() == 2


def test_a_server_error_releases_the_key(dispatcher, monkeypatch):
    api = api_client(dispatcher, raise_request_exception=False)

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(customer_actions, "customer_create", broken)
    failed = api.post("/customers", {"name": "Ann"}, key="k-1")
    assert failed.status_code == 500
    assert not IdempotencyRecord.objects.filter(key="k-1").exists()
    monkeypatch.undo()
    retried = api.post("/customers", {"name": "Ann"}, key="k-1")
    assert retried.status_code == 201
    assert not retried.has_header("Idempotent-Replayed")
    assert Customer.objects.count() == 1


def test_a_refusal_is_stored_and_replayed_too(dispatcher):
    job = JobFactory(status=JobStatus.NEW)
    api = api_client(dispatcher)
    first = api.post(f"/jobs/{job.pk}/transition", {"to": "closed"}, key="k-1")
    assert first.status_code == 409
    second = api.post(f"/jobs/{job.pk}/transition", {"to": "closed"}, key="k-1")
    assert (second.status_code, second.content, second["Idempotent-Replayed"]) == (409, first.content, "true")


def test_validation_errors_are_stored_and_replayed(dispatcher):
    api = api_client(dispatcher)
    first = api.post("/customers", {"name": ""}, key="k-1")
    second = api.post("/customers", {"name": ""}, key="k-1")
    assert first.status_code == second.status_code == 422
    assert first.content == second.content


@pytest.mark.parametrize("key", ["x" * 256, "tab\there", "bell\x07"])
def test_an_unusable_key_is_422_and_runs_nothing(dispatcher, key):
    response = api_client(dispatcher).post("/customers", {"name": "Ann"}, key=key)
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_idempotency_key"
    assert not Customer.objects.exists()


def test_without_a_key_nothing_is_recorded(dispatcher):
    api = api_client(dispatcher)
    assert api.post("/customers", {"name": "Ann"}).status_code == 201
    assert api.post("/customers", {"name": "Ann"}).status_code == 201
    assert Customer.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_only_posts_use_the_key(dispatcher):
    customer = api_client(dispatcher).post("/customers", {"name": "Ann"}).json()
    api = api_client(dispatcher)
    headers = {"Authorization": f"Bearer {api.token}", "Idempotency-Key": "k-1"}
    assert Client().get("/api/v1/customers", headers=headers).status_code == 200
    patch = Client().patch(f"/api/v1/customers/{customer['id']}", '{"version": 1, "name": "Bo"}', content_type="application/json", headers=headers)
    assert patch.status_code == 200
    assert not IdempotencyRecord.objects.exists()


def test_an_unauthenticated_post_records_nothing():
    response = Client().post("/api/v1/customers", '{"name": "Ann"}', content_type="application/json", headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 401
    assert not IdempotencyRecord.objects.exists()
    assert not Customer.objects.exists()


def test_the_session_user_is_the_scope_for_browser_posts(client_as, dispatcher):
    client = client_as(dispatcher)
    first = client.post("/api/v1/customers", '{"name": "Ann"}', content_type="application/json", headers={"Idempotency-Key": "k-1"})
    second = client.post("/api/v1/customers", '{"name": "Ann"}', content_type="application/json", headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert IdempotencyRecord.objects.get().user == dispatcher
    assert Customer.objects.count() == 1
    assert Job.objects.count() == 0


def test_a_retried_upload_with_a_new_multipart_boundary_is_the_same_request(dispatcher):
    """Clients pick a random boundary per attempt: the retry must replay, not count as another body."""
    job = JobFactory()
    buffer = BytesIO()
    Image.new("RGB", (20, 20), "green").save(buffer, "PNG")
    api = api_client(dispatcher)

    def upload(boundary: str):  # type: ignore[no-untyped-def]
        data = {"files": SimpleUploadedFile("after.png", buffer.getvalue(), content_type="image/png"), "tag": "after"}
        return api.client.post(
            f"{BASE}/jobs/{job.pk}/documents",
            encode_multipart(boundary, data),
            content_type=f"multipart/form-data; boundary={boundary}",
            headers=api._headers("upload-1"),
        )

    first, second = upload("----first-try-7f3a"), upload("----second-try-91bc")
    assert first.status_code == 201, first.content
    assert (second.status_code, second["Idempotent-Replayed"]) == (201, "true")
    assert second.content == first.content
    assert Document.objects.filter(job=job).count() == 1
    # Another file under the same key is another request.
    buffer = BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, "PNG")
    assert error_of(upload("----third-try"))["code"] == "idempotency_key_reused"
