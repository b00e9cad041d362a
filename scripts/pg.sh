#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on a loopback port, for the test suite and the benchmarks.
#   scripts/pg.sh start DIR PORT   → initdb (as the postgres user) and start; prints the DATABASE_URL
#   scripts/pg.sh stop DIR
set -euo pipefail
cmd="$1"; dir="$2"; port="${3:-54329}"
bin=/usr/lib/postgresql/15/bin
case "$cmd" in
  start)
    mkdir -p "$dir"
    # A mktemp folder is 0700: the postgres user must be able to traverse the folders above its data.
    chmod 755 "$dir" "$(dirname "$dir")"
    chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=512MB" >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/serviceopus"
    ;;
  stop)
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
