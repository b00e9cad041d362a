"""Writes to skills and technicians (rare configuration; the admin site and the API call these), and to
technicians' calendar feed secrets."""

import hashlib
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.core.errors import DomainError, InvalidInput

from .models import CalendarFeed, Skill, Technician, TimeOff


def _require(actor: User) -> None:
    if not actor.has_perm("crew.edit_technicians"):
        raise DomainError("forbidden", "You may not change technicians or skills.")


def skill_create(*, actor: User, name: str) -> Skill:
    _require(actor)
    skill = Skill(name=(name or "").strip())
    try:
        skill.full_clean()
    except ValidationError as exc:
        raise InvalidInput("Please correct the highlighted fields.", {k: " ".join(v) for k, v in exc.message_dict.items()}) from exc
    try:
        with transaction.atomic():
            skill.save()
    except IntegrityError as exc:  # a concurrent create of the same name
        raise InvalidInput("Please correct the highlighted fields.", {"name": "A skill with this name exists."}) from exc
    return skill


def technician_create(
    *,
    actor: User,
    user_id: int,
    skill_ids: list[int],
    home_lat: Decimal | None = None,
    home_lng: Decimal | None = None,
    hourly_cost_cents: int = 0,
    color: str = "#2563eb",
) -> Technician:
    _require(actor)
    fields: dict[str, str] = {}
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        fields["user_id"] = "Unknown user."
    elif Technician.objects.filter(user=user).exists():
        fields["user_id"] = "This user is already a technician."
    skills = list(Skill.objects.filter(pk__in=skill_ids))
    if len(skills) != len(set(skill_ids)):
        fields["skill_ids"] = "Unknown skill."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    tech = Technician(user=user, home_lat=home_lat, home_lng=home_lng, hourly_cost_cents=hourly_cost_cents, color=color)
    try:
        tech.full_clean()
    except ValidationError as exc:
        raise InvalidInput("Please correct the highlighted fields.", {k: " ".join(v) for k, v in exc.message_dict.items()}) from exc
    with transaction.atomic():
        tech.save()
        tech.skills.set(skills)
        if user.role != Role.TECHNICIAN:
            User.objects.filter(pk=user.pk).update(role=Role.TECHNICIAN)
    return tech


def technician_update(*, actor: User, technician_id: int, changes: dict[str, Any]) -> Technician:
    _require(actor)
    allowed = {"skill_ids", "home_lat", "home_lng", "hourly_cost_cents", "color", "active"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput("Unknown fields.", {k: "Unknown field." for k in unknown})
    with transaction.atomic():
        tech = Technician.objects.select_for_update().get(pk=technician_id)
        for name, value in changes.items():
            if name != "skill_ids":
                setattr(tech, name, value)
        try:
            tech.full_clean()
        except ValidationError as exc:
            raise InvalidInput("Please correct the highlighted fields.", {k: " ".join(v) for k, v in exc.message_dict.items()}) from exc
        tech.save()
        if "skill_ids" in changes:
            skills = list(Skill.objects.filter(pk__in=changes["skill_ids"]))
            if len(skills) != len(set(changes["skill_ids"])):
                raise InvalidInput("Please correct the highlighted fields.", {"skill_ids": "Unknown skill."})
            tech.skills.set(skills)
    return tech


# ---- calendar feeds ----------------------------------------------------------------------------------


def feed_token_hash(token: str) -> str:
    """What is stored of a feed token: its SHA-256. The token has 256 random bits, so a fast hash is
    enough (no salt or stretching: nobody can enumerate the inputs), and lookups stay one index read."""
    return hashlib.sha256(token.encode()).hexdigest()


def _feed_technician(actor: User, technician_id: int) -> Technician:
    technician = Technician.objects.select_related("user").filter(pk=technician_id).first()
    if technician is None:
        raise DomainError("not_found", "No such technician.")
    if technician.user_id != actor.pk and not actor.has_perm("dispatch.schedule"):
        raise DomainError("forbidden", "You may manage only your own calendar feed.")
    return technician


def calendar_feed_renew(*, actor: User, technician_id: int) -> str:
    """Create the technician's calendar feed secret, or replace it (the old URL stops working at once).
    The technician themself or an office user may do this. Returns the raw token: this is the only
    time it exists outside the subscriber's calendar app, as only its hash is stored."""
    technician = _feed_technician(actor, technician_id)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # One row per technician (a unique key), so concurrent renewals leave exactly one secret.
        CalendarFeed.objects.update_or_create(technician=technician, defaults={"token_hash": feed_token_hash(token)})
    return token


def calendar_feed_revoke(*, actor: User, technician_id: int) -> bool:
    """Stop the technician's feed URL from working. False when there was none."""
    technician = _feed_technician(actor, technician_id)
    with transaction.atomic():
        deleted, _ = CalendarFeed.objects.filter(technician=technician).delete()
    return bool(deleted)


# ---- time off -----------------------------------------------------------------------------------------

MAX_TIME_OFF = timedelta(days=92)


def time_off_add(*, actor: User, technician_id: int, start: datetime | None, end: datetime | None, reason: str = "") -> TimeOff:
    """Record a period a technician is not available. Scheduling checks it from then on; visits
    already booked in it are not moved (the caller tells the office which ones to reassign).
    Refuses an end before the start, more than three months at once, and overlap with time off
    already recorded (edit that one instead), changing nothing."""
    if not actor.has_perm("crew.edit_time_off"):
        raise DomainError("forbidden", "You may not record time off.")
    fields: dict[str, str] = {}
    reason = (reason or "").strip()
    if "\x00" in reason or len(reason) > 200:
        fields["reason"] = "At most 200 characters, no NUL characters."
    if start is None:
        fields["start"] = "Enter when the time off starts."
    if end is None:
        fields["end"] = "Enter when it ends."
    if start is not None and end is not None:
        if end <= start:
            fields["end"] = "The end must be after the start."
        elif end - start > MAX_TIME_OFF:
            fields["end"] = "At most three months at once; add the rest as another period."
    technician = Technician.objects.select_related("user").filter(pk=technician_id).first()
    if technician is None:
        raise DomainError("not_found", "No such technician.")
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    assert start is not None
    assert end is not None
    with transaction.atomic():
        clash = TimeOff.objects.filter(technician=technician, start__lt=end, end__gt=start).first()
        if clash is not None:
            raise InvalidInput("Please correct the highlighted fields.", {"start": f"{technician.name} already has time off then ({clash})."})
        return TimeOff.objects.create(technician=technician, start=start, end=end, reason=reason)


def time_off_remove(*, actor: User, time_off_id: int) -> None:
    if not actor.has_perm("crew.edit_time_off"):
        raise DomainError("forbidden", "You may not change time off.")
    with transaction.atomic():
        deleted, _ = TimeOff.objects.filter(pk=time_off_id).delete()
    if not deleted:
        raise DomainError("not_found", "This time off was already removed.")
