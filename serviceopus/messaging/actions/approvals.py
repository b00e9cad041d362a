"""Approval requests: the office asks the customer to approve added work or a change order, the
customer approves (typed name and a drawn signature) or declines it from the portal, the office
withdraws a request or acknowledges a decision.

The request is priced once, when it is created (approval_content.py), and stored with the hash of what
the customer is shown. An approval names the hash its page showed and is accepted only for that hash;
the lines it adds to the job come from the stored snapshot alone, never from what the customer posts.

Concurrency: a decision is a conditional update of the request (status still pending, version still
the one read), so of two decisions at once exactly one wins and the other is refused as already
decided. Every action that changes a request locks its job row first, then the request: one order for
all, so an approval (which adds lines to the job) and a decline or a withdrawal (whose timeline rows
reference the job) wait for each other instead of deadlocking on PostgreSQL.
"""

import hashlib
import hmac
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.closeout.actions.signatures import HASH_PATTERN, ImageRefused, clean_signature_png
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.money import format_cents
from serviceopus.core.text import clean_text
from serviceopus.jobs.actions import MAX_CENTS, MAX_QUANTITY, line_item_add, lock_job
from serviceopus.jobs.models import Job, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus

from .. import approval_content, outbox
from ..models import ApprovalRequest, Notice, PortalLink

MAX_LINES = 10
MAX_TITLE = 200
MAX_MESSAGE = 2000
MAX_DESCRIPTION = 300  # a job line's description
MAX_SIGNER = 100
MAX_REASON = 500
# Lines can no longer join a job in these states (jobs.actions refuses line changes there too).
LOCKED_STATUSES = (JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED)

Status = ApprovalRequest.Status


def _require(actor: User) -> None:
    if not actor.has_perm("messaging.message_customer"):
        raise DomainError("forbidden", "You may not manage the customer's approval requests.")


def _refuse_locked(job: Job, doing: str) -> None:
    if job.status in LOCKED_STATUSES:
        raise ConflictError("job_locked", f"{doing}: the job is {JobStatus(job.status).label.lower()}, so no work can be added to it.")


def _kind_label(kind: str) -> str:
    return ApprovalRequest.Kind(kind).label.lower()


# ---- the office asks -----------------------------------------------------------------------------------


def _clean_lines(fields: dict[str, str], lines: Any) -> list[dict[str, Any]]:
    """1–10 lines, each {kind, description, quantity: Decimal > 0 with ≤ 3 decimals, unit_price_cents:
    int ≥ 0}. Errors are keyed lines.<i>.<field> (the form maps them to its rows)."""
    if not isinstance(lines, list | tuple) or not lines:
        fields["lines"] = "Add at least one line."
        return []
    if len(lines) > MAX_LINES:
        fields["lines"] = f"At most {MAX_LINES} lines."
        return []
    cleaned = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            fields[f"lines.{i}"] = "Not a line."
            continue
        kind = line.get("kind")
        if kind not in LineItem.Kind.values:
            fields[f"lines.{i}.kind"] = "Choose service, labour, material or fee."
        description = clean_text(fields, f"lines.{i}.description", line.get("description"), max_length=MAX_DESCRIPTION, required=True)
        quantity = line.get("quantity")
        if isinstance(quantity, str):
            try:
                quantity = Decimal(quantity)
            except InvalidOperation:
                quantity = None
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
            fields[f"lines.{i}.quantity"] = "Enter a quantity above 0 (at most 999,999,999.999)."
        elif quantity != quantity.quantize(approval_content.QUANTUM):
            fields[f"lines.{i}.quantity"] = "At most 3 decimal places."
        unit = line.get("unit_price_cents")
        if not isinstance(unit, int) or isinstance(unit, bool) or not 0 <= unit <= MAX_CENTS:
            fields[f"lines.{i}.unit_price"] = "Enter a unit price of zero or more, in dollars and cents."
        cleaned.append({"kind": kind, "description": description, "quantity": quantity, "unit_price_cents": unit})
    return cleaned


def approval_request_create(*, actor: User, job_id: int, kind: str, title: str, message: str, lines: list[dict[str, Any]]) -> ApprovalRequest:
    """Ask the job's customer to approve `lines`. Validates everything first (InvalidInput with every
    field error). Refused (ConflictError job_locked) for an invoiced, closed or cancelled job.

    Locks the job row, so request numbers (Max + 1 within the job) never collide; prices the lines,
    stores the snapshot and its hash, writes a timeline event and the approval-requested notice to
    the outbox, all in one transaction: a rollback sends nothing."""
    _require(actor)
    if not actor.has_perm("jobs.edit_line_items"):
        raise DomainError("forbidden", "You may not add line items, so you cannot ask for approval of new ones.")
    fields: dict[str, str] = {}
    if kind not in ApprovalRequest.Kind.values:
        fields["kind"] = "Choose added work or change order."
    title = clean_text(fields, "title", title, max_length=MAX_TITLE, required=True)
    message = clean_text(fields, "message", message, max_length=MAX_MESSAGE)
    cleaned = _clean_lines(fields, lines)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        job = lock_job(job_id)
        _refuse_locked(job, "The request was not sent")
        number = (ApprovalRequest.objects.filter(job=job).aggregate(n=Max("number"))["n"] or 0) + 1
        priced, subtotal, tax, total = approval_content.price_lines(cleaned)
        doc = approval_content.document(
            job_id=job.pk, number=number, kind=kind, title=title, message=message, lines=priced, subtotal_cents=subtotal, tax_cents=tax, total_cents=total
        )
        approval = ApprovalRequest.objects.create(
            job=job,
            number=number,
            kind=kind,
            title=title,
            message=message,
            lines=priced,
            subtotal_cents=subtotal,
            tax_cents=tax,
            total_cents=total,
            content_hash=approval_content.content_hash(doc),
            requested_by=actor,
        )
        JobEvent.objects.create(
            created_at=timezone.now(),
            job=job,
            actor=actor,
            kind=JobEvent.Kind.CUSTOMER,
            new_value=f"approval {number}: pending",
            message=f"Asked the customer to approve {_kind_label(kind)} {number}: {title} ({format_cents(total)})"[:500],
            data={"approval": approval.pk, "op": "requested", "sha256": approval.content_hash},
        )
        outbox.notify(
            job=job,
            notice=Notice.APPROVAL_REQUESTED,
            actor=actor,
            context={"approval_title": title, "approval_total": format_cents(total)},
            data={"approval": approval.pk},
        )
    return approval


def approval_withdraw(*, actor: User, approval_id: int) -> ApprovalRequest:
    """Take back a request the customer has not decided yet. Locks the job, then a conditional update
    on status pending: refused (ConflictError) once the customer approved or declined it, or it was
    withdrawn."""
    _require(actor)
    with transaction.atomic():
        approval = ApprovalRequest.objects.filter(pk=approval_id).first()
        if approval is None:
            raise DomainError("not_found", "No such approval request.")
        lock_job(approval.job_id)
        changed = ApprovalRequest.objects.filter(pk=approval.pk, status=Status.PENDING).update(
            status=Status.WITHDRAWN, decided_at=timezone.now(), version=F("version") + 1
        )
        if not changed:
            approval.refresh_from_db()
            raise ConflictError("not_pending", f"This request is {approval.get_status_display().lower()}: it can no longer be withdrawn.")
        JobEvent.objects.create(
            created_at=timezone.now(),
            job_id=approval.job_id,
            actor=actor,
            kind=JobEvent.Kind.CUSTOMER,
            old_value=f"approval {approval.number}: pending",
            new_value=f"approval {approval.number}: withdrawn",
            message=f"Withdrew {_kind_label(approval.kind)} {approval.number}: {approval.title}"[:500],
            data={"approval": approval.pk, "op": "withdrawn"},
        )
    approval.refresh_from_db()
    return approval


def approval_acknowledge(*, actor: User, approval_id: int) -> ApprovalRequest:
    """Record that the office saw the customer's decision (it leaves the list of unseen decisions).
    Refused while the request is pending or when it was withdrawn; a second acknowledgement keeps
    the first one's time."""
    _require(actor)
    approval = ApprovalRequest.objects.filter(pk=approval_id).first()
    if approval is None:
        raise DomainError("not_found", "No such approval request.")
    if approval.status not in (Status.APPROVED, Status.DECLINED):
        raise ConflictError("not_decided", "The customer has not decided on this request: there is nothing to acknowledge.")
    ApprovalRequest.objects.filter(pk=approval.pk, acknowledged_at__isnull=True).update(acknowledged_at=timezone.now())
    approval.refresh_from_db()
    return approval


# ---- the customer decides ------------------------------------------------------------------------------


def _clean_hash(fields: dict[str, str], value: Any) -> str:
    if not isinstance(value, str) or not HASH_PATTERN.match(value):
        fields["content_hash"] = "The page you approved from is incomplete; reload it and try again."
        return ""
    return value


def _decidable(link: PortalLink, number: int) -> ApprovalRequest:
    """The link's job's request `number`, for a decision, inside the caller's transaction. The link is
    read again: one revoked or expired since the page was opened decides nothing."""
    current = PortalLink.objects.filter(pk=link.pk).first()
    if current is None or not current.is_active():
        raise DomainError("link_ended", "This link has expired or was revoked. Ask us for a new one.")
    approval = ApprovalRequest.objects.filter(job_id=current.job_id, number=number).first()
    if approval is None:
        raise DomainError("not_found", "No such approval request.")
    if approval.status != Status.PENDING:
        raise ConflictError("already_decided", _decided_text(approval))
    return approval


def _decided_text(approval: ApprovalRequest) -> str:
    if approval.status == Status.WITHDRAWN:
        return "This request was withdrawn by the office: there is nothing to approve any more."
    return f"This request was already {approval.get_status_display().lower()}."


def _claim(approval: ApprovalRequest, **changes: Any) -> None:
    """The decision itself: only if nobody decided since we read the request."""
    changed = ApprovalRequest.objects.filter(pk=approval.pk, status=Status.PENDING, version=approval.version).update(version=F("version") + 1, **changes)
    if not changed:
        approval.refresh_from_db()
        raise ConflictError("already_decided", _decided_text(approval))


def approval_approve(
    *, link: PortalLink, number: int, signer_name: str, signature_data_url: str, content_hash: str, address: str, user_agent: str
) -> ApprovalRequest:
    """The customer approves request `number` of the link's job. `content_hash` is the hash their page
    showed: a different one is refused (ConflictError content_changed). Refused as well when the
    request is no longer pending, the job can take no more lines, or the person who sent the request
    may no longer add lines (the added lines are theirs).

    Locks the job, then claims the request (conditional update on pending and version), adds each
    snapshot line to the job through jobs.actions.line_item_add with exactly the stored kind,
    description, quantity and unit price, stores the re-encoded signature image, writes the timeline
    event and the office alert — one transaction. The image file is deleted again if it rolls back."""
    fields: dict[str, str] = {}
    name = clean_text(fields, "signer_name", signer_name, max_length=MAX_SIGNER, required=True)
    content_hash = _clean_hash(fields, content_hash)
    png = b""
    try:
        png = clean_signature_png(signature_data_url)
    except ImageRefused as refused:
        fields["signature"] = str(refused)
    if fields:
        raise InvalidInput("Your approval was not saved.", fields)
    approval = ApprovalRequest(pk=None)
    try:
        with transaction.atomic():
            approval = _decidable(link, number)
            if not hmac.compare_digest(content_hash, approval.content_hash) or not approval_content.is_intact(approval):
                raise ConflictError("content_changed", "This request changed since your page was loaded; reload it to see the current version.")
            job = lock_job(approval.job_id)
            _refuse_locked(job, "This request can no longer be approved online")
            requester = approval.requested_by
            if requester is None or not requester.has_perm("jobs.edit_line_items"):
                raise ConflictError("requester_gone", "This request can no longer be approved online: please contact us, and we will send you a new one.")
            now = timezone.now()
            _claim(approval, status=Status.APPROVED, decided_at=now)
            items = [
                line_item_add(
                    actor=requester,
                    job_id=job.pk,
                    kind=line["kind"],
                    description=line["description"],
                    quantity=Decimal(line["quantity"]),
                    unit_price_cents=line["unit_price_cents"],
                    taxable=line["taxable"],
                )
                for line in approval.lines
            ]
            approval.refresh_from_db()
            approval.signer_name = name
            approval.signature.save("signature.png", ContentFile(png), save=False)
            approval.signature_sha256 = hashlib.sha256(png).hexdigest()
            approval.decided_address = (address or "")[:64]
            approval.decided_user_agent = (user_agent or "")[:300]
            approval.line_item_ids = [item.pk for item in items]
            approval.save(update_fields=["signer_name", "signature", "signature_sha256", "decided_address", "decided_user_agent", "line_item_ids"])
            what = f"{_kind_label(approval.kind)} {approval.number}: {approval.title} ({format_cents(approval.total_cents)})"
            JobEvent.objects.create(
                created_at=timezone.now(),
                job=job,
                actor=None,
                kind=JobEvent.Kind.CUSTOMER,
                old_value=f"approval {approval.number}: pending",
                new_value=f"approval {approval.number}: approved",
                message=f"Customer {name} approved {what}"[:500],
                data={"approval": approval.pk, "op": "approved", "sha256": approval.content_hash, "line_items": approval.line_item_ids},
            )
            outbox.alert_office(
                job=job,
                subject=f"{job.number}: {name} approved {_kind_label(approval.kind)} {approval.number}",
                body=f"{name} approved {what} on job {job.number}, signed {timezone.localtime(now):%b %-d, %Y %H:%M}.\n"
                f"{len(items)} line{'s' if len(items) != 1 else ''} joined the job.",
            )
    except BaseException:
        if approval.signature.name:
            approval.signature.storage.delete(approval.signature.name)
        raise
    return approval


def approval_decline(*, link: PortalLink, number: int, reason: str, address: str, user_agent: str) -> ApprovalRequest:
    """The customer declines request `number` of the link's job, saying why (1–500 characters).
    Locks the job, then a conditional update on pending and version; a timeline event and the office
    alert in the same transaction. Nothing joins the job."""
    fields: dict[str, str] = {}
    reason = clean_text(fields, "reason", reason, max_length=MAX_REASON, required=True)
    if fields:
        raise InvalidInput("Your answer was not saved.", fields)
    with transaction.atomic():
        approval = _decidable(link, number)
        job = lock_job(approval.job_id)
        _claim(
            approval,
            status=Status.DECLINED,
            decided_at=timezone.now(),
            decline_reason=reason,
            decided_address=(address or "")[:64],
            decided_user_agent=(user_agent or "")[:300],
        )
        approval.refresh_from_db()
        what = f"{_kind_label(approval.kind)} {approval.number}: {approval.title} ({format_cents(approval.total_cents)})"
        JobEvent.objects.create(
            created_at=timezone.now(),
            job=job,
            actor=None,
            kind=JobEvent.Kind.CUSTOMER,
            old_value=f"approval {approval.number}: pending",
            new_value=f"approval {approval.number}: declined",
            message=f"Customer declined {what}: {reason}"[:500],
            data={"approval": approval.pk, "op": "declined"},
        )
        outbox.alert_office(
            job=job,
            subject=f"{job.number}: the customer declined {_kind_label(approval.kind)} {approval.number}",
            body=f"The customer declined {what} on job {job.number}.\n\nTheir reason: {reason}",
        )
    return approval
