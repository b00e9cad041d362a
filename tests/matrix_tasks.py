"""Permissions matrix rows for follow-up tasks and the alert centre; merged into tests/test_permissions.py.

Tasks are office work (`automation.work_tasks`): a technician gets 403 on a task of their own job and
404 on another's, as for the job itself. Alerts are each user's own (`automation.view_alerts`, office
roles): opening one's own alert goes on to its job (302); a technician gets 403. POST-only URLs answer
a GET with 405."""

OFFICE = ("owner", "manager", "dispatcher", "office")
POST_ONLY = {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405}
OFFICE_PAGE = {**dict.fromkeys(OFFICE, 200), "tech": 403, "tech_other": 403}

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    "automation:tasks": OFFICE_PAGE,
    "automation:task_edit": {**dict.fromkeys(OFFICE, 200), "tech": 403, "tech_other": 404},
    "automation:task_done": POST_ONLY,
    "automation:task_reopen": POST_ONLY,
    "automation:task_add": POST_ONLY,
    "automation:alerts": OFFICE_PAGE,
    "automation:alert_count": OFFICE_PAGE,
    "automation:alert_open": {**dict.fromkeys(OFFICE, 302), "tech": 403, "tech_other": 403},
    "automation:alert_read": POST_ONLY,
    "automation:alerts_read_all": POST_ONLY,
}


def extend_world(world: dict) -> None:
    """A follow-up task on each job (the technician's and the other), and an alert about the technician's
    job for each office user."""
    from serviceopus.automation.tasks import alert_raise, task_create

    office = world["users"]["office"]
    for key in ("own", "other"):
        world[f"task_{key}"] = task_create(actor=office, job_id=world[key].pk, title="Matrix follow-up", owner_id=office.pk)
    world["alerts"] = {role: alert_raise(job=world["own"], title="Matrix alert", to_user_id=world["users"][role].pk)[0] for role in OFFICE}


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    task = world["task_other"] if role == "tech_other" else world["task_own"]
    alert = world["alerts"].get(role, world["alerts"]["owner"])
    return {
        "automation:task_edit": {"task_id": task.pk},
        "automation:task_done": {"task_id": task.pk},
        "automation:task_reopen": {"task_id": task.pk},
        "automation:task_add": {"job_id": task.job_id},
        "automation:alert_open": {"alert_id": alert.pk},
        "automation:alert_read": {"alert_id": alert.pk},
    }.get(name, {})
