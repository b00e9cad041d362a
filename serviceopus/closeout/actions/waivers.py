"""Waiving a completion blocker (a manager, with a reason) and confirming that no materials were used."""

from django.db import IntegrityError, transaction

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError, DomainError, InvalidInput

from ..blockers import closeout_state
from ..models import BlockerWaiver, MaterialsConfirmation
from .job_lock import closeout_event, open_job, require


def blocker_waive(*, actor: User, job_id: int, code: str, reason: str) -> BlockerWaiver:
    """Waive the open blocker `code` on the job. Only a blocker that is open now can be waived (a met
    requirement needs no waiver); the reason goes on the timeline."""
    require(actor, "closeout.waive_blocker", "Only a manager may waive a closeout requirement.")
    reason = (reason or "").strip()
    if not reason or "\x00" in reason or len(reason) > 500:
        raise InvalidInput("Say why this requirement is waived.", {"reason": "A reason is required (at most 500 characters, no NUL characters)."})
    with transaction.atomic():
        job = open_job(job_id)
        state = {s.code: s for s in closeout_state(job)}.get(code)
        if state is None:
            raise DomainError("not_found", f"Job {job.number} has no closeout requirement {code!r}.")
        if state.waiver is not None:
            raise ConflictError("already_waived", f"“{state.label}” is already waived.")
        if state.met:
            raise ConflictError("not_blocking", f"“{state.label}” is met; there is nothing to waive.")
        try:
            with transaction.atomic():
                waiver = BlockerWaiver.objects.create(job=job, code=code, reason=reason, waived_by=actor)
        except IntegrityError as exc:
            raise ConflictError("already_waived", f"“{state.label}” is already waived.") from exc
        assert state.blocker is not None
        closeout_event(job, actor, f"Waived “{state.label}”: {reason}", data={"waived": code, "blocker": state.blocker.message})
    return waiver


def blocker_unwaive(*, actor: User, job_id: int, code: str) -> None:
    """Take a waiver back (undo): the requirement holds the job again if still unmet."""
    require(actor, "closeout.waive_blocker", "Only a manager may change waivers.")
    with transaction.atomic():
        job = open_job(job_id)
        deleted, _ = BlockerWaiver.objects.filter(job=job, code=code).delete()
        if not deleted:
            raise DomainError("not_found", "There is no such waiver on this job.")
        closeout_event(job, actor, f"Waiver of “{code}” withdrawn", data={"unwaived": code})


def materials_confirm_none(*, actor: User, job_id: int) -> MaterialsConfirmation:
    require(actor, "closeout.record_evidence", "You may not record closeout evidence.")
    with transaction.atomic():
        job = open_job(job_id)
        confirmation, created = MaterialsConfirmation.objects.get_or_create(job=job, defaults={"confirmed_by": actor})
        if created:
            closeout_event(job, actor, "Confirmed: no materials used")
    return confirmation


def materials_confirm_undo(*, actor: User, job_id: int) -> None:
    require(actor, "closeout.record_evidence", "You may not record closeout evidence.")
    with transaction.atomic():
        job = open_job(job_id)
        if MaterialsConfirmation.objects.filter(job=job).delete()[0]:
            closeout_event(job, actor, "“No materials used” withdrawn")
