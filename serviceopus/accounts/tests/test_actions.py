from datetime import timedelta

import pytest
from django.utils import timezone

from serviceopus.accounts.actions import api_token_create, api_token_revoke, login_failure_record, login_failures_clear, login_is_throttled
from serviceopus.accounts.models import ApiToken, LoginFailure, hash_token
from serviceopus.core.errors import DomainError


def test_token_create_stores_only_the_hash(office):
    token, secret = api_token_create(actor=office, name="  Export  ")
    assert token.name == "Export"
    stored = ApiToken.objects.values().get(pk=token.pk)
    assert secret not in [str(v) for v in stored.values()]
    assert stored["key_hash"] == hash_token(secret)
    assert len(secret) >= len("so_") + 43  # 256 random bits, base64


def test_token_secrets_differ(office):
    _, first = api_token_create(actor=office, name="a")
    _, second = api_token_create(actor=office, name="b")
    assert first != second


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "nul\x00"])
def test_token_create_refuses_bad_names(office, name):
    with pytest.raises(DomainError) as refused:
        api_token_create(actor=office, name=name)
    assert refused.value.code == "invalid"
    assert not ApiToken.objects.exists()


def test_usable_excludes_revoked_and_expired(office):
    live, _ = api_token_create(actor=office, name="live")
    expired, _ = api_token_create(actor=office, name="expired", expires_at=timezone.now() - timedelta(seconds=1))
    revoked, _ = api_token_create(actor=office, name="revoked")
    api_token_revoke(actor=office, token_id=revoked.pk)
    assert list(ApiToken.objects.usable()) == [live]
    assert expired.pk not in ApiToken.objects.usable().values_list("pk", flat=True)


def test_revoke_only_own_active_tokens(office, dispatcher):
    token, _ = api_token_create(actor=office, name="mine")
    with pytest.raises(DomainError):
        api_token_revoke(actor=dispatcher, token_id=token.pk)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    api_token_revoke(actor=office, token_id=token.pk)
    with pytest.raises(DomainError):
        api_token_revoke(actor=office, token_id=token.pk)


def test_throttle_counts_per_username(db, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        login_failure_record(username="Dana", address="10.0.0.1")
    assert not login_is_throttled(username="dana", address="10.0.0.1")
    login_failure_record(username="DANA", address="10.0.0.2")
    assert login_is_throttled(username="dana", address="10.0.0.3")
    assert not login_is_throttled(username="oscar", address="10.0.0.3")
    login_failures_clear(username="Dana")
    assert not login_is_throttled(username="dana", address="10.0.0.1")


def test_throttle_counts_per_address_for_many_usernames(db, settings):
    for i in range(settings.LOGIN_FAILURE_LIMIT * 4):
        login_failure_record(username=f"guess{i}", address="198.51.100.7")
    assert login_is_throttled(username="someone-new", address="198.51.100.7")
    assert not login_is_throttled(username="someone-new", address="198.51.100.8")


def test_old_failures_are_trimmed(db):
    LoginFailure.objects.create(username="old", address="x", at=timezone.now() - timedelta(days=2))
    login_failure_record(username="new", address="x")
    assert list(LoginFailure.objects.values_list("username", flat=True)) == ["new"]
