"""requirement_add_to_job: a requirement added to one job holds its work complete, goes on the timeline and
opens a completion blocker (an automation event) while unmet; adding it again changes nothing; what is
refused changes nothing."""

import pytest

from serviceopus.automation.models import AutomationEvent, EventType
from serviceopus.closeout.actions.requirements import requirement_add_to_job
from serviceopus.closeout.blockers import completion_blockers
from serviceopus.closeout.models import BlockerWaiver, CloseoutRequirement, Document, RequirementKind
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.actions import TransitionRefused, job_transition
from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(db):  # type: ignore[no-untyped-def]
    return JobFactory(status=JobStatus.IN_PROGRESS)


def rows(job):  # type: ignore[no-untyped-def]
    return (
        list(CloseoutRequirement.objects.order_by("pk").values()),
        list(JobEvent.objects.filter(job=job).order_by("pk").values_list("kind", "message")),
        AutomationEvent.objects.count(),
    )


def add_photo(job, tag="after"):  # type: ignore[no-untyped-def]
    n = Document.objects.count()
    Document.objects.create(
        job=job, kind="photo", tag=tag, file=f"closeout/x{n}.jpg", original_name="x.jpg", content_type="image/jpeg", size=1, sha256=f"{n:064d}"
    )


def test_photos_requirement_is_added_on_the_timeline_and_opens_a_blocker(dispatcher, job):
    req = requirement_add_to_job(actor=dispatcher, job_id=job.pk, kind="photos", photo_tag="after", min_count=2, note="rule “Photos”")
    assert (req.job_id, req.job_type_id, req.kind, req.photo_tag, req.min_count, req.added_by_id, req.code) == (
        job.pk,
        None,
        "photos",
        "after",
        2,
        dispatcher.pk,
        "photos:after",
    )
    event = JobEvent.objects.get(job=job)
    assert (event.kind, event.actor_id, event.message, event.data) == (
        JobEvent.Kind.CLOSEOUT,
        dispatcher.pk,
        "Closeout requirement added: At least 2 photos tagged after (rule “Photos”)",
        {"requirement": req.pk, "code": "photos:after"},
    )
    opened = AutomationEvent.objects.get()
    assert (opened.type, opened.job_id, opened.actor_id, opened.data["blocker"], opened.data["message"]) == (
        EventType.BLOCKER_OPENED,
        job.pk,
        dispatcher.pk,
        "photos:after",
        "2 more photos tagged “after” needed (0 of 2)",
    )
    assert [b.code for b in completion_blockers(job)] == ["photos:after"]
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=dispatcher, job_id=job.pk, to=JobStatus.WORK_COMPLETE)
    assert refused.value.code == "blocked"


def test_other_kinds_take_no_tag_or_count(office, job):
    req = requirement_add_to_job(actor=office, job_id=job.pk, kind="customer_signature", photo_tag="after", min_count=7)
    assert (req.kind, req.photo_tag, req.min_count, req.code) == ("customer_signature", "", 1, "customer_signature")
    assert AutomationEvent.objects.get().data["blocker"] == "customer_signature"


def test_adding_the_same_code_again_returns_the_existing_one_and_writes_nothing(manager, job):
    first = requirement_add_to_job(actor=manager, job_id=job.pk, kind="photos", photo_tag="after", min_count=2)
    before = rows(job)
    again = requirement_add_to_job(actor=manager, job_id=job.pk, kind="photos", photo_tag="after", min_count=5)
    assert again.pk == first.pk
    assert again.min_count == 2
    assert rows(job) == before
    other_tag = requirement_add_to_job(actor=manager, job_id=job.pk, kind="photos", photo_tag="before")
    assert other_tag.pk != first.pk


def test_a_requirement_already_met_opens_no_blocker(manager, job):
    add_photo(job)
    requirement_add_to_job(actor=manager, job_id=job.pk, kind="photos", photo_tag="after", min_count=1)
    assert CloseoutRequirement.objects.filter(job=job).count() == 1
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CLOSEOUT).count() == 1
    assert not AutomationEvent.objects.exists()
    assert completion_blockers(job) == []


def test_a_requirement_waived_earlier_opens_no_blocker(manager, job):
    BlockerWaiver.objects.create(job=job, code="customer_signature", reason="Customer away", waived_by=manager)
    requirement_add_to_job(actor=manager, job_id=job.pk, kind="customer_signature")
    assert not AutomationEvent.objects.exists()
    assert completion_blockers(job) == []


def test_the_crew_may_not_add_requirements(tech_a, job):
    before = rows(job)
    with pytest.raises(DomainError) as refused:
        requirement_add_to_job(actor=tech_a.user, job_id=job.pk, kind="materials")
    assert refused.value.code == "forbidden"
    assert rows(job) == before


@pytest.mark.parametrize("status", [JobStatus.CLOSED, JobStatus.CANCELLED])
def test_a_closed_or_cancelled_job_is_refused(manager, status):
    job = JobFactory(status=status)
    before = rows(job)
    with pytest.raises(ConflictError) as refused:
        requirement_add_to_job(actor=manager, job_id=job.pk, kind="materials")
    assert refused.value.code == "job_locked"
    assert rows(job) == before


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"kind": "gold"}, {"kind"}),
        ({"kind": "photos", "photo_tag": ""}, {"photo_tag"}),
        ({"kind": "photos", "photo_tag": "after", "min_count": 0}, {"min_count"}),
        ({"kind": "photos", "photo_tag": "selfie", "min_count": 51}, {"photo_tag", "min_count"}),
        ({"kind": "photos", "photo_tag": "after", "min_count": True}, {"min_count"}),
    ],
)
def test_invalid_input_is_refused_with_every_field_and_changes_nothing(manager, job, kwargs, fields):
    before = rows(job)
    with pytest.raises(InvalidInput) as refused:
        requirement_add_to_job(actor=manager, job_id=job.pk, **kwargs)
    assert set(refused.value.fields) == fields
    assert rows(job) == before


def test_every_kind_can_be_added(manager, job):
    for kind in RequirementKind.values:
        requirement_add_to_job(actor=manager, job_id=job.pk, kind=kind, photo_tag="after")
    assert sorted(CloseoutRequirement.objects.filter(job=job).values_list("kind", flat=True)) == sorted(RequirementKind.values)
