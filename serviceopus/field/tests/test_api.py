"""The time API: a job's entries, a technician's day of entries, manual entries, and the office's
review (approve, correct) — with who may do what, the error body, and that refused calls change
nothing."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import JobEvent, JobTechnician
from tests.factories import JobFactory, VisitFactory

pytestmark = pytest.mark.django_db


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def iso(moment: datetime) -> str:
    return moment.isoformat()


def snapshot():  # type: ignore[no-untyped-def]
    return list(TimeEntry.objects.order_by("pk").values()), JobEvent.objects.count()


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    """A job of tech A's (assigned through a visit of theirs)."""
    return VisitFactory(crew=[tech_a]).job


def entry(job, tech, *, start: datetime, minutes: int = 60, kind: str = "work", **extra) -> TimeEntry:  # type: ignore[no-untyped-def]
    return TimeEntry.objects.create(job=job, technician=tech, kind=kind, start=start, end=start + timedelta(minutes=minutes), **extra)


# ---- reads ------------------------------------------------------------------------------------------


def test_time_derived_from_status_updates_is_listed_per_job(dispatcher, tech_a, tech_b):
    job = JobFactory()
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 9), lead_id=tech_a.pk, helper_ids=[tech_b.pk])
    for to in ("en_route", "arrived", "working"):
        visit_transition(actor=tech_a.user, visit_id=visit.pk, to=to)
    body = api_client(dispatcher).get(f"/jobs/{job.pk}/time-entries").json()
    assert [(e["technician"]["id"], e["kind"], e["source"], e["review"]) for e in body] == [
        (tech_a.pk, "travel", "automatic", "pending"),
        (tech_b.pk, "travel", "automatic", "pending"),
        (tech_a.pk, "work", "automatic", "pending"),
        (tech_b.pk, "work", "automatic", "pending"),
    ]
    travel, work = body[0], body[2]
    assert (travel["visit_id"], travel["job"], travel["minutes"] is not None) == (visit.pk, {"id": job.pk, "number": job.number}, True)
    assert (work["end"], work["minutes"]) == (None, None)  # still running
    # The crew sees the job's time as the Time tab shows it; others do not see the job at all.
    assert api_client(tech_b.user).get(f"/jobs/{job.pk}/time-entries").json() == body
    response = api_client(tech_a.user).get(f"/jobs/{JobFactory().pk}/time-entries")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


def test_a_technicians_entries_for_a_day(dispatcher, job, tech_a, tech_b):
    today = entry(job, tech_a, start=at(0, 9))
    entry(job, tech_a, start=at(1, 9))
    entry(job, tech_b, start=at(0, 9))
    body = api_client(dispatcher).get(f"/technicians/{tech_a.pk}/time-entries", {"day": timezone.localdate().isoformat()}).json()
    assert [e["id"] for e in body] == [today.pk]
    assert api_client(tech_a.user).get(f"/technicians/{tech_a.pk}/time-entries").json() == body  # today by default
    response = api_client(tech_a.user).get(f"/technicians/{tech_b.pk}/time-entries")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


def test_one_entry_and_who_may_read_it(dispatcher, job, tech_a, tech_b):
    made = entry(job, tech_a, start=at(0, 9))
    body = api_client(dispatcher).get(f"/time-entries/{made.pk}").json()
    assert (body["id"], body["minutes"], body["version"], body["reviewed_by"]) == (made.pk, 60, 1, None)
    assert api_client(tech_a.user).get(f"/time-entries/{made.pk}").json() == body
    assert api_client(tech_b.user).get(f"/time-entries/{made.pk}").status_code == 404
    assert api_client(dispatcher).get("/time-entries/999999").status_code == 404


def test_the_job_list_costs_the_same_queries_for_3_and_30_entries(dispatcher, job, tech_a):
    api = api_client(dispatcher)
    api.get(f"/jobs/{job.pk}/time-entries")
    counts = []
    for total in (3, 30):
        while TimeEntry.objects.count() < total:
            entry(job, tech_a, start=at(-1, 8) + timedelta(minutes=TimeEntry.objects.count()), reviewed_by=dispatcher)
        with CaptureQueriesContext(connection) as captured:
            assert len(api.get(f"/jobs/{job.pk}/time-entries").json()) == total
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts


# ---- manual entries ---------------------------------------------------------------------------------


def test_a_technician_enters_their_own_time_with_a_reason(job, tech_a):
    body = {"technician_id": tech_a.pk, "kind": "work", "start": iso(at(-1, 9)), "end": iso(at(-1, 10, 30)), "reason": "Phone was dead"}
    response = api_client(tech_a.user).post(f"/jobs/{job.pk}/time-entries", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["source"], created["review"], created["minutes"], created["reason"]) == ("manual", "pending", 90, "Phone was dead")
    assert JobEvent.objects.filter(job=job, kind="time", message__contains="Phone was dead").count() == 1


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"reason": ""}, "body.reason"),
        ({"reason": "a\x00"}, "body.reason"),
        ({"end": iso(at(-1, 8))}, "body.end"),  # before the start
        ({"end": iso(at(0, 10))}, "body.end"),  # longer than a day
        ({"kind": "lunch"}, "body.kind"),
        ({"technician_id": 999999}, "body.technician_id"),
        ({"visit_id": 999999}, "body.visit_id"),
        ({"start": "yesterday"}, "body.start"),
        ({"minutes": 60}, "body.minutes"),
    ],
)
def test_bad_manual_entries_are_422_and_change_nothing(dispatcher, job, tech_a, extra, path):
    before = snapshot()
    body = {"technician_id": tech_a.pk, "kind": "work", "start": iso(at(-1, 9)), "end": iso(at(-1, 10)), "reason": "Forgot", **extra}
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/time-entries", body)
    assert response.status_code == 422, response.content
    assert field_paths(response) == {path}
    assert snapshot() == before


def test_a_technician_may_not_enter_someone_elses_time(job, tech_a, tech_b):
    JobTechnician.objects.get_or_create(job=job, technician=tech_b)
    before = snapshot()
    body = {"technician_id": tech_a.pk, "kind": "work", "start": iso(at(-1, 9)), "end": iso(at(-1, 10)), "reason": "Covering"}
    response = api_client(tech_b.user).post(f"/jobs/{job.pk}/time-entries", body)
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    response = api_client(tech_b.user).post(f"/jobs/{JobFactory().pk}/time-entries", {**body, "technician_id": tech_b.pk})
    assert response.status_code == 404
    assert snapshot() == before


# ---- review -----------------------------------------------------------------------------------------


def test_approve_with_the_current_version(dispatcher, manager, job, tech_a):
    made = entry(job, tech_a, start=at(-1, 9))
    response = api_client(dispatcher).post(f"/time-entries/{made.pk}/approve", {"version": 1})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["review"], body["version"], body["reviewed_by"]) == ("approved", 2, {"id": dispatcher.pk, "name": dispatcher.display_name})
    before = snapshot()
    response = api_client(manager).post(f"/time-entries/{made.pk}/approve", {"version": 1})
    assert (response.status_code, error_of(response)["code"]) == (409, "reviewed")
    assert snapshot() == before


def test_a_stale_or_running_entry_is_not_approved(dispatcher, job, tech_a):
    made = entry(job, tech_a, start=at(-1, 9))
    TimeEntry.objects.filter(pk=made.pk).update(version=2)
    running = TimeEntry.objects.create(job=job, technician=tech_a, kind="work", start=at(-1, 11))
    before = snapshot()
    response = api_client(dispatcher).post(f"/time-entries/{made.pk}/approve", {"version": 1})
    assert (response.status_code, error_of(response)["code"]) == (409, "stale")
    response = api_client(dispatcher).post(f"/time-entries/{running.pk}/approve", {"version": 1})
    assert (response.status_code, error_of(response)["code"]) == (409, "running")
    response = api_client(dispatcher).post(f"/time-entries/{made.pk}/approve", {"version": "2"})
    assert (response.status_code, field_paths(response)) == (422, {"body.version"})
    assert snapshot() == before


def test_correct_keeps_the_original(dispatcher, job, tech_a):
    original = entry(job, tech_a, start=at(-1, 9), minutes=240)
    body = {"version": 1, "start": iso(at(-1, 9)), "end": iso(at(-1, 11)), "reason": "Left at 11, not 13"}
    response = api_client(dispatcher).post(f"/time-entries/{original.pk}/corrections", body)
    assert response.status_code == 201, response.content
    correction = response.json()
    assert (correction["source"], correction["review"], correction["corrects"], correction["minutes"]) == ("correction", "approved", original.pk, 120)
    listed = api_client(dispatcher).get(f"/jobs/{job.pk}/time-entries").json()
    assert [(e["id"], e["review"]) for e in listed] == [(original.pk, "corrected"), (correction["id"], "approved")]
    # Correcting the original again is refused (correct the newer entry); nothing changes.
    before = snapshot()
    response = api_client(dispatcher).post(f"/time-entries/{original.pk}/corrections", {**body, "version": 2})
    assert (response.status_code, error_of(response)["code"]) == (409, "reviewed")
    response = api_client(dispatcher).post(f"/time-entries/{correction['id']}/corrections", {**body, "reason": ""})
    assert (response.status_code, field_paths(response)) == (422, {"body.reason"})
    assert snapshot() == before


def test_technicians_may_not_review(job, tech_a, tech_b):
    made = entry(job, tech_a, start=at(-1, 9))
    before = snapshot()
    own = api_client(tech_a.user)
    response = own.post(f"/time-entries/{made.pk}/approve", {"version": 1})
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    correction = {"version": 1, "start": iso(at(-1, 9)), "end": iso(at(-1, 9, 30)), "reason": "Shorter"}
    response = own.post(f"/time-entries/{made.pk}/corrections", correction)
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")
    response = api_client(tech_b.user).post(f"/time-entries/{made.pk}/approve", {"version": 1})
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")
    assert snapshot() == before
