"""The notifications that events in dispatch, jobs and billing cause (registered in hooks.install).

Each runs inside the transaction of its event, so a notification commits with the change that caused it
or not at all: a rolled-back visit transition leaves no message behind. They are `automatic`: a job
whose automatic notifications are muted gets them written as skipped, with the reason, and the
customer's opt-outs apply as for every message (outbox.notify).

Automatic messages carry data["automatic"] so that muting a job can also stop the ones still waiting
(a reminder due tomorrow) without touching what a person sent by hand."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.money import format_cents
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus

from .eta import eta_for, eta_text
from .models import MessagingSettings, Notice, OutboxMessage
from .outbox import lead_technician, notify

S = OutboxMessage.Status
AUTOMATIC = {"automatic": True}
# A reminder due sooner than this after it is written says nothing the confirmation did not.
REMINDER_MIN_LEAD = timedelta(hours=1)
REPLACED = "Replaced: the appointment moved."
CANCELLED = "The appointment was cancelled."
UNDER_WAY = "The crew is already on the way."


def date_text(day: date | None) -> str:
    """'Dec 1, 2026' (no leading zero, unlike strftime's %d)."""
    return f"{day:%b} {day.day}, {day.year}" if day else ""


def skip_pending_reminders(visit: Visit, reason: str) -> int:
    """Mark the visit's reminders that are still waiting as skipped. A conditional update on
    status=pending: a reminder the worker is sending right now is left alone (the worker re-checks the
    visit's time before it sends, the second line of defence)."""
    return OutboxMessage.objects.filter(visit=visit, notice=Notice.APPOINTMENT_REMINDER, status=S.PENDING).update(
        status=S.SKIPPED, skip_reason=reason, lease_until=None
    )


def _reminder(actor: User | None, visit: Visit, now: datetime) -> list[OutboxMessage]:
    assert visit.scheduled_start is not None
    send_after = visit.scheduled_start - timedelta(hours=MessagingSettings.current().reminder_hours)
    if send_after - now < REMINDER_MIN_LEAD:
        return []
    # In UTC, as the database gives it back, so that the worker's check "has the visit moved?" compares
    # like with like whichever time zone the scheduling code happened to hold the start in.
    data = AUTOMATIC | {"visit_start": visit.scheduled_start.astimezone(UTC).isoformat()}
    return notify(job=visit.job, notice=Notice.APPOINTMENT_REMINDER, actor=actor, visit=visit, automatic=True, send_after=send_after, data=data)


def visits_scheduled(*, actor: User, visits: list[Visit], change: str) -> None:
    """VISIT_SCHEDULE_HOOKS. "scheduled": one confirmation (about the earliest visit, so multi-day work
    is confirmed once) and a reminder per visit. "rescheduled": the visit's waiting reminders are
    replaced, the customer gets a confirmation of the new time and a new reminder. A visit whose start
    has already passed (booked after the fact) is neither confirmed nor reminded."""
    now = timezone.now()
    upcoming = sorted((v for v in visits if v.scheduled_start is not None and v.scheduled_start > now), key=lambda v: (v.scheduled_start, v.pk))
    if change == "rescheduled":
        for visit in visits:
            skip_pending_reminders(visit, REPLACED)
    if not upcoming:
        return
    first = upcoming[0]
    notify(job=first.job, notice=Notice.APPOINTMENT_CONFIRMATION, actor=actor, visit=first, automatic=True, data=AUTOMATIC)
    for visit in upcoming:
        _reminder(actor, visit, now)


def visit_moved(*, actor: User, visit: Visit, old: str, to: str) -> None:
    """VISIT_TRANSITION_HOOKS: on the way (with the lead's first name and the ETA), arrived; a cancelled
    visit's reminders are not sent, nor are those of a crew already on its way."""
    if to in (VisitStatus.EN_ROUTE, VisitStatus.CANCELLED):
        skip_pending_reminders(visit, CANCELLED if to == VisitStatus.CANCELLED else UNDER_WAY)
    if to == VisitStatus.EN_ROUTE:
        technician = lead_technician(visit)
        context = {"technician": (technician.user.first_name or technician.name) if technician else "our technician", "eta": eta_text(eta_for(visit))}
        notify(job=visit.job, notice=Notice.ON_THE_WAY, actor=actor, visit=visit, context=context, automatic=True, data=AUTOMATIC)
    elif to == VisitStatus.ARRIVED:
        notify(job=visit.job, notice=Notice.ARRIVED, actor=actor, visit=visit, automatic=True, data=AUTOMATIC)


def job_moved(actor: User, job: Job, was: str, to: str) -> None:
    """jobs.actions.TRANSITION_HOOKS: the work is complete. Back at work complete because its invoice
    was voided is not the work completing again: nothing is sent."""
    if to == JobStatus.WORK_COMPLETE and was != JobStatus.INVOICED:
        notify(job=job, notice=Notice.COMPLETED, actor=actor, automatic=True, data=AUTOMATIC)


def invoice_issued(*, actor: User, invoice: Any) -> None:
    """billing INVOICE_ISSUED_HOOKS: an invoice (not a credit note) that asks for money, told on its
    first job (an invoice may cover several jobs of one customer; one message is enough)."""
    from serviceopus.billing.models import Invoice

    if invoice.kind != Invoice.Kind.INVOICE or invoice.total_cents <= 0:
        return
    job = invoice.jobs.order_by("pk").first()
    if job is None:
        return
    context = {
        "invoice_number": invoice.number,
        "invoice_total": format_cents(invoice.total_cents),
        "balance_due": format_cents(invoice.balance_cents),
        "due_date": date_text(invoice.due_date),
    }
    notify(job=job, notice=Notice.INVOICE_ISSUED, actor=actor, context=context, automatic=True, data=AUTOMATIC | {"invoice": invoice.pk})
