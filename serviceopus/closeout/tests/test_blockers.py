"""The completion-blocker engine: every requirement kind holds the job back from work complete with an
explained blocker and lets it go when met; job-level requirements; waivers; the visit that would
finish the work; closing with an open incident. Refusals change nothing."""

import hashlib
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from serviceopus.billing.status import InvoiceStatus
from serviceopus.closeout import signing
from serviceopus.closeout.actions.waivers import blocker_unwaive, blocker_waive, materials_confirm_none, materials_confirm_undo
from serviceopus.closeout.blockers import closeout_state, completion_blockers, job_requirements
from serviceopus.closeout.models import (
    BlockerWaiver,
    ChecklistAnswer,
    ChecklistItem,
    ChecklistRun,
    ChecklistTemplate,
    CloseoutRequirement,
    Document,
    Incident,
    ItemKind,
    MaterialsConfirmation,
    QualityReview,
    Signature,
)
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.actions import VisitRefused, visit_finish_and_depart, visit_schedule, visit_transition
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.actions import TransitionRefused, job_transition
from serviceopus.jobs.models import Job, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from tests.billing_support import invoice_and_pay
from tests.dispatch_support import at, snapshot
from tests.factories import JobFactory, JobTypeFactory, LineItemFactory

pytestmark = pytest.mark.django_db

V = VisitStatus
_unique = count(1)


# ---- helpers ------------------------------------------------------------------------------------


def job_requiring(kind: str, *, photo_tag: str = "", min_count: int = 1, **job_fields) -> Job:  # type: ignore[no-untyped-def]
    """An in-progress job whose type declares one closeout requirement."""
    job_type = JobTypeFactory()
    CloseoutRequirement.objects.create(job_type=job_type, kind=kind, photo_tag=photo_tag, min_count=min_count)
    return JobFactory(job_type=job_type, status=job_fields.pop("status", JobStatus.IN_PROGRESS), **job_fields)


def add_photo(job: Job, tag: str, *, kind: str = Document.Kind.PHOTO) -> Document:
    n = next(_unique)
    return Document.objects.create(
        job=job,
        kind=kind,
        tag=tag,
        file=ContentFile(b"x", name="a.jpg"),
        original_name="a.jpg",
        content_type="image/jpeg",
        size=1,
        sha256=hashlib.sha256(f"photo-{n}".encode()).hexdigest(),
    )


def add_signature(job: Job, *, role: str = Signature.Role.CUSTOMER, content_sha256: str | None = None) -> Signature:
    content = signing.signed_content(job)
    return Signature.objects.create(
        job=job,
        signer_name="Casey Customer",
        role=role,
        image=ContentFile(b"png", name="s.png"),
        content=content,
        content_sha256=content_sha256 or signing.content_hash(content),
    )


def refused_blockers(actor, job: Job) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Asks for work complete, expects the refusal, checks nothing changed; returns the blockers by code."""
    before = (Job.objects.filter(pk=job.pk).values().get(), JobEvent.objects.filter(job=job).count())
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=actor, job_id=job.pk, to=JobStatus.WORK_COMPLETE)
    assert refused.value.code == "blocked"
    assert (Job.objects.filter(pk=job.pk).values().get(), JobEvent.objects.filter(job=job).count()) == before
    blockers = {b["code"]: b for b in refused.value.details["blockers"]}
    for blocker in blockers.values():
        assert blocker["message"] in refused.value.message  # the refusal explains itself
    return blockers


def only_blocker(actor, job: Job) -> dict:  # type: ignore[no-untyped-def]
    blockers = refused_blockers(actor, job)
    assert len(blockers) == 1, blockers
    return next(iter(blockers.values()))


def completes(actor, job: Job) -> None:  # type: ignore[no-untyped-def]
    assert job_transition(actor=actor, job_id=job.pk, to=JobStatus.WORK_COMPLETE).status == JobStatus.WORK_COMPLETE


# ---- each requirement kind ----------------------------------------------------------------------


def test_photos_with_a_tag(office):
    job = job_requiring("photos", photo_tag="before", min_count=2)
    blocker = only_blocker(office, job)
    assert (blocker["code"], blocker["message"], blocker["tab"], blocker["waivable"]) == (
        "photos:before",
        "2 more photos tagged “before” needed (0 of 2)",
        "documents",
        True,
    )
    add_photo(job, "before")
    add_photo(job, "after")  # another tag
    add_photo(job, "before", kind=Document.Kind.DOCUMENT)  # not a photo
    assert only_blocker(office, job)["message"] == "1 more photo tagged “before” needed (1 of 2)"
    add_photo(job, "before")
    completes(office, job)


def test_customer_signature_and_its_staleness(office):
    job = job_requiring("customer_signature")
    LineItemFactory(job=job, description="Valve", unit_price_cents=5000)
    assert only_blocker(office, job)["message"] == "No customer signature yet."
    add_signature(job, role=Signature.Role.TECHNICIAN)  # the technician's own signature is not the customer's
    assert only_blocker(office, job)["message"] == "No customer signature yet."
    add_signature(job)
    assert completion_blockers(job) == []
    # Any change to what was signed (here a line's price) makes the signature stale: blocked again.
    LineItem.objects.filter(job=job).update(unit_price_cents=6000)
    blocker = only_blocker(office, job)
    assert blocker["code"] == "customer_signature"
    assert blocker["message"].startswith("The customer's signature is stale")
    # A fresh signature over the new content counts; the stale one stays on record.
    add_signature(job)
    completes(office, job)
    assert Signature.objects.filter(job=job, role="customer").count() == 2


def test_a_signature_with_another_hash_does_not_count(office):
    job = job_requiring("customer_signature")
    add_signature(job, content_sha256="0" * 64)
    assert "stale" in only_blocker(office, job)["message"]


def test_materials_recorded_or_none_confirmed(office, tech_a):
    job = job_requiring("materials", technicians=[tech_a])
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE)  # a service is not a material
    blocker = only_blocker(office, job)
    assert (blocker["code"], blocker["message"], blocker["tab"]) == ("materials", "Record the materials used, or confirm that none were used.", "line-items")
    material = LineItemFactory(job=job, kind=LineItem.Kind.MATERIAL, description="Copper fitting")
    assert completion_blockers(job) == []
    material.delete()
    materials_confirm_none(actor=tech_a.user, job_id=job.pk)
    materials_confirm_none(actor=tech_a.user, job_id=job.pk)  # twice is once
    assert MaterialsConfirmation.objects.filter(job=job).count() == 1
    assert JobEvent.objects.filter(job=job, message="Confirmed: no materials used").count() == 1
    assert completion_blockers(job) == []
    materials_confirm_undo(actor=tech_a.user, job_id=job.pk)
    assert [b.code for b in completion_blockers(job)] == ["materials"]
    materials_confirm_none(actor=tech_a.user, job_id=job.pk)
    completes(office, job)


def test_time_entries_reviewed(office, tech_a):
    job = job_requiring("time_reviewed")
    assert completion_blockers(job) == []  # nothing to review
    start = timezone.now() - timedelta(hours=3)
    running = TimeEntry.objects.create(job=job, technician=tech_a, kind="work", start=start)
    pending = TimeEntry.objects.create(job=job, technician=tech_a, kind="travel", start=start - timedelta(hours=1), end=start)
    assert only_blocker(office, job)["message"] == "1 time entry is still running."
    TimeEntry.objects.filter(pk=running.pk).update(end=start + timedelta(hours=1))
    blocker = only_blocker(office, job)
    assert (blocker["message"], blocker["tab"]) == ("2 time entries to review on the Time tab.", "time")
    TimeEntry.objects.filter(pk=running.pk).update(review=TimeEntry.Review.APPROVED)
    # A corrected entry is replaced by its (approved) correction: nothing left to review.
    TimeEntry.objects.filter(pk=pending.pk).update(review=TimeEntry.Review.CORRECTED)
    TimeEntry.objects.create(
        job=job, technician=tech_a, kind="travel", source="correction", start=pending.start, end=pending.end, corrects=pending, review=TimeEntry.Review.APPROVED
    )
    completes(office, job)


def test_no_open_incident(office, manager):
    job = job_requiring("no_open_incident")
    damage = Incident.objects.create(job=job, kind="property_damage", severity="high", description="Scratched floor", reported_by=office)
    Incident.objects.create(job=job, kind="near_miss", severity="low", description="Ladder slipped", status="resolved", reported_by=office)
    blocker = only_blocker(office, job)
    assert (blocker["message"], blocker["items"], blocker["tab"]) == ("Open incident: Property damage (high)", ["Property damage (high)"], "incidents")
    Incident.objects.create(job=job, kind="complaint", severity="medium", description="Late arrival", reported_by=office)
    assert only_blocker(office, job)["message"] == "Open incidents: Property damage (high), Complaint (medium)"
    Incident.objects.filter(job=job).update(status="resolved", resolved_by=manager, resolved_at=timezone.now())
    assert damage.job_id == job.pk
    completes(office, job)


def test_quality_passed_reads_the_latest_review(office, manager):
    job = job_requiring("quality_passed")
    assert only_blocker(office, job)["message"] == "No quality review yet."
    now = timezone.now()
    QualityReview.objects.create(job=job, passed=True, reviewer=manager, reviewed_at=now - timedelta(days=2))
    QualityReview.objects.create(
        job=job, passed=False, follow_up="return_visit", follow_up_reason="Drain still slow", reviewer=manager, reviewed_at=now - timedelta(days=1)
    )
    blocker = only_blocker(office, job)
    assert (blocker["message"], blocker["tab"]) == ("The last quality review failed: Drain still slow", "quality")
    QualityReview.objects.create(job=job, passed=True, reviewer=manager, reviewed_at=now)
    completes(office, job)


def test_required_checklist_items(office, tech_a):
    job = job_requiring("checklists")
    template = ChecklistTemplate.objects.create(name="Gas furnace")
    template.job_types.add(job.job_type)
    pressure = ChecklistItem.objects.create(template=template, position=1, label="Gas pressure reading", kind=ItemKind.NUMBER, unit="in. w.c.")
    flame = ChecklistItem.objects.create(template=template, position=2, label="Flame colour", kind=ItemKind.CHOICE, choices=["Blue", "Yellow"])
    ChecklistItem.objects.create(template=template, position=3, label="Remarks", kind=ItemKind.TEXT, required=False)
    # Not started yet: the job type's template counts as it is now.
    blocker = only_blocker(office, job)
    assert (blocker["code"], blocker["message"], blocker["items"], blocker["tab"]) == (
        "checklists",
        "2 required checklist items open: Gas pressure reading, Flame colour",
        ["Gas pressure reading", "Flame colour"],
        "quality",
    )
    run = ChecklistRun.objects.create(job=job, template=template, template_version=1, name=template.name, items=[i.snapshot() for i in template.items.all()])
    ChecklistAnswer.objects.create(run=run, item_key=str(pressure.pk), value_number=Decimal("3.5"), answered_by=tech_a.user)
    ChecklistAnswer.objects.create(run=run, item_key=str(flame.pk), value_text="Green", answered_by=tech_a.user)  # not one of the choices
    assert only_blocker(office, job)["message"] == "1 required checklist item open: Flame colour"
    ChecklistAnswer.objects.filter(run=run, item_key=str(flame.pk)).update(value_text="Blue")
    completes(office, job)


def test_a_template_edited_after_the_run_started_does_not_change_the_run(office, tech_a):
    job = job_requiring("checklists")
    template = ChecklistTemplate.objects.create(name="Water heater")
    template.job_types.add(job.job_type)
    item = ChecklistItem.objects.create(template=template, label="Anode checked")
    run = ChecklistRun.objects.create(job=job, template=template, template_version=1, name=template.name, items=[item.snapshot()])
    ChecklistAnswer.objects.create(run=run, item_key=str(item.pk), value_bool=False, answered_by=tech_a.user)  # "no" is an answer
    ChecklistItem.objects.create(template=template, label="Added later")
    assert completion_blockers(job) == []


# ---- requirements of one job, and several of one code -------------------------------------------


def test_a_requirement_added_to_one_job(office, manager):
    job_type = JobTypeFactory()
    job, sibling = JobFactory(job_type=job_type, status=JobStatus.IN_PROGRESS), JobFactory(job_type=job_type, status=JobStatus.IN_PROGRESS)
    CloseoutRequirement.objects.create(job=job, kind="customer_signature", added_by=manager)
    assert [r.code for r in job_requirements(job)] == ["customer_signature"]
    assert only_blocker(office, job)["code"] == "customer_signature"
    assert closeout_state(sibling) == []
    completes(office, sibling)


@pytest.mark.parametrize(("type_count", "job_count"), [(1, 3), (3, 1)])
def test_the_larger_photo_count_wins(office, type_count, job_count):
    job = job_requiring("photos", photo_tag="after", min_count=type_count)
    CloseoutRequirement.objects.create(job=job, kind="photos", photo_tag="after", min_count=job_count)
    CloseoutRequirement.objects.create(job=job, kind="photos", photo_tag="nameplate", min_count=1)
    [after, nameplate] = closeout_state(job)
    assert (after.code, after.label, nameplate.code) == ("photos:after", "At least 3 photos tagged after", "photos:nameplate")
    add_photo(job, "nameplate")
    add_photo(job, "after")
    assert only_blocker(office, job)["message"] == "2 more photos tagged “after” needed (1 of 3)"
    add_photo(job, "after")
    add_photo(job, "after")
    completes(office, job)


def test_every_open_blocker_is_listed_at_once(office):
    job = job_requiring("customer_signature")
    for kind in ("materials", "quality_passed"):
        CloseoutRequirement.objects.create(job_type=job.job_type, kind=kind)
    assert set(refused_blockers(office, job)) == {"customer_signature", "materials", "quality_passed"}
    assert [s.state for s in closeout_state(job)] == ["open", "open", "open"]


# ---- waivers ------------------------------------------------------------------------------------


def test_a_manager_waives_an_open_blocker_with_a_reason(office, manager):
    job = job_requiring("customer_signature")
    CloseoutRequirement.objects.create(job_type=job.job_type, kind="materials")
    waiver = blocker_waive(actor=manager, job_id=job.pk, code="customer_signature", reason="  Customer away; approved by phone ")
    assert (waiver.code, waiver.reason, waiver.waived_by) == ("customer_signature", "Customer away; approved by phone", manager)
    event = JobEvent.objects.get(job=job, kind=JobEvent.Kind.CLOSEOUT)
    assert event.message == "Waived “Customer signature (current)”: Customer away; approved by phone"
    assert event.data == {"waived": "customer_signature", "blocker": "No customer signature yet."}
    states = {s.code: s for s in closeout_state(job)}
    assert (states["customer_signature"].state, states["customer_signature"].waiver) == ("waived", waiver)
    # The waived blocker no longer blocks; the other still does.
    assert list(refused_blockers(office, job)) == ["materials"]
    MaterialsConfirmation.objects.create(job=job, confirmed_by=office)
    completes(office, job)


@pytest.mark.parametrize("role", ["dispatcher", "office", "tech"])
def test_only_a_manager_may_waive(role, request, tech_a):
    actor = tech_a.user if role == "tech" else request.getfixturevalue(role)
    job = job_requiring("customer_signature", technicians=[tech_a])
    before = (BlockerWaiver.objects.count(), JobEvent.objects.count())
    with pytest.raises(DomainError) as refused:
        blocker_waive(actor=actor, job_id=job.pk, code="customer_signature", reason="Please")
    assert refused.value.code == "forbidden"
    assert (BlockerWaiver.objects.count(), JobEvent.objects.count()) == before


def test_the_owner_may_waive(owner):
    job = job_requiring("customer_signature")
    blocker_waive(actor=owner, job_id=job.pk, code="customer_signature", reason="Signed on paper")
    assert completion_blockers(job) == []


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501, "bad\x00reason"])
def test_a_waiver_needs_a_reason(manager, reason):
    job = job_requiring("customer_signature")
    with pytest.raises(InvalidInput) as refused:
        blocker_waive(actor=manager, job_id=job.pk, code="customer_signature", reason=reason)
    assert set(refused.value.fields) == {"reason"}
    assert not BlockerWaiver.objects.exists()
    assert not JobEvent.objects.filter(job=job).exists()


def test_what_cannot_be_waived(manager):
    job = job_requiring("materials")
    CloseoutRequirement.objects.create(job_type=job.job_type, kind="customer_signature")
    MaterialsConfirmation.objects.create(job=job, confirmed_by=manager)
    with pytest.raises(ConflictError) as met:
        blocker_waive(actor=manager, job_id=job.pk, code="materials", reason="Just in case")
    assert met.value.code == "not_blocking"
    with pytest.raises(DomainError) as unknown:
        blocker_waive(actor=manager, job_id=job.pk, code="quality_passed", reason="Not required here")
    assert unknown.value.code == "not_found"
    blocker_waive(actor=manager, job_id=job.pk, code="customer_signature", reason="Signed on paper")
    with pytest.raises(ConflictError) as twice:
        blocker_waive(actor=manager, job_id=job.pk, code="customer_signature", reason="Again")
    assert twice.value.code == "already_waived"
    assert list(BlockerWaiver.objects.values_list("code", flat=True)) == ["customer_signature"]
    assert JobEvent.objects.filter(job=job).count() == 1


def test_a_closed_job_cannot_be_waived(manager):
    job = job_requiring("customer_signature", status=JobStatus.CLOSED)
    with pytest.raises(DomainError) as refused:
        blocker_waive(actor=manager, job_id=job.pk, code="customer_signature", reason="Late")
    assert refused.value.code == "job_locked"
    assert not BlockerWaiver.objects.exists()


def test_undoing_a_waiver_blocks_again(office, manager):
    job = job_requiring("quality_passed")
    blocker_waive(actor=manager, job_id=job.pk, code="quality_passed", reason="Reviewed on site by the owner")
    assert completion_blockers(job) == []
    with pytest.raises(DomainError) as forbidden:
        blocker_unwaive(actor=office, job_id=job.pk, code="quality_passed")
    assert forbidden.value.code == "forbidden"
    blocker_unwaive(actor=manager, job_id=job.pk, code="quality_passed")
    assert not BlockerWaiver.objects.exists()
    assert JobEvent.objects.filter(job=job, message="Waiver of “quality_passed” withdrawn").exists()
    assert only_blocker(office, job)["code"] == "quality_passed"
    with pytest.raises(DomainError) as gone:
        blocker_unwaive(actor=manager, job_id=job.pk, code="quality_passed")
    assert gone.value.code == "not_found"


def test_a_waiver_is_only_read_while_the_requirement_is_unmet(manager):
    job = job_requiring("customer_signature")
    blocker_waive(actor=manager, job_id=job.pk, code="customer_signature", reason="Customer away")
    add_signature(job)
    [state] = closeout_state(job)
    assert (state.state, state.waiver) == ("met", None)


# ---- the visit that finishes the work -----------------------------------------------------------


def working_visit(dispatcher, tech, job: Job, *, days: int = 1):  # type: ignore[no-untyped-def]
    """Schedule the job (days visits) and take the first one to working, through the real actions."""
    visits = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 8), lead_id=tech.pk, duration_minutes=120, days=days)
    for to in (V.EN_ROUTE, V.ARRIVED, V.WORKING):
        visit_transition(actor=tech.user, visit_id=visits[0].pk, to=to)
    return visits


def test_the_last_visit_cannot_finish_while_blocked_and_the_refusal_changes_nothing(dispatcher, tech_a):
    job = job_requiring("materials", status=JobStatus.NEW)
    [visit] = working_visit(dispatcher, tech_a, job)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.DEPARTED)
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    before = snapshot()
    with pytest.raises(VisitRefused) as refused:
        visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.COMPLETED, outcome=Outcome.FINISHED)
    assert refused.value.code == "blocked"
    assert refused.value.message == "The work cannot be finished yet: Record the materials used, or confirm that none were used."
    assert [b["code"] for b in refused.value.details["blockers"]] == ["materials"]
    assert refused.value.details["current_status"] == V.DEPARTED
    assert snapshot() == before
    # Fixed on site: the visit finishes and the job's work is complete.
    materials_confirm_none(actor=tech_a.user, job_id=job.pk)
    done = visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.COMPLETED, outcome=Outcome.FINISHED)
    assert (done.status, done.outcome) == (V.COMPLETED, Outcome.FINISHED)
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE


def test_finish_and_depart_is_refused_as_one(dispatcher, tech_a):
    job = job_requiring("photos", photo_tag="after", status=JobStatus.NEW)
    [visit] = working_visit(dispatcher, tech_a, job)
    running = TimeEntry.objects.get(visit=visit, kind="work")
    assert running.end is None
    before = snapshot()
    with pytest.raises(VisitRefused) as refused:
        visit_finish_and_depart(actor=tech_a.user, visit_id=visit.pk)
    assert refused.value.code == "blocked"
    assert [b["code"] for b in refused.value.details["blockers"]] == ["photos:after"]
    # The depart half was rolled back with the refused completion: still working, time still running.
    assert snapshot() == before
    visit.refresh_from_db()
    assert (visit.status, visit.departed_at) == (V.WORKING, None)
    assert TimeEntry.objects.get(pk=running.pk).end is None
    add_photo(job, "after")
    assert visit_finish_and_depart(actor=tech_a.user, visit_id=visit.pk).status == V.COMPLETED
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE


def test_an_earlier_day_of_multi_day_work_finishes_while_blocked(dispatcher, tech_a):
    job = job_requiring("customer_signature", status=JobStatus.NEW)
    first, second = working_visit(dispatcher, tech_a, job, days=2)
    done = visit_finish_and_depart(actor=tech_a.user, visit_id=first.pk)
    assert (done.status, done.outcome) == (V.COMPLETED, Outcome.FINISHED)
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS  # the second day is still to come
    for to in (V.EN_ROUTE, V.ARRIVED, V.WORKING):
        visit_transition(actor=tech_a.user, visit_id=second.pk, to=to)
    with pytest.raises(VisitRefused) as refused:
        visit_finish_and_depart(actor=tech_a.user, visit_id=second.pk)
    assert [b["code"] for b in refused.value.details["blockers"]] == ["customer_signature"]
    add_signature(job)
    visit_finish_and_depart(actor=tech_a.user, visit_id=second.pk)
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE


@pytest.mark.parametrize("kind", ["time_reviewed", "quality_passed"])
def test_office_reviews_hold_the_job_not_the_crews_finish(dispatcher, manager, office, tech_a, kind):
    """The crew cannot review its own time or pass its own quality review: the visit finishes, the job
    stays in progress with the reason on its timeline, and the office completes it after review."""
    job = job_requiring(kind, status=JobStatus.NEW)
    [visit] = working_visit(dispatcher, tech_a, job)
    assert visit_finish_and_depart(actor=tech_a.user, visit_id=visit.pk).status == V.COMPLETED
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    note = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.VISIT, data__blocked="blocked").get()
    assert note.message.startswith(f"Visit {visit.number}: the job stays in progress")
    [blocker] = completion_blockers(job)
    assert blocker.office_only
    if kind == "time_reviewed":
        assert blocker.message == "2 time entries to review on the Time tab."  # travel and work of the visit
        TimeEntry.objects.filter(job=job).update(review=TimeEntry.Review.APPROVED, reviewed_by=office)
    else:
        QualityReview.objects.create(job=job, passed=True, reviewer=manager)
    completes(office, job)


def test_return_needed_is_not_held_back(dispatcher, tech_a):
    job = job_requiring("customer_signature", status=JobStatus.NEW)
    [visit] = working_visit(dispatcher, tech_a, job)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.DEPARTED)
    done = visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.COMPLETED, outcome=Outcome.RETURN_NEEDED)
    assert (done.status, done.outcome) == (V.COMPLETED, Outcome.RETURN_NEEDED)
    assert job.visits.filter(status=V.UNSCHEDULED, return_of=visit).exists()


def test_a_waived_blocker_lets_the_visit_finish(dispatcher, manager, tech_a):
    job = job_requiring("customer_signature", status=JobStatus.NEW)
    [visit] = working_visit(dispatcher, tech_a, job)
    blocker_waive(actor=manager, job_id=job.pk, code="customer_signature", reason="Customer not home; signs the invoice")
    assert visit_finish_and_depart(actor=tech_a.user, visit_id=visit.pk).status == V.COMPLETED
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE


# ---- closing ------------------------------------------------------------------------------------


def test_closing_is_refused_with_an_open_incident_whatever_the_type_says(office, manager):
    job = JobFactory(status=JobStatus.INVOICED)  # its type requires nothing
    incident = Incident.objects.create(job=job, kind="injury", severity="critical", description="Cut hand", reported_by=office)
    before = (Job.objects.filter(pk=job.pk).values().get(), JobEvent.objects.count())
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=office, job_id=job.pk, to=JobStatus.CLOSED)
    assert refused.value.code == "blocked"
    [blocker] = refused.value.details["blockers"]
    assert (blocker["code"], blocker["message"], blocker["waivable"]) == ("open_incident", "Resolve the open incident first: Injury (critical).", False)
    assert (Job.objects.filter(pk=job.pk).values().get(), JobEvent.objects.count()) == before
    Incident.objects.filter(pk=incident.pk).update(status="resolved", resolved_by=manager, resolved_at=timezone.now())
    assert job_transition(actor=office, job_id=job.pk, to=JobStatus.CLOSED).status == JobStatus.CLOSED


def test_closing_is_refused_while_a_drafted_return_visit_waits(office, dispatcher, tech_a):
    job = JobFactory(status=JobStatus.NEW)
    [visit] = working_visit(dispatcher, tech_a, job)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.DEPARTED)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.COMPLETED, outcome=Outcome.RETURN_NEEDED)
    draft = job.visits.get(status=V.UNSCHEDULED)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.INVOICED)
    before = (Job.objects.filter(pk=job.pk).values().get(), JobEvent.objects.count())
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=office, job_id=job.pk, to=JobStatus.CLOSED)
    [blocker] = refused.value.details["blockers"]
    assert (blocker["code"], blocker["message"]) == ("unscheduled_return_visit", f"Schedule or cancel the drafted return visit {draft.number} first.")
    assert (Job.objects.filter(pk=job.pk).values().get(), JobEvent.objects.count()) == before
    visit_transition(actor=dispatcher, visit_id=draft.pk, to=V.CANCELLED, reason="Customer fixed it themselves")
    assert job_transition(actor=office, job_id=job.pk, to=JobStatus.CLOSED).status == JobStatus.CLOSED


def test_a_waived_incident_requirement_still_keeps_the_job_open(office, manager):
    job = job_requiring("no_open_incident")
    LineItemFactory(job=job)
    Incident.objects.create(job=job, kind="complaint", description="Mud on the carpet", reported_by=office)
    blocker_waive(actor=manager, job_id=job.pk, code="no_open_incident", reason="Complaint handled by the owner")
    completes(office, job)
    invoice = invoice_and_pay(job, office)
    # Paid in full, yet the open incident keeps the job from closing, on its own and when asked.
    assert (invoice.status, Job.objects.get(pk=job.pk).status) == (InvoiceStatus.PAID, JobStatus.INVOICED)
    assert JobEvent.objects.filter(job=job, message__startswith="Paid in full, but not closed").exists()
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=office, job_id=job.pk, to=JobStatus.CLOSED)
    assert [b["code"] for b in refused.value.details["blockers"]] == ["open_incident"]


def test_queries_do_not_grow_with_the_evidence(office, tech_a):
    job = job_requiring("photos", photo_tag="before", min_count=9)
    for kind in ("customer_signature", "materials", "time_reviewed", "no_open_incident", "quality_passed", "checklists"):
        CloseoutRequirement.objects.create(job_type=job.job_type, kind=kind)
    template = ChecklistTemplate.objects.create(name="Roof")
    template.job_types.add(job.job_type)

    def add_evidence() -> None:
        add_photo(job, "before")
        Incident.objects.create(job=job, kind="complaint", description="x", reported_by=office)
        LineItemFactory(job=job)
        ChecklistItem.objects.create(template=template, label=f"Item {next(_unique)}")
        TimeEntry.objects.create(job=job, technician=tech_a, kind="work", start=timezone.now() - timedelta(hours=1), end=timezone.now())

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert len(closeout_state(job)) == 7
        return len(captured)

    add_evidence()
    few = queries()
    for _ in range(5):
        add_evidence()
    assert queries() == few
