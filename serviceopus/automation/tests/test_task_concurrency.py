"""Two people clicking at once: "Done" from several places, or saving the same task at the same
version — exactly one wins, the others are told why, and the timeline holds one event, on both
databases."""

import pytest

from serviceopus.automation.models import FollowUpTask
from serviceopus.automation.tasks import task_complete, task_update
from serviceopus.core.errors import ConflictError
from serviceopus.jobs.models import JobEvent
from tests.factories import JobFactory
from tests.test_concurrency import run_at_once

from .task_support import make_task

pytestmark = pytest.mark.django_db(transaction=True)


def test_done_at_once_wins_once(office, manager):
    task = make_task(office, JobFactory())
    people = [office, manager, office, manager]

    def click(i: int) -> str:
        try:
            task_complete(actor=people[i], task_id=task.pk)
        except ConflictError as exc:
            return exc.code
        return "done"

    assert sorted(run_at_once(4, click)) == ["already_done", "already_done", "already_done", "done"]
    assert FollowUpTask.objects.get(pk=task.pk).version == 2
    assert JobEvent.objects.filter(job=task.job, message="Follow-up task done: Call the customer back").count() == 1


def test_edits_at_the_same_version_save_once(office, manager):
    task = make_task(office, JobFactory())

    def save(i: int) -> str:
        try:
            task_update(actor=manager, task_id=task.pk, version=1, title=f"Edit {i}", notes="", owner_id=office.pk, owner_role="", due_date=None)
        except ConflictError as exc:
            return exc.code
        return f"Edit {i}"

    results = run_at_once(4, save)
    [winner] = [r for r in results if r != "stale"]
    assert results.count("stale") == 3
    saved = FollowUpTask.objects.get(pk=task.pk)
    assert (saved.title, saved.version) == (winner, 2)
    assert JobEvent.objects.filter(job=task.job, message__startswith="Follow-up task edited").count() == 1
