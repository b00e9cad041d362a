"""Validation of free text shared by forms, the API and actions.

PostgreSQL refuses NUL characters in text while SQLite stores them: refusing them everywhere keeps the
two databases equal and turns a would-be 500 into a field error.
"""

from django.core.exceptions import ValidationError


def reject_nul(value: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError("Text must not contain NUL characters.", code="nul")


NO_NUL_PATTERN = r"^[^\x00]*$"
