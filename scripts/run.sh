#!/usr/bin/env bash
# The one run command (README, `make run`): set-up, migrations, demo data on an empty database, then the
# background worker and the web server on http://127.0.0.1:8000 until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.dev}"
mkdir -p var
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py seed_demo --if-empty
.venv/bin/python manage.py db_worker --interval 1 --no-reload &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
echo "Service Opus on http://127.0.0.1:8000  (worker pid $worker; Ctrl-C stops both)"
.venv/bin/python manage.py runserver 127.0.0.1:8000 --noreload
