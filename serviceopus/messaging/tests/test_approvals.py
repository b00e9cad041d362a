"""Approval requests, the actions: pricing exactly like billing and the hash of what the customer is
shown, numbering within a job, validation, the approval-requested notice (and nothing when the
transaction rolls back), withdrawing and acknowledging, the decision actions (the lines added are
exactly the snapshot, a changed hash is refused, a decision is taken once even when two arrive
together)."""

import base64
import hashlib
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from PIL import Image

from serviceopus.billing.models import BillingSettings
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import Job, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging import links
from serviceopus.messaging.actions.approvals import (
    approval_acknowledge,
    approval_approve,
    approval_decline,
    approval_withdraw,
)
from serviceopus.messaging.models import ApprovalRequest, Channel, MessagingSettings, Notice, OutboxMessage, PortalLink
from tests.factories import UserFactory

from .approval_support import LINES, PRICED, SUBTOTAL, TAX, TOTAL, approve, ask, job_lines, signature_data_url, snapshot_lines, state

pytestmark = pytest.mark.django_db

S = ApprovalRequest.Status


# ---- asking: pricing, hash, numbering ----------------------------------------------------------------


def test_a_request_is_priced_like_billing_and_hashes_exactly_what_the_customer_sees(job, office):
    approval = ask(office, job)

    assert approval.number == 1
    assert approval.status == S.PENDING
    assert approval.requested_by == office
    assert approval.lines == PRICED
    assert (approval.subtotal_cents, approval.tax_cents, approval.total_cents) == (SUBTOTAL, TAX, TOTAL)
    document = {
        "job": job.pk,
        "number": 1,
        "kind": "change_order",
        "title": "Replace the inducer",
        "message": "The inducer motor bearings are worn.",
        "lines": PRICED,
        "subtotal_cents": SUBTOTAL,
        "tax_cents": TAX,
        "total_cents": TOTAL,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert approval.content_hash == hashlib.sha256(canonical).hexdigest()
    approval.refresh_from_db()
    assert approval.lines == PRICED  # the JSON round trip keeps every value (strings, ints, booleans) as hashed


def test_labour_is_taxed_when_the_billing_settings_tax_labour(job, office):
    settings = BillingSettings.current()
    settings.tax_labour = True
    settings.save()

    approval = ask(office, job)

    assert [line["tax_cents"] for line in approval.lines] == [3209, 268, 1045]  # $126.64 × 8.25 % = $10.4478
    assert all(line["taxable"] for line in approval.lines)
    assert (approval.tax_cents, approval.total_cents) == (4522, SUBTOTAL + 4522)


def test_without_a_default_tax_rate_there_is_no_tax(job, office):
    settings = BillingSettings.current()
    settings.default_tax_rate = None
    settings.save()

    approval = ask(office, job)

    assert [line["tax_cents"] for line in approval.lines] == [0, 0, 0]
    assert (approval.subtotal_cents, approval.tax_cents, approval.total_cents) == (SUBTOTAL, 0, SUBTOTAL)


def test_requests_are_numbered_within_their_job(job, other_job, office):
    first, second = ask(office, job), ask(office, job, title="Second")
    elsewhere = ask(office, other_job)

    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert first.content_hash != second.content_hash


def test_asking_writes_the_timeline_and_the_approval_requested_notice(job, office):
    approval = ask(office, job)

    event = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CUSTOMER, data__op="requested").get()
    assert event.actor == office
    assert event.message == "Asked the customer to approve change order 1: Replace the inducer ($582.89)"
    notices = list(OutboxMessage.objects.filter(job=job, notice=Notice.APPROVAL_REQUESTED).order_by("channel"))
    assert [(m.channel, m.recipient, m.status) for m in notices] == [
        (Channel.EMAIL, "pat@example.com", OutboxMessage.Status.PENDING),
        (Channel.SMS, "555-0142", OutboxMessage.Status.PENDING),
    ]
    email, sms = notices
    assert email.subject == "Please approve: Replace the inducer"
    assert "Replace the inducer ($582.89) on job J-000101" in email.body
    assert "Replace the inducer ($582.89)" in sms.body
    assert all(m.data["approval"] == approval.pk and m.created_by == office for m in notices)


def test_a_rolled_back_request_sends_nothing(job, office):
    before = state()
    written = []

    def ask_then_fail() -> None:
        with transaction.atomic():
            ask(office, job)
            written.append(OutboxMessage.objects.filter(notice=Notice.APPROVAL_REQUESTED).count())
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        ask_then_fail()

    assert written == [2]  # written with the request…
    assert state() == before  # …and gone with it: no request, no notice, no event
    assert not PortalLink.objects.filter(job=job).exists()


BAD_INPUT = [
    ({"lines": []}, "lines"),
    ({"lines": [LINES[0]] * 11}, "lines"),
    ({"lines": [{**LINES[0], "quantity": Decimal("0")}]}, "lines.0.quantity"),
    ({"lines": [{**LINES[0], "quantity": Decimal("-1")}]}, "lines.0.quantity"),
    ({"lines": [{**LINES[0], "quantity": Decimal("1.0005")}]}, "lines.0.quantity"),
    ({"lines": [{**LINES[0], "quantity": Decimal("NaN")}]}, "lines.0.quantity"),
    ({"lines": [{**LINES[0], "quantity": 1.5}]}, "lines.0.quantity"),
    ({"lines": [LINES[0], {**LINES[1], "unit_price_cents": -1}]}, "lines.1.unit_price"),
    ({"lines": [{**LINES[0], "unit_price_cents": 12.5}]}, "lines.0.unit_price"),
    ({"lines": [{**LINES[0], "unit_price_cents": True}]}, "lines.0.unit_price"),
    ({"lines": [{**LINES[0], "unit_price_cents": 10**13 + 1}]}, "lines.0.unit_price"),
    ({"lines": [{**LINES[0], "kind": "discount"}]}, "lines.0.kind"),
    ({"lines": [{**LINES[0], "description": "   "}]}, "lines.0.description"),
    ({"lines": [{**LINES[0], "description": "x" * 301}]}, "lines.0.description"),
    ({"lines": [{**LINES[0], "description": "Motor\x00"}]}, "lines.0.description"),
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": "Nul\x00"}, "title"),
    ({"message": "x" * 2001}, "message"),
    ({"message": "Nul\x00"}, "message"),
    ({"kind": "discount"}, "kind"),
]


@pytest.mark.parametrize(("change", "field"), BAD_INPUT)
def test_bad_input_is_refused_with_a_field_error_and_nothing_written(job, office, change, field):
    before = state()

    with pytest.raises(InvalidInput) as refused:
        ask(office, job, **change)

    assert field in refused.value.fields
    assert state() == before


@pytest.mark.parametrize("status", [JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED])
def test_a_job_that_takes_no_more_work_takes_no_request(job, office, status):
    Job.objects.filter(pk=job.pk).update(status=status)
    before = state()

    with pytest.raises(ConflictError) as refused:
        ask(office, job)

    assert refused.value.code == "job_locked"
    assert state() == before


def test_a_technician_cannot_ask(job, tech_a):
    before = state()

    with pytest.raises(DomainError) as refused:
        ask(tech_a.user, job)

    assert refused.value.code == "forbidden"
    assert state() == before


# ---- withdrawing and acknowledging -------------------------------------------------------------------


def test_withdrawing_a_pending_request_and_not_twice(job, dispatcher, office):
    approval = ask(office, job)

    withdrawn = approval_withdraw(actor=dispatcher, approval_id=approval.pk)

    assert withdrawn.status == S.WITHDRAWN
    assert withdrawn.decided_at is not None
    assert withdrawn.version == 2
    assert JobEvent.objects.filter(job=job, data__op="withdrawn", actor=dispatcher).count() == 1
    before = state()
    with pytest.raises(ConflictError) as refused:
        approval_withdraw(actor=dispatcher, approval_id=approval.pk)
    assert refused.value.code == "not_pending"
    assert state() == before


def test_a_decided_request_cannot_be_withdrawn(job, office, link):
    approval = ask(office, job)
    approve(link, approval)
    before = state()

    with pytest.raises(ConflictError):
        approval_withdraw(actor=office, approval_id=approval.pk)

    assert state() == before


def test_acknowledging_a_decision_once(job, office, manager, link):
    approval = ask(office, job)
    with pytest.raises(ConflictError) as refused:
        approval_acknowledge(actor=office, approval_id=approval.pk)
    assert refused.value.code == "not_decided"
    approve(link, approval)

    first = approval_acknowledge(actor=office, approval_id=approval.pk).acknowledged_at
    again = approval_acknowledge(actor=manager, approval_id=approval.pk).acknowledged_at

    assert first is not None
    assert again == first


# ---- the customer's decision -------------------------------------------------------------------------


def test_approving_adds_exactly_the_snapshot_lines_and_records_the_signature(job, office, link, media):
    LineItem.objects.create(job=job, kind="service", description="Diagnostic", quantity=Decimal("1"), unit_price_cents=8900, position=1)
    approval = ask(office, job)

    approved = approve(link, approval)

    assert approved.status == S.APPROVED
    assert approved.decided_at is not None
    assert approved.version == 2
    assert job_lines(job)[1:] == snapshot_lines(approval)
    assert job_lines(job)[1:] == [
        ("service", "Replace the inducer motor", Decimal("1.000"), 38900, True),
        ("material", "Inducer gasket", Decimal("2.500"), 1299, True),
        ("labour", "Labour", Decimal("1.333"), 9500, False),
    ]
    assert approved.line_item_ids == list(LineItem.objects.filter(job=job).exclude(description="Diagnostic").order_by("position").values_list("pk", flat=True))
    assert sum(LineItem.objects.get(pk=pk).total_cents for pk in approved.line_item_ids) == SUBTOTAL
    assert (approved.signer_name, approved.decided_address, approved.decided_user_agent) == ("Pat Doe", "203.0.113.7", "Mozilla/5.0 (iPhone)")
    with approved.signature.open("rb") as stored:
        png = stored.read()
    assert png.startswith(b"\x89PNG")
    assert hashlib.sha256(png).hexdigest() == approved.signature_sha256
    assert approved.signature.name.endswith(".png")
    assert "signature" not in approved.signature.name
    # The snapshot itself is untouched by the decision.
    assert (approved.lines, approved.total_cents, approved.content_hash) == (approval.lines, approval.total_cents, approval.content_hash)
    event = JobEvent.objects.get(job=job, data__op="approved")
    assert event.message == "Customer Pat Doe approved change order 1: Replace the inducer ($582.89)"
    assert event.actor is None
    # The line items' own events name the office user who asked: the lines are theirs.
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.LINE_ITEM, actor=office).count() == 3


def test_an_office_alert_is_written_when_the_office_has_an_address(job, office, link):
    settings = MessagingSettings.current()
    settings.office_email = "office@northwind.example"
    settings.save()
    approval = ask(office, job)

    approve(link, approval)

    alert = OutboxMessage.objects.get(notice=Notice.OFFICE_ALERT)
    assert (alert.job_id, alert.channel, alert.recipient, alert.status) == (job.pk, Channel.EMAIL, "office@northwind.example", OutboxMessage.Status.PENDING)
    assert alert.subject == "J-000101: Pat Doe approved change order 1"
    assert "Pat Doe approved change order 1: Replace the inducer ($582.89) on job J-000101" in alert.body


def test_no_office_alert_without_an_office_address(job, office, link):
    approve(link, ask(office, job))

    assert not OutboxMessage.objects.filter(notice=Notice.OFFICE_ALERT).exists()


def test_a_changed_hash_is_refused_and_nothing_changes(job, office, link, media):
    approval = ask(office, job)
    before = state()

    with pytest.raises(ConflictError) as refused:
        approve(link, approval, content_hash="0" * 64)

    assert refused.value.code == "content_changed"
    assert state() == before
    assert not [p for p in media.rglob("*") if p.is_file()]  # no signature file left behind


def test_a_snapshot_edited_behind_the_actions_back_cannot_be_approved(job, office, link):
    approval = ask(office, job)
    cheap = [{**line, "unit_price_cents": 1, "amount_cents": 1} for line in approval.lines]
    ApprovalRequest.objects.filter(pk=approval.pk).update(lines=cheap)  # the stored hash no longer matches
    before = state()

    with pytest.raises(ConflictError) as refused:
        approve(link, approval)  # with the hash the page showed

    assert refused.value.code == "content_changed"
    assert state() == before


def test_approving_a_withdrawn_request_is_refused(job, office, link):
    approval = ask(office, job)
    approval_withdraw(actor=office, approval_id=approval.pk)
    before = state()

    with pytest.raises(ConflictError) as refused:
        approve(link, approval)

    assert refused.value.code == "already_decided"
    assert "withdrawn" in refused.value.message
    assert state() == before


def test_a_decision_is_taken_once(job, office, link):
    approval = ask(office, job)
    approve(link, approval)
    before = state()

    with pytest.raises(ConflictError):
        approve(link, approval)
    with pytest.raises(ConflictError):
        approval_decline(link=link, number=approval.number, reason="Changed my mind", address="", user_agent="")

    assert state() == before


@pytest.mark.parametrize("status", [JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED])
def test_approving_is_refused_once_the_job_takes_no_more_lines(job, office, link, status):
    approval = ask(office, job)
    Job.objects.filter(pk=job.pk).update(status=status)
    before = state()

    with pytest.raises(ConflictError) as refused:
        approve(link, approval)

    assert refused.value.code == "job_locked"
    assert state() == before


def test_approving_is_refused_when_the_requester_can_no_longer_add_lines(job, link):
    clerk = UserFactory(username="temp-clerk")
    approval = ask(clerk, job)
    clerk.is_active = False
    clerk.save()
    before = state()

    with pytest.raises(ConflictError) as refused:
        approve(link, approval)

    assert refused.value.code == "requester_gone"
    assert "contact us" in refused.value.message
    assert state() == before


def test_approving_is_refused_when_the_requester_was_deleted(job, link):
    clerk = UserFactory(username="gone-clerk")
    approval = ask(clerk, job)
    clerk.delete()
    before = state()

    with pytest.raises(ConflictError) as refused:
        approve(link, approval)

    assert refused.value.code == "requester_gone"
    assert state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "signer_name"),
        ({"name": "x" * 101}, "signer_name"),
        ({"name": "Pat\x00"}, "signer_name"),
        ({"image": "data:image/png;base64,"}, "signature"),
        ({"image": "data:image/jpeg;base64,AAAA"}, "signature"),
        ({"image": signature_data_url()[:-40]}, "signature"),
        ({"content_hash": "not-a-hash"}, "content_hash"),
    ],
)
def test_bad_approvals_are_refused_with_field_errors(job, office, link, change, field):
    approval = ask(office, job)
    before = state()

    with pytest.raises(InvalidInput) as refused:
        approve(link, approval, **change)

    assert field in refused.value.fields
    assert state() == before


def test_a_blank_pad_is_refused(job, office, link):
    approval = ask(office, job)
    blank = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    out = io.BytesIO()
    blank.save(out, format="PNG")

    with pytest.raises(InvalidInput) as refused:
        approve(link, approval, image="data:image/png;base64," + base64.b64encode(out.getvalue()).decode())

    assert "signature" in refused.value.fields
    assert ApprovalRequest.objects.get(pk=approval.pk).status == S.PENDING


def test_a_revoked_link_decides_nothing(job, office, link):
    approval = ask(office, job)
    links.link_revoke(actor=office, link_id=link.pk)
    before = state()

    with pytest.raises(DomainError) as refused:
        approve(link, approval)

    assert refused.value.code == "link_ended"
    assert state() == before


def test_a_link_reaches_only_its_own_jobs_requests(job, other_job, office, link):
    ask(office, other_job)  # number 1 on the other job; this link's job has none
    before = state()

    with pytest.raises(DomainError) as refused:
        approval_approve(
            link=link,
            number=1,
            signer_name="Pat",
            signature_data_url=signature_data_url(),
            content_hash=ApprovalRequest.objects.get().content_hash,
            address="",
            user_agent="",
        )

    assert refused.value.code == "not_found"
    assert state() == before


def test_declining_records_the_reason_and_adds_nothing(job, office, link):
    settings = MessagingSettings.current()
    settings.office_email = "office@northwind.example"
    settings.save()
    approval = ask(office, job)

    declined = approval_decline(link=link, number=approval.number, reason="  Too expensive right now  ", address="203.0.113.7", user_agent="UA")

    assert (declined.status, declined.decline_reason, declined.decided_address) == (S.DECLINED, "Too expensive right now", "203.0.113.7")
    assert not LineItem.objects.filter(job=job).exists()
    assert JobEvent.objects.get(job=job, data__op="declined").message == (
        "Customer declined change order 1: Replace the inducer ($582.89): Too expensive right now"
    )
    alert = OutboxMessage.objects.get(notice=Notice.OFFICE_ALERT)
    assert "Their reason: Too expensive right now" in alert.body


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501, "No\x00"])
def test_a_decline_needs_a_reason_of_at_most_500_characters(job, office, link, reason):
    approval = ask(office, job)
    before = state()

    with pytest.raises(InvalidInput) as refused:
        approval_decline(link=link, number=approval.number, reason=reason, address="", user_agent="")

    assert "reason" in refused.value.fields
    assert state() == before


# ---- decisions racing --------------------------------------------------------------------------------


def _decide(link: PortalLink, approval: ApprovalRequest, office: Any, i: int) -> tuple[str, str]:
    """Decision i of a race: the customer approves (even i) or declines (odd i); the 9th is the office withdrawing."""
    try:
        if i == 8:
            approval_withdraw(actor=office, approval_id=approval.pk)
            return "withdrawn", ""
        if i % 2:
            approval_decline(link=link, number=approval.number, reason=f"No ({i})", address="", user_agent="")
            return "declined", ""
        approve(link, approval, name=f"Signer {i}")
        return "approved", ""
    except ConflictError as refused:
        return "refused", refused.code


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("deciders", [2, 9])
def test_decisions_arriving_together_are_taken_exactly_once(job, office, link, deciders):
    from tests.test_concurrency import run_at_once

    approval = ask(office, job)
    # Two approvals at once; or four approvals, four declines and a withdrawal: one wins, the rest are refused.
    decide = (lambda i: _decide(link, approval, office, i * 2)) if deciders == 2 else (lambda i: _decide(link, approval, office, i))

    results = run_at_once(deciders, decide)

    winners = [r for r in results if r[0] != "refused"]
    assert len(winners) == 1, results
    refusals = [(i, code) for i, (outcome, code) in enumerate(results) if outcome == "refused"]
    assert len(refusals) == deciders - 1
    assert all(code == ("not_pending" if i == 8 else "already_decided") for i, code in refusals), results
    approval.refresh_from_db()
    assert approval.status == winners[0][0]
    assert approval.version == 2
    if approval.status == S.APPROVED:
        assert job_lines(job) == snapshot_lines(approval)  # added once
        assert len(approval.line_item_ids) == 3
    else:
        assert not LineItem.objects.filter(job=job).exists()
    assert JobEvent.objects.filter(job=job, data__op__in=["approved", "declined", "withdrawn"]).count() == 1
