from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from serviceopus.core.errors import DomainError

from .models import ApiToken, LoginFailure, User, hash_token


def api_token_create(*, actor: User, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for `actor`; returns the row and the secret, which is never stored or shown again."""
    name = name.strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise DomainError("invalid", "Give the token a name of 1 to 100 characters.")
    raw = ApiToken.generate()
    token = ApiToken.objects.create(user=actor, name=name, key_hash=hash_token(raw), hint=raw[:8], expires_at=expires_at)
    return token, raw


def api_token_revoke(*, actor: User, token_id: int) -> None:
    updated = ApiToken.objects.filter(pk=token_id, user=actor, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if not updated:
        raise DomainError("not_found", "No such active token.")


def login_failure_record(*, username: str, address: str) -> None:
    with transaction.atomic():
        LoginFailure.objects.create(username=username.lower()[:150], address=address[:64])
        # Old rows are useless for throttling; trimming here keeps the table small without a cron job.
        LoginFailure.objects.filter(at__lt=timezone.now() - timedelta(days=1)).delete()


def login_is_throttled(*, username: str, address: str) -> bool:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(at__gte=since)
    limit = settings.LOGIN_FAILURE_LIMIT
    return recent.filter(username=username.lower()[:150]).count() >= limit or recent.filter(address=address[:64]).count() >= limit * 4


def login_failures_clear(*, username: str) -> None:
    LoginFailure.objects.filter(username=username.lower()[:150]).delete()
