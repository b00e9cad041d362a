"""Documents and photos: the actions (upload, dedup, edit, delete — and that a refusal or a failure
leaves nothing half-stored) and the pages (the Documents tab, the upload POST, serving files only
after the access check, the visit screen's photos section)."""

import io
import threading
from pathlib import Path

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from serviceopus.closeout.actions import documents as actions
from serviceopus.closeout.actions.documents import document_delete, document_update, document_upload
from serviceopus.closeout.models import Document, Incident
from serviceopus.closeout.uploads import UploadRefused
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, UserFactory, VisitFactory

from .test_uploads import image_bytes, jpeg_with_exif, media_files, upload

pytestmark = pytest.mark.django_db

OFFICE_ROLES = ("owner", "manager", "dispatcher", "office")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    """A job assigned to technician A."""
    return JobFactory(technicians=[tech_a], status=JobStatus.IN_PROGRESS)


def snapshot():  # type: ignore[no-untyped-def]
    return list(Document.objects.order_by("pk").values()), JobEvent.objects.count()


# ---- actions: upload ----------------------------------------------------------------------------------


def test_upload_stores_the_photo_its_thumbnail_and_a_timeline_event(tech_a, job, media):
    document, created = document_upload(
        actor=tech_a.user,
        job_id=job.pk,
        upload=upload(image_bytes((800, 600)), "unit.jpg"),
        tag="nameplate",
        caption="  Outdoor\n unit  ",
        customer_visible=True,
    )
    assert created
    document.refresh_from_db()
    assert (document.kind, document.tag, document.caption, document.customer_visible) == ("photo", "nameplate", "Outdoor unit", True)
    assert (document.original_name, document.content_type, document.width, document.height) == ("unit.jpg", "image/jpeg", 800, 600)
    assert document.uploaded_by == tech_a.user
    assert document.version == 1
    stored = media / document.file.name
    assert stored.stat().st_size == document.size
    assert Image.open(media / document.thumbnail.name).size == (320, 240)
    assert sorted(media_files(media)) == sorted([stored, media / document.thumbnail.name])
    event = JobEvent.objects.get(job=job)
    assert event.kind == JobEvent.Kind.CLOSEOUT
    assert "Photo added: unit.jpg (nameplate)" in event.message
    assert event.data["document"] == document.pk


def test_same_file_twice_on_one_job_is_stored_once(owner, job, media):
    data = image_bytes()
    first, created = document_upload(actor=owner, job_id=job.pk, upload=upload(data, "a.jpg"), tag="before")
    files, before = media_files(media), snapshot()
    again, created_again = document_upload(actor=owner, job_id=job.pk, upload=upload(data, "copy of a.jpg"), tag="after", caption="other")
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert again.tag == "before"
    assert media_files(media) == files
    assert snapshot() == before
    # Another job may hold the same file.
    other, created_other = document_upload(actor=owner, job_id=JobFactory().pk, upload=upload(data, "a.jpg"))
    assert created_other
    assert other.pk != first.pk


def test_a_duplicate_sent_for_an_incident_is_linked_to_it(owner, job, media):
    incident = Incident.objects.create(job=job, kind=Incident.Kind.PROPERTY_DAMAGE, description="Scratched floor", reported_by=owner)
    data = image_bytes()
    first, _ = document_upload(actor=owner, job_id=job.pk, upload=upload(data))
    again, created = document_upload(actor=owner, job_id=job.pk, upload=upload(data), tag="damage", incident_id=incident.pk)
    assert not created
    assert again.pk == first.pk
    assert (again.incident_id, again.version) == (incident.pk, 2)
    assert len(media_files(media)) == 2


def test_document_upload_keeps_pdf_bytes_and_has_no_thumbnail(office, job, media):
    document, _ = document_upload(actor=office, job_id=job.pk, upload=upload(PDF, "permit.pdf", "application/pdf"), tag="permit")
    assert (document.kind, document.content_type, document.thumbnail.name) == ("document", "application/pdf", "")
    assert (media / document.file.name).read_bytes() == PDF
    assert document.file.name.endswith(".pdf")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tag": "selfie"}, "tag"),
        ({"caption": "x" * 301}, "caption"),
        ({"caption": "a\x00b"}, "caption"),
        ({"visit_id": 10**9}, "visit"),
        ({"incident_id": 10**9}, "incident"),
    ],
)
def test_refused_fields_change_nothing(owner, job, media, kwargs, field):
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        document_upload(actor=owner, job_id=job.pk, upload=upload(image_bytes()), **kwargs)
    assert field in refused.value.fields
    assert snapshot() == before
    assert media_files(media) == []


def test_a_visit_of_another_job_is_refused(owner, job, media):
    other_visit = VisitFactory()
    with pytest.raises(InvalidInput) as refused:
        document_upload(actor=owner, job_id=job.pk, upload=upload(image_bytes()), visit_id=other_visit.pk)
    assert refused.value.fields == {"visit": "No such visit on this job."}
    assert media_files(media) == []


@pytest.mark.parametrize("status", [JobStatus.CLOSED, JobStatus.CANCELLED])
def test_closed_or_cancelled_job_takes_no_upload(owner, media, status):
    job = JobFactory(status=status)
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        document_upload(actor=owner, job_id=job.pk, upload=upload(image_bytes()))
    assert refused.value.code == "job_locked"
    assert snapshot() == before
    assert media_files(media) == []


def test_without_the_capability_nothing_is_stored(job, media):
    inactive = UserFactory(is_active=False)
    with pytest.raises(DomainError) as refused:
        document_upload(actor=inactive, job_id=job.pk, upload=upload(image_bytes()))
    assert refused.value.code == "forbidden"
    assert not Document.objects.exists()
    assert media_files(media) == []


def test_failed_insert_after_the_files_were_saved_deletes_them(owner, job, media, monkeypatch):
    saved: list[str] = []
    real_save = Document.save

    def save_then_fail(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        saved.extend([self.file.name, self.thumbnail.name])
        assert (media / self.file.name).exists()  # the files were on disk when the row failed
        raise IntegrityError("simulated failure of the insert")

    monkeypatch.setattr(Document, "save", save_then_fail)
    before = snapshot()
    with pytest.raises(ConflictError):
        document_upload(actor=owner, job_id=job.pk, upload=upload(image_bytes()))
    monkeypatch.setattr(Document, "save", real_save)
    assert len(saved) == 2
    assert snapshot() == before
    assert media_files(media) == []


def test_failure_after_the_insert_rolls_back_the_row_and_deletes_the_files(owner, job, media, monkeypatch):
    def event_fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("timeline unavailable")

    monkeypatch.setattr(actions, "closeout_event", event_fails)
    before = snapshot()
    with pytest.raises(RuntimeError):
        document_upload(actor=owner, job_id=job.pk, upload=upload(image_bytes()))
    assert snapshot() == before
    assert media_files(media) == []


# ---- actions: update and delete -----------------------------------------------------------------------


def test_update_changes_tag_caption_and_visibility(owner, job, media):
    document, _ = document_upload(actor=owner, job_id=job.pk, upload=upload(image_bytes()), tag="before")
    updated = document_update(actor=owner, document_id=document.pk, version=1, tag="after", caption="Clean coil", customer_visible=True)
    assert (updated.tag, updated.caption, updated.customer_visible, updated.version) == ("after", "Clean coil", True, 2)
    assert "tag before → after, caption, shown to the customer" in JobEvent.objects.filter(job=job).latest("pk").message


def test_stale_edit_is_refused_and_changes_nothing(owner, office, job, media):
    document, _ = document_upload(actor=owner, job_id=job.pk, upload=upload(image_bytes()), tag="before")
    document_update(actor=office, document_id=document.pk, version=1, tag="after", caption="", customer_visible=False)
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        document_update(actor=owner, document_id=document.pk, version=1, tag="damage", caption="Mine", customer_visible=True)
    assert refused.value.code == "stale"
    assert refused.value.http_status == 409
    assert snapshot() == before


def test_delete_removes_the_row_and_then_its_files(owner, job, media, django_capture_on_commit_callbacks):
    document, _ = document_upload(actor=owner, job_id=job.pk, upload=upload(image_bytes()))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        document_delete(actor=owner, document_id=document.pk)
    assert not Document.objects.exists()
    assert len(media_files(media)) == 2  # still there until the deletion is committed
    for callback in callbacks:
        callback()
    assert media_files(media) == []
    assert "Photo deleted" in JobEvent.objects.filter(job=job).latest("pk").message


def test_delete_on_a_closed_job_is_refused(owner, job, media):
    document, _ = document_upload(actor=owner, job_id=job.pk, upload=upload(image_bytes()))
    type(job).objects.filter(pk=job.pk).update(status=JobStatus.CLOSED)
    with pytest.raises(DomainError):
        document_delete(actor=owner, document_id=document.pk)
    assert Document.objects.filter(pk=document.pk).exists()
    assert len(media_files(media)) == 2


# ---- pages: the Documents tab -------------------------------------------------------------------------


def make_documents(job, count: int) -> None:  # type: ignore[no-untyped-def]
    """Rows only (no files): what the tab's queries see."""
    uploader = UserFactory()
    Document.objects.bulk_create(
        Document(
            job=job,
            kind="photo" if i % 2 else "document",
            tag=("before", "after", "permit")[i % 3],
            caption=f"Caption {i}",
            file=f"closeout/2026/01/{i:032x}.jpg",
            thumbnail=f"closeout/2026/01/t{i:031x}.jpg" if i % 2 else "",
            original_name=f"file-{i}.jpg",
            content_type="image/jpeg" if i % 2 else "application/pdf",
            size=1000 + i,
            sha256=f"{i:064x}",
            uploaded_by=uploader,
        )
        for i in range(count)
    )


def tab_url(job) -> str:  # type: ignore[no-untyped-def]
    return reverse("jobs:tab", args=[job.pk, "documents"])


def test_tab_shows_photos_as_a_grid_documents_as_a_list_and_the_upload_form(client_as, office, job, media):
    document_upload(actor=office, job_id=job.pk, upload=upload(image_bytes(), "coil.jpg"), tag="after", caption="Clean coil", customer_visible=True)
    pdf, _ = document_upload(actor=office, job_id=job.pk, upload=upload(PDF, "permit.pdf"), tag="permit")
    page = client_as(office).get(tab_url(job)).content.decode()
    assert 'id="documents-panel"' in page
    assert 'class="docs-grid"' in page
    assert "Clean coil" in page
    assert "Customer can see" in page
    assert "permit.pdf" in page
    assert "Internal" in page
    assert "Oscar Office" in page
    assert reverse("closeout:document_thumb", args=[job.pk, Document.objects.get(kind="photo").pk]) in page
    assert reverse("closeout:document_file", args=[job.pk, pdf.pk]) in page
    assert 'name="files" multiple' in page
    assert 'enctype="multipart/form-data"' in page
    assert 'data-confirm="Delete “permit.pdf”?' in page


def test_tab_filters_by_tag(client_as, office, job, media):
    document_upload(actor=office, job_id=job.pk, upload=upload(image_bytes(color=(1, 2, 3)), "before.jpg"), tag="before")
    document_upload(actor=office, job_id=job.pk, upload=upload(image_bytes(color=(9, 9, 9)), "after.jpg"), tag="after")
    page = client_as(office).get(tab_url(job), {"tag": "after"}).content.decode()
    assert "after.jpg" in page
    assert "before.jpg" not in page
    assert "Nothing tagged" in client_as(office).get(tab_url(job), {"tag": "permit"}).content.decode()


def test_empty_tab_says_what_it_is_for(client_as, office, job):
    page = client_as(office).get(tab_url(job)).content.decode()
    assert "No documents or photos yet" in page
    assert 'name="files"' in page


def test_tab_query_count_does_not_grow_with_documents(client_as, office, job, django_assert_num_queries):
    client = client_as(office)
    make_documents(job, 2)
    client.get(tab_url(job))  # warm up the session and permission caches
    with CaptureQueriesContext(connection) as two:
        assert client.get(tab_url(job)).status_code == 200
    make_documents(JobFactory(), 1)  # another job's documents are not read
    Document.objects.filter(job=job).delete()
    make_documents(job, 20)
    with django_assert_num_queries(len(two.captured_queries)):
        page = client.get(tab_url(job)).content.decode()
    assert page.count('<li class="docs-card') == 10
    assert page.count('<li class="docs-row') == 10


# ---- pages: uploading -----------------------------------------------------------------------------------


def upload_url(job) -> str:  # type: ignore[no-untyped-def]
    return reverse("closeout:document_upload", args=[job.pk])


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.wsgi_request._messages]


def test_several_files_at_once_each_stored_or_refused_on_its_own(client_as, tech_a, job, media):
    files = [
        upload(image_bytes(color=(10, 10, 10)), "one.jpg"),
        upload(b"<svg onload='alert(1)'/>", "two.svg", "image/svg+xml"),
        upload(PDF, "three.pdf", "application/pdf"),
        upload(b"", "four.jpg"),
    ]
    response = client_as(tech_a.user).post(upload_url(job), {"files": files, "tag": "before", "caption": "Arrival", "next": "/field/visits/1/#photos"})
    assert response.status_code == 302
    assert response["Location"] == "/field/visits/1/#photos"
    assert sorted(Document.objects.values_list("original_name", "tag", "caption")) == [("one.jpg", "before", "Arrival"), ("three.pdf", "before", "Arrival")]
    notes = messages_of(response)
    assert notes[0] == "Uploaded “one.jpg”."
    assert notes[2] == "Uploaded “three.pdf”."
    assert "“two.svg” is not a file type we accept" in notes[1]
    assert "“four.jpg” is empty" in notes[3]


def test_upload_from_htmx_reloads_the_page_or_shows_refusals_in_the_panel(client_as, office, job, media):
    client = client_as(office)
    headers = {"HX-Request": "true", "HX-Target": "documents-panel"}
    ok = client.post(upload_url(job), {"files": [upload(image_bytes(), "a.jpg")], "tag": "other"}, headers=headers)
    # Stored: the header's closeout panel counts photos too, so the whole page reloads.
    assert ok.status_code == 200
    assert ok["HX-Redirect"] == tab_url(job)
    again = client.post(upload_url(job), {"files": [upload(image_bytes(), "a.jpg")]}, headers=headers)
    assert again.status_code == 200
    assert again.content.decode().lstrip().startswith('<section id="documents-panel"')
    assert "already on this job" in again.content.decode()
    bad = client.post(upload_url(job), {"files": [upload(b"MZ\x00\x00", "x.exe")], "caption": "Kept"}, headers=headers)
    assert bad.status_code == 422
    assert "not a file type we accept" in bad.content.decode()
    assert 'name="caption" maxlength="300" value="Kept"' in bad.content.decode()
    assert Document.objects.count() == 1


def test_bad_tag_refuses_the_whole_upload_once(client_as, office, job, media):
    response = client_as(office).post(upload_url(job), {"files": [upload(image_bytes(), "a.jpg"), upload(PDF, "b.pdf")], "tag": "selfie"})
    assert messages_of(response) == ["Nothing uploaded: Choose one of: before, after, nameplate, damage, permit, other."]
    assert not Document.objects.exists()
    assert media_files(media) == []


def multipart(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        body += (b"Content-Type: image/jpeg\r\n" if filename else b"") + b"\r\n" + data + b"\r\n"
    return body


def test_upload_cut_off_midway_stores_nothing(client_as, office, job, media):
    boundary = "----cutoff7MA4YWxkTrZu0gW"
    photo = image_bytes((300, 300))
    whole = multipart(boundary, [("tag", None, b"before"), ("files", "photo.jpg", photo)]) + f"--{boundary}--\r\n".encode()
    cut = whole[: whole.index(photo) + len(photo) // 2]  # the connection dropped inside the file
    response = client_as(office).generic("POST", upload_url(job), cut, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 302
    assert "No file arrived" in messages_of(response)[0]
    assert not Document.objects.exists()
    assert media_files(media) == []
    # The same body sent whole is stored: the cut was the only difference.
    client_as(office).generic("POST", upload_url(job), whole, content_type=f"multipart/form-data; boundary={boundary}")
    assert Document.objects.get().tag == "before"


def test_upload_cut_off_in_the_second_file_keeps_only_the_first(client_as, office, job, media):
    boundary = "----cutoffB"
    first, second = image_bytes(color=(1, 1, 1)), image_bytes((200, 200), color=(2, 2, 2))
    body = multipart(boundary, [("files", "first.jpg", first), ("files", "second.jpg", second)])
    cut = body[: body.index(second) + 100]
    client_as(office).generic("POST", upload_url(job), cut, content_type=f"multipart/form-data; boundary={boundary}")
    assert list(Document.objects.values_list("original_name", flat=True)) == ["first.jpg"]
    assert len(media_files(media)) == 2


def test_technician_of_another_job_cannot_upload(client_as, tech_b, job, media):
    response = client_as(tech_b.user).post(upload_url(job), {"files": [upload(image_bytes())]})
    assert response.status_code == 404
    assert not Document.objects.exists()


# ---- pages: editing and deleting ------------------------------------------------------------------------


def test_inline_edit_saves_and_a_stale_one_answers_409(client_as, office, manager, job, media):
    document, _ = document_upload(actor=office, job_id=job.pk, upload=upload(image_bytes(), "a.jpg"), tag="before")
    url = reverse("closeout:document_edit", args=[job.pk, document.pk])
    form = client_as(office).get(url)
    assert form.status_code == 200
    assert 'class="docs-edit" open' in form.content.decode()
    saved = client_as(office).post(url, {"tag": "after", "caption": "Done", "customer_visible": "1", "version": "1"})
    assert saved.status_code == 302
    assert saved["Location"] == tab_url(job)
    stale = client_as(manager).post(url, {"tag": "damage", "caption": "Mine", "version": "1"}, headers={"HX-Request": "true", "HX-Target": "documents-panel"})
    assert stale.status_code == 409
    body = stale.content.decode()
    assert "changed by someone else" in body
    assert 'value="Done"' in body
    assert 'name="version" value="2"' in body
    document.refresh_from_db()
    assert (document.tag, document.caption, document.customer_visible, document.version) == ("after", "Done", True, 2)


def test_inline_edit_with_a_bad_caption_answers_422(client_as, office, job, media):
    document, _ = document_upload(actor=office, job_id=job.pk, upload=upload(image_bytes()))
    url = reverse("closeout:document_edit", args=[job.pk, document.pk])
    response = client_as(office).post(url, {"tag": "after", "caption": "x" * 301, "version": "1"})
    assert response.status_code == 422
    assert "At most 300 characters" in response.content.decode()
    document.refresh_from_db()
    assert document.version == 1


def test_delete_from_the_tab(client_as, office, job, media, django_capture_on_commit_callbacks):
    document, _ = document_upload(actor=office, job_id=job.pk, upload=upload(PDF, "old.pdf"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(office).post(reverse("closeout:document_delete", args=[job.pk, document.pk]))
    assert response.status_code == 302
    assert messages_of(response) == ["Deleted “old.pdf”."]
    assert not Document.objects.exists()
    assert media_files(media) == []


# ---- pages: serving files only after the access check -----------------------------------------------------


@pytest.fixture
def photo_and_pdf(office, job, media):  # type: ignore[no-untyped-def]
    photo, _ = document_upload(actor=office, job_id=job.pk, upload=upload(jpeg_with_exif(), "IMG_1.JPG"))
    pdf, _ = document_upload(actor=office, job_id=job.pk, upload=upload(PDF, 'per"mit.pdf'))
    return photo, pdf


def test_photo_is_served_inline_with_safe_headers(client_as, office, job, photo_and_pdf, media):
    photo, _ = photo_and_pdf
    response = client_as(office).get(reverse("closeout:document_file", args=[job.pk, photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")
    assert response["Content-Disposition"] == 'inline; filename="IMG_1.jpg"'
    assert b"".join(response.streaming_content) == (media / photo.file.name).read_bytes()
    thumb = client_as(office).get(reverse("closeout:document_thumb", args=[job.pk, photo.pk]))
    assert thumb["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size == (40, 60)


def test_other_documents_are_served_as_downloads(client_as, office, job, photo_and_pdf):
    _, pdf = photo_and_pdf
    response = client_as(office).get(reverse("closeout:document_file", args=[job.pk, pdf.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "mit.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client_as(office).get(reverse("closeout:document_thumb", args=[job.pk, pdf.pk])).status_code == 404


@pytest.mark.parametrize("who", [*OFFICE_ROLES, "tech_a", "tech_b"])
def test_file_access_by_role(request, client_as, job, photo_and_pdf, who):
    user = request.getfixturevalue(who)
    user = getattr(user, "user", user)
    photo, pdf = photo_and_pdf
    expected = 404 if who == "tech_b" else 200
    for name, doc in (("closeout:document_file", photo), ("closeout:document_thumb", photo), ("closeout:document_file", pdf)):
        assert client_as(user).get(reverse(name, args=[job.pk, doc.pk])).status_code == expected, name
    assert client_as(user).get(tab_url(job)).status_code == expected


def test_a_document_is_reached_only_through_its_own_job(client_as, office, tech_a, photo_and_pdf):
    photo, _ = photo_and_pdf
    other_job = JobFactory(technicians=[tech_a])
    assert client_as(office).get(reverse("closeout:document_file", args=[other_job.pk, photo.pk])).status_code == 404
    assert client_as(tech_a.user).get(reverse("closeout:document_thumb", args=[other_job.pk, photo.pk])).status_code == 404


def test_stored_files_have_no_public_url(settings, photo_and_pdf):
    assert not getattr(settings, "MEDIA_URL", "").strip("/")
    photo, _ = photo_and_pdf
    assert Path(photo.file.name).suffix == ".jpg"
    assert photo.original_name not in photo.file.name


@pytest.mark.parametrize("name", ["closeout:document_upload", "closeout:document_delete"])
def test_post_only_urls_answer_get_with_405(client_as, office, job, photo_and_pdf, name):
    photo, _ = photo_and_pdf
    args = [job.pk] if name == "closeout:document_upload" else [job.pk, photo.pk]
    assert client_as(office).get(reverse(name, args=args)).status_code == 405


# ---- the visit screen's photos section ------------------------------------------------------------------


def test_visit_screen_has_the_camera_and_the_jobs_photos(client_as, tech_a, media):
    visit = VisitFactory(crew=[tech_a], status=VisitStatus.ARRIVED)
    photo, _ = document_upload(actor=tech_a.user, job_id=visit.job_id, upload=upload(image_bytes()), caption="Rusty flue")
    page = client_as(tech_a.user).get(reverse("field:visit", args=[visit.pk])).content.decode()
    section = page[page.index('<section class="fd-section" id="photos"') :]
    section = section[: section.index("</section>")]
    assert 'accept="image/*,application/pdf" capture="environment" multiple' in section
    assert "Take photos" in section
    assert '<option value="before" selected>' in section
    assert f'name="next" value="{reverse("field:visit", args=[visit.pk])}#photos"' in section
    assert f'name="visit" value="{visit.pk}"' in section
    assert reverse("closeout:document_thumb", args=[visit.job_id, photo.pk]) in section
    assert "Rusty flue" in section


def test_photo_taken_on_the_visit_screen_comes_back_to_it(client_as, tech_a, media):
    visit = VisitFactory(crew=[tech_a], status=VisitStatus.DEPARTED)
    page = client_as(tech_a.user).get(reverse("field:visit", args=[visit.pk])).content.decode()
    assert '<option value="after" selected>' in page
    back = reverse("field:visit", args=[visit.pk]) + "#photos"
    response = client_as(tech_a.user).post(
        upload_url(visit.job), {"files": [upload(image_bytes(), "done.jpg")], "tag": "after", "visit": str(visit.pk), "next": back}
    )
    assert response["Location"] == back
    assert Document.objects.get().visit_id == visit.pk


def test_refused_upload_error_shape():
    refusal = UploadRefused("type", "“x” is not accepted.")
    assert isinstance(refusal, InvalidInput)
    assert refusal.fields == {"file": "“x” is not accepted."}
    assert refusal.http_status == 422


# ---- concurrency ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_file_uploaded_at_once_is_stored_once(office, media):
    """Eight uploads of one file at the same moment, each on its own connection: one stores it, the
    others get that document back, and only its two files are on disk."""
    job = JobFactory(status=JobStatus.IN_PROGRESS)
    data = image_bytes((400, 300))
    barrier = threading.Barrier(8)
    results: list[tuple[int, bool] | BaseException] = [None] * 8  # type: ignore[list-item]

    def worker(i: int) -> None:
        try:
            barrier.wait()
            document, created = document_upload(actor=office, job_id=job.pk, upload=upload(data, f"copy-{i}.jpg"))
            results[i] = (document.pk, created)
        except BaseException as exc:  # any failure is reported by the assertion below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(created for _, created in results) == [False] * 7 + [True]  # type: ignore[misc]
    assert len({pk for pk, _ in results}) == 1  # type: ignore[misc]
    assert Document.objects.count() == 1
    assert len(media_files(media)) == 2
