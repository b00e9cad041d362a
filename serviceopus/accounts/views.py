from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from serviceopus.core.errors import DomainError

from .actions import api_token_create, api_token_revoke, login_failure_record, login_failures_clear, login_is_throttled
from .forms import LoginForm, TokenCreateForm
from .models import ApiToken, User

THROTTLED_MESSAGE = "Too many failed sign-in attempts. For your security, sign-in is paused for this account — please try again later (in about 15 minutes)."
BAD_CREDENTIALS_MESSAGE = "That username and password do not match. Check both and try again."


def landing_url(user: User) -> str:
    """Technicians start at My day (their visits in route order); office roles at the dashboard."""
    return reverse("field:my_day") if user.is_technician else reverse("jobs:dashboard")


def _safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return ""


def _client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next", "") if request.method == "POST" else request.GET.get("next", ""))
    if request.method == "GET" and request.user.is_authenticated:
        return HttpResponseRedirect(next_url or landing_url(request.user))
    form = LoginForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound and form.is_valid():
        username = form.cleaned_data["username"]
        address = _client_address(request)
        # Checked before the password: while throttled even the right password is refused, so
        # guessing cannot continue by watching for a different answer.
        if login_is_throttled(username=username, address=address):
            form.add_error(None, THROTTLED_MESSAGE)
            status = 429
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                login_failure_record(username=username, address=address)
                form.add_error(None, BAD_CREDENTIALS_MESSAGE)
            else:
                login_failures_clear(username=username)
                auth_login(request, user)
                return HttpResponseRedirect(next_url or landing_url(user))
    elif form.is_bound:
        status = 422
    context = {"form": form, "next": next_url, "company_name": settings.COMPANY_NAME}
    return render(request, "accounts/login.html", context, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    was_signed_in = request.user.is_authenticated
    auth_logout(request)
    if was_signed_in:
        messages.info(request, "You have signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST if request.method == "POST" else None)
    created: ApiToken | None = None
    secret = ""
    status = 200
    if form.is_bound:
        if form.is_valid():
            days = form.cleaned_data["expires_in_days"]
            expires_at = timezone.now() + timedelta(days=days) if days else None
            try:
                created, secret = api_token_create(actor=request.user, name=form.cleaned_data["name"], expires_at=expires_at)
            except DomainError as refused:
                form.add_error("name", refused.message)
        if created is None:
            status = 422
        else:
            form = TokenCreateForm()
    rows = list(ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id"))
    now = timezone.now()
    context = {"form": form, "tokens": rows, "created": created, "secret": secret, "now": now}
    response = render(request, "accounts/tokens.html", context, status=status)
    if secret:
        # The secret is on this page only: no browser or proxy may keep a copy.
        add_never_cache_headers(response)
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=token_id, user=request.user).first()
    if token is None:
        raise Http404("No such token.")
    try:
        api_token_revoke(actor=request.user, token_id=token.pk)
    except DomainError:
        messages.warning(request, f"The token “{token.name}” was already revoked.")
    else:
        messages.success(request, f"The token “{token.name}” is revoked. Anything using it can no longer sign in.")
    return redirect("accounts:tokens")
