"""The demo company's stock: vendors, the parts its job types use, a warehouse and a truck per
technician with opening stock, and materials reserved on open jobs — some in stock, some waiting for a
purchase order — so the list's "blocked by parts" filter, the purchasing page and the readiness panel
have something to show. Written through the actions, like a person would, after the demo jobs."""

from datetime import datetime
from random import Random

from serviceopus.accounts.models import User
from serviceopus.core.errors import DomainError
from serviceopus.crew.models import Technician
from serviceopus.jobs.models import Job, JobEvent, JobType, LineItem
from serviceopus.jobs.status import JobStatus

from .actions import purchasing, reservations, stock
from .models import InventoryItem, PurchaseOrder, PurchaseOrderEvent, Reservation, StockLocation, StockMovement, Vendor
from .queries import to_order

VENDORS = (
    ("Ferguson HVAC Supply", "orders@ferguson-hvac.example", "555-0140", 2),
    ("Graybar Electric", "counter@graybar.example", "555-0171", 3),
    ("Marcone Appliance Parts", "parts@marcone.example", "555-0188", 4),
    ("Hajoca Plumbing Supply", "sales@hajoca.example", "555-0123", 2),
)
# sku, name, unit, price, cost, vendor, reorder point, warehouse stock, on each truck
ITEMS = (
    ("CAP-45-5", "Run capacitor 45/5 MFD", "each", 7800, 1900, 0, 4, 12, 2),
    ("CON-30-2P", "Contactor 30 A, 2-pole", "each", 9500, 2400, 0, 3, 6, 1),
    ("REF-410A", "R-410A refrigerant", "lb", 9500, 2800, 0, 20, 60, 4),
    ("FLT-16251", "Pleated filter 16x25x1", "each", 1800, 500, 0, 24, 80, 6),
    ("FLS-UNIV", "Flame sensor", "each", 6900, 1400, 0, 3, 8, 1),
    ("IGN-HSI", "Igniter, hot surface", "each", 14500, 3900, 0, 2, 3, 0),
    ("WH-50G-GAS", "50-gal gas water heater", "each", 0, 72000, 3, 1, 1, 0),
    ("EXP-TANK-2", "Thermal expansion tank", "each", 14500, 4200, 3, 2, 4, 0),
    ("CLN-CAP-3", "Cleanout cap 3 in", "each", 2400, 600, 3, 6, 20, 2),
    ("PNL-200A", "200 A main breaker panel", "each", 0, 41000, 1, 1, 0, 0),
    ("BRK-AFCI-15", "AFCI breaker 15 A", "each", 5500, 3200, 1, 12, 30, 4),
    ("SRG-WHOLE", "Whole-home surge protector", "each", 29500, 9000, 1, 2, 3, 0),
    ("DEF-HTR-ASM", "Defrost heater assembly", "each", 16500, 4800, 2, 1, 1, 0),
    ("PMP-DRAIN", "Drain pump", "each", 18900, 5600, 2, 2, 2, 0),
    ("MTR-EVAP-FAN", "Evaporator fan motor", "each", 21500, 6800, 2, 1, 0, 0),
    ("REF-404A", "R-404A refrigerant", "lb", 11000, 3400, 0, 10, 12, 0),
    ("TAPE-FOIL", "Foil duct tape 2.5 in × 60 yd", "roll", 1900, 700, 0, 6, 24, 2),
    ("WIRE-THHN-12", "THHN wire 12 AWG", "ft", 90, 28, 1, 500, 2500, 100),
)
# What open jobs of a type need: (job type, SKUs with quantities). The water heater install requires
# its materials before a visit is scheduled.
NEEDS = {
    "AC repair": (("CAP-45-5", "1"), ("CON-30-2P", "1")),
    "Furnace maintenance": (("IGN-HSI", "1"), ("FLT-16251", "2")),
    "Water heater install": (("WH-50G-GAS", "1"), ("EXP-TANK-2", "1")),
    "Panel upgrade": (("PNL-200A", "1"), ("BRK-AFCI-15", "6")),
    "Appliance repair": (("DEF-HTR-ASM", "1"),),
    "Walk-in cooler service": (("MTR-EVAP-FAN", "1"), ("REF-404A", "4")),
}
GATED_TYPES = ("Water heater install",)


def ensure_inventory(rng: Random, *, office: User, now: datetime) -> None:
    """Create the demo's stock once (nothing is done when items exist already), dated `now`."""
    if InventoryItem.objects.exists():
        return
    stamped = (StockMovement, Reservation, PurchaseOrder, PurchaseOrderEvent, JobEvent, LineItem)
    before = {model: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0 for model in stamped}
    vendors = [Vendor.objects.create(name=n, email=e, phone=p, lead_time_days=d) for n, e, p, d in VENDORS]
    warehouse = StockLocation.objects.create(name="Main warehouse", kind=StockLocation.Kind.WAREHOUSE)
    trucks = [
        StockLocation.objects.create(name=f"Truck · {t.user.first_name} {t.user.last_name[:1]}.", kind=StockLocation.Kind.TRUCK, technician=t)
        for t in Technician.objects.filter(active=True).select_related("user").order_by("pk")
    ]
    items = {}
    for sku, name, unit, price, cost, vendor, reorder, in_warehouse, per_truck in ITEMS:
        item = InventoryItem.objects.create(
            sku=sku,
            name=name,
            unit=unit,
            default_price_cents=price,
            default_cost_cents=cost,
            preferred_vendor=vendors[vendor],
            reorder_point_milli=reorder * 1000,
        )
        items[sku] = item
        if in_warehouse:
            stock.stock_receive(actor=office, item_id=item.pk, location_id=warehouse.pk, quantity=str(in_warehouse), reason="Opening count")
        for truck in trucks:
            if per_truck:
                stock.stock_receive(actor=office, item_id=item.pk, location_id=truck.pk, quantity=str(per_truck), reason="Opening count")
    JobType.objects.filter(name__in=GATED_TYPES).update(requires_materials_ready=True)
    _reserve_on_open_jobs(rng, office, items, warehouse)
    _purchase_orders(office)
    # Rows stamped by their models' defaults carry the real clock, not the demo's: date them `now`.
    for model, last in before.items():
        model.objects.filter(pk__gt=last).update(created_at=now)


def _reserve_on_open_jobs(rng: Random, office: User, items: dict[str, InventoryItem], warehouse: StockLocation) -> None:
    """Reserve each open job's parts at the warehouse, backordering what is not there: the scarce
    items (panels, motors, heaters) leave a few jobs blocked or partly ready."""
    for type_name, needs in NEEDS.items():
        jobs = list(Job.objects.filter(job_type__name=type_name, status__in=(JobStatus.NEW, JobStatus.SCHEDULED)).order_by("id")[:4])
        for job in rng.sample(jobs, min(len(jobs), 3)):
            for sku, quantity in needs:
                try:
                    reservations.material_reserve(
                        actor=office, job_id=job.pk, item_id=items[sku].pk, location_id=warehouse.pk, quantity=quantity, backorder=True
                    )
                except DomainError:
                    continue  # a job the demo left locked: skip it


def _purchase_orders(office: User) -> None:
    """Order what one vendor should bring (so jobs show a PO and its date); the rest of what is short
    stays on the purchasing page, waiting to be drafted."""
    needs = [n for n in to_order() if n.vendor is not None]
    if not needs:
        return
    vendor = needs[0].vendor
    [draft] = purchasing.drafts_for_shortfalls(actor=office, reservation_ids=[n.reservation.pk for n in needs if n.vendor == vendor])
    purchasing.po_order(actor=office, po_id=draft.pk)
