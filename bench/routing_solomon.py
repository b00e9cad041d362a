"""Solomon's VRPTW instances for the routing benchmark: the reader, the numeric `Instance` with the fleet
fixed to the best-known vehicle count, and the yardstick in double precision.

Conventions (the data directory's README): Euclidean distances, travel time equals distance, service
starts inside [ready, due], routes start and end at the depot within its window, load within capacity.
The solvers work in whole numbers, so coordinates and times are scaled ×100 and each leg rounded; the
distance reported is recomputed unscaled in double precision from the returned routes, and the routes
are checked again in double precision, because a rounded leg can make a route that is a hair late look
on time.
"""

import csv
import math
import re
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from serviceopus.dispatch.planner.instance import Instance, Job, Vehicle

SCALE = 100
FAMILIES = ("C1", "R1", "RC1")
# Double-precision slack when checking a start against a due date: sums of square roots differ in the
# last bits with the order they are added in, and the published solutions are checked to this level.
EPSILON = 1e-6


@dataclass(frozen=True)
class Customer:
    number: int  # 0 is the depot
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int  # as given in the file (an upper bound, not the best-known count)
    capacity: int
    customers: tuple[Customer, ...]  # index = customer number; [0] is the depot

    @property
    def family(self) -> str:
        return family_of(self.name)

    def leg(self, a: int, b: int) -> float:
        ca, cb = self.customers[a], self.customers[b]
        return math.hypot(ca.x - cb.x, ca.y - cb.y)


@dataclass(frozen=True)
class BestKnown:
    vehicles: int
    distance: float


def read_instance(path: Path) -> SolomonInstance:
    """One instance in Solomon's text format: the name, the VEHICLE block (number, capacity), then one
    row per customer (number, x, y, demand, ready time, due date, service time), depot first."""
    lines = [line.strip() for line in Path(path).read_text().splitlines()]
    name = next(line for line in lines if line)
    numbers = [line.split() for line in lines if line and re.fullmatch(r"[\d.\s-]+", line)]
    if not numbers or len(numbers[0]) != 2:
        raise ValueError(f"{path}: no VEHICLE NUMBER / CAPACITY row.")
    vehicles, capacity = (int(v) for v in numbers[0])
    customers = []
    for row in numbers[1:]:
        if len(row) != 7:
            raise ValueError(f"{path}: a customer row needs 7 numbers, not {row!r}.")
        number, x, y, demand, ready, due, service = row
        customers.append(Customer(int(number), float(x), float(y), int(float(demand)), int(float(ready)), int(float(due)), int(float(service))))
    if [c.number for c in customers] != list(range(len(customers))):
        raise ValueError(f"{path}: customers must be numbered 0 (the depot), 1, 2, … in order.")
    return SolomonInstance(name=name, vehicles=vehicles, capacity=capacity, customers=tuple(customers))


def read_best_known(path: Path) -> dict[str, BestKnown]:
    """`bks.csv`: instance, vehicles, distance."""
    with Path(path).open(newline="") as handle:
        return {row["instance"].strip().upper(): BestKnown(int(row["vehicles"]), float(row["distance"])) for row in csv.DictReader(handle)}


def instance_names(directory: Path) -> list[str]:
    """The instances present in `directory`, in a natural order (C101 … C109, R101 … R112, RC101 …)."""
    names = [p.stem.upper() for p in Path(directory).glob("*.txt")]
    return sorted(names, key=lambda n: (FAMILIES.index(family_of(n)) if family_of(n) in FAMILIES else 99, family_of(n), n))


def family_of(name: str) -> str:
    """C1, R1, RC1 (C2, R2, RC2 for the long-horizon sets) from an instance name."""
    match = re.match(r"([A-Z]+)(\d)", name.upper())
    return f"{match.group(1)}{match.group(2)}" if match else name


def to_instance(solomon: SolomonInstance, vehicles: int, *, durations: str = "round") -> Instance:
    """The numeric instance with `vehicles` vehicles (the best-known count): distances = round(100 ×
    Euclidean), durations the same (or with `durations="ceil"` rounded up, so that a route on time in
    whole numbers is on time exactly, at the price of up to 0.01 per leg), times ×100, each vehicle with
    the file's capacity, leaving and returning to the depot inside the depot's window; every customer a
    job of weight 1."""
    n = len(solomon.customers)
    matrix = tuple(tuple(round(SCALE * solomon.leg(a, b)) for b in range(n)) for a in range(n))
    if durations == "ceil":
        times = tuple(tuple(math.ceil(SCALE * solomon.leg(a, b) - EPSILON) for b in range(n)) for a in range(n))
    elif durations == "round":
        times = matrix
    else:
        raise ValueError(f"durations: round or ceil, not {durations!r}")
    depot = solomon.customers[0]
    shift = (depot.ready * SCALE, depot.due * SCALE)
    fleet = tuple(Vehicle(id=k + 1, start=0, end=0, shift=shift, capacity=solomon.capacity) for k in range(vehicles))
    jobs = tuple(
        Job(id=c.number, location=c.number, service=c.service * SCALE, window=(c.ready * SCALE, c.due * SCALE), demand=c.demand, weight=1)
        for c in solomon.customers[1:]
    )
    return Instance(durations=times, distances=matrix, vehicles=fleet, jobs=jobs, distance_scale=SCALE, name=solomon.name)


def customers_of(instance: Instance, routes) -> list[list[int]]:
    """Routes of job indices as routes of customer numbers (empty routes left out)."""
    return [[instance.jobs[j].id for j in route] for route in routes if route]


def exact_distance(solomon: SolomonInstance, routes: list[list[int]]) -> float:
    """Total distance of routes of customer numbers, each from and back to the depot, in double precision."""
    total = 0.0
    for route in routes:
        places = [0, *route, 0]
        total += sum(solomon.leg(a, b) for a, b in pairwise(places))
    return total


def exact_problems(solomon: SolomonInstance, routes: list[list[int]]) -> list[str]:
    """What breaks a rule in double precision (late starts, overload, late return, a customer twice or
    not at all): empty when the routes are a feasible solution."""
    problems: list[str] = []
    depot = solomon.customers[0]
    seen: list[int] = [c for route in routes for c in route]
    missing = set(range(1, len(solomon.customers))) - set(seen)
    if missing:
        problems.append(f"{len(missing)} customer{'s' if len(missing) > 1 else ''} not served")
    if len(seen) != len(set(seen)):
        problems.append("a customer served twice")
    for k, route in enumerate(routes, 1):
        if sum(solomon.customers[c].demand for c in route) > solomon.capacity:
            problems.append(f"route {k} over capacity")
        t, place = float(depot.ready), 0
        for c in route:
            customer = solomon.customers[c]
            t = max(t + solomon.leg(place, c), customer.ready)
            if t > customer.due + EPSILON:
                problems.append(f"route {k}: customer {c} starts at {t:.4f} > {customer.due}")
            t += customer.service
            place = c
        if t + solomon.leg(place, 0) > depot.due + EPSILON:
            problems.append(f"route {k} back at the depot after {depot.due}")
    return problems


def gap_percent(distance: float, best: float) -> float:
    return 100.0 * (distance - best) / best
