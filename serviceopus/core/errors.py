"""Domain errors: a machine-readable code and a human message. Views map them to a message or a status."""

from typing import Any


class DomainError(Exception):
    """A refused action. Nothing was changed when this is raised."""

    http_status = 400

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class ConflictError(DomainError):
    """The record changed meanwhile, or the action is not allowed in its current state (HTTP 409)."""

    http_status = 409


class InvalidInput(DomainError):
    """Input that fails a domain rule; `fields` maps field names to messages (HTTP 422)."""

    http_status = 422

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__("invalid", message, fields=fields or {})
        self.fields = fields or {}
