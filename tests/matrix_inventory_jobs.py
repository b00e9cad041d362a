"""Permissions matrix rows for the inventory parts of the job workspace (readiness panel, materials on
the Line items tab, Purchase orders tab); merged into tests/test_permissions.py.

The materials of a job are the office's to change: a technician reaches none of these pages on their
own job (403) and learns nothing of someone else's (404, the job check comes first)."""

from tests.factories import ItemFactory, WarehouseFactory

OFFICE = {"owner": 200, "manager": 200, "dispatcher": 200, "office": 200}
POST_ONLY = {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405}

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    # The "Add from stock" form and the option lists it asks for as one types.
    "inventory:job_material_add": {**OFFICE, "tech": 403, "tech_other": 404},
    "inventory:job_material_items": {**OFFICE, "tech": 403, "tech_other": 404},
    "inventory:job_material_places": {**OFFICE, "tech": 403, "tech_other": 404},
    # Writes on one reservation, and drafting orders from the Purchase orders tab (POST only).
    "inventory:job_material_issue": POST_ONLY,
    "inventory:job_material_return": POST_ONLY,
    "inventory:job_material_release": POST_ONLY,
    "inventory:job_po_drafts": POST_ONLY,
}


def extend_world(world: dict) -> None:
    """Add the records these URLs need to the shared world (own_* for the technician's job, other_*)."""
    from serviceopus.inventory.actions.reservations import material_reserve

    item = ItemFactory(sku="MTX-JOBS-1", name="Matrix part")
    place = WarehouseFactory(name="Matrix warehouse")
    for key in ("own", "other"):
        world[f"{key}_reservation"] = material_reserve(
            actor=world["users"]["owner"], job_id=world[key].pk, item_id=item.pk, location_id=place.pk, quantity="1", backorder=True
        )


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    if name not in MATRIX:
        return {}
    key = "other" if role == "tech_other" else "own"
    if name in ("inventory:job_material_issue", "inventory:job_material_return", "inventory:job_material_release"):
        return {"job_id": world[key].pk, "reservation_id": world[f"{key}_reservation"].pk}
    return {"job_id": world[key].pk}
