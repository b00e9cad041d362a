"""Writing notifications into the outbox. Every function here runs inside the caller's transaction:
the message commits with the event that causes it, or not at all, and nothing leaves before the
worker (delivery.py) picks it up after commit.

A message that must not go (the customer opted out of the channel, no address on file, automatic
notifications muted for the job) is still written, as `skipped` with the reason, so the job's Messages
tab shows what was not sent and why."""

from datetime import datetime
from typing import Any

from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.billing.models import BillingSettings
from serviceopus.dispatch.models import CrewMember, Visit
from serviceopus.dispatch.status import FINAL
from serviceopus.jobs.models import Job

from .links import PORTAL_URL_PLACEHOLDER, link_for_notification
from .models import Channel, JobNotificationMute, MessagingSettings, Notice, OutboxMessage
from .notices import SMS_MAX_CHARS, render, uses_portal_url, wording

S = OutboxMessage.Status


def recipients(job: Job) -> dict[str, str]:
    """The customer's address per channel: the job's contact's, else the customer's."""
    contact, customer = job.contact, job.customer
    email = (contact.email if contact and contact.email else "") or customer.email
    phone = (contact.phone if contact and contact.phone else "") or customer.phone
    return {Channel.EMAIL: email, Channel.SMS: phone}


def window_text(visit: Visit | None) -> str:
    """'Tue Dec 1, 9:00–11:00' (the arrival window, else the start)."""
    if visit is None or visit.scheduled_start is None:
        return ""
    start = timezone.localtime(visit.window_start or visit.scheduled_start)
    day = f"{start:%a %b} {start.day}"
    if visit.window_start and visit.window_end:
        end = timezone.localtime(visit.window_end)
        return f"{day}, {start:%H:%M}–{end:%H:%M}"
    return f"{day}, {start:%H:%M}"


def lead_technician(visit: Visit | None) -> Any:
    if visit is None:
        return None
    member = CrewMember.objects.filter(visit=visit).select_related("technician__user").order_by("-is_lead", "id").first()
    return member.technician if member else None


def next_visit(job: Job) -> Visit | None:
    return Visit.objects.filter(job=job, scheduled_start__isnull=False).exclude(status__in=FINAL).order_by("scheduled_start", "id").first()


def base_context(job: Job, visit: Visit | None) -> dict[str, Any]:
    company = BillingSettings.current()
    technician = lead_technician(visit)
    return {
        "customer_name": (job.contact.name if job.contact else "") or job.customer.name,
        "company_name": company.company_name,
        "company_phone": company.company_phone,
        "job_number": job.number,
        "job_title": job.scope.strip().splitlines()[0][:120] if job.scope.strip() else "",
        "address": job.location.one_line,
        "window": window_text(visit),
        "technician": technician.user.first_name or technician.name if technician else "our technician",
    }


def notify(
    *,
    job: Job,
    notice: str,
    actor: User | None = None,
    visit: Visit | None = None,
    context: dict[str, Any] | None = None,
    automatic: bool = False,
    send_after: datetime | None = None,
    data: dict[str, Any] | None = None,
    channels: tuple[str, ...] = (Channel.EMAIL, Channel.SMS),
) -> list[OutboxMessage]:
    """Write `notice` for the job's customer, one message per channel, in the caller's transaction.
    `automatic` messages (caused by an event, not a person) are skipped while the job is muted.
    `send_after` holds a message back (a reminder). Returns the messages written, skipped ones too."""
    job = Job.objects.select_related("customer", "contact", "location").get(pk=job.pk)
    ctx = base_context(job, visit if visit is not None else next_visit(job))
    ctx.update(context or {})
    addresses = recipients(job)
    muted = automatic and JobNotificationMute.objects.filter(job=job).exists()
    opted_out = {Channel.EMAIL: job.customer.email_opt_out, Channel.SMS: job.customer.sms_opt_out}
    ctx["portal_url"] = PORTAL_URL_PLACEHOLDER
    link_id = None  # the job's portal link, looked up (or created) once for all channels
    written = []
    for channel in channels:
        w = wording(notice, channel)
        extra = dict(data or {})
        if uses_portal_url(w):
            link_id = link_id or link_for_notification(job).pk
            extra["portal_link"] = link_id
        subject = render(w.subject, ctx)[:200] if channel == Channel.EMAIL else ""
        body = render(w.body, ctx)
        if channel == Channel.SMS:
            body = body[:SMS_MAX_CHARS]
        reason = ""
        if muted:
            reason = "Automatic notifications are off for this job."
        elif opted_out[channel]:
            reason = "The customer opted out of " + ("emails." if channel == Channel.EMAIL else "text messages.")
        elif not addresses[channel]:
            reason = "No " + ("email address" if channel == Channel.EMAIL else "phone number") + " on file."
        written.append(
            OutboxMessage.objects.create(
                job=job,
                visit=visit,
                notice=notice,
                channel=channel,
                recipient=addresses[channel],
                subject=subject,
                body=body,
                status=S.SKIPPED if reason else S.PENDING,
                skip_reason=reason,
                next_attempt_at=send_after or timezone.now(),
                data=extra,
                created_by=actor,
            )
        )
    return written


def alert_office(*, job: Job, subject: str, body: str) -> OutboxMessage | None:
    """Email the office (MessagingSettings.office_email) that a customer did something: a message, an
    approval, a decline. In the caller's transaction; None when no office address is set (the Inbox
    page and the job's Messages tab show it all the same)."""
    address = MessagingSettings.current().office_email
    if not address:
        return None
    return OutboxMessage.objects.create(
        job=job, notice=Notice.OFFICE_ALERT, channel=Channel.EMAIL, recipient=address, subject=subject[:200], body=body, data={"to_office": True}
    )
