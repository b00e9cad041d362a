"""The Crew & schedule tab and its forms (schedule, edit, cancel, crew suggestions), and the week views."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.crew.models import TimeOff
from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.dispatch.models import DispatchSettings, Visit, VisitEvent
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.status import JobStatus
from tests.dispatch_support import at, snapshot
from tests.factories import JobFactory, TechnicianFactory, VisitFactory

V = VisitStatus
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "crew-panel"}
# The workspace with the crew tab: session, user, job, the header's four related lists; the visits with
# crews (four), their timelines (one); for the office the technician choices and the dispatch settings.
CREW_TAB_QUERIES = 15  # + the closeout panel's requirements
WEEK_QUERIES = 4  # session, user, technicians, their crew places with visit, job, customer, address, type
TECHNICIAN_WEEK_QUERIES = 6  # session, user, the technician, the week (technicians, crew places), time off


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def form_data(day: int = 1, hour: str = "09:00", **extra):  # type: ignore[no-untyped-def]
    date = (timezone.localdate() + timedelta(days=day)).isoformat()
    return {"date": date, "start_time": hour, "duration_minutes": "90", "days": "1", **extra}


@pytest.fixture
def job(db):  # type: ignore[no-untyped-def]
    return JobFactory(estimated_duration_minutes=90)


def tab_url(job) -> str:  # type: ignore[no-untyped-def]
    return reverse("jobs:tab", args=[job.pk, "crew"])


# ---- the tab ----------------------------------------------------------------------------------------------


def test_tab_lists_visits_with_crew_timeline_and_durations(client_as, dispatcher, tech_a, tech_b, job):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 8), lead_id=tech_a.pk, helper_ids=[tech_b.pk], crew_notes="Bring the ladder")
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.EN_ROUTE, lat=41.88, lng=-87.63)
    VisitEvent.objects.filter(visit=visit, to_status=V.EN_ROUTE).update(at=timezone.now() - timedelta(minutes=25))
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.ARRIVED)
    page = html(client_as(dispatcher).get(tab_url(job)))
    assert "Visit 1" in page
    assert "Bring the ladder" in page
    assert 'Alex Tech</strong> <span class="muted small">(lead)' in page
    assert "Blair Tech" in page
    assert "GPS 41.88000, -87.63000" in page
    assert "travel 25 min" in page  # the span from en route to arrived
    assert "Schedule a visit" in page


def test_technician_sees_the_tab_without_the_office_forms(client_as, tech_a):
    visit = VisitFactory(crew=[tech_a])
    page = html(client_as(tech_a.user).get(tab_url(visit.job)))
    assert f"Visit {visit.number}" in page
    assert "Schedule a visit" not in page
    assert "Suggest crew" not in page
    assert "Cancel visit" not in page


def test_tab_query_count_is_fixed(client_as, dispatcher, tech_a, tech_b, django_assert_num_queries):
    client = client_as(dispatcher)
    DispatchSettings.current()  # the settings row is made on first use, once for the whole site
    small, large = JobFactory(), JobFactory()
    for job, n in ((small, 1), (large, 8)):
        for i in range(n):
            visit = VisitFactory(job=job, number=i + 1, crew=[tech_a, tech_b], scheduled_start=at(i, 9))
            VisitEvent.objects.create(visit=visit, actor=dispatcher, kind=VisitEvent.Kind.SCHEDULED, message="Scheduled")
        with django_assert_num_queries(CREW_TAB_QUERIES):
            response = client.get(tab_url(job))
        assert len(response.context["visits"]) == n


# ---- scheduling -------------------------------------------------------------------------------------------


def test_schedule_a_visit_schedules_the_job(client_as, dispatcher, tech_a, tech_b, job):
    data = form_data(lead=str(tech_a.pk), helpers=[str(tech_b.pk)], crew_notes="Side door", window_start="08:30", window_end="10:30")
    response = client_as(dispatcher).post(reverse("dispatch:visit_schedule", args=[job.pk]), data)
    assert response.status_code == 302
    assert response["Location"] == tab_url(job)
    [visit] = Visit.objects.filter(job=job)
    assert (visit.scheduled_start, visit.duration_minutes, visit.window_start, visit.window_end) == (at(1, 9), 90, at(1, 8, 30), at(1, 10, 30))
    assert [(c.technician_id, c.is_lead) for c in visit.crew.all()] == [(tech_a.pk, True), (tech_b.pk, False)]
    job.refresh_from_db()
    assert job.status == JobStatus.SCHEDULED


def test_schedule_over_htmx_redirects_to_refresh_the_header(client_as, dispatcher, job):
    response = client_as(dispatcher).post(reverse("dispatch:visit_schedule", args=[job.pk]), form_data(), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == tab_url(job)


def test_multi_day_and_the_default_window(client_as, dispatcher, tech_a, job):
    client_as(dispatcher).post(reverse("dispatch:visit_schedule", args=[job.pk]), form_data(days="3", lead=str(tech_a.pk)))
    visits = list(Visit.objects.filter(job=job).order_by("number"))
    assert [v.scheduled_start for v in visits] == [at(1, 9), at(2, 9), at(3, 9)]
    assert all(v.window_end - v.window_start == timedelta(hours=2) for v in visits)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"window_start": "11:00", "window_end": "09:00"}, "window_end"),  # window end before start
        ({"window_start": "10:00", "window_end": "12:00"}, "start_time"),  # the visit starts outside its window
        ({"window_start": "08:00"}, "window_end"),  # one end only
        ({"lead": "999999"}, "lead"),  # unknown technician
        ({"helpers": ["999999"]}, "helpers"),
        ({"start_time": ""}, "start_time"),  # a date without a time
        ({"duration_minutes": "2"}, "duration_minutes"),
        ({"days": "40"}, "days"),
        ({"date": "2025-02-30"}, "date"),
        ({"crew_notes": "bad\x00note"}, "crew_notes"),
    ],
)
def test_bad_input_is_a_field_error_and_changes_nothing(client_as, dispatcher, tech_a, job, extra, field):
    before = snapshot()
    response = client_as(dispatcher).post(reverse("dispatch:visit_schedule", args=[job.pk]), form_data(**{"lead": str(tech_a.pk), **extra}), **HTMX)
    assert response.status_code == 422
    assert field in response.context["schedule_form"].errors
    assert 'class="field-error"' in html(response)
    assert snapshot() == before


def test_a_helper_who_is_also_lead_is_a_field_error(client_as, dispatcher, tech_a, job):
    before = snapshot()
    response = client_as(dispatcher).post(reverse("dispatch:visit_schedule", args=[job.pk]), form_data(lead=str(tech_a.pk), helpers=[str(tech_a.pk)]))
    assert response.status_code == 422
    assert "helpers" in response.context["schedule_form"].errors
    assert snapshot() == before


def _time_off(tech):  # type: ignore[no-untyped-def]
    TimeOff.objects.create(technician=tech, start=at(1, 0), end=at(2, 0), reason="Dentist")


def test_availability_problems_are_shown_with_reasons_and_a_dispatcher_cannot_override(client_as, dispatcher, tech_a, job):
    _time_off(tech_a)
    client = client_as(dispatcher)
    before = snapshot()
    response = client.post(reverse("dispatch:visit_schedule", args=[job.pk]), form_data(lead=str(tech_a.pk)), **HTMX)
    assert response.status_code == 409
    page = html(response)
    assert "Time off" in page
    assert "Dentist" in page
    assert "Override as manager" not in page
    response = client.post(reverse("dispatch:visit_schedule", args=[job.pk]), form_data(lead=str(tech_a.pk), override_reason="I say so"), **HTMX)
    assert response.status_code == 409
    assert "Only a manager may override" in html(response)
    assert snapshot() == before


def test_a_manager_overrides_with_a_reason_recorded_on_the_timeline(client_as, manager, tech_a, job):
    _time_off(tech_a)
    client = client_as(manager)
    response = client.post(reverse("dispatch:visit_schedule", args=[job.pk]), form_data(lead=str(tech_a.pk)), **HTMX)
    assert response.status_code == 409
    assert "Override as manager" in html(response)
    assert not Visit.objects.exists()
    response = client.post(reverse("dispatch:visit_schedule", args=[job.pk]), form_data(lead=str(tech_a.pk), override_reason="Emergency; Alex agreed"))
    assert response.status_code == 302
    visit = Visit.objects.get(job=job)
    override = VisitEvent.objects.get(visit=visit, kind=VisitEvent.Kind.OVERRIDE)
    assert override.data["reason"] == "Emergency; Alex agreed"
    assert override.actor == manager
    assert "Emergency; Alex agreed" in html(client.get(tab_url(job)))


def test_technicians_cannot_schedule(client_as, tech_a, tech_b):
    own = VisitFactory(crew=[tech_a]).job
    other = VisitFactory(crew=[tech_b]).job
    before = snapshot()
    assert client_as(tech_a.user).post(reverse("dispatch:visit_schedule", args=[own.pk]), form_data()).status_code == 403
    assert client_as(tech_a.user).post(reverse("dispatch:visit_schedule", args=[other.pk]), form_data()).status_code == 404
    assert snapshot() == before


def test_a_closed_job_takes_no_visit(client_as, dispatcher):
    job = JobFactory(status=JobStatus.WORK_COMPLETE)
    before = snapshot()
    response = client_as(dispatcher).post(reverse("dispatch:visit_schedule", args=[job.pk]), form_data())
    assert response.status_code == 409
    assert snapshot() == before
    assert "Schedule a visit" not in html(client_as(dispatcher).get(tab_url(job)))


# ---- editing ----------------------------------------------------------------------------------------------


def test_edit_form_reschedules_and_reassigns(client_as, dispatcher, tech_a, tech_b, job):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    client = client_as(dispatcher)
    url = reverse("dispatch:visit_edit", args=[job.pk, visit.pk])
    response = client.get(url, **HTMX)
    assert response.status_code == 200
    assert f'name="version" value="{visit.version}"' in html(response)
    response = client.post(url, form_data(day=2, hour="13:00", lead=str(tech_b.pk), version=str(visit.version)))
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.scheduled_start == at(2, 13)
    assert (visit.window_start, visit.window_end) == (at(2, 13), at(2, 15))
    assert [c.technician_id for c in visit.crew.all()] == [tech_b.pk]


def test_a_stale_edit_shows_the_current_state_and_changes_nothing(client_as, dispatcher, tech_a, tech_b, job):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    seen = visit.version
    client = client_as(dispatcher)
    url = reverse("dispatch:visit_edit", args=[job.pk, visit.pk])
    assert client.post(url, form_data(hour="10:00", lead=str(tech_a.pk), version=str(seen))).status_code == 302  # someone else's edit
    before = snapshot()
    response = client.post(url, form_data(hour="14:00", lead=str(tech_b.pk), version=str(seen)), **HTMX)
    assert response.status_code == 409
    assert snapshot() == before
    page = html(response)
    assert "Someone else changed this visit" in page
    assert f'name="version" value="{seen + 1}"' in page  # the form starts again from the current visit
    assert 'value="10:00"' in page


def test_scheduling_a_drafted_return_visit(client_as, dispatcher, tech_a, job):
    [draft] = visit_schedule(actor=dispatcher, job_id=job.pk, start=None)
    assert draft.status == V.UNSCHEDULED
    client = client_as(dispatcher)
    assert "Not scheduled" in html(client.get(tab_url(job)))
    response = client.post(reverse("dispatch:visit_edit", args=[job.pk, draft.pk]), form_data(lead=str(tech_a.pk), version=str(draft.version)))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.scheduled_start) == (V.SCHEDULED, at(1, 9))


def test_edit_field_errors_change_nothing(client_as, dispatcher, tech_a, job):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    before = snapshot()
    response = client_as(dispatcher).post(
        reverse("dispatch:visit_edit", args=[job.pk, visit.pk]), form_data(window_start="12:00", window_end="11:00", version=str(visit.version)), **HTMX
    )
    assert response.status_code == 422
    assert "window_end" in response.context["edit_form"].errors
    assert snapshot() == before


def test_a_visit_under_way_keeps_its_time_but_may_change_crew(client_as, dispatcher, tech_a, tech_b, job):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 8), lead_id=tech_a.pk)
    visit = visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.EN_ROUTE)
    response = client_as(dispatcher).post(
        reverse("dispatch:visit_edit", args=[job.pk, visit.pk]),
        form_data(day=0, hour="15:00", lead=str(tech_a.pk), helpers=[str(tech_b.pk)], version=str(visit.version)),
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.scheduled_start == at(0, 8)
    assert sorted(c.technician_id for c in visit.crew.all()) == sorted([tech_a.pk, tech_b.pk])


# ---- cancelling -------------------------------------------------------------------------------------------


def test_cancel_needs_a_reason_and_is_recorded(client_as, dispatcher, tech_a, job):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    client = client_as(dispatcher)
    url = reverse("dispatch:visit_cancel", args=[job.pk, visit.pk])
    before = snapshot()
    response = client.post(url, {"reason": "", "expected": V.SCHEDULED}, **HTMX)
    assert response.status_code == 422
    assert "reason" in response.context["cancel_form"].errors
    assert snapshot() == before
    assert 'hx-confirm="Cancel visit 1?' in html(client.get(tab_url(job)))
    response = client.post(url, {"reason": "Customer away", "expected": V.SCHEDULED})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == V.CANCELLED
    assert VisitEvent.objects.filter(visit=visit, to_status=V.CANCELLED, message__contains="Customer away").exists()


def test_cancel_refused_when_the_crew_moved_on(client_as, dispatcher, tech_a, job):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(0, 8), lead_id=tech_a.pk)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=V.EN_ROUTE)
    before = snapshot()
    response = client_as(dispatcher).post(reverse("dispatch:visit_cancel", args=[job.pk, visit.pk]), {"reason": "x", "expected": V.SCHEDULED}, **HTMX)
    assert response.status_code == 409
    assert "already en route" in html(response)
    assert snapshot() == before


def test_technicians_cannot_cancel(client_as, tech_a):
    visit = VisitFactory(crew=[tech_a])
    before = snapshot()
    response = client_as(tech_a.user).post(reverse("dispatch:visit_cancel", args=[visit.job_id, visit.pk]), {"reason": "no", "expected": V.SCHEDULED})
    assert response.status_code == 403
    assert snapshot() == before


# ---- crew suggestions -------------------------------------------------------------------------------------


def test_suggestions_are_ranked_with_their_reasons(client_as, dispatcher, tech_a, tech_b, job):
    far = TechnicianFactory(home_lat="42.100000", home_lng="-87.900000")
    _time_off(tech_b)  # not free: not suggested
    response = client_as(dispatcher).get(reverse("dispatch:crew_suggest", args=[job.pk]), form_data(), **HTMX)
    assert response.status_code == 200
    suggestions = response.context["suggestions"]
    assert [s.technician for s in suggestions] == [tech_a, far]
    page = html(response)
    page = page[page.index('aria-label="Crew suggestions"') :]  # the crew choices above list every technician
    assert page.index("Alex Tech") < page.index(far.name)
    for reason in suggestions[0].reasons + suggestions[1].reasons:
        assert reason in page
    assert 'name="assign"' in page


def test_suggestions_need_a_slot(client_as, dispatcher, job):
    response = client_as(dispatcher).get(reverse("dispatch:crew_suggest", args=[job.pk]), form_data(start_time=""), **HTMX)
    assert response.status_code == 422
    assert "start_time" in response.context["schedule_form"].errors
    assert response.context["suggestions"] is None


def test_one_click_assign_schedules_with_that_lead(client_as, dispatcher, tech_a, job):
    response = client_as(dispatcher).post(reverse("dispatch:visit_schedule", args=[job.pk]), form_data(assign=str(tech_a.pk)), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"]
    visit = Visit.objects.get(job=job)
    assert [(c.technician_id, c.is_lead) for c in visit.crew.all()] == [(tech_a.pk, True)]
    job.refresh_from_db()
    assert job.status == JobStatus.SCHEDULED


def test_one_click_assign_sets_the_lead_of_an_existing_visit(client_as, dispatcher, tech_a, tech_b, job):
    [draft] = visit_schedule(actor=dispatcher, job_id=job.pk, start=None)
    client = client_as(dispatcher)
    response = client.get(reverse("dispatch:crew_suggest", args=[job.pk]), {"visit": draft.pk}, **HTMX)
    assert response.status_code == 422  # a draft has no time yet: the form asks for one
    response = client.get(reverse("dispatch:crew_suggest", args=[job.pk]), {**form_data(), "visit": draft.pk, "version": draft.version}, **HTMX)
    assert response.status_code == 200
    assert response.context["editing_id"] == draft.pk
    assert response.context["suggestions"]
    response = client.post(reverse("dispatch:visit_edit", args=[job.pk, draft.pk]), {**form_data(), "version": draft.version, "assign": tech_b.pk})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == V.SCHEDULED
    assert [(c.technician_id, c.is_lead) for c in draft.crew.all()] == [(tech_b.pk, True)]


def test_suggest_from_a_scheduled_visit_starts_from_its_slot(client_as, dispatcher, tech_a, tech_b, job):
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), lead_id=tech_a.pk)
    response = client_as(dispatcher).get(reverse("dispatch:crew_suggest", args=[job.pk]), {"visit": visit.pk}, **HTMX)
    assert response.status_code == 200
    # The visit itself does not make its own crew busy.
    assert {s.technician for s in response.context["suggestions"]} == {tech_a, tech_b}


# ---- week views -------------------------------------------------------------------------------------------


def _book(techs, n):  # type: ignore[no-untyped-def]
    for i in range(n):
        VisitFactory(crew=[techs[i % len(techs)]], scheduled_start=at(i % 5, 8 + i % 8))


def test_team_week_query_count_is_fixed(client_as, dispatcher, tech_a, tech_b, django_assert_num_queries):
    client = client_as(dispatcher)
    _book([tech_a, tech_b], 2)
    with django_assert_num_queries(WEEK_QUERIES):
        response = client.get(reverse("dispatch:week"))
    assert response.status_code == 200
    TechnicianFactory.create_batch(3)
    _book([tech_a, tech_b], 30)
    with django_assert_num_queries(WEEK_QUERIES):
        response = client.get(reverse("dispatch:week"))
    page = html(response)
    assert "Alex Tech" in page
    assert "booked" in page


def test_team_week_shows_visits_by_day_with_booked_hours(client_as, dispatcher, tech_a):
    visit = VisitFactory(crew=[tech_a], scheduled_start=at(0, 9), duration_minutes=150)
    response = client_as(dispatcher).get(reverse("dispatch:week"), {"date": timezone.localdate().isoformat()})
    [row] = [r for r in response.context["rows"] if r["technician"] == tech_a]
    [cell] = [c for c in row["cells"] if c["visits"]]
    assert cell["day"] == timezone.localdate()
    assert cell["minutes"] == 150
    page = html(response)
    assert visit.job.number in page
    assert visit.job.customer.name in page
    assert "2 h 30 min booked" in page
    assert "?date=" in response.context["prev_url"]


def test_technician_week_query_count_and_order(client_as, tech_a, tech_b, django_assert_num_queries):
    client = client_as(tech_a.user)
    url = reverse("dispatch:technician_week", args=[tech_a.pk])
    _book([tech_a], 2)
    with django_assert_num_queries(TECHNICIAN_WEEK_QUERIES):
        assert client.get(url).status_code == 200
    _book([tech_a, tech_b], 30)
    with django_assert_num_queries(TECHNICIAN_WEEK_QUERIES):
        response = client.get(url, {"date": timezone.localdate().isoformat()})
    for column in response.context["columns"]:
        starts = [v.scheduled_start for v in column["visits"]]
        assert starts == sorted(starts)
        assert all(tech_a in [c.technician for c in v.crew.all()] for v in column["visits"])


def test_a_technician_sees_only_their_own_week(client_as, tech_a, tech_b):
    client = client_as(tech_a.user)
    assert client.get(reverse("dispatch:technician_week", args=[tech_b.pk])).status_code == 404
    response = client.get(reverse("dispatch:week"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dispatch:technician_week", args=[tech_a.pk]))


def test_schedule_is_in_the_navigation(client_as, dispatcher, tech_a):
    for user in (dispatcher, tech_a.user):
        labels = [label for label, _url, _key in client_as(user).get(reverse("jobs:dashboard")).context["nav_items"]]
        assert "Schedule" in labels
