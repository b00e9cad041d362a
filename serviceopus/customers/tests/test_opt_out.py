"""A customer's opt-outs of notification emails and text messages: set on the customer form and through
the API (the same action underneath), shown on the customer's page, and honoured by every notification
to that customer afterwards."""

import pytest
from django.urls import reverse

from serviceopus.api.tests.client import api_client
from serviceopus.customers import actions
from serviceopus.customers.models import Customer
from serviceopus.messaging.models import Channel, Notice, OutboxMessage
from serviceopus.messaging.outbox import notify
from tests.factories import CustomerFactory, JobFactory, LocationFactory

FORM = {"name": "Ann Lee", "kind": "residential", "email": "ann@example.com", "phone": "555-0100", "notes": ""}


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def test_the_form_offers_both_opt_outs(client_as, office):
    customer = CustomerFactory(name="Ann Lee", sms_opt_out=True)
    page = html(client_as(office).get(reverse("customers:edit", args=[customer.pk])))
    assert "Notifications" in page
    assert 'name="email_opt_out"' in page
    assert 'name="sms_opt_out"' in page
    assert 'id="id_sms_opt_out" checked>' in page
    assert 'id="id_email_opt_out">' in page


def test_creating_a_customer_who_wants_no_texts(client_as, office):
    response = client_as(office).post(reverse("customers:create"), {**FORM, "sms_opt_out": "on"})
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert (customer.email_opt_out, customer.sms_opt_out) == (False, True)


def test_opting_out_and_back_in_on_the_edit_page(client_as, office):
    customer = CustomerFactory(name="Ann Lee")
    http = client_as(office)
    edit = reverse("customers:edit", args=[customer.pk])
    assert http.post(edit, {**FORM, "version": 1, "email_opt_out": "on", "sms_opt_out": "on"}).status_code == 302
    customer.refresh_from_db()
    assert (customer.email_opt_out, customer.sms_opt_out, customer.version) == (True, True, 2)
    # An unticked box is not posted: the customer opts back in.
    assert http.post(edit, {**FORM, "version": 2, "sms_opt_out": "on"}).status_code == 302
    customer.refresh_from_db()
    assert (customer.email_opt_out, customer.sms_opt_out, customer.version) == (False, True, 3)


def test_a_stale_opt_out_edit_changes_nothing(client_as, office, dispatcher):
    customer = CustomerFactory(name="Ann Lee")
    actions.customer_update(actor=dispatcher, customer_id=customer.pk, version=1, changes={"phone": "555-0200"})
    before = Customer.objects.values().get(pk=customer.pk)
    response = client_as(office).post(reverse("customers:edit", args=[customer.pk]), {**FORM, "version": 1, "email_opt_out": "on"})
    assert response.status_code == 409
    assert Customer.objects.values().get(pk=customer.pk) == before


def test_the_customers_page_says_how_they_are_notified(client_as, office):
    both = CustomerFactory(name="Ann Lee")
    no_texts = CustomerFactory(name="Bob Ray", sms_opt_out=True)
    nothing = CustomerFactory(name="Cy Doe", email_opt_out=True, sms_opt_out=True)
    http = client_as(office)
    assert "By email and text message" in html(http.get(reverse("customers:detail", args=[both.pk])))
    page = html(http.get(reverse("customers:detail", args=[no_texts.pk])))
    assert "No text messages" in page
    assert "emails only" in page
    page = html(http.get(reverse("customers:detail", args=[nothing.pk])))
    assert "No emails" in page
    assert "No text messages" in page


def test_a_technician_cannot_change_opt_outs(client_as, tech_a):
    customer = CustomerFactory(name="Ann Lee")
    before = Customer.objects.values().get(pk=customer.pk)
    response = client_as(tech_a.user).post(reverse("customers:edit", args=[customer.pk]), {**FORM, "version": 1, "email_opt_out": "on"})
    assert response.status_code in (403, 404)
    assert Customer.objects.values().get(pk=customer.pk) == before


# ---- the API ------------------------------------------------------------------------------------------


def test_api_creates_reads_and_changes_opt_outs(dispatcher):
    api = api_client(dispatcher)
    created = api.post("/customers", {"name": "Ann Lee", "email_opt_out": True})
    assert created.status_code == 201
    body = created.json()
    assert (body["email_opt_out"], body["sms_opt_out"]) == (True, False)
    assert api.get(f"/customers/{body['id']}").json()["email_opt_out"] is True
    changed = api.patch(f"/customers/{body['id']}", {"version": 1, "email_opt_out": False, "sms_opt_out": True})
    assert changed.status_code == 200
    assert (changed.json()["email_opt_out"], changed.json()["sms_opt_out"], changed.json()["version"]) == (False, True, 2)
    listed = api.get("/customers").json()["items"][0]
    assert (listed["email_opt_out"], listed["sms_opt_out"]) == (False, True)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_api_opt_outs_are_strict_booleans(dispatcher, value):
    customer = CustomerFactory(name="Ann Lee")
    before = Customer.objects.values().get(pk=customer.pk)
    response = api_client(dispatcher).patch(f"/customers/{customer.pk}", {"version": 1, "sms_opt_out": value})
    assert response.status_code == 422
    assert Customer.objects.values().get(pk=customer.pk) == before


# ---- honoured by notifications ------------------------------------------------------------------------


def test_notifications_follow_the_opt_outs_set_on_the_page(client_as, office):
    customer = CustomerFactory(name="Ann Lee", email="ann@example.com", phone="555-0100")
    job = JobFactory(location=LocationFactory(customer=customer))
    client_as(office).post(reverse("customers:edit", args=[customer.pk]), {**FORM, "version": 1, "email_opt_out": "on"})
    written = {m.channel: m for m in notify(job=job, notice=Notice.PORTAL_LINK, actor=office)}
    assert (written[Channel.EMAIL].status, written[Channel.EMAIL].skip_reason) == (OutboxMessage.Status.SKIPPED, "The customer opted out of emails.")
    assert written[Channel.SMS].status == OutboxMessage.Status.PENDING
