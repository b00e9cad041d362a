"""`manage.py seed_scale --jobs N [--batch 20000] [--seed S] [--no-analyze]`: append N realistic jobs fast.

For the growth benchmark (bench/web.py) a million jobs must load in minutes, so this bypasses the
actions and writes rows directly: one INSERT … SELECT from a JSON array per table on SQLite, COPY on
PostgreSQL, one transaction per batch.
Everything the actions would have written is written here too (line items, timeline events, technician
and skill assignments, tags, the search text), and job numbers come from the same sequence, so a job
created afterwards continues the numbering. Running it again appends N more.
"""

import json
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate
from random import Random
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import DateTimeField, JSONField, Model
from django.utils import timezone

from serviceopus.core.models import next_in_sequence
from serviceopus.customers.models import Contact, Customer, Location
from serviceopus.jobs import search
from serviceopus.jobs.actions import job_number
from serviceopus.jobs.models import BillingType, Job, JobEvent, JobTechnician, LineItem, Source
from serviceopus.jobs.seeding import BUSINESSES, CANCEL_NOTES, FIRST_NAMES, HOLD_NOTES, JOB_TYPES, Company, Generator, ensure_company, scale_surname
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


class BulkWriter:
    """Writes plain rows into a model's table the fastest way each database offers. Columns the caller
    does not give get the model field's default, so a field added later does not break the seeder."""

    def __init__(self) -> None:
        if connection.vendor not in ("sqlite", "postgresql"):
            raise CommandError(f"seed_scale supports SQLite and PostgreSQL, not {connection.vendor}.")
        self.postgres = connection.vendor == "postgresql"
        self.q = connection.ops.quote_name

    def ts(self, epoch: float) -> str:
        """A UTC epoch as the text each database stores or parses: Django's naive-UTC text on SQLite, an
        explicit +00 offset on PostgreSQL. The generator works in epoch floats, which are cheap."""
        text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))
        return text + "+00" if self.postgres else text

    def reserve_ids(self, model: type[Model], count: int, *, floor: int = 0) -> list[int]:
        """Primary keys for `count` new rows (none below `floor`), so children can point at parents before
        anything is written. PostgreSQL draws them from the table's own sequence, safe beside other
        writers. SQLite's IMMEDIATE transaction holds the only write lock, so max + 1 … is safe until
        commit; ids reserved for a later transaction are checked again with still_free()."""
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
                return sorted(row[0] for row in cursor.fetchall())
            start = max(self._sqlite_last_id(cursor, table) + 1, floor)
        return list(range(start, start + count))

    def still_free(self, model: type[Model], first_id: int) -> bool:
        if self.postgres:
            return True  # sequence values are never handed out twice
        with connection.cursor() as cursor:
            return self._sqlite_last_id(cursor, model._meta.db_table) < first_id

    def _sqlite_last_id(self, cursor: Any, table: str) -> int:
        # AUTOINCREMENT never reuses an id, even a deleted one: sqlite_sequence remembers the largest.
        cursor.execute(
            f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), coalesce((SELECT max(id) FROM {self.q(table)}), 0))",
            [table],
        )
        return cursor.fetchone()[0]

    def insert(self, model: type[Model], names: tuple[str, ...], rows: list[tuple]) -> int:
        if not rows:
            return 0
        opts = model._meta
        given = [opts.get_field(name) for name in names]
        columns = [f.column for f in given]
        constants: list[Any] = []
        for f in opts.concrete_fields:
            if f in given or f.primary_key:
                continue
            if f.has_default() or f.null or f.empty_strings_allowed:
                value = f.get_default()  # "" for text without a default, None for nullable fields
                if isinstance(f, JSONField):
                    value = json.dumps(value)
                elif isinstance(f, DateTimeField) and value is not None:
                    value = self.ts(value.timestamp())
                else:
                    value = f.get_db_prep_save(value, connection)
            else:
                raise ImproperlyConfigured(f"seed_scale does not fill {opts.label}.{f.name}: give it a default or add it to the seeder.")
            columns.append(f.column)
            constants.append(value)
        if constants:
            extra = tuple(constants)
            rows = [row + extra for row in rows]
        table, cols = self.q(opts.db_table), ", ".join(self.q(c) for c in columns)
        raw = connection.connection
        if self.postgres:
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self._sqlite_insert_json(table, cols, len(columns), rows)
        return len(rows)

    def _sqlite_insert_json(self, table: str, cols: str, width: int, rows: list[tuple]) -> None:
        # One statement reading a JSON array, not executemany: the sqlite3 module takes the GIL back for
        # every row of an executemany, which starves the thread generating the next batch; a single
        # statement runs entirely in SQLite. Decimals go in as text, as Django's own adapter does.
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(width))
        cursor = connection.connection.cursor()
        try:
            cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {picks} FROM json_each(?)", (json.dumps(rows, default=str),))
        finally:
            cursor.close()

    def search_documents(self, docs: list[tuple[int, str]]) -> int:
        """The jobs_search rows of new jobs, as search.write_documents writes them (it also deletes old
        rows, which new ids cannot have). PostgreSQL: the text goes in by COPY and becomes a tsvector
        through the same to_tsvector('simple', …); SQLite: the FTS5 table keyed by rowid = job id."""
        if not self.postgres:
            self._sqlite_insert_json("jobs_search", "rowid, body", 2, docs)
            return len(docs)
        with connection.connection.cursor() as cursor:
            cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS seed_search_text (job_id bigint, body text)")
            cursor.execute("TRUNCATE seed_search_text")
            with cursor.copy("COPY seed_search_text (job_id, body) FROM STDIN") as copy:
                for doc in docs:
                    copy.write_row(doc)
            cursor.execute("INSERT INTO jobs_search (job_id, document) SELECT job_id, to_tsvector('simple', body) FROM seed_search_text")
            cursor.execute("TRUNCATE seed_search_text")
        return len(docs)

    def analyze(self, models: list[type[Model]]) -> None:
        """Fresh planner statistics, as autovacuum would gather after a load this size (PostgreSQL also
        sets the visibility map, so index-only scans work). Inside a transaction (tests) only ANALYZE."""
        with connection.cursor() as cursor:
            if not self.postgres:
                cursor.execute("ANALYZE")
                return
            verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            for model in models:
                cursor.execute(f"{verb} {self.q(model._meta.db_table)}")
            cursor.execute(f"{verb} jobs_search")


@dataclass
class Reservation:
    offset: int  # of the batch's first job within this run (spreads creation dates over the run)
    count: int
    job_ids: list[int]
    customer_ids: list[int]
    site_counts: list[int]
    location_ids: list[int]
    contact_ids: list[int]
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


CUSTOMER_COLUMNS = ("id", "name", "kind", "email", "phone", "created_at", "updated_at")
LOCATION_COLUMNS = ("id", "customer", "label", "street", "city", "region", "postal_code", "lat", "lng", "access_notes", "gate_code", "created_at")
CONTACT_COLUMNS = ("id", "customer", "name", "role", "email", "phone", "is_primary")
JOB_COLUMNS = (
    "id", "number", "customer", "location", "contact", "job_type", "source", "source_reference", "scope", "priority",
    "estimated_duration_minutes", "billing_type", "not_to_exceed_cents", "status", "hold_reason", "hold_note", "next_visit_at",
    "created_by", "created_at", "updated_at", "completed_at",
)  # fmt: skip
ITEM_COLUMNS = ("job", "kind", "description", "quantity", "unit_price_cents", "unit_cost_cents", "taxable", "position", "created_at")
EVENT_COLUMNS = ("job", "actor", "kind", "old_value", "new_value", "message", "data", "created_at")


class Command(BaseCommand):
    help = "Append N realistic jobs (with customers, line items, events, assignments, tags and search text) in bulk."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--jobs", type=int, required=True, help="How many jobs to add.")
        parser.add_argument("--batch", type=int, default=20000, help="Jobs per transaction (default 20,000).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (mixed with the first new id of each batch).")
        parser.add_argument("--no-analyze", action="store_true", help="Skip refreshing the planner statistics at the end.")

    def handle(self, *args: object, jobs: int, batch: int, seed: int, no_analyze: bool, **options: object) -> None:
        if jobs < 0 or batch < 1:
            raise CommandError("--jobs must be 0 or more and --batch at least 1.")
        writer = BulkWriter()
        company = ensure_company()
        plan = Plan(company, writer, seed, total=jobs)
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
            writer.analyze([Customer, Location, Contact, Job, LineItem, JobEvent, JobTechnician, Job.tags.through, Job.required_skills.through])
            self.stdout.write(f"  planner statistics refreshed in {time.monotonic() - t0:.1f} s")
        seconds = max(seeding, 1e-9)
        summary = f"{jobs / seconds:,.0f} jobs/s, {rows / seconds:,.0f} rows/s"
        self.stdout.write(f"Seeded {jobs:,} jobs ({rows:,} rows) on {connection.vendor} in {seeding:.1f} s: {summary}")


class Plan:
    """Generates and writes batches. Randomness is seeded per batch from the batch's first job id, so a
    re-run on the same database state gives the same rows and an append gives new ones."""

    def __init__(self, company: Company, writer: BulkWriter, seed: int, *, total: int) -> None:
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

    def reserve(self, offset: int, count: int, *, after: Reservation | None = None, numbers: int | None = None) -> Reservation:
        """Ids and job numbers for one batch. `after`: the batch that will be written just before this
        one (its ids are not in the tables yet). Must run inside a transaction."""
        w = self.writer
        jobs_from, customers_from, locations_from, contacts_from = (
            (ids[-1] + 1 for ids in (after.job_ids, after.customer_ids, after.location_ids, after.contact_ids)) if after else (0, 0, 0, 0)
        )
        customer_count = max(1, math.ceil(count / JOBS_PER_CUSTOMER))
        job_ids = w.reserve_ids(Job, count, floor=jobs_from)
        customer_ids = w.reserve_ids(Customer, customer_count, floor=customers_from)
        sites_rng = Random(f"{self.seed}:{job_ids[0]}:sites")
        site_counts = [2 if sites_rng.random() < 0.2 else 1 for _ in customer_ids]
        location_ids = w.reserve_ids(Location, sum(site_counts), floor=locations_from)
        contact_ids = w.reserve_ids(Contact, customer_count, floor=contacts_from)
        # Reserved inside the current transaction even for the next batch: if that batch then fails, job
        # numbers have a gap, never a duplicate (only invoice numbers must be gapless).
        first_number = numbers if numbers is not None else next_in_sequence("job", count)
        return Reservation(offset, count, job_ids, customer_ids, site_counts, location_ids, contact_ids, first_number)

    def still_free(self, r: Reservation) -> bool:
        tables = ((Job, r.job_ids), (Customer, r.customer_ids), (Location, r.location_ids), (Contact, r.contact_ids))
        return all(self.writer.still_free(model, ids[0]) for model, ids in tables)

    def generate(self, r: Reservation) -> Batch:
        """The rows of one batch. Touches no database, so it can run in another thread."""
        rng = Random(f"{self.seed}:{r.job_ids[0]}")
        b = Batch(r)
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
        for k, job_id in enumerate(job_ids):
            # The customer first, then one of its sites: every customer gets about the same number of jobs.
            customer_sites = choice(sites)
            site = customer_sites[0] if len(customer_sites) == 1 else choice(customer_sites)
            customer_id, customer_name, commercial, location_id, address, contact_id = site
            spec, type_id, base, extras, skill_ids, tech_ids = choices(self.types, cum_weights=commercial_w if commercial else residential_w)[0]
            created = start + (offset + k + random()) / total * span
            age = (now - created) / DAY
            for limit, statuses, weights in STATUS_BY_AGE:
                if age <= limit:
                    status = choices(statuses, cum_weights=weights)[0]
                    break
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
            next_visit = None
            if status == _ST.SCHEDULED or (status in (_ST.NEW, _ST.ON_HOLD) and random() < 0.3):
                # Whole hours 8:00-16:00 Chicago time (UTC-6 in winter is close enough for a benchmark).
                next_visit = ts((now // DAY + randrange(0, 21)) * DAY + (14 + randrange(0, 9)) * 3600)
            elif status == _ST.IN_PROGRESS:
                next_visit = ts(now - randrange(1800, 4 * 3600))
            completed = min(created + uniform(0.1, 10) * DAY, now - 60) if status in DONE else None
            updated = completed + uniform(0, 20) * DAY if completed and status != _ST.WORK_COMPLETE else created + uniform(0.01, 2) * DAY
            updated = max(min(updated, now - 30), created)
            creator = choice(self.creators)
            created_text = ts(created)
            updated_text = ts(updated)
            b.jobs.append(
                (
                    job_id, number, customer_id, location_id, contact_id, type_id, source, reference, scope, priority,
                    spec.minutes, billing, nte, status, hold_reason, hold_note, next_visit,
                    creator, created_text, updated_text, ts(completed) if completed else None,
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

            if tech_ids and ((status not in (_ST.NEW, _ST.CANCELLED) and random() < 0.95) or random() < 0.2):
                crew = rng.sample(tech_ids, min(len(tech_ids), spec.crew if random() < 0.5 else 1))
                b.technicians += [(job_id, t) for t in crew]
            b.skills += [(job_id, s) for s in skill_ids]
            b.tags += [(job_id, t) for t in dict.fromkeys(tags)]
            b.docs.append((job_id, search.document_for(number=number, customer_name=customer_name, address=address, scope=scope)))
