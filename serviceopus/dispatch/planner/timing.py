"""Exact times for routes given as orders of jobs, and the objective every solver's answer is judged by.

Solvers answer with an order of jobs per vehicle; the times are ours. `schedule` times one route the way
a technician drives it: leave at the shift start (later, when the first job would only be waited for),
start each job as soon as it is reached and its window opens, and put the break in whichever gap ends the
day earliest. A route that cannot be timed within its windows, shift, capacity or skills is repaired by
`repair`, which drops as little weight as it can. So whatever a solver's own model missed (PyVRP knows no
breaks, a solver's rounding), the plan that comes out keeps every rule, and the validator checks it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from .instance import Instance

# Routes of job indices, one per vehicle, in the instance's vehicle order.
Routes = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Timed:
    """A timed route: per job its arrival and start; when the vehicle leaves and is back; the break."""

    departure: int
    arrivals: tuple[int, ...]
    starts: tuple[int, ...]
    end: int
    break_start: int | None


def _forward(instance: Instance, v: int, route: Sequence[int], rest_after: int | None) -> Timed | None:
    """Times with the break (if any) taken in the gap after the `rest_after`-th job (0: the gap before
    the first job; len(route): the way back), or None when a rule breaks. In its gap the break comes
    before the drive or after it (waiting at the next place), whichever lets the next job start
    earlier; on the way back, before the drive or after coming home."""
    vehicle = instance.vehicles[v]
    durations = instance.durations
    shift_start, shift_end = vehicle.shift
    latest_end = shift_end if not instance.overtime else None
    t = shift_start
    place = vehicle.start
    arrivals: list[int] = []
    starts: list[int] = []
    break_start = None
    for position in range(len(route) + 1):
        to = instance.jobs[route[position]] if position < len(route) else None
        drive = durations[place][to.location if to is not None else vehicle.end]
        if position == rest_after:
            assert vehicle.break_window is not None
            early, late, length = vehicle.break_window
            first = max(t, early)  # break, then drive
            then = max(t + drive, early)  # drive, then break on arrival
            if to is not None:
                # (break start, arrival, ready to start) for each order that keeps the break window; the
                # earlier start wins.
                options = [(first, first + length + drive, first + length + drive), (then, t + drive, then + length)]
                options = [o for o in options if o[0] + length <= late]
                if not options:
                    return None
                break_start, arrival, ready = min(options, key=lambda o: max(o[2], to.window[0]))
            else:
                # (break start, back home) for: break then drive home, or drive home then break — that
                # one must end within the shift even when overtime is allowed, since the day is over.
                endings = []
                if first + length <= late and (latest_end is None or first + length + drive <= latest_end):
                    endings.append((first, first + length + drive))
                if then + length <= min(late, shift_end):
                    endings.append((then, t + drive))
                if not endings:
                    return None
                break_start, end = min(endings, key=lambda o: max(o[1], o[0] + length))
                return _timed(instance, v, route, arrivals, starts, end, break_start, rest_after)
        else:
            if to is None:
                end = t + drive
                if latest_end is not None and end > latest_end:
                    return None
                return _timed(instance, v, route, arrivals, starts, end, break_start, rest_after)
            arrival = ready = t + drive
        start = max(ready, to.window[0])
        if start > to.window[1]:
            return None
        arrivals.append(arrival)
        starts.append(start)
        t = start + to.service
        place = to.location
    raise AssertionError("unreachable: the loop returns at the way back")


def _timed(
    instance: Instance, v: int, route: Sequence[int], arrivals: list[int], starts: list[int], end: int, break_start: int | None, rest_after: int | None
) -> Timed:
    vehicle = instance.vehicles[v]
    departure = vehicle.shift[0]
    if route and rest_after != 0:
        # Leave no earlier than needed to reach the first job as it opens.
        drive = instance.durations[vehicle.start][instance.jobs[route[0]].location]
        departure = max(departure, starts[0] - drive)
        arrivals = [departure + drive, *arrivals[1:]]
    return Timed(departure, tuple(arrivals), tuple(starts), end, break_start)


def schedule(instance: Instance, v: int, route: Sequence[int]) -> Timed | None:
    """The timed route, or None when no timing keeps every rule (windows, shift, break, capacity,
    skills). An empty route is timed as staying home: no break needed."""
    vehicle = instance.vehicles[v]
    if any(not instance.can_serve(v, j) for j in route):
        return None
    if vehicle.capacity is not None and sum(instance.jobs[j].demand for j in route) > vehicle.capacity:
        return None
    if not route or vehicle.break_window is None:
        return _forward(instance, v, route, None)
    best: Timed | None = None
    for rest_after in range(len(route) + 1):
        timed = _forward(instance, v, route, rest_after)
        if timed is not None and (best is None or timed.end < best.end):
            best = timed
    return best


def route_distance(instance: Instance, v: int, route: Sequence[int]) -> int:
    vehicle = instance.vehicles[v]
    places = [vehicle.start, *(instance.jobs[j].location for j in route), vehicle.end]
    if len(places) == 2:
        return 0  # an unused vehicle stays home
    return sum(instance.distances[a][b] for a, b in pairwise(places))


@dataclass(frozen=True, order=True)
class Score:
    """Lexicographic: more weight served is better, then less distance. Compare with `better`."""

    weight: int
    distance: int
    served: int

    def key(self) -> tuple[int, int]:
        return (-self.weight, self.distance)

    def better(self, other: "Score | None") -> bool:
        return other is None or self.key() < other.key()


def score(instance: Instance, routes: Routes) -> Score:
    return Score(
        weight=sum(instance.jobs[j].weight for route in routes for j in route),
        distance=sum(route_distance(instance, v, route) for v, route in enumerate(routes)),
        served=sum(len(route) for route in routes),
    )


def _weight(instance: Instance, route: Sequence[int]) -> int:
    return sum(instance.jobs[j].weight for j in route)


def _repair_route(instance: Instance, v: int, route: list[int], *, branch: bool = True) -> list[int]:
    """`route` less the jobs it cannot keep, losing little weight: at each step either the lightest
    single job whose removal makes the route work, or the lightest job of all and go on — whichever
    keeps more (the second only looked at when it is lighter, and one level deep)."""
    route = [j for j in route if instance.can_serve(v, j)]
    while route and schedule(instance, v, route) is None:
        fixes = [i for i in range(len(route)) if schedule(instance, v, [*route[:i], *route[i + 1 :]]) is not None]
        lightest = min(range(len(route)), key=lambda i: (instance.jobs[route[i]].weight, -i))
        if not fixes:
            del route[lightest]
            continue
        fix = min(fixes, key=lambda i: (instance.jobs[route[i]].weight, -i))
        fixed = [*route[:fix], *route[fix + 1 :]]
        if branch and instance.jobs[route[lightest]].weight < instance.jobs[route[fix]].weight:
            other = _repair_route(instance, v, [*route[:lightest], *route[lightest + 1 :]], branch=False)
            if _weight(instance, other) > _weight(instance, fixed):
                return other
        return fixed
    return route


def repair(instance: Instance, routes: Sequence[Sequence[int]]) -> Routes:
    """`routes` with every job that breaks a rule (or appears twice) dropped, so that each route can be
    timed. Routes for missing vehicles are empty; routes past the vehicle count are ignored."""
    seen: set[int] = set()
    repaired = []
    for v in range(len(instance.vehicles)):
        route = []
        for j in routes[v] if v < len(routes) else ():
            if 0 <= j < len(instance.jobs) and j not in seen:
                seen.add(j)
                route.append(j)
        repaired.append(tuple(_repair_route(instance, v, route)))
    return tuple(repaired)
