"""Customer communication end to end, in three browsers at once: the dispatcher creates a portal link on
the job's Messages tab; the customer, in a browser of their own (a phone, no sign-in), opens it and
watches the progress change to "On the way" when the technician taps "Start travel" on their phone —
without reloading; the office sends a change order, which the customer approves with their name and a
signature; the office sees the approval on the Messages tab and the new lines on the job."""

import re
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from serviceopus.jobs.models import LineItem
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging.models import ApprovalRequest, OutboxMessage, PortalLink
from tests.browser.test_closeout import sign
from tests.factories import CustomerFactory, JobFactory, LocationFactory, VisitFactory

PHONE = {"width": 390, "height": 844}
GPS = {"latitude": 41.9000, "longitude": -87.6500}


def test_customer_follows_the_crew_and_approves_a_change_order(browser, live_server, login_as, dispatcher, tech_a, shot):  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name="Casey Morgan", email="casey@example.com", phone="+13125550100")
    location = LocationFactory(customer=customer, street="1200 W Fulton St", city="Chicago", lat=Decimal("41.886700"), lng=Decimal("-87.657000"))
    job = JobFactory(customer=customer, location=location, status=JobStatus.SCHEDULED, scope="Furnace makes a rattling noise at start-up.")
    start = (timezone.now() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    visit = VisitFactory(job=job, scheduled_start=start, window_start=start, window_end=start + timedelta(hours=2), crew=[tech_a])

    # The dispatcher creates the link on the job's Messages tab; its URL is shown once.
    office = login_as(dispatcher)
    office.goto(f"/jobs/{job.pk}/tab/messages/")
    links = office.locator("#portal-links")
    links.get_by_label("For whom").fill("Casey")
    links.get_by_role("button", name="Create link").click()
    url_box = office.locator("#portal-link-url")
    expect(url_box).to_have_value(re.compile(r"/p/[A-Za-z0-9_-]{43}/$"))
    portal_url = url_box.input_value()
    token = portal_url.rstrip("/").rsplit("/", 1)[-1]
    assert PortalLink.objects.get(job=job).token_hash != token  # only the hash is kept
    shot(office, "portal-office-link-created")

    # The customer opens it on a phone of their own: the token is exchanged and leaves the address bar.
    customer_ctx = browser.new_context(base_url=live_server.url, viewport=PHONE)
    customer_ctx.set_default_timeout(15_000)
    portal = customer_ctx.new_page()
    response = portal.goto(re.sub(r"^https?://[^/]+", live_server.url, portal_url))
    assert response is not None
    assert token not in portal.url
    assert portal.url.endswith(f"/portal/jobs/{job.pk}/")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in response.headers["cache-control"]
    progress = portal.locator("#portal-progress")
    expect(progress.locator('[aria-current="step"]')).to_contain_text("Scheduled")
    expect(portal.get_by_text(tech_a.user.first_name).first).to_be_visible()
    assert portal.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(portal, "portal-customer-scheduled")

    # The technician sets off from their phone; the customer's page follows by itself.
    phone = login_as(tech_a.user, viewport=PHONE, geolocation=GPS, permissions=["geolocation"])
    phone.goto(f"/field/visits/{visit.pk}/")
    phone.get_by_role("button", name="Start travel").click()
    expect(phone.get_by_test_id("visit-status")).to_have_text("En route")
    expect(progress.locator('[aria-current="step"]')).to_contain_text("On the way", timeout=20_000)
    expect(progress.locator(".pt-eta")).to_contain_text(re.compile(r"Arriving around \d{1,2}:\d{2}"))
    on_the_way = OutboxMessage.objects.filter(job=job, notice="on_the_way")
    assert sorted(on_the_way.values_list("channel", flat=True)) == ["email", "sms"]
    shot(portal, "portal-customer-on-the-way")

    # The office asks for a change order of two lines.
    office.goto(f"/jobs/{job.pk}/approvals/new/")
    office.get_by_label("Change order").check()
    office.get_by_label("Title").fill("Replace the inducer motor")
    office.get_by_label("Description, line 1", exact=True).fill("Inducer motor assembly")
    office.get_by_label("Quantity, line 1", exact=True).fill("1")
    office.get_by_label("Unit price, line 1", exact=True).fill("289.00")
    office.get_by_role("button", name="+ Add a line").click()
    office.get_by_label("Description, line 2", exact=True).fill("Install and test")
    office.get_by_label("Quantity, line 2", exact=True).fill("1.5")
    office.get_by_label("Unit price, line 2", exact=True).fill("120.00")
    office.get_by_role("button", name="Send for approval").click()
    expect(office.get_by_text("Replace the inducer motor").first).to_be_visible()
    approval = ApprovalRequest.objects.get(job=job)
    assert approval.status == ApprovalRequest.Status.PENDING

    # The customer reviews it from the job page, signs and approves.
    portal.goto(f"/portal/jobs/{job.pk}/")
    portal.get_by_role("link", name=re.compile("Replace the inducer motor")).click()
    expect(portal.get_by_test_id("approval-line")).to_have_count(2)
    expect(portal.get_by_test_id("approval-subtotal")).to_have_text("$469.00")
    portal.get_by_label("Your full name").fill("Casey Morgan")
    sign(portal)
    portal.get_by_label(re.compile("I approve this work")).check()
    shot(portal, "portal-customer-approval")
    portal.get_by_role("button", name="Approve").click()
    expect(portal.get_by_text(re.compile("Approved", re.IGNORECASE)).first).to_be_visible()
    shot(portal, "portal-customer-approved")

    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.APPROVED
    assert approval.signer_name == "Casey Morgan"
    lines = list(LineItem.objects.filter(pk__in=approval.line_item_ids).order_by("pk").values_list("description", "quantity", "unit_price_cents"))
    assert lines == [("Inducer motor assembly", Decimal("1.000"), 28900), ("Install and test", Decimal("1.500"), 12000)]

    # The office sees the decision on the Messages tab and the lines on the job.
    office.goto(f"/jobs/{job.pk}/tab/messages/")
    expect(office.get_by_text(re.compile("Approved")).first).to_be_visible()
    expect(office.get_by_text("Casey Morgan").first).to_be_visible()
    shot(office, "portal-office-approved")
    office.goto(f"/jobs/{job.pk}/tab/line-items/")
    expect(office.get_by_text("Inducer motor assembly")).to_be_visible()
    expect(office.get_by_text("Install and test")).to_be_visible()
    customer_ctx.close()
