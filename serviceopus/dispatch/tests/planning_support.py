"""A small seeded day for the "Plan day" tests (runs, accepting, pages, the browser): technicians with
shifts and home bases around Chicago, and visits with arrival windows on one day, some assigned."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from serviceopus.crew.models import Technician, WeeklyShift
from serviceopus.dispatch.models import Visit
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, LocationFactory, TechnicianFactory, UserFactory, VisitFactory

# Sites a few km apart, west to east and north to south of the Loop.
SITES = [
    ("41.880000", "-87.630000"),
    ("41.900000", "-87.650000"),
    ("41.860000", "-87.610000"),
    ("41.920000", "-87.700000"),
    ("41.850000", "-87.680000"),
    ("41.940000", "-87.640000"),
    ("41.870000", "-87.720000"),
    ("41.910000", "-87.600000"),
]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def technician(name: str, day: date, *, home: tuple[str, str] = ("41.890000", "-87.640000"), shift: tuple[int, int] = (8, 17)) -> Technician:
    tech = TechnicianFactory(user=UserFactory(first_name=name, last_name="Tech"), shifts=[], home_lat=Decimal(home[0]), home_lng=Decimal(home[1]))
    WeeklyShift.objects.create(technician=tech, weekday=day.weekday(), start=time(shift[0]), end=time(shift[1]))
    return tech


def visit(day: date, site: int, hour: int, *, crew: list[Technician] | None = None, window_hours: int = 3, duration: int = 60) -> Visit:
    lat, lng = SITES[site % len(SITES)]
    job = JobFactory(location=LocationFactory(lat=Decimal(lat), lng=Decimal(lng)), status=JobStatus.SCHEDULED)
    return VisitFactory(
        job=job,
        scheduled_start=at(day, hour),
        window_start=at(day, hour),
        window_end=at(day, hour) + timedelta(hours=window_hours),
        duration_minutes=duration,
        crew=crew or [],
    )


@dataclass
class SeededDay:
    day: date
    technicians: list[Technician]
    visits: list[Visit] = field(default_factory=list)


def seed_day(day: date, *, technicians: int = 2, visits: int = 6) -> SeededDay:
    """`technicians` technicians 08–17 and `visits` one-hour visits with three-hour windows from 08:00,
    every other one assigned (badly: all to the first technician, back and forth across town)."""
    names = ["Alex", "Blair", "Casey", "Drew", "Emery"]
    techs = [technician(names[i], day, home=SITES[(i * 3) % len(SITES)]) for i in range(technicians)]
    seeded = SeededDay(day, techs)
    for i in range(visits):
        seeded.visits.append(visit(day, i, 8 + (i % 5), crew=[techs[0]] if i % 2 == 0 else None))
    return seeded
