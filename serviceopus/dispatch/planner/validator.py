"""The plan validator: checks a plan against every rule of its problem, knowing nothing of the solver
that made it. A plan is shown to people only when `validate` returns no violation.

The rules (each violation's code in brackets):
- Coverage: each visit of the problem is on exactly one route or in the unassigned list, once
  [missing_visit, duplicate_visit]; nothing else is [unknown_visit]; each unassigned visit carries a
  known reason [unknown_reason]. Any visit may be unassigned, a `must` or locked one too: serving as
  many as possible is the solver's objective, not a rule of validity.
- Routes: one per technician of the problem [unknown_technician, duplicate_route]; stops only for a
  technician with a shift [no_shift]; the technician has every skill a stop's visit requires
  [missing_skill]; a visit on a route has coordinates [no_coordinates].
- Times: service starts inside the arrival window [outside_window], not before the arrival
  [start_before_arrival], and ends after exactly the duration [wrong_end]. Stops follow one another:
  an arrival is not before the previous stop's end [out_of_order] and leaves the travel time from the
  previous place [travel_time]; each leg's travel (and the way back) is the matrix's
  [travel_mismatch, travel_unknown when a place is not in the matrix]. The route departs from the start
  place at or after the shift start [before_shift] and reaches the end place, after the way back
  [travel_time], by the shift end unless the problem allows overtime [overtime].
- Break: a technician with a break window who serves any visit takes the break [break_missing], inside
  its window and inside the shift [break_outside_range]; before leaving, after coming back, or in a
  gap between services, and then the gap holds the drive and the break together, in either order
  [break_overlap]; no break for a technician without one [unexpected_break]. (Arrivals are bounded by
  the drive alone; with a break in the gap, the start is what the break pushes back.)
- Locks: a locked visit, when served, is on its technician's route [locked_technician] and starts at
  its locked start [locked_start].
- Totals: each route's travel and overtime are the sums of its parts [route_totals]; the plan's served
  count, priority weight, travel, overtime and window violations are the sums over its routes
  [plan_totals].
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from .model import Place, Plan, Problem, Reason, Route, Stop, TechnicianInput, VisitInput
from .travel import Matrix


@dataclass(frozen=True)
class Violation:
    """One broken rule: a code (see the module's docstring), the visit and/or technician it concerns,
    and a message for people."""

    code: str
    message: str
    visit_id: int | None = None
    technician_id: int | None = None


def _hm(moment: datetime) -> str:
    return f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"


def _drive(seconds: int) -> str:
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min"


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


class _Checker:
    def __init__(self, problem: Problem, plan: Plan, matrix: Matrix) -> None:
        self.problem, self.plan, self.matrix = problem, plan, matrix
        self.violations: list[Violation] = []

    def add(self, code: str, message: str, *, visit: int | None = None, technician: int | None = None) -> None:
        self.violations.append(Violation(code=code, message=message, visit_id=visit, technician_id=technician))

    def visit_name(self, visit_id: int) -> str:
        visit = self.problem.visit_by_id.get(visit_id)
        return visit.name if visit is not None else f"Visit {visit_id}"

    def run(self) -> list[Violation]:
        self.coverage()
        seen: set[int] = set()
        for route in self.plan.routes:
            tech = self.problem.technician_by_id.get(route.technician_id)
            if tech is None:
                message = f"A route belongs to technician {route.technician_id}, who is not in the problem."
                self.add("unknown_technician", message, technician=route.technician_id)
                continue
            if tech.id in seen:
                self.add("duplicate_route", f"{tech.name} has more than one route.", technician=tech.id)
            seen.add(tech.id)
            self.route(tech, route)
        self.plan_totals()
        return self.violations

    def coverage(self) -> None:
        counts = Counter(stop.visit_id for route in self.plan.routes for stop in route.stops)
        counts.update(item.visit_id for item in self.plan.unassigned)
        for visit_id, count in sorted(counts.items()):
            if visit_id not in self.problem.visit_by_id:
                self.add("unknown_visit", f"The plan holds visit {visit_id}, which is not in the problem.", visit=visit_id)
            elif count > 1:
                self.add("duplicate_visit", f"{self.visit_name(visit_id)} appears {count} times in the plan.", visit=visit_id)
        for visit in self.problem.visits:
            if visit.id not in counts:
                self.add("missing_visit", f"{visit.name} is neither on a route nor unassigned.", visit=visit.id)
        known = {r.value for r in Reason}
        for item in self.plan.unassigned:
            if item.code not in known:
                self.add("unknown_reason", f"{self.visit_name(item.visit_id)} is unassigned for an unknown reason {item.code!r}.", visit=item.visit_id)

    def leg(self, origin: Place, destination: Place, *, visit: int | None, technician: int, what: str) -> tuple[int, int] | None:
        """(seconds, metres) from the matrix, or None (reported) when a place is not in it."""
        if origin not in self.matrix or destination not in self.matrix:
            self.add("travel_unknown", f"The travel matrix has no entry for {what}.", visit=visit, technician=technician)
            return None
        return self.matrix.travel(origin, destination)

    def route(self, tech: TechnicianInput, route: Route) -> None:
        if not tech.works:
            if route.stops:
                self.add("no_shift", f"{tech.name} has no shift that day but has {len(route.stops)} stop(s).", technician=tech.id)
            return
        assert tech.shift_start is not None
        assert tech.shift_end is not None
        if route.departure < tech.shift_start:
            self.add("before_shift", f"{tech.name} leaves at {_hm(route.departure)}, before the shift starts at {_hm(tech.shift_start)}.", technician=tech.id)
        place: Place | None = tech.start_place
        previous_end = route.departure
        for stop in route.stops:
            visit = self.problem.visit_by_id.get(stop.visit_id)
            if visit is None:  # reported as unknown_visit; with its place unknown, the next leg goes unchecked
                place, previous_end = None, stop.end
                continue
            self.stop(tech, stop, visit, place, previous_end)
            place, previous_end = visit.place, stop.end
        self.way_back(tech, route, place, previous_end)
        self.rest(tech, route)
        self.route_totals(tech, route)

    def stop(self, tech: TechnicianInput, stop: Stop, visit: VisitInput, place: Place | None, previous_end: datetime) -> None:
        name = visit.name

        def flag(code: str, message: str) -> None:
            self.add(code, message, visit=visit.id, technician=tech.id)

        missing = visit.required_skill_ids - tech.skill_ids
        if missing:
            flag("missing_skill", f"{tech.name} lacks skill(s) {sorted(missing)} that {name} requires.")
        if visit.locked_technician_id is not None and visit.locked_technician_id != tech.id:
            flag("locked_technician", f"{name} is locked to another technician but is on {tech.name}'s route.")
        if visit.locked_start is not None and stop.start != visit.locked_start:
            flag("locked_start", f"{name} is locked to start at {_hm(visit.locked_start)} but starts at {_hm(stop.start)}.")
        if not visit.window_start <= stop.start <= visit.window_end:
            flag("outside_window", f"{name} starts at {_hm(stop.start)}, outside its arrival window {_hm(visit.window_start)}–{_hm(visit.window_end)}.")
        if stop.start < stop.arrival:
            flag("start_before_arrival", f"{name} starts at {_hm(stop.start)}, before the arrival at {_hm(stop.arrival)}.")
        if stop.end != stop.start + visit.duration:
            flag("wrong_end", f"{name} ends at {_hm(stop.end)}, not {visit.duration_minutes} minutes after its start.")
        if visit.place is None:
            flag("no_coordinates", f"{name} has no coordinates but is on {tech.name}'s route.")
            return
        if place is None:
            return  # the previous stop had no place (reported there)
        if stop.arrival < previous_end:
            flag("out_of_order", f"{name}: arrival at {_hm(stop.arrival)}, before leaving the previous place at {_hm(previous_end)}.")
        travel = self.leg(place, visit.place, visit=visit.id, technician=tech.id, what=f"the way to {name}")
        if travel is None:
            return
        seconds, metres = travel
        if (stop.travel_seconds, stop.travel_metres) != (seconds, metres):
            flag(
                "travel_mismatch", f"The way to {name} is given as {stop.travel_seconds} s / {stop.travel_metres} m; the matrix says {seconds} s / {metres} m."
            )
        if stop.arrival >= previous_end and stop.arrival < previous_end + timedelta(seconds=seconds):
            flag("travel_time", f"{name}: arrival at {_hm(stop.arrival)} leaves less than the {_drive(seconds)} drive after {_hm(previous_end)}.")

    def way_back(self, tech: TechnicianInput, route: Route, place: Place | None, previous_end: datetime) -> None:
        assert tech.shift_end is not None
        if place is not None:
            travel = self.leg(place, tech.end_place, visit=None, technician=tech.id, what=f"{tech.name}'s way back")
            if travel is not None:
                seconds, metres = travel
                if (route.return_travel_seconds, route.return_travel_metres) != (seconds, metres):
                    self.add(
                        "travel_mismatch",
                        f"{tech.name}'s way back is given as {route.return_travel_seconds} s / {route.return_travel_metres} m; "
                        f"the matrix says {seconds} s / {metres} m.",
                        technician=tech.id,
                    )
                if route.end < previous_end + timedelta(seconds=seconds):
                    self.add("travel_time", f"{tech.name} is back at {_hm(route.end)}, sooner than the drive back allows.", technician=tech.id)
        if route.end > tech.shift_end and not self.problem.allow_overtime:
            self.add("overtime", f"{tech.name} is back at {_hm(route.end)}, after the shift ends at {_hm(tech.shift_end)}.", technician=tech.id)

    def rest(self, tech: TechnicianInput, route: Route) -> None:
        window = tech.break_window
        if route.break_start is None:
            if window is not None and route.stops:
                self.add("break_missing", f"{tech.name} takes no break.", technician=tech.id)
            return
        if window is None:
            self.add("unexpected_break", f"{tech.name} has no break to take, but the route holds one.", technician=tech.id)
            return
        assert tech.shift_start is not None
        assert tech.shift_end is not None
        start, end = route.break_start, route.break_start + window.length
        latest = tech.shift_end if not self.problem.allow_overtime else max(tech.shift_end, route.end)
        if start < window.earliest_start or end > window.latest_end or start < tech.shift_start or end > latest:
            self.add(
                "break_outside_range",
                f"{tech.name}'s break {_hm(start)}–{_hm(end)} is not inside {_hm(window.earliest_start)}–{_hm(window.latest_end)} and the shift.",
                technician=tech.id,
            )
        if end <= route.departure or start >= route.end:
            return  # before leaving or after coming back
        # Between two services: the gap must hold the drive and the break, in whatever order.
        stops = route.stops
        gaps = [(route.departure, stops[0].start if stops else route.end, stops[0].travel_seconds if stops else route.return_travel_seconds)]
        gaps += [(a.end, b.start, b.travel_seconds) for a, b in pairwise(stops)]
        if stops:
            gaps.append((stops[-1].end, route.end, route.return_travel_seconds))
        for gap_start, gap_end, travel in gaps:
            if gap_start <= start and end <= gap_end:
                if _seconds(gap_end - gap_start) < travel + window.minutes * 60:
                    self.add("break_overlap", f"{tech.name}'s break leaves no time to drive between {_hm(gap_start)} and {_hm(gap_end)}.", technician=tech.id)
                return
        self.add("break_overlap", f"{tech.name}'s break {_hm(start)}–{_hm(end)} overlaps a visit, the departure or the return.", technician=tech.id)

    def route_totals(self, tech: TechnicianInput, route: Route) -> None:
        assert tech.shift_end is not None
        expected = {
            "travel_seconds": sum(s.travel_seconds for s in route.stops) + route.return_travel_seconds,
            "travel_metres": sum(s.travel_metres for s in route.stops) + route.return_travel_metres,
            "overtime_seconds": max(0, _seconds(route.end - tech.shift_end)),
        }
        for name, value in expected.items():
            if getattr(route, name) != value:
                self.add("route_totals", f"{tech.name}'s route gives {name} = {getattr(route, name)}; its parts add up to {value}.", technician=tech.id)

    def plan_totals(self) -> None:
        stops = [stop for route in self.plan.routes for stop in route.stops]
        visits = self.problem.visit_by_id
        served = [(stop, visits[stop.visit_id]) for stop in stops if stop.visit_id in visits]
        expected = {
            "served": len(stops),
            "weighted_served": sum(v.weight for _, v in served),
            "travel_seconds": sum(r.travel_seconds for r in self.plan.routes),
            "travel_metres": sum(r.travel_metres for r in self.plan.routes),
            "overtime_seconds": sum(r.overtime_seconds for r in self.plan.routes),
            "window_violations": sum(1 for s, v in served if not v.window_start <= s.start <= v.window_end),
        }
        for name, value in expected.items():
            if getattr(self.plan, name) != value:
                self.add("plan_totals", f"The plan gives {name} = {getattr(self.plan, name)}; its routes add up to {value}.")


def validate(problem: Problem, plan: Plan, matrix: Matrix) -> list[Violation]:
    """Every rule `plan` breaks for `problem` with travel from `matrix` (empty: the plan is valid).
    Never raises for a plan of the model's types with aware datetimes, whatever it holds (unknown ids,
    places missing from the matrix, routes of technicians who are off)."""
    return _Checker(problem, plan, matrix).run()
