"""The demo company's closeout configuration: checklists and closeout requirements for its job types,
and a few incidents on open work. Loaded after the demo jobs are built, so that past work (completed
before these rules existed) stays as it was and today's open work shows what it still needs."""

from datetime import datetime
from decimal import Decimal
from random import Random

from serviceopus.accounts.models import User
from serviceopus.jobs.models import Job, JobEvent, JobType
from serviceopus.jobs.status import JobStatus

from .actions import incidents as incident_actions
from .models import ChecklistItem, ChecklistTemplate, CloseoutRequirement, Incident, ItemKind
from .models import RequirementKind as K

# name → (job types, items: (label, kind, required, unit, min, max, choices))
CHECKLISTS = {
    "Furnace safety check": (
        ("Furnace maintenance", "Maintenance plan visit"),
        (
            ("Filter replaced", ItemKind.YES_NO, True, "", None, None, ()),
            ("Manifold gas pressure", ItemKind.NUMBER, True, "in. w.c.", "3.2", "3.8", ()),
            ("CO in flue (air-free)", ItemKind.NUMBER, True, "ppm", "0", "100", ()),
            ("Flame sensor", ItemKind.CHOICE, True, "", None, None, ("Clean", "Cleaned", "Replaced")),
            ("Heat exchanger inspected (photo)", ItemKind.PHOTO, True, "", None, None, ()),
            ("Notes for the customer", ItemKind.TEXT, False, "", None, None, ()),
        ),
    ),
    "AC performance check": (
        ("AC repair",),
        (
            ("Suction pressure", ItemKind.NUMBER, True, "psi", "100", "150", ()),
            ("Temperature split (return − supply)", ItemKind.NUMBER, True, "°F", "14", "22", ()),
            ("Condenser coil", ItemKind.CHOICE, True, "", None, None, ("Clean", "Dirty — cleaned", "Dirty — customer declined cleaning")),
            ("Capacitor within rating", ItemKind.YES_NO, True, "", None, None, ()),
            ("Nameplate (photo)", ItemKind.PHOTO, False, "", None, None, ()),
        ),
    ),
    "Water heater install": (
        ("Water heater install",),
        (
            ("Expansion tank installed", ItemKind.YES_NO, True, "", None, None, ()),
            ("T&P discharge line to code", ItemKind.YES_NO, True, "", None, None, ()),
            ("Gas leak test passed", ItemKind.YES_NO, True, "", None, None, ()),
            ("Outlet water temperature", ItemKind.NUMBER, True, "°F", "110", "125", ()),
            ("Old unit hauled away", ItemKind.YES_NO, False, "", None, None, ()),
        ),
    ),
}

# job type → requirements: kind, or (photos, tag, count)
REQUIREMENTS: dict[str, tuple] = {
    "AC repair": (K.CHECKLISTS, (K.PHOTOS, "after", 1), K.CUSTOMER_SIGNATURE, K.MATERIALS),
    "Furnace maintenance": (K.CHECKLISTS, (K.PHOTOS, "before", 1), (K.PHOTOS, "after", 1), K.CUSTOMER_SIGNATURE),
    "Water heater install": (K.CHECKLISTS, (K.PHOTOS, "before", 1), (K.PHOTOS, "after", 2), (K.PHOTOS, "permit", 1), K.CUSTOMER_SIGNATURE, K.MATERIALS),
    "Panel upgrade": ((K.PHOTOS, "permit", 1), (K.PHOTOS, "after", 1), K.CUSTOMER_SIGNATURE, K.NO_OPEN_INCIDENT, K.QUALITY_PASSED),
    "Walk-in cooler service": ((K.PHOTOS, "nameplate", 1), K.MATERIALS, K.TIME_REVIEWED),
    "Appliance repair": (K.MATERIALS, K.NO_OPEN_INCIDENT),
}

INCIDENTS = (
    (Incident.Kind.PROPERTY_DAMAGE, Incident.Severity.MEDIUM, "Scuffed the hallway wall carrying the old unit out; customer noticed and asked for a touch-up."),
    (Incident.Kind.COMPLAINT, Incident.Severity.LOW, "Customer unhappy that the crew arrived at the end of the window without calling ahead."),
    (Incident.Kind.NEAR_MISS, Incident.Severity.HIGH, "Ladder slipped on the wet driveway; nobody hurt. Ladder feet replaced."),
)


def ensure_closeout(rng: Random, *, office: User, now: datetime) -> None:
    """Create what is missing of the closeout configuration; existing rows are left as they are."""
    job_types = {t.name: t for t in JobType.objects.all()}
    for name, (type_names, items) in CHECKLISTS.items():
        template, created = ChecklistTemplate.objects.get_or_create(name=name)
        if not created:
            continue
        template.job_types.set([job_types[n] for n in type_names if n in job_types])
        ChecklistItem.objects.bulk_create(
            ChecklistItem(
                template=template,
                position=i,
                label=label,
                kind=kind,
                required=required,
                unit=unit,
                min_value=Decimal(low) if low is not None else None,
                max_value=Decimal(high) if high is not None else None,
                choices=list(choices),
            )
            for i, (label, kind, required, unit, low, high, choices) in enumerate(items)
        )
    for type_name, requirements in REQUIREMENTS.items():
        job_type = job_types.get(type_name)
        if job_type is None or CloseoutRequirement.objects.filter(job_type=job_type).exists():
            continue
        for requirement in requirements:
            kind, tag, count = requirement if isinstance(requirement, tuple) else (requirement, "", 1)
            CloseoutRequirement.objects.create(job_type=job_type, kind=kind, photo_tag=tag, min_count=count)
    if not Incident.objects.exists():
        open_jobs = list(Job.objects.filter(status=JobStatus.IN_PROGRESS).order_by("id")[:20])
        for (kind, severity, description), job in zip(INCIDENTS, rng.sample(open_jobs, min(len(open_jobs), len(INCIDENTS))), strict=False):
            # Reported by the office from the crew's call, and owned by it; dated between the job's last
            # step and now, like the rest of the demo's past.
            last_event = JobEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            incident = incident_actions.incident_report(actor=office, job_id=job.pk, kind=kind, severity=severity, description=description, owner_id=office.pk)
            at = job.updated_at + (now - job.updated_at) * rng.uniform(0.2, 0.8)
            Incident.objects.filter(pk=incident.pk).update(reported_at=at)
            # The event carries the real clock (its model default), which may be before or after the
            # demo's `now`: date the one just written, whatever it says.
            JobEvent.objects.filter(job=job, pk__gt=last_event).update(created_at=at)
