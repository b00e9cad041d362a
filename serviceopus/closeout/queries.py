"""Reads of the closeout pages and API: signatures with their current/stale flag, quality reviews with
their scores, incidents with their photos and owner. Each reads a fixed number of queries whatever
the job holds; `access_*` functions authorise through jobs.queries.access_job_for_user first."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch
from django.http import Http404

from serviceopus.accounts.models import User
from serviceopus.dispatch.models import Visit
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user

from . import signing
from .models import Document, Incident, QualityReview, Signature

# ---- signatures -----------------------------------------------------------------------------------


@dataclass
class ContentToSign:
    """What a signer is shown and agrees to now, and its hash (the pad sends the hash back)."""

    content: dict[str, Any]
    sha256: str


def content_to_sign(job: Job) -> ContentToSign:
    """One query (the line items)."""
    content = signing.signed_content(job)
    return ContentToSign(content, signing.content_hash(content))


def job_signatures(job: Job, current_sha256: str) -> list[Signature]:
    """The job's signatures, newest first, each with `is_current` (its hash is the job's current
    one) — the current hash is computed once by the caller, not per signature. One query."""
    signatures = list(Signature.objects.filter(job=job).select_related("captured_by", "visit").order_by("-signed_at", "-id"))
    for signature in signatures:
        signature.is_current = signature.content_sha256 == current_sha256  # type: ignore[attr-defined]
    return signatures


def signatures_with_state(job: Job) -> tuple[ContentToSign, list[Signature]]:
    """The content to sign now and the job's signatures flagged against it: two queries."""
    now = content_to_sign(job)
    return now, job_signatures(job, now.sha256)


def access_signature_for_user(user: User, job_id: int, signature_id: int) -> Signature:
    """A signature of a job this user may see (its image is served only after this), or Http404."""
    job = access_job_for_user(user, job_id)
    signature = Signature.objects.filter(job=job, pk=signature_id).first()
    if signature is None:
        raise Http404("No such signature.")
    return signature


# ---- quality ----------------------------------------------------------------------------------------


def quality_reviews(job: Job) -> list[QualityReview]:
    """The job's reviews, newest first, with reviewer, return visit and scores (two queries); each
    carries `total` and `best` (the sum of its scores and of their maxima)."""
    reviews = list(QualityReview.objects.filter(job=job).select_related("reviewer", "return_visit").prefetch_related("scores").order_by("-reviewed_at", "-id"))
    for review in reviews:
        scores = list(review.scores.all())
        review.total = sum(s.score for s in scores)  # type: ignore[attr-defined]
        review.best = sum(s.max_score for s in scores)  # type: ignore[attr-defined]
    return reviews


def open_follow_ups(reviews: list[QualityReview]) -> list[QualityReview]:
    """Failed reviews asking the office to follow up that no later review has passed (reviews newest
    first, as quality_reviews gives them). A return visit is followed through dispatch instead."""
    still_open = []
    for review in reviews:
        if review.passed:
            break
        if review.follow_up == QualityReview.FollowUp.FOLLOW_UP:
            still_open.append(review)
    return still_open


# ---- incidents --------------------------------------------------------------------------------------


def _incidents() -> Any:
    photos = Prefetch("photos", queryset=Document.objects.order_by("uploaded_at", "id"))
    return Incident.objects.select_related("owner", "reported_by", "resolved_by", "visit").prefetch_related(photos)


def job_incidents(job: Job) -> list[Incident]:
    """The job's incidents, open ones first, then newest first, with owner, reporter, resolver, visit
    and photos (two queries)."""
    incidents = list(_incidents().filter(job=job).order_by("-reported_at", "-id"))
    incidents.sort(key=lambda i: i.status != Incident.Status.OPEN)  # stable: keeps newest first within each
    return incidents


def incident_of_job(job: Job, incident_id: int) -> Incident:
    """An incident of this job (the job already authorised), with what the API shows, or Http404."""
    incident = _incidents().filter(job=job, pk=incident_id).first()
    if incident is None:
        raise Http404("No such incident.")
    return incident


def incident_owner_choices() -> list[User]:
    """Who may own an incident: any active user (one query)."""
    return list(User.objects.filter(is_active=True).order_by("first_name", "last_name", "username"))


def job_visit_choices(job: Job) -> list[Visit]:
    """The job's visits, for saying on which visit an incident happened (one query)."""
    return list(Visit.objects.filter(job=job).order_by("number"))
