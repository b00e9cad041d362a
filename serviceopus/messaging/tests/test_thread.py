"""The office's writes on a job's thread (actions/thread.py) and the reads behind the Messages tab and the
inbox (queries.py): what each writes, what each refuses — changing nothing — and who may; the thread
and the inbox at a fixed number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging import queries
from serviceopus.messaging.actions import thread
from serviceopus.messaging.models import ApprovalRequest, Channel, CustomerMessage, JobNotificationMute, MessagingSettings, Notice, OutboxMessage
from serviceopus.messaging.outbox import alert_office, notify
from tests.factories import CustomerFactory, JobFactory, LocationFactory, VisitFactory

S = OutboxMessage.Status
EMAIL, SMS = Channel.EMAIL.value, Channel.SMS.value


@pytest.fixture
def job(db):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Jordan Rivera", email="jordan@example.com", phone="+1 312 555 0199")
    return JobFactory(location=LocationFactory(customer=customer), status=JobStatus.SCHEDULED)


@pytest.fixture
def other_job(db):  # type: ignore[no-untyped-def]
    return JobFactory(status=JobStatus.SCHEDULED)


def world() -> dict:
    """Every row these actions may write: compared before and after a refused one."""
    return {
        "outbox": list(OutboxMessage.objects.order_by("pk").values()),
        "messages": list(CustomerMessage.objects.order_by("pk").values()),
        "mutes": list(JobNotificationMute.objects.order_by("pk").values()),
        "events": list(JobEvent.objects.order_by("pk").values_list("pk", flat=True)),
    }


def a_message(job, *, status=S.SENT, channel=EMAIL, notice=Notice.ON_THE_WAY, **extra):  # type: ignore[no-untyped-def]
    values = {"sent_at": timezone.now()} if status == S.SENT else {}
    values.update(extra)
    return OutboxMessage.objects.create(
        job=job, notice=notice, channel=channel, recipient="old@example.com", subject="Alex is on the way", body="Alex is on the way.", status=status, **values
    )


def customer_says(job, body="Is the technician still coming today?", **extra):  # type: ignore[no-untyped-def]
    return CustomerMessage.objects.create(job=job, direction=CustomerMessage.Direction.IN, body=body, author_name="Jordan Rivera", **extra)


def decided(job, number=1, *, status=ApprovalRequest.Status.APPROVED, **extra):  # type: ignore[no-untyped-def]
    extra.setdefault("decided_at", timezone.now())
    return ApprovalRequest.objects.create(
        job=job,
        number=number,
        kind=ApprovalRequest.Kind.ADDED_WORK,
        title=f"Extra work {number}",
        content_hash="0" * 64,
        status=status,
        signer_name="Jordan Rivera",
        **extra,
    )


# ---- a message to the customer ----------------------------------------------------------------------


def test_office_message_by_email_and_text(dispatcher, job):
    message = thread.office_message_send(actor=dispatcher, job_id=job.pk, body="  We will bring the part on Tuesday.  ", channels=[EMAIL, SMS])
    assert (message.direction, message.body, message.author, message.author_name) == (
        "out",
        "We will bring the part on Tuesday.",
        dispatcher,
        "Dana Dispatcher",
    )
    sent = list(OutboxMessage.objects.order_by("pk"))
    assert [(m.notice, m.channel, m.status, m.recipient) for m in sent] == [
        (Notice.OFFICE_MESSAGE, EMAIL, S.PENDING, "jordan@example.com"),
        (Notice.OFFICE_MESSAGE, SMS, S.PENDING, "+1 312 555 0199"),
    ]
    assert message.outbox == sent[0]
    assert {m.data["customer_message"] for m in sent} == {message.pk}
    assert "We will bring the part on Tuesday." in sent[0].body
    assert "We will bring the part on Tuesday." in sent[1].body
    assert sent[0].subject == f"A message about job {job.number}"
    event = JobEvent.objects.get(job=job, kind=JobEvent.Kind.CUSTOMER, actor=dispatcher, message__startswith="Message")
    assert event.message == "Message to the customer by email and text message"


def test_office_message_on_the_job_page_only(office, job):
    message = thread.office_message_send(actor=office, job_id=job.pk, body="Your invoice is attached on this page.", channels=[])
    assert message.outbox is None
    assert not OutboxMessage.objects.exists()
    assert JobEvent.objects.filter(job=job, message="Message to the customer by the job page only").exists()


def test_office_message_goes_while_automatic_notifications_are_off(dispatcher, job):
    JobNotificationMute.objects.create(job=job, muted_by=dispatcher)
    thread.office_message_send(actor=dispatcher, job_id=job.pk, body="Running late, sorry!", channels=[SMS])
    assert OutboxMessage.objects.get().status == S.PENDING


def test_office_message_respects_the_opt_out(dispatcher, job):
    job.customer.email_opt_out = True
    job.customer.save(update_fields=["email_opt_out"])
    thread.office_message_send(actor=dispatcher, job_id=job.pk, body="Hello", channels=[EMAIL, SMS])
    email, sms = OutboxMessage.objects.order_by("pk")
    assert (email.status, email.skip_reason) == (S.SKIPPED, "The customer opted out of emails.")
    assert sms.status == S.PENDING
    assert JobEvent.objects.filter(job=job, message="Message to the customer by email (not sent) and text message").exists()


@pytest.mark.parametrize(
    ("body", "channels", "field"),
    [
        ("", [EMAIL], "body"),
        ("   ", [EMAIL], "body"),
        ("x" * 2001, [EMAIL], "body"),
        ("null \x00 byte", [EMAIL], "body"),
        ("Hello", ["fax"], "channels"),
    ],
)
def test_bad_office_message_is_refused_and_writes_nothing(dispatcher, job, body, channels, field):
    before = world()
    with pytest.raises(InvalidInput) as refused:
        thread.office_message_send(actor=dispatcher, job_id=job.pk, body=body, channels=channels)
    assert field in refused.value.fields
    assert world() == before


# ---- a notice sent by hand ------------------------------------------------------------------------------


def test_confirmation_sent_by_hand_goes_even_when_muted(dispatcher, job):
    visit = VisitFactory(job=job, scheduled_start=timezone.now() + timedelta(days=2))
    JobNotificationMute.objects.create(job=job, muted_by=dispatcher)
    written = thread.notice_send(actor=dispatcher, job_id=job.pk, notice=Notice.APPOINTMENT_CONFIRMATION, channels=[EMAIL])
    assert [(m.notice, m.channel, m.status, m.visit_id) for m in written] == [(Notice.APPOINTMENT_CONFIRMATION, EMAIL, S.PENDING, visit.pk)]
    assert "automatic" not in written[0].data
    assert JobEvent.objects.filter(job=job, actor=dispatcher, message="Appointment confirmation sent by hand").exists()


def test_portal_link_sent_by_hand(office, job):
    written = thread.notice_send(actor=office, job_id=job.pk, notice=Notice.PORTAL_LINK, channels=[EMAIL, SMS])
    assert [(m.notice, m.channel) for m in written] == [(Notice.PORTAL_LINK, EMAIL), (Notice.PORTAL_LINK, SMS)]
    assert written[0].data["portal_link"] == written[1].data["portal_link"]


def test_confirmation_without_a_visit_is_refused(dispatcher, job):
    before = world()
    with pytest.raises(ConflictError) as refused:
        thread.notice_send(actor=dispatcher, job_id=job.pk, notice=Notice.APPOINTMENT_CONFIRMATION)
    assert refused.value.code == "no_visit"
    assert world() == before


@pytest.mark.parametrize(("notice", "channels", "field"), [(Notice.INVOICE_ISSUED, [EMAIL], "notice"), (Notice.PORTAL_LINK, [], "channels")])
def test_notice_send_refuses_other_notices_and_no_channel(dispatcher, job, notice, channels, field):
    before = world()
    with pytest.raises(InvalidInput) as refused:
        thread.notice_send(actor=dispatcher, job_id=job.pk, notice=notice, channels=channels)
    assert field in refused.value.fields
    assert world() == before


# ---- resend -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.SENT, S.FAILED, S.SKIPPED])
def test_resend_writes_a_copy_to_todays_address(office, job, status):
    original = a_message(job, status=status, data={"automatic": True, "portal_link": 7}, visit=VisitFactory(job=job))
    copy = thread.message_resend(actor=office, job_id=job.pk, message_id=original.pk)
    assert copy.pk != original.pk
    assert copy.uid != original.uid
    assert (copy.resend_of, copy.status, copy.attempts, copy.created_by) == (original, S.PENDING, 0, office)
    assert (copy.notice, copy.channel, copy.subject, copy.body, copy.visit_id) == (
        original.notice,
        original.channel,
        original.subject,
        original.body,
        original.visit_id,
    )
    assert copy.recipient == "jordan@example.com"  # the customer's address now, not the one it first went to
    assert copy.data == {"portal_link": 7}  # sent by a person: not muted with the automatic ones
    original.refresh_from_db()
    assert original.status == status
    assert JobEvent.objects.filter(job=job, actor=office, message="Resent On the way (email)").exists()


@pytest.mark.parametrize("status", [S.PENDING, S.SENDING, S.SUPPRESSED])
def test_resend_of_a_message_not_done_is_refused(office, job, status):
    original = a_message(job, status=status)
    before = world()
    with pytest.raises(ConflictError) as refused:
        thread.message_resend(actor=office, job_id=job.pk, message_id=original.pk)
    assert refused.value.code == "not_resendable"
    assert world() == before


def test_resend_to_an_opted_out_channel_is_refused(office, job):
    original = a_message(job, channel=SMS)
    job.customer.sms_opt_out = True
    job.customer.save(update_fields=["sms_opt_out"])
    before = world()
    with pytest.raises(ConflictError) as refused:
        thread.message_resend(actor=office, job_id=job.pk, message_id=original.pk)
    assert (refused.value.code, refused.value.message) == ("opted_out", "The customer opted out of text messages; nothing was sent.")
    assert world() == before


def test_resend_without_an_address_is_refused(office, job):
    original = a_message(job, status=S.SKIPPED, skip_reason="No email address on file.")
    job.customer.email = ""
    job.customer.save(update_fields=["email"])
    before = world()
    with pytest.raises(ConflictError) as refused:
        thread.message_resend(actor=office, job_id=job.pk, message_id=original.pk)
    assert refused.value.code == "no_address"
    assert world() == before


def test_resend_of_another_jobs_message_or_an_office_alert_is_not_found(office, job, other_job):
    foreign = a_message(other_job)
    MessagingSettings.objects.create(office_email="office@example.com")
    alert = alert_office(job=job, subject="Customer wrote", body="…")
    assert alert is not None
    OutboxMessage.objects.filter(pk=alert.pk).update(status=S.SENT)
    before = world()
    for message in (foreign, alert):
        with pytest.raises(DomainError) as refused:
            thread.message_resend(actor=office, job_id=job.pk, message_id=message.pk)
        assert refused.value.code == "not_found"
    assert world() == before


# ---- suppress ------------------------------------------------------------------------------------------


def test_suppress_a_waiting_message(dispatcher, job):
    message = a_message(job, status=S.PENDING, notice=Notice.APPOINTMENT_REMINDER)
    suppressed = thread.message_suppress(actor=dispatcher, job_id=job.pk, message_id=message.pk)
    assert (suppressed.status, suppressed.skip_reason) == (S.SUPPRESSED, "Suppressed by Dana Dispatcher")
    assert JobEvent.objects.filter(job=job, actor=dispatcher, message="Suppressed Appointment reminder (email)").exists()


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (S.SENT, "It has already been sent."),
        (S.SENDING, "It is being sent right now and can no longer be stopped."),
        (S.FAILED, "It is failed, not waiting to be sent."),
        (S.SUPPRESSED, "It is suppressed, not waiting to be sent."),
    ],
)
def test_suppress_of_a_message_not_waiting_is_refused_and_changes_nothing(dispatcher, job, status, why):
    message = a_message(job, status=status)
    before = world()
    with pytest.raises(ConflictError) as refused:
        thread.message_suppress(actor=dispatcher, job_id=job.pk, message_id=message.pk)
    assert refused.value.code == "not_pending"
    assert refused.value.message == f"This message cannot be suppressed: {why}"
    assert world() == before


def test_suppress_loses_to_the_worker_claiming_first(dispatcher, job, monkeypatch):
    """The worker claims the message between the action's read and its update: the conditional update
    finds it no longer pending and refuses, rather than overwrite a message being sent. (The simulated
    claim runs inside the action's transaction, so the refusal's rollback takes it back too.)"""
    message = a_message(job, status=S.PENDING)
    real = thread._message_of

    def read_then_claimed(job_id, message_id):  # type: ignore[no-untyped-def]
        found = real(job_id, message_id)
        OutboxMessage.objects.filter(pk=message_id).update(status=S.SENDING, claimed_by="worker-1")
        return found

    monkeypatch.setattr(thread, "_message_of", read_then_claimed)
    before = world()
    with pytest.raises(ConflictError) as refused:
        thread.message_suppress(actor=dispatcher, job_id=job.pk, message_id=message.pk)
    assert refused.value.message == "This message cannot be suppressed: It is being sent right now and can no longer be stopped."
    assert world() == before


# ---- mute / unmute ------------------------------------------------------------------------------------


def test_mute_skips_waiting_automatic_messages_only(dispatcher, job):
    visit = VisitFactory(job=job, scheduled_start=timezone.now() + timedelta(days=3))
    reminders = notify(
        job=job, notice=Notice.APPOINTMENT_REMINDER, visit=visit, automatic=True, send_after=timezone.now() + timedelta(days=2), data={"automatic": True}
    )
    by_hand = thread.office_message_send(actor=dispatcher, job_id=job.pk, body="See you soon", channels=[EMAIL]).outbox
    sent = a_message(job, status=S.SENT, data={"automatic": True})
    mute = thread.notifications_mute(actor=dispatcher, job_id=job.pk)
    assert (mute.job, mute.muted_by) == (job, dispatcher)
    for message in reminders:
        message.refresh_from_db()
        assert (message.status, message.skip_reason) == (S.SKIPPED, "Automatic notifications are off for this job.")
    by_hand.refresh_from_db()
    sent.refresh_from_db()
    assert (by_hand.status, sent.status) == (S.PENDING, S.SENT)
    assert JobEvent.objects.filter(job=job, message="Automatic notifications turned off; 2 waiting messages will not be sent").exists()


def test_mute_twice_and_unmute_twice_are_refused(dispatcher, job):
    thread.notifications_mute(actor=dispatcher, job_id=job.pk)
    before = world()
    with pytest.raises(ConflictError) as refused:
        thread.notifications_mute(actor=dispatcher, job_id=job.pk)
    assert refused.value.code == "already_muted"
    assert world() == before
    thread.notifications_unmute(actor=dispatcher, job_id=job.pk)
    assert not JobNotificationMute.objects.exists()
    assert JobEvent.objects.filter(job=job, message="Automatic notifications turned on").exists()
    before = world()
    with pytest.raises(ConflictError) as refused:
        thread.notifications_unmute(actor=dispatcher, job_id=job.pk)
    assert refused.value.code == "not_muted"
    assert world() == before


# ---- mark read ------------------------------------------------------------------------------------------


def test_mark_read_marks_this_jobs_unread_customer_messages(office, job, other_job):
    first, second = customer_says(job), customer_says(job, "And the gate code is 4412")
    earlier = customer_says(job, read_at=timezone.now() - timedelta(days=1))
    elsewhere = customer_says(other_job)
    reply = CustomerMessage.objects.create(job=job, direction=CustomerMessage.Direction.OUT, body="Thanks!", author=office)
    assert thread.messages_mark_read(actor=office, job_id=job.pk) == 2
    first.refresh_from_db(), second.refresh_from_db(), earlier.refresh_from_db(), elsewhere.refresh_from_db(), reply.refresh_from_db()
    assert first.read_at
    assert second.read_at
    assert earlier.read_at < first.read_at
    assert elsewhere.read_at is None
    assert reply.read_at is None
    assert thread.messages_mark_read(actor=office, job_id=job.pk) == 0


# ---- who may ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["dispatcher", "office", "manager", "owner"])
def test_office_roles_may_write_to_the_customer(request, job, role):
    user = request.getfixturevalue(role)
    thread.office_message_send(actor=user, job_id=job.pk, body="Hello", channels=[EMAIL])
    pending = a_message(job, status=S.PENDING)
    thread.message_suppress(actor=user, job_id=job.pk, message_id=pending.pk)
    thread.notifications_mute(actor=user, job_id=job.pk)
    thread.notifications_unmute(actor=user, job_id=job.pk)
    assert CustomerMessage.objects.filter(author=user).count() == 1


def test_a_technician_may_not(tech_a, job):
    job.technicians.add(tech_a)
    sent, pending = a_message(job), a_message(job, status=S.PENDING)
    customer_says(job)
    before = world()
    attempts = [
        lambda: thread.office_message_send(actor=tech_a.user, job_id=job.pk, body="Hi", channels=[EMAIL]),
        lambda: thread.notice_send(actor=tech_a.user, job_id=job.pk, notice=Notice.PORTAL_LINK),
        lambda: thread.message_resend(actor=tech_a.user, job_id=job.pk, message_id=sent.pk),
        lambda: thread.message_suppress(actor=tech_a.user, job_id=job.pk, message_id=pending.pk),
        lambda: thread.notifications_mute(actor=tech_a.user, job_id=job.pk),
        lambda: thread.notifications_unmute(actor=tech_a.user, job_id=job.pk),
        lambda: thread.messages_mark_read(actor=tech_a.user, job_id=job.pk),
    ]
    for attempt in attempts:
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.code == "forbidden"
    assert world() == before


# ---- the thread -----------------------------------------------------------------------------------------


def test_thread_merges_messages_and_notifications_newest_first(dispatcher, job):
    now = timezone.now()
    question = customer_says(job, created_at=now - timedelta(hours=3))
    reminder = a_message(job, notice=Notice.APPOINTMENT_REMINDER, created_at=now - timedelta(hours=2))
    reply = thread.office_message_send(actor=dispatcher, job_id=job.pk, body="Yes, at 10.", channels=[EMAIL, SMS])
    copy = thread.message_resend(actor=dispatcher, job_id=job.pk, message_id=reminder.pk)
    MessagingSettings.objects.create(office_email="office@example.com")
    alert_office(job=job, subject="Customer wrote", body="…")  # the office's own mail is not on the thread

    result = queries.job_thread(job)
    kinds = [(item.kind, item.message.pk if item.message else item.notices[0].message.pk) for item in result.items]
    assert kinds == [("notice", copy.pk), ("out", reply.pk), ("notice", reminder.pk), ("in", question.pk)]
    carried = result.items[1].notices
    assert [(row.message.channel, row.message.notice) for row in carried] == [(EMAIL, Notice.OFFICE_MESSAGE), (SMS, Notice.OFFICE_MESSAGE)]
    assert result.items[2].notices[0].resent_as == [copy.pk]
    assert result.unread == 1
    assert result.muted is None
    assert not result.truncated


def test_thread_costs_three_queries_whatever_it_holds(dispatcher, job, django_assert_num_queries):
    customer_says(job)
    a_message(job)
    with django_assert_num_queries(3):
        queries.job_thread(job)
    JobNotificationMute.objects.create(job=job, muted_by=dispatcher)
    for i in range(30):
        customer_says(job, f"Question {i}")
        thread.office_message_send(actor=dispatcher, job_id=job.pk, body=f"Answer {i}", channels=[EMAIL, SMS])
        a_message(job, status=S.FAILED, last_error="550 mailbox unavailable")
    with django_assert_num_queries(3):
        result = queries.job_thread(job)
    assert len(result.items) == 1 + 1 + 30 * 3
    assert result.muted is not None


def test_thread_shows_the_newest_up_to_its_limit(job):
    for i in range(5):
        customer_says(job, f"Question {i}")
        a_message(job)
    result = queries.job_thread(job, limit=3)
    assert result.truncated
    assert [item.message.body for item in result.items if item.message] == ["Question 4", "Question 3", "Question 2"]
    assert sum(1 for item in result.items if item.kind == "notice") == 3


def test_delivery_status_texts(job):
    now = timezone.now()
    local = timezone.localtime(now)
    cases = [
        (a_message(job, status=S.PENDING), "Waiting to send", "wait"),
        (a_message(job, status=S.PENDING, next_attempt_at=now + timedelta(days=2)), "Waiting to send — due ", "wait"),
        (
            a_message(job, status=S.PENDING, attempts=2, last_error="Connection refused", next_attempt_at=now + timedelta(minutes=5)),
            f"Failed: Connection refused — retrying at {timezone.localtime(now + timedelta(minutes=5)):%H:%M}",
            "bad",
        ),
        (a_message(job, status=S.SENDING), "Sending…", "wait"),
        (a_message(job, status=S.SENT, sent_at=now), f"Sent {local:%H:%M}", "ok"),
        (a_message(job, status=S.FAILED, last_error="550 No such user"), "Failed: 550 No such user", "bad"),
        (a_message(job, status=S.SKIPPED, skip_reason="The customer opted out of text messages."), "Not sent: the customer opted out of text messages.", "off"),
        (a_message(job, status=S.SUPPRESSED, skip_reason="Suppressed by Dana Dispatcher"), "Suppressed by Dana Dispatcher", "off"),
    ]
    for message, text, tone in cases:
        row = queries.notice_row(message, now)
        assert row.status_text.startswith(text), (message.status, row.status_text)
        assert row.tone == tone
        assert row.can_resend == (message.status in (S.SENT, S.FAILED, S.SKIPPED))
        assert row.can_suppress == (message.status == S.PENDING)


# ---- the inbox ----------------------------------------------------------------------------------------


def test_inbox_holds_unread_messages_and_unacknowledged_decisions_newest_first(job, other_job):
    now = timezone.now()
    old_question = customer_says(job, "Old question", created_at=now - timedelta(hours=5))
    customer_says(job, "Already read", created_at=now - timedelta(hours=4), read_at=now)
    approved = decided(job, 1, decided_at=now - timedelta(hours=3))
    decided(job, 2, decided_at=now - timedelta(hours=2), acknowledged_at=now)
    ApprovalRequest.objects.create(job=job, number=3, kind="change_order", title="Waiting", content_hash="1" * 64)
    declined = decided(other_job, 1, status=ApprovalRequest.Status.DECLINED, decided_at=now - timedelta(hours=1), decline_reason="Too dear")
    new_question = customer_says(other_job, "New question", created_at=now)
    CustomerMessage.objects.create(job=job, direction=CustomerMessage.Direction.OUT, body="Office reply", created_at=now)

    page, entries = queries.inbox_page(1)
    assert [(e.kind, (e.message or e.approval).pk) for e in entries] == [
        ("message", new_question.pk),
        ("approval", declined.pk),
        ("approval", approved.pk),
        ("message", old_question.pk),
    ]
    assert [e.job for e in entries] == [other_job, other_job, job, job]
    assert page.paginator.count == 4
    assert queries.unread_count() == 4


def test_inbox_pages_and_costs_a_fixed_number_of_queries(job, django_assert_num_queries):
    customer_says(job)
    decided(job, 1)
    with django_assert_num_queries(4):
        page, entries = queries.inbox_page(1)
        [e.job.customer.name for e in entries]
    now = timezone.now()
    for i in range(40):
        customer_says(job, f"Question {i}", created_at=now + timedelta(minutes=i))
    for n in range(2, 12):
        decided(job, n, decided_at=now + timedelta(minutes=n, seconds=30))
    with django_assert_num_queries(4):
        page, entries = queries.inbox_page(1)
        [(e.job.customer.name, e.job.location.one_line) for e in entries]
    assert len(entries) == queries.INBOX_PAGE_SIZE
    assert page.paginator.count == 52
    assert entries[0].message.body == "Question 39"
    _, last = queries.inbox_page(3)
    assert len(last) == 2
    _, beyond = queries.inbox_page(99)  # out of range: the last page
    assert [(e.kind, e.at) for e in beyond] == [(e.kind, e.at) for e in last]


def test_an_empty_inbox_reads_no_page(db, django_assert_num_queries):
    with django_assert_num_queries(3):  # the count finds nothing, so there is no page of keys to read
        page, entries = queries.inbox_page(1)
    assert entries == []
    assert page.paginator.count == 0


def test_unread_count_is_one_query(job, django_assert_num_queries):
    customer_says(job)
    decided(job, 1)
    with django_assert_num_queries(1):
        assert queries.unread_count() == 2
