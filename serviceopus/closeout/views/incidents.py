"""The job workspace's Incidents tab: the report form, the incidents with severity, owner, status and
photos; editing (carrying the version read), the office's resolve and reopen, and adding photos.

Writes redirect back to the tab with a message. A refusal shows the tab again with the input and the
reason (422 bad input, 409 a stale edit or a state that changed — the incident then shows as it is
now), having changed nothing; a missing capability is a 403."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import render_page, wants_fragment
from serviceopus.jobs.views.workspace import workspace_context

from .. import queries
from ..actions import incidents as actions
from ..actions.job_lock import LOCKED_STATUSES
from ..models import Incident

TAB = "incidents"
PANEL = "incidents-panel"
ACTION_FIELDS = {"owner_id": "owner"}


class IncidentForm(forms.Form):
    """Report and edit. Visit and owner are ids; the action checks they are this job's visit and an
    active user. `version` comes with an edit."""

    kind = forms.ChoiceField(choices=Incident.Kind.choices, error_messages={"required": "Choose what happened."})
    severity = forms.ChoiceField(choices=Incident.Severity.choices, initial=Incident.Severity.MEDIUM)
    description = forms.CharField(max_length=5000, widget=forms.Textarea, error_messages={"required": "Describe what happened."})
    visit = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    owner = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    version = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)

    @classmethod
    def for_incident(cls, incident: Incident) -> "IncidentForm":
        return cls(
            initial={
                "kind": incident.kind,
                "severity": incident.severity,
                "description": incident.description,
                "visit": incident.visit_id,
                "owner": incident.owner_id,
                "version": incident.version,
            }
        )

    def apply(self, exc: InvalidInput) -> None:
        if not exc.fields:
            self.add_error(None, exc.message)
        for name, message in exc.fields.items():
            target = ACTION_FIELDS.get(name, name)
            self.add_error(target if target in self.fields else None, message)


class CloseForm(forms.Form):
    """Resolve (a resolution note) or reopen (an optional reason), at the version the user saw."""

    text = forms.CharField(required=False, max_length=5000)
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, error_messages={"required": "This form is out of date; reload the page."})


def incidents_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    """Two queries for the incidents (with people, visit and photos); for a user who may report, one
    for the job's visits; for the office, one for the owner choices."""
    incidents = queries.job_incidents(job)
    open_job = job.status not in LOCKED_STATUSES
    can_report = request.user.has_perm("closeout.report_incident") and open_job
    can_manage = request.user.has_perm("closeout.manage_incidents") and open_job
    return {
        "tab_template": "closeout/tabs/incidents.html",
        "incidents": incidents,
        "open_incident_count": sum(1 for i in incidents if i.status == Incident.Status.OPEN),
        "can_report": can_report,
        "can_manage": can_manage,
        "can_add_photos": can_report and request.user.has_perm("closeout.record_evidence"),
        "kinds": Incident.Kind.choices,
        "severities": Incident.Severity.choices,
        "visits": queries.job_visit_choices(job) if can_report else [],
        "owners": queries.incident_owner_choices() if can_manage else [],
        "report_form": extra.get("report_form") or IncidentForm(),
        "editing_id": extra.get("editing_id"),
        "edit_form": extra.get("edit_form"),
        "closing_id": extra.get("closing_id"),
        "close_form": extra.get("close_form"),
        "incident_refused": extra.get("incident_refused"),
    }


def _tab(request: HttpRequest, job: Job, *, status: int = 200, **extra: Any) -> HttpResponse:
    context = workspace_context(request, job, TAB, **extra)
    if wants_fragment(request, PANEL):
        response = render(request, "closeout/tabs/incidents.html", {**context, "is_fragment": True}, status=status)
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    return render_page(request, "jobs/workspace.html", context, fragments={"tab-area": "tab_area"}, status=status)


def _done(request: HttpRequest, job: Job, message: str, incident: Incident | None = None) -> HttpResponse:
    messages.success(request, message)
    url = reverse("jobs:tab", args=[job.pk, TAB]) + (f"#incident-{incident.pk}" if incident else "")
    if getattr(request, "htmx", False):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _incident(job: Job, incident_id: int) -> Incident:
    return queries.incident_of_job(job, incident_id)


def _forbidden(exc: DomainError) -> None:
    if exc.code == "forbidden":
        raise PermissionDenied(exc.message) from exc
    if exc.code == "not_found":
        raise Http404(exc.message) from exc


@login_required
@require_POST
def incident_report(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    form = IncidentForm(request.POST)
    status, refused = 422, None
    if form.is_valid():
        data = form.cleaned_data
        try:
            incident = actions.incident_report(
                actor=request.user,
                job_id=job.pk,
                kind=data["kind"],
                severity=data["severity"],
                description=data["description"],
                visit_id=data["visit"],
                # Only the office names the owner; the crew's form has no such field.
                owner_id=data["owner"] if request.user.has_perm("closeout.manage_incidents") else None,
            )
        except InvalidInput as exc:
            form.apply(exc)
        except DomainError as exc:
            _forbidden(exc)
            status, refused = exc.http_status, exc.message
        else:
            return _done(request, job, f"Incident reported: {incident.get_kind_display()} ({incident.get_severity_display().lower()}).", incident)
    return _tab(request, job, status=status, report_form=form, incident_refused=refused)


@login_required
@require_http_methods(["GET", "POST"])
def incident_edit(request: HttpRequest, job_id: int, incident_id: int) -> HttpResponse:
    """GET: the tab with this incident as a form. POST: save kind, severity, description, visit is
    kept; the office may also change the owner. A stale version shows the incident as it is now."""
    job = access_job_for_user(request.user, job_id)
    incident = _incident(job, incident_id)
    if not request.user.has_perm("closeout.report_incident"):
        raise PermissionDenied("You may not edit incidents.")
    if request.method == "GET":
        return _tab(request, job, editing_id=incident.pk, edit_form=IncidentForm.for_incident(incident))
    form = IncidentForm(request.POST)
    status, refused = 422, None
    if form.is_valid():
        data = form.cleaned_data
        changes: dict[str, Any] = {"kind": data["kind"], "severity": data["severity"], "description": data["description"]}
        if request.user.has_perm("closeout.manage_incidents") and "owner" in request.POST:
            changes["owner_id"] = data["owner"]
        try:
            if data["version"] is None:
                raise InvalidInput("This form is out of date; reload the page.", {"version": "Missing version."})
            incident = actions.incident_update(actor=request.user, incident_id=incident.pk, version=data["version"], changes=changes)
        except InvalidInput as exc:
            form.apply(exc)
        except ConflictError as exc:
            status, refused = exc.http_status, exc.message
            if exc.code == "stale":
                # Start again from the incident as it is now; the message says what happened.
                form = IncidentForm.for_incident(_incident(job, incident.pk))
        except DomainError as exc:
            _forbidden(exc)
            status, refused = exc.http_status, exc.message
        else:
            return _done(request, job, "Incident updated.", incident)
    return _tab(request, job, status=status, editing_id=incident.pk, edit_form=form, incident_refused=refused)


def _close(request: HttpRequest, job_id: int, incident_id: int, *, resolve: bool) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    incident = _incident(job, incident_id)
    if not request.user.has_perm("closeout.manage_incidents"):
        raise PermissionDenied("Only the office resolves and reopens incidents.")
    form = CloseForm(request.POST)
    status, refused = 422, None
    if form.is_valid():
        data = form.cleaned_data
        try:
            if resolve:
                incident = actions.incident_resolve(actor=request.user, incident_id=incident.pk, resolution=data["text"], version=data["version"])
            else:
                incident = actions.incident_reopen(actor=request.user, incident_id=incident.pk, reason=data["text"], version=data["version"])
        except InvalidInput as exc:
            for message in exc.fields.values() or [exc.message]:
                form.add_error("text", message)
        except DomainError as exc:
            _forbidden(exc)
            status, refused = exc.http_status, exc.message
            if exc.code == "stale":
                form = CloseForm()  # the incident shows as it is now; its version goes with the next try
        else:
            return _done(request, job, "Incident resolved." if resolve else "Incident reopened: it holds the job back again.", incident)
    return _tab(request, job, status=status, closing_id=incident.pk, close_form=form, incident_refused=refused)


@login_required
@require_POST
def incident_resolve(request: HttpRequest, job_id: int, incident_id: int) -> HttpResponse:
    return _close(request, job_id, incident_id, resolve=True)


@login_required
@require_POST
def incident_reopen(request: HttpRequest, job_id: int, incident_id: int) -> HttpResponse:
    return _close(request, job_id, incident_id, resolve=False)


@login_required
@require_POST
def incident_photo(request: HttpRequest, job_id: int, incident_id: int) -> HttpResponse:
    """Add photos (field `photos`, several allowed) to the incident; each is stored or refused on its
    own, with a message, as on the Documents tab."""
    job = access_job_for_user(request.user, job_id)
    incident = _incident(job, incident_id)
    files = request.FILES.getlist("photos")
    if not files:
        messages.error(request, "No photo arrived. Choose or take a photo and try again.")
    for upload in files:
        try:
            document, created = actions.incident_add_photo(actor=request.user, incident_id=incident.pk, upload=upload, caption=request.POST.get("caption", ""))
        except InvalidInput as exc:
            messages.error(request, "; ".join(exc.fields.values()) or exc.message)
            continue
        except DomainError as exc:
            _forbidden(exc)
            messages.error(request, exc.message)
            break
        if created:
            messages.success(request, f"Photo “{document.original_name}” added to the incident.")
        else:
            messages.info(request, f"“{document.original_name}” is already on this job; it is linked to the incident if it had none.")
    return redirect(reverse("jobs:tab", args=[job.pk, TAB]) + f"#incident-{incident.pk}")


INCIDENT = "jobs/<int:job_id>/incidents/<int:incident_id>"
urlpatterns = [
    path("jobs/<int:job_id>/incidents/", incident_report, name="incident_report"),
    path(f"{INCIDENT}/edit/", incident_edit, name="incident_edit"),
    path(f"{INCIDENT}/resolve/", incident_resolve, name="incident_resolve"),
    path(f"{INCIDENT}/reopen/", incident_reopen, name="incident_reopen"),
    path(f"{INCIDENT}/photos/", incident_photo, name="incident_photo"),
]
