"""Problems and plans as JSON-safe dicts and back, so a stored planning run can be explained later
(explain.py) exactly as it was planned, without reading the database again."""

from datetime import date, datetime
from typing import Any

from .model import BreakWindow, Place, Plan, Problem, Route, Stop, TechnicianInput, Unassigned, VisitInput


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _place(place: Place | None) -> list[float] | None:
    return [place.lat, place.lng] if place is not None else None


def _at(pair: list[float] | None) -> Place | None:
    return Place(pair[0], pair[1]) if pair is not None else None


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    return {
        "day": problem.day.isoformat(),
        "allow_overtime": problem.allow_overtime,
        "technicians": [
            {
                "id": t.id,
                "name": t.name,
                "shift": [_iso(t.shift_start), _iso(t.shift_end)],
                "start": _place(t.start_place),
                "end": _place(t.end_place),
                "skills": sorted(t.skill_ids),
                "break": [_iso(t.break_window.earliest_start), _iso(t.break_window.latest_end), t.break_window.minutes] if t.break_window else None,
            }
            for t in problem.technicians
        ],
        "visits": [
            {
                "id": v.id,
                "place": _place(v.place),
                "duration": v.duration_minutes,
                "window": [_iso(v.window_start), _iso(v.window_end)],
                "skills": sorted(v.required_skill_ids),
                "priority": v.priority,
                "must": v.must,
                "locked_technician": v.locked_technician_id,
                "locked_start": _iso(v.locked_start),
                "label": v.label,
            }
            for v in problem.visits
        ],
    }


def problem_from_dict(data: dict[str, Any]) -> Problem:
    technicians = []
    for t in data["technicians"]:
        rest = t["break"]
        technicians.append(
            TechnicianInput(
                id=t["id"],
                name=t["name"],
                shift_start=_when(t["shift"][0]),
                shift_end=_when(t["shift"][1]),
                start_place=Place(*t["start"]),
                end_place=Place(*t["end"]),
                skill_ids=frozenset(t["skills"]),
                break_window=BreakWindow(datetime.fromisoformat(rest[0]), datetime.fromisoformat(rest[1]), rest[2]) if rest else None,
            )
        )
    visits = [
        VisitInput(
            id=v["id"],
            place=_at(v["place"]),
            duration_minutes=v["duration"],
            window_start=datetime.fromisoformat(v["window"][0]),
            window_end=datetime.fromisoformat(v["window"][1]),
            required_skill_ids=frozenset(v["skills"]),
            priority=v["priority"],
            must=v["must"],
            locked_technician_id=v["locked_technician"],
            locked_start=_when(v["locked_start"]),
            label=v["label"],
        )
        for v in data["visits"]
    ]
    return Problem(day=date.fromisoformat(data["day"]), technicians=technicians, visits=visits, allow_overtime=data["allow_overtime"])


def plan_from_dict(problem: Problem, data: dict[str, Any]) -> Plan:
    """A plan from its stored form (dispatch/planning.py `plan_json`): routes for the problem's
    technicians, and the unassigned visits that belong to the problem (those set aside before it, such
    as visits blocked by parts, are not in it)."""
    routes = []
    for r in data["routes"]:
        tech = problem.technician_by_id[r["technician_id"]]
        stops = [
            Stop(
                visit_id=s["visit_id"],
                arrival=datetime.fromisoformat(s["arrival"]),
                start=datetime.fromisoformat(s["start"]),
                end=datetime.fromisoformat(s["end"]),
                travel_seconds=s["travel_seconds"],
                travel_metres=s["travel_metres"],
            )
            for s in r["stops"]
        ]
        routes.append(
            Route.build(
                tech,
                stops,
                departure=datetime.fromisoformat(r["departure"]),
                end=datetime.fromisoformat(r["end"]),
                return_travel_seconds=r["return_travel_seconds"],
                return_travel_metres=r["return_travel_metres"],
                break_start=_when(r["break_start"]),
            )
        )
    unassigned = [Unassigned(u["visit_id"], u["code"], u["text"]) for u in data["unassigned"] if u["visit_id"] in problem.visit_by_id]
    return Plan.build(problem, routes, unassigned)
