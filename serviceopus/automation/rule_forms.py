"""The rule form: reading its POST into what spec.clean_rule takes, showing a stored rule back in it, and
putting the spec's errors ("conditions.1", "actions.0", "trigger_params.minutes") next to the rows they
are about.

The form does not validate: the action (rules/editing.py, through spec.clean_rule) is the one judge,
so the page and any other caller refuse exactly the same rules. Field names are flat, one row per index:
`c-<i>-field`, `c-<i>-op`, `c-<i>-v-<field>` (one value input per field, only the chosen field's is
read), `c-<i>-tag`; `a-<i>-kind` and `a-<i>-<name>` for actions; `tp-<trigger>-<param>` for the
trigger's parameters (each trigger keeps its own, so switching triggers loses nothing). A row whose
field or kind is left empty is a blank row and is ignored. Adding and removing rows is done by the page's
script; without it, the "Add" and "Remove" buttons post the form back and it returns with the rows
changed and nothing saved.
"""

import re
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from django.http import QueryDict

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.closeout.models import DocumentTag, RequirementKind
from serviceopus.core.errors import InvalidInput
from serviceopus.customers.models import Customer
from serviceopus.jobs.models import JobType, Priority, Tag

from .models import EventType, WorkflowRule
from .models.events import TIME_BASED
from .rules.spec import ACTION_KINDS, FIELDS, MAX_ACTIONS, MAX_CONDITIONS, RULE_NOTICES, SETTABLE, TRIGGER_PARAMS

MANY_OPS = ("in", "not_in")
# Labels of the comparison a row offers, by op (the spec's are symbols; a select reads better in words).
OP_LABELS = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
    "is": "is",
    "is_not": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "has": "has",
    "has_not": "does not have",
    "contains": "contains",
    "not_contains": "does not contain",
}
LEVELS = (("info", "Information"), ("warning", "Warning"), ("urgent", "Urgent"))
# The fields each action kind shows (the page's script shows a row's fields for its kind).
ACTION_FIELDS = {
    "raise_alert": ("title", "body", "level", "to"),
    "create_task": ("title", "notes", "to", "due_days"),
    "add_requirement": ("requirement", "photo_tag", "min_count"),
    "send_notification": ("notice",),
    "set_field": ("set_field", "set_priority", "set_tag"),
    "create_job": ("job_type", "scope", "days_after"),
}
ACTION_INPUTS = sorted({name for names in ACTION_FIELDS.values() for name in names})
# Rows read from one POST at most (the spec refuses more than its maxima anyway; this bounds the work).
MAX_ROWS = 50
_ROW = re.compile(r"^([ca])-(\d{1,3})-(?:field|kind)$")
_IDS = re.compile(r"[\s,;]+")


def _param_name(trigger: str, param: str) -> str:
    return f"tp-{trigger}-{param}"


@dataclass
class ConditionRow:
    field: str = ""
    op: str = ""
    # The raw value of each field's input (a list: a multiple select sends several).
    values: dict[str, list[str]] = default(default_factory=dict)
    tag: str = ""
    error: str = ""
    index: int = 0

    def spec(self) -> dict[str, Any]:
        f = FIELDS.get(self.field)
        raw = [v.strip() for v in self.values.get(self.field, []) if v.strip()]
        if f is not None and f.name == "customer":
            raw = [v for text in raw for v in _IDS.split(text) if v]
        # A list where a list may be meant: several values for "is" must reach the spec, which refuses them.
        listed = f is not None and f.kind in ("choice", "model") and (self.op in MANY_OPS or len(raw) > 1)
        value: Any = raw if listed else (raw[0] if raw else "")
        item = {"field": self.field, "op": self.op, "value": value}
        if self.tag and f is not None and f.takes_tag:
            item["tag"] = self.tag
        return item


@dataclass
class ActionRow:
    kind: str = ""
    data: dict[str, str] = default(default_factory=dict)
    error: str = ""
    index: int = 0

    def spec(self) -> dict[str, Any]:
        d = self.data
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind in ("raise_alert", "create_task"):
            to = d.get("to", "")
            if to.startswith("role:"):
                out["to_role"] = to[5:]
            elif to.startswith("user:"):
                out["to_user"] = to[5:]
            out["title"] = d.get("title", "")
            if self.kind == "raise_alert":
                out.update(body=d.get("body", ""), level=d.get("level", ""))
            else:
                out.update(notes=d.get("notes", ""), due_days=d.get("due_days", ""))
        elif self.kind == "add_requirement":
            out["requirement"] = d.get("requirement", "")
            if d.get("requirement") == RequirementKind.PHOTOS:
                out.update(photo_tag=d.get("photo_tag", ""), min_count=d.get("min_count", ""))
        elif self.kind == "send_notification":
            out["notice"] = d.get("notice", "")
        elif self.kind == "set_field":
            out["field"] = d.get("set_field", "")
            out["value"] = d.get("set_priority", "") if d.get("set_field") == "priority" else d.get("set_tag", "")
        elif self.kind == "create_job":
            out.update(job_type=d.get("job_type", ""), scope=d.get("scope", ""), days_after=d.get("days_after", ""))
        return out


def _condition_from_stored(c: dict[str, Any]) -> ConditionRow:
    value = c.get("value")
    values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if c.get("field") == "customer":
        values = [", ".join(values)]
    return ConditionRow(field=c.get("field", ""), op=c.get("op", ""), values={c.get("field", ""): values}, tag=c.get("tag", ""))


def _action_from_stored(a: dict[str, Any]) -> ActionRow:
    data = {k: str(v) for k, v in a.items() if k != "kind" and v is not None}
    if a.get("to_role"):
        data["to"] = f"role:{a['to_role']}"
    elif a.get("to_user") is not None:
        data["to"] = f"user:{a['to_user']}"
    if a.get("kind") == "set_field":
        data["set_field"] = a.get("field", "")
        data["set_priority" if a.get("field") == "priority" else "set_tag"] = str(a.get("value", ""))
    return ActionRow(kind=a.get("kind", ""), data=data)


class RuleForm:
    """The rule as the form holds it (raw strings), its errors, and what the template needs to draw it."""

    def __init__(self) -> None:
        self.name = ""
        self.description = ""
        self.enabled = True
        self.version: int | None = None
        self.trigger = ""
        self.params: dict[str, dict[str, str]] = {t: {} for t in TRIGGER_PARAMS}
        self.conditions: list[ConditionRow] = []
        self.actions: list[ActionRow] = [ActionRow()]
        # "name", "description", "enabled", "trigger", "trigger_params", "conditions", "actions", "form"
        self.errors: dict[str, str] = {}
        self.param_errors: dict[str, str] = {}
        # The edit was refused as stale: the page offers to reload the current version.
        self.stale = False
        # Positions in the lists handed to the spec → the rows they came from.
        self._spec_conditions: list[ConditionRow] = []
        self._spec_actions: list[ActionRow] = []

    # ---- reading -----------------------------------------------------------------------------------

    @classmethod
    def from_rule(cls, rule: WorkflowRule) -> "RuleForm":
        form = cls()
        form.name, form.description, form.enabled, form.version = rule.name, rule.description, rule.enabled, rule.version
        form.trigger = rule.trigger
        form.params[rule.trigger] = {k: str(v) for k, v in (rule.trigger_params or {}).items()}
        form.conditions = [_condition_from_stored(c) for c in rule.conditions or []]
        form.actions = [_action_from_stored(a) for a in rule.actions or []] or [ActionRow()]
        form._renumber()
        return form

    @classmethod
    def from_post(cls, post: QueryDict) -> "RuleForm":
        form = cls()
        form.name = post.get("name", "")
        form.description = post.get("description", "")
        form.enabled = post.get("enabled") in ("on", "1", "true")
        version = post.get("version", "")
        form.version = int(version) if version.isdigit() and len(version) < 10 else None
        form.trigger = post.get("trigger", "")
        form.params = {t: {p.name: post.get(_param_name(t, p.name), "") for p in params} for t, params in TRIGGER_PARAMS.items()}
        rows: dict[str, list[int]] = {"c": [], "a": []}
        for key in post:
            if m := _ROW.match(key):
                rows[m.group(1)].append(int(m.group(2)))
        remove = post.get("_remove", "")
        form.conditions = [
            ConditionRow(
                field=post.get(f"c-{i}-field", ""),
                op=post.get(f"c-{i}-op", ""),
                values={name: post.getlist(f"c-{i}-v-{name}") for name in FIELDS},
                tag=post.get(f"c-{i}-tag", ""),
            )
            for i in sorted(set(rows["c"]))[:MAX_ROWS]
            if remove != f"c-{i}"
        ]
        form.actions = [
            ActionRow(kind=post.get(f"a-{i}-kind", ""), data={name: post.get(f"a-{i}-{name}", "") for name in ACTION_INPUTS})
            for i in sorted(set(rows["a"]))[:MAX_ROWS]
            if remove != f"a-{i}"
        ]
        added = post.get("_add", "")
        if added == "condition" and len(form.conditions) < MAX_CONDITIONS:
            form.conditions.append(ConditionRow())
        elif added == "action" and len(form.actions) < MAX_ACTIONS:
            form.actions.append(ActionRow())
        form._renumber()
        return form

    def _renumber(self) -> None:
        for i, row in enumerate(self.conditions):
            row.index = i
        for i, action in enumerate(self.actions):
            action.index = i

    def spec_input(self) -> dict[str, Any]:
        """Keyword arguments for rule_create / rule_update (without actor, id and version)."""
        self._spec_conditions = [row for row in self.conditions if row.field]
        self._spec_actions = [row for row in self.actions if row.kind]
        trigger_params = {k: v for k, v in self.params.get(self.trigger, {}).items() if v != ""}
        return {
            "name": self.name,
            "description": self.description,
            "enabled": self.enabled,
            "trigger": self.trigger,
            "trigger_params": trigger_params,
            "conditions": [row.spec() for row in self._spec_conditions],
            "actions": [row.spec() for row in self._spec_actions],
        }

    # ---- errors ------------------------------------------------------------------------------------

    def apply_errors(self, exc: InvalidInput) -> None:
        """Put each of the action's messages next to what it is about; what matches nothing on the form
        goes to the top."""
        for key, message in exc.fields.items():
            part, _, rest = key.partition(".")
            if part == "trigger_params" and rest:
                self.param_errors[rest] = message
            elif part in ("conditions", "actions") and rest.isdigit():
                rows = self._spec_conditions if part == "conditions" else self._spec_actions
                if int(rest) < len(rows):
                    rows[int(rest)].error = message
                else:
                    self.errors[part] = message
            elif key in ("name", "description", "enabled", "trigger", "trigger_params", "conditions", "actions"):
                self.errors[key] = message
            else:
                self.errors["form"] = message
        if not exc.fields:
            self.errors["form"] = exc.message

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.param_errors or any(r.error for r in self.conditions) or any(r.error for r in self.actions))

    @property
    def can_add_condition(self) -> bool:
        return len(self.conditions) < MAX_CONDITIONS

    @property
    def can_add_action(self) -> bool:
        return len(self.actions) < MAX_ACTIONS

    # ---- drawing -----------------------------------------------------------------------------------

    def context(self) -> dict[str, Any]:
        """What the template draws: the trigger blocks, each row's widgets, the choices (a fixed
        number of queries: job types, office users, tags, and the customers the rows name)."""
        choices = Choices.load(customer_ids=self._customer_ids())
        return {
            "rule_form": self,
            "choices": choices,
            "trigger_groups": choices.trigger_groups(self.trigger),
            "trigger_blocks": [self._trigger_block(t) for t in TRIGGER_PARAMS],
            "condition_rows": [choices.condition_row(row) for row in self.conditions],
            "condition_template": choices.condition_row(ConditionRow(index=-1)),
            "action_rows": [choices.action_row(row) for row in self.actions],
            "action_template": choices.action_row(ActionRow(index=-1)),
            "max_conditions": MAX_CONDITIONS,
            "max_actions": MAX_ACTIONS,
        }

    def _customer_ids(self) -> set[int]:
        ids: set[int] = set()
        for row in self.conditions:
            if row.field == "customer":
                ids.update(int(v) for text in row.values.get("customer", []) for v in _IDS.split(text) if v.isdigit() and len(v) < 19)
        return ids

    def _trigger_block(self, trigger: str) -> dict[str, Any]:
        values = self.params.get(trigger, {})
        params = []
        for p in TRIGGER_PARAMS[trigger]:
            value = values.get(p.name, "")
            params.append(
                {
                    "label": p.label,
                    "name": _param_name(trigger, p.name),
                    "id": "id_" + _param_name(trigger, p.name).replace(".", "_"),
                    "kind": p.kind,
                    "required": p.required,
                    "low": p.low,
                    "high": p.high,
                    "value": value,
                    "options": [(k, label, k == value) for k, label in p.choices],
                    "error": self.param_errors.get(p.name, "") if trigger == self.trigger else "",
                }
            )
        return {"trigger": trigger, "label": EventType(trigger).label, "params": params, "hidden": trigger != self.trigger}


@dataclass
class Choices:
    """Everything a select on the form offers, read once per page."""

    job_types: list[tuple[str, str, bool]]  # (id, name, active)
    users: list[tuple[str, str]]  # ("user:<id>", name)
    tag_names: list[str]
    customers: dict[str, str]  # id → name, for the customers the rows name

    ROLES = tuple((f"role:{r.value}", r.label) for r in Role if r != Role.TECHNICIAN)
    TAG_LIMIT = 300

    @classmethod
    def load(cls, *, customer_ids: set[int]) -> "Choices":
        job_types = [(str(pk), name, active) for pk, name, active in JobType.objects.order_by("name").values_list("pk", "name", "active")]
        users = [
            (f"user:{u.pk}", f"{u.display_name} · {u.get_role_display()}")
            for u in User.objects.filter(is_active=True).exclude(role=Role.TECHNICIAN).order_by("first_name", "last_name", "username")
        ]
        tag_names = list(Tag.objects.order_by("name").values_list("name", flat=True)[: cls.TAG_LIMIT])
        customers = {str(pk): name for pk, name in Customer.objects.filter(pk__in=customer_ids).values_list("pk", "name")} if customer_ids else {}
        return cls(job_types=job_types, users=users, tag_names=tag_names, customers=customers)

    def trigger_groups(self, selected: str) -> list[tuple[str, list[tuple[str, str, bool]]]]:
        happens = [(t.value, t.label, t.value == selected) for t in EventType if t in TRIGGER_PARAMS and t not in TIME_BASED]
        timed = [(t.value, t.label, t.value == selected) for t in EventType if t in TRIGGER_PARAMS and t in TIME_BASED]
        return [("When something happens", happens), ("Time-based (checked every minute)", timed)]

    def condition_row(self, row: ConditionRow) -> dict[str, Any]:
        prefix = f"c-{row.index if row.index >= 0 else '__i__'}"
        many = row.op in MANY_OPS
        widgets = []
        for f in FIELDS.values():
            chosen = [v for v in row.values.get(f.name, [])] if f.name == row.field else []
            widget: dict[str, Any] = {"field": f.name, "label": f.label, "name": f"{prefix}-v-{f.name}", "hidden": f.name != row.field}
            if f.name == "job_type":
                widget.update(
                    kind="select",
                    can_many=True,
                    multiple=many,
                    options=[(k, name + ("" if active else " (inactive)"), k in chosen) for k, name, active in self.job_types],
                )
            elif f.name == "customer":
                text = chosen[0] if chosen else ""
                ids = [v for v in _IDS.split(text) if v]
                widget.update(kind="customer", value=text, names=[self.customers.get(v, f"#{v} (not found)") for v in ids])
            elif f.kind == "choice" or f.choices:
                can_many = f.kind == "choice"
                widget.update(
                    kind="select", can_many=can_many, multiple=many and can_many, options=[(str(k), label, str(k) in chosen) for k, label in f.choices]
                )
            elif f.kind == "number":
                widget.update(kind="number", value=chosen[0] if chosen else "")
            else:
                widget.update(kind="tag" if f.kind == "tag" else "text", value=chosen[0] if chosen else "")
            widgets.append(widget)
        return {
            "index": prefix[2:],
            "prefix": prefix,
            "field": row.field,
            "fields": [(f.name, f.label, " ".join(f.ops), f.kind, f.name == row.field) for f in FIELDS.values()],
            "ops": [(op, OP_LABELS[op], op == row.op) for op in OP_LABELS],
            "allowed_ops": " ".join(FIELDS[row.field].ops) if row.field in FIELDS else "",
            "widgets": widgets,
            "takes_tag": bool(row.field in FIELDS and FIELDS[row.field].takes_tag),
            "tag_options": [(k, label, k == row.tag) for k, label in DocumentTag.choices],
            "error": row.error,
        }

    def action_row(self, row: ActionRow) -> dict[str, Any]:
        prefix = f"a-{row.index if row.index >= 0 else '__i__'}"
        d = row.data

        def options(pairs: Any, current: str) -> list[tuple[str, str, bool]]:
            return [(str(k), label, str(k) == current) for k, label in pairs]

        return {
            "index": prefix[2:],
            "prefix": prefix,
            "kind": row.kind,
            "kinds": options(ACTION_KINDS.items(), row.kind),
            "shows": {name: row.kind in kinds for name, kinds in _SHOWN_BY.items()},
            "kinds_of": {name: " ".join(kinds) for name, kinds in _SHOWN_BY.items()},
            "data": d,
            "levels": options(LEVELS, d.get("level", "info") or "info"),
            "roles": options(self.ROLES, d.get("to", "")),
            "users": options(self.users, d.get("to", "")),
            "requirements": options(RequirementKind.choices, d.get("requirement", "")),
            "photo_tags": options(DocumentTag.choices, d.get("photo_tag", "")),
            "notices": options(RULE_NOTICES, d.get("notice", "")),
            "settable": options(SETTABLE.items(), d.get("set_field", "")),
            "priorities": options(Priority.choices, d.get("set_priority", "")),
            "job_types": [(k, name, k == d.get("job_type", "")) for k, name, active in self.job_types if active],
            "error": row.error,
        }


# Which kinds show each input of an action row.
_SHOWN_BY: dict[str, tuple[str, ...]] = {name: tuple(k for k, names in ACTION_FIELDS.items() if name in names) for name in ACTION_INPUTS}
