"""Alerts: raised one per person, read one at a time or all at once (only one's own), the alert centre
(newest first, unread marked, each opening its job), and the header's bell, whose count costs the page
nothing and its own fragment one query."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from serviceopus.accounts.roles import Role
from serviceopus.automation import task_queries as queries
from serviceopus.automation.models import Alert, AlertLevel
from serviceopus.automation.tasks import alert_mark_read, alert_raise, alerts_mark_all_read
from serviceopus.core.errors import DomainError, InvalidInput
from tests.factories import JobFactory, UserFactory

from .task_support import make_alert, rows

pytestmark = pytest.mark.django_db

# Session and user, then: the count of the user's alerts, the page (with jobs and customers), the unread count.
LIST_QUERIES = 5
# Session and user, then the unread count.
COUNT_QUERIES = 3


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


# ---- actions ----------------------------------------------------------------------------------------


def test_an_alert_to_a_role_is_one_row_per_active_office_member(manager, office, tech_a):
    second = UserFactory(role=Role.MANAGER)
    UserFactory(role=Role.MANAGER, is_active=False)
    job = JobFactory()
    made = alert_raise(job=job, title="Paused for an hour", level=AlertLevel.WARNING, to_role=Role.MANAGER)
    assert sorted(a.user_id for a in made) == sorted([manager.pk, second.pk])
    assert {(a.job_id, a.title, a.level, a.read_at) for a in Alert.objects.all()} == {(job.pk, "Paused for an hour", "warning", None)}
    # Technicians get no alerts, not even when named.
    assert alert_raise(job=job, title="x", to_user_id=tech_a.user.pk) == []
    assert alert_raise(job=job, title="x", to_role=Role.TECHNICIAN) == []
    assert Alert.objects.count() == 2


def test_an_unknown_level_raises_nothing(manager):
    with pytest.raises(InvalidInput) as refused:
        alert_raise(job=None, title="x", level="loud", to_user_id=manager.pk)
    assert refused.value.fields == {"level": "Choose info, warning or urgent."}
    assert not Alert.objects.exists()


def test_mark_read_is_for_ones_own_alert_only(manager, office):
    mine, theirs = make_alert(manager), make_alert(office)
    read = alert_mark_read(user=manager, alert_id=mine.pk)
    assert read.read_at is not None
    first_read = Alert.objects.get(pk=mine.pk).read_at
    # Reading again keeps the first time.
    assert alert_mark_read(user=manager, alert_id=mine.pk).read_at == first_read
    before = rows(Alert)
    with pytest.raises(DomainError) as refused:
        alert_mark_read(user=manager, alert_id=theirs.pk)
    assert refused.value.code == "not_found"
    assert rows(Alert) == before


def test_mark_all_read_touches_only_mine(manager, office):
    for n in range(3):
        make_alert(manager, title=f"Mine {n}")
    theirs = make_alert(office)
    assert queries.unread_alert_count(manager) == 3
    assert alerts_mark_all_read(user=manager) == 3
    assert alerts_mark_all_read(user=manager) == 0
    assert queries.unread_alert_count(manager) == 0
    assert Alert.objects.get(pk=theirs.pk).read_at is None


# ---- the alert centre -------------------------------------------------------------------------------


def test_the_centre_lists_my_alerts_newest_first_unread_marked(client_as, manager, office):
    job = JobFactory(number="J-7001")
    old = make_alert(manager, job, "Old and read", level=AlertLevel.INFO)
    Alert.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=3), read_at=timezone.now())
    new = make_alert(manager, job, "Visit 2 running late", body="Crew still en route", level=AlertLevel.URGENT)
    make_alert(office, job, "Not for the manager")
    response = client_as(manager).get(reverse("automation:alerts"))
    assert response.status_code == 200
    assert [a.title for a in response.context["alerts"]] == ["Visit 2 running late", "Old and read"]
    page = html(response)
    assert "Not for the manager" not in page
    assert f'<li id="alert-{new.pk}" class="is-unread">' in page
    assert f'<li id="alert-{old.pk}" class="">' in page
    assert '<span class="alert-level l-urgent">Urgent</span>' in page
    assert reverse("automation:alert_open", args=[new.pk]) in page
    assert "J-7001" in page
    assert "1 unread." in page
    assert "Mark all read" in page


def test_the_centre_has_an_empty_state(client_as, office):
    page = html(client_as(office).get(reverse("automation:alerts")))
    assert "No alerts" in page
    assert "Mark all read" not in page


def test_the_centre_costs_the_same_queries_whatever_the_rows(client_as, manager, django_assert_num_queries):
    http = client_as(manager)
    make_alert(manager, JobFactory())
    with django_assert_num_queries(LIST_QUERIES):
        assert http.get(reverse("automation:alerts")).status_code == 200
    for n in range(30):
        make_alert(manager, JobFactory(), f"Alert {n}")
    with django_assert_num_queries(LIST_QUERIES):
        response = http.get(reverse("automation:alerts"))
    assert len(response.context["alerts"]) == queries.ALERT_PAGE_SIZE


def test_the_centre_pages(client_as, manager):
    for n in range(queries.ALERT_PAGE_SIZE + 3):
        make_alert(manager, title=f"Alert {n:02d}")
    second = client_as(manager).get(reverse("automation:alerts"), {"page": 2})
    assert [a.title for a in second.context["alerts"]] == ["Alert 02", "Alert 01", "Alert 00"]
    assert "Page 2 of 2 · 28 in all" in html(second)


def test_opening_an_alert_marks_it_read_and_goes_to_its_job(client_as, manager):
    job = JobFactory()
    alert = make_alert(manager, job)
    response = client_as(manager).get(reverse("automation:alert_open", args=[alert.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert Alert.objects.get(pk=alert.pk).read_at is not None


def test_opening_an_alert_about_no_job_goes_back_to_the_centre(client_as, manager):
    alert = make_alert(manager)
    response = client_as(manager).get(reverse("automation:alert_open", args=[alert.pk]))
    assert response["Location"] == reverse("automation:alerts")


def test_someone_elses_alert_is_not_found_and_stays_unread(client_as, manager, office):
    theirs = make_alert(office, JobFactory())
    http = client_as(manager)
    before = rows(Alert)
    assert http.get(reverse("automation:alert_open", args=[theirs.pk])).status_code == 404
    assert http.post(reverse("automation:alert_read", args=[theirs.pk])).status_code == 404
    assert rows(Alert) == before


def test_mark_one_read_swaps_the_row_and_the_counts(client_as, manager):
    alert = make_alert(manager, JobFactory(number="J-7002"))
    make_alert(manager, title="Another")
    response = client_as(manager).post(reverse("automation:alert_read", args=[alert.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"alert-{alert.pk}")
    assert response.status_code == 200
    fragment = html(response)
    assert fragment.lstrip().startswith(f'<li id="alert-{alert.pk}" class="">')
    assert "Mark read" not in fragment
    assert '<span id="alerts-unread" hx-swap-oob="true">1 unread.</span>' in fragment
    assert '<span id="alert-bell-count" hx-swap-oob="innerHTML"><span class="bell-frag"><span class="bell-count">1</span>' in fragment
    assert Alert.objects.get(pk=alert.pk).read_at is not None


def test_mark_one_read_without_javascript_redirects_back(client_as, manager):
    alert = make_alert(manager)
    response = client_as(manager).post(reverse("automation:alert_read", args=[alert.pk]), {"next": "/alerts/?page=1"})
    assert (response.status_code, response["Location"]) == (302, "/alerts/?page=1")
    assert Alert.objects.get(pk=alert.pk).read_at is not None
    # A `next` off this site is not followed.
    response = client_as(manager).post(reverse("automation:alert_read", args=[alert.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("automation:alerts")


def test_mark_all_read_from_the_centre(client_as, manager, office):
    for n in range(2):
        make_alert(manager, title=f"Mine {n}")
    theirs = make_alert(office)
    http = client_as(manager)
    response = http.post(reverse("automation:alerts_read_all"), follow=True)
    assert response.redirect_chain == [(reverse("automation:alerts"), 302)]
    assert "Marked 2 alerts read." in html(response)
    assert not Alert.objects.filter(user=manager, read_at__isnull=True).exists()
    assert Alert.objects.get(pk=theirs.pk).read_at is None


def test_technicians_have_no_alert_centre(client_as, tech_a, manager):
    alert = make_alert(manager)
    http = client_as(tech_a.user)
    for url in (reverse("automation:alerts"), reverse("automation:alert_count"), reverse("automation:alert_open", args=[alert.pk])):
        assert http.get(url).status_code == 403, url
    assert http.post(reverse("automation:alerts_read_all")).status_code == 403


# ---- the bell ---------------------------------------------------------------------------------------


def test_the_bell_count_is_one_query_and_never_cached(client_as, manager, django_assert_num_queries):
    for n in range(4):
        make_alert(manager, title=f"A{n}")
    alert_mark_read(user=manager, alert_id=Alert.objects.first().pk)
    http = client_as(manager)
    with django_assert_num_queries(COUNT_QUERIES):
        response = http.get(reverse("automation:alert_count"), HTTP_HX_REQUEST="true")
    assert html(response).strip() == '<span class="bell-frag"><span class="bell-count">3</span><span class="bell-sr"> unread</span></span>'
    assert "no-store" in response["Cache-Control"]
    alerts_mark_all_read(user=manager)
    assert html(http.get(reverse("automation:alert_count"))).strip() == '<span class="bell-frag"></span>'


def test_the_header_bell_costs_the_page_no_query(client_as, manager, tech_a):
    make_alert(manager)
    with CaptureQueriesContext(connection) as seen:
        page = html(client_as(manager).get(reverse("jobs:list")))
    assert not [q["sql"] for q in seen.captured_queries if "automation_alert" in q["sql"]]
    assert f'hx-get="{reverse("automation:alert_count")}" hx-trigger="load, every 60s" hx-select=".bell-frag"' in page
    assert f'href="{reverse("automation:alerts")}"' in page
    # Technicians have no alert centre, so no bell.
    assert reverse("automation:alert_count") not in html(client_as(tech_a.user).get(reverse("jobs:list")))
