"""The live dispatch board: one day, technicians as rows, visits as blocks; the drag that reassigns or
reschedules a visit (or books a waiting job's first visit), the poll that keeps every open board
current, and a block's quick info.

The drag and the poll answer JSON that dispatch_board.js applies; every write goes through
dispatch.actions (visit_update, visit_schedule) with its availability checks, override rule and
version check. A refused drag changes nothing and says why.
"""

from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput

from .. import actions, queries
from ..exceptions import LABELS, DispatchException, exceptions_for
from ..models import Visit
from ..status import FINAL, VisitStatus

V = VisitStatus
POLL_SECONDS = 5  # settings.DISPATCH_BOARD_POLL_SECONDS overrides it


def _require_board(request: HttpRequest) -> None:
    # Like the job board: a signed-in user without the capability gets 403.
    if not request.user.has_perm("dispatch.view_board"):
        raise PermissionDenied("You may not open the dispatch board.")


def _parse_day(value: str | None) -> date | None:
    if not value:
        return queries.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _local_minutes(moment: datetime | None, day: date, *, default: int = 0, tz: tzinfo | None = None) -> int:
    """Wall-clock minutes since the day's midnight (what the hour columns show), clamped to the day."""
    if moment is None:
        return default
    local = moment.astimezone(tz or timezone.get_current_timezone())
    if local.date() < day:
        return 0
    if local.date() > day:
        return 24 * 60
    return local.hour * 60 + local.minute


def visit_data(visit: Visit, exceptions: list[DispatchException] | None = None, crew: list[tuple[int, bool]] | None = None) -> dict[str, Any]:
    """A visit as a board block: what the page prints and the JavaScript re-renders from. `crew`
    ((technician id, is lead), as queries.Board.crew holds it) saves reading `visit.crew`."""
    if crew is None:
        crew = [(m.technician_id, m.is_lead) for m in visit.crew.all()]
    # Looked up once: the current zone sits behind a thread-local that costs more than the arithmetic.
    tz = timezone.get_current_timezone()
    day = visit.scheduled_start.astimezone(tz).date() if visit.scheduled_start else None
    start = _local_minutes(visit.scheduled_start, day, tz=tz) if day else 0
    ws = _local_minutes(visit.window_start, day, default=start, tz=tz) if day else 0
    we = _local_minutes(visit.window_end, day, default=start, tz=tz) if day else 0
    return {
        "id": visit.pk,
        "job": visit.job_id,
        "number": visit.job.number,
        "visit_number": visit.number,
        "customer": visit.job.customer.name,
        "status": visit.status,
        "label": V(visit.status).label,
        "version": visit.version,
        "day": day.isoformat() if day else None,
        "s": start,
        "d": visit.duration_minutes,
        "ws": ws,
        "we": we,
        "when": f"{start // 60:02d}:{start % 60:02d}" if day else "",
        "lead": next((t for t, is_lead in crew if is_lead), None),
        "helpers": [t for t, is_lead in crew if not is_lead],
        "ex": [e.kind for e in exceptions or []],
        # The predicted arrival (dispatch/eta.py) while the crew has yet to get there.
        "eta": f"{visit.eta.astimezone(tz):%H:%M}" if visit.eta and visit.status in (V.SCHEDULED, V.EN_ROUTE) else "",
        "locked": visit.locked,  # day planning keeps it where it is
    }


def block_html(b: dict[str, Any], lead: bool) -> str:
    """One block's markup (the same the script builds from the same data). Built here, not in the
    template: a busy day has 1,500+ blocks and the template engine spends about a millisecond on each."""
    classes = f"vb st-{b['status']}{'' if lead else ' helper'}{' has-ex' if b['ex'] else ''}"
    ex = f' data-ex="{escape(" ".join(b["ex"]))}"' if b["ex"] else ""
    eta = f' <span class="eta">ETA {b["eta"]}</span>' if b["eta"] else ""
    lock = '<span class="lock" role="img" aria-label="Locked for day planning" title="Locked for day planning">🔒</span>' if b["locked"] else ""
    title = f' title="ETA {b["eta"]}"' if b["eta"] else ""  # a short block cuts its label off
    return (
        f'<div class="{classes}" draggable="true" tabindex="0" data-v="{b["id"]}" data-ver="{b["version"]}" data-job="{b["job"]}"{ex}{title}'
        f' style="--s:{b["s"]};--d:{b["d"]};--ws:{b["ws"]};--we:{b["we"]}"><i class="win"></i>'
        f'<span class="t">{lock}<b>{escape(b["number"])}</b>{eta} {escape(b["customer"])}</span></div>'
    )


def exception_data(item: queries.DayException) -> dict[str, Any]:
    return {
        "visit": item.visit.pk,
        "kind": item.exception.kind,
        "label": item.exception.label,
        "message": item.exception.message,
        "number": item.visit.job.number,
        "customer": item.visit.job.customer.name,
    }


def _hours_label(minutes: int) -> str:
    return f"{minutes / 60:.1f}".removesuffix(".0") + " h"


def _poll_ms() -> int:
    return int(float(getattr(settings, "DISPATCH_BOARD_POLL_SECONDS", POLL_SECONDS)) * 1000)


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    _require_board(request)
    day = _parse_day(request.GET.get("day"))
    if day is None:
        messages.warning(request, "That is not a date (use YYYY-MM-DD); showing today.")
        day = queries.today()
    data = queries.board(day)
    blocks = {v.pk: visit_data(v, data.exceptions.get(v.pk), data.crew.get(v.pk, [])) for row in data.rows for v in row.visits}
    rows = [
        {
            "id": row.technician.pk,
            "name": row.technician.name,
            "color": row.technician.color,
            "skills": " ".join(str(s.pk) for s in row.technician.skills.all()),
            "load": _hours_label(row.booked_minutes) if row.visits else "",
            "blocks": mark_safe("".join(block_html(blocks[v.pk], blocks[v.pk]["lead"] == row.technician.pk) for v in row.visits)),  # noqa: S308 — escaped in block_html
        }
        for row in data.rows
    ]
    skills = sorted({s for row in data.rows for s in row.technician.skills.all()}, key=lambda s: s.name)
    visits_by_id = {v.pk: v for row in data.rows for v in row.visits} | {v.pk: v for v in data.unassigned}
    exceptions = queries.sort_exceptions(data.exceptions, visits_by_id)
    context = {
        "day": day,
        "is_today": day == queries.today(),
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "hours": data.hours,
        "start_minute": data.start_hour * 60,
        "span_minutes": (data.end_hour - data.start_hour) * 60,
        "rows": rows,
        "skills": skills,
        # Still to plan: a visit that went ahead without a crew on the board is history, not work.
        "unassigned": [visit_data(v, data.exceptions.get(v.pk), []) for v in data.unassigned if v.status not in FINAL],
        "drafts": [visit_data(v) for v in data.drafts],
        "new_jobs": data.new_jobs,
        "exceptions": [exception_data(e) for e in exceptions],
        "exception_counts": queries.exception_counts(exceptions),
        "visit_count": data.visit_count,
        "cursor": data.cursor,
        "now_minute": _local_minutes(timezone.now(), day),
        "statuses": [(s, label) for s, label in V.choices if s != V.CANCELLED],
        "poll_ms": _poll_ms(),
        "can_override": request.user.has_perm("dispatch.override_checks"),
        "nav_active": "dispatch",
    }
    return render(request, "dispatch/board.html", context)


@login_required
@require_GET
def changes(request: HttpRequest) -> JsonResponse:
    """The board's poll: the visits changed since `since` (any day: the board drops those that left
    its day) and, when any changed or the board asks (`exceptions=1`, every half minute: time alone
    makes a visit late), the day's exceptions. Recomputing them reads the whole day, the costly part
    at 1,500 visits, so a quiet poll skips it."""
    _require_board(request)
    day = _parse_day(request.GET.get("day"))
    if day is None:
        return JsonResponse({"code": "invalid", "message": "Unreadable day.", "fields": {"day": "Use YYYY-MM-DD."}}, status=400)
    cursor = queries.changes_cursor()
    since_text = request.GET.get("since", "")
    changed: list[Visit] = []
    if since_text:
        try:
            since = datetime.fromisoformat(since_text)
        except ValueError:
            since = None
        if since is None or timezone.is_naive(since):
            return JsonResponse({"code": "invalid", "message": "Unreadable cursor.", "fields": {"since": "Pass back the cursor you were given."}}, status=400)
        changed = queries.changes_since(since, limit=CHANGES_LIMIT)
    body: dict[str, Any] = {
        "cursor": cursor,
        "now": _local_minutes(timezone.now(), day, default=-1),
        # More changes than one answer carries (a bulk re-plan): the board reloads instead.
        "reload": len(changed) >= CHANGES_LIMIT,
    }
    by_visit: dict[int, list[DispatchException]] = {}
    if changed or not since_text or request.GET.get("exceptions") == "1":
        exceptions = queries.day_exceptions(day)
        for item in exceptions:
            by_visit.setdefault(item.visit.pk, []).append(item.exception)
        body["exceptions"] = [exception_data(e) for e in exceptions]
        body["counts"] = [{"kind": k, "label": label, "count": n} for k, label, n in queries.exception_counts(exceptions)]
    body["visits"] = [visit_data(v, by_visit.get(v.pk)) for v in changed]
    return JsonResponse(body)


CHANGES_LIMIT = 500


def _int_or_none(value: str, field: str, errors: dict[str, str], message: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        errors[field] = message
        return None
    return int(value)


def _parse_drop(post: Any, *, need_version: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields of a drop: version (of the visit the page has), start (local YYYY-MM-DDTHH:MM),
    from_tech (the row the block left; empty from the tray), to_tech (the row it landed on) and an
    optional override reason."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    version = _int_or_none(post.get("version", ""), "version", errors, "Reload the board: the version is unreadable.")
    if need_version and version is None and "version" not in errors:
        errors["version"] = "Reload the board: the version is missing."
    values["version"] = version
    start_text = (post.get("start") or "").strip()
    values["start"] = None
    if start_text:
        try:
            moment = datetime.fromisoformat(start_text)
        except ValueError:
            errors["start"] = "Use a local date and time, YYYY-MM-DDTHH:MM."
        else:
            if timezone.is_aware(moment):
                errors["start"] = "Use a local date and time without a zone."
            elif moment.minute % 5 or moment.second or moment.microsecond:
                errors["start"] = "Start on a five-minute mark."
            else:
                values["start"] = timezone.make_aware(moment)
    values["from_tech"] = _int_or_none(post.get("from_tech", ""), "from_tech", errors, "Unknown technician.")
    values["to_tech"] = _int_or_none(post.get("to_tech", ""), "to_tech", errors, "Unknown technician.")
    reason = post.get("override_reason", "") or ""
    if "\x00" in reason or len(reason) > 300:
        errors["override_reason"] = "At most 300 characters, no NUL characters."
    values["override_reason"] = reason.strip()
    return values, errors


def crew_without(lead: int | None, helpers: list[int], technician: int | None) -> tuple[int | None, list[int]]:
    """The crew once `technician` leaves it; the first helper leads when the lead leaves."""
    crew = [t for t in ([lead] if lead else []) + helpers if t != technician]
    if technician is None or len(crew) == len(([lead] if lead else []) + helpers):
        raise InvalidInput("Please correct the highlighted fields.", {"from_tech": "Drag the block from a technician's row who is on its crew."})
    return (crew[0] if crew else None), crew[1:]


def crew_after_drag(lead: int | None, helpers: list[int], from_tech: int | None, to_tech: int | None) -> tuple[int | None, list[int]] | None:
    """The crew after a block is dragged from `from_tech`'s row (None: from the tray) to `to_tech`'s
    row: the technician whose block moved is replaced by the one whose row it landed on. None when
    the crew does not change. Raises InvalidInput when the target is already on the crew."""
    if to_tech is None or to_tech == from_tech:
        return None
    crew = ([lead] if lead else []) + helpers
    if to_tech in crew:
        raise InvalidInput("That technician is already on this visit.", {"to_tech": "Already on this visit's crew: drop it on another row."})
    if from_tech is None or from_tech not in crew or from_tech == lead:
        return to_tech, helpers
    return lead, [to_tech if h == from_tech else h for h in helpers]


def _refused(error: DomainError, visit_id: int | None = None) -> JsonResponse:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if isinstance(error, InvalidInput):
        body["fields"] = error.fields
        return JsonResponse(body, status=422)
    if isinstance(error, actions.SchedulingConflict):
        body["problems"] = error.details.get("problems", [])
        body["can_override"] = bool(error.details.get("can_override"))
        return JsonResponse(body, status=409)
    if isinstance(error, ConflictError):
        if visit_id is not None:
            # The visit as it is now, in the board's own terms, so the block can be put right.
            body["visit"] = _fresh(visit_id)
        return JsonResponse(body, status=409)
    status = {"forbidden": 403, "not_found": 404}.get(error.code, 400)
    return JsonResponse(body, status=status)


def _fresh(visit_id: int) -> dict[str, Any] | None:
    visit = queries.with_visit_details(Visit.objects.filter(pk=visit_id)).first()
    if visit is None:
        return None
    found = exceptions_for([visit])
    return visit_data(visit, found.get(visit.pk))


@login_required
@require_POST
def move(request: HttpRequest, visit_id: int) -> JsonResponse:
    """A drop of a visit's block (or of a tray card) onto a row and time. 200 with the visit as it is
    now; 409 with the problems (and whether this user may override) or with the current state when
    someone changed the visit first; 422 with field errors. Nothing changes unless it is 200."""
    _require_board(request)
    visit = queries.access_visit_for_user(request.user, visit_id)
    values, errors = _parse_drop(request.POST, need_version=True)
    if errors:
        return JsonResponse({"code": "invalid", "message": "Please correct the highlighted fields.", "fields": errors}, status=422)
    crew = list(visit.crew.all())
    lead = next((c.technician_id for c in crew if c.is_lead), None)
    changes: dict[str, Any] = {}
    try:
        helpers = [c.technician_id for c in crew if not c.is_lead]
        if request.POST.get("unassign") == "1":
            # Dropped on the tray: the technician whose block it was leaves the crew (a helper steps
            # up when the lead leaves); the time stays.
            new_crew = crew_without(lead, helpers, values["from_tech"])
        else:
            new_crew = crew_after_drag(lead, helpers, values["from_tech"], values["to_tech"])
        if new_crew is not None:
            changes["lead_id"], changes["helper_ids"] = new_crew
        if values["start"] is not None and values["start"] != visit.scheduled_start:
            changes["start"] = values["start"]
        if changes:
            actions.visit_update(actor=request.user, visit_id=visit.pk, version=values["version"], override_reason=values["override_reason"], **changes)
        elif values["version"] != visit.version:
            raise ConflictError("stale", "Someone else changed this visit after you opened it; nothing was changed.")
    except DomainError as error:
        return _refused(error, visit.pk)
    return JsonResponse({"visit": _fresh(visit.pk)})


@login_required
@require_POST
def place_job(request: HttpRequest, job_id: int) -> JsonResponse:
    """A waiting job dropped from the tray onto a row: its first visit, with that technician as lead,
    at the dropped time, for the job's estimated duration and the company's default window."""
    _require_board(request)
    values, errors = _parse_drop(request.POST, need_version=False)
    if values["start"] is None and "start" not in errors:
        errors["start"] = "Drop the job on a time."
    if values["to_tech"] is None and "to_tech" not in errors:
        errors["to_tech"] = "Drop the job on a technician's row."
    if errors:
        return JsonResponse({"code": "invalid", "message": "Please correct the highlighted fields.", "fields": errors}, status=422)
    try:
        [visit] = actions.visit_schedule(
            actor=request.user,
            job_id=job_id,
            start=values["start"],
            lead_id=values["to_tech"],
            override_reason=values["override_reason"],
            first_visit=True,
        )
    except DomainError as error:
        return _refused(error)
    return JsonResponse({"visit": _fresh(visit.pk)})


@login_required
@require_GET
def visit_quick(request: HttpRequest, visit_id: int) -> HttpResponse:
    """A block's quick info (the popover): job, customer, address, window, crew, status, scope and
    the visit's exceptions."""
    _require_board(request)
    visit = queries.access_visit_for_user(request.user, visit_id)
    crew = list(visit.crew.all())
    can_move = request.user.has_perm("dispatch.schedule") and visit.status not in FINAL
    start = timezone.localtime(visit.scheduled_start) if visit.scheduled_start else None
    context = {
        # "Move to…": the keyboard's way to do what a drag does (the same endpoint and checks).
        "can_move": can_move,
        "technicians": queries.active_technicians() if can_move else [],
        "start_hhmm": f"{start:%H:%M}" if start else "08:00",
        "visit": visit,
        "lead": next((c.technician for c in crew if c.is_lead), None),
        "helpers": [c.technician for c in crew if not c.is_lead],
        "exceptions": exceptions_for([visit]).get(visit.pk, []),
        "labels": LABELS,
    }
    return render(request, "dispatch/board_quick.html", context)
