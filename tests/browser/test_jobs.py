"""A dispatcher creates a job from a booking request through the New job form, and edits its line items
on the workspace's Line items tab."""

import re
from decimal import Decimal

from playwright.sync_api import Page, expect

from serviceopus.jobs.models import Job, LineItem
from tests.factories import CustomerFactory, JobFactory, JobTypeFactory, LineItemFactory, LocationFactory


def test_dispatcher_creates_a_job_from_a_booking_request(dispatcher, login_as, live_server, shot):  # type: ignore[no-untyped-def]
    harbor = CustomerFactory(name="Harbor View Apartments")
    LocationFactory(customer=harbor, street="12 Harbor Way", postal_code="60611")
    LocationFactory(customer=harbor, street="48 Dock Street", postal_code="60612")
    LocationFactory(customer=CustomerFactory(name="Harbor Lights Bakery"), street="3 Pier Road")
    LocationFactory(customer=CustomerFactory(name="Maple Dental"), street="9 Elm Court")
    furnace = JobTypeFactory(name="Furnace repair", default_duration_minutes=90)
    JobTypeFactory(name="AC tune-up", default_duration_minutes=60)
    # Tall enough for the whole form: the sticky Create/Cancel bar then sits below it in the screenshot.
    page = login_as(dispatcher, viewport={"width": 1280, "height": 1800})

    page.goto("/jobs/")
    page.locator(".page-header").get_by_role("link", name="+ New job").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New job")

    page.get_by_label("Source", exact=True).select_option(label="Booking request")
    page.get_by_label("Source reference").fill("BR-2041")
    # The customer picker: typing narrows the customer list (HTMX), choosing one loads its addresses.
    customer = page.get_by_label("Customer", exact=True)
    expect(customer.locator("option")).to_have_count(4)  # "Choose a customer…" and the three customers
    page.get_by_label("Find a customer").fill("harbor")  # one input event: one request
    expect(customer.locator("option")).to_have_text(["Choose a customer…", "Harbor Lights Bakery", "Harbor View Apartments"])
    expect(page.get_by_text("Choose a customer first.")).to_be_visible()
    customer.select_option(label="Harbor View Apartments")
    address = page.get_by_label("Service address")
    expect(address.locator("option")).to_have_text(["Choose an address…", "12 Harbor Way, Chicago, IL 60611", "48 Dock Street, Chicago, IL 60612"])
    address.select_option(label="48 Dock Street, Chicago, IL 60612")
    # Choosing the address reloads the customer fields with its equipment: wait for that to land.
    expect(page.get_by_text("No equipment recorded at this address.")).to_be_visible()
    expect(page.get_by_label("Service address")).to_have_value(str(harbor.locations.get(street="48 Dock Street").pk))
    job_type = page.get_by_label("Job type")
    expect(job_type.locator(f'option[value="{furnace.pk}"]')).to_have_text(re.compile(r"^Furnace repair — 1 h 30, "))
    job_type.select_option(value=str(furnace.pk))
    page.get_by_label("Scope").fill("Tenant reports no heat in unit 4B; furnace short-cycles.")
    shot(page, "form-filled")

    page.get_by_role("button", name="Create job").click()

    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    job = Job.objects.get(source_reference="BR-2041")
    assert (job.source, job.customer.name, job.location.street, job.job_type.name) == ("booking", "Harbor View Apartments", "48 Dock Street", "Furnace repair")
    assert job.created_by_id == dispatcher.pk
    assert page.url == f"{live_server.url}/jobs/{job.pk}/"
    expect(page.get_by_role("heading", level=1)).to_have_text(job.number)
    expect(page.get_by_role("status")).to_have_text(f"Created job {job.number}.")
    facts = page.get_by_role("region", name="Key facts")
    expect(facts).to_contain_text("Booking request · BR-2041")
    expect(facts).to_contain_text("48 Dock Street, Chicago, IL 60612")
    shot(page, "workspace")

    page.get_by_role("navigation", name="Job sections").get_by_role("link", name="Timeline").click()
    expect(page).to_have_url(f"{live_server.url}/jobs/{job.pk}/tab/timeline/")
    entry = page.locator(".timeline li").filter(has_text="Created from")
    expect(entry).to_have_count(1)
    expect(entry.locator(".change")).to_have_text("Created from Booking request BR-2041")
    expect(entry.locator(".who")).to_have_text("Dana Dispatcher")
    shot(page, "timeline")


def test_new_job_form_shows_field_errors_and_creates_nothing(dispatcher, login_as):  # type: ignore[no-untyped-def]
    JobTypeFactory(name="Furnace repair")
    page = login_as(dispatcher)
    page.goto("/jobs/new/?source=booking")
    expect(page.get_by_label("Source", exact=True)).to_have_value("booking")

    page.get_by_role("button", name="Create job").click()

    expect(page.get_by_role("alert")).to_have_text("Please correct the highlighted fields — nothing was saved.")
    expect(page.locator(".field.has-error .field-error")).to_contain_text(["Choose a customer.", "This field is required.", "This field is required."])
    assert not Job.objects.exists()


def add_line(page: Page, kind: str, description: str, quantity: str, unit_price: str) -> None:
    form = page.locator("form.add-line")
    form.get_by_label("Kind").select_option(label=kind)
    form.get_by_label("Description").fill(description)
    form.get_by_label("Quantity").fill(quantity)
    form.get_by_label("Unit price ($)").fill(unit_price)
    form.get_by_role("button", name="Add line").click()


def totals(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("region", name="Totals")


def test_line_items_add_up_and_an_invalid_line_is_refused(dispatcher, login_as, live_server, shot):  # type: ignore[no-untyped-def]
    job = JobFactory()
    page = login_as(dispatcher)
    page.goto(f"/jobs/{job.pk}/")
    page.get_by_role("navigation", name="Job sections").get_by_role("link", name="Line items").click()
    expect(page).to_have_url(f"{live_server.url}/jobs/{job.pk}/tab/line-items/")
    expect(page.get_by_text("No line items yet")).to_be_visible()
    subtotal = totals(page).locator("dd.strong.sep")
    expect(subtotal).to_have_text("$0.00")

    add_line(page, "Labour", "Diagnose and repair igniter", "1.5", "95.00")
    rows = page.locator("table.line-items tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Diagnose and repair igniter")
    expect(subtotal).to_have_text("$142.50")

    add_line(page, "Material", "Hot surface igniter", "1", "39.99")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("status")).to_have_text("Added “Hot surface igniter”.")
    expect(rows.nth(1).locator("td")).to_have_text(["Material", "Hot surface igniter", "1", "$39.99", "$39.99", "$0.00", "$0.00", "Yes", re.compile("Edit")])
    expect(rows.nth(0).locator("td.num").nth(2)).to_have_text("$142.50")
    expect(subtotal).to_have_text("$182.49")
    by_kind = totals(page).locator("dl.totals")
    expect(by_kind).to_contain_text("Labour$142.50")
    expect(by_kind).to_contain_text("Material$39.99")
    # Both lines are typed in by the user and stored exactly.
    stored = list(LineItem.objects.filter(job=job).order_by("id").values_list("kind", "quantity", "unit_price_cents"))
    assert stored == [("labour", Decimal("1.5"), 9500), ("material", Decimal("1"), 3999)]
    shot(page, "two-lines")

    # A negative quantity: the server's field error, the rest of the input kept, nothing added.
    add_line(page, "Fee", "Trip charge", "-2", "45.00")
    quantity_field = page.locator("form.add-line .field").filter(has=page.get_by_label("Quantity"))
    expect(quantity_field.locator(".field-error")).to_have_text("Ensure this value is greater than or equal to 0.")
    expect(quantity_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(page.locator("form.add-line").get_by_label("Description")).to_have_value("Trip charge")
    expect(rows).to_have_count(2)
    expect(subtotal).to_have_text("$182.49")
    shot(page, "refused-line")

    # An empty description is refused too (the browser's required check, or the server's if bypassed).
    add_line(page, "Fee", "", "1", "45.00")
    description = page.locator("form.add-line").get_by_label("Description")
    assert description.evaluate("el => el.validity.valueMissing")
    page.locator("form.add-line").evaluate("form => { form.noValidate = true; }")
    form = page.locator("form.add-line")
    form.get_by_label("Quantity").fill("1")
    form.get_by_role("button", name="Add line").click()
    description_field = page.locator("form.add-line .field").filter(has=page.get_by_label("Description"))
    expect(description_field.locator(".field-error")).to_have_text("This field is required.")
    expect(rows).to_have_count(2)
    expect(subtotal).to_have_text("$182.49")
    assert LineItem.objects.filter(job=job).count() == 2


def test_line_items_of_an_existing_job_show_with_their_totals(office, login_as):  # type: ignore[no-untyped-def]
    job = JobFactory()
    LineItemFactory(job=job, kind=LineItem.Kind.SERVICE, description="Annual service", quantity=Decimal("1"), unit_price_cents=12900)
    LineItemFactory(job=job, kind=LineItem.Kind.LABOUR, description="Extra hour", quantity=Decimal("0.25"), unit_price_cents=8000)
    page = login_as(office)
    page.goto(f"/jobs/{job.pk}/tab/line-items/")
    expect(page.locator("table.line-items tbody tr")).to_have_count(2)
    expect(totals(page).locator("dd.strong.sep")).to_have_text("$149.00")
