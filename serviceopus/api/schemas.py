"""Shapes shared by every router: the one error body, the cursor page envelope, and the field types
input bodies are built from (bounded text without NUL characters, integer cents, decimal strings,
ISO dates), so that every app refuses the same things with the same words."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from serviceopus.core.errors import InvalidInput
from serviceopus.core.text import NO_NUL_PATTERN

T = TypeVar("T")

MAX_CENTS = 10**13  # the domain's limit on any amount (jobs.actions.MAX_CENTS)
MAX_ID = 2**63 - 1
PAGE_SIZE_DEFAULT = 25
PAGE_SIZE_MAX = 100


class FieldError(BaseModel):
    path: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = []
    details: dict[str, Any] = {}


class ErrorOut(BaseModel):
    error: ErrorBody


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    prev_cursor: str | None


class StrictIn(BaseModel):
    """Base for input bodies: unknown fields are an error, and types are not coerced."""

    model_config = ConfigDict(strict=True, extra="forbid")


def error_body(code: str, message: str, fields: dict[str, str] | None = None, details: dict[str, Any] | None = None) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": [{"path": k, "message": v} for k, v in (fields or {}).items()],
            "details": details or {},
        }
    }


# ---- response declarations ----------------------------------------------------------------------
# Every operation lists the codes it can answer with; api.py adds 401 (and 400/409 for bodies and
# Idempotency-Key) to every operation's document.

READ = {404: ErrorOut, 422: ErrorOut}
LIST = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def responses(ok: dict[int, Any], errors: dict[int, Any] = WRITE) -> dict[int, Any]:
    return {**ok, **errors}


# ---- input field types --------------------------------------------------------------------------


def Text(max_length: int, *, min_length: int = 0) -> Any:
    """A string of bounded length that contains no NUL character (PostgreSQL cannot store one)."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length, pattern=NO_NUL_PATTERN)]


Name = Text(200, min_length=1)
Cents = Annotated[int, Field(ge=-MAX_CENTS, le=MAX_CENTS)]
PositiveCents = Annotated[int, Field(ge=0, le=MAX_CENTS)]
RefId = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="The version you last read; a stale one is refused with 409 stale.")]
Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})$")
# Far enough for any real schedule, and far from datetime's limits (year 1 with an offset overflows).
YEARS = (1900, 2200)


def _iso_date(value: object) -> date:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("Expected a date as YYYY-MM-DD.")
    try:
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("Not a valid calendar date.") from exc
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise ValueError(f"The year must be between {YEARS[0]} and {YEARS[1]}.")
    return parsed


def _iso_datetime(value: object) -> datetime:
    if not isinstance(value, str) or not _DATETIME.match(value):
        raise ValueError("Expected an ISO 8601 date-time with a time zone offset, e.g. 2026-03-01T09:30:00Z.")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError("Not a valid date-time.") from exc
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise ValueError(f"The year must be between {YEARS[0]} and {YEARS[1]}.")
    # The same instant in UTC: ISO 8601 allows offsets up to ±23:59, PostgreSQL only ±15:59.
    return parsed.astimezone(UTC)


IsoDate = Annotated[date, PlainValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
IsoDateTime = Annotated[datetime, PlainValidator(_iso_datetime), WithJsonSchema({"type": "string", "format": "date-time"})]


def decimal_string(*, digits: int, places: int, signed: bool = False, description: str = "") -> Any:
    """A decimal number sent as a JSON string ("1.5"), never as a float: it arrives exact."""
    pattern = rf"^{'-?' if signed else ''}\d{{1,{digits - places}}}(\.\d{{1,{places}}})?$"

    def parse(value: object) -> Decimal:
        if not isinstance(value, str) or not re.match(pattern, value):
            raise ValueError(f"Expected a decimal number as a string with at most {digits - places} digits before and {places} after the point.")
        try:
            return Decimal(value)
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid numbers
            raise ValueError("Not a number.") from exc

    schema = {"type": "string", "pattern": pattern}
    if description:
        schema["description"] = description
    return Annotated[Decimal, PlainValidator(parse), WithJsonSchema(schema)]


Quantity = decimal_string(digits=12, places=3, description='Quantity as a decimal string, e.g. "1.5" (at most 3 decimal places).')
Latitude = decimal_string(digits=9, places=6, signed=True, description="Latitude in degrees, -90 to 90, as a decimal string.")
Longitude = decimal_string(digits=9, places=6, signed=True, description="Longitude in degrees, -180 to 180, as a decimal string.")


def decimal_out(value: Decimal | None, places: int) -> str | None:
    """A stored decimal as a string with the column's places, so a value reads the same before and
    after a round trip through the database ("41.5" → "41.500000")."""
    return None if value is None else f"{Decimal(value).quantize(Decimal(1).scaleb(-places)):f}"


# ---- pagination ---------------------------------------------------------------------------------


class PageParams(BaseModel):
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]*$", description="next_cursor or prev_cursor of another page.")
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)


# ---- field names in errors ----------------------------------------------------------------------


@contextmanager
def body_field_names(mapping: dict[str, str]) -> Iterator[None]:
    """Actions name fields after the model ("location"); a body names them after what it sends
    ("location_id"). Renames the fields of an InvalidInput raised inside, so error paths point at
    the body's own fields."""
    try:
        yield
    except InvalidInput as exc:
        raise InvalidInput(exc.message, {mapping.get(k, k): v for k, v in exc.fields.items()}) from exc
