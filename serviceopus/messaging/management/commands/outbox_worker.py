"""`manage.py outbox_worker`: deliver the outbox until stopped (scripts/run.sh starts one next to
db_worker). Any number may run at once, on any machine sharing the database: each claims its own
messages (messaging/delivery.py)."""

import logging
import signal
import threading
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections, connections

from serviceopus.core.leases import new_worker_id
from serviceopus.messaging.delivery import deliver_due

log = logging.getLogger("serviceopus.messaging.worker")


class Command(BaseCommand):
    help = "Send due outbox messages (email, text) in small batches until stopped by SIGTERM or Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Send what is due now, then exit.")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds to wait when nothing is due (default 1).")
        parser.add_argument("--batch", type=int, default=None, help="Messages claimed at a time (default OUTBOX_BATCH).")
        parser.add_argument("--worker-id", default="", help="Name in the outbox's claimed_by (default host:pid:random).")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = options["batch"] or settings.OUTBOX_BATCH
        interval = options["interval"]
        if batch < 1 or interval < 0:
            raise CommandError("--batch must be at least 1 and --interval not negative.")
        worker_id = (options["worker_id"] or new_worker_id())[:64]
        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            # The message being sent finishes (a send is never cut in half); the rest of the batch goes back.
            log.info("outbox worker %s: %s received, stopping after the current message", worker_id, signal.Signals(signum).name)
            stop.set()

        previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGTERM, signal.SIGINT)}
        # Portal links are reversed at send time: load the URLconf (and the views it imports) now, not
        # while the first batch's leases run.
        import_module(settings.ROOT_URLCONF)
        log.info("outbox worker %s started (batch %d, lease %d s)", worker_id, batch, settings.OUTBOX_LEASE_SECONDS)
        try:
            while not stop.is_set():
                # A long-running process must not keep a connection the database closed, or one past its age.
                close_old_connections()
                try:
                    counts = deliver_due(worker_id, batch, should_stop=stop.is_set)
                except DatabaseError:
                    if options["once"]:
                        raise
                    # The database restarting or busy: wait and try again rather than die.
                    log.exception("outbox worker %s: database error, retrying", worker_id)
                    connections.close_all()
                    stop.wait(max(interval, 1.0))
                    continue
                if counts["claimed"] == 0:
                    if options["once"]:
                        break
                    stop.wait(interval)
        finally:
            for signum, handler in previous.items():  # called in-process (call_command), the caller keeps its own
                signal.signal(signum, handler)
            connections.close_all()
            log.info("outbox worker %s stopped", worker_id)
