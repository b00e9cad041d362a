"""The peers of the routing benchmark — OR-Tools routing and VROOM used directly, each as a user of that
library would model the day — and the one yardstick every solver's answer is judged by.

Both read the numeric `Instance` (from `from_problem`, or a Solomon instance) and answer with routes of
job indices per vehicle. Neither is trusted for its own account of the plan: `judge` times every route
with `timing.schedule`; a route it cannot time counts the jobs `timing.repair` has to drop as violations
(not served), and distance is summed from the instance's matrix.

OR-Tools (pywrapcp): a time dimension (travel plus the service at the node left) with each job's window
on its start and each vehicle's shift on its start and end; skills by removing the vehicles that lack
one from the job's vehicle variable (`SetAllowedVehiclesForIndex` fails in the 9.15 wheel); an optional
job is a disjunction whose penalty is its weight times more than any route's length, so serving comes
first; breaks as fixed-length intervals; PARALLEL_CHEAPEST_INSERTION, then guided local search until the
time limit (without that pairing it often finds no feasible plan at all).

VROOM (pyvroom): skills, windows, shifts, breaks and priorities natively; the cost matrix is the distance
matrix (so it minimises travel, like the others); exploration level 5 on one thread, stopped at the time
limit. Skills are renumbered densely (VROOM's skills are 32-bit; lock skills are not).
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from serviceopus.dispatch.planner.instance import Instance
from serviceopus.dispatch.planner.timing import Routes, repair, route_distance

# What leaving one unit of weight out costs OR-Tools, in distance units: more than any plan's travel
# (metres: 10,000 km; Solomon ×100: 100,000 units of distance), so a served job is never traded for km.
OMIT_PENALTY_PER_WEIGHT = 10_000_000


@dataclass(frozen=True)
class Run:
    """A solver's answer: routes of job indices per vehicle, and the wall time it took (model included)."""

    routes: Routes
    wall_seconds: float
    note: str = ""


@dataclass(frozen=True)
class Judged:
    """An answer as the yardstick sees it."""

    served: int  # jobs on routes that can be timed
    weight: int
    distance: int  # instance units (metres for a day; ×100 for Solomon)
    violations: int  # jobs returned on routes that break a rule (windows, shift, break, skill, capacity, twice)
    routes: Routes  # the timed routes

    def km(self, instance: Instance) -> float:
        return self.distance / 1000 / instance.distance_scale


def judge(instance: Instance, routes: Routes) -> Judged:
    """Time each route; what `repair` drops is a violation, not a served job."""
    fixed = repair(instance, routes)
    returned = sum(len(route) for route in routes)
    served = sum(len(route) for route in fixed)
    return Judged(
        served=served,
        weight=sum(instance.jobs[j].weight for route in fixed for j in route),
        distance=sum(route_distance(instance, v, route) for v, route in enumerate(fixed)),
        violations=returned - served,
        routes=fixed,
    )


def _has_capacity(instance: Instance) -> bool:
    return any(vehicle.capacity is not None for vehicle in instance.vehicles)


def _horizon(instance: Instance) -> int:
    latest = max([v.shift[1] for v in instance.vehicles] + [j.window[1] for j in instance.jobs] + [0])
    return latest + max([j.service for j in instance.jobs] + [0]) + max(max(row) for row in instance.durations) + 1


# ---- OR-Tools -------------------------------------------------------------------------------------------


def run_ortools(instance: Instance, time_limit: float, seed: int = 0) -> Run:
    """OR-Tools routing on `instance` for `time_limit` seconds (deterministic: `seed` is not used)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    began = time.perf_counter()
    jobs, vehicles = instance.jobs, instance.vehicles
    n_jobs, n_vehicles = len(jobs), len(vehicles)
    if n_vehicles == 0:
        return Run(routes=(), wall_seconds=time.perf_counter() - began)
    # Nodes: the jobs, then each vehicle's start and end (two nodes even when it is one place).
    locations = [job.location for job in jobs]
    for vehicle in vehicles:
        locations += [vehicle.start, vehicle.end]
    service = [job.service for job in jobs] + [0] * (2 * n_vehicles)
    starts = [n_jobs + 2 * k for k in range(n_vehicles)]
    ends = [n_jobs + 2 * k + 1 for k in range(n_vehicles)]
    manager = pywrapcp.RoutingIndexManager(len(locations), n_vehicles, starts, ends)
    routing = pywrapcp.RoutingModel(manager)

    distance = [[instance.distances[a][b] for b in locations] for a in locations]
    travel = [[instance.durations[a][b] + service[i] for b in locations] for i, a in enumerate(locations)]
    distance_cb = routing.RegisterTransitMatrix(distance)
    time_cb = routing.RegisterTransitMatrix(travel)
    routing.SetArcCostEvaluatorOfAllVehicles(distance_cb)

    horizon = _horizon(instance)
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    clock = routing.GetDimensionOrDie("time")
    for j, job in enumerate(jobs):
        index = manager.NodeToIndex(j)
        clock.CumulVar(index).SetRange(job.window[0], job.window[1])
        cannot = [k for k in range(n_vehicles) if not instance.can_serve(k, j)]
        if cannot:
            routing.VehicleVar(index).RemoveValues(cannot)
        routing.AddDisjunction([index], job.weight * OMIT_PENALTY_PER_WEIGHT)
    for k, vehicle in enumerate(vehicles):
        latest = horizon if instance.overtime else vehicle.shift[1]
        clock.CumulVar(routing.Start(k)).SetRange(vehicle.shift[0], vehicle.shift[1])
        clock.CumulVar(routing.End(k)).SetRange(vehicle.shift[0], latest)
        routing.AddVariableMinimizedByFinalizer(clock.CumulVar(routing.End(k)))
        routing.AddVariableMaximizedByFinalizer(clock.CumulVar(routing.Start(k)))
    if any(v.break_window for v in vehicles):
        solver = routing.solver()
        visit_transit = [service[manager.IndexToNode(i)] for i in range(routing.Size())] + [0] * n_vehicles
        for k, vehicle in enumerate(vehicles):
            if vehicle.break_window is None:
                continue
            early, late, length = vehicle.break_window
            rest = solver.FixedDurationIntervalVar(early, late - length, length, False, f"break {k}")
            clock.SetBreakIntervalsOfVehicle([rest], k, visit_transit)
    if _has_capacity(instance):
        demand_cb = routing.RegisterUnaryTransitVector([job.demand for job in jobs] + [0] * (2 * n_vehicles))
        capacities = [v.capacity if v.capacity is not None else sum(j.demand for j in jobs) for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(demand_cb, 0, capacities, True, "load")

    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    parameters.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    remaining = max(0.1, time_limit - (time.perf_counter() - began))
    parameters.time_limit.FromMilliseconds(int(remaining * 1000))
    solution = routing.SolveWithParameters(parameters)
    if solution is None:
        return Run(routes=tuple(() for _ in vehicles), wall_seconds=time.perf_counter() - began, note="no solution")
    routes = []
    for k in range(n_vehicles):
        route, index = [], routing.Start(k)
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            if node < n_jobs:
                route.append(node)
            index = solution.Value(routing.NextVar(index))
        routes.append(tuple(route))
    return Run(routes=tuple(routes), wall_seconds=time.perf_counter() - began)


# ---- VROOM ----------------------------------------------------------------------------------------------


def vroom_priority(weight: int, heaviest: int) -> int:
    """VROOM's priorities are 0–100 (more is more important, maximised before cost): the weight when it
    fits, else scaled down keeping order (a weight of at least 1 stays at least 1)."""
    if heaviest <= 100:
        return weight
    return max(1, round(100 * weight / heaviest))


def run_vroom(instance: Instance, time_limit: float, seed: int = 0, *, exploration: int = 5, threads: int = 1) -> Run:
    """VROOM on `instance`, stopped after `time_limit` seconds (`seed` is not used: VROOM on one thread
    is deterministic)."""
    import numpy
    import vroom

    began = time.perf_counter()
    jobs, vehicles = instance.jobs, instance.vehicles
    skill_ids = sorted({s for v in vehicles for s in v.skills} | {s for j in jobs for s in j.skills})
    dense = {s: i for i, s in enumerate(skill_ids)}
    capacity = _has_capacity(instance)
    total_demand = sum(j.demand for j in jobs)
    heaviest = max([j.weight for j in jobs] + [1])

    problem = vroom.Input()
    problem.set_durations_matrix("car", numpy.asarray(instance.durations, dtype="uint32"))
    problem.set_costs_matrix("car", numpy.asarray(instance.distances, dtype="uint32"))
    horizon = _horizon(instance)
    for k, vehicle in enumerate(vehicles):
        rests = []
        if vehicle.break_window is not None:
            early, late, length = vehicle.break_window
            rests = [vroom.Break(id=k + 1, time_windows=[vroom.TimeWindow(early, late - length)], service=length)]
        problem.add_vehicle(
            vroom.Vehicle(
                id=k,
                start=vehicle.start,
                end=vehicle.end,
                capacity=[vehicle.capacity if vehicle.capacity is not None else total_demand] if capacity else (),
                skills={dense[s] for s in vehicle.skills},
                time_window=vroom.TimeWindow(vehicle.shift[0], horizon if instance.overtime else vehicle.shift[1]),
                breaks=rests,
            )
        )
    for j, job in enumerate(jobs):
        problem.add_job(
            vroom.Job(
                id=j,
                location=job.location,
                default_service=job.service,
                delivery=[job.demand] if capacity else (),
                skills={dense[s] for s in job.skills},
                priority=vroom_priority(job.weight, heaviest),
                time_windows=[vroom.TimeWindow(job.window[0], job.window[1])],
            )
        )
    remaining = max(0.1, time_limit - (time.perf_counter() - began))
    solution = problem.solve(exploration_level=exploration, nb_threads=threads, timeout=timedelta(seconds=remaining))
    steps = numpy.asarray(solution._routes_numpy())
    routes: list[list[int]] = [[] for _ in vehicles]
    for row in steps:
        kind = row["type"]
        if (kind.decode() if isinstance(kind, bytes) else str(kind)) == "job":
            routes[int(row["vehicle_id"])].append(int(row["id"]))
    return Run(routes=tuple(tuple(r) for r in routes), wall_seconds=time.perf_counter() - began)


PEERS = {"ortools": run_ortools, "vroom": run_vroom}
