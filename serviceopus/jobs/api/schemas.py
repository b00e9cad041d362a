"""Input and output shapes of the jobs API, and the functions that turn rows into output."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from serviceopus.api.schemas import (
    MAX_ID,
    Cents,
    IsoDate,
    IsoDateTime,
    PageParams,
    PositiveCents,
    Quantity,
    RefId,
    StrictIn,
    Text,
    Version,
    decimal_out,
)
from serviceopus.core.text import NO_NUL_PATTERN

from ..actions import MAX_CENTS
from ..models import REQUIRABLE_FIELDS, BillingTrigger, BillingType, Job, JobEvent, JobType, LineItem, Note, PartsReadiness, Source
from ..queries import SORTS, Totals
from ..status import ALLOWED, HoldReason, JobStatus

StatusName = Literal[tuple(JobStatus.values)]  # type: ignore[valid-type]
HoldReasonName = Literal[("", *HoldReason.values)]  # type: ignore[valid-type]
SourceName = Literal[tuple(Source.values)]  # type: ignore[valid-type]
BillingTypeName = Literal[tuple(BillingType.values)]  # type: ignore[valid-type]
BillingTriggerName = Literal[tuple(BillingTrigger.values)]  # type: ignore[valid-type]
LineKind = Literal[tuple(LineItem.Kind.values)]  # type: ignore[valid-type]
RequirableField = Literal[tuple(REQUIRABLE_FIELDS)]  # type: ignore[valid-type]
SortName = Literal[tuple(SORTS)]  # type: ignore[valid-type]
PartsName = Literal[tuple(PartsReadiness.values)]  # type: ignore[valid-type]
PriorityValue = Annotated[int, Field(ge=1, le=4, description="1 low, 2 normal, 3 high, 4 urgent.")]
Minutes = Annotated[int, Field(ge=5, le=60 * 24 * 14)]
NotToExceed = Annotated[int, Field(ge=1, le=MAX_CENTS)]
Ids = Annotated[list[RefId], Field(max_length=100)]


def _tag(value: str) -> str:
    # Tags are stored stripped and lower-cased; check the length of what will be stored ("İ" lower-
    # cases to two characters).
    normal = value.strip().lower()
    if not 1 <= len(normal) <= 50:
        raise ValueError("Tags are 1 to 50 characters.")
    return normal


TagName = Annotated[str, Field(min_length=1, max_length=50, pattern=NO_NUL_PATTERN), AfterValidator(_tag)]
Tags = Annotated[list[TagName], Field(max_length=20)]

# Actions name fields after the model; bodies send ids. Errors are reported under the body's names.
JOB_FIELD_NAMES = {
    "customer": "customer_id",
    "location": "location_id",
    "contact": "contact_id",
    "job_type": "job_type_id",
    "assets": "asset_ids",
    "required_skills": "required_skill_ids",
}
LINE_FIELD_NAMES = {"unit_price": "unit_price_cents", "unit_cost": "unit_cost_cents"}


# ---- output -------------------------------------------------------------------------------------


class Ref(BaseModel):
    id: int
    name: str


class LocationRef(BaseModel):
    id: int
    one_line: str


class JobSummaryOut(BaseModel):
    id: int
    number: str
    status: str
    priority: int
    customer: Ref
    location: LocationRef
    job_type: Ref
    technicians: list[Ref] = Field(description="The crews of the job's visits (read-only: assign technicians by scheduling visits).")
    tags: list[str]
    next_visit_at: datetime | None
    parts_readiness: PartsName = Field(description='Whether the reserved materials are on hand: ready, partial, blocked, or "" when no parts are tracked.')
    created_at: datetime
    version: int


class JobOut(JobSummaryOut):
    contact: Ref | None
    source: str
    source_reference: str
    scope: str
    hold_reason: str
    hold_note: str
    estimated_duration_minutes: int
    billing_type: str
    not_to_exceed_cents: int | None
    assets: list[Ref]
    required_skills: list[Ref]
    completed_at: datetime | None
    updated_at: datetime
    allowed_transitions: list[str]


class LineItemOut(BaseModel):
    id: int
    job_id: int
    kind: str
    description: str
    quantity: str
    unit_price_cents: int
    unit_cost_cents: int
    taxable: bool
    position: int
    total_cents: int
    cost_cents: int
    version: int


class TotalsOut(BaseModel):
    subtotal_cents: int
    cost_cents: int
    margin_cents: int
    taxable_cents: int
    by_kind: dict[str, int]


class LineItemsOut(BaseModel):
    items: list[LineItemOut]
    totals: TotalsOut


class NoteOut(BaseModel):
    id: int
    job_id: int
    author: Ref | None
    body: str
    created_at: datetime


class EventOut(BaseModel):
    id: int
    kind: str
    actor: Ref | None
    old_value: str
    new_value: str
    message: str
    data: dict[str, Any]
    created_at: datetime


class JobTypeOut(BaseModel):
    id: int
    name: str
    default_duration_minutes: int
    required_skills: list[Ref]
    required_fields: list[str]
    default_billing_type: str
    billing_trigger: str
    default_priority: int
    color: str
    active: bool


def _tech_ref(t: Any) -> dict[str, Any]:
    return {"id": t.pk, "name": t.user.display_name}


def _user_ref(u: Any) -> dict[str, Any] | None:
    return None if u is None else {"id": u.pk, "name": u.display_name}


def job_summary_out(job: Job) -> dict[str, Any]:
    """Reads only what job_list_page selects and prefetches (customer, location, job type,
    technicians with their users, tags): no query per row."""
    return {
        "id": job.pk,
        "number": job.number,
        "status": job.status,
        "priority": job.priority,
        "customer": {"id": job.customer.pk, "name": job.customer.name},
        "location": {"id": job.location.pk, "one_line": job.location.one_line},
        "job_type": {"id": job.job_type.pk, "name": job.job_type.name},
        "technicians": [_tech_ref(t) for t in job.technicians.all()],
        "tags": [t.name for t in job.tags.all()],
        "next_visit_at": job.next_visit_at,
        "parts_readiness": job.parts_readiness,
        "created_at": job.created_at,
        "version": job.version,
    }


def job_out(job: Job, details: dict[str, Any]) -> dict[str, Any]:
    """`details` is queries.job_details(job)."""
    out = job_summary_out(job)
    out.update(
        technicians=[_tech_ref(t) for t in details["technicians"]],
        tags=[t.name for t in details["tags"]],
        contact=None if job.contact is None else {"id": job.contact.pk, "name": job.contact.name},
        source=job.source,
        source_reference=job.source_reference,
        scope=job.scope,
        hold_reason=job.hold_reason,
        hold_note=job.hold_note,
        estimated_duration_minutes=job.estimated_duration_minutes,
        billing_type=job.billing_type,
        not_to_exceed_cents=job.not_to_exceed_cents,
        assets=[{"id": a.pk, "name": str(a)} for a in details["assets"]],
        required_skills=[{"id": s.pk, "name": s.name} for s in details["required_skills"]],
        completed_at=job.completed_at,
        updated_at=job.updated_at,
        allowed_transitions=sorted(ALLOWED[job.status]),
    )
    return out


def line_item_out(item: LineItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "job_id": item.job_id,
        "kind": item.kind,
        "description": item.description,
        "quantity": decimal_out(item.quantity, 3),
        "unit_price_cents": item.unit_price_cents,
        "unit_cost_cents": item.unit_cost_cents,
        "taxable": item.taxable,
        "position": item.position,
        "total_cents": item.total_cents,
        "cost_cents": item.cost_cents,
        "version": item.version,
    }


def totals_out(totals: Totals) -> dict[str, Any]:
    return {
        "subtotal_cents": totals.subtotal_cents,
        "cost_cents": totals.cost_cents,
        "margin_cents": totals.margin_cents,
        "taxable_cents": totals.taxable_cents,
        "by_kind": totals.by_kind,
    }


def note_out(note: Note) -> dict[str, Any]:
    return {"id": note.pk, "job_id": note.job_id, "author": _user_ref(note.author), "body": note.body, "created_at": note.created_at}


def event_out(event: JobEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "kind": event.kind,
        "actor": _user_ref(event.actor),
        "old_value": event.old_value,
        "new_value": event.new_value,
        "message": event.message,
        "data": event.data,
        "created_at": event.created_at,
    }


def job_type_out(jt: JobType) -> dict[str, Any]:
    return {
        "id": jt.pk,
        "name": jt.name,
        "default_duration_minutes": jt.default_duration_minutes,
        "required_skills": [{"id": s.pk, "name": s.name} for s in jt.required_skills.all()],
        "required_fields": list(jt.required_fields),
        "default_billing_type": jt.default_billing_type,
        "billing_trigger": jt.billing_trigger,
        "default_priority": jt.default_priority,
        "color": jt.color,
        "active": jt.active,
    }


# ---- input --------------------------------------------------------------------------------------


class JobListParams(PageParams):
    q: str = Field("", max_length=200, pattern=NO_NUL_PATTERN, description="Words of the number, customer, address or scope.")
    status: list[StatusName] = Field(default_factory=list, max_length=len(JobStatus.values), description="Any of these statuses.")
    priority: list[PriorityValue] = Field(default_factory=list, max_length=4, description="Any of these priorities.")
    job_type: int | None = Field(None, ge=1, le=MAX_ID, description="Job type id.")
    technician: int | None = Field(None, ge=1, le=MAX_ID, description="Technician id (jobs assigned to them).")
    tag: str = Field("", max_length=50, pattern=NO_NUL_PATTERN)
    date_from: IsoDate | None = Field(None, description="Next visit on or after this day.")
    date_to: IsoDate | None = Field(None, description="Next visit on or before this day.")
    parts: PartsName = Field("", description="Parts readiness: blocked lists the jobs blocked by parts; empty means any.")
    sort: SortName = "newest"


class JobCreateIn(StrictIn):
    customer_id: RefId
    location_id: RefId
    job_type_id: RefId
    scope: Text(10000, min_length=1)
    source: SourceName = "direct"
    source_reference: Text(100) = ""
    contact_id: RefId | None = None
    asset_ids: Ids = []
    priority: PriorityValue | None = Field(None, description="Defaults to the job type's priority.")
    estimated_duration_minutes: Minutes | None = Field(None, description="Defaults to the job type's duration.")
    required_skill_ids: Ids | None = Field(None, description="Defaults to the job type's skills.")
    billing_type: BillingTypeName | None = Field(None, description="Defaults to the job type's billing type.")
    not_to_exceed_cents: NotToExceed | None = None
    tags: Tags = []
    next_visit_at: IsoDateTime | None = None


class JobPatch(StrictIn):
    version: Version
    location_id: RefId = None
    contact_id: RefId | None = None
    job_type_id: RefId = None
    scope: Text(10000, min_length=1) = None
    source_reference: Text(100) = None
    priority: PriorityValue = None
    estimated_duration_minutes: Minutes = None
    billing_type: BillingTypeName = None
    not_to_exceed_cents: NotToExceed | None = None
    next_visit_at: IsoDateTime | None = None
    asset_ids: Ids = None
    tags: Tags = None
    required_skill_ids: Ids = None


class TransitionIn(StrictIn):
    to: StatusName
    hold_reason: HoldReasonName = Field("", description="Required when `to` is on_hold.")
    note: Text(500) = ""


class NoteIn(StrictIn):
    body: Text(10000, min_length=1)


class LineItemIn(StrictIn):
    kind: LineKind = "service"
    description: Text(300, min_length=1)
    quantity: Quantity
    unit_price_cents: Cents
    unit_cost_cents: PositiveCents = 0
    taxable: bool = True


class LineItemPatch(StrictIn):
    version: Version
    kind: LineKind = None
    description: Text(300, min_length=1) = None
    quantity: Quantity = None
    unit_price_cents: Cents = None
    unit_cost_cents: PositiveCents = None
    taxable: bool = None


class JobTypeIn(StrictIn):
    name: Text(100, min_length=1)
    default_duration_minutes: Minutes = 60
    required_skill_ids: Ids = []
    required_fields: Annotated[list[RequirableField], Field(max_length=len(REQUIRABLE_FIELDS))] = []
    default_billing_type: BillingTypeName = "time_materials"
    billing_trigger: BillingTriggerName = "queue"
    default_priority: PriorityValue = 2
    color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#64748b"
    active: bool = True


class JobTypePatch(StrictIn):
    name: Text(100, min_length=1) = None
    default_duration_minutes: Minutes = None
    required_skill_ids: Ids = None
    required_fields: Annotated[list[RequirableField], Field(max_length=len(REQUIRABLE_FIELDS))] = None
    default_billing_type: BillingTypeName = None
    billing_trigger: BillingTriggerName = None
    default_priority: PriorityValue = None
    color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = None
    active: bool = None
