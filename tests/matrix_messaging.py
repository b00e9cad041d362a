"""Permissions matrix rows for customer communication; merged into tests/test_permissions.py.

The office's side (portal links, the thread, approval requests, the inbox) is for the roles that talk
to customers: owners, managers, dispatchers and the office clerk; a technician gets 403 on their own
job and 404 on another's, as for the job itself. Notification templates are a manager's. The portal
answers 404 to anybody without a portal session for that job, signed-in staff included: its access
is the link, not a login."""

OFFICE = ("owner", "manager", "dispatcher", "office")
POST_ONLY = {**dict.fromkeys(OFFICE, 405), "tech": 405, "tech_other": 405}
OFFICE_JOB_PAGE = {**dict.fromkeys(OFFICE, 200), "tech": 403, "tech_other": 404}
NOBODY = {**dict.fromkeys(OFFICE, 404), "tech": 404, "tech_other": 404, "anon": 404}

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    "messaging:link_create": POST_ONLY,
    "messaging:link_revoke": POST_ONLY,
    "messaging:message_send": POST_ONLY,
    "messaging:mute": POST_ONLY,
    "messaging:resend": POST_ONLY,
    "messaging:suppress": POST_ONLY,
    "messaging:notify": POST_ONLY,
    "messaging:mark_read": POST_ONLY,
    "messaging:approval_withdraw": POST_ONLY,
    "messaging:approval_new": OFFICE_JOB_PAGE,
    "messaging:approval": OFFICE_JOB_PAGE,
    "messaging:inbox": {**dict.fromkeys(OFFICE, 200), "tech": 403, "tech_other": 403},
    "messaging:templates": {"owner": 200, "manager": 200, "dispatcher": 403, "office": 403, "tech": 403, "tech_other": 403},
    "messaging:template_edit": {"owner": 200, "manager": 200, "dispatcher": 403, "office": 403, "tech": 403, "tech_other": 403},
    **{
        f"portal:{name}": NOBODY
        for name in ("open", "job", "progress", "message_send", "document", "report", "invoice_pdf", "technician_photo", "approval", "approve", "decline")
    },
}


def extend_world(world: dict) -> None:
    """A portal link, a notification and an approval request on each job (the technician's and the other)."""
    from decimal import Decimal

    from serviceopus.messaging import links, outbox
    from serviceopus.messaging.actions.approvals import approval_request_create
    from serviceopus.messaging.models import Notice

    office = world["users"]["office"]
    for key in ("own", "other"):
        job = world[key]
        world[f"msg_link_{key}"] = links.link_create(actor=office, job_id=job.pk, label="Matrix")
        world[f"msg_outbox_{key}"] = outbox.notify(job=job, notice=Notice.PORTAL_LINK, actor=office)[0]
        world[f"msg_approval_{key}"] = approval_request_create(
            actor=office,
            job_id=job.pk,
            kind="change_order",
            title="Matrix change",
            message="",
            lines=[{"kind": "service", "description": "Extra work", "quantity": Decimal("1"), "unit_price_cents": 5000}],
        )


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    if not name.startswith(("messaging:", "portal:")):
        return {}
    key = "other" if role == "tech_other" else "own"
    job = world[key]
    link, message, approval = world[f"msg_link_{key}"], world[f"msg_outbox_{key}"], world[f"msg_approval_{key}"]
    photo = world["other_photo"] if key == "other" else world["own_photo"]
    technician_id = world["own_visit"].crew.get().technician_id
    return {
        "messaging:link_create": {"job_id": job.pk},
        "messaging:link_revoke": {"job_id": job.pk, "link_id": link.pk},
        "messaging:message_send": {"job_id": job.pk},
        "messaging:mute": {"job_id": job.pk},
        "messaging:resend": {"job_id": job.pk, "message_id": message.pk},
        "messaging:suppress": {"job_id": job.pk, "message_id": message.pk},
        "messaging:notify": {"job_id": job.pk},
        "messaging:mark_read": {"job_id": job.pk},
        "messaging:approval_withdraw": {"job_id": job.pk, "approval_id": approval.pk},
        "messaging:approval_new": {"job_id": job.pk},
        "messaging:approval": {"job_id": job.pk, "approval_id": approval.pk},
        "messaging:inbox": {},
        "messaging:templates": {},
        "messaging:template_edit": {"notice": "on_the_way", "channel": "sms"},
        "portal:open": {"token": "x" * 43},
        "portal:job": {"job_id": job.pk},
        "portal:progress": {"job_id": job.pk},
        "portal:message_send": {"job_id": job.pk},
        "portal:document": {"job_id": job.pk, "document_id": photo.pk},
        "portal:report": {"job_id": job.pk},
        "portal:invoice_pdf": {"job_id": job.pk, "invoice_id": 1},
        "portal:technician_photo": {"job_id": job.pk, "technician_id": technician_id},
        "portal:approval": {"job_id": job.pk, "number": approval.number},
        "portal:approve": {"job_id": job.pk, "number": approval.number},
        "portal:decline": {"job_id": job.pk, "number": approval.number},
    }.get(name, {})
