"""Follow-up tasks and alerts: every write to them goes through these functions (the office's pages and
the workflow rules' actions alike)."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.jobs.models import Job, JobEvent

from .models import Alert, AlertLevel, FollowUpTask

TITLE_MAX = 200
NOTES_MAX = 2000


def _clean_text(fields: dict[str, str], name: str, value: object, limit: int, *, required: str = "") -> str:
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        fields[name] = "Must be text."
    elif required and not text:
        fields[name] = required
    elif len(text) > limit or "\x00" in text:
        fields[name] = f"At most {limit} characters, no NUL characters."
    return text


def _clean_owner(fields: dict[str, str], owner_id: int | None, owner_role: str) -> User | None:
    """A task belongs to one office user or to one role, exactly one of the two."""
    if (owner_id is None) == (not owner_role):
        fields["owner"] = "Give the task to a person or to a role."
        return None
    if owner_role:
        if owner_role not in Role.values:
            fields["owner"] = "Choose one of the roles."
        return None
    owner = User.objects.filter(pk=owner_id, is_active=True).exclude(role=Role.TECHNICIAN).first()
    if owner is None:
        fields["owner"] = "Choose an active office user."
    return owner


def task_create(
    *,
    actor: User,
    job_id: int,
    title: str,
    notes: str = "",
    owner_id: int | None = None,
    owner_role: str = "",
    due_date: date | None = None,
    rule_id: int | None = None,
) -> FollowUpTask:
    """A follow-up task on a job, for a person or a role. The job's timeline says who asked for it.
    While it is open the job cannot be closed. Raises InvalidInput with every field error at once."""
    if not actor.has_perm("automation.work_tasks"):
        raise DomainError("forbidden", "You may not create follow-up tasks.")
    fields: dict[str, str] = {}
    title = _clean_text(fields, "title", title, TITLE_MAX, required="Say what needs doing.")
    notes = _clean_text(fields, "notes", notes, NOTES_MAX)
    owner = _clean_owner(fields, owner_id, owner_role)
    if fields:
        raise InvalidInput("The task was not created.", fields)
    with transaction.atomic():
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            raise InvalidInput("The task was not created.", {"job": "That job does not exist."})
        now = timezone.now()
        task = FollowUpTask.objects.create(
            job=job, title=title, notes=notes, owner=owner, owner_role=owner_role, due_date=due_date, rule_id=rule_id, created_by=actor, created_at=now
        )
        whom = owner.display_name if owner else Role(owner_role).label
        due = f", due {due_date:%Y-%m-%d}" if due_date else ""
        JobEvent.objects.create(
            job=job, actor=actor, kind=JobEvent.Kind.NOTE, message=f"Follow-up task for {whom}{due}: {title}"[:500], data={"task": task.pk}, created_at=now
        )
    return task


def alert_raise(
    *, job: Job | None, title: str, body: str = "", level: str = AlertLevel.INFO, to_role: str = "", to_user_id: int | None = None, rule_id: int | None = None
) -> list[Alert]:
    """Alerts for one office user or for every active member of a role (one row each, each read on its
    own). Called by the system (workflow rules, the worker), so it checks no actor's rights; it writes in
    the caller's transaction. An alert to a role nobody holds raises nothing and returns []."""
    if level not in AlertLevel.values:
        raise InvalidInput("The alert was not raised.", {"level": "Choose info, warning or urgent."})
    users = User.objects.filter(is_active=True).exclude(role=Role.TECHNICIAN)
    users = users.filter(role=to_role) if to_role else users.filter(pk=to_user_id)
    now = timezone.now()
    return Alert.objects.bulk_create(
        [
            Alert(user=user, job=job, title=title[:TITLE_MAX], body=body[:NOTES_MAX], level=level, rule_id=rule_id, created_at=now)
            for user in users.order_by("pk")
        ]
    )
