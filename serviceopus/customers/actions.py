"""Writes to customers, locations, contacts and assets. Field validation uses the models' own
validators (full_clean), so forms, the API and the seeders refuse the same things with the same words;
edits carry the version the editor saw and a stale edit is refused."""

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.jobs import search

from .models import Asset, Contact, Customer, Location

M = TypeVar("M", bound=models.Model)

FIELDS = {
    # The opt-outs are the customer's own choice, recorded by the office: notifications (messaging.outbox)
    # to a channel the customer opted out of are written as skipped, never sent.
    Customer: ("name", "kind", "email", "phone", "notes", "email_opt_out", "sms_opt_out"),
    Location: ("label", "street", "city", "region", "postal_code", "lat", "lng", "access_notes", "gate_code"),
    Contact: ("name", "role", "email", "phone", "is_primary"),
    Asset: ("name", "make", "model", "serial", "install_date", "notes"),
}
# Changing these changes what the job search finds, so the affected jobs are re-indexed.
SEARCHED = {Customer: {"name"}, Location: {"street", "city", "postal_code"}}


def _require(actor: User) -> None:
    if not actor.has_perm("customers.edit_customers"):
        raise DomainError("forbidden", "You may not change customers.")


def _validated(obj: models.Model, exclude: list[str] | None = None) -> None:
    for name in FIELDS[type(obj)]:
        value = getattr(obj, name)
        if isinstance(value, str):
            setattr(obj, name, value.strip())
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise InvalidInput("Please correct the highlighted fields.", {k: " ".join(v) for k, v in exc.message_dict.items()}) from exc


def _create(actor: User, model: type[M], parent: dict[str, Any], data: dict[str, Any]) -> M:
    _require(actor)
    unknown = set(data) - set(FIELDS[model])
    if unknown:
        raise InvalidInput("Unknown fields.", {k: "Unknown field." for k in unknown})
    obj = model(**parent, **data)
    _validated(obj)
    with transaction.atomic():
        obj.save()
        if model is Contact and obj.is_primary:
            Contact.objects.filter(customer_id=obj.customer_id).exclude(pk=obj.pk).update(is_primary=False)
    return obj


def _update(actor: User, model: type[M], pk: int, version: int, changes: dict[str, Any]) -> M:
    _require(actor)
    unknown = set(changes) - set(FIELDS[model])
    if unknown:
        raise InvalidInput("Unknown fields.", {k: "Unknown field." for k in unknown})
    with transaction.atomic():
        obj = model.objects.get(pk=pk)
        if obj.version != version:
            raise ConflictError("stale", "Someone else changed this record after you opened it. Reload to see their changes.", current_version=obj.version)
        changed = [name for name, value in changes.items() if getattr(obj, name) != value]
        for name in changed:
            setattr(obj, name, changes[name])
        _validated(obj)
        if not changed:
            return obj
        values = {n: getattr(obj, n) for n in changed}
        if any(f.name == "updated_at" for f in model._meta.fields):
            values["updated_at"] = timezone.now()  # QuerySet.update() skips auto_now fields
        updated = model.objects.filter(pk=pk, version=version).update(**values, version=F("version") + 1)
        if not updated:
            raise ConflictError("stale", "Someone else changed this record meanwhile. Reload to see their changes.")
        if model is Contact and obj.is_primary:
            Contact.objects.filter(customer_id=obj.customer_id).exclude(pk=obj.pk).update(is_primary=False)
        if set(changed) & SEARCHED.get(model, set()):
            from serviceopus.jobs.models import Job

            jobs = Job.objects.filter(customer_id=obj.pk) if model is Customer else Job.objects.filter(location_id=obj.pk)
            search.reindex_jobs(jobs.values_list("pk", flat=True))
    obj.refresh_from_db()
    return obj


def customer_create(*, actor: User, **data: Any) -> Customer:
    return _create(actor, Customer, {}, data)


def customer_update(*, actor: User, customer_id: int, version: int, changes: dict[str, Any]) -> Customer:
    return _update(actor, Customer, customer_id, version, changes)


def location_create(*, actor: User, customer_id: int, **data: Any) -> Location:
    customer = Customer.objects.get(pk=customer_id)
    return _create(actor, Location, {"customer": customer}, data)


def location_update(*, actor: User, location_id: int, version: int, changes: dict[str, Any]) -> Location:
    return _update(actor, Location, location_id, version, changes)


def contact_create(*, actor: User, customer_id: int, **data: Any) -> Contact:
    customer = Customer.objects.get(pk=customer_id)
    return _create(actor, Contact, {"customer": customer}, data)


def contact_update(*, actor: User, contact_id: int, version: int, changes: dict[str, Any]) -> Contact:
    return _update(actor, Contact, contact_id, version, changes)


def asset_create(*, actor: User, location_id: int, **data: Any) -> Asset:
    location = Location.objects.get(pk=location_id)
    return _create(actor, Asset, {"location": location}, data)


def asset_update(*, actor: User, asset_id: int, version: int, changes: dict[str, Any]) -> Asset:
    return _update(actor, Asset, asset_id, version, changes)
