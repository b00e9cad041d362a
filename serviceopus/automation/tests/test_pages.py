"""The agreement pages: who may open them, the list's fixed query count, the forms' field errors, and
skip / move / "Create jobs now" from the detail page."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.automation.models import Occurrence, OccurrenceStatus, RecurringPlan
from serviceopus.jobs.models import Job
from tests import matrix_automation

from .support import make_plan

# Session and user, then: the plans (with customer and job type, and the job count), their addresses,
# their occurrences from today on.
LIST_QUERIES = 5


@pytest.fixture
def soon(manager, w):  # type: ignore[no-untyped-def]
    """An agreement running from today, monthly on today's day of the month."""
    today = timezone.localdate()
    return make_plan(manager, w, start_date=today, end_date=today + timedelta(days=365), rrule=f"FREQ=MONTHLY;BYMONTHDAY={min(today.day, 28)}")


@pytest.mark.parametrize("name", sorted(matrix_automation.MATRIX))
def test_matrix_rows(name, plan, owner, manager, dispatcher, office, tech_a, client_as, client):
    users = {"owner": owner, "manager": manager, "dispatcher": dispatcher, "office": office, "tech": tech_a.user, "tech_other": tech_a.user}
    kwargs = matrix_automation.kwargs(name, {"agreement": plan}, "owner")
    url = reverse(name, kwargs=kwargs)
    seen = {role: client_as(user).get(url).status_code for role, user in users.items()}
    assert seen == matrix_automation.MATRIX[name]
    assert client.get(url).status_code == 302  # anonymous: to sign-in


def test_list_shows_plans_with_next_visit_and_jobs(client_as, dispatcher, soon):
    from serviceopus.automation.recurrence import generate

    generate(plan_id=soon.pk)
    page = client_as(dispatcher).get(reverse("automation:plans"))
    html = page.content.decode()
    assert page.status_code == 200
    assert soon.reference in html
    assert "Harbor Dental" in html
    row = next(p for p in page.context["plans"] if p.pk == soon.pk)
    assert row.jobs_generated == Occurrence.objects.filter(plan=soon).count() >= 3
    assert row.next_visit >= timezone.localdate()
    assert "New agreement" not in html  # dispatchers look, managers set up


def test_list_query_count_does_not_grow(client_as, office, manager, w, django_assert_num_queries):
    make_plan(manager, w)
    http = client_as(office)
    with django_assert_num_queries(LIST_QUERIES):
        assert http.get(reverse("automation:plans")).status_code == 200
    for _ in range(8):
        make_plan(manager, w, locations=[w["home"], w["annex"]])
    with django_assert_num_queries(LIST_QUERIES):
        page = http.get(reverse("automation:plans"))
    assert len(page.context["plans"]) == 9


def test_list_filters(client_as, office, manager, w):
    agreement = make_plan(manager, w)
    recurring = make_plan(manager, w, kind="recurring", end_date=None)
    page = client_as(office).get(reverse("automation:plans"), {"kind": "recurring"})
    assert [p.pk for p in page.context["plans"]] == [recurring.pk]
    page = client_as(office).get(reverse("automation:plans"), {"q": agreement.reference})
    assert [p.pk for p in page.context["plans"]] == [agreement.pk]


def _post_data(w, **overrides):  # type: ignore[no-untyped-def]
    data = {
        "name": "Quarterly filter change",
        "status": "active",
        "locations": [w["home"].pk],
        "assets": [w["furnace"].pk],
        "job_type": w["job_type"].pk,
        "scope": "Replace filters",
        "duration_minutes": "45",
        "priority": "2",
        "visit_time": "10:30",
        "rrule": "FREQ=MONTHLY;INTERVAL=3",
        "start_date": "2030-01-01",
        "end_date": "2030-12-31",
        "horizon_days": "90",
        "covered_kinds": ["labour", "material"],
        "not_to_exceed": "250.00",
        "price": "89.50",
        "price_period": "per_visit",
    }
    data.update(overrides)
    return data


def test_create_flow_customer_then_form(client_as, manager, w):
    http = client_as(manager)
    search = http.get(reverse("automation:plan_create"), {"kind": "agreement", "customer_q": "harbor"})
    assert list(search.context["found"]) == [w["customer"]]
    url = reverse("automation:plan_create") + f"?kind=agreement&customer={w['customer'].pk}"
    assert http.get(url).status_code == 200
    response = http.post(url, _post_data(w))
    plan = RecurringPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("automation:plan", args=[plan.pk])
    assert (plan.kind, plan.price_cents, plan.not_to_exceed_cents, plan.covered_kinds, plan.visit_time.hour) == (
        "agreement",
        8950,
        25000,
        ["labour", "material"],
        10,
    )
    assert list(plan.locations.all()) == [w["home"]]


def test_create_with_errors_shows_them_on_the_fields_and_saves_nothing(client_as, manager, w):
    url = reverse("automation:plan_create") + f"?kind=agreement&customer={w['customer'].pk}"
    response = client_as(manager).post(url, _post_data(w, rrule="FREQ=MONTHLY;BYMONTHDAY=45", end_date="2029-01-01"))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert errors["rrule"] == ["BYMONTHDAY must be ±1 to 31."]
    assert errors["end_date"] == ["The term cannot end before it starts."]
    assert 'id="id_rrule_error"' in response.content.decode()
    assert not RecurringPlan.objects.exists()


def test_edit_saves_and_stale_edit_is_refused(client_as, manager, plan, w):
    http = client_as(manager)
    url = reverse("automation:plan_edit", args=[plan.pk])
    assert http.get(url).context["form"].initial["version"] == 1
    assert http.post(url, _post_data(w, name="Renamed", version=1)).status_code == 302
    stale = http.post(url, _post_data(w, name="Stale", version=1))
    assert stale.status_code == 409
    plan.refresh_from_db()
    assert (plan.name, plan.version) == ("Renamed", 2)


def test_detail_generate_skip_and_move(client_as, manager, soon):
    http = client_as(manager)
    today = timezone.localdate()
    assert http.post(reverse("automation:plan_generate", args=[soon.pk])).status_code == 302
    count = Job.objects.count()
    assert count >= 3
    page = http.get(reverse("automation:plan", args=[soon.pk]))
    assert page.status_code == 200
    first = next(row for row in page.context["ahead"] if row.occurrence)
    loc = first.location.pk
    moved = http.post(
        reverse("automation:occurrence_move", args=[soon.pk]),
        {"location": loc, "occurrence_date": first.occurrence_date.isoformat(), "new_date": (today + timedelta(days=2)).isoformat()},
    )
    assert moved.status_code == 302
    occ = Occurrence.objects.get(pk=first.occurrence.pk)
    assert (occ.status, occ.moved_to) == (OccurrenceStatus.MOVED, today + timedelta(days=2))
    http.post(reverse("automation:occurrence_skip", args=[soon.pk]), {"location": loc, "occurrence_date": first.occurrence_date.isoformat()})
    occ.refresh_from_db()
    assert occ.status == OccurrenceStatus.SKIPPED
    assert occ.job.status == "cancelled"
    http.post(reverse("automation:plan_generate", args=[soon.pk]))
    assert Job.objects.count() == count
    html = http.get(reverse("automation:plan", args=[soon.pk])).content.decode()
    assert "Skipped" in html
    assert occ.job.number in html


def test_refused_move_is_shown_and_changes_nothing(client_as, manager, soon):
    http = client_as(manager)
    response = http.post(
        reverse("automation:occurrence_move", args=[soon.pk]),
        {"location": soon.locations.get().pk, "occurrence_date": soon.start_date.isoformat(), "new_date": (date.today() - timedelta(days=3)).isoformat()},
        follow=True,
    )
    assert "Choose a day from today on." in response.content.decode()
    assert not Occurrence.objects.exists()
