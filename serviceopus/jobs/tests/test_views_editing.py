"""The job forms and the workspace: create and edit (from every source), line items, notes, tabs —
and that refused or invalid input changes nothing."""

import pytest
from django.urls import reverse
from django.utils import timezone

from serviceopus.jobs import actions
from serviceopus.jobs.models import BillingType, Job, JobEvent, LineItem, Note, Source
from serviceopus.jobs.status import JobStatus
from tests.factories import AssetFactory, ContactFactory, CustomerFactory, JobFactory, JobTypeFactory, LineItemFactory, LocationFactory

from .pages import HTMX, TABS, html

# ---- create and edit ----------------------------------------------------------------------------------------


@pytest.fixture
def site():
    customer = CustomerFactory(name="Mara Lindqvist")
    location = LocationFactory(customer=customer)
    return {
        "customer": customer,
        "location": location,
        "contact": ContactFactory(customer=customer),
        "asset": AssetFactory(location=location),
        "job_type": JobTypeFactory(name="Furnace repair", default_duration_minutes=120, default_priority=3),
    }


def job_post(site, **overrides):
    data = {
        "source": "direct",
        "source_reference": "",
        "customer": site["customer"].pk,
        "location": site["location"].pk,
        "contact": site["contact"].pk,
        "assets": [site["asset"].pk],
        "job_type": site["job_type"].pk,
        "scope": "No heat upstairs",
        "priority": "",
        "estimated_duration_minutes": "",
        "billing_type": "",
        "not_to_exceed": "",
        "tags": "vip, Warranty",
        "next_visit_at": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_create_job_from_a_booking_request(client_as, dispatcher, site, tech_a):
    client = client_as(dispatcher)
    form_page = client.get(reverse("jobs:create") + "?source=booking")
    assert '<option value="booking" selected>' in html(form_page)
    response = client.post(
        reverse("jobs:create"),
        # A technicians field is not part of the form any more: it is ignored, not saved.
        job_post(site, source="booking", source_reference="BR-1042", technicians=[tech_a.pk], next_visit_at="2026-12-02T09:30"),
    )
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert (job.source, job.source_reference) == (Source.BOOKING, "BR-1042")
    # Left blank: the job type's defaults.
    assert (job.priority, job.estimated_duration_minutes, job.billing_type) == (3, 120, BillingType.TIME_AND_MATERIALS)
    assert sorted(t.name for t in job.tags.all()) == ["vip", "warranty"]
    assert list(job.assets.all()) == [site["asset"]]
    assert not job.technicians.exists()  # technicians come from the job's visits
    assert timezone.localtime(job.next_visit_at).strftime("%Y-%m-%d %H:%M") == "2026-12-02 09:30"
    event = JobEvent.objects.get(job=job)
    assert event.kind == "created"
    assert event.message == "Created from Booking request BR-1042"
    assert event.data == {"source": "booking", "source_reference": "BR-1042"}
    timeline = client.get(reverse("jobs:tab", args=[job.pk, "timeline"]))
    assert "Created from Booking request BR-1042" in html(timeline)


@pytest.mark.parametrize("source", Source.values)
def test_create_job_from_each_source(client_as, dispatcher, site, source):
    client_as(dispatcher).post(reverse("jobs:create"), job_post(site, source=source, source_reference="REF-7"))
    assert Job.objects.get().source == source


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"scope": ""}, "scope", "This field is required."),
        ({"scope": "Leak\x00"}, "scope", "Null characters are not allowed."),
        ({"source_reference": "R\x00"}, "source_reference", "Null characters are not allowed."),
        ({"scope": "x" * 10001}, "scope", "at most 10000 characters"),
        ({"source_reference": "x" * 101}, "source_reference", "at most 100 characters"),
        ({"tags": "x" * 51}, "tags", "Each tag is at most 50 characters."),
        ({"customer": ""}, "customer", "Choose a customer."),
        ({"billing_type": "not_to_exceed"}, "not_to_exceed", "A not-to-exceed job needs its limit."),
        ({"billing_type": "not_to_exceed", "not_to_exceed": "12.345"}, "not_to_exceed", "At most two decimal places"),
        ({"not_to_exceed": "lots"}, "not_to_exceed", "Enter an amount in dollars"),
        ({"estimated_duration_minutes": "2"}, "estimated_duration_minutes", "greater than or equal to 5"),
        ({"priority": "9"}, "priority", "Select a valid choice"),
        ({"next_visit_at": "tomorrow-ish"}, "next_visit_at", "Enter a valid date/time."),
    ],
)
def test_create_job_field_errors_save_nothing(client_as, dispatcher, site, overrides, field, message):
    response = client_as(dispatcher).post(reverse("jobs:create"), job_post(site, **overrides))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert 'class="field-error"' in html(response)
    assert not Job.objects.exists()
    assert not JobEvent.objects.exists()


def test_create_job_address_of_another_customer_is_refused(client_as, dispatcher, site):
    foreign = LocationFactory()
    response = client_as(dispatcher).post(reverse("jobs:create"), job_post(site, location=foreign.pk, assets=[], contact=""))
    assert response.status_code == 422
    assert "location" in response.context["form"].errors
    assert not Job.objects.exists()


def test_create_job_required_fields_of_the_type_become_field_errors(client_as, dispatcher, site):
    site["job_type"].required_fields = ["source_reference", "next_visit_at"]
    site["job_type"].save()
    response = client_as(dispatcher).post(reverse("jobs:create"), job_post(site))
    errors = response.context["form"].errors
    assert response.status_code == 422
    assert errors["source_reference"] == ["Source reference is required for Furnace repair jobs."]
    assert errors["next_visit_at"] == ["Preferred visit time is required for Furnace repair jobs."]
    assert not Job.objects.exists()


def test_create_form_keeps_the_users_input_and_narrowed_choices(client_as, dispatcher, site):
    LocationFactory()  # another customer's address must not be offered
    response = client_as(dispatcher).post(reverse("jobs:create"), job_post(site, scope=""))
    form = response.context["form"]
    assert list(form.fields["location"].queryset) == [site["location"]]
    assert list(form.fields["contact"].queryset) == [site["contact"]]
    assert "vip, Warranty" in html(response)
    assert "Mara Lindqvist" in html(response)


def test_customer_fields_narrow_to_the_chosen_customer(client_as, dispatcher, site):
    other = LocationFactory()
    client = client_as(dispatcher)
    response = client.get(reverse("jobs:customer_fields"), {"customer": site["customer"].pk}, HTTP_HX_TARGET="customer-fields", **HTMX)
    page = html(response)
    assert page.lstrip().startswith('<div id="customer-fields"')
    assert site["location"].street in page
    assert other.street not in page
    assert site["asset"].serial not in page  # equipment shows once an address is chosen
    response = client.get(reverse("jobs:customer_fields"), {"customer": site["customer"].pk, "location": site["location"].pk})
    assert site["asset"].serial in html(response)
    # A search with one match chooses that customer.
    response = client.get(reverse("jobs:customer_fields"), {"customer_q": "lindqv"})
    assert response.context["selected_customer"] == site["customer"]


def test_edit_job_carries_the_version(client_as, dispatcher, site):
    job = actions.job_create(actor=dispatcher, customer_id=site["customer"].pk, location_id=site["location"].pk, job_type_id=site["job_type"].pk, scope="Old")
    client = client_as(dispatcher)
    page = client.get(reverse("jobs:edit", args=[job.pk]))
    assert f'name="version" value="{job.version}"' in html(page)
    data = job_post(site, scope="New scope", priority="4", estimated_duration_minutes="90", billing_type="fixed_price", version=job.version, tags="")
    response = client.post(reverse("jobs:edit", args=[job.pk]), data)
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.scope, job.priority, job.estimated_duration_minutes, job.billing_type, job.version) == ("New scope", 4, 90, "fixed_price", 2)
    assert JobEvent.objects.filter(job=job, kind="edited").count() == 1


def test_stale_edit_is_refused_and_keeps_the_input(client_as, dispatcher, site):
    job = actions.job_create(actor=dispatcher, customer_id=site["customer"].pk, location_id=site["location"].pk, job_type_id=site["job_type"].pk, scope="Old")
    seen = job.version
    actions.job_update(actor=dispatcher, job_id=job.pk, version=seen, changes={"scope": "Changed by someone else"})
    data = job_post(site, scope="My scope", priority="2", estimated_duration_minutes="60", billing_type="fixed_price", version=seen)
    response = client_as(dispatcher).post(reverse("jobs:edit", args=[job.pk]), data)
    assert response.status_code == 409
    page = html(response)
    assert "Someone else changed this job" in page
    assert "My scope" in page
    assert f'name="version" value="{seen + 1}"' in page  # saving again applies the user's version knowingly
    job.refresh_from_db()
    assert job.scope == "Changed by someone else"


def test_edit_field_errors_change_nothing(client_as, dispatcher, site):
    job = actions.job_create(actor=dispatcher, customer_id=site["customer"].pk, location_id=site["location"].pk, job_type_id=site["job_type"].pk, scope="Old")
    before = Job.objects.values().get(pk=job.pk)
    data = job_post(site, scope="x\x00", priority="2", estimated_duration_minutes="60", billing_type="fixed_price", version=job.version)
    response = client_as(dispatcher).post(reverse("jobs:edit", args=[job.pk]), data)
    assert response.status_code == 422
    assert "scope" in response.context["form"].errors
    assert Job.objects.values().get(pk=job.pk) == before


# ---- line items and notes ----------------------------------------------------------------------------------


def line(**overrides):
    data = {"kind": "material", "description": "Igniter", "quantity": "2.5", "unit_price": "1,250.50", "unit_cost": "40", "taxable": "on"}
    data.update(overrides)
    return data


def test_add_edit_and_remove_a_line_item_with_totals(client_as, dispatcher, job):
    client = client_as(dispatcher)
    LineItemFactory(job=job, kind="labour", description="Diagnosis", quantity=1, unit_price_cents=8900, unit_cost_cents=3000)
    response = client.post(reverse("jobs:line_item_add", args=[job.pk]), line())
    assert response.status_code == 302
    item = LineItem.objects.get(description="Igniter")
    assert (item.quantity, item.unit_price_cents, item.unit_cost_cents, item.taxable) == (2.5, 125050, 4000, True)
    totals = client.get(reverse("jobs:tab", args=[job.pk, "line-items"])).context["totals"]
    assert (totals.subtotal_cents, totals.cost_cents, totals.margin_cents) == (8900 + 312625, 3000 + 10000, 8900 + 312625 - 13000)
    assert totals.by_kind == {"labour": 8900, "material": 312625}
    page = html(client.get(reverse("jobs:tab", args=[job.pk, "line-items"])))
    assert "$3,126.25" in page
    assert "$3,215.25" in page

    edit_url = reverse("jobs:line_item_edit", args=[job.pk, item.pk])
    form_page = client.get(edit_url)
    assert form_page.context["editing_id"] == item.pk
    assert 'value="1250.50"' in html(form_page)
    response = client.post(edit_url, line(quantity="3", unit_price="10", taxable="", version=item.version))
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.quantity, item.unit_price_cents, item.taxable, item.version) == (3, 1000, False, 2)

    # A stale edit (the version moved on) is refused and changes nothing.
    response = client.post(edit_url, line(quantity="9", version=1))
    assert response.status_code == 409
    assert "changed by someone else" in html(response)
    item.refresh_from_db()
    assert item.quantity == 3

    response = client.post(reverse("jobs:line_item_remove", args=[job.pk, item.pk]))
    assert response.status_code == 302
    assert not LineItem.objects.filter(pk=item.pk).exists()
    kinds = list(JobEvent.objects.filter(job=job, kind="line_item").values_list("data__op", flat=True))
    assert sorted(kinds) == ["add", "remove", "update"]


def test_line_item_htmx_requests_get_the_panel(client_as, dispatcher, job):
    client = client_as(dispatcher)
    response = client.post(reverse("jobs:line_item_add", args=[job.pk]), line(), HTTP_HX_TARGET="line-items-panel", **HTMX)
    page = html(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="line-items-panel"')
    assert "Added “Igniter”." in page
    assert "Igniter" in page
    response = client.post(reverse("jobs:line_item_add", args=[job.pk]), line(unit_price="abc"), HTTP_HX_TARGET="line-items-panel", **HTMX)
    assert response.status_code == 422
    assert "Enter an amount in dollars" in html(response)
    assert LineItem.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"description": ""}, "description"),
        ({"description": "Valve\x00"}, "description"),
        ({"description": "x" * 301}, "description"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "1.2345"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "1" * 13}, "quantity"),
        ({"unit_price": "12.345"}, "unit_price"),
        ({"unit_price": "1e400"}, "unit_price"),
        ({"unit_price": "9" * 16}, "unit_price"),
        ({"unit_cost": "-5"}, "unit_cost"),
        ({"kind": "gift"}, "kind"),
    ],
)
def test_invalid_line_items_save_nothing(client_as, dispatcher, job, overrides, field):
    response = client_as(dispatcher).post(reverse("jobs:line_item_add", args=[job.pk]), line(**overrides))
    assert response.status_code == 422
    assert field in response.context["add_form"].errors
    assert not LineItem.objects.exists()
    assert not JobEvent.objects.exists()


def test_line_items_are_locked_on_an_invoiced_job(client_as, dispatcher):
    job = JobFactory(status=JobStatus.INVOICED)
    response = client_as(dispatcher).post(reverse("jobs:line_item_add", args=[job.pk]), line())
    assert response.status_code == 409
    assert "Line items cannot change on a job that is invoiced." in html(response)
    assert not LineItem.objects.exists()


def test_line_item_of_another_job_is_not_found(client_as, dispatcher, job):
    other = LineItemFactory()
    client = client_as(dispatcher)
    assert client.get(reverse("jobs:line_item_edit", args=[job.pk, other.pk])).status_code == 404
    assert client.post(reverse("jobs:line_item_remove", args=[job.pk, other.pk])).status_code == 404
    assert LineItem.objects.filter(pk=other.pk).exists()


def test_add_and_list_notes(client_as, dispatcher, tech_a, job):
    client = client_as(tech_a.user)
    response = client.post(reverse("jobs:note_add", args=[job.pk]), {"body": "Dog in the yard"})
    assert response.status_code == 302
    response = client.post(reverse("jobs:note_add", args=[job.pk]), {"body": "Gate \x00 code"})
    assert response.status_code == 422
    assert "body" in response.context["note_form"].errors
    response = client.post(reverse("jobs:note_add", args=[job.pk]), {"body": "x" * 10001})
    assert response.status_code == 422
    assert list(Note.objects.values_list("body", flat=True)) == ["Dog in the yard"]
    page = html(client_as(dispatcher).get(reverse("jobs:tab", args=[job.pk, "notes"])))
    assert "Dog in the yard" in page
    assert "Alex Tech" in page


def test_tabs_switch_with_htmx_and_unknown_tabs_are_404(client_as, dispatcher, job):
    client = client_as(dispatcher)
    response = client.get(reverse("jobs:tab", args=[job.pk, "documents"]), HTTP_HX_TARGET="tab-area", **HTMX)
    page = html(response)
    assert page.lstrip().startswith('<div id="tab-area"')
    assert "No documents or photos yet" in page
    # A history restore needs the whole page.
    response = client.get(reverse("jobs:tab", args=[job.pk, "documents"]), HTTP_HX_TARGET="tab-area", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in html(response)
    assert client.get(f"/jobs/{job.pk}/tab/nope/").status_code == 404


def test_every_placeholder_tab_says_what_will_appear(client_as, dispatcher, job):
    client = client_as(dispatcher)
    labels = []
    for tab in TABS:
        response = client.get(reverse("jobs:tab", args=[job.pk, tab]))
        labels = [label for _, label in response.context["tabs"]]
        if response.context["empty_tab"]:
            assert "will appear here" in html(response), tab
    assert labels == [
        "Details",
        "Line items",
        "Crew & schedule",
        "Documents",
        "Purchase orders",
        "Invoices",
        "Payments",
        "Incidents",
        "Time",
        "Notes",
        "Messages",
        "Tasks",
        "Dependencies",
        "Signatures",
        "Quality",
        "Financials",
        "Timeline",
    ]


def test_workspace_header_shows_the_key_facts(client_as, dispatcher, tech_a):
    location = LocationFactory(gate_code="4412#", access_notes="Side door")
    job = JobFactory(location=location, customer=location.customer, technicians=[tech_a], source=Source.QUOTE, source_reference="Q-77")
    actions._set_tags(job, ["vip"])
    page = html(client_as(dispatcher).get(reverse("jobs:detail", args=[job.pk])))
    for text in (job.number, location.customer.name, "Gate code 4412#", "Side door", "Alex Tech", "vip", "Accepted quote", "Q-77", "1 h"):
        assert text in page, text


def test_out_of_range_ids_and_numbers_are_field_errors_not_500s(client_as, dispatcher, site, job):
    huge = "9" * 25
    client = client_as(dispatcher)
    for field in ("customer", "location", "contact", "job_type", "assets", "required_skills", "estimated_duration_minutes"):
        response = client.post(reverse("jobs:create"), job_post(site, **{field: huge}))
        assert response.status_code == 422, field
        assert field in response.context["form"].errors, field
    assert not Job.objects.exists() or list(Job.objects.all()) == [job]
    item = LineItemFactory(job=job)
    response = client.post(reverse("jobs:line_item_edit", args=[job.pk, item.pk]), line(version=huge))
    assert response.status_code == 422
    assert "version" in response.context["edit_form"].errors
    for params in ({"customer": huge, "location": huge}, {"customer_q": "\x00" * 3}):
        assert client.get(reverse("jobs:customer_fields"), params).status_code == 200
    assert client.get(reverse("jobs:list"), {"job_type": huge, "technician": huge}).status_code == 200
    assert client.post(reverse("jobs:bulk_transition"), {"job": [huge], "to": "closed"}).status_code == 302
