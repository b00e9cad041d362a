"""Time tracking: entries derived from the visit's status changes, the office's review (approve,
correct), manual entries, and the job's Time tab that shows and edits them."""

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.dispatch.actions import visit_transition
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.field import actions
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, VisitFactory

V = VisitStatus
LOCAL = "%Y-%m-%dT%H:%M"
# session, user, job, its assets, skills, technicians and tags, the entries, the technicians to choose from
TIME_TAB_QUERIES = 10  # includes the closeout panel's requirements query
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "time-panel"}


def ago(minutes: int) -> datetime:
    return timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=minutes)


def local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime(LOCAL)


def snapshot():  # type: ignore[no-untyped-def]
    return (list(TimeEntry.objects.order_by("pk").values()), JobEvent.objects.count())


@pytest.fixture
def visit(tech_a, tech_b):  # type: ignore[no-untyped-def]
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time(9)))
    job = JobFactory(status=JobStatus.SCHEDULED)
    return VisitFactory(job=job, scheduled_start=start, window_start=start, window_end=start + timedelta(hours=2), crew=[tech_a, tech_b])


@pytest.fixture
def entry(visit, tech_a):  # type: ignore[no-untyped-def]
    return TimeEntry.objects.create(job=visit.job, visit=visit, technician=tech_a, kind=TimeEntry.Kind.WORK, start=ago(120), end=ago(30))


def run_flow(actor, visit):  # type: ignore[no-untyped-def]
    for to, extra in [
        (V.EN_ROUTE, {}),
        (V.ARRIVED, {}),
        (V.WORKING, {}),
        (V.PAUSED, {"reason": "Break"}),
        (V.WORKING, {}),
        (V.DEPARTED, {}),
        (V.COMPLETED, {"outcome": Outcome.FINISHED}),
    ]:
        visit_transition(actor=actor, visit_id=visit.pk, to=to, **extra)


# ---- actions --------------------------------------------------------------------------------------------


def test_a_flow_derives_travel_and_work_per_crew_member_without_the_pause(visit, tech_a, tech_b):
    run_flow(tech_a.user, visit)
    for tech in (tech_a, tech_b):
        entries = list(TimeEntry.objects.filter(visit=visit, technician=tech).order_by("start", "id"))
        assert [e.kind for e in entries] == [TimeEntry.Kind.TRAVEL, TimeEntry.Kind.WORK, TimeEntry.Kind.WORK]
        assert all(e.end is not None and e.source == TimeEntry.Source.AUTOMATIC and e.review == TimeEntry.Review.PENDING for e in entries)
    at = [e.at for e in visit.events.order_by("at", "id")]  # en route, arrived, working, paused, working, departed, completed
    travel, work, more_work = TimeEntry.objects.filter(visit=visit, technician=tech_a).order_by("start", "id")
    assert (travel.start, travel.end) == (at[0], at[1])
    assert (work.start, work.end) == (at[2], at[3])  # the pause is not work
    assert (more_work.start, more_work.end) == (at[4], at[5])


def test_approve_stamps_the_reviewer_and_is_logged(dispatcher, entry):
    approved = actions.time_entry_approve(actor=dispatcher, entry_id=entry.pk, version=entry.version)
    assert (approved.review, approved.reviewed_by, approved.version) == (TimeEntry.Review.APPROVED, dispatcher, entry.version + 1)
    assert JobEvent.objects.filter(job=entry.job, kind=JobEvent.Kind.TIME, data__op="approve").count() == 1


def test_a_technician_cannot_approve_and_nothing_changes(tech_a, entry):
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        actions.time_entry_approve(actor=tech_a.user, entry_id=entry.pk, version=entry.version)
    assert refused.value.code == "forbidden"
    assert snapshot() == before


def test_a_stale_approval_changes_nothing(dispatcher, entry):
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        actions.time_entry_approve(actor=dispatcher, entry_id=entry.pk, version=entry.version + 5)
    assert refused.value.code == "stale"
    assert snapshot() == before


def test_a_correction_keeps_the_original(dispatcher, entry):
    correction = actions.time_entry_correct(actor=dispatcher, entry_id=entry.pk, version=entry.version, start=ago(100), end=ago(40), reason="Left earlier")
    entry.refresh_from_db()
    assert entry.review == TimeEntry.Review.CORRECTED
    assert entry.start == ago(120)
    assert (correction.corrects, correction.minutes, correction.source, correction.review) == (
        entry,
        60,
        TimeEntry.Source.CORRECTION,
        TimeEntry.Review.APPROVED,
    )
    assert JobEvent.objects.filter(job=entry.job, data__op="correct", data__corrects=entry.pk).count() == 1


def test_a_manual_entry_needs_a_reason(tech_a, visit):
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        actions.time_entry_add(actor=tech_a.user, job_id=visit.job_id, technician_id=tech_a.pk, kind="work", start=ago(90), end=ago(30), reason=" ")
    assert "reason" in refused.value.fields
    assert snapshot() == before


def test_a_technician_enters_only_their_own_time(tech_a, tech_b, visit):
    before = snapshot()
    with pytest.raises(DomainError):
        actions.time_entry_add(actor=tech_a.user, job_id=visit.job_id, technician_id=tech_b.pk, kind="work", start=ago(90), end=ago(30), reason="x")
    assert snapshot() == before


# ---- the Time tab ---------------------------------------------------------------------------------------


def tab(client, job):  # type: ignore[no-untyped-def]
    return client.get(reverse("jobs:tab", args=[job.pk, "time"]))


def test_the_tab_groups_entries_per_crew_member_with_totals(client_as, dispatcher, visit, tech_a, tech_b):
    run_flow(tech_a.user, visit)
    TimeEntry.objects.filter(technician=tech_a, kind=TimeEntry.Kind.TRAVEL).update(start=ago(100), end=ago(80))
    work = TimeEntry.objects.filter(technician=tech_a, kind=TimeEntry.Kind.WORK).order_by("id")
    work.filter(pk=work[0].pk).update(start=ago(75), end=ago(45))
    work.filter(pk=work[1].pk).update(start=ago(40), end=ago(30))
    running = TimeEntry.objects.create(job=visit.job, technician=tech_b, kind="travel", start=ago(5))
    response = tab(client_as(dispatcher), visit.job)
    assert response.status_code == 200
    review = response.context["review"]
    people = {p.technician.pk: p for p in review.people}
    assert (people[tech_a.pk].travel, people[tech_a.pk].work, people[tech_a.pk].total) == (20, 40, 60)
    assert people[tech_b.pk].running == 1
    html = response.content.decode()
    assert "Alex Tech" in html
    assert "Blair Tech" in html
    assert "Running" in html
    assert f'id="time-{running.pk}"' in html
    assert "From status updates" in html
    assert "To review" in html


def test_the_office_approves_from_the_tab(client_as, dispatcher, entry):
    response = client_as(dispatcher).post(reverse("field:time_approve", args=[entry.job_id, entry.pk]), {"version": entry.version})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.review == TimeEntry.Review.APPROVED


def test_an_htmx_approval_returns_the_panel(client_as, dispatcher, entry):
    response = client_as(dispatcher).post(reverse("field:time_approve", args=[entry.job_id, entry.pk]), {"version": entry.version}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="time-panel"')
    assert "Approved" in html


def test_a_stale_approval_from_the_tab_changes_nothing(client_as, dispatcher, entry):
    before = snapshot()
    response = client_as(dispatcher).post(reverse("field:time_approve", args=[entry.job_id, entry.pk]), {"version": entry.version + 1})
    assert response.status_code == 409
    assert "changed meanwhile" in response.content.decode()
    assert snapshot() == before


def test_a_technician_cannot_approve_or_correct_from_the_tab(client_as, tech_a, entry):
    client = client_as(tech_a.user)
    before = snapshot()
    assert client.post(reverse("field:time_approve", args=[entry.job_id, entry.pk]), {"version": entry.version}).status_code == 403
    data = {"version": entry.version, "start": local(ago(100)), "end": local(ago(40)), "reason": "x"}
    assert client.post(reverse("field:time_correct", args=[entry.job_id, entry.pk]), data).status_code == 403
    assert snapshot() == before
    assert "Approve entry" not in tab(client, entry.job).content.decode()


def test_the_office_corrects_and_the_original_stays_listed_struck_through(client_as, dispatcher, entry):
    client = client_as(dispatcher)
    form = client.get(reverse("field:time_correct", args=[entry.job_id, entry.pk]))
    assert form.status_code == 200
    assert "Save correction" in form.content.decode()
    data = {"version": entry.version, "start": local(ago(100)), "end": local(ago(40)), "reason": "Left earlier"}
    response = client.post(reverse("field:time_correct", args=[entry.job_id, entry.pk]), data)
    assert response.status_code == 302
    correction = TimeEntry.objects.get(corrects=entry)
    html = tab(client, entry.job).content.decode()
    assert 'class="time-row-corrected"' in html
    assert f'href="#time-{correction.pk}"' in html
    assert "Left earlier" in html
    review = tab(client, entry.job).context["review"]
    assert review.work == 60  # the original's 90 minutes no longer count


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"start": "", "reason": "x"}, "start"),
        ({"end": "yesterday", "reason": "x"}, "end"),
        ({"reason": ""}, "reason"),
        ({"start": "END", "reason": "x"}, "end"),  # end before start
    ],
)
def test_a_bad_correction_shows_field_errors_and_changes_nothing(client_as, dispatcher, entry, data, field):
    full = {"version": entry.version, "start": local(ago(100)), "end": local(ago(40)), **data}
    if full["start"] == "END":
        full["start"] = local(ago(20))
    before = snapshot()
    response = client_as(dispatcher).post(reverse("field:time_correct", args=[entry.job_id, entry.pk]), full)
    assert response.status_code == 422
    assert field in response.context["correct_form"].errors
    assert snapshot() == before


def test_the_office_adds_a_manual_entry_for_a_technician(client_as, dispatcher, visit, tech_b):
    data = {"technician": tech_b.pk, "kind": "work", "start": local(ago(90)), "end": local(ago(30)), "reason": "Phone had no signal"}
    response = client_as(dispatcher).post(reverse("field:time_add", args=[visit.job_id]), data)
    assert response.status_code == 302
    entry = TimeEntry.objects.get(technician=tech_b, source=TimeEntry.Source.MANUAL)
    assert (entry.minutes, entry.reason, entry.review) == (60, "Phone had no signal", TimeEntry.Review.PENDING)


def test_a_technician_on_the_job_adds_their_own_time(client_as, tech_a, visit):
    client = client_as(tech_a.user)
    assert "Add my time" in tab(client, visit.job).content.decode()
    data = {"technician": tech_a.pk, "kind": "travel", "start": local(ago(90)), "end": local(ago(60)), "reason": "Forgot to tap"}
    assert client.post(reverse("field:time_add", args=[visit.job_id]), data).status_code == 302
    assert TimeEntry.objects.get(technician=tech_a, source=TimeEntry.Source.MANUAL).kind == "travel"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"kind": "lunch"}, "kind"),
        ({"start": "", "end": ""}, "start"),
        ({"end": "START"}, "end"),
        ({"reason": "x" * 301}, "reason"),
        ({"reason": "bad\x00"}, "reason"),
    ],
)
def test_a_bad_manual_entry_shows_field_errors_and_changes_nothing(client_as, dispatcher, visit, tech_a, data, field):
    full = {"technician": tech_a.pk, "kind": "work", "start": local(ago(90)), "end": local(ago(30)), "reason": "No signal", **data}
    if full["end"] == "START":
        full["end"] = full["start"]
    before = snapshot()
    response = client_as(dispatcher).post(reverse("field:time_add", args=[visit.job_id]), full, **HTMX)
    assert response.status_code == 422
    assert field in response.context["add_form"].errors
    assert snapshot() == before


def test_a_technician_cannot_enter_time_for_someone_else_or_on_another_job(client_as, tech_a, tech_b, visit):
    other_job = JobFactory(technicians=[tech_b])
    client = client_as(tech_a.user)
    before = snapshot()
    data = {"technician": tech_b.pk, "kind": "work", "start": local(ago(90)), "end": local(ago(30)), "reason": "x"}
    response = client.post(reverse("field:time_add", args=[visit.job_id]), data)
    assert response.status_code == 422
    assert "technician" in response.context["add_form"].errors
    assert client.post(reverse("field:time_add", args=[other_job.pk]), {**data, "technician": tech_a.pk}).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("count", [2, 12])
def test_the_time_tab_query_count_is_fixed(count, client_as, dispatcher, visit, tech_a, django_assert_num_queries):
    for i in range(count):
        TimeEntry.objects.create(job=visit.job, visit=visit, technician=tech_a, kind="work", start=ago(600 - i * 30), end=ago(590 - i * 30))
    client = client_as(dispatcher)
    tab(client, visit.job)
    with django_assert_num_queries(TIME_TAB_QUERIES):
        response = tab(client, visit.job)
    assert sum(len(p.entries) for p in response.context["review"].people) == count
