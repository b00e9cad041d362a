"""Permissions matrix rows for the office's billing pages (invoices, the ready-to-invoice queue, payments); merged into tests/test_permissions.py."""

OFFICE = ("owner", "manager", "dispatcher", "office")

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {}


def extend_world(world: dict) -> None:
    """Add the records these URLs need to the shared world."""


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    return {}
