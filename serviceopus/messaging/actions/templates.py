"""The company's wording of its notifications: save a template for one notice on one channel, or go
back to the default (notices.DEFAULTS). Only `messaging.edit_templates` (owners and managers).

Concurrent edits: the editor's form carries what it was showing — the default (no row: template_id
None, version 0) or a row's id and version. A save or a reset that does not match the row as it is now
is refused as stale and changes nothing. The row's id takes part because a reset deletes the row: a
template saved again afterwards is a new row, so an editor still holding the old one's version 1 cannot
overwrite it. There is no audit model: the row keeps who saved it last, and when."""

import re

from django.db import IntegrityError, transaction
from django.db.models import F
from django.template import Context
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.text import clean_text

from ..models import Channel, MessageTemplate, Notice
from ..notices import DEFAULTS, ENGINE, SMS_MAX_CHARS, VARIABLES, check_template

PERM = "messaging.edit_templates"
SUBJECT_MAX = 200
EMAIL_BODY_MAX = 5000
# Tags that would reach outside the message: other templates, or a dump of everything in the context.
FORBIDDEN_TAGS = re.compile(r"{%-?\s*(include|extends|load|debug|block|ssi)\b")
STALE = "Someone else changed this template after you opened it; nothing was saved. Reload to see their version."

# Values a preview and the save's trial rendering use (what a real message would hold).
SAMPLE: dict[str, str] = {
    "customer_name": "Jordan Rivera",
    "company_name": "Northwind Home Services",
    "company_phone": "(312) 555-0100",
    "job_number": "J-000123",
    "job_title": "Furnace makes a rattling noise when starting",
    "address": "1200 W Madison St, Chicago, IL 60607",
    "window": "Tue Dec 1, 9:00–11:00",
    "technician": "Alex",
    "eta": "10:40",
    "portal_url": "https://example.com/p/…",
    "invoice_number": "INV-000042",
    "invoice_total": "$1,234.00",
    "balance_due": "$1,234.00",
    "due_date": "Dec 31, 2026",
    "approval_title": "Replace the blower motor",
    "approval_total": "$480.00",
    "message": "We will bring the replacement part on Tuesday.",
}
assert set(SAMPLE) == set(VARIABLES)

# Every notice a customer receives has a template per channel; the office's alerts have none.
EDITABLE = tuple(n for n in Notice.values if n != Notice.OFFICE_ALERT)


def _require(actor: User) -> None:
    if not actor.has_perm(PERM):
        raise DomainError("forbidden", "You may not edit notification templates.")


def _key(notice: str, channel: str) -> None:
    if notice not in EDITABLE or channel not in Channel.values or (notice, channel) not in DEFAULTS:
        raise DomainError("not_found", "There is no such notification template.")


def trial_render(text: str) -> str:
    """'' when `text` renders with sample values, else why not (for a field error)."""
    if FORBIDDEN_TAGS.search(text):
        return "Templates may use variables, filters and simple tags such as {% if %}, not include, extends, load, block or debug."
    error = check_template(text)
    if error:
        return error
    try:
        ENGINE.from_string(text).render(Context(SAMPLE, autoescape=False))
    except Exception as exc:  # any rendering failure is the template's fault, shown to its author
        return f"Template error: {exc}"
    return ""


def validate(channel: str, subject: object, body: object) -> tuple[str, str]:
    """Cleaned (subject, body), or InvalidInput with an error per field. An email needs a subject; a
    text message has none, and its body is at most SMS_MAX_CHARS characters before rendering."""
    fields: dict[str, str] = {}
    if channel == Channel.EMAIL:
        subject_text = clean_text(fields, "subject", subject, max_length=SUBJECT_MAX, required=True)
        if "\n" in subject_text or "\r" in subject_text:
            fields["subject"] = "A subject is one line."
    else:
        subject_text = clean_text(fields, "subject", subject or "", max_length=0)
        if "subject" in fields:
            fields["subject"] = "A text message has no subject."
    body_text = clean_text(fields, "body", body, max_length=EMAIL_BODY_MAX if channel == Channel.EMAIL else SMS_MAX_CHARS, required=True)
    for name, text in (("subject", subject_text), ("body", body_text)):
        if name not in fields and text:
            problem = trial_render(text)
            if problem:
                fields[name] = problem
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    return subject_text, body_text


def _current(notice: str, channel: str) -> MessageTemplate | None:
    return MessageTemplate.objects.select_for_update().filter(notice=notice, channel=channel).first()


def _matches(row: MessageTemplate | None, template_id: int | None, version: int) -> bool:
    if row is None:
        return template_id is None and version == 0
    return row.pk == template_id and row.version == version


def template_save(*, actor: User, notice: str, channel: str, subject: str, body: str, version: int, template_id: int | None = None) -> MessageTemplate:
    """Save the company's wording of `notice` on `channel`. Validates (syntax, sample rendering, sizes)
    before anything is written; refuses a stale edit (see the module's docstring). The row is locked
    (select_for_update on PostgreSQL; SQLite's IMMEDIATE transaction) and updated only if its version
    is still the one read."""
    _require(actor)
    _key(notice, channel)
    subject_text, body_text = validate(channel, subject, body)
    now = timezone.now()
    try:
        with transaction.atomic():
            row = _current(notice, channel)
            if not _matches(row, template_id, version):
                raise ConflictError("stale", STALE, current_version=row.version if row else 0)
            if row is None:
                return MessageTemplate.objects.create(
                    notice=notice, channel=channel, subject=subject_text, body=body_text, updated_by=actor, updated_at=now, version=1
                )
            updated = MessageTemplate.objects.filter(pk=row.pk, version=version).update(
                subject=subject_text, body=body_text, updated_by=actor, updated_at=now, version=F("version") + 1
            )
            if not updated:
                raise ConflictError("stale", STALE)
    except IntegrityError as exc:
        # Two first saves of the same template at once: the unique (notice, channel) lets one in.
        raise ConflictError("stale", STALE) from exc
    return MessageTemplate.objects.get(pk=row.pk)


def template_reset(*, actor: User, notice: str, channel: str, version: int, template_id: int | None) -> None:
    """Go back to the default wording: the company's row is deleted. Refused when the default is already
    in use, or when the row changed since the editor opened it."""
    _require(actor)
    _key(notice, channel)
    with transaction.atomic():
        row = _current(notice, channel)
        if row is None:
            raise ConflictError("already_default", "This template already uses the default wording.")
        if not _matches(row, template_id, version):
            raise ConflictError("stale", STALE, current_version=row.version)
        MessageTemplate.objects.filter(pk=row.pk, version=version).delete()
