#!/usr/bin/env bash
# The one run command (README, `make run`): set-up, migrations, demo data on an empty database, then the
# background workers (tasks; the outbox that sends email and texts; automation: workflow rules, webhooks,
# the time-based scan) and the web server on http://127.0.0.1:8000 until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.dev}"
mkdir -p var
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py seed_demo --if-empty
.venv/bin/python manage.py db_worker --interval 1 --no-reload &
worker=$!
.venv/bin/python manage.py outbox_worker --interval 1 &
outbox=$!
.venv/bin/python manage.py automation_worker --interval 1 &
automation=$!
# SIGTERM lets the outbox worker finish the message it is sending, and the automation worker the event it
# is processing; `wait` gives them the time to.
trap 'kill $worker $outbox $automation 2>/dev/null || true; wait $worker $outbox $automation 2>/dev/null || true' EXIT INT TERM
echo "Service Opus on http://127.0.0.1:8000  (worker pids $worker, $outbox, $automation; Ctrl-C stops all)"
.venv/bin/python manage.py runserver 127.0.0.1:8000 --noreload
