"""Line items of a job: service, labour, material and fees. Money is integer cents; quantity is a
decimal string. Whoever may see the job may read its lines; changing them needs jobs.edit_line_items
and a job that is not invoiced, closed or cancelled (409 job_locked)."""

from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Status

from serviceopus.accounts.models import User
from serviceopus.api.schemas import READ, WRITE, body_field_names, responses

from .. import actions, queries
from ..models import LineItem
from .schemas import LINE_FIELD_NAMES, LineItemIn, LineItemOut, LineItemPatch, LineItemsOut, line_item_out, totals_out

router = Router(tags=["line items"])


def access_line_item_for_user(user: User, line_item_id: int) -> LineItem:
    """The line, or Http404 when it does not exist or its job is not visible to this user."""
    item = LineItem.objects.filter(pk=line_item_id).first()
    if item is None:
        raise Http404("No such line item.")
    queries.access_job_for_user(user, item.job_id)
    return item


@router.get("/jobs/{job_id}/line-items", response=responses({200: LineItemsOut}, READ), summary="A job's line items and totals")
def line_item_list(request: HttpRequest, job_id: int) -> dict[str, Any]:
    job = queries.access_job_for_user(request.auth, job_id)
    items, totals = queries.line_items_with_totals(job)
    return {"items": [line_item_out(i) for i in items], "totals": totals_out(totals)}


@router.post("/jobs/{job_id}/line-items", response=responses({201: LineItemOut}), summary="Add a line item")
def line_item_add(request: HttpRequest, job_id: int, body: LineItemIn) -> Status:
    queries.access_job_for_user(request.auth, job_id)
    with body_field_names(LINE_FIELD_NAMES):
        item = actions.line_item_add(actor=request.auth, job_id=job_id, **body.model_dump())
    return Status(201, line_item_out(item))


@router.get("/line-items/{line_item_id}", response=responses({200: LineItemOut}, READ), summary="A line item")
def line_item_detail(request: HttpRequest, line_item_id: int) -> dict[str, Any]:
    return line_item_out(access_line_item_for_user(request.auth, line_item_id))


@router.patch("/line-items/{line_item_id}", response=responses({200: LineItemOut}, WRITE), summary="Change a line item")
def line_item_update(request: HttpRequest, line_item_id: int, body: LineItemPatch) -> dict[str, Any]:
    """Fields left out keep their value; `version` must be the one you read (409 stale otherwise)."""
    item = access_line_item_for_user(request.auth, line_item_id)
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    current = {name: getattr(item, name) for name in ("kind", "description", "quantity", "unit_price_cents", "unit_cost_cents", "taxable")}
    with body_field_names(LINE_FIELD_NAMES):
        updated = actions.line_item_update(actor=request.auth, line_item_id=item.pk, version=version, **{**current, **changes})
    return line_item_out(updated)


@router.delete("/line-items/{line_item_id}", response=responses({204: None}, WRITE), summary="Remove a line item")
def line_item_remove(request: HttpRequest, line_item_id: int) -> Status:
    item = access_line_item_for_user(request.auth, line_item_id)
    actions.line_item_remove(actor=request.auth, line_item_id=item.pk)
    return Status(204, None)
