"""Technicians and skills. Office roles read them (crew.view_technicians); a technician may read only
their own technician record. Writes go through crew.actions (crew.edit_technicians).

Technicians and skills carry no version column yet, so a technician PATCH is last-writer-wins; skills
can be created but not renamed or deleted (there are no such actions).
"""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Query, Router, Status
from pydantic import BaseModel, Field

from serviceopus.accounts.models import User
from serviceopus.api.schemas import LIST, MAX_ID, READ, Color, CursorPage, Latitude, Longitude, PageParams, RefId, StrictIn, Text, decimal_out, responses
from serviceopus.core.errors import DomainError
from serviceopus.jobs.pagination import SortKey, paginate

from . import actions
from .models import Skill, Technician

router = Router(tags=["crew"])

MAX_HOURLY_COST_CENTS = 10**7  # $100,000 an hour: beyond any real rate


# ---- reads (small enough to live here) ----------------------------------------------------------


def _require_view(user: User) -> None:
    if not user.has_perm("crew.view_technicians"):
        raise DomainError("forbidden", "Only office roles may list technicians and skills.")


def _technicians() -> QuerySet[Technician]:
    return Technician.objects.select_related("user").prefetch_related("skills")


def access_technician_for_user(user: User, technician_id: int) -> Technician:
    """Office roles see every technician; a technician sees only themself (404 for the others)."""
    tech = _technicians().filter(pk=technician_id).first()
    if tech is None or not (user.has_perm("crew.view_technicians") or tech.user_id == user.pk):
        raise Http404("No such technician.")
    return tech


# ---- shapes -------------------------------------------------------------------------------------


class SkillOut(BaseModel):
    id: int
    name: str


class TechnicianOut(BaseModel):
    id: int
    user_id: int
    username: str
    name: str
    skills: list[SkillOut]
    home_lat: str | None
    home_lng: str | None
    hourly_cost_cents: int
    color: str
    active: bool


def technician_out(t: Technician) -> dict[str, Any]:
    return {
        "id": t.pk,
        "user_id": t.user_id,
        "username": t.user.username,
        "name": t.user.display_name,
        "skills": [{"id": s.pk, "name": s.name} for s in t.skills.all()],
        "home_lat": decimal_out(t.home_lat, 6),
        "home_lng": decimal_out(t.home_lng, 6),
        "hourly_cost_cents": t.hourly_cost_cents,
        "color": t.color,
        "active": t.active,
    }


class SkillIn(StrictIn):
    name: Text(80, min_length=1)


class TechnicianIn(StrictIn):
    user_id: RefId
    skill_ids: list[RefId] = Field(default_factory=list, max_length=100)
    home_lat: Latitude | None = None
    home_lng: Longitude | None = None
    hourly_cost_cents: int = Field(0, ge=0, le=MAX_HOURLY_COST_CENTS)
    color: Color = "#2563eb"


class TechnicianPatch(StrictIn):
    skill_ids: list[RefId] = Field(None, max_length=100)
    home_lat: Latitude | None = None
    home_lng: Longitude | None = None
    hourly_cost_cents: int = Field(None, ge=0, le=MAX_HOURLY_COST_CENTS)
    color: Color = None
    active: bool = None


# ---- skills -------------------------------------------------------------------------------------


@router.get("/skills", response=responses({200: CursorPage[SkillOut]}, LIST), summary="List skills")
def skill_list(request: HttpRequest, page: PageParams = Query(...)) -> dict[str, Any]:  # noqa: B008
    _require_view(request.auth)
    result = paginate(Skill.objects.all(), [SortKey("id", False)], cursor=page.cursor, size=page.limit)
    return {"items": [{"id": s.pk, "name": s.name} for s in result.rows], "next_cursor": result.next_cursor, "prev_cursor": result.prev_cursor}


@router.post("/skills", response=responses({201: SkillOut}), summary="Create a skill")
def skill_create(request: HttpRequest, body: SkillIn) -> Status:
    skill = actions.skill_create(actor=request.auth, name=body.name)
    return Status(201, {"id": skill.pk, "name": skill.name})


# ---- technicians --------------------------------------------------------------------------------


@router.get("/technicians", response=responses({200: CursorPage[TechnicianOut]}, LIST), summary="List technicians")
def technician_list(
    request: HttpRequest,
    page: PageParams = Query(...),  # noqa: B008
    active: bool | None = Query(None, description="Only active (true) or inactive (false) technicians."),
    skill: int | None = Query(None, ge=1, le=MAX_ID, description="Only technicians with this skill id."),
) -> dict[str, Any]:
    _require_view(request.auth)
    qs = _technicians()
    if active is not None:
        qs = qs.filter(active=active)
    if skill is not None:
        qs = qs.filter(pk__in=Technician.skills.through.objects.filter(skill_id=skill).values("technician_id"))
    result = paginate(qs, [SortKey("id", False)], cursor=page.cursor, size=page.limit)
    return {"items": [technician_out(t) for t in result.rows], "next_cursor": result.next_cursor, "prev_cursor": result.prev_cursor}


@router.post("/technicians", response=responses({201: TechnicianOut}), summary="Make a user a technician")
def technician_create(request: HttpRequest, body: TechnicianIn) -> Status:
    tech = actions.technician_create(actor=request.auth, **body.model_dump())
    return Status(201, technician_out(_technicians().get(pk=tech.pk)))


@router.get("/technicians/{technician_id}", response=responses({200: TechnicianOut}, READ), summary="A technician")
def technician_detail(request: HttpRequest, technician_id: int) -> dict[str, Any]:
    return technician_out(access_technician_for_user(request.auth, technician_id))


@router.patch("/technicians/{technician_id}", response=responses({200: TechnicianOut}), summary="Change a technician (last writer wins)")
def technician_update(request: HttpRequest, technician_id: int, body: TechnicianPatch) -> dict[str, Any]:
    tech = actions.technician_update(actor=request.auth, technician_id=technician_id, changes=body.model_dump(exclude_unset=True))
    return technician_out(_technicians().get(pk=tech.pk))
