"""Visits for the scale seeder (`manage.py seed_scale`) and the benchmark's day.

The scale seeder writes rows directly, so this module says what the dispatch actions would have
written for a visit that went through its life: the visit with its stamps, the crew, one VisitEvent per
status step and the crew's time entries (travel = en route → arrived, work = working → departed or
paused). Everything works on UTC epoch floats and plain tuples: a million jobs must stay cheap.

The bench day is one day laid out exactly, whatever the size of the data around it: `technicians`
technicians with `visits` visits between them (200 × 1,500 by default, 7 or 8 stops each in 75-minute
slots from 07:00, a helper riding along where a technician leads one visit fewer), shown as the board
would see it at noon: the morning's visits completed, the late-morning ones en route, on site or
paused, the afternoon still scheduled. The random history never puts a visit on that day, so the
dispatch board and a technician's day cost the same work at 10,000 and at 1,000,000 jobs.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from random import Random

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.crew.models import Technician, WeeklyShift

from .status import Outcome, VisitStatus

V = VisitStatus
BENCH_TECHNICIANS = 200
BENCH_VISITS = 1500
SLOT_MINUTES = 75  # a one-hour visit and fifteen minutes to the next stop
FIRST_SLOT = time(7, 0)
BENCH_VISIT_MINUTES = 60
SHIFT = (time(7, 0), time(17, 0))
MINUTE = 60.0

VISIT_COLUMNS = (
    "id", "job", "number", "status", "scheduled_start", "duration_minutes", "window_start", "window_end", "outcome", "return_of",
    "pause_reason", "en_route_at", "arrived_at", "paused_at", "departed_at", "completed_at", "created_by", "created_at", "updated_at",
)  # fmt: skip
CREW_COLUMNS = ("visit", "technician", "is_lead")
VISIT_EVENT_COLUMNS = ("visit", "actor", "kind", "from_status", "to_status", "at", "message", "data")
TIME_ENTRY_COLUMNS = ("job", "visit", "technician", "kind", "start", "end", "review", "reviewed_by", "reviewed_at", "created_by", "created_at")

PAUSE_REASONS = ("Waiting for the customer to clear the area", "Parts run to the supplier", "Lunch break", "Gas shut off by the utility")


# ---- the technicians --------------------------------------------------------------------------------

# Skill sets of the scale seeder's technicians, in turn: every job type finds qualified people.
SKILL_SETS = (
    ("HVAC",),
    ("HVAC", "Refrigeration"),
    ("Plumbing",),
    ("Electrical",),
    ("Appliance repair",),
    ("HVAC", "Electrical"),
    ("Plumbing", "HVAC"),
    ("Refrigeration",),
    ("Electrical", "Appliance repair"),
    ("Appliance repair", "Refrigeration"),
)
COLORS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4f46e5", "#059669")


def ensure_technicians(total: int, *, skills: dict, first_names: Sequence[str], surnames: Sequence[str], places: Sequence[tuple]) -> list[Technician]:
    """At least `total` active technicians, each with a sign-in (tech13, tech14, … after the demo's twelve),
    a skill set, a home base and Mon–Fri shifts; existing ones are kept. Returns the active ones by id."""
    with transaction.atomic():
        have = Technician.objects.filter(active=True).count()
        missing = total - have
        if missing > 0:
            taken = set(User.objects.filter(username__startswith="tech").values_list("username", flat=True))
            names = (f"tech{n}" for n in range(1, 10 * total + 1) if f"tech{n}" not in taken)
            password = make_password(None)  # unusable: these accounts exist to be measured, not used
            users = []
            for i, username in zip(range(missing), names, strict=False):
                first, last = first_names[(i * 7) % len(first_names)], surnames[(i * 13 + 5) % len(surnames)]
                users.append(
                    User(username=username, first_name=first, last_name=last, email=f"{username}@northwind.example", role=Role.TECHNICIAN, password=password)
                )
            User.objects.bulk_create(users)
            users = list(User.objects.filter(username__in=[u.username for u in users]).order_by("id"))
            technicians = []
            for i, user in enumerate(users):
                _, _, lat, lng = places[(i * 11) % len(places)]
                technicians.append(
                    Technician(
                        user=user, home_lat=f"{lat:.6f}", home_lng=f"{lng:.6f}", hourly_cost_cents=3000 + (i * 170) % 2000, color=COLORS[i % len(COLORS)]
                    )
                )
            Technician.objects.bulk_create(technicians)
            technicians = list(Technician.objects.filter(user__in=users).order_by("id"))
            through = Technician.skills.through
            through.objects.bulk_create(
                [through(technician_id=t.pk, skill_id=skills[name].pk) for i, t in enumerate(technicians) for name in SKILL_SETS[i % len(SKILL_SETS)]]
            )
            WeeklyShift.objects.bulk_create([WeeklyShift(technician=t, weekday=d, start=SHIFT[0], end=SHIFT[1]) for t in technicians for d in range(5)])
    return list(Technician.objects.filter(active=True).select_related("user").order_by("id"))


# ---- the bench day ----------------------------------------------------------------------------------


def bench_day_default(today: date) -> date:
    """Today, or the coming Monday at a weekend: a working day, so the technicians are on shift."""
    return today + timedelta(days=(7 - today.weekday()) % 7 if today.weekday() >= 5 else 0)


@dataclass(frozen=True)
class BenchSlot:
    lead: int  # index into the technicians
    helper: int | None
    slot: int  # 0 = 07:00, 1 = 08:15, …
    status: str


def bench_day_layout(technicians: int, visits: int, rng: Random) -> list[BenchSlot]:
    """Who drives to which stop in which slot, and how far each visit has got by noon. Each technician
    leads visits // technicians stops, the first visits % technicians one more; each of the others helps
    one of those in the slot they have free, so that nobody is booked twice."""
    if not visits or not technicians:
        return []
    base, extra = divmod(visits, technicians)
    slots = base + (1 if extra else 0)
    lead_at: dict[tuple[int, int], int] = {}
    layout: list[list] = []
    free_slot = {t: (t * 3) % slots for t in range(extra, technicians)} if extra else {}
    for t in range(technicians):
        for s in range(slots):
            if t >= extra and (s == free_slot.get(t, -1) or base == 0):
                continue
            lead_at[t, s] = len(layout)
            layout.append([t, None, s])
    for t, s in free_slot.items():
        target = lead_at.get((t - extra, s))
        if target is not None and layout[target][1] is None:
            layout[target][1] = t
    assert len(layout) == visits
    return [BenchSlot(lead, helper, s, noon_status(s, rng)) for lead, helper, s in layout]


def noon_status(slot: int, rng: Random) -> str:
    """How far a visit in this slot has got at noon: 07:00–10:30 done; the 10:45 one mostly done; the
    12:00 one on its way or started; the afternoon waiting."""
    r = rng.random()
    if slot <= 2:
        return V.COMPLETED
    if slot == 3:
        return V.COMPLETED if r < 0.6 else V.DEPARTED if r < 0.9 else V.WORKING
    if slot == 4:
        return V.EN_ROUTE if r < 0.35 else V.ARRIVED if r < 0.55 else V.WORKING if r < 0.85 else V.PAUSED if r < 0.95 else V.SCHEDULED
    return V.SCHEDULED


def day_start_epoch(day: date) -> float:
    return timezone.make_aware(datetime.combine(day, time.min)).timestamp()


def slot_starts(day: date, slots: int) -> list[float]:
    first = timezone.make_aware(datetime.combine(day, FIRST_SLOT))
    return [(first + timedelta(minutes=SLOT_MINUTES * s)).timestamp() for s in range(slots)]


def noon_epoch(day: date) -> float:
    return timezone.make_aware(datetime.combine(day, time(12, 0))).timestamp()


# ---- the rows of one visit --------------------------------------------------------------------------


@dataclass
class VisitRows:
    """Accumulates the rows of many visits; `ts` turns an epoch into the database's text."""

    ts: Callable[[float], str]
    visits: list[tuple]
    crew: list[tuple]
    events: list[tuple]
    time_entries: list[tuple]

    def add(
        self,
        *,
        rng: Random,
        visit_id: int,
        job_id: int,
        number: int,
        crew: Sequence[int],
        users: dict[int, int],
        start: float,
        minutes: int,
        status: str,
        scheduled_by: int,
        scheduled_at: float,
        outcome: str = "",
        return_of: int | None = None,
        snapshot: float | None = None,
        reviewer: int | None = None,
        lead_name: str = "",
    ) -> float | None:
        """One visit that has got as far as `status`, with what the actions write on the way. Field
        stamps follow from the start: travel before it, arrival around it, work for about `minutes`.
        Open statuses stop at `snapshot` (the moment the data shows). Returns the completion time."""
        ts = self.ts
        window_start = start - start % 3600  # whole-hour windows, two hours wide
        window_end = window_start + 7200
        stamps: list[tuple[str, float]] = []
        paused_at = departed_at = completed_at = en_route_at = arrived_at = None
        pause_reason = ""
        if status != V.SCHEDULED:
            travel = rng.uniform(12, 35) * MINUTE
            arrived_at = start + rng.uniform(-10, 15) * MINUTE
            en_route_at = arrived_at - travel
            working_at = arrived_at + rng.uniform(3, 8) * MINUTE
            work = minutes * rng.uniform(0.75, 1.15) * MINUTE
            if status == V.EN_ROUTE:
                en_route_at = min(en_route_at, (snapshot or en_route_at) - 2 * MINUTE)
                stamps = [(V.EN_ROUTE, en_route_at)]
                arrived_at = None
            else:
                if snapshot is not None and status in (V.ARRIVED, V.WORKING, V.PAUSED):
                    arrived_at = min(arrived_at, snapshot - 25 * MINUTE)
                    en_route_at = arrived_at - travel
                    working_at = arrived_at + 4 * MINUTE
                stamps = [(V.EN_ROUTE, en_route_at), (V.ARRIVED, arrived_at)]
                if status != V.ARRIVED:
                    stamps.append((V.WORKING, working_at))
                if status == V.PAUSED:
                    paused_at = working_at + rng.uniform(8, 15) * MINUTE
                    pause_reason = rng.choice(PAUSE_REASONS)
                    stamps.append((V.PAUSED, paused_at))
                if status in (V.DEPARTED, V.COMPLETED):
                    departed_at = working_at + work
                    if snapshot is not None:
                        departed_at = max(min(departed_at, snapshot - 6 * MINUTE), working_at + 10 * MINUTE)
                    stamps.append((V.DEPARTED, departed_at))
                if status == V.COMPLETED:
                    completed_at = departed_at + rng.uniform(0.5, 3) * MINUTE  # type: ignore[operator]
                    stamps.append((V.COMPLETED, completed_at))
        updated = stamps[-1][1] if stamps else scheduled_at
        self.visits.append(
            (
                visit_id, job_id, number, status, ts(start), minutes, ts(window_start), ts(window_end), outcome if status == V.COMPLETED else "",
                return_of, pause_reason, *(ts(x) if x is not None else None for x in (en_route_at, arrived_at, paused_at, departed_at, completed_at)),
                scheduled_by, ts(scheduled_at), ts(updated),
            )
        )  # fmt: skip
        self.crew += [(visit_id, t, i == 0) for i, t in enumerate(crew)]
        lead_user = users[crew[0]] if crew else scheduled_by
        crew_text = f"; {lead_name} (lead)" if lead_name else ""
        self.events.append((visit_id, scheduled_by, "scheduled", "", V.SCHEDULED, ts(scheduled_at), f"Scheduled for {minutes} min{crew_text}", "{}"))
        previous = V.SCHEDULED
        for to, at in stamps:
            message = VisitStatus(to).label
            data = "{}"
            if to == V.PAUSED:
                message += f" — {pause_reason}"
                data = json.dumps({"reason": pause_reason})
            elif to == V.COMPLETED:
                message += f" — {Outcome(outcome).label.lower()}"
            self.events.append((visit_id, lead_user, "status", previous, to, ts(at), message, data))
            previous = to
        # Time entries as field.actions.record_visit_transition derives them, for every crew member.
        entries = []
        if en_route_at is not None:
            entries.append(("travel", en_route_at, arrived_at))
        if status in (V.WORKING, V.PAUSED, V.DEPARTED, V.COMPLETED):
            entries.append(("work", working_at, paused_at or departed_at))
        approved = reviewer is not None and completed_at is not None
        for kind, begin, end in entries:
            for t in crew:
                self.time_entries.append(
                    (
                        job_id, visit_id, t, kind, ts(begin), ts(end) if end is not None else None,
                        "approved" if approved and end is not None else "pending",
                        reviewer if approved else None, ts(completed_at + 86400) if approved else None,  # type: ignore[operator]
                        lead_user, ts(begin),
                    )
                )  # fmt: skip
        return completed_at
