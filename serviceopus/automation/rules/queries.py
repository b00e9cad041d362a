"""Every read the rule pages need, and a rule told in words.

The list costs a fixed number of queries whatever the number of rules or runs: the rules with their last
run (two subqueries on the run log's (rule, created_at) index), the 7-day counts by outcome (one grouped
query), and one query per kind of name a rule may mention (job types, customers, users), only when some
rule mentions one. A rule's run log is read in keyset pages, so a rule that ran a million times shows
its latest page as fast as a new one.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, OuterRef, Subquery
from django.shortcuts import get_object_or_404

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.closeout.models import DocumentTag, RequirementKind
from serviceopus.customers.models import Customer
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import JobType, Priority
from serviceopus.jobs.pagination import Page, SortKey, paginate
from serviceopus.jobs.status import JobStatus

from ..models import EventType, RuleRun, WorkflowRule
from .spec import ACTION_KINDS, CHOICE_OPS, FIELDS, NUMBER_OPS, RULE_NOTICES, TEXT_OPS

LIST_LIMIT = 500
RUNS_PAGE = 25
RECENT_DAYS = 7
# Who a task or an alert goes to, as a sentence says it ("for Service managers").
ROLE_PLURAL = {
    Role.ADMIN: "Admins",
    Role.MANAGER: "Service managers",
    Role.DISPATCHER: "Dispatchers",
    Role.OFFICE: "Office / accounting",
    Role.TECHNICIAN: "Technicians",
}
RUN_KEYS = [SortKey("created_at", True), SortKey("id", True)]


# ---- names a rule mentions by id ---------------------------------------------------------------------


@dataclass
class Names:
    job_types: dict[int, str] = field(default_factory=dict)
    customers: dict[int, str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)


def _ids(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def names_for(rules: Iterable[WorkflowRule]) -> Names:
    """The names of the job types, customers and users these rules mention: at most three queries."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for rule in rules:
        for c in rule.conditions or []:
            if c.get("field") == "job_type":
                wanted["job_types"].update(_ids(c.get("value")))
            elif c.get("field") == "customer":
                wanted["customers"].update(_ids(c.get("value")))
        for a in rule.actions or []:
            if a.get("to_user") is not None:
                wanted["users"].update(_ids(a.get("to_user")))
            if a.get("kind") == "create_job":
                wanted["job_types"].update(_ids(a.get("job_type")))
    names = Names()
    if wanted["job_types"]:
        names.job_types = dict(JobType.objects.filter(pk__in=wanted["job_types"]).values_list("pk", "name"))
    if wanted["customers"]:
        names.customers = dict(Customer.objects.filter(pk__in=wanted["customers"]).values_list("pk", "name"))
    if wanted["users"]:
        names.users = {u.pk: u.display_name for u in User.objects.filter(pk__in=wanted["users"]).only("pk", "username", "first_name", "last_name")}
    return names


# ---- a rule in words ---------------------------------------------------------------------------------


def _label(choices: Iterable[tuple[Any, str]], value: Any) -> str:
    return dict(choices).get(value, str(value))


def _plural(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def trigger_words(trigger: str, params: dict[str, Any]) -> str:
    """ "When a job's status changes to Work complete" """
    if trigger == EventType.JOB_STATUS_CHANGED:
        words = "When a job's status changes"
        if params.get("from"):
            words += " from " + _label(JobStatus.choices, params["from"])
        if params.get("to"):
            words += " to " + _label(JobStatus.choices, params["to"])
        return words
    if trigger == EventType.VISIT_STATUS_CHANGED:
        return "When a visit's status changes" + (" to " + _label(VisitStatus.choices, params["to"]) if params.get("to") else "")
    if trigger == EventType.VISIT_LATE:
        return "When a visit is late" if params.get("which") == "late" else "When a visit is at risk of being late"
    if trigger == EventType.JOB_OVERDUE:
        return f"When a job is still open {_plural(params.get('hours', 0), 'hour')} after its last visit ended"
    if trigger == EventType.VISIT_PAUSED_LONG:
        return f"When a visit has been paused for more than {_plural(params.get('minutes', 0), 'minute')}"
    if trigger == EventType.INVOICE_UNPAID:
        return f"When an invoice is still unpaid {_plural(params.get('days', 0), 'day')} after it was issued"
    return {
        EventType.JOB_CREATED: "When a job is created",
        EventType.BLOCKER_OPENED: "When a completion blocker opens on a job",
        EventType.INVOICE_ISSUED: "When an invoice is issued",
        EventType.PAYMENT_RECORDED: "When a payment is recorded",
    }.get(trigger, f"When {trigger} happens")


def condition_words(c: dict[str, Any], names: Names) -> str:
    """ "Job type is Furnace maintenance", "Photos on the job tagged After < 2" """
    f = FIELDS.get(c.get("field", ""))
    if f is None:
        return f"{c.get('field')} (a field this version does not know)"
    op, value = c.get("op"), c.get("value")
    if f.kind == "tag":
        return f"the job is {'not ' if op == 'has_not' else ''}tagged “{value}”"
    if f.kind == "text":
        return f"{f.label} {TEXT_OPS.get(op, op)} “{value}”"
    if f.kind == "number":
        label = f.label + (" tagged " + _label(DocumentTag.choices, c["tag"]) if c.get("tag") else "")
        shown = _label(f.choices, value) if f.choices else str(value)
        return f"{label} {NUMBER_OPS.get(op, op)} {shown}"
    lookup: dict[Any, str]
    if f.name == "job_type":
        lookup = names.job_types
    elif f.name == "customer":
        lookup = names.customers
    else:
        lookup = dict(f.choices)
    values = value if isinstance(value, list) else [value]
    shown = [lookup.get(v, f"#{v} (deleted)" if f.kind == "model" else str(v)) for v in values]
    return f"{f.label} {CHOICE_OPS.get(op, op)} {', '.join(shown)}"


def recipient_words(a: dict[str, Any], names: Names) -> str:
    if a.get("to_role"):
        return ROLE_PLURAL.get(a["to_role"], a["to_role"])
    user = a.get("to_user")
    return names.users.get(user, f"user #{user} (deleted)")


def _days_later(days: int) -> str:
    return "the same day" if days == 0 else f"{_plural(days, 'day')} later"


def action_words(a: dict[str, Any], names: Names) -> str:
    """ "create a follow-up task “Check the photos” for Service managers due 1 day later" """
    kind = a.get("kind")
    if kind == "raise_alert":
        level = {"warning": "a warning alert", "urgent": "an urgent alert"}.get(a.get("level", ""), "an alert")
        return f"raise {level} “{a.get('title')}” for {recipient_words(a, names)}"
    if kind == "create_task":
        return f"create a follow-up task “{a.get('title')}” for {recipient_words(a, names)} due {_days_later(a.get('due_days', 1))}"
    if kind == "add_requirement":
        if a.get("requirement") == RequirementKind.PHOTOS:
            photos = _plural(a.get("min_count", 1), "photo")
            return f"require at least {photos} tagged {_label(DocumentTag.choices, a.get('photo_tag'))} before work complete"
        return f"add the closeout requirement “{_label(RequirementKind.choices, a.get('requirement'))}”"
    if kind == "send_notification":
        return f"send the customer the “{_label(RULE_NOTICES, a.get('notice'))}” notification"
    if kind == "set_field":
        if a.get("field") == "priority":
            return f"set the priority to {_label(Priority.choices, a.get('value'))}"
        return f"{'tag the job' if a.get('field') == 'add_tag' else 'remove the tag'} “{a.get('value')}”"
    if kind == "create_job":
        job_type = names.job_types.get(a.get("job_type"), f"#{a.get('job_type')} (deleted)")
        days = a.get("days_after", 0)
        return f"create a follow-up {job_type} job “{a.get('scope')}”" + (f" with a visit {_plural(days, 'day')} later" if days else "")
    return ACTION_KINDS.get(kind, str(kind)).lower()


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass
class RuleWords:
    trigger: str
    conditions: list[str]
    actions: list[str]

    @property
    def sentence(self) -> str:
        condition = f", if {' and '.join(self.conditions)}" if self.conditions else ""
        return f"{self.trigger}{condition}, {_and(self.actions) if self.actions else 'do nothing'}."


def describe(rule: WorkflowRule, names: Names) -> RuleWords:
    return RuleWords(
        trigger=trigger_words(rule.trigger, rule.trigger_params or {}),
        conditions=[condition_words(c, names) for c in rule.conditions or []],
        actions=[action_words(a, names) for a in rule.actions or []],
    )


# ---- the pages ---------------------------------------------------------------------------------------


def outcome_counts(rule_ids: list[int], since: datetime) -> dict[int, dict[str, int]]:
    """Runs since `since` per rule and outcome (one grouped query on the (rule, created_at) index)."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if rule_ids:
        rows = RuleRun.objects.filter(rule_id__in=rule_ids, created_at__gte=since).values_list("rule_id", "outcome").annotate(n=Count("id")).order_by()
        for rule_id, outcome, n in rows:
            counts[rule_id][outcome] = n
    return counts


def outcome_list(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(outcome, label, runs) for the outcomes that happened, in the outcomes' order."""
    return [(value, label, counts[value]) for value, label in RuleRun.Outcome.choices if counts.get(value)]


def recent_outcomes(rule: WorkflowRule, now: datetime) -> list[tuple[str, str, int]]:
    return outcome_list(outcome_counts([rule.pk], now - timedelta(days=RECENT_DAYS)).get(rule.pk, {}))


def rules_overview(now: datetime) -> list[WorkflowRule]:
    """The rules for the list, each with `last_run_at`, `last_outcome`, `recent` (outcome_list of the
    last 7 days) and `words` (RuleWords)."""
    last = RuleRun.objects.filter(rule=OuterRef("pk")).order_by("-created_at", "-id")
    rules = list(
        WorkflowRule.objects.annotate(last_run_at=Subquery(last.values("created_at")[:1]), last_outcome=Subquery(last.values("outcome")[:1])).order_by(
            "name", "id"
        )[:LIST_LIMIT]
    )
    counts = outcome_counts([r.pk for r in rules], now - timedelta(days=RECENT_DAYS))
    names = names_for(rules)
    for rule in rules:
        rule.recent = outcome_list(counts.get(rule.pk, {}))
        rule.words = describe(rule, names)
        rule.last_outcome_label = _label(RuleRun.Outcome.choices, rule.last_outcome) if rule.last_outcome else ""
    return rules


def access_rule(rule_id: int) -> WorkflowRule:
    """The rule with its author, or 404."""
    return get_object_or_404(WorkflowRule.objects.select_related("created_by"), pk=rule_id)


def rule_words(rule: WorkflowRule) -> RuleWords:
    return describe(rule, names_for([rule]))


def rule_runs(rule: WorkflowRule, *, cursor: str | None, size: int = RUNS_PAGE) -> Page:
    """One page of the rule's run log, newest first, each run with its job and `event_type` (one query).
    Raises pagination.BadCursor for a mangled cursor."""
    qs = RuleRun.objects.filter(rule=rule).select_related("job").annotate(event_type=F("event__type"))
    page = paginate(qs, RUN_KEYS, cursor=cursor, size=size)
    for run in page.rows:
        run.event_label = _label(EventType.choices, run.event_type)
    return page


def run_count(rule: WorkflowRule) -> int:
    return RuleRun.objects.filter(rule=rule).count()
