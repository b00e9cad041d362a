"""Permissions matrix rows for the office's billing pages (invoices, the ready-to-invoice queue, payments); merged into tests/test_permissions.py.

Billing is the office's: owners, managers and the office clerk open every page; dispatchers and
technicians get 403 whether or not the invoice is for one of their jobs. POST-only URLs answer a
GET with 405 to everyone signed in."""

BILLING_ONLY = {"owner": 200, "manager": 200, "office": 200, "dispatcher": 403, "tech": 403, "tech_other": 403}
POST_ONLY = {"owner": 405, "manager": 405, "dispatcher": 405, "office": 405, "tech": 405, "tech_other": 405}

# url name → GET status per role (see test_permissions.MATRIX)
MATRIX: dict[str, dict[str, int]] = {
    "billing:invoices": BILLING_ONLY,
    "billing:ready": BILLING_ONLY,
    "billing:invoice_new": BILLING_ONLY,
    "billing:invoice": BILLING_ONLY,
    "billing:invoice_edit": POST_ONLY,
    "billing:line_add": POST_ONLY,
    "billing:line_edit": BILLING_ONLY,
    "billing:line_remove": POST_ONLY,
    "billing:invoice_issue": POST_ONLY,
    # Confirmation pages (delete a draft; void with a reason) and the money forms.
    "billing:invoice_delete": BILLING_ONLY,
    "billing:invoice_void": BILLING_ONLY,
    "billing:payment_record": BILLING_ONLY,
    "billing:refund_record": BILLING_ONLY,
    "billing:credit_note": BILLING_ONLY,
}


def extend_world(world: dict) -> None:
    """A draft invoice (for the draft pages) and an issued, partly paid one (for the money pages),
    each for a completed job of the technician's customer with one line."""
    from decimal import Decimal

    from django.utils import timezone

    from serviceopus.billing import actions
    from serviceopus.jobs.status import JobStatus
    from tests.factories import JobFactory, LineItemFactory

    actor = world["users"]["office"]
    jobs = [JobFactory(status=JobStatus.WORK_COMPLETE) for _ in range(2)]
    for job in jobs:
        LineItemFactory(job=job, kind="service", description="Matrix service", quantity=Decimal(1), unit_price_cents=10000)
    draft = actions.invoice_create(actor=actor, job_ids=[jobs[0].pk])
    issued = actions.invoice_create(actor=actor, job_ids=[jobs[1].pk])
    issued = actions.invoice_issue(actor=actor, invoice_id=issued.pk, version=issued.version)
    actions.payment_record(actor=actor, invoice_id=issued.pk, amount_cents=1000, method="cash", received_on=timezone.localdate())
    world.update(bill_draft=draft, bill_draft_line=draft.lines.get(), bill_issued=issued)


def kwargs(name: str, world: dict, role: str) -> dict:
    """URL kwargs for one of these rows ({} when the name is not one of them)."""
    if not name.startswith("billing:"):
        return {}
    draft, issued = world["bill_draft"], world["bill_issued"]
    line = world["bill_draft_line"]
    return {
        "billing:invoice": {"invoice_id": issued.pk},
        "billing:invoice_edit": {"invoice_id": draft.pk},
        "billing:line_add": {"invoice_id": draft.pk},
        "billing:line_edit": {"invoice_id": draft.pk, "line_id": line.pk},
        "billing:line_remove": {"invoice_id": draft.pk, "line_id": line.pk},
        "billing:invoice_issue": {"invoice_id": draft.pk},
        "billing:invoice_delete": {"invoice_id": draft.pk},
        "billing:invoice_void": {"invoice_id": issued.pk},
        "billing:payment_record": {"invoice_id": issued.pk},
        "billing:refund_record": {"invoice_id": issued.pk},
        "billing:credit_note": {"invoice_id": issued.pk},
    }.get(name, {})
