"""Permissions matrix rows for the technician's materials on the phone; merged into tests/test_permissions.py."""

OFFICE = ("owner", "manager", "dispatcher", "office")

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    # The visit screen's "Materials used" section: whoever may open the visit screen may read it (a
    # technician only on a visit whose crew they are on); recording and undoing need a truck.
    "inventory:visit_materials": {**dict.fromkeys(OFFICE, 200), "tech": 200, "tech_other": 404},
    "inventory:usage_add": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    "inventory:usage_undo": {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405},
    # The signed-in technician's own truck; office roles have none (404, as for My day).
    "inventory:truck": {**dict.fromkeys(OFFICE, 404), "tech": 200, "tech_other": 200},
}


def extend_world(world: dict) -> None:
    """Add the records these URLs need to the shared world (own_* for the technician's job, other_*)."""
    from serviceopus.inventory.models import StockLocation
    from tests.factories import TruckFactory

    technician = world["own_visit"].crew.get().technician
    # Other parts of the matrix may have given the technician a truck already (one per technician).
    truck = StockLocation.objects.filter(technician=technician).first()
    world["tech_truck"] = truck or TruckFactory(technician=technician)


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    visit = world["other_visit"] if role == "tech_other" else world["own_visit"]
    if name in ("inventory:visit_materials", "inventory:usage_add"):
        return {"visit_id": visit.pk}
    if name == "inventory:usage_undo":
        return {"visit_id": visit.pk, "reservation_id": 1}
    return {}
