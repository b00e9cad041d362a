.PHONY: run test lint bench

# Set up what is missing, migrate, load demo data if empty, start the worker and the web server.
run:
	scripts/run.sh

# Lint, migrations check, and the whole suite on SQLite and on a throwaway PostgreSQL 15.
test:
	scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

# Growth benchmark (10k vs 1M jobs) on SQLite and PostgreSQL; see bench/README.md.
bench:
	scripts/bench.sh
