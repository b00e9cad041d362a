"""The webhook pages: the list, a webhook with its secret and delivery log, the forms with their field
errors, and the buttons. Who may open them is in tests/matrix_webhooks.py; here, what they do."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.automation.events import emit
from serviceopus.automation.models import AutomationEvent, DeliveryStatus, EventType, WebhookDelivery, WebhookSubscription
from serviceopus.automation.models.events import WEBHOOK_TYPES
from serviceopus.automation.webhooks import delivery, signing, subscriptions
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db

ALL = [t.value for t in WEBHOOK_TYPES]
S = DeliveryStatus


def url(name: str, *args: int) -> str:
    return reverse(f"automation:{name}", args=args)


def subscribe(owner, **overrides) -> WebhookSubscription:  # type: ignore[no-untyped-def]
    data = {"name": "Accounting", "url": "https://hooks.example.com/in", "event_types": ALL}
    return subscriptions.subscription_create(actor=owner, **{**data, **overrides})


def deliveries(owner, sub: WebhookSubscription, n: int, *, status: str = S.DELIVERED) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    """n job events, each delivered (or left in `status`) to the subscription, one minute apart."""
    made = []
    start = timezone.now() - timedelta(hours=2) + timedelta(minutes=WebhookDelivery.objects.count())  # after those made before
    for i in range(n):
        event = emit(EventType.JOB_CREATED, actor=owner, job=JobFactory(), data={})
        delivery.fan_out(event)
        d = WebhookDelivery.objects.get(event=event, subscription=sub)
        WebhookDelivery.objects.filter(pk=d.pk).update(
            status=status, attempts=1, response_status=200 if status == S.DELIVERED else None, created_at=start + timedelta(minutes=i)
        )
        made.append(d)
    return made


def rows() -> tuple[list, list, list]:
    return (
        list(WebhookSubscription.objects.order_by("pk").values()),
        list(WebhookDelivery.objects.order_by("pk").values()),
        list(AutomationEvent.objects.order_by("pk").values()),
    )


# ---- list ---------------------------------------------------------------------------------------------------


def test_the_list_shows_each_webhook_with_its_counts(client_as, owner):
    accounting = subscribe(owner)
    crm = subscribe(owner, name="CRM", url="https://crm.example.com/in", event_types=[EventType.JOB_CREATED])
    subscriptions.subscription_set_active(actor=owner, subscription_id=crm.pk, version=1, active=False)
    deliveries(owner, accounting, 2)
    failed = deliveries(owner, accounting, 1, status=S.FAILED)
    deliveries(owner, accounting, 1, status=S.PENDING)
    # A delivery older than the window is not counted among the recent ones.
    WebhookDelivery.objects.filter(pk=failed[0].pk).update(created_at=timezone.now() - timedelta(days=30))

    response = client_as(owner).get(url("webhooks"))
    assert response.status_code == 200
    listed = {s.name: s for s in response.context["subscriptions"]}
    assert list(listed) == ["Accounting", "CRM"]
    counts = listed["Accounting"].counts
    assert (counts.waiting, counts.delivered, counts.failed) == (1, 2, 0)
    assert listed["CRM"].type_labels == ["Job created"]
    html = response.content.decode()
    assert "https://crm.example.com/in" in html
    assert "Paused" in html
    assert "Active" in html
    assert url("webhook", accounting.pk) in html
    assert url("webhook_create") in html


def test_the_list_costs_the_same_queries_for_any_number_of_webhooks_and_deliveries(client_as, owner, django_assert_num_queries):
    http = client_as(owner)
    sub = subscribe(owner)
    deliveries(owner, sub, 1)
    http.get(url("webhooks"))  # warm the session
    with django_assert_num_queries(4):
        assert http.get(url("webhooks")).status_code == 200
    for i in range(5):
        deliveries(owner, subscribe(owner, name=f"Hook {i}"), 3)
    with django_assert_num_queries(4):
        assert http.get(url("webhooks")).status_code == 200


# ---- create and edit ------------------------------------------------------------------------------------------


def test_creating_a_webhook(client_as, owner):
    http = client_as(owner)
    assert http.get(url("webhook_create")).status_code == 200
    response = http.post(
        url("webhook_create"), {"name": "Ledger", "url": "https://ledger.example.com/hook", "event_types": ["invoice.issued", "payment.recorded"]}
    )
    sub = WebhookSubscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("webhook", sub.pk)
    assert (sub.name, sub.url, sub.event_types, sub.active, sub.created_by) == (
        "Ledger",
        "https://ledger.example.com/hook",
        ["invoice.issued", "payment.recorded"],
        True,
        owner,
    )


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": "", "url": "", "event_types": []}, {"name", "url", "event_types"}),
        ({"name": "Ledger", "url": "ftp://ledger.example.com", "event_types": ["invoice.issued"]}, {"url"}),
        ({"name": "Ledger", "url": "https://u:p@ledger.example.com", "event_types": ["invoice.issued"]}, {"url"}),
        ({"name": "Ledger", "url": "https://ledger.example.com", "event_types": ["job.overdue"]}, {"event_types"}),
        ({"name": "Led\x00ger", "url": "https://ledger.example.com", "event_types": ["invoice.issued"]}, {"name"}),
    ],
)
def test_a_refused_form_shows_field_errors_and_saves_nothing(client_as, owner, data, errors):
    before = rows()
    response = client_as(owner).post(url("webhook_create"), data)
    assert response.status_code == 422
    assert set(response.context["form"].errors) == errors
    assert "nothing was saved" in response.content.decode()
    assert rows() == before


def test_every_error_shows_at_once_the_forms_and_the_actions(client_as, owner):
    response = client_as(owner).post(url("webhook_create"), {"name": "Ledger", "url": "https://user:pw@ledger.example.com/x"})
    assert response.status_code == 422
    assert response.context["form"].errors == {
        "url": ["Leave user names and passwords out of the URL; receivers check the signature instead."],
        "event_types": ["Choose at least one event."],
    }
    assert not WebhookSubscription.objects.exists()


def test_the_action_errors_come_back_onto_the_form(client_as, owner):
    response = client_as(owner).post(
        url("webhook_create"), {"name": "Ledger", "url": "https://user:pw@ledger.example.com/x", "event_types": ["invoice.issued"]}
    )
    assert response.status_code == 422
    assert response.context["form"].errors["url"] == ["Leave user names and passwords out of the URL; receivers check the signature instead."]
    assert "Leave user names and passwords out of the URL" in response.content.decode()


def test_editing_is_version_guarded(client_as, owner):
    sub = subscribe(owner)
    http = client_as(owner)
    form = http.get(url("webhook_edit", sub.pk)).context["form"]
    assert form.initial == {"name": "Accounting", "url": "https://hooks.example.com/in", "event_types": ALL, "version": 1}
    data = {"name": "Books", "url": "https://books.example.com/in", "event_types": ["job.created"], "version": 1}
    assert http.post(url("webhook_edit", sub.pk), data).status_code == 302
    sub.refresh_from_db()
    assert (sub.name, sub.url, sub.event_types, sub.version) == ("Books", "https://books.example.com/in", ["job.created"], 2)

    before = rows()
    stale = http.post(url("webhook_edit", sub.pk), {**data, "name": "From an old tab"})
    assert stale.status_code == 409
    assert "Someone changed this webhook meanwhile" in stale.content.decode()
    assert rows() == before


# ---- the webhook's page ---------------------------------------------------------------------------------------


def test_the_page_shows_the_settings_the_log_and_not_the_secret(client_as, owner):
    sub = subscribe(owner)
    [ok] = deliveries(owner, sub, 1)
    [bad] = deliveries(owner, sub, 1, status=S.FAILED)
    WebhookDelivery.objects.filter(pk=bad.pk).update(last_error="HTTP 400: missing field", response_status=400, attempts=1)

    response = client_as(owner).get(url("webhook", sub.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert signing.secret_for(sub) not in html
    assert "Reveal" in html
    assert "def verify(secret: str, header: str, body: bytes" in html
    assert [d.pk for d in response.context["page"].rows] == [bad.pk, ok.pk]
    assert str(ok.event.uid) in html
    assert ok.event.job.number in html
    assert reverse("jobs:detail", args=[ok.event.job_id]) in html
    assert "HTTP 400: missing field" in html
    # Only the failed one can be sent again.
    assert url("webhook_redeliver", sub.pk, bad.pk) in html
    assert url("webhook_redeliver", sub.pk, ok.pk) not in html


def test_the_log_is_paged_and_filtered_and_costs_the_same_queries_at_any_length(client_as, owner, django_assert_num_queries):
    sub = subscribe(owner)
    made = deliveries(owner, sub, 3)
    http = client_as(owner)
    http.get(url("webhook", sub.pk))
    with django_assert_num_queries(4):
        first = http.get(url("webhook", sub.pk))
    assert [d.pk for d in first.context["page"].rows] == [d.pk for d in reversed(made)]

    made += deliveries(owner, sub, 55)
    failed = deliveries(owner, sub, 2, status=S.FAILED)
    with django_assert_num_queries(4):
        first = http.get(url("webhook", sub.pk))
    page = first.context["page"]
    assert len(page.rows) == 50
    assert page.next_cursor
    assert not page.prev_cursor
    with django_assert_num_queries(4):
        second = http.get(url("webhook", sub.pk), {"cursor": page.next_cursor})
    assert [d.pk for d in second.context["page"].rows] == [d.pk for d in reversed(made[:10])]

    only_failed = http.get(url("webhook", sub.pk), {"status": "failed"})
    assert [d.pk for d in only_failed.context["page"].rows] == [d.pk for d in reversed(failed)]

    broken = http.get(url("webhook", sub.pk), {"cursor": "not-a-cursor"})
    assert broken.status_code == 200
    assert broken.context["cursor_error"]
    assert len(broken.context["page"].rows) == 50


def test_reveal_shows_the_secret_uncached_as_a_fragment_or_the_page(client_as, owner):
    sub = subscribe(owner)
    http = client_as(owner)
    secret = signing.secret_for(sub)
    fragment = http.post(url("webhook_secret", sub.pk), headers={"HX-Request": "true", "HX-Target": "webhook-secret"})
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert secret in html
    assert "<html" not in html
    assert 'id="webhook-secret"' in html
    assert "no-store" in fragment["Cache-Control"]
    page = http.post(url("webhook_secret", sub.pk))
    assert page.status_code == 200
    assert secret in page.content.decode()
    assert "Delivery log" in page.content.decode()


# ---- buttons -----------------------------------------------------------------------------------------------------


def test_rotate_asks_first_then_changes_the_secret(client_as, owner):
    sub = subscribe(owner)
    http = client_as(owner)
    before = rows()
    confirm = http.get(url("webhook_rotate", sub.pk))
    assert confirm.status_code == 200
    assert "Rotate the secret of “Accounting”?" in confirm.content.decode()
    assert rows() == before
    old = signing.secret_for(sub)
    assert http.post(url("webhook_rotate", sub.pk), {"version": 1}).status_code == 302
    sub.refresh_from_db()
    assert signing.secret_for(sub) != old
    assert sub.version == 2
    # A stale confirmation changes nothing.
    before = rows()
    assert http.post(url("webhook_rotate", sub.pk), {"version": 1}).status_code == 302
    assert rows() == before


def test_pause_and_activate(client_as, owner):
    sub = subscribe(owner)
    http = client_as(owner)
    http.post(url("webhook_toggle", sub.pk), {"version": 1})
    sub.refresh_from_db()
    assert (sub.active, sub.version) == (False, 2)
    page = http.get(url("webhook", sub.pk)).content.decode()
    assert "Activate" in page
    assert url("webhook_ping", sub.pk) not in page
    http.post(url("webhook_toggle", sub.pk), {"version": 2})
    sub.refresh_from_db()
    assert sub.active
    before = rows()
    assert http.post(url("webhook_toggle", sub.pk), {}).status_code == 302  # no version: nothing
    assert rows() == before


def test_delete_asks_first_then_removes_the_webhook_and_its_log(client_as, owner):
    sub = subscribe(owner)
    deliveries(owner, sub, 3)
    http = client_as(owner)
    before = rows()
    confirm = http.get(url("webhook_delete", sub.pk))
    assert confirm.status_code == 200
    assert "its delivery log (3 deliveries) is deleted with it" in confirm.content.decode()
    assert rows() == before
    response = http.post(url("webhook_delete", sub.pk), {"version": 1})
    assert response.status_code == 302
    assert response["Location"] == url("webhooks")
    assert not WebhookSubscription.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert AutomationEvent.objects.count() == 3
    assert http.get(url("webhook", sub.pk)).status_code == 404


def test_ping_queues_a_test_delivery(client_as, owner):
    sub = subscribe(owner)
    response = client_as(owner).post(url("webhook_ping", sub.pk))
    assert response.status_code == 302
    d = WebhookDelivery.objects.get()
    assert (d.subscription_id, d.event.type, d.status) == (sub.pk, "ping", S.PENDING)
    assert "Test ping" in client_as(owner).get(url("webhook", sub.pk)).content.decode()


def test_redeliver_a_failed_delivery_and_not_another_webhooks(client_as, owner):
    sub, other = subscribe(owner), subscribe(owner, name="Other")
    [bad] = deliveries(owner, sub, 1, status=S.FAILED)
    http = client_as(owner)
    before = rows()
    assert http.post(url("webhook_redeliver", other.pk, bad.pk)).status_code == 404
    assert rows() == before
    response = http.post(url("webhook_redeliver", sub.pk, bad.pk))
    assert response.status_code == 302
    assert response["Location"].endswith("#log")
    bad.refresh_from_db()
    assert (bad.status, bad.attempts) == (S.PENDING, 1)
    # Not failed any more: a second click is refused with a message, nothing changes.
    before = rows()
    http.post(url("webhook_redeliver", sub.pk, bad.pk))
    assert rows() == before


@pytest.mark.parametrize("role", ["manager", "dispatcher", "office"])
def test_other_roles_can_press_no_button(client_as, request, owner, role):
    sub = subscribe(owner)
    [bad] = deliveries(owner, sub, 1, status=S.FAILED)
    http = client_as(request.getfixturevalue(role))
    before = rows()
    for name, args, data in (
        ("webhook_create", (), {"name": "x", "url": "https://x.example.com", "event_types": ALL}),
        ("webhook_edit", (sub.pk,), {"name": "x", "url": "https://x.example.com", "event_types": ALL, "version": 1}),
        ("webhook_secret", (sub.pk,), {}),
        ("webhook_rotate", (sub.pk,), {"version": 1}),
        ("webhook_toggle", (sub.pk,), {"version": 1}),
        ("webhook_delete", (sub.pk,), {"version": 1}),
        ("webhook_ping", (sub.pk,), {}),
        ("webhook_redeliver", (sub.pk, bad.pk), {}),
    ):
        response = http.post(url(name, *args), data)
        assert response.status_code == 403, name
        assert signing.secret_for(sub) not in response.content.decode()
    assert rows() == before


def test_an_unknown_webhook_is_404(client_as, owner):
    for name in ("webhook", "webhook_edit", "webhook_rotate", "webhook_delete"):
        assert client_as(owner).get(url(name, 999999)).status_code == 404
