"""Crew suggestions: who should take this visit?

Candidates are the active technicians who hold every skill the job requires and are free for the
whole visit (no other visit, inside their shift, not on time off — availability.assignment_problems
with the skills left to this module). Each candidate gets a score out of 100, higher is better:

    score = 100
            − 2 per km from their previous stop that day (or their home base), at most −50
            − 5 per hour already booked that day, at most −30
            + 15 if they served this customer before (the customer's previous technician)

Distances are straight-line (haversine); an unknown position costs a flat 10 km. Every suggestion
carries the reasons that make up its score, so a dispatcher can see why one is ranked above another.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from serviceopus.core.geo import haversine_km
from serviceopus.crew.models import Technician, TimeOff, WeeklyShift
from serviceopus.jobs.models import Job, JobTechnician

from .availability import busy_intervals, within_shifts
from .models import CrewMember
from .queries import day_bounds
from .status import ACTIVE

KM_PENALTY, KM_CAP = 2.0, 50.0
HOUR_PENALTY, HOUR_CAP = 5.0, 30.0
PREVIOUS_BONUS = 15.0
UNKNOWN_KM = 10.0
LIMIT = 10


@dataclass
class Suggestion:
    technician: Technician
    score: float
    reasons: list[str] = field(default_factory=list)
    distance_km: float | None = None
    booked_minutes: int = 0
    previous: bool = False

    def as_dict(self) -> dict:
        return {
            "technician": self.technician.pk,
            "name": self.technician.name,
            "score": round(self.score, 1),
            "reasons": self.reasons,
            "distance_km": None if self.distance_km is None else round(self.distance_km, 1),
            "booked_minutes": self.booked_minutes,
            "previous_technician": self.previous,
        }


def suggest_crew(job: Job, start: datetime, duration_minutes: int, *, exclude_visit_id: int | None = None, limit: int = LIMIT) -> list[Suggestion]:
    """The best `limit` technicians for the job at [start, start + duration), best first. A fixed
    number of queries whatever the number of technicians."""
    end = start + timedelta(minutes=duration_minutes)
    required = {s.pk for s in job.required_skills.all()}
    technicians = [
        t for t in Technician.objects.filter(active=True).select_related("user").prefetch_related("skills") if required <= {s.pk for s in t.skills.all()}
    ]
    ids = [t.pk for t in technicians]
    busy = busy_intervals(ids, start, end, exclude_visit_id=exclude_visit_id)
    shifts: dict[int, list[WeeklyShift]] = defaultdict(list)
    for shift in WeeklyShift.objects.filter(technician_id__in=ids):
        shifts[shift.technician_id].append(shift)
    off = set(TimeOff.objects.filter(technician_id__in=ids, start__lt=end, end__gt=start).values_list("technician_id", flat=True))
    free = [t for t in technicians if t.pk not in busy and t.pk not in off and within_shifts(shifts[t.pk], start, end)]
    free_ids = [t.pk for t in free]

    # That day's visits of the free technicians: workload, and the stop before this one.
    day_start, day_end = day_bounds(timezone.localtime(start).date())
    booked: dict[int, int] = defaultdict(int)
    previous_stop: dict[int, tuple[datetime, object, object]] = {}
    members = (
        CrewMember.objects.filter(
            technician_id__in=free_ids, visit__status__in=ACTIVE, visit__scheduled_start__gte=day_start, visit__scheduled_start__lt=day_end
        )
        .exclude(visit_id=exclude_visit_id)
        .values_list("technician_id", "visit__scheduled_start", "visit__duration_minutes", "visit__job__location__lat", "visit__job__location__lng")
    )
    for tech_id, visit_start, minutes, lat, lng in members:
        booked[tech_id] += minutes
        if visit_start < start and (tech_id not in previous_stop or visit_start > previous_stop[tech_id][0]):
            previous_stop[tech_id] = (visit_start, lat, lng)
    served = set(
        JobTechnician.objects.filter(job__customer_id=job.customer_id, technician_id__in=free_ids)
        .exclude(job_id=job.pk)
        .values_list("technician_id", flat=True)
    )

    site = job.location
    suggestions = []
    for tech in free:
        reasons = []
        if tech.pk in previous_stop:
            _, lat, lng = previous_stop[tech.pk]
            origin = "previous stop"
        else:
            lat, lng = tech.home_lat, tech.home_lng
            origin = "home base"
        if None in (lat, lng, site.lat, site.lng):
            km = None
            distance_cost = UNKNOWN_KM * KM_PENALTY
            reasons.append(f"−{distance_cost:.0f}: distance from {origin} unknown")
        else:
            km = haversine_km(lat, lng, site.lat, site.lng)  # type: ignore[arg-type]
            distance_cost = min(KM_CAP, km * KM_PENALTY)
            reasons.append(f"−{distance_cost:.0f}: {km:.1f} km from {origin}")
        hours = booked[tech.pk] / 60
        workload_cost = min(HOUR_CAP, hours * HOUR_PENALTY)
        reasons.append(f"−{workload_cost:.0f}: {hours:.1f} h already booked that day" if hours else "−0: nothing else booked that day")
        score = 100 - distance_cost - workload_cost
        previous = tech.pk in served
        if previous:
            score += PREVIOUS_BONUS
            reasons.append(f"+{PREVIOUS_BONUS:.0f}: has served this customer before")
        suggestions.append(Suggestion(tech, score, reasons, km, booked[tech.pk], previous))
    suggestions.sort(key=lambda s: (-s.score, s.technician.name))
    return suggestions[:limit]
