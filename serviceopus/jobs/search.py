"""Full-text search over jobs: number, customer name, address and scope.

A LIKE '%term%' scan grows with the table; a text index does not. Each database uses its own:
SQLite an FTS5 table keyed by job id, PostgreSQL a tsvector column with a GIN index. Both live in the
table `jobs_search` (created by migration 0002) and are written by `reindex_jobs`, which every action
that changes a searchable field calls inside its transaction.
"""

import re
from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERMS = 8


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def document_for(*, number: str, customer_name: str, address: str, scope: str) -> str:
    """The text indexed for one job. The number is indexed whole and by its digits ("J-000123" is
    found by "J-000123", "000123" and "123")."""
    digits = "".join(ch for ch in number if ch.isdigit())
    extra = [number.replace("-", "").lower(), digits, digits.lstrip("0")]
    return " ".join(_words(" ".join([*extra, customer_name, address, scope])))


def query_terms(query: str) -> list[str]:
    return _words(query)[:MAX_TERMS]


def reindex_jobs(job_ids: Iterable[int]) -> None:
    from .models import Job

    ids = list(job_ids)
    if not ids:
        return
    rows = Job.objects.filter(pk__in=ids).values_list("pk", "number", "customer__name", "location__street", "location__city", "location__postal_code", "scope")
    docs = [(pk, document_for(number=n, customer_name=c, address=f"{s} {ci} {pc}", scope=sc)) for pk, n, c, s, ci, pc, sc in rows]
    write_documents(docs)


def write_documents(docs: list[tuple[int, str]]) -> None:
    """Replace the indexed text of these jobs. Used by actions and by the bulk seeder."""
    if not docs:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.executemany(
                "INSERT INTO jobs_search (job_id, document) VALUES (%s, to_tsvector('simple', %s)) "
                "ON CONFLICT (job_id) DO UPDATE SET document = EXCLUDED.document",
                docs,
            )
        else:
            cursor.executemany("DELETE FROM jobs_search WHERE rowid = %s", [(pk,) for pk, _ in docs])
            cursor.executemany("INSERT INTO jobs_search (rowid, body) VALUES (%s, %s)", docs)


def delete_documents(job_ids: list[int]) -> None:
    with connection.cursor() as cursor:
        column = "job_id" if connection.vendor == "postgresql" else "rowid"
        cursor.executemany(f"DELETE FROM jobs_search WHERE {column} = %s", [(pk,) for pk in job_ids])


# Up to this many matches are fetched as a list of ids; more fall back to a subquery (see below).
MATERIALIZE_LIMIT = 2000


def filter_by_text(qs: QuerySet, query: str) -> QuerySet:
    """Jobs whose indexed text has every word of `query` as a word prefix.

    Runs the text query at once (one query). A selective search (a name, a number, an address: up to
    MATERIALIZE_LIMIT matches) becomes a plain `id IN (…)` list, which both databases answer by primary
    key lookups. Left as a subquery, PostgreSQL cannot estimate a prefix query's selectivity and may walk
    the whole jobs index backwards looking for 25 rows that only 20 jobs have. A common word (more
    matches than the limit) stays a subquery, where walking the newest jobs first finds a page quickly.
    """
    terms = query_terms(query)
    if not terms:
        return qs
    if connection.vendor == "postgresql":
        tsquery = " & ".join(f"{t}:*" for t in terms)
        sql = "SELECT job_id FROM jobs_search WHERE document @@ to_tsquery('simple', %s)"
    else:
        tsquery = " AND ".join(f'"{t}"*' for t in terms)
        sql = "SELECT rowid FROM jobs_search WHERE jobs_search MATCH %s"
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} LIMIT %s", [tsquery, MATERIALIZE_LIMIT + 1])
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) <= MATERIALIZE_LIMIT:
        return qs.filter(pk__in=ids)
    return qs.filter(pk__in=RawSQL(sql, [tsquery]))


CREATE_SQL = {
    "sqlite": ["CREATE VIRTUAL TABLE IF NOT EXISTS jobs_search USING fts5(body, tokenize = 'unicode61')"],
    "postgresql": [
        # No foreign key to jobs_job: Django's flush (TRUNCATE of its own tables) would be refused, and
        # jobs are never deleted, only cancelled. delete_documents is there should that change.
        "CREATE TABLE IF NOT EXISTS jobs_search (job_id bigint PRIMARY KEY, document tsvector NOT NULL)",
        "CREATE INDEX IF NOT EXISTS jobs_search_document ON jobs_search USING gin (document)",
    ],
}
DROP_SQL = "DROP TABLE IF EXISTS jobs_search"
