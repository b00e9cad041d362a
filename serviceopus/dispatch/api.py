"""The dispatch API: visits (list, one, schedule, edit, crew, status transitions, finish & depart,
timeline), crew suggestions, and a technician's day. `router` is mounted under /api/v1 by
serviceopus/api/api.py; every write calls the same dispatch.actions function as the web pages.

Who sees what: office roles see every visit; a technician sees only the visits whose crew they are on
(any other visit is 404, in lists too), may move only those through their statuses, and may not
schedule, edit or reassign visits (403). Edits carry the `version` read: a stale one is refused with
409 `stale` and the visit as it is now in `details.current`. Status transitions are POSTs, so a
retried tap with the same Idempotency-Key has one effect.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.errors import ValidationError
from pydantic import BaseModel, Field

from serviceopus.accounts.models import User
from serviceopus.api.schemas import (
    LIST,
    MAX_ID,
    READ,
    WRITE,
    CursorPage,
    IsoDate,
    IsoDateTime,
    Latitude,
    Longitude,
    PageParams,
    RefId,
    StrictIn,
    Text,
    Version,
    body_field_names,
    decimal_out,
    responses,
)
from serviceopus.core.errors import DomainError
from serviceopus.field.queries import navigation_url, require_technician
from serviceopus.jobs.api.schemas import LocationRef, Ref
from serviceopus.jobs.queries import access_job_for_user

from . import actions, queries
from .models import Visit
from .status import ALLOWED, Outcome, VisitStatus
from .suggestions import Suggestion, suggest_crew

router = Router(tags=["visits"])

VisitStatusName = Literal[tuple(VisitStatus.values)]  # type: ignore[valid-type]
OutcomeName = Literal[("", *Outcome.values)]  # type: ignore[valid-type]
VisitMinutes = Annotated[int, Field(ge=5, le=24 * 60, description="How long the visit lasts, 5 minutes to 24 hours.")]
Helpers = Annotated[list[RefId], Field(max_length=20, description="Technician ids of the helpers (the lead is not repeated here).")]
OverrideReason = Annotated[
    str,
    Field(
        max_length=300,
        pattern=r"^[^\x00]*$",
        description="A manager's reason to schedule despite availability problems (recorded on both timelines).",
    ),
]

# Actions name fields after what they mean; bodies send ids. Errors name the body's fields.
VISIT_FIELD_NAMES = {"lead": "lead_id", "helpers": "helper_ids"}


# ---- output -------------------------------------------------------------------------------------


class JobRef(BaseModel):
    id: int
    number: str


class VisitOut(BaseModel):
    id: int
    job: JobRef
    number: int = Field(description="1, 2, 3… within the job.")
    status: str
    outcome: str = Field(description="finished or return_needed once completed; empty before.")
    pause_reason: str
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    duration_minutes: int
    window_start: datetime | None
    window_end: datetime | None
    lead: Ref | None
    helpers: list[Ref]
    crew_notes: str
    customer: Ref
    location: LocationRef
    return_of: int | None = Field(description="The visit this one returns after, for a drafted return visit.")
    en_route_at: datetime | None
    arrived_at: datetime | None
    paused_at: datetime | None
    departed_at: datetime | None
    completed_at: datetime | None
    last_lat: str | None
    last_lng: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    allowed_transitions: list[str] = Field(description="Statuses the transition table allows next (a technician may not cancel).")


class SiteContactOut(BaseModel):
    name: str
    phone: str
    email: str


class SiteOut(BaseModel):
    one_line: str
    lat: str | None
    lng: str | None
    access_notes: str
    gate_code: str
    navigation_url: str


class DayVisitOut(VisitOut):
    scope: str
    site: SiteOut
    contact: SiteContactOut | None
    assets: list[Ref]


class DayOut(BaseModel):
    technician: Ref
    day: date
    visits: list[DayVisitOut] = Field(description="In route order (by scheduled start).")


class SuggestionOut(BaseModel):
    technician: Ref
    score: float = Field(description="Out of 100 (plus 15 for a previous technician of the customer); higher is better.")
    reasons: list[str] = Field(description="The parts of the score, each explained.")
    distance_km: float | None
    booked_minutes: int
    previous_technician: bool


class TimelineEntryOut(BaseModel):
    id: int
    kind: str
    from_status: str
    to_status: str
    at: datetime
    actor: Ref | None
    message: str
    lat: str | None
    lng: str | None
    data: dict[str, Any]
    spent_as: str = Field(description="What the span this event starts was: travel, on site, working, paused; empty otherwise.")
    minutes: int | None = Field(description="Until the next status event; null while it runs and for other events.")


class TimelineTotalsOut(BaseModel):
    travel: int
    on_site: int
    working: int
    paused: int


class TimelineOut(BaseModel):
    entries: list[TimelineEntryOut]
    totals: TimelineTotalsOut = Field(description="Minutes. On site runs from arrived to departed, so it includes working and paused.")


def _user_ref(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name}


def visit_out(visit: Visit) -> dict[str, Any]:
    """Reads the visit's job, customer and location (select_related) and its crew with their users
    (prefetched): no query of its own."""
    crew = list(visit.crew.all())
    lead = next((c for c in crew if c.is_lead), None)
    job = visit.job
    return {
        "id": visit.pk,
        "job": {"id": job.pk, "number": job.number},
        "number": visit.number,
        "status": visit.status,
        "outcome": visit.outcome,
        "pause_reason": visit.pause_reason,
        "scheduled_start": visit.scheduled_start,
        "scheduled_end": visit.scheduled_end,
        "duration_minutes": visit.duration_minutes,
        "window_start": visit.window_start,
        "window_end": visit.window_end,
        "lead": None if lead is None else {"id": lead.technician_id, "name": lead.technician.name},
        "helpers": [{"id": c.technician_id, "name": c.technician.name} for c in crew if not c.is_lead],
        "crew_notes": visit.crew_notes,
        "customer": {"id": job.customer.pk, "name": job.customer.name},
        "location": {"id": job.location.pk, "one_line": job.location.one_line},
        "return_of": visit.return_of_id,
        "en_route_at": visit.en_route_at,
        "arrived_at": visit.arrived_at,
        "paused_at": visit.paused_at,
        "departed_at": visit.departed_at,
        "completed_at": visit.completed_at,
        "last_lat": decimal_out(visit.last_lat, 6),
        "last_lng": decimal_out(visit.last_lng, 6),
        "created_at": visit.created_at,
        "updated_at": visit.updated_at,
        "version": visit.version,
        "allowed_transitions": sorted(ALLOWED[visit.status]),
    }


def day_visit_out(visit: Visit) -> dict[str, Any]:
    """A visit with what the crew needs on the way and on site (queries.technician_day loads it all)."""
    job, location, contact = visit.job, visit.job.location, visit.job.contact
    return {
        **visit_out(visit),
        "scope": job.scope,
        "site": {
            "one_line": location.one_line,
            "lat": decimal_out(location.lat, 6),
            "lng": decimal_out(location.lng, 6),
            "access_notes": location.access_notes,
            "gate_code": location.gate_code,
            "navigation_url": navigation_url(location),
        },
        "contact": None if contact is None else {"name": contact.name, "phone": contact.phone, "email": contact.email},
        "assets": [{"id": a.pk, "name": str(a)} for a in job.assets.all()],
    }


def suggestion_out(s: Suggestion) -> dict[str, Any]:
    out = s.as_dict()
    return {
        "technician": {"id": s.technician.pk, "name": s.technician.name},
        "score": out["score"],
        "reasons": out["reasons"],
        "distance_km": out["distance_km"],
        "booked_minutes": out["booked_minutes"],
        "previous_technician": out["previous_technician"],
    }


# ---- input --------------------------------------------------------------------------------------


class VisitListParams(PageParams):
    day: IsoDate | None = Field(None, description="Visits starting that (local) day, listed in time order; otherwise in the order they were made.")
    technician: int | None = Field(None, ge=1, le=MAX_ID, description="Technician id: visits whose crew they are on.")
    job: int | None = Field(None, ge=1, le=MAX_ID, description="Job id: that job's visits.")
    status: list[VisitStatusName] = Field(default_factory=list, max_length=len(VisitStatus.values), description="Any of these statuses.")


class VisitCreateIn(StrictIn):
    start: IsoDateTime | None = Field(None, description="Leave out to draft an unscheduled visit (no crew then).")
    duration_minutes: VisitMinutes | None = Field(None, description="Defaults to the job's estimated duration.")
    window_start: IsoDateTime | None = Field(None, description="Arrival window; both ends or neither (the company's default width from the start).")
    window_end: IsoDateTime | None = None
    lead_id: RefId | None = None
    helper_ids: Helpers = []
    days: int = Field(1, ge=1, le=actions.MAX_DAYS, description="Multi-day work: one visit per day, same time and crew.")
    crew_notes: Text(5000) = ""
    override_reason: OverrideReason = ""


class VisitPatch(StrictIn):
    """Fields left out keep their value. Moving the start without a window moves the window with it."""

    version: Version
    start: IsoDateTime | None = Field(None, description="null unschedules the visit (its crew must be empty).")
    duration_minutes: VisitMinutes = None
    window_start: IsoDateTime | None = None
    window_end: IsoDateTime | None = None
    lead_id: RefId | None = None
    helper_ids: Helpers = None
    crew_notes: Text(5000) = None
    override_reason: OverrideReason = ""


class CrewIn(StrictIn):
    version: Version
    lead_id: RefId | None = Field(description="null removes the crew (helpers must then be empty).")
    helper_ids: Helpers = []
    override_reason: OverrideReason = ""


class VisitTransitionIn(StrictIn):
    to: VisitStatusName
    expected: VisitStatusName | None = Field(None, description="The status you saw; if the visit has moved on, 409 conflict with the current status.")
    reason: Text(200) = Field("", description="Required to pause or cancel.")
    outcome: OutcomeName = Field("", description="Required to complete: finished or return_needed.")
    lat: Latitude | None = Field(None, description="The phone's position (send both lat and lng, or neither).")
    lng: Longitude | None = None


class FinishIn(StrictIn):
    expected: VisitStatusName | None = Field(None, description="The status you saw (arrived, working or paused).")
    lat: Latitude | None = None
    lng: Longitude | None = None


class VisitSuggestionParams(BaseModel):
    start: IsoDateTime | None = Field(None, description="Defaults to the visit's scheduled start.")
    duration_minutes: VisitMinutes | None = Field(None, description="Defaults to the visit's duration.")


class JobSuggestionParams(BaseModel):
    start: IsoDateTime
    duration_minutes: VisitMinutes | None = Field(None, description="Defaults to the job's estimated duration (at most a day).")


class DayParams(BaseModel):
    day: IsoDate | None = Field(None, description="Defaults to today.")


# ---- visits -------------------------------------------------------------------------------------


def read_visit(user: User, visit_id: int) -> dict[str, Any]:
    return visit_out(queries.access_visit_for_user(user, visit_id))


@router.get("/visits", response=responses({200: CursorPage[VisitOut]}, LIST), summary="List visits")
def visit_list(request: HttpRequest, params: VisitListParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    """Filters combine (AND); `status` may repeat (OR within). A fixed number of queries whatever
    the page or the table size."""
    filters = queries.VisitFilters(day=params.day, technician_id=params.technician, job_id=params.job, statuses=tuple(params.status))
    page = queries.visit_list_page(request.auth, filters, cursor=params.cursor, size=params.limit)
    return {"items": [visit_out(v) for v in page.rows], "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


@router.get("/visits/{visit_id}", response=responses({200: VisitOut}, READ), summary="A visit")
def visit_detail(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    return read_visit(request.auth, visit_id)


@router.post("/jobs/{job_id}/visits", response=responses({201: list[VisitOut]}), summary="Schedule visits for a job")
def visit_schedule(request: HttpRequest, job_id: int, body: VisitCreateIn) -> Status:
    """One visit, or one per day for `days` days. Availability problems (double booking, outside
    shift, time off, missing skills) are refused with 409 `scheduling_conflict`, each problem in
    `details.problems`, unless a manager sends `override_reason`."""
    access_job_for_user(request.auth, job_id)
    with body_field_names(VISIT_FIELD_NAMES):
        created = actions.visit_schedule(
            actor=request.auth,
            job_id=job_id,
            start=body.start,
            duration_minutes=body.duration_minutes,
            window_start=body.window_start,
            window_end=body.window_end,
            lead_id=body.lead_id,
            helper_ids=body.helper_ids,
            crew_notes=body.crew_notes,
            days=body.days,
            override_reason=body.override_reason,
        )
    return Status(201, [visit_out(v) for v in queries.visits_with_details([v.pk for v in created])])


@router.patch("/visits/{visit_id}", response=responses({200: VisitOut}, WRITE), summary="Reschedule or edit a visit")
def visit_update(request: HttpRequest, visit_id: int, body: VisitPatch) -> dict[str, Any]:
    """Refusals: 409 `stale` (someone changed it since your `version`; `details.current` is the visit
    now), `visit_started` (its time cannot move once the crew set off), `visit_closed`,
    `scheduling_conflict`."""
    queries.access_visit_for_user(request.auth, visit_id)
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    override_reason = changes.pop("override_reason", "")
    with body_field_names(VISIT_FIELD_NAMES):
        actions.visit_update(actor=request.auth, visit_id=visit_id, version=version, override_reason=override_reason, **changes)
    return read_visit(request.auth, visit_id)


@router.put("/visits/{visit_id}/crew", response=responses({200: VisitOut}, WRITE), summary="Assign a visit's crew")
def visit_assign(request: HttpRequest, visit_id: int, body: CrewIn) -> dict[str, Any]:
    """Replaces the crew: a lead and helpers. The availability checks of scheduling apply."""
    queries.access_visit_for_user(request.auth, visit_id)
    with body_field_names(VISIT_FIELD_NAMES):
        actions.visit_update(
            actor=request.auth,
            visit_id=visit_id,
            version=body.version,
            lead_id=body.lead_id,
            helper_ids=body.helper_ids,
            override_reason=body.override_reason,
        )
    return read_visit(request.auth, visit_id)


@router.post("/visits/{visit_id}/transitions", response=responses({200: VisitOut}), summary="Change a visit's status")
def visit_transition(request: HttpRequest, visit_id: int, body: VisitTransitionIn) -> dict[str, Any]:
    """scheduled → en_route → arrived → working ⇄ paused → departed → completed (+ cancelled).
    Refusals are 409 with a machine-readable `code`: `not_allowed` (the transition table;
    `details.allowed`), `conflict` (the visit is not in `expected` any more, or moved meanwhile;
    `details.current_status`); 403 `forbidden` when the role may not make this move. Send an
    Idempotency-Key so that a retried tap has one effect."""
    queries.access_visit_for_user(request.auth, visit_id)
    actions.visit_transition(
        actor=request.auth,
        visit_id=visit_id,
        to=body.to,
        expected=body.expected or "",
        reason=body.reason,
        outcome=body.outcome,
        lat=body.lat,
        lng=body.lng,
    )
    return read_visit(request.auth, visit_id)


@router.post("/visits/{visit_id}/finish-and-depart", response=responses({200: VisitOut}), summary="Finish and depart")
def visit_finish_and_depart(request: HttpRequest, visit_id: int, body: FinishIn) -> dict[str, Any]:
    """The phone's one tap from arrived, working or paused: depart and complete as finished, in one
    transaction (the job is then asked for work complete). The body may be `{}`."""
    queries.access_visit_for_user(request.auth, visit_id)
    actions.visit_finish_and_depart(actor=request.auth, visit_id=visit_id, expected=body.expected or "", lat=body.lat, lng=body.lng)
    return read_visit(request.auth, visit_id)


@router.get("/visits/{visit_id}/timeline", response=responses({200: TimelineOut}, READ), summary="A visit's timeline with durations")
def visit_timeline(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    visit = queries.access_visit_for_user(request.auth, visit_id)
    timeline = queries.visit_timeline(visit)
    entries = [
        {
            "id": e.event.pk,
            "kind": e.event.kind,
            "from_status": e.event.from_status,
            "to_status": e.event.to_status,
            "at": e.event.at,
            "actor": _user_ref(e.event.actor),
            "message": e.event.message,
            "lat": decimal_out(e.event.lat, 6),
            "lng": decimal_out(e.event.lng, 6),
            "data": e.event.data,
            "spent_as": e.spent_as,
            "minutes": e.minutes,
        }
        for e in timeline.entries
    ]
    totals = {key.replace(" ", "_"): timeline.totals.get(key, 0) for key in ("travel", "on site", "working", "paused")}
    return {"entries": entries, "totals": totals}


# ---- crew suggestions ---------------------------------------------------------------------------


def _require_scheduler(user: User) -> None:
    # Suggestions compare technicians' workloads: office information, like the dispatch board.
    if not user.has_perm("dispatch.schedule"):
        raise DomainError("forbidden", "Only dispatchers may see crew suggestions.")


@router.get("/visits/{visit_id}/suggestions", response=responses({200: list[SuggestionOut]}, LIST), summary="Crew suggestions for a visit")
def visit_suggestions(request: HttpRequest, visit_id: int, params: VisitSuggestionParams = Query(...)) -> list[dict[str, Any]]:  # noqa: B008
    """The technicians who hold every required skill and are free for the whole visit, best first,
    each with its score and the reasons that make it up (see dispatch/suggestions.py)."""
    visit = queries.access_visit_for_user(request.auth, visit_id)
    _require_scheduler(request.auth)
    start = params.start or visit.scheduled_start
    if start is None:
        raise ValidationError([{"loc": ("query", "start"), "msg": "This visit has no time yet: give a start."}])
    duration = params.duration_minutes or visit.duration_minutes
    suggestions = suggest_crew(visit.job, start, duration, exclude_visit_id=visit.pk)
    return [suggestion_out(s) for s in suggestions]


@router.get("/jobs/{job_id}/crew-suggestions", response=responses({200: list[SuggestionOut]}, LIST), summary="Crew suggestions for a new visit")
def job_suggestions(request: HttpRequest, job_id: int, params: JobSuggestionParams = Query(...)) -> list[dict[str, Any]]:  # noqa: B008
    """As for a visit, for a visit of this job not yet scheduled: at `start` for `duration_minutes`."""
    job = access_job_for_user(request.auth, job_id)
    _require_scheduler(request.auth)
    duration = params.duration_minutes or min(job.estimated_duration_minutes, 24 * 60)
    return [suggestion_out(s) for s in suggest_crew(job, params.start, duration)]


# ---- a technician's day -------------------------------------------------------------------------


def _day_out(technician: Any, day: date) -> dict[str, Any]:
    visits = queries.technician_day(technician, day)
    return {"technician": {"id": technician.pk, "name": technician.name}, "day": day, "visits": [day_visit_out(v) for v in visits]}


@router.get("/technicians/{technician_id}/day", response=responses({200: DayOut}, READ), summary="A technician's day")
def technician_day(request: HttpRequest, technician_id: int, params: DayParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    """The technician's visits that day in route order, with address, navigation link, contact,
    scope, notes and equipment. The office sees anyone's day; a technician only their own (404)."""
    technician = queries.access_technician_for_user(request.auth, technician_id)
    return _day_out(technician, params.day or queries.today())


@router.get("/me/day", response=responses({200: DayOut}, READ), summary="My day (for a signed-in technician)")
def my_day(request: HttpRequest, params: DayParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    """As /technicians/{id}/day for the signed-in technician; 404 for a user who is not one."""
    return _day_out(require_technician(request.auth), params.day or queries.today())
