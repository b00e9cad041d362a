"""The customer's job page: what it shows (and never shows), live progress from the visits, documents,
the report and invoices, approvals waiting, and the message box to the office."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from serviceopus.billing.models import BillingSettings, Invoice
from serviceopus.closeout.actions.documents import document_upload
from serviceopus.core.errors import DomainError
from serviceopus.dispatch.actions import visit_schedule, visit_transition
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import Outcome, VisitStatus
from serviceopus.jobs.models import BillingType, Job, JobEvent, LineItem, Note
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging import links
from serviceopus.messaging.actions.customer import customer_message_receive
from serviceopus.messaging.eta import eta_text
from serviceopus.messaging.models import ApprovalRequest, CustomerMessage, MessagingSettings, Notice, OutboxMessage, PortalLink
from serviceopus.portal.views.page import POLL_SECONDS
from tests.billing_support import invoice_and_pay
from tests.dispatch_support import at
from tests.factories import ContactFactory, JobFactory, LineItemFactory, VisitFactory

PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def assert_private(response) -> None:  # type: ignore[no-untyped-def]
    for header, value in PRIVATE.items():
        assert response[header] == value, (response.status_code, header)


def image_bytes(fmt: str = "JPEG", color=(200, 80, 20)) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), color).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def company(db):  # type: ignore[no-untyped-def]
    billing = BillingSettings.current()
    billing.company_name, billing.company_phone = "Northwind Heating", "555-0199"
    billing.save()
    messaging = MessagingSettings.current()
    messaging.brand_color = "#0f766e"
    messaging.save()
    return billing


@pytest.fixture
def job(company):  # type: ignore[no-untyped-def]
    job = JobFactory(
        status=JobStatus.NEW, scope="Replace the furnace igniter\n\nCustomer asked for a quote on a humidifier.", billing_type=BillingType.FIXED_PRICE
    )
    job.contact = ContactFactory(customer=job.customer, name="Casey Customer")
    job.save(update_fields=["contact"])
    return job


@pytest.fixture
def portal(office, job):  # type: ignore[no-untyped-def]
    """A client holding a portal session on `job` (opened through a real link)."""
    link = links.link_create(actor=office, job_id=job.pk, label="Tenant")
    client = Client()
    assert client.get(reverse("portal:open", args=[links.token_for(link)])).status_code == 302
    client.link = link  # type: ignore[attr-defined]
    return client


def page_url(job: Job) -> str:
    return reverse("portal:job", args=[job.pk])


def progress_url(job: Job) -> str:
    return reverse("portal:progress", args=[job.pk])


def steps(html: str) -> dict[str, str]:
    """step key → its state (done / current / todo), read off the rendered list."""
    found = re.findall(r'class="pt-step is-(\w+)".*?<strong>([^<]+)</strong>', html, re.S)
    return {label: state for state, label in found}


def schedule(dispatcher, job, tech):  # type: ignore[no-untyped-def]
    [visit] = visit_schedule(actor=dispatcher, job_id=job.pk, start=at(1, 9), window_start=at(1, 9), window_end=at(1, 11), lead_id=tech.pk)
    return visit


# ---- the page ----------------------------------------------------------------------------------------------


def test_page_shows_the_job_in_the_companys_name_and_colour(portal, job, dispatcher, tech_a):
    schedule(dispatcher, job, tech_a)
    response = portal.get(page_url(job))
    assert response.status_code == 200
    assert_private(response)
    html = response.content.decode()
    assert "Northwind Heating" in html
    assert "Call 555-0199" in html
    assert "--brand: #0f766e;" in html
    assert job.number in html
    assert job.location.one_line in html
    assert "Replace the furnace igniter" in html
    assert "humidifier" not in html  # only the scope's first paragraph
    # The arrival window, as the outbox words it, and the lead technician's first name only.
    window = f"{timezone.localtime(at(1, 9)):%a %b} {at(1, 9).day}, 09:00–11:00"
    assert window in html
    assert "Alex" in html
    assert "Alex Tech" not in html
    # The portal's own base: no office navigation, no sign-out.
    assert "mainnav" not in html
    assert "Sign out" not in html
    assert f'hx-trigger="every {POLL_SECONDS}s"' in html


def test_a_colour_that_is_not_a_hex_colour_never_reaches_the_css(portal, job):
    MessagingSettings.objects.update(brand_color="red;}*{")
    html = portal.get(page_url(job)).content.decode()
    assert "red;" not in html
    assert "--brand: #1d4ed8;" in html


def test_nothing_internal_reaches_the_page(portal, job, office, dispatcher, tech_a):
    visit = schedule(dispatcher, job, tech_a)
    Visit.objects.filter(pk=visit.pk).update(crew_notes="CREW-NOTE-SECRET")
    Note.objects.create(job=job, author=office, body="INTERNAL-NOTE-SECRET")
    LineItemFactory(job=job, description="Igniter", unit_price_cents=4500, unit_cost_cents=1234567)
    job.location.access_notes, job.location.gate_code = "ACCESS-NOTE-SECRET", "GATE-4242"
    job.location.save()
    Job.objects.filter(pk=job.pk).update(hold_note="HOLD-NOTE-SECRET")
    JobEvent.objects.create(job=job, actor=office, kind=JobEvent.Kind.NOTE, message="TIMELINE-SECRET")
    document_upload(
        actor=office,
        job_id=job.pk,
        upload=SimpleUploadedFile("hidden.jpg", image_bytes(color=(1, 2, 3))),
        caption="HIDDEN-PHOTO-SECRET",
        customer_visible=False,
    )
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.EN_ROUTE)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.ARRIVED)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.WORKING)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.PAUSED, reason="PAUSE-REASON-SECRET")
    for url in (page_url(job), progress_url(job)):
        html = portal.get(url).content.decode()
        for planted in (
            "CREW-NOTE-SECRET",
            "INTERNAL-NOTE-SECRET",
            "12,345.67",
            "ACCESS-NOTE-SECRET",
            "GATE-4242",
            "HOLD-NOTE-SECRET",
            "TIMELINE-SECRET",
            "HIDDEN-PHOTO-SECRET",
            "PAUSE-REASON-SECRET",
            "Paused",
        ):
            assert planted not in html, (url, planted)
    assert steps(portal.get(progress_url(job)).content.decode())["Work in progress"] == "current"


# ---- live progress -----------------------------------------------------------------------------------------


def test_progress_follows_the_visit(portal, job, dispatcher, tech_a):
    fragment = portal.get(progress_url(job))
    assert fragment.status_code == 200
    assert_private(fragment)
    html = fragment.content.decode()
    assert "We will let you know as soon as your visit is booked." in html
    assert set(steps(html).values()) == {"todo"}

    visit = schedule(dispatcher, job, tech_a)
    html = portal.get(progress_url(job)).content.decode()
    assert steps(html) == {"Scheduled": "current", "On the way": "todo", "Arrived": "todo", "Work in progress": "todo", "Completed": "todo"}
    assert 'id="portal-progress"' in html
    assert f'hx-get="{progress_url(job)}"' in html
    assert f'hx-trigger="every {POLL_SECONDS}s"' in html

    # On the way with no position reported: the ETA is the end of the arrival window.
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.EN_ROUTE)
    html = portal.get(progress_url(job)).content.decode()
    assert steps(html)["Scheduled"] == "done"
    assert steps(html)["On the way"] == "current"
    assert f"Alex is on the way, arriving around {eta_text(at(1, 11))}." in html

    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.ARRIVED)
    visit.refresh_from_db()
    html = portal.get(progress_url(job)).content.decode()
    assert steps(html) == {"Scheduled": "done", "On the way": "done", "Arrived": "current", "Work in progress": "todo", "Completed": "todo"}
    assert f"At {timezone.localtime(visit.arrived_at):%H:%M}" in html
    assert "is on the way" not in html

    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.WORKING)
    assert steps(portal.get(progress_url(job)).content.decode())["Work in progress"] == "current"

    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.DEPARTED)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.COMPLETED, outcome=Outcome.FINISHED)
    job.refresh_from_db()
    assert job.status == JobStatus.WORK_COMPLETE
    html = portal.get(progress_url(job)).content.decode()
    assert set(steps(html).values()) == {"done"}
    assert reverse("portal:report", args=[job.pk]) in html
    # Nothing left to follow: the fragment comes back without its polling trigger.
    assert "hx-trigger" not in html


def test_on_the_way_eta_from_the_reported_position(portal, job, dispatcher, tech_a):
    visit = schedule(dispatcher, job, tech_a)
    # 0.1° of latitude north of the job (about 11 km): at the default 40 km/h, about 17 minutes.
    lat = job.location.lat + Decimal("0.1")
    before = timezone.now()
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.EN_ROUTE, lat=lat, lng=job.location.lng)
    html = portal.get(progress_url(job)).content.decode()
    after = timezone.now()
    shown = {eta_text(t + timedelta(minutes=17)) for t in (before, after)}
    assert any(f"arriving around {t}." in html for t in shown), html
    assert "Arriving around" in html


def test_a_return_visit_to_come_is_announced(portal, job, dispatcher, tech_a):
    visit = schedule(dispatcher, job, tech_a)
    for to in (VisitStatus.EN_ROUTE, VisitStatus.ARRIVED, VisitStatus.WORKING, VisitStatus.DEPARTED):
        visit_transition(actor=tech_a.user, visit_id=visit.pk, to=to)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.COMPLETED, outcome=Outcome.RETURN_NEEDED)
    html = portal.get(progress_url(job)).content.decode()
    assert "We will come back to finish the work" in html
    assert steps(html)["Completed"] == "done"
    assert "hx-trigger" in html  # still polling: a return visit is to be booked


def test_a_cancelled_job_says_so_and_stops_polling(portal, job):
    Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
    html = portal.get(progress_url(job)).content.decode()
    assert "This job was cancelled." in html
    assert "hx-trigger" not in html


# ---- documents, report, invoices, the technician's photo --------------------------------------------------------


def test_customer_visible_documents_only(portal, job, office):
    photo, _ = document_upload(
        actor=office, job_id=job.pk, upload=SimpleUploadedFile("after.jpg", image_bytes()), tag="after", caption="New igniter", customer_visible=True
    )
    pdf, _ = document_upload(
        actor=office, job_id=job.pk, upload=SimpleUploadedFile("permit.pdf", b"%PDF-1.4\n%%EOF\n"), caption="Permit", customer_visible=True
    )
    hidden, _ = document_upload(actor=office, job_id=job.pk, upload=SimpleUploadedFile("hidden.jpg", image_bytes(color=(9, 9, 9))), customer_visible=False)
    other_job = JobFactory()
    elsewhere, _ = document_upload(actor=office, job_id=other_job.pk, upload=SimpleUploadedFile("x.jpg", image_bytes(color=(5, 5, 5))), customer_visible=True)
    html = portal.get(page_url(job)).content.decode()
    url = reverse("portal:document", args=[job.pk, photo.pk])
    assert f'src="{url}?thumb=1"' in html
    assert "New igniter" in html
    assert reverse("portal:document", args=[job.pk, pdf.pk]) in html
    assert "Permit" in html
    assert reverse("portal:document", args=[job.pk, hidden.pk]) not in html

    full = portal.get(url)
    assert full.status_code == 200
    assert full["Content-Type"] == "image/jpeg"
    assert_private(full)
    thumb = portal.get(url + "?thumb=1")
    assert thumb.status_code == 200
    assert thumb["Content-Type"] == "image/jpeg"
    assert b"".join(thumb.streaming_content) != b"".join(portal.get(url).streaming_content)
    assert_private(thumb)
    file = portal.get(reverse("portal:document", args=[job.pk, pdf.pk]))
    assert file.status_code == 200
    assert file["Content-Type"] == "application/pdf"
    assert "attachment" in file["Content-Disposition"]
    assert_private(file)
    for refused in (hidden, elsewhere):
        response = portal.get(reverse("portal:document", args=[job.pk, refused.pk]))
        assert response.status_code == 404
        assert_private(response)


def test_the_service_report_once_the_work_is_complete(portal, job):
    report = reverse("portal:report", args=[job.pk])
    assert report not in portal.get(page_url(job)).content.decode()
    response = portal.get(report)
    assert response.status_code == 404
    assert_private(response)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.WORK_COMPLETE)
    assert report in portal.get(page_url(job)).content.decode()
    response = portal.get(report)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert_private(response)


def test_issued_invoices_with_total_balance_and_pdf(portal, job, office):
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Igniter replacement", unit_price_cents=24000)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.WORK_COMPLETE)
    invoice = invoice_and_pay(job, office, pay=False)
    draft = Invoice.objects.create(customer=job.customer, created_by=office)
    draft.jobs.add(job)
    html = portal.get(page_url(job)).content.decode()
    assert f"Invoice {invoice.number}" in html
    assert "total $240.00" in html
    assert "$240.00 due" in html
    pdf = portal.get(reverse("portal:invoice_pdf", args=[job.pk, invoice.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert_private(pdf)
    assert reverse("portal:invoice_pdf", args=[job.pk, draft.pk]) not in html
    assert portal.get(reverse("portal:invoice_pdf", args=[job.pk, draft.pk])).status_code == 404


def test_the_lead_technicians_photo(portal, job, dispatcher, tech_a, tech_b):
    tech_a.photo.save("alex.png", ContentFile(image_bytes("PNG")), save=True)
    tech_b.photo.save("blair.png", ContentFile(image_bytes("PNG", (0, 0, 200))), save=True)
    schedule(dispatcher, job, tech_a)
    html = portal.get(page_url(job)).content.decode()
    url = reverse("portal:technician_photo", args=[job.pk, tech_a.pk])
    assert f'src="{url}"' in html
    response = portal.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert_private(response)
    # Blair is on no visit of this job.
    refused = portal.get(reverse("portal:technician_photo", args=[job.pk, tech_b.pk]))
    assert refused.status_code == 404
    assert_private(refused)


def test_a_technician_without_a_photo_shows_an_initial(portal, job, dispatcher, tech_a):
    schedule(dispatcher, job, tech_a)
    html = portal.get(page_url(job)).content.decode()
    assert "pt-tech-initial" in html
    assert portal.get(reverse("portal:technician_photo", args=[job.pk, tech_a.pk])).status_code == 404


def test_pending_approvals_link_to_their_page(portal, job):
    ApprovalRequest.objects.create(job=job, number=1, kind="added_work", title="Replace the flue pipe", total_cents=32000, content_hash="0" * 64)
    ApprovalRequest.objects.create(job=job, number=2, kind="change_order", title="Old decided one", content_hash="1" * 64, status="approved")
    html = portal.get(page_url(job)).content.decode()
    assert "Waiting for your approval" in html
    assert reverse("portal:approval", args=[job.pk, 1]) in html
    assert "Replace the flue pipe" in html
    assert "$320.00" in html
    assert "Old decided one" not in html


# ---- messages -----------------------------------------------------------------------------------------------------


def test_a_customer_message_reaches_the_thread_timeline_and_office(portal, job):
    MessagingSettings.objects.update(office_email="office@northwind.example")
    response = portal.post(reverse("portal:message_send", args=[job.pk]), {"body": "  The side gate is open.  "})
    assert response.status_code == 302
    assert response["Location"] == page_url(job) + "#messages"
    assert_private(response)
    message = CustomerMessage.objects.get(job=job)
    assert (message.direction, message.body, message.author_name, message.portal_link_id) == ("in", "The side gate is open.", "Casey Customer", portal.link.pk)
    event = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.CUSTOMER).order_by("-id").first()
    assert event.message == "Message from Casey Customer (link for Tenant)"
    assert event.data["customer_message"] == message.pk
    assert event.data["address"] == "127.0.0.1"
    alert = OutboxMessage.objects.get(job=job, notice=Notice.OFFICE_ALERT)
    assert alert.recipient == "office@northwind.example"
    assert alert.status == OutboxMessage.Status.PENDING
    assert "The side gate is open." in alert.body
    assert f"/jobs/{job.pk}/tab/messages/" in alert.body
    page = portal.get(response["Location"]).content.decode()
    assert "your message was sent to the office" in page
    assert "The side gate is open." in page


def test_without_an_office_address_no_alert_is_written(portal, job):
    portal.post(reverse("portal:message_send", args=[job.pk]), {"body": "Hello"})
    assert CustomerMessage.objects.filter(job=job).count() == 1
    assert not OutboxMessage.objects.filter(notice=Notice.OFFICE_ALERT).exists()


def test_htmx_message_swaps_the_thread(portal, job):
    CustomerMessage.objects.create(job=job, direction="out", body="We are on our way tomorrow.", author_name="Oscar")
    response = portal.post(reverse("portal:message_send", args=[job.pk]), {"body": "Thanks!"}, headers={"HX-Request": "true", "HX-Target": "portal-messages"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="portal-messages"')
    assert html.index("We are on our way tomorrow.") < html.index("Thanks!")  # newest last
    assert "your message was sent to the office" in html


def counts() -> tuple[int, int, int]:
    return CustomerMessage.objects.count(), JobEvent.objects.count(), OutboxMessage.objects.count()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "Write your message first."),
        ("   ", "Write your message first."),
        ("x" * 2001, "Messages are at most 2,000 characters; yours has 2,001."),
        ("Hello\x00there", "Your message holds a character we cannot store; please retype it."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_message_is_refused_and_nothing_written(portal, job, body, reason, htmx):
    MessagingSettings.objects.update(office_email="office@northwind.example")
    before = counts()
    headers = {"HX-Request": "true", "HX-Target": "portal-messages"} if htmx else {}
    response = portal.post(reverse("portal:message_send", args=[job.pk]), {"body": body}, headers=headers)
    assert response.status_code == 422
    assert_private(response)
    html = response.content.decode()
    assert f'<p class="field-error" id="pt-body-error" role="alert">{reason}</p>' in html
    assert counts() == before


def test_a_message_can_change_nothing_but_the_thread(portal, job, tech_a):
    LineItemFactory(job=job, unit_price_cents=4500)
    other = JobFactory()
    rows = lambda: (
        list(Job.objects.order_by("pk").values()),
        list(LineItem.objects.order_by("pk").values()),
        list(PortalLink.objects.order_by("pk").values()),
        list(ApprovalRequest.objects.order_by("pk").values()),
    )
    before = rows()
    posted = {
        "body": "Please call me",
        "job": other.pk,
        "job_id": other.pk,
        "status": JobStatus.CLOSED,
        "unit_price_cents": 1,
        "price": "0.01",
        "direction": "out",
        "author_name": "The Boss",
        "portal_link": 999,
        "expires_at": "2099-01-01",
    }
    assert portal.post(reverse("portal:message_send", args=[job.pk]), posted).status_code == 302
    assert rows() == before
    message = CustomerMessage.objects.get()
    assert (message.job_id, message.direction, message.author_name, message.body) == (job.pk, "in", "Casey Customer", "Please call me")


def test_the_message_box_is_csrf_protected(office, job):
    link = links.link_create(actor=office, job_id=job.pk)
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("portal:open", args=[links.token_for(link)]))
    response = client.post(reverse("portal:message_send", args=[job.pk]), {"body": "Hello"})
    assert response.status_code == 403
    assert not CustomerMessage.objects.exists()


def test_the_message_url_takes_only_posts(portal, job):
    response = portal.get(reverse("portal:message_send", args=[job.pk]))
    assert response.status_code == 405
    assert_private(response)


def test_a_link_revoked_before_the_post_writes_nothing(office, job):
    link = links.link_create(actor=office, job_id=job.pk)
    links.link_revoke(actor=office, link_id=link.pk)
    before = counts()
    with pytest.raises(DomainError, match="This link has ended") as refused:
        customer_message_receive(link=link, body="Hello", address="127.0.0.1")
    assert refused.value.code == "link_ended"
    assert counts() == before


# ---- query counts --------------------------------------------------------------------------------------------------


# The session, the link with its job, then the page's own reads (portal.queries.page_context).
PAGE_QUERIES = 10
PROGRESS_QUERIES = 5


def test_page_and_progress_cost_the_same_whatever_the_job_holds(portal, job, office, tech_a, django_assert_num_queries):
    made = []

    def add(n: int) -> None:
        for _ in range(n):
            i = len(made)
            made.append(i)
            VisitFactory(job=job, crew=[tech_a], scheduled_start=timezone.now() + timedelta(days=i + 1))
            document_upload(actor=office, job_id=job.pk, upload=SimpleUploadedFile(f"p{i}.jpg", image_bytes(color=(40 * i, 50, 50))), customer_visible=True)
            document_upload(
                actor=office, job_id=job.pk, upload=SimpleUploadedFile(f"d{i}.pdf", b"%PDF-1.4\n%" + bytes([65 + i]) + b"\n"), customer_visible=True
            )
            CustomerMessage.objects.create(job=job, direction="in", body=f"Message {i}")
            ApprovalRequest.objects.create(job=job, number=i + 1, kind="added_work", title=f"Extra {i}", content_hash="0" * 64)

    add(1)
    with django_assert_num_queries(PAGE_QUERIES):
        assert portal.get(page_url(job)).status_code == 200
    with django_assert_num_queries(PROGRESS_QUERIES):
        assert portal.get(progress_url(job)).status_code == 200
    add(4)
    with django_assert_num_queries(PAGE_QUERIES):
        html = portal.get(page_url(job)).content.decode()
    assert (html.count("?thumb=1"), html.count("Message "), html.count("Extra ")) == (5, 5, 5)
    with django_assert_num_queries(PROGRESS_QUERIES):
        assert portal.get(progress_url(job)).status_code == 200
