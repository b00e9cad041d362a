"""Permissions matrix rows for the workflow rule pages; merged into tests/test_permissions.py.

A rule acts with the rights of whoever saved it last, on every job: only admins
(`automation.manage_rules`) see or change rules; every other role gets 403. Deleting shows a
confirmation page on GET; switching on/off and duplicating are POST-only and answer a GET with 405."""

ADMIN = {"owner": 200, "manager": 403, "dispatcher": 403, "office": 403, "tech": 403, "tech_other": 403}
POST_ONLY = {"owner": 405, "manager": 405, "dispatcher": 405, "office": 405, "tech": 405, "tech_other": 405}

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    "automation:rules": ADMIN,
    "automation:rule_create": ADMIN,
    "automation:rule": ADMIN,
    "automation:rule_edit": ADMIN,
    "automation:rule_delete": ADMIN,
    "automation:rule_set_enabled": POST_ONLY,
    "automation:rule_duplicate": POST_ONLY,
}


def extend_world(world: dict) -> None:
    """A rule saved by the owner, with one run on the own job in its log."""
    from serviceopus.automation.events import emit
    from serviceopus.automation.models import EventType, RuleRun
    from serviceopus.automation.rules.editing import rule_create

    owner = world["users"]["owner"]
    rule = rule_create(
        actor=owner,
        name="Matrix",
        trigger=EventType.JOB_STATUS_CHANGED,
        trigger_params={"to": "work_complete"},
        conditions=[{"field": "photo_count", "op": "lt", "value": 2}],
        actions=[{"kind": "raise_alert", "title": "Few photos on {job_number}", "to_role": "manager"}],
    )
    event = emit(EventType.JOB_STATUS_CHANGED, actor=owner, job=world["own"], data={"from": "in_progress", "to": "work_complete"})
    RuleRun.objects.create(rule=rule, event=event, job=world["own"], outcome=RuleRun.Outcome.NOT_MATCHED, explanation=["Photos on the job < 2: no (2)"])
    world["rule"] = rule


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    if name not in MATRIX or name in ("automation:rules", "automation:rule_create"):
        return {}
    return {"rule_id": world["rule"].pk}
