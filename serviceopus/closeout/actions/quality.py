"""Recording a quality review of a job: scored items, pass or fail, notes, and — when it fails — what
follows: a return visit drafted for dispatch, or a follow-up for the office, with the reason."""

from collections.abc import Sequence

from django.db import transaction

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, InvalidInput
from serviceopus.dispatch.actions import draft_return_visit
from serviceopus.jobs.actions import job_transition
from serviceopus.jobs.status import JobStatus

from ..models import QualityReview, QualityScore
from .job_lock import closeout_event, open_job, require

MAX_SCORE = 5
MAX_ITEMS = 20
FollowUp = QualityReview.FollowUp


def _clean(passed: object, scores: Sequence[tuple[str, int]], notes: str, follow_up: str, follow_up_reason: str) -> tuple[list[tuple[str, int]], str, str]:
    fields: dict[str, str] = {}
    if not isinstance(passed, bool):
        fields["passed"] = "Say whether the work passed or failed."
    cleaned: list[tuple[str, int]] = []
    seen: set[str] = set()
    if not isinstance(scores, list | tuple) or len(scores) > MAX_ITEMS:
        fields["scores"] = f"Give 1 to {MAX_ITEMS} scored items."
    else:
        for index, item in enumerate(scores):
            try:
                label, score = item
            except (TypeError, ValueError):
                fields[f"scores.{index}"] = "Each scored item is a label and a score."
                continue
            label = label.strip() if isinstance(label, str) else ""
            if not label or len(label) > 100 or "\x00" in label:
                fields[f"scores.{index}.label"] = "A label of 1 to 100 characters (no NUL characters)."
            elif label.casefold() in seen:
                fields[f"scores.{index}.label"] = f"“{label}” is scored twice."
            if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
                fields[f"scores.{index}.score"] = f"A score from 0 to {MAX_SCORE}."
            seen.add(label.casefold())
            cleaned.append((label, score))
        if not scores and "scores" not in fields:
            fields["scores"] = "Score at least one item."
    notes = notes.strip() if isinstance(notes, str) else ""
    if len(notes) > 5000 or "\x00" in notes:
        fields["notes"] = "At most 5000 characters, no NUL characters."
    reason = follow_up_reason.strip() if isinstance(follow_up_reason, str) else ""
    if follow_up not in FollowUp.values:
        fields["follow_up"] = "Choose a return visit or a follow-up."
    elif passed is True and follow_up:
        fields["follow_up"] = "A passed review needs no return visit or follow-up."
    elif passed is False and not follow_up:
        fields["follow_up"] = "A failed review needs a return visit or a follow-up."
    if passed is False and not reason:
        fields["follow_up_reason"] = "Say what has to be put right."
    elif len(reason) > 500 or "\x00" in reason:
        fields["follow_up_reason"] = "At most 500 characters, no NUL characters."
    if fields:
        raise InvalidInput("The review was not saved.", fields)
    return cleaned, notes, reason if passed is False else ""


def quality_review_add(
    *,
    actor: User,
    job_id: int,
    passed: bool,
    scores: Sequence[tuple[str, int]],
    notes: str,
    follow_up: str,
    follow_up_reason: str,
) -> QualityReview:
    """Record a review of the job's work. A failed review must say what follows:

    - `return_visit`: an unscheduled visit is drafted for dispatch (a work-complete job goes back to
      in progress first, since visits cannot be placed on finished work). Refused on an invoiced job:
      its bill is out, so the office records a follow-up instead.
    - `follow_up`: recorded on the review and the timeline; the Quality tab shows it open until a
      later review passes.

    Locks the job (open_job) for the whole review, the status change and the draft."""
    require(actor, "closeout.review_quality", "Only the office reviews the quality of work.")
    cleaned, notes, reason = _clean(passed, list(scores) if isinstance(scores, list | tuple) else scores, notes, follow_up, follow_up_reason)
    with transaction.atomic():
        job = open_job(job_id)
        return_visit = None
        if not passed and follow_up == FollowUp.RETURN_VISIT:
            if job.status == JobStatus.INVOICED:
                raise ConflictError("invoiced", f"Job {job.number} is invoiced: record a follow-up instead of a return visit.")
            if job.status == JobStatus.WORK_COMPLETE:
                job_transition(actor=actor, job_id=job.pk, to=JobStatus.IN_PROGRESS, note=f"Quality review failed: {reason}"[:500])
            return_visit = draft_return_visit(
                actor=actor,
                job=job,
                duration_minutes=min(max(job.estimated_duration_minutes, 5), 24 * 60),
                crew_notes=f"Return visit after a failed quality review: {reason}",
                event=f"Return visit drafted after a failed quality review ({reason}); schedule it on the dispatch board"[:500],
            )
        review = QualityReview.objects.create(
            job=job,
            passed=passed,
            notes=notes,
            follow_up=follow_up if not passed else "",
            follow_up_reason=reason,
            return_visit=return_visit,
            reviewer=actor,
        )
        QualityScore.objects.bulk_create([QualityScore(review=review, label=label, score=score, max_score=MAX_SCORE) for label, score in cleaned])
        total, best = sum(s for _, s in cleaned), MAX_SCORE * len(cleaned)
        if passed:
            message = f"Quality review passed ({total}/{best})"
        elif return_visit is not None:
            message = f"Quality review failed ({total}/{best}): {reason} — return visit {return_visit.number} drafted"
        else:
            message = f"Quality review failed ({total}/{best}): {reason} — follow-up by the office"
        closeout_event(
            job,
            actor,
            message,
            data={"quality_review": review.pk, "passed": passed, "follow_up": review.follow_up, "return_visit": return_visit.pk if return_visit else None},
        )
    return review
