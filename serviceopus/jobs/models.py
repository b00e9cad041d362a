from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from serviceopus.core.money import line_total_cents
from serviceopus.core.text import reject_nul
from serviceopus.crew.models import Skill, Technician
from serviceopus.customers.models import Asset, Contact, Customer, Location

from .status import HoldReason, JobStatus


class BillingType(models.TextChoices):
    FIXED_PRICE = "fixed_price", "Fixed price"
    TIME_AND_MATERIALS = "time_materials", "Time & materials"
    AGREEMENT = "agreement", "Agreement-covered"
    WARRANTY = "warranty", "Warranty / no charge"
    NOT_TO_EXCEED = "not_to_exceed", "Not to exceed"


class BillingTrigger(models.TextChoices):
    """What happens when a job of this type reaches work complete (the billing app acts on it)."""

    QUEUE = "queue", "Put it on the ready-to-invoice queue"
    DRAFT_INVOICE = "draft_invoice", "Create a draft invoice"


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class Source(models.TextChoices):
    QUOTE = "quote", "Accepted quote"
    BOOKING = "booking", "Booking request"
    LEAD = "lead", "Lead"
    AGREEMENT_VISIT = "agreement_visit", "Agreement visit"
    DIRECT = "direct", "Direct service request"


# Job fields a job type may declare as required (JobType.required_fields); forms and the API enforce them.
REQUIRABLE_FIELDS = {
    "contact": "Contact",
    "assets": "Assets",
    "source_reference": "Source reference",
    "next_visit_at": "Preferred visit time",
    "tags": "Tags",
}


class JobType(models.Model):
    """What a business configures before it starts: defaults and requirements for a kind of job."""

    name = models.CharField(max_length=100, unique=True, validators=[reject_nul])
    default_duration_minutes = models.PositiveIntegerField(default=60, validators=[MinValueValidator(5), MaxValueValidator(60 * 24 * 14)])
    required_skills = models.ManyToManyField(Skill, blank=True, related_name="job_types")
    required_fields = models.JSONField(default=list, blank=True, help_text=f"Any of: {', '.join(REQUIRABLE_FIELDS)}")
    default_billing_type = models.CharField(max_length=20, choices=BillingType.choices, default=BillingType.TIME_AND_MATERIALS)
    billing_trigger = models.CharField(max_length=20, choices=BillingTrigger.choices, default=BillingTrigger.QUEUE)
    default_priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    color = models.CharField(max_length=7, default="#64748b")
    requires_materials_ready = models.BooleanField(default=False, help_text="Refuse to schedule a visit while any reserved material is still missing.")
    dependencies_block_scheduling = models.BooleanField(
        default=False, help_text="Refuse to schedule a visit while a job this one depends on is not work complete (starting a visit is always refused)."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True, validators=[reject_nul])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PartsReadiness(models.TextChoices):
    """Whether a job's reserved materials are on hand. Kept on the job row by the inventory app (in the
    transaction that changes a reservation or receives stock), so lists show and filter it for free."""

    NONE = "", "No parts tracked"
    READY = "ready", "Parts ready"
    PARTIAL = "partial", "Partially ready"
    BLOCKED = "blocked", "Blocked by parts"


class Job(models.Model):
    number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="jobs")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="jobs")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs")
    assets = models.ManyToManyField(Asset, blank=True, related_name="jobs")
    job_type = models.ForeignKey(JobType, on_delete=models.PROTECT, related_name="jobs")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.DIRECT)
    source_reference = models.CharField(max_length=100, blank=True, validators=[reject_nul])
    scope = models.TextField(max_length=10000, validators=[reject_nul])
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    estimated_duration_minutes = models.PositiveIntegerField(default=60, validators=[MinValueValidator(5), MaxValueValidator(60 * 24 * 14)])
    required_skills = models.ManyToManyField(Skill, blank=True, related_name="jobs")
    billing_type = models.CharField(max_length=20, choices=BillingType.choices, default=BillingType.TIME_AND_MATERIALS)
    not_to_exceed_cents = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.NEW)
    hold_reason = models.CharField(max_length=20, choices=HoldReason.choices, blank=True)
    hold_note = models.CharField(max_length=500, blank=True, validators=[reject_nul])
    tags = models.ManyToManyField(Tag, blank=True, related_name="jobs")
    technicians = models.ManyToManyField(Technician, blank=True, related_name="jobs", through="JobTechnician")
    # The next planned visit. The dispatch app will keep it in step with the job's visits.
    next_visit_at = models.DateTimeField(null=True, blank=True)
    parts_readiness = models.CharField(max_length=10, choices=PartsReadiness.choices, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-id"]
        # Each list sort and board column reads one of these in order, so a page costs the same at
        # 10,000 and at 1,000,000 jobs (see bench/web.py).
        indexes = [
            models.Index(fields=["status", "id"], name="job_status_id"),
            models.Index(fields=["status", "priority", "id"], name="job_status_priority_id"),
            models.Index(fields=["priority", "id"], name="job_priority_id"),
            models.Index(fields=["next_visit_at", "id"], name="job_next_visit_id"),
            models.Index(fields=["job_type", "id"], name="job_type_id"),
            models.Index(fields=["customer", "id"], name="job_customer_id"),
            models.Index(fields=["created_at"], name="job_created_at"),
            models.Index(fields=["completed_at"], name="job_completed_at"),
            # The list's and the board's "blocked by parts" (and other readiness) filters.
            models.Index(fields=["parts_readiness", "id"], name="job_parts_readiness_id"),
            models.Index(fields=["parts_readiness", "status", "priority", "id"], name="job_parts_status_priority_id"),
        ]
        permissions = [("view_all_jobs", "Can see every job")]

    def __str__(self) -> str:
        return self.number


class JobTechnician(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE)
    technician = models.ForeignKey(Technician, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "technician"], name="job_technician_unique")]
        indexes = [models.Index(fields=["technician", "job"], name="jobtech_tech_job")]

    def __str__(self) -> str:
        return f"{self.job_id} ← {self.technician_id}"


class LineItem(models.Model):
    class Kind(models.TextChoices):
        SERVICE = "service", "Service"
        LABOUR = "labour", "Labour"
        MATERIAL = "material", "Material"
        FEE = "fee", "Fee"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="line_items")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SERVICE)
    description = models.CharField(max_length=300, validators=[reject_nul])
    quantity = models.DecimalField(max_digits=12, decimal_places=3, validators=[MinValueValidator(0)])
    unit_price_cents = models.BigIntegerField(default=0)
    unit_cost_cents = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    taxable = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["job_id", "position", "id"]
        indexes = [models.Index(fields=["job", "position", "id"], name="lineitem_job_pos")]

    def __str__(self) -> str:
        return self.description

    @property
    def total_cents(self) -> int:
        return line_total_cents(self.quantity, self.unit_price_cents)

    @property
    def cost_cents(self) -> int:
        return line_total_cents(self.quantity, self.unit_cost_cents)


class Note(models.Model):
    """An internal note (never shown to the customer)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(max_length=10000, validators=[reject_nul])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["job", "-created_at"], name="note_job_created")]

    def __str__(self) -> str:
        return self.body[:60]


class JobEvent(models.Model):
    """Append-only timeline: who did what to the job, and when (from → to for changes)."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STATUS = "status", "Status changed"
        EDITED = "edited", "Edited"
        LINE_ITEM = "line_item", "Line item"
        NOTE = "note", "Note"
        VISIT = "visit", "Visit"
        TIME = "time", "Time"
        CLOSEOUT = "closeout", "Closeout"
        MATERIALS = "materials", "Materials"
        BILLING = "billing", "Billing"
        CUSTOMER = "customer", "Customer"
        DEPENDENCY = "dependency", "Dependency"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["job", "-created_at", "-id"], name="event_job_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.old_value} → {self.new_value}"


class JobDependency(models.Model):
    """Finish-to-start: `job` (the dependent) may not start work until `depends_on` (its prerequisite)
    is work complete. Written only by jobs.dependencies, which refuses cycles."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="prerequisite_links")
    depends_on = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="dependent_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "depends_on"], name="jobdep_unique"),
            models.CheckConstraint(condition=~models.Q(job=models.F("depends_on")), name="jobdep_not_self"),
        ]
        # "What does this job wait for" reads the unique index; "what waits for this job" (and the
        # cycle walk upstream) reads this one.
        indexes = [models.Index(fields=["depends_on", "job"], name="jobdep_depends_on_job")]

    def __str__(self) -> str:
        return f"{self.job_id} waits for {self.depends_on_id}"
