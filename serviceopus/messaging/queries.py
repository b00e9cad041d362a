"""Reads for the office's side of customer communication: a job's thread (the customer's messages, the
office's replies and every notification, merged by time), the inbox (what the office has not seen yet)
and its count. Each is a fixed number of queries whatever the rows hold."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import CharField, F, Value
from django.utils import timezone

from serviceopus.jobs.models import Job

from .links import PORTAL_URL_PLACEHOLDER
from .models import ApprovalRequest, CustomerMessage, JobNotificationMute, Notice, OutboxMessage

S = OutboxMessage.Status
# The newest this many customer messages and this many notifications make the tab's thread; a job with
# more is rare, and the page stays the same size however long the job has run.
THREAD_LIMIT = 100
INBOX_PAGE_SIZE = 25
DECIDED = (ApprovalRequest.Status.APPROVED, ApprovalRequest.Status.DECLINED)


def _when(at: datetime | None, now: datetime) -> str:
    """'10:42' today, 'Dec 1, 10:42' another day (the company's time zone)."""
    if at is None:
        return ""
    local, today = timezone.localtime(at), timezone.localtime(now).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%b} {local.day}, {local:%H:%M}"


def _sentence(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


@dataclass
class NoticeRow:
    """One notification as the thread shows it: what, to whom, and where its delivery stands."""

    message: OutboxMessage
    status_text: str
    tone: str  # ok, wait, bad, off: the badge's colour
    can_resend: bool
    can_suppress: bool
    for_visit: datetime | None = None  # a reminder's appointment
    resent_as: list[int] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return _shown(self.message.subject)

    @property
    def text(self) -> str:
        return _shown(self.message.body)


def _shown(text: str) -> str:
    """A stored message as the office reads it: the portal link's placeholder (the link itself is made
    when the message is sent, and never stored) named for what it is."""
    return text.replace(PORTAL_URL_PLACEHOLDER, "[link to the job page]")


def notice_row(message: OutboxMessage, now: datetime) -> NoticeRow:
    status = message.status
    if status == S.PENDING and message.attempts and message.last_error:
        text, tone = f"Failed: {message.last_error} — retrying at {_when(message.next_attempt_at, now)}", "bad"
    elif status == S.PENDING and message.next_attempt_at > now + timedelta(minutes=1):
        text, tone = f"Waiting to send — due {_when(message.next_attempt_at, now)}", "wait"
    elif status == S.PENDING:
        text, tone = "Waiting to send", "wait"
    elif status == S.SENDING:
        text, tone = "Sending…", "wait"
    elif status == S.SENT:
        text, tone = f"Sent {_when(message.sent_at, now)}", "ok"
    elif status == S.FAILED:
        text, tone = f"Failed: {message.last_error or 'the provider refused it'}", "bad"
    elif status == S.SKIPPED:
        text, tone = f"Not sent: {_sentence(message.skip_reason or 'skipped')}", "off"
    else:
        text, tone = message.skip_reason or "Suppressed", "off"
    start = message.data.get("visit_start") if isinstance(message.data, dict) else None
    try:
        for_visit = datetime.fromisoformat(start) if isinstance(start, str) else None
    except ValueError:
        for_visit = None
    return NoticeRow(message, text, tone, can_resend=status in (S.SENT, S.FAILED, S.SKIPPED), can_suppress=status == S.PENDING, for_visit=for_visit)


@dataclass
class ThreadItem:
    """A customer message (in or out, with the notifications that carried an office reply), or a
    notification on its own."""

    at: datetime
    kind: str  # "in", "out" or "notice"
    message: CustomerMessage | None = None
    notices: list[NoticeRow] = field(default_factory=list)


@dataclass
class Thread:
    items: list[ThreadItem]
    unread: int
    truncated: bool
    muted: JobNotificationMute | None


def job_thread(job: Job, *, limit: int = THREAD_LIMIT) -> Thread:
    """The job's thread, newest first, and whether its automatic notifications are muted: three queries
    (the customer messages, the notifications with who sent them, the mute)."""
    now = timezone.now()
    messages = list(CustomerMessage.objects.filter(job=job).order_by("-created_at", "-id")[: limit + 1])
    notices = list(
        OutboxMessage.objects.filter(job=job).exclude(notice=Notice.OFFICE_ALERT).select_related("created_by").order_by("-created_at", "-id")[: limit + 1]
    )
    truncated = len(messages) > limit or len(notices) > limit
    messages, notices = messages[:limit], notices[:limit]
    muted = JobNotificationMute.objects.filter(job=job).select_related("muted_by").first()

    rows = {m.pk: notice_row(m, now) for m in notices}
    for m in notices:
        if m.resend_of_id in rows:
            rows[m.resend_of_id].resent_as.append(m.pk)
    by_message: dict[int, list[NoticeRow]] = {}
    items: list[ThreadItem] = []
    carried = {m.pk for m in messages}
    for m in reversed(notices):
        carrier = m.data.get("customer_message") if isinstance(m.data, dict) else None
        if carrier in carried and m.resend_of_id is None:
            by_message.setdefault(carrier, []).append(rows[m.pk])
        else:
            items.append(ThreadItem(at=m.created_at, kind="notice", notices=[rows[m.pk]]))
    for cm in messages:
        items.append(ThreadItem(at=cm.created_at, kind=cm.direction, message=cm, notices=by_message.get(cm.pk, [])))
    # Newest first, like the notes and the timeline; at equal times a message comes before a notification.
    items.sort(key=lambda item: (item.at, item.kind != "notice"), reverse=True)
    unread = sum(1 for cm in messages if cm.direction == CustomerMessage.Direction.IN and cm.read_at is None)
    return Thread(items=items, unread=unread, truncated=truncated, muted=muted)


# ---- the inbox ------------------------------------------------------------------------------------------


def _unread_messages() -> Any:
    return CustomerMessage.objects.filter(direction=CustomerMessage.Direction.IN, read_at__isnull=True)


def _unseen_decisions() -> Any:
    return ApprovalRequest.objects.filter(status__in=DECIDED, acknowledged_at__isnull=True)


def _inbox_keys() -> Any:
    """(kind, pk, at) of every inbox entry, newest first: one UNION over the two partial indexes' rows,
    so paging is done by the database whatever the two kinds hold."""
    # Each side unordered (their Meta ordering): SQLite allows no ORDER BY inside a compound statement.
    messages = _unread_messages().order_by().annotate(entry=Value("message", output_field=CharField()), at=F("created_at")).values_list("entry", "pk", "at")
    approvals = _unseen_decisions().order_by().annotate(entry=Value("approval", output_field=CharField()), at=F("decided_at")).values_list("entry", "pk", "at")
    return messages.union(approvals, all=True).order_by("-at", "-pk")


@dataclass
class InboxEntry:
    kind: str  # "message" or "approval"
    at: datetime
    job: Job
    message: CustomerMessage | None = None
    approval: ApprovalRequest | None = None


def inbox_page(number: object) -> tuple[Page, list[InboxEntry]]:
    """One page of the inbox: the customer's unread messages and the approval decisions the office has
    not acknowledged, newest first, with their jobs and customers. Four queries: the count, the page's
    keys, its messages, its approvals (both always run, so the count does not depend on the mix)."""
    page = Paginator(_inbox_keys(), INBOX_PAGE_SIZE).get_page(number)
    keys = list(page.object_list)
    # pk__in=[] would skip its query; [0] (no row has it) keeps the number of queries fixed.
    message_ids = [pk for kind, pk, _ in keys if kind == "message"] or [0]
    approval_ids = [pk for kind, pk, _ in keys if kind == "approval"] or [0]
    messages = CustomerMessage.objects.filter(pk__in=message_ids).select_related("job__customer", "job__location").in_bulk()
    approvals = ApprovalRequest.objects.filter(pk__in=approval_ids).select_related("job__customer", "job__location").in_bulk()
    entries = []
    for kind, pk, at in keys:
        if kind == "message" and pk in messages:
            entries.append(InboxEntry(kind, at, messages[pk].job, message=messages[pk]))
        elif kind == "approval" and pk in approvals:
            entries.append(InboxEntry(kind, at, approvals[pk].job, approval=approvals[pk]))
    return page, entries


def unread_count() -> int:
    """How many entries the inbox holds: one query (a count over the same UNION)."""
    return _inbox_keys().order_by().count()
