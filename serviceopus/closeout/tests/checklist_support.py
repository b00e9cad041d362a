"""What the checklist tests share: a template with one item of every kind, answering helpers and a
snapshot of everything a checklist action could change."""

import io
from decimal import Decimal

from PIL import Image

from serviceopus.closeout.actions.checklists import checklist_answer
from serviceopus.closeout.models import ChecklistAnswer, ChecklistItem, ChecklistRun, ChecklistTemplate, Document, ItemKind
from serviceopus.jobs.models import JobEvent


def make_template(name: str = "Furnace check", job_types=(), *, extra_items: int = 0) -> ChecklistTemplate:  # type: ignore[no-untyped-def]
    template = ChecklistTemplate.objects.create(name=name)
    template.job_types.set(job_types)
    K = ItemKind
    rows = [
        ChecklistItem(template=template, position=1, label="Filter replaced", kind=K.YES_NO),
        ChecklistItem(template=template, position=2, label="Gas pressure", kind=K.NUMBER, unit="psi", min_value=Decimal("3.5"), max_value=Decimal("10.5")),
        ChecklistItem(template=template, position=3, label="Notes", kind=K.TEXT, required=False),
        ChecklistItem(template=template, position=4, label="Burner condition", kind=K.CHOICE, choices=["Clean", "Dirty", "Replaced"]),
        ChecklistItem(template=template, position=5, label="Nameplate photo", kind=K.PHOTO),
    ]
    rows += [ChecklistItem(template=template, position=10 + n, label=f"Extra check {n}", kind=K.YES_NO, required=False) for n in range(extra_items)]
    ChecklistItem.objects.bulk_create(rows)
    return template


def key(template: ChecklistTemplate, label: str) -> str:
    return str(ChecklistItem.objects.get(template=template, label=label).pk)


def photo_bytes(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, "PNG")
    return buffer.getvalue()


def make_document(job, **kwargs) -> Document:  # type: ignore[no-untyped-def]
    """A photo row written directly (the documents action is tested in its own module)."""
    values = {"kind": Document.Kind.PHOTO, "file": "closeout/x.png", "original_name": "x.png", "content_type": "image/png", "size": 1, "sha256": "0" * 64}
    return Document.objects.create(job=job, **{**values, **kwargs})


def snapshot() -> tuple:
    return (
        list(ChecklistRun.objects.order_by("pk").values()),
        list(ChecklistAnswer.objects.order_by("pk").values()),
        list(JobEvent.objects.order_by("pk").values_list("pk", flat=True)),
        list(ChecklistTemplate.objects.order_by("pk").values_list("version", flat=True)),
        Document.objects.count(),
    )


def answer(actor, job, template, label, value, **kwargs):  # type: ignore[no-untyped-def]
    return checklist_answer(actor=actor, job_id=job.pk, template_id=template.pk, item_key=key(template, label), value=value, **kwargs)


def answer_required(actor, job, template, **kwargs):  # type: ignore[no-untyped-def]
    answer(actor, job, template, "Filter replaced", True, **kwargs)
    answer(actor, job, template, "Gas pressure", "7.5", **kwargs)
    answer(actor, job, template, "Burner condition", "Clean", **kwargs)
    answer(actor, job, template, "Nameplate photo", None, document_id=make_document(job).pk, **kwargs)
