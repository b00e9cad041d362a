"""Validation of free text shared by forms, the API and actions.

PostgreSQL refuses NUL characters in text while SQLite stores them: refusing them everywhere keeps the
two databases equal and turns a would-be 500 into a field error.
"""

from django.core.exceptions import ValidationError


def reject_nul(value: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError("Text must not contain NUL characters.", code="nul")


NO_NUL_PATTERN = r"^[^\x00]*$"


def clean_text(fields: dict[str, str], name: str, value: object, *, max_length: int, required: bool = False) -> str:
    """Stripped text for an action; records an error for `name` in `fields` when it is missing, too
    long or holds a NUL character."""
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        fields[name] = "Enter text."
    elif "\x00" in text:
        fields[name] = "Text must not contain NUL characters."
    elif required and not text:
        fields[name] = "This field is required."
    elif len(text) > max_length:
        fields[name] = f"At most {max_length} characters."
    return text
