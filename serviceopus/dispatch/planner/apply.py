"""Accepting a proposed plan (a PlanningRun's result): all routes, or one technician's.

Each technician's route is applied in one transaction through the normal scheduling action
(`actions.visit_update`: the same availability checks, version check, timelines and customer
notifications as a drag on the board), so a route is applied whole or not at all:
- first the visits the plan takes off this technician are released (no crew; the technician they go to
  takes them when that route is accepted, or they wait in the tray when the plan leaves them out);
- then each stop gets this technician as lead and the planned start, keeping its arrival window.

A visit that changed since the run read it (another version than the snapshot's, or than the one an
earlier accept of this run left) is skipped and reported, and the rest of the route still goes in
(leaving a stop out never makes the others late). Stops are tried in passes: a check that fails only
because another stop of the same route still sits in the way (a double booking with a visit this route
moves later) is tried again once the others moved; when a pass makes no progress the route is refused,
rolled back and reported with the reason. "Accept all" makes passes over routes the same way, so that
two technicians swapping visits do not block each other.

Locking: each route's transaction locks the run row first (PostgreSQL: SELECT … FOR UPDATE; SQLite:
its IMMEDIATE write lock), so two people accepting from one run apply each route once; every visit
write is visit_update's conditional UPDATE on the version read.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError

from ..actions import SchedulingConflict, visit_update
from ..actions.bookkeeping import lock
from ..models import CrewMember, PlanningRun, Visit
from .builder import PLANNABLE

S = PlanningRun.Status


@dataclass
class RouteReport:
    """What accepting one technician's route did."""

    technician_id: int
    name: str
    status: str  # applied | refused | already | unchanged
    applied: list[str] = field(default_factory=list)  # "J-1 visit 1 at 09:30"
    skipped: list[str] = field(default_factory=list)  # "J-2 visit 1: changed since the plan was made"
    released: list[str] = field(default_factory=list)  # "J-3 visit 1 taken off (planned for Blair)"
    message: str = ""
    retry: bool = False  # refused only by availability checks that another route of the run may clear

    def as_dict(self) -> dict:
        return {
            "technician_id": self.technician_id,
            "name": self.name,
            "status": self.status,
            "applied": self.applied,
            "skipped": self.skipped,
            "released": self.released,
            "message": self.message,
            "at": timezone.now().isoformat(),
        }


class _Refused(Exception):
    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry  # only scheduling checks that another route of this run may clear


def _why(exc: DomainError) -> str:
    fields = getattr(exc, "fields", None)
    return exc.message + (" " + " ".join(fields.values()) if fields else "")


def _hm(value: str) -> str:
    return timezone.localtime(datetime.fromisoformat(value)).strftime("%H:%M")


def accept(*, actor: User, run_id: int, technician_id: int | None = None) -> list[RouteReport]:
    """Apply the run's proposed routes: every technician's (technician_id None) or one. Refuses
    (DomainError "forbidden", ConflictError "run_not_ready") without changing anything; otherwise
    returns one report per route, stored on the run too."""
    if not actor.has_perm("dispatch.schedule"):
        raise DomainError("forbidden", "You may not schedule visits.")
    run = PlanningRun.objects.filter(pk=run_id).first()
    if run is None:
        raise DomainError("not_found", "No such planning run.")
    if run.status not in (S.DONE, S.CANCELLED) or not run.result.get("proposed"):
        raise ConflictError("run_not_ready", "This run has no plan to accept.")
    result = run.result
    names = {t["id"]: t["name"] for t in result["technicians"]}
    routes = {r["technician_id"]: r for r in result["proposed"]["routes"]}
    holders = {v["technician_id"] for v in result["visits"].values() if v["in_problem"] and not v["locked"] and v["technician_id"] is not None}
    if technician_id is not None:
        if technician_id not in routes and technician_id not in holders:
            raise DomainError("not_found", "The plan has no route for that technician.")
        pending = [technician_id]
    else:
        pending = sorted(set(routes) | (holders & set(names)), key=lambda t: names.get(t, ""))
    reports: dict[int, RouteReport] = {}
    while pending:
        retry: list[int] = []
        for tech in pending:
            report = _accept_route(actor, run.pk, tech, names.get(tech, f"Technician {tech}"))
            reports[tech] = report
            if report.status == "refused" and report.retry:
                retry.append(tech)
        if len(retry) == len(pending) or technician_id is not None:
            break
        pending = retry
    final = []
    for tech, report in reports.items():
        final.append(report)
        if report.status == "refused":
            with transaction.atomic():
                _store(run.pk, tech, report, {})
    return final


def _store(run_id: int, tech: int, report: RouteReport, versions: dict[int, int]) -> None:
    run = lock(PlanningRun.objects).get(pk=run_id)
    applied = run.applied or {}
    applied.setdefault("versions", {}).update({str(k): v for k, v in versions.items()})
    applied.setdefault("routes", {})[str(tech)] = report.as_dict()
    PlanningRun.objects.filter(pk=run_id).update(applied=applied, updated_at=timezone.now())


def _accept_route(actor: User, run_id: int, tech: int, name: str) -> RouteReport:
    report = RouteReport(technician_id=tech, name=name, status="applied")
    try:
        with transaction.atomic():
            run = lock(PlanningRun.objects).get(pk=run_id)
            done = (run.applied or {}).get("routes", {}).get(str(tech))
            if done and done["status"] == "applied":
                return RouteReport(technician_id=tech, name=name, status="already", message="This route was accepted before.")
            versions = _apply(actor, run, tech, report)
            if not (report.applied or report.released or report.skipped):
                report.status = "unchanged"
            _store(run_id, tech, report, versions)
    except _Refused as refused:
        return RouteReport(technician_id=tech, name=name, status="refused", message=refused.message, skipped=report.skipped, retry=refused.retry)
    return report


def _apply(actor: User, run: PlanningRun, tech: int, report: RouteReport) -> dict[int, int]:
    """The writes of one route, inside its transaction; raises _Refused to roll it all back."""
    result = run.result
    visits = result["visits"]
    route = next((r for r in result["proposed"]["routes"] if r["technician_id"] == tech), None)
    stops = [(s["visit_id"], s["start"]) for s in (route["stops"] if route else []) if not visits[str(s["visit_id"])]["locked"]]
    in_route = {v for v, _ in stops}
    names = {t["id"]: t["name"] for t in result["technicians"]}
    planned_for = {s["visit_id"]: r["technician_id"] for r in result["proposed"]["routes"] for s in r["stops"]}
    releases = [int(k) for k, v in visits.items() if v["in_problem"] and not v["locked"] and v["technician_id"] == tech and int(k) not in in_route]
    ids = [v for v, _ in stops] + releases
    written = (run.applied or {}).get("versions", {})
    mine: list[int] = []  # the visits this route wrote: their new versions are this run's, not someone else's
    current = {row["pk"]: row for row in Visit.objects.filter(pk__in=ids).values("pk", "version", "status", "window_start", "window_end", "scheduled_start")}
    leads = dict(CrewMember.objects.filter(visit_id__in=ids, is_lead=True).values_list("visit_id", "technician_id"))
    crew_sizes: dict[int, int] = {}
    for visit_id in CrewMember.objects.filter(visit_id__in=ids).values_list("visit_id", flat=True):
        crew_sizes[visit_id] = crew_sizes.get(visit_id, 0) + 1

    def changed(visit_id: int) -> bool:
        row = current.get(visit_id)
        expected = {visits[str(visit_id)]["version"], written.get(str(visit_id))}
        return row is None or row["version"] not in expected or row["status"] not in PLANNABLE

    for visit_id in releases:
        label = visits[str(visit_id)]["label"]
        if leads.get(visit_id) != tech:
            continue  # an earlier accept of this run already moved it (or someone else did: their call)
        if changed(visit_id):
            report.skipped.append(f"{label}: changed since the plan was made; left as it is")
            continue
        try:
            with transaction.atomic():
                visit_update(actor=actor, visit_id=visit_id, version=current[visit_id]["version"], lead_id=None, helper_ids=[])
        except DomainError as exc:
            if exc.code != "stale":
                raise _Refused(f"{label}: {_why(exc)}", retry=False) from exc
            report.skipped.append(f"{label}: changed since the plan was made; left as it is")
            continue
        mine.append(visit_id)
        to = planned_for.get(visit_id)
        report.released.append(f"{label} taken off the day" + (f" (planned for {names.get(to, 'someone else')})" if to else " (the plan leaves it unassigned)"))

    pending = []
    for visit_id, start in stops:
        label = visits[str(visit_id)]["label"]
        row = current.get(visit_id)
        if changed(visit_id):
            report.skipped.append(f"{label}: changed since the plan was made; left as it is")
            continue
        assert row is not None
        if leads.get(visit_id) == tech and crew_sizes.get(visit_id) == 1 and row["scheduled_start"] == datetime.fromisoformat(start):
            continue  # already where the plan puts it
        pending.append((visit_id, start, label))

    # Passes: a stop refused only by the availability checks may be in the way of another stop of this
    # same route (or vice versa); try it again once the others moved.
    expect = {visit_id: current[visit_id]["version"] for visit_id, _, _ in pending}
    last_problem = ""
    cleared = False
    while pending:
        waiting = []
        for visit_id, start, label in pending:
            row = Visit.objects.filter(pk=visit_id).values("window_start", "window_end").get()
            try:
                with transaction.atomic():
                    visit_update(
                        actor=actor,
                        visit_id=visit_id,
                        version=expect[visit_id],
                        start=datetime.fromisoformat(start),
                        window_start=row["window_start"],
                        window_end=row["window_end"],
                        lead_id=tech,
                        helper_ids=[],
                    )
            except SchedulingConflict as exc:
                waiting.append((visit_id, start, label))
                last_problem = f"{label}: {exc.message}"
                continue
            except ConflictError as exc:
                if exc.code == "stale":
                    report.skipped.append(f"{label}: changed since the plan was made; left as it is")
                    continue
                raise _Refused(f"{label}: {_why(exc)}", retry=False) from exc
            except DomainError as exc:
                raise _Refused(f"{label}: {_why(exc)}", retry=False) from exc
            mine.append(visit_id)
            report.applied.append(f"{label} at {_hm(start)}")
        if len(waiting) == len(pending):
            own = [visit_id for visit_id, _, _ in waiting if leads.get(visit_id) == tech]
            if cleared or not own:
                raise _Refused(last_problem, retry=True)
            # Stops of this technician that trade places (09:00 ↔ 11:00) block each other whichever
            # goes first: take them off the day, then place them again.
            cleared = True
            for visit_id in own:
                try:
                    visit_update(actor=actor, visit_id=visit_id, version=expect[visit_id], lead_id=None, helper_ids=[])
                except DomainError as exc:
                    raise _Refused(_why(exc), retry=False) from exc
                expect[visit_id] = Visit.objects.values_list("version", flat=True).get(pk=visit_id)
        pending = waiting
    return dict(Visit.objects.filter(pk__in=mine).values_list("pk", "version"))


def reports_of(run: PlanningRun) -> list[dict[str, Any]]:
    """The stored reports of what was accepted from `run`, by technician name."""
    return sorted((run.applied or {}).get("routes", {}).values(), key=lambda r: r["name"])
