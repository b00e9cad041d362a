"""Closeout and proof of work: checklists, documents and photos, signatures, quality reviews, incidents,
and the closeout requirements and waivers that the completion-blocker engine (blockers.py) reads.

Files are stored through Django's storage API under random names (`upload_to` below) and served only by
views that check access to the job first; the original file name is kept for display only."""

import secrets
from pathlib import PurePosixPath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from serviceopus.core.text import reject_nul
from serviceopus.dispatch.models import Visit
from serviceopus.jobs.models import Job, JobType

# ---- checklists -----------------------------------------------------------------------------------------


class ItemKind(models.TextChoices):
    YES_NO = "yes_no", "Yes / no"
    TEXT = "text", "Text"
    NUMBER = "number", "Number (with unit and range)"
    CHOICE = "choice", "Choice"
    PHOTO = "photo", "Photo required"


class ChecklistTemplate(models.Model):
    """A checklist a business fills on jobs of some types (and may add to one job). Every edit of the
    template or its items bumps `version`; a run keeps a snapshot of the items it was started with, so
    editing a template never changes runs already filled."""

    name = models.CharField(max_length=100, unique=True, validators=[reject_nul])
    description = models.CharField(max_length=500, blank=True, validators=[reject_nul])
    job_types = models.ManyToManyField(JobType, blank=True, related_name="checklist_templates")
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChecklistItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    label = models.CharField(max_length=200, validators=[reject_nul])
    help_text = models.CharField(max_length=300, blank=True, validators=[reject_nul])
    kind = models.CharField(max_length=10, choices=ItemKind.choices, default=ItemKind.YES_NO)
    required = models.BooleanField(default=True)
    unit = models.CharField(max_length=20, blank=True, help_text="Number items: e.g. psi, °F, V", validators=[reject_nul])
    min_value = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True, help_text="Number items: lowest value in range")
    max_value = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True, help_text="Number items: highest value in range")
    choices = models.JSONField(default=list, blank=True, help_text='Choice items: a list of options, e.g. ["Clean", "Dirty", "Replaced"]')

    class Meta:
        ordering = ["template_id", "position", "id"]

    def __str__(self) -> str:
        return self.label

    def snapshot(self) -> dict:
        """What a run keeps of this item: everything needed to show and check an answer later."""
        return {
            "key": str(self.pk),
            "label": self.label,
            "help_text": self.help_text,
            "kind": self.kind,
            "required": self.required,
            "unit": self.unit,
            "min": None if self.min_value is None else str(self.min_value),
            "max": None if self.max_value is None else str(self.max_value),
            "choices": list(self.choices or []),
        }


class ChecklistRun(models.Model):
    """One filling of a template on one job. `items` is the template's items as they were when the run
    started (template_version says which). The run works on one visit at a time: when that visit ends
    with "return needed" while items are open, the run carries over to the return visit
    (`carried_from` keeps the visit it came from)."""

    class Status(models.TextChoices):
        OPEN = "open", "In progress"
        COMPLETE = "complete", "Complete"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="checklist_runs")
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="runs")
    template_version = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    items = models.JSONField(default=list)
    visit = models.ForeignKey(Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="checklist_runs")
    carried_from = models.ForeignKey(Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job_id", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "template"], name="checklist_run_one_per_template")]

    def __str__(self) -> str:
        return f"{self.name} v{self.template_version}"


class ChecklistAnswer(models.Model):
    """The answer to one item of a run (item_key = the item's key in the run's snapshot). The typed
    value sits in the matching column; `out_of_range` flags a number outside the item's range."""

    run = models.ForeignKey(ChecklistRun, on_delete=models.CASCADE, related_name="answers")
    item_key = models.CharField(max_length=20)
    value_bool = models.BooleanField(null=True, blank=True)
    value_text = models.CharField(max_length=2000, blank=True, validators=[reject_nul])
    value_number = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    document = models.ForeignKey("Document", on_delete=models.SET_NULL, null=True, blank=True, related_name="checklist_answers")
    out_of_range = models.BooleanField(default=False)
    visit = models.ForeignKey(Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run_id", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "item_key"], name="checklist_answer_one_per_item")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.item_key}"


# ---- documents and photos --------------------------------------------------------------------------------


class DocumentTag(models.TextChoices):
    BEFORE = "before", "Before"
    AFTER = "after", "After"
    NAMEPLATE = "nameplate", "Nameplate"
    DAMAGE = "damage", "Damage"
    PERMIT = "permit", "Permit"
    OTHER = "other", "Other"


def random_upload_name(instance: models.Model, filename: str) -> str:
    """A random stored name (128 bits); only the extension of the checked type survives. The name the
    user gave is kept in `original_name`, for display, never as a path."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"closeout/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{suffix}"


class Document(models.Model):
    """A photo or a document attached to a job (and possibly to a visit, an incident or a checklist
    answer). Images are stored re-encoded (metadata stripped, orientation applied) with a thumbnail.
    The same content (sha256 of the uploaded bytes) is stored once per job."""

    class Kind(models.TextChoices):
        PHOTO = "photo", "Photo"
        DOCUMENT = "document", "Document"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="documents")
    visit = models.ForeignKey(Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="documents")
    incident = models.ForeignKey("Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="photos")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    tag = models.CharField(max_length=10, choices=DocumentTag.choices, default=DocumentTag.OTHER)
    caption = models.CharField(max_length=300, blank=True, validators=[reject_nul])
    customer_visible = models.BooleanField(default=False)
    file = models.FileField(upload_to=random_upload_name, max_length=200)
    thumbnail = models.FileField(upload_to=random_upload_name, max_length=200, blank=True)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["job", "sha256"], name="document_once_per_job")]
        indexes = [models.Index(fields=["job", "tag"], name="document_job_tag")]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.kind == self.Kind.PHOTO


# ---- signatures ------------------------------------------------------------------------------------------


class Signature(models.Model):
    """A signature drawn on the pad, with what was signed: `content` is the snapshot (scope, line items,
    totals) and `content_sha256` its hash. When the job's content no longer hashes the same, the
    signature is stale (see signing.py)."""

    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        TECHNICIAN = "technician", "Technician"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="signatures")
    visit = models.ForeignKey(Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="signatures")
    signer_name = models.CharField(max_length=100, validators=[reject_nul])
    role = models.CharField(max_length=12, choices=Role.choices)
    image = models.FileField(upload_to=random_upload_name, max_length=200)
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField(default=timezone.now)
    captured_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-signed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.signer_name} ({self.get_role_display()})"


# ---- quality ---------------------------------------------------------------------------------------------


class QualityReview(models.Model):
    """A reviewer's scored check of the job's work. A failed review says what follows: a return visit
    (drafted for dispatch) or a follow-up, with the reason."""

    class FollowUp(models.TextChoices):
        NONE = "", "Nothing"
        RETURN_VISIT = "return_visit", "Return visit"
        FOLLOW_UP = "follow_up", "Follow-up by the office"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="quality_reviews")
    passed = models.BooleanField()
    notes = models.TextField(max_length=5000, blank=True, validators=[reject_nul])
    follow_up = models.CharField(max_length=12, choices=FollowUp.choices, blank=True)
    follow_up_reason = models.CharField(max_length=500, blank=True, validators=[reject_nul])
    return_visit = models.ForeignKey(Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reviewed_at", "-id"]

    def __str__(self) -> str:
        return f"Review of {self.job_id}: {'pass' if self.passed else 'fail'}"


class QualityScore(models.Model):
    review = models.ForeignKey(QualityReview, on_delete=models.CASCADE, related_name="scores")
    label = models.CharField(max_length=100, validators=[reject_nul])
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(5)])
    max_score = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1), MaxValueValidator(5)])

    class Meta:
        ordering = ["review_id", "id"]

    def __str__(self) -> str:
        return f"{self.label}: {self.score}/{self.max_score}"


# ---- incidents -------------------------------------------------------------------------------------------


class Incident(models.Model):
    class Kind(models.TextChoices):
        PROPERTY_DAMAGE = "property_damage", "Property damage"
        INJURY = "injury", "Injury"
        COMPLAINT = "complaint", "Complaint"
        NEAR_MISS = "near_miss", "Near miss"

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="incidents")
    visit = models.ForeignKey(Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    description = models.TextField(max_length=5000, validators=[reject_nul])
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_incidents")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField(max_length=5000, blank=True, validators=[reject_nul])
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    reported_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-reported_at", "-id"]
        indexes = [models.Index(fields=["job", "status"], name="incident_job_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.job_id}"


# ---- closeout requirements, confirmations and waivers ------------------------------------------------------


class RequirementKind(models.TextChoices):
    CHECKLISTS = "checklists", "Required checklist items complete"
    PHOTOS = "photos", "Photos with a tag"
    CUSTOMER_SIGNATURE = "customer_signature", "Customer signature (current)"
    MATERIALS = "materials", "Materials recorded or “no materials used” confirmed"
    TIME_REVIEWED = "time_reviewed", "Time entries reviewed"
    NO_OPEN_INCIDENT = "no_open_incident", "No open incident"
    QUALITY_PASSED = "quality_passed", "Quality review passed"


class CloseoutRequirement(models.Model):
    """A piece of evidence the job must have before its work is complete: declared per job type, or
    added to one job (by the office, later by a workflow rule). PHOTOS needs `photo_tag` and
    `min_count`; the other kinds take neither."""

    job_type = models.ForeignKey(JobType, on_delete=models.CASCADE, null=True, blank=True, related_name="closeout_requirements")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, null=True, blank=True, related_name="closeout_requirements")
    kind = models.CharField(max_length=20, choices=RequirementKind.choices)
    photo_tag = models.CharField(max_length=10, choices=DocumentTag.choices, blank=True)
    min_count = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(50)])
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(job_type__isnull=False, job__isnull=True) | models.Q(job_type__isnull=True, job__isnull=False),
                name="closeout_requirement_for_type_or_job",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="photos") | ~models.Q(photo_tag=""),
                name="closeout_requirement_photos_need_tag",
            ),
        ]

    def __str__(self) -> str:
        return self.describe()

    @property
    def code(self) -> str:
        """The blocker's stable code: waivers and the API refer to it."""
        return f"photos:{self.photo_tag}" if self.kind == RequirementKind.PHOTOS else str(self.kind)

    def describe(self) -> str:
        if self.kind == RequirementKind.PHOTOS:
            return f"At least {self.min_count} photo{'s' if self.min_count != 1 else ''} tagged {DocumentTag(self.photo_tag).label.lower()}"
        return RequirementKind(self.kind).label


class MaterialsConfirmation(models.Model):
    """The crew's word that no materials were used on the job (the MATERIALS requirement's other half)."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="no_materials_confirmation")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    confirmed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"No materials used on {self.job_id}"


class BlockerWaiver(models.Model):
    """A manager's decision that one blocker (by its code) does not hold this job back, with the reason."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="blocker_waivers")
    code = models.CharField(max_length=40)
    reason = models.CharField(max_length=500, validators=[reject_nul])
    waived_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    waived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["waived_at", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "code"], name="blocker_waiver_once_per_code")]

    def __str__(self) -> str:
        return f"{self.code} waived on {self.job_id}"
