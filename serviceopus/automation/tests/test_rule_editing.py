"""Writes to workflow rules: a valid rule is stored as the spec cleaned it; every kind of mistake is
refused with the reason, naming the part, and saves nothing; a stale edit is a conflict that changes
nothing; only an admin may write."""

from typing import Any

import pytest
from django.utils import timezone

from serviceopus.accounts.roles import Role
from serviceopus.automation.models import AutomationEvent, EventType, FollowUpTask, RuleRun, WorkflowRule
from serviceopus.automation.rules import editing
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from tests.factories import CustomerFactory, JobFactory, JobTypeFactory, UserFactory


@pytest.fixture
def furnace(db):  # type: ignore[no-untyped-def]
    return JobTypeFactory(name="Furnace maintenance")


def rule_data(furnace, **overrides: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The acceptance rule as the form sends it (numbers as text)."""
    data: dict[str, Any] = {
        "name": "  Photos before closeout ",
        "description": "Two photos at least on every furnace job.",
        "enabled": True,
        "trigger": "job.status_changed",
        "trigger_params": {"to": "work_complete"},
        "conditions": [{"field": "job_type", "op": "is", "value": str(furnace.pk)}, {"field": "photo_count", "op": "lt", "value": "2"}],
        "actions": [{"kind": "create_task", "title": "Check the photos of {job_number}", "to_role": "manager", "due_days": "1"}],
    }
    data.update(overrides)
    return data


def snapshot() -> list[dict[str, Any]]:
    return list(WorkflowRule.objects.order_by("pk").values())


def test_valid_rule_is_saved_as_cleaned(owner, furnace):
    rule = editing.rule_create(actor=owner, **rule_data(furnace))
    rule.refresh_from_db()
    assert (rule.name, rule.enabled, rule.trigger, rule.trigger_params) == ("Photos before closeout", True, "job.status_changed", {"to": "work_complete"})
    assert rule.conditions == [{"field": "job_type", "op": "is", "value": furnace.pk}, {"field": "photo_count", "op": "lt", "value": 2}]
    assert rule.actions == [{"kind": "create_task", "title": "Check the photos of {job_number}", "notes": "", "due_days": 1, "to_role": "manager"}]
    assert (rule.created_by, rule.version) == (owner, 1)
    assert rule.created_at == rule.updated_at


def test_every_action_kind_and_time_trigger_is_accepted(owner, furnace):
    customer = CustomerFactory()
    rule = editing.rule_create(
        actor=owner,
        **rule_data(
            furnace,
            trigger="visit.paused_long",
            trigger_params={"minutes": "45"},
            conditions=[
                {"field": "customer", "op": "in", "value": [str(customer.pk)]},
                {"field": "priority", "op": "gte", "value": "3"},
                {"field": "tags", "op": "has", "value": " VIP "},
                {"field": "photo_count", "op": "lt", "value": "1", "tag": "after"},
            ],
            actions=[
                {"kind": "raise_alert", "title": "Paused on {job_number}", "level": "warning", "to_user": str(owner.pk)},
                {"kind": "add_requirement", "requirement": "photos", "photo_tag": "after", "min_count": "2"},
                {"kind": "send_notification", "notice": "on_the_way"},
                {"kind": "set_field", "field": "add_tag", "value": "Paused"},
                {"kind": "create_job", "job_type": str(furnace.pk), "scope": "Come back", "days_after": "3"},
            ],
        ),
    )
    assert rule.trigger_params == {"minutes": 45}
    assert rule.conditions[0]["value"] == [customer.pk]
    assert rule.conditions[2]["value"] == "vip"
    assert rule.conditions[3] == {"field": "photo_count", "op": "lt", "value": 1, "tag": "after"}
    assert [a["kind"] for a in rule.actions] == ["raise_alert", "add_requirement", "send_notification", "set_field", "create_job"]
    assert rule.actions[0] == {"kind": "raise_alert", "title": "Paused on {job_number}", "body": "", "level": "warning", "to_user": owner.pk}
    assert rule.actions[3] == {"kind": "set_field", "field": "add_tag", "value": "paused"}
    assert rule.actions[4] == {"kind": "create_job", "job_type": furnace.pk, "scope": "Come back", "days_after": 3}


def _mistakes(furnace):  # type: ignore[no-untyped-def]
    inactive = JobTypeFactory(name="Retired type", active=False)
    technician = UserFactory(role=Role.TECHNICIAN)
    task = {"kind": "create_task", "title": "Check", "to_role": "manager"}
    return {
        "unknown trigger": ({"trigger": "job.deleted"}, "trigger", "Choose what triggers the rule."),
        "missing parameter": ({"trigger": "visit.paused_long", "trigger_params": {}}, "trigger_params.minutes", "is required"),
        "parameter out of range": ({"trigger": "visit.paused_long", "trigger_params": {"minutes": "2"}}, "trigger_params.minutes", "from 5 to 1440"),
        "unknown parameter": ({"trigger_params": {"to": "work_complete", "hours": "3"}}, "trigger_params", "takes no 'hours'"),
        "same from and to": ({"trigger_params": {"from": "new", "to": "new"}}, "trigger_params.to", "From and to must differ"),
        "unknown status": ({"trigger_params": {"to": "done"}}, "trigger_params.to", "To status must be one of"),
        "unknown field": ({"conditions": [{"field": "colour", "op": "is", "value": "red"}]}, "conditions.0", "Choose a field"),
        "comparison the field has not": ({"conditions": [{"field": "photo_count", "op": "is", "value": "2"}]}, "conditions.0", "not 'is'"),
        "not a number": (
            {"conditions": [{"field": "job_type", "op": "is", "value": str(furnace.pk)}, {"field": "photo_count", "op": "lt", "value": "two"}]},
            "conditions.1",
            "whole number",
        ),
        "no such job type": ({"conditions": [{"field": "job_type", "op": "is", "value": "999999"}]}, "conditions.0", "does not exist"),
        "no such choice": ({"conditions": [{"field": "billing_type", "op": "is", "value": "barter"}]}, "conditions.0", "Billing type must be one of"),
        "two values for is": (
            {"conditions": [{"field": "job_type", "op": "is", "value": [str(furnace.pk), str(furnace.pk)]}]},
            "conditions.0",
            "choose one job type",
        ),
        "no value": ({"conditions": [{"field": "scope", "op": "contains", "value": ""}]}, "conditions.0", "is required"),
        "unknown photo tag": (
            {"conditions": [{"field": "photo_count", "op": "lt", "value": "2", "tag": "selfie"}]},
            "conditions.0",
            "The photo tag must be one of",
        ),
        "too many conditions": ({"conditions": [{"field": "photo_count", "op": "lt", "value": "2"}] * 11}, "conditions", "At most 10 conditions."),
        "no action": ({"actions": []}, "actions", "Add at least one action."),
        "unknown action": ({"actions": [{"kind": "launch_rocket"}]}, "actions.0", "choose what the action does"),
        "role and user both": ({"actions": [{**task, "to_user": "1"}]}, "actions.0", "choose a role or a user, one of the two"),
        "task to a technician": ({"actions": [{**task, "to_role": "", "to_user": str(technician.pk)}]}, "actions.0", "choose an active office user"),
        "due too late": ({"actions": [{**task, "due_days": "400"}]}, "actions.0", "0 to 365 days"),
        "unknown placeholder": ({"actions": [{**task, "title": "Check {job_id}"}]}, "actions.0", "unknown placeholder {job_id}"),
        "photos without tag": ({"actions": [{"kind": "add_requirement", "requirement": "photos"}]}, "actions.0", "The photo tag must be one of"),
        "inactive job type": ({"actions": [{"kind": "create_job", "job_type": str(inactive.pk), "scope": "x"}]}, "actions.0", "choose an active job type"),
        "office alert is no customer notice": (
            {"actions": [{"kind": "send_notification", "notice": "office_alert"}]},
            "actions.0",
            "The notification must be one of",
        ),
        "blank name": ({"name": "   "}, "name", "This field is required."),
        "NUL in name": ({"name": "Photos\x00"}, "name", "NUL"),
        "description too long": ({"description": "x" * 2001}, "description", "At most 2000 characters."),
        "NUL in a title": ({"actions": [{**task, "title": "Check\x00"}]}, "actions.0", "at most 200 characters"),
    }


MISTAKES = [
    "unknown trigger",
    "missing parameter",
    "parameter out of range",
    "unknown parameter",
    "same from and to",
    "unknown status",
    "unknown field",
    "comparison the field has not",
    "not a number",
    "no such job type",
    "no such choice",
    "two values for is",
    "no value",
    "unknown photo tag",
    "too many conditions",
    "no action",
    "unknown action",
    "role and user both",
    "task to a technician",
    "due too late",
    "unknown placeholder",
    "photos without tag",
    "inactive job type",
    "office alert is no customer notice",
    "blank name",
    "NUL in name",
    "description too long",
    "NUL in a title",
]


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_is_refused_with_the_reason_and_nothing_is_saved(owner, furnace, mistake):
    overrides, key, reason = _mistakes(furnace)[mistake]
    with pytest.raises(InvalidInput) as refused:
        editing.rule_create(actor=owner, **rule_data(furnace, **overrides))
    assert list(refused.value.fields) == [key]
    assert reason in refused.value.fields[key]
    assert reason in refused.value.message
    assert not WorkflowRule.objects.exists()


def test_every_mistake_is_reported_at_once(owner, furnace):
    with pytest.raises(InvalidInput) as refused:
        editing.rule_create(
            actor=owner,
            **rule_data(
                furnace,
                name="",
                trigger="invoice.unpaid",
                trigger_params={"days": "0"},
                conditions=[{"field": "photo_count", "op": "lt", "value": "2"}, {"field": "priority", "op": "gte", "value": "9"}],
                actions=[{"kind": "create_task", "title": "", "to_role": "manager"}, {"kind": "send_notification", "notice": "arrived"}],
            ),
        )
    assert set(refused.value.fields) == {"name", "trigger_params.days", "conditions.1", "actions.0"}
    assert not WorkflowRule.objects.exists()


def test_the_mistake_names_the_row_it_is_in(owner, furnace):
    """The form maps "conditions.<i>" back to its row: the index is the position in the list given."""
    conditions = [
        {"field": "job_type", "op": "is", "value": str(furnace.pk)},
        {"field": "scope", "op": "contains", "value": "gas"},
        {"field": "tags", "op": "has", "value": "{customer}"},
    ]
    with pytest.raises(InvalidInput) as refused:
        editing.rule_create(actor=owner, **rule_data(furnace, conditions=conditions))
    assert refused.value.fields == {"conditions.2": "Tags: a tag has no placeholders."}


@pytest.fixture
def other_admin(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="ada", first_name="Ada", last_name="Admin", role=Role.ADMIN)


def test_update_replaces_the_rule_and_makes_the_saver_its_author(owner, other_admin, furnace):
    rule = editing.rule_create(actor=owner, **rule_data(furnace))
    before = rule.updated_at
    changed = editing.rule_update(
        actor=other_admin,
        rule_id=rule.pk,
        version=1,
        **rule_data(furnace, name="Photos (3)", enabled=False, conditions=[{"field": "photo_count", "op": "lt", "value": "3"}]),
    )
    assert (changed.name, changed.enabled, changed.version, changed.created_by) == ("Photos (3)", False, 2, other_admin)
    assert changed.conditions == [{"field": "photo_count", "op": "lt", "value": 3}]
    assert changed.updated_at > before
    assert changed.created_at == rule.created_at


def test_stale_edit_is_a_conflict_and_changes_nothing(owner, other_admin, furnace):
    rule = editing.rule_create(actor=owner, **rule_data(furnace))
    editing.rule_update(actor=other_admin, rule_id=rule.pk, version=1, **rule_data(furnace, name="First edit"))
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        editing.rule_update(actor=owner, rule_id=rule.pk, version=1, **rule_data(furnace, name="Second edit"))
    assert refused.value.code == "stale"
    assert refused.value.details == {"current_version": 2}
    assert snapshot() == before


def test_invalid_edit_changes_nothing(owner, furnace):
    rule = editing.rule_create(actor=owner, **rule_data(furnace))
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        editing.rule_update(actor=owner, rule_id=rule.pk, version=1, **rule_data(furnace, conditions=[{"field": "photo_count", "op": "lt", "value": "-1"}]))
    assert set(refused.value.fields) == {"conditions.0"}
    assert snapshot() == before


def test_edit_of_a_deleted_rule_is_refused(owner, furnace):
    with pytest.raises(DomainError) as refused:
        editing.rule_update(actor=owner, rule_id=424242, version=1, **rule_data(furnace))
    assert refused.value.code == "not_found"
    assert not WorkflowRule.objects.exists()


def test_switching_off_and_on_bumps_the_version_and_keeps_the_author(owner, other_admin, furnace):
    rule = editing.rule_create(actor=owner, **rule_data(furnace))
    off = editing.rule_set_enabled(actor=other_admin, rule_id=rule.pk, enabled=False)
    assert (off.enabled, off.version, off.created_by) == (False, 2, owner)
    again = editing.rule_set_enabled(actor=other_admin, rule_id=rule.pk, enabled=False)
    assert (again.enabled, again.version) == (False, 2)  # a second click changes nothing
    # An edit opened before the switch cannot silently switch the rule back on.
    with pytest.raises(ConflictError):
        editing.rule_update(actor=owner, rule_id=rule.pk, version=1, **rule_data(furnace))
    assert editing.rule_set_enabled(actor=owner, rule_id=rule.pk, enabled=True).enabled is True


def test_duplicate_is_off_named_copy_and_authored_by_the_actor(owner, other_admin, furnace):
    rule = editing.rule_create(actor=owner, **rule_data(furnace))
    copy = editing.rule_duplicate(actor=other_admin, rule_id=rule.pk)
    assert copy.pk != rule.pk
    assert (copy.name, copy.enabled, copy.created_by, copy.version) == ("Copy of Photos before closeout", False, other_admin, 1)
    assert (copy.trigger, copy.trigger_params, copy.conditions, copy.actions) == (rule.trigger, rule.trigger_params, rule.conditions, rule.actions)


def test_duplicate_of_a_rule_naming_a_deactivated_job_type_is_refused(owner, furnace):
    rule = editing.rule_create(actor=owner, **rule_data(furnace, actions=[{"kind": "create_job", "job_type": str(furnace.pk), "scope": "Return"}]))
    furnace.active = False
    furnace.save()
    before = snapshot()
    with pytest.raises(InvalidInput) as refused:
        editing.rule_duplicate(actor=owner, rule_id=rule.pk)
    assert refused.value.fields == {"actions.0": "Create a follow-up job: choose an active job type."}
    assert snapshot() == before


def test_delete_takes_the_run_log_and_leaves_the_tasks(owner, furnace):
    rule = editing.rule_create(actor=owner, **rule_data(furnace))
    job = JobFactory(job_type=furnace)
    event = AutomationEvent.objects.create(type=EventType.JOB_STATUS_CHANGED, job=job)
    RuleRun.objects.create(rule=rule, event=event, job=job, outcome=RuleRun.Outcome.DONE)
    task = FollowUpTask.objects.create(job=job, title="Check the photos", owner_role=Role.MANAGER, rule=rule, created_at=timezone.now())
    assert editing.rule_delete(actor=owner, rule_id=rule.pk) == "Photos before closeout"
    assert not WorkflowRule.objects.exists()
    assert not RuleRun.objects.exists()
    task.refresh_from_db()
    assert task.rule_id is None
    assert AutomationEvent.objects.filter(pk=event.pk).exists()  # the event is the job's, not the rule's


@pytest.mark.parametrize("persona", ["manager", "dispatcher", "office", "tech_a"])
def test_only_an_admin_may_write_rules(request, owner, furnace, persona):
    actor = request.getfixturevalue(persona)
    actor = getattr(actor, "user", actor)
    rule = editing.rule_create(actor=owner, **rule_data(furnace))
    before = (snapshot(), RuleRun.objects.count())
    calls = [
        lambda: editing.rule_create(actor=actor, **rule_data(furnace)),
        lambda: editing.rule_update(actor=actor, rule_id=rule.pk, version=1, **rule_data(furnace, name="Mine now")),
        lambda: editing.rule_set_enabled(actor=actor, rule_id=rule.pk, enabled=False),
        lambda: editing.rule_duplicate(actor=actor, rule_id=rule.pk),
        lambda: editing.rule_delete(actor=actor, rule_id=rule.pk),
    ]
    for call in calls:
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == "forbidden"
    assert (snapshot(), RuleRun.objects.count()) == before
