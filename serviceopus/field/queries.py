"""Every read the technician's phone pages and the job's Time tab need. Each reads a fixed number of
queries whatever the number of visits or entries."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote_plus

from django.http import Http404
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.geo import maps_url
from serviceopus.crew.models import Technician
from serviceopus.customers.models import Location
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.queries import access_visit_for_user, day_bounds, technician_day, technician_for, visit_timeline
from serviceopus.dispatch.status import ON_SITE, VisitStatus, next_actions
from serviceopus.jobs.models import Job

from .models import TimeEntry

V = VisitStatus

# One-tap pause reasons on the visit screen (free text is offered too).
PAUSE_REASONS = ("Waiting for parts", "Customer request", "Break", "Waiting for access")

# The big button of a My day card: the one step that needs nothing but a tap. Steps that need a
# choice (pause, complete) open the visit screen instead.
CARD_STEP = {V.SCHEDULED: V.EN_ROUTE, V.EN_ROUTE: V.ARRIVED, V.ARRIVED: V.WORKING, V.PAUSED: V.WORKING}
STEP_LABELS = {V.EN_ROUTE: "Start travel", V.ARRIVED: "Arrived", V.WORKING: "Start work"}


def navigation_url(location: Location) -> str:
    """A link the phone opens in its maps app: to the exact point when the address is geocoded,
    otherwise a search for the address (still better than no link)."""
    if location.lat is not None and location.lng is not None:
        return maps_url(location.lat, location.lng)
    return "https://www.google.com/maps/search/?api=1&query=" + quote_plus(location.one_line)


def require_technician(user: User) -> Technician:
    """The signed-in user's Technician row; other users have no day of their own (404)."""
    technician = technician_for(user)
    if technician is None:
        raise Http404("Only technicians have a day of visits.")
    return technician


@dataclass
class Card:
    visit: Visit
    nav_url: str
    step: str  # the status the big button moves to; "" when the step needs the visit screen
    step_label: str


def card_for(visit: Visit) -> Card:
    step = CARD_STEP.get(visit.status, "")
    label = "Resume work" if visit.status == V.PAUSED else STEP_LABELS.get(step, "")
    return Card(visit=visit, nav_url=navigation_url(visit.job.location), step=step, step_label=label)


def my_day(technician: Technician, day: date) -> list[Card]:
    """The technician's visits that day in route order, each with its navigation link and next step."""
    return [card_for(v) for v in technician_day(technician, day)]


@dataclass
class VisitScreen:
    visit: Visit
    nav_url: str
    assets: list
    actions: list[tuple[str, str]]  # (status, label) of the allowed transitions, field-flow order
    can_finish: bool  # "Finish & depart" in one tap
    timeline: object
    next_stop: Visit | None  # for "Start travel to next stop" once this visit is left

    @property
    def allowed(self) -> set[str]:
        return {status for status, _ in self.actions}

    @property
    def main_steps(self) -> list[tuple[str, str]]:
        """The forward steps that need only a tap (travel, arrive, start or resume work)."""
        resume = self.visit.status == V.PAUSED
        return [(s, "Resume work" if resume and s == V.WORKING else label) for s, label in self.actions if s in (V.EN_ROUTE, V.ARRIVED, V.WORKING)]


def next_stop_for(technician: Technician | None, visit: Visit) -> Visit | None:
    """The technician's next scheduled visit that day after `visit` in route order; failing that, any
    visit of theirs still scheduled that day (one skipped earlier)."""
    if technician is None or visit.scheduled_start is None:
        return None
    start, end = day_bounds(timezone.localdate(visit.scheduled_start))
    candidates = list(
        Visit.objects.filter(crew__technician=technician, status=V.SCHEDULED, scheduled_start__gte=start, scheduled_start__lt=end)
        .exclude(pk=visit.pk)
        .select_related("job__customer")
        .order_by("scheduled_start", "id")
    )
    later = [v for v in candidates if v.scheduled_start and (v.scheduled_start, v.pk) > (visit.scheduled_start, visit.pk)]
    return (later or candidates or [None])[0]


def visit_screen(user: User, visit_id: int) -> VisitScreen:
    """The visit with everything the crew needs on site, or Http404 for a technician not on its crew."""
    visit = access_visit_for_user(user, visit_id)
    next_stop = None
    if visit.status in (V.DEPARTED, V.COMPLETED):
        crew = list(visit.crew.all())
        own = next((c.technician for c in crew if c.technician.user_id == user.pk), None)
        lead = next((c.technician for c in crew if c.is_lead), None)
        next_stop = next_stop_for(own or lead, visit)
    return VisitScreen(
        visit=visit,
        nav_url=navigation_url(visit.job.location),
        assets=list(visit.job.assets.all()),
        actions=next_actions(visit.status),
        can_finish=visit.status in ON_SITE,
        timeline=visit_timeline(visit),
        next_stop=next_stop,
    )


# ---- the job's Time tab ------------------------------------------------------------------------------


@dataclass
class PersonTime:
    technician: Technician
    entries: list[TimeEntry] = field(default_factory=list)
    minutes: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # kind → approved + pending
    pending_minutes: int = 0
    running: int = 0

    @property
    def total(self) -> int:
        return sum(self.minutes.values())

    @property
    def travel(self) -> int:
        return self.minutes.get(TimeEntry.Kind.TRAVEL, 0)

    @property
    def work(self) -> int:
        return self.minutes.get(TimeEntry.Kind.WORK, 0)


@dataclass
class TimeReview:
    people: list[PersonTime]
    corrected_by: dict[int, TimeEntry]  # original's id → its correction
    travel: int
    work: int
    pending: int

    @property
    def total(self) -> int:
        return self.travel + self.work


def time_review(job: Job) -> TimeReview:
    """The job's time entries grouped per crew member (in the order they first logged time) with totals
    per person and kind. Corrected originals stay listed but count nothing; running entries count
    once they end."""
    entries = list(TimeEntry.objects.filter(job=job).select_related("technician__user", "visit").order_by("start", "id"))
    people: dict[int, PersonTime] = {}
    corrected_by: dict[int, TimeEntry] = {}
    for entry in entries:
        person = people.setdefault(entry.technician_id, PersonTime(entry.technician))
        person.entries.append(entry)
        if entry.corrects_id:
            corrected_by[entry.corrects_id] = entry
        if entry.review == TimeEntry.Review.CORRECTED:
            continue
        if entry.minutes is None:
            person.running += 1
            continue
        person.minutes[entry.kind] += entry.minutes
        if entry.review == TimeEntry.Review.PENDING:
            person.pending_minutes += entry.minutes
    listed = list(people.values())
    return TimeReview(
        people=listed,
        corrected_by=corrected_by,
        travel=sum(p.travel for p in listed),
        work=sum(p.work for p in listed),
        pending=sum(p.pending_minutes for p in listed),
    )


def time_entry_of_job(job: Job, entry_id: int) -> TimeEntry:
    entry = TimeEntry.objects.filter(job=job, pk=entry_id).select_related("technician__user").first()
    if entry is None:
        raise Http404("No such time entry on this job.")
    return entry


def technician_choices() -> list[Technician]:
    return list(Technician.objects.filter(active=True).select_related("user").order_by("user__first_name", "user__last_name", "id"))


def time_technicians(user: User) -> list[Technician]:
    """Whose time this user may enter by hand: anyone's for a reviewer, their own otherwise."""
    if user.has_perm("field.review_time"):
        return technician_choices()
    own = technician_for(user)
    return [own] if own is not None else []
