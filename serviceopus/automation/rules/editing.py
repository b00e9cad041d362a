"""Every write to workflow rules: create, edit, enable or disable, duplicate, delete. The rule pages call
these; each checks `automation.manage_rules`, is atomic, and a refused call raises a DomainError having
changed nothing.

A rule acts with the rights of whoever saved it last (the engine runs its actions as `created_by`), so
creating, editing and duplicating make the saver its author. Enabling or disabling does not: switching
a rule on is not taking over what it does, and a rule whose author left keeps failing, logged, until an
admin saves it. What a rule says is checked only by spec.clean_rule, here and nowhere else.
"""

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.text import clean_text

from ..models import WorkflowRule
from .spec import clean_rule

PERM = "automation.manage_rules"
NAME_MAX = 200
DESCRIPTION_MAX = 2000


def _require(actor: User) -> None:
    if not actor.has_perm(PERM):
        raise DomainError("forbidden", "Only an admin may change workflow rules.")


def _missing(rule_id: int) -> DomainError:
    return DomainError("not_found", f"Workflow rule {rule_id} does not exist (it may have been deleted).")


def _clean(*, name: Any, description: Any, enabled: Any, trigger: Any, trigger_params: Any, conditions: Any, actions: Any) -> dict[str, Any]:
    """The row's values, or InvalidInput naming every wrong part at once: "name", "description" and the
    spec's keys ("trigger", "trigger_params.minutes", "conditions.1", "actions.0")."""
    fields: dict[str, str] = {}
    values: dict[str, Any] = {
        "name": clean_text(fields, "name", name, max_length=NAME_MAX, required=True),
        "description": clean_text(fields, "description", description, max_length=DESCRIPTION_MAX),
    }
    if not isinstance(enabled, bool):
        fields["enabled"] = "Say whether the rule is on or off."
    values["enabled"] = enabled
    try:
        values.update(clean_rule(trigger=trigger, trigger_params=trigger_params, conditions=conditions, actions=actions))
    except InvalidInput as exc:
        fields.update(exc.fields)
    if fields:
        raise InvalidInput("The rule was not saved: " + " ".join(fields.values()), fields)
    return values


def rule_create(
    *, actor: User, name: str, description: str = "", enabled: bool = True, trigger: str, trigger_params: Any, conditions: Any, actions: Any
) -> WorkflowRule:
    """Save a new rule, stored as spec.clean_rule returns it; the actor becomes its author. Raises
    InvalidInput (every wrong part at once) and saves nothing when any part is wrong."""
    _require(actor)
    values = _clean(name=name, description=description, enabled=enabled, trigger=trigger, trigger_params=trigger_params, conditions=conditions, actions=actions)
    now = timezone.now()
    return WorkflowRule.objects.create(**values, created_by=actor, created_at=now, updated_at=now)


def rule_update(
    *,
    actor: User,
    rule_id: int,
    version: int,
    name: str,
    description: str = "",
    enabled: bool,
    trigger: str,
    trigger_params: Any,
    conditions: Any,
    actions: Any,
) -> WorkflowRule:
    """Replace what the rule says. `version` is the one the editor opened: a rule saved, switched on or
    off since is refused (ConflictError "stale") and left as it is. The saver becomes its author. One
    conditional UPDATE on (id, version), so two editors cannot both win on either database."""
    _require(actor)
    values = _clean(name=name, description=description, enabled=enabled, trigger=trigger, trigger_params=trigger_params, conditions=conditions, actions=actions)
    with transaction.atomic():
        changed = WorkflowRule.objects.filter(pk=rule_id, version=version).update(
            **values, created_by=actor, updated_at=timezone.now(), version=F("version") + 1
        )
        if not changed:
            current = WorkflowRule.objects.filter(pk=rule_id).values_list("version", flat=True).first()
            if current is None:
                raise _missing(rule_id)
            raise ConflictError("stale", "Someone else changed this rule after you opened it. Reload to see their version.", current_version=current)
    return WorkflowRule.objects.select_related("created_by").get(pk=rule_id)


def rule_set_enabled(*, actor: User, rule_id: int, enabled: bool) -> WorkflowRule:
    """Switch a rule on or off. Bumps the version, so an edit opened before the switch cannot silently
    switch it back. Switching to the state it is already in changes nothing (a double click is harmless)."""
    _require(actor)
    if not isinstance(enabled, bool):
        raise InvalidInput("Say whether the rule is on or off.", {"enabled": "Say whether the rule is on or off."})
    with transaction.atomic():
        exists = WorkflowRule.objects.filter(pk=rule_id).exists()
        if not exists:
            raise _missing(rule_id)
        WorkflowRule.objects.filter(pk=rule_id).exclude(enabled=enabled).update(enabled=enabled, updated_at=timezone.now(), version=F("version") + 1)
    return WorkflowRule.objects.select_related("created_by").get(pk=rule_id)


def rule_duplicate(*, actor: User, rule_id: int) -> WorkflowRule:
    """A copy of the rule, switched off (two identical rules on at once would act twice), named "Copy of
    …", authored by the actor. Checked again like any save: a rule that names a job type deactivated
    since is refused with the reason, and nothing is created."""
    _require(actor)
    source = WorkflowRule.objects.filter(pk=rule_id).first()
    if source is None:
        raise _missing(rule_id)
    return rule_create(
        actor=actor,
        name=f"Copy of {source.name}"[:NAME_MAX],
        description=source.description,
        enabled=False,
        trigger=source.trigger,
        trigger_params=source.trigger_params,
        conditions=source.conditions,
        actions=source.actions,
    )


def rule_delete(*, actor: User, rule_id: int) -> str:
    """Delete the rule with its run log (and the time-based events waiting for it). Tasks and alerts it
    created stay; they only lose the link to it. Returns the deleted rule's name."""
    _require(actor)
    with transaction.atomic():
        rule = WorkflowRule.objects.filter(pk=rule_id).first()
        if rule is None:
            raise _missing(rule_id)
        rule.delete()
    return rule.name
