"""Writing plain rows fast for the scale seeder (`manage.py seed_scale`): COPY on PostgreSQL, one
INSERT … SELECT from a JSON array on SQLite, ids reserved ahead so children can point at parents."""

import json
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import DateTimeField, JSONField, Model


class BulkWriter:
    """Writes plain rows into a model's table the fastest way each database offers. Columns the caller
    does not give get the model field's default, so a field added later does not break the seeder."""

    def __init__(self) -> None:
        if connection.vendor not in ("sqlite", "postgresql"):
            raise CommandError(f"seed_scale supports SQLite and PostgreSQL, not {connection.vendor}.")
        self.postgres = connection.vendor == "postgresql"
        self.q = connection.ops.quote_name
        self._dates: dict[int, str] = {}
        self._offset = "+00" if self.postgres else ""

    def ts(self, epoch: float) -> str:
        """A UTC epoch as the text each database stores or parses: Django's naive-UTC text on SQLite, an
        explicit +00 offset on PostgreSQL. The generator works in epoch floats, which are cheap; the date
        part is formatted once per day (a visit writes a dozen stamps, so this runs millions of times)."""
        day, second = divmod(int(epoch), 86400)
        date_text = self._dates.get(day)
        if date_text is None:
            date_text = self._dates[day] = time.strftime("%Y-%m-%d ", time.gmtime(day * 86400))
        hour, rest = divmod(second, 3600)
        minute, second = divmod(rest, 60)
        return f"{date_text}{hour:02d}:{minute:02d}:{second:02d}{self._offset}"

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
