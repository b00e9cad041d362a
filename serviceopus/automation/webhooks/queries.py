"""Reads of the webhook pages, each a fixed number of queries however many deliveries there are.

The list's counts cover the deliveries still waiting (a small set by nature) and those of the last
RECENT_DAYS days, read through the (status, next_attempt_at) and (subscription, created_at) indexes:
the page costs the same after a year of traffic as after a week.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from serviceopus.automation.models import DeliveryStatus, EventType, WebhookDelivery, WebhookSubscription
from serviceopus.jobs.pagination import Page, SortKey, paginate

S = DeliveryStatus
RECENT_DAYS = 7
LOG_PAGE_SIZE = 50
LOG_KEYS = [SortKey("created_at", True), SortKey("id", True)]
LOG_STATUSES = (S.PENDING, S.SENDING, S.DELIVERED, S.FAILED)


@dataclass
class Counts:
    waiting: int = 0
    delivered: int = 0
    failed: int = 0
    last_at: datetime | None = None


def event_type_label(value: str) -> str:
    try:
        return str(EventType(value).label)
    except ValueError:
        return value


def subscriptions_with_counts(now: datetime | None = None) -> list[WebhookSubscription]:
    """Every subscription (few), each with `.counts` (waiting now; delivered and failed in the last
    RECENT_DAYS days; newest delivery then) and `.type_labels`. Two queries."""
    since = (now or timezone.now()) - timedelta(days=RECENT_DAYS)
    subscriptions = list(WebhookSubscription.objects.order_by("name", "id"))
    rows = (
        WebhookDelivery.objects.filter(Q(created_at__gte=since) | Q(status__in=[S.PENDING, S.SENDING]))
        .values("subscription_id", "status")
        .annotate(n=Count("id"), last=Max("created_at"))
        .order_by()
    )
    counts: dict[int, Counts] = {s.pk: Counts() for s in subscriptions}
    for row in rows:
        c = counts.get(row["subscription_id"])
        if c is None:
            continue  # created after the first query read the subscriptions
        # Delivered and failed rows passed the filter by time; waiting ones by status, however old.
        if row["status"] in (S.PENDING, S.SENDING):
            c.waiting += row["n"]
        elif row["status"] == S.DELIVERED:
            c.delivered += row["n"]
        else:
            c.failed += row["n"]
        if row["last"] and (c.last_at is None or row["last"] > c.last_at):
            c.last_at = row["last"]
    for s in subscriptions:
        s.counts = counts[s.pk]  # type: ignore[attr-defined]
        s.type_labels = [event_type_label(t) for t in s.event_types]  # type: ignore[attr-defined]
    return subscriptions


def access_subscription(subscription_id: int) -> WebhookSubscription:
    """The subscription or 404 (the caller checked `automation.manage_webhooks`: admins see them all)."""
    subscription = get_object_or_404(WebhookSubscription.objects.select_related("created_by"), pk=subscription_id)
    subscription.type_labels = [event_type_label(t) for t in subscription.event_types]  # type: ignore[attr-defined]
    return subscription


def delivery_log(subscription: WebhookSubscription, *, status: str = "", cursor: str | None = None, size: int = LOG_PAGE_SIZE) -> Page:
    """One page of the subscription's deliveries, newest first, with their event and its job (number
    for the link); `status` narrows it to one delivery status. One query. Raises BadCursor for a page
    link that cannot be read."""
    qs = (
        WebhookDelivery.objects.filter(subscription=subscription)
        .select_related("event", "event__job")
        .only(
            "id",
            "uid",
            "status",
            "attempts",
            "next_attempt_at",
            "response_status",
            "response_excerpt",
            "last_error",
            "duration_ms",
            "delivered_at",
            "created_at",
            "subscription_id",
            "event__id",
            "event__uid",
            "event__type",
            "event__created_at",
            "event__job__id",
            "event__job__number",
        )
    )
    if status in LOG_STATUSES:
        qs = qs.filter(status=status)
    page = paginate(qs, LOG_KEYS, cursor=cursor, size=size)
    for delivery in page.rows:
        delivery.type_label = event_type_label(delivery.event.type)
    return page
