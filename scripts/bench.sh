#!/usr/bin/env bash
# The growth benchmark (`make bench`; see bench/README.md): builds or reuses databases of 10,000 and
# 1,000,000 jobs on SQLite and on PostgreSQL 15 under bench/.data/, then prints, per database, each
# office page's median latency and query count at both sizes and their ratio. Arguments go to
# bench/web.py, e.g. `scripts/bench.sh --small 2000 --large 20000` for a quick run.
set -euo pipefail
cd "$(dirname "$0")/.."
# The test set-up brings PostgreSQL 15; quick when everything is already installed.
scripts/setup.sh test
exec .venv/bin/python bench/web.py "$@"
