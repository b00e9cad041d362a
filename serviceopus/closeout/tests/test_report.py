"""The service report PDF: rendered from a job with checklist answers, photos, materials, time and a
signature, read back with pdftotext; embedded files come only from the job's own storage; the
download is for whoever may see the job."""

import hashlib
import io
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw

from serviceopus.api.tests.client import api_client, error_of
from serviceopus.closeout import signing
from serviceopus.closeout.models import (
    BlockerWaiver,
    ChecklistAnswer,
    ChecklistItem,
    ChecklistRun,
    ChecklistTemplate,
    CloseoutRequirement,
    Document,
    ItemKind,
    MaterialsConfirmation,
    Signature,
)
from serviceopus.closeout.report import FILE_SCHEME, JobFileFetcher, JobFiles, render_service_report, report_filename, service_report_context
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import LineItem, Note
from serviceopus.jobs.status import JobStatus
from tests.factories import AssetFactory, ContactFactory, JobFactory, JobTypeFactory, LineItemFactory, VisitFactory

pytestmark = pytest.mark.django_db


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def photo(job, tag: str, caption: str = "", **extra) -> Document:  # type: ignore[no-untyped-def]
    data = image_bytes(color=(len(caption) * 7 % 255, 120, 200))
    return Document.objects.create(
        job=job,
        kind=Document.Kind.PHOTO,
        tag=tag,
        caption=caption,
        file=ContentFile(data, name="photo.jpg"),
        original_name="photo.jpg",
        content_type="image/jpeg",
        size=len(data),
        sha256=hashlib.sha256(data + caption.encode() + tag.encode()).hexdigest(),
        **extra,
    )


def signature_png() -> bytes:
    image = Image.new("RGB", (300, 100), (255, 255, 255))
    ImageDraw.Draw(image).line([(10, 70), (60, 20), (90, 80), (140, 30), (200, 75), (280, 40)], fill=(20, 30, 90), width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def sign(job, name: str = "Casey Customer", role: str = Signature.Role.CUSTOMER) -> Signature:  # type: ignore[no-untyped-def]
    content = signing.signed_content(job)
    return Signature.objects.create(
        job=job,
        signer_name=name,
        role=role,
        image=ContentFile(signature_png(), name="signature.png"),
        content=content,
        content_sha256=signing.content_hash(content),
    )


def pdf_text(pdf: bytes, tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


def pdf_image_count(pdf: bytes, tmp_path) -> int:  # type: ignore[no-untyped-def]
    path = tmp_path / "images.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True).stdout.splitlines()
    return len(listing) - 2  # two header lines


@pytest.fixture
def job(tech_a, tech_b, dispatcher):  # type: ignore[no-untyped-def]
    """A furnace job worked by Alex (lead) and Blair: a checklist with an out-of-range reading, before
    and after photos, a material line, time entries and the customer's signature."""
    job_type = JobTypeFactory(name="Furnace tune-up")
    job = JobFactory(
        job_type=job_type,
        status=JobStatus.IN_PROGRESS,
        scope="Annual furnace tune-up; check the burner and replace the filter",
        technicians=[tech_a, tech_b],
    )
    job.contact = ContactFactory(customer=job.customer, name="Pat Contact")
    job.save(update_fields=["contact"])
    job.assets.add(AssetFactory(location=job.location, name="Furnace", make="Carrier", model="59TP6", serial="SN-4711"))
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    visit = VisitFactory(
        job=job,
        number=1,
        crew=[tech_a, tech_b],
        status=VisitStatus.COMPLETED,
        outcome=Outcome.FINISHED,
        scheduled_start=start,
        arrived_at=start + timedelta(minutes=20),
        departed_at=start + timedelta(minutes=110),
        completed_at=start + timedelta(minutes=111),
    )
    template = ChecklistTemplate.objects.create(name="Furnace safety check")
    template.job_types.add(job_type)
    items = [
        ChecklistItem.objects.create(template=template, position=1, label="Filter replaced", kind=ItemKind.YES_NO),
        ChecklistItem.objects.create(
            template=template, position=2, label="Gas pressure", kind=ItemKind.NUMBER, unit="in. w.c.", min_value=Decimal("3.2"), max_value=Decimal("3.8")
        ),
        ChecklistItem.objects.create(template=template, position=3, label="Flame colour", kind=ItemKind.CHOICE, choices=["Blue", "Yellow"]),
        ChecklistItem.objects.create(template=template, position=4, label="Heat exchanger photo", kind=ItemKind.PHOTO, required=False),
        ChecklistItem.objects.create(template=template, position=5, label="Carbon monoxide test", kind=ItemKind.TEXT, required=False),
    ]
    run = ChecklistRun.objects.create(
        job=job,
        template=template,
        template_version=1,
        name=template.name,
        items=[i.snapshot() for i in items],
        visit=visit,
        status=ChecklistRun.Status.COMPLETE,
    )
    exchanger = photo(job, "other", "Heat exchanger")
    answers = {
        items[0]: {"value_bool": True},
        items[1]: {"value_number": Decimal("4.1"), "out_of_range": True},
        items[2]: {"value_text": "Blue"},
        items[3]: {"document": exchanger},
    }
    for item, values in answers.items():
        ChecklistAnswer.objects.create(run=run, item_key=str(item.pk), answered_by=tech_a.user, visit=visit, **values)
    photo(job, "before", "Dirty filter before service", visit=visit)
    photo(job, "after", "New pleated filter installed", visit=visit)
    photo(job, "permit", "City permit")  # not a report tag
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Furnace tune-up", unit_price_cents=12900)
    LineItemFactory(job=job, kind=LineItem.Kind.MATERIAL, description="Pleated air filter 16x25x1", quantity=Decimal("2"), unit_price_cents=1850)
    TimeEntry.objects.create(job=job, visit=visit, technician=tech_a, kind="travel", start=start, end=start + timedelta(minutes=20), review="approved")
    TimeEntry.objects.create(
        job=job, visit=visit, technician=tech_a, kind="work", start=start + timedelta(minutes=20), end=start + timedelta(minutes=110), review="approved"
    )
    TimeEntry.objects.create(job=job, visit=visit, technician=tech_b, kind="work", start=start + timedelta(minutes=20), end=start + timedelta(minutes=80))
    Note.objects.create(job=job, author=dispatcher, body="Internal: customer disputes every invoice")
    sign(job)
    return job


def test_the_report_says_what_was_done(job, tmp_path):
    pdf = render_service_report(job)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf, tmp_path)
    for expected in (
        "Northwind Home Services",
        "SERVICE REPORT",
        job.number,
        job.customer.name,
        "Pat Contact",
        "Carrier 59TP6",
        "S/N SN-4711",
        "Annual furnace tune-up; check the burner and replace the filter",
        # Checklist labels and values, with the out-of-range reading flagged against its range.
        "Furnace safety check",
        "Filter replaced",
        "Yes",
        "Gas pressure",
        "4.1 in. w.c.",
        "Out of range",
        "3.2–3.8 in. w.c.",
        "Flame colour",
        "Blue",
        "Photo taken",
        "1 out of range",
        # Photos with their tags and captions; the permit is not a report photo.
        "Before: Dirty filter before service",
        "After: New pleated filter installed",
        # Materials, time per technician, charges.
        "Pleated air filter 16x25x1",
        "$18.50",
        "$37.00",
        "Alex Tech",
        "Blair Tech",
        "1 to review",
        "Approved",
        "Work finished",
        "Furnace tune-up",
        "$129.00",
        "Subtotal $166.00",
        # The signature, current.
        "Casey Customer",
        "Customer",
        "Current",
    ):
        assert expected in text, expected
    assert "City permit" not in text
    assert "customer disputes" not in text  # internal notes stay internal
    assert "Stale" not in text
    assert "Page 1 of" in text
    # Two report photos, the checklist's photo and the signature are embedded.
    assert pdf_image_count(pdf, tmp_path) == 4


def test_a_changed_job_shows_the_signature_as_stale(job, tmp_path):
    LineItemFactory(job=job, kind=LineItem.Kind.FEE, description="Trip charge", unit_price_cents=4900)
    text = pdf_text(render_service_report(job), tmp_path)
    assert "Stale" in text
    assert "The scope, lines or totals changed after this signature." in text
    assert "subtotal signed: $166.00" in text
    assert "Subtotal $215.00" in text


def test_the_closeout_state_and_no_materials(manager, tmp_path):
    job = JobFactory(status=JobStatus.IN_PROGRESS, scope="Replace a leaking valve")
    CloseoutRequirement.objects.create(job_type=job.job_type, kind="customer_signature")
    CloseoutRequirement.objects.create(job_type=job.job_type, kind="materials")
    CloseoutRequirement.objects.create(job_type=job.job_type, kind="photos", photo_tag="after", min_count=2)
    MaterialsConfirmation.objects.create(job=job, confirmed_by=manager)
    BlockerWaiver.objects.create(job=job, code="customer_signature", reason="Customer away; approved by phone", waived_by=manager)
    text = pdf_text(render_service_report(job, page_size="A4"), tmp_path)
    assert "No materials used — confirmed by Mason Manager" in text
    assert "Waived by Mason Manager" in text
    assert "Customer away; approved by phone" in text
    assert "2 more photos tagged “after” needed (0 of 2)" in text
    assert "1 open" in text
    for empty in ("No visits yet.", "No checklists on this job.", "No time recorded.", "No charges recorded.", "Not signed."):
        assert empty in text


def test_context_reads_everything_from_the_models(job):
    files = JobFiles()
    context = service_report_context(job, files=files)
    assert [p.tag for p in context["photos"]] == ["Before", "After"]
    [checklist] = context["checklists"]
    assert (checklist.status, checklist.answered, checklist.total, checklist.out_of_range_count) == ("Complete", 4, 5, 1)
    assert [t.name for t in context["time"].technicians] == ["Alex Tech", "Blair Tech"]
    alex = context["time"].technicians[0]
    assert (alex.travel_minutes, alex.work_minutes, alex.review) == (20, 90, "Approved")
    assert context["time"].total_minutes == 170
    assert [(v.lead, v.helpers, v.on_site_minutes) for v in context["visits"]] == [("Alex Tech", ["Blair Tech"], 90)]
    assert len(files) == 4  # 2 photos + the checklist photo + the signature


def test_a_corrected_time_entry_counts_once(job):
    original = TimeEntry.objects.get(job=job, technician__user__username="blair")
    TimeEntry.objects.filter(pk=original.pk).update(review="corrected")
    TimeEntry.objects.create(
        job=job,
        technician=original.technician,
        kind="work",
        source="correction",
        start=original.start,
        end=original.start + timedelta(minutes=45),
        corrects=original,
        review="approved",
    )
    blair = service_report_context(job)["time"].technicians[1]
    assert (blair.work_minutes, blair.entries, blair.review) == (45, 1, "Approved")


def test_the_fetcher_serves_only_the_files_it_was_given(job):
    files = JobFiles()
    document = Document.objects.filter(job=job, tag="before").get()
    url = files.add(document.file.name, document.content_type)
    fetcher = JobFileFetcher(files)
    response = fetcher.fetch(url)
    assert (response.read(), response.content_type) == (document.file.open("rb").read(), "image/jpeg")
    for other in (f"{FILE_SCHEME}99", "file:///etc/passwd", "http://127.0.0.1/", "/etc/passwd", document.file.name, f"{FILE_SCHEME}{document.file.name}"):
        with pytest.raises(ValueError, match="embeds only the job's own files"):
            fetcher.fetch(other)


def test_a_missing_file_leaves_the_image_out(job, tmp_path):
    document = Document.objects.get(job=job, tag="before")
    document.file.storage.delete(document.file.name)
    text = pdf_text(render_service_report(job), tmp_path)
    assert "Photo not available" in text
    assert "Dirty filter before service" in text


# ---- the download -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "manager", "dispatcher", "office"])
def test_office_roles_download_the_report(role, job, client_as, request):
    response = client_as(request.getfixturevalue(role)).get(reverse("closeout:report", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{job.number}-service-report.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.startswith(b"%PDF")


def test_the_assigned_technician_downloads_and_another_gets_404(job, client_as, tech_a):
    assert client_as(tech_a.user).get(reverse("closeout:report", args=[job.pk])).status_code == 200
    other = JobFactory(technicians=[])
    assert client_as(tech_a.user).get(reverse("closeout:report", args=[other.pk])).status_code == 404


def test_a_technician_of_another_job_gets_404_and_anonymous_signs_in(job, client_as, client):
    from tests.factories import TechnicianFactory, UserFactory

    stranger = TechnicianFactory(user=UserFactory(username="sam", role="technician"))
    url = reverse("closeout:report", args=[job.pk])
    assert client_as(stranger.user).get(url).status_code == 404
    response = client.get(url)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_report_is_get_only(job, client_as, office):
    assert client_as(office).post(reverse("closeout:report", args=[job.pk])).status_code == 405


def test_the_workspace_links_to_the_report(job, client_as, office):
    page = client_as(office).get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert reverse("closeout:report", args=[job.pk]) in page


def test_the_filename_is_safe():
    job = JobFactory.build(number='J-1/2"x')
    assert report_filename(job) == "J-1_2_x-service-report.pdf"


# ---- the API ----------------------------------------------------------------------------------------


def test_the_api_serves_the_pdf(job, office, tech_a, tmp_path):
    response = api_client(office).get(f"/jobs/{job.pk}/service-report")
    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    assert response["Content-Disposition"] == f'attachment; filename="{job.number}-service-report.pdf"'
    assert "Gas pressure" in pdf_text(response.content, tmp_path)
    assert api_client(tech_a.user).get(f"/jobs/{job.pk}/service-report").status_code == 200
    response = api_client(tech_a.user).get(f"/jobs/{JobFactory().pk}/service-report")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
