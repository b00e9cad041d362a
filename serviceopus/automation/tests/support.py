"""Shared data of the automation tests: a customer with two addresses and equipment, a job type, and
plans set up through the actions (as the pages do)."""

from datetime import date, time
from typing import Any

from serviceopus.automation import agreements
from serviceopus.automation.models import PlanKind, RecurringPlan
from tests.factories import AssetFactory, CustomerFactory, JobTypeFactory, LocationFactory

START = date(2030, 1, 1)


def world() -> dict[str, Any]:
    customer = CustomerFactory(name="Harbor Dental")
    home = LocationFactory(customer=customer, label="Main office")
    annex = LocationFactory(customer=customer, label="Annex")
    return {
        "customer": customer,
        "home": home,
        "annex": annex,
        "furnace": AssetFactory(location=home),
        "job_type": JobTypeFactory(name="Maintenance visit"),
    }


def make_plan(actor, w: dict[str, Any], *, kind: str = PlanKind.AGREEMENT, locations=None, **overrides: Any) -> RecurringPlan:  # type: ignore[no-untyped-def]
    data: dict[str, Any] = {
        "name": "Annual HVAC care",
        "job_type": w["job_type"],
        "scope": "Inspect and service the heating system",
        "duration_minutes": 90,
        "priority": 2,
        "visit_time": time(9, 0),
        "rrule": "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=15",
        "start_date": START,
        "end_date": date(2030, 12, 31),
        "horizon_days": 90,
    }
    if kind == PlanKind.AGREEMENT:
        data.update(covered_kinds=["labour", "service"], not_to_exceed_cents=50000, price_cents=12500, price_period="per_visit")
    data.update(overrides)
    return agreements.plan_create(
        actor=actor, kind=kind, customer_id=w["customer"].pk, locations=locations if locations is not None else [w["home"]], assets=[w["furnace"]], **data
    )
