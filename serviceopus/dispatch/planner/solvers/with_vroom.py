"""VROOM (pyvroom): models skills, windows, shifts, breaks, priorities and optional jobs natively and
finds a good plan fast, then stops: our first plan, and the seed of the improvement phase.

VROOM serves the highest priority sum first, then the most jobs, then the least cost; its priorities are
whole numbers up to 100, so weights are mapped onto that range by their order (several weights may share
a level; our own score decides between plans afterwards). Costs are the distances, so among plans that
serve the same jobs VROOM prefers the shortest; durations drive the times.
"""

from datetime import timedelta

import numpy as np
import vroom

from ..instance import Instance
from ..timing import Routes

PROFILE = "car"


def _priorities(instance: Instance) -> dict[int, int]:
    """Weight → VROOM priority 0–100, increasing with the weight (equal steps over the distinct weights)."""
    weights = sorted({job.weight for job in instance.jobs})
    if len(weights) == 1:
        return {weights[0]: 0}
    return {w: round(100 * rank / (len(weights) - 1)) for rank, w in enumerate(weights)}


def build(instance: Instance) -> vroom.Input:
    problem = vroom.Input()
    problem.set_durations_matrix(PROFILE, np.asarray(instance.durations, dtype=np.uint32))
    problem.set_costs_matrix(PROFILE, np.asarray(instance.distances, dtype=np.uint32))
    priority = _priorities(instance)
    # VROOM's skills are 32-bit: number ours (lock skills are large) densely, keeping only those a job needs.
    needed = sorted({s for job in instance.jobs for s in job.skills})
    dense = {skill: n for n, skill in enumerate(needed)}
    capacitated = any(v.capacity is not None for v in instance.vehicles)
    for k, vehicle in enumerate(instance.vehicles):
        breaks = []
        if vehicle.break_window is not None:
            early, late, length = vehicle.break_window
            breaks.append(vroom.Break(k + 1, time_windows=[vroom.TimeWindow(early, late - length)], service=length))
        latest = vehicle.shift[1] if not instance.overtime else vehicle.shift[1] + 24 * 3600
        problem.add_vehicle(
            vroom.Vehicle(
                k + 1,  # VROOM ids are ours to choose; the vehicle's index + 1 keeps the mapping trivial
                start=vehicle.start,
                end=vehicle.end,
                profile=PROFILE,
                capacity=[vehicle.capacity if vehicle.capacity is not None else 0] if capacitated else (),
                skills={dense[s] for s in vehicle.skills if s in dense},
                time_window=vroom.TimeWindow(vehicle.shift[0], latest),
                breaks=breaks,
            )
        )
    for j, job in enumerate(instance.jobs):
        problem.add_job(
            vroom.Job(
                j + 1,
                location=job.location,
                default_service=job.service,
                delivery=vroom.Amount([job.demand]) if capacitated else vroom.Amount([]),
                skills={dense[s] for s in job.skills},
                priority=priority[job.weight],
                time_windows=[vroom.TimeWindow(job.window[0], job.window[1])],
            )
        )
    return problem


def solve(instance: Instance, *, exploration_level: int = 5, time_limit: float | None = None, threads: int = 1) -> Routes:
    """VROOM's routes, searched with `threads` threads (VROOM explores several starting plans at once)."""
    if not instance.jobs or not instance.vehicles:
        return tuple(() for _ in instance.vehicles)
    timeout = timedelta(seconds=max(time_limit, 0.1)) if time_limit is not None else None
    solution = build(instance).solve(exploration_level=exploration_level, nb_threads=max(1, threads), timeout=timeout)
    routes: list[list[int]] = [[] for _ in instance.vehicles]
    steps = solution.routes
    if steps.empty:
        return tuple(tuple(r) for r in routes)  # nothing served
    for vehicle_id, kind, job_id in zip(steps["vehicle_id"], steps["type"], steps["id"], strict=True):
        if kind == "job":
            routes[int(vehicle_id) - 1].append(int(job_id) - 1)
    return tuple(tuple(r) for r in routes)
