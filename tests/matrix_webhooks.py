"""Permissions matrix rows for the webhook pages; merged into tests/test_permissions.py.

Webhooks send job data out of the company: only admins (`automation.manage_webhooks`) see or change
them; every other role gets 403. Rotating and deleting show a confirmation page on GET; the other
buttons are POST-only and answer a GET with 405."""

ADMIN = {"owner": 200, "manager": 403, "dispatcher": 403, "office": 403, "tech": 403, "tech_other": 403}
POST_ONLY = {"owner": 405, "manager": 405, "dispatcher": 405, "office": 405, "tech": 405, "tech_other": 405}

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    "automation:webhooks": ADMIN,
    "automation:webhook_create": ADMIN,
    "automation:webhook": ADMIN,
    "automation:webhook_edit": ADMIN,
    "automation:webhook_rotate": ADMIN,
    "automation:webhook_delete": ADMIN,
    "automation:webhook_secret": POST_ONLY,
    "automation:webhook_toggle": POST_ONLY,
    "automation:webhook_ping": POST_ONLY,
    "automation:webhook_redeliver": POST_ONLY,
}


def extend_world(world: dict) -> None:
    """A webhook for every event, with a delivery of the own job's creation in its log."""
    from serviceopus.automation.events import emit
    from serviceopus.automation.models import EventType
    from serviceopus.automation.models.events import WEBHOOK_TYPES
    from serviceopus.automation.webhooks import delivery, subscriptions

    owner = world["users"]["owner"]
    sub = subscriptions.subscription_create(actor=owner, name="Matrix", url="https://hooks.example.com/matrix", event_types=list(WEBHOOK_TYPES))
    delivery.fan_out(emit(EventType.JOB_CREATED, actor=owner, job=world["own"], data={}))
    world["webhook"] = sub
    world["webhook_delivery"] = sub.deliveries.get()


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    if name not in MATRIX or name in ("automation:webhooks", "automation:webhook_create"):
        return {}
    if name == "automation:webhook_redeliver":
        return {"subscription_id": world["webhook"].pk, "delivery_id": world["webhook_delivery"].pk}
    return {"subscription_id": world["webhook"].pk}
