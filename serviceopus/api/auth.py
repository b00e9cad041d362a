"""API authentication: a per-user bearer token (hashed at rest, revocable, optionally expiring), or
the browser session (with CSRF) for the app's own pages."""

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from serviceopus.accounts.models import ApiToken, User, hash_token


def user_from_bearer(request: HttpRequest) -> User | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return user_for_token(header[7:].strip())


def user_for_token(raw: str) -> User | None:
    if not raw or len(raw) > 200:
        return None
    token = ApiToken.objects.usable().select_related("user").filter(key_hash=hash_token(raw)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # Written at most once a minute per token: a busy client must not turn reads into writes.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user
