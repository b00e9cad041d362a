"""The job pages: who may open what, what each page shows, what each form changes (and that refused or
invalid input changes nothing), and a fixed number of queries per page whatever the row count."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.jobs import actions
from serviceopus.jobs.models import BillingType, Job, JobEvent, LineItem, Note, Source
from serviceopus.jobs.pagination import encode_cursor
from serviceopus.jobs.status import JobStatus
from tests.factories import AssetFactory, ContactFactory, CustomerFactory, JobFactory, JobTypeFactory, LineItemFactory, LocationFactory, TechnicianFactory

OFFICE_ROLES = ["owner", "manager", "dispatcher", "office"]
TABS = [
    "details",
    "line-items",
    "crew",
    "documents",
    "purchase-orders",
    "invoices",
    "payments",
    "incidents",
    "time",
    "notes",
    "messages",
    "dependencies",
    "signatures",
    "quality",
    "financials",
    "timeline",
]
STATUSES = [JobStatus.NEW, JobStatus.SCHEDULED, JobStatus.IN_PROGRESS, JobStatus.ON_HOLD, JobStatus.WORK_COMPLETE]
HTMX = {"HTTP_HX_REQUEST": "true"}

# Queries per request (session, user and the role's permissions included). They must not change with
# the number of rows; the tests below load each page with few and with many rows.
LIST_QUERIES = 11  # session, user, 2 × permissions, 3 filter choices, page, technicians, tags, capped count
LIST_SEARCH_QUERIES = 13  # the same, plus the text search run once for the page and once for the count
BOARD_QUERIES = 26  # as the list, plus 8 column pages, the cards, and 8 capped counts
BOARD_SEARCH_QUERIES = 27  # … plus the text search, run once for all columns
WORKSPACE_QUERIES = 9  # session, user, 2 × permissions, job (+ customer, location, contact, type), 4 related lists
WORKSPACE_TAB_QUERIES = 10  # … plus the tab's own list (line items, notes or timeline)


def html(response) -> str:
    return response.content.decode()


def make_jobs(n: int, *, tech=None) -> list[Job]:
    """n jobs across the open statuses, each with a technician and two tags, so every prefetch works."""
    tech = tech or TechnicianFactory()
    jobs = []
    for i in range(n):
        status = STATUSES[i % len(STATUSES)]
        job = JobFactory(
            status=status,
            priority=1 + i % 4,
            technicians=[tech],
            next_visit_at=timezone.now() + timedelta(hours=i + 1),
            hold_reason="parts" if status == JobStatus.ON_HOLD else "",
            scope=f"Furnace job {i}",
        )
        actions._set_tags(job, ["vip", f"zone-{i % 3}"])
        jobs.append(job)
    return jobs


@pytest.fixture
def job(tech_a):
    job = JobFactory(status=JobStatus.NEW, technicians=[tech_a], scope="Furnace rattles on start-up")
    ContactFactory(customer=job.customer, name="Pat Contact")
    return job


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
    today = JobFactory(status=JobStatus.SCHEDULED, next_visit_at=timezone.now().replace(hour=12, minute=0))
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


# ---- create and edit ----------------------------------------------------------------------------------------


@pytest.fixture
def site():
    customer = CustomerFactory(name="Mara Lindqvist")
    location = LocationFactory(customer=customer)
    return {
        "customer": customer,
        "location": location,
        "contact": ContactFactory(customer=customer),
        "asset": AssetFactory(location=location),
        "job_type": JobTypeFactory(name="Furnace repair", default_duration_minutes=120, default_priority=3),
    }


def job_post(site, **overrides):
    data = {
        "source": "direct",
        "source_reference": "",
        "customer": site["customer"].pk,
        "location": site["location"].pk,
        "contact": site["contact"].pk,
        "assets": [site["asset"].pk],
        "job_type": site["job_type"].pk,
        "scope": "No heat upstairs",
        "priority": "",
        "estimated_duration_minutes": "",
        "billing_type": "",
        "not_to_exceed": "",
        "tags": "vip, Warranty",
        "next_visit_at": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_create_job_from_a_booking_request(client_as, dispatcher, site, tech_a):
    client = client_as(dispatcher)
    form_page = client.get(reverse("jobs:create") + "?source=booking")
    assert '<option value="booking" selected>' in html(form_page)
    response = client.post(
        reverse("jobs:create"),
        job_post(site, source="booking", source_reference="BR-1042", technicians=[tech_a.pk], next_visit_at="2026-12-02T09:30"),
    )
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert (job.source, job.source_reference) == (Source.BOOKING, "BR-1042")
    # Left blank: the job type's defaults.
    assert (job.priority, job.estimated_duration_minutes, job.billing_type) == (3, 120, BillingType.TIME_AND_MATERIALS)
    assert sorted(t.name for t in job.tags.all()) == ["vip", "warranty"]
    assert list(job.assets.all()) == [site["asset"]]
    assert list(job.technicians.all()) == [tech_a]
    assert timezone.localtime(job.next_visit_at).strftime("%Y-%m-%d %H:%M") == "2026-12-02 09:30"
    event = JobEvent.objects.get(job=job)
    assert event.kind == "created"
    assert event.message == "Created from Booking request BR-1042"
    assert event.data == {"source": "booking", "source_reference": "BR-1042"}
    timeline = client.get(reverse("jobs:tab", args=[job.pk, "timeline"]))
    assert "Created from Booking request BR-1042" in html(timeline)


@pytest.mark.parametrize("source", Source.values)
def test_create_job_from_each_source(client_as, dispatcher, site, source):
    client_as(dispatcher).post(reverse("jobs:create"), job_post(site, source=source, source_reference="REF-7"))
    assert Job.objects.get().source == source


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"scope": ""}, "scope", "This field is required."),
        ({"scope": "Leak\x00"}, "scope", "Null characters are not allowed."),
        ({"source_reference": "R\x00"}, "source_reference", "Null characters are not allowed."),
        ({"scope": "x" * 10001}, "scope", "at most 10000 characters"),
        ({"source_reference": "x" * 101}, "source_reference", "at most 100 characters"),
        ({"tags": "x" * 51}, "tags", "Each tag is at most 50 characters."),
        ({"customer": ""}, "customer", "Choose a customer."),
        ({"billing_type": "not_to_exceed"}, "not_to_exceed", "A not-to-exceed job needs its limit."),
        ({"billing_type": "not_to_exceed", "not_to_exceed": "12.345"}, "not_to_exceed", "At most two decimal places"),
        ({"not_to_exceed": "lots"}, "not_to_exceed", "Enter an amount in dollars"),
        ({"estimated_duration_minutes": "2"}, "estimated_duration_minutes", "greater than or equal to 5"),
        ({"priority": "9"}, "priority", "Select a valid choice"),
        ({"next_visit_at": "tomorrow-ish"}, "next_visit_at", "Enter a valid date/time."),
    ],
)
def test_create_job_field_errors_save_nothing(client_as, dispatcher, site, overrides, field, message):
    response = client_as(dispatcher).post(reverse("jobs:create"), job_post(site, **overrides))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert 'class="field-error"' in html(response)
    assert not Job.objects.exists()
    assert not JobEvent.objects.exists()


def test_create_job_address_of_another_customer_is_refused(client_as, dispatcher, site):
    foreign = LocationFactory()
    response = client_as(dispatcher).post(reverse("jobs:create"), job_post(site, location=foreign.pk, assets=[], contact=""))
    assert response.status_code == 422
    assert "location" in response.context["form"].errors
    assert not Job.objects.exists()


def test_create_job_required_fields_of_the_type_become_field_errors(client_as, dispatcher, site):
    site["job_type"].required_fields = ["source_reference", "next_visit_at"]
    site["job_type"].save()
    response = client_as(dispatcher).post(reverse("jobs:create"), job_post(site))
    errors = response.context["form"].errors
    assert response.status_code == 422
    assert errors["source_reference"] == ["Source reference is required for Furnace repair jobs."]
    assert errors["next_visit_at"] == ["Preferred visit time is required for Furnace repair jobs."]
    assert not Job.objects.exists()


def test_create_form_keeps_the_users_input_and_narrowed_choices(client_as, dispatcher, site):
    LocationFactory()  # another customer's address must not be offered
    response = client_as(dispatcher).post(reverse("jobs:create"), job_post(site, scope=""))
    form = response.context["form"]
    assert list(form.fields["location"].queryset) == [site["location"]]
    assert list(form.fields["contact"].queryset) == [site["contact"]]
    assert "vip, Warranty" in html(response)
    assert "Mara Lindqvist" in html(response)


def test_customer_fields_narrow_to_the_chosen_customer(client_as, dispatcher, site):
    other = LocationFactory()
    client = client_as(dispatcher)
    response = client.get(reverse("jobs:customer_fields"), {"customer": site["customer"].pk}, HTTP_HX_TARGET="customer-fields", **HTMX)
    page = html(response)
    assert page.lstrip().startswith('<div id="customer-fields"')
    assert site["location"].street in page
    assert other.street not in page
    assert site["asset"].serial not in page  # equipment shows once an address is chosen
    response = client.get(reverse("jobs:customer_fields"), {"customer": site["customer"].pk, "location": site["location"].pk})
    assert site["asset"].serial in html(response)
    # A search with one match chooses that customer.
    response = client.get(reverse("jobs:customer_fields"), {"customer_q": "lindqv"})
    assert response.context["selected_customer"] == site["customer"]


def test_edit_job_carries_the_version(client_as, dispatcher, site):
    job = actions.job_create(actor=dispatcher, customer_id=site["customer"].pk, location_id=site["location"].pk, job_type_id=site["job_type"].pk, scope="Old")
    client = client_as(dispatcher)
    page = client.get(reverse("jobs:edit", args=[job.pk]))
    assert f'name="version" value="{job.version}"' in html(page)
    data = job_post(site, scope="New scope", priority="4", estimated_duration_minutes="90", billing_type="fixed_price", version=job.version, tags="")
    response = client.post(reverse("jobs:edit", args=[job.pk]), data)
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.scope, job.priority, job.estimated_duration_minutes, job.billing_type, job.version) == ("New scope", 4, 90, "fixed_price", 2)
    assert JobEvent.objects.filter(job=job, kind="edited").count() == 1


def test_stale_edit_is_refused_and_keeps_the_input(client_as, dispatcher, site):
    job = actions.job_create(actor=dispatcher, customer_id=site["customer"].pk, location_id=site["location"].pk, job_type_id=site["job_type"].pk, scope="Old")
    seen = job.version
    actions.job_update(actor=dispatcher, job_id=job.pk, version=seen, changes={"scope": "Changed by someone else"})
    data = job_post(site, scope="My scope", priority="2", estimated_duration_minutes="60", billing_type="fixed_price", version=seen)
    response = client_as(dispatcher).post(reverse("jobs:edit", args=[job.pk]), data)
    assert response.status_code == 409
    page = html(response)
    assert "Someone else changed this job" in page
    assert "My scope" in page
    assert f'name="version" value="{seen + 1}"' in page  # saving again applies the user's version knowingly
    job.refresh_from_db()
    assert job.scope == "Changed by someone else"


def test_edit_field_errors_change_nothing(client_as, dispatcher, site):
    job = actions.job_create(actor=dispatcher, customer_id=site["customer"].pk, location_id=site["location"].pk, job_type_id=site["job_type"].pk, scope="Old")
    before = Job.objects.values().get(pk=job.pk)
    data = job_post(site, scope="x\x00", priority="2", estimated_duration_minutes="60", billing_type="fixed_price", version=job.version)
    response = client_as(dispatcher).post(reverse("jobs:edit", args=[job.pk]), data)
    assert response.status_code == 422
    assert "scope" in response.context["form"].errors
    assert Job.objects.values().get(pk=job.pk) == before


# ---- line items and notes ----------------------------------------------------------------------------------


def line(**overrides):
    data = {"kind": "material", "description": "Igniter", "quantity": "2.5", "unit_price": "1,250.50", "unit_cost": "40", "taxable": "on"}
    data.update(overrides)
    return data


def test_add_edit_and_remove_a_line_item_with_totals(client_as, dispatcher, job):
    client = client_as(dispatcher)
    LineItemFactory(job=job, kind="labour", description="Diagnosis", quantity=1, unit_price_cents=8900, unit_cost_cents=3000)
    response = client.post(reverse("jobs:line_item_add", args=[job.pk]), line())
    assert response.status_code == 302
    item = LineItem.objects.get(description="Igniter")
    assert (item.quantity, item.unit_price_cents, item.unit_cost_cents, item.taxable) == (2.5, 125050, 4000, True)
    totals = client.get(reverse("jobs:tab", args=[job.pk, "line-items"])).context["totals"]
    assert (totals.subtotal_cents, totals.cost_cents, totals.margin_cents) == (8900 + 312625, 3000 + 10000, 8900 + 312625 - 13000)
    assert totals.by_kind == {"labour": 8900, "material": 312625}
    page = html(client.get(reverse("jobs:tab", args=[job.pk, "line-items"])))
    assert "$3,126.25" in page
    assert "$3,215.25" in page

    edit_url = reverse("jobs:line_item_edit", args=[job.pk, item.pk])
    form_page = client.get(edit_url)
    assert form_page.context["editing_id"] == item.pk
    assert 'value="1250.50"' in html(form_page)
    response = client.post(edit_url, line(quantity="3", unit_price="10", taxable="", version=item.version))
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.quantity, item.unit_price_cents, item.taxable, item.version) == (3, 1000, False, 2)

    # A stale edit (the version moved on) is refused and changes nothing.
    response = client.post(edit_url, line(quantity="9", version=1))
    assert response.status_code == 409
    assert "changed by someone else" in html(response)
    item.refresh_from_db()
    assert item.quantity == 3

    response = client.post(reverse("jobs:line_item_remove", args=[job.pk, item.pk]))
    assert response.status_code == 302
    assert not LineItem.objects.filter(pk=item.pk).exists()
    kinds = list(JobEvent.objects.filter(job=job, kind="line_item").values_list("data__op", flat=True))
    assert sorted(kinds) == ["add", "remove", "update"]


def test_line_item_htmx_requests_get_the_panel(client_as, dispatcher, job):
    client = client_as(dispatcher)
    response = client.post(reverse("jobs:line_item_add", args=[job.pk]), line(), HTTP_HX_TARGET="line-items-panel", **HTMX)
    page = html(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="line-items-panel"')
    assert "Added “Igniter”." in page
    assert "Igniter" in page
    response = client.post(reverse("jobs:line_item_add", args=[job.pk]), line(unit_price="abc"), HTTP_HX_TARGET="line-items-panel", **HTMX)
    assert response.status_code == 422
    assert "Enter an amount in dollars" in html(response)
    assert LineItem.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"description": ""}, "description"),
        ({"description": "Valve\x00"}, "description"),
        ({"description": "x" * 301}, "description"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "1.2345"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "1" * 13}, "quantity"),
        ({"unit_price": "12.345"}, "unit_price"),
        ({"unit_price": "1e400"}, "unit_price"),
        ({"unit_price": "9" * 16}, "unit_price"),
        ({"unit_cost": "-5"}, "unit_cost"),
        ({"kind": "gift"}, "kind"),
    ],
)
def test_invalid_line_items_save_nothing(client_as, dispatcher, job, overrides, field):
    response = client_as(dispatcher).post(reverse("jobs:line_item_add", args=[job.pk]), line(**overrides))
    assert response.status_code == 422
    assert field in response.context["add_form"].errors
    assert not LineItem.objects.exists()
    assert not JobEvent.objects.exists()


def test_line_items_are_locked_on_an_invoiced_job(client_as, dispatcher):
    job = JobFactory(status=JobStatus.INVOICED)
    response = client_as(dispatcher).post(reverse("jobs:line_item_add", args=[job.pk]), line())
    assert response.status_code == 409
    assert "Line items cannot change on a job that is invoiced." in html(response)
    assert not LineItem.objects.exists()


def test_line_item_of_another_job_is_not_found(client_as, dispatcher, job):
    other = LineItemFactory()
    client = client_as(dispatcher)
    assert client.get(reverse("jobs:line_item_edit", args=[job.pk, other.pk])).status_code == 404
    assert client.post(reverse("jobs:line_item_remove", args=[job.pk, other.pk])).status_code == 404
    assert LineItem.objects.filter(pk=other.pk).exists()


def test_add_and_list_notes(client_as, dispatcher, tech_a, job):
    client = client_as(tech_a.user)
    response = client.post(reverse("jobs:note_add", args=[job.pk]), {"body": "Dog in the yard"})
    assert response.status_code == 302
    response = client.post(reverse("jobs:note_add", args=[job.pk]), {"body": "Gate \x00 code"})
    assert response.status_code == 422
    assert "body" in response.context["note_form"].errors
    response = client.post(reverse("jobs:note_add", args=[job.pk]), {"body": "x" * 10001})
    assert response.status_code == 422
    assert list(Note.objects.values_list("body", flat=True)) == ["Dog in the yard"]
    page = html(client_as(dispatcher).get(reverse("jobs:tab", args=[job.pk, "notes"])))
    assert "Dog in the yard" in page
    assert "Alex Tech" in page


def test_tabs_switch_with_htmx_and_unknown_tabs_are_404(client_as, dispatcher, job):
    client = client_as(dispatcher)
    response = client.get(reverse("jobs:tab", args=[job.pk, "documents"]), HTTP_HX_TARGET="tab-area", **HTMX)
    page = html(response)
    assert page.lstrip().startswith('<div id="tab-area"')
    assert "No documents or photos yet" in page
    # A history restore needs the whole page.
    response = client.get(reverse("jobs:tab", args=[job.pk, "documents"]), HTTP_HX_TARGET="tab-area", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in html(response)
    assert client.get(f"/jobs/{job.pk}/tab/nope/").status_code == 404


def test_every_placeholder_tab_says_what_will_appear(client_as, dispatcher, job):
    client = client_as(dispatcher)
    labels = []
    for tab in TABS:
        response = client.get(reverse("jobs:tab", args=[job.pk, tab]))
        labels = [label for _, label in response.context["tabs"]]
        if response.context["empty_tab"]:
            assert "will appear here" in html(response), tab
    assert labels == [
        "Details",
        "Line items",
        "Crew & schedule",
        "Documents",
        "Purchase orders",
        "Invoices",
        "Payments",
        "Incidents",
        "Time",
        "Notes",
        "Messages",
        "Dependencies",
        "Signatures",
        "Quality",
        "Financials",
        "Timeline",
    ]


def test_workspace_header_shows_the_key_facts(client_as, dispatcher, tech_a):
    location = LocationFactory(gate_code="4412#", access_notes="Side door")
    job = JobFactory(location=location, customer=location.customer, technicians=[tech_a], source=Source.QUOTE, source_reference="Q-77")
    actions._set_tags(job, ["vip"])
    page = html(client_as(dispatcher).get(reverse("jobs:detail", args=[job.pk])))
    for text in (job.number, location.customer.name, "Gate code 4412#", "Side door", "Alex Tech", "vip", "Accepted quote", "Q-77", "1 h"):
        assert text in page, text


def test_out_of_range_ids_and_numbers_are_field_errors_not_500s(client_as, dispatcher, site, job):
    huge = "9" * 25
    client = client_as(dispatcher)
    for field in ("customer", "location", "contact", "job_type", "assets", "technicians", "required_skills", "estimated_duration_minutes"):
        response = client.post(reverse("jobs:create"), job_post(site, **{field: huge}))
        assert response.status_code == 422, field
        assert field in response.context["form"].errors, field
    assert not Job.objects.exists() or list(Job.objects.all()) == [job]
    item = LineItemFactory(job=job)
    response = client.post(reverse("jobs:line_item_edit", args=[job.pk, item.pk]), line(version=huge))
    assert response.status_code == 422
    assert "version" in response.context["edit_form"].errors
    for params in ({"customer": huge, "location": huge}, {"customer_q": "\x00" * 3}):
        assert client.get(reverse("jobs:customer_fields"), params).status_code == 200
    assert client.get(reverse("jobs:list"), {"job_type": huge, "technician": huge}).status_code == 200
    assert client.post(reverse("jobs:bulk_transition"), {"job": [huge], "to": "closed"}).status_code == 302
