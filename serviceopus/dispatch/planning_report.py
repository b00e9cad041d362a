"""What the run page shows of a finished PlanningRun, computed from its stored result alone (no query):
the KPIs of the day as booked and as proposed, each technician's two route lists side by side, the
changes in words, and an SVG plot of the routes over the stops' coordinates (one colour per technician,
drawn here so the page needs no map or chart library)."""

from dataclasses import dataclass, field
from datetime import datetime
from math import cos, radians
from typing import Any

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .planner.model import REASON_TEXT, Reason


def _when(value: str | None) -> datetime | None:
    return timezone.localtime(datetime.fromisoformat(value)) if value else None


def _hm(value: str | None) -> str:
    moment = _when(value)
    return moment.strftime("%H:%M") if moment else "—"


def _duration(seconds: int) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


@dataclass
class Kpi:
    label: str
    current: str
    proposed: str
    better: bool | None  # None: no change


@dataclass
class StopRow:
    visit_id: int
    label: str
    customer: str
    window: str
    arrival: str
    start: str
    end: str
    leg: str  # "12 min · 4.1 km"
    late: bool


@dataclass
class RouteColumn:
    stops: list[StopRow] = field(default_factory=list)
    departure: str = ""
    home: str = ""  # "back 16:40 (18 min · 6.0 km)"
    back: str = ""  # "16:40"
    travel: str = ""
    overtime: str = ""


@dataclass
class TechnicianRoutes:
    technician_id: int
    name: str
    colour: str
    shift: str
    current: RouteColumn
    proposed: RouteColumn
    changed: bool
    report: dict | None = None  # what accepting this route did


@dataclass
class Change:
    kind: str  # moved | assigned | retimed | released | unassigned
    text: str
    visit_id: int = 0  # for the "Why?" link


@dataclass
class Report:
    kpis: list[Kpi]
    routes: list[TechnicianRoutes]
    changes: list[Change]
    unchanged: int
    fixed: list[str]  # locked visits and why
    idle: list[dict]
    plot_current: SafeString
    plot_proposed: SafeString
    empty: bool  # nothing to plan that day
    pending: int = 0  # changed routes not accepted yet


def _column(route: dict | None, visits: dict[str, dict]) -> RouteColumn:
    if route is None:
        return RouteColumn()
    column = RouteColumn(departure=_hm(route["departure"]))
    for stop in route["stops"]:
        v = visits[str(stop["visit_id"])]
        window = v.get("window") or [None, None]
        # Compared as instants: the window comes from the database (UTC), the start from the planner (local).
        late = bool(window[0] and window[1] and not _when(window[0]) <= _when(stop["start"]) <= _when(window[1]))  # type: ignore[operator]
        column.stops.append(
            StopRow(
                visit_id=stop["visit_id"],
                label=v["label"],
                customer=v["customer"],
                window=f"{_hm(window[0])}–{_hm(window[1])}",
                arrival=_hm(stop["arrival"]),
                start=_hm(stop["start"]),
                end=_hm(stop["end"]),
                leg=f"{_duration(stop['travel_seconds'])} · {stop['travel_metres'] / 1000:.1f} km",
                late=late,
            )
        )
    column.back = _hm(route["end"])
    column.home = f"back {_hm(route['end'])} ({_duration(route['return_travel_seconds'])} · {route['return_travel_metres'] / 1000:.1f} km)"
    column.travel = f"{route['travel_metres'] / 1000:.1f} km · {_duration(route['travel_seconds'])}"
    column.overtime = _duration(route["overtime_seconds"]) if route["overtime_seconds"] else ""
    return column


def _kpis(current: dict, proposed: dict, total: int) -> list[Kpi]:
    same_work = current["served"] == proposed["served"]

    def kpi(label: str, key: str, show: Any, more_is_better: bool) -> Kpi:
        a, b = current[key], proposed[key]
        # More travel for more visits served is not worse: travel is judged only for the same work.
        judged = key == "served" or same_work or key in ("overtime_seconds", "window_violations")
        return Kpi(label, show(a), show(b), None if a == b or not judged else (b > a) == more_is_better)

    return [
        kpi("Visits served", "served", lambda n: f"{n} of {total}", True),
        kpi("Travel distance", "travel_metres", lambda m: f"{m / 1000:.1f} km", False),
        kpi("Travel time", "travel_seconds", _duration, False),
        kpi("Overtime", "overtime_seconds", lambda s: _duration(s) if s else "none", False),
        kpi("Window violations", "window_violations", str, False),
    ]


def _reason_text(item: dict) -> str:
    try:
        return REASON_TEXT[Reason(item["code"])] if not item.get("text") else item["text"]
    except ValueError:
        return item.get("text") or item["code"]


def _changes(result: dict, names: dict[int, str]) -> tuple[list[Change], int, list[str]]:
    visits = result["visits"]
    planned = {s["visit_id"]: (r["technician_id"], s["start"]) for r in result["proposed"]["routes"] for s in r["stops"]}
    left_out = {u["visit_id"]: u for u in result["proposed"]["unassigned"]}
    changes: list[Change] = []
    fixed: list[str] = []
    unchanged = 0
    for key, v in sorted(visits.items(), key=lambda kv: (kv[1]["start"] or "", kv[1]["label"])):
        visit_id = int(key)
        before_tech, before_start = v["technician_id"], v["start"]
        who = names.get(before_tech, "someone") if before_tech else ""
        if v["locked"] and visit_id in planned:
            fixed.append(f"{v['label']} stays with {who or 'nobody'} at {_hm(before_start)}: {v['why_fixed']}")
            continue
        if visit_id in planned:
            tech, start = planned[visit_id]
            if before_tech is None:
                changes.append(Change("assigned", f"{v['label']} ({v['customer']}): newly assigned to {names.get(tech)} at {_hm(start)}", visit_id))
            elif before_tech != tech:
                moved = f"moved from {who} {_hm(before_start)} to {names.get(tech)} {_hm(start)}"
                changes.append(Change("moved", f"{v['label']} ({v['customer']}): {moved}", visit_id))
            elif _hm(before_start) != _hm(start):
                changes.append(Change("retimed", f"{v['label']} ({v['customer']}): {who}, {_hm(before_start)} → {_hm(start)}", visit_id))
            else:
                unchanged += 1
        elif visit_id in left_out:
            why = _reason_text(left_out[visit_id])
            if before_tech is not None:
                changes.append(Change("released", f"{v['label']} ({v['customer']}): taken off {who}'s day — {why}", visit_id))
            else:
                changes.append(Change("unassigned", f"{v['label']} ({v['customer']}): left unassigned — {why}", visit_id))
    order = {"moved": 0, "assigned": 1, "retimed": 2, "released": 3, "unassigned": 4}
    changes.sort(key=lambda c: order[c.kind])
    return changes, unchanged, fixed


# Used when technicians share a board colour (the default is one blue): a plot needs one per route.
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4f46e5", "#65a30d", "#0d9488", "#7c2d12")


def colours(technicians: list[dict]) -> dict[int, str]:
    """Each technician's colour: their own, unless someone listed before has it already."""
    taken: set[str] = set()
    chosen: dict[int, str] = {}
    spare = iter(PALETTE * 4)
    for tech in technicians:
        colour = tech["colour"].lower()
        while colour in taken:
            colour = next(spare, "#64748b")
            if colour == "#64748b":
                break
        taken.add(colour)
        chosen[tech["id"]] = colour
    return chosen


def plot(result: dict, which: str, *, width: int = 520, height: int = 380) -> SafeString:
    """The routes of `which` ("current" or "proposed") as an inline SVG: homes as squares, stops as
    numbered dots joined in route order, unplanned visits as hollow grey dots."""
    techs = {t["id"]: t for t in result["technicians"]}
    palette = colours(result["technicians"])
    points = [tuple(t["home"]) for t in techs.values()] + [tuple(v["place"]) for v in result["visits"].values() if v.get("place")]
    if not points:
        return mark_safe("")
    lats = [p[0] for p in points]
    lngs = [p[1] for p in points]
    mid = (min(lats) + max(lats)) / 2
    # Equirectangular: a degree of longitude is cos(latitude) of a degree of latitude.
    span_x = max((max(lngs) - min(lngs)) * cos(radians(mid)), 1e-4)
    span_y = max(max(lats) - min(lats), 1e-4)
    pad = 24
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)

    def xy(lat: float, lng: float) -> tuple[float, float]:
        x = pad + (lng - min(lngs)) * cos(radians(mid)) * scale + ((width - 2 * pad) - span_x * scale) / 2
        y = height - pad - (lat - min(lats)) * scale - ((height - 2 * pad) - span_y * scale) / 2
        return round(x, 1), round(y, 1)

    parts = [
        f'<svg class="plan-plot" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(which.title())} routes" '
        f'xmlns="http://www.w3.org/2000/svg"><rect width="{width}" height="{height}" fill="#f8fafc" rx="8"/>'
    ]
    served: set[int] = set()
    for route in result[which]["routes"]:
        tech = techs.get(route["technician_id"])
        if tech is None:
            continue
        colour = escape(palette[tech["id"]])
        home = xy(*tech["home"])
        path = [home]
        for stop in route["stops"]:
            place = result["visits"][str(stop["visit_id"])].get("place")
            if place:
                path.append(xy(*place))
        path.append(home)
        line = " ".join(f"{x},{y}" for x, y in path)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2.5" stroke-linejoin="round" opacity="0.85"/>')
        for n, stop in enumerate(route["stops"], start=1):
            served.add(stop["visit_id"])
            visit = result["visits"][str(stop["visit_id"])]
            if not visit.get("place"):
                continue
            x, y = xy(*visit["place"])
            parts.append(
                f"<g><title>{escape(tech['name'])} · {n}. {escape(visit['label'])} at {_hm(stop['start'])}</title>"
                f'<circle cx="{x}" cy="{y}" r="9" fill="{colour}" stroke="#fff" stroke-width="1.5"/>'
                f'<text x="{x}" y="{y + 3.5}" text-anchor="middle" font-size="10" font-weight="700" fill="#fff">{n}</text></g>'
            )
    for tech in techs.values():
        x, y = xy(*tech["home"])
        parts.append(
            f'<g><title>{escape(tech["name"])}: home base</title><rect x="{x - 6}" y="{y - 6}" width="12" height="12" '
            f'fill="{escape(palette[tech["id"]])}" stroke="#0f172a" stroke-width="1.5"/></g>'
        )
    for key, visit in result["visits"].items():
        if int(key) not in served and visit.get("place"):
            x, y = xy(*visit["place"])
            parts.append(
                f"<g><title>{escape(visit['label'])}: not on a route</title>"
                f'<circle cx="{x}" cy="{y}" r="7" fill="#fff" stroke="#94a3b8" stroke-width="2" stroke-dasharray="3 2"/></g>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text in it is escaped above


def report(run_result: dict, applied: dict | None = None) -> Report:
    result = run_result
    names = {t["id"]: t["name"] for t in result["technicians"]}
    visits = result["visits"]
    total = len(visits)
    current = {r["technician_id"]: r for r in result["current"]["routes"]}
    proposed = {r["technician_id"]: r for r in result["proposed"]["routes"]}
    done = (applied or {}).get("routes", {})
    palette = colours(result["technicians"])
    routes = []
    for tech in result["technicians"]:
        tid = tech["id"]
        if tid not in current and tid not in proposed:
            continue
        before, after = _column(current.get(tid), visits), _column(proposed.get(tid), visits)
        changed = [(s.visit_id, s.start) for s in before.stops] != [(s.visit_id, s.start) for s in after.stops]
        shift = f"{_hm(tech['shift'][0])}–{_hm(tech['shift'][1])}" if tech["shift"] else "no shift"
        routes.append(TechnicianRoutes(tid, tech["name"], palette[tid], shift, before, after, changed, done.get(str(tid))))
    changes, unchanged, fixed = _changes(result, names)
    return Report(
        kpis=_kpis(result["current"], result["proposed"], total),
        routes=routes,
        changes=changes,
        unchanged=unchanged,
        fixed=fixed,
        idle=result.get("idle", []),
        plot_current=plot(result, "current"),
        plot_proposed=plot(result, "proposed"),
        empty=total == 0,
        pending=sum(1 for r in routes if r.changed and not (r.report and r.report["status"] == "applied")),
    )
