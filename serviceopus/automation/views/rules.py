"""The workflow rule pages: the list (each rule in words, on/off, last run, 7-day counts), the one form
for new and edit, a rule's page with its run log, and enable/disable, duplicate and delete (with a
confirmation page). Admins only (`automation.manage_rules`): a rule acts with the rights of whoever
saved it last."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.pagination import BadCursor
from serviceopus.jobs.views.conventions import require_perm, safe_next

from ..models import WorkflowRule
from ..rule_forms import RuleForm
from ..rules import editing, queries

PERM = editing.PERM
NAV = "automation"


@login_required
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    rules = queries.rules_overview(timezone.now())
    context = {
        "rules": rules,
        "limit": queries.LIST_LIMIT,
        "recent_days": queries.RECENT_DAYS,
        "nav_active": NAV,
    }
    return render(request, "automation/rules/list.html", context)


def _form_page(request: HttpRequest, form: RuleForm, *, rule: WorkflowRule | None = None, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {**form.context(), "rule": rule, "nav_active": NAV}
    return render(request, "automation/rules/form.html", context, status=status)


def _rows_changed(request: HttpRequest) -> bool:
    """The form came back for "Add condition/action" or "Remove" (no script on the page): redraw it."""
    return bool(request.POST.get("_add") or request.POST.get("_remove"))


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, PERM)
    if request.method == "GET":
        return _form_page(request, RuleForm())
    form = RuleForm.from_post(request.POST)
    if _rows_changed(request):
        return _form_page(request, form)
    try:
        rule = editing.rule_create(actor=request.user, **form.spec_input())
    except InvalidInput as exc:
        form.apply_errors(exc)
        return _form_page(request, form, status=422)
    messages.success(request, f"Rule “{rule.name}” saved{'' if rule.enabled else ' (off)'}.")
    return redirect("automation:rule", rule_id=rule.pk)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    require_perm(request, PERM)
    rule = queries.access_rule(rule_id)
    if request.method == "GET":
        return _form_page(request, RuleForm.from_rule(rule), rule=rule)
    form = RuleForm.from_post(request.POST)
    if _rows_changed(request):
        return _form_page(request, form, rule=rule)
    try:
        editing.rule_update(actor=request.user, rule_id=rule.pk, version=form.version or 0, **form.spec_input())
    except InvalidInput as exc:
        form.apply_errors(exc)
        return _form_page(request, form, rule=rule, status=422)
    except ConflictError as exc:
        form.errors["form"] = exc.message
        form.stale = True
        return _form_page(request, form, rule=rule, status=409)
    except DomainError as exc:
        # Deleted while the form was open.
        messages.error(request, exc.message)
        return redirect("automation:rules")
    messages.success(request, f"Rule “{form.name.strip()}” saved.")
    return redirect("automation:rule", rule_id=rule.pk)


@login_required
@require_GET
def rule_detail(request: HttpRequest, rule_id: int) -> HttpResponse:
    require_perm(request, PERM)
    rule = queries.access_rule(rule_id)
    cursor = request.GET.get("cursor") or None
    status, cursor_error = 200, ""
    try:
        runs = queries.rule_runs(rule, cursor=cursor)
    except BadCursor as exc:
        status, cursor_error = 400, str(exc)
        runs = queries.rule_runs(rule, cursor=None)
    context = {
        "rule": rule,
        "words": queries.rule_words(rule),
        "runs": runs,
        "cursor_error": cursor_error,
        "recent": queries.recent_outcomes(rule, timezone.now()),
        "recent_days": queries.RECENT_DAYS,
        "author_active": bool(rule.created_by and rule.created_by.is_active),
        "nav_active": NAV,
    }
    return render(request, "automation/rules/detail.html", context, status=status)


@login_required
@require_POST
def rule_set_enabled(request: HttpRequest, rule_id: int) -> HttpResponse:
    require_perm(request, PERM)
    rule = queries.access_rule(rule_id)
    enabled = request.POST.get("enabled") == "1"
    try:
        rule = editing.rule_set_enabled(actor=request.user, rule_id=rule.pk, enabled=enabled)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Rule “{rule.name}” is {'on' if rule.enabled else 'off'}.")
    return redirect(safe_next(request, reverse("automation:rule", args=[rule_id])))


@login_required
@require_POST
def rule_duplicate(request: HttpRequest, rule_id: int) -> HttpResponse:
    require_perm(request, PERM)
    rule = queries.access_rule(rule_id)
    try:
        copy = editing.rule_duplicate(actor=request.user, rule_id=rule.pk)
    except InvalidInput as exc:
        messages.error(request, "The rule could not be copied: " + (" ".join(exc.fields.values()) or exc.message) + " Edit the rule first.")
        return redirect("automation:rule", rule_id=rule.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("automation:rules")
    messages.success(request, f"Copied as “{copy.name}”, switched off. Change it, then switch it on.")
    return redirect("automation:rule_edit", rule_id=copy.pk)


@login_required
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    """GET: what deleting takes with it, and the button. POST: delete."""
    require_perm(request, PERM)
    rule = queries.access_rule(rule_id)
    if request.method == "GET":
        context = {"rule": rule, "words": queries.rule_words(rule), "run_count": queries.run_count(rule), "nav_active": NAV}
        return render(request, "automation/rules/delete.html", context)
    try:
        name = editing.rule_delete(actor=request.user, rule_id=rule.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("automation:rules")
    messages.success(request, f"Rule “{name}” deleted, with its run log.")
    return redirect("automation:rules")
