"""Growth benchmark of the office pages and the API list: the same requests against a small and a large
database (10,000 and 1,000,000 jobs by default), on SQLite and on PostgreSQL 15, reported as ratios.

    .venv/bin/python bench/web.py                         # the full run (scripts/bench.sh, `make bench`)
    .venv/bin/python bench/web.py --small 2000 --large 20000 --databases sqlite   # a quick look

Databases are built once with `manage.py seed_scale` and reused from bench/.data/ (git-ignored; a
manifest records how each was built and how fast). PostgreSQL runs in a persistent cluster under
bench/.data/pg on port 54330, started here and stopped at the end. Each database is measured in a child
process (Django can be set up only once per process) with Django's test Client, signed in as the seeded
dispatcher, DEBUG off. See bench/README.md for what each row requests and how to read the table.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
MANIFEST = DATA / "manifest.json"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PG_DIR = DATA / "pg"
PG_SH = str(ROOT / "scripts" / "pg.sh")
PG_PORT = 54330
SETTINGS = "config.settings.dev"
DATABASES = {"sqlite": "SQLite", "postgres": "PostgreSQL 15"}
GROWTH_LIMIT = 1.5  # DESIGN.md §5: a page may cost at most 1.5x at the large size
SEEDED = re.compile(r"Seeded ([\d,]+) jobs \(([\d,]+) rows\) on \w+ in ([\d.]+) s: ([\d,]+) jobs/s, ([\d,]+) rows/s")
BENCH_DAY = re.compile(r"Bench day (\d{4}-\d\d-\d\d): (\d+) technicians, ([\d,]+) visits")


def label(size: int) -> str:
    for unit, name in ((1_000_000, "M"), (1_000, "k")):
        if size >= unit:
            return f"{size / unit:g}{name}"
    return str(size)


# ---- building and reusing the databases --------------------------------------------------------------


def load_manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}


def save_manifest(manifest: dict[str, Any]) -> None:
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def record(manifest: dict[str, Any], key: str, entry: dict[str, Any] | None) -> None:
    """Set (or with None remove) one database's entry, re-reading the file first: two harnesses may build
    at once (say SQLite and PostgreSQL in parallel, each with --build-only), and neither may drop the
    other's entries."""
    fresh = load_manifest()
    for target in (fresh, manifest):
        if entry is None:
            target.pop(key, None)
        else:
            target[key] = entry
    save_manifest(fresh)


def sqlite_path(size: int) -> Path:
    return DATA / f"sqlite-{size}.sqlite3"


def environment(database: str, size: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS
    env["PYTHONPATH"] = str(ROOT)
    if database == "sqlite":
        env["SQLITE_PATH"] = str(sqlite_path(size))
    else:
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{PG_PORT}/bench_{size}"
    return env


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    # Only this repository's own programs, with arguments built here: nothing comes from outside.
    return subprocess.run(argv, cwd=ROOT, **kwargs)  # noqa: S603


def pg_start() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    # A cluster left running by an interrupted run would make `start` fail; stopping first is harmless.
    pg_stop()
    run([PG_SH, "start", str(PG_DIR), str(PG_PORT)], check=True, stdout=subprocess.DEVNULL)


def pg_stop() -> None:
    run([PG_SH, "stop", str(PG_DIR)], check=False)


def pg_admin(sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres", autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def exists(database: str, size: int) -> bool:
    if database == "sqlite":
        return sqlite_path(size).exists()
    return bool(pg_admin(f"SELECT 1 FROM pg_database WHERE datname = 'bench_{size}'"))


def drop(database: str, size: int) -> None:
    if database == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_path(size)}{suffix}").unlink(missing_ok=True)
    else:
        pg_admin(f"DROP DATABASE IF EXISTS bench_{size} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE bench_{size}")


def manage(env: dict[str, str], *args: str) -> str:
    """Run a management command, echoing its output as it comes; returns the output."""
    # --skip-checks: the system checks import every URL module, and the benchmark must still run while
    # some of them are being rewritten.
    process = subprocess.Popen(  # noqa: S603 (see run())
        [PYTHON, "manage.py", *args, "--skip-checks"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        print("    " + line.rstrip(), flush=True)
    if process.wait() != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed (exit {process.returncode}).")
    return "".join(lines)


def build(database: str, size: int, batch: int, manifest: dict[str, Any]) -> None:
    key = f"{database}-{size}"
    print(f"\n== Building {DATABASES[database]} with {size:,} jobs", flush=True)
    record(manifest, key, None)
    drop(database, size)
    env = environment(database, size)
    started = time.monotonic()
    manage(env, "migrate", "--noinput", "-v0")
    output = manage(env, "seed_scale", "--jobs", str(size), "--batch", str(batch))
    match = SEEDED.search(output)
    if not match:
        raise SystemExit("seed_scale did not report its rate.")
    jobs, rows, seconds, jobs_rate, rows_rate = (float(g.replace(",", "")) for g in match.groups())
    day = BENCH_DAY.search(output)
    record(
        manifest,
        key,
        {
            # The day seed_scale laid out with 200 technicians and 1,500 visits: the dispatch rows ask for it.
            "bench_day": day.group(1) if day else None,
            "jobs": int(jobs),
            "rows": int(rows),
            "seed_seconds": seconds,
            "jobs_per_second": jobs_rate,
            "rows_per_second": rows_rate,
            "build_seconds": round(time.monotonic() - started, 1),
            "built_at": time.strftime("%Y-%m-%d %H:%M"),
        },
    )


# ---- measuring (in a child process, one per database) ------------------------------------------------


def measure(database: str, size: int, requests: int, warmup: int, bench_day: str | None) -> dict[str, Any]:
    """One round: every row requested `warmup` + `requests` times in a fresh child process."""
    env = environment(database, size)
    log = DATA / f"measure-{database}-{size}.log"
    with log.open("a") as stderr:
        done = run(
            [PYTHON, __file__, "--child", "--requests", str(requests), "--warmup", str(warmup), "--bench-day", bench_day or ""],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            check=False,
        )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise SystemExit(f"The measurement of {database} at {size:,} failed; see {log}.")


def child(requests: int, warmup: int, bench_day: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    from django.conf import settings

    settings.DEBUG = False  # as in production: no query log kept, no debug pages rendered
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count, Max, Min
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from serviceopus.accounts.models import User
    from serviceopus.customers.models import Customer
    from serviceopus.dispatch.models import CrewMember
    from serviceopus.dispatch.queries import day_bounds
    from serviceopus.jobs import search
    from serviceopus.jobs.management.commands.seed_scale import JOBS_PER_CUSTOMER
    from serviceopus.jobs.models import Job
    from serviceopus.jobs.pagination import encode_cursor
    from serviceopus.jobs.seeding import scale_surname

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username="dispatcher"))
    # A technician sees only their own jobs: the pages they open take another path through the queries.
    tech_client = Client(raise_request_exception=False)
    tech_client.force_login(User.objects.get(username="tech1"))
    # Billing pages are the office's (a dispatcher gets 403 there).
    office_client = Client(raise_request_exception=False)
    office_client.force_login(User.objects.filter(role="office").order_by("pk").first())
    bounds = Job.objects.aggregate(lo=Min("id"), hi=Max("id"))
    mid = Job.objects.filter(pk__gte=(bounds["lo"] + bounds["hi"]) // 2).order_by("pk").values_list("pk", flat=True).first()
    # Search for a customer near the middle with a typical number of jobs, so that the result is about
    # the same size at both database sizes.
    nearby = Job.objects.filter(pk__gte=mid).order_by("pk").values_list("customer_id", flat=True)[:200]
    counts = Job.objects.filter(customer_id__in=set(nearby)).values_list("customer_id").annotate(n=Count("id"))
    customer_id = min(counts, key=lambda c: (abs(c[1] - JOBS_PER_CUSTOMER), c[0]))[0]
    customer = Customer.objects.get(pk=customer_id)
    surname = scale_surname(customer.pk)
    if surname not in customer.name:
        surname = customer.name.split()[-1]
    # The bench day: the technician's-day rows sign in as someone with a full day on it (tech1 leads
    # eight stops there); the day's size is the same at both database sizes by construction.
    day_client = tech_client
    day_visits = 0
    if bench_day:
        start, end = day_bounds(date.fromisoformat(bench_day))
        on_day = CrewMember.objects.filter(visit__scheduled_start__gte=start, visit__scheduled_start__lt=end)
        busiest = on_day.values_list("technician__user_id").annotate(n=Count("id")).order_by("-n", "technician__user_id")
        mine = on_day.filter(technician__user__username="tech1").count()
        if mine:
            day_visits = mine
        elif first := busiest.first():
            day_client = Client(raise_request_exception=False)
            day_client.force_login(User.objects.get(pk=first[0]))
            day_visits = first[1]

    def url(name: str, fallback: str, query: str = "") -> str:
        # The page may not be wired up yet: request its planned path and let the notes show the 404.
        try:
            path = reverse(name)
        except NoReverseMatch:
            path = fallback
        return path + query

    day_query = f"?day={bench_day}" if bench_day else ""
    rows = [
        ("job list", "/jobs/"),
        ("list: filtered + sorted", "/jobs/?status=scheduled&priority=3&sort=priority"),
        ("list: blocked by parts", "/jobs/?parts=blocked"),
        ("board: blocked by parts", "/jobs/board/?parts=blocked"),
        ("list: deep page (cursor)", f"/jobs/?cursor={encode_cursor([mid], 'next')}"),
        ("search (customer surname)", f"/jobs/?q={quote(surname)}"),
        ("board", "/jobs/board/"),
        ("job workspace", f"/jobs/{mid}/"),
        ("API job list", "/api/v1/jobs"),
        ("dashboard", "/"),
        ("technician: job list", "tech:/jobs/"),
        ("technician: dashboard", "tech:/"),
        ("dispatch board (200 techs × 1,500 visits)", url("dispatch:board", "/dispatch/", day_query)),
        ("technician's day", "day:" + url("field:my_day", "/field/", day_query)),
        ("API: technician's day", "day:/api/v1/me/day" + day_query),
        ("billing: ready to invoice", "office:" + url("billing:ready", "/billing/ready/")),
        ("billing: invoices list", "office:" + url("billing:invoices", "/invoices/")),
    ]

    def timed(url: str) -> dict[str, Any]:
        client_ = {"tech:": tech_client, "day:": day_client, "office:": office_client}.get(url[: url.find(":") + 1], client)
        url = url.removeprefix("tech:").removeprefix("day:").removeprefix("office:")
        if "day=" not in url and ("/dispatch/" in url or "/field/" in url or "/me/day" in url):
            return {"error": "no bench day recorded: build with --rebuild"}
        try:
            for _ in range(warmup):
                client_.get(url)
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                client_.get(url)
                times.append(time.perf_counter() - started)
            # Counted on a separate request: capturing queries slows the one it watches.
            with CaptureQueriesContext(connection) as queries:
                response = client_.get(url)
        except Exception as exc:  # the page under test may be half-written; report and go on
            return {"error": f"{type(exc).__name__}: {exc}"[:160]}
        body = response.content if not response.streaming else b""
        return {
            "times": [t * 1000 for t in times],
            "queries": len(queries),
            "status": response.status_code,
            "placeholder": body.strip() in (b"TODO", b""),
            "bytes": len(body),
        }

    result = {
        "jobs": Job.objects.count(),
        "bench_day": bench_day,
        "bench_day_visits": on_day.values("visit").distinct().count() if bench_day else 0,
        "bench_day_technicians": on_day.values("technician").distinct().count() if bench_day else 0,
        "technician_day_visits": day_visits,
        "workspace_job": mid,
        "search_term": surname,
        "search_matches": search.filter_by_text(Job.objects.all(), surname).count(),
        "rows": {name: {"url": url, **timed(url)} for name, url in rows},
    }
    print("RESULT " + json.dumps(result))


STATS = {
    "median": statistics.median,
    "min": min,
    # The lower quartile: robust to bursts of load from other processes, less optimistic than the minimum.
    "p25": lambda times: statistics.quantiles(times, n=4, method="inclusive")[0] if len(times) > 1 else times[0],
}


def merge(results: dict[tuple[str, int], dict[str, Any]], key: tuple[str, int], new: dict[str, Any], stat: str) -> None:
    """Pool the samples of a round into the results; keep the worst status and every query count seen."""
    old = results.setdefault(key, {**new, "rows": {}})
    for name, row in new["rows"].items():
        pooled = old["rows"].setdefault(name, {"times": [], "query_counts": []})
        if "error" in row:
            pooled["error"] = row["error"]
            continue
        pooled["times"] += row["times"]
        pooled["query_counts"].append(row["queries"])
        pooled["queries"] = max(pooled["query_counts"])
        if pooled.get("status", 200) == 200:
            pooled["status"] = row["status"]
        pooled["placeholder"] = pooled.get("placeholder", False) or row["placeholder"]
        pooled["ms"] = STATS[stat](pooled["times"])


# ---- the report --------------------------------------------------------------------------------------


def flags(r: dict[str, Any], size: str) -> list[str]:
    if "error" in r:
        return [f"{r['error']} @{size}"]
    notes = []
    if r["status"] != 200:
        notes.append(f"HTTP {r['status']} @{size}")
    elif r["placeholder"]:
        notes.append(f"placeholder @{size}")
    return notes


def report(database: str, small: int, large: int, a: dict[str, Any], b: dict[str, Any], stat: str) -> None:
    s, l_ = label(small), label(large)
    print(f"\n{DATABASES[database]}: {a['jobs']:,} vs {b['jobs']:,} jobs ({stat} of {len(next(iter(a['rows'].values()))['times'])} requests per row)")
    print(f"  search term {a['search_term']!r} ({a['search_matches']} jobs) vs {b['search_term']!r} ({b['search_matches']} jobs)")
    for r, size in ((a, s), (b, l_)):
        print(
            f"  bench day @{size}: {r.get('bench_day') or 'none (rebuild)'}, {r.get('bench_day_technicians', 0)} technicians, "
            f"{r.get('bench_day_visits', 0):,} visits; the technician's day has {r.get('technician_day_visits', 0)}"
        )
    head = f"  {'row':<42}{'ms @' + s:>10}{'ms @' + l_:>10}{l_ + '/' + s:>9}{'queries @' + s:>14}{'queries @' + l_:>14}  notes"
    print(head)
    print("  " + "-" * (len(head) + 10))
    for name in a["rows"]:
        ra, rb = a["rows"][name], b["rows"][name]
        ms_a = f"{ra['ms']:.1f}" if "ms" in ra else "-"
        ms_b = f"{rb['ms']:.1f}" if "ms" in rb else "-"
        ratio = rb["ms"] / ra["ms"] if "ms" in ra and "ms" in rb and ra["ms"] else None
        notes = flags(ra, s) + flags(rb, l_)
        if ratio is not None and ratio > GROWTH_LIMIT:
            notes.insert(0, f"OVER {GROWTH_LIMIT}x")
        if "queries" in ra and "queries" in rb and ra["queries"] != rb["queries"]:
            notes.insert(0, "query count grows")
        ratio_text = f"{ratio:.2f}" if ratio is not None else "-"
        qa, qb = ra.get("queries", "-"), rb.get("queries", "-")
        print(f"  {name:<42}{ms_a:>10}{ms_b:>10}{ratio_text:>9}{qa!s:>14}{qb!s:>14}  {'; '.join(notes)}")


def seeding_report(manifest: dict[str, Any], keys: list[str]) -> None:
    print("\nSeeding (manage.py seed_scale, as recorded when each database was built)")
    print(f"  {'database':<26}{'jobs':>11}{'rows':>12}{'seconds':>10}{'jobs/s':>10}{'rows/s':>10}  built")
    for key in keys:
        m = manifest.get(key)
        if m:
            database, size = key.split("-")
            name = f"{DATABASES[database]} {label(int(size))}"
            print(
                f"  {name:<26}{m['jobs']:>11,}{m['rows']:>12,}{m['seed_seconds']:>10.1f}{m['jobs_per_second']:>10,.0f}"
                f"{m['rows_per_second']:>10,.0f}  {m['built_at']}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=10_000, help="jobs in the small database (default 10,000)")
    parser.add_argument("--large", type=int, default=1_000_000, help="jobs in the large database (default 1,000,000)")
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--requests", type=int, default=15, help="timed requests per row and round (the median of all is reported)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each measuring every database and size once (default 3)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument("--stat", choices=sorted(STATS), default="median", help="statistic of the timed requests (default median)")
    parser.add_argument("--batch", type=int, default=20_000, help="seed_scale batch size")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the databases even when they exist")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the databases, measure nothing")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bench-day", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.requests, args.warmup, args.bench_day)
        return

    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(databases) - set(DATABASES)
    if unknown or args.small < 1 or args.large < 1 or args.rounds < 1 or args.requests < 1:
        parser.error(f"unknown database {', '.join(sorted(unknown))}" if unknown else "sizes, rounds and requests must be positive")
    sizes = [args.small, args.large]
    DATA.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest()
    results: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        if "postgres" in databases:
            pg_start()
        for database in databases:
            for size in sizes:
                key = f"{database}-{size}"
                if args.rebuild or key not in manifest or not exists(database, size):
                    build(database, size, args.batch, manifest)
                else:
                    print(f"\n== Reusing {DATABASES[database]} with {size:,} jobs (built {manifest[key]['built_at']}; --rebuild to redo)")
                    manage(environment(database, size), "migrate", "--noinput", "-v0")  # picks up migrations added since
                (DATA / f"measure-{database}-{size}.log").unlink(missing_ok=True)
        # Rounds alternate between the sizes, so that load from other processes on the machine falls on
        # both alike instead of turning into a ratio.
        for round_ in range(0 if args.build_only else args.rounds):
            print(f"\n== Measuring, round {round_ + 1} of {args.rounds}: {args.warmup} + {args.requests} requests per row and database", flush=True)
            for database in databases:
                for size in sizes:
                    bench_day = manifest.get(f"{database}-{size}", {}).get("bench_day")
                    merge(results, (database, size), measure(database, size, args.requests, args.warmup, bench_day), args.stat)
    finally:
        if "postgres" in databases:
            pg_stop()

    seeding_report(manifest, [f"{d}-{s}" for d in databases for s in sizes])
    for database in databases:
        if (database, args.small) in results:
            report(database, args.small, args.large, results[database, args.small], results[database, args.large], args.stat)
    print(f"\nA ratio above {GROWTH_LIMIT} or a growing query count breaks the bar of DESIGN.md §5.")


if __name__ == "__main__":
    main()
