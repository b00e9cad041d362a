"""Permissions matrix rows for service agreements and recurring jobs; merged into tests/test_permissions.py.

The office roles and dispatchers see agreements; only owners and managers (`jobs.configure`) set them up,
edit them and skip or move their visits. Technicians get 403. POST-only URLs answer a GET with 405."""

VIEW = {"owner": 200, "manager": 200, "dispatcher": 200, "office": 200, "tech": 403, "tech_other": 403}
EDIT = {"owner": 200, "manager": 200, "dispatcher": 403, "office": 403, "tech": 403, "tech_other": 403}
POST_ONLY = {"owner": 405, "manager": 405, "dispatcher": 405, "office": 405, "tech": 405, "tech_other": 405}

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    "automation:plans": VIEW,
    "automation:plan": VIEW,
    "automation:plan_create": EDIT,
    "automation:plan_edit": EDIT,
    "automation:plan_generate": POST_ONLY,
    "automation:occurrence_skip": POST_ONLY,
    "automation:occurrence_move": POST_ONLY,
}


def extend_world(world: dict) -> None:
    """An agreement for the technician's customer, set up by the manager."""
    from serviceopus.automation.tests.support import make_plan
    from serviceopus.jobs.models import JobType

    location = world["location"]
    w = {"customer": location.customer, "home": location, "furnace": world["asset"], "job_type": JobType.objects.first()}
    world["agreement"] = make_plan(world["users"]["manager"], w)


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    if name not in MATRIX or name in ("automation:plans", "automation:plan_create"):
        return {}
    return {"plan_id": world["agreement"].pk}
