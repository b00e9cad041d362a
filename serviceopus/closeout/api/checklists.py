"""The closeout API: a job's checklists (started runs and the job type's templates not started yet),
answering and clearing one item, and adding a checklist to one job. Every write calls
closeout.actions.checklists, as the visit screen and the Quality tab do.

Who may do what: whoever may see the job reads its checklists (a technician only on jobs assigned to
them; any other job is 404); answering needs closeout.record_evidence (technicians and the office);
adding a checklist to a job needs jobs.edit_job (the office: 403 for technicians). Refusals: 422 for a
value that does not fit the item (nothing is saved); 404 for a checklist or item the job does not
have; 409 `already_added`, and `job_locked` for a closed or cancelled job."""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest
from ninja import Path, Router, Status
from pydantic import BaseModel, Field, PlainValidator, WithJsonSchema

from serviceopus.api.schemas import READ, RefId, StrictIn, body_field_names, decimal_out, responses
from serviceopus.core.errors import InvalidInput
from serviceopus.core.text import NO_NUL_PATTERN
from serviceopus.dispatch.queries import access_visit_for_user
from serviceopus.jobs.api.schemas import Ref
from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user

from ..actions import checklists as actions
from ..actions.checklists import MAX_TEXT
from ..checklist_rules import Checklist, is_answered, job_checklists
from ..models import ChecklistAnswer, ItemKind

router = Router(tags=["closeout"])

ITEM_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,20}$"
ItemKey = Annotated[str, Path(max_length=20, pattern=ITEM_KEY_PATTERN, description="The item's key (`items[].key`).")]
ANSWER_FIELD_NAMES = {"document": "document_id", "visit": "visit_id", "template": "template_id"}


# ---- shapes -------------------------------------------------------------------------------------


class AnswerOut(BaseModel):
    value: bool | str | None = Field(
        description='true/false for yes/no; a decimal string for a number ("12.500"); the text or the chosen option; null for a photo.'
    )
    document_id: int | None = Field(description="The photo that answers a photo item.")
    out_of_range: bool = Field(description="A number outside the item's range: saved, and flagged.")
    visit_id: int | None
    answered_by: Ref | None
    answered_at: datetime


class ItemOut(BaseModel):
    key: str
    label: str
    help_text: str
    kind: Literal[tuple(ItemKind.values)]  # type: ignore[valid-type]
    required: bool
    unit: str
    min: str | None = Field(description="Number items: the lowest value in range (decimal string), if any.")
    max: str | None = Field(description="Number items: the highest value in range (decimal string), if any.")
    choices: list[str] = Field(description="Choice items: the options.")
    answered: bool
    answer: AnswerOut | None


class ChecklistOut(BaseModel):
    template_id: int
    name: str
    version: int = Field(description="The template version the run was started from (the current one while not started).")
    status: Literal["not_started", "open", "complete"] = Field(
        description="not_started: a template of the job's type nobody has answered yet; complete: no required item open."
    )
    visit_id: int | None = Field(description="The visit the run works on (where it was last answered).")
    carried_from_visit_id: int | None = Field(description="The visit it was carried over from (that visit ended with a return needed).")
    answered_count: int
    item_count: int
    open_required: list[str] = Field(description="Keys of the required items still without an answer.")
    items: list[ItemOut]


def _answer_value(value: object) -> bool | str | None:
    """One check with one message: pydantic's union would report a failed branch per type."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) <= MAX_TEXT and "\x00" not in value:
        return value
    raise ValueError(f"Expected true or false, a string of at most {MAX_TEXT} characters without NUL characters, or null.")


AnswerValue = Annotated[
    bool | str | None,
    PlainValidator(_answer_value),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "maxLength": MAX_TEXT, "pattern": NO_NUL_PATTERN}, {"type": "null"}]}),
]


class AnswerIn(StrictIn):
    value: AnswerValue = Field(
        None,
        description=(
            'By the item\'s kind: yes_no → true or false; number → a decimal string ("7.5", at most 3 places; '
            "outside the range it is saved and flagged); text → the text; choice → one of the options; photo → omit."
        ),
    )
    document_id: RefId | None = Field(None, description="Photo items: a photo of this job (uploaded through the documents API).")
    visit_id: RefId | None = Field(None, description="The visit the answer is given on; the run follows it.")


class AddIn(StrictIn):
    template_id: RefId


def _ref(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name}


def _answer_out(item: dict, answer: ChecklistAnswer) -> dict[str, Any]:
    kind = item["kind"]
    value: bool | str | None
    if kind == ItemKind.YES_NO:
        value = answer.value_bool
    elif kind == ItemKind.NUMBER:
        value = decimal_out(answer.value_number, 3)
    elif kind == ItemKind.PHOTO:
        value = None
    else:
        value = answer.value_text
    return {
        "value": value,
        "document_id": answer.document_id,
        "out_of_range": answer.out_of_range,
        "visit_id": answer.visit_id,
        "answered_by": _ref(answer.answered_by),
        "answered_at": answer.answered_at,
    }


def checklist_out(checklist: Checklist) -> dict[str, Any]:
    run = checklist.run
    items = []
    for item in checklist.items:
        answer = checklist.answers.get(item["key"])
        items.append(
            {
                **{k: item[k] for k in ("key", "label", "help_text", "kind", "required", "unit", "min", "max", "choices")},
                "answered": is_answered(item, answer),
                "answer": None if answer is None else _answer_out(item, answer),
            }
        )
    return {
        "template_id": checklist.template_id,
        "name": checklist.name,
        "version": checklist.version,
        "status": checklist.status,
        "visit_id": run.visit_id if run else None,
        "carried_from_visit_id": run.carried_from_id if run else None,
        "answered_count": checklist.answered_count,
        "item_count": len(checklist.items),
        "open_required": [item["key"] for item in checklist.open_required()],
        "items": items,
    }


def _one(job: Job, template_id: int) -> dict[str, Any]:
    for checklist in job_checklists(job):
        if checklist.template_id == template_id:
            return checklist_out(checklist)
    raise Http404("No such checklist on this job.")


def _check_visit(request: HttpRequest, job: Job, visit_id: int | None) -> None:
    """A visit named in the body must be one of this job's that the caller may see."""
    if visit_id is None:
        return
    try:
        visit = access_visit_for_user(request.auth, visit_id)
    except Http404:
        visit = None
    if visit is None or visit.job_id != job.pk:
        raise InvalidInput("That visit is not one of this job's.", {"visit_id": "No such visit on this job."})


# ---- operations ---------------------------------------------------------------------------------


@router.get("/jobs/{job_id}/checklists", response=responses({200: list[ChecklistOut]}, READ), summary="A job's checklists")
def checklists(request: HttpRequest, job_id: int) -> list[dict[str, Any]]:
    """Every checklist of the job — runs started (with the items as they were when the run started)
    and its job type's active templates not started yet (as they are now) — each with every item, its
    answer and flag, and the required items still open. A fixed number of queries."""
    job = access_job_for_user(request.auth, job_id)
    return [checklist_out(c) for c in job_checklists(job)]


@router.post("/jobs/{job_id}/checklists", response=responses({201: ChecklistOut}), summary="Add a checklist to the job")
def checklist_add(request: HttpRequest, job_id: int, body: AddIn) -> Status:
    """Puts an active template on this one job (its run starts now). 403 without jobs.edit_job; 409
    `already_added` when the job has it (started, or through its job type); 422 for an inactive or
    unknown template."""
    job = access_job_for_user(request.auth, job_id)
    with body_field_names(ANSWER_FIELD_NAMES):
        actions.checklist_add_to_job(actor=request.auth, job_id=job.pk, template_id=body.template_id)
    return Status(201, _one(job, body.template_id))


@router.put(
    "/jobs/{job_id}/checklists/{template_id}/items/{item_key}",
    response=responses({200: ChecklistOut}),
    summary="Answer a checklist item",
)
def checklist_answer(request: HttpRequest, job_id: int, template_id: int, item_key: ItemKey, body: AnswerIn) -> dict[str, Any]:
    """Saves (or replaces) the item's answer; the first answer starts the run. Answers with the whole
    checklist, so its status and open items are current. 422 when the value does not fit the item's
    kind (nothing is saved); 404 for a checklist or item the job does not have."""
    job = access_job_for_user(request.auth, job_id)
    _check_visit(request, job, body.visit_id)
    with body_field_names(ANSWER_FIELD_NAMES):
        actions.checklist_answer(
            actor=request.auth,
            job_id=job.pk,
            template_id=template_id,
            item_key=item_key,
            value=body.value,
            visit_id=body.visit_id,
            document_id=body.document_id,
        )
    return _one(job, template_id)


@router.delete(
    "/jobs/{job_id}/checklists/{template_id}/items/{item_key}",
    response=responses({200: ChecklistOut}),
    summary="Clear a checklist item's answer",
)
def checklist_clear(request: HttpRequest, job_id: int, template_id: int, item_key: ItemKey) -> dict[str, Any]:
    """Removes the answer (clearing an item without one changes nothing); the run is open again when a
    required item is left unanswered. Answers with the whole checklist."""
    job = access_job_for_user(request.auth, job_id)
    actions.checklist_clear_answer(actor=request.auth, job_id=job.pk, template_id=template_id, item_key=item_key)
    return _one(job, template_id)
