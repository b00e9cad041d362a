"""`manage.py automation_worker`: run workflow rules on the automation events, deliver webhooks, and do
the periodic work (the time-based scan, recurring jobs) until stopped; scripts/run.sh starts one next to
the outbox worker. Any number may run at once, on any machine sharing the database: each claims its own
events and deliveries (automation/worker.py).

`--once` does everything due now and exits — the scan and the recurring jobs, then events and the
webhook deliveries they cause, round after round until a round finds nothing (the events that rules'
actions write are processed too). Tests and cron call it that way."""

import logging
import signal
import threading
from collections import Counter
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections, connection, connections

from serviceopus.automation import worker
from serviceopus.core.leases import new_worker_id

log = logging.getLogger("serviceopus.automation.worker")
DEFAULT_BATCH = 20


def _own_connections() -> bool:
    # Called inside a transaction (a test's, through call_command), the caller owns the connection:
    # closing it would end their transaction.
    return not connection.in_atomic_block


class Command(BaseCommand):
    help = "Run workflow rules on due automation events, deliver webhooks and run the time-based scan, until stopped by SIGTERM or Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Do everything due now (the scan, events, webhooks), then exit.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds to wait when nothing is due (default 1).")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help=f"Events and deliveries claimed at a time (default {DEFAULT_BATCH}).")
        parser.add_argument("--worker-id", default="", help="Name in the queues' claimed_by (default host:pid:random).")

    def handle(self, *args: Any, **options: Any) -> None:
        batch, interval, once = options["batch"], options["interval"], options["once"]
        if batch < 1 or interval < 0:
            raise CommandError("--batch must be at least 1 and --interval not negative.")
        worker_id = (options["worker_id"] or new_worker_id())[:64]
        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            # The event being processed finishes (a rule's transaction is never cut); the rest go back.
            log.info("automation worker %s: %s received, stopping after the current event", worker_id, signal.Signals(signum).name)
            stop.set()

        previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGTERM, signal.SIGINT)}
        # Actions reverse URLs (portal links in notices): load the URLconf now, not under the first lease.
        import_module(settings.ROOT_URLCONF)
        log.info("automation worker %s started (batch %d)", worker_id, batch)
        try:
            if once:
                self._once(worker_id, batch, stop)
            else:
                self._loop(worker_id, batch, interval, stop)
        finally:
            for signum, handler in previous.items():  # called in-process (call_command), the caller keeps its own
                signal.signal(signum, handler)
            if _own_connections():
                connections.close_all()
            log.info("automation worker %s stopped", worker_id)

    def _once(self, worker_id: str, batch: int, stop: threading.Event) -> None:
        total = Counter(scanned=worker.run_scan(), generated=worker.run_recurrence())
        while not stop.is_set():
            counts = worker.step(worker_id, batch, should_stop=stop.is_set, periodic_work=False)
            total.update(counts)
            if not worker.busy(counts):
                break
        self.stdout.write(", ".join(f"{key} {value}" for key, value in sorted(total.items()) if value) or "Nothing was due.")

    def _loop(self, worker_id: str, batch: int, interval: float, stop: threading.Event) -> None:
        while not stop.is_set():
            if _own_connections():
                # A long-running process must not keep a connection the database closed, or one past its age.
                close_old_connections()
            try:
                counts = worker.step(worker_id, batch, should_stop=stop.is_set)
            except DatabaseError:
                # The database restarting or busy: wait and try again rather than die.
                log.exception("automation worker %s: database error, retrying", worker_id)
                if _own_connections():
                    connections.close_all()
                stop.wait(max(interval, 1.0))
                continue
            if not worker.busy(counts):
                stop.wait(interval)
