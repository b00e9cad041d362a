"""The job workspace's Quality tab: the job's checklists (views/checklists.py gives that part), the
quality reviews with their scores, the follow-ups still open, and the office's review form.

The form posts to quality_add: a saved review redirects back to the tab; a refused one shows the
tab again with the reviewer's input and the reasons next to the fields (422, or 409 when the job's
state refuses it), having changed nothing."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user
from serviceopus.jobs.views.conventions import render_page, wants_fragment
from serviceopus.jobs.views.workspace import workspace_context

from .. import queries
from ..actions import quality as actions
from ..actions.job_lock import LOCKED_STATUSES
from ..models import QualityReview
from .checklists import office_context

TAB = "quality"
PANEL = "quality-panel"
# The items a reviewer scores unless they change them; blank rows take items of their own.
DEFAULT_ITEMS = ("Workmanship", "Site left clean", "Customer communication", "Scope completed")
ROWS = 6
SCORE_CHOICES = [("", "—"), *[(str(n), str(n)) for n in range(actions.MAX_SCORE + 1)]]


class QualityForm(forms.Form):
    """Pass/fail, notes, what follows a failure, and ROWS rows of (label, score). A row with neither
    is skipped; the action checks everything else (at least one item, the follow-up rules)."""

    passed = forms.ChoiceField(
        choices=[("pass", "Passed"), ("fail", "Failed")], widget=forms.RadioSelect, error_messages={"required": "Choose passed or failed."}
    )
    notes = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)
    follow_up = forms.ChoiceField(required=False, choices=QualityReview.FollowUp.choices)
    follow_up_reason = forms.CharField(required=False, max_length=500)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(ROWS):
            self.fields[f"label_{i}"] = forms.CharField(required=False, max_length=100)
            self.fields[f"score_{i}"] = forms.ChoiceField(required=False, choices=SCORE_CHOICES)
        self.row_of_item: list[int] = []  # the form row of each scored item, for the action's errors

    @classmethod
    def blank(cls) -> "QualityForm":
        return cls(initial={f"label_{i}": label for i, label in enumerate(DEFAULT_ITEMS)})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        scores: list[tuple[str, int]] = []
        self.row_of_item = []
        for i in range(ROWS):
            label, score = (data.get(f"label_{i}") or "").strip(), data.get(f"score_{i}") or ""
            if label and score == "":
                # An item listed but not scored counts as not assessed.
                continue
            if score != "" and not label:
                self.add_error(f"label_{i}", "Name what this score is for.")
                continue
            if label:
                scores.append((label, int(score)))
                self.row_of_item.append(i)
        data["scores"] = scores
        return data

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"label_{i}"], self[f"score_{i}"]) for i in range(ROWS)]

    def apply(self, exc: InvalidInput) -> None:
        """The action's field errors next to the form's fields (scores.<n>.x → that item's row)."""
        if not exc.fields:
            self.add_error(None, exc.message)
        for name, message in exc.fields.items():
            parts = name.split(".")
            if parts[0] == "scores" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(self.row_of_item):
                self.add_error(f"{parts[2]}_{self.row_of_item[int(parts[1])]}", message)
            elif name in self.fields:
                self.add_error(name, message)
            else:
                self.add_error(None, message)


def quality_tab(request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
    """The reviews (two queries), plus the checklists' queries (office_context)."""
    reviews = queries.quality_reviews(job)
    can_review = request.user.has_perm("closeout.review_quality") and job.status not in LOCKED_STATUSES
    return {
        "tab_template": "closeout/tabs/quality.html",
        "reviews": reviews,
        "latest_review": reviews[0] if reviews else None,
        "open_follow_ups": queries.open_follow_ups(reviews),
        "can_review": can_review,
        "quality_form": extra.get("quality_form") or (QualityForm.blank() if can_review else None),
        "quality_refused": extra.get("quality_refused"),
        "checklists_office": office_context(request, job),
    }


def _tab(request: HttpRequest, job: Job, *, status: int = 200, **extra: Any) -> HttpResponse:
    context = workspace_context(request, job, TAB, **extra)
    if wants_fragment(request, PANEL):
        response = render(request, "closeout/tabs/quality.html", {**context, "is_fragment": True}, status=status)
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    return render_page(request, "jobs/workspace.html", context, fragments={"tab-area": "tab_area"}, status=status)


@login_required
@require_POST
def quality_add(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    if not request.user.has_perm("closeout.review_quality"):
        raise PermissionDenied("Only the office reviews the quality of work.")
    form = QualityForm(request.POST)
    status, refused = 422, None
    if form.is_valid():
        data = form.cleaned_data
        try:
            review = actions.quality_review_add(
                actor=request.user,
                job_id=job.pk,
                passed=data["passed"] == "pass",
                scores=data["scores"],
                notes=data["notes"],
                follow_up=data["follow_up"],
                follow_up_reason=data["follow_up_reason"],
            )
        except InvalidInput as exc:
            form.apply(exc)
        except DomainError as exc:
            status, refused = exc.http_status, exc.message
        else:
            if review.passed:
                messages.success(request, "Quality review recorded: passed.")
            elif review.return_visit is not None:
                messages.success(request, f"Quality review recorded: failed. Return visit {review.return_visit.number} drafted for dispatch to schedule.")
            else:
                messages.success(request, "Quality review recorded: failed, follow-up by the office.")
            if getattr(request, "htmx", False):
                response = HttpResponse(status=200)
                response["HX-Redirect"] = reverse("jobs:tab", args=[job.pk, TAB])
                return response
            return redirect("jobs:tab", job.pk, TAB)
    return _tab(request, job, status=status, quality_form=form, quality_refused=refused)


urlpatterns = [
    path("jobs/<int:job_id>/quality/reviews/", quality_add, name="quality_add"),
]
