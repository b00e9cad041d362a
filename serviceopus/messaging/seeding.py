"""Demo data for customer communication: the company's messaging settings, a customer's portal link
printed by `seed_demo` (so the demo shows the customer's side too), a short thread and an approval
request waiting for the customer — all through the real actions.

The demo's history (visits scheduled, crews on the way, invoices issued, all in the past) writes
notifications through the same triggers as real use; those about the past are recorded as sent when
the demo is loaded, so the worker does not mail a backlog on the first start. Reminders of future
appointments stay pending and go out through the worker when due."""

from datetime import datetime
from decimal import Decimal

from django.db.models import F

from serviceopus.accounts.models import User
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import Job

from . import links
from .actions.approvals import approval_request_create
from .actions.customer import customer_message_receive
from .actions.thread import office_message_send
from .models import MessagingSettings, OutboxMessage, PortalLink

DEMO_LINK_LABEL = "Demo customer"
SHOWCASE_JOB_TYPES = ("AC repair", "Furnace maintenance")


def ensure_messaging(*, office: User, dispatcher: User, now: datetime) -> None:
    """Once per database (nothing is done when the demo link exists already)."""
    if PortalLink.objects.filter(label=DEMO_LINK_LABEL).exists():
        return
    settings = MessagingSettings.current()
    settings.office_email = "office@northwind.example"
    settings.save()
    OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now).update(
        status=OutboxMessage.Status.SENT, sent_at=F("created_at"), provider_ref="demo history", attempts=1
    )
    job = _showcase_job()
    if job is None:
        return
    link = links.link_create(actor=dispatcher, job_id=job.pk, label=DEMO_LINK_LABEL, days=365)
    customer_message_receive(link=link, body="Hi, the side gate is unlocked — please use it, the dog stays inside.", address="127.0.0.1")
    office_message_send(actor=office, job_id=job.pk, body="Thanks! We told the crew; they will use the side gate.", channels=())
    approval_request_create(
        actor=dispatcher,
        job_id=job.pk,
        kind="added_work",
        title="Replace the corroded condensate pump",
        message="The technician found the condensate pump corroded; replacing it now avoids a second trip.",
        lines=[
            {"kind": "material", "description": "Condensate pump, 1/30 HP", "quantity": Decimal("1"), "unit_price_cents": 14900},
            {"kind": "labour", "description": "Install and test the pump", "quantity": Decimal("1.5"), "unit_price_cents": 12500},
        ],
    )


def _showcase_job() -> Job | None:
    """Today's heating or cooling job with a crew on the way or on site, else the next scheduled one
    (the approval request below is about an air handler's condensate pump)."""
    heating_and_cooling = Visit.objects.filter(job__job_type__name__in=SHOWCASE_JOB_TYPES, scheduled_start__isnull=False)
    for statuses in ((VisitStatus.EN_ROUTE, VisitStatus.ARRIVED, VisitStatus.WORKING), (VisitStatus.SCHEDULED,)):
        visit = heating_and_cooling.filter(status__in=statuses).order_by("scheduled_start", "pk").select_related("job").first()
        if visit is not None:
            return visit.job
    return None


def demo_portal_url() -> str:
    """The demo customer's portal URL ('' without demo data)."""
    link = PortalLink.objects.filter(label=DEMO_LINK_LABEL, revoked_at__isnull=True).order_by("-pk").first()
    return links.portal_url(link) if link is not None and link.is_active() else ""
