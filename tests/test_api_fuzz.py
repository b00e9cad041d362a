"""schemathesis against our own OpenAPI document, in-process through Django's WSGI handler.

Every operation gets generated requests, valid and invalid, authenticated with an owner's token. Each
response must not be a server error and must match the document: a declared status code, the declared
content type and the declared body schema. Most generated ids are mapped onto seeded rows so that
requests reach the actions, not only the 404 branch.

The test runs inside the usual test transaction; Django's WSGI handler would close the database
connection at the start and end of every request (close_old_connections), which would break that
transaction, so the fixture disconnects those two signal receivers for the test's duration.
"""

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance

from serviceopus.accounts.actions import api_token_create
from serviceopus.billing.actions import invoice_create, invoice_issue, payment_record
from serviceopus.billing.models import InvoiceLine
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.field.models import TimeEntry
from serviceopus.inventory.actions.purchasing import po_create, po_order
from serviceopus.inventory.actions.reservations import material_reserve
from serviceopus.inventory.actions.stock import stock_receive
from serviceopus.inventory.models import PurchaseOrderLine
from serviceopus.jobs.status import JobStatus
from tests.factories import (
    AssetFactory,
    ContactFactory,
    ItemFactory,
    JobFactory,
    JobTypeFactory,
    LineItemFactory,
    LocationFactory,
    SkillFactory,
    TechnicianFactory,
    TruckFactory,
    VendorFactory,
    VisitFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.fuzz

APP = WSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)

# Names of path parameters and body fields → ids of seeded rows (filled by the fixture per test).
SEEDED: dict[str, list[int]] = {}
PARAM_TABLE = {
    "customer_id": "customer",
    "location_id": "location",
    "contact_id": "contact",
    "asset_id": "asset",
    "asset_ids": "asset",
    "job_id": "job",
    "job_ids": "job",
    "invoice_id": "invoice",
    "line_item_id": "line_item",
    "technician_id": "technician",
    "lead_id": "technician",
    "helper_ids": "technician",
    "visit_id": "visit",
    "entry_id": "time_entry",
    "job_type_id": "job_type",
    "skill_ids": "skill",
    "required_skill_ids": "skill",
    "user_id": "user",
    "item_id": "item",
    "vendor_id": "vendor",
    "reservation_id": "reservation",
    "reservation_ids": "reservation",
    "po_id": "purchase_order",
    "line_id": "po_line",
    "from_location_id": "stock_location",
    "to_location_id": "stock_location",
    "ship_to_id": "stock_location",
}
# Under these paths `location_id` is a stock location (a warehouse or truck), not a customer's address.
INVENTORY_PATHS = ("/inventory", "/purchase-orders", "/materials")
INVENTORY_TABLE = {**PARAM_TABLE, "location_id": "stock_location"}
# Under /invoices `line_id` is an invoice line, not a purchase order's.
BILLING_TABLE = {**PARAM_TABLE, "line_id": "invoice_line"}


def _table(context: Any) -> dict[str, str]:
    path = getattr(getattr(context, "operation", None), "path", "") or ""
    if path.startswith("/invoices"):
        return BILLING_TABLE
    return INVENTORY_TABLE if any(part in path for part in INVENTORY_PATHS) else PARAM_TABLE


def _seeded(name: str, value: Any, table: dict[str, str] = PARAM_TABLE) -> Any:
    """Two in three generated ids become a seeded row's id (a function of the value, so hypothesis
    can still shrink); the rest, and anything not an integer, stay as generated (mostly 404/422).
    Lists and nested objects (a purchase order's `lines`) are mapped item by item."""
    if isinstance(value, dict):
        return {key: _seeded(key, v, table) for key, v in value.items()}
    if isinstance(value, list):
        return [_seeded(name, v, table) for v in value]
    ids = SEEDED.get(table.get(name, ""), [])
    if ids and isinstance(value, int) and not isinstance(value, bool) and value % 3:
        return ids[value % len(ids)]
    return value


@schema.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    if not path_parameters:
        return path_parameters
    table = _table(context)
    return {name: _seeded(name, value, table) for name, value in path_parameters.items()}


@schema.hook
def map_body(context: Any, body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    mapped = _seeded("", body, _table(context))
    version = mapped.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version % 3:
        mapped["version"] = 1  # what a seeded row has until an edit succeeds
    return mapped


@pytest.fixture
def fuzz_token(owner):  # type: ignore[no-untyped-def]
    tech_a, tech_b = TechnicianFactory(), TechnicianFactory()
    location = LocationFactory()
    contact = ContactFactory(customer=location.customer)
    asset = AssetFactory(location=location)
    job_type = JobTypeFactory(name="Furnace repair")
    jobs = [
        JobFactory(location=location, job_type=job_type, technicians=[tech_a]),
        JobFactory(location=location, job_type=job_type, status=JobStatus.IN_PROGRESS, technicians=[tech_b]),
    ]
    line = LineItemFactory(job=jobs[1])
    # A scheduled visit, one the crew is working on, and an unscheduled draft; time entries to review.
    visits = [
        VisitFactory(job=jobs[0], number=1, crew=[tech_a]),
        VisitFactory(job=jobs[1], number=1, crew=[tech_b], status=VisitStatus.WORKING),
        Visit.objects.create(job=jobs[0], number=2, status=VisitStatus.UNSCHEDULED),
    ]
    start = visits[1].scheduled_start - timedelta(hours=2)
    entries = [
        TimeEntry.objects.create(job=jobs[1], visit=visits[1], technician=tech_b, kind="work", start=start, end=start + timedelta(hours=1)),
        TimeEntry.objects.create(job=jobs[1], technician=tech_b, kind="travel", start=start, end=start + timedelta(minutes=20)),
    ]
    # Inventory: a vendor's two items in a warehouse and on tech_b's truck, a job short of one item
    # (backordered) and one holding the other on the truck, a draft and an ordered purchase order.
    vendor = VendorFactory(name="Fuzz Supply")
    items = [ItemFactory(preferred_vendor=vendor), ItemFactory(preferred_vendor=vendor)]
    places = [WarehouseFactory(name="Fuzz warehouse"), TruckFactory(technician=tech_b)]
    stock_receive(actor=owner, item_id=items[0].pk, location_id=places[0].pk, quantity="10")
    stock_receive(actor=owner, item_id=items[1].pk, location_id=places[0].pk, quantity="5")
    stock_receive(actor=owner, item_id=items[1].pk, location_id=places[1].pk, quantity="3")
    reservations = [
        material_reserve(actor=owner, job_id=jobs[0].pk, item_id=items[0].pk, location_id=places[0].pk, quantity="15", backorder=True),
        material_reserve(actor=owner, job_id=jobs[1].pk, item_id=items[1].pk, location_id=places[1].pk, quantity="2", backorder=True),
    ]
    orders = [
        po_create(actor=owner, vendor_id=vendor.pk, ship_to_id=places[0].pk, lines=[{"item_id": items[1].pk, "quantity": "4"}]),
        po_create(
            actor=owner, vendor_id=vendor.pk, ship_to_id=places[0].pk, lines=[{"item_id": items[0].pk, "quantity": "3", "reservation_id": reservations[0].pk}]
        ),
    ]
    po_order(actor=owner, po_id=orders[1].pk)
    # Billing: three finished jobs of the customer, one on a draft invoice, one on an issued invoice and
    # one on a partly paid one; a fourth finished job with nothing invoiced yet.
    done = [JobFactory(location=location, job_type=job_type, status=JobStatus.WORK_COMPLETE, technicians=[tech_a]) for _ in range(4)]
    for job in done:
        LineItemFactory(job=job, unit_price_cents=12500)
        LineItemFactory(job=job, kind="fee", description="Trip fee", unit_price_cents=3500)
    invoices = [invoice_create(actor=owner, job_ids=[job.pk]) for job in done[:3]]
    for draft in invoices[1:]:
        invoice_issue(actor=owner, invoice_id=draft.pk, version=draft.version)
    payment_record(actor=owner, invoice_id=invoices[2].pk, amount_cents=5000, method="check", received_on=date.today())
    SEEDED.clear()
    SEEDED.update(
        customer=[location.customer_id],
        location=[location.pk],
        contact=[contact.pk],
        asset=[asset.pk],
        job=[j.pk for j in jobs + done],
        line_item=[line.pk],
        technician=[tech_a.pk, tech_b.pk],
        visit=[v.pk for v in visits],
        time_entry=[e.pk for e in entries],
        job_type=[job_type.pk],
        skill=[SkillFactory(name="Gas").pk, SkillFactory(name="Electrical").pk],
        user=[tech_a.user_id, owner.pk],
        vendor=[vendor.pk],
        item=[i.pk for i in items],
        stock_location=[p.pk for p in places],
        reservation=[r.pk for r in reservations],
        purchase_order=[o.pk for o in orders],
        po_line=list(PurchaseOrderLine.objects.filter(purchase_order__in=orders).order_by("pk").values_list("pk", flat=True)),
        invoice=[i.pk for i in invoices],
        invoice_line=list(InvoiceLine.objects.filter(invoice__in=invoices).order_by("pk").values_list("pk", flat=True)),
    )
    _, raw = api_token_create(actor=owner, name="fuzz")
    # Keep the test's transaction on its connection (see the module docstring).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield raw
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        SEEDED.clear()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_api_conforms_to_its_schema(case, fuzz_token):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {fuzz_token}"}
    if case.method == "POST":
        # A fresh key per example: hypothesis repeats small strings, and a reused key with another
        # body is a (correct) 422 that would hide what the body itself does.
        headers["Idempotency-Key"] = uuid.uuid4().hex
    case.call_and_validate(
        headers=headers,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
