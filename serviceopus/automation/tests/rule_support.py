"""Shared pieces of the rule engine's tests: a customer who can be reached, two job types, rules saved
through the spec's one validation, jobs made by the real action, and `drain()` — the worker's step
round after round until nothing is due, as `automation_worker --once` does (without the scan)."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from serviceopus.automation import worker
from serviceopus.automation.models import AutomationEvent, EventStatus, RuleRun, WorkflowRule
from serviceopus.automation.rules import spec
from serviceopus.billing.actions import invoice_create, invoice_issue
from serviceopus.billing.models import Invoice
from serviceopus.closeout.models import Document
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.models import BillingType, Job, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory, JobTypeFactory, LineItemFactory, LocationFactory


def world() -> dict[str, Any]:
    customer = CustomerFactory(name="Harbor Dental", email="desk@harbor.example", phone="+1 555 010 0100")
    return {
        "customer": customer,
        "home": LocationFactory(customer=customer, label="Main office"),
        "maintenance": JobTypeFactory(name="Maintenance"),
        "repair": JobTypeFactory(name="Repair"),
    }


def make_rule(
    author, *, trigger: str, actions: list[dict[str, Any]], params: dict | None = None, conditions: list | None = None, name: str = "Rule", enabled: bool = True
) -> WorkflowRule:  # type: ignore[no-untyped-def]
    """A rule stored as the rule form stores it: cleaned by spec.clean_rule, its author the actor."""
    cleaned = spec.clean_rule(trigger=trigger, trigger_params=params or {}, conditions=conditions or [], actions=actions)
    return WorkflowRule.objects.create(name=name, enabled=enabled, created_by=author, **cleaned)


def new_job(actor, w: dict[str, Any], *, job_type=None, **kwargs: Any) -> Job:  # type: ignore[no-untyped-def]
    kwargs.setdefault("scope", "Service the boiler")
    return job_actions.job_create(actor=actor, customer_id=w["customer"].pk, location_id=w["home"].pk, job_type_id=(job_type or w["maintenance"]).pk, **kwargs)


def drain(worker_id: str = "test", limit: int = 20) -> Counter[str]:
    """Process everything due now, round after round (events written by rules' actions too)."""
    total: Counter[str] = Counter()
    for _ in range(50):
        counts = worker.step(worker_id, limit, periodic_work=False)
        total.update(counts)
        if not worker.busy(counts):
            return total
    raise AssertionError("the queue never ran dry")


def runs(rule: WorkflowRule) -> list[tuple[str, int]]:
    """The rule's run log, oldest first: (outcome, attempt)."""
    return list(RuleRun.objects.filter(rule=rule).order_by("id").values_list("outcome", "attempt"))


def retry_now() -> int:
    """Time passes: events waiting for their backoff are due again."""
    return AutomationEvent.objects.filter(status=EventStatus.PENDING).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def add_photos(job: Job, n: int, tag: str = "after", *, kind: str = Document.Kind.PHOTO) -> None:
    start = Document.objects.count()
    Document.objects.bulk_create(
        [
            Document(
                job=job,
                kind=kind,
                tag=tag,
                file=f"closeout/p{start + i}.jpg",
                original_name="p.jpg",
                content_type="image/jpeg",
                size=10,
                sha256=f"{start + i:064d}",
            )
            for i in range(n)
        ]
    )


def issued_invoice(actor) -> Invoice:  # type: ignore[no-untyped-def]
    """A fixed-price job at work complete with one $89.00 service line, invoiced and issued by `actor`."""
    job = JobFactory(status=JobStatus.WORK_COMPLETE, billing_type=BillingType.FIXED_PRICE)
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Diagnostic visit", quantity=Decimal("1"), unit_price_cents=8900, taxable=False)
    draft = invoice_create(actor=actor, job_ids=[job.pk])
    draft.refresh_from_db()
    return invoice_issue(actor=actor, invoice_id=draft.pk, version=draft.version)
