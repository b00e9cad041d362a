"""The documents API: listing, multipart upload (several files, each stored, recognised or refused on
its own), reading, editing with a version, deleting, and downloading — with who may do what, the one
error body, and that refused calls change nothing."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from serviceopus.api.tests.client import BASE, api_client, error_of, field_paths
from serviceopus.closeout.actions.documents import document_upload
from serviceopus.closeout.models import Document
from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, VisitFactory

from .test_documents import PDF, make_documents, snapshot
from .test_uploads import SVG_WITH_SCRIPT, image_bytes, jpeg_with_exif, media_files, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    return JobFactory(technicians=[tech_a], status=JobStatus.IN_PROGRESS)


def post_files(api, job_id: int, files: list, **fields):  # type: ignore[no-untyped-def]
    return api.client.post(f"{BASE}/jobs/{job_id}/documents", {"files": files, **fields}, headers=api._headers())


# ---- upload -------------------------------------------------------------------------------------------


def test_upload_several_files_each_with_its_own_result(tech_a, job, media):
    api = api_client(tech_a.user)
    visit = VisitFactory(job=job, crew=[tech_a])
    response = post_files(
        api,
        job.pk,
        [upload(jpeg_with_exif(), "IMG_1.JPG"), upload(SVG_WITH_SCRIPT, "x.svg", "image/svg+xml"), upload(PDF, "permit.pdf")],
        tag="before",
        caption="On arrival",
        customer_visible="true",
        visit_id=str(visit.pk),
    )
    assert response.status_code == 201, response.content
    results = response.json()["results"]
    assert [(r["name"], r["status"]) for r in results] == [("IMG_1.JPG", "created"), ("x.svg", "refused"), ("permit.pdf", "created")]
    photo = results[0]["document"]
    assert (photo["kind"], photo["content_type"], photo["width"], photo["height"]) == ("photo", "image/jpeg", 40, 60)
    assert (photo["tag"], photo["caption"], photo["customer_visible"], photo["visit_id"], photo["version"]) == ("before", "On arrival", True, visit.pk, 1)
    assert photo["uploaded_by"] == {"id": tech_a.user.pk, "name": tech_a.user.display_name}
    assert photo["file_url"] == f"/api/v1/documents/{photo['id']}/file"
    assert photo["thumbnail_url"].endswith("/thumbnail")
    assert results[1]["document"] is None
    assert results[1]["error"]["code"] == "type"
    assert results[2]["document"]["thumbnail_url"] is None
    assert Document.objects.count() == 2


def test_same_file_again_is_a_duplicate_and_stores_nothing(office, job, media):
    api = api_client(office)
    first = post_files(api, job.pk, [upload(image_bytes(), "a.jpg")]).json()["results"][0]["document"]
    files, before = media_files(media), snapshot()
    again = post_files(api, job.pk, [upload(image_bytes(), "b.jpg")], tag="after")
    assert again.status_code == 200
    [result] = again.json()["results"]
    assert result["status"] == "duplicate"
    assert result["document"]["id"] == first["id"]
    assert result["document"]["tag"] == "other"
    assert media_files(media) == files
    assert snapshot() == before


def test_a_large_upload_with_an_idempotency_key_is_stored_once_and_replayed(office, job, media):
    api = api_client(office)
    data = b"reading,value\n" + b"supply,41.5\n" * 400_000  # about 4.8 MB: more than Django's default in-memory body limit
    first = api.client.post(f"{BASE}/jobs/{job.pk}/documents", {"files": [upload(data, "log.csv")]}, headers=api._headers("upload-1"))
    assert first.status_code == 201
    replay = api.client.post(f"{BASE}/jobs/{job.pk}/documents", {"files": [upload(data, "log.csv")]}, headers=api._headers("upload-1"))
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Document.objects.get().size == len(data)


def test_every_file_refused_is_422_with_a_field_per_file(office, job, media):
    before = snapshot()
    response = post_files(api_client(office), job.pk, [upload(b"", "empty.jpg"), upload(b"MZ\x00\x00", "x.exe")])
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid"
    assert {f["path"]: f["message"] for f in error["fields"]} == {
        "files.0": "“empty.jpg” is empty (0 bytes); nothing was uploaded.",
        "files.1": "“x.exe” is not a file type we accept. Upload photos (JPEG, PNG, GIF, WebP), PDFs, Office documents or plain text.",
    }
    assert [r["error"]["code"] for r in error["details"]["results"]] == ["empty", "type"]
    assert snapshot() == before
    assert media_files(media) == []


@pytest.mark.parametrize(("fields", "path"), [({"tag": "selfie"}, "tag"), ({"caption": "x" * 301}, "caption"), ({"visit_id": "abc"}, "visit_id")])
def test_bad_form_fields_are_422_and_change_nothing(office, job, media, fields, path):
    before = snapshot()
    response = post_files(api_client(office), job.pk, [upload(image_bytes())], **fields)
    assert response.status_code == 422
    assert any(p.endswith(path) for p in field_paths(response)), field_paths(response)
    assert snapshot() == before
    assert media_files(media) == []


def test_visit_of_another_job_is_a_field_error(office, job, media):
    response = post_files(api_client(office), job.pk, [upload(image_bytes())], visit_id=str(VisitFactory().pk))
    assert response.status_code == 422
    assert field_paths(response) == {"body.visit_id"}
    assert not Document.objects.exists()


def test_no_file_is_422(office, job):
    response = api_client(office).client.post(f"{BASE}/jobs/{job.pk}/documents", {"tag": "before"}, headers=api_client(office)._headers())
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"


def test_upload_to_a_closed_job_is_409(office, media):
    job = JobFactory(status=JobStatus.CLOSED)
    response = post_files(api_client(office), job.pk, [upload(image_bytes())])
    assert response.status_code == 409
    assert error_of(response)["code"] == "job_locked"
    assert media_files(media) == []


def test_technician_of_another_job_gets_404_everywhere(tech_b, office, job, media):
    document, _ = document_upload(actor=office, job_id=job.pk, upload=upload(image_bytes()))
    api = api_client(tech_b.user)
    for response in (
        api.get(f"/jobs/{job.pk}/documents"),
        post_files(api, job.pk, [upload(image_bytes(color=(0, 0, 0)))]),
        api.get(f"/documents/{document.pk}"),
        api.patch(f"/documents/{document.pk}", {"version": 1, "tag": "after"}),
        api.delete(f"/documents/{document.pk}"),
        api.get(f"/documents/{document.pk}/file"),
        api.get(f"/documents/{document.pk}/thumbnail"),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
    assert Document.objects.get().tag == "other"


# ---- reads --------------------------------------------------------------------------------------------


def test_list_newest_first_with_tag_filter_in_fixed_queries(office, job):
    api = api_client(office)
    make_documents(job, 3)
    api.get(f"/jobs/{job.pk}/documents")
    with CaptureQueriesContext(connection) as few:
        body = api.get(f"/jobs/{job.pk}/documents").json()
    assert [d["original_name"] for d in body] == ["file-2.jpg", "file-1.jpg", "file-0.jpg"]
    make_documents(JobFactory(), 1)
    Document.objects.filter(job=job).delete()
    make_documents(job, 30)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get(f"/jobs/{job.pk}/documents").json()) == 30
    assert len(many.captured_queries) == len(few.captured_queries)
    assert {d["tag"] for d in api.get(f"/jobs/{job.pk}/documents", {"tag": "permit"}).json()} == {"permit"}
    assert api.get(f"/jobs/{job.pk}/documents", {"tag": "nope"}).status_code == 422


def test_detail_and_download(tech_a, office, job, media):
    photo, _ = document_upload(actor=office, job_id=job.pk, upload=upload(image_bytes((640, 480)), "unit.jpg"))
    pdf, _ = document_upload(actor=office, job_id=job.pk, upload=upload(PDF, "permit.pdf"))
    api = api_client(tech_a.user)
    assert api.get(f"/documents/{photo.pk}").json()["sha256"] == photo.sha256
    file = api.get(f"/documents/{photo.pk}/file")
    assert file.status_code == 200
    assert file["Content-Type"] == "image/jpeg"
    assert file["X-Content-Type-Options"] == "nosniff"
    assert b"".join(file.streaming_content) == (media / photo.file.name).read_bytes()
    thumb = api.get(f"/documents/{photo.pk}/thumbnail")
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size == (320, 240)
    download = api.get(f"/documents/{pdf.pk}/file")
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Cache-Control"].startswith("private")
    assert api.get(f"/documents/{pdf.pk}/thumbnail").status_code == 404
    assert api.get("/documents/999999999").status_code == 404


# ---- edit and delete ----------------------------------------------------------------------------------


def test_patch_with_version_and_a_stale_one(office, manager, job, media):
    document, _ = document_upload(actor=office, job_id=job.pk, upload=upload(image_bytes()), caption="Keep")
    changed = api_client(office).patch(f"/documents/{document.pk}", {"version": 1, "tag": "after", "customer_visible": True})
    assert changed.status_code == 200
    assert {k: changed.json()[k] for k in ("tag", "caption", "customer_visible", "version")} == {
        "tag": "after",
        "caption": "Keep",
        "customer_visible": True,
        "version": 2,
    }
    before = snapshot()
    stale = api_client(manager).patch(f"/documents/{document.pk}", {"version": 1, "caption": "Mine"})
    assert stale.status_code == 409
    assert error_of(stale)["code"] == "stale"
    assert snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {"tag": "after"},
        {"version": "1"},
        {"version": 1, "tag": "selfie"},
        {"version": 1, "caption": "x" * 301},
        {"version": 1, "colour": "red"},
        {"version": 1, "customer_visible": "yes"},
    ],
)
def test_patch_input_is_strict(office, job, media, body):
    document, _ = document_upload(actor=office, job_id=job.pk, upload=upload(image_bytes()))
    response = api_client(office).patch(f"/documents/{document.pk}", body)
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"
    document.refresh_from_db()
    assert document.version == 1


def test_delete_then_files_go_after_commit(office, job, media, django_capture_on_commit_callbacks):
    document, _ = document_upload(actor=office, job_id=job.pk, upload=upload(image_bytes()))
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(office).delete(f"/documents/{document.pk}")
    assert response.status_code == 204
    assert not Document.objects.exists()
    assert media_files(media) == []
    assert api_client(office).delete(f"/documents/{document.pk}").status_code == 404
    assert JobEvent.objects.filter(job=job, message__startswith="Photo deleted").exists()
