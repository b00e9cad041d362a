from decimal import Decimal

import pytest

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs import actions
from serviceopus.jobs.models import Job, JobEvent, LineItem, Note, Source
from serviceopus.jobs.status import JobStatus
from tests.factories import AssetFactory, ContactFactory, JobTypeFactory, LineItemFactory, LocationFactory, SkillFactory


@pytest.fixture
def place(db):  # type: ignore[no-untyped-def]
    return LocationFactory(street="12 Elm Street", city="Evanston")


@pytest.fixture
def job_type(db):  # type: ignore[no-untyped-def]
    jt = JobTypeFactory(name="Furnace maintenance", default_duration_minutes=120, default_priority=3, default_billing_type="fixed_price")
    jt.required_skills.set([SkillFactory(name="HVAC")])
    return jt


def test_create_from_booking_takes_job_type_defaults_and_records_source(dispatcher, place, job_type):
    job = actions.job_create(
        actor=dispatcher,
        customer_id=place.customer_id,
        location_id=place.pk,
        job_type_id=job_type.pk,
        scope="  Annual furnace check  ",
        source=Source.BOOKING,
        source_reference="BR-1001",
        tags=["VIP", "vip", " warranty "],
    )
    assert job.number.startswith("J-")
    assert (job.priority, job.estimated_duration_minutes, job.billing_type) == (3, 120, "fixed_price")
    assert job.scope == "Annual furnace check"
    assert [s.name for s in job.required_skills.all()] == ["HVAC"]
    assert sorted(t.name for t in job.tags.all()) == ["vip", "warranty"]
    event = JobEvent.objects.get(job=job)
    assert event.kind == "created"
    assert event.message == "Created from Booking request BR-1001"
    assert event.data == {"source": "booking", "source_reference": "BR-1001"}


def test_job_numbers_are_unique_and_increasing(dispatcher, place, job_type):
    numbers = [
        actions.job_create(actor=dispatcher, customer_id=place.customer_id, location_id=place.pk, job_type_id=job_type.pk, scope="x").number for _ in range(3)
    ]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3


def test_create_refuses_mismatched_records_and_creates_nothing(dispatcher, place, job_type):
    other_contact = ContactFactory()
    foreign_asset = AssetFactory()
    with pytest.raises(InvalidInput) as err:
        actions.job_create(
            actor=dispatcher,
            customer_id=place.customer_id,
            location_id=place.pk,
            job_type_id=job_type.pk,
            scope="\x00bad",
            contact_id=other_contact.pk,
            asset_ids=[foreign_asset.pk],
        )
    assert set(err.value.fields) == {"scope", "contact", "assets"}
    assert not Job.objects.exists()
    assert not JobEvent.objects.exists()


def test_create_enforces_job_type_required_fields(dispatcher, place, job_type):
    job_type.required_fields = ["contact", "source_reference"]
    job_type.save()
    with pytest.raises(InvalidInput) as err:
        actions.job_create(actor=dispatcher, customer_id=place.customer_id, location_id=place.pk, job_type_id=job_type.pk, scope="x")
    assert set(err.value.fields) == {"contact", "source_reference"}
    assert not Job.objects.exists()


def test_not_to_exceed_needs_a_limit(dispatcher, place, job_type):
    with pytest.raises(InvalidInput) as err:
        actions.job_create(
            actor=dispatcher, customer_id=place.customer_id, location_id=place.pk, job_type_id=job_type.pk, scope="x", billing_type="not_to_exceed"
        )
    assert "not_to_exceed_cents" in err.value.fields


def test_technician_cannot_create(tech_a, place, job_type):
    with pytest.raises(DomainError) as err:
        actions.job_create(actor=tech_a.user, customer_id=place.customer_id, location_id=place.pk, job_type_id=job_type.pk, scope="x")
    assert err.value.code == "forbidden"


def test_update_with_stale_version_is_refused_and_changes_nothing(dispatcher, job_factory):
    job = job_factory(scope="Old scope")
    actions.job_update(actor=dispatcher, job_id=job.pk, version=job.version, changes={"scope": "First edit"})
    with pytest.raises(ConflictError) as err:
        actions.job_update(actor=dispatcher, job_id=job.pk, version=job.version, changes={"scope": "Second edit"})
    assert err.value.code == "stale"
    job.refresh_from_db()
    assert job.scope == "First edit"
    assert job.version == 2
    assert JobEvent.objects.filter(job=job, kind="edited").count() == 1


def test_update_records_changed_fields_and_reindexes(dispatcher, job_factory):
    from serviceopus.jobs.search import filter_by_text

    job = job_factory(scope="Leaking faucet")
    actions.job_update(actor=dispatcher, job_id=job.pk, version=job.version, changes={"scope": "Replace thermostat", "priority": 4})
    event = JobEvent.objects.get(job=job, kind="edited")
    assert set(event.data["fields"]) == {"scope", "priority"}
    assert list(filter_by_text(Job.objects.all(), "thermostat")) == [job]
    assert not filter_by_text(Job.objects.all(), "faucet").exists()


def test_line_items_totals_and_timeline(dispatcher, job_factory):
    job = job_factory()
    a = actions.line_item_add(actor=dispatcher, job_id=job.pk, kind="labour", description="Labour", quantity=Decimal("1.5"), unit_price_cents=9500)
    b = actions.line_item_add(
        actor=dispatcher, job_id=job.pk, kind="material", description="Filter", quantity=Decimal("2"), unit_price_cents=1999, unit_cost_cents=800
    )
    assert (a.total_cents, b.total_cents, b.cost_cents) == (14250, 3998, 1600)
    assert [a.position, b.position] == [1, 2]
    b = actions.line_item_update(
        actor=dispatcher,
        line_item_id=b.pk,
        version=b.version,
        kind="material",
        description="Filter 16x25",
        quantity=Decimal("3"),
        unit_price_cents=1999,
        unit_cost_cents=800,
        taxable=True,
    )
    assert b.total_cents == 5997
    actions.line_item_remove(actor=dispatcher, line_item_id=a.pk)
    assert list(LineItem.objects.filter(job=job)) == [b]
    ops = list(JobEvent.objects.filter(job=job, kind="line_item").order_by("id").values_list("data__op", flat=True))
    assert ops == ["add", "add", "update", "remove"]


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("quantity", {"quantity": Decimal("-1")}),
        ("quantity", {"quantity": Decimal("0.0001")}),
        ("description", {"description": "x" * 301}),
        ("description", {"description": "nul\x00"}),
        ("kind", {"kind": "bribe"}),
        ("unit_cost", {"unit_cost_cents": -5}),
    ],
)
def test_invalid_line_items_are_refused(dispatcher, job_factory, field, kwargs):
    job = job_factory()
    values = {"kind": "service", "description": "Diagnostic", "quantity": Decimal("1"), "unit_price_cents": 100, **kwargs}
    with pytest.raises(InvalidInput) as err:
        actions.line_item_add(actor=dispatcher, job_id=job.pk, **values)
    assert field in err.value.fields
    assert not LineItem.objects.exists()
    assert not JobEvent.objects.exists()


def test_line_items_are_frozen_once_invoiced(dispatcher, job_factory):
    item = LineItemFactory(job=job_factory(status=JobStatus.INVOICED))
    with pytest.raises(ConflictError) as err:
        actions.line_item_remove(actor=dispatcher, line_item_id=item.pk)
    assert err.value.code == "job_locked"
    assert LineItem.objects.filter(pk=item.pk).exists()


def test_stale_line_item_edit_is_refused(dispatcher, job_factory):
    item = LineItemFactory(job=job_factory())
    args = {"kind": "service", "quantity": Decimal("1"), "unit_price_cents": 100, "unit_cost_cents": 0, "taxable": True}
    actions.line_item_update(actor=dispatcher, line_item_id=item.pk, version=1, description="First", **args)
    with pytest.raises(ConflictError):
        actions.line_item_update(actor=dispatcher, line_item_id=item.pk, version=1, description="Second", **args)
    item.refresh_from_db()
    assert item.description == "First"


def test_note_add_and_blank_note_refused(tech_a, job_factory):
    job = job_factory(technicians=[tech_a])
    note = actions.note_add(actor=tech_a.user, job_id=job.pk, body="Gate code changed to 4411")
    assert Note.objects.get(job=job) == note
    with pytest.raises(InvalidInput):
        actions.note_add(actor=tech_a.user, job_id=job.pk, body="   ")
    assert Note.objects.count() == 1


def test_bulk_transition_moves_what_it_can(dispatcher, job_factory):
    ok = job_factory(status=JobStatus.NEW)
    closed = job_factory(status=JobStatus.CLOSED)
    moved, refused = actions.job_bulk_transition(actor=dispatcher, job_ids=[ok.pk, closed.pk, 999999], to=JobStatus.CANCELLED)
    assert [j.pk for j in moved] == [ok.pk]
    assert refused[closed.pk].code == "not_allowed"
    assert refused[999999].code == "not_found"


def test_tags_are_checked_after_lower_casing(dispatcher, job_factory):
    job = job_factory()
    # "İ" lower-cases to two characters: 30 of them become 60, over the 50 a tag may have.
    with pytest.raises(InvalidInput) as err:
        actions.job_update(actor=dispatcher, job_id=job.pk, version=job.version, changes={"tags": ["İ" * 30]})
    assert "tags" in err.value.fields
    assert not job.tags.exists()
