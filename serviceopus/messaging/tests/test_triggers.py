"""The notifications events cause (triggers.py, plugged in by hooks.install): scheduling confirms and
reminds, rescheduling replaces the reminder, cancelling and setting off stop it, on the way and arrival
tell the customer, the work completing and an invoice issued too. Each in the event's own transaction:
muted jobs and opted-out channels get them as skipped, a rolled-back event leaves none."""

from datetime import UTC, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from serviceopus.billing.actions import invoice_create, invoice_issue
from serviceopus.billing.actions.invoices import INVOICE_ISSUED_HOOKS
from serviceopus.billing.models import BillingSettings, Invoice
from serviceopus.dispatch import actions as dispatch
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.jobs.actions import TRANSITION_HOOKS, job_transition
from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging import hooks, triggers
from serviceopus.messaging.eta import eta_text
from serviceopus.messaging.models import Channel, JobNotificationMute, MessagingSettings, Notice, OutboxMessage
from serviceopus.messaging.outbox import window_text
from tests.dispatch_support import at
from tests.factories import CustomerFactory, JobFactory, LineItemFactory, LocationFactory, VisitFactory

S = OutboxMessage.Status
EMAIL, SMS = Channel.EMAIL.value, Channel.SMS.value


@pytest.fixture
def company(db):  # type: ignore[no-untyped-def]
    settings = BillingSettings.current()
    settings.company_name = "Northwind Home Services"
    settings.company_phone = "(312) 555-0100"
    settings.save()
    return settings


@pytest.fixture
def customer(db):  # type: ignore[no-untyped-def]
    return CustomerFactory(name="Jordan Rivera", email="jordan@example.com", phone="+1 312 555 0199")


@pytest.fixture
def job(company, customer):  # type: ignore[no-untyped-def]
    return JobFactory(location=LocationFactory(customer=customer, street="1200 W Madison St"), status=JobStatus.NEW)


def schedule(actor, job, tech, *, start=None, days=1):  # type: ignore[no-untyped-def]
    start = start or at(3, 10)
    return dispatch.visit_schedule(
        actor=actor, job_id=job.pk, start=start, window_start=start, window_end=start + timedelta(hours=2), lead_id=tech.pk, days=days
    )


def rows(**filters):  # type: ignore[no-untyped-def]
    return list(OutboxMessage.objects.filter(**filters).order_by("id"))


def by_notice(notice):  # type: ignore[no-untyped-def]
    return {m.channel: m for m in rows(notice=notice)}


# ---- scheduling ---------------------------------------------------------------------------------------


def test_scheduling_confirms_and_reminds(dispatcher, tech_a, job):
    [visit] = schedule(dispatcher, job, tech_a)
    confirmation = by_notice(Notice.APPOINTMENT_CONFIRMATION)
    assert set(confirmation) == {EMAIL, SMS}
    email, sms = confirmation[EMAIL], confirmation[SMS]
    assert (email.recipient, sms.recipient) == ("jordan@example.com", "+1 312 555 0199")
    assert email.status == sms.status == S.PENDING
    assert email.visit_id == sms.visit_id == visit.pk
    assert email.data["automatic"] is True
    assert email.created_by == dispatcher
    window = window_text(visit)
    assert window
    assert window in email.subject
    assert f"job {job.number} at {job.location.one_line} is booked: we will arrive {window}." in email.body
    assert sms.body.startswith(f"Northwind Home Services: your appointment is booked, arrival {window}.")

    reminder = by_notice(Notice.APPOINTMENT_REMINDER)
    assert set(reminder) == {EMAIL, SMS}
    hours = MessagingSettings.current().reminder_hours
    for message in reminder.values():
        assert message.status == S.PENDING
        assert message.visit_id == visit.pk
        assert message.next_attempt_at == visit.scheduled_start - timedelta(hours=hours)
        assert message.data["visit_start"] == visit.scheduled_start.astimezone(UTC).isoformat()
        assert message.data["automatic"] is True
    assert OutboxMessage.objects.count() == 4


def test_multi_day_work_is_confirmed_once_and_each_day_reminded(dispatcher, tech_a, job):
    visits = schedule(dispatcher, job, tech_a, days=3)
    assert len(visits) == 3
    confirmations = rows(notice=Notice.APPOINTMENT_CONFIRMATION)
    assert [(m.channel, m.visit_id) for m in confirmations] == [(EMAIL, visits[0].pk), (SMS, visits[0].pk)]
    reminders = rows(notice=Notice.APPOINTMENT_REMINDER)
    assert sorted((m.visit_id, m.channel) for m in reminders) == sorted((v.pk, c) for v in visits for c in (EMAIL, SMS))
    assert {m.data["visit_start"] for m in reminders} == {v.scheduled_start.astimezone(UTC).isoformat() for v in visits}


def test_no_reminder_when_its_moment_is_less_than_an_hour_away(dispatcher, tech_a, job):
    settings = MessagingSettings.current()
    settings.reminder_hours = 72  # the visit is 2 days off: its reminder's moment has already passed
    settings.save()
    schedule(dispatcher, job, tech_a, start=at(2, 10))
    assert len(rows(notice=Notice.APPOINTMENT_CONFIRMATION)) == 2
    assert rows(notice=Notice.APPOINTMENT_REMINDER) == []


def test_reminder_just_inside_the_hour_is_not_written(job, dispatcher):
    visit = VisitFactory(job=job, scheduled_start=timezone.now() + timedelta(hours=24, minutes=59))
    triggers.visits_scheduled(actor=dispatcher, visits=[visit], change="scheduled")
    assert rows(notice=Notice.APPOINTMENT_REMINDER) == []
    later = VisitFactory(job=job, scheduled_start=timezone.now() + timedelta(hours=25, minutes=5))
    triggers.visits_scheduled(actor=dispatcher, visits=[later], change="scheduled")
    assert {m.visit_id for m in rows(notice=Notice.APPOINTMENT_REMINDER)} == {later.pk}


def test_a_visit_booked_after_the_fact_is_not_confirmed(job, dispatcher):
    visit = VisitFactory(job=job, scheduled_start=timezone.now() - timedelta(hours=2))
    triggers.visits_scheduled(actor=dispatcher, visits=[visit], change="scheduled")
    assert not OutboxMessage.objects.exists()


def test_rescheduling_replaces_the_reminder(dispatcher, tech_a, job):
    [visit] = schedule(dispatcher, job, tech_a)
    old_reminders = rows(notice=Notice.APPOINTMENT_REMINDER)
    new_start = at(4, 13)
    moved = dispatch.visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, start=new_start)
    for message in old_reminders:
        message.refresh_from_db()
        assert message.status == S.SKIPPED
        assert message.skip_reason == "Replaced: the appointment moved."
    confirmations = rows(notice=Notice.APPOINTMENT_CONFIRMATION)
    assert len(confirmations) == 4
    assert all(window_text(moved) in m.body for m in confirmations[2:])
    pending = rows(notice=Notice.APPOINTMENT_REMINDER, status=S.PENDING)
    assert {m.channel for m in pending} == {EMAIL, SMS}
    assert {m.data["visit_start"] for m in pending} == {new_start.astimezone(UTC).isoformat()}
    assert {m.next_attempt_at for m in pending} == {new_start - timedelta(hours=24)}


def test_a_reminder_being_sent_is_not_touched_by_a_reschedule(dispatcher, tech_a, job):
    [visit] = schedule(dispatcher, job, tech_a)
    sending = rows(notice=Notice.APPOINTMENT_REMINDER)[0]
    OutboxMessage.objects.filter(pk=sending.pk).update(status=S.SENDING, claimed_by="worker-1")
    dispatch.visit_update(actor=dispatcher, visit_id=visit.pk, version=visit.version, start=at(4, 13))
    sending.refresh_from_db()
    assert (sending.status, sending.skip_reason) == (S.SENDING, "")


def test_cancelling_the_visit_skips_its_reminders(dispatcher, office, tech_a, job):
    [visit] = schedule(dispatcher, job, tech_a)
    dispatch.visit_transition(actor=office, visit_id=visit.pk, to=VisitStatus.CANCELLED, reason="Customer called to cancel")
    reminders = rows(notice=Notice.APPOINTMENT_REMINDER)
    assert len(reminders) == 2
    assert {(m.status, m.skip_reason) for m in reminders} == {(S.SKIPPED, "The appointment was cancelled.")}
    assert len(rows(notice=Notice.APPOINTMENT_CONFIRMATION, status=S.PENDING)) == 2  # what was sent before stays


# ---- the day of the visit -----------------------------------------------------------------------------


def test_en_route_tells_the_customer_who_and_when(dispatcher, tech_a, job):
    [visit] = schedule(dispatcher, job, tech_a)
    dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.EN_ROUTE)
    on_the_way = by_notice(Notice.ON_THE_WAY)
    assert set(on_the_way) == {EMAIL, SMS}
    eta = eta_text(visit.window_end)  # no position reported: the end of the arrival window
    assert eta
    assert on_the_way[EMAIL].subject == "Alex is on the way"
    assert f"Alex from Northwind Home Services is on the way and should arrive around {eta}." in on_the_way[EMAIL].body
    assert on_the_way[SMS].body.startswith(f"Northwind Home Services: Alex is on the way, arriving around {eta}.")
    assert {m.visit_id for m in on_the_way.values()} == {visit.pk}
    assert {m.created_by_id for m in on_the_way.values()} == {tech_a.user.pk}
    # Setting off also settles the reminders still waiting: the customer sees the crew coming.
    assert {(m.status, m.skip_reason) for m in rows(notice=Notice.APPOINTMENT_REMINDER)} == {(S.SKIPPED, "The crew is already on the way.")}


def test_en_route_eta_from_the_reported_position(dispatcher, tech_a, job):
    [visit] = schedule(dispatcher, job, tech_a)
    before = timezone.now()
    # About 10 km south of the job's location: 15 minutes at the default 40 km/h.
    dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.EN_ROUTE, lat=41.79, lng=-87.63)
    after = timezone.now()
    sms = by_notice(Notice.ON_THE_WAY)[SMS]
    candidates = {eta_text(t + timedelta(minutes=15)) for t in (before, after)}
    assert any(f"arriving around {c}." in sms.body for c in candidates), sms.body


def test_arrival_tells_the_customer(dispatcher, tech_a, job):
    [visit] = schedule(dispatcher, job, tech_a)
    dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.EN_ROUTE)
    dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.ARRIVED)
    arrived = by_notice(Notice.ARRIVED)
    assert arrived[EMAIL].subject == "Alex has arrived"
    assert arrived[SMS].body == "Northwind Home Services: Alex has arrived."
    assert {m.status for m in arrived.values()} == {S.PENDING}


def test_other_visit_steps_send_nothing(dispatcher, tech_a, job):
    [visit] = schedule(dispatcher, job, tech_a)
    for to in (VisitStatus.EN_ROUTE, VisitStatus.ARRIVED):
        dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=to)
    count = OutboxMessage.objects.count()
    dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.WORKING)
    dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.PAUSED, reason="Fetching a part")
    dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.WORKING)
    dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.DEPARTED)
    assert OutboxMessage.objects.count() == count


def test_a_rolled_back_visit_transition_writes_nothing(dispatcher, tech_a, job):
    [visit] = schedule(dispatcher, job, tech_a)
    before = list(OutboxMessage.objects.order_by("pk").values())
    written_inside = []

    def transition_then_fail() -> None:
        with transaction.atomic():
            dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.EN_ROUTE)
            written_inside.append(OutboxMessage.objects.filter(notice=Notice.ON_THE_WAY).count())
            raise RuntimeError("the request failed after the transition")

    with pytest.raises(RuntimeError):
        transition_then_fail()
    assert written_inside == [2]  # written inside the transaction…
    assert list(OutboxMessage.objects.order_by("pk").values()) == before  # …and gone with the rollback
    assert not OutboxMessage.objects.filter(notice=Notice.ON_THE_WAY).exists()


def test_a_rolled_back_schedule_writes_nothing(dispatcher, tech_a, job):
    def schedule_then_fail() -> None:
        with transaction.atomic():
            schedule(dispatcher, job, tech_a)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        schedule_then_fail()
    assert not OutboxMessage.objects.exists()


# ---- the work complete, the invoice ------------------------------------------------------------------


def test_work_complete_tells_the_customer(manager, job):
    job.status = JobStatus.IN_PROGRESS
    job.save(update_fields=["status"])
    job_transition(actor=manager, job_id=job.pk, to=JobStatus.WORK_COMPLETE)
    completed = by_notice(Notice.COMPLETED)
    assert completed[EMAIL].subject == f"Job {job.number} is complete"
    assert "The service report is on your job page" in completed[EMAIL].body
    assert completed[SMS].body.startswith(f"Northwind Home Services: job {job.number} is complete. Service report: ")
    assert {m.data["automatic"] for m in completed.values()} == {True}


def test_finishing_the_last_visit_completes_the_work_and_tells_the_customer(dispatcher, tech_a, job):
    [visit] = schedule(dispatcher, job, tech_a)
    for to in (VisitStatus.EN_ROUTE, VisitStatus.ARRIVED, VisitStatus.WORKING, VisitStatus.DEPARTED):
        dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=to)
    dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.COMPLETED, outcome=Outcome.FINISHED)
    job.refresh_from_db()
    assert job.status == JobStatus.WORK_COMPLETE
    assert len(rows(notice=Notice.COMPLETED)) == 2


def test_back_to_work_complete_after_a_void_sends_nothing(manager, job):
    triggers.job_moved(manager, job, JobStatus.INVOICED, JobStatus.WORK_COMPLETE)
    triggers.job_moved(manager, job, JobStatus.NEW, JobStatus.SCHEDULED)
    assert not OutboxMessage.objects.exists()


def test_an_issued_invoice_tells_the_customer(office, job):
    job.status = JobStatus.WORK_COMPLETE
    job.save(update_fields=["status"])
    LineItemFactory(job=job, description="Blower motor replacement", unit_price_cents=123400)
    draft = invoice_create(actor=office, job_ids=[job.pk])
    invoice = invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version)
    assert invoice.total_cents == 123400
    issued = by_notice(Notice.INVOICE_ISSUED)
    assert set(issued) == {EMAIL, SMS}
    due = invoice.due_date
    due_text = f"{due:%b} {due.day}, {due.year}"
    assert issued[EMAIL].subject == f"Invoice {invoice.number} from Northwind Home Services"
    assert f"invoice {invoice.number} for job {job.number} is ready: $1,234.00, $1,234.00 due by {due_text}." in issued[EMAIL].body
    assert issued[SMS].body.startswith(f"Northwind Home Services: invoice {invoice.number} ($1,234.00, due {due_text}) is ready: ")
    assert {m.data["invoice"] for m in issued.values()} == {invoice.pk}
    assert {m.job_id for m in issued.values()} == {job.pk}


def test_a_zero_invoice_sends_nothing(office, job):
    job.status = JobStatus.WORK_COMPLETE
    job.save(update_fields=["status"])
    LineItemFactory(job=job, description="Warranty repair", unit_price_cents=0)
    draft = invoice_create(actor=office, job_ids=[job.pk])
    invoice = invoice_issue(actor=office, invoice_id=draft.pk, version=draft.version)
    assert invoice.total_cents == 0
    assert invoice.number
    assert not OutboxMessage.objects.filter(notice=Notice.INVOICE_ISSUED).exists()


def test_a_credit_note_sends_nothing(office, job):
    credit_note = Invoice(kind=Invoice.Kind.CREDIT_NOTE, total_cents=5000, number="CN-000001")
    triggers.invoice_issued(actor=office, invoice=credit_note)
    assert not OutboxMessage.objects.exists()


def test_date_text():
    from datetime import date

    assert triggers.date_text(date(2026, 12, 1)) == "Dec 1, 2026"
    assert triggers.date_text(None) == ""


# ---- muted jobs, opted-out channels -------------------------------------------------------------------


def test_a_muted_job_gets_its_notifications_as_skipped(dispatcher, tech_a, job):
    JobNotificationMute.objects.create(job=job, muted_by=dispatcher)
    [visit] = schedule(dispatcher, job, tech_a)
    dispatch.visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.EN_ROUTE)
    written = rows()
    assert {m.notice for m in written} == {Notice.APPOINTMENT_CONFIRMATION, Notice.APPOINTMENT_REMINDER, Notice.ON_THE_WAY}
    assert {(m.status, m.skip_reason) for m in written} == {(S.SKIPPED, "Automatic notifications are off for this job.")}


def test_an_opted_out_channel_is_skipped_and_the_other_goes(dispatcher, tech_a, job, customer):
    customer.sms_opt_out = True
    customer.save(update_fields=["sms_opt_out"])
    schedule(dispatcher, job, tech_a)
    confirmation = by_notice(Notice.APPOINTMENT_CONFIRMATION)
    assert (confirmation[SMS].status, confirmation[SMS].skip_reason) == (S.SKIPPED, "The customer opted out of text messages.")
    assert (confirmation[EMAIL].status, confirmation[EMAIL].skip_reason) == (S.PENDING, "")
    customer.email_opt_out = True
    customer.save(update_fields=["email_opt_out"])
    job_transition(actor=dispatcher, job_id=job.pk, to=JobStatus.IN_PROGRESS)
    job_transition(actor=dispatcher, job_id=job.pk, to=JobStatus.WORK_COMPLETE)
    completed = by_notice(Notice.COMPLETED)
    assert completed[EMAIL].skip_reason == "The customer opted out of emails."
    assert completed[SMS].skip_reason == "The customer opted out of text messages."
    assert {m.status for m in completed.values()} == {S.SKIPPED}


# ---- installation ---------------------------------------------------------------------------------------


def test_each_hook_is_installed_once():
    hooks.install()
    hooks.install()
    assert dispatch.VISIT_SCHEDULE_HOOKS.count(triggers.visits_scheduled) == 1
    assert dispatch.VISIT_TRANSITION_HOOKS.count(triggers.visit_moved) == 1
    assert TRANSITION_HOOKS.count(triggers.job_moved) == 1
    assert INVOICE_ISSUED_HOOKS.count(triggers.invoice_issued) == 1


def test_notifications_add_one_portal_link_to_the_timeline(dispatcher, tech_a, job):
    schedule(dispatcher, job, tech_a)
    dispatch.visit_transition(actor=tech_a.user, visit_id=job.visits.get().pk, to=VisitStatus.EN_ROUTE)
    # Every message carries the customer to the portal through one link, made with the first of them.
    links = {m.data.get("portal_link") for m in rows()}
    assert len(links) == 1
    assert None not in links
    assert JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CUSTOMER, message__startswith="Portal link created").count() == 1
