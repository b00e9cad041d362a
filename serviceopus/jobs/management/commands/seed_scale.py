"""`manage.py seed_scale --jobs N [--batch 20000] [--seed S] [--bench-day D] [--no-analyze]`: append N realistic
jobs fast, with their visits.

For the growth benchmark (bench/web.py) a million jobs must load in minutes, so this bypasses the
actions and writes rows directly: one INSERT … SELECT from a JSON array per table on SQLite, COPY on
PostgreSQL, one transaction per batch.
Everything the actions would have written is written here too (line items, timeline events, technician
and skill assignments, tags, the search text; visits with their crews, status events and time entries,
through serviceopus.dispatch.seeding), and job numbers come from the same sequence, so a job created
afterwards continues the numbering. Running it again appends N more.

Visits follow the job's status: a new or cancelled job has none; a scheduled one (and some on hold) one
in the coming weeks; one in progress a visit that ended "return needed" and its scheduled return; done
work one or two completed visits. A job's technicians are its visits' crews. The last jobs of the first
run fill the bench day (dispatch.seeding), which the random history leaves alone.
"""

import json
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import accumulate
from random import Random

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from serviceopus.core.models import next_in_sequence
from serviceopus.crew.models import Technician
from serviceopus.customers.models import Contact, Customer, Location
from serviceopus.dispatch import seeding as visit_seeding
from serviceopus.dispatch.models import CrewMember, Visit, VisitEvent
from serviceopus.dispatch.queries import day_bounds
from serviceopus.dispatch.status import ACTIVE
from serviceopus.field.models import TimeEntry
from serviceopus.jobs import search
from serviceopus.jobs.actions import job_number
from serviceopus.jobs.bulk_writer import BulkWriter
from serviceopus.jobs.models import BillingType, Job, JobEvent, JobTechnician, LineItem, PartsReadiness, Source
from serviceopus.jobs.seeding import (
    BUSINESSES,
    CANCEL_NOTES,
    FIRST_NAMES,
    HOLD_NOTES,
    JOB_TYPES,
    PLACES,
    SURNAMES,
    Company,
    Generator,
    ensure_company,
    scale_surname,
)
from serviceopus.jobs.status import JobStatus

JOBS_PER_CUSTOMER = 20
SPAN_DAYS = 3 * 365  # the history the jobs are spread over, ending now
DAY = 86400.0

# Status mix by the job's age (days): old work is almost all closed; the last weeks hold the open work,
# including work booked weeks ahead (plan visits, installs waiting for equipment). Sized so that even
# 10,000 jobs fill a list page of scheduled high-priority work and every board column, like 1,000,000 do:
# otherwise the benchmark would compare a part-empty page with a full one.
# Plain strings, not the enum members: psycopg's COPY would write an Enum by its name.
_ST = JobStatus
_BY_AGE = (
    (21, (_ST.SCHEDULED, _ST.NEW, _ST.IN_PROGRESS, _ST.ON_HOLD, _ST.WORK_COMPLETE, _ST.INVOICED, _ST.CLOSED, _ST.CANCELLED), (40, 12, 12, 6, 10, 7, 9, 4)),
    (60, (_ST.SCHEDULED, _ST.NEW, _ST.ON_HOLD, _ST.WORK_COMPLETE, _ST.INVOICED, _ST.CLOSED, _ST.CANCELLED), (20, 4, 5, 6, 12, 46, 7)),
    (math.inf, (_ST.CLOSED, _ST.CANCELLED, _ST.INVOICED, _ST.ON_HOLD, _ST.WORK_COMPLETE), (920, 60, 12, 5, 3)),
)
STATUS_BY_AGE = tuple((limit, tuple(s.value for s in statuses), tuple(accumulate(weights))) for limit, statuses, weights in _BY_AGE)
# The status a job had before its current one (the second timeline event records that move).
_PREVIOUS = {
    _ST.SCHEDULED: _ST.NEW,
    _ST.IN_PROGRESS: _ST.SCHEDULED,
    _ST.ON_HOLD: _ST.SCHEDULED,
    _ST.WORK_COMPLETE: _ST.IN_PROGRESS,
    _ST.INVOICED: _ST.WORK_COMPLETE,
    _ST.CLOSED: _ST.INVOICED,
    _ST.CANCELLED: _ST.NEW,
}
PREVIOUS = {k.value: v.value for k, v in _PREVIOUS.items()}
DONE = frozenset({_ST.WORK_COMPLETE.value, _ST.INVOICED.value, _ST.CLOSED.value})
SOURCES = (Source.DIRECT.value, Source.BOOKING.value, Source.QUOTE.value, Source.LEAD.value)
SOURCE_LABELS = {s.value: s.label for s in Source}
V = visit_seeding.V
# A bench-day job's status follows its one visit.
BENCH_JOB_STATUS = {
    V.COMPLETED: _ST.WORK_COMPLETE.value,
    V.DEPARTED: _ST.IN_PROGRESS.value,
    V.WORKING: _ST.IN_PROGRESS.value,
    V.PAUSED: _ST.IN_PROGRESS.value,
    V.ARRIVED: _ST.IN_PROGRESS.value,
    V.EN_ROUTE: _ST.IN_PROGRESS.value,
    V.SCHEDULED: _ST.SCHEDULED.value,
}


@dataclass
class Reservation:
    offset: int  # of the batch's first job within this run (spreads creation dates over the run)
    count: int
    job_ids: list[int]
    customer_ids: list[int]
    site_counts: list[int]
    location_ids: list[int]
    contact_ids: list[int]
    visit_ids: list[int]  # room for two visits a job
    first_number: int


@dataclass
class Batch:
    reservation: Reservation
    customers: list[tuple] = field(default_factory=list)
    locations: list[tuple] = field(default_factory=list)
    contacts: list[tuple] = field(default_factory=list)
    jobs: list[tuple] = field(default_factory=list)
    items: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    technicians: list[tuple] = field(default_factory=list)
    skills: list[tuple] = field(default_factory=list)
    tags: list[tuple] = field(default_factory=list)
    docs: list[tuple[int, str]] = field(default_factory=list)
    visits: visit_seeding.VisitRows | None = None


CUSTOMER_COLUMNS = ("id", "name", "kind", "email", "phone", "created_at", "updated_at")
LOCATION_COLUMNS = ("id", "customer", "label", "street", "city", "region", "postal_code", "lat", "lng", "access_notes", "gate_code", "created_at")
CONTACT_COLUMNS = ("id", "customer", "name", "role", "email", "phone", "is_primary")
JOB_COLUMNS = (
    "id", "number", "customer", "location", "contact", "job_type", "source", "source_reference", "scope", "priority",
    "estimated_duration_minutes", "billing_type", "not_to_exceed_cents", "status", "hold_reason", "hold_note", "next_visit_at",
    "created_by", "created_at", "updated_at", "completed_at", "parts_readiness",
)  # fmt: skip
ITEM_COLUMNS = ("job", "kind", "description", "quantity", "unit_price_cents", "unit_cost_cents", "taxable", "position", "created_at")
EVENT_COLUMNS = ("job", "actor", "kind", "old_value", "new_value", "message", "data", "created_at")


class Command(BaseCommand):
    help = "Append N realistic jobs (with customers, line items, events, visits with crews and time, tags and search text) in bulk."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--jobs", type=int, required=True, help="How many jobs to add.")
        parser.add_argument("--batch", type=int, default=20000, help="Jobs per transaction (default 20,000).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (mixed with the first new id of each batch).")
        parser.add_argument("--no-analyze", action="store_true", help="Skip refreshing the planner statistics at the end.")
        parser.add_argument("--technicians", type=int, default=visit_seeding.BENCH_TECHNICIANS, help="Active technicians to have at least (default 200).")
        parser.add_argument(
            "--bench-day",
            type=date.fromisoformat,
            default=None,
            help="The day laid out for the benchmark, YYYY-MM-DD (default: today, or Monday at a weekend).",
        )
        parser.add_argument("--bench-technicians", type=int, default=visit_seeding.BENCH_TECHNICIANS, help="Technicians working the bench day (default 200).")
        parser.add_argument("--bench-visits", type=int, default=visit_seeding.BENCH_VISITS, help="Visits on the bench day (default 1,500; 0 for none).")

    def handle(
        self,
        *args: object,
        jobs: int,
        batch: int,
        seed: int,
        no_analyze: bool,
        technicians: int,
        bench_day: date | None,
        bench_technicians: int,
        bench_visits: int,
        **options: object,
    ) -> None:
        if jobs < 0 or batch < 1 or technicians < 0 or bench_technicians < 0 or bench_visits < 0:
            raise CommandError("--jobs, --technicians and the bench counts must be 0 or more, --batch at least 1.")
        writer = BulkWriter()
        company = ensure_company()
        staff = visit_seeding.ensure_technicians(
            max(technicians, bench_technicians), skills=company.skills, first_names=FIRST_NAMES, surnames=SURNAMES, places=PLACES
        )
        through = Technician.skills.through.objects.filter(technician__in=staff).values_list("technician_id", "skill__name")
        skill_names: dict[int, set[str]] = {t.pk: set() for t in staff}
        for tech_id, name in through:
            skill_names[tech_id].add(name)
        company = replace(company, technicians=staff, tech_skills={k: frozenset(v) for k, v in skill_names.items()})
        day = bench_day or visit_seeding.bench_day_default(timezone.localdate())
        start, end = day_bounds(day)
        if bench_visits and Visit.objects.filter(scheduled_start__gte=start, scheduled_start__lt=end).exists():
            self.stdout.write(f"Bench day {day} already has visits: laying out no more.")
            bench_visits = 0
        if bench_visits and len(staff) < bench_technicians:
            raise CommandError(f"The bench day needs {bench_technicians} technicians; {len(staff)} are active.")
        if bench_visits > jobs:
            raise CommandError(f"The bench day's {bench_visits:,} visits need as many jobs: give --jobs {bench_visits} or more, or --bench-visits 0.")
        bench = visit_seeding.bench_day_layout(bench_technicians, bench_visits, Random(f"{seed}:bench"))
        plan = Plan(company, writer, seed, total=jobs, bench_day=day, bench=bench)
        chunks = [(first, min(batch, jobs - first)) for first in range(0, jobs, batch)]
        started = time.monotonic()
        rows = 0
        # While batch k is written (database work, mostly outside the GIL), a thread generates batch k+1
        # (pure Python): on two cores that hides most of the generation time.
        with ThreadPoolExecutor(max_workers=1) as pool:
            ahead: tuple[Reservation, Future[Batch]] | None = None
            for i, (offset, count) in enumerate(chunks):
                with transaction.atomic():
                    if ahead is not None and plan.still_free(ahead[0]):
                        current = ahead[1].result()
                    else:
                        # First batch, or another writer took the ids we expected (SQLite only).
                        numbers = ahead[0].first_number if ahead else None
                        current = plan.generate(plan.reserve(offset, count, numbers=numbers))
                    ahead = None
                    if i + 1 < len(chunks):
                        upcoming = plan.reserve(*chunks[i + 1], after=current.reservation)
                        ahead = (upcoming, pool.submit(plan.generate, upcoming))
                    rows += plan.write(current)
                elapsed = time.monotonic() - started
                done = offset + count
                self.stdout.write(f"  {done:>10,} / {jobs:,} jobs   {done / elapsed:>9,.0f} jobs/s   {rows / elapsed:>10,.0f} rows/s")
                self.stdout.flush()
        seeding = time.monotonic() - started
        if not no_analyze and jobs:
            t0 = time.monotonic()
            writer.analyze(
                [
                    *(Customer, Location, Contact, Job, LineItem, JobEvent, JobTechnician, Job.tags.through, Job.required_skills.through),
                    *(Visit, CrewMember, VisitEvent, TimeEntry, Technician),
                ]
            )
            self.stdout.write(f"  planner statistics refreshed in {time.monotonic() - t0:.1f} s")
        seconds = max(seeding, 1e-9)
        summary = f"{jobs / seconds:,.0f} jobs/s, {rows / seconds:,.0f} rows/s"
        if bench:
            self.stdout.write(f"Bench day {day}: {bench_technicians} technicians, {len(bench):,} visits.")
        self.stdout.write(f"Seeded {jobs:,} jobs ({rows:,} rows) on {connection.vendor} in {seeding:.1f} s: {summary}")


class Plan:
    """Generates and writes batches. Randomness is seeded per batch from the batch's first job id, so a
    re-run on the same database state gives the same rows and an append gives new ones."""

    def __init__(self, company: Company, writer: BulkWriter, seed: int, *, total: int, bench_day: date, bench: list[visit_seeding.BenchSlot]) -> None:
        self.writer = writer
        self.seed = seed
        self.total = total
        self.now = timezone.now().timestamp()
        self.start = self.now - SPAN_DAYS * DAY
        self.creators = [company.users["dispatcher"].pk, company.users["office"].pk]
        self.office = company.users["office"].pk
        self.types = []
        for spec in JOB_TYPES:
            job_type = company.job_types[spec.name]
            lines = [(str(t.kind), t.description, t.unit_price_cents, t.unit_cost_cents, t.quantities, t.taxable) for t in spec.base]
            extras = [(str(t.kind), t.description, t.unit_price_cents, t.unit_cost_cents, t.quantities, t.taxable) for t in spec.extras]
            skill_ids = [company.skills[s].pk for s in spec.skills]
            tech_ids = [t.pk for t in company.qualified(spec)]
            self.types.append((spec, job_type.pk, lines, extras, skill_ids, tech_ids))
        self.tag_ids = {name: tag.pk for name, tag in company.tags.items()}
        self.users = {t.pk: t.user_id for t in company.technicians}
        self.names = {t.pk: t.user.display_name for t in company.technicians}
        # The bench day: its local bounds (the history steps around them), slot starts and layout.
        bounds = visit_seeding.day_start_epoch(bench_day), visit_seeding.day_start_epoch(bench_day + timedelta(days=1))
        self.bench_bounds = bounds
        self.bench = bench
        self.bench_staff = [t.pk for t in company.technicians]
        self.bench_slots = visit_seeding.slot_starts(bench_day, 1 + max((b.slot for b in bench), default=0))
        self.bench_noon = visit_seeding.noon_epoch(bench_day)
        # Job types each technician may lead on the bench day.
        self.bench_types = {t: [ty for ty in self.types if t in ty[5]] for t in self.bench_staff}

    def reserve(self, offset: int, count: int, *, after: Reservation | None = None, numbers: int | None = None) -> Reservation:
        """Ids and job numbers for one batch. `after`: the batch that will be written just before this
        one (its ids are not in the tables yet). Must run inside a transaction."""
        w = self.writer
        jobs_from, customers_from, locations_from, contacts_from = (
            (ids[-1] + 1 for ids in (after.job_ids, after.customer_ids, after.location_ids, after.contact_ids)) if after else (0, 0, 0, 0)
        )
        customer_count = max(1, math.ceil(count / JOBS_PER_CUSTOMER))
        job_ids = w.reserve_ids(Job, count, floor=jobs_from)
        visit_ids = w.reserve_ids(Visit, 2 * count, floor=after.visit_ids[-1] + 1 if after else 0)
        customer_ids = w.reserve_ids(Customer, customer_count, floor=customers_from)
        sites_rng = Random(f"{self.seed}:{job_ids[0]}:sites")
        site_counts = [2 if sites_rng.random() < 0.2 else 1 for _ in customer_ids]
        location_ids = w.reserve_ids(Location, sum(site_counts), floor=locations_from)
        contact_ids = w.reserve_ids(Contact, customer_count, floor=contacts_from)
        # Reserved inside the current transaction even for the next batch: if that batch then fails, job
        # numbers have a gap, never a duplicate (only invoice numbers must be gapless).
        first_number = numbers if numbers is not None else next_in_sequence("job", count)
        return Reservation(offset, count, job_ids, customer_ids, site_counts, location_ids, contact_ids, visit_ids, first_number)

    def still_free(self, r: Reservation) -> bool:
        tables = ((Job, r.job_ids), (Customer, r.customer_ids), (Location, r.location_ids), (Contact, r.contact_ids), (Visit, r.visit_ids))
        return all(self.writer.still_free(model, ids[0]) for model, ids in tables)

    def generate(self, r: Reservation) -> Batch:
        """The rows of one batch. Touches no database, so it can run in another thread."""
        rng = Random(f"{self.seed}:{r.job_ids[0]}")
        b = Batch(r, visits=visit_seeding.VisitRows(self.writer.ts, [], [], [], []))
        sites = self.customers(rng, b, r.offset, r.customer_ids, r.site_counts, r.location_ids, r.contact_ids)
        self.jobs(rng, b, r.offset, r.job_ids, r.first_number, sites)
        return b

    def write(self, b: Batch) -> int:
        w = self.writer
        rows = w.insert(Customer, CUSTOMER_COLUMNS, b.customers)
        rows += w.insert(Location, LOCATION_COLUMNS, b.locations)
        rows += w.insert(Contact, CONTACT_COLUMNS, b.contacts)
        rows += w.insert(Job, JOB_COLUMNS, b.jobs)
        rows += w.insert(LineItem, ITEM_COLUMNS, b.items)
        rows += w.insert(JobEvent, EVENT_COLUMNS, b.events)
        rows += w.insert(JobTechnician, ("job", "technician"), b.technicians)
        assert b.visits is not None
        rows += w.insert(Visit, visit_seeding.VISIT_COLUMNS, b.visits.visits)
        rows += w.insert(CrewMember, visit_seeding.CREW_COLUMNS, b.visits.crew)
        rows += w.insert(VisitEvent, visit_seeding.VISIT_EVENT_COLUMNS, b.visits.events)
        rows += w.insert(TimeEntry, visit_seeding.TIME_ENTRY_COLUMNS, b.visits.time_entries)
        rows += w.insert(Job.required_skills.through, ("job", "skill"), b.skills)
        rows += w.insert(Job.tags.through, ("job", "tag"), b.tags)
        rows += w.search_documents(b.docs)
        return rows

    def customers(
        self, rng: Random, b: Batch, offset: int, customer_ids: list[int], site_counts: list[int], location_ids: list[int], contact_ids: list[int]
    ) -> list[list[tuple]]:
        """Customers for this batch (about one per 20 jobs), each with one or two sites and a primary
        contact. Returns, per customer, its sites as (customer id, name, commercial?, location id,
        address text, contact id)."""
        gen = Generator(rng)
        ts = self.writer.ts
        # A customer exists a while before its first job here.
        first_job_at = self.start + offset / max(self.total, 1) * SPAN_DAYS * DAY
        sites: list[list[tuple]] = []
        loc = iter(location_ids)
        for customer_id, contact_id, n_sites in zip(customer_ids, contact_ids, site_counts, strict=True):
            surname = scale_surname(customer_id)
            commercial = rng.random() < 0.2
            kind = "commercial" if commercial else "residential"
            name = f"{surname} {rng.choice(BUSINESSES)}" if commercial else f"{rng.choice(FIRST_NAMES)} {surname}"
            created = ts(first_job_at - rng.uniform(0, 365) * DAY)
            b.customers.append((customer_id, name, kind, gen.email(name, customer_id), gen.phone(), created, created))
            contact_name = f"{rng.choice(FIRST_NAMES)} {rng.choice(('Lee', 'Patel', 'Nowak', 'Garcia', 'Kim'))}" if commercial else name
            b.contacts.append((contact_id, customer_id, contact_name, "Facilities manager" if commercial else "Owner", "", gen.phone(), True))
            sites.append([])
            for label in (("Main store", "Warehouse") if commercial else ("Home", "Rental unit"))[:n_sites]:
                location_id = next(loc)
                a = gen.address()
                notes, gate = gen.access(kind)
                b.locations.append((location_id, customer_id, label, a["street"], a["city"], "IL", a["postal_code"], a["lat"], a["lng"], notes, gate, created))
                sites[-1].append((customer_id, name, commercial, location_id, f"{a['street']} {a['city']} {a['postal_code']}", contact_id))
        return sites

    def jobs(self, rng: Random, b: Batch, offset: int, job_ids: list[int], first_number: int, sites: list[list[tuple]]) -> None:
        ts, now, start, total = self.writer.ts, self.now, self.start, max(self.total, 1)
        span = SPAN_DAYS * DAY
        random, choice, choices, uniform, randrange = rng.random, rng.choice, rng.choices, rng.uniform, rng.randrange
        # Cumulative weights: choices() would otherwise re-add the weights on every call.
        residential_w = list(accumulate((22, 14, 6, 14, 4, 14, 0, 10)))
        commercial_w = list(accumulate((20, 10, 4, 8, 6, 4, 30, 14)))
        priority_w = list(accumulate((15, 55, 22, 8)))
        source_data = {src: json.dumps({"source": src, "source_reference": ""}) for src in Source.values}
        tag = self.tag_ids
        assert b.visits is not None
        add_visit = b.visits.add
        visit_ids = iter(b.reservation.visit_ids)
        bench_from = total - len(self.bench)
        for k, job_id in enumerate(job_ids):
            # The customer first, then one of its sites: every customer gets about the same number of jobs.
            customer_sites = choice(sites)
            site = customer_sites[0] if len(customer_sites) == 1 else choice(customer_sites)
            customer_id, customer_name, commercial, location_id, address, contact_id = site
            bench = self.bench[offset + k - bench_from] if offset + k >= bench_from else None
            if bench is None:
                spec, type_id, base, extras, skill_ids, tech_ids = choices(self.types, cum_weights=commercial_w if commercial else residential_w)[0]
                # Spread over the jobs that are not the bench day's, so the history has the same shape
                # with or without it (at 10,000 jobs the bench day's 1,500 are months of history).
                created = start + (offset + k + random()) / max(bench_from, 1) * span
                age = (now - created) / DAY
                for limit, statuses, weights in STATUS_BY_AGE:
                    if age <= limit:
                        status = choices(statuses, cum_weights=weights)[0]
                        break
            else:
                spec, type_id, base, extras, skill_ids, tech_ids = choice(self.bench_types[self.bench_staff[bench.lead]])
                created = self.bench_bounds[0] - uniform(1, 14) * DAY
                status = BENCH_JOB_STATUS[bench.status]
            number = job_number(first_number + k)
            scope = choice(spec.scopes)
            priority = choices((1, 2, 3, 4), cum_weights=priority_w)[0]
            billing = str(spec.billing)
            nte = None
            tags = []
            if commercial:
                tags.append(tag["commercial"])
                if billing == BillingType.TIME_AND_MATERIALS and random() < 0.2:
                    billing, nte = BillingType.NOT_TO_EXCEED.value, 250000
            if random() < 0.04:
                tags.append(tag["vip"])
            if billing == BillingType.AGREEMENT:
                tags.append(tag["maintenance-plan"])
            source = Source.AGREEMENT_VISIT.value if billing == BillingType.AGREEMENT else choice(SOURCES)
            reference = f"Q-{job_id}" if source == Source.QUOTE else ""

            hold_reason = hold_note = ""
            message = ""
            if status == _ST.ON_HOLD:
                hold_reason = choice(("parts", "parts", "customer", "permit", "other"))
                hold_note = message = choice(HOLD_NOTES[hold_reason])
            elif status == _ST.CANCELLED:
                message = choice(CANCEL_NOTES)
            # Parts: jobs on hold for parts are blocked by them; some open jobs track reserved parts. Only
            # the state on the job row is seeded (what the list and the board read), not the stock behind it.
            parts = ""
            if hold_reason == "parts":
                parts = PartsReadiness.BLOCKED
            elif status in (_ST.NEW, _ST.SCHEDULED, _ST.IN_PROGRESS) and random() < 0.08:
                parts = choices((PartsReadiness.READY, PartsReadiness.PARTIAL, PartsReadiness.BLOCKED), cum_weights=(60, 75, 100))[0]
            creator = choice(self.creators)
            # Visits, as the dispatch actions would have left them; the job's dates follow from them.
            crew: list[int] = []
            if bench is not None:
                crew = [self.bench_staff[bench.lead]] + ([self.bench_staff[bench.helper]] if bench.helper is not None else [])
            elif tech_ids and (status in DONE or status in (_ST.SCHEDULED, _ST.IN_PROGRESS) or (status == _ST.ON_HOLD and random() < 0.3)):
                crew = rng.sample(tech_ids, min(len(tech_ids), spec.crew if random() < 0.5 else 1))
            lead_name = self.names[crew[0]] if crew else ""
            next_visit = completed = None
            minutes = spec.minutes
            reviewer = self.office if status in (_ST.INVOICED, _ST.CLOSED) else None
            if bench is not None:
                minutes = visit_seeding.BENCH_VISIT_MINUTES
                at = self.bench_slots[bench.slot]
                scheduled_at = created + uniform(0.05, 0.9) * DAY
                completed = add_visit(
                    rng=rng, visit_id=next(visit_ids), job_id=job_id, number=1, crew=crew, users=self.users, start=at, minutes=minutes,
                    status=bench.status, scheduled_by=creator, scheduled_at=scheduled_at, outcome="finished", snapshot=self.bench_noon,
                    lead_name=lead_name,
                )  # fmt: skip
                if bench.status in ACTIVE:
                    next_visit = ts(at)
            elif crew and status in DONE:
                # One visit, or a first one that needed a return and the return visit that finished.
                first = self.slot(rng, created + uniform(0.1, 5) * DAY, minutes, -1)
                starts = [first, self.slot(rng, first + uniform(2, 10) * DAY, minutes, 1)] if random() < 0.15 else [first]
                end_of_work = starts[-1] + (minutes + 60) * 60
                if end_of_work > now - 3600:  # the work is done: move it back by whole days, before now
                    back = math.ceil((end_of_work - now + 3600) / DAY) * DAY
                    starts = [self.avoid(s - back, -1) for s in starts]
                created = min(created, starts[0] - uniform(2, 72) * 3600)
                previous_id = None
                for visit_no, at in enumerate(starts, 1):
                    visit_id = next(visit_ids)
                    last = visit_no == len(starts)
                    scheduled_at = max(created + 600, at - uniform(0.1, 3) * DAY) if visit_no == 1 else (completed or at) + uniform(0.05, 0.5) * DAY
                    completed = add_visit(
                        rng=rng, visit_id=visit_id, job_id=job_id, number=visit_no, crew=crew, users=self.users, start=at, minutes=minutes,
                        status=V.COMPLETED, scheduled_by=creator, scheduled_at=min(scheduled_at, at - 600), outcome="finished" if last else "return_needed",
                        return_of=previous_id, reviewer=reviewer, lead_name=lead_name,
                    )  # fmt: skip
                    previous_id = visit_id
            elif crew and status == _ST.IN_PROGRESS:
                # Started: the first visit found more to do; the return visit is booked.
                # Some day of the last week after the job came in (spread, so that no day piles up).
                earliest = max(created + 0.1 * DAY, now - 7 * DAY)
                first = self.slot(rng, uniform(earliest, max(earliest, now - DAY)), minutes, -1)
                while first + (minutes + 60) * 60 > now - 3600:
                    first = self.avoid(first - DAY, -1)
                created = min(created, first - uniform(2, 72) * 3600)
                visit_id = next(visit_ids)
                done_at = add_visit(
                    rng=rng, visit_id=visit_id, job_id=job_id, number=1, crew=crew, users=self.users, start=first, minutes=minutes,
                    status=V.COMPLETED, scheduled_by=creator, scheduled_at=max(created + 600, first - uniform(0.1, 2) * DAY), outcome="return_needed",
                    lead_name=lead_name,
                )  # fmt: skip
                again = self.slot(rng, now + randrange(1, 11) * DAY, minutes, 1)
                add_visit(
                    rng=rng, visit_id=next(visit_ids), job_id=job_id, number=2, crew=crew, users=self.users, start=again, minutes=minutes,
                    status=V.SCHEDULED, scheduled_by=creator, scheduled_at=min((done_at or first) + uniform(0.05, 0.5) * DAY, now - 60), return_of=visit_id,
                    lead_name=lead_name,
                )  # fmt: skip
                next_visit = ts(again)
            elif crew:
                # Scheduled (or on hold with the next visit booked): one visit in the coming three weeks.
                at = self.slot(rng, now + randrange(1, 22) * DAY, minutes, 1)
                add_visit(
                    rng=rng, visit_id=next(visit_ids), job_id=job_id, number=1, crew=crew, users=self.users, start=at, minutes=minutes,
                    status=V.SCHEDULED, scheduled_by=creator, scheduled_at=min(created + uniform(0.02, 1) * DAY, now - 60), lead_name=lead_name,
                )  # fmt: skip
                next_visit = ts(at)
            if status in DONE and completed is None:  # no qualified technician: done without a visit on record
                completed = min(created + uniform(0.1, 10) * DAY, now - 60)
            if status not in DONE:
                completed = None
            base_time = completed if completed is not None else created
            if completed is not None and status != _ST.WORK_COMPLETE:
                updated = completed + uniform(0, 20) * DAY
            elif completed is not None:
                updated = completed
            else:
                updated = created + uniform(0.01, 2) * DAY
            updated = max(min(updated, now - 30), base_time) if bench is None else max(updated, base_time)
            created_text = ts(created)
            updated_text = ts(updated)
            b.jobs.append(
                (
                    job_id, number, customer_id, location_id, contact_id, type_id, source, reference, scope, priority,
                    spec.minutes, billing, nte, status, hold_reason, hold_note, next_visit,
                    creator, created_text, updated_text, ts(completed) if completed else None, str(parts),
                )
            )  # fmt: skip

            work_at = ts(completed) if completed else created_text
            lines = base + rng.sample(extras, min(choice((0, 1, 1, 2)), len(extras)))
            warranty = random() < 0.03 and spec.name in ("AC repair", "Appliance repair")
            if warranty:
                tags += [tag["warranty"], tag["callback"]]
            for position, (kind, description, price, cost, quantities, taxable) in enumerate(lines, 1):
                b.items.append((job_id, kind, description, choice(quantities), 0 if warranty else price, cost, taxable, position, work_at))

            source_text = SOURCE_LABELS[source] + (f" {reference}" if reference else "")
            data = json.dumps({"source": source, "source_reference": reference}) if reference else source_data[source]
            b.events.append((job_id, creator, "created", "", "new", f"Created from {source_text}", data, created_text))
            if status != _ST.NEW:
                actor = self.office if status in (_ST.INVOICED, _ST.CLOSED, _ST.CANCELLED) else creator
                data = json.dumps({"hold_reason": hold_reason}) if hold_reason else "{}"
                b.events.append((job_id, actor, "status", PREVIOUS[status], status, message, data, updated_text))

            b.technicians += [(job_id, t) for t in crew]  # the crews of the job's visits
            b.skills += [(job_id, s) for s in skill_ids]
            b.tags += [(job_id, t) for t in dict.fromkeys(tags)]
            b.docs.append((job_id, search.document_for(number=number, customer_name=customer_name, address=address, scope=scope)))

    def slot(self, rng: Random, moment: float, minutes: int, away: int) -> float:
        """A whole-hour start on `moment`'s day between 8:00 and 16:00 Chicago time (14:00-22:00 UTC; an
        hour off in summer, close enough here) that ends by 17:00, moved a day `away` off the bench day."""
        latest = max(15, 23 - math.ceil(minutes / 60))
        return self.avoid((moment // DAY) * DAY + rng.randrange(14, latest) * 3600, away)

    def avoid(self, moment: float, away: int) -> float:
        lo, hi = self.bench_bounds
        return moment + away * DAY if lo <= moment < hi else moment
