"""Scheduling, rescheduling and reassigning visits, with the availability checks (double booking,
shift, time off, skills), a manager's override, and the guards other apps add (SCHEDULE_GUARDS)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.crew.models import Technician
from serviceopus.jobs.actions import job_transition
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus

from ..availability import Problem, assignment_problems
from ..models import CrewMember, DispatchSettings, Visit, VisitEvent
from ..queries import visit_state
from ..status import FINAL, VisitStatus
from .bookkeeping import V, lock, sync_job_from_visits, visit_event

MAX_DAYS = 14  # a multi-day booking creates one visit per day, at most this many


class SchedulingConflict(ConflictError):
    """Availability problems (double booking, shift, time off, skills) and no valid override (409);
    `details["problems"]` lists each with its reason."""


@dataclass
class Slot:
    """When a visit happens and who goes. `window_*` default to the company's arrival window from
    the start."""

    start: datetime | None
    duration_minutes: int
    window_start: datetime | None
    window_end: datetime | None
    lead: Technician | None
    helpers: list[Technician]

    @property
    def crew(self) -> list[Technician]:
        return ([self.lead] if self.lead else []) + self.helpers


def _clean_slot(
    fields: dict[str, str],
    *,
    start: datetime | None,
    duration_minutes: int,
    window_start: datetime | None,
    window_end: datetime | None,
    lead_id: int | None,
    helper_ids: Sequence[int],
) -> Slot:
    if not isinstance(duration_minutes, int) or not 5 <= duration_minutes <= 24 * 60:
        fields["duration_minutes"] = "A visit lasts between 5 minutes and 24 hours."
    if start is not None and (window_start is None) != (window_end is None):
        fields["window_end" if window_end is None else "window_start"] = "Give both ends of the arrival window, or neither for the default."
    if start is not None and window_start is None and window_end is None:
        window_start = start
        window_end = start + timedelta(minutes=DispatchSettings.current().arrival_window_minutes)
    if start is not None and window_start is not None and window_end is not None and "window_end" not in fields:
        day = timezone.localtime(start).date()
        if window_end <= window_start:
            fields["window_end"] = "The arrival window must end after it starts."
        elif timezone.localtime(window_start).date() != day or timezone.localtime(window_end - timedelta(microseconds=1)).date() != day:
            fields["window_start"] = f"The arrival window must lie within the visit's day ({day:%a %d %b})."
        elif not window_start <= start <= window_end:
            fields["start"] = "The visit must start inside its arrival window."
    if start is None and (lead_id or helper_ids):
        fields["start"] = "Choose a time before assigning a crew."
    ids = [i for i in ([lead_id] if lead_id else []) + list(helper_ids)]
    if len(ids) != len(set(ids)):
        fields["helpers"] = "A technician appears twice in the crew."
    if helper_ids and not lead_id:
        fields["lead"] = "Choose a lead technician for the crew."
    found = {t.pk: t for t in Technician.objects.filter(pk__in=ids, active=True).select_related("user").prefetch_related("skills")}
    if lead_id and lead_id not in found:
        fields["lead"] = "Unknown or inactive technician."
    if any(h not in found for h in helper_ids):
        fields["helpers"] = "Unknown or inactive technician."
    return Slot(
        start=start,
        duration_minutes=duration_minutes,
        window_start=window_start if start else None,
        window_end=window_end if start else None,
        lead=found.get(lead_id) if lead_id else None,
        helpers=[found[h] for h in helper_ids if h in found],
    )


def _check_override(actor: User, problems: list[Problem], override_reason: str) -> str:
    """Raise SchedulingConflict unless the problems are overridden; returns the cleaned reason."""
    override_reason = (override_reason or "").strip()
    if not problems:
        return ""
    if "\x00" in override_reason or len(override_reason) > 300:
        raise InvalidInput("Invalid override reason.", {"override_reason": "At most 300 characters, no NUL characters."})
    can = actor.has_perm("dispatch.override_checks")
    if override_reason and can:
        return override_reason
    message = " ".join(p.message for p in problems)
    if override_reason and not can:
        message = "Only a manager may override: " + message
    raise SchedulingConflict("scheduling_conflict", message, problems=[p.as_dict() for p in problems], can_override=can)


def _override_event(visit: Visit, actor: User, reason: str, problems: list[Problem]) -> None:
    """A manager's override, with every problem it set aside, on both timelines."""
    message = f"Checks overridden ({reason}): " + " ".join(p.message for p in problems)
    visit_event(visit, actor, VisitEvent.Kind.OVERRIDE, message, data={"problems": [p.as_dict() for p in problems], "reason": reason})


def _describe(slot: Slot) -> str:
    if slot.start is None:
        return "not scheduled yet"
    when = timezone.localtime(slot.start).strftime("%a %d %b %H:%M")
    window = f"{timezone.localtime(slot.window_start):%H:%M}–{timezone.localtime(slot.window_end):%H:%M}" if slot.window_start and slot.window_end else ""
    crew = ", ".join([f"{slot.lead.name} (lead)"] + [h.name for h in slot.helpers]) if slot.lead else "no crew yet"
    return f"{when} for {slot.duration_minutes} min, arrival {window}; {crew}"


def _set_crew(visit: Visit, slot: Slot) -> None:
    CrewMember.objects.filter(visit=visit).delete()
    CrewMember.objects.bulk_create([CrewMember(visit=visit, technician=t, is_lead=(i == 0)) for i, t in enumerate(slot.crew)])


def _job_follows_schedule(actor: User, job: Job) -> None:
    """Scheduling a job's first visit moves a new job to scheduled (through the job's own function)."""
    if job.status == JobStatus.NEW:
        job_transition(actor=actor, job_id=job.pk, to=JobStatus.SCHEDULED, note="First visit scheduled")


# Rules of apps built on dispatch for giving a visit a time (inventory: a job type may require its
# materials ready first). Each is called as guard(job) inside the transaction, before anything is
# written, when a visit gets its first start; it refuses by raising a DomainError.
SCHEDULE_GUARDS: list[Any] = []


# Called in the transaction that gives visits a time, as hook(actor=, visits=, change=) with change
# "scheduled" (new visits, or a drafted one placed) or "rescheduled" (a scheduled visit's time moved):
# the messaging app writes the customer's confirmation and reminder.
VISIT_SCHEDULE_HOOKS: list[Any] = []


def _check_schedule_guards(job: Job) -> None:
    for guard in SCHEDULE_GUARDS:
        guard(job)


def visit_schedule(
    *,
    actor: User,
    job_id: int,
    start: datetime | None,
    duration_minutes: int | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    lead_id: int | None = None,
    helper_ids: Sequence[int] = (),
    crew_notes: str = "",
    days: int = 1,
    override_reason: str = "",
    first_visit: bool = False,
) -> list[Visit]:
    """Add visits to a job: one, or one per day for `days` consecutive days (multi-day work), each at
    the same time with the same crew. Without a start the visit is drafted as unscheduled. Checks
    availability for every day; refuses with SchedulingConflict unless a manager gives a reason.
    `first_visit=True` (the dispatch board's drag of a waiting job) refuses with ConflictError
    "already_scheduled" when the job has a visit by the time its row is locked, so two dispatchers
    dropping the same job cannot both book it."""
    if not actor.has_perm("dispatch.schedule"):
        raise DomainError("forbidden", "You may not schedule visits.")
    fields: dict[str, str] = {}
    job = Job.objects.filter(pk=job_id).prefetch_related("required_skills").first()
    if job is None:
        raise DomainError("not_found", "No such job.")
    if job.status in (JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED, JobStatus.WORK_COMPLETE):
        raise ConflictError("job_closed", f"A job that is {JobStatus(job.status).label.lower()} takes no new visits.")
    duration = duration_minutes or min(job.estimated_duration_minutes, 24 * 60)
    slot = _clean_slot(fields, start=start, duration_minutes=duration, window_start=window_start, window_end=window_end, lead_id=lead_id, helper_ids=helper_ids)
    crew_notes = (crew_notes or "").strip()
    if "\x00" in crew_notes or len(crew_notes) > 5000:
        fields["crew_notes"] = "At most 5000 characters, no NUL characters."
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        fields["days"] = f"Between 1 and {MAX_DAYS} days."
    elif days > 1 and start is None:
        fields["days"] = "Choose a time for multi-day work."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    slots = [slot]
    for offset in range(1, days):
        step = timedelta(days=offset)
        assert slot.start
        assert slot.window_start
        assert slot.window_end
        slots.append(Slot(slot.start + step, slot.duration_minutes, slot.window_start + step, slot.window_end + step, slot.lead, slot.helpers))
    problems: list[Problem] = []
    if slot.crew:
        for each in slots:
            assert each.start is not None
            problems += assignment_problems(
                technicians=each.crew, start=each.start, duration_minutes=each.duration_minutes, required_skills=job.required_skills.all()
            )
    reason = _check_override(actor, problems, override_reason)
    with transaction.atomic():
        job = lock(Job.objects).get(pk=job_id)
        if first_visit and Visit.objects.filter(job=job).exists():
            raise ConflictError("already_scheduled", f"{job.number} was scheduled by someone else meanwhile; nothing was changed.")
        if slot.start is not None:
            _check_schedule_guards(job)
        number = (Visit.objects.filter(job=job).aggregate(n=Max("number"))["n"] or 0) + 1
        created: list[Visit] = []
        now = timezone.now()
        for i, each in enumerate(slots):
            visit = Visit.objects.create(
                job=job,
                number=number + i,
                status=V.SCHEDULED if each.start else V.UNSCHEDULED,
                scheduled_start=each.start,
                duration_minutes=each.duration_minutes,
                window_start=each.window_start,
                window_end=each.window_end,
                crew_notes=crew_notes,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            _set_crew(visit, each)
            visit_event(visit, actor, VisitEvent.Kind.SCHEDULED, ("Scheduled " if each.start else "Drafted, ") + _describe(each), new=visit.status)
            if reason:
                _override_event(visit, actor, reason, problems)
            created.append(visit)
        sync_job_from_visits(job.pk)
        if slot.start is not None:
            job.refresh_from_db()
            _job_follows_schedule(actor, job)
            for hook in VISIT_SCHEDULE_HOOKS:
                hook(actor=actor, visits=created, change="scheduled")
    return created


UNSET: Any = object()


def visit_update(
    *,
    actor: User,
    visit_id: int,
    version: int,
    start: datetime | None = UNSET,
    duration_minutes: int = UNSET,
    window_start: datetime | None = UNSET,
    window_end: datetime | None = UNSET,
    lead_id: int | None = UNSET,
    helper_ids: Sequence[int] = UNSET,
    crew_notes: str = UNSET,
    locked: bool = UNSET,
    override_reason: str = "",
) -> Visit:
    """Reschedule, reassign or edit a visit (the board's drag calls this). `version` is the one the
    editor saw: a stale edit is refused with the current state and nothing is overwritten. Only the
    arguments given change; moving the start without a window shifts the window with it. Time can
    change only before the crew sets off; the crew can change until the visit is over. `locked` keeps
    the visit's technician and start when the day is planned (dispatch/planner)."""
    if not actor.has_perm("dispatch.schedule"):
        raise DomainError("forbidden", "You may not change visits.")
    current = Visit.objects.select_related("job").prefetch_related("crew__technician").filter(pk=visit_id).first()
    if current is None:
        raise DomainError("not_found", "No such visit.")
    if current.version != version:
        raise ConflictError("stale", "Someone else changed this visit after you opened it; nothing was changed.", current=visit_state(current))
    if current.status in FINAL:
        raise ConflictError("visit_closed", f"A {VisitStatus(current.status).label.lower()} visit cannot change.", current=visit_state(current))
    moving = any(v is not UNSET for v in (start, duration_minutes, window_start, window_end))
    if moving and current.status not in (V.UNSCHEDULED, V.SCHEDULED):
        raise ConflictError("visit_started", "The crew has set off; this visit's time can no longer change.", current=visit_state(current))
    crew = list(current.crew.all())
    old_lead = next((c.technician_id for c in crew if c.is_lead), None)
    old_helpers = [c.technician_id for c in crew if not c.is_lead]
    new_start = current.scheduled_start if start is UNSET else start
    if window_start is UNSET and window_end is UNSET:
        if start is not UNSET and current.window_start and current.window_end and current.scheduled_start and new_start:
            shift = new_start - current.scheduled_start
            window_start, window_end = current.window_start + shift, current.window_end + shift
        elif start is not UNSET:
            window_start = window_end = None  # the default window from the new start
        else:
            window_start, window_end = current.window_start, current.window_end
    else:
        window_start = current.window_start if window_start is UNSET else window_start
        window_end = current.window_end if window_end is UNSET else window_end
    fields: dict[str, str] = {}
    new_lead = old_lead if lead_id is UNSET else lead_id
    new_helpers = old_helpers if helper_ids is UNSET else list(helper_ids)
    if new_lead in new_helpers:  # dragging a helper's block onto their own row makes them lead
        new_helpers = [h for h in new_helpers if h != new_lead]
    slot = _clean_slot(
        fields,
        start=new_start,
        duration_minutes=current.duration_minutes if duration_minutes is UNSET else duration_minutes,
        window_start=window_start,
        window_end=window_end,
        lead_id=new_lead,
        helper_ids=new_helpers,
    )
    notes = current.crew_notes if crew_notes is UNSET else (crew_notes or "").strip()
    if "\x00" in notes or len(notes) > 5000:
        fields["crew_notes"] = "At most 5000 characters, no NUL characters."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    crew_changed = (slot.lead.pk if slot.lead else None, [h.pk for h in slot.helpers]) != (old_lead, old_helpers)
    time_changed = (slot.start, slot.duration_minutes, slot.window_start, slot.window_end) != (
        current.scheduled_start,
        current.duration_minutes,
        current.window_start,
        current.window_end,
    )
    problems: list[Problem] = []
    if slot.crew and slot.start and (crew_changed or time_changed):
        problems = assignment_problems(
            technicians=slot.crew,
            start=slot.start,
            duration_minutes=slot.duration_minutes,
            required_skills=current.job.required_skills.all(),
            exclude_visit_id=current.pk,
        )
    reason = _check_override(actor, problems, override_reason)
    new_locked = current.locked if locked is UNSET else bool(locked)
    if not (crew_changed or time_changed or notes != current.crew_notes or new_locked != current.locked):
        return current
    with transaction.atomic():
        if slot.start is not None and current.scheduled_start is None:
            _check_schedule_guards(lock(Job.objects).get(pk=current.job_id))
        status = V.SCHEDULED if slot.start else V.UNSCHEDULED
        if current.status not in (V.UNSCHEDULED, V.SCHEDULED):
            status = current.status
        updated = Visit.objects.filter(pk=current.pk, version=version, status=current.status).update(
            scheduled_start=slot.start,
            duration_minutes=slot.duration_minutes,
            window_start=slot.window_start,
            window_end=slot.window_end,
            crew_notes=notes,
            locked=new_locked,
            status=status,
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
        if not updated:
            fresh = Visit.objects.prefetch_related("crew__technician").get(pk=current.pk)
            raise ConflictError("stale", "Someone else changed this visit after you opened it; nothing was changed.", current=visit_state(fresh))
        visit = Visit.objects.get(pk=current.pk)
        if crew_changed:
            _set_crew(visit, slot)
        parts = []
        if time_changed:
            parts.append(("Rescheduled to " if current.scheduled_start else "Scheduled ") + _describe(slot))
        elif crew_changed:
            parts.append("Crew: " + _describe(slot).split("; ", 1)[-1])
        if notes != current.crew_notes:
            parts.append("Crew notes edited")
        if new_locked != current.locked:
            parts.append("Locked: day planning keeps its technician and start" if new_locked else "Unlocked for day planning")
        kind = VisitEvent.Kind.RESCHEDULED if time_changed else VisitEvent.Kind.CREW if crew_changed else VisitEvent.Kind.EDITED
        visit_event(visit, actor, kind, "; ".join(parts), old=current.status, new=status)
        if reason:
            _override_event(visit, actor, reason, problems)
        sync_job_from_visits(visit.job_id)
        if slot.start is not None:
            _job_follows_schedule(actor, Job.objects.get(pk=visit.job_id))
            if time_changed:
                visit.refresh_from_db()
                for hook in VISIT_SCHEDULE_HOOKS:
                    hook(actor=actor, visits=[visit], change="rescheduled" if current.scheduled_start else "scheduled")
    visit.refresh_from_db()
    return visit
