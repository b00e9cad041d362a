"""Permissions matrix rows for the purchasing, purchase order and stock pages; merged into tests/test_permissions.py.

These are office pages: technicians get 403 on every one (they record usage from their truck on the
phone instead), whether or not the order serves one of their jobs."""

from datetime import date

# url name → GET status per role (see test_permissions.MATRIX)
OFFICE_ONLY = {"owner": 200, "manager": 200, "dispatcher": 200, "office": 200, "tech": 403, "tech_other": 403}
POST_ONLY = {"owner": 405, "manager": 405, "dispatcher": 405, "office": 405, "tech": 405, "tech_other": 405}

MATRIX: dict[str, dict[str, int]] = {
    "inventory:purchasing": OFFICE_ONLY,
    "inventory:purchasing_draft": POST_ONLY,
    "inventory:po_list": OFFICE_ONLY,
    "inventory:po_create": OFFICE_ONLY,
    "inventory:po_detail": OFFICE_ONLY,
    "inventory:po_pdf": OFFICE_ONLY,
    "inventory:po_edit": OFFICE_ONLY,
    # The add-line form lives on the order's page: a GET is sent there.
    "inventory:po_line_add": {**OFFICE_ONLY, "owner": 302, "manager": 302, "dispatcher": 302, "office": 302},
    "inventory:po_line_edit": OFFICE_ONLY,
    "inventory:po_line_remove": POST_ONLY,
    # Confirmation pages (the expected date; the reason for cancelling).
    "inventory:po_order": OFFICE_ONLY,
    "inventory:po_cancel": OFFICE_ONLY,
    "inventory:po_receive": OFFICE_ONLY,
    "inventory:items": OFFICE_ONLY,
    "inventory:item_detail": OFFICE_ONLY,
    "inventory:location_detail": OFFICE_ONLY,
    "inventory:stock_receive": OFFICE_ONLY,
    "inventory:stock_transfer": OFFICE_ONLY,
    "inventory:stock_adjust": OFFICE_ONLY,
}


def extend_world(world: dict) -> None:
    """A draft order (for the line and order pages) and an ordered one serving the technician's job
    (for receiving), each with one line."""
    from serviceopus.inventory.actions import purchasing
    from tests.factories import ItemFactory, VendorFactory, WarehouseFactory

    actor = world["users"]["office"]
    vendor = VendorFactory(name="Matrix Supply")
    item = ItemFactory(sku="MATRIX-1", preferred_vendor=vendor)
    warehouse = WarehouseFactory(name="Matrix warehouse")
    draft = purchasing.po_create(actor=actor, vendor_id=vendor.pk, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "2"}])
    ordered = purchasing.po_create(actor=actor, vendor_id=vendor.pk, ship_to_id=warehouse.pk, lines=[{"item_id": item.pk, "quantity": "3"}])
    ordered.lines.update(job=world["own"])
    purchasing.po_order(actor=actor, po_id=ordered.pk, expected_on=date(2030, 1, 1))
    world.update(inv_item=item, inv_warehouse=warehouse, inv_draft=draft, inv_draft_line=draft.lines.get(), inv_ordered=ordered)


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    draft, ordered = world["inv_draft"], world["inv_ordered"]
    return {
        "inventory:po_detail": {"po_id": ordered.pk},
        "inventory:po_pdf": {"po_id": ordered.pk},
        "inventory:po_edit": {"po_id": draft.pk},
        "inventory:po_line_add": {"po_id": draft.pk},
        "inventory:po_line_edit": {"po_id": draft.pk, "line_id": world["inv_draft_line"].pk},
        "inventory:po_line_remove": {"po_id": draft.pk, "line_id": world["inv_draft_line"].pk},
        "inventory:po_order": {"po_id": draft.pk},
        "inventory:po_cancel": {"po_id": draft.pk},
        "inventory:po_receive": {"po_id": ordered.pk},
        "inventory:item_detail": {"item_id": world["inv_item"].pk},
        "inventory:location_detail": {"location_id": world["inv_warehouse"].pk},
    }.get(name, {})
