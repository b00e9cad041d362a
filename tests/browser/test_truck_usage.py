"""A technician on a phone (390×844) records the materials used on a visit from their truck: searches
"CAP", adds 2, sees them listed (and the "Before you finish" box lets go of its materials item), is
told clearly when the truck has too few, undoes one; then opens My truck."""

from decimal import Decimal

from django.db import connection
from playwright.sync_api import Page, expect

from serviceopus.closeout.models import CloseoutRequirement, RequirementKind
from serviceopus.dispatch.status import VisitStatus
from serviceopus.inventory.actions.stock import stock_receive
from serviceopus.inventory.models import StockBalance
from serviceopus.jobs.models import LineItem
from serviceopus.jobs.status import JobStatus
from tests.browser.conftest import ARTIFACTS
from tests.factories import CustomerFactory, ItemFactory, JobFactory, TruckFactory, VisitFactory

PHONE = {"width": 390, "height": 844}


def on_truck(item, truck) -> int:  # type: ignore[no-untyped-def]
    return StockBalance.objects.get(item=item, location=truck).on_hand_milli


def section_shot(page: Page, name: str) -> None:
    """The materials section alone, as the technician sees it."""
    folder = ARTIFACTS / connection.vendor
    folder.mkdir(parents=True, exist_ok=True)
    page.locator("section.tk-section").screenshot(path=str(folder / f"test_truck_usage-{name}.png"))


def test_a_technician_records_materials_from_the_truck(tech_a, office, login_as, shot):  # type: ignore[no-untyped-def]
    capacitor = ItemFactory(sku="CAP-45-5", name="Run capacitor 45/5 µF", default_cost_cents=1850, default_price_cents=4900)
    filter_ = ItemFactory(sku="FLT-1620", name="Pleated filter 16x20", unit="each")
    truck = TruckFactory(technician=tech_a, name="Truck 1 · Alex")
    stock_receive(actor=office, item_id=capacitor.pk, location_id=truck.pk, quantity="5", reason="Opening stock")
    stock_receive(actor=office, item_id=filter_.pk, location_id=truck.pk, quantity="12", reason="Opening stock")
    job = JobFactory(customer=CustomerFactory(name="Maple Dental"), status=JobStatus.SCHEDULED, scope="Condenser fan will not start.")
    visit = VisitFactory(job=job, crew=[tech_a], status=VisitStatus.ARRIVED)
    CloseoutRequirement.objects.create(job=job, kind=RequirementKind.MATERIALS)

    page = login_as(tech_a.user, viewport=PHONE)
    page.goto(f"/field/visits/{visit.pk}/")
    section = page.locator("section.tk-section")
    search = section.get_by_role("searchbox")
    expect(search).to_be_visible()  # the section loaded into the visit screen
    before_finish = page.get_by_role("region", name="Before you finish")
    expect(before_finish).to_contain_text("Record the materials used")
    expect(section.get_by_test_id("visit-usage")).to_contain_text("Nothing recorded on this visit yet.")
    section_shot(page, "empty")

    search.fill("CAP")
    matches = section.get_by_test_id("truck-matches")
    expect(matches).to_contain_text("CAP-45-5")
    expect(matches).not_to_contain_text("FLT-1620")
    expect(matches).to_contain_text("5 each free")
    pick = section.get_by_role("radio", name="CAP-45-5")
    expect(pick).to_be_checked()  # the only match is picked already
    assert section.locator("label.tk-match").bounding_box()["height"] >= 48
    quantity = section.get_by_label("Quantity used")
    expect(quantity).to_have_value("1")
    section.get_by_role("button", name="One more").click()
    expect(quantity).to_have_value("2")
    section_shot(page, "results")

    section.get_by_role("button", name="Add", exact=True).click()
    expect(section.get_by_role("status")).to_have_text("Recorded 2 each × CAP-45-5 — it is on the job's bill.")
    usage = section.get_by_test_id("visit-usage")
    expect(usage).to_contain_text("CAP-45-5")
    expect(usage.locator(".tk-use-qty")).to_have_text("2 each")
    expect(before_finish).to_have_count(0)  # the closeout box reloaded: materials are recorded
    line = LineItem.objects.get(job=job)
    assert (line.kind, line.quantity, line.unit_price_cents, line.unit_cost_cents) == ("material", Decimal("2.000"), 4900, 1850)
    assert on_truck(capacitor, truck) == 3000
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    section_shot(page, "used")

    # More than the truck holds: said in the section, nothing changes.
    search.fill("cap")
    expect(section.get_by_role("radio", name="CAP-45-5")).to_be_checked()
    section.get_by_label("Quantity used").fill("9")
    section.get_by_role("button", name="Add", exact=True).click()
    expect(section.get_by_role("alert")).to_have_text("Only 3 each of CAP-45-5 is free at Truck 1 · Alex; 9 needed.")
    expect(section.get_by_label("Quantity used")).to_have_value("9")
    assert LineItem.objects.get(job=job).quantity == Decimal("2.000")
    assert on_truck(capacitor, truck) == 3000
    section_shot(page, "error")

    section.get_by_label("Take back").fill("1")
    section.get_by_role("button", name="Undo").click()
    expect(section.get_by_role("status")).to_have_text("Took 1 each × CAP-45-5 back to your truck.")
    expect(usage.locator(".tk-use-qty")).to_have_text("1 each")
    expect(usage).to_contain_text("2 used, 1 taken back")
    assert LineItem.objects.get(job=job).quantity == Decimal("1.000")
    assert on_truck(capacitor, truck) == 4000
    section_shot(page, "undone")
    shot(page, "visit")

    page.goto("/field/")
    shot(page, "my-day")
    page.get_by_role("link", name="My truck stock").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My truck")
    stock = page.get_by_test_id("truck-stock")
    expect(stock.locator("li")).to_have_count(2)
    expect(stock.locator("li").first).to_contain_text("CAP-45-5")
    page.get_by_role("searchbox").fill("filter")
    expect(stock.locator("li")).to_have_count(1)
    expect(stock).to_contain_text("FLT-1620")
    page.get_by_role("searchbox").fill("")
    expect(stock.locator("li")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "truck")
