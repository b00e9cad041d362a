"""Keyset ("cursor") pagination: each page is read from an index starting at the last row seen, so
page 40,000 costs what page 1 costs. OFFSET pagination and total counts grow with the table."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None
    prev_cursor: str | None


def encode_cursor(values: list[Any], direction: str) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps({"v": plain, "d": direction}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class BadCursor(ValueError):
    pass


def decode_cursor(cursor: str, keys: list[SortKey]) -> tuple[list[Any], str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        values, direction = data["v"], data["d"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadCursor("This page link is no longer valid.") from exc
    if direction not in ("next", "prev") or not isinstance(values, list) or len(values) != len(keys):
        raise BadCursor("This page link is no longer valid.")
    parsed: list[Any] = []
    for key, value in zip(keys, values, strict=True):
        if key.field.endswith("_at"):
            dt = parse_datetime(value) if isinstance(value, str) else None
            if dt is None:
                raise BadCursor("This page link is no longer valid.")
            parsed.append(dt)
        elif isinstance(value, int) and not isinstance(value, bool):
            parsed.append(value)
        else:
            raise BadCursor("This page link is no longer valid.")
    return parsed, direction


def _after(keys: list[SortKey], values: list[Any], forward: bool) -> Q:
    """Rows strictly after `values` in the sort order (or before it, when not forward)."""
    condition = Q()
    for i in reversed(range(len(keys))):
        key = keys[i]
        go_down = key.descending == forward
        strict = Q(**{f"{key.field}__{'lt' if go_down else 'gt'}": values[i]})
        if i == len(keys) - 1:
            condition = strict
        else:
            condition = strict | (Q(**{key.field: values[i]}) & condition)
    return condition


def paginate(qs: QuerySet, keys: list[SortKey], *, cursor: str | None, size: int) -> Page:
    """One page of `qs` ordered by `keys` (the last key must be unique, e.g. id)."""
    order = [f"-{k.field}" if k.descending else k.field for k in keys]
    reverse = [k.field if k.descending else f"-{k.field}" for k in keys]
    direction = "next"
    if cursor:
        values, direction = decode_cursor(cursor, keys)
        qs = qs.filter(_after(keys, values, forward=direction == "next"))
    rows = list(qs.order_by(*(order if direction == "next" else reverse))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if direction == "prev":
        rows.reverse()

    def values_of(row: Any) -> list[Any]:
        return [getattr(row, k.field) for k in keys]

    has_next = more if direction == "next" else True
    has_prev = bool(cursor) if direction == "next" else more
    return Page(
        rows=rows,
        next_cursor=encode_cursor(values_of(rows[-1]), "next") if rows and has_next else None,
        prev_cursor=encode_cursor(values_of(rows[0]), "prev") if rows and has_prev else None,
    )
