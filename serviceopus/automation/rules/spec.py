"""What a workflow rule may say, and the one validation every save goes through.

A rule is a trigger (an EventType, with parameters), conditions (all must hold) and actions (run in
order). This module declares each kind with its parameters; `clean_rule` checks a whole rule against
it and returns the cleaned JSON to store, or raises InvalidInput naming each wrong part ("conditions.1":
"Photos takes a whole number.") — the form shows those messages next to the rows. The engine reads
stored rules only through these declarations, so it never meets a shape the form did not accept.
"""

import string
from dataclasses import dataclass, field
from typing import Any

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.closeout.models import DocumentTag, RequirementKind
from serviceopus.core.errors import InvalidInput
from serviceopus.customers.models import Customer
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import BillingType, JobType, Priority
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging.models import Notice

from ..models import EventType

MAX_CONDITIONS = 10
MAX_ACTIONS = 5
TEXT_MAX = 200

# ---- triggers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: str  # "int", "choice"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    low: int = 0
    high: int = 0


TRIGGER_PARAMS: dict[str, tuple[Param, ...]] = {
    EventType.JOB_CREATED: (),
    EventType.JOB_STATUS_CHANGED: (
        Param("from", "From status", "choice", choices=tuple(JobStatus.choices)),
        Param("to", "To status", "choice", choices=tuple(JobStatus.choices)),
    ),
    EventType.VISIT_STATUS_CHANGED: (Param("to", "To status", "choice", choices=tuple(VisitStatus.choices)),),
    EventType.BLOCKER_OPENED: (),
    EventType.INVOICE_ISSUED: (),
    EventType.PAYMENT_RECORDED: (),
    EventType.VISIT_LATE: (Param("which", "Which", "choice", required=True, choices=(("at_risk", "At risk"), ("late", "Late"))),),
    EventType.JOB_OVERDUE: (Param("hours", "Hours after its last visit ended", "int", required=True, low=1, high=24 * 60),),
    EventType.VISIT_PAUSED_LONG: (Param("minutes", "Paused longer than (minutes)", "int", required=True, low=5, high=24 * 60),),
    EventType.INVOICE_UNPAID: (Param("days", "Unpaid days after issue", "int", required=True, low=1, high=365),),
}

# ---- conditions ----------------------------------------------------------------------------------------

NUMBER_OPS = {"eq": "=", "ne": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}
CHOICE_OPS = {"is": "is", "is_not": "is not", "in": "is one of", "not_in": "is none of"}
TAG_OPS = {"has": "has", "has_not": "does not have"}
TEXT_OPS = {"contains": "contains", "not_contains": "does not contain"}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # "number", "choice", "model", "tag", "text"
    ops: dict[str, str] = field(default_factory=dict)
    choices: tuple[tuple[Any, str], ...] = ()
    model: Any = None  # for "model": the table whose id is the value
    # "photo_count" takes an optional photo tag next to its value.
    takes_tag: bool = False


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("job_type", "Job type", "model", CHOICE_OPS, model=JobType),
        Field("priority", "Priority", "number", NUMBER_OPS, choices=tuple(Priority.choices)),
        Field("tags", "Tags", "tag", TAG_OPS),
        Field("billing_type", "Billing type", "choice", CHOICE_OPS, choices=tuple(BillingType.choices)),
        Field("customer", "Customer", "model", CHOICE_OPS, model=Customer),
        Field("status", "Job status", "choice", CHOICE_OPS, choices=tuple(JobStatus.choices)),
        Field("photo_count", "Photos on the job", "number", NUMBER_OPS, takes_tag=True),
        Field("estimated_duration_minutes", "Estimated duration (minutes)", "number", NUMBER_OPS),
        Field("open_tasks", "Open follow-up tasks", "number", NUMBER_OPS),
        Field("open_blockers", "Open completion blockers", "number", NUMBER_OPS),
        Field("scope", "Scope", "text", TEXT_OPS),
    )
}

# ---- actions -------------------------------------------------------------------------------------------

# Placeholders a title or body may use; filled from the job when the action runs.
PLACEHOLDERS = {"job_number": "the job's number", "customer": "the customer's name", "job_type": "the job type", "rule": "the rule's name"}
SETTABLE = {"priority": "Priority", "add_tag": "Add tag", "remove_tag": "Remove tag"}

ACTION_KINDS = {
    "raise_alert": "Raise an alert",
    "create_task": "Create a follow-up task",
    "add_requirement": "Add a closeout requirement",
    "send_notification": "Send a notification to the customer",
    "set_field": "Set a field",
    "create_job": "Create a follow-up job",
}
# Customer notices a rule may send (the office alert is not a customer notice; approvals need a request).
RULE_NOTICES = tuple((n.value, n.label) for n in Notice if n not in (Notice.OFFICE_ALERT, Notice.APPROVAL_REQUESTED, Notice.OFFICE_MESSAGE))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _text(value: Any, *, required: bool, limit: int = TEXT_MAX) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        raise ValueError("must be text")
    if required and not text:
        raise ValueError("is required")
    if len(text) > limit or "\x00" in text:
        raise ValueError(f"must be at most {limit} characters")
    fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    unknown = fields - set(PLACEHOLDERS)
    if unknown:
        raise ValueError("uses unknown placeholder {" + sorted(unknown)[0] + "}; use " + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
    return text


def _choice(value: Any, choices: tuple[tuple[Any, str], ...], what: str) -> Any:
    for key, _label in choices:
        if value == key or (isinstance(key, int) and _int(value) == key):
            return key
    raise ValueError(f"{what} must be one of " + ", ".join(str(k) for k, _ in choices))


def clean_trigger(trigger: Any, params: Any) -> tuple[str, dict[str, Any]]:
    if trigger not in TRIGGER_PARAMS:
        raise InvalidInput("The rule was not saved.", {"trigger": "Choose what triggers the rule."})
    params = params if isinstance(params, dict) else {}
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for p in TRIGGER_PARAMS[trigger]:
        value = params.get(p.name)
        if value in (None, ""):
            if p.required:
                errors[f"trigger_params.{p.name}"] = f"{p.label} is required."
            continue
        if p.kind == "int":
            number = _int(value)
            if number is None or not p.low <= number <= p.high:
                errors[f"trigger_params.{p.name}"] = f"{p.label} must be a whole number from {p.low} to {p.high}."
            else:
                cleaned[p.name] = number
        else:
            if value not in dict(p.choices):
                errors[f"trigger_params.{p.name}"] = f"{p.label} must be one of " + ", ".join(k for k, _ in p.choices) + "."
            else:
                cleaned[p.name] = value
    unknown = set(params) - {p.name for p in TRIGGER_PARAMS[trigger]}
    if unknown and not errors:
        errors["trigger_params"] = f"This trigger takes no {sorted(unknown)[0]!r}."
    if trigger == EventType.JOB_STATUS_CHANGED and cleaned.get("from") and cleaned.get("from") == cleaned.get("to"):
        errors["trigger_params.to"] = "From and to must differ."
    if errors:
        raise InvalidInput("The rule was not saved.", errors)
    return trigger, cleaned


def _condition_value(f: Field, op: str, value: Any) -> Any:
    if f.kind == "number":
        if f.choices:
            return _choice(value, f.choices, f.label)
        number = _int(value)
        if number is None or not 0 <= number <= 10**6:
            raise ValueError(f"{f.label} takes a whole number from 0 to 1000000")
        return number
    if f.kind == "tag":
        tag = _text(value, required=True, limit=50).lower()
        if "{" in tag:
            raise ValueError("a tag has no placeholders")
        return tag
    if f.kind == "text":
        return _text(value, required=True)
    many = op in ("in", "not_in")
    values = value if isinstance(value, list) else [value]
    if not values or (not many and len(values) != 1) or len(values) > 50:
        raise ValueError(f"choose {'one or more' if many else 'one'} {f.label.lower()}")
    if f.kind == "choice":
        out = [_choice(v, f.choices, f.label) for v in values]
    else:
        ids = [_int(v) for v in values]
        if None in ids:
            raise ValueError(f"choose a {f.label.lower()}")
        found = set(f.model.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if len(found) != len(set(ids)):
            raise ValueError(f"that {f.label.lower()} does not exist")
        out = ids
    return out if many else out[0]


def clean_conditions(conditions: Any) -> list[dict[str, Any]]:
    if conditions in (None, ""):
        return []
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        raise InvalidInput("The rule was not saved.", {"conditions": f"At most {MAX_CONDITIONS} conditions."})
    cleaned, errors = [], {}
    for i, c in enumerate(conditions):
        key = f"conditions.{i}"
        f = FIELDS.get(c.get("field")) if isinstance(c, dict) else None
        if f is None:
            errors[key] = "Choose a field: " + ", ".join(FIELDS) + "."
            continue
        op = c.get("op")
        if op not in f.ops:
            errors[key] = f"{f.label} can be compared with " + ", ".join(f.ops) + f", not {op!r}."
            continue
        try:
            item = {"field": f.name, "op": op, "value": _condition_value(f, op, c.get("value"))}
            if f.takes_tag and c.get("tag"):
                item["tag"] = _choice(c.get("tag"), tuple(DocumentTag.choices), "The photo tag")
        except ValueError as exc:
            errors[key] = f"{f.label}: {exc}."
            continue
        cleaned.append(item)
    if errors:
        raise InvalidInput("The rule was not saved.", errors)
    return cleaned


def _clean_action(a: dict[str, Any]) -> dict[str, Any]:
    kind = a.get("kind")
    if kind == "raise_alert":
        out = {"kind": kind, "title": _text(a.get("title"), required=True), "body": _text(a.get("body"), required=False, limit=1000)}
        out["level"] = _choice(a.get("level") or "info", (("info", ""), ("warning", ""), ("urgent", "")), "The level")
        out.update(_recipient(a))
        return out
    if kind == "create_task":
        out = {"kind": kind, "title": _text(a.get("title"), required=True), "notes": _text(a.get("notes"), required=False, limit=1000)}
        due = _int(a.get("due_days") if a.get("due_days") not in (None, "") else 1)
        if due is None or not 0 <= due <= 365:
            raise ValueError("the due date must be 0 to 365 days after the event")
        out["due_days"] = due
        out.update(_recipient(a))
        return out
    if kind == "add_requirement":
        req = _choice(a.get("requirement"), tuple(RequirementKind.choices), "The requirement")
        out = {"kind": kind, "requirement": req}
        if req == RequirementKind.PHOTOS:
            out["photo_tag"] = _choice(a.get("photo_tag"), tuple(DocumentTag.choices), "The photo tag")
            count = _int(a.get("min_count") or 1)
            if count is None or not 1 <= count <= 50:
                raise ValueError("the number of photos must be 1 to 50")
            out["min_count"] = count
        return out
    if kind == "send_notification":
        return {"kind": kind, "notice": _choice(a.get("notice"), RULE_NOTICES, "The notification")}
    if kind == "set_field":
        name = _choice(a.get("field"), tuple(SETTABLE.items()), "The field")
        if name == "priority":
            return {"kind": kind, "field": name, "value": _choice(a.get("value"), tuple(Priority.choices), "The priority")}
        tag = _text(a.get("value"), required=True, limit=50).lower()
        return {"kind": kind, "field": name, "value": tag}
    if kind == "create_job":
        job_type = _int(a.get("job_type"))
        if job_type is None or not JobType.objects.filter(pk=job_type, active=True).exists():
            raise ValueError("choose an active job type")
        days = _int(a.get("days_after") if a.get("days_after") not in (None, "") else 0)
        if days is None or not 0 <= days <= 730:
            raise ValueError("days after must be 0 to 730")
        return {"kind": kind, "job_type": job_type, "scope": _text(a.get("scope"), required=True, limit=2000), "days_after": days}
    raise ValueError("choose what the action does: " + ", ".join(ACTION_KINDS))


def _recipient(a: dict[str, Any]) -> dict[str, Any]:
    """An alert or a task goes to a role or to one user (exactly one of the two)."""
    role, user = a.get("to_role") or "", _int(a.get("to_user")) if a.get("to_user") not in (None, "") else None
    if bool(role) == (user is not None):
        raise ValueError("choose a role or a user, one of the two")
    if role:
        # Alerts and tasks are the office's: technicians have no alert centre and no task list.
        office_roles = tuple(c for c in Role.choices if c[0] != Role.TECHNICIAN)
        return {"to_role": _choice(role, office_roles, "The role")}
    if not User.objects.filter(pk=user, is_active=True).exclude(role=Role.TECHNICIAN).exists():
        raise ValueError("choose an active office user")
    return {"to_user": user}


def clean_actions(actions: Any) -> list[dict[str, Any]]:
    if not isinstance(actions, list) or not actions:
        raise InvalidInput("The rule was not saved.", {"actions": "Add at least one action."})
    if len(actions) > MAX_ACTIONS:
        raise InvalidInput("The rule was not saved.", {"actions": f"At most {MAX_ACTIONS} actions."})
    cleaned, errors = [], {}
    for i, a in enumerate(actions):
        try:
            if not isinstance(a, dict):
                raise ValueError("an action is a set of fields")
            cleaned.append(_clean_action(a))
        except ValueError as exc:
            label = ACTION_KINDS.get(a.get("kind"), "Action") if isinstance(a, dict) else "Action"
            errors[f"actions.{i}"] = f"{label}: {exc}."
    if errors:
        raise InvalidInput("The rule was not saved.", errors)
    return cleaned


def clean_rule(*, trigger: Any, trigger_params: Any, conditions: Any, actions: Any) -> dict[str, Any]:
    """The rule's trigger, parameters, conditions and actions as stored; raises InvalidInput with every
    wrong part at once (each key names the part: "trigger", "trigger_params.minutes", "conditions.0",
    "actions.1")."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name, clean in (
        ("trigger", lambda: clean_trigger(trigger, trigger_params)),
        ("conditions", lambda: clean_conditions(conditions)),
        ("actions", lambda: clean_actions(actions)),
    ):
        try:
            out[name] = clean()
        except InvalidInput as exc:
            errors.update(exc.fields)
    if errors:
        raise InvalidInput("The rule was not saved: " + " ".join(errors.values()), errors)
    trigger, params = out["trigger"]
    return {"trigger": trigger, "trigger_params": params, "conditions": out["conditions"], "actions": out["actions"]}
