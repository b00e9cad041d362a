"""The completion-blocker engine (DESIGN.md §2): one function says what still keeps a job's work from
being complete, each blocker explained and linked to where it is fixed.

`closeout_state(job)` evaluates every closeout requirement of the job (its job type's and its own) and
returns each with its state — met, open or waived — for the job header, the technician's visit screen,
the API and the service report. `completion_blockers(job)` is the open ones: job_transition refuses
work_complete while any remains (registered as a guard in apps.py), and dispatch refuses to finish the
job's last open visit. A manager may waive a blocker by its code, with a reason (actions/waivers.py).

Queries: a fixed handful per job whatever it holds (requirements, waivers, then one per requirement
kind that is declared)."""

from dataclasses import dataclass

from django.db.models import Count, Q

from serviceopus.jobs.guards import Blocker
from serviceopus.jobs.models import Job, LineItem
from serviceopus.jobs.status import JobStatus

from . import signing
from .models import BlockerWaiver, CloseoutRequirement, Document, DocumentTag, Incident, MaterialsConfirmation, RequirementKind, Signature

K = RequirementKind
# Where each kind is fixed: the workspace tab, and the section of the technician's visit screen.
FIX_AT = {
    K.CHECKLISTS: ("quality", "checklists"),
    K.PHOTOS: ("documents", "photos"),
    K.CUSTOMER_SIGNATURE: ("signatures", "signature"),
    K.MATERIALS: ("line-items", "materials"),
    K.TIME_REVIEWED: ("time", ""),
    K.NO_OPEN_INCIDENT: ("incidents", "incidents"),
    K.QUALITY_PASSED: ("quality", ""),
}


@dataclass
class RequirementState:
    code: str
    label: str
    met: bool
    blocker: Blocker | None  # the explanation while not met
    waiver: BlockerWaiver | None

    @property
    def state(self) -> str:
        return "met" if self.met else ("waived" if self.waiver else "open")


def job_requirements(job: Job) -> list[CloseoutRequirement]:
    """The job type's requirements and the job's own, one per code (the larger photo count wins)."""
    rows = CloseoutRequirement.objects.filter(Q(job_type_id=job.job_type_id) | Q(job_id=job.pk)).order_by("id")
    by_code: dict[str, CloseoutRequirement] = {}
    for req in rows:
        kept = by_code.get(req.code)
        if kept is None or req.min_count > kept.min_count:
            by_code[req.code] = req
    return list(by_code.values())


# Requirements the crew cannot meet on site: they hold the job's work_complete, not the visit's finish.
OFFICE_ONLY = frozenset({K.TIME_REVIEWED, K.QUALITY_PASSED})


def _blocker(req: CloseoutRequirement, message: str, items: list[str] | None = None) -> Blocker:
    tab, anchor = FIX_AT[RequirementKind(req.kind)]
    return Blocker(req.code, message, items or [], tab=tab, anchor=anchor, waivable=True, office_only=req.kind in OFFICE_ONLY)


def _checklists(job: Job, req: CloseoutRequirement) -> Blocker | None:
    """Required items of the job's checklists (started runs, and the job type's templates not started
    yet) without an answer."""
    from .checklist_rules import open_required_items  # the checklist rules live with the checklists

    missing = open_required_items(job)
    if not missing:
        return None
    label = "item" if len(missing) == 1 else "items"
    return _blocker(req, f"{len(missing)} required checklist {label} open: {', '.join(missing)}", missing)


def _photos(job: Job, req: CloseoutRequirement) -> Blocker | None:
    have = Document.objects.filter(job=job, kind=Document.Kind.PHOTO, tag=req.photo_tag).count()
    if have >= req.min_count:
        return None
    tag = DocumentTag(req.photo_tag).label.lower()
    return _blocker(req, f"{req.min_count - have} more photo{'s' if req.min_count - have != 1 else ''} tagged “{tag}” needed ({have} of {req.min_count})")


def _customer_signature(job: Job, req: CloseoutRequirement) -> Blocker | None:
    hashes = list(Signature.objects.filter(job=job, role=Signature.Role.CUSTOMER).values_list("content_sha256", flat=True))
    if hashes and signing.current_hash(job) in hashes:
        return None
    if hashes:
        return _blocker(req, "The customer's signature is stale: the scope, lines or totals changed after signing. Ask them to sign again.")
    return _blocker(req, "No customer signature yet.")


def _materials(job: Job, req: CloseoutRequirement) -> Blocker | None:
    if LineItem.objects.filter(job=job, kind=LineItem.Kind.MATERIAL).exists() or MaterialsConfirmation.objects.filter(job=job).exists():
        return None
    return _blocker(req, "Record the materials used, or confirm that none were used.")


def _time_reviewed(job: Job, req: CloseoutRequirement) -> Blocker | None:
    from serviceopus.field.models import TimeEntry

    counts = TimeEntry.objects.filter(job=job).aggregate(
        pending=Count("id", filter=Q(review=TimeEntry.Review.PENDING)),
        running=Count("id", filter=Q(end__isnull=True)),
    )
    if counts["running"]:
        return _blocker(req, f"{counts['running']} time entr{'y is' if counts['running'] == 1 else 'ies are'} still running.")
    if counts["pending"]:
        return _blocker(req, f"{counts['pending']} time entr{'y' if counts['pending'] == 1 else 'ies'} to review on the Time tab.")
    return None


def _no_open_incident(job: Job, req: CloseoutRequirement) -> Blocker | None:
    open_incidents = list(Incident.objects.filter(job=job, status=Incident.Status.OPEN).order_by("reported_at", "id"))
    if not open_incidents:
        return None
    items = [f"{i.get_kind_display()} ({i.get_severity_display().lower()})" for i in open_incidents]
    return _blocker(req, f"Open incident{'s' if len(items) != 1 else ''}: {', '.join(items)}", items)


def _quality_passed(job: Job, req: CloseoutRequirement) -> Blocker | None:
    latest = job.quality_reviews.order_by("-reviewed_at", "-id").first()
    if latest is None:
        return _blocker(req, "No quality review yet.")
    if not latest.passed:
        return _blocker(req, "The last quality review failed" + (f": {latest.follow_up_reason}" if latest.follow_up_reason else "."))
    return None


CHECKS = {
    K.CHECKLISTS: _checklists,
    K.PHOTOS: _photos,
    K.CUSTOMER_SIGNATURE: _customer_signature,
    K.MATERIALS: _materials,
    K.TIME_REVIEWED: _time_reviewed,
    K.NO_OPEN_INCIDENT: _no_open_incident,
    K.QUALITY_PASSED: _quality_passed,
}


def closeout_state(job: Job) -> list[RequirementState]:
    found = [(req, CHECKS[RequirementKind(req.kind)](job, req)) for req in job_requirements(job)]
    # Waivers matter only for what is not met: no query when everything is.
    waivers = {w.code: w for w in BlockerWaiver.objects.filter(job=job).select_related("waived_by")} if any(b for _, b in found) else {}
    return [RequirementState(req.code, req.describe(), blocker is None, blocker, waivers.get(req.code) if blocker else None) for req, blocker in found]


def completion_blockers(job: Job) -> list[Blocker]:
    """The open blockers: not met and not waived."""
    return [s.blocker for s in closeout_state(job) if s.blocker is not None and s.waiver is None]


def closing_blockers(job: Job) -> list[Blocker]:
    """What keeps a job from being closed whatever its type says: an open incident (not waivable)."""
    open_incidents = list(Incident.objects.filter(job=job, status=Incident.Status.OPEN).order_by("reported_at", "id"))
    if not open_incidents:
        return []
    items = [f"{i.get_kind_display()} ({i.get_severity_display().lower()})" for i in open_incidents]
    return [Blocker("open_incident", f"Resolve the open incident{'s' if len(items) != 1 else ''} first: {', '.join(items)}.", items, tab="incidents")]


def job_guard(job: Job, to: str) -> list[Blocker]:
    """The guard job_transition calls (registered in apps.py)."""
    if to == JobStatus.WORK_COMPLETE:
        return completion_blockers(job)
    if to == JobStatus.CLOSED:
        return closing_blockers(job)
    return []
