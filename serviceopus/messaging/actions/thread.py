"""The office's writes on a job's thread with the customer: a message to the customer, a notification
sent by hand, resending or suppressing a notification, turning the job's automatic notifications off
and on, and marking the customer's messages read. Every one needs `messaging.message_customer`; the
views have already checked that the actor may open the job."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.text import clean_text
from serviceopus.jobs.models import Job, JobEvent

from ..models import Channel, CustomerMessage, JobNotificationMute, Notice, OutboxMessage
from ..outbox import next_visit, notify, recipients

S = OutboxMessage.Status
PERM = "messaging.message_customer"
BODY_MAX = 2000
# What the office may send by hand from the Messages tab's "Send …" menu.
MANUAL_NOTICES = (Notice.APPOINTMENT_CONFIRMATION, Notice.PORTAL_LINK)
RESENDABLE = (S.SENT, S.FAILED, S.SKIPPED)
CHANNEL_WORDS = {Channel.EMAIL: "email", Channel.SMS: "text message"}


def _require(actor: User) -> None:
    if not actor.has_perm(PERM):
        raise DomainError("forbidden", "You may not message customers.")


def _job(job_id: int) -> Job:
    job = Job.objects.select_related("customer", "contact").filter(pk=job_id).first()
    if job is None:
        raise DomainError("not_found", "No such job.")
    return job


def _channels(fields: dict[str, str], channels: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(channels))  # keeps the order given, drops repeats
    if any(c not in Channel.values for c in chosen):
        fields["channels"] = "Choose email, text message or both."
    return chosen


def _event(job: Job, actor: User, message: str, **data: object) -> None:
    JobEvent.objects.create(created_at=timezone.now(), job=job, actor=actor, kind=JobEvent.Kind.CUSTOMER, message=message[:500], data=data)


def _message_of(job_id: int, message_id: int) -> OutboxMessage:
    """A customer notification of this job (the office's own alerts are not on the thread)."""
    message = OutboxMessage.objects.filter(pk=message_id, job_id=job_id).exclude(notice=Notice.OFFICE_ALERT).first()
    if message is None:
        raise DomainError("not_found", "No such message on this job.")
    return message


def _describe(message: OutboxMessage) -> str:
    return f"{message.get_notice_display()} ({CHANNEL_WORDS.get(message.channel, message.channel)})"


def office_message_send(*, actor: User, job_id: int, body: str, channels: Iterable[str] = ()) -> CustomerMessage:
    """Write to the customer: a CustomerMessage (out) on the job's thread, which the portal shows, and
    the OFFICE_MESSAGE notice on each chosen channel (none: the portal only). Sent by a person, so not
    held back while the job's automatic notifications are off; the customer's opt-outs still apply.
    One transaction: the message and its notifications commit together."""
    _require(actor)
    fields: dict[str, str] = {}
    text = clean_text(fields, "body", body, max_length=BODY_MAX, required=True)
    chosen = _channels(fields, channels)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    job = _job(job_id)
    with transaction.atomic():
        message = CustomerMessage.objects.create(job=job, direction=CustomerMessage.Direction.OUT, body=text, author=actor, author_name=actor.display_name)
        sent: list[OutboxMessage] = []
        if chosen:
            sent = notify(job=job, notice=Notice.OFFICE_MESSAGE, actor=actor, context={"message": text}, channels=chosen, data={"customer_message": message.pk})
            message.outbox = sent[0]
            message.save(update_fields=["outbox"])
        how = " and ".join(CHANNEL_WORDS[m.channel] + ("" if m.status != S.SKIPPED else " (not sent)") for m in sent) or "the job page only"
        _event(job, actor, f"Message to the customer by {how}", customer_message=message.pk)
    return message


def notice_send(*, actor: User, job_id: int, notice: str, channels: Iterable[str] = (Channel.EMAIL, Channel.SMS)) -> list[OutboxMessage]:
    """Send one of MANUAL_NOTICES by hand (the appointment confirmation again, the portal link). Not
    automatic, so sent while the job is muted; opt-outs apply. A confirmation needs a visit to confirm."""
    _require(actor)
    fields: dict[str, str] = {}
    if notice not in MANUAL_NOTICES:
        fields["notice"] = "Choose the appointment confirmation or the portal link."
    chosen = _channels(fields, channels)
    if not chosen and "channels" not in fields:
        fields["channels"] = "Choose at least one channel."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    job = _job(job_id)
    with transaction.atomic():
        visit = None
        if notice == Notice.APPOINTMENT_CONFIRMATION:
            visit = next_visit(job)
            if visit is None:
                raise ConflictError("no_visit", "This job has no upcoming visit to confirm.")
        written = notify(job=job, notice=notice, actor=actor, visit=visit, channels=chosen)
        _event(job, actor, f"{Notice(notice).label} sent by hand", notice=notice)
    return written


def message_resend(*, actor: User, job_id: int, message_id: int) -> OutboxMessage:
    """Send a notification again as a new message (`resend_of` the original, a new uid: the provider must
    not take it for a retry of the first). Only a sent, failed or skipped one. The address is today's
    (the usual reason to resend is a corrected address) and the customer's opt-out is honoured: a resend
    to a channel they opted out of is refused rather than written as skipped."""
    _require(actor)
    with transaction.atomic():
        original = _message_of(job_id, message_id)
        if original.status not in RESENDABLE:
            raise ConflictError(
                "not_resendable", f"Only a sent, failed or skipped message can be sent again; this one is {original.get_status_display().lower()}."
            )
        job = _job(job_id)
        opted_out = job.customer.email_opt_out if original.channel == Channel.EMAIL else job.customer.sms_opt_out
        if opted_out:
            raise ConflictError("opted_out", f"The customer opted out of {CHANNEL_WORDS[original.channel]}s; nothing was sent.")
        address = recipients(job)[original.channel]
        if not address:
            missing = "email address" if original.channel == Channel.EMAIL else "phone number"
            raise ConflictError("no_address", f"There is no {missing} on file for this customer; add one first.")
        copy = OutboxMessage.objects.create(
            job=job,
            visit=original.visit,
            notice=original.notice,
            channel=original.channel,
            recipient=address,
            subject=original.subject,
            body=original.body,
            data={k: v for k, v in original.data.items() if k != "automatic"},
            resend_of=original,
            created_by=actor,
        )
        _event(job, actor, f"Resent {_describe(original)}", outbox=copy.pk, resend_of=original.pk)
    return copy


def message_suppress(*, actor: User, job_id: int, message_id: int) -> OutboxMessage:
    """Stop a notification that is still waiting. A conditional update on status=pending: a message the
    worker has claimed (sending) or finished is not touched, and the refusal says why."""
    _require(actor)
    with transaction.atomic():
        message = _message_of(job_id, message_id)
        done = OutboxMessage.objects.filter(pk=message.pk, status=S.PENDING).update(
            status=S.SUPPRESSED, skip_reason=f"Suppressed by {actor.display_name}"[:200], lease_until=None
        )
        if not done:
            current = OutboxMessage.objects.get(pk=message.pk)
            if current.status == S.SENDING:
                reason = "It is being sent right now and can no longer be stopped."
            elif current.status == S.SENT:
                reason = "It has already been sent."
            else:
                reason = f"It is {current.get_status_display().lower()}, not waiting to be sent."
            raise ConflictError("not_pending", f"This message cannot be suppressed: {reason}", status=current.status)
        _event(message.job, actor, f"Suppressed {_describe(message)}", outbox=message.pk)
    message.refresh_from_db()
    return message


def notifications_mute(*, actor: User, job_id: int) -> JobNotificationMute:
    """Turn the job's automatic notifications off: later ones are written as skipped, and those still
    waiting (a reminder due tomorrow) are skipped now. Messages a person sends are not affected."""
    _require(actor)
    job = _job(job_id)
    with transaction.atomic():
        mute, created = JobNotificationMute.objects.get_or_create(job=job, defaults={"muted_by": actor})
        if not created:
            raise ConflictError("already_muted", "Automatic notifications are already off for this job.")
        skipped = (
            OutboxMessage.objects.filter(job=job, status=S.PENDING, data__automatic=True)
            .exclude(notice=Notice.OFFICE_ALERT)
            .update(status=S.SKIPPED, skip_reason="Automatic notifications are off for this job.")
        )
        waiting = f"; {skipped} waiting message{'s' if skipped != 1 else ''} will not be sent" if skipped else ""
        _event(job, actor, f"Automatic notifications turned off{waiting}")
    return mute


def notifications_unmute(*, actor: User, job_id: int) -> None:
    """Turn the job's automatic notifications back on, from the next event (what was skipped while they
    were off stays skipped: the Resend button sends one again)."""
    _require(actor)
    job = _job(job_id)
    with transaction.atomic():
        deleted, _ = JobNotificationMute.objects.filter(job=job).delete()
        if not deleted:
            raise ConflictError("not_muted", "Automatic notifications are already on for this job.")
        _event(job, actor, "Automatic notifications turned on")


def messages_mark_read(*, actor: User, job_id: int) -> int:
    """Mark the customer's unread messages on this job read (they leave the inbox). Returns how many."""
    _require(actor)
    return CustomerMessage.objects.filter(job_id=job_id, direction=CustomerMessage.Direction.IN, read_at__isnull=True).update(read_at=timezone.now())
