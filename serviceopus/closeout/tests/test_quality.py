"""Quality reviews: scored items, pass or fail, notes, reviewer and time; a failed review drafts a
return visit (moving a work-complete job back to in progress) or records a follow-up that stays open
until a later review passes; refusals change nothing; the Quality tab and who may use it."""

import pytest
from django.urls import reverse

from serviceopus.closeout import queries
from serviceopus.closeout.actions.quality import quality_review_add
from serviceopus.closeout.blockers import completion_blockers
from serviceopus.closeout.models import CloseoutRequirement, QualityReview, QualityScore
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, VisitFactory

pytestmark = pytest.mark.django_db

SCORES = [("Workmanship", 4), ("Site left clean", 5)]


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    """A job of technician Alex whose work is complete (its one visit finished)."""
    job = JobFactory(status=JobStatus.WORK_COMPLETE, technicians=[tech_a], estimated_duration_minutes=90)
    VisitFactory(job=job, number=1, crew=[tech_a], status=VisitStatus.COMPLETED)
    return job


def review(job, actor, *, passed=True, scores=SCORES, notes="", follow_up="", reason=""):  # type: ignore[no-untyped-def]
    return quality_review_add(actor=actor, job_id=job.pk, passed=passed, scores=scores, notes=notes, follow_up=follow_up, follow_up_reason=reason)


def snapshot(job):  # type: ignore[no-untyped-def]
    job = Job.objects.get(pk=job.pk)
    return (job.status, job.version, QualityReview.objects.count(), QualityScore.objects.count(), Visit.objects.count(), JobEvent.objects.count())


# ---- the action --------------------------------------------------------------------------------------


def test_a_passed_review_keeps_scores_notes_reviewer_and_time(job, manager):
    r = review(job, manager, notes="Neat work, customer happy")
    assert (r.passed, r.notes, r.reviewer, r.follow_up, r.follow_up_reason, r.return_visit) == (True, "Neat work, customer happy", manager, "", "", None)
    assert r.reviewed_at is not None
    assert [(s.label, s.score, s.max_score) for s in r.scores.all()] == [("Workmanship", 4, 5), ("Site left clean", 5, 5)]
    event = JobEvent.objects.get(job=job, kind=JobEvent.Kind.CLOSEOUT)
    assert event.message == "Quality review passed (9/10)"
    assert event.actor == manager
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE


def test_a_failed_review_with_a_return_visit_drafts_it_and_reopens_the_work(job, manager):
    r = review(job, manager, passed=False, scores=[("Workmanship", 1)], follow_up="return_visit", reason="Condensate line still drips")
    draft = r.return_visit
    assert draft is not None
    assert (draft.job_id, draft.status, draft.scheduled_start, draft.number, draft.duration_minutes) == (job.pk, VisitStatus.UNSCHEDULED, None, 2, 90)
    assert "Condensate line still drips" in draft.crew_notes
    job.refresh_from_db()
    assert job.status == JobStatus.IN_PROGRESS
    status_event = JobEvent.objects.get(job=job, kind=JobEvent.Kind.STATUS)
    assert (status_event.old_value, status_event.new_value, status_event.actor) == (JobStatus.WORK_COMPLETE, JobStatus.IN_PROGRESS, manager)
    closeout = JobEvent.objects.get(job=job, kind=JobEvent.Kind.CLOSEOUT)
    assert "Condensate line still drips" in closeout.message
    assert "return visit 2 drafted" in closeout.message
    assert draft.events.filter(kind="scheduled").exists()


def test_a_return_visit_on_a_job_still_in_progress_leaves_its_status(manager, tech_a):
    job = JobFactory(status=JobStatus.IN_PROGRESS, technicians=[tech_a])
    r = review(job, manager, passed=False, follow_up="return_visit", reason="Missed a register")
    assert r.return_visit.status == VisitStatus.UNSCHEDULED
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    assert not JobEvent.objects.filter(job=job, kind=JobEvent.Kind.STATUS).exists()


def test_a_follow_up_stays_open_until_a_later_review_passes(job, manager, office):
    first = review(job, manager, passed=False, follow_up="follow_up", reason="Call the customer about the noise")
    assert (first.follow_up, first.follow_up_reason, first.return_visit) == ("follow_up", "Call the customer about the noise", None)
    assert Job.objects.get(pk=job.pk).status == JobStatus.WORK_COMPLETE, "a follow-up does not reopen the work"
    assert Visit.objects.filter(job=job).count() == 1
    assert "follow-up by the office" in JobEvent.objects.get(job=job, kind=JobEvent.Kind.CLOSEOUT).message
    assert queries.open_follow_ups(queries.quality_reviews(job)) == [first]

    second = review(job, office, passed=False, follow_up="follow_up", reason="Send the warranty papers")
    assert queries.open_follow_ups(queries.quality_reviews(job)) == [second, first]

    review(job, manager, passed=True)
    assert queries.open_follow_ups(queries.quality_reviews(job)) == []


def test_the_quality_blocker_follows_the_latest_review(job, manager):
    CloseoutRequirement.objects.create(job_type=job.job_type, kind="quality_passed")
    assert [b.message for b in completion_blockers(job)] == ["No quality review yet."]
    review(job, manager, passed=False, follow_up="follow_up", reason="Paint scuffed")
    assert [b.message for b in completion_blockers(job)] == ["The last quality review failed: Paint scuffed"]
    review(job, manager, passed=True)
    assert completion_blockers(job) == []


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"passed": False}, {"follow_up", "follow_up_reason"}),
        ({"passed": False, "follow_up": "return_visit"}, {"follow_up_reason"}),
        ({"passed": False, "reason": "Dirty"}, {"follow_up"}),
        ({"passed": True, "follow_up": "follow_up", "reason": "x"}, {"follow_up"}),
        ({"passed": "yes"}, {"passed"}),
        ({"follow_up": "phone_call"}, {"follow_up"}),
        ({"scores": []}, {"scores"}),
        ({"scores": [("Workmanship", 6)]}, {"scores.0.score"}),
        ({"scores": [("Workmanship", -1)]}, {"scores.0.score"}),
        ({"scores": [("Workmanship", True)]}, {"scores.0.score"}),
        ({"scores": [("", 3)]}, {"scores.0.label"}),
        ({"scores": [("Workmanship", 3), ("workmanship ", 4)]}, {"scores.1.label"}),
        ({"scores": [("x" * 101, 3)]}, {"scores.0.label"}),
        ({"scores": [(f"Item {n}", 3) for n in range(21)]}, {"scores"}),
        ({"notes": "x" * 5001}, {"notes"}),
        ({"notes": "a\x00b"}, {"notes"}),
        ({"passed": False, "follow_up": "follow_up", "reason": "x" * 501}, {"follow_up_reason"}),
    ],
)
def test_bad_reviews_are_refused_with_field_errors_and_change_nothing(job, manager, kwargs, fields):
    before = snapshot(job)
    with pytest.raises(InvalidInput) as refused:
        review(job, manager, **kwargs)
    assert set(refused.value.fields) == fields
    assert snapshot(job) == before


def test_a_return_visit_is_refused_on_an_invoiced_job(job, manager):
    Job.objects.filter(pk=job.pk).update(status=JobStatus.INVOICED)
    before = snapshot(job)
    with pytest.raises(ConflictError) as refused:
        review(job, manager, passed=False, follow_up="return_visit", reason="Leak")
    assert refused.value.code == "invoiced"
    assert snapshot(job) == before
    # A follow-up is still possible.
    assert review(job, manager, passed=False, follow_up="follow_up", reason="Leak").follow_up == "follow_up"


@pytest.mark.parametrize("status", [JobStatus.CLOSED, JobStatus.CANCELLED])
def test_a_closed_job_takes_no_review(job, manager, status):
    Job.objects.filter(pk=job.pk).update(status=status)
    before = snapshot(job)
    with pytest.raises(DomainError) as refused:
        review(job, manager)
    assert refused.value.code == "job_locked"
    assert snapshot(job) == before


def test_technicians_do_not_review(job, tech_a):
    before = snapshot(job)
    with pytest.raises(DomainError) as refused:
        review(job, tech_a.user)
    assert refused.value.code == "forbidden"
    assert snapshot(job) == before


# ---- the tab -----------------------------------------------------------------------------------------


def _form(**extra):  # type: ignore[no-untyped-def]
    data = {
        "label_0": "Workmanship",
        "score_0": "4",
        "label_1": "Site left clean",
        "score_1": "",
        "passed": "pass",
        "notes": "",
        "follow_up": "",
        "follow_up_reason": "",
    }
    data.update(extra)
    return data


def test_the_office_records_a_review_from_the_tab(job, manager, client_as):
    response = client_as(manager).post(reverse("closeout:quality_add", args=[job.pk]), _form(notes="Good"))
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:tab", args=[job.pk, "quality"])
    r = QualityReview.objects.get()
    assert (r.passed, r.notes, r.reviewer) == (True, "Good", manager)
    assert [(s.label, s.score) for s in r.scores.all()] == [("Workmanship", 4)], "an item left at — is not scored"


def test_a_failed_review_from_the_tab_drafts_the_return_visit(job, manager, client_as):
    data = _form(passed="fail", follow_up="return_visit", follow_up_reason="Loose panel", score_0="2")
    response = client_as(manager).post(reverse("closeout:quality_add", args=[job.pk]), data, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Return visit 2 drafted" in html
    assert "Loose panel" in html
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS


def test_a_refused_review_shows_the_form_again_with_the_reasons(job, manager, client_as):
    before = snapshot(job)
    data = _form(passed="fail", score_1="7", label_2="", score_2="3")
    response = client_as(manager).post(reverse("closeout:quality_add", args=[job.pk]), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Name what this score is for." in html
    assert "Select a valid choice" in html  # the score 7
    assert snapshot(job) == before

    response = client_as(manager).post(reverse("closeout:quality_add", args=[job.pk]), _form(passed="fail"))
    assert response.status_code == 422
    html = response.content.decode()
    assert "A failed review needs a return visit or a follow-up." in html
    assert "Say what has to be put right." in html
    assert 'value="Workmanship"' in html
    assert snapshot(job) == before


def test_a_return_visit_on_an_invoiced_job_is_a_409_on_the_tab(job, manager, client_as):
    Job.objects.filter(pk=job.pk).update(status=JobStatus.INVOICED)
    response = client_as(manager).post(reverse("closeout:quality_add", args=[job.pk]), _form(passed="fail", follow_up="return_visit", follow_up_reason="Leak"))
    assert response.status_code == 409
    assert "record a follow-up instead" in response.content.decode()
    assert QualityReview.objects.count() == 0


def test_technicians_see_the_tab_but_cannot_review(job, tech_a, tech_b, client_as):
    url = reverse("jobs:tab", args=[job.pk, "quality"])
    response = client_as(tech_a.user).get(url)
    assert response.status_code == 200
    assert reverse("closeout:quality_add", args=[job.pk]) not in response.content.decode()
    assert client_as(tech_a.user).post(reverse("closeout:quality_add", args=[job.pk]), _form()).status_code == 403
    assert client_as(tech_b.user).get(url).status_code == 404
    assert client_as(tech_b.user).post(reverse("closeout:quality_add", args=[job.pk]), _form()).status_code == 404
    assert QualityReview.objects.count() == 0


def test_the_tab_shows_reviews_open_follow_ups_and_the_checklists(job, manager, office, client_as):
    review(job, manager, passed=False, scores=[("Workmanship", 2)], follow_up="follow_up", reason="Call about the thermostat")
    html = client_as(office).get(reverse("jobs:tab", args=[job.pk, "quality"])).content.decode()
    assert 'id="quality-panel"' in html
    assert 'id="checklists-office"' in html
    assert "Open follow-up" in html
    assert "Call about the thermostat" in html
    assert "2/5" in html
    assert "Failed" in html
    assert manager.display_name in html
    assert reverse("closeout:quality_add", args=[job.pk]) in html


def test_add_is_post_only(job, manager, client_as):
    assert client_as(manager).get(reverse("closeout:quality_add", args=[job.pk])).status_code == 405


# Session, user, the job with its header (job, assets, skills, technicians, tags), the closeout panel
# (requirements); the tab: reviews, their scores, and the checklists (runs, templates, addable ones).
QUALITY_TAB_QUERIES = 13


@pytest.mark.parametrize("count", [1, 6])
def test_the_tab_reads_a_fixed_number_of_queries(job, manager, office, client_as, django_assert_num_queries, count):
    for n in range(count):
        review(job, manager, scores=[("Workmanship", n % 6), ("Site left clean", 3)])
    client = client_as(office)
    with django_assert_num_queries(QUALITY_TAB_QUERIES):
        response = client.get(reverse("jobs:tab", args=[job.pk, "quality"]))
    assert response.content.decode().count('class="q-review ') == count
