from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from serviceopus.accounts.models import ApiToken, LoginFailure, hash_token
from serviceopus.accounts.views import BAD_CREDENTIALS_MESSAGE
from serviceopus.api.auth import user_for_token
from tests.factories import UserFactory

PASSWORD = "pass-123-word"  # tests.factories.UserFactory's default
LOGIN = "/accounts/login/"


def _user(persona):  # type: ignore[no-untyped-def]
    return getattr(persona, "user", persona)  # technicians are Technician rows


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, {"username": username, "password": password, **extra})


# ---- sign-in ------------------------------------------------------------------------------------------


def test_sign_in_page_is_a_form_without_the_top_bar(db, client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert "csrfmiddlewaretoken" in html
    assert 'class="topbar"' not in html
    assert "auth-card" in html


@pytest.mark.parametrize(
    ("persona", "landing"),
    [("owner", "jobs:dashboard"), ("manager", "jobs:dashboard"), ("dispatcher", "jobs:dashboard"), ("office", "jobs:dashboard"), ("tech_a", "field:my_day")],
)
def test_each_role_lands_on_its_page(request, client, persona, landing):
    user = _user(request.getfixturevalue(persona))
    response = sign_in(client, user.username)
    assert response.status_code == 302
    assert response["Location"] == reverse(landing)
    assert client.session["_auth_user_id"] == str(user.pk)


def test_wrong_password_shows_an_error_and_signs_nobody_in(client, office):
    response = sign_in(client, office.username, "not-the-password")
    assert response.status_code == 200
    assert BAD_CREDENTIALS_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert LoginFailure.objects.filter(username=office.username).count() == 1


def test_unknown_user_gets_the_same_answer(db, client):
    response = sign_in(client, "nobody-here", "whatever")
    assert response.status_code == 200
    assert BAD_CREDENTIALS_MESSAGE in response.content.decode()


def test_empty_fields_are_field_errors(db, client):
    response = client.post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 422
    assert response.content.decode().count("This field is required.") == 2
    assert not LoginFailure.objects.exists()


def test_inactive_user_cannot_sign_in(db, client):
    user = UserFactory(username="gone", is_active=False)
    response = sign_in(client, user.username)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_five_failures_throttle_even_the_right_password(client, office):
    for _ in range(5):
        assert sign_in(client, office.username, "wrong").status_code == 200
    response = sign_in(client, office.username)  # the right password
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The refused attempt is not counted again (no check of the password was made).
    assert LoginFailure.objects.filter(username=office.username).count() == 5


def test_throttle_is_per_username_and_case_insensitive(client, office, dispatcher):
    for _ in range(5):
        sign_in(client, office.username.upper(), "wrong")
    assert sign_in(client, office.username).status_code == 429
    # Another person signing in from the same office network is not locked out.
    assert sign_in(client, dispatcher.username).status_code == 302


def test_failures_older_than_the_window_do_not_count(client, office, settings):
    for _ in range(5):
        sign_in(client, office.username, "wrong")
    LoginFailure.objects.update(at=timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 1))
    assert sign_in(client, office.username).status_code == 302


def test_success_clears_earlier_failures(client, office):
    for _ in range(4):
        sign_in(client, office.username, "wrong")
    assert sign_in(client, office.username).status_code == 302
    assert not LoginFailure.objects.filter(username=office.username).exists()


def test_client_address_is_remote_addr(client, office):
    sign_in(client, office.username, "wrong", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert LoginFailure.objects.get().address == "127.0.0.1"


@pytest.mark.parametrize("bad_next", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "http://testserver.evil.example/"])
def test_unsafe_next_is_ignored(client, office, bad_next):
    response = sign_in(client, office.username, next=bad_next)
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:dashboard")


def test_safe_next_is_honoured(client, office):
    response = sign_in(client, office.username, next="/customers/?q=smith")
    assert response["Location"] == "/customers/?q=smith"


def test_next_is_carried_through_the_form(db, client):
    html = client.get(LOGIN + "?next=/customers/").content.decode()
    assert 'name="next" value="/customers/"' in html
    html = client.get(LOGIN + "?next=https://evil.example/").content.decode()
    assert "evil.example" not in html


def test_signed_in_user_visiting_sign_in_is_sent_on(client_as, tech_a):
    response = client_as(tech_a.user).get(LOGIN)
    assert response.status_code == 302
    assert response["Location"] == reverse("field:my_day")


def test_pages_send_anonymous_visitors_to_sign_in(db, client):
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN + "?next=")


def test_sign_in_needs_csrf(db, office):
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": office.username, "password": PASSWORD})
    assert response.status_code == 403


# ---- sign-out -----------------------------------------------------------------------------------------


def test_sign_out_by_get_is_refused(client_as, office):
    client = client_as(office)
    response = client.get("/accounts/logout/")
    assert response.status_code == 405
    assert client.session["_auth_user_id"] == str(office.pk)


def test_sign_out_by_post(client_as, office):
    client = client_as(office)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session
    assert "You have signed out." in client.get(LOGIN).content.decode()


def test_sign_out_needs_csrf(office):
    client = Client(enforce_csrf_checks=True)
    client.force_login(office)
    assert client.post("/accounts/logout/").status_code == 403
    assert client.session["_auth_user_id"] == str(office.pk)


# ---- API tokens ---------------------------------------------------------------------------------------

TOKENS = "/accounts/tokens/"


def test_tokens_page_needs_sign_in(db, client):
    assert client.get(TOKENS).status_code == 302


def test_tokens_page_empty_state(client_as, office):
    response = client_as(office).get(TOKENS)
    assert response.status_code == 200
    assert "No API tokens yet" in response.content.decode()


def test_create_token_shows_the_secret_once_and_stores_its_hash(client_as, office):
    client = client_as(office)
    response = client.post(TOKENS, {"name": "Accounting export", "expires_in_days": ""})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=office)
    html = response.content.decode()
    start = html.index('id="new-token-secret" value="') + len('id="new-token-secret" value="')
    secret = html[start : html.index('"', start)]
    assert secret.startswith("so_")
    assert len(secret) > 40
    assert token.key_hash == hash_token(secret)
    assert secret not in {token.name, token.hint, token.key_hash}
    assert token.hint == secret[:8]
    assert token.expires_at is None
    assert "shown only this once" in html
    assert user_for_token(secret) == office
    # Shown exactly once: the next visit lists the token but not its secret.
    again = client.get(TOKENS).content.decode()
    assert secret not in again
    assert "Accounting export" in again
    assert token.hint in again


def test_create_token_with_expiry(client_as, office):
    before = timezone.now()
    client_as(office).post(TOKENS, {"name": "Phone", "expires_in_days": "30"})
    token = ApiToken.objects.get(user=office)
    assert timedelta(days=30) <= token.expires_at - before < timedelta(days=30, minutes=1)


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "   "}, "This field is required."),
        ({"name": "bad\x00name"}, "Null characters are not allowed."),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"name": "ok", "expires_in_days": "0"}, "greater than or equal to 1"),
        ({"name": "ok", "expires_in_days": "soon"}, "Enter a whole number."),
    ],
)
def test_invalid_token_input_creates_nothing(client_as, office, data, field_error):
    response = client_as(office).post(TOKENS, data)
    assert response.status_code == 422
    assert field_error in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_token(client_as, office):
    client = client_as(office)
    client.post(TOKENS, {"name": "Old script"})
    token = ApiToken.objects.get()
    page = client.get(TOKENS).content.decode()
    assert f'action="/accounts/tokens/{token.pk}/revoke/"' in page
    assert "data-confirm=" in page
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    html = response.content.decode()
    assert "is revoked" in html
    assert "Revoked" in html
    assert f'action="/accounts/tokens/{token.pk}/revoke/"' not in html  # no button on a revoked token


def test_revoke_twice_is_harmless(client_as, office):
    client = client_as(office)
    client.post(TOKENS, {"name": "Old script"})
    token = ApiToken.objects.get()
    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    first = ApiToken.objects.get().revoked_at
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert "already revoked" in response.content.decode()
    assert ApiToken.objects.get().revoked_at == first


def test_revoke_by_get_is_refused(client_as, office):
    client = client_as(office)
    client.post(TOKENS, {"name": "Script"})
    token = ApiToken.objects.get()
    assert client.get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.get().revoked_at is None


def test_nobody_sees_or_revokes_another_users_token(client_as, office, dispatcher):
    client_as(office).post(TOKENS, {"name": "Oscar token"})
    token = ApiToken.objects.get()
    other = client_as(dispatcher)
    assert "Oscar token" not in other.get(TOKENS).content.decode()
    assert other.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_technicians_have_tokens_too(client_as, tech_a):
    response = client_as(tech_a.user).post(TOKENS, {"name": "Field app"})
    assert response.status_code == 200
    assert ApiToken.objects.filter(user=tech_a.user).count() == 1
