"""Reading a rule's conditions against the job as it is now.

`evaluate(rule, event)` checks every stored condition (spec.clean_conditions made them, so each names a
field of spec.FIELDS and one of its ops) and says, line by line, why the rule matched or not — the run
log shows these lines to the admin who wonders why a rule did (not) fire. All conditions are read, even
after one fails, so the log is complete.

Conditions read the CURRENT rows, not the event's payload: a rule that runs a minute after a job reached
work complete asks how many photos the job has now. Each field costs at most one query.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from serviceopus.closeout.blockers import completion_blockers
from serviceopus.closeout.models import Document, DocumentTag
from serviceopus.customers.models import Customer
from serviceopus.jobs.models import BillingType, Job, JobType, Priority
from serviceopus.jobs.status import JobStatus

from ..models import AutomationEvent, FollowUpTask, WorkflowRule
from . import spec


@dataclass
class Subject:
    """The job a rule is evaluated against, with what its readers have already fetched."""

    job: Job
    cache: dict[str, Any] = field(default_factory=dict)


def current_job(job_id: int) -> Job:
    return Job.objects.select_related("job_type", "customer").get(pk=job_id)


# ---- readers: the field's current value, and how to show it --------------------------------------------


def _photo_count(subject: Subject, condition: dict[str, Any]) -> int:
    qs = Document.objects.filter(job_id=subject.job.pk, kind=Document.Kind.PHOTO)
    if condition.get("tag"):
        qs = qs.filter(tag=condition["tag"])
    return qs.count()


def _tags(subject: Subject, condition: dict[str, Any]) -> set[str]:
    if "tags" not in subject.cache:
        subject.cache["tags"] = set(subject.job.tags.values_list("name", flat=True))
    return subject.cache["tags"]


def _open_tasks(subject: Subject, condition: dict[str, Any]) -> int:
    return FollowUpTask.objects.filter(job_id=subject.job.pk, done_at__isnull=True).count()


def _open_blockers(subject: Subject, condition: dict[str, Any]) -> int:
    return len(completion_blockers(subject.job))


READERS: dict[str, Callable[[Subject, dict[str, Any]], Any]] = {
    "job_type": lambda s, c: s.job.job_type_id,
    "priority": lambda s, c: s.job.priority,
    "tags": _tags,
    "billing_type": lambda s, c: s.job.billing_type,
    "customer": lambda s, c: s.job.customer_id,
    "status": lambda s, c: s.job.status,
    "photo_count": _photo_count,
    "estimated_duration_minutes": lambda s, c: s.job.estimated_duration_minutes,
    "open_tasks": _open_tasks,
    "open_blockers": _open_blockers,
    "scope": lambda s, c: s.job.scope,
}


def _labels(name: str, values: list[Any]) -> dict[Any, str]:
    """Readable names for the values a condition or the job holds (one query for a model field)."""
    if name == "job_type":
        return dict(JobType.objects.filter(pk__in=values).values_list("pk", "name"))
    if name == "customer":
        return dict(Customer.objects.filter(pk__in=values).values_list("pk", "name"))
    choices = {"priority": Priority.choices, "billing_type": BillingType.choices, "status": JobStatus.choices}.get(name, ())
    return {key: str(label) for key, label in choices}


# ---- ops --------------------------------------------------------------------------------------------------


NUMBER = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}
CHOICE = {
    "is": lambda a, b: a == b,
    "is_not": lambda a, b: a != b,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
}
TAG = {"has": lambda tags, tag: tag in tags, "has_not": lambda tags, tag: tag not in tags}
# Text is compared ignoring case: "Leak" in a scope that says "leaking" is what the admin means.
TEXT = {"contains": lambda text, part: part.casefold() in text.casefold(), "not_contains": lambda text, part: part.casefold() not in text.casefold()}
OPS = {"number": NUMBER, "choice": CHOICE, "model": CHOICE, "tag": TAG, "text": TEXT}


def _yes(held: bool) -> str:
    return "yes" if held else "no"


def check(subject: Subject, condition: dict[str, Any]) -> tuple[bool, str]:
    """One condition: whether it holds, and the line that says so."""
    f = spec.FIELDS[condition["field"]]
    op, wanted = condition["op"], condition["value"]
    actual = READERS[f.name](subject, condition)
    held = bool(OPS[f.kind][op](actual, wanted))
    if f.kind == "tag":
        return held, f"Job {spec.TAG_OPS[op]} tag “{wanted}”: {_yes(held)}"
    if f.kind == "text":
        return held, f"{f.label} {spec.TEXT_OPS[op]} “{wanted}”: {_yes(held)}"
    label = f.label
    if f.takes_tag and condition.get("tag"):
        label = f"Photos tagged {DocumentTag(condition['tag']).label.lower()} on the job"
    if f.kind == "number":
        names = _labels(f.name, []) if f.choices else {}
        shown_wanted, shown_actual = names.get(wanted, wanted), names.get(actual, actual)
        return held, f"{label} {spec.NUMBER_OPS[op]} {shown_wanted}: {_yes(held)} ({shown_actual})"
    wanted_list = wanted if isinstance(wanted, list) else [wanted]
    names = _labels(f.name, [*wanted_list, actual])
    shown_wanted = ", ".join(str(names.get(v, v)) for v in wanted_list)
    return held, f"{label} {spec.CHOICE_OPS[op]} {shown_wanted}: {_yes(held)} ({names.get(actual, actual)})"


def evaluate(rule: WorkflowRule, event: AutomationEvent, job: Job | None = None) -> tuple[bool, list[str]]:
    """Whether all of the rule's conditions hold for the event's job as it is now, and one line per
    condition saying why. `job` may be given already read (the engine reads it once per event)."""
    if event.job_id is None:
        return False, ["This event concerns no job; rules act on jobs."]
    conditions = rule.conditions or []
    if not conditions:
        return True, ["No conditions: the rule runs on every such event."]
    subject = Subject(job if job is not None else current_job(event.job_id))
    results = [check(subject, c) for c in conditions]
    return all(held for held, _ in results), [line for _, line in results]
