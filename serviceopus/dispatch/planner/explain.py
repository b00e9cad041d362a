"""Why a visit is where the plan put it, or why it is left out, in words a dispatcher can check.

For a planned visit: who could have taken it at all (skills, lock, shift), why this technician and this
time (the window, the drive from the previous place, waiting), and what the alternatives would cost —
each other skilled technician's cheapest place for it in their own planned route, timed by the same
rules as the plan (`timing.schedule`), or why it fits nowhere there. For a visit left out: the reason,
and per skilled technician why their route had no room.
"""

from dataclasses import dataclass
from datetime import datetime, tzinfo

from .instance import Instance, from_problem
from .model import REASON_TEXT, Plan, Problem, Reason, pre_check
from .timing import route_distance, schedule
from .travel import Matrix

# How many alternatives an explanation lists (the cheapest first).
ALTERNATIVES = 3


@dataclass(frozen=True)
class Explanation:
    visit_id: int
    summary: str
    details: tuple[str, ...]


def _hm(moment: datetime, tz: tzinfo | None) -> str:
    return f"{moment.astimezone(tz) if tz is not None else moment:%H:%M}"


def _km(metres: int) -> str:
    return f"{metres / 1000:.1f} km"


def _cheapest_insertion(instance: Instance, v: int, route: list[int], j: int) -> int | None:
    """The least extra distance at which job `j` fits in vehicle `v`'s `route` keeping every rule, or None."""
    base = route_distance(instance, v, route)
    costs = [
        route_distance(instance, v, candidate) - base
        for position in range(len(route) + 1)
        if schedule(instance, v, candidate := [*route[:position], j, *route[position:]]) is not None
    ]
    return min(costs, default=None)


def explain(problem: Problem, matrix: Matrix, plan: Plan, visit_id: int, *, tz: tzinfo | None = None) -> Explanation:
    """The explanation for `visit_id` in `plan` (made for `problem` with travel from `matrix`), with
    times shown in `tz` (default: as the plan and problem carry them)."""
    visit = problem.visit_by_id[visit_id]
    plannable, set_aside = pre_check(problem)
    aside = next((u for u in set_aside if u.visit_id == visit_id), None)
    if aside is not None:
        return Explanation(visit_id, f"{visit.name} is not planned: {aside.text}", ())
    instance = from_problem(problem, matrix, plannable)
    job_of = {job.id: j for j, job in enumerate(instance.jobs)}
    vehicle_of = {vehicle.id: v for v, vehicle in enumerate(instance.vehicles)}
    routes = {route.technician_id: [job_of[s.visit_id] for s in route.stops if s.visit_id in job_of] for route in plan.routes}
    j = job_of[visit_id]
    names = {t.id: t.name for t in problem.technicians}
    skilled = [v for v in range(len(instance.vehicles)) if instance.can_serve(v, j)]
    working = sum(1 for t in problem.technicians if t.works)
    who = (
        f"locked to {names[visit.locked_technician_id]}"
        if visit.locked_technician_id is not None
        else f"{len(skilled)} of the {working} technicians working {'has' if len(skilled) == 1 else 'have'} the skills it needs"
    )
    holder = next((route for route in plan.routes if any(s.visit_id == visit_id for s in route.stops)), None)
    details: list[str] = []
    if holder is None:
        unassigned = next((u for u in plan.unassigned if u.visit_id == visit_id), None)
        reason = unassigned.text if unassigned is not None else REASON_TEXT[Reason.NOT_PLANNED]
        for v in skilled:
            tech_id = instance.vehicles[v].id
            route = routes.get(tech_id, [])
            if schedule(instance, v, [j]) is None:
                details.append(f"{names[tech_id]}: even alone, the shift leaves no way to start it inside its window.")
            elif _cheapest_insertion(instance, v, route, j) is None:
                details.append(f"{names[tech_id]}: the {len(route)} planned visits leave no room for it (a window or the shift end would be missed).")
        return Explanation(visit_id, f"{visit.name} is not planned ({who}). {reason}", tuple(details))

    stop_index = next(i for i, s in enumerate(holder.stops) if s.visit_id == visit_id)
    stop = holder.stops[stop_index]
    tech = problem.technician_by_id[holder.technician_id]
    lock = []
    if visit.locked_technician_id is not None:
        lock.append(f"it is locked to {tech.name}")
    if visit.locked_start is not None:
        lock.append(f"locked to start at {_hm(visit.locked_start, tz)}")
    summary = f"{visit.name} goes to {tech.name} at {_hm(stop.start, tz)} ({who})."
    if lock:
        summary += " " + " and ".join(lock).capitalize() + "."
    previous = "their start place" if stop_index == 0 else problem.visit_by_id[holder.stops[stop_index - 1].visit_id].name
    details.append(
        f"Arrives at {_hm(stop.arrival, tz)} after {round(stop.travel_seconds / 60)} min ({_km(stop.travel_metres)}) from {previous}; "
        f"the arrival window is {_hm(visit.window_start, tz)}–{_hm(visit.window_end, tz)}"
        + (f", so service starts at {_hm(stop.start, tz)}." if stop.start > stop.arrival else ".")
    )
    alternatives: list[tuple[int, str]] = []
    v_holder = vehicle_of[holder.technician_id]
    own = routes[holder.technician_id]
    saved = route_distance(instance, v_holder, own) - route_distance(instance, v_holder, [x for x in own if x != j])
    for v in skilled:
        tech_id = instance.vehicles[v].id
        if tech_id == holder.technician_id:
            continue
        extra = _cheapest_insertion(instance, v, routes.get(tech_id, []), j)
        if extra is None:
            alternatives.append((10**12, f"{names[tech_id]}: no room in their route for it."))
        else:
            alternatives.append((extra, f"{names[tech_id]}: would add {_km(extra)} to their route (here it adds {_km(saved)})."))
    alternatives.sort()
    details.extend(text for _, text in alternatives[:ALTERNATIVES])
    if len(alternatives) > ALTERNATIVES:
        details.append(f"… and {len(alternatives) - ALTERNATIVES} other technicians, each dearer or without room.")
    return Explanation(visit_id, summary, tuple(details))
