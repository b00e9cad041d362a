"""Dispatch exceptions: the visits that need a dispatcher's attention now. One module, read by the
dispatch board and the dashboard, so both always agree.

Kinds (thresholds from DispatchSettings):
- at_risk: not en route yet, and the arrival window ends within `at_risk_minutes`;
- late: not arrived and the window has ended — or arrived after the window ended;
- running_over: on site longer than the visit's estimated duration (pauses included: the customer waits);
- paused_long: paused longer than `paused_alert_minutes`;
- unassigned: scheduled today with no crew;
- skill_mismatch: the crew together lacks a skill the job requires.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from .models import DispatchSettings, Visit
from .status import ON_SITE, VisitStatus

V = VisitStatus
LABELS = {
    "at_risk": "At risk",
    "late": "Late",
    "running_over": "Running over",
    "paused_long": "Paused long",
    "unassigned": "Unassigned",
    "skill_mismatch": "Skill mismatch",
}


@dataclass(frozen=True)
class DispatchException:
    kind: str
    visit_id: int
    message: str

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def _hm(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


@dataclass(frozen=True)
class CrewFacts:
    """What the skill check needs, read as plain rows (queries.day_facts) instead of prefetched
    objects, which at a day of 1,500 visits costs seconds: the crew's technician ids, the skills the
    crew holds between them, and the job's required skills as (id, name)."""

    technician_ids: tuple[int, ...]
    held: frozenset[int]
    required: tuple[tuple[int, str], ...]


def visit_exceptions(visit: Visit, *, now: datetime, config: DispatchSettings, facts: CrewFacts | None = None) -> list[DispatchException]:
    """The exceptions of one visit. Without `facts`, needs `visit.crew` prefetched with each
    technician's skills and the job's required skills (queries.with_visit_details does this) — no
    queries here."""
    found: list[DispatchException] = []
    add = lambda kind, message: found.append(DispatchException(kind, visit.pk, message))
    if visit.status in (V.UNSCHEDULED, V.COMPLETED, V.CANCELLED) or visit.scheduled_start is None:
        return found
    if facts is None:
        members = list(visit.crew.all())
        facts = CrewFacts(
            technician_ids=tuple(m.technician_id for m in members),
            held=frozenset(s.pk for m in members for s in m.technician.skills.all()),
            required=tuple((s.pk, s.name) for s in visit.job.required_skills.all()) if members else (),
        )
    crew = facts.technician_ids
    if not crew:
        add("unassigned", "No technician assigned.")
    if visit.window_end is not None:
        if visit.status == V.SCHEDULED and visit.window_end - timedelta(minutes=config.at_risk_minutes) <= now < visit.window_end:
            add("at_risk", f"Not en route; the window ends {_hm(visit.window_end)}.")
        if visit.status in (V.SCHEDULED, V.EN_ROUTE) and now >= visit.window_end:
            late = int((now - visit.window_end).total_seconds() // 60)
            add("late", f"Not arrived; the window ended {_hm(visit.window_end)} ({late} min ago).")
        elif visit.arrived_at is not None and visit.arrived_at > visit.window_end and visit.status not in (V.SCHEDULED, V.EN_ROUTE):
            late = int((visit.arrived_at - visit.window_end).total_seconds() // 60)
            add("late", f"Arrived {_hm(visit.arrived_at)}, {late} min after the window.")
    if visit.status in ON_SITE and visit.arrived_at is not None:
        on_site = int((now - visit.arrived_at).total_seconds() // 60)
        if on_site > visit.duration_minutes:
            add("running_over", f"On site {on_site} min of an estimated {visit.duration_minutes}.")
    if visit.status == V.PAUSED and visit.paused_at is not None:
        paused = int((now - visit.paused_at).total_seconds() // 60)
        if paused > config.paused_alert_minutes:
            add("paused_long", f"Paused {paused} min ({visit.pause_reason}).")
    if crew:
        missing = [name for pk, name in facts.required if pk not in facts.held]
        if missing:
            add("skill_mismatch", "The crew lacks: " + ", ".join(missing) + ".")
    return found


def exceptions_for(
    visits: Iterable[Visit], *, now: datetime | None = None, config: DispatchSettings | None = None, facts: dict[int, CrewFacts] | None = None
) -> dict[int, list[DispatchException]]:
    """visit id → its exceptions, for the visits that have any. `facts` (visit id → CrewFacts) replaces
    the prefetched crews and skills."""
    now = now or timezone.now()
    config = config or DispatchSettings.current()
    result: dict[int, list[DispatchException]] = {}
    for visit in visits:
        found = visit_exceptions(visit, now=now, config=config, facts=facts.get(visit.pk) if facts is not None else None)
        if found:
            result[visit.pk] = found
    return result
