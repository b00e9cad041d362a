"""Running one stored action of a rule (spec.ACTION_KINDS). Each goes through the app's own action
function — tasks, alerts, closeout requirements, the messaging outbox, job_update, job_create — with the
rule's author as the actor, so a rule can do exactly what its author may do, and the job's timeline
names a person who answers for it.

Each runner returns one line for the run log ("Task “Check photos” for Service manager, due
2030-01-02"). A runner that cannot act raises: ActionFailed with a message for people, or the action
function's own DomainError. The engine runs a rule's actions inside one transaction, so a failure undoes
the actions before it.
"""

import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.closeout.actions.requirements import requirement_add_to_job
from serviceopus.dispatch.models import DispatchSettings
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.models import Job, JobType, Priority, Source
from serviceopus.messaging.models import Notice, OutboxMessage
from serviceopus.messaging.outbox import notify

from .. import tasks
from ..models import AutomationEvent, WorkflowRule


class ActionFailed(Exception):
    """An action that cannot be done; the message goes to the run log as it is."""


@dataclass
class Context:
    rule: WorkflowRule
    event: AutomationEvent
    job: Job
    author: User

    @property
    def event_day(self) -> date:
        return timezone.localdate(self.event.created_at)


def author_of(rule: WorkflowRule) -> User:
    """The user the rule acts as: whoever saved it last. Someone who left cannot act any more."""
    author = rule.created_by
    if author is None or not author.is_active:
        raise ActionFailed("The rule's author is no longer an active user; an admin must save the rule again to take it over.")
    return author


def fill(text: str, ctx: Context) -> str:
    """The text with its placeholders filled from the job. Only the names of spec.PLACEHOLDERS are
    replaced; a format spec or conversion after a name is ignored rather than interpreted."""
    values = {
        "job_number": ctx.job.number,
        "customer": ctx.job.customer.name,
        "job_type": ctx.job.job_type.name,
        "rule": ctx.rule.name,
    }
    out = []
    for literal, name, _spec, _conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, "{" + name + "}"))
    return "".join(out)


def _whom(action: dict[str, Any]) -> str:
    if action.get("to_role"):
        return Role(action["to_role"]).label
    user = User.objects.filter(pk=action.get("to_user")).first()
    return user.display_name if user else "a user who no longer exists"


# ---- the runners -----------------------------------------------------------------------------------------


def raise_alert(action: dict[str, Any], ctx: Context) -> str:
    title = fill(action["title"], ctx)
    alerts = tasks.alert_raise(
        job=ctx.job,
        title=title,
        body=fill(action.get("body", ""), ctx),
        level=action.get("level", "info"),
        to_role=action.get("to_role", ""),
        to_user_id=action.get("to_user"),
        rule_id=ctx.rule.pk,
    )
    if not alerts:
        # Not a failure worth retrying: the role is empty or the user left. The log says so.
        why = f"nobody active holds the role {_whom(action)}" if action.get("to_role") else f"{_whom(action)} is no longer an active office user"
        return f"Alert “{title}” not raised: {why}"
    people = "1 person" if len(alerts) == 1 else f"{len(alerts)} people"
    return f"Alert “{title}” to {_whom(action)} ({people})"


def create_task(action: dict[str, Any], ctx: Context) -> str:
    due = ctx.event_day + timedelta(days=action.get("due_days", 1))
    title = fill(action["title"], ctx)
    tasks.task_create(
        actor=ctx.author,
        job_id=ctx.job.pk,
        title=title,
        notes=fill(action.get("notes", ""), ctx),
        owner_id=action.get("to_user"),
        owner_role=action.get("to_role", ""),
        due_date=due,
        rule_id=ctx.rule.pk,
    )
    return f"Task “{title}” for {_whom(action)}, due {due:%Y-%m-%d}"


def add_requirement(action: dict[str, Any], ctx: Context) -> str:
    before = ctx.job.closeout_requirements.count()
    req = requirement_add_to_job(
        actor=ctx.author,
        job_id=ctx.job.pk,
        kind=action["requirement"],
        photo_tag=action.get("photo_tag", ""),
        min_count=action.get("min_count", 1),
        note=f"rule “{ctx.rule.name}”",
    )
    if ctx.job.closeout_requirements.count() == before:
        return f"Closeout requirement already on the job: {req.describe()}"
    return f"Closeout requirement added: {req.describe()}"


def send_notification(action: dict[str, Any], ctx: Context) -> str:
    if not ctx.author.has_perm("messaging.message_customer"):
        raise ActionFailed(f"{ctx.author.display_name}, the rule's author, may no longer message customers.")
    notice = Notice(action["notice"])
    messages = notify(job=ctx.job, notice=notice, actor=ctx.author, automatic=True)
    parts = []
    for m in messages:
        parts.append(m.channel if m.status == OutboxMessage.Status.PENDING else f"{m.channel} skipped: {m.skip_reason}")
    return f"Notification “{notice.label}” to the customer: " + "; ".join(parts)


def set_field(action: dict[str, Any], ctx: Context) -> str:
    # The version read now, in the rule's transaction: the rule edits the job as it is, and a person
    # editing it at the same moment makes job_update refuse as stale (the rule is retried).
    job = Job.objects.get(pk=ctx.job.pk)
    name, value = action["field"], action["value"]
    if name == "priority":
        label = Priority(value).label
        if job.priority == value:
            return f"Priority already {label}"
        job_actions.job_update(actor=ctx.author, job_id=job.pk, version=job.version, changes={"priority": value})
        return f"Priority set to {label} (was {Priority(job.priority).label})"
    tags = set(job.tags.values_list("name", flat=True))
    if name == "add_tag":
        if value in tags:
            return f"Tag “{value}” already on the job"
        job_actions.job_update(actor=ctx.author, job_id=job.pk, version=job.version, changes={"tags": sorted(tags | {value})})
        return f"Tag “{value}” added"
    if value not in tags:
        return f"Tag “{value}” not on the job"
    job_actions.job_update(actor=ctx.author, job_id=job.pk, version=job.version, changes={"tags": sorted(tags - {value})})
    return f"Tag “{value}” removed"


def _visit_day_start(day: date) -> datetime:
    """The start of the working day on `day` (the dispatch board's first hour), in local time."""
    hour = DispatchSettings.current().day_start_hour
    return timezone.make_aware(datetime.combine(day, time(hour)))


def create_job(action: dict[str, Any], ctx: Context) -> str:
    days = action.get("days_after", 0)
    # 0 days means "no date": the follow-up waits in the office's queue to be scheduled.
    next_visit_at = _visit_day_start(ctx.event_day + timedelta(days=days)) if days else None
    job = job_actions.job_create(
        actor=ctx.author,
        customer_id=ctx.job.customer_id,
        location_id=ctx.job.location_id,
        contact_id=ctx.job.contact_id,
        job_type_id=action["job_type"],
        scope=fill(action["scope"], ctx),
        source=Source.DIRECT,
        source_reference=ctx.job.number,
        next_visit_at=next_visit_at,
    )
    type_name = JobType.objects.filter(pk=action["job_type"]).values_list("name", flat=True).first()
    when = f", visit planned {timezone.localtime(next_visit_at):%Y-%m-%d %H:%M}" if next_visit_at else ""
    return f"Follow-up job {job.number} created ({type_name}){when}"


RUNNERS: dict[str, Callable[[dict[str, Any], Context], str]] = {
    "raise_alert": raise_alert,
    "create_task": create_task,
    "add_requirement": add_requirement,
    "send_notification": send_notification,
    "set_field": set_field,
    "create_job": create_job,
}


def run(action: dict[str, Any], ctx: Context) -> str:
    """Do one action; returns its line for the run log. Raises ActionFailed or the DomainError of the
    action function it calls. Inside the caller's transaction."""
    return RUNNERS[action["kind"]](action, ctx)
