"""Checklists on the technician's visit screen (one small form per item, one answer per POST) and the
office's listing of a job's checklists for the Quality tab, with "add a checklist to this job".

The phone's forms are plain POSTs that redirect back to the visit screen, so they work without
JavaScript; with HTMX the answer swaps the checklist section in place (#checklists). A refused
answer shows its error at the item: in the swapped section, or — without JavaScript — on the page the
redirect lands on (the error waits in the session for one read, as Django's messages do)."""

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.queries import access_visit_for_user
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import safe_next, wants_fragment

from ..actions import checklists as actions
from ..actions.job_lock import LOCKED_STATUSES
from ..checklist_rules import Checklist, answer_text, format_decimal, is_answered, job_checklists, range_text
from ..models import ChecklistAnswer, ChecklistTemplate, ItemKind

SECTION = "checklists"  # the section's element id: the HTMX target and the redirect's anchor
SESSION_ERROR = "closeout.checklist_error"
# Up to this many options show as buttons (one tap); more become a select.
CHOICE_BUTTONS_MAX = 6


# ---- what the templates show -------------------------------------------------------------------------


@dataclass
class ItemRow:
    checklist: "ChecklistView"
    item: dict
    answer: ChecklistAnswer | None
    answered: bool
    text: str  # the answer in words
    range: str  # the allowed range of a number item
    error: str = ""
    value: str = ""  # what the form shows: the answer, or the refused input to correct
    just_saved: bool = False

    @property
    def key(self) -> str:
        return str(self.item["key"])

    @property
    def dom_id(self) -> str:
        return f"chk-{self.checklist.template_id}-{self.key}"

    @property
    def flagged(self) -> bool:
        return self.answered and self.answer is not None and self.answer.out_of_range

    @property
    def flag_text(self) -> str:
        """ "Out of range: 12 psi, allowed 3.5–10.5 psi" """
        return f"Out of range: {self.text}, allowed {self.range}" if self.flagged else ""

    @property
    def choice_buttons(self) -> bool:
        return len(self.item.get("choices") or []) <= CHOICE_BUTTONS_MAX

    @property
    def carried(self) -> bool:
        """An item still open in a run that came over from an earlier visit."""
        return self.checklist.carried_from is not None and not self.answered


@dataclass
class ChecklistView:
    template_id: int
    name: str
    version: int
    status: str
    carried_from: Visit | None  # on the phone: the visit this run came over from
    visit: Visit | None
    rows: list[ItemRow] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for r in self.rows if r.answered)

    @property
    def required_open(self) -> int:
        return sum(1 for r in self.rows if r.item["required"] and not r.answered)

    @property
    def flagged_count(self) -> int:
        return sum(1 for r in self.rows if r.flagged)

    @property
    def progress(self) -> str:
        """ "4 of 7 done, 2 required open" """
        text = f"{self.done} of {len(self.rows)} done"
        if self.required_open:
            text += f", {self.required_open} required open"
        return text


def _view(checklist: Checklist, *, visit: Visit | None = None) -> ChecklistView:
    run = checklist.run
    carried_from = run.carried_from if run is not None and run.carried_from_id and (visit is None or run.visit_id == visit.pk) else None
    view = ChecklistView(checklist.template_id, checklist.name, checklist.version, checklist.status, carried_from, run.visit if run else None)
    for item in checklist.items:
        answer = checklist.answers.get(item["key"])
        answered = is_answered(item, answer)
        row = ItemRow(view, item, answer, answered, answer_text(item, answer), range_text(item))
        if answered and answer is not None:
            row.value = format_decimal(answer.value_number) if item["kind"] == ItemKind.NUMBER else answer.value_text
        view.rows.append(row)
    return view


def phone_context(request: HttpRequest, visit: Visit, job: Job, *, error: dict[str, str] | None = None, saved: str = "") -> dict[str, Any]:
    """Context of this topic's section on the technician's visit screen: every checklist of the job
    (started or not), each item with its answer, flag and form. `error` is a refused answer to show
    at its item ({template, key, message, value}); without it, one left in the session by a redirect
    is shown (and forgotten). Queries: those of job_checklists, whatever the number of items."""
    if error is None and hasattr(request, "session"):
        error = request.session.pop(SESSION_ERROR, None)
    views = [_view(c, visit=visit) for c in job_checklists(job)]
    for view in views:
        for row in view.rows:
            here = f"{view.template_id}:{row.key}"
            if error and here == f"{error.get('template')}:{error.get('key')}":
                row.error, row.value = error.get("message", ""), error.get("value", "")
            row.just_saved = here == saved
    return {
        "checklists": views,
        "can_fill": request.user.has_perm("closeout.record_evidence") and job.status not in LOCKED_STATUSES,
        "notice": (error or {}).get("notice", ""),
    }


def office_context(request: HttpRequest, job: Job) -> dict[str, Any]:
    """The office's listing of the job's checklists (merged into the Quality tab's context as
    `checklists_office`): answers, flags, who answered on which visit and when, the version each
    run was started from, and the templates that can still be added. A fixed number of queries."""
    views = [_view(c) for c in job_checklists(job)]
    on_job = {v.template_id for v in views}
    can_add = request.user.has_perm("jobs.edit_job") and job.status not in LOCKED_STATUSES
    addable = list(ChecklistTemplate.objects.filter(active=True).exclude(pk__in=on_job).order_by("name")) if can_add else []
    return {
        "checklists": views,
        "flagged_count": sum(v.flagged_count for v in views),
        "can_add": can_add,
        "addable": addable,
        "next": request.get_full_path(),
    }


# ---- the phone's writes ----------------------------------------------------------------------------


def _job_and_visit(request: HttpRequest, job_id: int) -> tuple[Job, Visit | None]:
    """The job, and the visit the answer is given on (a visit of this job whose crew the technician
    is on), or Http404."""
    raw = request.POST.get("visit_id", "")
    if not raw:
        return access_job_for_user(request.user, job_id), None
    if not raw.isdigit() or len(raw) > 18:
        raise Http404("No such visit")
    visit = access_visit_for_user(request.user, int(raw))
    if visit.job_id != job_id:
        raise Http404("No such visit")
    return visit.job, visit


def _section(request: HttpRequest, job: Job, visit: Visit, *, status: int = 200, **kwargs: Any) -> HttpResponse:
    context = {"section": phone_context(request, visit, job, **kwargs), "visit": visit, "job": job}
    response = render(request, "closeout/phone/_checklists.html", context, status=status)
    # The visit screen's "Before you finish" box may listen for this to refresh itself.
    response["HX-Trigger"] = "closeout-changed"
    return response


def _after_write(request: HttpRequest, job: Job, visit: Visit | None, *, saved: str = "", message: str = "") -> HttpResponse:
    if visit is not None and wants_fragment(request, SECTION):
        return _section(request, job, visit, saved=saved)
    if message:
        messages.success(request, message)
    if visit is not None:
        return redirect(reverse("field:visit", args=[visit.pk]) + f"#{SECTION}")
    return redirect(safe_next(request, reverse("jobs:tab", args=[job.pk, "quality"])))


def _refused(request: HttpRequest, job: Job, visit: Visit | None, template_id: int, item_key: str, exc: DomainError) -> HttpResponse:
    if exc.code == "not_found":
        raise Http404(exc.message)
    if exc.code == "forbidden":
        raise PermissionDenied(exc.message)
    invalid = isinstance(exc, InvalidInput)
    value = request.POST.get("value", "")[:2000] if invalid else ""
    error = {"template": str(template_id), "key": item_key, "message": _field_message(exc) if invalid else exc.message, "value": value}
    if not invalid:
        error["notice"] = exc.message
    if visit is not None and wants_fragment(request, SECTION):
        return _section(request, job, visit, status=exc.http_status, error=error)
    if visit is not None:
        request.session[SESSION_ERROR] = error
        return redirect(reverse("field:visit", args=[visit.pk]) + f"#{SECTION}")
    messages.error(request, error["message"])
    return redirect(safe_next(request, reverse("jobs:tab", args=[job.pk, "quality"])))


def _field_message(exc: InvalidInput) -> str:
    return next(iter(exc.fields.values()), exc.message)


@login_required
@require_POST
def checklist_answer(request: HttpRequest, job_id: int, template_id: int, item_key: str) -> HttpResponse:
    """Save one item's answer. Yes/no buttons send `yes_no` (yes or no), a photo item sends the file
    as `photo`, every other kind sends `value`; `visit_id` is the visit screen's visit."""
    job, visit = _job_and_visit(request, job_id)
    visit_id = visit.pk if visit else None
    try:
        if "photo" in request.FILES:
            actions.checklist_answer_photo(
                actor=request.user, job_id=job.pk, template_id=template_id, item_key=item_key, upload=request.FILES["photo"], visit_id=visit_id
            )
        else:
            if "yes_no" in request.POST:
                raw = request.POST["yes_no"]
                value: Any = {"yes": True, "no": False}.get(raw, raw)
            else:
                value = request.POST.get("value", "")
            actions.checklist_answer(actor=request.user, job_id=job.pk, template_id=template_id, item_key=item_key, value=value, visit_id=visit_id)
    except DomainError as exc:
        return _refused(request, job, visit, template_id, item_key, exc)
    return _after_write(request, job, visit, saved=f"{template_id}:{item_key}", message="Answer saved.")


@login_required
@require_POST
def checklist_clear(request: HttpRequest, job_id: int, template_id: int, item_key: str) -> HttpResponse:
    job, visit = _job_and_visit(request, job_id)
    try:
        actions.checklist_clear_answer(actor=request.user, job_id=job.pk, template_id=template_id, item_key=item_key)
    except DomainError as exc:
        return _refused(request, job, visit, template_id, item_key, exc)
    return _after_write(request, job, visit, message="Answer cleared.")


# ---- the office's write ----------------------------------------------------------------------------


@login_required
@require_POST
def checklist_add(request: HttpRequest, job_id: int) -> HttpResponse:
    """Add a checklist (`template_id`) to this one job; back to `next` (the Quality tab) with a message."""
    job = access_job_for_user(request.user, job_id)
    raw = request.POST.get("template_id", "")
    try:
        if not raw.isdigit() or len(raw) > 18:
            raise InvalidInput("Choose a checklist to add.", {"template": "Choose a checklist."})
        run = actions.checklist_add_to_job(actor=request.user, job_id=job.pk, template_id=int(raw))
    except DomainError as exc:
        if exc.code == "forbidden":
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Checklist “{run.name}” added to this job.")
    return redirect(safe_next(request, reverse("jobs:tab", args=[job.pk, "quality"])))


ITEM = "jobs/<int:job_id>/checklists/<int:template_id>/items/<str:item_key>"
urlpatterns = [
    path("jobs/<int:job_id>/checklists/add/", checklist_add, name="checklist_add"),
    path(f"{ITEM}/answer/", checklist_answer, name="checklist_answer"),
    path(f"{ITEM}/clear/", checklist_clear, name="checklist_clear"),
]
