"""Checklists: answering every kind of item (and refusing what does not fit, changing nothing), the
out-of-range flag, template versions, adding a checklist to one job, run status, carry-over to a
return visit, the completion-blocker engine and the admin."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from serviceopus.closeout.actions.checklists import (
    checklist_add_to_job,
    checklist_answer,
    checklist_answer_photo,
    checklist_clear_answer,
    checklist_template_touch,
)
from serviceopus.closeout.admin import ChecklistItemForm
from serviceopus.closeout.checklist_rules import format_decimal, job_checklists, open_required_items, range_text
from serviceopus.closeout.models import ChecklistAnswer, ChecklistItem, ChecklistRun, CloseoutRequirement, Document, ItemKind
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.jobs.actions import TransitionRefused, job_transition
from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from tests.dispatch_support import at
from tests.factories import JobFactory, JobTypeFactory, VisitFactory

from .checklist_support import answer, answer_required, key, make_document, make_template, photo_bytes, snapshot

pytestmark = pytest.mark.django_db
V = VisitStatus


# ---- the world -------------------------------------------------------------------------------------


@pytest.fixture
def job_type(db):  # type: ignore[no-untyped-def]
    return JobTypeFactory(name="Furnace service")


@pytest.fixture
def template(job_type):  # type: ignore[no-untyped-def]
    return make_template(job_types=[job_type])


@pytest.fixture
def visit(job_type, tech_a):  # type: ignore[no-untyped-def]
    """Tech A's visit on a job of the furnace type."""
    return VisitFactory(job=JobFactory(job_type=job_type, status=JobStatus.SCHEDULED), crew=[tech_a], status=V.WORKING)


@pytest.fixture
def job(visit):  # type: ignore[no-untyped-def]
    return visit.job


# ---- answering every kind -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "value", "columns"),
    [
        ("Filter replaced", True, (True, "", None)),
        ("Filter replaced", False, (False, "", None)),
        ("Gas pressure", "7.25", (None, "", Decimal("7.25"))),
        ("Gas pressure", Decimal("4.5"), (None, "", Decimal("4.5"))),
        ("Gas pressure", 8, (None, "", Decimal("8"))),
        ("Gas pressure", " 7.500 ", (None, "", Decimal("7.5"))),
        ("Notes", "  Replaced the igniter.  ", (None, "Replaced the igniter.", None)),
        ("Notes", "x" * 2000, (None, "x" * 2000, None)),
        ("Burner condition", "Dirty", (None, "Dirty", None)),
    ],
)
def test_every_kind_takes_its_value(tech_a, job, template, visit, label, value, columns):
    saved = answer(tech_a.user, job, template, label, value, visit_id=visit.pk)
    saved.refresh_from_db()
    assert (saved.value_bool, saved.value_text, saved.value_number) == columns
    assert (saved.answered_by, saved.visit, saved.out_of_range) == (tech_a.user, visit, False)
    run = ChecklistRun.objects.get(job=job, template=template)
    assert (run.visit, run.added_by, run.template_version, run.status) == (visit, tech_a.user, 1, ChecklistRun.Status.OPEN)
    assert [i["label"] for i in run.items] == ["Filter replaced", "Gas pressure", "Notes", "Burner condition", "Nameplate photo"]
    # An ordinary answer is not a timeline event.
    assert not JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CLOSEOUT).exists()


def test_a_photo_item_takes_a_photo_of_this_job(tech_a, job, template):
    photo = make_document(job)
    saved = answer(tech_a.user, job, template, "Nameplate photo", None, document_id=photo.pk)
    assert saved.document == photo


@pytest.mark.parametrize(
    ("label", "value", "extra", "field"),
    [
        ("Filter replaced", "yes", {}, "value"),
        ("Filter replaced", None, {}, "value"),
        ("Filter replaced", 1, {}, "value"),
        ("Gas pressure", "abc", {}, "value"),
        ("Gas pressure", "", {}, "value"),
        ("Gas pressure", "NaN", {}, "value"),
        ("Gas pressure", "Infinity", {}, "value"),
        ("Gas pressure", "1.2345", {}, "value"),
        ("Gas pressure", "1000000000", {}, "value"),
        ("Gas pressure", "7,5", {}, "value"),
        ("Gas pressure", True, {}, "value"),
        ("Gas pressure", 7.5, {}, "value"),  # a float is never exact: send a string
        ("Notes", "", {}, "value"),
        ("Notes", "   ", {}, "value"),
        ("Notes", "a\x00b", {}, "value"),
        ("Notes", "x" * 2001, {}, "value"),
        ("Notes", 5, {}, "value"),
        ("Burner condition", "Maybe", {}, "value"),
        ("Burner condition", "clean", {}, "value"),
        ("Burner condition", None, {}, "value"),
        ("Nameplate photo", None, {}, "document"),
        ("Nameplate photo", "a photo", {}, "value"),
        ("Nameplate photo", None, {"document_id": 999999}, "document"),
        ("Filter replaced", True, {"document_id": 1}, "document"),
        ("Filter replaced", True, {"visit_id": 999999}, "visit"),
    ],
)
def test_a_value_that_does_not_fit_the_item_is_refused_and_changes_nothing(tech_a, job, template, label, value, extra, field):
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        answer(tech_a.user, job, template, label, value, **extra)
    assert field in refused.value.fields
    assert snapshot() == before
    assert not ChecklistRun.objects.exists()  # not even started


def test_refusals_leave_an_existing_answer_as_it_was(tech_a, job, template):
    answer(tech_a.user, job, template, "Gas pressure", "7.5")
    before = snapshot()
    with pytest.raises(InvalidInput):
        answer(tech_a.user, job, template, "Gas pressure", "lots")
    assert snapshot() == before


def test_a_photo_of_another_job_or_a_document_that_is_not_a_photo_is_refused(tech_a, job, template):
    other_photo = make_document(JobFactory())
    pdf = make_document(job, kind=Document.Kind.DOCUMENT, sha256="1" * 64)
    for document in (other_photo, pdf):
        with pytest.raises(InvalidInput) as refused:
            answer(tech_a.user, job, template, "Nameplate photo", None, document_id=document.pk)
        assert "document" in refused.value.fields
    assert not ChecklistRun.objects.exists()


def test_a_visit_of_another_job_is_refused(tech_a, job, template):
    other = VisitFactory(crew=[tech_a])
    with pytest.raises(InvalidInput) as refused:
        answer(tech_a.user, job, template, "Filter replaced", True, visit_id=other.pk)
    assert "visit" in refused.value.fields


def test_unknown_checklists_and_items_are_not_found(tech_a, job, template):
    stranger = make_template("Roof inspection")  # of no job type, not added to this job
    with pytest.raises(DomainError) as refused:
        checklist_answer(actor=tech_a.user, job_id=job.pk, template_id=stranger.pk, item_key=key(stranger, "Filter replaced"), value=True)
    assert refused.value.code == "not_found"
    with pytest.raises(DomainError) as refused:
        checklist_answer(actor=tech_a.user, job_id=job.pk, template_id=template.pk, item_key=key(stranger, "Filter replaced"), value=True)
    assert refused.value.code == "not_found"
    assert not ChecklistRun.objects.exists()


def test_a_closed_job_takes_no_answers(tech_a, office, job, template):
    job.status = JobStatus.CLOSED
    job.save()
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        answer(tech_a.user, job, template, "Filter replaced", True)
    assert refused.value.code == "job_locked"
    with pytest.raises(DomainError):
        checklist_add_to_job(actor=office, job_id=job.pk, template_id=make_template("Extra").pk)
    assert snapshot()[:3] == before[:3]


def test_a_second_answer_replaces_the_first(tech_a, tech_b, job, template):
    answer(tech_a.user, job, template, "Burner condition", "Dirty")
    answer(tech_b.user, job, template, "Burner condition", "Replaced")
    [saved] = ChecklistAnswer.objects.all()
    assert (saved.value_text, saved.answered_by) == ("Replaced", tech_b.user)


# ---- out of range ------------------------------------------------------------------------------------


def test_an_out_of_range_reading_is_saved_flagged_and_on_the_timeline_once(tech_a, job, template):
    saved = answer(tech_a.user, job, template, "Gas pressure", "12")
    assert (saved.value_number, saved.out_of_range) == (Decimal("12"), True)
    [event] = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CLOSEOUT)
    assert event.message == "Out of range on Furnace check — Gas pressure: 12 psi, allowed 3.5–10.5 psi"
    assert event.actor == tech_a.user

    answer(tech_a.user, job, template, "Gas pressure", "12.000")  # the same reading again
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CLOSEOUT).count() == 1
    answer(tech_a.user, job, template, "Gas pressure", "2")  # another one out of range
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CLOSEOUT).count() == 2

    corrected = answer(tech_a.user, job, template, "Gas pressure", "9")
    assert corrected.out_of_range is False
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CLOSEOUT).count() == 2


@pytest.mark.parametrize(("reading", "flagged"), [("3.5", False), ("10.5", False), ("3.499", True), ("10.501", True), ("-4", True)])
def test_the_range_includes_its_ends(tech_a, job, template, reading, flagged):
    assert answer(tech_a.user, job, template, "Gas pressure", reading).out_of_range is flagged


def test_ranges_and_readings_read_as_people_write_them():
    assert [format_decimal(v) for v in (Decimal("12.000"), Decimal("100"), Decimal("-0.000"), "3.500", None)] == ["12", "100", "0", "3.5", ""]
    item = {"min": "3.500", "max": "10.500", "unit": "psi"}
    assert range_text(item) == "3.5–10.5 psi"
    assert range_text({**item, "max": None}) == "at least 3.5 psi"
    assert range_text({**item, "min": None, "unit": ""}) == "at most 10.5"
    assert range_text({**item, "min": None, "max": None}) == ""


# ---- run status, clearing ------------------------------------------------------------------------------


def test_the_run_is_complete_when_no_required_item_is_open_and_open_again_when_one_is_cleared(tech_a, job, template):
    answer(tech_a.user, job, template, "Filter replaced", True)
    answer(tech_a.user, job, template, "Gas pressure", "7.5")
    answer(tech_a.user, job, template, "Burner condition", "Clean")
    run = ChecklistRun.objects.get()
    assert run.status == ChecklistRun.Status.OPEN
    answer(tech_a.user, job, template, "Nameplate photo", None, document_id=make_document(job).pk)
    run.refresh_from_db()
    assert run.status == ChecklistRun.Status.COMPLETE
    assert run.completed_at is not None

    checklist_clear_answer(actor=tech_a.user, job_id=job.pk, template_id=template.pk, item_key=key(template, "Gas pressure"))
    run.refresh_from_db()
    assert (run.status, run.completed_at) == (ChecklistRun.Status.OPEN, None)
    assert not ChecklistAnswer.objects.filter(item_key=key(template, "Gas pressure")).exists()
    assert Document.objects.filter(job=job).count() == 1  # the photo stays with the job

    # Clearing again, or clearing an optional item, changes nothing.
    before = snapshot()
    checklist_clear_answer(actor=tech_a.user, job_id=job.pk, template_id=template.pk, item_key=key(template, "Gas pressure"))
    assert snapshot() == before


def test_clearing_an_item_of_a_run_not_started_starts_nothing(tech_a, job, template):
    assert checklist_clear_answer(actor=tech_a.user, job_id=job.pk, template_id=template.pk, item_key=key(template, "Notes")) is None
    assert not ChecklistRun.objects.exists()


# ---- versions ----------------------------------------------------------------------------------------


def test_editing_a_template_leaves_started_runs_alone_and_new_runs_take_the_new_version(tech_a, job_type, job, template):
    answer(tech_a.user, job, template, "Gas pressure", "7.5")
    run = ChecklistRun.objects.get(job=job)
    before = run.items

    item = ChecklistItem.objects.get(template=template, label="Gas pressure")
    item.label, item.max_value = "Gas pressure (inlet)", Decimal("14")
    item.save()
    ChecklistItem.objects.create(template=template, position=9, label="Flue checked", kind=ItemKind.YES_NO)
    assert checklist_template_touch(template).version == 2

    run.refresh_from_db()
    assert (run.items, run.template_version) == (before, 1)
    [checklist] = job_checklists(job)
    assert (checklist.version, [i["label"] for i in checklist.items][1]) == (1, "Gas pressure")
    # The answer is still judged by the range it was given against.
    assert checklist_answer(actor=tech_a.user, job_id=job.pk, template_id=template.pk, item_key=str(item.pk), value="12").out_of_range is True

    other = VisitFactory(job=JobFactory(job_type=job_type, status=JobStatus.SCHEDULED), crew=[tech_a]).job
    [fresh] = job_checklists(other)  # not started: shown from the template as it is now
    assert (fresh.version, fresh.run, len(fresh.items)) == (2, None, 6)
    checklist_answer(actor=tech_a.user, job_id=other.pk, template_id=template.pk, item_key=str(item.pk), value="12")
    new_run = ChecklistRun.objects.get(job=other)
    assert new_run.template_version == 2
    assert [i["label"] for i in new_run.items][1] == "Gas pressure (inlet)"
    assert ChecklistAnswer.objects.get(run=new_run).out_of_range is False  # 12 is within 3.5–14 now


def test_saving_a_template_in_the_admin_bumps_its_version(owner, client_as, tech_a, job, template):
    answer(tech_a.user, job, template, "Filter replaced", True)
    items = list(ChecklistItem.objects.filter(template=template).order_by("position", "id"))
    data = {
        "name": template.name,
        "description": "",
        "job_types": [str(t.pk) for t in template.job_types.all()],
        "active": "on",
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": str(len(items)),
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
    }
    for n, item in enumerate(items):
        data.update(
            {
                f"items-{n}-id": str(item.pk),
                f"items-{n}-template": str(template.pk),
                f"items-{n}-position": str(item.position),
                f"items-{n}-label": item.label,
                f"items-{n}-help_text": item.help_text,
                f"items-{n}-kind": item.kind,
                f"items-{n}-required": "on" if item.required else "",
                f"items-{n}-unit": item.unit,
                f"items-{n}-min_value": "" if item.min_value is None else str(item.min_value),
                f"items-{n}-max_value": "" if item.max_value is None else str(item.max_value),
                f"items-{n}-choices": "\n".join(item.choices),
            }
        )
    url = reverse("admin:closeout_checklisttemplate_change", args=[template.pk])
    client = client_as(owner)

    assert client.post(url, data).status_code == 302  # saved unchanged: no new version
    template.refresh_from_db()
    assert template.version == 1

    data["items-1-label"] = "Gas pressure (inlet)"
    assert client.post(url, data).status_code == 302
    template.refresh_from_db()
    assert template.version == 2
    assert ChecklistItem.objects.get(pk=items[1].pk).label == "Gas pressure (inlet)"
    assert ChecklistRun.objects.get(job=job).items[1]["label"] == "Gas pressure"

    data["items-1-min_value"], data["items-1-max_value"] = "9", "2"
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    template.refresh_from_db()
    assert template.version == 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "number", "min_value": "10", "max_value": "2"}, "max_value"),
        ({"kind": "choice", "choices": "Only one"}, "choices"),
        ({"kind": "choice", "choices": "Same\nSame\n"}, "choices"),
        ({"kind": "photo", "unit": "psi"}, "unit"),
        ({"kind": "yes_no", "min_value": "1"}, "min_value"),
        ({"kind": "text", "choices": "A\nB"}, "choices"),
    ],
)
def test_the_admin_refuses_items_that_make_no_sense(data, field):
    form = ChecklistItemForm(data={"position": "1", "label": "Item", "required": "on", **data})
    assert not form.is_valid()
    assert field in form.errors


def test_the_admin_takes_choice_options_one_per_line(template):
    form = ChecklistItemForm(data={"position": "1", "label": "Colour", "kind": "choice", "choices": " Red \n\nBlue\nRed\n"})
    assert form.is_valid(), form.errors
    item = form.save(commit=False)
    assert item.choices == ["Red", "Blue"]
    form = ChecklistItemForm(data={"position": "1", "label": "Level", "kind": "number", "min_value": "1", "max_value": "1", "unit": "V"})
    assert form.is_valid(), form.errors


# ---- adding a checklist to one job -----------------------------------------------------------------------


def test_the_office_adds_a_checklist_to_one_job(office, tech_a, job, template):
    extra = make_template("Water heater check")
    run = checklist_add_to_job(actor=office, job_id=job.pk, template_id=extra.pk)
    assert (run.template, run.template_version, run.added_by, run.visit, run.status) == (extra, 1, office, None, ChecklistRun.Status.OPEN)
    assert len(run.items) == 5
    [event] = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CLOSEOUT)
    assert event.message == "Checklist added: Water heater check (version 1)"
    assert [c.name for c in job_checklists(job)] == ["Water heater check", "Furnace check"]
    # Only this job has it.
    assert [c.name for c in job_checklists(JobFactory(job_type=job.job_type))] == ["Furnace check"]
    # The technician fills it like the others.
    answer(tech_a.user, job, extra, "Filter replaced", True)
    assert ChecklistRun.objects.get(pk=run.pk).answers.count() == 1


def test_adding_is_refused_twice_for_the_job_types_own_inactive_or_unknown_templates_and_for_technicians(office, tech_a, job, template):
    extra = make_template("Water heater check")
    checklist_add_to_job(actor=office, job_id=job.pk, template_id=extra.pk)
    retired = make_template("Old check")
    retired.active = False
    retired.save()
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        checklist_add_to_job(actor=office, job_id=job.pk, template_id=extra.pk)
    assert refused.value.code == "already_added"
    with pytest.raises(ConflictError):
        checklist_add_to_job(actor=office, job_id=job.pk, template_id=template.pk)  # of the job's type
    for template_id in (retired.pk, 999999):
        with pytest.raises(InvalidInput) as invalid:
            checklist_add_to_job(actor=office, job_id=job.pk, template_id=template_id)
        assert "template" in invalid.value.fields
    with pytest.raises(DomainError) as forbidden:
        checklist_add_to_job(actor=tech_a.user, job_id=job.pk, template_id=make_template("Third").pk)
    assert forbidden.value.code == "forbidden"
    assert snapshot()[:3] == before[:3]


# ---- carry-over to a return visit -------------------------------------------------------------------------


def test_open_runs_of_a_visit_ending_with_return_needed_move_to_the_return_visit(dispatcher, office, tech_a, job_type, template, client_as):
    done = make_template("Safety check", [job_type], extra_items=0)
    job = JobFactory(job_type=job_type)
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 9), lead_id=tech_a.pk)
    for to in (V.EN_ROUTE, V.ARRIVED, V.WORKING):
        visit_transition(actor=tech_a.user, visit_id=visit.pk, to=to)
    answer(tech_a.user, job, template, "Filter replaced", True, visit_id=visit.pk)  # left unfinished
    answer_required(tech_a.user, job, done, visit_id=visit.pk)  # finished
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.DEPARTED)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.COMPLETED, outcome=Outcome.RETURN_NEEDED)

    draft = Visit.objects.get(job=job, number=2)
    unfinished = ChecklistRun.objects.get(job=job, template=template)
    finished = ChecklistRun.objects.get(job=job, template=done)
    assert (unfinished.visit, unfinished.carried_from) == (draft, visit)
    assert (finished.visit, finished.carried_from) == (visit, None)
    assert JobEvent.objects.filter(job=job, message=f"Unfinished checklists carried over to visit 2: {template.name}").exists()

    # The return visit's screen marks what came over; the visit that ended does not.
    html = client_as(office).get(reverse("field:visit", args=[draft.pk])).content.decode()
    assert "Carried over from visit 1" in html
    assert html.count("Carried over</span>") == 4  # the four items still open
    assert "Carried over from visit 1" not in client_as(office).get(reverse("field:visit", args=[visit.pk])).content.decode()

    # Answering on the return visit keeps the run there.
    answer(tech_a.user, job, template, "Gas pressure", "7", visit_id=draft.pk)
    assert ChecklistRun.objects.get(pk=unfinished.pk).visit == draft


# ---- the completion-blocker engine ----------------------------------------------------------------------


def test_required_items_block_work_complete_until_answered(tech_a, job_type, template):
    CloseoutRequirement.objects.create(job_type=job_type, kind="checklists")
    job = JobFactory(job_type=job_type, status=JobStatus.IN_PROGRESS, technicians=[tech_a])
    assert open_required_items(job) == ["Filter replaced", "Gas pressure", "Burner condition", "Nameplate photo"]

    answer(tech_a.user, job, template, "Filter replaced", True)
    answer(tech_a.user, job, template, "Gas pressure", "12")  # out of range still answers the item
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=tech_a.user, job_id=job.pk, to=JobStatus.WORK_COMPLETE)
    assert refused.value.code == "blocked"
    [blocker] = refused.value.details["blockers"]
    assert blocker["message"] == "2 required checklist items open: Burner condition, Nameplate photo"
    assert blocker["items"] == ["Burner condition", "Nameplate photo"]
    job.refresh_from_db()
    assert job.status == JobStatus.IN_PROGRESS

    answer(tech_a.user, job, template, "Burner condition", "Clean")
    answer(tech_a.user, job, template, "Nameplate photo", None, document_id=make_document(job).pk)
    assert job_transition(actor=tech_a.user, job_id=job.pk, to=JobStatus.WORK_COMPLETE).status == JobStatus.WORK_COMPLETE


# ---- photos through the documents action -------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_a_photo_item_stores_the_photo_captioned_with_its_label(media, tech_a, job, template, visit):
    upload = SimpleUploadedFile("IMG_0001.png", photo_bytes(), content_type="image/png")
    saved = checklist_answer_photo(
        actor=tech_a.user, job_id=job.pk, template_id=template.pk, item_key=key(template, "Nameplate photo"), upload=upload, visit_id=visit.pk
    )
    document = saved.document
    assert (document.job, document.kind, document.caption, document.visit, document.uploaded_by) == (
        job,
        Document.Kind.PHOTO,
        "Nameplate photo",
        visit,
        tech_a.user,
    )
    assert ChecklistRun.objects.get(job=job).visit == visit


def test_a_photo_sent_to_an_item_that_takes_none_is_not_stored(media, tech_a, job, template):
    before = snapshot()
    upload = SimpleUploadedFile("IMG_0001.png", photo_bytes(), content_type="image/png")
    with pytest.raises(InvalidInput):
        checklist_answer_photo(actor=tech_a.user, job_id=job.pk, template_id=template.pk, item_key=key(template, "Notes"), upload=upload)
    assert snapshot() == before
    assert not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize(
    "content",
    [
        b"Just some notes, a plain text file",  # a document the documents tab would take, but no photo
        b"%PDF-1.4 a pdf",
        b"\x89PNG\r\n\x1a\n but broken after its signature",
    ],
)
def test_a_file_that_is_not_a_photo_is_refused_and_not_stored(media, tech_a, job, template, content):
    before = snapshot()
    upload = SimpleUploadedFile("IMG_0003.png", content, content_type="image/png")
    with pytest.raises(InvalidInput):
        checklist_answer_photo(actor=tech_a.user, job_id=job.pk, template_id=template.pk, item_key=key(template, "Nameplate photo"), upload=upload)
    assert snapshot() == before
    assert not any(p.is_file() for p in media.rglob("*"))
