"""The dashboard: counts by status, today's jobs, jobs on hold, today's dispatch exceptions (office
roles), and a 30-day created/completed chart drawn as inline SVG on the server (no chart library,
nothing to load)."""

import math
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import queries

CHART_W, CHART_H = 760, 240
EXCEPTIONS_SHOWN = 5  # the rest are on the dispatch board
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 12, 14, 30


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass
class Point:
    x: float
    y: float
    label: str


@dataclass
class Tick:
    y: float
    value: int


@dataclass
class XLabel:
    x: float
    text: str


@dataclass
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: float
    bars: list[Bar]
    points: list[Point]
    ticks: list[Tick]
    x_labels: list[XLabel]
    polyline: str
    created_total: int
    completed_total: int


def _nice_step(peak: int, steps: int = 4) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50… such that `steps` steps reach `peak`."""
    raw = max(peak, 1) / steps
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)


def created_completed_chart(days: list[dict]) -> Chart:
    """Geometry of the bar (created) and line (completed) chart, in SVG user units."""
    plot_w = CHART_W - PAD_LEFT - PAD_RIGHT
    plot_h = CHART_H - PAD_TOP - PAD_BOTTOM
    bottom = PAD_TOP + plot_h
    peak = max([max(d["created"], d["completed"]) for d in days] or [0])
    step = _nice_step(peak)
    top_value = step * 4
    slot = plot_w / max(len(days), 1)

    def y_of(value: int) -> float:
        return round(bottom - value / top_value * plot_h, 1)

    bars, points, labels = [], [], []
    for i, d in enumerate(days):
        day = d["day"]
        when = f"{day:%a %b} {day.day}"
        x = PAD_LEFT + i * slot
        height = round(d["created"] / top_value * plot_h, 1)
        bars.append(Bar(round(x + slot * 0.18, 1), round(bottom - height, 1), round(slot * 0.64, 1), height, f"{when}: {d['created']} created"))
        points.append(Point(round(x + slot / 2, 1), y_of(d["completed"]), f"{when}: {d['completed']} completed"))
        if (len(days) - 1 - i) % 7 == 0:
            labels.append(XLabel(round(x + slot / 2, 1), f"{day:%b} {day.day}"))
    return Chart(
        width=CHART_W,
        height=CHART_H,
        plot_left=PAD_LEFT,
        plot_right=CHART_W - PAD_RIGHT,
        plot_bottom=bottom,
        bars=bars,
        points=points,
        ticks=[Tick(y_of(step * k), step * k) for k in range(5)],
        x_labels=labels,
        polyline=" ".join(f"{p.x},{p.y}" for p in points),
        created_total=sum(d["created"] for d in days),
        completed_total=sum(d["completed"] for d in days),
    )


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    data = queries.dashboard(request.user)
    context = {
        **data,
        "chart": created_completed_chart(data["chart"]),
        "count_cap": queries.COUNT_CAP,
        "nav_active": "dashboard",
        "can_create": request.user.has_perm("jobs.create_job"),
        "sees_all": request.user.has_perm("jobs.view_all_jobs"),
    }
    if request.user.has_perm("dispatch.view_board"):
        context["dispatch"] = _dispatch_exceptions()
    return render(request, "jobs/dashboard.html", context)


def _dispatch_exceptions() -> dict:
    """Today's dispatch exceptions, from the same module as the dispatch board, so both agree."""
    # Imported here: the jobs app does not depend on dispatch when it loads (dispatch depends on jobs).
    from serviceopus.dispatch.queries import day_exceptions, exception_counts

    items = day_exceptions(timezone.localdate())
    first = items[:EXCEPTIONS_SHOWN]
    return {"counts": exception_counts(items), "first": first, "total": len(items), "more": len(items) - len(first)}
