"""The visit status machine: the crew's and the office's transitions, the job following through its own
guarded function, finishing the job's last visit only when no completion blocker is open, and drafting
return visits."""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, InvalidInput
from serviceopus.core.geo import clean_position
from serviceopus.field.actions import record_visit_transition
from serviceopus.jobs.actions import TransitionRefused, job_transition
from serviceopus.jobs.guards import transition_blockers
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus

from ..models import CrewMember, Visit, VisitEvent
from ..status import ALLOWED, FINAL, OFFICE_ONLY_TARGETS, Outcome, VisitStatus
from .bookkeeping import V, lock, sync_job_from_visits, visit_event


class VisitRefused(ConflictError):
    """A visit transition the table, the role or the current state refuses (HTTP 409; see `code`)."""


def _may_transition(actor: User, visit: Visit, to: str) -> None:
    if not actor.has_perm("dispatch.transition_visit"):
        raise VisitRefused("forbidden", "You may not change visit status.")
    if actor.role == "technician":
        if to in OFFICE_ONLY_TARGETS:
            raise VisitRefused("forbidden", "Only the office can cancel a visit.")
        if not CrewMember.objects.filter(visit=visit, technician__user=actor).exists():
            raise VisitRefused("forbidden", "You are not on this visit's crew.")


def visit_transition(
    *,
    actor: User,
    visit_id: int,
    to: str,
    expected: str = "",
    reason: str = "",
    outcome: str = "",
    lat: Decimal | float | None = None,
    lng: Decimal | float | None = None,
) -> Visit:
    """Move a visit along its lifecycle, stamping time, actor and position. `expected` is the status
    the caller saw (the phone's button): if the visit has moved on, the call is refused with the
    current state. Pausing needs a reason; completing needs an outcome. The job follows: the first
    en route makes it in progress; completing with `finished` asks for work complete (when no other
    visit is open; a blocker is noted on the timeline, not raised); `return_needed` drafts a return
    visit. Time entries of the crew are derived in the same transaction."""
    if to not in V.values:
        raise VisitRefused("unknown_status", f"There is no visit status {to!r}.")
    reason = (reason or "").strip()
    if "\x00" in reason or len(reason) > 200:
        raise InvalidInput("Invalid reason.", {"reason": "At most 200 characters, no NUL characters."})
    if to == V.PAUSED and not reason:
        raise InvalidInput("Say why the work is paused.", {"reason": "A pause needs a reason."})
    if to == V.COMPLETED and outcome not in Outcome.values:
        raise InvalidInput("Choose how the visit ended.", {"outcome": "Finished, or return needed."})
    if to == V.CANCELLED and not reason:
        raise InvalidInput("Say why the visit is cancelled.", {"reason": "A cancellation needs a reason."})
    if expected and expected not in V.values:
        raise InvalidInput("Unknown status.", {"expected": "Not a visit status."})
    lat_d, lng_d = clean_position(lat, lng)
    with transaction.atomic():
        visit = lock(Visit.objects).get(pk=visit_id)
        _may_transition(actor, visit, to)
        current = visit.status
        if expected and expected != current:
            raise VisitRefused(
                "conflict", f"This visit is already {VisitStatus(current).label.lower()}; nothing was changed.", current_status=current, version=visit.version
            )
        if to not in ALLOWED[current]:
            raise VisitRefused(
                "not_allowed",
                f"A visit that is {VisitStatus(current).label.lower()} cannot become {VisitStatus(to).label.lower()}.",
                current_status=current,
                allowed=sorted(ALLOWED[current]),
                version=visit.version,
            )
        if to in START_TARGETS and current in (V.SCHEDULED, V.EN_ROUTE):
            for guard in VISIT_START_GUARDS:
                guard(actor=actor, visit=visit, to=to)
        if to == V.COMPLETED and outcome == Outcome.FINISHED:
            _refuse_finish_while_blocked(visit)
        now = timezone.now()
        stamp = {V.EN_ROUTE: "en_route_at", V.ARRIVED: "arrived_at", V.PAUSED: "paused_at", V.DEPARTED: "departed_at", V.COMPLETED: "completed_at"}
        values: dict[str, Any] = {"status": to, "version": F("version") + 1, "updated_at": now}
        if to in stamp:
            values[stamp[to]] = now
        if to == V.PAUSED:
            values["pause_reason"] = reason
        elif current == V.PAUSED:
            values["pause_reason"] = ""
        if to == V.COMPLETED:
            values["outcome"] = outcome
        if lat_d is not None:
            values["last_lat"], values["last_lng"] = lat_d, lng_d
        if not Visit.objects.filter(pk=visit.pk, status=current).update(**values):
            raise VisitRefused("conflict", "This visit changed meanwhile; nothing was changed.", current_status=Visit.objects.get(pk=visit.pk).status)
        visit.refresh_from_db()
        label = VisitStatus(to).label
        if to == V.PAUSED:
            label += f" — {reason}"
        elif to == V.COMPLETED:
            label += f" — {Outcome(outcome).label.lower()}"
        elif reason:
            label += f" — {reason}"
        visit_event(visit, actor, VisitEvent.Kind.STATUS, label, old=current, new=to, at=now, lat=lat_d, lng=lng_d, data={"reason": reason} if reason else {})
        crew_ids = list(CrewMember.objects.filter(visit=visit).values_list("technician_id", flat=True))
        record_visit_transition(visit=visit, technician_ids=crew_ids, to=to, at=now, actor=actor)
        _job_follows_visit(actor, visit, to, outcome)
        sync_job_from_visits(visit.job_id)
        for hook in VISIT_TRANSITION_HOOKS:
            hook(actor=actor, visit=visit, old=current, to=to)
    return visit


# Rules of apps built on dispatch for a crew setting off to or starting at a visit (jobs: a job waits
# for the jobs it depends on). Called as guard(actor=, visit=, to=) inside the transaction, with the
# visit locked and before anything is written, when `to` is in START_TARGETS and the visit has not
# started yet; a guard refuses by raising VisitRefused.
VISIT_START_GUARDS: list[Any] = []
START_TARGETS = frozenset({V.EN_ROUTE, V.ARRIVED, V.WORKING})

# Called in the transaction of every visit transition, after the job has followed, as
# hook(actor=, visit=, old=, to=): the messaging app writes on-the-way and arrival notices.
VISIT_TRANSITION_HOOKS: list[Any] = []

# Called in the transaction that drafts a return visit, as hook(actor=, visit=, return_visit=): the
# closeout app carries the visit's unfinished checklists over (registered from its AppConfig.ready).
RETURN_VISIT_HOOKS: list[Any] = []


def _refuse_finish_while_blocked(visit: Visit) -> None:
    """Finishing the job's last open visit finishes its work: refuse while the job's completion
    blockers (the closeout engine, through the job's guards) are open, so the crew fixes them on site.
    An earlier day of multi-day work finishes without them, and so do blockers only the office can
    clear after the crew has left (time and quality review): the job then waits in progress, with
    the reason on its timeline, until the office moves it."""
    others_open = Visit.objects.filter(job_id=visit.job_id).exclude(pk=visit.pk).exclude(status__in=FINAL).exclude(status=V.UNSCHEDULED).exists()
    if others_open:
        return
    blockers = [b for b in transition_blockers(Job.objects.get(pk=visit.job_id), JobStatus.WORK_COMPLETE) if not b.office_only]
    if blockers:
        raise VisitRefused(
            "blocked",
            "The work cannot be finished yet: " + " ".join(b.message.rstrip(".") + "." for b in blockers),
            current_status=visit.status,
            blockers=[b.as_dict() for b in blockers],
            version=visit.version,
        )


def _job_follow(actor: User, job: Job, visit: Visit, to: str, note: str) -> None:
    """Ask the job to follow its visit through job_transition, in a savepoint: when the job's own rules
    refuse (a completion blocker, say), the visit's change still stands and the refusal is noted on
    the job's timeline, where the office sees why the job did not move."""
    try:
        with transaction.atomic():
            job_transition(actor=actor, job_id=job.pk, to=to, note=note)
    except TransitionRefused as refused:
        JobEvent.objects.create(
            job=job,
            actor=actor,
            kind=JobEvent.Kind.VISIT,
            message=f"Visit {visit.number}: the job stays {JobStatus(job.status).label.lower()} — {refused.message}"[:500],
            data={"visit": visit.pk, "blocked": refused.code, "wanted": to},
        )


def _job_follows_visit(actor: User, visit: Visit, to: str, outcome: str) -> None:
    job = Job.objects.get(pk=visit.job_id)
    if to == V.EN_ROUTE and job.status in (JobStatus.SCHEDULED, JobStatus.ON_HOLD):
        _job_follow(actor, job, visit, JobStatus.IN_PROGRESS, f"Visit {visit.number}: crew en route")
    elif to == V.COMPLETED and outcome == Outcome.FINISHED:
        still_open = Visit.objects.filter(job=job).exclude(pk=visit.pk).exclude(status__in=FINAL).exclude(status=V.UNSCHEDULED).exists()
        if not still_open and job.status == JobStatus.IN_PROGRESS:
            _job_follow(actor, job, visit, JobStatus.WORK_COMPLETE, f"Visit {visit.number} finished")
    elif to == V.COMPLETED and outcome == Outcome.RETURN_NEEDED:
        draft = draft_return_visit(
            actor=actor,
            job=job,
            duration_minutes=visit.duration_minutes,
            crew_notes=f"Return visit after visit {visit.number}.",
            event=f"Return visit drafted after visit {visit.number}; schedule it on the dispatch board",
            return_of=visit,
        )
        for hook in RETURN_VISIT_HOOKS:
            hook(actor=actor, visit=visit, return_visit=draft)


def draft_return_visit(*, actor: User, job: Job, duration_minutes: int, crew_notes: str, event: str, return_of: Visit | None = None) -> Visit:
    """An unscheduled visit for dispatch to place (a return needed on site, a failed quality review).
    Call inside the caller's transaction, with the job locked."""
    number = (Visit.objects.filter(job=job).aggregate(n=Max("number"))["n"] or 0) + 1
    draft = Visit.objects.create(
        job=job, number=number, status=V.UNSCHEDULED, duration_minutes=duration_minutes, return_of=return_of, created_by=actor, crew_notes=crew_notes[:5000]
    )
    visit_event(draft, actor, VisitEvent.Kind.SCHEDULED, event, new=V.UNSCHEDULED, data={"return_of": return_of.pk} if return_of else {})
    return draft


def visit_finish_and_depart(*, actor: User, visit_id: int, expected: str = "", lat: Decimal | float | None = None, lng: Decimal | float | None = None) -> Visit:
    """The phone's one tap: depart (from arrived, working or paused) and complete as finished, in one
    transaction, so the job is asked for work complete at once."""
    try:
        with transaction.atomic():
            visit = visit_transition(actor=actor, visit_id=visit_id, to=V.DEPARTED, expected=expected, lat=lat, lng=lng)
            return visit_transition(actor=actor, visit_id=visit.pk, to=V.COMPLETED, outcome=Outcome.FINISHED, expected=V.DEPARTED, lat=lat, lng=lng)
    except VisitRefused as refused:
        if refused.code == "blocked":
            # The departure was rolled back with the refusal: report the status the visit kept.
            kept = Visit.objects.filter(pk=visit_id).values_list("status", "version").first()
            if kept:
                refused.details["current_status"], refused.details["version"] = kept
        raise
