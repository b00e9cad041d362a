"""A "Plan day" run from the button to the stored proposal: `run_start` (an office user asks), the
background task `plan_day_task` (the worker builds the problem from the database, gets the travel
matrix, runs the planner and stores the result), `run_cancel` (the Cancel button).

Lifecycle of a PlanningRun, each step a conditional UPDATE on the status it expects, so that a cancel
and the worker's claim cannot both win:

    queued → running → done | failed | cancelled        queued → cancelled (cancelled before a worker took it)

While the solver runs, its progress (stage, best plan so far) is written to the run row at most once a
second: the run page polls that row, and a second process (the web server) cannot read the worker's
memory. `cancel_requested` is read back at most twice a second; the planner then stops and returns the
best valid plan it had, which is kept (status cancelled) and may still be accepted.

The stored result (`PlanningRun.result`) holds the problem's technicians and visits as people see them,
the snapshot of what each visit was when the run read it (planner/apply.py measures "changed meanwhile"
against it), the current plan measured with the same travel times, and the proposed plan.
"""

import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput

from .models import PlanningRun
from .planner.builder import DayInput, problem_for_day
from .planner.model import Plan, Problem, Route, Stop, Unassigned
from .planner.replan import rest_of_day_input
from .planner.serial import problem_to_dict
from .planner.travel import Matrix, TravelError, cached_matrix, provider_from_settings

log = logging.getLogger("serviceopus.dispatch.planning")
S = PlanningRun.Status
ACTIVE_RUN = (S.QUEUED, S.RUNNING)
PROGRESS_EVERY = 1.0  # seconds between progress writes
CANCEL_CHECK_EVERY = 0.5  # seconds between reads of cancel_requested
ABANDONED_AFTER = 300  # seconds of silence, beyond twice the time limit, after which a running run is given up


def plan_day(problem: Problem, matrix: Matrix, **kwargs: Any) -> Any:
    """The planner's entry point (planner/optimise.py), imported when a run needs it: the web process
    never loads the solver libraries."""
    from .planner.optimise import plan_day as solve

    return solve(problem, matrix, **kwargs)


def run_start(*, actor: User, day: date, include_assigned: bool = True, mode: str = PlanningRun.Mode.DAY) -> PlanningRun:
    """Queue a run for `day`. Refuses (ConflictError "run_active") while another run for that day is
    queued or running — two proposals for one day would contradict each other. The task is queued after
    the row commits, so the worker always finds it. `mode` "rest_of_day" (today only) re-plans what is
    not started yet from where everyone is when the worker reads the day (planner/replan.py)."""
    if not actor.has_perm("dispatch.schedule"):
        raise DomainError("forbidden", "You may not plan the day.")
    if mode not in PlanningRun.Mode.values:
        raise InvalidInput("Choose what to plan.", {"mode": f"Unknown mode {mode!r}."})
    if mode == PlanningRun.Mode.REST_OF_DAY and day != timezone.localdate():
        raise InvalidInput("Only today's rest can be re-planned.", {"mode": "The rest of the day is planned for today only."})
    _fail_abandoned(day)
    try:
        with transaction.atomic():
            busy = PlanningRun.objects.filter(day=day, status__in=ACTIVE_RUN).order_by("-created_at").first()
            if busy is not None:
                raise ConflictError("run_active", f"The plan for {day:%a %d %b} is already being made.", run_id=busy.pk)
            run = PlanningRun.objects.create(day=day, mode=mode, include_assigned=include_assigned, created_by=actor, stage="Waiting for a worker")
            transaction.on_commit(lambda: plan_day_task.enqueue(run.pk))
    except IntegrityError:  # someone else's run for the day committed between our check and our insert
        busy = PlanningRun.objects.filter(day=day, status__in=ACTIVE_RUN).first()
        raise ConflictError("run_active", f"The plan for {day:%a %d %b} is already being made.", run_id=busy.pk if busy else None) from None
    return run


def _fail_abandoned(day: date) -> None:
    """A running run that has written nothing for far longer than any plan takes lost its worker (killed,
    machine restarted): it is marked failed so that it no longer holds the day."""
    quiet = timedelta(seconds=2 * float(settings.PLANNER_TIME_LIMIT) + ABANDONED_AFTER)
    now = timezone.now()
    PlanningRun.objects.filter(day=day, status=S.RUNNING, updated_at__lt=now - quiet).update(
        status=S.FAILED, stage="Failed", error="The worker running this plan stopped before it finished.", finished_at=now, updated_at=now
    )


def run_cancel(*, actor: User, run_id: int) -> PlanningRun:
    """Ask a run to stop. A queued run is cancelled at once; a running one stops at the planner's next
    check and keeps its best plan. A finished run is refused (ConflictError "run_finished")."""
    if not actor.has_perm("dispatch.schedule"):
        raise DomainError("forbidden", "You may not plan the day.")
    now = timezone.now()
    if PlanningRun.objects.filter(pk=run_id, status=S.QUEUED).update(
        status=S.CANCELLED, cancel_requested=True, stage="Cancelled before it started", finished_at=now, updated_at=now
    ):
        return PlanningRun.objects.get(pk=run_id)
    if not PlanningRun.objects.filter(pk=run_id, status=S.RUNNING).update(cancel_requested=True, updated_at=now):
        raise ConflictError("run_finished", "This run has already finished.")
    return PlanningRun.objects.get(pk=run_id)


@task()
def plan_day_task(run_id: int) -> None:
    """The worker's side of a run (django-tasks database backend)."""
    execute_run(run_id)


class _Progress:
    """The planner's callbacks, throttled: progress rows at most once a PROGRESS_EVERY, cancel reads at
    most once a CANCEL_CHECK_EVERY."""

    def __init__(self, run_id: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.run_id = run_id
        self.clock = clock
        self.last_write = float("-inf")
        self.last_check = float("-inf")
        self.stop = False

    def write(self, force: bool = False, **values: Any) -> None:
        now = self.clock()
        if not force and now - self.last_write < PROGRESS_EVERY:
            return
        self.last_write = now
        PlanningRun.objects.filter(pk=self.run_id, status=S.RUNNING).update(updated_at=timezone.now(), **values)

    def on_progress(self, progress: Any) -> None:
        self.write(
            stage=str(progress.stage)[:100],
            served=progress.served,
            weighted_served=progress.weighted_served,
            travel_metres=progress.travel_metres,
            elapsed_seconds=round(progress.elapsed_seconds, 2),
        )

    def should_stop(self) -> bool:
        now = self.clock()
        if not self.stop and now - self.last_check >= CANCEL_CHECK_EVERY:
            self.last_check = now
            self.stop = PlanningRun.objects.filter(pk=self.run_id, cancel_requested=True).exists()
        return self.stop


def execute_run(run_id: int) -> None:
    """Claim the run, plan, store. Every failure ends the run as failed with the reason for people;
    the exception is logged, not raised (a failed plan is an answer, not a crashed worker)."""
    now = timezone.now()
    if not PlanningRun.objects.filter(pk=run_id, status=S.QUEUED).update(status=S.RUNNING, started_at=now, updated_at=now, stage="Reading the day"):
        return  # cancelled while queued, or another worker took it
    run = PlanningRun.objects.get(pk=run_id)
    progress = _Progress(run_id)
    started = time.monotonic()
    try:
        if run.mode == PlanningRun.Mode.REST_OF_DAY:
            day_input = rest_of_day_input(run.day, include_assigned=run.include_assigned)
        else:
            day_input = problem_for_day(run.day, include_assigned=run.include_assigned)
        problem = day_input.problem
        progress.write(force=True, stage="Getting travel times", visit_count=len(problem.visits) + len(day_input.held_back))
        matrix = cached_matrix(provider_from_settings(), run.day, problem.places())
        progress.write(force=True, stage="Planning")
        outcome = plan_day(problem, matrix, on_progress=progress.on_progress, should_stop=progress.should_stop)
        plan = outcome.plan
        stages = [_stage_text(st) for st in getattr(getattr(outcome, "result", None), "stages", ())]
        result = store_result(day_input, matrix, plan, stages=stages)
        final = S.CANCELLED if outcome.cancelled else S.DONE
        stage = "Cancelled: the best plan found so far is shown" if outcome.cancelled else "Done"
        PlanningRun.objects.filter(pk=run_id, status=S.RUNNING).update(
            status=final,
            stage=stage,
            result=result,
            served=plan.served,
            weighted_served=plan.weighted_served,
            travel_metres=plan.travel_metres,
            elapsed_seconds=round(time.monotonic() - started, 2),
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
    except Exception as exc:  # every failure is reported on the run page
        log.exception("planning run %s failed", run_id)
        why = str(exc) if isinstance(exc, TravelError | DomainError) else f"The planner failed: {type(exc).__name__}: {exc}"
        PlanningRun.objects.filter(pk=run_id).update(status=S.FAILED, stage="Failed", error=why[:2000], finished_at=timezone.now(), updated_at=timezone.now())


def _stage_text(stage: Any) -> str:
    """One line per solver stage for the run page ("vroom at 0.8 s: 24 served, 61.2 km, kept")."""
    found = stage.score
    what = f"{found.served} served, {found.distance / 1000:.1f} km" if found is not None else "no plan"
    return f"{stage.stage} at {stage.seconds:.1f} s: {what}{', kept' if stage.kept else ''}"


# -- the stored result -----------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def plan_json(plan: Plan) -> dict:
    return {
        "routes": [
            {
                "technician_id": r.technician_id,
                "departure": _iso(r.departure),
                "end": _iso(r.end),
                "break_start": _iso(r.break_start),
                "return_travel_seconds": r.return_travel_seconds,
                "return_travel_metres": r.return_travel_metres,
                "travel_seconds": r.travel_seconds,
                "travel_metres": r.travel_metres,
                "overtime_seconds": r.overtime_seconds,
                "stops": [
                    {
                        "visit_id": s.visit_id,
                        "arrival": _iso(s.arrival),
                        "start": _iso(s.start),
                        "end": _iso(s.end),
                        "travel_seconds": s.travel_seconds,
                        "travel_metres": s.travel_metres,
                    }
                    for s in r.stops
                ],
            }
            for r in plan.routes
        ],
        "unassigned": [{"visit_id": u.visit_id, "code": u.code, "text": u.text} for u in plan.unassigned],
        "served": plan.served,
        "weighted_served": plan.weighted_served,
        "travel_seconds": plan.travel_seconds,
        "travel_metres": plan.travel_metres,
        "overtime_seconds": plan.overtime_seconds,
        "window_violations": plan.window_violations,
    }


def current_plan(day_input: DayInput, matrix: Matrix) -> Plan:
    """The day as it stands, measured like a proposal: each technician's visits of the problem in start
    order, driven with the same travel times (leaving home just in time for the first). Visits without a
    technician or a start, and those set aside, are its unassigned."""
    problem = day_input.problem
    by_tech: dict[int, list[tuple[datetime, int]]] = {}
    for visit in problem.visits:
        snap = day_input.snapshots[visit.id]
        if snap.technician_id in problem.technician_by_id and snap.start is not None:
            by_tech.setdefault(snap.technician_id, []).append((snap.start, visit.id))  # type: ignore[arg-type]
    routes: list[Route] = []
    for tech_id, items in by_tech.items():
        tech = problem.technician_by_id[tech_id]
        place, stops = tech.start_place, []
        departure: datetime | None = None
        previous_end: datetime | None = None
        for start, visit_id in sorted(items):
            visit = problem.visit_by_id[visit_id]
            seconds, metres = matrix.travel(place, visit.place) if visit.place is not None else (0, 0)
            if previous_end is None:  # leaves home just in time
                departure, arrival = start - timedelta(seconds=seconds), start
            else:  # may arrive after the booked start: the day as booked is measured, not repaired
                arrival = previous_end + timedelta(seconds=seconds)
            stops.append(Stop(visit_id=visit_id, arrival=arrival, start=start, end=start + visit.duration, travel_seconds=seconds, travel_metres=metres))
            previous_end = start + visit.duration
            place = visit.place or place
        seconds, metres = matrix.travel(place, tech.end_place)
        assert departure is not None
        assert previous_end is not None
        routes.append(
            Route.build(
                tech,
                stops,
                departure=departure,
                end=previous_end + timedelta(seconds=seconds),
                return_travel_seconds=seconds,
                return_travel_metres=metres,
            )
        )
    served = {s.visit_id for r in routes for s in r.stops}
    unassigned = [Unassigned(visit_id=v.id, code="not_assigned", text="No technician yet.") for v in problem.visits if v.id not in served]
    return Plan.build(problem, routes, unassigned)


def store_result(day_input: DayInput, matrix: Matrix, plan: Plan, *, stages: Any = ()) -> dict:
    """What the run page and `apply` need, as JSON (see the module's text)."""
    problem = day_input.problem
    proposed = plan_json(plan)
    # Visits set aside before the solver (blocked by parts) are shown with the solver's unassigned.
    proposed["unassigned"] += [{"visit_id": u.visit_id, "code": u.code, "text": u.text} for u in day_input.held_back]
    visits = {}
    for snap in day_input.snapshots.values():
        v = problem.visit_by_id.get(snap.visit_id)
        visits[str(snap.visit_id)] = snap.as_dict() | {
            "place": [v.place.lat, v.place.lng] if v is not None and v.place is not None else None,
            "window": [_iso(v.window_start), _iso(v.window_end)] if v is not None else None,
            "duration": v.duration_minutes if v is not None else None,
            "priority": v.priority if v is not None else None,
            "in_problem": v is not None,
        }
    return {
        # The problem as planned, so that any visit's place can be explained later (planner/explain.py).
        "problem": problem_to_dict(problem),
        "technicians": [
            {
                "id": t.id,
                "name": t.name,
                "colour": day_input.colours.get(t.id, "#2563eb"),
                "shift": [_iso(t.shift_start), _iso(t.shift_end)] if t.works else None,
                "home": [t.start_place.lat, t.start_place.lng],
                "break": [_iso(t.break_window.earliest_start), _iso(t.break_window.latest_end)] if t.break_window else None,
            }
            for t in problem.technicians
        ],
        "idle": [{"technician_id": i.technician_id, "name": i.name, "reason": i.reason} for i in day_input.idle],
        "visits": visits,
        "current": plan_json(current_plan(day_input, matrix)),
        "proposed": proposed,
        "stages": [str(s) for s in stages][:20],
    }
