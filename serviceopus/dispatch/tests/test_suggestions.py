from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from serviceopus.crew.models import TimeOff
from serviceopus.dispatch.suggestions import suggest_crew
from tests.factories import JobFactory, LocationFactory, SkillFactory, TechnicianFactory, VisitFactory


def at(hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=1), time(hour)))


def test_ranks_free_skilled_technicians_and_explains_each_score(db):
    gas = SkillFactory(name="Gas")
    site = LocationFactory(lat=Decimal("41.880000"), lng=Decimal("-87.630000"))
    job = JobFactory(location=site, customer=site.customer)
    job.required_skills.add(gas)
    near = TechnicianFactory(home_lat=Decimal("41.880000"), home_lng=Decimal("-87.640000"))  # ~0.8 km
    far = TechnicianFactory(home_lat=Decimal("41.980000"), home_lng=Decimal("-87.630000"))  # ~11 km
    busy = TechnicianFactory()
    off = TechnicianFactory()
    unskilled = TechnicianFactory()
    for tech in (near, far, busy, off):
        tech.skills.add(gas)
    VisitFactory(crew=[busy], scheduled_start=at(9), duration_minutes=120)
    TimeOff.objects.create(technician=off, start=at(0), end=at(23), reason="Holiday")
    # `far` served this customer before: +15 does not make up for 20 more points of distance.
    JobFactory(location=site, customer=site.customer, technicians=[far])

    found = suggest_crew(job, at(10), 60)

    assert [s.technician for s in found] == [near, far]
    assert unskilled not in [s.technician for s in found]
    best, second = found
    assert best.score > second.score
    assert any("km from home base" in r for r in best.reasons)
    assert second.previous is True
    assert any("served this customer before" in r for r in second.reasons)
    assert round(second.score, 1) == round(100 - min(50, second.distance_km * 2) + 15, 1)


def test_distance_counts_from_the_previous_stop_of_the_day(db):
    site = LocationFactory(lat=Decimal("41.880000"), lng=Decimal("-87.630000"))
    job = JobFactory(location=site, customer=site.customer)
    tech = TechnicianFactory(home_lat=Decimal("42.500000"), home_lng=Decimal("-88.000000"))
    earlier = JobFactory(location=LocationFactory(lat=Decimal("41.881000"), lng=Decimal("-87.630000")))
    VisitFactory(job=earlier, crew=[tech], scheduled_start=at(8), duration_minutes=60)

    [only] = suggest_crew(job, at(10), 60)
    assert only.distance_km is not None
    assert only.distance_km < 0.2
    assert any("previous stop" in r for r in only.reasons)
    assert only.booked_minutes == 60
