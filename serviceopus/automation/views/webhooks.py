"""The webhook pages (admins: `automation.manage_webhooks`): the list, a subscription with its secret
and delivery log, the create and edit forms, and the buttons — send a test, pause or resume, rotate the
secret, delete, send a failed delivery again. Rotating and deleting ask on a page of their own first."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.pagination import BadCursor
from serviceopus.jobs.views.conventions import require_perm, wants_fragment

from ..models import WebhookDelivery, WebhookSubscription
from ..webhooks import queries, signing, subscriptions
from ..webhooks.forms import EVENT_HELP, SubscriptionForm, VersionForm

PERM = subscriptions.PERM
NAV = "automation"
T = "automation/webhooks/"


@login_required
@require_GET
def webhook_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    context = {"subscriptions": queries.subscriptions_with_counts(), "recent_days": queries.RECENT_DAYS, "nav_active": NAV}
    return render(request, T + "list.html", context)


def _form_page(request: HttpRequest, form: SubscriptionForm, *, subscription: WebhookSubscription | None = None, status: int = 200) -> HttpResponse:
    context = {"form": form, "subscription": subscription, "event_help": EVENT_HELP, "nav_active": NAV}
    return render(request, T + "form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    if request.method == "GET":
        return _form_page(request, SubscriptionForm())
    form = SubscriptionForm(request.POST)
    if not form.is_valid():
        form.explain_all()
        return _form_page(request, form, status=422)
    c = form.cleaned_data
    try:
        subscription = subscriptions.subscription_create(actor=request.user, name=c["name"], url=c["url"], event_types=c["event_types"])
    except InvalidInput as exc:
        form.apply_errors(exc)
        return _form_page(request, form, status=422)
    messages.success(request, f"Webhook “{subscription.name}” created. Give its secret to the receiver so it can check each request's signature.")
    return redirect("automation:webhook", subscription_id=subscription.pk)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_edit(request: HttpRequest, subscription_id: int) -> HttpResponse:
    require_perm(request, PERM)
    subscription = queries.access_subscription(subscription_id)
    if request.method == "GET":
        initial = {"name": subscription.name, "url": subscription.url, "event_types": subscription.event_types, "version": subscription.version}
        return _form_page(request, SubscriptionForm(initial=initial), subscription=subscription)
    form = SubscriptionForm(request.POST)
    if not form.is_valid():
        form.explain_all()
        return _form_page(request, form, subscription=subscription, status=422)
    c = form.cleaned_data
    try:
        subscriptions.subscription_update(
            actor=request.user, subscription_id=subscription.pk, version=c["version"] or 0, name=c["name"], url=c["url"], event_types=c["event_types"]
        )
    except InvalidInput as exc:
        form.apply_errors(exc)
        return _form_page(request, form, subscription=subscription, status=422)
    except ConflictError as exc:
        form.add_error(None, exc.message)
        return _form_page(request, form, subscription=subscription, status=409)
    messages.success(request, f"Saved “{c['name']}”.")
    return redirect("automation:webhook", subscription_id=subscription.pk)


def _detail(request: HttpRequest, subscription: WebhookSubscription, *, secret: str = "", status: int = 200) -> HttpResponse:
    log_status = request.GET.get("status", "")
    log_status = log_status if log_status in queries.LOG_STATUSES else ""
    cursor = request.GET.get("cursor") or None
    cursor_error = ""
    try:
        page = queries.delivery_log(subscription, status=log_status, cursor=cursor)
    except BadCursor as exc:
        cursor_error = str(exc)
        page = queries.delivery_log(subscription, status=log_status)
    context: dict[str, Any] = {
        "subscription": subscription,
        "page": page,
        "log_status": log_status,
        "log_statuses": [(s.value, s.label) for s in queries.LOG_STATUSES],
        "cursor_error": cursor_error,
        "secret": secret,
        "signature_header": signing.HEADER,
        "tolerance": signing.DEFAULT_TOLERANCE_SECONDS,
        "nav_active": NAV,
    }
    response = render(request, T + "detail.html", context, status=status)
    if secret:
        add_never_cache_headers(response)  # the secret must not stay in a cache or the back button
    return response


@login_required
@require_GET
def webhook_detail(request: HttpRequest, subscription_id: int) -> HttpResponse:
    require_perm(request, PERM)
    return _detail(request, queries.access_subscription(subscription_id))


@login_required
@require_POST
def webhook_secret(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """Reveal the signing secret: a POST, so it never sits in a URL or the history; with htmx only the
    secret's box is swapped in."""
    require_perm(request, PERM)
    subscription = queries.access_subscription(subscription_id)
    secret = signing.secret_for(subscription)
    if wants_fragment(request, "webhook-secret"):
        response = render(request, T + "detail.html#secret", {"subscription": subscription, "secret": secret})
        add_never_cache_headers(response)  # the secret must not stay in a cache or the back button
        return response
    return _detail(request, subscription, secret=secret)


def _back(subscription_id: int) -> HttpResponse:
    return redirect("automation:webhook", subscription_id=subscription_id)


def _confirm_page(request: HttpRequest, subscription: WebhookSubscription, what: str, *, status: int = 200, **extra: Any) -> HttpResponse:
    context = {"subscription": subscription, "what": what, "nav_active": NAV, **extra}
    return render(request, T + "confirm.html", context, status=status)


def _version(request: HttpRequest) -> int | None:
    form = VersionForm(request.POST)
    return form.cleaned_data["version"] if form.is_valid() else None


@login_required
@require_http_methods(["GET", "POST"])
def webhook_rotate(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """GET: what rotating means, and the button. POST: a new secret."""
    require_perm(request, PERM)
    subscription = queries.access_subscription(subscription_id)
    if request.method == "GET":
        return _confirm_page(request, subscription, "rotate")
    version = _version(request)
    if version is None:
        messages.error(request, "The form was incomplete; nothing changed. Try again.")
        return _confirm_page(request, subscription, "rotate", status=422)
    try:
        subscriptions.subscription_rotate_secret(actor=request.user, subscription_id=subscription.pk, version=version)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(subscription.pk)
    messages.success(request, "New secret in use: every request from now on is signed with it. Reveal it below and update the receiver.")
    return _back(subscription.pk)


@login_required
@require_POST
def webhook_toggle(request: HttpRequest, subscription_id: int) -> HttpResponse:
    require_perm(request, PERM)
    subscription = queries.access_subscription(subscription_id)
    version = _version(request)
    if version is None:
        messages.error(request, "The form was incomplete; nothing changed. Reload the page and try again.")
        return _back(subscription.pk)
    try:
        updated = subscriptions.subscription_set_active(actor=request.user, subscription_id=subscription.pk, version=version, active=not subscription.active)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(subscription.pk)
    if updated.active:
        messages.success(request, f"“{updated.name}” is active again: new events are sent to it.")
    else:
        messages.success(request, f"“{updated.name}” is paused: no new deliveries, and those still waiting are not sent.")
    return _back(subscription.pk)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_delete(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """GET: what deleting removes (the delivery log with it), and the button. POST: delete."""
    require_perm(request, PERM)
    subscription = queries.access_subscription(subscription_id)
    if request.method == "GET":
        return _confirm_page(request, subscription, "delete", deliveries=subscription.deliveries.count())
    version = _version(request)
    if version is None:
        messages.error(request, "The form was incomplete; nothing was deleted. Try again.")
        return _confirm_page(request, subscription, "delete", deliveries=subscription.deliveries.count(), status=422)
    try:
        count = subscriptions.subscription_delete(actor=request.user, subscription_id=subscription.pk, version=version)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(subscription.pk)
    messages.success(request, f"Deleted “{subscription.name}” and its {count} deliver{'y' if count == 1 else 'ies'}.")
    return redirect("automation:webhooks")


@login_required
@require_POST
def webhook_ping(request: HttpRequest, subscription_id: int) -> HttpResponse:
    require_perm(request, PERM)
    subscription = queries.access_subscription(subscription_id)
    try:
        subscriptions.subscription_ping(actor=request.user, subscription_id=subscription.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(subscription.pk)
    messages.success(request, "Test ping queued: it is sent within moments, and shows in the log below.")
    return _back(subscription.pk)


@login_required
@require_POST
def webhook_redeliver(request: HttpRequest, subscription_id: int, delivery_id: int) -> HttpResponse:
    require_perm(request, PERM)
    subscription = queries.access_subscription(subscription_id)
    delivery = get_object_or_404(WebhookDelivery.objects.only("pk"), pk=delivery_id, subscription=subscription)
    try:
        subscriptions.delivery_redeliver(actor=request.user, subscription_id=subscription.pk, delivery_id=delivery.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Sending it again: the same delivery and event id, so the receiver can tell it is a repeat.")
    return redirect(reverse("automation:webhook", args=[subscription.pk]) + "#log")
