"""Closeout on a phone (390×844): a technician fills the checklist (an out-of-range reading is flagged),
uploads photos, has the customer sign on the pad, tries to finish with the required "after" photo
missing (refused, the blocker shown, nothing changed), adds it and finishes. Then the office sees the
evidence on the job and downloads the service report."""

import io
from datetime import datetime, time
from decimal import Decimal

from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from serviceopus.closeout.models import ChecklistAnswer, ChecklistItem, ChecklistTemplate, CloseoutRequirement, Document, ItemKind, Signature
from serviceopus.closeout.signing import current_hash
from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory, JobTypeFactory, LineItemFactory, LocationFactory

V = VisitStatus
PHONE = {"width": 390, "height": 844}


def jpeg(color: tuple[int, int, int], name: str) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(buffer, "JPEG")
    return {"name": name, "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def furnace_job(dispatcher, tech):  # type: ignore[no-untyped-def]
    """A furnace tune-up whose type wants its checklist done, a before and an after photo and the
    customer's signature; the technician is working on site."""
    job_type = JobTypeFactory(name="Furnace maintenance")
    template = ChecklistTemplate.objects.create(name="Furnace safety check")
    template.job_types.add(job_type)
    ChecklistItem.objects.create(template=template, position=0, label="Filter replaced", kind=ItemKind.YES_NO)
    ChecklistItem.objects.create(
        template=template, position=1, label="Manifold gas pressure", kind=ItemKind.NUMBER, unit="in. w.c.", min_value=Decimal("3.2"), max_value=Decimal("3.8")
    )
    for kind, tag in (("checklists", ""), ("photos", "before"), ("photos", "after"), ("customer_signature", "")):
        CloseoutRequirement.objects.create(job_type=job_type, kind=kind, photo_tag=tag)
    customer = CustomerFactory(name="Maple Dental")
    job = JobFactory(customer=customer, location=LocationFactory(customer=customer), job_type=job_type, status=JobStatus.NEW, scope="Annual furnace tune-up.")
    LineItemFactory(job=job, description="Furnace tune-up", quantity=Decimal("1"), unit_price_cents=12900)
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time(8)))
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=start, lead_id=tech.pk, duration_minutes=90)
    for to in (V.EN_ROUTE, V.ARRIVED, V.WORKING):
        visit_transition(actor=tech.user, visit_id=visit.pk, to=to)
    return job, visit


def sign(page: Page) -> None:
    pad = page.locator("canvas[data-signature-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * (box["width"] - 40) / 11, box["y"] + box["height"] * (0.3 if step % 2 else 0.7), steps=3)
    page.mouse.up()


def test_a_technician_closes_out_a_visit_on_a_phone(dispatcher, office, tech_a, login_as, shot):  # type: ignore[no-untyped-def]
    job, visit = furnace_job(dispatcher, tech_a)
    page = login_as(tech_a.user, viewport=PHONE)
    page.goto(f"/field/visits/{visit.pk}/")
    blockers = page.get_by_role("region", name="Before you finish")
    expect(blockers).to_contain_text("2 required checklist items open: Filter replaced, Manifold gas pressure")
    expect(blockers).to_contain_text("No customer signature yet.")

    # The checklist: a reading outside 3.2–3.8 is saved and flagged.
    checklist = page.locator("#checklists")
    yes = checklist.get_by_role("group", name="Filter replaced").get_by_role("button", name="Yes")
    yes.click()
    expect(yes).to_have_attribute("aria-pressed", "true")  # the section came back with the answer
    pressure = checklist.locator(".chk-item").filter(has_text="Manifold gas pressure")
    pressure.get_by_label("Manifold gas pressure").fill("4.6")
    pressure.get_by_role("button", name="Save").click()
    expect(pressure.locator(".chk-flag")).to_contain_text("Out of range")
    expect(pressure.locator(".chk-flag")).to_contain_text("3.2–3.8")
    expect(checklist.get_by_test_id("chk-progress")).to_contain_text("1 out of range")
    # The status panel follows: the checklist is no longer among the blockers.
    expect(blockers).not_to_contain_text("checklist")
    shot(page, "checklist")

    # Photos: two "before" shots at once.
    photos = page.locator("#photos")
    photos.locator("#fd-photo-input").set_input_files([jpeg((200, 60, 40), "burner.jpg"), jpeg((40, 60, 200), "filter.jpg")])
    photos.get_by_label("Tag").select_option(label="Before")
    photos.get_by_role("button", name="Upload").click()
    expect(page.locator("#photos .fd-photos li")).to_have_count(2)
    assert Document.objects.filter(job=job, tag="before", kind="photo").count() == 2

    # The customer signs on the pad.
    signature = page.locator("#signature")
    signature.get_by_label("Signer's name").fill("Ana Ruiz")
    signature.get_by_label("Customer").check()
    sign(page)
    signature.get_by_role("button", name="Save signature").click()
    expect(page.locator("#signature .sig-item")).to_contain_text("Ana Ruiz")
    expect(page.locator("#signature .sig-item")).to_contain_text("Current")
    [signed] = Signature.objects.filter(job=job)
    assert (signed.role, signed.content_sha256) == ("customer", current_hash(job))

    # Finishing with the "after" photo missing is refused, names the blocker and changes nothing.
    expect(page.get_by_role("region", name="Before you finish")).to_contain_text("1 more photo tagged “after” needed (0 of 1)")
    page.get_by_role("button", name="Finish & depart").click()
    expect(page.get_by_role("status").filter(has_text="cannot be finished")).to_have_text(
        "The work cannot be finished yet: 1 more photo tagged “after” needed (0 of 1)."
    )
    expect(page.get_by_test_id("visit-status")).to_have_text("Working")
    assert Visit.objects.get(pk=visit.pk).status == V.WORKING
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    shot(page, "refused")

    photos = page.locator("#photos")
    photos.locator("#fd-photo-input").set_input_files([jpeg((90, 160, 90), "after.jpg")])
    photos.get_by_label("Tag").select_option(label="After")
    photos.get_by_role("button", name="Upload").click()
    expect(page.locator("#photos .fd-photos li")).to_have_count(3)
    expect(page.get_by_role("region", name="Before you finish")).to_have_count(0)
    page.get_by_role("button", name="Finish & depart").click()
    expect(page.get_by_test_id("visit-status")).to_have_text("Completed")
    assert Visit.objects.get(pk=visit.pk).status == V.COMPLETED
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE
    answer = ChecklistAnswer.objects.get(run__job=job, value_number=Decimal("4.6"))
    assert answer.out_of_range
    shot(page, "finished")

    # The office sees the evidence and gets the service report.
    office_page = login_as(office)
    office_page.goto(f"/jobs/{job.pk}/")
    panel = office_page.get_by_role("region", name="Closeout")
    expect(panel).to_contain_text("Ready for work complete")
    office_page.get_by_role("navigation", name="Job sections").get_by_role("link", name="Documents").click()
    expect(office_page.locator("img[src*='/thumb']")).to_have_count(3)
    # Every thumbnail really loads (served through the access check), lazy ones included.
    office_page.locator("img[src*='/thumb']").last.scroll_into_view_if_needed()
    office_page.wait_for_function("[...document.querySelectorAll(\"img[src*='/thumb']\")].every(i => i.complete && i.naturalWidth > 0)")
    shot(office_page, "documents")
    with office_page.expect_download() as download:
        office_page.get_by_role("link", name="Service report").click()
    assert download.value.suggested_filename == f"{job.number}-service-report.pdf"
