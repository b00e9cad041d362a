"""The job pages: who may open what, what each page shows, what each form changes (and that refused or
invalid input changes nothing), and a fixed number of queries per page whatever the row count."""

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.jobs import actions
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.pagination import encode_cursor
from serviceopus.jobs.status import JobStatus
from tests.factories import AssetFactory, CustomerFactory, JobFactory, LineItemFactory, LocationFactory, TechnicianFactory

from .pages import (
    BOARD_QUERIES,
    BOARD_SEARCH_QUERIES,
    HTMX,
    LIST_QUERIES,
    LIST_SEARCH_QUERIES,
    OFFICE_ROLES,
    TABS,
    WORKSPACE_QUERIES,
    WORKSPACE_TAB_QUERIES,
    html,
    make_jobs,
)

# ---- access -------------------------------------------------------------------------------------------


def office_urls(job: Job) -> list[str]:
    return [
        reverse("jobs:dashboard"),
        reverse("jobs:list"),
        reverse("jobs:board"),
        reverse("jobs:create"),
        reverse("jobs:create") + "?source=booking",
        reverse("jobs:detail", args=[job.pk]),
        reverse("jobs:edit", args=[job.pk]),
        reverse("jobs:quick", args=[job.pk]),
        reverse("jobs:customer_fields") + f"?customer={job.customer_id}",
        *[reverse("jobs:tab", args=[job.pk, tab]) for tab in TABS],
    ]


@pytest.mark.parametrize("role", OFFICE_ROLES)
def test_every_page_renders_for_each_office_role(role, request, client_as, job):
    LineItemFactory(job=job)
    actions.note_add(actor=request.getfixturevalue("dispatcher"), job_id=job.pk, body="Call first")
    client = client_as(request.getfixturevalue(role))
    for url in office_urls(job):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "TODO" not in html(response)


@pytest.mark.parametrize(
    ("url_name", "key"),
    [("jobs:dashboard", "dashboard"), ("jobs:list", "list"), ("jobs:board", "board"), ("jobs:detail", "list")],
)
def test_navigation_highlights_the_page(url_name, key, client_as, dispatcher, job):
    args = [job.pk] if url_name == "jobs:detail" else []
    response = client_as(dispatcher).get(reverse(url_name, args=args))
    assert response.context["nav_active"] == key


def test_anonymous_users_are_sent_to_sign_in(client, job):
    for url in office_urls(job):
        response = client.get(url)
        assert response.status_code == 302, url
        assert reverse("accounts:login") in response["Location"]


def test_technician_reaches_only_their_own_jobs(client_as, tech_a, tech_b, job):
    other = JobFactory(technicians=[tech_b])
    item = LineItemFactory(job=other)
    client = client_as(tech_a.user)
    assert client.get(reverse("jobs:detail", args=[job.pk])).status_code == 200
    assert client.get(reverse("jobs:tab", args=[job.pk, "line-items"])).status_code == 200
    assert client.get(reverse("jobs:quick", args=[job.pk])).status_code == 200
    for url in [
        reverse("jobs:detail", args=[other.pk]),
        reverse("jobs:tab", args=[other.pk, "timeline"]),
        reverse("jobs:quick", args=[other.pk]),
        reverse("jobs:edit", args=[other.pk]),
        reverse("jobs:line_item_edit", args=[other.pk, item.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    posts = [
        (reverse("jobs:transition", args=[other.pk]), {"to": "in_progress"}),
        (reverse("jobs:line_item_add", args=[other.pk]), {"kind": "service", "description": "x", "quantity": "1", "unit_price": "1"}),
        (reverse("jobs:line_item_remove", args=[other.pk, item.pk]), {}),
        (reverse("jobs:note_add", args=[other.pk]), {"body": "hello"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    other.refresh_from_db()
    assert other.status == JobStatus.NEW
    assert other.line_items.count() == 1
    assert not other.notes.exists()


def test_office_only_pages_are_forbidden_to_technicians(client_as, tech_a, job):
    client = client_as(tech_a.user)
    assert client.get(reverse("jobs:board")).status_code == 403
    assert client.get(reverse("jobs:create")).status_code == 403
    assert client.get(reverse("jobs:edit", args=[job.pk])).status_code == 403
    assert client.get(reverse("jobs:customer_fields")).status_code in (403, 404)
    response = client.post(reverse("jobs:bulk_transition"), {"job": [job.pk], "to": "scheduled"})
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.NEW


def test_technician_list_and_dashboard_show_only_their_jobs(client_as, tech_a, tech_b, job):
    other = JobFactory(technicians=[tech_b], next_visit_at=timezone.now())
    client = client_as(tech_a.user)
    page = html(client.get(reverse("jobs:list")))
    assert job.number in page
    assert other.number not in page
    dashboard = client.get(reverse("jobs:dashboard"))
    assert other.number not in html(dashboard)
    assert dict((s, n) for s, _, n in dashboard.context["counts"])[JobStatus.NEW] == 1


def test_technician_status_control_offers_only_field_states(client_as, tech_a):
    job = JobFactory(status=JobStatus.SCHEDULED, technicians=[tech_a])
    response = client_as(tech_a.user).get(reverse("jobs:detail", args=[job.pk]))
    assert [value for value, _ in response.context["targets"]] == [JobStatus.IN_PROGRESS, JobStatus.ON_HOLD]
    assert "Edit job" not in html(response)


# ---- query counts -----------------------------------------------------------------------------------------


def test_list_query_count_is_fixed(client_as, dispatcher, django_assert_num_queries):
    client = client_as(dispatcher)
    make_jobs(5)
    with django_assert_num_queries(LIST_QUERIES):
        assert len(client.get(reverse("jobs:list")).context["page"].rows) == 5
    make_jobs(40)
    with django_assert_num_queries(LIST_QUERIES):
        assert len(client.get(reverse("jobs:list")).context["page"].rows) == 25


def test_list_query_count_with_search_and_filters_is_fixed(client_as, dispatcher, django_assert_num_queries):
    client = client_as(dispatcher)
    tech = TechnicianFactory()
    url = reverse("jobs:list") + f"?q=furnace&status=new&status=scheduled&priority=1&priority=2&tag=vip&technician={tech.pk}&sort=priority"
    make_jobs(5, tech=tech)
    with django_assert_num_queries(LIST_SEARCH_QUERIES):
        rows = client.get(url).context["page"].rows
    assert {j.status for j in rows} <= {JobStatus.NEW, JobStatus.SCHEDULED}
    assert rows
    make_jobs(40, tech=tech)
    with django_assert_num_queries(LIST_SEARCH_QUERIES):
        rows = client.get(url).context["page"].rows
    assert len(rows) == 10  # of the 45 jobs, 2 + 8 are new or scheduled with priority 1 or 2


def test_board_query_count_is_fixed(client_as, dispatcher, django_assert_num_queries):
    client = client_as(dispatcher)
    make_jobs(5)
    with django_assert_num_queries(BOARD_QUERIES):
        columns = client.get(reverse("jobs:board")).context["columns"]
    assert sum(len(c.jobs) for c in columns) == 5
    make_jobs(40)
    with django_assert_num_queries(BOARD_SEARCH_QUERIES):
        columns = client.get(reverse("jobs:board") + "?q=furnace&tag=vip").context["columns"]
    assert sum(len(c.jobs) for c in columns) == 45


def test_workspace_query_count_is_fixed(client_as, dispatcher, django_assert_num_queries):
    client = client_as(dispatcher)
    small, large = make_jobs(2)
    techs = TechnicianFactory.create_batch(3)
    for tech in techs:
        large.technicians.add(tech)
    for job, n in ((small, 5), (large, 40)):
        LineItemFactory.create_batch(n, job=job)
        for i in range(n):
            actions.note_add(actor=dispatcher, job_id=job.pk, body=f"Note {i}")  # a note and an event each
        assets = AssetFactory.create_batch(n // 5, location=job.location)
        job.assets.set(assets)
        with django_assert_num_queries(WORKSPACE_QUERIES):
            assert client.get(reverse("jobs:detail", args=[job.pk])).status_code == 200
        for tab in ("line-items", "notes", "timeline"):
            with django_assert_num_queries(WORKSPACE_TAB_QUERIES):
                response = client.get(reverse("jobs:tab", args=[job.pk, tab]))
            assert response.status_code == 200
        assert len(response.context["events"]) == n


# ---- the list ---------------------------------------------------------------------------------------------


def test_list_filters_live_in_the_url_and_are_shown(client_as, dispatcher):
    jobs = make_jobs(10)
    response = client_as(dispatcher).get(reverse("jobs:list") + "?status=on_hold&priority=4&sort=oldest")
    rows = response.context["page"].rows
    assert rows
    assert all(j.status == JobStatus.ON_HOLD and j.priority == 4 for j in rows)
    page = html(response)
    assert 'name="status" value="on_hold" checked' in page
    assert '<option value="oldest" selected>' in page
    assert {j.pk for j in rows} == {j.pk for j in jobs if j.status == JobStatus.ON_HOLD and j.priority == 4}


def test_list_searches_by_number_customer_and_scope(client_as, dispatcher):
    loc = LocationFactory(customer=CustomerFactory(name="Harriet Okonkwo"), street="742 Evergreen Terrace")
    target = JobFactory(location=loc, customer=loc.customer, scope="Water heater leaking")
    JobFactory(scope="Panel upgrade")
    client = client_as(dispatcher)
    for q in ("okonkwo", "evergreen", "heater leak", target.number):
        rows = client.get(reverse("jobs:list"), {"q": q}).context["page"].rows
        assert [j.pk for j in rows] == [target.pk], q


def test_list_pages_forward_and_back_without_a_total_count(client_as, dispatcher):
    make_jobs(30)
    client = client_as(dispatcher)
    first = client.get(reverse("jobs:list"))
    assert len(first.context["page"].rows) == 25
    assert first.context["page"].prev_cursor is None
    assert "Showing 25 jobs" in html(first)
    assert "30 match" in html(first)
    second = client.get(reverse("jobs:list"), {"cursor": first.context["page"].next_cursor})
    assert len(second.context["page"].rows) == 5
    back = client.get(reverse("jobs:list"), {"cursor": second.context["page"].prev_cursor})
    assert [j.pk for j in back.context["page"].rows] == [j.pk for j in first.context["page"].rows]


def test_list_serves_the_results_fragment_to_htmx(client_as, dispatcher):
    make_jobs(3)
    response = client_as(dispatcher).get(reverse("jobs:list"), HTTP_HX_TARGET="job-results", **HTMX)
    page = html(response)
    assert page.lstrip().startswith('<section id="job-results"')
    assert "<html" not in page
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("cursor", ["garbage", "!!!", encode_cursor(["x"], "next"), encode_cursor([1, 2], "sideways")])
def test_a_mangled_cursor_gives_a_clear_message(client_as, dispatcher, cursor):
    make_jobs(3)
    response = client_as(dispatcher).get(reverse("jobs:list"), {"cursor": cursor})
    assert response.status_code == 400
    assert "This page link is no longer valid" in html(response)
    assert len(response.context["page"].rows) == 3  # the first page of the same view


def test_bad_filter_values_are_reported_and_ignored(client_as, dispatcher):
    make_jobs(3)
    response = client_as(dispatcher).get(
        reverse("jobs:list"), {"status": "bogus", "priority": "x", "job_type": "abc", "date_from": "yesterday", "q": "a\x00b", "tag": "t\x00"}
    )
    assert response.status_code == 200
    assert "Ignored:" in html(response)
    assert response.context["filters"].statuses == []


def test_empty_states(client_as, dispatcher):
    client = client_as(dispatcher)
    assert "No jobs yet" in html(client.get(reverse("jobs:list")))
    make_jobs(2)
    assert "No job matches this view" in html(client.get(reverse("jobs:list"), {"q": "zzzzqqq"}))


def test_bulk_transition_reports_moved_and_refused(client_as, dispatcher):
    movable = [JobFactory(status=JobStatus.NEW, next_visit_at=timezone.now()) for _ in range(2)]
    closed = JobFactory(status=JobStatus.CLOSED)
    response = client_as(dispatcher).post(
        reverse("jobs:bulk_transition"),
        {"job": [j.pk for j in [*movable, closed]], "to": "scheduled", "next": "/jobs/?status=new"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/jobs/?status=new"
    texts = [str(m) for m in response.context["messages"]]
    assert "Moved 2 jobs to Scheduled." in texts
    assert f"1 job not moved: {closed.number} — A job that is Closed cannot become Scheduled." in texts
    assert {j.status for j in Job.objects.filter(pk__in=[j.pk for j in movable])} == {JobStatus.SCHEDULED}
    closed.refresh_from_db()
    assert closed.status == JobStatus.CLOSED


def test_bulk_hold_needs_a_reason_and_nothing_moves_without_one(client_as, dispatcher):
    jobs = make_jobs(2)
    client = client_as(dispatcher)
    response = client.post(reverse("jobs:bulk_transition"), {"job": [j.pk for j in jobs], "to": "on_hold"}, follow=True)
    assert any("Say why" in str(m) for m in response.context["messages"])
    assert [Job.objects.get(pk=j.pk).status for j in jobs] == [j.status for j in jobs]
    client.post(reverse("jobs:bulk_transition"), {"job": [jobs[0].pk], "to": "on_hold", "hold_reason": "permit"})
    assert Job.objects.get(pk=jobs[0].pk).hold_reason == "permit"


def test_bulk_transition_ignores_an_unsafe_next_url(client_as, dispatcher):
    job = JobFactory()
    response = client_as(dispatcher).post(reverse("jobs:bulk_transition"), {"job": [job.pk], "to": "cancelled", "next": "https://evil.example/"})
    assert response["Location"] == reverse("jobs:list")


# ---- the board and status changes ----------------------------------------------------------------------


def test_board_shows_columns_with_counts_and_cards(client_as, dispatcher):
    jobs = make_jobs(7)
    response = client_as(dispatcher).get(reverse("jobs:board"))
    columns = {c.status: c for c in response.context["columns"]}
    assert list(columns) == [s for s in JobStatus.values if s in columns]
    assert columns[JobStatus.NEW].count == 2
    assert columns[JobStatus.NEW].count_label == "2"
    page = html(response)
    for job in jobs:
        assert f'id="card-{job.pk}"' in page
    assert 'data-column="on_hold"' in page
    assert "Waiting for parts" in page
    assert 'id="hold-dialog"' in page


def test_board_applies_the_list_filters(client_as, dispatcher):
    make_jobs(10)
    response = client_as(dispatcher).get(reverse("jobs:board"), {"status": ["new", "on_hold"], "priority": "1"})
    columns = response.context["columns"]
    assert [c.status for c in columns] == ["new", "on_hold"]
    assert all(j.priority == 1 for c in columns for j in c.jobs)


def test_board_move_returns_the_updated_card(client_as, dispatcher):
    job = JobFactory(status=JobStatus.NEW, next_visit_at=timezone.now())
    response = client_as(dispatcher).post(reverse("jobs:transition", args=[job.pk]), {"to": "scheduled", "expected": "new", "response": "card"})
    assert response.status_code == 200
    assert f'id="card-{job.pk}"' in html(response)
    assert 'data-status="scheduled"' in html(response)
    job.refresh_from_db()
    assert job.status == JobStatus.SCHEDULED
    assert JobEvent.objects.get(job=job, kind="status").new_value == "scheduled"


def test_refused_board_move_returns_409_and_changes_nothing(client_as, dispatcher):
    job = JobFactory(status=JobStatus.NEW)
    before = Job.objects.values().get(pk=job.pk)
    response = client_as(dispatcher).post(reverse("jobs:transition", args=[job.pk]), {"to": "closed", "expected": "new", "response": "card"})
    assert response.status_code == 409
    assert "A job that is New cannot become Closed." in html(response)
    assert 'data-status="new"' in html(response)
    assert Job.objects.values().get(pk=job.pk) == before
    assert not JobEvent.objects.filter(job=job).exists()


def test_board_move_from_a_stale_board_is_refused(client_as, dispatcher):
    job = JobFactory(status=JobStatus.SCHEDULED)
    response = client_as(dispatcher).post(reverse("jobs:transition", args=[job.pk]), {"to": "in_progress", "expected": "new", "response": "card"})
    assert response.status_code == 409
    assert "Someone moved this job to Scheduled" in html(response)
    job.refresh_from_db()
    assert job.status == JobStatus.SCHEDULED


def test_board_move_to_on_hold_needs_a_reason(client_as, dispatcher):
    job = JobFactory(status=JobStatus.NEW)
    client = client_as(dispatcher)
    url = reverse("jobs:transition", args=[job.pk])
    response = client.post(url, {"to": "on_hold", "response": "card"})
    assert response.status_code == 422
    assert "Say why" in html(response)
    assert Job.objects.get(pk=job.pk).status == JobStatus.NEW
    response = client.post(url, {"to": "on_hold:customer", "note": "Away until Monday", "response": "card"})
    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.status, job.hold_reason, job.hold_note) == ("on_hold", "customer", "Away until Monday")


def test_workspace_status_control_reports_refusals_as_a_message(client_as, dispatcher):
    job = JobFactory(status=JobStatus.NEW)  # no visit time and nobody assigned: cannot be scheduled
    response = client_as(dispatcher).post(reverse("jobs:transition", args=[job.pk]), {"to": "scheduled", "next": f"/jobs/{job.pk}/"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/jobs/{job.pk}/"
    assert any("Set a visit time or assign a technician" in str(m) for m in response.context["messages"])
    assert Job.objects.get(pk=job.pk).status == JobStatus.NEW


def test_technician_moves_own_job_through_field_states(client_as, tech_a):
    job = JobFactory(status=JobStatus.SCHEDULED, technicians=[tech_a])
    client = client_as(tech_a.user)
    client.post(reverse("jobs:transition", args=[job.pk]), {"to": "in_progress"})
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    response = client.post(reverse("jobs:transition", args=[job.pk]), {"to": "scheduled"}, follow=True)
    assert any("Technicians cannot move a job to Scheduled" in str(m) for m in response.context["messages"])
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS


def test_quick_info_popover(client_as, dispatcher, job):
    response = client_as(dispatcher).get(reverse("jobs:quick", args=[job.pk]))
    page = html(response)
    assert job.number in page
    assert job.customer.name in page
    assert "Furnace rattles" in page
    assert "<html" not in page


# ---- the dashboard ------------------------------------------------------------------------------------------


def test_dashboard_shows_counts_today_on_hold_and_a_chart(client_as, dispatcher):
    jobs = make_jobs(5)
    today = JobFactory(status=JobStatus.SCHEDULED, next_visit_at=timezone.localtime().replace(hour=12, minute=0))
    JobFactory(status=JobStatus.WORK_COMPLETE, completed_at=timezone.now())
    response = client_as(dispatcher).get(reverse("jobs:dashboard"))
    counts = {s: n for s, _, n in response.context["counts"]}
    assert counts[JobStatus.NEW] == 1
    assert counts[JobStatus.WORK_COMPLETE] == 2
    page = html(response)
    assert "<svg" in page
    assert page.count('class="bar"') == 30
    assert response.context["chart"].created_total == 7
    assert response.context["chart"].completed_total == 1
    assert today.number in page
    held = next(j for j in jobs if j.status == JobStatus.ON_HOLD)
    assert held.number in page
    assert "Waiting for parts" in page
