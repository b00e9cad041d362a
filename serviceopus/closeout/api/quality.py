"""The closeout API: quality reviews. A review scores items 0–5, passes or fails the work, and — when
it fails — says what follows: `return_visit` (an unscheduled visit is drafted for dispatch; a
work-complete job goes back to in progress) or `follow_up` (recorded, and open until a later review
passes). Every write calls actions/quality.py, as the Quality tab does.

Who may: whoever may see the job reads its reviews (technicians only on their jobs, 404 otherwise);
reviewing needs closeout.review_quality (office roles; 403), on a job that is not closed or cancelled
(409 job_locked); a return visit on an invoiced job is 409 `invoiced`."""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import BaseModel, Field

from serviceopus.api.schemas import READ, StrictIn, Text, responses
from serviceopus.jobs.api.schemas import Ref
from serviceopus.jobs.queries import access_job_for_user

from .. import queries
from ..actions import quality as actions
from ..models import QualityReview

router = Router(tags=["quality"])

FollowUpName = Literal[tuple(QualityReview.FollowUp.values)]  # type: ignore[valid-type]


class ScoreOut(BaseModel):
    label: str
    score: int
    max_score: int


class QualityReviewOut(BaseModel):
    id: int
    job_id: int
    passed: bool
    scores: list[ScoreOut]
    total: int = Field(description="The sum of the scores.")
    max_total: int = Field(description="The sum of the items' maximum scores.")
    notes: str
    follow_up: str = Field(description='"" for a passed review; return_visit or follow_up for a failed one.')
    follow_up_reason: str
    follow_up_open: bool = Field(description="A follow-up no later review has passed yet.")
    return_visit_id: int | None = Field(description="The visit drafted for a failed review with follow_up return_visit.")
    reviewer: Ref | None
    reviewed_at: datetime


class ScoreIn(StrictIn):
    label: Text(100, min_length=1)  # type: ignore[valid-type]
    score: Annotated[int, Field(ge=0, le=actions.MAX_SCORE)]


class QualityReviewIn(StrictIn):
    passed: bool
    scores: Annotated[list[ScoreIn], Field(min_length=1, max_length=actions.MAX_ITEMS)]
    notes: Text(5000) = ""  # type: ignore[valid-type]
    follow_up: FollowUpName = Field("", description="Required when passed is false; must be empty when it is true.")
    follow_up_reason: Text(500) = Field("", description="Required when passed is false.")  # type: ignore[valid-type]


def review_out(review: QualityReview, open_ids: set[int]) -> dict[str, Any]:
    """Reads what queries.quality_reviews selected and prefetched (no query of its own)."""
    reviewer = review.reviewer if review.reviewer_id else None
    return {
        "id": review.pk,
        "job_id": review.job_id,
        "passed": review.passed,
        "scores": [{"label": s.label, "score": s.score, "max_score": s.max_score} for s in review.scores.all()],
        "total": review.total,  # type: ignore[attr-defined]
        "max_total": review.best,  # type: ignore[attr-defined]
        "notes": review.notes,
        "follow_up": review.follow_up,
        "follow_up_reason": review.follow_up_reason,
        "follow_up_open": review.pk in open_ids,
        "return_visit_id": review.return_visit_id,
        "reviewer": None if reviewer is None else {"id": reviewer.pk, "name": reviewer.display_name},
        "reviewed_at": review.reviewed_at,
    }


def _reviews(job: Any) -> tuple[list[QualityReview], set[int]]:
    reviews = queries.quality_reviews(job)
    return reviews, {r.pk for r in queries.open_follow_ups(reviews)}


@router.get("/jobs/{job_id}/quality-reviews", response=responses({200: list[QualityReviewOut]}, READ), summary="A job's quality reviews, newest first")
def quality_review_list(request: HttpRequest, job_id: int) -> list[dict[str, Any]]:
    """Three queries whatever the number of reviews: the job, the reviews, their scores."""
    job = access_job_for_user(request.auth, job_id)
    reviews, open_ids = _reviews(job)
    return [review_out(r, open_ids) for r in reviews]


@router.post("/jobs/{job_id}/quality-reviews", response=responses({201: QualityReviewOut}), summary="Record a quality review")
def quality_review_create(request: HttpRequest, job_id: int, body: QualityReviewIn) -> Status:
    job = access_job_for_user(request.auth, job_id)
    review = actions.quality_review_add(
        actor=request.auth,
        job_id=job.pk,
        passed=body.passed,
        scores=[(s.label, s.score) for s in body.scores],
        notes=body.notes,
        follow_up=body.follow_up,
        follow_up_reason=body.follow_up_reason,
    )
    reviews, open_ids = _reviews(job)
    return Status(201, review_out(next(r for r in reviews if r.pk == review.pk), open_ids))
