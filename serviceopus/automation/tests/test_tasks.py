"""Follow-up task actions and reads: create, edit at a version, done and reopen by conditional update
(a second click is refused and changes nothing), who may, and what "My tasks" holds for whom."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from serviceopus.accounts.roles import Role
from serviceopus.automation import task_queries as queries
from serviceopus.automation.models import FollowUpTask
from serviceopus.automation.tasks import task_complete, task_create, task_reopen, task_update
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import JobEvent
from tests.factories import JobFactory, UserFactory

from .task_support import make_task, rows

pytestmark = pytest.mark.django_db


def task_events(job) -> list[str]:  # type: ignore[no-untyped-def]
    return list(JobEvent.objects.filter(job=job).order_by("pk").values_list("message", flat=True))


# ---- create -----------------------------------------------------------------------------------------


def test_create_for_a_person_writes_the_task_and_the_timeline(office, manager):
    job = JobFactory()
    due = date(2031, 3, 4)
    task = task_create(actor=office, job_id=job.pk, title="  Send the quote  ", notes="Two options", owner_id=manager.pk, due_date=due)
    assert (task.title, task.notes, task.owner, task.owner_role, task.due_date, task.created_by, task.done_at, task.version) == (
        "Send the quote",
        "Two options",
        manager,
        "",
        due,
        office,
        None,
        1,
    )
    event = JobEvent.objects.get(job=job)
    assert (event.kind, event.actor, event.message, event.data) == (
        JobEvent.Kind.NOTE,
        office,
        "Follow-up task for Mason Manager, due 2031-03-04: Send the quote",
        {"task": task.pk},
    )


def test_create_for_a_role(office):
    task = task_create(actor=office, job_id=JobFactory().pk, title="Chase the permit", owner_role=Role.DISPATCHER)
    assert (task.owner, task.owner_role, task.due_date) == (None, Role.DISPATCHER, None)
    assert task_events(task.job) == ["Follow-up task for Dispatcher: Chase the permit"]


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"title": " "}, {"title": "Say what needs doing."}),
        ({"title": "x" * 201}, {"title": "At most 200 characters, no NUL characters."}),
        ({"title": "a\x00b"}, {"title": "At most 200 characters, no NUL characters."}),
        ({"notes": "n" * 2001}, {"notes": "At most 2000 characters, no NUL characters."}),
        ({"owner_id": None}, {"owner": "Give the task to a person or to a role."}),
        ({"owner_role": Role.MANAGER}, {"owner": "Give the task to a person or to a role."}),
        ({"owner_id": None, "owner_role": Role.TECHNICIAN}, {"owner": "Choose one of the office roles."}),
        ({"owner_id": None, "owner_role": "boss"}, {"owner": "Choose one of the office roles."}),
        ({"due_date": "2031-01-01"}, {"due_date": "Enter a date."}),
        ({"due_date": datetime(2031, 1, 1, 9, 0)}, {"due_date": "Enter a date."}),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(office, kwargs, errors):
    job = JobFactory()
    data = {"title": "Call back", "owner_id": office.pk, **kwargs}
    with pytest.raises(InvalidInput) as refused:
        task_create(actor=office, job_id=job.pk, **data)
    assert refused.value.fields == errors
    assert (FollowUpTask.objects.count(), JobEvent.objects.count()) == (0, 0)


def test_create_refuses_a_technician_or_inactive_owner(office, tech_a):
    job = JobFactory()
    gone = UserFactory(role=Role.OFFICE, is_active=False)
    for owner in (tech_a.user, gone):
        with pytest.raises(InvalidInput) as refused:
            task_create(actor=office, job_id=job.pk, title="Call back", owner_id=owner.pk)
        assert refused.value.fields == {"owner": "Choose an active office user."}
    assert not FollowUpTask.objects.exists()


def test_create_needs_the_capability(tech_a, office):
    job = JobFactory(technicians=[tech_a])
    with pytest.raises(DomainError) as refused:
        task_create(actor=tech_a.user, job_id=job.pk, title="Call back", owner_id=office.pk)
    assert refused.value.code == "forbidden"
    assert (FollowUpTask.objects.count(), JobEvent.objects.count()) == (0, 0)


def test_create_on_a_missing_job(office):
    with pytest.raises(InvalidInput) as refused:
        task_create(actor=office, job_id=987654, title="Call back", owner_id=office.pk)
    assert refused.value.fields == {"job": "That job does not exist."}
    assert not FollowUpTask.objects.exists()


# ---- update -----------------------------------------------------------------------------------------


def test_update_at_the_version_read_changes_the_task_and_says_what_changed(office, manager):
    job = JobFactory()
    task = make_task(office, job, due_date=date(2031, 1, 2))
    updated = task_update(
        actor=manager, task_id=task.pk, version=1, title="Call back about the quote", notes="Ask for Sam", owner_id=None, owner_role=Role.OFFICE, due_date=None
    )
    assert (updated.title, updated.notes, updated.owner, updated.owner_role, updated.due_date, updated.version) == (
        "Call back about the quote",
        "Ask for Sam",
        None,
        Role.OFFICE,
        None,
        2,
    )
    assert task_events(job)[-1] == (
        "Follow-up task edited: Call back about the quote (title was “Call the customer back”; owner Oscar Office → Office / accounting; "
        "due 2031-01-02 → no date; notes changed)"
    )


def test_update_without_a_change_writes_no_event(office):
    task = make_task(office, JobFactory())
    task_update(actor=office, task_id=task.pk, version=1, title=task.title, notes="", owner_id=office.pk, owner_role="", due_date=None)
    assert len(task_events(task.job)) == 1
    assert FollowUpTask.objects.get(pk=task.pk).version == 2


def test_a_stale_update_is_refused_and_changes_nothing(office, manager):
    task = make_task(office, JobFactory())
    task_update(actor=manager, task_id=task.pk, version=1, title="First edit", notes="", owner_id=office.pk, owner_role="", due_date=None)
    before = (rows(FollowUpTask), rows(JobEvent))
    with pytest.raises(ConflictError) as refused:
        task_update(actor=office, task_id=task.pk, version=1, title="Second edit", notes="", owner_id=office.pk, owner_role="", due_date=None)
    assert refused.value.code == "stale"
    assert (rows(FollowUpTask), rows(JobEvent)) == before


def test_update_refuses_bad_input_and_a_missing_task(office):
    task = make_task(office, JobFactory())
    before = (rows(FollowUpTask), rows(JobEvent))
    with pytest.raises(InvalidInput) as refused:
        task_update(actor=office, task_id=task.pk, version=1, title="", notes="", owner_id=None, owner_role="", due_date=None)
    assert refused.value.fields == {"title": "Say what needs doing.", "owner": "Give the task to a person or to a role."}
    with pytest.raises(DomainError) as missing:
        task_update(actor=office, task_id=999999, version=1, title="x", notes="", owner_id=office.pk, owner_role="", due_date=None)
    assert missing.value.code == "not_found"
    assert (rows(FollowUpTask), rows(JobEvent)) == before


# ---- done and reopen --------------------------------------------------------------------------------


def test_done_then_a_second_click_is_refused_and_changes_nothing(office, manager):
    task = make_task(office, JobFactory())
    done = task_complete(actor=manager, task_id=task.pk)
    assert (done.done_by, done.version, done.done_at is not None) == (manager, 2, True)
    assert task_events(task.job)[-1] == "Follow-up task done: Call the customer back"
    before = (rows(FollowUpTask), rows(JobEvent))
    with pytest.raises(ConflictError) as refused:
        task_complete(actor=office, task_id=task.pk)
    assert (refused.value.code, refused.value.message) == ("already_done", "“Call the customer back” is already done.")
    assert (rows(FollowUpTask), rows(JobEvent)) == before


def test_reopen_a_done_task_and_not_an_open_one(office):
    task = make_task(office, JobFactory())
    before = (rows(FollowUpTask), rows(JobEvent))
    with pytest.raises(ConflictError) as refused:
        task_reopen(actor=office, task_id=task.pk)
    assert refused.value.code == "not_done"
    assert (rows(FollowUpTask), rows(JobEvent)) == before
    task_complete(actor=office, task_id=task.pk)
    reopened = task_reopen(actor=office, task_id=task.pk)
    assert (reopened.done_at, reopened.done_by, reopened.version) == (None, None, 3)
    event = JobEvent.objects.filter(job=task.job).latest("pk")
    assert (event.message, event.data, event.actor) == ("Follow-up task reopened: Call the customer back", {"task": task.pk, "reopened": True}, office)


def test_technicians_may_not_complete_or_reopen(office, tech_a):
    job = JobFactory(technicians=[tech_a])
    task = make_task(office, job)
    before = (rows(FollowUpTask), rows(JobEvent))
    for action in (task_complete, task_reopen):
        with pytest.raises(DomainError) as refused:
            action(actor=tech_a.user, task_id=task.pk)
        assert refused.value.code == "forbidden"
    assert (rows(FollowUpTask), rows(JobEvent)) == before


def test_done_on_a_missing_task(office):
    for action in (task_complete, task_reopen):
        with pytest.raises(DomainError) as refused:
            action(actor=office, task_id=424242)
        assert refused.value.code == "not_found"


# ---- reads -------------------------------------------------------------------------------------------


@pytest.fixture
def spread(office, manager, dispatcher):  # type: ignore[no-untyped-def]
    """Tasks for the office clerk: overdue, due today, later, undated, done; one for the office role,
    one for the manager, one for the dispatcher role."""
    today = timezone.localdate()
    job = JobFactory()
    made = {
        "overdue": make_task(manager, job, "Overdue one", owner_id=office.pk, due_date=today - timedelta(days=2)),
        "today": make_task(manager, job, "Today one", owner_id=office.pk, due_date=today),
        "later": make_task(manager, job, "Later one", owner_id=office.pk, due_date=today + timedelta(days=5)),
        "undated": make_task(manager, job, "Undated one", owner_id=office.pk),
        "role": make_task(manager, job, "For the office role", owner_role=Role.OFFICE, due_date=today + timedelta(days=1)),
        "done": make_task(manager, job, "Done one", owner_id=office.pk),
        "managers": make_task(manager, job, "The manager's", owner_id=manager.pk, due_date=today - timedelta(days=9)),
        "dispatch": make_task(manager, job, "For dispatch", owner_role=Role.DISPATCHER),
    }
    task_complete(actor=office, task_id=made["done"].pk)
    return made


def titles(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.title for t in page.object_list]


def test_my_open_tasks_are_mine_and_my_roles_by_due_date(office, spread):
    today = timezone.localdate()
    page = queries.my_tasks_page(office, which="open", number=1, today=today)
    assert titles(page) == ["Overdue one", "Today one", "For the office role", "Later one", "Undated one"]
    assert [t.bucket for t in page.object_list] == ["overdue", "today", "later", "later", "undated"]
    assert queries.task_summary(office, "open", today) == queries.TaskSummary(open=5, overdue=1, today=1)


def test_a_role_task_given_to_a_person_is_theirs_only(office, manager, spread):
    other_clerk = UserFactory(role=Role.OFFICE)
    today = timezone.localdate()
    assert titles(queries.my_tasks_page(other_clerk, which="open", number=1, today=today)) == ["For the office role"]


def test_filters(office, manager, spread):
    today = timezone.localdate()
    assert titles(queries.my_tasks_page(office, which="overdue", number=1, today=today)) == ["Overdue one"]
    assert titles(queries.my_tasks_page(office, which="today", number=1, today=today)) == ["Today one"]
    assert titles(queries.my_tasks_page(office, which="done", number=1, today=today)) == ["Done one"]
    everyone = queries.my_tasks_page(manager, which="all", number=1, today=today)
    assert titles(everyone) == ["The manager's", "Overdue one", "Today one", "For the office role", "Later one", "Undated one", "For dispatch"]
    assert queries.task_summary(manager, "all", today) == queries.TaskSummary(open=7, overdue=2, today=1)
    # "All" is for managers and owners: anyone else gets their own.
    assert [key for key, _ in queries.task_filters(office)] == ["open", "overdue", "today", "done"]
    assert titles(queries.my_tasks_page(office, which="all", number=1, today=today)) == titles(
        queries.my_tasks_page(office, which="open", number=1, today=today)
    )


def test_job_tasks_open_first_then_done_newest_first(office, spread):
    job = spread["overdue"].job
    later_done = spread["later"]
    task_complete(actor=office, task_id=later_done.pk)
    tasks = queries.job_tasks(job, timezone.localdate())
    assert [t.title for t in tasks] == [
        "The manager's",
        "Overdue one",
        "Today one",
        "For the office role",
        "Undated one",
        "For dispatch",
        "Later one",
        "Done one",
    ]


def test_owner_choices_are_active_office_users_by_name(owner, manager, dispatcher, office, tech_a):
    UserFactory(role=Role.OFFICE, is_active=False)
    assert [u.username for u in queries.owner_choices()] == ["dana", "mason", "olivia", "oscar"]
