"""The conventions every job page follows: permission checks, page or HTMX fragment, safe redirects,
the shared filter form, form errors as messages."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from .. import queries
from ..forms import JobFilterForm


def require_perm(request: HttpRequest, perm: str) -> None:
    """Office-only pages: a signed-in user without the capability gets 403."""
    if not request.user.has_perm(perm):
        raise PermissionDenied("You may not open this page.")


def wants_fragment(request: HttpRequest, target: str) -> bool:
    """True for an HTMX request that swaps element #target (not a history restore, which needs the page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


def render_page(request: HttpRequest, template: str, context: dict[str, Any], *, fragments: dict[str, str] | None = None, status: int = 200) -> HttpResponse:
    """Render the full page, or the partial named for the HTMX target (fragments: target id → partial)."""
    name = template
    for target, partial in (fragments or {}).items():
        if wants_fragment(request, target):
            name = f"{template}#{partial}"
            # A fragment shows its own messages: the page's message area is not re-rendered.
            context = {**context, "is_fragment": True}
            break
    response = render(request, name, context, status=status)
    if fragments:
        # The same URL serves page and fragment: caches must keep them apart.
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` URL of a form if it points at this site; otherwise `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and "\x00" not in target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def filter_form(request: HttpRequest) -> tuple[JobFilterForm, dict[str, list]]:
    choices = queries.filter_choices()
    return JobFilterForm(request.GET, choices=choices), choices


def report_form_errors(request: HttpRequest, form: Any, prefix: str = "") -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.replace("_", " ").capitalize() if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{prefix}{label + ': ' if label else ''}{error}")
