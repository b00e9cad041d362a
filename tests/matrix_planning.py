"""Permissions matrix rows for "Plan day" (dispatch/views/planning.py); merged into tests/test_permissions.py.

Everyone who sees the dispatch board may look at a run; starting, cancelling and accepting are POST-only
and need dispatch.schedule (their refusals are tested in serviceopus/dispatch/tests/test_planning_views.py).
Technicians get 403."""

VIEW = {"owner": 200, "manager": 200, "dispatcher": 200, "office": 200, "tech": 403, "tech_other": 403}
POST_ONLY = {"owner": 405, "manager": 405, "dispatcher": 405, "office": 405, "tech": 405, "tech_other": 405}

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    "dispatch:plan_start": POST_ONLY,
    "dispatch:plan_run": VIEW,
    "dispatch:plan_progress": VIEW,
    # The world's run has no plan: nothing to explain (the page itself is tested with the views).
    "dispatch:plan_explain": {"owner": 404, "manager": 404, "dispatcher": 404, "office": 404, "tech": 403, "tech_other": 403},
    "dispatch:plan_cancel": POST_ONLY,
    "dispatch:plan_accept": POST_ONLY,
}


def extend_world(world: dict) -> None:
    """A finished run with no plan to show (the pages' content is tested with the views)."""
    from datetime import timedelta

    from django.utils import timezone

    from serviceopus.dispatch.models import PlanningRun

    world["planning_run"] = PlanningRun.objects.create(
        day=timezone.localdate() + timedelta(days=1), created_by=world["users"]["dispatcher"], status=PlanningRun.Status.CANCELLED
    )


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    if name not in MATRIX or name == "dispatch:plan_start":
        return {}
    if name == "dispatch:plan_explain":
        return {"run_id": world["planning_run"].pk, "visit_id": 1}
    return {"run_id": world["planning_run"].pk}
