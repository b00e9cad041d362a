"""PyVRP: iterated local search that finds the shortest routes on time-window problems (it reaches the
best-known Solomon distances), used to improve a plan within the time left.

Open-source PyVRP has no skills, so each group of vehicles that can serve the same jobs gets a routing
profile of its own in which the edges into and out of the jobs it cannot serve are prohibitively long:
such a job on its route could never pay for itself, so the search leaves it to a vehicle that can. Every
job gets a location of its own for the same reason (two jobs at one address may need different skills).
PyVRP knows no breaks either: `timing` places the break afterwards (dropping a job where it cannot),
and the plan is kept only when it scores better than the one it started from.

Jobs are optional with a prize of their weight times a unit larger than any detour, so serving weight
always comes before saving distance, as in our objective.
"""

import time
import warnings
from collections.abc import Callable

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxIterations, MaxRuntime

from ..instance import Instance
from ..timing import Routes

# Larger than any day's total distance in metres (or scaled Solomon units), smaller than int64 limits
# once multiplied by weights and summed over a route.
_PROHIBITIVE = 10**10


def _prize_unit(instance: Instance) -> int:
    """More than the longest detour a job can cause (two of the longest edges)."""
    longest = max((max(row) for row in instance.distances), default=0)
    return 2 * int(longest) + 1


class Model:
    """The instance as PyVRP's ProblemData, with the mapping back to our vehicles and jobs."""

    def __init__(self, instance: Instance, required: frozenset[int] = frozenset()) -> None:
        self.instance = instance
        vehicles, jobs = instance.vehicles, instance.jobs
        depot_places = list(dict.fromkeys([p for v in vehicles for p in (v.start, v.end)]))
        depot_of = {place: d for d, place in enumerate(depot_places)}
        places = np.asarray(depot_places + [job.location for job in jobs], dtype=np.int64)
        base_distance = np.asarray(instance.distances, dtype=np.int64)[np.ix_(places, places)]
        base_duration = np.asarray(instance.durations, dtype=np.int64)[np.ix_(places, places)]
        first_client = len(depot_places)
        self.first_client = first_client

        # One profile per set of jobs a vehicle cannot serve (skills and locks).
        profiles: dict[frozenset[int], int] = {}
        distance_matrices, duration_matrices = [], []
        vehicle_profile = []
        for k in range(len(vehicles)):
            barred = frozenset(j for j in range(len(jobs)) if not instance.can_serve(k, j))
            if barred not in profiles:
                profiles[barred] = len(profiles)
                distance, duration = base_distance.copy(), base_duration.copy()
                rows = np.asarray([first_client + j for j in barred], dtype=np.int64)
                if len(rows):
                    for matrix in (distance, duration):
                        matrix[rows, :] = _PROHIBITIVE
                        matrix[:, rows] = _PROHIBITIVE
                        matrix[rows, rows] = 0
                distance_matrices.append(distance)
                duration_matrices.append(duration)
            vehicle_profile.append(profiles[barred])

        capacitated = any(v.capacity is not None for v in vehicles)
        unit = _prize_unit(instance)
        clients = [
            pyvrp.Client(
                location=first_client + j,
                delivery=[job.demand] if capacitated else [],
                service_duration=job.service,
                tw_early=job.window[0],
                tw_late=job.window[1],
                prize=job.weight * unit,
                required=j in required,
            )
            for j, job in enumerate(jobs)
        ]
        depots = [pyvrp.Depot(location=d) for d in range(len(depot_places))]

        # Identical vehicles share a vehicle type (the search is better at swapping them).
        types: dict[tuple, int] = {}
        vehicle_types: list[pyvrp.VehicleType] = []
        self.type_vehicles: list[list[int]] = []
        for k, v in enumerate(vehicles):
            late = v.shift[1] if not instance.overtime else v.shift[1] + 24 * 3600
            # The break is in the key: timing places it afterwards, on the vehicle the route comes back to.
            key = (depot_of[v.start], depot_of[v.end], v.shift[0], late, v.capacity, vehicle_profile[k], v.break_window)
            if key not in types:
                types[key] = len(types)
                self.type_vehicles.append([])
                vehicle_types.append(
                    pyvrp.VehicleType(
                        num_available=1,
                        capacity=[v.capacity or 0] if capacitated else [],
                        start_depot=depot_of[v.start],
                        end_depot=depot_of[v.end],
                        tw_early=v.shift[0],
                        tw_late=max(late, v.shift[0]),
                        profile=vehicle_profile[k],
                    )
                )
            else:
                t = types[key]
                vehicle_types[t] = vehicle_types[t].replace(num_available=vehicle_types[t].num_available + 1)
            self.type_vehicles[types[key]].append(k)
        self.vehicle_type = {k: t for t, ks in enumerate(self.type_vehicles) for k in ks}
        self.data = pyvrp.ProblemData(
            locations=[pyvrp.Location(0, 0) for _ in range(len(places))],
            clients=clients,
            depots=depots,
            vehicle_types=vehicle_types,
            distance_matrices=distance_matrices,
            duration_matrices=duration_matrices,
        )

    def solution(self, routes: Routes) -> pyvrp.Solution:
        """Our routes as a PyVRP solution (the seed of the search)."""
        return pyvrp.Solution(self.data, [pyvrp.Route(self.data, list(route), self.vehicle_type[k]) for k, route in enumerate(routes) if route])

    def routes(self, solution: pyvrp.Solution) -> Routes:
        """PyVRP's solution as our routes: each route goes to the next vehicle of its type."""
        result: list[tuple[int, ...]] = [() for _ in self.instance.vehicles]
        free = [list(ks) for ks in self.type_vehicles]
        for route in solution.routes():
            k = free[route.vehicle_type()].pop(0)
            result[k] = tuple(int(activity.idx) for activity in route if activity.is_client())
        return tuple(result)


def solve(
    instance: Instance,
    *,
    time_limit: float,
    seed: int = 0,
    initial: Routes | None = None,
    should_stop: Callable[[], bool] | None = None,
    iterations: int | None = None,
    required: frozenset[int] = frozenset(),
) -> Routes | None:
    """PyVRP's best feasible routes within `time_limit` seconds, or after `iterations` iterations when
    given (then the result depends on the seed alone), seeded with `initial` when given; None when it
    found none. `required` jobs must all be served: the search then works through plans that break
    rules, at a penalty, towards one that serves them all — far better than prizes at completing a
    nearly complete plan, and useless when no such plan exists."""
    if not instance.jobs or not instance.vehicles:
        return tuple(() for _ in instance.vehicles)
    model = Model(instance, required)
    deadline = MaxIterations(iterations) if iterations is not None else MaxRuntime(max(time_limit, 0.05))
    last_check = [time.monotonic()]

    def stop(best_cost: int) -> bool:
        if deadline(best_cost):
            return True
        if should_stop is not None and time.monotonic() - last_check[0] > 0.2:
            last_check[0] = time.monotonic()
            return should_stop()
        return False

    seed_solution = model.solution(initial) if initial is not None else None
    with warnings.catch_warnings():
        # PyVRP warns when its penalties hit their bound, i.e. when required jobs cannot all be served
        # (or not easily): an expected answer here, reported by returning None.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(model.data, stop, seed=seed, collect_stats=False, display=False, initial_solution=seed_solution)
    if not result.best.is_feasible():
        return None
    return model.routes(result.best)
