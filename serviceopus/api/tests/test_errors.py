"""The one error body everywhere, the status codes behind it, and an OpenAPI document that declares
them."""

import pytest
from django.test import Client

from serviceopus.customers.models import Customer
from serviceopus.jobs.models import Job, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory

from .client import api_client, error_of, field_paths

pytestmark = pytest.mark.django_db


def test_validation_errors_name_every_field_by_its_path(dispatcher):
    response = api_client(dispatcher).post("/customers", {"name": 5, "kind": "castle", "colour": "red"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field_paths(response) == {"body.name", "body.kind", "body.colour"}
    assert not Customer.objects.exists()


def test_a_missing_body_is_a_validation_error(dispatcher):
    response = api_client(dispatcher).post("/customers", raw="")
    assert response.status_code == 422
    assert "body" in field_paths(response)


def test_query_and_path_parameters_have_paths_too(dispatcher):
    api = api_client(dispatcher)
    response = api.get("/jobs", {"status": ["new", "bogus"], "priority": "9", "limit": "0"})
    assert response.status_code == 422
    assert field_paths(response) == {"query.status.1", "query.priority.0", "query.limit"}
    response = api.get("/jobs/abc")
    assert response.status_code == 422
    assert field_paths(response) == {"path.job_id"}


def test_body_that_is_not_json_is_400(dispatcher):
    response = api_client(dispatcher).post("/customers", raw="{not json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "Ann\x00"}, "body.name"),
        ({"name": "Ann", "notes": "a\x00b"}, "body.notes"),
        ({"name": "x" * 201}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "Ann", "phone": "5" * 41}, "body.phone"),
    ],
)
def test_nul_characters_and_overlong_text_are_422_and_store_nothing(dispatcher, body, path):
    response = api_client(dispatcher).post("/customers", body)
    assert response.status_code == 422
    assert field_paths(response) == {path}
    assert not Customer.objects.exists()


def test_a_nul_in_a_query_parameter_is_422(dispatcher):
    api = api_client(dispatcher)
    for params in ({"q": "a\x00"}, {"tag": "a\x00"}):
        response = api.get("/jobs", params)
        assert response.status_code == 422
        assert field_paths(response) == {f"query.{next(iter(params))}"}
    assert api.get("/customers", {"q": "\x00"}).status_code == 422


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"description": "Filter", "quantity": 1, "unit_price_cents": 100}, "body.quantity"),  # a number, not a string
        ({"description": "Filter", "quantity": "1.5", "unit_price_cents": 10.5}, "body.unit_price_cents"),  # a float
        ({"description": "Filter", "quantity": "1.5", "unit_price_cents": "100"}, "body.unit_price_cents"),  # a string
        ({"description": "Filter", "quantity": "1.5", "unit_price_cents": True}, "body.unit_price_cents"),  # a bool
        ({"description": "Filter", "quantity": "1.2345", "unit_price_cents": 100}, "body.quantity"),  # 4 places
        ({"description": "Filter", "quantity": "-1", "unit_price_cents": 100}, "body.quantity"),
        ({"description": "Filter", "quantity": "1e3", "unit_price_cents": 100}, "body.quantity"),
        ({"description": "Filter", "quantity": "NaN", "unit_price_cents": 100}, "body.quantity"),
        ({"description": "Filter", "quantity": "1", "unit_price_cents": 10**14}, "body.unit_price_cents"),
        ({"description": "Filter", "quantity": "1", "unit_price_cents": 100, "taxable": "yes"}, "body.taxable"),
    ],
)
def test_input_is_strict_not_coerced(dispatcher, body, path):
    job = JobFactory()
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/line-items", body)
    assert response.status_code == 422
    assert field_paths(response) == {path}
    assert not LineItem.objects.exists()


def test_unknown_ids_are_404_with_the_error_shape(dispatcher):
    api = api_client(dispatcher)
    for path in ("/jobs/999999", "/customers/999999", "/locations/999999", "/contacts/999999", "/assets/999999", "/technicians/999999"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"
    assert api.patch("/customers/999999", {"version": 1, "name": "X"}).status_code == 404
    assert api.post("/jobs/999999/transition", {"to": "scheduled"}).status_code == 404
    assert api.delete("/line-items/999999").status_code == 404


def test_a_domain_field_error_is_422_with_its_path(dispatcher):
    response = api_client(dispatcher).post("/customers", {"name": "Ann", "email": "not-an-email"})
    assert response.status_code == 422
    assert field_paths(response) == {"body.email"}
    assert not Customer.objects.exists()


def test_forbidden_is_403_with_the_error_shape(tech_a):
    response = api_client(tech_a.user).post("/customers", {"name": "Ann"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert not Customer.objects.exists()


def test_a_stale_edit_is_409_stale_and_changes_nothing(dispatcher):
    customer = CustomerFactory(name="Ann")
    api = api_client(dispatcher)
    assert api.patch(f"/customers/{customer.pk}", {"version": 1, "name": "Anne"}).status_code == 200
    response = api.patch(f"/customers/{customer.pk}", {"version": 1, "name": "Annie"})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "stale"
    assert error["details"] == {"current_version": 2}
    customer.refresh_from_db()
    assert (customer.name, customer.version) == ("Anne", 2)


def test_a_refused_transition_is_409_with_a_machine_readable_code(dispatcher):
    job = JobFactory(status=JobStatus.NEW)
    response = api_client(dispatcher).post(f"/jobs/{job.pk}/transition", {"to": "closed"})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_allowed"
    assert error["details"]["current_status"] == "new"
    assert Job.objects.get(pk=job.pk).status == JobStatus.NEW


def test_a_mangled_cursor_is_422(dispatcher):
    response = api_client(dispatcher).get("/jobs", {"cursor": "bm90LWEtY3Vyc29y"})
    assert response.status_code == 422
    assert field_paths(response) == {"query.cursor"}


def test_an_unsupported_method_is_405_with_the_error_shape(dispatcher):
    response = api_client(dispatcher).delete("/customers")
    assert response.status_code == 405
    error = error_of(response)
    assert (error["code"], error["details"]) == ("method_not_allowed", {"allowed": ["GET", "POST"]})
    assert response["Allow"] == "GET, POST"


@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1/nothing-here", "/api/v1/jobs/1/nothing"])
def test_an_unknown_api_path_is_404_with_the_error_shape(path):
    response = Client().get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# ---- the document -------------------------------------------------------------------------------


@pytest.fixture
def document():  # type: ignore[no-untyped-def]
    return Client().get("/api/v1/openapi.json").json()


def _operations(document):  # type: ignore[no-untyped-def]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_error_response_is_declared_with_the_error_schema(document):
    assert document["components"]["schemas"]["ErrorOut"]["required"] == ["error"]
    for path, method, operation in _operations(document):
        codes = {int(code) for code in operation["responses"]}
        assert 401 in codes, (method, path)
        assert codes & {200, 201, 204}, (method, path)
        assert 422 in codes, (method, path)
        if "{" in path:
            assert 404 in codes, (method, path)
        if method in ("post", "patch", "delete"):
            assert {403, 409} <= codes, (method, path)
        for code, answer in operation["responses"].items():
            if int(code) >= 400:
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, code)


def test_every_post_documents_the_idempotency_key(document):
    posts = [(path, op) for path, method, op in _operations(document) if method == "post"]
    assert len(posts) >= 10
    for path, operation in posts:
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"], path
        if "requestBody" in operation:  # 400 is a body that is not JSON: a bodyless POST cannot send one
            assert "400" in {str(c) for c in operation["responses"]}, path


def test_input_bodies_refuse_unknown_fields_in_the_document_too(document):
    schemas = document["components"]["schemas"]
    for name in ("CustomerIn", "JobCreateIn", "JobPatch", "LineItemIn", "TransitionIn", "TokenIn", "TechnicianIn", "JobTypeIn"):
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["LineItemIn"]["properties"]["quantity"]["type"] == "string"
    assert schemas["LineItemIn"]["properties"]["unit_price_cents"]["type"] == "integer"
    assert schemas["CustomerIn"]["properties"]["name"]["pattern"] == "^[^\\x00]*$"
