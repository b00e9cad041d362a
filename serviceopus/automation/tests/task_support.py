"""Shared by the follow-up task and alert tests: tasks and alerts made through the actions, and the
workspace's Tasks tab listed for tests that open it."""

from typing import Any

from serviceopus.automation.models import Alert, FollowUpTask
from serviceopus.automation.tasks import alert_raise, task_create


def make_task(actor, job, title: str = "Call the customer back", **kwargs: Any) -> FollowUpTask:  # type: ignore[no-untyped-def]
    if "owner_id" not in kwargs and "owner_role" not in kwargs:
        kwargs["owner_id"] = actor.pk
    return task_create(actor=actor, job_id=job.pk, title=title, **kwargs)


def make_alert(user, job=None, title: str = "Visit running late", **kwargs: Any) -> Alert:  # type: ignore[no-untyped-def]
    [alert] = alert_raise(job=job, title=title, to_user_id=user.pk, **kwargs)
    return alert


def rows(model) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(model.objects.order_by("pk").values())
