"""The job workspace's Messages tab and what it posts (views/tab.py), the inbox page and the navigation:
what each shows, who may (technicians read the tab only; another technician's job is 404), what a refusal
or bad input leaves (nothing), HTMX fragments and plain POST-redirect-GET, and fixed query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus
from serviceopus.jobs.tests.pages import HTMX
from serviceopus.messaging.actions import thread
from serviceopus.messaging.models import ApprovalRequest, Channel, CustomerMessage, JobNotificationMute, MessagingSettings, Notice, OutboxMessage
from tests.factories import CustomerFactory, JobFactory, LocationFactory, VisitFactory

S = OutboxMessage.Status
EMAIL, SMS = Channel.EMAIL.value, Channel.SMS.value
FRAGMENT = {**HTMX, "HTTP_HX_TARGET": "tab-area"}


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    MessagingSettings.current()  # its row exists, as in any running site (the first read would create it)
    customer = CustomerFactory(name="Jordan Rivera", email="jordan@example.com", phone="+1 312 555 0199")
    return JobFactory(location=LocationFactory(customer=customer), status=JobStatus.SCHEDULED, technicians=[tech_a])


def tab(job) -> str:  # type: ignore[no-untyped-def]
    return reverse("jobs:tab", args=[job.pk, "messages"])


def url(name, job, *args):  # type: ignore[no-untyped-def]
    return reverse(f"messaging:{name}", args=[job.pk, *args])


def world() -> dict:
    return {
        "outbox": list(OutboxMessage.objects.order_by("pk").values()),
        "messages": list(CustomerMessage.objects.order_by("pk").values()),
        "mutes": list(JobNotificationMute.objects.order_by("pk").values()),
        "events": JobEvent.objects.count(),
    }


def a_message(job, *, status=S.SENT, channel=EMAIL, notice=Notice.ON_THE_WAY, **extra):  # type: ignore[no-untyped-def]
    return OutboxMessage.objects.create(
        job=job, notice=notice, channel=channel, recipient="jordan@example.com", subject="Alex is on the way", body="Alex is on the way.", status=status,
        sent_at=timezone.now() if status == S.SENT else None, **extra,
    )  # fmt: skip


def customer_says(job, body="Is the technician still coming today?", **extra):  # type: ignore[no-untyped-def]
    return CustomerMessage.objects.create(job=job, direction=CustomerMessage.Direction.IN, body=body, author_name="Jordan Rivera", **extra)


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


# ---- the tab --------------------------------------------------------------------------------------------


def test_empty_tab(client_as, dispatcher, job):
    page = html(client_as(dispatcher).get(tab(job)))
    assert "No messages with the customer yet" in page
    assert "Write to the customer" in page
    assert "Automatic notifications on" in page
    assert "Internal notes" not in page  # the notes live on their own tab, never on the customer's thread


def test_tab_shows_the_thread_with_delivery(client_as, dispatcher, job):
    question = customer_says(job)
    failed = a_message(job, status=S.FAILED, channel=SMS, last_error="Invalid number", attempts=8)
    waiting = a_message(job, status=S.PENDING, notice=Notice.APPOINTMENT_REMINDER, next_attempt_at=timezone.now() + timedelta(days=1))
    skipped = a_message(job, status=S.SKIPPED, skip_reason="The customer opted out of emails.", notice=Notice.ARRIVED)
    page = html(client_as(dispatcher).get(tab(job)))
    assert question.body in page
    assert f'id="message-{question.pk}"' in page
    assert "msg-unread" in page
    assert "Failed: Invalid number" in page
    assert "8 attempts" in page
    assert "Waiting to send — due" in page
    assert "Not sent: the customer opted out of emails." in page
    assert url("resend", job, failed.pk) in page
    assert url("resend", job, skipped.pk) in page
    assert url("suppress", job, waiting.pk) in page
    assert url("resend", job, waiting.pk) not in page
    assert url("suppress", job, failed.pk) not in page
    assert url("mark_read", job) in page
    assert "Mark 1 as read" in page


def test_a_technician_reads_the_tab_only(client_as, tech_a, job):
    customer_says(job)
    sent = a_message(job)
    pending = a_message(job, status=S.PENDING)
    response = client_as(tech_a.user).get(tab(job))
    assert response.status_code == 200
    page = html(response)
    assert "Is the technician still coming today?" in page
    for forbidden in (
        url("message_send", job),
        url("resend", job, sent.pk),
        url("suppress", job, pending.pk),
        url("mute", job),
        url("notify", job),
        url("mark_read", job),
    ):
        assert forbidden not in page
    assert "Write to the customer" not in page


def test_another_technicians_job_is_not_found(client_as, tech_b, job):
    assert client_as(tech_b.user).get(tab(job)).status_code == 404


def test_tab_query_count_does_not_grow_with_the_thread(client_as, dispatcher, job):
    customer_says(job)
    a_message(job)
    http = client_as(dispatcher)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert http.get(tab(job)).status_code == 200
        return len(captured)

    few = count()
    JobNotificationMute.objects.create(job=job, muted_by=dispatcher)
    for i in range(25):
        customer_says(job, f"Question {i}")
        thread.office_message_send(actor=dispatcher, job_id=job.pk, body=f"Answer {i}", channels=[EMAIL, SMS])
        a_message(job, status=S.PENDING, resend_of=a_message(job))
    ApprovalRequest.objects.create(job=job, number=1, kind="added_work", title="More", content_hash="0" * 64)
    assert count() == few


def test_tab_fragment_is_the_tab_area_only(client_as, dispatcher, job):
    response = client_as(dispatcher).get(tab(job), **FRAGMENT)
    page = html(response)
    assert page.lstrip().startswith('<div id="tab-area">')
    assert "<html" not in page


# ---- writing to the customer --------------------------------------------------------------------------


def test_send_a_message_plain_post_redirects_back(client_as, dispatcher, job):
    response = client_as(dispatcher).post(url("message_send", job), {"body": "We will bring the part on Tuesday.", "channels": [EMAIL, SMS]})
    assert response.status_code == 302
    assert response["Location"] == tab(job)
    message = CustomerMessage.objects.get()
    assert (message.direction, message.body, message.author) == ("out", "We will bring the part on Tuesday.", dispatcher)
    assert sorted(OutboxMessage.objects.values_list("channel", flat=True)) == [EMAIL, SMS]


def test_send_a_message_with_htmx_answers_the_tab(client_as, office, job):
    response = client_as(office).post(url("message_send", job), {"body": "Portal only, please read.", "channels": []}, **FRAGMENT)
    assert response.status_code == 200
    page = html(response)
    assert page.lstrip().startswith('<div id="tab-area">')
    assert "Portal only, please read." in page
    assert "Message posted on the customer&#x27;s job page." in page
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"), [({"body": "", "channels": [EMAIL]}, "This field is required."), ({"body": "Hi", "channels": ["fax"]}, "not one of")]
)
def test_bad_message_is_refused_with_the_form_and_writes_nothing(client_as, dispatcher, job, data, error):
    before = world()
    for extra in ({}, FRAGMENT):
        response = client_as(dispatcher).post(url("message_send", job), data, **extra)
        assert response.status_code == 422
        assert error in html(response)
    assert world() == before


def test_a_nul_in_the_message_is_a_field_error(client_as, dispatcher, job):
    before = world()
    response = client_as(dispatcher).post(url("message_send", job), {"body": "a\x00b", "channels": [EMAIL]}, **FRAGMENT)
    assert response.status_code == 422
    assert world() == before


# ---- resend, suppress ----------------------------------------------------------------------------------


def test_resend_from_the_tab(client_as, dispatcher, job):
    original = a_message(job, status=S.FAILED, last_error="Timeout")
    response = client_as(dispatcher).post(url("resend", job, original.pk), **FRAGMENT)
    assert response.status_code == 200
    copy = OutboxMessage.objects.get(resend_of=original)
    assert (copy.status, copy.created_by) == (S.PENDING, dispatcher)
    assert "On the way will be sent again to jordan@example.com." in html(response)


def test_suppress_from_the_tab(client_as, office, job):
    waiting = a_message(job, status=S.PENDING, notice=Notice.APPOINTMENT_REMINDER)
    response = client_as(office).post(url("suppress", job, waiting.pk))
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == S.SUPPRESSED


def test_suppress_of_a_sent_message_is_refused_and_changes_nothing(client_as, dispatcher, job):
    sent = a_message(job)
    before = world()
    response = client_as(dispatcher).post(url("suppress", job, sent.pk), **FRAGMENT)
    assert response.status_code == 409
    assert "This message cannot be suppressed: It has already been sent." in html(response)
    assert world() == before
    # Without HTMX the refusal comes back as a message on the tab.
    response = client_as(dispatcher).post(url("suppress", job, sent.pk), follow=True)
    assert "It has already been sent." in html(response)
    assert world() == before


def test_resend_of_a_waiting_message_is_refused(client_as, dispatcher, job):
    waiting = a_message(job, status=S.PENDING)
    before = world()
    response = client_as(dispatcher).post(url("resend", job, waiting.pk), **FRAGMENT)
    assert response.status_code == 409
    assert "Only a sent, failed or skipped message can be sent again; this one is waiting to send." in html(response)
    assert world() == before


def test_a_message_of_another_job_is_not_found_through_this_one(client_as, dispatcher, job):
    other = a_message(JobFactory())
    before = world()
    response = client_as(dispatcher).post(url("suppress", job, other.pk), **FRAGMENT)
    assert response.status_code == 400
    assert world() == before


# ---- mute, send now, mark read -----------------------------------------------------------------------


def test_mute_and_unmute(client_as, dispatcher, job):
    http = client_as(dispatcher)
    response = http.post(url("mute", job), {"mute": "1"}, **FRAGMENT)
    assert response.status_code == 200
    assert JobNotificationMute.objects.filter(job=job, muted_by=dispatcher).exists()
    assert "Automatic notifications off" in html(response)
    assert http.post(url("mute", job), {"mute": "1"}, **FRAGMENT).status_code == 409
    response = http.post(url("mute", job), {"mute": "0"})
    assert response.status_code == 302
    assert not JobNotificationMute.objects.exists()


def test_mute_needs_a_clear_answer(client_as, dispatcher, job):
    before = world()
    assert client_as(dispatcher).post(url("mute", job), {"mute": "maybe"}, **FRAGMENT).status_code == 422
    assert world() == before


def test_send_the_confirmation_now(client_as, dispatcher, job):
    visit = VisitFactory(job=job, scheduled_start=timezone.now() + timedelta(days=2))
    response = client_as(dispatcher).post(url("notify", job), {"notice": Notice.APPOINTMENT_CONFIRMATION, "channels": [EMAIL, SMS]}, **FRAGMENT)
    assert response.status_code == 200
    assert "Appointment confirmation is on its way to the customer." in html(response)
    assert {(m.notice, m.channel, m.visit_id) for m in OutboxMessage.objects.all()} == {
        (Notice.APPOINTMENT_CONFIRMATION, EMAIL, visit.pk),
        (Notice.APPOINTMENT_CONFIRMATION, SMS, visit.pk),
    }


def test_send_now_says_when_nothing_could_go(client_as, dispatcher, job):
    job.customer.sms_opt_out = True
    job.customer.save(update_fields=["sms_opt_out"])
    response = client_as(dispatcher).post(url("notify", job), {"notice": Notice.PORTAL_LINK, "channels": [SMS]}, **FRAGMENT)
    assert "Portal link not sent: The customer opted out of text messages." in html(response).replace("&#x27;", "'")


def test_send_now_without_a_visit_is_refused(client_as, dispatcher, job):
    before = world()
    response = client_as(dispatcher).post(url("notify", job), {"notice": Notice.APPOINTMENT_CONFIRMATION, "channels": [EMAIL]}, **FRAGMENT)
    assert response.status_code == 409
    assert "This job has no upcoming visit to confirm." in html(response)
    assert world() == before


def test_send_now_refuses_a_notice_not_in_the_menu(client_as, dispatcher, job):
    before = world()
    response = client_as(dispatcher).post(url("notify", job), {"notice": Notice.INVOICE_ISSUED, "channels": [EMAIL]}, **FRAGMENT)
    assert response.status_code == 422
    assert world() == before


def test_mark_read(client_as, office, job):
    message = customer_says(job)
    response = client_as(office).post(url("mark_read", job), **FRAGMENT)
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.read_at is not None
    assert "Marked 1 message read." in html(response)


# ---- who may post ----------------------------------------------------------------------------------------


def _posts(job):  # type: ignore[no-untyped-def]
    sent, pending = a_message(job), a_message(job, status=S.PENDING)
    customer_says(job)
    return [
        (url("message_send", job), {"body": "Hi", "channels": [EMAIL]}),
        (url("notify", job), {"notice": Notice.PORTAL_LINK, "channels": [EMAIL]}),
        (url("resend", job, sent.pk), {}),
        (url("suppress", job, pending.pk), {}),
        (url("mute", job), {"mute": "1"}),
        (url("mark_read", job), {}),
    ]


def test_a_technician_on_the_job_is_forbidden_and_changes_nothing(client_as, tech_a, job):
    posts = _posts(job)
    before = world()
    for target, data in posts:
        assert client_as(tech_a.user).post(target, data).status_code == 403, target
    assert world() == before


def test_a_technician_not_on_the_job_gets_404(client_as, tech_b, job):
    posts = _posts(job)
    before = world()
    for target, data in posts:
        assert client_as(tech_b.user).post(target, data).status_code == 404, target
    assert world() == before


@pytest.mark.parametrize("role", ["owner", "manager", "dispatcher", "office"])
def test_office_roles_may_post(request, client_as, job, role):
    user = request.getfixturevalue(role)
    for target, data in _posts(job):
        assert client_as(user).post(target, data).status_code == 302, target
    assert CustomerMessage.objects.filter(author=user).count() == 1
    assert JobNotificationMute.objects.filter(muted_by=user).exists()


def test_writes_are_post_only(client_as, dispatcher, job):
    for target, _ in _posts(job):
        assert client_as(dispatcher).get(target).status_code == 405


# ---- the inbox ------------------------------------------------------------------------------------------


def test_inbox_lists_what_is_new(client_as, office, job):
    question = customer_says(job, "Can you come earlier?")
    approval = ApprovalRequest.objects.create(
        job=job, number=1, kind="change_order", title="Replace the blower", content_hash="0" * 64, status="declined",
        decided_at=timezone.now(), decline_reason="Too expensive", signer_name="Jordan Rivera",
    )  # fmt: skip
    page = html(client_as(office).get(reverse("messaging:inbox")))
    assert "Can you come earlier?" in page
    assert f"{tab(job)}#message-{question.pk}" in page
    assert "Replace the blower" in page
    assert "Too expensive" in page
    assert "Declined" in page
    assert reverse("messaging:approval", args=[job.pk, approval.pk]) in page
    assert job.number in page
    assert "Jordan Rivera" in page


def test_inbox_empty_state(client_as, office):
    assert "Nothing new" in html(client_as(office).get(reverse("messaging:inbox")))


def test_inbox_is_for_the_office(client_as, tech_a, dispatcher, manager):
    assert client_as(tech_a.user).get(reverse("messaging:inbox")).status_code == 403
    assert client_as(dispatcher).get(reverse("messaging:inbox")).status_code == 200
    page = html(client_as(manager).get(reverse("messaging:inbox")))
    assert reverse("messaging:templates") in page  # managers reach the templates from here
    assert reverse("messaging:templates") not in html(client_as(dispatcher).get(reverse("messaging:inbox")))


def test_inbox_query_count_does_not_grow(client_as, office, job, django_assert_num_queries):
    http = client_as(office)
    customer_says(job)
    ApprovalRequest.objects.create(job=job, number=1, kind="added_work", title="One", content_hash="0" * 64, status="approved", decided_at=timezone.now())

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert http.get(reverse("messaging:inbox")).status_code == 200
        return len(captured)

    few = count()
    for i in range(30):
        customer_says(JobFactory(), f"Question {i}")
    for n in range(2, 8):
        ApprovalRequest.objects.create(job=job, number=n, kind="added_work", title=f"#{n}", content_hash="0" * 64, status="approved", decided_at=timezone.now())
    assert count() == few
    with django_assert_num_queries(few):
        http.get(reverse("messaging:inbox") + "?page=2")


def test_inbox_pages(client_as, office, job):
    now = timezone.now()
    for i in range(30):
        customer_says(job, f"Question {i:02d}", created_at=now - timedelta(minutes=i))
    first = html(client_as(office).get(reverse("messaging:inbox")))
    assert "Question 00" in first
    assert "Question 24" in first
    assert "Question 25" not in first
    assert "?page=2" in first
    assert "30 in all" in first
    second = html(client_as(office).get(reverse("messaging:inbox") + "?page=2"))
    assert "Question 25" in second
    assert "Question 29" in second
    assert "Question 24" not in second


# ---- navigation ---------------------------------------------------------------------------------------


def test_inbox_is_in_the_navigation_of_those_who_message_customers(client_as, owner, manager, dispatcher, office, tech_a):
    for user in (owner, manager, dispatcher, office):
        keys = [key for _, _, key in client_as(user).get(reverse("jobs:dashboard")).context["nav_items"]]
        assert "inbox" in keys, user
    keys = [key for _, _, key in client_as(tech_a.user).get(reverse("jobs:dashboard")).context["nav_items"]]
    assert "inbox" not in keys
