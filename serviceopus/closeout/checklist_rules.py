"""The rules of a checklist that the blocker engine, the phone, the office tab and the report share:
which checklists a job has, what counts as an answer, and which required items are still open.

A job's checklists are the runs started on it, plus the active templates of its job type that no run
has started yet (shown from the template as it is now; the run takes its snapshot when it starts)."""

from dataclasses import dataclass, field
from decimal import Decimal

from serviceopus.jobs.models import Job

from .models import ChecklistAnswer, ChecklistItem, ChecklistRun, ChecklistTemplate, ItemKind


@dataclass
class Checklist:
    template_id: int
    name: str
    version: int
    items: list[dict]  # snapshots (ChecklistItem.snapshot())
    run: ChecklistRun | None = None
    answers: dict[str, ChecklistAnswer] = field(default_factory=dict)

    def open_required(self) -> list[dict]:
        return [item for item in self.items if item["required"] and not is_answered(item, self.answers.get(item["key"]))]

    @property
    def answered_count(self) -> int:
        return sum(1 for item in self.items if is_answered(item, self.answers.get(item["key"])))

    @property
    def status(self) -> str:
        """not_started for a job-type template nobody has answered yet; otherwise the run's open or complete."""
        return self.run.status if self.run is not None else "not_started"


def is_answered(item: dict, answer: ChecklistAnswer | None) -> bool:
    if answer is None:
        return False
    kind = item["kind"]
    if kind == ItemKind.YES_NO:
        return answer.value_bool is not None
    if kind == ItemKind.NUMBER:
        return answer.value_number is not None
    if kind == ItemKind.CHOICE:
        return answer.value_text in item["choices"]
    if kind == ItemKind.PHOTO:
        return answer.document_id is not None
    return bool(answer.value_text.strip())


def out_of_range(item: dict, value: Decimal) -> bool:
    low = Decimal(item["min"]) if item.get("min") is not None else None
    high = Decimal(item["max"]) if item.get("max") is not None else None
    return (low is not None and value < low) or (high is not None and value > high)


def job_checklists(job: Job) -> list[Checklist]:
    """Every checklist of the job with its answers, in a fixed number of queries (three or four)."""
    runs = list(ChecklistRun.objects.filter(job=job).select_related("visit", "carried_from").order_by("id"))
    answers: dict[int, dict[str, ChecklistAnswer]] = {run.pk: {} for run in runs}
    for answer in ChecklistAnswer.objects.filter(run__in=runs).select_related("answered_by", "document", "visit"):
        answers[answer.run_id][answer.item_key] = answer
    started = {run.template_id for run in runs}
    checklists = [Checklist(run.template_id, run.name, run.template_version, list(run.items), run, answers[run.pk]) for run in runs]
    pending = list(ChecklistTemplate.objects.filter(job_types=job.job_type_id, active=True).exclude(pk__in=started).order_by("name"))
    if pending:
        items: dict[int, list[dict]] = {t.pk: [] for t in pending}
        for item in ChecklistItem.objects.filter(template__in=pending).order_by("position", "id"):
            items[item.template_id].append(item.snapshot())
        checklists += [Checklist(t.pk, t.name, t.version, items[t.pk]) for t in pending]
    return checklists


def open_required_items(job: Job) -> list[str]:
    """Labels of the required items still without an answer, across the job's checklists."""
    return [item["label"] for checklist in job_checklists(job) for item in checklist.open_required()]


# ---- how answers and ranges read ----------------------------------------------------------------


def format_decimal(value: Decimal | str | None) -> str:
    """A reading as people write it: "12.500" → "12.5", "100.000" → "100" (never "1E+2")."""
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


def range_text(item: dict) -> str:
    """The allowed range of a number item: "3.5–10.5 psi", "at least 3.5 psi", "" when it has none."""
    low, high, unit = format_decimal(item.get("min")), format_decimal(item.get("max")), item.get("unit") or ""
    if low and high:
        text = f"{low}–{high}"
    elif low:
        text = f"at least {low}"
    elif high:
        text = f"at most {high}"
    else:
        return ""
    return f"{text} {unit}".rstrip()


def answer_text(item: dict, answer: ChecklistAnswer | None) -> str:
    """The answer in words, for the office listing and the phone: "Yes", "12 psi", "Clean"…"""
    if not is_answered(item, answer):
        return ""
    assert answer is not None
    kind = item["kind"]
    if kind == ItemKind.YES_NO:
        return "Yes" if answer.value_bool else "No"
    if kind == ItemKind.NUMBER:
        return f"{format_decimal(answer.value_number)} {item.get('unit') or ''}".rstrip()
    if kind == ItemKind.PHOTO:
        return "Photo" + (f" ({answer.document.original_name})" if answer.document_id and answer.document else "")
    return answer.value_text
