"""Writing automation events: the one place the apps' hooks (hooks.py) turn what happened into an
AutomationEvent row, inside the transaction of the change, with a payload that says what the subject
looked like then (webhooks send it as is; conditions read the current rows).

While a rule's actions run, `acting_rule` holds the chain of rules that caused them; every event they
write carries that chain, so the engine never runs a rule on an event its own actions caused.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.jobs.models import Job

from .models import AutomationEvent, EventType

_rule_chain: ContextVar[tuple[int, ...]] = ContextVar("automation_rule_chain", default=())


@contextmanager
def acting_rule(chain: tuple[int, ...]) -> Iterator[None]:
    """Within the block, events written are caused by the rules in `chain` (outermost first)."""
    token = _rule_chain.set(chain)
    try:
        yield
    finally:
        _rule_chain.reset(token)


def job_summary(job: Job) -> dict[str, Any]:
    """The job as a webhook receiver sees it: ids and labels, no notes, costs or customer contact data."""
    return {
        "id": job.pk,
        "number": job.number,
        "status": job.status,
        "priority": job.priority,
        "billing_type": job.billing_type,
        "job_type_id": job.job_type_id,
        "customer_id": job.customer_id,
        "location_id": job.location_id,
    }


def emit(
    type: str,
    *,
    actor: User | None,
    job: Job | None,
    data: dict[str, Any],
    visit_id: int | None = None,
    invoice_id: int | None = None,
    rule_id: int | None = None,
    dedupe_key: str | None = None,
) -> AutomationEvent:
    """Write one event in the caller's transaction (nothing is processed until it commits)."""
    payload = {**data}
    if job is not None:
        payload.setdefault("job", job_summary(job))
    return AutomationEvent.objects.create(
        type=type,
        actor=actor,
        job=job,
        visit_id=visit_id,
        invoice_id=invoice_id,
        data=payload,
        rule_chain=list(_rule_chain.get()),
        rule_id=rule_id,
        dedupe_key=dedupe_key,
        created_at=timezone.now(),
    )


# ---- the apps' hooks (installed by hooks.py) ---------------------------------------------------------


def job_created(*, actor: User, job: Job) -> None:
    emit(EventType.JOB_CREATED, actor=actor, job=job, data={"source": job.source})


def job_moved(actor: User, job: Job, was: str, to: str) -> None:
    # The hook gets the job as read before the update: the payload shows the status it has now.
    summary = {**job_summary(job), "status": to}
    emit(EventType.JOB_STATUS_CHANGED, actor=actor, job=job, data={"from": was, "to": to, "job": summary})


def visit_moved(*, actor: User, visit: Any, old: str, to: str) -> None:
    data = {"from": old, "to": to, "visit": {"id": visit.pk, "number": visit.number, "status": to}}
    emit(EventType.VISIT_STATUS_CHANGED, actor=actor, job=visit.job, visit_id=visit.pk, data=data)


def blocker_opened(*, actor: User | None, job: Job, code: str, message: str) -> None:
    emit(EventType.BLOCKER_OPENED, actor=actor, job=job, data={"blocker": code, "message": message})


def invoice_issued(*, actor: User, invoice: Any) -> None:
    data = {"invoice": _invoice_summary(invoice)}
    emit(EventType.INVOICE_ISSUED, actor=actor, job=_invoice_job(invoice), invoice_id=invoice.pk, data=data)


def payment_recorded(*, actor: User, payment: Any, invoice: Any) -> None:
    data = {
        "invoice": _invoice_summary(invoice),
        "payment": {"id": payment.pk, "amount_cents": payment.amount_cents, "method": payment.method, "received_on": str(payment.received_on)},
    }
    emit(EventType.PAYMENT_RECORDED, actor=actor, job=_invoice_job(invoice), invoice_id=invoice.pk, data=data)


def _invoice_summary(invoice: Any) -> dict[str, Any]:
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "status": invoice.status,
        "total_cents": invoice.total_cents,
        "balance_cents": invoice.balance_cents,
        "customer_id": invoice.customer_id,
    }


def _invoice_job(invoice: Any) -> Job | None:
    """An invoice may cover several jobs; its event belongs to the first (rules on jobs read that one)."""
    return invoice.jobs.order_by("pk").first()
