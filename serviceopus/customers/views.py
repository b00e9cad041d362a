"""Customer pages: list, detail and the create/edit forms for customers, locations, contacts and assets.
Thin views: access (queries.* → 404 for technicians; edits also need customers.edit_customers → 403),
then an action from actions.py, whose refusals become field errors or a message on the form."""

import copy
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import Job

from . import actions, queries
from .forms import AssetForm, ContactForm, CustomerForm, LocationForm, RecordForm
from .models import Customer, Location

PAGE_SIZE = 25
RECENT_JOBS = 20
OPTIONS_LIMIT = 20
NAV = "customers"


# ---- access ------------------------------------------------------------------------------------------


def _require_office(request: HttpRequest) -> None:
    # Same rule as queries._office_only: technicians do not learn that customer pages exist.
    if not request.user.has_perm("customers.view_customers"):
        raise Http404("No such customer.")


def _require_editor(request: HttpRequest) -> None:
    _require_office(request)
    if not request.user.has_perm("customers.edit_customers"):
        raise PermissionDenied("You may not change customers.")


def _search_text(request: HttpRequest) -> str:
    return request.GET.get("q", "")[:100].replace("\x00", "").strip()


def _with_summary(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """Adds the first address and the location and job counts: one subquery per shown row, read from
    the (customer, id) indexes, so a page costs the same however many customers and jobs there are."""
    locations = Location.objects.filter(customer=OuterRef("pk")).order_by("id")

    def count_of(rows: QuerySet) -> Coalesce:
        counted = rows.order_by().values("customer").annotate(n=Count("pk")).values("n")[:1]
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    return qs.annotate(
        first_street=Subquery(locations.values("street")[:1]),
        first_city=Subquery(locations.values("city")[:1]),
        location_count=count_of(Location.objects.filter(customer=OuterRef("pk"))),
        job_count=count_of(Job.objects.filter(customer=OuterRef("pk"))),
    )


# ---- list, detail, options ---------------------------------------------------------------------------


@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    q = _search_text(request)
    customers = queries.customers_for(request.user, q)
    page = Paginator(_with_summary(customers), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "can_edit": request.user.has_perm("customers.edit_customers"),
        "nav_active": NAV,
    }
    # The search box asks for the results only (hx-target); everything else gets the whole page.
    partial = request.htmx and request.htmx.target == "customer-results"
    return render(request, "customers/list.html#results" if partial else "customers/list.html", context)


@login_required
@require_GET
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = queries.access_customer_for_user(request.user, customer_id)
    recent_jobs = list(Job.objects.filter(customer=customer).select_related("location", "job_type").order_by("-id")[:RECENT_JOBS])
    context = {
        "customer": customer,
        "locations": customer.locations.all(),
        "contacts": customer.contacts.all(),
        "recent_jobs": recent_jobs,
        "recent_limit": RECENT_JOBS,
        "can_edit": request.user.has_perm("customers.edit_customers"),
        "can_create_job": request.user.has_perm("jobs.create_job"),
        "nav_active": NAV,
    }
    return render(request, "customers/detail.html", context)


@login_required
@require_GET
def customer_options(request: HttpRequest) -> HttpResponse:
    """Up to 20 customers matching ?q= for the job form's customer picker: <option> elements (for an
    hx-get into a <select>), or JSON with ?format=json or an Accept: application/json request."""
    q = _search_text(request)
    rows = list(_with_summary(queries.customers_for(request.user, q)).values("pk", "name", "first_city")[:OPTIONS_LIMIT])
    wants_json = request.GET.get("format") == "json" or request.headers.get("Accept", "").startswith("application/json")
    if wants_json:
        return JsonResponse({"results": [{"id": r["pk"], "name": r["name"], "city": r["first_city"] or ""} for r in rows]})
    selected = request.GET.get("selected", "")
    context = {"rows": rows, "q": q, "selected": int(selected) if selected.isdigit() else None, "blank": request.GET.get("blank") == "1"}
    return render(request, "customers/_options.html", context)


# ---- forms -------------------------------------------------------------------------------------------


def _submit(form: RecordForm, run: Callable[[dict[str, Any]], Model]) -> tuple[Model | None, int]:
    """Validate the form, then run the action with its data. A refusal lands on the form (field
    errors, or a message for a stale edit) and the status says what happened: 422 invalid, 409 stale."""
    if not form.is_valid():
        return None, 422
    try:
        return run(form.data_for_action()), 200
    except InvalidInput as invalid:
        for name, message in invalid.fields.items():
            form.add_error(name if name in form.fields else None, message)
        if not invalid.fields:
            form.add_error(None, invalid.message)
        return None, 422
    except ConflictError as conflict:
        form.add_error(None, conflict.message)
        form.stale = True
        return None, 409
    except DomainError as refused:
        if refused.code == "forbidden":
            raise PermissionDenied(refused.message) from refused
        form.add_error(None, refused.message)
        return None, 400


def _form_page(request: HttpRequest, form: RecordForm, *, status: int, customer: Customer | None, title: str, cancel_url: str, **extra: Any) -> HttpResponse:
    context = {
        "form": form,
        "customer": customer,
        "title": title,
        "cancel_url": cancel_url,
        "submit_label": "Save changes" if form.editing else "Save",
        "nav_active": NAV,
        **extra,
    }
    return render(request, "customers/form.html", context, status=status)


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _detail_url(customer_id: int, anchor: str = "") -> str:
    url = reverse("customers:detail", args=[customer_id])
    return f"{url}#{anchor}" if anchor else url


@login_required
@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    form = CustomerForm(_posted(request))
    status = 200
    if form.is_bound:
        saved, status = _submit(form, lambda data: actions.customer_create(actor=request.user, **data))
        if saved is not None:
            messages.success(request, f"Customer “{saved}” created. Add a service location next.")
            return redirect(_detail_url(saved.pk))
    return _form_page(request, form, status=status, customer=None, title="New customer", cancel_url=reverse("customers:list"))


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    _require_editor(request)
    customer = get_object_or_404(queries.customers_for(request.user), pk=customer_id)
    # The form gets a copy: validation writes the input onto its instance, and the page title must
    # keep showing what is stored.
    form = CustomerForm(_posted(request), instance=copy.copy(customer), editing=True)
    status = 200
    if form.is_bound:
        saved, status = _submit(
            form, lambda data: actions.customer_update(actor=request.user, customer_id=customer.pk, version=form.cleaned_data["version"], changes=data)
        )
        if saved is not None:
            messages.success(request, f"Customer “{saved}” saved.")
            return redirect(_detail_url(saved.pk))
    return _form_page(request, form, status=status, customer=customer, title=f"Edit {customer.name}", cancel_url=_detail_url(customer.pk))


@login_required
@require_http_methods(["GET", "POST"])
def location_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    _require_editor(request)
    customer = get_object_or_404(queries.customers_for(request.user), pk=customer_id)
    form = LocationForm(_posted(request))
    status = 200
    if form.is_bound:
        saved, status = _submit(form, lambda data: actions.location_create(actor=request.user, customer_id=customer.pk, **data))
        if saved is not None:
            messages.success(request, f"Location “{saved}” added.")
            return redirect(_detail_url(customer.pk, f"location-{saved.pk}"))
    return _form_page(request, form, status=status, customer=customer, title="New location", cancel_url=_detail_url(customer.pk))


@login_required
@require_http_methods(["GET", "POST"])
def location_edit(request: HttpRequest, location_id: int) -> HttpResponse:
    _require_editor(request)
    location = queries.access_location_for_user(request.user, location_id)
    form = LocationForm(_posted(request), instance=copy.copy(location), editing=True)
    status = 200
    if form.is_bound:
        saved, status = _submit(
            form, lambda data: actions.location_update(actor=request.user, location_id=location.pk, version=form.cleaned_data["version"], changes=data)
        )
        if saved is not None:
            messages.success(request, f"Location “{saved}” saved.")
            return redirect(_detail_url(location.customer_id, f"location-{location.pk}"))
    cancel = _detail_url(location.customer_id, f"location-{location.pk}")
    return _form_page(request, form, status=status, customer=location.customer, title=f"Edit location {location.one_line}", cancel_url=cancel)


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    _require_editor(request)
    customer = get_object_or_404(queries.customers_for(request.user), pk=customer_id)
    form = ContactForm(_posted(request))
    status = 200
    if form.is_bound:
        saved, status = _submit(form, lambda data: actions.contact_create(actor=request.user, customer_id=customer.pk, **data))
        if saved is not None:
            messages.success(request, f"Contact “{saved}” added.")
            return redirect(_detail_url(customer.pk, "contacts"))
    return _form_page(request, form, status=status, customer=customer, title="New contact", cancel_url=_detail_url(customer.pk, "contacts"))


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    _require_editor(request)
    contact = queries.access_contact_for_user(request.user, contact_id)
    form = ContactForm(_posted(request), instance=copy.copy(contact), editing=True)
    status = 200
    if form.is_bound:
        saved, status = _submit(
            form, lambda data: actions.contact_update(actor=request.user, contact_id=contact.pk, version=form.cleaned_data["version"], changes=data)
        )
        if saved is not None:
            messages.success(request, f"Contact “{saved}” saved.")
            return redirect(_detail_url(contact.customer_id, "contacts"))
    return _form_page(
        request, form, status=status, customer=contact.customer, title=f"Edit contact {contact.name}", cancel_url=_detail_url(contact.customer_id, "contacts")
    )


@login_required
@require_http_methods(["GET", "POST"])
def asset_create(request: HttpRequest, location_id: int) -> HttpResponse:
    _require_editor(request)
    location = queries.access_location_for_user(request.user, location_id)
    form = AssetForm(_posted(request))
    status = 200
    if form.is_bound:
        saved, status = _submit(form, lambda data: actions.asset_create(actor=request.user, location_id=location.pk, **data))
        if saved is not None:
            messages.success(request, f"Asset “{saved}” added.")
            return redirect(_detail_url(location.customer_id, f"location-{location.pk}"))
    cancel = _detail_url(location.customer_id, f"location-{location.pk}")
    return _form_page(request, form, status=status, customer=location.customer, title="New asset", subtitle=f"At {location.one_line}", cancel_url=cancel)


@login_required
@require_http_methods(["GET", "POST"])
def asset_edit(request: HttpRequest, asset_id: int) -> HttpResponse:
    _require_editor(request)
    asset = queries.access_asset_for_user(request.user, asset_id)
    location = asset.location
    form = AssetForm(_posted(request), instance=copy.copy(asset), editing=True)
    status = 200
    if form.is_bound:
        saved, status = _submit(
            form, lambda data: actions.asset_update(actor=request.user, asset_id=asset.pk, version=form.cleaned_data["version"], changes=data)
        )
        if saved is not None:
            messages.success(request, f"Asset “{saved}” saved.")
            return redirect(_detail_url(location.customer_id, f"location-{location.pk}"))
    cancel = _detail_url(location.customer_id, f"location-{location.pk}")
    return _form_page(
        request, form, status=status, customer=location.customer, title=f"Edit asset {asset.name}", subtitle=f"At {location.one_line}", cancel_url=cancel
    )
