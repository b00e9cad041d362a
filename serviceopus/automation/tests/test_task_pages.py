"""The follow-up task pages: "My tasks" (overdue first and counted, filters, pages, a fixed query count,
Done and Reopen by HTMX row swap or plain POST), the job's Tasks tab (the list, adding with field
errors, read-only for technicians), and the edit page (at the version read)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from serviceopus.accounts.roles import Role
from serviceopus.automation import task_queries as queries
from serviceopus.automation.models import FollowUpTask
from serviceopus.automation.tasks import task_complete
from serviceopus.jobs.models import JobEvent
from tests.factories import JobFactory

from .task_support import make_task, rows

pytestmark = pytest.mark.django_db

# Session and user, then: the counts at the top, the paginator's count, the page (with jobs, customers and people).
MY_TASKS_QUERIES = 5


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def snapshot() -> tuple:
    return rows(FollowUpTask), rows(JobEvent)


@pytest.fixture
def today():  # type: ignore[no-untyped-def]
    return timezone.localdate()


# ---- My tasks ---------------------------------------------------------------------------------------


def test_my_tasks_shows_overdue_first_counted_and_highlighted(client_as, office, manager, today):
    job = JobFactory(number="J-8001")
    late = make_task(manager, job, "Chase the permit", owner_id=office.pk, due_date=today - timedelta(days=3))
    make_task(manager, job, "Call about the invoice", owner_id=office.pk, due_date=today)
    make_task(manager, job, "Book the inspection", owner_role=Role.OFFICE, due_date=today + timedelta(days=4))
    make_task(manager, job, "Send photos", owner_id=office.pk)
    make_task(manager, job, "The manager's own", owner_id=manager.pk)
    response = client_as(office).get(reverse("automation:tasks"))
    assert response.status_code == 200
    assert [t.title for t in response.context["tasks"]] == ["Chase the permit", "Call about the invoice", "Book the inspection", "Send photos"]
    assert response.context["summary"] == queries.TaskSummary(open=4, overdue=1, today=1)
    page = html(response)
    assert f'<li id="task-{late.pk}" class="task-row b-overdue">' in page
    assert '<a class="card is-overdue" href="?show=overdue"' in page
    for heading in ("Overdue", "Due today", "Later", "No due date"):
        assert f"<h2>{heading}</h2>" in page
    assert "The manager's own" not in page
    assert reverse("jobs:tab", args=[job.pk, "tasks"]) in page
    assert "Everyone&#x27;s open tasks" not in page  # the "All" filter is for managers and owners


def test_my_tasks_filters_and_the_managers_all(client_as, office, manager, today):
    job = JobFactory()
    make_task(manager, job, "Late", owner_id=office.pk, due_date=today - timedelta(days=1))
    done = make_task(manager, job, "Finished", owner_id=office.pk)
    task_complete(actor=office, task_id=done.pk)
    make_task(manager, job, "Dispatch's", owner_role=Role.DISPATCHER)
    http = client_as(office)
    assert [t.title for t in http.get(reverse("automation:tasks"), {"show": "overdue"}).context["tasks"]] == ["Late"]
    assert [t.title for t in http.get(reverse("automation:tasks"), {"show": "done"}).context["tasks"]] == ["Finished"]
    assert http.get(reverse("automation:tasks"), {"show": "today"}).context["tasks"] == []
    # An unknown filter, or "all" for someone who may not, is the open list.
    assert http.get(reverse("automation:tasks"), {"show": "all"}).context["which"] == "open"
    assert http.get(reverse("automation:tasks"), {"show": "x\x00"}).context["which"] == "open"
    everyone = client_as(manager).get(reverse("automation:tasks"), {"show": "all"})
    assert [t.title for t in everyone.context["tasks"]] == ["Late", "Dispatch's"]
    assert "<h1>Everyone's tasks</h1>" in html(everyone)


def test_empty_states(client_as, office):
    http = client_as(office)
    assert "No open tasks" in html(http.get(reverse("automation:tasks")))
    assert "Nothing overdue" in html(http.get(reverse("automation:tasks"), {"show": "overdue"}))
    assert "Nothing done yet" in html(http.get(reverse("automation:tasks"), {"show": "done"}))


def test_my_tasks_pages(client_as, office, manager, today):
    job = JobFactory()
    for n in range(queries.TASK_PAGE_SIZE + 2):
        make_task(manager, job, f"Task {n:02d}", owner_id=office.pk, due_date=today + timedelta(days=n))
    second = client_as(office).get(reverse("automation:tasks"), {"page": 2})
    assert [t.title for t in second.context["tasks"]] == ["Task 25", "Task 26"]
    assert "Page 2 of 2 · 27 in all" in html(second)


def test_my_tasks_costs_the_same_queries_whatever_the_rows(client_as, office, manager, today, django_assert_num_queries):
    http = client_as(office)
    make_task(manager, JobFactory(), owner_id=office.pk)
    with django_assert_num_queries(MY_TASKS_QUERIES):
        assert http.get(reverse("automation:tasks")).status_code == 200
    for n in range(30):
        make_task(manager, JobFactory(), f"Task {n}", owner_id=office.pk if n % 2 else None, owner_role="" if n % 2 else Role.OFFICE, due_date=today)
    with django_assert_num_queries(MY_TASKS_QUERIES):
        response = http.get(reverse("automation:tasks"))
    assert len(response.context["tasks"]) == queries.TASK_PAGE_SIZE
    for task in FollowUpTask.objects.all()[:12]:
        task_complete(actor=office, task_id=task.pk)
    with django_assert_num_queries(MY_TASKS_QUERIES):
        response = http.get(reverse("automation:tasks"), {"show": "done"})
    assert len(response.context["tasks"]) == 12


def test_done_by_htmx_swaps_the_row_and_the_counts(client_as, office, manager, today):
    task = make_task(manager, JobFactory(), owner_id=office.pk, due_date=today - timedelta(days=1))
    response = client_as(office).post(
        reverse("automation:task_done", args=[task.pk]), {"show": "open", "next": "/tasks/"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"task-{task.pk}"
    )
    assert response.status_code == 200
    fragment = html(response)
    assert fragment.lstrip().startswith(f'<li id="task-{task.pk}" class="task-row b-done">')
    assert "Reopen" in fragment
    assert "by Oscar Office" in fragment
    assert '<div class="task-summary" id="task-summary" hx-swap-oob="true"' in fragment
    assert '<div class="value">0</div><div class="muted small">overdue</div>' in fragment
    assert FollowUpTask.objects.get(pk=task.pk).done_by == office


def test_a_second_done_is_refused_with_the_reason_and_changes_nothing(client_as, office, manager):
    task = make_task(manager, JobFactory(), owner_id=office.pk)
    task_complete(actor=manager, task_id=task.pk)
    before = snapshot()
    response = client_as(office).post(reverse("automation:task_done", args=[task.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"task-{task.pk}")
    assert response.status_code == 409
    assert "“Call the customer back” is already done." in html(response)
    assert snapshot() == before
    # Without JavaScript: back to the page, with the reason.
    response = client_as(office).post(reverse("automation:task_done", args=[task.pk]), follow=True)
    assert response.redirect_chain == [(reverse("automation:tasks"), 302)]
    assert "“Call the customer back” is already done." in html(response)
    assert snapshot() == before


def test_done_and_reopen_without_javascript(client_as, office):
    task = make_task(office, JobFactory())
    http = client_as(office)
    response = http.post(reverse("automation:task_done", args=[task.pk]), {"next": "/tasks/?show=overdue"})
    assert (response.status_code, response["Location"]) == (302, "/tasks/?show=overdue")
    assert FollowUpTask.objects.get(pk=task.pk).done_at is not None
    response = http.post(reverse("automation:task_reopen", args=[task.pk]), follow=True)
    assert "Reopened: Call the customer back. It holds the job&#x27;s close again." in html(response)
    assert FollowUpTask.objects.get(pk=task.pk).done_at is None


def test_task_writes_are_post_only(client_as, office):
    task = make_task(office, JobFactory())
    http = client_as(office)
    for name in ("automation:task_done", "automation:task_reopen"):
        assert http.get(reverse(name, args=[task.pk])).status_code == 405
    assert http.get(reverse("automation:task_add", args=[task.job_id])).status_code == 405


def test_technicians_get_403_on_their_job_and_404_on_another(client_as, office, tech_a, tech_b):
    own = make_task(office, JobFactory(technicians=[tech_a]))
    other = make_task(office, JobFactory(technicians=[tech_b]))
    http = client_as(tech_a.user)
    before = snapshot()
    assert http.get(reverse("automation:tasks")).status_code == 403
    for task, expected in ((own, 403), (other, 404)):
        assert http.post(reverse("automation:task_done", args=[task.pk])).status_code == expected
        assert http.get(reverse("automation:task_edit", args=[task.pk])).status_code == expected
        assert http.post(reverse("automation:task_add", args=[task.job_id]), {"title": "x", "owner": f"user:{office.pk}"}).status_code == expected
    assert snapshot() == before


# ---- the job's Tasks tab ----------------------------------------------------------------------------


def test_the_tab_lists_the_jobs_tasks_and_offers_the_form(client_as, office, manager, today):
    job = JobFactory()
    make_task(manager, job, "Open one", owner_role=Role.MANAGER, due_date=today - timedelta(days=1))
    done = make_task(manager, job, "Done one")
    task_complete(actor=manager, task_id=done.pk)
    make_task(manager, JobFactory(), "Another job's")
    response = client_as(office).get(reverse("jobs:tab", args=[job.pk, "tasks"]))
    assert response.status_code == 200
    assert [t.title for t in response.context["job_tasks"]] == ["Open one", "Done one"]
    page = html(response)
    assert "1 open — the job cannot be closed" in page
    assert "For anyone who is Service manager" in page
    assert "Add a task" in page
    assert f'<option value="user:{office.pk}" selected>Oscar Office</option>' in page
    assert '<option value="role:manager">Service manager</option>' in page
    assert "role:technician" not in page
    assert "Another job&#x27;s" not in page


def test_the_tab_costs_the_same_queries_whatever_the_tasks(client_as, office, manager, today):
    job = JobFactory()
    make_task(manager, job, "First")
    http = client_as(office)
    url = reverse("jobs:tab", args=[job.pk, "tasks"])
    with CaptureQueriesContext(connection) as few:
        assert http.get(url).status_code == 200
    for n in range(15):
        task = make_task(manager, job, f"Task {n}", owner_role=Role.OFFICE if n % 2 else "", owner_id=None if n % 2 else manager.pk, due_date=today)
        if n % 3 == 0:
            task_complete(actor=office, task_id=task.pk)
    with CaptureQueriesContext(connection) as many:
        response = http.get(url)
    assert len(response.context["job_tasks"]) == 16
    assert len(many.captured_queries) == len(few.captured_queries)
    # The workspace's own, then the tasks (with their people) and the owners to choose from.
    assert sum("automation_followuptask" in q["sql"] for q in many.captured_queries) == 1


def test_the_tab_is_read_only_for_the_technician(client_as, office, tech_a):
    job = JobFactory(technicians=[tech_a])
    make_task(office, job, "Bring the spare filter")
    page = html(client_as(tech_a.user).get(reverse("jobs:tab", args=[job.pk, "tasks"])))
    assert "Bring the spare filter" in page
    assert "Add a task" not in page
    assert reverse("automation:task_done", args=[FollowUpTask.objects.get().pk]) not in page


def test_the_tab_has_an_empty_state(client_as, office):
    page = html(client_as(office).get(reverse("jobs:tab", args=[JobFactory().pk, "tasks"])))
    assert "No follow-up tasks" in page


def test_add_from_the_tab_by_htmx_and_without(client_as, office, manager):
    job = JobFactory()
    http = client_as(office)
    data = {"title": "Order the part", "owner": f"user:{manager.pk}", "due_date": "2031-02-03", "notes": "Ask for the OEM one"}
    response = http.post(reverse("automation:task_add", args=[job.pk]), data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="tab-area")
    assert response.status_code == 200
    assert "Task added: Order the part." in html(response)
    assert '<div id="tab-area">' in html(response)
    task = FollowUpTask.objects.get()
    assert (task.job, task.owner, str(task.due_date), task.notes, task.created_by) == (job, manager, "2031-02-03", "Ask for the OEM one", office)
    response = http.post(reverse("automation:task_add", args=[job.pk]), {"title": "Call the permit office", "owner": "role:dispatcher"})
    assert (response.status_code, response["Location"]) == (302, reverse("jobs:tab", args=[job.pk, "tasks"]))
    assert FollowUpTask.objects.get(title="Call the permit office").owner_role == Role.DISPATCHER


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"title": "", "owner": "role:office"}, "title", "Say what needs doing."),
        ({"title": "x", "owner": ""}, "owner", "Give the task to a person or to a role."),
        ({"title": "x", "owner": "role:technician"}, "owner", "Choose an active office user or an office role."),
        ({"title": "x", "owner": "user:999999"}, "owner", "Choose an active office user or an office role."),
        ({"title": "x", "owner": "role:office", "due_date": "31/31/2031"}, "due_date", "Enter a valid date."),
        ({"title": "x", "owner": "role:office", "due_date": "1999-12-31"}, "due_date", "Enter a date between 2000 and 2100."),
        ({"title": "a\x00b", "owner": "role:office"}, "title", "Null characters are not allowed."),
    ],
)
def test_add_with_bad_input_shows_the_field_error_and_saves_nothing(client_as, office, data, field, error):
    job = JobFactory()
    before = snapshot()
    response = client_as(office).post(reverse("automation:task_add", args=[job.pk]), data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="tab-area")
    assert response.status_code == 422
    assert response.context["task_form"].errors[field] == [error]
    assert snapshot() == before


# ---- the edit page ----------------------------------------------------------------------------------


def test_edit_shows_the_form_and_saves_at_the_version_read(client_as, office, manager):
    task = make_task(office, JobFactory(), due_date=timezone.localdate())
    http = client_as(manager)
    page = html(http.get(reverse("automation:task_edit", args=[task.pk]), {"next": "/tasks/"}))
    assert 'name="version" value="1"' in page
    assert 'value="Call the customer back"' in page
    assert '<input type="hidden" name="next" value="/tasks/">' in page
    data = {"title": "Call back after 5pm", "owner": "role:office", "due_date": "", "notes": "Evening only", "version": "1", "next": "/tasks/"}
    response = http.post(reverse("automation:task_edit", args=[task.pk]), data)
    assert (response.status_code, response["Location"]) == (302, "/tasks/")
    task.refresh_from_db()
    assert (task.title, task.owner, task.owner_role, task.due_date, task.notes, task.version) == (
        "Call back after 5pm",
        None,
        Role.OFFICE,
        None,
        "Evening only",
        2,
    )


def test_a_stale_edit_shows_the_task_as_it_is_now_and_changes_nothing(client_as, office, manager):
    task = make_task(office, JobFactory())
    http = client_as(manager)
    data = {"title": "Mine first", "owner": f"user:{office.pk}", "version": "1"}
    assert http.post(reverse("automation:task_edit", args=[task.pk]), data).status_code == 302
    before = snapshot()
    response = client_as(office).post(reverse("automation:task_edit", args=[task.pk]), {**data, "title": "Mine second"})
    assert response.status_code == 409
    page = html(response)
    assert "Someone changed this task meanwhile" in page
    assert 'value="Mine first"' in page
    assert 'name="version" value="2"' in page
    assert snapshot() == before


def test_an_edit_with_bad_input_or_no_version_is_refused(client_as, office):
    task = make_task(office, JobFactory())
    http = client_as(office)
    before = snapshot()
    response = http.post(reverse("automation:task_edit", args=[task.pk]), {"title": "", "owner": f"user:{office.pk}", "version": "1"})
    assert response.status_code == 422
    assert response.context["form"].errors == {"title": ["Say what needs doing."]}
    response = http.post(reverse("automation:task_edit", args=[task.pk]), {"title": "x", "owner": f"user:{office.pk}"})
    assert response.status_code == 422
    assert response.context["form"].non_field_errors() == ["This form is out of date; reload the page."]
    assert http.get(reverse("automation:task_edit", args=[424242])).status_code == 404
    assert snapshot() == before


# ---- navigation -------------------------------------------------------------------------------------


def test_tasks_is_in_the_navigation_of_the_office_roles(client_as, owner, manager, dispatcher, office, tech_a):
    for user in (owner, manager, dispatcher, office):
        keys = [key for _, _, key in client_as(user).get(reverse("jobs:dashboard")).context["nav_items"]]
        assert keys[keys.index("inbox") + 1] == "tasks", user
        assert ("automation" in keys) == (user == owner), user
    keys = [key for _, _, key in client_as(tech_a.user).get(reverse("jobs:dashboard")).context["nav_items"]]
    assert "tasks" not in keys
    assert "automation" not in keys
