"""Claiming queued rows under a lease: the one way the workers (the messaging outbox, automation events,
webhook deliveries) take work from a table, so two workers never hold the same row and a dead worker's
rows come back.

A queue table has `status`, `attempts`, `next_attempt_at`, `lease_until` and `claimed_by`. `claim`
takes due rows — waiting ones whose time has come, and claimed ones whose worker's lease ran out (it
died) — marks them claimed under this worker with `attempts + 1`, in one short transaction: `SELECT …
FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent workers take different rows; SQLite's IMMEDIATE
transaction holds the write lock from its start. No lock is held after it returns.
"""

import os
import random
import secrets
import socket
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone


def new_worker_id() -> str:
    """Unique per process, readable in the admin: host, pid and a random suffix (pids are reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def backoff(attempts: int, *, base_seconds: int, max_seconds: int) -> timedelta:
    """The wait before attempt `attempts + 1`: `base_seconds` doubling per attempt, at most
    `max_seconds`, jittered so that rows which failed together (a server down) do not all come back in
    the same second."""
    capped = min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds)
    return timedelta(seconds=capped * random.uniform(0.75, 1.0))


def lease_end(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)


def claim(
    model: type[models.Model],
    *,
    worker_id: str,
    limit: int,
    waiting: str,
    claimed: str,
    lease_seconds: int,
    max_attempts: int,
    exhausted: dict[str, Any],
) -> list[Any]:
    """Claim up to `limit` due rows of `model` for `worker_id`, oldest due first, and return them.

    `waiting` and `claimed` are the status values of a queued row and of one being worked on. A row whose
    lease ran out after its last allowed attempt gets `exhausted` (e.g. failed with a reason) instead of
    being claimed once more: a row that kills its worker every time must not stop the queue."""
    now = timezone.now()
    expired = Q(status=claimed, lease_until__lt=now)
    due = Q(status=waiting, next_attempt_at__lte=now) | expired
    manager = model._default_manager
    with transaction.atomic():
        manager.filter(expired, attempts__gte=max_attempts).update(lease_until=None, **exhausted)
        rows = manager.filter(due).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        ids = list(rows.values_list("pk", flat=True)[:limit])
        if ids:
            manager.filter(due, pk__in=ids).update(status=claimed, lease_until=lease_end(now, lease_seconds), claimed_by=worker_id, attempts=F("attempts") + 1)
    if not ids:
        return []
    return list(manager.filter(pk__in=ids, status=claimed, claimed_by=worker_id).order_by("next_attempt_at", "id"))


def release(model: type[models.Model], rows: list[Any], *, worker_id: str, waiting: str, claimed: str) -> int:
    """Give claimed rows back unworked (a worker asked to stop): waiting again, the attempt not counted."""
    ids = [r.pk for r in rows]
    return model._default_manager.filter(pk__in=ids, status=claimed, claimed_by=worker_id).update(
        status=waiting, lease_until=None, claimed_by="", attempts=F("attempts") - 1
    )
