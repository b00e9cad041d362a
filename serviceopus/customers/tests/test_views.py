import json

import pytest
from django.urls import reverse

from serviceopus.accounts.roles import CAPABILITIES, Role
from serviceopus.customers.models import Asset, Contact, Customer, Location
from serviceopus.jobs import search
from serviceopus.jobs.models import Job
from tests.factories import AssetFactory, ContactFactory, CustomerFactory, LocationFactory

# Every signed-in request: session and user (the role's capabilities need no query for non-staff users).
# Then the page's reads — a number that must not grow with the data.
PER_REQUEST = 2
LIST_QUERIES = PER_REQUEST + 2  # count, one page (first address and counts are per-row subqueries)
DETAIL_QUERIES = PER_REQUEST + 5  # customer, locations (+ job counts), assets, contacts, recent jobs


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def customer_with_everything(job_factory, *, name: str = "Ann Lee", locations: int = 1, assets: int = 1, contacts: int = 1, jobs: int = 1) -> Customer:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(name=name)
    for i in range(locations):
        location = LocationFactory(customer=customer, street=f"{i + 1} Elm Street")
        AssetFactory.create_batch(assets, location=location)
        for _ in range(jobs):
            job_factory(location=location)
    ContactFactory.create_batch(contacts, customer=customer)
    return customer


# ---- list ---------------------------------------------------------------------------------------------


def test_list_shows_customers_with_search(client_as, office):
    CustomerFactory(name="Harbor Dental")
    CustomerFactory(name="Ann Lee")
    client = client_as(office)
    response = client.get("/customers/")
    assert response.status_code == 200
    assert response.context["nav_active"] == "customers"
    assert "Harbor Dental" in html(response)
    assert "Ann Lee" in html(response)
    found = html(client.get("/customers/?q=harb"))
    assert "Harbor Dental" in found
    assert "Ann Lee" not in found


def test_list_search_fragment_for_htmx(client_as, office):
    CustomerFactory(name="Harbor Dental")
    response = client_as(office).get("/customers/?q=harbor", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-results")
    assert response.status_code == 200
    assert "Harbor Dental" in html(response)
    assert "<html" not in html(response)
    assert 'id="customer-results"' in html(response)


def test_list_empty_states(client_as, office):
    client = client_as(office)
    assert "No customers yet" in html(client.get("/customers/"))
    CustomerFactory(name="Ann Lee")
    assert "No customer matches" in html(client.get("/customers/?q=zzz"))


@pytest.mark.parametrize("q", ["\x00", "a\x00b", "%", "_", "x" * 500])
def test_list_odd_searches_do_not_fail(client_as, office, q):
    CustomerFactory(name="Ann Lee")
    assert client_as(office).get("/customers/", {"q": q}).status_code == 200


def test_list_pages(client_as, office):
    for i in range(30):
        CustomerFactory(name=f"Customer {i:02d}")
    client = client_as(office)
    first = html(client.get("/customers/"))
    assert "Customer 00" in first
    assert "Customer 25" not in first
    assert "page=2" in first
    second = html(client.get("/customers/?page=2"))
    assert "Customer 25" in second
    assert "Customer 29" in second
    assert "Customer 00" not in second
    assert client.get("/customers/?page=999").status_code == 200  # out of range → last page
    assert client.get("/customers/?page=abc").status_code == 200


def test_list_query_count_does_not_grow(client_as, office, job_factory, django_assert_num_queries):
    client = client_as(office)
    customer_with_everything(job_factory)
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get("/customers/").status_code == 200
    for i in range(40):
        customer_with_everything(job_factory, name=f"Customer {i}", locations=2, jobs=2)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/customers/")
    assert len(response.context["page"].object_list) == 25


def test_list_shows_counts_and_first_address(client_as, office, job_factory):
    customer_with_everything(job_factory, locations=2, jobs=3)
    row = html(client_as(office).get("/customers/"))
    assert "1 Elm Street, Chicago" in row
    assert '<td class="num">2</td>' in row
    assert '<td class="num">6</td>' in row


# ---- detail -------------------------------------------------------------------------------------------


def test_detail_shows_everything(client_as, office, job_factory):
    customer = customer_with_everything(job_factory, locations=2, assets=2, contacts=2, jobs=2)
    location = customer.locations.first()
    location.access_notes, location.gate_code = "Beware of the dog", "4711"
    location.save()
    response = client_as(office).get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    page = html(response)
    assert response.context["nav_active"] == "customers"
    assert customer.name in page
    assert "1 Elm Street" in page
    assert "2 Elm Street" in page
    assert "Beware of the dog" in page
    assert "4711" in page
    assert "2 jobs" in page
    for asset in Asset.objects.all():
        assert asset.serial in page
    for contact in Contact.objects.all():
        assert contact.name in page
    for job in Job.objects.all():
        assert f'href="/jobs/{job.pk}/"' in page
    assert f'href="/jobs/new/?customer={customer.pk}"' in page


def test_detail_shows_the_newest_twenty_jobs(client_as, office, job_factory):
    customer = customer_with_everything(job_factory, jobs=22)
    newest = list(Job.objects.filter(customer=customer).order_by("-id"))
    response = client_as(office).get(f"/customers/{customer.pk}/")
    assert [j.pk for j in response.context["recent_jobs"]] == [j.pk for j in newest[:20]]
    assert f'href="/jobs/{newest[-1].pk}/"' not in html(response)


def test_detail_query_count_does_not_grow(client_as, office, job_factory, django_assert_num_queries):
    client = client_as(office)
    small = customer_with_everything(job_factory)
    big = customer_with_everything(job_factory, name="Big Co", locations=6, assets=4, contacts=5, jobs=6)
    with django_assert_num_queries(DETAIL_QUERIES):
        client.get(f"/customers/{small.pk}/")
    with django_assert_num_queries(DETAIL_QUERIES):
        client.get(f"/customers/{big.pk}/")


def test_detail_of_a_new_customer(client_as, office):
    customer = CustomerFactory()
    page = html(client_as(office).get(f"/customers/{customer.pk}/"))
    assert "No service locations yet" in page
    assert "No jobs yet" in page


def test_missing_customer_is_404(client_as, office):
    assert client_as(office).get("/customers/999999/").status_code == 404


# ---- create and edit ----------------------------------------------------------------------------------


def test_create_customer(client_as, office):
    client = client_as(office)
    assert client.get("/customers/new/").status_code == 200
    response = client.post("/customers/new/", {"name": " Harbor Dental ", "kind": "commercial", "email": "desk@harbor.example", "phone": "555-0100"})
    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"
    assert (customer.name, customer.kind, customer.version) == ("Harbor Dental", "commercial", 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Bad\x00Name"}, "Null characters are not allowed."),
        ({"name": "x" * 201}, "Ensure this value has at most 200 characters"),
        ({"name": "Ok", "email": "not-an-email"}, "Enter a valid email address."),
        ({"name": ""}, "This field is required."),
        ({"name": "Ok", "kind": "alien"}, "Select a valid choice."),
    ],
)
def test_create_customer_field_errors_create_nothing(client_as, office, data, message):
    response = client_as(office).post("/customers/new/", {"kind": "residential", **data})
    assert response.status_code == 422
    page = html(response)
    assert message in page
    assert "has-error" in page
    assert 'aria-invalid="true"' in page
    assert not Customer.objects.exists()


def test_action_refusals_become_field_errors(client_as, office, monkeypatch):
    from serviceopus.core.errors import InvalidInput
    from serviceopus.customers import actions

    def refuse(**kwargs):  # type: ignore[no-untyped-def]
        raise InvalidInput("Please correct the highlighted fields.", {"name": "Name taken by the action.", "__all__": "Whole-form problem."})

    monkeypatch.setattr(actions, "customer_create", refuse)
    response = client_as(office).post("/customers/new/", {"name": "Ok", "kind": "residential"})
    assert response.status_code == 422
    assert "Name taken by the action." in html(response)
    assert "Whole-form problem." in html(response)


def test_edit_customer(client_as, office):
    customer = CustomerFactory(name="Ann Lee")
    client = client_as(office)
    form_page = html(client.get(f"/customers/{customer.pk}/edit/"))
    assert 'name="version" value="1"' in form_page
    assert 'value="Ann Lee"' in form_page
    response = client.post(f"/customers/{customer.pk}/edit/", {"version": 1, "name": "Ann Smith", "kind": "residential", "email": "", "phone": "", "notes": ""})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.version) == ("Ann Smith", 2)


def test_renaming_through_the_page_reindexes_jobs(client_as, office, job_factory):
    customer = customer_with_everything(job_factory, name="Ann Lee")
    job = Job.objects.get(customer=customer)
    client_as(office).post(f"/customers/{customer.pk}/edit/", {"version": 1, "name": "Quentin Zabriskie", "kind": "residential"})
    assert list(search.filter_by_text(Job.objects.all(), "Zabriskie").values_list("pk", flat=True)) == [job.pk]


def test_stale_edit_is_refused_and_keeps_the_input(client_as, office, dispatcher):
    customer = CustomerFactory(name="Ann Lee", phone="555-0100")
    client_as(dispatcher).post(f"/customers/{customer.pk}/edit/", {"version": 1, "name": "Ann Lee", "kind": "residential", "phone": "555-0200"})
    before = Customer.objects.values().get(pk=customer.pk)
    assert before["version"] == 2
    response = client_as(office).post(f"/customers/{customer.pk}/edit/", {"version": 1, "name": "Annabel Lee", "kind": "residential", "phone": "555-0300"})
    assert response.status_code == 409
    page = html(response)
    assert "Someone else changed this record" in page
    assert "Reload the current version" in page
    assert 'value="Annabel Lee"' in page
    assert 'value="555-0300"' in page
    assert "<title>Edit Ann Lee" in page  # the title shows what is stored, not the refused input
    assert Customer.objects.values().get(pk=customer.pk) == before


def test_edit_without_version_is_refused(client_as, office):
    customer = CustomerFactory(name="Ann Lee")
    response = client_as(office).post(f"/customers/{customer.pk}/edit/", {"name": "Ann Smith", "kind": "residential"})
    assert response.status_code == 422
    assert Customer.objects.get(pk=customer.pk).name == "Ann Lee"


def test_location_create_and_edit(client_as, office):
    customer = CustomerFactory()
    client = client_as(office)
    data = {"label": "Home", "street": "12 Elm Street", "city": "Chicago", "region": "IL", "postal_code": "60601", "lat": "41.88", "lng": "-87.63"}
    response = client.post(f"/customers/{customer.pk}/locations/new/", {**data, "gate_code": "#1234", "access_notes": "Side door"})
    location = Location.objects.get()
    assert response["Location"] == f"/customers/{customer.pk}/#location-{location.pk}"
    assert (location.customer, location.gate_code, str(location.lat)) == (customer, "#1234", "41.880000")
    edit = html(client.get(f"/customers/locations/{location.pk}/edit/"))
    assert 'name="version" value="1"' in edit
    response = client.post(f"/customers/locations/{location.pk}/edit/", {**data, "version": 1, "city": "Evanston"})
    location.refresh_from_db()
    assert (response.status_code, location.city, location.version, location.gate_code) == (302, "Evanston", 2, "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lat": "91"}, "less than or equal to 90"),
        ({"lng": "-180.5"}, "greater than or equal to -180"),
        ({"lat": "north"}, "Enter a number."),
        ({"street": ""}, "This field is required."),
        ({"gate_code": "1\x002"}, "Null characters are not allowed."),
    ],
)
def test_location_field_errors_create_nothing(client_as, office, change, message):
    customer = CustomerFactory()
    data = {"street": "12 Elm Street", "city": "Chicago", "lat": "41.88", "lng": "-87.63", **change}
    response = client_as(office).post(f"/customers/{customer.pk}/locations/new/", data)
    assert response.status_code == 422
    assert message in html(response)
    assert not Location.objects.exists()


def test_contact_create_edit_and_primary(client_as, office):
    customer = CustomerFactory()
    old_primary = ContactFactory(customer=customer, is_primary=True)
    client = client_as(office)
    response = client.post(f"/customers/{customer.pk}/contacts/new/", {"name": "Pat Doe", "role": "Tenant", "email": "pat@example.com", "is_primary": "on"})
    assert response.status_code == 302
    contact = Contact.objects.get(name="Pat Doe")
    old_primary.refresh_from_db()
    assert contact.is_primary
    assert not old_primary.is_primary
    response = client.post(f"/customers/contacts/{contact.pk}/edit/", {"version": 1, "name": "Pat Doe", "role": "Owner", "email": "pat@example.com"})
    contact.refresh_from_db()
    assert (response.status_code, contact.role, contact.is_primary) == (302, "Owner", False)


def test_contact_bad_email_creates_nothing(client_as, office):
    customer = CustomerFactory()
    response = client_as(office).post(f"/customers/{customer.pk}/contacts/new/", {"name": "Pat", "email": "pat@"})
    assert response.status_code == 422
    assert "Enter a valid email address." in html(response)
    assert not Contact.objects.exists()


def test_asset_create_and_edit(client_as, office):
    location = LocationFactory()
    client = client_as(office)
    response = client.post(
        f"/customers/locations/{location.pk}/assets/new/",
        {"name": "Water heater", "make": "Rheem", "model": "XE50", "serial": "RH1", "install_date": "2019-04-02"},
    )
    asset = Asset.objects.get()
    assert response["Location"] == f"/customers/{location.customer_id}/#location-{location.pk}"
    assert (asset.location, str(asset.install_date)) == (location, "2019-04-02")
    assert 'value="2019-04-02"' in html(client.get(f"/customers/assets/{asset.pk}/edit/"))
    response = client.post(f"/customers/assets/{asset.pk}/edit/", {"version": 1, "name": "Water heater", "serial": "RH2", "install_date": "2019-04-32"})
    assert response.status_code == 422
    assert "Enter a valid date." in html(response)
    assert Asset.objects.get().serial == "RH1"


def test_asset_stale_edit(client_as, office):
    asset = AssetFactory(name="Furnace")
    client = client_as(office)
    client.post(f"/customers/assets/{asset.pk}/edit/", {"version": 1, "name": "Furnace 1"})
    response = client.post(f"/customers/assets/{asset.pk}/edit/", {"version": 1, "name": "Furnace 2"})
    assert response.status_code == 409
    assert Asset.objects.get().name == "Furnace 1"


# ---- access -------------------------------------------------------------------------------------------


def technician_urls() -> list[tuple[str, str]]:
    customer = CustomerFactory()
    location = LocationFactory(customer=customer)
    contact = ContactFactory(customer=customer)
    asset = AssetFactory(location=location)
    return [
        ("get", "/customers/"),
        ("get", "/customers/new/"),
        ("post", "/customers/new/"),
        ("get", f"/customers/{customer.pk}/"),
        ("get", f"/customers/{customer.pk}/edit/"),
        ("post", f"/customers/{customer.pk}/edit/"),
        ("get", f"/customers/{customer.pk}/locations/new/"),
        ("get", f"/customers/locations/{location.pk}/edit/"),
        ("get", f"/customers/{customer.pk}/contacts/new/"),
        ("post", f"/customers/contacts/{contact.pk}/edit/"),
        ("get", f"/customers/locations/{location.pk}/assets/new/"),
        ("get", f"/customers/assets/{asset.pk}/edit/"),
        ("get", "/customers/options/?q=a"),
    ]


def test_technician_gets_404_everywhere(client_as, tech_a):
    client = client_as(tech_a.user)
    for method, url in technician_urls():
        assert getattr(client, method)(url, {"name": "Sneaky", "version": 1} if method == "post" else None).status_code == 404, url
    assert not Customer.objects.filter(name="Sneaky").exists()


def test_reader_without_edit_permission_gets_403(client_as, office, monkeypatch):
    monkeypatch.setitem(CAPABILITIES, Role.OFFICE, CAPABILITIES[Role.OFFICE] - {"customers.edit_customers"})
    customer = CustomerFactory(name="Ann Lee")
    client = client_as(office)
    assert client.get("/customers/").status_code == 200
    assert "New customer" not in html(client.get("/customers/"))
    assert "Edit customer" not in html(client.get(f"/customers/{customer.pk}/"))
    assert client.get("/customers/new/").status_code == 403
    assert client.post(f"/customers/{customer.pk}/edit/", {"version": 1, "name": "X", "kind": "residential"}).status_code == 403
    assert Customer.objects.get().name == "Ann Lee"


@pytest.mark.parametrize("persona", ["owner", "manager", "dispatcher", "office"])
def test_office_roles_may_edit(request, client_as, persona):
    client = client_as(request.getfixturevalue(persona))
    assert client.get("/customers/new/").status_code == 200
    assert client.post("/customers/new/", {"name": f"By {persona}", "kind": "residential"}).status_code == 302


def test_anonymous_is_sent_to_sign_in(db, client):
    customer = CustomerFactory()
    for url in ["/customers/", f"/customers/{customer.pk}/", "/customers/new/", "/customers/options/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url


# ---- options ------------------------------------------------------------------------------------------


def test_options_returns_at_most_twenty_matching(client_as, office):
    for i in range(25):
        CustomerFactory(name=f"Smith {i:02d}")
    CustomerFactory(name="Jones")
    LocationFactory(customer=Customer.objects.get(name="Smith 00"), city="Oak Park")
    response = client_as(office).get("/customers/options/?q=smith")
    page = html(response)
    assert response.status_code == 200
    assert page.count("<option") == 20
    assert "Jones" not in page
    assert "Smith 00 — Oak Park" in page


def test_options_selected_blank_and_empty(client_as, office):
    customer = CustomerFactory(name="Ann Lee")
    client = client_as(office)
    page = html(client.get(f"/customers/options/?q=ann&selected={customer.pk}&blank=1"))
    assert '<option value="">Choose a customer…</option>' in page
    assert f'<option value="{customer.pk}" selected>Ann Lee</option>' in page
    assert "No customer matches" in html(client.get("/customers/options/?q=zzz"))


def test_options_as_json(client_as, office):
    customer = CustomerFactory(name="Ann Lee")
    response = client_as(office).get("/customers/options/", {"q": "ann", "format": "json"})
    assert json.loads(response.content) == {"results": [{"id": customer.pk, "name": "Ann Lee", "city": ""}]}
    response = client_as(office).get("/customers/options/", {"q": "ann"}, HTTP_ACCEPT="application/json")
    assert response["Content-Type"] == "application/json"
