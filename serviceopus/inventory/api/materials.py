"""A job's materials: whether its parts are ready (and what is missing, with the orders bringing it),
its reservations, and the writes on them — reserve an item for a new material line, issue it to the
job, return what was not used, release what is no longer needed. And a technician's usage from their
truck on a visit, which lands on the job's billable lines with its cost.

Who may: whoever may see the job reads its materials (a technician only on their jobs; any other job
is 404, as are reservations of another job). Reserving and releasing need inventory.reserve, issuing
inventory.manage_stock (the office; 403 otherwise). A technician may return to their own truck on a
job they work, and record usage on a visit whose crew they are on.
"""

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from ninja import Router, Status

from serviceopus.api.schemas import READ, body_field_names, responses
from serviceopus.dispatch.queries import access_visit_for_user
from serviceopus.jobs.models import Job, LineItem
from serviceopus.jobs.queries import access_job_for_user

from .. import queries
from ..actions import reservations as actions
from ..quantity import to_milli
from ..readiness import job_readiness
from .schemas import (
    IssueIn,
    MaterialsOut,
    MovementOut,
    ReservationOut,
    ReserveIn,
    ReturnIn,
    UsageIn,
    UsageOut,
    materials_out,
    movement_out,
    reservation_out,
    usage_out,
)

router = Router(tags=["materials"])

FIELD_NAMES = {"item": "item_id", "location": "location_id", "unit_price": "unit_price_cents"}


def _reservation(job: Job, reservation_id: int) -> dict[str, Any]:
    return reservation_out(queries.reservation_of_job(job, reservation_id))


@router.get("/jobs/{job_id}/materials", response=responses({200: MaterialsOut}, READ), summary="A job's materials and parts readiness")
def materials(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """`readiness.state` is "" (no parts tracked), ready, partial or blocked; each missing item says
    how much, where, and which purchase orders bring it (number, status, expected date). A fixed
    number of queries whatever the number of reservations."""
    job = access_job_for_user(request.auth, job_id)
    return materials_out(job_readiness(job))


@router.post("/jobs/{job_id}/materials", response=responses({201: ReservationOut}), summary="Reserve an item for the job")
def reserve(request: HttpRequest, job_id: int, body: ReserveIn) -> Status:
    """Adds a material line for the item at its price and cost, and holds the quantity at the place.
    What the place does not have free is refused with 409 `insufficient_stock` (`details.available`),
    unless `backorder`: then what is free is held and the rest is left short, to order."""
    job = access_job_for_user(request.auth, job_id)
    with body_field_names(FIELD_NAMES):
        reservation = actions.material_reserve(actor=request.auth, job_id=job.pk, **body.model_dump())
    return Status(201, _reservation(job, reservation.pk))


@router.post("/jobs/{job_id}/materials/{reservation_id}/issue", response=responses({200: ReservationOut}), summary="Issue reserved stock to the job")
def issue(request: HttpRequest, job_id: int, reservation_id: int, body: IssueIn) -> dict[str, Any]:
    """The stock leaves its place for the job. More than is still to issue on the line is 422 on
    `quantity`; 409 `nothing_to_issue` when everything was issued; 409 `insufficient_stock` when the
    place no longer has it."""
    job = access_job_for_user(request.auth, job_id)
    reservation = queries.reservation_of_job(job, reservation_id)
    actions.material_issue(actor=request.auth, reservation_id=reservation.pk, quantity=body.quantity)
    return _reservation(job, reservation.pk)


@router.post("/jobs/{job_id}/materials/{reservation_id}/return", response=responses({200: ReservationOut}), summary="Return unused stock from the job")
def return_(request: HttpRequest, job_id: int, reservation_id: int, body: ReturnIn) -> dict[str, Any]:
    """Back to a place (the reservation's by default); the line bills that much less. Returning more
    than was issued and not returned is 422 on `quantity`, and changes nothing."""
    job = access_job_for_user(request.auth, job_id)
    reservation = queries.reservation_of_job(job, reservation_id)
    with body_field_names(FIELD_NAMES):
        actions.material_return(actor=request.auth, reservation_id=reservation.pk, **body.model_dump())
    return _reservation(job, reservation.pk)


@router.post("/jobs/{job_id}/materials/{reservation_id}/release", response=responses({200: ReservationOut}), summary="Release what the job no longer needs")
def release(request: HttpRequest, job_id: int, reservation_id: int) -> dict[str, Any]:
    """Lets go of everything held or awaited and not yet issued: others waiting for the item get it,
    and the line bills only what was issued (or is removed when nothing was). No body. 409
    `nothing_to_release` when nothing is held or awaited."""
    job = access_job_for_user(request.auth, job_id)
    reservation = queries.reservation_of_job(job, reservation_id)
    actions.material_release(actor=request.auth, reservation_id=reservation.pk)
    return _reservation(job, reservation.pk)


@router.get("/visits/{visit_id}/materials", response=responses({200: list[MovementOut]}, READ), summary="Materials used on a visit")
def visit_materials(request: HttpRequest, visit_id: int) -> list[dict[str, Any]]:
    """Issues and returns recorded on the visit, newest first. A fixed number of queries whatever
    their number."""
    visit = access_visit_for_user(request.auth, visit_id)
    movements = queries.visit_usage(visit.pk)
    prefetch_related_objects(movements, "from_location", "to_location", "actor")
    return [movement_out(m) for m in movements]


@router.post("/visits/{visit_id}/materials", response=responses({201: UsageOut}), summary="Record materials used from my truck")
def usage(request: HttpRequest, visit_id: int, body: UsageIn) -> Status:
    """A technician on the visit's crew used stock from their truck: what was reserved for the job on
    the truck is consumed first, anything beyond is added to the job's line for the item at its price
    and cost. Answers the billable line. 409 `insufficient_stock` (`details.available`) when the truck
    has less, `visit_not_started` before the crew set off, `no_truck`; 403 for anyone else."""
    visit = access_visit_for_user(request.auth, visit_id)
    with body_field_names(FIELD_NAMES):
        reservation = actions.usage_record(actor=request.auth, visit_id=visit.pk, item_id=body.item_id, quantity=body.quantity)
    line = LineItem.objects.get(pk=reservation.line_item_id)
    return Status(201, usage_out(line, reservation, to_milli(body.quantity)))
