"""The job workspace: header with the status control and key facts, and the tabs of DESIGN.md §4.
Line items and notes are edited in place (HTMX swaps the tab panel; plain forms redirect back)."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.core.errors import DomainError, InvalidInput

from .. import actions, queries
from ..forms import LineItemForm, NoteForm, apply_domain_errors
from ..models import Job, LineItem
from ..status import HoldReason, JobStatus
from ..templatetags.jobs_ui import targets_for
from .conventions import render_page, wants_fragment

TABS: list[tuple[str, str]] = [
    ("details", "Details"),
    ("line-items", "Line items"),
    ("crew", "Crew & schedule"),
    ("documents", "Documents"),
    ("purchase-orders", "Purchase orders"),
    ("invoices", "Invoices"),
    ("payments", "Payments"),
    ("incidents", "Incidents"),
    ("time", "Time"),
    ("notes", "Notes"),
    ("messages", "Messages"),
    ("tasks", "Tasks"),
    ("dependencies", "Dependencies"),
    ("signatures", "Signatures"),
    ("quality", "Quality"),
    ("financials", "Financials"),
    ("timeline", "Timeline"),
]
TAB_SLUGS = {slug for slug, _ in TABS}

# What each tab not built yet will hold, so it still tells the user what it is for (tabs that another
# app fills, through register_tab, show their own empty states).
EMPTY_TABS: dict[str, tuple[str, str]] = {}


def _tab_line_items(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    items, totals = queries.line_items_with_totals(job)
    return {
        "items": items,
        "totals": totals,
        "kinds": LineItem.Kind.choices,
        "add_form": extra.get("add_form") or LineItemForm(),
        "editing_id": extra.get("editing_id"),
        "edit_form": extra.get("edit_form"),
        "can_edit_items": request.user.has_perm("jobs.edit_line_items") and job.status not in (JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED),
    }


def _tab_notes(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    return {"notes": queries.job_notes(job), "note_form": extra.get("note_form") or NoteForm(), "can_add_note": request.user.has_perm("jobs.add_note")}


def _tab_timeline(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    return {"events": queries.job_timeline(job), "timeline_limit": queries.TIMELINE_LIMIT}


TAB_LOADERS: dict[str, Callable[..., dict[str, Any]]] = {
    "line-items": _tab_line_items,
    "notes": _tab_notes,
    "timeline": _tab_timeline,
}


def register_tab(slug: str, loader: Callable[..., dict[str, Any]]) -> None:
    """Let another app fill one of the workspace's tabs (called from its AppConfig.ready). The loader
    takes (request, job, **extra) and returns the tab's context, including `tab_template`, the
    template the tab panel includes. The jobs app so needs no import of the apps built on it."""
    assert slug in TAB_SLUGS, slug
    TAB_LOADERS[slug] = loader


TAB_SECTIONS: dict[str, list[Callable[..., dict[str, Any]]]] = {}


def register_tab_section(slug: str, loader: Callable[..., dict[str, Any]]) -> None:
    """Let another app add a section to a tab this app renders (the inventory app: materials from
    stock on the Line items tab). loader(request, job, **extra) returns the section's context with
    `template`, or {} to show nothing; `extra` is what the view passed for this render (forms with
    errors, which row is being edited). Sections are part of the tab's HTMX fragment, so a swap of
    the tab keeps them."""
    assert slug in TAB_SLUGS, slug
    loaders = TAB_SECTIONS.setdefault(slug, [])
    if loader not in loaders:
        loaders.append(loader)


HEADER_PANELS: list[Callable[..., dict[str, Any]]] = []


def register_header_panel(loader: Callable[..., dict[str, Any]]) -> None:
    """Let another app add a panel under the job header (the closeout app: what still blocks the
    work). loader(request, job) returns the panel's context with `template`, or {} to show nothing.
    A panel whose context says `swap_oob` has a root element with a fixed id and honours `oob`: tab
    fragments then carry it out of band, so the header follows what a swap changed."""
    if loader not in HEADER_PANELS:
        HEADER_PANELS.append(loader)


def workspace_context(request: HttpRequest, job: Job, tab: str, **extra: Any) -> dict[str, Any]:
    """Header, facts and the one tab's data: a fixed number of queries whatever the job holds."""
    loader = TAB_LOADERS.get(tab)
    targets = targets_for(job.status, request.user)
    return {
        "targets": targets,
        "can_hold": any(value == JobStatus.ON_HOLD for value, _ in targets),
        "job": job,
        "details": queries.job_details(job),
        "tab": tab,
        "tabs": TABS,
        "empty_tab": EMPTY_TABS.get(tab),
        "hold_reasons": HoldReason.choices,
        "can_edit": request.user.has_perm("jobs.edit_job"),
        "can_transition": request.user.has_perm("jobs.transition_job"),
        "nav_active": "list",
        "header_panels": [panel for panel in (load(request, job) for load in HEADER_PANELS) if panel],
        "tab_sections": [section for section in (load(request, job, **extra) for load in TAB_SECTIONS.get(tab, ())) if section],
        **(loader(request, job, **extra) if loader else {}),
    }


def render_workspace(request: HttpRequest, job: Job, tab: str, *, status: int = 200, **extra: Any) -> HttpResponse:
    """The workspace on `tab`, or the fragment its HTMX target asks for (the tab area, the line items
    panel, the notes panel). Other apps' views that change a tab's contents answer with this too."""
    context = workspace_context(request, job, tab, **extra)
    return render_page(
        request,
        "jobs/workspace.html",
        context,
        fragments={"tab-area": "tab_area", "line-items-panel": "line_items_swap", "notes-panel": "notes"},
        status=status,
    )


@login_required
@require_GET
def job_detail(request: HttpRequest, job_id: int, tab: str = "details") -> HttpResponse:
    if tab not in TAB_SLUGS:
        raise Http404("No such tab.")
    job = queries.access_job_for_user(request.user, job_id)
    return render_workspace(request, job, tab)


def _back_to_tab(job: Job, tab: str) -> HttpResponse:
    return redirect(reverse("jobs:tab", args=[job.pk, tab]))


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied("You may not change this.")


# ---- line items ---------------------------------------------------------------------------------------


@login_required
@require_POST
def line_item_add(request: HttpRequest, job_id: int) -> HttpResponse:
    job = queries.access_job_for_user(request.user, job_id)
    _require(request, "jobs.edit_line_items")
    form = LineItemForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            item = actions.line_item_add(actor=request.user, job_id=job.pk, **form.action_kwargs())
        except InvalidInput as exc:
            apply_domain_errors(form, exc)
        except DomainError as exc:
            # Not about one field (a locked job, a missing permission): say it above the tab.
            messages.error(request, exc.message)
            status = exc.http_status
        else:
            messages.success(request, f"Added “{item.description}”.")
            if wants_fragment(request, "line-items-panel"):
                return render_workspace(request, job, "line-items")
            return _back_to_tab(job, "line-items")
    return render_workspace(request, job, "line-items", status=status, add_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def line_item_edit(request: HttpRequest, job_id: int, item_id: int) -> HttpResponse:
    """GET: the tab with this line as an inline form. POST: save it (the form carries the version)."""
    job = queries.access_job_for_user(request.user, job_id)
    item = queries.line_item_of_job(job, item_id)
    _require(request, "jobs.edit_line_items")
    if request.method == "GET":
        form = LineItemForm(initial=LineItemForm.initial_for(item))
        return render_workspace(request, job, "line-items", editing_id=item.pk, edit_form=form)
    form = LineItemForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            actions.line_item_update(actor=request.user, line_item_id=item.pk, version=form.cleaned_data["version"] or 0, **form.action_kwargs())
        except InvalidInput as exc:
            apply_domain_errors(form, exc)
        except DomainError as exc:
            status = exc.http_status
            if exc.code == "stale":
                form.add_error(None, exc.message)
            else:
                messages.error(request, exc.message)
        else:
            messages.success(request, "Line updated.")
            if wants_fragment(request, "line-items-panel"):
                return render_workspace(request, job, "line-items")
            return _back_to_tab(job, "line-items")
    return render_workspace(request, job, "line-items", status=status, editing_id=item.pk, edit_form=form)


@login_required
@require_POST
def line_item_remove(request: HttpRequest, job_id: int, item_id: int) -> HttpResponse:
    job = queries.access_job_for_user(request.user, job_id)
    item = queries.line_item_of_job(job, item_id)
    _require(request, "jobs.edit_line_items")
    status = 200
    try:
        actions.line_item_remove(actor=request.user, line_item_id=item.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        status = exc.http_status
    else:
        messages.success(request, f"Removed “{item.description}”.")
    if wants_fragment(request, "line-items-panel"):
        return render_workspace(request, job, "line-items", status=status)
    return _back_to_tab(job, "line-items")


# ---- notes --------------------------------------------------------------------------------------------


@login_required
@require_POST
def note_add(request: HttpRequest, job_id: int) -> HttpResponse:
    job = queries.access_job_for_user(request.user, job_id)
    _require(request, "jobs.add_note")
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            actions.note_add(actor=request.user, job_id=job.pk, body=form.cleaned_data["body"])
        except InvalidInput as exc:
            apply_domain_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Note added.")
            if wants_fragment(request, "notes-panel"):
                return render_workspace(request, job, "notes")
            return _back_to_tab(job, "notes")
    return render_workspace(request, job, "notes", status=422, note_form=form)
