"""Items, places, the stock ledger, reservations and purchase orders.

Quantities are integer thousandths (see quantity.py); money is integer cents. The ledger
(StockMovement) is the truth; StockBalance is its running sum per item and place, written in the same
transaction as each movement so a page never sums the ledger (tests prove the two agree).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from serviceopus.core.text import reject_nul
from serviceopus.crew.models import Technician
from serviceopus.jobs.models import Job, LineItem

from .quantity import show


class InventorySettings(models.Model):
    """The company's stock policy (one row, edited in the admin site)."""

    allow_negative_stock = models.BooleanField(
        default=False, help_text="Let issues and transfers take stock a place does not have (on-hand goes below zero until counted)."
    )

    class Meta:
        verbose_name = verbose_name_plural = "inventory settings"

    def __str__(self) -> str:
        return "Inventory settings"

    @classmethod
    def current(cls) -> "InventorySettings":
        row = cls.objects.order_by("pk").first()
        return row if row is not None else cls.objects.create()


class Vendor(models.Model):
    name = models.CharField(max_length=200, unique=True, validators=[reject_nul])
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True, validators=[reject_nul])
    lead_time_days = models.PositiveSmallIntegerField(default=3, validators=[MaxValueValidator(365)], help_text="Usual days from order to delivery.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InventoryItem(models.Model):
    sku = models.CharField("SKU", max_length=40, unique=True, validators=[reject_nul])
    name = models.CharField(max_length=200, validators=[reject_nul])
    unit = models.CharField(max_length=20, default="each", validators=[reject_nul], help_text="each, ft, lb, gal…")
    default_cost_cents = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    default_price_cents = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    reorder_point_milli = models.BigIntegerField(default=0, validators=[MinValueValidator(0)], help_text="Thousandths of a unit.")
    preferred_vendor = models.ForeignKey(Vendor, on_delete=models.SET_NULL, null=True, blank=True, related_name="items")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]
        indexes = [models.Index(fields=["name"], name="inv_item_name")]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"


class StockLocation(models.Model):
    class Kind(models.TextChoices):
        WAREHOUSE = "warehouse", "Warehouse"
        TRUCK = "truck", "Truck"

    name = models.CharField(max_length=100, unique=True, validators=[reject_nul])
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WAREHOUSE)
    technician = models.OneToOneField(Technician, on_delete=models.PROTECT, null=True, blank=True, related_name="truck")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="truck", technician__isnull=False) | models.Q(kind="warehouse", technician__isnull=True),
                name="stocklocation_truck_has_technician",
            )
        ]

    def __str__(self) -> str:
        return self.name


class StockBalance(models.Model):
    """On hand and reserved for one item at one place: the ledger's running sum."""

    item = models.ForeignKey(InventoryItem, on_delete=models.PROTECT, related_name="balances")
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="balances")
    on_hand_milli = models.BigIntegerField(default=0)
    reserved_milli = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "location"], name="stockbalance_item_location")]
        indexes = [models.Index(fields=["location", "item"], name="stockbalance_location_item")]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.location_id}: {show(self.on_hand_milli)}"

    @property
    def available_milli(self) -> int:
        return self.on_hand_milli - self.reserved_milli


class Reservation(models.Model):
    """The stock side of one inventory-backed material line: how much the job needs of an item at a
    place, how much of it is held there (allocated), and how much left for the job (issued) or came
    back (returned). `quantity` follows the line's billable quantity.

    short = quantity − allocated − (issued − returned): what still has to arrive."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RELEASED = "released", "Released"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="reservations")
    line_item = models.OneToOneField(LineItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="reservation")
    item = models.ForeignKey(InventoryItem, on_delete=models.PROTECT, related_name="reservations")
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="reservations")
    quantity_milli = models.BigIntegerField()
    allocated_milli = models.BigIntegerField(default=0)
    issued_milli = models.BigIntegerField(default=0)
    returned_milli = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["job", "status"], name="reservation_job_status"),
            models.Index(fields=["item", "location", "status"], name="reservation_item_location"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}: {show(self.quantity_milli)} × {self.item_id}"

    @property
    def in_use_milli(self) -> int:
        """Issued to the job and not returned."""
        return self.issued_milli - self.returned_milli

    @property
    def short_milli(self) -> int:
        if self.status != self.Status.OPEN:
            return 0
        return max(0, self.quantity_milli - self.allocated_milli - self.in_use_milli)


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ORDERED = "ordered", "Ordered"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=20, unique=True, null=True, blank=True, help_text="Assigned when ordered; gapless.")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="purchase_orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    ship_to = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="+", help_text="Where the goods are received.")
    expected_on = models.DateField(null=True, blank=True)
    notes = models.TextField(max_length=2000, blank=True, validators=[reject_nul])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ordered_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="po_status_id")]

    def __str__(self) -> str:
        return self.number or f"Draft PO #{self.pk}"

    @property
    def label(self) -> str:
        return str(self)


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(InventoryItem, on_delete=models.PROTECT, related_name="+")
    quantity_milli = models.BigIntegerField()
    unit_cost_cents = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    received_milli = models.BigIntegerField(default=0)
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="purchase_order_lines")
    reservation = models.ForeignKey(Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="purchase_order_lines")

    class Meta:
        ordering = ["purchase_order_id", "id"]
        indexes = [models.Index(fields=["job"], name="poline_job")]

    def __str__(self) -> str:
        return f"{show(self.quantity_milli)} × {self.item_id}"

    @property
    def open_milli(self) -> int:
        return max(0, self.quantity_milli - self.received_milli)


class PurchaseOrderEvent(models.Model):
    """A purchase order's own history (created, lines changed, ordered, each receipt, cancelled)."""

    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.message


class StockMovement(models.Model):
    """One line of the ledger. Stock leaves `from_location` and enters `to_location`; a receipt has no
    origin, an issue no destination (the stock went to the job), a return comes back from the job, an
    adjustment has one of the two and a reason."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        TRANSFER = "transfer", "Transfer"
        ISSUE = "issue", "Issue to job"
        RETURN = "return", "Return from job"
        ADJUSTMENT = "adjustment", "Adjustment"

    item = models.ForeignKey(InventoryItem, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    quantity_milli = models.BigIntegerField(validators=[MinValueValidator(1)])
    from_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="stock_movements")
    visit = models.ForeignKey("dispatch.Visit", on_delete=models.SET_NULL, null=True, blank=True, related_name="stock_movements")
    reservation = models.ForeignKey(Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="movements")
    purchase_order_line = models.ForeignKey(PurchaseOrderLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="movements")
    unit_cost_cents = models.BigIntegerField(default=0)
    reason = models.CharField(max_length=300, blank=True, validators=[reject_nul])
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["item", "-created_at"], name="movement_item_created"),
            models.Index(fields=["job", "-created_at"], name="movement_job_created"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(quantity_milli__gt=0), name="movement_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {show(self.quantity_milli)} × {self.item_id}"
