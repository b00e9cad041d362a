"""Checklist writes: starting a run, answering items, adding a checklist to one job, bumping a
template's version, carrying unfinished runs over to a return visit.

A run starts when its first answer is saved (or when the office adds its template to the job): it
takes a snapshot of the template's items and version then, so a later edit of the template never
changes what was filled. Every write locks the job first (open_job), which also serialises the start
of a run: two first answers at once cannot start the same run twice."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput
from serviceopus.dispatch.models import Visit
from serviceopus.jobs.models import Job

from .. import uploads
from ..checklist_rules import format_decimal, is_answered, out_of_range, range_text
from ..models import ChecklistAnswer, ChecklistItem, ChecklistRun, ChecklistTemplate, Document, ItemKind
from .job_lock import closeout_event, open_job, require, visit_of_job

MAX_TEXT = 2000
# The answer column: DecimalField(max_digits=12, decimal_places=3).
MAX_PLACES = 3
MAX_INTEGER_DIGITS = 12 - MAX_PLACES


# ---- answering ------------------------------------------------------------------------------------


def checklist_answer(
    *,
    actor: User,
    job_id: int,
    template_id: int,
    item_key: str,
    value: Any,
    visit_id: int | None = None,
    document_id: int | None = None,
) -> ChecklistAnswer:
    """Save the answer to one item of the job's checklist `template_id`, starting its run if this is
    the first answer. `value` is typed by the item's kind: a bool (yes/no), a str (text, choice), a
    Decimal or decimal string (number); a photo item takes `document_id` (a photo of this job) instead.
    A number outside the item's range is saved and flagged, with a timeline event. `visit_id` is the
    visit the answer is given on (the run follows it). Locks the job; refuses closed or cancelled jobs;
    a bad value raises InvalidInput (fields: value, document, visit) having changed nothing."""
    require(actor, "closeout.record_evidence", "You may not fill checklists.")
    with transaction.atomic():
        job = open_job(job_id)
        visit = visit_of_job(job, visit_id, "That visit is not one of this job's.")
        run, items = _run_or_template_items(job, template_id)
        item = _item(items, item_key)
        typed = _clean_value(job, item, value, document_id)  # before anything is written
        if run is None:
            run = _start_run(job, template_id, items, actor=actor, visit=visit)
        elif visit is not None and run.visit_id != visit.pk:
            # The run works on the visit it was last answered on: that is the visit whose "return
            # needed" carries it over.
            run.visit = visit
            run.save(update_fields=["visit"])
        answer = ChecklistAnswer.objects.filter(run=run, item_key=item["key"]).first() or ChecklistAnswer(run=run, item_key=item["key"])
        flagged_before = answer.value_number if answer.pk and answer.out_of_range else None
        answer.value_bool, answer.value_text, answer.value_number, answer.document_id = typed
        answer.out_of_range = typed[2] is not None and out_of_range(item, typed[2])
        answer.visit = visit
        answer.answered_by = actor
        answer.answered_at = timezone.now()
        answer.save()
        if answer.out_of_range and answer.value_number != flagged_before:
            # Worth the office's attention; ordinary answers stay off the timeline.
            closeout_event(
                job,
                actor,
                f"Out of range on {run.name} — {item['label']}: {format_decimal(answer.value_number)} {item['unit']}".rstrip()
                + f", allowed {range_text(item)}",
                data={"checklist": template_id, "item": item["key"], "value": str(answer.value_number)},
            )
        _refresh_status(run)
    return answer


def checklist_answer_photo(*, actor: User, job_id: int, template_id: int, item_key: str, upload: Any, visit_id: int | None = None) -> ChecklistAnswer:
    """Store the uploaded photo as a document of the job (captioned with the item's label) and answer
    the photo item with it. The item, the job and the visit are checked first, so a photo sent to the
    wrong item or to a closed job is not stored at all. The photo is then stored by the documents
    action in its own transaction (it checks and re-encodes the image before taking the job's lock,
    which this function must not hold meanwhile) and the answer follows: should the answer still be
    refused (the job closed in between), the photo stays among the job's documents."""
    from .documents import document_upload  # the documents topic owns checking and storing files

    require(actor, "closeout.record_evidence", "You may not fill checklists.")
    with transaction.atomic():  # a short look, before any slow work: the job's state, the visit, the item
        job = open_job(job_id)
        visit_of_job(job, visit_id, "That visit is not one of this job's.")
        _, items = _run_or_template_items(job, template_id)
        item = _item(items, item_key)
        if item["kind"] != ItemKind.PHOTO:
            raise InvalidInput("This item does not take a photo.", {"value": "Answer this item with its own kind of value."})
    # A document that is no photo would be stored by the documents action and then refused here:
    # look at the first bytes before storing anything (the documents action checks the whole image).
    head = upload.read(16)
    upload.seek(0)
    if not uploads._image_format(head):
        raise InvalidInput("This item needs a photo.", {"value": "Take a photo (JPEG, PNG, GIF or WebP)."})
    document, _created = document_upload(actor=actor, job_id=job.pk, upload=upload, caption=item["label"][:300], visit_id=visit_id)
    return checklist_answer(actor=actor, job_id=job.pk, template_id=template_id, item_key=item_key, value=None, visit_id=visit_id, document_id=document.pk)


def checklist_clear_answer(*, actor: User, job_id: int, template_id: int, item_key: str) -> ChecklistRun | None:
    """Remove the answer to one item (a wrong tap). The run goes back to open when a required item
    is left unanswered. Clearing what has no answer changes nothing (a repeated tap is harmless).
    A photo stays among the job's documents. Returns the run (None when it was never started)."""
    require(actor, "closeout.record_evidence", "You may not fill checklists.")
    with transaction.atomic():
        job = open_job(job_id)
        run, items = _run_or_template_items(job, template_id)
        item = _item(items, item_key)
        if run is None:
            return None
        ChecklistAnswer.objects.filter(run=run, item_key=item["key"]).delete()
        _refresh_status(run)
    return run


# ---- adding to one job, template versions -----------------------------------------------------------


def checklist_add_to_job(*, actor: User, job_id: int, template_id: int) -> ChecklistRun:
    """Put a checklist on one job beyond those of its job type: the run starts now, with the
    template's items as they are. Office only (jobs.edit_job). Refused when the template is inactive
    or already on the job (started, or of the job's type)."""
    require(actor, "jobs.edit_job", "Only the office may add a checklist to a job.")
    with transaction.atomic():
        job = open_job(job_id)
        template = ChecklistTemplate.objects.filter(pk=template_id, active=True).first()
        if template is None:
            raise InvalidInput("Choose an active checklist.", {"template": "No such active checklist."})
        if ChecklistRun.objects.filter(job=job, template=template).exists() or template.job_types.filter(pk=job.job_type_id).exists():
            raise ConflictError("already_added", f"“{template.name}” is already on job {job.number}.")
        items = [item.snapshot() for item in ChecklistItem.objects.filter(template=template).order_by("position", "id")]
        run = _start_run(job, template.pk, items, actor=actor, visit=None, template=template)
        _refresh_status(run)
        closeout_event(job, actor, f"Checklist added: {template.name} (version {template.version})", data={"checklist": template.pk})
    return run


def checklist_template_touch(template: ChecklistTemplate) -> ChecklistTemplate:
    """Record an edit of the template or its items: the version goes up (in the database, so two
    edits at once both count) and runs started from now on take the new items. Runs already
    started keep their snapshot."""
    ChecklistTemplate.objects.filter(pk=template.pk).update(version=F("version") + 1, updated_at=timezone.now())
    template.refresh_from_db(fields=["version", "updated_at"])
    return template


# ---- carry-over ------------------------------------------------------------------------------------


def carry_over_to_return_visit(*, actor: User, visit: Visit, return_visit: Visit) -> None:
    """A visit ended with "return needed": its unfinished checklist runs move to the return visit, so the
    crew that comes back sees what is left (dispatch calls this in the same transaction)."""
    runs = list(ChecklistRun.objects.filter(job_id=visit.job_id, visit=visit, status=ChecklistRun.Status.OPEN).order_by("id"))
    if not runs:
        return
    ChecklistRun.objects.filter(pk__in=[r.pk for r in runs]).update(visit=return_visit, carried_from=visit)
    names = ", ".join(r.name for r in runs)
    closeout_event(visit.job, actor, f"Unfinished checklists carried over to visit {return_visit.number}: {names}", data={"visit": return_visit.pk})


# ---- helpers ---------------------------------------------------------------------------------------


def _run_or_template_items(job: Job, template_id: int) -> tuple[ChecklistRun | None, list[dict]]:
    """The job's run of the template with its snapshot, or — not started yet — the items of the
    template as it is now, when the template belongs to the job's type. Anything else is not a
    checklist of this job."""
    if not 0 < template_id < 2**63:  # a foreign key lookup beyond 64 bits overflows the driver
        raise DomainError("not_found", f"Job {job.number} has no such checklist.")
    run = ChecklistRun.objects.filter(job=job, template_id=template_id).first()
    if run is not None:
        return run, list(run.items)
    template = ChecklistTemplate.objects.filter(pk=template_id, active=True, job_types=job.job_type_id).first()
    if template is None:
        raise DomainError("not_found", f"Job {job.number} has no such checklist.")
    return None, [item.snapshot() for item in ChecklistItem.objects.filter(template=template).order_by("position", "id")]


def _item(items: list[dict], item_key: str) -> dict:
    item = next((i for i in items if i["key"] == str(item_key)), None)
    if item is None:
        raise DomainError("not_found", "This checklist has no such item.")
    return item


def _start_run(job: Job, template_id: int, items: list[dict], *, actor: User, visit: Visit | None, template: ChecklistTemplate | None = None) -> ChecklistRun:
    """The run takes the template's version read in this transaction with its items: the admin bumps
    the version in the transaction that changes the items, so the two always match."""
    template = template or ChecklistTemplate.objects.get(pk=template_id)
    return ChecklistRun.objects.create(
        job=job, template=template, template_version=template.version, name=template.name, items=items, visit=visit, added_by=actor
    )


def _refresh_status(run: ChecklistRun) -> None:
    answers = {a.item_key: a for a in ChecklistAnswer.objects.filter(run=run)}
    complete = all(is_answered(item, answers.get(item["key"])) for item in run.items if item["required"])
    status = ChecklistRun.Status.COMPLETE if complete else ChecklistRun.Status.OPEN
    if status != run.status:
        run.status = status
        run.completed_at = timezone.now() if complete else None
        run.save(update_fields=["status", "completed_at"])


def _clean_value(job: Job, item: dict, value: Any, document_id: int | None) -> tuple[bool | None, str, Decimal | None, int | None]:
    """The value as the answer's columns (value_bool, value_text, value_number, document_id), or
    InvalidInput naming the field."""
    kind = item["kind"]
    if kind != ItemKind.PHOTO and document_id is not None:
        raise InvalidInput("Only photo items take a photo.", {"document": "This item is not a photo item."})
    if kind == ItemKind.YES_NO:
        if not isinstance(value, bool):
            raise InvalidInput("Answer yes or no.", {"value": "Choose yes or no."})
        return value, "", None, None
    if kind == ItemKind.NUMBER:
        return None, "", _clean_number(value), None
    if kind == ItemKind.CHOICE:
        if not isinstance(value, str) or value not in item["choices"]:
            raise InvalidInput("Choose one of the options.", {"value": "Choose one of: " + ", ".join(item["choices"]) + "."})
        return None, value, None, None
    if kind == ItemKind.PHOTO:
        if value not in (None, ""):
            raise InvalidInput("A photo item is answered with a photo.", {"value": "Take or choose a photo."})
        if document_id is None:
            raise InvalidInput("Take or choose a photo.", {"document": "A photo is required."})
        if not Document.objects.filter(pk=document_id, job=job, kind=Document.Kind.PHOTO).exists():
            raise InvalidInput("That photo is not one of this job's.", {"document": "No such photo on this job."})
        return None, "", None, document_id
    # Text.
    if not isinstance(value, str):
        raise InvalidInput("Enter some text.", {"value": "Enter some text."})
    text = value.strip()
    if not text:
        raise InvalidInput("Enter some text, or clear the answer.", {"value": "Enter some text."})
    if "\x00" in text or len(text) > MAX_TEXT:
        raise InvalidInput("The text is too long or not valid.", {"value": f"At most {MAX_TEXT} characters, no NUL characters."})
    return None, text, None, None


def _clean_number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise InvalidInput("Enter a number.", {"value": "Enter a number, e.g. 7.5."})
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise InvalidInput("Enter a number.", {"value": "Enter a number, e.g. 7.5 (a point for decimals)."}) from None
    if not number.is_finite():
        raise InvalidInput("Enter a number.", {"value": "Enter a finite number."})
    exponent = number.normalize().as_tuple().exponent  # "7.50" has two places, not three
    assert isinstance(exponent, int)  # finite
    places = max(0, -exponent)
    if places > MAX_PLACES:
        raise InvalidInput("Too many decimal places.", {"value": f"At most {MAX_PLACES} decimal places."})
    if abs(number) >= Decimal(10) ** MAX_INTEGER_DIGITS:
        raise InvalidInput("The number is too large.", {"value": f"At most {MAX_INTEGER_DIGITS} digits before the point."})
    return number
