#!/usr/bin/env bash
# The one test command (README, `make test`, .ci/run): lint, migrations check, then the whole suite
# (unit, view, API, concurrency, browser and schemathesis tests) on SQLite and again on a throwaway
# PostgreSQL 15 cluster that this script starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

export DJANGO_SETTINGS_MODULE=config.settings.test
# Chromium writes into $HOME; keep it out of the real one.
export HOME="$(mktemp -d)"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p var test-artifacts

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== migrations match the models"
unset DATABASE_URL
.venv/bin/python manage.py makemigrations --check --dry-run

echo "== test suite on SQLite"
.venv/bin/pytest --create-db -q "$@"

echo "== test suite on PostgreSQL 15"
pgdir="$(mktemp -d)"
trap 'scripts/pg.sh stop "$pgdir/pg"; rm -rf "$pgdir"' EXIT
DATABASE_URL="$(scripts/pg.sh start "$pgdir/pg" 54329)"
export DATABASE_URL
.venv/bin/pytest --create-db -q "$@"
