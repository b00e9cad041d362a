import pytest

from serviceopus.inventory.actions import reservations
from serviceopus.inventory.actions.stock import stock_receive
from serviceopus.jobs.status import JobStatus
from tests.factories import ItemFactory, JobFactory, TruckFactory, VendorFactory, WarehouseFactory


@pytest.fixture
def vendor(db):  # type: ignore[no-untyped-def]
    return VendorFactory(name="Ferguson HVAC Supply", lead_time_days=2)


@pytest.fixture
def item(vendor):  # type: ignore[no-untyped-def]
    return ItemFactory(sku="CAP-45-5", name="Run capacitor 45/5 µF", default_cost_cents=1850, default_price_cents=4900, preferred_vendor=vendor)


@pytest.fixture
def warehouse(db):  # type: ignore[no-untyped-def]
    return WarehouseFactory(name="Main warehouse")


@pytest.fixture
def truck_a(tech_a):  # type: ignore[no-untyped-def]
    return TruckFactory(technician=tech_a, name="Truck 1 · Alex")


@pytest.fixture
def stock(office):  # type: ignore[no-untyped-def]
    """stock(item, place, "3") puts that much on hand through a receipt."""

    def put(item, location, quantity):  # type: ignore[no-untyped-def]
        return stock_receive(actor=office, item_id=item.pk, location_id=location.pk, quantity=quantity, reason="Opening stock")

    return put


@pytest.fixture
def job(tech_a):  # type: ignore[no-untyped-def]
    """A scheduled job of Alex's (the workspace tests; other files define their own `job`)."""
    return JobFactory(status=JobStatus.SCHEDULED, technicians=[tech_a])


@pytest.fixture
def other_job(tech_b):  # type: ignore[no-untyped-def]
    """A scheduled job of Blair's."""
    return JobFactory(status=JobStatus.SCHEDULED, technicians=[tech_b])


@pytest.fixture
def reserve(office):  # type: ignore[no-untyped-def]
    """reserve(job, item, place, "2") reserves as the office (backordered unless told otherwise)."""

    def make(job, item, place, quantity, *, backorder=True):  # type: ignore[no-untyped-def]
        return reservations.material_reserve(actor=office, job_id=job.pk, item_id=item.pk, location_id=place.pk, quantity=quantity, backorder=backorder)

    return make
