"""The agreement pages: the list, one plan (terms, coverage, visits ahead with skip and move, jobs
created), the create and edit forms, and "Generate now". Office roles and dispatchers look
(`jobs.view_all_jobs`); managers and owners change (`jobs.configure`)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.customers.models import Customer
from serviceopus.jobs.views.conventions import require_perm

from .. import agreements, queries, recurrence
from ..forms import MoveForm, OccurrenceForm, PlanForm, apply_errors
from ..models import PlanKind, PlanStatus

VIEW = "jobs.view_all_jobs"
EDIT = agreements.PERM
NAV = "agreements"


@login_required
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, VIEW)
    kind, status, q = request.GET.get("kind", ""), request.GET.get("status", ""), request.GET.get("q", "")[:100].replace("\x00", "")
    rows = queries.plans(kind=kind, status=status, q=q, today=timezone.localdate())
    context = {
        "plans": rows,
        "kind": kind,
        "status": status,
        "q": q,
        "kinds": PlanKind.choices,
        "statuses": PlanStatus.choices,
        "can_edit": request.user.has_perm(EDIT),
        "limit": queries.LIST_LIMIT,
        "nav_active": NAV,
    }
    return render(request, "automation/plan_list.html", context)


def _form_page(request: HttpRequest, form: PlanForm, customer: Customer, *, plan: Any = None, status: int = 200) -> HttpResponse:
    context = {"form": form, "customer": customer, "plan": plan, "kind": form.kind, "kind_label": PlanKind(form.kind).label, "nav_active": NAV}
    return render(request, "automation/plan_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def plan_create(request: HttpRequest) -> HttpResponse:
    """Choose the customer first (a search), then fill in the plan for that customer's addresses."""
    require_perm(request, EDIT)
    kind = request.GET.get("kind") if request.GET.get("kind") in PlanKind.values else PlanKind.AGREEMENT
    customer_id = request.GET.get("customer", "")
    customer = Customer.objects.filter(pk=int(customer_id)).first() if customer_id.isdigit() and len(customer_id) < 19 else None
    if customer is None:
        q = request.GET.get("customer_q", "")[:100].replace("\x00", "").strip()
        found = list(Customer.objects.filter(name__icontains=q).order_by("name", "id")[:20]) if q else []
        return render(request, "automation/plan_customer.html", {"kind": kind, "kind_label": PlanKind(kind).label, "q": q, "found": found, "nav_active": NAV})
    if request.method == "GET":
        return _form_page(request, PlanForm(kind=kind, customer_id=customer.pk, initial={"start_date": timezone.localdate()}), customer)
    form = PlanForm(request.POST, kind=kind, customer_id=customer.pk)
    if not form.is_valid():
        return _form_page(request, form, customer, status=422)
    data = form.action_data()
    try:
        plan = agreements.plan_create(actor=request.user, kind=kind, customer_id=customer.pk, **data)
    except InvalidInput as exc:
        apply_errors(form, exc)
        return _form_page(request, form, customer, status=422)
    messages.success(request, f"{PlanKind(kind).label} {plan.reference} set up. Its jobs are created {plan.horizon_days} days ahead.")
    return redirect("automation:plan", plan_id=plan.pk)


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    require_perm(request, EDIT)
    plan = queries.access_plan(plan_id)
    if request.method == "GET":
        return _form_page(request, PlanForm(kind=plan.kind, customer_id=plan.customer_id, initial=PlanForm.initial_for(plan)), plan.customer, plan=plan)
    form = PlanForm(request.POST, kind=plan.kind, customer_id=plan.customer_id)
    if not form.is_valid():
        return _form_page(request, form, plan.customer, plan=plan, status=422)
    try:
        agreements.plan_update(actor=request.user, plan_id=plan.pk, version=form.cleaned_data["version"] or 0, changes=form.action_data())
    except InvalidInput as exc:
        apply_errors(form, exc)
        return _form_page(request, form, plan.customer, plan=plan, status=422)
    except ConflictError as exc:
        form.add_error(None, exc.message)
        return _form_page(request, form, plan.customer, plan=plan, status=409)
    messages.success(request, f"Saved {plan.reference}.")
    return redirect("automation:plan", plan_id=plan.pk)


@login_required
@require_GET
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    require_perm(request, VIEW)
    plan = queries.access_plan(plan_id)
    today = timezone.localdate()
    locations = list(plan.locations.order_by("id"))
    context = {
        "plan": plan,
        "locations": locations,
        "assets": list(plan.assets.select_related("location").order_by("location_id", "id")),
        "covered_labels": [agreements.COVERABLE.get(k, k) for k in plan.covered_kinds],
        "ahead": queries.ahead(plan, today, locations),
        "generated": queries.generated(plan),
        "horizon_end": recurrence.window(plan, today)[1],
        "today": today,
        "can_edit": request.user.has_perm(EDIT),
        "nav_active": NAV,
    }
    return render(request, "automation/plan_detail.html", context)


def _back(plan_id: int) -> HttpResponse:
    return redirect(reverse("automation:plan", args=[plan_id]) + "#ahead")


@login_required
@require_POST
def plan_generate(request: HttpRequest, plan_id: int) -> HttpResponse:
    require_perm(request, EDIT)
    plan = get_object_or_404(queries.RecurringPlan, pk=plan_id)
    try:
        jobs = recurrence.generate(plan_id=plan.pk, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(plan.pk)
    if plan.status != PlanStatus.ACTIVE:
        messages.info(request, f"{plan.reference} is {plan.get_status_display().lower()}: no jobs are created for it.")
    elif jobs:
        messages.success(
            request, f"Created {len(jobs)} job{'s' if len(jobs) != 1 else ''}: " + ", ".join(j.number for j in jobs[:10]) + ("…" if len(jobs) > 10 else "")
        )
    else:
        messages.info(request, "Nothing new: every visit in the next days already has its job.")
    return _back(plan.pk)


@login_required
@require_POST
def occurrence_skip(request: HttpRequest, plan_id: int) -> HttpResponse:
    require_perm(request, EDIT)
    plan = get_object_or_404(queries.RecurringPlan, pk=plan_id)
    form = OccurrenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That visit could not be read; reload the page and try again.")
        return _back(plan.pk)
    try:
        agreements.occurrence_skip(
            actor=request.user, plan_id=plan.pk, location_id=form.cleaned_data["location"], occurrence_date=form.cleaned_data["occurrence_date"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(plan.pk)
    messages.success(request, f"Skipped the visit of {form.cleaned_data['occurrence_date']:%b %-d, %Y}.")
    return _back(plan.pk)


@login_required
@require_POST
def occurrence_move(request: HttpRequest, plan_id: int) -> HttpResponse:
    require_perm(request, EDIT)
    plan = get_object_or_404(queries.RecurringPlan, pk=plan_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the day to move the visit to.")
        return _back(plan.pk)
    c = form.cleaned_data
    try:
        agreements.occurrence_move(actor=request.user, plan_id=plan.pk, location_id=c["location"], occurrence_date=c["occurrence_date"], new_date=c["new_date"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(plan.pk)
    messages.success(request, f"Moved the visit of {c['occurrence_date']:%b %-d} to {c['new_date']:%b %-d, %Y}.")
    return _back(plan.pk)
