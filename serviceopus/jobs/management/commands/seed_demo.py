"""`manage.py seed_demo [--if-empty] [--seed N]`: a believable trades company to click through.

Jobs are made with the real actions (job_create, job_transition, line_item_add, note_add), so the demo
exercises the same rules and timeline as the product; only the timestamps are rewritten afterwards,
because the actions stamp "now" and a demo needs a past and a future. Then the visits: today's schedule
as it stands right now, the weeks ahead and the history of finished work (dispatch.demo_schedule). Last
the billing: finished work is invoiced and paid through the billing actions (billing.seeding), which is
what moves a job to invoiced or closed.
"""

import time as clock
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from random import Random

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.automation.seeding import ensure_automation
from serviceopus.billing.models import Estimate
from serviceopus.billing.seeding import BilledJob, bill_demo_jobs, date_trigger_drafts, ensure_billing
from serviceopus.closeout.seeding import ensure_closeout
from serviceopus.customers.models import Asset, Contact, Customer, Location
from serviceopus.dispatch.demo_schedule import Calendar, DemoSchedule, Planned, add_time_off
from serviceopus.inventory.seeding import ensure_inventory
from serviceopus.jobs import actions
from serviceopus.jobs.models import BillingType, Job, JobEvent, LineItem, Note, Source
from serviceopus.jobs.seeding import (
    CANCEL_NOTES,
    COMMERCIAL_ASSETS,
    HOLD_NOTES,
    NOTES,
    RESIDENTIAL_ASSETS,
    SURNAMES,
    Company,
    Generator,
    JobTypeSpec,
    LineTemplate,
    accounts_table,
    ensure_company,
)
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging.seeding import demo_portal_url, ensure_messaging

CUSTOMERS = 150
COMMERCIAL_SHARE = 0.2
# How many jobs end in each status: most past work is closed, the next two weeks are mostly scheduled.
STATUS_MIX = {
    JobStatus.CLOSED: 120,
    JobStatus.INVOICED: 40,
    JobStatus.WORK_COMPLETE: 35,
    JobStatus.IN_PROGRESS: 20,
    JobStatus.SCHEDULED: 110,
    JobStatus.NEW: 40,
    JobStatus.ON_HOLD: 20,
    JobStatus.CANCELLED: 15,
}
WORK_HOURS = (8, 9, 10, 11, 13, 14, 15, 16)


@dataclass
class Site:
    customer: Customer
    location: Location
    contact: Contact | None
    assets: list[Asset]


@dataclass
class Step:
    """One action on a job; each writes exactly one JobEvent, so steps and events pair up in order."""

    kind: str  # create, item, note, or a target status
    at: datetime
    payload: object = None


@dataclass
class Stamps:
    events: dict[int, list[datetime]] = field(default_factory=dict)
    items: list[LineItem] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    scheduled: dict[int, datetime] = field(default_factory=dict)  # when each job was first scheduled
    billed: list[BilledJob] = field(default_factory=list)


class Command(BaseCommand):
    help = "Load a believable demo company: sign-in accounts for every role, customers, ~400 jobs in every status, and their visits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when any job exists (the run command uses this).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed; the same seed gives the same company.")

    def handle(self, *args: object, if_empty: bool, seed: int, **options: object) -> None:
        if if_empty and Job.objects.exists():
            self.stdout.write("Demo data not loaded: the database already has jobs.")
        else:
            started = clock.monotonic()
            with transaction.atomic():
                counts = DemoBuilder(Random(seed), ensure_company()).build()
            summary = ", ".join(f"{n} {JobStatus(s).label.lower()}" for s, n in counts.items() if n)
            self.stdout.write(f"Demo data loaded in {clock.monotonic() - started:.1f} s: {sum(counts.values())} jobs ({summary}).")
        self.stdout.write("\nSign in at http://127.0.0.1:8000 with:\n" + accounts_table())
        if url := demo_portal_url():
            self.stdout.write(f"\nA customer's view of their job (the portal, no sign-in): {url}")


class DemoBuilder:
    def __init__(self, rng: Random, company: Company) -> None:
        self.rng = rng
        self.gen = Generator(rng)
        self.company = company
        self.now = timezone.now()
        self.today = timezone.localdate()
        users = company.users
        self.dispatcher, self.office = users["dispatcher"], users["office"]
        self.sources = 0
        self.calendar = Calendar()
        self.plans: list[Planned] = []
        self.unassigned_today = 0
        self.late_today = 0

    def build(self) -> dict[str, int]:
        ensure_billing()
        add_time_off({t.user.username: t for t in self.company.technicians}, self.today, self.calendar)
        sites = self.customers()
        statuses = [status for status, n in STATUS_MIX.items() for _ in range(n)]
        self.rng.shuffle(statuses)
        stamps = Stamps()
        for status in statuses:
            self.job(status, self.rng.choice(sites), stamps)
        self.restamp(stamps)
        schedule = DemoSchedule(self.rng, now=self.now, dispatcher=self.dispatcher, manager=self.company.users["manager"], office=self.office)
        schedule.build(self.plans)
        # Jobs whose visits went through the actions are in step already.
        schedule.sync(sorted({j.pk for j in stamps.jobs} - schedule.synced))
        # Billed once the visits' time entries exist: the office invoices the approved time with the lines.
        bill_demo_jobs(self.rng, stamps.billed, office=self.office, now=self.now)
        # Closeout rules last: the past work above was completed before they existed.
        ensure_closeout(self.rng, office=self.office, now=self.now)
        ensure_inventory(self.rng, office=self.office, now=self.now)
        ensure_messaging(office=self.office, dispatcher=self.dispatcher, now=timezone.now())
        ensure_automation(users=self.company.users, today=self.today, now=timezone.now())
        # Covered work (warranty, a plan visit) closes as its zero invoice is issued: count what happened.
        actual = Counter(Job.objects.values_list("status", flat=True))
        return {s: actual[s] for s in STATUS_MIX}

    # ---- customers, sites, contacts, assets -------------------------------------------------------

    def customers(self) -> list[Site]:
        """Customers are plain configuration rows (no actions exist for them yet), written in bulk."""
        rng, gen = self.rng, self.gen
        customers = []
        for i in range(CUSTOMERS):
            kind = Customer.Kind.COMMERCIAL if rng.random() < COMMERCIAL_SHARE else Customer.Kind.RESIDENTIAL
            name = gen.customer_name(kind, rng.choice(SURNAMES))
            customers.append(
                Customer(
                    name=name,
                    kind=kind,
                    email=gen.email(name, i),
                    phone=gen.phone(),
                    notes=rng.choice(("", "", "", "Prefers morning appointments.", "Pays by check on completion.", "Long-time customer since 2015.")),
                    created_at=self.now - timedelta(days=rng.uniform(30, 6 * 365)),
                )
            )
        Customer.objects.bulk_create(customers)

        locations, contacts = [], []
        for customer in customers:
            commercial = customer.kind == Customer.Kind.COMMERCIAL
            labels = ("Main store", "Warehouse") if commercial else ("Home", "Rental unit")
            for label in labels[: 2 if rng.random() < 0.25 else 1]:
                notes, gate = gen.access(customer.kind)
                locations.append(Location(customer=customer, label=label, access_notes=notes, gate_code=gate, created_at=customer.created_at, **gen.address()))
            roles = ("Facilities manager", "Accounts payable") if commercial else ("Owner", rng.choice(("Spouse", "Tenant")))
            for n, role in enumerate(roles[: 2 if commercial or rng.random() < 0.3 else 1]):
                first, last = gen.person()
                contact_name = customer.name if not commercial and n == 0 else f"{first} {last}"
                contacts.append(
                    Contact(customer=customer, name=contact_name, role=role, email=gen.email(contact_name, customer.pk), phone=gen.phone(), is_primary=n == 0)
                )
        Location.objects.bulk_create(locations)
        Contact.objects.bulk_create(contacts)

        assets = []
        for location in locations:
            names = COMMERCIAL_ASSETS if location.customer.kind == Customer.Kind.COMMERCIAL else RESIDENTIAL_ASSETS
            for name in rng.sample(names, rng.randint(2, 4)):
                data = gen.asset(name)
                year = data.pop("install_year")
                assets.append(Asset(location=location, install_date=date(year, rng.randint(1, 12), rng.randint(1, 28)), **data))
        Asset.objects.bulk_create(assets)

        primary = {c.customer_id: c for c in contacts if c.is_primary}
        by_location: dict[int, list[Asset]] = {}
        for asset in assets:
            by_location.setdefault(asset.location_id, []).append(asset)
        return [Site(loc.customer, loc, primary.get(loc.customer_id), by_location.get(loc.pk, [])) for loc in locations]

    # ---- one job ----------------------------------------------------------------------------------

    def visit_at(self, day_offset: int, hour: int | None = None) -> datetime:
        """A slot `day_offset` days from today: a weekday, except that today stays today (a demo opened
        on a Saturday still shows work for today)."""
        day = self.today + timedelta(days=day_offset)
        while day_offset and day.weekday() >= 5:
            day += timedelta(days=-1 if day_offset < 0 else 1)
        hour = hour if hour is not None else self.rng.choice(WORK_HOURS)
        return timezone.make_aware(datetime.combine(day, time(hour, self.rng.choice((0, 0, 30)))))

    def plan_visit(self, status: str, hold_reason: str) -> datetime | None:
        rng = self.rng
        match status:
            case JobStatus.CLOSED:
                return self.visit_at(rng.randint(-14, -3))
            case JobStatus.INVOICED:
                # A few were done over a month ago and are still not paid: overdue on 30-day terms.
                return self.visit_at(rng.randint(-50, -36) if rng.random() < 0.15 else rng.randint(-9, -1))
            case JobStatus.WORK_COMPLETE:
                # Done today only if that visit is over by now (the morning's work, seen in the afternoon).
                at = self.visit_at(0 if rng.random() < 0.5 else rng.randint(-3, -1), rng.choice((7, 8, 9, 10)))
                return at if at + timedelta(hours=3) < self.now else self.visit_at(-1, timezone.localtime(at).hour)
            case JobStatus.IN_PROGRESS:
                if rng.random() < 0.15:
                    return self.visit_at(-1, rng.choice((8, 9, 10, 11)))
                # On the way or on site now: started up to an hour and a half ago, within the working day.
                local = timezone.localtime(self.now) - timedelta(minutes=rng.randint(-20, 90))
                hour = min(max(local.hour, 7), 15)
                return timezone.make_aware(datetime.combine(self.today, time(hour, (local.minute // 15) * 15 if 7 <= local.hour <= 15 else 0)))
            case JobStatus.SCHEDULED:
                if rng.random() >= 0.25:
                    return self.visit_at(rng.randint(1, 14))
                # Later today; the odd one earlier today, whose crew has not left yet: late.
                later = [h for h in WORK_HOURS if timezone.make_aware(datetime.combine(self.today, time(h))) > self.now + timedelta(minutes=30)]
                earlier = [h for h in WORK_HOURS if timezone.make_aware(datetime.combine(self.today, time(h))) + timedelta(hours=2) < self.now]
                if earlier and self.late_today < 2 and (rng.random() < 0.3 or not later):
                    self.late_today += 1
                    return self.visit_at(0, rng.choice(earlier))
                return self.visit_at(0, rng.choice(later)) if later else self.visit_at(rng.randint(1, 14))
            case JobStatus.NEW:
                return None  # waiting for a first visit: the board's tray shows them
            case JobStatus.ON_HOLD:
                return self.visit_at(rng.randint(-7, -1)) if hold_reason == "parts" else None
            case _:
                return self.visit_at(rng.randint(-10, 10)) if rng.random() < 0.5 else None

    def job(self, status: str, site: Site, stamps: Stamps) -> None:
        rng, gen, company = self.rng, self.gen, self.company
        spec = gen.job_type_for(site.customer.kind)
        commercial = site.customer.kind == Customer.Kind.COMMERCIAL
        hold_reason = rng.choice(("parts", "parts", "customer", "permit", "other")) if status == JobStatus.ON_HOLD else ""
        visit = self.plan_visit(status, hold_reason)

        crew: list = []
        if status != JobStatus.NEW or rng.random() < 0.3:
            qualified = company.qualified(spec)
            size = min(len(qualified), spec.crew if rng.random() < 0.6 else 1)
            if visit is not None:
                # Nobody on holiday that day; today's work goes to whoever has the least of it so far.
                day = timezone.localtime(visit).date()
                qualified = [t for t in qualified if not self.calendar.is_off(t, day)] or qualified
                rng.shuffle(qualified)
                if day == self.today:
                    qualified.sort(key=lambda t: self.calendar.load(t, day))
                crew = qualified[:size]
            else:
                crew = rng.sample(qualified, size)
        booked = status not in (JobStatus.NEW, JobStatus.CANCELLED) and visit is not None
        if booked and crew:
            assert visit is not None
            # Work booked ahead may move to the next free weekday; today's and past work stays on its day.
            ahead = timezone.localtime(visit).date() > self.today and status == JobStatus.SCHEDULED
            done = status in (JobStatus.WORK_COMPLETE, JobStatus.INVOICED, JobStatus.CLOSED)
            visit = self.calendar.book(crew, visit, min(spec.minutes, 8 * 60), days=5 if ahead else 1, latest=self.now if done else None)
        actor_tech = crew[0].user if crew else self.dispatcher

        tags = {"commercial"} if commercial else set()
        billing = spec.billing
        nte = None
        if spec.billing == BillingType.AGREEMENT:
            tags.add("maintenance-plan")
        if rng.random() < 0.06:
            tags.add("vip")
        if spec.name in ("AC repair", "Appliance repair", "Drain cleaning") and rng.random() < 0.1:
            tags.update({"callback", "warranty"})
            billing = BillingType.WARRANTY
        elif commercial and spec.billing == BillingType.TIME_AND_MATERIALS and rng.random() < 0.25:
            billing, nte = BillingType.NOT_TO_EXCEED, rng.choice((150000, 250000, 500000))
        if spec.name == "Walk-in cooler service" and rng.random() < 0.2:
            tags.add("after-hours")
        if hold_reason == "permit":
            tags.add("permit")

        source, reference = self.source(spec)
        lines = gen.lines(spec)
        if billing in (BillingType.TIME_AND_MATERIALS, BillingType.NOT_TO_EXCEED):
            # Their labour is billed from the crew's approved time: a labour line as well would bill it twice.
            lines = [(t, q) for t, q in lines if t.kind != LineItem.Kind.LABOUR]
        if billing == BillingType.WARRANTY:
            lines = [(LineTemplate(t.kind, t.description + " (warranty)", 0, t.unit_cost_cents, t.quantities, t.taxable), q) for t, q in lines]
        assets = [a for a in site.assets if a.name in spec.assets][:1]

        steps = self.plan_steps(status, spec, visit, lines, hold_reason, source=source)
        # Invoiced and closed are where billing takes the job (billing.seeding), not steps of its own.
        billing_steps = {s.kind: s.at for s in steps if s.kind in (JobStatus.INVOICED, JobStatus.CLOSED)}
        steps = [s for s in steps if s.kind not in billing_steps]
        create = steps[0]
        job = actions.job_create(
            actor=self.dispatcher if rng.random() < 0.6 else self.office,
            customer_id=site.customer.pk,
            location_id=site.location.pk,
            job_type_id=company.job_types[spec.name].pk,
            scope=rng.choice(spec.scopes),
            source=source,
            source_reference=reference,
            contact_id=site.contact.pk if site.contact else None,
            asset_ids=[a.pk for a in assets],
            priority=rng.choice((3, 4)) if spec.name == "Walk-in cooler service" else gen.priority(),
            billing_type=billing,
            not_to_exceed_cents=nte,
            tags=sorted(tags),
            next_visit_at=visit,
        )
        # Each step's timeline events get its time: a line or a note writes one, a move one or more (the
        # billing trigger's draft invoice on completion writes its own).
        times = [create.at]
        for step in steps[1:]:
            if step.kind == "item":
                template, quantity = step.payload  # type: ignore[misc]
                stamps.items.append(
                    actions.line_item_add(
                        actor=actor_tech,
                        job_id=job.pk,
                        kind=template.kind,
                        description=template.description,
                        quantity=quantity,
                        unit_price_cents=template.unit_price_cents,
                        unit_cost_cents=template.unit_cost_cents,
                        taxable=template.taxable,
                    )
                )
            elif step.kind == "note":
                author = rng.choice((self.dispatcher, self.office, actor_tech))
                stamps.notes.append(actions.note_add(actor=author, job_id=job.pk, body=str(step.payload)))
            else:
                field_work = step.kind in (JobStatus.IN_PROGRESS, JobStatus.WORK_COMPLETE) or (step.kind == JobStatus.ON_HOLD and hold_reason == "parts")
                actor: User = actor_tech if field_work else self.office if step.kind == JobStatus.CANCELLED else self.dispatcher
                reason = hold_reason if step.kind == JobStatus.ON_HOLD else ""
                actions.job_transition(actor=actor, job_id=job.pk, to=step.kind, hold_reason=reason, note=str(step.payload or ""))
            self._stamp(stamps, step)
            if step.kind in ("item", "note"):
                times.append(step.at)
            else:
                times += [step.at] * (JobEvent.objects.filter(job=job).count() - len(times))
        stamps.events[job.pk] = times
        done = {s.kind: s.at for s in steps}
        if JobStatus.SCHEDULED in done:
            stamps.scheduled[job.pk] = done[JobStatus.SCHEDULED]
        if billing_steps:
            stamps.billed.append(
                BilledJob(
                    job_id=job.pk,
                    status=status,
                    billing_type=billing,
                    after=steps[-1].at,
                    invoiced_at=billing_steps[JobStatus.INVOICED],
                    closed_at=billing_steps.get(JobStatus.CLOSED),
                    commercial=commercial,
                )
            )
        if booked:
            assert visit is not None
            local_day = timezone.localtime(visit).date()
            visit_crew = crew
            if status == JobStatus.SCHEDULED and local_day == self.today and self.unassigned_today < 3 and rng.random() < 0.3:
                visit_crew = []  # booked, but nobody assigned yet: the board's unassigned tray
                self.unassigned_today += 1
            self.plans.append(
                Planned(
                    job_id=job.pk,
                    status=status,
                    start=visit,
                    minutes=min(spec.minutes, 8 * 60),
                    crew=visit_crew,
                    scheduled_at=done.get(JobStatus.SCHEDULED, create.at),
                    created_at=create.at,
                    done_at=done.get(JobStatus.WORK_COMPLETE),
                    hold_reason=hold_reason,
                    late=status == JobStatus.SCHEDULED and local_day == self.today and visit + timedelta(hours=2) < self.now,
                    return_pending=status == JobStatus.IN_PROGRESS and local_day < self.today,
                )
            )

        job.created_at = create.at
        job.updated_at = steps[-1].at
        job.completed_at = done.get(JobStatus.WORK_COMPLETE) if status in (JobStatus.WORK_COMPLETE, JobStatus.INVOICED, JobStatus.CLOSED) else None
        if status == JobStatus.IN_PROGRESS:
            job.next_visit_at = done[JobStatus.IN_PROGRESS]
        elif status in (JobStatus.SCHEDULED, JobStatus.NEW):
            job.next_visit_at = visit
        elif status == JobStatus.ON_HOLD and visit and rng.random() < 0.5:
            job.next_visit_at = self.visit_at(rng.randint(3, 8))  # the return visit once the part is in
        else:
            job.next_visit_at = None
        stamps.jobs.append(job)

    def _stamp(self, stamps: Stamps, step: Step) -> None:
        if step.kind == "item":
            stamps.items[-1].created_at = step.at
        elif step.kind == "note":
            stamps.notes[-1].created_at = step.at

    def source(self, spec: JobTypeSpec) -> tuple[str, str]:
        self.sources += 1
        if spec.billing == BillingType.AGREEMENT:
            return Source.AGREEMENT_VISIT, f"AGR-{2400 + self.sources % 90}"
        roll = self.rng.random()
        if roll < 0.25:
            return Source.QUOTE, f"Q-{10400 + self.sources}"
        if roll < 0.5:
            return Source.BOOKING, f"BK-{88000 + self.sources}"
        if roll < 0.6:
            return Source.LEAD, ""
        return Source.DIRECT, ""

    def office_hours(self, at: datetime) -> datetime:
        """`at`, or the next weekday morning when the office is closed then."""
        local = timezone.localtime(at)
        if local.weekday() < 5 and 8 <= local.hour < 18:
            return at
        day = local.date() + timedelta(days=1 if local.hour >= 18 else 0)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return timezone.make_aware(datetime.combine(day, time(8))) + timedelta(minutes=self.rng.randint(0, 120))

    def plan_steps(
        self,
        status: str,
        spec: JobTypeSpec,
        visit: datetime | None,
        lines: list[tuple[LineTemplate, object]],
        hold_reason: str,
        *,
        source: str,
    ) -> list[Step]:
        """The actions that bring a new job to `status`, with believable times: created before the visit,
        work at the visit, billing after it; then squeezed so that every time is in the past and in order."""
        rng = self.rng
        minute = timedelta(minutes=1)
        hours = lambda lo, hi: timedelta(hours=rng.uniform(lo, hi))
        if visit is not None:
            created = visit - timedelta(days=rng.uniform(0.5, 10))
        else:
            created = self.now - timedelta(days=rng.uniform(0.05, 12))
        created = min(created, self.now - hours(0.5, 48))
        if source != Source.BOOKING:  # online bookings arrive at any hour; the office types the rest
            created = self.office_hours(created)
        steps = [Step("create", created)]
        at = created
        items = lambda at: [Step("item", at + minute * (5 + 2 * i), line) for i, line in enumerate(lines)]
        quoted = source == Source.QUOTE
        if quoted:
            steps += items(at)
        path = {
            JobStatus.NEW: [],
            JobStatus.SCHEDULED: [JobStatus.SCHEDULED],
            JobStatus.IN_PROGRESS: [JobStatus.SCHEDULED, JobStatus.IN_PROGRESS],
            JobStatus.WORK_COMPLETE: [JobStatus.SCHEDULED, JobStatus.IN_PROGRESS, JobStatus.WORK_COMPLETE],
            JobStatus.INVOICED: [JobStatus.SCHEDULED, JobStatus.IN_PROGRESS, JobStatus.WORK_COMPLETE, JobStatus.INVOICED],
            JobStatus.CLOSED: [JobStatus.SCHEDULED, JobStatus.IN_PROGRESS, JobStatus.WORK_COMPLETE, JobStatus.INVOICED, JobStatus.CLOSED],
            JobStatus.ON_HOLD: [JobStatus.SCHEDULED, JobStatus.IN_PROGRESS, JobStatus.ON_HOLD] if hold_reason == "parts" else [JobStatus.ON_HOLD],
            JobStatus.CANCELLED: ([JobStatus.SCHEDULED] if visit else []) + [JobStatus.CANCELLED],
        }[JobStatus(status)]
        for target in path:
            payload = None
            if target == JobStatus.SCHEDULED:
                at = at + hours(0.1, 4)
            elif target == JobStatus.IN_PROGRESS:
                at = max(at + minute, visit or at)
            elif target == JobStatus.WORK_COMPLETE:
                at = at + timedelta(minutes=spec.minutes * rng.uniform(0.7, 1.3))
            elif target == JobStatus.INVOICED:
                at = at + hours(1, 30)
            elif target == JobStatus.CLOSED:
                at = at + hours(24, 24 * 6)
            elif target == JobStatus.ON_HOLD:
                at = at + (hours(0.75, 2) if hold_reason == "parts" else hours(1, 48))
                payload = rng.choice(HOLD_NOTES[hold_reason])
            elif target == JobStatus.CANCELLED:
                at = at + hours(2, 96)
                payload = rng.choice(CANCEL_NOTES)
            if target in (JobStatus.SCHEDULED, JobStatus.INVOICED, JobStatus.CLOSED, JobStatus.CANCELLED):
                at = self.office_hours(at)
            steps.append(Step(target, at, payload))
            if target == JobStatus.IN_PROGRESS and not quoted:
                steps += items(at)
                at = steps[-1].at
        # Notes come before the billing: its events are written after every job's own.
        billed = sum(1 for s in steps if s.kind in (JobStatus.INVOICED, JobStatus.CLOSED))
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            i = rng.randrange(1, len(steps) - billed + 1)
            steps.insert(i, Step("note", steps[i - 1].at + minute * rng.randint(2, 90), rng.choice(NOTES)))
        # Everything happened before now, strictly in order (the last step may be a minute ago).
        limit = self.now - minute
        for step in reversed(steps):
            step.at = min(step.at, limit)
            limit = step.at - minute
        return steps

    def restamp(self, stamps: Stamps) -> None:
        """Give every row written by the actions its planned time (they all say "now")."""
        rows = JobEvent.objects.filter(job_id__in=list(stamps.events)).order_by("job_id", "id").values_list("id", "job_id")
        by_job: dict[int, list[int]] = {}
        for event_id, job_id in rows:
            by_job.setdefault(job_id, []).append(event_id)
        events: list[tuple[int, datetime]] = []
        for job_id, times in stamps.events.items():
            assert len(by_job[job_id]) == len(times), "every event has its step's time"
            events += zip(by_job[job_id], times, strict=True)
        _set_times(JobEvent, "created_at", events)
        _set_times(LineItem, "created_at", [(i.pk, i.created_at) for i in stamps.items])
        _set_times(Note, "created_at", [(n.pk, n.created_at) for n in stamps.notes])
        for name in ("created_at", "updated_at", "completed_at", "next_visit_at"):
            _set_times(Job, name, [(j.pk, getattr(j, name)) for j in stamps.jobs])
        # The estimate was taken as each job was first scheduled.
        estimates = Estimate.objects.filter(job_id__in=list(stamps.scheduled)).values_list("pk", "job_id")
        _set_times(Estimate, "captured_at", [(pk, stamps.scheduled[job_id]) for pk, job_id in estimates])
        date_trigger_drafts({j.pk: j.completed_at for j in stamps.jobs if j.completed_at is not None})


def _set_times(model: type[Model], name: str, values: list[tuple[int, datetime | None]]) -> None:
    # One prepared UPDATE run for every row: bulk_update's CASE expressions cost seconds of ORM work here.
    column = connection.ops.quote_name(model._meta.get_field(name).column)
    table = connection.ops.quote_name(model._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE id = %s", [(adapt(at), pk) for pk, at in values])
