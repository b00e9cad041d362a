from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from serviceopus.accounts.actions import api_token_create, api_token_revoke
from serviceopus.accounts.models import ApiToken, hash_token
from serviceopus.api.models import IdempotencyRecord

from .client import api_client, error_of, field_paths

pytestmark = pytest.mark.django_db


def _get(token: str, path: str = "/api/v1/jobs"):  # type: ignore[no-untyped-def]
    return Client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_no_token_is_401_with_the_error_shape():
    response = Client().get("/api/v1/jobs")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Basic dXNlcjpwYXNz", "so_abc", "Bearer " + "x" * 500])
def test_a_bad_authorization_header_is_401(header):
    response = Client().get("/api/v1/jobs", headers={"Authorization": header})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_a_valid_token_authenticates_and_records_its_use(dispatcher):
    token, raw = api_token_create(actor=dispatcher, name="laptop")
    assert token.last_used_at is None
    assert _get(raw).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_is_401(dispatcher):
    token, raw = api_token_create(actor=dispatcher, name="laptop")
    assert _get(raw).status_code == 200
    api_token_revoke(actor=dispatcher, token_id=token.pk)
    response = _get(raw)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_an_expired_token_is_401(dispatcher):
    _, raw = api_token_create(actor=dispatcher, name="old", expires_at=timezone.now() - timedelta(seconds=1))
    response = _get(raw)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_a_token_that_has_not_expired_yet_works(dispatcher):
    _, raw = api_token_create(actor=dispatcher, name="new", expires_at=timezone.now() + timedelta(hours=1))
    assert _get(raw).status_code == 200


def test_a_deactivated_users_token_is_401(dispatcher):
    _, raw = api_token_create(actor=dispatcher, name="laptop")
    dispatcher.is_active = False
    dispatcher.save(update_fields=["is_active"])
    assert _get(raw).status_code == 401


def test_a_token_is_stored_only_as_its_hash(dispatcher):
    token, raw = api_token_create(actor=dispatcher, name="laptop")
    assert token.key_hash == hash_token(raw) != raw
    assert not ApiToken.objects.filter(key_hash=raw).exists()


def test_the_session_of_a_signed_in_user_also_works(client_as, dispatcher):
    assert client_as(dispatcher).get("/api/v1/jobs").status_code == 200


def test_the_document_and_the_docs_page_need_no_token():
    schema = Client().get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Service Opus API"
    docs = Client().get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"openapi.json" in docs.content


# ---- the token endpoints ------------------------------------------------------------------------


def test_create_returns_the_secret_once_and_it_works(dispatcher):
    api = api_client(dispatcher)
    response = api.post("/tokens", {"name": "Phone"})
    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "Phone"
    assert created["token"].startswith("so_")
    assert created["hint"] == created["token"][:8]
    assert response["Cache-Control"] == "no-store"
    assert ApiToken.objects.get(pk=created["id"]).key_hash == hash_token(created["token"])
    listed = api.get("/tokens").json()
    assert {t["id"] for t in listed} == {created["id"], ApiToken.objects.get(name="tests").pk}
    assert all("token" not in t for t in listed)
    assert _get(created["token"]).status_code == 200


def test_a_new_token_secret_is_never_stored_for_replay(dispatcher):
    api = api_client(dispatcher)
    first = api.post("/tokens", {"name": "Phone"}, key="token-1")
    assert first.status_code == 201
    assert not IdempotencyRecord.objects.filter(key="token-1").exists()
    assert not any(first.json()["token"].encode() in bytes(r.body) for r in IdempotencyRecord.objects.all())


def test_create_with_an_expiry(dispatcher):
    api = api_client(dispatcher)
    expires = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    response = api.post("/tokens", {"name": "CI", "expires_at": expires.isoformat()})
    assert response.status_code == 201
    assert ApiToken.objects.get(pk=response.json()["id"]).expires_at == expires


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": ""}, "body.name"),
        ({"name": "x" * 101}, "body.name"),
        ({"name": "a\x00b"}, "body.name"),
        ({"name": "ok", "expires_at": "2020-01-01T00:00:00Z"}, "body.expires_at"),
        ({"name": "ok", "expires_at": "2030-01-01T00:00:00"}, "body.expires_at"),  # no offset
        ({"name": "ok", "expires_at": "tomorrow"}, "body.expires_at"),
        ({"name": "ok", "scopes": ["all"]}, "body.scopes"),
    ],
)
def test_create_refuses_bad_input_and_creates_nothing(dispatcher, body, path):
    api = api_client(dispatcher)
    before = ApiToken.objects.count()
    response = api.post("/tokens", body)
    assert response.status_code == 422
    assert path in field_paths(response)
    assert ApiToken.objects.count() == before


def test_a_blank_name_is_refused_by_the_action_as_422(dispatcher):
    api = api_client(dispatcher)
    response = api.post("/tokens", {"name": "   "})
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid"
    assert ApiToken.objects.filter(user=dispatcher).count() == 1


def test_list_shows_only_your_own_tokens(dispatcher, office):
    api_token_create(actor=office, name="someone else's")
    api = api_client(dispatcher)
    assert [t["name"] for t in api.get("/tokens").json()] == ["tests"]


def test_revoke_your_own_token(dispatcher):
    api = api_client(dispatcher)
    token, raw = api_token_create(actor=dispatcher, name="old laptop")
    response = api.delete(f"/tokens/{token.pk}")
    assert response.status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert _get(raw).status_code == 401
    again = api.delete(f"/tokens/{token.pk}")
    assert again.status_code == 404
    assert error_of(again)["code"] == "not_found"


def test_you_cannot_revoke_someone_elses_token(dispatcher, office):
    theirs, raw = api_token_create(actor=office, name="theirs")
    response = api_client(dispatcher).delete(f"/tokens/{theirs.pk}")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert _get(raw).status_code == 200


def test_revoking_the_token_in_use_ends_it(dispatcher):
    api = api_client(dispatcher)
    own = ApiToken.objects.get(user=dispatcher, name="tests")
    assert api.delete(f"/tokens/{own.pk}").status_code == 204
    assert api.get("/tokens").status_code == 401


def test_technicians_manage_their_own_tokens_too(tech_a):
    api = api_client(tech_a.user)
    assert api.post("/tokens", {"name": "Phone"}).status_code == 201
    assert len(api.get("/tokens").json()) == 2


def test_a_session_post_without_its_csrf_token_is_refused(dispatcher):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dispatcher)
    response = client.post("/api/v1/customers", '{"name": "Ann"}', content_type="application/json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    # A bearer token is not a cookie: no CSRF token needed.
    token = api_token_create(actor=dispatcher, name="script")[1]
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/customers", '{"name": "Ann"}', content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201
