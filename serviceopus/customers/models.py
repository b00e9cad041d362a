from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from serviceopus.core.text import reject_nul


class Customer(models.Model):
    class Kind(models.TextChoices):
        RESIDENTIAL = "residential", "Residential"
        COMMERCIAL = "commercial", "Commercial"

    name = models.CharField(max_length=200, validators=[reject_nul])
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RESIDENTIAL)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True, validators=[reject_nul])
    notes = models.TextField(blank=True, max_length=5000, validators=[reject_nul])
    email_opt_out = models.BooleanField("No emails", default=False, help_text="The customer asked not to get notification emails.")
    sms_opt_out = models.BooleanField("No text messages", default=False, help_text="The customer asked not to get text messages.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name", "id"])]

    def __str__(self) -> str:
        return self.name


class Location(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="locations")
    label = models.CharField(max_length=100, blank=True, validators=[reject_nul], help_text="e.g. Home, Warehouse 2")
    street = models.CharField(max_length=200, validators=[reject_nul])
    city = models.CharField(max_length=100, validators=[reject_nul])
    region = models.CharField("State / region", max_length=100, blank=True, validators=[reject_nul])
    postal_code = models.CharField(max_length=20, blank=True, validators=[reject_nul])
    lat = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    lng = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    access_notes = models.TextField(blank=True, max_length=2000, validators=[reject_nul])
    gate_code = models.CharField(max_length=50, blank=True, validators=[reject_nul])
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["customer_id", "id"]

    def __str__(self) -> str:
        return self.one_line

    @property
    def one_line(self) -> str:
        parts = [self.street, self.city, " ".join(p for p in [self.region, self.postal_code] if p)]
        return ", ".join(p for p in parts if p)


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200, validators=[reject_nul])
    role = models.CharField(max_length=100, blank=True, validators=[reject_nul], help_text="e.g. Owner, Tenant, Facilities")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True, validators=[reject_nul])
    is_primary = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-is_primary", "name", "id"]

    def __str__(self) -> str:
        return self.name


class Asset(models.Model):
    """Equipment at a location (a furnace, a water heater, a panel) with its service history via jobs."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="assets")
    name = models.CharField(max_length=200, validators=[reject_nul], help_text="e.g. Furnace, Water heater")
    make = models.CharField(max_length=100, blank=True, validators=[reject_nul])
    model = models.CharField(max_length=100, blank=True, validators=[reject_nul])
    serial = models.CharField(max_length=100, blank=True, validators=[reject_nul])
    install_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=2000, validators=[reject_nul])
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["location_id", "name", "id"]

    def __str__(self) -> str:
        bits = " ".join(b for b in [self.make, self.model] if b)
        return f"{self.name} ({bits})" if bits else self.name
