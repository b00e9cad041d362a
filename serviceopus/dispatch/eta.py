"""Predicted arrivals (`Visit.eta`) for the visits still ahead today, refreshed in the background as the
day goes.

`refresh_etas(day)` drives each technician's remaining visits in their booked order from where the
technician is and when they are free (planner/replan.py `positions`: an overrun on site pushes every
later stop back, an early finish pulls them forward). Each stop's ETA is when the technician gets there;
a visit whose arrival window has not opened yet is waited for, so the next stop starts from the window,
but the ETA stays the arrival. A fixed break is taken before the first stop that would run into it.
Only the lead's day is driven: helpers come with the lead.

Only scheduled visits with a lead and visits on the road get an ETA; every other visit of the day that
still has one (arrived, done, cancelled, unassigned) loses it, so no page shows a stale promise.

The refresh is a background task, queued by the hooks below whenever a visit of today changes state or
time (which includes accepting a plan: that goes through the scheduling action). The enqueue writes its
row in the same transaction as the change, so a change that rolls back queues nothing.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from serviceopus.crew.models import Technician

from .models import Visit
from .planner.builder import shifts_and_time_off, working_hours
from .planner.model import BreakWindow, Place
from .planner.replan import day_visits, place_of, positions, resume, site
from .planner.travel import Matrix, TravelProvider, cached_matrix, provider_from_settings
from .status import VisitStatus

V = VisitStatus
# Refreshes asked for within this time of one already queued join it (a plan accepted writes a whole
# route at once; one refresh after it is enough).
DEBOUNCE = timedelta(seconds=5)
# A waiting refresh about to run may read the day before the change asking now commits: only one that
# waits at least this long still covers it.
MARGIN = timedelta(seconds=2)


def _minute(moment: datetime) -> datetime:
    """Rounded to the whole minute: pages show HH:MM, and seconds would rewrite rows for nothing."""
    return (moment + timedelta(seconds=30)).replace(second=0, microsecond=0)


class _Legs:
    """Travel seconds between places: the day's stable places (homes, the day's sites) from the cached
    matrix, legs from a phone's position from one small uncached request (a position is a one-off
    place: caching every one would fill the matrix table)."""

    def __init__(self, matrix: Matrix, extra: Matrix | None) -> None:
        self.matrix, self.extra = matrix, extra

    def seconds(self, origin: Place, destination: Place) -> int:
        if origin in self.matrix and destination in self.matrix:
            return self.matrix.travel(origin, destination)[0]
        assert self.extra is not None
        return self.extra.travel(origin, destination)[0]


def _drive(legs: _Legs, start: datetime, place: Place | None, rest: BreakWindow | None, stops: list[Visit]) -> dict[int, datetime]:
    """ETAs of `stops` driven in order from `place`, setting off at `start`."""
    etas: dict[int, datetime] = {}
    t = start
    for visit in stops:
        to = site(visit)
        travel = timedelta(seconds=legs.seconds(place, to)) if place is not None and to is not None else timedelta(0)
        length = timedelta(minutes=visit.duration_minutes)
        if rest is not None:
            begins = max(t + travel, visit.window_start or t + travel)
            if begins + length > rest.earliest_start:  # this stop would run into the break: take it first
                t = max(t, rest.earliest_start) + rest.length
                rest = None
        arrival = t + travel
        etas[visit.pk] = arrival
        t = max(arrival, visit.window_start or arrival) + length
        place = to or place
    return etas


def refresh_etas(day: date, now: datetime | None = None, *, provider: TravelProvider | None = None) -> int:
    """Recompute the ETAs of `day`'s visits from the state at `now` (see the module's text) and write
    the rows whose ETA changed (one bulk update; `updated_at` moves too, so the board's live updates
    redraw those cards, while `version` does not: an ETA is no edit). Returns how many rows changed.
    A fixed number of queries: six reads and one bulk update (and the insert of the day's matrix the
    first time), plus one travel request when a phone's position is involved."""
    now = now or timezone.now()
    provider = provider or provider_from_settings()
    visits, crews = day_visits(day, [s for s in V.values if s != V.UNSCHEDULED])
    tech_ids = sorted({t for crew in crews.values() for t in crew})
    technicians = list(Technician.objects.filter(pk__in=tech_ids).only("id", "home_lat", "home_lng").order_by("id"))
    homes = {t.pk: place_of(t.home_lat, t.home_lng) for t in technicians}
    shifts, off = shifts_and_time_off(tech_ids, day)

    where = positions(visits, crews, homes, now, provider)
    routes: dict[int, list[Visit]] = defaultdict(list)
    for visit in visits:
        crew = crews.get(visit.pk)
        if visit.status == V.SCHEDULED and crew and visit.scheduled_start is not None:
            routes[crew[0]].append(visit)

    # The cached matrix covers what stays put all day; phones' positions get their own small matrix.
    stable = list(dict.fromkeys([p for p in (homes[t] for t in tech_ids) if p is not None] + [p for p in map(site, visits) if p is not None]))
    matrix = cached_matrix(provider, day, stable) if len(stable) > 1 else Matrix(tuple(stable), ((0,),) * len(stable), ((0,),) * len(stable))
    loose = [(where[t].place, site(stops[0])) for t, stops in routes.items() if t in where and where[t].place not in matrix]
    extra = provider.matrix(list(dict.fromkeys(p for pair in loose for p in pair if p is not None))) if loose else None
    legs = _Legs(matrix, extra)

    etas: dict[int, datetime] = {}
    for tech, stops in routes.items():
        stops.sort(key=lambda v: (v.scheduled_start, v.pk))
        position = where.get(tech)
        if position is not None and position.arrival is not None and position.visit_id is not None:
            etas[position.visit_id] = position.arrival  # on the road to the visit under way
        shift_start, _, rest, _ = working_hours(day, shifts.get(tech, []), off.get(tech, []))
        free = max(now, shift_start or now, position.free_at if position else now)
        start, rest = resume(free, rest)
        place = position.place if position is not None and position.place is not None else homes.get(tech)
        etas.update(_drive(legs, start, place, rest, stops))
    for position in where.values():  # on the road with nothing booked after it
        if position.arrival is not None and position.visit_id is not None:
            etas.setdefault(position.visit_id, position.arrival)

    changed = []
    for visit in visits:
        eta = _minute(etas[visit.pk]) if visit.pk in etas else None
        if eta != visit.eta:
            visit.eta, visit.eta_updated_at, visit.updated_at = eta, now, now
            changed.append(visit)
    if changed:
        Visit.objects.bulk_update(changed, ["eta", "eta_updated_at", "updated_at"])
    return len(changed)


@task()
def refresh_etas_task(day: str) -> int:
    """The worker's side: refresh `day` (ISO date) as it stands when the task runs. In a savepoint, so
    that a failure never breaks a transaction it may run inside (a backend that runs tasks at once)."""
    with transaction.atomic():
        return refresh_etas(date.fromisoformat(day))


def queue_refresh(day: date) -> None:
    """Queue a refresh of `day`'s ETAs, unless one is already waiting to run (see DEBOUNCE). Only today
    has ETAs: nobody is on the road for another day."""
    if day != timezone.localdate():
        return
    from django_tasks_db.models import DBTaskResult

    backend = refresh_etas_task.get_backend()
    waiting = DBTaskResult.objects.filter(
        task_path=refresh_etas_task.module_path,
        status=TaskResultStatus.READY,
        run_after__gte=timezone.now() + MARGIN,
        args_kwargs__kwargs__day=day.isoformat(),
    )
    if waiting.exists():
        return
    queued = refresh_etas_task.using(run_after=timezone.now() + DEBOUNCE) if backend.supports_defer else refresh_etas_task
    queued.enqueue(day=day.isoformat())


def _day_of(visit: Visit) -> date | None:
    moment = visit.scheduled_start or visit.en_route_at
    return timezone.localdate(moment) if moment is not None else None


def visit_moved(*, actor: Any, visit: Visit, old: str, to: str) -> None:
    """VISIT_TRANSITION_HOOKS: start travel, arrive, pause, resume, depart, complete, cancel."""
    day = _day_of(visit)
    if day is not None:
        queue_refresh(day)


def visits_scheduled(*, actor: Any, visits: list[Visit], change: str) -> None:
    """VISIT_SCHEDULE_HOOKS: a visit booked or moved (a drag on the board, an accepted plan). A visit
    moved off the day of its ETA loses it here: the refresh of its old day no longer reads it."""
    stale = [v.pk for v in visits if v.eta is not None and _day_of(v) != timezone.localdate(v.eta)]
    if stale:
        Visit.objects.filter(pk__in=stale).update(eta=None, eta_updated_at=timezone.now())
    for day in sorted({d for d in map(_day_of, visits) if d is not None}):
        queue_refresh(day)


def install() -> None:
    """Register the hooks (from DispatchConfig.ready, which may run more than once)."""
    from .actions import VISIT_SCHEDULE_HOOKS, VISIT_TRANSITION_HOOKS

    for hooks, hook in ((VISIT_TRANSITION_HOOKS, visit_moved), (VISIT_SCHEDULE_HOOKS, visits_scheduled)):
        if hook not in hooks:
            hooks.append(hook)
