from datetime import timedelta

import pytest

from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.customers import actions
from serviceopus.customers.models import Asset, Contact, Customer, Location
from serviceopus.jobs import search
from serviceopus.jobs.models import Job
from tests.factories import ContactFactory, CustomerFactory, LocationFactory


def found(text: str) -> set[int]:
    return set(search.filter_by_text(Job.objects.all(), text).values_list("pk", flat=True))


def test_customer_create_strips_and_saves(office):
    customer = actions.customer_create(actor=office, name="  Harbor Dental  ", kind="commercial", email="desk@harbor.example")
    assert Customer.objects.get(pk=customer.pk).name == "Harbor Dental"
    assert customer.version == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Bad\x00Name"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": ""}, "name"),
        ({"name": "Ok", "email": "not-an-email"}, "email"),
        ({"name": "Ok", "kind": "alien"}, "kind"),
        ({"name": "Ok", "phone": "1\x002"}, "phone"),
    ],
)
def test_customer_create_refuses_bad_input_and_creates_nothing(office, data, field):
    with pytest.raises(InvalidInput) as refused:
        actions.customer_create(actor=office, **data)
    assert field in refused.value.fields
    assert not Customer.objects.exists()


def test_unknown_fields_are_refused(office):
    with pytest.raises(InvalidInput) as refused:
        actions.customer_create(actor=office, name="Ok", version=7)
    assert "version" in refused.value.fields
    assert not Customer.objects.exists()


def test_technician_may_not_write(tech_a):
    with pytest.raises(DomainError) as refused:
        actions.customer_create(actor=tech_a.user, name="Sneaky")
    assert refused.value.code == "forbidden"
    assert not Customer.objects.exists()


def test_location_create_validates_coordinates(office):
    customer = CustomerFactory()
    with pytest.raises(InvalidInput) as refused:
        actions.location_create(actor=office, customer_id=customer.pk, street="1 Main St", city="Springfield", lat="91", lng="-200")
    assert set(refused.value.fields) >= {"lat", "lng"}
    assert not Location.objects.exists()
    location = actions.location_create(actor=office, customer_id=customer.pk, street="1 Main St", city="Springfield", lat="41.5", lng="-87.25")
    assert location.customer == customer


def test_update_bumps_version_and_updated_at(office):
    customer = CustomerFactory(name="Ann Lee")
    Customer.objects.filter(pk=customer.pk).update(updated_at=customer.updated_at - timedelta(days=3))
    before = Customer.objects.get(pk=customer.pk)
    updated = actions.customer_update(actor=office, customer_id=customer.pk, version=before.version, changes={"phone": "555-0199"})
    assert (updated.phone, updated.version) == ("555-0199", before.version + 1)
    assert updated.updated_at > before.updated_at


def test_update_without_changes_keeps_the_version(office):
    customer = CustomerFactory(name="Ann Lee")
    same = actions.customer_update(actor=office, customer_id=customer.pk, version=1, changes={"name": "Ann Lee"})
    assert same.version == 1


def test_stale_update_is_refused_and_changes_nothing(office, dispatcher):
    customer = CustomerFactory(name="Ann Lee")
    actions.customer_update(actor=dispatcher, customer_id=customer.pk, version=1, changes={"phone": "555-0001"})
    before = Customer.objects.values().get(pk=customer.pk)
    with pytest.raises(ConflictError) as refused:
        actions.customer_update(actor=office, customer_id=customer.pk, version=1, changes={"name": "Ann Smith"})
    assert refused.value.code == "stale"
    assert Customer.objects.values().get(pk=customer.pk) == before


def test_invalid_update_changes_nothing(office):
    customer = CustomerFactory(name="Ann Lee")
    before = Customer.objects.values().get(pk=customer.pk)
    with pytest.raises(InvalidInput):
        actions.customer_update(actor=office, customer_id=customer.pk, version=1, changes={"name": "A" * 201, "email": "x"})
    assert Customer.objects.values().get(pk=customer.pk) == before


def test_renaming_a_customer_reindexes_their_jobs(office, job_factory):
    location = LocationFactory(customer=CustomerFactory(name="Ann Lee"))
    job = job_factory(location=location)
    other = job_factory()
    assert found("Lee") >= {job.pk}
    actions.customer_update(actor=office, customer_id=location.customer_id, version=1, changes={"name": "Zebulon Quarrington"})
    assert found("Quarrington") == {job.pk}
    assert found("zebu quarr") == {job.pk}
    assert job.pk not in found("Lee")
    assert other.pk not in found("Quarrington")


def test_moving_a_location_reindexes_its_jobs(office, job_factory):
    location = LocationFactory(street="12 Elm Street", city="Chicago")
    job = job_factory(location=location)
    actions.location_update(actor=office, location_id=location.pk, version=1, changes={"street": "98 Wisteria Lane", "city": "Fairview"})
    assert found("Wisteria Fairview") == {job.pk}
    assert job.pk not in found("Elm")


def test_only_one_primary_contact(office):
    customer = CustomerFactory()
    first = actions.contact_create(actor=office, customer_id=customer.pk, name="Ann", is_primary=True)
    second = actions.contact_create(actor=office, customer_id=customer.pk, name="Bob", is_primary=True)
    assert list(Contact.objects.filter(is_primary=True).values_list("pk", flat=True)) == [second.pk]
    actions.contact_update(actor=office, contact_id=first.pk, version=first.version, changes={"is_primary": True})
    assert list(Contact.objects.filter(is_primary=True).values_list("pk", flat=True)) == [first.pk]


def test_primary_of_another_customer_is_untouched(office):
    theirs = ContactFactory(is_primary=True)
    actions.contact_create(actor=office, customer_id=CustomerFactory().pk, name="Ann", is_primary=True)
    theirs.refresh_from_db()
    assert theirs.is_primary


def test_asset_create_and_update(office):
    location = LocationFactory()
    asset = actions.asset_create(actor=office, location_id=location.pk, name="Water heater", make="Rheem", install_date="2019-04-02")
    assert str(asset.install_date) == "2019-04-02"
    updated = actions.asset_update(actor=office, asset_id=asset.pk, version=1, changes={"serial": "RH-1"})
    assert (updated.serial, updated.version) == ("RH-1", 2)
    with pytest.raises(InvalidInput) as refused:
        actions.asset_update(actor=office, asset_id=asset.pk, version=2, changes={"install_date": "not a date"})
    assert "install_date" in refused.value.fields
    assert Asset.objects.get(pk=asset.pk).version == 2
