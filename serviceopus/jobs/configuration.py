"""Writes to job types: the configuration a business sets before it starts (default duration, required
skills and fields, billing defaults). Needs the `jobs.configure` capability (managers and admins).

Field rules come from the model (full_clean), plus the ones the model cannot state: required fields
must be ones a job form can ask for, and the colour is a #rrggbb value. JobType has no version column
yet, so an update is last-writer-wins (under a row lock on PostgreSQL).
"""

import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from serviceopus.accounts.models import User
from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.crew.models import Skill

from .models import REQUIRABLE_FIELDS, BillingTrigger, BillingType, JobType, Priority

EDITABLE = ("name", "default_duration_minutes", "required_fields", "default_billing_type", "billing_trigger", "default_priority", "color", "active")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _require(actor: User) -> None:
    if not actor.has_perm("jobs.configure"):
        raise DomainError("forbidden", "You may not configure job types.")


def _skills(ids: Sequence[int], fields: dict[str, str]) -> list[Skill]:
    skills = list(Skill.objects.filter(pk__in=ids))
    if len(skills) != len(set(ids)):
        fields["required_skills"] = "Unknown skill."
    return skills


def _validate(job_type: JobType, fields: dict[str, str]) -> None:
    """Collects every field error of `job_type` into `fields`; raises InvalidInput if there is any."""
    if isinstance(job_type.name, str):
        job_type.name = job_type.name.strip()
    required = job_type.required_fields
    if not isinstance(required, list) or any(not isinstance(n, str) or n not in REQUIRABLE_FIELDS for n in required):
        fields["required_fields"] = "Choose from: " + ", ".join(REQUIRABLE_FIELDS) + "."
    elif len(set(required)) != len(required):
        fields["required_fields"] = "List each field once."
    if not isinstance(job_type.color, str) or not COLOR.match(job_type.color):
        fields["color"] = "A colour as #rrggbb."
    if job_type.default_billing_type not in BillingType.values:
        fields["default_billing_type"] = "Unknown billing type."
    if job_type.billing_trigger not in BillingTrigger.values:
        fields["billing_trigger"] = "Choose queue or draft_invoice."
    if job_type.default_priority not in Priority.values:
        fields["default_priority"] = "Priority must be 1 (low) to 4 (urgent)."
    try:
        job_type.full_clean(exclude=list(fields))
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            fields.setdefault(name, " ".join(messages))
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)


def _save(job_type: JobType) -> None:
    try:
        with transaction.atomic():
            job_type.save()
    except IntegrityError as exc:  # a concurrent create or rename to the same name
        raise InvalidInput("Please correct the highlighted fields.", {"name": "A job type with this name exists."}) from exc


def job_type_create(
    *,
    actor: User,
    name: str,
    default_duration_minutes: int = 60,
    required_skill_ids: Sequence[int] = (),
    required_fields: Sequence[str] = (),
    default_billing_type: str = BillingType.TIME_AND_MATERIALS,
    billing_trigger: str = BillingTrigger.QUEUE,
    default_priority: int = Priority.NORMAL,
    color: str = "#64748b",
    active: bool = True,
) -> JobType:
    """Create a job type. Raises InvalidInput with every field error at once, creating nothing."""
    _require(actor)
    fields: dict[str, str] = {}
    skills = _skills(required_skill_ids, fields)
    job_type = JobType(
        name=name,
        default_duration_minutes=default_duration_minutes,
        required_fields=list(required_fields),
        default_billing_type=default_billing_type,
        billing_trigger=billing_trigger,
        default_priority=default_priority,
        color=color,
        active=active,
    )
    _validate(job_type, fields)
    with transaction.atomic():
        _save(job_type)
        job_type.required_skills.set(skills)
    return job_type


def job_type_update(*, actor: User, job_type_id: int, changes: dict[str, Any]) -> JobType:
    """Change a job type. `changes` holds any of EDITABLE and `required_skill_ids`. Jobs already
    created keep what they copied from the type (duration, skills, billing type)."""
    _require(actor)
    unknown = set(changes) - set(EDITABLE) - {"required_skill_ids"}
    if unknown:
        raise InvalidInput("Unknown fields.", {name: "This field cannot be edited." for name in unknown})
    with transaction.atomic():
        qs = JobType.objects.select_for_update() if connection.vendor == "postgresql" else JobType.objects
        job_type = qs.get(pk=job_type_id)
        fields: dict[str, str] = {}
        skills = _skills(changes["required_skill_ids"], fields) if "required_skill_ids" in changes else None
        for name in EDITABLE:
            if name in changes:
                setattr(job_type, name, list(changes[name]) if name == "required_fields" else changes[name])
        _validate(job_type, fields)
        _save(job_type)
        if skills is not None:
            job_type.required_skills.set(skills)
    return job_type
