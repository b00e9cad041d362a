"""Every write to jobs, line items, notes and the timeline. Views, the API, commands and the seeders
call these; each is atomic, and a refused call raises a DomainError having changed nothing."""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.core.models import next_in_sequence
from serviceopus.crew.models import Skill
from serviceopus.customers.models import Asset, Contact, Location

from . import search
from .guards import transition_blockers
from .models import REQUIRABLE_FIELDS, BillingType, Job, JobEvent, JobType, LineItem, Note, Priority, Source, Tag
from .status import ALLOWED, TECHNICIAN_TARGETS, HoldReason, JobStatus

MAX_TEXT = {"scope": 10000, "source_reference": 100, "hold_note": 500, "description": 300, "body": 10000, "tag": 50}
MAX_QUANTITY = Decimal("999999999.999")
MAX_CENTS = 10**13  # $100 billion: beyond any real line, far inside BIGINT


class TransitionRefused(ConflictError):
    """A job transition that the table or a guard refuses (HTTP 409; `code` says which rule)."""


def job_number(n: int) -> str:
    return f"J-{n:06d}"


def _lock(qs):  # type: ignore[no-untyped-def]
    # PostgreSQL: row lock until commit. SQLite: the IMMEDIATE transaction already holds the write lock.
    return qs.select_for_update() if connection.vendor == "postgresql" else qs


def lock_job(job_id: int) -> Job:
    """The job row, locked until commit (for apps writing records that belong to one job). Inside
    the caller's transaction."""
    return _lock(Job.objects).get(pk=job_id)


def _text(fields: dict[str, str], name: str, value: str, *, required: bool = False) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        fields[name] = "Text must not contain NUL characters."
    elif required and not value:
        fields[name] = "This field is required."
    elif len(value) > MAX_TEXT.get(name, 10000):
        fields[name] = f"At most {MAX_TEXT.get(name, 10000)} characters."
    return value


def _event(job: Job, actor: User | None, kind: str, *, old: str = "", new: str = "", message: str = "", data: dict | None = None) -> JobEvent:
    return JobEvent.objects.create(
        job=job, actor=actor, kind=kind, old_value=old[:200], new_value=new[:200], message=message[:500], data=data or {}, created_at=timezone.now()
    )


def _clean_job_data(data: dict[str, Any], *, job_type: JobType | None, current: Job | None = None) -> dict[str, Any]:
    """Validate the fields of a job create or edit against each other; raises InvalidInput with every
    field error at once. `data` holds only the fields being set."""
    fields: dict[str, str] = {}
    out = dict(data)
    get = lambda name: data[name] if name in data else getattr(current, name, None)

    for name in ("scope", "source_reference", "hold_note"):
        if name in data:
            out[name] = _text(fields, name, data[name], required=(name == "scope"))
    if "source" in data and data["source"] not in Source.values:
        fields["source"] = "Choose a source: " + ", ".join(Source.values)
    if "priority" in data and data["priority"] not in Priority.values:
        fields["priority"] = "Priority must be 1 (low) to 4 (urgent)."
    if "billing_type" in data and data["billing_type"] not in BillingType.values:
        fields["billing_type"] = "Unknown billing type."
    if "estimated_duration_minutes" in data:
        minutes = data["estimated_duration_minutes"]
        if not isinstance(minutes, int) or not 5 <= minutes <= 60 * 24 * 14:
            fields["estimated_duration_minutes"] = "Between 5 minutes and 14 days."
    billing_type = get("billing_type")
    nte = get("not_to_exceed_cents")
    if billing_type == BillingType.NOT_TO_EXCEED and not nte:
        fields["not_to_exceed_cents"] = "A not-to-exceed job needs its limit."
    if nte is not None and not (0 < nte <= MAX_CENTS):
        fields["not_to_exceed_cents"] = "The limit must be a positive amount."

    customer = data.get("customer") or (current.customer if current else None)
    location = get("location")
    if location is not None and customer is not None and location.customer_id != customer.pk:
        fields["location"] = "This address belongs to another customer."
    contact = get("contact")
    if contact is not None and customer is not None and contact.customer_id != customer.pk:
        fields["contact"] = "This contact belongs to another customer."
    if "assets" in data and location is not None:
        foreign = [a for a in data["assets"] if a.location_id != location.pk]
        if foreign:
            fields["assets"] = "These assets are not at the job's address: " + ", ".join(str(a) for a in foreign)
    if "tags" in data:
        # Normalised before the length check: lower-casing can lengthen a string ("İ" → "i̇").
        out["tags"] = normalize_tags(data["tags"])
        if any(len(tag) > MAX_TEXT["tag"] or "\x00" in tag for tag in out["tags"]):
            fields["tags"] = "Tags are 1 to 50 characters."

    if job_type is not None:
        for name in job_type.required_fields:
            value = data.get(name, getattr(current, name, None) if current and name not in ("assets", "tags") else None)
            if name in ("assets", "tags") and current is not None and name not in data:
                value = list(getattr(current, name).all())
            if not value and name in REQUIRABLE_FIELDS:
                fields.setdefault(name, f"{REQUIRABLE_FIELDS[name]} is required for {job_type.name} jobs.")
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    return out


def normalize_tags(names: Iterable[str]) -> list[str]:
    return sorted({n.strip().lower() for n in names if n and n.strip()})


def _set_tags(job: Job, wanted: list[str]) -> None:
    """Set the job's tags to `wanted` (already normalised), creating the missing ones."""
    existing = {t.name: t for t in Tag.objects.filter(name__in=wanted)}
    for name in wanted:
        if name not in existing:
            existing[name], _ = Tag.objects.get_or_create(name=name)
    job.tags.set([existing[n] for n in wanted])


# What apps built on jobs do when a job is created (automation: the "job created" event for rules and
# webhooks). Called as hook(actor=, job=) inside job_create's transaction, after the job is written.
JOB_CREATED_HOOKS: list[Callable[..., None]] = []


def job_create(
    *,
    actor: User,
    customer_id: int,
    location_id: int,
    job_type_id: int,
    scope: str,
    source: str = Source.DIRECT,
    source_reference: str = "",
    contact_id: int | None = None,
    asset_ids: Sequence[int] = (),
    priority: int | None = None,
    estimated_duration_minutes: int | None = None,
    required_skill_ids: Sequence[int] | None = None,
    billing_type: str | None = None,
    not_to_exceed_cents: int | None = None,
    tags: Sequence[str] = (),
    next_visit_at: datetime | None = None,
) -> Job:
    """Create a job from any source. Defaults come from the job type; the source is recorded on the
    timeline. Raises InvalidInput (every field error at once) and creates nothing when input is wrong.
    A job has no technicians of its own: they are the crews of its visits (dispatch.actions)."""
    if not actor.has_perm("jobs.create_job"):
        raise DomainError("forbidden", "You may not create jobs.")
    fields: dict[str, str] = {}
    job_type = JobType.objects.filter(pk=job_type_id, active=True).prefetch_related("required_skills").first()
    location = Location.objects.select_related("customer").filter(pk=location_id).first()
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
    assets = list(Asset.objects.filter(pk__in=asset_ids))
    if job_type is None:
        fields["job_type"] = "Choose an active job type."
    if location is None:
        fields["location"] = "Choose an address."
    elif location.customer_id != customer_id:
        fields["location"] = "This address belongs to another customer."
    if contact_id and contact is None:
        fields["contact"] = "Unknown contact."
    if len(assets) != len(set(asset_ids)):
        fields["assets"] = "Unknown asset."
    skills = list(Skill.objects.filter(pk__in=required_skill_ids)) if required_skill_ids is not None else None
    if skills is not None and len(skills) != len(set(required_skill_ids or ())):
        fields["required_skills"] = "Unknown skill."
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    assert job_type is not None
    assert location is not None

    data = _clean_job_data(
        {
            "customer": location.customer,
            "location": location,
            "contact": contact,
            "assets": assets,
            "scope": scope,
            "source": source,
            "source_reference": source_reference,
            "priority": priority if priority is not None else job_type.default_priority,
            "estimated_duration_minutes": estimated_duration_minutes or job_type.default_duration_minutes,
            "billing_type": billing_type or job_type.default_billing_type,
            "not_to_exceed_cents": not_to_exceed_cents,
            "tags": list(tags),
            "next_visit_at": next_visit_at,
        },
        job_type=job_type,
    )
    with transaction.atomic():
        now = timezone.now()
        job = Job.objects.create(
            number=job_number(next_in_sequence("job")),
            customer=location.customer,
            location=location,
            contact=contact,
            job_type=job_type,
            source=data["source"],
            source_reference=data["source_reference"],
            scope=data["scope"],
            priority=data["priority"],
            estimated_duration_minutes=data["estimated_duration_minutes"],
            billing_type=data["billing_type"],
            not_to_exceed_cents=data["not_to_exceed_cents"],
            next_visit_at=next_visit_at,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        job.assets.set(assets)
        job.required_skills.set(skills if skills is not None else job_type.required_skills.all())
        _set_tags(job, data["tags"])
        source_label = Source(job.source).label + (f" {job.source_reference}" if job.source_reference else "")
        _event(
            job,
            actor,
            JobEvent.Kind.CREATED,
            new=JobStatus.NEW,
            message=f"Created from {source_label}",
            data={"source": job.source, "source_reference": job.source_reference},
        )
        search.reindex_jobs([job.pk])
        for hook in JOB_CREATED_HOOKS:
            hook(actor=actor, job=job)
    return job


EDITABLE_FIELDS = (
    "contact",
    "scope",
    "source_reference",
    "priority",
    "estimated_duration_minutes",
    "billing_type",
    "not_to_exceed_cents",
    "next_visit_at",
    "location",
    "job_type",
)


def job_update(*, actor: User, job_id: int, version: int, changes: dict[str, Any]) -> Job:
    """Edit a job's details. `version` is the one the editor saw; if the job changed since, the edit is
    refused (ConflictError "stale") and nothing is overwritten. `changes` may hold the EDITABLE_FIELDS
    (related objects, not ids) and `assets`, `tags`, `required_skills` (lists). The technicians are not
    edited here: they follow the job's visits."""
    if not actor.has_perm("jobs.edit_job"):
        raise DomainError("forbidden", "You may not edit jobs.")
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"assets", "tags", "required_skills"}
    if unknown:
        raise InvalidInput("Unknown fields.", {name: "This field cannot be edited." for name in unknown})
    with transaction.atomic():
        job = _lock(Job.objects.select_related("customer", "job_type")).get(pk=job_id)
        if job.version != version:
            raise ConflictError("stale", "Someone else changed this job after you opened it. Reload to see their changes.", current_version=job.version)
        job_type = changes.get("job_type") or job.job_type
        data = _clean_job_data(changes, job_type=job_type, current=job)
        changed: list[str] = []
        for name in EDITABLE_FIELDS:
            if name in data and getattr(job, name) != data[name]:
                setattr(job, name, data[name])
                changed.append(name)
        for name in ("assets", "required_skills"):
            if name in data and set(getattr(job, name).all()) != set(data[name]):
                getattr(job, name).set(data[name])
                changed.append(name)
        if "tags" in data and sorted(t.name for t in job.tags.all()) != data["tags"]:
            _set_tags(job, data["tags"])
            changed.append("tags")
        if not changed:
            return job
        job.version = F("version") + 1
        job.updated_at = timezone.now()
        job.save()
        _event(job, actor, JobEvent.Kind.EDITED, message="Edited " + ", ".join(n.replace("_", " ") for n in changed), data={"fields": changed})
        if {"scope", "location"} & set(changed):  # the searched fields; the rest need no re-index
            search.reindex_jobs([job.pk])
    job.refresh_from_db()
    return job


# What apps built on jobs do when a job moves (inventory: a cancelled job lets go of the stock held for
# it). Each is called as hook(actor, job, old_status, new_status) inside the transition's transaction,
# after the move is written; it may refuse with a DomainError, and then the move is undone.
TRANSITION_HOOKS: list[Callable[[User, Job, str, str], None]] = []


def job_transition(*, actor: User, job_id: int, to: str, hold_reason: str = "", note: str = "", expected: str = "") -> Job:
    """Move a job to `to`. Checks the transition table, the actor's role and the guards; changes the
    row only if it still has the status we read (PostgreSQL also holds a row lock), and writes the
    timeline event in the same transaction. Raises TransitionRefused, having changed nothing."""
    if to not in JobStatus.values:
        raise TransitionRefused("unknown_status", f"There is no status {to!r}.")
    if hold_reason and hold_reason not in HoldReason.values:
        raise TransitionRefused("invalid_hold_reason", "Hold reason must be parts, customer, permit or other.")
    if "\x00" in note or len(note) > 500:
        raise InvalidInput("Invalid note.", {"note": "At most 500 characters, no NUL characters."})
    if not actor.has_perm("jobs.transition_job"):
        raise TransitionRefused("forbidden", "You may not change job status.")
    if actor.role == "technician" and to not in TECHNICIAN_TARGETS:
        raise TransitionRefused("forbidden", f"Technicians cannot move a job to {JobStatus(to).label}.")
    with transaction.atomic():
        job = _lock(Job.objects).get(pk=job_id)
        current = job.status
        if expected and expected != current:
            # The caller acted on a stale view of the job (e.g. a board card): refuse rather than guess.
            raise TransitionRefused("conflict", f"Someone moved this job to {JobStatus(current).label} meanwhile; nothing was changed.", current_status=current)
        if to not in ALLOWED[current]:
            raise TransitionRefused(
                "not_allowed",
                f"A job that is {JobStatus(current).label} cannot become {JobStatus(to).label}.",
                current_status=current,
                allowed=sorted(ALLOWED[current]),
            )
        blockers = transition_blockers(job, to, hold_reason=hold_reason)
        if blockers:
            raise TransitionRefused(
                "blocked",
                f"{JobStatus(to).label} is blocked: " + " ".join(b.message for b in blockers),
                current_status=current,
                blockers=[b.as_dict() for b in blockers],
            )
        now = timezone.now()
        values: dict[str, Any] = {"status": to, "version": F("version") + 1, "updated_at": now}
        values["hold_reason"] = hold_reason if to == JobStatus.ON_HOLD else ""
        values["hold_note"] = note if to == JobStatus.ON_HOLD else ""
        if to == JobStatus.WORK_COMPLETE and current != JobStatus.INVOICED:
            # Back from invoiced (its invoice voided) the work is no more complete than it was: keep the date.
            values["completed_at"] = now
        elif to in (JobStatus.IN_PROGRESS, JobStatus.SCHEDULED, JobStatus.NEW):
            values["completed_at"] = None
        changed = Job.objects.filter(pk=job.pk, status=current).update(**values)
        if not changed:
            raise TransitionRefused("conflict", "The job changed meanwhile; reload and try again.")
        message = note
        if to == JobStatus.ON_HOLD:
            message = HoldReason(hold_reason).label + (f": {note}" if note else "")
        _event(job, actor, JobEvent.Kind.STATUS, old=current, new=to, message=message, data={"hold_reason": hold_reason} if hold_reason else {})
        for hook in TRANSITION_HOOKS:
            hook(actor, job, current, to)
    job.refresh_from_db()
    return job


def job_bulk_transition(*, actor: User, job_ids: Sequence[int], to: str, hold_reason: str = "") -> tuple[list[Job], dict[int, TransitionRefused]]:
    """Apply one transition to several jobs, each in its own transaction: a refused job does not stop
    the others. Returns the moved jobs and the refusal for each job that did not move."""
    if not actor.has_perm("jobs.bulk_transition"):
        raise DomainError("forbidden", "You may not change jobs in bulk.")
    moved: list[Job] = []
    refused: dict[int, TransitionRefused] = {}
    for job_id in job_ids:
        try:
            moved.append(job_transition(actor=actor, job_id=job_id, to=to, hold_reason=hold_reason))
        except TransitionRefused as exc:
            refused[job_id] = exc
        except Job.DoesNotExist:
            refused[job_id] = TransitionRefused("not_found", "No such job.")
    return moved, refused


# ---- line items -------------------------------------------------------------------------------------


def _clean_line(fields: dict[str, str], *, kind: str, description: str, quantity: Decimal, unit_price_cents: int, unit_cost_cents: int) -> str:
    if kind not in LineItem.Kind.values:
        fields["kind"] = "Choose service, labour, material or fee."
    description = _text(fields, "description", description, required=True)
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity < 0 or quantity > MAX_QUANTITY:
        fields["quantity"] = "Quantity must be between 0 and 999,999,999.999."
    elif quantity != quantity.quantize(Decimal("0.001")):
        fields["quantity"] = "At most 3 decimal places."
    if not isinstance(unit_price_cents, int) or abs(unit_price_cents) > MAX_CENTS:
        fields["unit_price"] = "Enter a valid unit price."
    if not isinstance(unit_cost_cents, int) or not 0 <= unit_cost_cents <= MAX_CENTS:
        fields["unit_cost"] = "Enter a valid unit cost (zero or more)."
    return description


# Apps built on jobs keep their own records in step with a line (inventory: the reservation behind a
# material line). Each hook is called as hook(op, line, changes) inside the line's transaction, before
# the write, with op "update" (changes: the new kind and quantity) or "remove"; it may refuse with a
# DomainError, and then nothing is written.
LINE_ITEM_HOOKS: list[Callable[[str, LineItem, dict[str, Any]], None]] = []


def _touch(job_id: int) -> None:
    Job.objects.filter(pk=job_id).update(version=F("version") + 1, updated_at=timezone.now())


def _line(line_item_id: int) -> LineItem:
    item = LineItem.objects.filter(pk=line_item_id).first()
    if item is None:
        raise DomainError("not_found", "This line no longer exists. Reload to see the job's lines.")
    return item


def _editable_job(actor: User, job_id: int) -> Job:
    if not actor.has_perm("jobs.edit_line_items"):
        raise DomainError("forbidden", "You may not change line items.")
    job = _lock(Job.objects).get(pk=job_id)
    if job.status in (JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED):
        raise ConflictError("job_locked", f"Line items cannot change on a job that is {JobStatus(job.status).label.lower()}.")
    return job


def line_item_add(
    *,
    actor: User,
    job_id: int,
    kind: str,
    description: str,
    quantity: Decimal,
    unit_price_cents: int,
    unit_cost_cents: int = 0,
    taxable: bool = True,
) -> LineItem:
    fields: dict[str, str] = {}
    description = _clean_line(fields, kind=kind, description=description, quantity=quantity, unit_price_cents=unit_price_cents, unit_cost_cents=unit_cost_cents)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        job = _editable_job(actor, job_id)
        last = LineItem.objects.filter(job=job).order_by("-position").values_list("position", flat=True).first()
        item = LineItem.objects.create(
            job=job,
            kind=kind,
            description=description,
            quantity=quantity,
            unit_price_cents=unit_price_cents,
            unit_cost_cents=unit_cost_cents,
            taxable=taxable,
            position=(last or 0) + 1,
        )
        _event(
            job,
            actor,
            JobEvent.Kind.LINE_ITEM,
            new=description,
            message=f"Added {item.get_kind_display().lower()} line: {description} × {quantity.normalize():f}",
            data={"line_item": item.pk, "op": "add"},
        )
        _touch(job.pk)
    return item


def line_item_update(
    *,
    actor: User,
    line_item_id: int,
    version: int,
    kind: str,
    description: str,
    quantity: Decimal,
    unit_price_cents: int,
    unit_cost_cents: int,
    taxable: bool,
) -> LineItem:
    fields: dict[str, str] = {}
    description = _clean_line(fields, kind=kind, description=description, quantity=quantity, unit_price_cents=unit_price_cents, unit_cost_cents=unit_cost_cents)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        item = _line(line_item_id)
        job = _editable_job(actor, item.job_id)
        for hook in LINE_ITEM_HOOKS:
            hook("update", item, {"kind": kind, "quantity": quantity})
        before = f"{item.description} × {item.quantity.normalize():f} @ {item.unit_price_cents}"
        updated = LineItem.objects.filter(pk=item.pk, version=version).update(
            kind=kind,
            description=description,
            quantity=quantity,
            unit_price_cents=unit_price_cents,
            unit_cost_cents=unit_cost_cents,
            taxable=taxable,
            version=F("version") + 1,
        )
        if not updated:
            raise ConflictError("stale", "This line was changed by someone else. Reload to see it.")
        item.refresh_from_db()
        after = f"{item.description} × {item.quantity.normalize():f} @ {item.unit_price_cents}"
        _event(
            job,
            actor,
            JobEvent.Kind.LINE_ITEM,
            old=before,
            new=after,
            message=f"Changed line: {description}",
            data={"line_item": item.pk, "op": "update"},
        )
        _touch(job.pk)
    return item


def line_item_remove(*, actor: User, line_item_id: int) -> None:
    with transaction.atomic():
        item = _line(line_item_id)
        job = _editable_job(actor, item.job_id)
        for hook in LINE_ITEM_HOOKS:
            hook("remove", item, {})
        item.delete()
        _event(
            job,
            actor,
            JobEvent.Kind.LINE_ITEM,
            old=item.description,
            message=f"Removed line: {item.description}",
            data={"line_item": line_item_id, "op": "remove"},
        )
        _touch(job.pk)


# ---- notes ------------------------------------------------------------------------------------------


def note_add(*, actor: User, job_id: int, body: str) -> Note:
    if not actor.has_perm("jobs.add_note"):
        raise DomainError("forbidden", "You may not add notes.")
    fields: dict[str, str] = {}
    body = _text(fields, "body", body, required=True)
    if fields:
        raise InvalidInput("Please correct the highlighted fields.", fields)
    with transaction.atomic():
        job = Job.objects.get(pk=job_id)
        note = Note.objects.create(job=job, author=actor, body=body)
        _event(job, actor, JobEvent.Kind.NOTE, message=body[:200], data={"note": note.pk})
    return note
