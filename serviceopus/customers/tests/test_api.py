"""The customers API: customers, locations, contacts and assets — office data that technicians
cannot read (404) or change (403); edits carry a version."""

from decimal import Decimal

import pytest

from serviceopus.api.tests.client import api_client, error_of, field_paths
from serviceopus.customers.models import Asset, Contact, Customer, Location
from tests.factories import AssetFactory, ContactFactory, CustomerFactory, JobFactory, LocationFactory

pytestmark = pytest.mark.django_db


def _rows(model) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(model.objects.order_by("pk").values())


# ---- customers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "manager", "dispatcher", "office"])
def test_office_roles_list_and_search_customers(request, persona):
    ann, _ = CustomerFactory(name="Ann Baker"), CustomerFactory(name="Bob Cooper")
    api = api_client(request.getfixturevalue(persona))
    assert [c["name"] for c in api.get("/customers").json()["items"]] == ["Ann Baker", "Bob Cooper"]
    assert [c["id"] for c in api.get("/customers", {"q": "bake"}).json()["items"]] == [ann.pk]


def test_create_read_and_edit_a_customer(dispatcher):
    api = api_client(dispatcher)
    created = api.post("/customers", {"name": "  Ann Baker ", "kind": "commercial", "email": "ann@example.com", "phone": "555-0100"})
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["kind"], body["email"], body["version"]) == ("Ann Baker", "commercial", "ann@example.com", 1)
    assert api.get(f"/customers/{body['id']}").json()["name"] == "Ann Baker"
    changed = api.patch(f"/customers/{body['id']}", {"version": 1, "notes": "Prefers mornings"})
    assert changed.status_code == 200
    assert (changed.json()["notes"], changed.json()["name"], changed.json()["version"]) == ("Prefers mornings", "Ann Baker", 2)


def test_customer_detail_includes_locations_assets_and_contacts(dispatcher):
    location = LocationFactory(street="1 Main St", lat=Decimal("41.5"))
    asset = AssetFactory(location=location)
    contact = ContactFactory(customer=location.customer, is_primary=True)
    body = api_client(dispatcher).get(f"/customers/{location.customer_id}").json()
    assert [loc["id"] for loc in body["locations"]] == [location.pk]
    assert body["locations"][0]["lat"] == "41.500000"
    assert [a["id"] for a in body["locations"][0]["assets"]] == [asset.pk]
    assert [(c["id"], c["is_primary"]) for c in body["contacts"]] == [(contact.pk, True)]


def test_a_stale_customer_edit_is_409_and_changes_nothing(dispatcher):
    customer = CustomerFactory(name="Ann")
    api = api_client(dispatcher)
    api.patch(f"/customers/{customer.pk}", {"version": 1, "name": "Anne"})
    before = _rows(Customer)
    response = api.patch(f"/customers/{customer.pk}", {"version": 1, "name": "Annie"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "stale"
    assert _rows(Customer) == before


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"version": 1, "name": None}, "body.name"),
        ({"version": 1, "name": ""}, "body.name"),
        ({"version": 1, "email": "nope"}, "body.email"),
        ({"version": 1, "kind": "castle"}, "body.kind"),
        ({"version": 1, "created_at": "2020-01-01T00:00:00Z"}, "body.created_at"),
        ({"name": "No version"}, "body.version"),
        ({"version": "1", "name": "x"}, "body.version"),
    ],
)
def test_customer_edits_are_validated_and_change_nothing(dispatcher, body, path):
    customer = CustomerFactory(name="Ann")
    before = _rows(Customer)
    response = api_client(dispatcher).patch(f"/customers/{customer.pk}", body)
    assert response.status_code == 422
    assert field_paths(response) == {path}
    assert _rows(Customer) == before


def test_renaming_a_customer_updates_job_search(dispatcher):
    job = JobFactory(location=LocationFactory(customer=CustomerFactory(name="Ann")))
    api = api_client(dispatcher)
    api.patch(f"/customers/{job.customer_id}", {"version": 1, "name": "Zebulon Plumbing"})
    assert [j["id"] for j in api.get("/jobs", {"q": "zebulon"}).json()["items"]] == [job.pk]


# ---- locations, contacts, assets ----------------------------------------------------------------


def test_locations(dispatcher):
    customer = CustomerFactory()
    api = api_client(dispatcher)
    created = api.post(
        f"/customers/{customer.pk}/locations", {"street": "1 Main St", "city": "Chicago", "lat": "41.878100", "lng": "-87.6298", "gate_code": "#1234"}
    )
    assert created.status_code == 201, created.content
    loc = created.json()
    assert (loc["customer_id"], loc["lat"], loc["lng"], loc["one_line"]) == (customer.pk, "41.878100", "-87.629800", "1 Main St, Chicago")
    assert api.get(f"/locations/{loc['id']}").json()["assets"] == []
    changed = api.patch(f"/locations/{loc['id']}", {"version": 1, "lat": None, "access_notes": "Side door"})
    assert (changed.status_code, changed.json()["lat"], changed.json()["access_notes"]) == (200, None, "Side door")
    assert Location.objects.get(pk=loc["id"]).lat is None


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"street": "1 Main", "city": "X", "lat": "91"}, "body.lat"),
        ({"street": "1 Main", "city": "X", "lng": "-180.5"}, "body.lng"),
        ({"street": "1 Main", "city": "X", "lat": 41.5}, "body.lat"),  # a float, not a string
        ({"street": "1 Main", "city": "X", "lat": "41.1234567"}, "body.lat"),
        ({"street": "", "city": "X"}, "body.street"),
        ({"city": "X"}, "body.street"),
    ],
)
def test_location_input_is_checked(dispatcher, body, path):
    customer = CustomerFactory()
    response = api_client(dispatcher).post(f"/customers/{customer.pk}/locations", body)
    assert response.status_code == 422
    assert field_paths(response) == {path}
    assert not Location.objects.exists()


def test_contacts_and_the_one_primary(dispatcher):
    first = ContactFactory(is_primary=True)
    api = api_client(dispatcher)
    created = api.post(f"/customers/{first.customer_id}/contacts", {"name": "Sam", "role": "Tenant", "is_primary": True})
    assert created.status_code == 201
    assert list(Contact.objects.filter(is_primary=True).values_list("name", flat=True)) == ["Sam"]
    changed = api.patch(f"/contacts/{created.json()['id']}", {"version": 1, "phone": "555-0199"})
    assert (changed.status_code, changed.json()["phone"], changed.json()["version"]) == (200, "555-0199", 2)
    assert api.get(f"/contacts/{first.pk}").json()["is_primary"] is False


def test_assets(dispatcher):
    location = LocationFactory()
    api = api_client(dispatcher)
    created = api.post(f"/locations/{location.pk}/assets", {"name": "Water heater", "make": "Rheem", "install_date": "2019-06-30"})
    assert created.status_code == 201
    asset = created.json()
    assert (asset["location_id"], asset["install_date"]) == (location.pk, "2019-06-30")
    assert api.get(f"/assets/{asset['id']}").json()["make"] == "Rheem"
    changed = api.patch(f"/assets/{asset['id']}", {"version": 1, "serial": "RH-1", "install_date": None})
    assert (changed.json()["serial"], changed.json()["install_date"]) == ("RH-1", None)
    for bad in ("2019-02-30", "30/06/2019", "0001-01-01", 20190630):
        response = api.post(f"/locations/{location.pk}/assets", {"name": "Boiler", "install_date": bad})
        assert response.status_code == 422
        assert field_paths(response) == {"body.install_date"}
    assert Asset.objects.count() == 1


def test_children_of_an_unknown_parent_are_404(dispatcher):
    api = api_client(dispatcher)
    assert api.post("/customers/999999/locations", {"street": "1 Main", "city": "X"}).status_code == 404
    assert api.post("/customers/999999/contacts", {"name": "Sam"}).status_code == 404
    assert api.post("/locations/999999/assets", {"name": "Boiler"}).status_code == 404
    assert not Location.objects.exists()
    assert not Contact.objects.exists()
    assert not Asset.objects.exists()


# ---- technicians ------------------------------------------------------------------------------------


def test_technicians_cannot_read_customer_data(tech_a):
    asset = AssetFactory()
    contact = ContactFactory(customer=asset.location.customer)
    JobFactory(location=asset.location, technicians=[tech_a])  # even the customer of their own job
    api = api_client(tech_a.user)
    for path in (
        "/customers",
        f"/customers/{asset.location.customer_id}",
        f"/locations/{asset.location_id}",
        f"/contacts/{contact.pk}",
        f"/assets/{asset.pk}",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"


def test_technicians_cannot_change_customer_data(tech_a):
    asset = AssetFactory()
    contact = ContactFactory(customer=asset.location.customer)
    customer, location = asset.location.customer, asset.location
    before = [_rows(m) for m in (Customer, Location, Contact, Asset)]
    api = api_client(tech_a.user)
    responses = [
        api.post("/customers", {"name": "Ann"}),
        api.patch(f"/customers/{customer.pk}", {"version": 1, "name": "X"}),
        api.post(f"/customers/{customer.pk}/locations", {"street": "1 Main", "city": "X"}),
        api.patch(f"/locations/{location.pk}", {"version": 1, "city": "X"}),
        api.post(f"/customers/{customer.pk}/contacts", {"name": "Sam"}),
        api.patch(f"/contacts/{contact.pk}", {"version": 1, "name": "X"}),
        api.post(f"/locations/{location.pk}/assets", {"name": "Boiler"}),
        api.patch(f"/assets/{asset.pk}", {"version": 1, "name": "X"}),
    ]
    assert [(r.status_code, error_of(r)["code"]) for r in responses] == [(403, "forbidden")] * 8
    assert [_rows(m) for m in (Customer, Location, Contact, Asset)] == before
