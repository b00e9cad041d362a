"""Customers, their service addresses (locations), contacts and equipment (assets).

Reads go through customers.queries (office roles only: a technician gets 404), writes through
customers.actions. There are no delete actions for customers, locations, contacts or assets yet, so
the API offers none.
"""

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import BaseModel

from serviceopus.api.schemas import (
    LIST,
    READ,
    CursorPage,
    IsoDate,
    Latitude,
    Longitude,
    Name,
    PageParams,
    StrictIn,
    Text,
    Version,
    decimal_out,
    responses,
)
from serviceopus.core.text import NO_NUL_PATTERN
from serviceopus.jobs.pagination import SortKey, paginate

from . import actions, queries
from .models import Asset, Contact, Customer, Location

router = Router(tags=["customers"])

CustomerKind = Literal[tuple(Customer.Kind.values)]  # type: ignore[valid-type]
Email = Text(254)
Phone = Text(40)


# ---- output -------------------------------------------------------------------------------------


class CustomerOut(BaseModel):
    id: int
    name: str
    kind: str
    email: str
    phone: str
    notes: str
    email_opt_out: bool
    sms_opt_out: bool
    created_at: datetime
    updated_at: datetime
    version: int


class AssetOut(BaseModel):
    id: int
    location_id: int
    name: str
    make: str
    model: str
    serial: str
    install_date: date | None
    notes: str
    version: int


class LocationOut(BaseModel):
    id: int
    customer_id: int
    label: str
    street: str
    city: str
    region: str
    postal_code: str
    one_line: str
    lat: str | None
    lng: str | None
    access_notes: str
    gate_code: str
    version: int


class LocationDetailOut(LocationOut):
    assets: list[AssetOut]


class ContactOut(BaseModel):
    id: int
    customer_id: int
    name: str
    role: str
    email: str
    phone: str
    is_primary: bool
    version: int


class CustomerDetailOut(CustomerOut):
    locations: list[LocationDetailOut]
    contacts: list[ContactOut]


def customer_out(c: Customer) -> dict[str, Any]:
    return {name: getattr(c, name) for name in CustomerOut.model_fields}


def asset_out(a: Asset) -> dict[str, Any]:
    return {name: getattr(a, name) for name in AssetOut.model_fields}


def location_out(loc: Location, assets: list[Asset] | None = None) -> dict[str, Any]:
    out = {name: getattr(loc, name) for name in LocationOut.model_fields if name not in ("lat", "lng")}
    out.update(lat=decimal_out(loc.lat, 6), lng=decimal_out(loc.lng, 6))
    if assets is not None:
        out["assets"] = [asset_out(a) for a in assets]
    return out


def contact_out(c: Contact) -> dict[str, Any]:
    return {name: getattr(c, name) for name in ContactOut.model_fields}


# ---- input --------------------------------------------------------------------------------------
# Creates list every field; updates (PATCH) carry `version` and only the fields to change.


class CustomerIn(StrictIn):
    name: Name
    kind: CustomerKind = "residential"
    email: Email = ""
    phone: Phone = ""
    notes: Text(5000) = ""
    email_opt_out: bool = False
    sms_opt_out: bool = False


class CustomerPatch(StrictIn):
    version: Version
    name: Name = None
    kind: CustomerKind = None
    email: Email = None
    phone: Phone = None
    notes: Text(5000) = None
    email_opt_out: bool = None
    sms_opt_out: bool = None


class LocationIn(StrictIn):
    label: Text(100) = ""
    street: Text(200, min_length=1)
    city: Text(100, min_length=1)
    region: Text(100) = ""
    postal_code: Text(20) = ""
    lat: Latitude | None = None
    lng: Longitude | None = None
    access_notes: Text(2000) = ""
    gate_code: Text(50) = ""


class LocationPatch(StrictIn):
    version: Version
    label: Text(100) = None
    street: Text(200, min_length=1) = None
    city: Text(100, min_length=1) = None
    region: Text(100) = None
    postal_code: Text(20) = None
    lat: Latitude | None = None
    lng: Longitude | None = None
    access_notes: Text(2000) = None
    gate_code: Text(50) = None


class ContactIn(StrictIn):
    name: Name
    role: Text(100) = ""
    email: Email = ""
    phone: Phone = ""
    is_primary: bool = False


class ContactPatch(StrictIn):
    version: Version
    name: Name = None
    role: Text(100) = None
    email: Email = None
    phone: Phone = None
    is_primary: bool = None


class AssetIn(StrictIn):
    name: Name
    make: Text(100) = ""
    model: Text(100) = ""
    serial: Text(100) = ""
    install_date: IsoDate | None = None
    notes: Text(2000) = ""


class AssetPatch(StrictIn):
    version: Version
    name: Name = None
    make: Text(100) = None
    model: Text(100) = None
    serial: Text(100) = None
    install_date: IsoDate | None = None
    notes: Text(2000) = None


def _changes(body: StrictIn) -> tuple[int, dict[str, Any]]:
    data = body.model_dump(exclude_unset=True)
    return data.pop("version"), data


# ---- customers ----------------------------------------------------------------------------------


@router.get("/customers", response=responses({200: CursorPage[CustomerOut]}, LIST), summary="List customers")
def customer_list(
    request: HttpRequest,
    page: PageParams = Query(...),  # noqa: B008
    q: str = Query("", max_length=100, pattern=NO_NUL_PATTERN, description="Part of the name."),
) -> dict[str, Any]:
    qs = queries.customers_for(request.auth, q)
    result = paginate(qs, [SortKey("id", False)], cursor=page.cursor, size=page.limit)
    return {"items": [customer_out(c) for c in result.rows], "next_cursor": result.next_cursor, "prev_cursor": result.prev_cursor}


@router.post("/customers", response=responses({201: CustomerOut}), summary="Create a customer")
def customer_create(request: HttpRequest, body: CustomerIn) -> Status:
    customer = actions.customer_create(actor=request.auth, **body.model_dump())
    return Status(201, customer_out(customer))


@router.get("/customers/{customer_id}", response=responses({200: CustomerDetailOut}, READ), summary="A customer with addresses, assets and contacts")
def customer_detail(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    customer = queries.access_customer_for_user(request.auth, customer_id)
    out = customer_out(customer)
    out["locations"] = [location_out(loc, list(loc.assets.all())) for loc in customer.locations.all()]
    out["contacts"] = [contact_out(c) for c in customer.contacts.all()]
    return out


@router.patch("/customers/{customer_id}", response=responses({200: CustomerOut}), summary="Change a customer")
def customer_update(request: HttpRequest, customer_id: int, body: CustomerPatch) -> dict[str, Any]:
    version, changes = _changes(body)
    return customer_out(actions.customer_update(actor=request.auth, customer_id=customer_id, version=version, changes=changes))


# ---- locations ----------------------------------------------------------------------------------


@router.post("/customers/{customer_id}/locations", response=responses({201: LocationOut}), summary="Add a service address")
def location_create(request: HttpRequest, customer_id: int, body: LocationIn) -> Status:
    location = actions.location_create(actor=request.auth, customer_id=customer_id, **body.model_dump())
    return Status(201, location_out(location))


@router.get("/locations/{location_id}", response=responses({200: LocationDetailOut}, READ), summary="A service address with its assets")
def location_detail(request: HttpRequest, location_id: int) -> dict[str, Any]:
    location = queries.access_location_for_user(request.auth, location_id)
    return location_out(location, list(location.assets.all()))


@router.patch("/locations/{location_id}", response=responses({200: LocationOut}), summary="Change a service address")
def location_update(request: HttpRequest, location_id: int, body: LocationPatch) -> dict[str, Any]:
    version, changes = _changes(body)
    return location_out(actions.location_update(actor=request.auth, location_id=location_id, version=version, changes=changes))


# ---- contacts -----------------------------------------------------------------------------------


@router.post("/customers/{customer_id}/contacts", response=responses({201: ContactOut}), summary="Add a contact")
def contact_create(request: HttpRequest, customer_id: int, body: ContactIn) -> Status:
    contact = actions.contact_create(actor=request.auth, customer_id=customer_id, **body.model_dump())
    return Status(201, contact_out(contact))


@router.get("/contacts/{contact_id}", response=responses({200: ContactOut}, READ), summary="A contact")
def contact_detail(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    return contact_out(queries.access_contact_for_user(request.auth, contact_id))


@router.patch("/contacts/{contact_id}", response=responses({200: ContactOut}), summary="Change a contact")
def contact_update(request: HttpRequest, contact_id: int, body: ContactPatch) -> dict[str, Any]:
    version, changes = _changes(body)
    return contact_out(actions.contact_update(actor=request.auth, contact_id=contact_id, version=version, changes=changes))


# ---- assets -------------------------------------------------------------------------------------


@router.post("/locations/{location_id}/assets", response=responses({201: AssetOut}), summary="Add equipment at an address")
def asset_create(request: HttpRequest, location_id: int, body: AssetIn) -> Status:
    asset = actions.asset_create(actor=request.auth, location_id=location_id, **body.model_dump())
    return Status(201, asset_out(asset))


@router.get("/assets/{asset_id}", response=responses({200: AssetOut}, READ), summary="A piece of equipment")
def asset_detail(request: HttpRequest, asset_id: int) -> dict[str, Any]:
    return asset_out(queries.access_asset_for_user(request.auth, asset_id))


@router.patch("/assets/{asset_id}", response=responses({200: AssetOut}), summary="Change a piece of equipment")
def asset_update(request: HttpRequest, asset_id: int, body: AssetPatch) -> dict[str, Any]:
    version, changes = _changes(body)
    return asset_out(actions.asset_update(actor=request.auth, asset_id=asset_id, version=version, changes=changes))
