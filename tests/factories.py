"""factory-boy factories for every model. Jobs made here get their search text too; technicians work
every day 07:00–19:00 unless made with `shifts=[]` (or other WeeklyShift rows)."""

from datetime import time, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.crew.models import Skill, Technician, WeeklyShift
from serviceopus.customers.models import Asset, Contact, Customer, Location
from serviceopus.dispatch.models import CrewMember, Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs import search
from serviceopus.jobs.models import Job, JobType, LineItem
from serviceopus.jobs.status import JobStatus


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.OFFICE

    @factory.post_generation
    def password(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        self.set_password(extracted or "pass-123-word")
        if create:
            self.save(update_fields=["password"])


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Skill {n}")


class TechnicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Technician
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, role=Role.TECHNICIAN)
    home_lat = Decimal("41.878100")
    home_lng = Decimal("-87.629800")
    hourly_cost_cents = 3500

    @factory.post_generation
    def shifts(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create and extracted is None:
            WeeklyShift.objects.bulk_create([WeeklyShift(technician=self, weekday=d, start=time(7), end=time(19)) for d in range(7)])


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Faker("email")
    phone = "555-0100"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    customer = factory.SubFactory(CustomerFactory)
    street = factory.Faker("street_address")
    city = "Chicago"
    region = "IL"
    postal_code = "60601"
    lat = Decimal("41.880000")
    lng = Decimal("-87.630000")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Faker("name")
    phone = "555-0101"


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    location = factory.SubFactory(LocationFactory)
    name = "Furnace"
    make = "Carrier"
    model = "59TP6"
    serial = factory.Sequence(lambda n: f"SN{n:08d}")


class JobTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JobType
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Job type {n}")
    default_duration_minutes = 90


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"T-{n:06d}")
    location = factory.SubFactory(LocationFactory)
    customer = factory.LazyAttribute(lambda j: j.location.customer)
    job_type = factory.SubFactory(JobTypeFactory)
    scope = "Furnace makes a rattling noise when starting"
    status = JobStatus.NEW
    created_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def technicians(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create and extracted:
            for tech in extracted:
                self.technicians.add(tech)

    @factory.post_generation
    def index(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            search.reindex_jobs([self.pk])


class LineItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LineItem

    job = factory.SubFactory(JobFactory)
    kind = LineItem.Kind.SERVICE
    description = "Diagnostic visit"
    quantity = Decimal("1")
    unit_price_cents = 8900
    unit_cost_cents = 0


class VisitFactory(factory.django.DjangoModelFactory):
    """A scheduled visit written directly (no checks, no job follow-up): for tests that need one in
    place. `crew=[lead, helper…]` sets the crew. Tests of scheduling itself call the actions."""

    class Meta:
        model = Visit
        skip_postgeneration_save = True

    job = factory.SubFactory(JobFactory, status=JobStatus.SCHEDULED)
    number = factory.Sequence(lambda n: n + 1)
    status = VisitStatus.SCHEDULED
    scheduled_start = factory.LazyFunction(lambda: timezone.now().replace(microsecond=0))
    duration_minutes = 60
    window_start = factory.LazyAttribute(lambda v: v.scheduled_start)
    window_end = factory.LazyAttribute(lambda v: v.scheduled_start + timedelta(hours=2) if v.scheduled_start else None)

    @factory.post_generation
    def crew(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create and extracted:
            CrewMember.objects.bulk_create([CrewMember(visit=self, technician=t, is_lead=(i == 0)) for i, t in enumerate(extracted)])
            for tech in extracted:
                self.job.technicians.add(tech)


# ---- inventory ---------------------------------------------------------------------------------------


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Vendor"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Supplier {n}")
    lead_time_days = 3


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.InventoryItem"
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Part {n}")
    unit = "each"
    default_cost_cents = 1200
    default_price_cents = 2500
    preferred_vendor = factory.SubFactory(VendorFactory)


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.StockLocation"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Warehouse {n}")
    kind = "warehouse"


class TruckFactory(factory.django.DjangoModelFactory):
    """`TruckFactory(technician=tech)`: that technician's truck."""

    class Meta:
        model = "inventory.StockLocation"

    name = factory.LazyAttribute(lambda t: f"Truck · {t.technician.user.username}")
    kind = "truck"
