"""Follow-up tasks and alerts: every write to them goes through these functions (the office's pages and
the workflow rules' actions alike).

Tasks change by conditional updates: an edit carries the version it was read at, "done" and "reopen"
change the row only from the state they expect, so two people clicking at once cannot both win and a
refused change leaves the row and the job's timeline as they were."""

from datetime import date, datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import Job, JobEvent

from .models import Alert, AlertLevel, FollowUpTask

TITLE_MAX = 200
NOTES_MAX = 2000
PERM = "automation.work_tasks"
# A task is office work: a technician (or their role) would never see it on a "My tasks" page.
OWNER_ROLES = tuple(role for role in Role.values if role != Role.TECHNICIAN)


def _require(actor: User, doing: str) -> None:
    if not actor.has_perm(PERM):
        raise DomainError("forbidden", f"You may not {doing} follow-up tasks.")


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
    """A task belongs to one office user or to one office role, exactly one of the two."""
    if (owner_id is None) == (not owner_role):
        fields["owner"] = "Give the task to a person or to a role."
        return None
    if owner_role:
        if owner_role not in OWNER_ROLES:
            fields["owner"] = "Choose one of the office roles."
        return None
    owner = User.objects.filter(pk=owner_id, is_active=True).exclude(role=Role.TECHNICIAN).first()
    if owner is None:
        fields["owner"] = "Choose an active office user."
    return owner


def _clean_due(fields: dict[str, str], due_date: object) -> None:
    # A datetime is a date too, but a due time would be silently cut off: refuse it.
    if due_date is not None and (not isinstance(due_date, date) or isinstance(due_date, datetime)):
        fields["due_date"] = "Enter a date."


def _clean_task(title: object, notes: object, owner_id: int | None, owner_role: str, due_date: object, *, refused: str) -> tuple[str, str, User | None]:
    """A task's fields as stored, or InvalidInput with every field error at once (`refused` says what)."""
    fields: dict[str, str] = {}
    title = _clean_text(fields, "title", title, TITLE_MAX, required="Say what needs doing.")
    notes = _clean_text(fields, "notes", notes, NOTES_MAX)
    owner = _clean_owner(fields, owner_id, owner_role)
    _clean_due(fields, due_date)
    if fields:
        raise InvalidInput(refused, fields)
    return str(title), str(notes), owner


def _whom(owner: User | None, owner_role: str) -> str:
    return owner.display_name if owner else Role(owner_role).label if owner_role else "nobody"


def _event(task: FollowUpTask, actor: User | None, message: str, **data: object) -> JobEvent:
    return JobEvent.objects.create(
        job_id=task.job_id, actor=actor, kind=JobEvent.Kind.NOTE, message=message[:500], data={"task": task.pk, **data}, created_at=timezone.now()
    )


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
    _require(actor, "create")
    title, notes, owner = _clean_task(title, notes, owner_id, owner_role, due_date, refused="The task was not created.")
    with transaction.atomic():
        job = Job.objects.filter(pk=job_id).first()
        if job is None:
            raise InvalidInput("The task was not created.", {"job": "That job does not exist."})
        now = timezone.now()
        task = FollowUpTask.objects.create(
            job=job, title=title, notes=notes, owner=owner, owner_role=owner_role, due_date=due_date, rule_id=rule_id, created_by=actor, created_at=now
        )
        due = f", due {due_date:%Y-%m-%d}" if due_date else ""
        _event(task, actor, f"Follow-up task for {_whom(owner, owner_role)}{due}: {title}")
    return task


def task_update(
    *, actor: User, task_id: int, version: int, title: str, notes: str, owner_id: int | None, owner_role: str, due_date: date | None
) -> FollowUpTask:
    """Change a task's title, notes, owner and due date, open or done. `version` is the one the form
    was read at: if the task changed since, ConflictError "stale" and nothing changes (the update is
    conditional on it). The timeline records what changed, when anything did."""
    _require(actor, "edit")
    title, notes, owner = _clean_task(title, notes, owner_id, owner_role, due_date, refused="The task was not saved.")
    with transaction.atomic():
        task = FollowUpTask.objects.select_related("owner").filter(pk=task_id).first()
        if task is None:
            raise DomainError("not_found", "There is no such task.")
        stale = ConflictError("stale", "Someone changed this task meanwhile; it shows as it is now. Make your change again.")
        if task.version != version:
            raise stale
        changes = []
        if title != task.title:
            changes.append(f"title was “{task.title}”")
        if (owner.pk if owner else None, owner_role) != (task.owner_id, task.owner_role):
            changes.append(f"owner {_whom(task.owner, task.owner_role)} → {_whom(owner, owner_role)}")
        if due_date != task.due_date:
            changes.append(f"due {task.due_date or 'no date'} → {due_date or 'no date'}")
        if notes != task.notes:
            changes.append("notes changed")
        changed = FollowUpTask.objects.filter(pk=task.pk, version=version).update(
            title=title, notes=notes, owner=owner, owner_role=owner_role, due_date=due_date, version=F("version") + 1
        )
        if not changed:
            raise stale
        if changes:
            _event(task, actor, f"Follow-up task edited: {title} ({'; '.join(changes)})")
    task.refresh_from_db()
    return task


def task_complete(*, actor: User, task_id: int) -> FollowUpTask:
    """Mark an open task done (by anyone who works tasks, not only its owner). Changes the row only
    while it is still open: a second click, or someone else's first, gets ConflictError
    "already_done" and nothing changes."""
    _require(actor, "complete")
    with transaction.atomic():
        task = FollowUpTask.objects.filter(pk=task_id).first()
        if task is None:
            raise DomainError("not_found", "There is no such task.")
        now = timezone.now()
        if not FollowUpTask.objects.filter(pk=task.pk, done_at__isnull=True).update(done_at=now, done_by=actor, version=F("version") + 1):
            raise ConflictError("already_done", f"“{task.title}” is already done.")
        _event(task, actor, f"Follow-up task done: {task.title}", done=True)
    task.refresh_from_db()
    return task


def task_reopen(*, actor: User, task_id: int) -> FollowUpTask:
    """Open a done task again: it holds the job's close again. Changes the row only while it is done
    (ConflictError "not_done" otherwise, nothing changes)."""
    _require(actor, "reopen")
    with transaction.atomic():
        task = FollowUpTask.objects.filter(pk=task_id).first()
        if task is None:
            raise DomainError("not_found", "There is no such task.")
        if not FollowUpTask.objects.filter(pk=task.pk, done_at__isnull=False).update(done_at=None, done_by=None, version=F("version") + 1):
            raise ConflictError("not_done", f"“{task.title}” is not done: there is nothing to reopen.")
        _event(task, actor, f"Follow-up task reopened: {task.title}", reopened=True)
    task.refresh_from_db()
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


def alert_mark_read(*, user: User, alert_id: int) -> Alert:
    """Mark one of the user's own alerts read; one already read stays as it was (reading twice is no
    error). Someone else's alert is "not_found", as if it did not exist."""
    alert = Alert.objects.filter(pk=alert_id, user=user).first()
    if alert is None:
        raise DomainError("not_found", "There is no such alert.")
    if alert.read_at is None:
        now = timezone.now()
        # Only from unread: a concurrent read keeps the first time it was read.
        if Alert.objects.filter(pk=alert.pk, read_at__isnull=True).update(read_at=now):
            alert.read_at = now
        else:
            alert.refresh_from_db()
    return alert


def alerts_mark_all_read(*, user: User) -> int:
    """Mark every unread alert of the user read; returns how many were unread."""
    return Alert.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
