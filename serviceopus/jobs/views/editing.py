"""Create and edit a job. The form validates; the action decides (InvalidInput → field errors, a stale
version → a message that keeps the user's input). The customer picker narrows the address, contact and
equipment choices through the `customer_fields` fragment."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.customers.models import Customer
from serviceopus.customers.queries import customers_for

from .. import actions, queries
from ..forms import JobForm, _int_or_none, apply_domain_errors
from ..models import Job, Source
from .conventions import require_perm

CUSTOMER_CHOICES = 50


def _customer_choices(request: HttpRequest, q: str, selected_id: int | None) -> tuple[list[Customer], Customer | None]:
    """The customers the picker offers for search text `q` (at most CUSTOMER_CHOICES), and the selected
    one, which is always offered even when the search would not find it."""
    q = q.replace("\x00", "").strip()[:100]
    found = list(customers_for(request.user, q)[:CUSTOMER_CHOICES])
    selected = next((c for c in found if c.pk == selected_id), None)
    if selected is None and selected_id is not None:
        selected = customers_for(request.user).filter(pk=selected_id).first()
        if selected is not None:
            found.insert(0, selected)
    return found, selected


def _form_context(request: HttpRequest, form: JobForm, job: Job | None, *, q: str = "") -> dict[str, Any]:
    customers, selected = ([], None) if job else _customer_choices(request, q, form.customer_id)
    return {
        "form": form,
        "job": job,
        "customers": customers,
        "selected_customer": job.customer if job else selected,
        "customer_q": q,
        "customer_limit": CUSTOMER_CHOICES,
        "nav_active": "list",
    }


@login_required
@require_http_methods(["GET", "POST"])
def job_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "jobs.create_job")
    if request.method == "POST":
        form = JobForm(request.POST)
        if form.is_valid():
            try:
                job = actions.job_create(actor=request.user, **form.create_kwargs())
            except InvalidInput as exc:
                apply_domain_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Created job {job.number}.")
                return redirect(reverse("jobs:detail", args=[job.pk]))
        context = _form_context(request, form, None, q=request.POST.get("customer_q", ""))
        return render(request, "jobs/job_form.html", context, status=422)
    source = request.GET.get("source", "")
    initial = {"source": source if source in Source.values else Source.DIRECT, "source_reference": request.GET.get("reference", "")[:100]}
    customer_id = _int_or_none(request.GET.get("customer"))
    if customer_id:
        initial["customer"] = customer_id
    form = JobForm(initial=initial, customer_id=customer_id)
    return render(request, "jobs/job_form.html", _form_context(request, form, None))


@login_required
@require_http_methods(["GET", "POST"])
def job_edit(request: HttpRequest, job_id: int) -> HttpResponse:
    job = queries.access_job_for_user(request.user, job_id)
    require_perm(request, "jobs.edit_job")
    if request.method == "POST":
        form = JobForm(request.POST, job=job)
        status = 422
        if form.is_valid():
            try:
                actions.job_update(actor=request.user, job_id=job.pk, version=form.cleaned_data["version"], changes=form.changes())
            except InvalidInput as exc:
                apply_domain_errors(form, exc)
            except ConflictError as exc:
                status = 409
                form.add_error(None, exc.message)
                if exc.code == "stale":
                    # Keep what the user typed; saving again applies it over the newer version, knowingly.
                    form.stale = True
                    form.version_value = exc.details.get("current_version", form.version_value)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Saved {job.number}.")
                return redirect(reverse("jobs:detail", args=[job.pk]))
        return render(request, "jobs/job_form.html", _form_context(request, form, job), status=status)
    form = JobForm(initial=JobForm.initial_for(job, queries.job_details(job)), job=job)
    return render(request, "jobs/job_form.html", _form_context(request, form, job))


@login_required
@require_GET
def customer_fields(request: HttpRequest) -> HttpResponse:
    """The customer picker and the fields that depend on it, for the values chosen so far."""
    if not (request.user.has_perm("jobs.create_job") or request.user.has_perm("jobs.edit_job")):
        require_perm(request, "jobs.create_job")
    job = None
    job_id = _int_or_none(request.GET.get("job"))
    if job_id is not None:
        job = queries.access_job_for_user(request.user, job_id)
    q = request.GET.get("customer_q", "")
    customer_id = job.customer_id if job else _int_or_none(request.GET.get("customer"))
    if job is None and customer_id is None and q.strip():
        # One match for the search: choose it, so its addresses load straight away.
        found, _ = _customer_choices(request, q, None)
        if len(found) == 1:
            customer_id = found[0].pk
    initial = {
        "customer": customer_id,
        "location": _int_or_none(request.GET.get("location")),
        "contact": _int_or_none(request.GET.get("contact")),
        "assets": [a for a in (_int_or_none(v) for v in request.GET.getlist("assets")) if a is not None],
    }
    form = JobForm(initial=initial, job=job, customer_id=customer_id)
    form.customer_id = customer_id
    return render(request, "jobs/job_form.html#customer_fields", _form_context(request, form, job, q=q))
