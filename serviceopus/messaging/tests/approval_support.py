"""Shared by the approval tests (the office's side here, the customer's in portal/tests): lines whose
amounts and tax all need rounding, priced as billing would; a drawn signature; the rows an approval
action may touch, to compare before and after a refused one."""

import base64
import io
from decimal import Decimal
from typing import Any

from PIL import Image, ImageDraw

from serviceopus.jobs.models import Job, JobEvent, LineItem
from serviceopus.messaging.actions.approvals import (
    approval_approve,
    approval_request_create,
)
from serviceopus.messaging.models import ApprovalRequest, OutboxMessage

S = ApprovalRequest.Status

# Three lines whose amounts and tax all need rounding: 1 × $389.00; 2.5 × $12.99 = $32.475 → $32.48;
# 1.333 h × $95.00 = $126.635 → $126.64. Tax 8.25 %: $32.0925 → $32.09 and $2.6796 → $2.68; labour untaxed.
LINES: list[dict[str, Any]] = [
    {"kind": "service", "description": "Replace the inducer motor", "quantity": Decimal("1"), "unit_price_cents": 38900},
    {"kind": "material", "description": "Inducer gasket", "quantity": Decimal("2.5"), "unit_price_cents": 1299},
    {"kind": "labour", "description": "Labour", "quantity": Decimal("1.333"), "unit_price_cents": 9500},
]
PRICED = [
    {
        "kind": "service",
        "description": "Replace the inducer motor",
        "quantity": "1.000",
        "unit_price_cents": 38900,
        "amount_cents": 38900,
        "tax_cents": 3209,
        "taxable": True,
    },
    {
        "kind": "material",
        "description": "Inducer gasket",
        "quantity": "2.500",
        "unit_price_cents": 1299,
        "amount_cents": 3248,
        "tax_cents": 268,
        "taxable": True,
    },
    {"kind": "labour", "description": "Labour", "quantity": "1.333", "unit_price_cents": 9500, "amount_cents": 12664, "tax_cents": 0, "taxable": False},
]
SUBTOTAL, TAX, TOTAL = 54812, 3477, 58289


# ---- helpers shared with the portal's tests ------------------------------------------------------------


def signature_data_url(size: tuple[int, int] = (300, 120)) -> str:
    """A transparent pad with a stroke on it, as signature_pad.js sends it."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(10, size[1] - 20), (size[0] // 3, 20), (size[0] - 10, size[1] // 2)], fill=(15, 23, 42, 255), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def ask(actor, job, *, lines=None, kind="change_order", title="Replace the inducer", message="The inducer motor bearings are worn.") -> ApprovalRequest:  # type: ignore[no-untyped-def]
    return approval_request_create(actor=actor, job_id=job.pk, kind=kind, title=title, message=message, lines=lines if lines is not None else LINES)


def approve(link, approval, *, name="Pat Doe", content_hash=None, image=None) -> ApprovalRequest:  # type: ignore[no-untyped-def]
    return approval_approve(
        link=link,
        number=approval.number,
        signer_name=name,
        signature_data_url=image or signature_data_url(),
        content_hash=content_hash if content_hash is not None else approval.content_hash,
        address="203.0.113.7",
        user_agent="Mozilla/5.0 (iPhone)",
    )


def state() -> dict[str, Any]:
    """Every row an approval action may touch: compared before and after a refused one."""
    return {
        "line_items": list(LineItem.objects.order_by("pk").values()),
        "jobs": list(Job.objects.order_by("pk").values_list("pk", "status", "version")),
        "approvals": list(ApprovalRequest.objects.order_by("pk").values()),
        "events": list(JobEvent.objects.order_by("pk").values_list("pk", flat=True)),
        "outbox": list(OutboxMessage.objects.order_by("pk").values_list("pk", "notice", "status")),
    }


def job_lines(job: Job) -> list[tuple[str, str, Decimal, int, bool]]:
    return [(i.kind, i.description, i.quantity, i.unit_price_cents, i.taxable) for i in LineItem.objects.filter(job=job).order_by("position", "id")]


def snapshot_lines(approval: ApprovalRequest) -> list[tuple[str, str, Decimal, int, bool]]:
    return [(line["kind"], line["description"], Decimal(line["quantity"]), line["unit_price_cents"], line["taxable"]) for line in approval.lines]
