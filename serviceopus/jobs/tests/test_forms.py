"""The job forms parse and validate only: dollars become exact cents, the filter parameters become
JobFilters (bad values dropped), a hold reason travels with the Move choice, and the job form offers
only the chosen customer's addresses, contacts and equipment."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict

from serviceopus.core.errors import InvalidInput
from serviceopus.jobs.forms import (
    BulkTransitionForm,
    JobFilterForm,
    JobForm,
    LineItemForm,
    NoteForm,
    TransitionForm,
    apply_domain_errors,
    dollars,
    parse_dollars,
)
from serviceopus.jobs.queries import filter_choices
from serviceopus.jobs.templatetags.jobs_ui import duration, move_options, percent_of, qty
from tests.factories import AssetFactory, ContactFactory, CustomerFactory, JobTypeFactory, LineItemFactory, LocationFactory, TechnicianFactory


@pytest.mark.parametrize(
    ("text", "cents"),
    [("125.50", 12550), ("$1,250", 125000), (" 0.01 ", 1), ("89", 8900), ("0", 0), ("1000000", 100000000)],
)
def test_dollars_become_exact_cents(text, cents):
    assert parse_dollars(text) == cents


@pytest.mark.parametrize("text", ["abc", "12.345", "-5", "NaN", "Infinity", "1e400", "9" * 16, "1,2,3.4.5", ""])
def test_bad_amounts_are_refused(text):
    with pytest.raises(ValidationError):
        parse_dollars(text)


def test_negative_amounts_only_where_allowed():
    assert parse_dollars("-15.00", allow_negative=True) == -1500
    assert dollars(-1500) == "-15.00"
    assert dollars(12550) == "125.50"
    assert dollars(None) == ""


def query(**params) -> QueryDict:
    q = QueryDict(mutable=True)
    for key, value in params.items():
        q.setlist(key, value if isinstance(value, list) else [value])
    return q


def test_filter_form_builds_job_filters(db):
    job_type = JobTypeFactory()
    tech = TechnicianFactory()
    form = JobFilterForm(
        query(
            q=" furnace ",
            status=["new", "on_hold"],
            priority=["3", "4"],
            job_type=str(job_type.pk),
            technician=str(tech.pk),
            tag="VIP",
            date_from="2026-12-01",
            date_to="2026-12-31",
            sort="priority",
        ),
        choices=filter_choices(),
    )
    f = form.to_filters()
    assert (f.q, f.statuses, f.priorities, f.job_type_id, f.technician_id, f.tag) == ("furnace", ["new", "on_hold"], [3, 4], job_type.pk, tech.pk, "VIP")
    assert (f.date_from, f.date_to, f.sort) == (date(2026, 12, 1), date(2026, 12, 31), "priority")
    assert form.active_count() == 6


def test_filter_form_drops_bad_values_and_keeps_the_good_ones(db):
    form = JobFilterForm(
        query(q="ok", status=["new", "sideways"], priority="9", job_type="999999", date_from="2026-12-31", date_to="2026-12-01", sort="random", tag="a\x00"),
        choices=filter_choices(),
    )
    f = form.to_filters()
    assert set(form.errors) == {"status", "priority", "job_type", "date_to", "sort", "tag"}
    assert (f.q, f.statuses, f.priorities, f.job_type_id, f.tag, f.sort) == ("ok", [], [], None, "", "newest")
    assert f.date_from == date(2026, 12, 31)
    assert f.date_to is None


def test_empty_filter_form_means_no_filters(db):
    f = JobFilterForm(QueryDict(), choices=filter_choices()).to_filters()
    assert f.is_empty()
    assert f.sort == "newest"


@pytest.mark.parametrize(
    ("data", "to", "reason"),
    [
        ({"to": "scheduled"}, "scheduled", ""),
        ({"to": "on_hold:parts"}, "on_hold", "parts"),
        ({"to": "on_hold", "hold_reason": "permit", "note": "City office closed"}, "on_hold", "permit"),
    ],
)
def test_transition_form(data, to, reason):
    form = TransitionForm(data)
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["to"], form.cleaned_data["hold_reason"]) == (to, reason)


@pytest.mark.parametrize(
    "data",
    [{"to": "on_hold"}, {"to": "on_hold:nap"}, {"to": "flying"}, {"to": ""}, {"to": "new", "note": "x" * 501}, {"to": "new", "note": "a\x00"}],
)
def test_transition_form_refuses(data):
    assert not TransitionForm(data).is_valid()


def test_bulk_form_reads_the_selected_ids():
    form = BulkTransitionForm(query(job=["3", "5", "x", "-1", "9" * 30], to="closed"))
    assert form.is_valid()
    assert form.job_ids == [3, 5]
    assert not BulkTransitionForm(query(to="closed")).is_valid()
    assert "hold_reason" in BulkTransitionForm(query(job=["1"], to="on_hold")).errors


def test_line_item_form_parses_dollars_and_decimal_quantities():
    form = LineItemForm({"kind": "labour", "description": " Diagnosis ", "quantity": "1.25", "unit_price": "95", "unit_cost": "", "taxable": ""})
    assert form.is_valid(), form.errors
    assert form.action_kwargs() == {
        "kind": "labour",
        "description": "Diagnosis",
        "quantity": Decimal("1.25"),
        "unit_price_cents": 9500,
        "unit_cost_cents": 0,
        "taxable": False,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("description", "x" * 301), ("description", "a\x00b"), ("quantity", "1.0001"), ("quantity", "-2"), ("quantity", "inf"), ("unit_price", "")],
)
def test_line_item_form_refuses(field, value):
    data = {"kind": "service", "description": "Visit", "quantity": "1", "unit_price": "10"}
    data[field] = value
    form = LineItemForm(data)
    assert not form.is_valid()
    assert field in form.errors


def test_line_item_initial_values_round_trip(db):
    item = LineItemFactory(quantity=Decimal("2.500"), unit_price_cents=12550, unit_cost_cents=4000)
    initial = LineItemForm.initial_for(item)
    assert (initial["quantity"], initial["unit_price"], initial["unit_cost"]) == ("2.5", "125.50", "40.00")
    form = LineItemForm(initial)
    assert form.is_valid()
    assert form.cleaned_data["unit_price"] == 12550


def test_note_form_refuses_nul_and_over_long_text():
    assert NoteForm({"body": "Fine"}).is_valid()
    assert not NoteForm({"body": "a\x00"}).is_valid()
    assert not NoteForm({"body": "x" * 10001}).is_valid()


@pytest.fixture
def two_customers(db):
    customer = CustomerFactory()
    home = LocationFactory(customer=customer)
    cabin = LocationFactory(customer=customer)
    other = LocationFactory()
    return {
        "customer": customer,
        "home": home,
        "cabin": cabin,
        "other": other,
        "contact": ContactFactory(customer=customer),
        "home_asset": AssetFactory(location=home),
        "cabin_asset": AssetFactory(location=cabin),
        "job_type": JobTypeFactory(),
    }


def test_job_form_narrows_choices_to_the_customer(two_customers):
    c = two_customers
    form = JobForm(query(customer=str(c["customer"].pk), location=str(c["home"].pk)))
    assert set(form.fields["location"].queryset) == {c["home"], c["cabin"]}
    assert list(form.fields["contact"].queryset) == [c["contact"]]
    assert list(form.fields["assets"].queryset) == [c["home_asset"]]
    assert not JobForm().fields["location"].queryset.exists()


def test_job_form_refuses_another_customers_address_and_equipment(two_customers):
    c = two_customers
    data = query(
        source="direct",
        customer=str(c["customer"].pk),
        location=str(c["other"].pk),
        assets=[str(c["cabin_asset"].pk)],
        job_type=str(c["job_type"].pk),
        scope="Leak",
    )
    form = JobForm(data)
    assert not form.is_valid()
    assert {"location", "assets"} <= set(form.errors)


def test_job_form_create_arguments_leave_defaults_to_the_type(two_customers):
    c = two_customers
    form = JobForm(
        query(
            source="quote",
            source_reference="Q-1",
            customer=str(c["customer"].pk),
            location=str(c["home"].pk),
            job_type=str(c["job_type"].pk),
            scope="Replace the igniter",
            tags="vip, , warranty",
            not_to_exceed="",
        )
    )
    assert form.is_valid(), form.errors
    kwargs = form.create_kwargs()
    assert kwargs["priority"] is None
    assert kwargs["billing_type"] is None
    assert kwargs["estimated_duration_minutes"] is None
    assert kwargs["required_skill_ids"] is None
    assert kwargs["tags"] == ["vip", "warranty"]
    assert kwargs["source"] == "quote"


def test_job_form_not_to_exceed_needs_an_amount(two_customers):
    c = two_customers
    base = {"source": "direct", "customer": str(c["customer"].pk), "location": str(c["home"].pk), "job_type": str(c["job_type"].pk), "scope": "x"}
    form = JobForm(query(**base, billing_type="not_to_exceed"))
    assert form.errors["not_to_exceed"] == ["A not-to-exceed job needs its limit."]
    form = JobForm(query(**base, billing_type="not_to_exceed", not_to_exceed="1,500"))
    assert form.is_valid()
    assert form.create_kwargs()["not_to_exceed_cents"] == 150000


def test_action_field_errors_land_on_the_form_fields():
    form = JobForm(query())
    form.is_valid()
    apply_domain_errors(form, InvalidInput("bad", {"not_to_exceed_cents": "Too much", "contact": "Wrong contact", "mystery": "Odd"}))
    assert "Too much" in form.errors["not_to_exceed"]
    assert "Wrong contact" in form.errors["contact"]
    assert "Odd" in form.non_field_errors()


def test_presentation_helpers(dispatcher, tech_a):
    assert (duration(90), duration(45), duration(60 * 24 * 2), duration(None)) == ("1 h 30 min", "45 min", "2 d", "—")
    assert (percent_of(25, 100), percent_of(1, 0), qty(Decimal("2.500")), qty(Decimal("10"))) == ("25%", "—", "2.5", "10")
    office = [value for value, _ in move_options({"user": dispatcher}, "new")]
    assert office == ["scheduled", "on_hold:parts", "on_hold:customer", "on_hold:permit", "on_hold:other", "cancelled"]
    assert next(value for value, _ in move_options({"user": tech_a.user}, "scheduled")) == "in_progress"
