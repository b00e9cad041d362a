"""The materials flow of a job through the pages people use: the office adds an expansion valve the
warehouse does not have (refused, then backordered), sees the job blocked by parts in its header and in
the list, drafts, orders and receives the purchase order, and sees the job's parts ready. The
technician, on a phone at the site, records refrigerant used from the truck; the office then finds it on
the job's billable lines with its price and cost."""

import re
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.urls import reverse
from django.utils import dateformat, timezone
from playwright.sync_api import Locator, Page, expect

from serviceopus.dispatch.status import VisitStatus
from serviceopus.inventory.actions.stock import stock_receive
from serviceopus.inventory.models import PurchaseOrder, Reservation, StockBalance
from serviceopus.jobs.models import Job, LineItem
from serviceopus.jobs.status import JobStatus
from tests.browser.conftest import ARTIFACTS
from tests.factories import (
    CustomerFactory,
    ItemFactory,
    JobFactory,
    JobTypeFactory,
    LineItemFactory,
    LocationFactory,
    TruckFactory,
    VendorFactory,
    VisitFactory,
    WarehouseFactory,
)

PHONE = {"width": 390, "height": 844}
VALVE = "TXV-R410-3"
GAS = "REF-410A"


def balance(item, place) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    row = StockBalance.objects.filter(item=item, location=place).values_list("on_hand_milli", "reserved_milli").first()
    return row or (0, 0)


def section_shot(section: Locator, name: str) -> None:
    """The phone's materials section alone: a full page at 390 px is too long to read."""
    folder = ARTIFACTS / connection.vendor
    folder.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(folder / f"test_materials-{name}.png"))


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Job sections").get_by_role("link", name=name, exact=True).click()


def line_row(page: Page, sku: str):  # type: ignore[no-untyped-def]
    return page.locator("table.line-items tbody tr").filter(has_text=sku)


def test_a_job_blocked_by_parts_gets_them_ordered_received_and_used(office, tech_a, login_as, shot):  # type: ignore[no-untyped-def]
    vendor = VendorFactory(name="Coastal HVAC Supply", lead_time_days=3)
    valve = ItemFactory(
        sku=VALVE, name="Thermal expansion valve 3 ton", unit="each", default_cost_cents=11250, default_price_cents=18900, preferred_vendor=vendor
    )
    gas = ItemFactory(sku=GAS, name="R-410A refrigerant", unit="lb", default_cost_cents=1200, default_price_cents=3500, preferred_vendor=vendor)
    warehouse = WarehouseFactory(name="Main warehouse")
    truck = TruckFactory(technician=tech_a, name="Truck 1 · Alex")
    stock_receive(actor=office, item_id=gas.pk, location_id=truck.pk, quantity="10", reason="Opening stock")
    customer = CustomerFactory(name="Harbor Bakery")
    job = JobFactory(
        customer=customer,
        location=LocationFactory(customer=customer),
        job_type=JobTypeFactory(name="AC repair"),
        status=JobStatus.IN_PROGRESS,
        scope="Walk-in cooler condenser icing up; replace the expansion valve.",
    )
    LineItemFactory(job=job, kind="service", description="AC diagnostic", quantity=Decimal("1"), unit_price_cents=12900, unit_cost_cents=0)
    visit = VisitFactory(job=job, crew=[tech_a], status=VisitStatus.ARRIVED)
    # Another job without parts: the "Blocked by parts" view must leave it out.
    other = JobFactory(customer=CustomerFactory(name="Quiet Library"), status=JobStatus.NEW)

    # ---- the office adds the valve: refused while the warehouse has none, then backordered ----------------
    page = login_as(office)
    page.goto(f"/jobs/{job.pk}/")
    expect(page.locator("#parts-readiness")).to_have_count(0)  # no parts tracked yet
    open_tab(page, "Line items")
    materials = page.locator("#materials")
    expect(materials).to_contain_text("No materials from stock yet.")
    materials.get_by_role("link", name="Add from stock").click()
    form = page.get_by_role("form", name="Add from stock")
    expect(form).to_be_visible()
    form.get_by_label("Item").fill(VALVE)
    form.get_by_label("Item").press("Tab")  # "change": the place list reloads saying what is free where
    places = form.get_by_label("From")
    expect(places).to_contain_text("Main warehouse — 0 each free")
    places.select_option(str(warehouse.pk))
    form.get_by_label("Quantity").fill("2")
    form.get_by_role("button", name="Add to job").click()
    form = page.get_by_role("form", name="Add from stock")
    expect(form.get_by_role("alert")).to_contain_text(f"Only 0 each of {VALVE} are free at Main warehouse; 2 needed.")
    expect(form.get_by_label("Quantity")).to_have_value("2")
    expect(form.get_by_label("Item")).to_have_value(VALVE)
    expect(form.get_by_label("From")).to_have_value(str(warehouse.pk))
    expect(page.locator("#parts-readiness")).to_have_count(0)
    assert not Reservation.objects.filter(job=job).exists()
    assert list(LineItem.objects.filter(job=job).values_list("description", flat=True)) == ["AC diagnostic"]
    assert Job.objects.get(pk=job.pk).parts_readiness == ""
    shot(page, "materials-refused")

    form.get_by_label("Backorder what is not in stock").check()
    form.get_by_role("button", name="Add to job").click()
    # The readiness panel appears under the header (the page reloads to show it).
    panel = page.locator("#parts-readiness")
    expect(panel).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Added 2 each")).to_have_text(f"Added 2 each × {VALVE} from Main warehouse; 2 each short, backordered.")
    expect(panel.locator(".badge-parts")).to_have_text("Blocked by parts")
    expect(panel).to_contain_text("1 of 1 reserved item missing")
    missing = panel.locator(f"li.part[data-sku='{VALVE}']")
    expect(missing).to_contain_text(f"2 each × {VALVE} Thermal expansion valve 3 ton")
    expect(missing).to_contain_text("Reserved at Main warehouse")
    expect(missing).to_contain_text("not ordered")
    valve_line = line_row(page, VALVE)
    expect(valve_line).to_contain_text("$378.00")
    reservation = Reservation.objects.get(job=job, item=valve)
    assert (reservation.quantity_milli, reservation.allocated_milli, reservation.short_milli) == (2000, 0, 2000)
    assert Job.objects.get(pk=job.pk).parts_readiness == "blocked"
    shot(page, "materials-blocked")

    page.goto("/jobs/")
    rows = page.locator("table.job-table tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_role("navigation", name="Saved views").get_by_role("link", name="Blocked by parts").click()
    expect(page).to_have_url(re.compile(r"/jobs/\?parts=blocked$"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(job.number)
    expect(rows.first.locator(".badge-parts")).to_have_text("Blocked by parts")
    expect(page.locator("table.job-table")).not_to_contain_text(other.number)
    shot(page, "materials-list-blocked")

    # ---- a draft purchase order from the job's Purchase orders tab; ordered; received --------------------
    page.goto(f"/jobs/{job.pk}/")
    open_tab(page, "Purchase orders")
    needs = page.get_by_role("region", name="Still to order")
    expect(needs).to_contain_text(f"2 each × {VALVE}")
    expect(needs).to_contain_text("from Coastal HVAC Supply")
    needs.get_by_role("button", name="Draft purchase orders for this job's shortfalls").click()
    orders = page.get_by_role("region", name="Purchase orders for this job")
    expect(orders.locator("tbody tr")).to_have_count(1)
    po = PurchaseOrder.objects.get()
    expect(page.locator("#po-tab")).to_contain_text(f"Drafted 1 purchase order: Draft PO #{po.pk} (Coastal HVAC Supply).")
    expect(orders).to_contain_text("Not ordered yet")
    expect(orders).to_contain_text(f"{VALVE} Thermal expansion valve 3 ton — 2 each to order")
    expect(page.get_by_role("region", name="Still to order")).to_have_count(0)  # the draft covers the need
    expect(page.locator(f"#parts-readiness li.part[data-sku='{VALVE}']")).to_contain_text(f"on a draft PO, not ordered (Draft PO #{po.pk})")
    assert (po.status, po.vendor_id, po.ship_to_id) == ("draft", vendor.pk, warehouse.pk)
    assert [(line.item_id, line.quantity_milli, line.unit_cost_cents, line.job_id) for line in po.lines.all()] == [(valve.pk, 2000, 11250, job.pk)]
    shot(page, "materials-drafted")

    orders.get_by_role("link", name=f"Draft PO #{po.pk}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Draft purchase order #{po.pk}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    expect(page.locator("#lines")).to_contain_text("$225.00")
    page.get_by_role("link", name="Mark as ordered…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Mark Draft PO #{po.pk} as ordered")
    expected_on = timezone.localdate() + timedelta(days=3)  # the vendor's lead time
    expect(page.get_by_label("Expected delivery")).to_have_value(expected_on.isoformat())
    shot(page, "materials-order-confirm")
    page.get_by_role("button", name="Mark as ordered").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("PO-000001")
    expect(heading.locator(".po-status")).to_have_text("Ordered")
    expect(page.get_by_role("status").filter(has_text="Ordered from Coastal HVAC Supply as PO-000001")).to_contain_text(
        f"expected {dateformat.format(expected_on, 'M j, Y')}"
    )
    expect(page.locator(".po-facts")).to_contain_text(dateformat.format(expected_on, "D, M j, Y"))
    po.refresh_from_db()
    assert (po.number, po.status, po.expected_on) == ("PO-000001", "ordered", expected_on)
    shot(page, "materials-ordered")

    page.locator(".po-facts").get_by_role("link", name=job.number).click()
    panel = page.locator("#parts-readiness")
    expect(panel.locator(".badge-parts")).to_have_text("Blocked by parts")  # ordered is not here yet
    expect(panel.locator(f"li.part[data-sku='{VALVE}']")).to_contain_text(f"PO-000001, expected {dateformat.format(expected_on, 'D M j')}")
    expect(panel).not_to_contain_text("not ordered")
    shot(page, "materials-on-order")

    panel.get_by_role("link", name="PO-000001").click()
    page.get_by_role("link", name="Receive…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Receive PO-000001")
    expect(page.get_by_label(f"{VALVE} received now")).to_have_value("2")
    expect(page.get_by_label("Received into")).to_have_value(str(warehouse.pk))
    shot(page, "materials-receive")
    page.get_by_role("button", name="Receive", exact=True).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading.locator(".po-status")).to_have_text("Received")
    expect(page.get_by_role("status").filter(has_text="Received into Main warehouse")).to_have_text(f"Received into Main warehouse: 2 × {VALVE}.")
    receipts = page.get_by_role("region", name="Receipts")
    expect(receipts).to_contain_text(VALVE)
    expect(receipts).to_contain_text("Main warehouse")
    po.refresh_from_db()
    assert po.status == "received"
    assert balance(valve, warehouse) == (2000, 2000)  # on hand, and held for the job
    reservation.refresh_from_db()
    assert (reservation.allocated_milli, reservation.short_milli) == (2000, 0)
    assert Job.objects.get(pk=job.pk).parts_readiness == "ready"
    shot(page, "materials-received")

    page.goto(f"/jobs/{job.pk}/")
    panel = page.locator("#parts-readiness")
    expect(panel.locator(".badge-parts")).to_have_text("Parts ready")
    expect(panel).to_contain_text("The reserved item is on hand or issued")
    expect(panel.locator("li.part")).to_have_count(0)
    shot(page, "materials-ready")

    page.goto("/jobs/?parts=blocked")
    expect(page.locator("table.job-table")).to_have_count(0)
    expect(page.get_by_text("No job matches this view")).to_be_visible()
    filters = page.get_by_role("search", name="Filter jobs")
    filters.locator("summary", has_text="Parts").click()
    filters.get_by_role("radio", name="Parts ready").check()
    filters.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"parts=ready"))
    rows = page.locator("table.job-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(job.number)
    expect(rows.first.locator(".badge-parts")).to_have_text("Parts ready")
    shot(page, "materials-list-ready")

    # ---- the technician, on site, records refrigerant used from the truck ---------------------------------
    phone = login_as(tech_a.user, viewport=PHONE)
    phone.goto(reverse("field:visit", args=[visit.pk]))
    section = phone.locator("section.tk-section")
    search = section.get_by_role("searchbox")
    expect(search).to_be_visible()  # the section loaded into the visit screen
    search.fill(GAS)
    expect(section.get_by_test_id("truck-matches")).to_contain_text("10 lb free")
    pick = section.get_by_role("radio", name=GAS)
    expect(pick).to_be_checked()  # the only match is picked already
    section.get_by_label("Quantity used").fill("1.5")
    section_shot(section, "materials-phone-pick")
    section.get_by_role("button", name="Add", exact=True).click()
    expect(section.get_by_role("status")).to_have_text(f"Recorded 1.5 lb × {GAS} — it is on the job's bill.")
    usage = section.get_by_test_id("visit-usage")
    expect(usage).to_contain_text(GAS)
    expect(usage.locator(".tk-use-qty")).to_have_text("1.5 lb")
    assert balance(gas, truck) == (8500, 0)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    section_shot(section, "materials-phone-used")
    shot(phone, "materials-phone")

    # ---- the office finds it on the job's billable lines, priced and costed -----------------------------
    page.goto(reverse("jobs:tab", args=[job.pk, "line-items"]))
    gas_line = line_row(page, GAS)
    expect(gas_line).to_have_count(1)
    cells = gas_line.locator("td")
    expect(cells.nth(0)).to_have_text("Material")
    expect(cells.nth(1)).to_have_text(f"{GAS} · R-410A refrigerant")
    expect(cells.nth(2)).to_have_text("1.5")
    expect(cells.nth(3)).to_have_text("$35.00")
    expect(cells.nth(4)).to_have_text("$52.50")
    expect(cells.nth(5)).to_have_text("$12.00")
    expect(cells.nth(6)).to_have_text("$18.00")
    valve_cells = line_row(page, VALVE).locator("td")
    expect(valve_cells.nth(2)).to_have_text("2")
    expect(valve_cells.nth(4)).to_have_text("$378.00")
    expect(valve_cells.nth(6)).to_have_text("$225.00")
    totals = page.get_by_role("region", name="Totals")
    expect(totals.locator("dt", has_text="Material").locator("+ dd")).to_have_text("$430.50")
    expect(totals.locator("dt", has_text="Cost").locator("+ dd")).to_have_text("$243.00")
    used = page.locator("#materials tr.mat-row").filter(has_text=GAS)
    expect(used).to_contain_text("Truck 1 · Alex")
    expect(used.locator(".mat-status")).to_have_text("All issued")
    expect(page.locator("#parts-readiness .badge-parts")).to_have_text("Parts ready")
    line = LineItem.objects.get(job=job, description__startswith=GAS)
    assert (line.kind, line.quantity, line.unit_price_cents, line.unit_cost_cents) == ("material", Decimal("1.500"), 3500, 1200)
    assert (line.total_cents, line.cost_cents) == (5250, 1800)
    shot(page, "materials-billable")
