"""Shapes shared by every router: the one error body, and the cursor page envelope."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


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
