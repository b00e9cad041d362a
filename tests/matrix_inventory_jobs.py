"""Permissions matrix rows for the inventory parts of the job workspace (readiness panel, materials on
the Line items tab, Purchase orders tab); merged into tests/test_permissions.py."""

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {}


def extend_world(world: dict) -> None:
    """Add the records these URLs need to the shared world (own_* for the technician's job, other_*)."""


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    return {}
