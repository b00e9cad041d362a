"""The demo company's visits (`manage.py seed_demo`): a day that looks alive whenever the demo is opened,
the weeks ahead, and the history behind the finished jobs.

Today's and future visits go through the real actions (visit_schedule, visit_transition, visit_update)
with the clock set to the moment each step happens, so every row — visit stamps, VisitEvents, the job's
timeline, the crew's time entries, a drafted return visit — is exactly what the product writes. Visits of
finished work cannot be scheduled any more (the actions refuse a closed job), so they are written in bulk
with the rows the actions would have written (dispatch.seeding.VisitRows). Finally each job's technicians
and next visit are derived from its visits by the same function the actions use.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from random import Random

from django.db import connection
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.core.errors import ConflictError
from serviceopus.crew.models import Technician, TimeOff
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import JobEvent
from serviceopus.jobs.status import JobStatus

from . import actions
from .models import CrewMember, Visit, VisitEvent
from .seeding import CREW_COLUMNS, TIME_ENTRY_COLUMNS, VISIT_COLUMNS, VISIT_EVENT_COLUMNS, VisitRows
from .status import Outcome, VisitStatus

V = VisitStatus
DAY_START, DAY_END = time(7, 0), time(17, 0)
GAP = timedelta(minutes=15)  # travel between two stops
PAUSE_REASON = "Waiting for a part from the supplier"


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Run the actions as if it were `moment`: they stamp `timezone.now()`, and a demo needs a past.
    Only for this single-threaded command; nothing else runs while the clock is set."""
    real = timezone.now
    timezone.now = lambda: moment
    try:
        yield
    finally:
        timezone.now = real


@dataclass
class Planned:
    """A job's visit as the demo planned it while building the job."""

    job_id: int
    status: str  # the job's final status
    start: datetime
    minutes: int
    crew: list[Technician]
    scheduled_at: datetime  # when the office booked it
    created_at: datetime  # when the job was created
    done_at: datetime | None = None  # when the job's work was complete (finished jobs)
    hold_reason: str = ""
    late: bool = False  # today's visit whose crew has not left yet, although its window has ended
    return_pending: bool = False  # the job waits for its return visit


class Calendar:
    """Who is busy when, so the demo books nobody twice and nobody on their time off."""

    def __init__(self) -> None:
        self.busy: dict[int, list[tuple[datetime, datetime]]] = {}
        self.off: dict[int, list[tuple[datetime, datetime]]] = {}

    def is_off(self, technician: Technician, day: date) -> bool:
        start = timezone.make_aware(datetime.combine(day, DAY_START))
        end = timezone.make_aware(datetime.combine(day, DAY_END))
        return any(s < end and start < e for s, e in self.off.get(technician.pk, []))

    def free(self, crew: list[Technician], start: datetime, end: datetime) -> bool:
        return all(e + GAP <= start or end + GAP <= s for t in crew for s, e in self.busy.get(t.pk, []))

    def hold(self, crew: list[Technician], start: datetime, end: datetime) -> None:
        for t in crew:
            self.busy.setdefault(t.pk, []).append((start, end))

    def load(self, technician: Technician, day: date) -> int:
        return sum(1 for s, _ in self.busy.get(technician.pk, []) if timezone.localtime(s).date() == day)

    def book(self, crew: list[Technician], start: datetime, minutes: int, *, days: int = 1, latest: datetime | None = None) -> datetime:
        """The free start nearest `start`, in half hours within 07:00–17:00, on its day or (when `days` > 1)
        one of the following weekdays, ending by `latest` when given (work already done must not move
        past the present); `start` itself when all are full (scheduling then records a manager's
        override)."""
        length = timedelta(minutes=minutes)
        day = timezone.localtime(start).date()
        for shift in range(days):
            if shift:
                day += timedelta(days=1)
                while day.weekday() >= 5:
                    day += timedelta(days=1)
            preferred = timezone.make_aware(datetime.combine(day, timezone.localtime(start).time()))
            first = timezone.make_aware(datetime.combine(day, DAY_START))
            last = timezone.make_aware(datetime.combine(day, DAY_END)) - length
            for step in range(0, 20):
                for sign in (1, -1):
                    at = preferred + sign * step * timedelta(minutes=30)
                    if first <= at <= last and (latest is None or at + length <= latest) and self.free(crew, at, at + length):
                        self.hold(crew, at, at + length)
                        return at
        self.hold(crew, start, start + length)
        return start


def add_time_off(technicians: dict[str, Technician], today: date, calendar: Calendar) -> None:
    """A week's holiday and an afternoon at the dentist, kept clear of the demo's bookings."""
    periods = [
        ("tech6", today + timedelta(days=3), 0, 5 * 24, "Family holiday"),
        ("tech9", today + timedelta(days=1), 12, 5, "Dentist appointment"),
    ]
    rows = []
    for username, day, hour, hours, reason in periods:
        technician = technicians.get(username)
        if technician is None:
            continue
        start = timezone.make_aware(datetime.combine(day, time(hour)))
        end = start + timedelta(hours=hours)
        rows.append(TimeOff(technician=technician, start=start, end=end, reason=reason))
        calendar.off.setdefault(technician.pk, []).append((start, end))
    TimeOff.objects.bulk_create(rows)


class DemoSchedule:
    def __init__(self, rng: Random, *, now: datetime, dispatcher: User, manager: User, office: User) -> None:
        self.rng = rng
        self.now = now
        self.today = timezone.localdate(now)
        self.dispatcher, self.manager, self.office = dispatcher, manager, office
        self.history = VisitRows(lambda epoch: datetime.fromtimestamp(epoch, UTC), [], [], [], [])
        self.next_id = (Visit.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        self.drafted_return = False
        self.synced: set[int] = set()  # jobs whose visits were written by the actions, which keep them in step

    def build(self, plans: list[Planned]) -> None:
        plans = sorted(plans, key=lambda p: p.scheduled_at)
        live = [p for p in plans if p.status in (JobStatus.SCHEDULED, JobStatus.IN_PROGRESS) and not p.return_pending]
        for plan in plans:
            if plan not in live:
                self.past(plan)
        self.write_history()
        # The crew out longest today is the one waiting for a part (paused long enough to be flagged).
        started = [p for p in live if p.status == JobStatus.IN_PROGRESS and p.crew and timezone.localtime(p.start).date() == self.today]
        paused = min(started, key=lambda p: p.start, default=None)
        steps: list[tuple] = []
        for plan in live:
            self.live(plan, pause=plan is paused, steps=steps)
            self.synced.add(plan.job_id)
        for at, visit_id, actor, to, reason, outcome in sorted(steps, key=lambda step: (step[0], step[1])):
            with clock_at(at):
                actions.visit_transition(actor=actor, visit_id=visit_id, to=to, reason=reason, outcome=outcome)
        # The actions' own defaults stamp the real clock where they give no time (a drafted return
        # visit's creation, time entries' creation): give those rows the time they stand for.
        for entry in TimeEntry.objects.filter(created_at__gt=self.now):
            TimeEntry.objects.filter(pk=entry.pk).update(created_at=entry.start)
        for visit in Visit.objects.filter(created_at__gt=self.now).select_related("return_of"):
            at = (visit.return_of.completed_at if visit.return_of else None) or self.now
            Visit.objects.filter(pk=visit.pk).update(created_at=at, updated_at=max(at, visit.updated_at if visit.updated_at <= self.now else at))

    def sync(self, job_ids: list[int]) -> None:
        """Every demo job's technicians and next visit, from its visits (none for a new job)."""
        for job_id in job_ids:
            actions.sync_job_from_visits(job_id)

    # ---- finished work, written in bulk -----------------------------------------------------------

    def past(self, plan: Planned) -> None:
        """One completed visit of finished work (or of a job on hold for parts: that one needs a return)."""
        visit_id = self.next_id
        self.next_id += 1
        crew_ids = [t.pk for t in plan.crew]
        users = {t.pk: t.user_id for t in plan.crew}
        minutes = plan.minutes
        # The crew sets off after the job exists (office hours can push a job's creation past its slot).
        start = max(plan.start, plan.created_at + timedelta(hours=1))
        if plan.done_at is not None:  # the work ends when the job says it did
            minutes = max(20, int((plan.done_at - start).total_seconds() // 60) - 10)
        needs_return = plan.status == JobStatus.ON_HOLD or plan.return_pending
        completed = self.history.add(
            rng=self.rng,
            visit_id=visit_id,
            job_id=plan.job_id,
            number=1,
            crew=crew_ids,
            users=users,
            start=start.timestamp(),
            minutes=minutes,
            status=V.COMPLETED,
            scheduled_by=self.dispatcher.pk,
            scheduled_at=max(plan.created_at + timedelta(minutes=1), min(plan.scheduled_at, start - timedelta(hours=1))).timestamp(),
            outcome=Outcome.RETURN_NEEDED if needs_return else Outcome.FINISHED,
            reviewer=self.office.pk if plan.status in (JobStatus.INVOICED, JobStatus.CLOSED) else None,
            lead_name=plan.crew[0].name if plan.crew else "",
            snapshot=self.now.timestamp(),
        )
        if needs_return and completed is not None:
            # The return visit the completion drafted; the office has not booked it yet.
            draft = (
                self.next_id, plan.job_id, 2, V.UNSCHEDULED, None, plan.minutes, None, None, "", visit_id, "",
                None, None, None, None, None, self.dispatcher.pk, completed, completed,
            )  # fmt: skip
            self.history.visits.append(draft)
            self.history.events.append(
                (
                    self.next_id,
                    plan.crew[0].user_id if plan.crew else None,
                    "scheduled",
                    "",
                    V.UNSCHEDULED,
                    completed,
                    "Return visit drafted after visit 1",
                    "{}",
                )
            )
            self.next_id += 1

    def write_history(self) -> None:
        h = self.history

        def model_rows(model: type, columns: tuple[str, ...], rows: list[tuple]) -> list:
            names = [model._meta.get_field(c).attname for c in columns]
            made = []
            for row in rows:
                values = dict(zip(names, row, strict=True))
                if "data" in values:
                    values["data"] = json.loads(values["data"])
                made.append(model(**values))
            return made

        def as_time(value: object) -> object:
            return datetime.fromtimestamp(value, UTC) if isinstance(value, float) else value

        h.visits = [tuple(as_time(v) for v in row) for row in h.visits]
        h.events = [tuple(as_time(v) for v in row) for row in h.events]
        visits = model_rows(Visit, VISIT_COLUMNS, h.visits)
        Visit.objects.bulk_create(visits)
        CrewMember.objects.bulk_create(model_rows(CrewMember, CREW_COLUMNS, h.crew))
        events = model_rows(VisitEvent, VISIT_EVENT_COLUMNS, h.events)
        VisitEvent.objects.bulk_create(events)
        TimeEntry.objects.bulk_create(model_rows(TimeEntry, TIME_ENTRY_COLUMNS, h.time_entries))
        # The job's own timeline carries each visit event too, as the actions write it.
        numbers = {v.pk: (v.job_id, v.number) for v in visits}
        JobEvent.objects.bulk_create(
            [
                JobEvent(
                    job_id=numbers[e.visit_id][0],
                    actor_id=e.actor_id,
                    kind=JobEvent.Kind.VISIT,
                    old_value=e.from_status,
                    new_value=e.to_status,
                    message=f"Visit {numbers[e.visit_id][1]}: {e.message}"[:500],
                    data={"visit": e.visit_id},
                    created_at=e.at,
                )
                for e in events
            ]
        )
        if connection.vendor == "postgresql":  # explicit ids above: move the sequence past them
            with connection.cursor() as cursor:
                cursor.execute("SELECT setval(pg_get_serial_sequence('dispatch_visit', 'id'), (SELECT max(id) FROM dispatch_visit))")

    # ---- today and ahead, through the actions -----------------------------------------------------

    def live(self, plan: Planned, *, pause: bool, steps: list[tuple]) -> None:
        """Book the visit; add the crew's status changes so far to `steps` (run later, in time order
        over all visits, as the day happened: a technician's next trip closes the last one's time)."""
        lead = plan.crew[0] if plan.crew else None
        with clock_at(plan.scheduled_at):
            visit = self.schedule(plan, lead)
        if lead is None:
            return
        user = lead.user
        if plan.status != JobStatus.IN_PROGRESS:  # scheduled work waits; a late crew has not set off
            return
        rng = self.rng
        en_route = plan.start - timedelta(minutes=rng.randint(15, 35))
        arrived = plan.start + timedelta(minutes=rng.randint(-10, 12))
        working = arrived + timedelta(minutes=rng.randint(3, 8))
        ends = working + timedelta(minutes=plan.minutes)
        planned = [(en_route, V.EN_ROUTE, "", ""), (arrived, V.ARRIVED, "", ""), (working, V.WORKING, "", "")]
        if pause:
            pause_at = min(working + timedelta(minutes=rng.randint(20, 40)), self.now - timedelta(minutes=45))
            planned.append((max(pause_at, working + timedelta(minutes=5)), V.PAUSED, PAUSE_REASON, ""))
        else:
            planned.append((ends, V.DEPARTED, "", ""))
            if not self.drafted_return and ends + timedelta(minutes=2) < self.now:
                # One crew found more to do: the completion drafts the return visit for the office to book.
                self.drafted_return = True
                planned.append((ends + timedelta(minutes=2), V.COMPLETED, "", Outcome.RETURN_NEEDED))
        for at, to, reason, outcome in planned:
            if at >= self.now:
                break  # that moment has not come yet
            steps.append((at, visit.pk, user, to, reason, outcome))

    def schedule(self, plan: Planned, lead: Technician | None) -> Visit:
        local = timezone.localtime(plan.start)
        window_start = local.replace(minute=0)
        window_end = window_start + timedelta(hours=2)
        kwargs = {
            "job_id": plan.job_id,
            "start": plan.start,
            "duration_minutes": plan.minutes,
            "window_start": window_start,
            "window_end": window_end,
            "lead_id": lead.pk if lead else None,
            "helper_ids": [t.pk for t in plan.crew[1:]],
        }
        try:
            return actions.visit_schedule(actor=self.dispatcher, **kwargs)[0]
        except ConflictError:
            # A weekend call-out or a full day: the manager books it anyway, as the product records.
            reason = "Weekend call-out agreed with the customer" if local.weekday() >= 5 else "Customer cannot do another day"
            return actions.visit_schedule(actor=self.manager, override_reason=reason, **kwargs)[0]
