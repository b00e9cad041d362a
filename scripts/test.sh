#!/usr/bin/env bash
# The one test command (README, `make test`, .ci/run): lint, migrations check, then the whole suite
# (unit, view, API, concurrency, browser and schemathesis tests) on SQLite and on a throwaway
# PostgreSQL 15 cluster that this script starts and stops. The two runs go side by side, one per core
# (each has its own database, media folder and Chromium profile); their output is prefixed with the
# database's name. Set TEST_ONE_AT_A_TIME=1 to run them one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

export DJANGO_SETTINGS_MODULE=config.settings.test
export PYTHONDONTWRITEBYTECODE=1
mkdir -p var test-artifacts
scratch="$(mktemp -d)"
chmod 755 "$scratch"  # the postgres user starts the cluster inside it

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== migrations match the models"
unset DATABASE_URL
.venv/bin/python manage.py makemigrations --check --dry-run

trap 'scripts/pg.sh stop "$scratch/pg" >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
pg_url="$(scripts/pg.sh start "$scratch/pg" 54329)"

# suite NAME DATABASE_URL [pytest args]: the whole suite on one database, its lines prefixed with NAME.
suite() {
    local name="$1" url="$2"
    shift 2
    mkdir -p "$scratch/$name/home"
    # Chromium writes into $HOME; each run keeps its own, out of the real one.
    HOME="$scratch/$name/home" DATABASE_URL="$url" TEST_MEDIA_ROOT="$scratch/$name/media" \
        .venv/bin/pytest --create-db -q -p no:cacheprovider "$@" 2>&1 | sed -u "s/^/[$name] /"
    return "${PIPESTATUS[0]}"
}

if [ "${TEST_ONE_AT_A_TIME:-}" = "1" ]; then
    echo "== test suite on SQLite"
    suite sqlite "" "$@"
    echo "== test suite on PostgreSQL 15"
    suite postgresql "$pg_url" "$@"
    exit 0
fi

echo "== test suite on SQLite and on PostgreSQL 15, side by side"
suite sqlite "" "$@" &
sqlite_run=$!
suite postgresql "$pg_url" "$@" &
pg_run=$!
status=0
wait "$sqlite_run" || { status=1; echo "== the suite FAILED on SQLite"; }
wait "$pg_run" || { status=1; echo "== the suite FAILED on PostgreSQL 15"; }
[ "$status" -eq 0 ] && echo "== the suite passed on SQLite and on PostgreSQL 15"
exit "$status"
