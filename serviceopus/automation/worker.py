"""The automation worker's step (`manage.py automation_worker` loops over it): the periodic work when it
is due, then the due events (the rules, rules/engine.py), then the due webhook deliveries.

Events are claimed like the other queues (core/leases.py): a small batch marked `processing` under a
lease, in one short transaction, so two workers never hold the same event and a dead worker's events
come back when its lease runs out. An event whose lease ran out after its last allowed attempt is
failed instead of being claimed again: an event that kills its worker every time must not stop the queue.

The periodic work — the time-based scan (rules/scan.py) at most every minute, recurring jobs
(recurrence.generate_all) at most every hour — is timed in this process only. Several workers each run
it on their own clock; that is harmless, because both are idempotent: the scan's events have unique
keys, and an occurrence of a plan is taken once.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable

from serviceopus.core import leases

from . import recurrence
from .models import AutomationEvent, EventStatus
from .rules import engine, scan

log = logging.getLogger(__name__)

SCAN_EVERY_SECONDS = 60
RECURRENCE_EVERY_SECONDS = 3600
LEASE_RAN_OUT = "The worker stopped while processing it, on every attempt."

# When each periodic job last ran in this process (time.monotonic()); None: not yet.
_last_run: dict[str, float | None] = {"scan": None, "recurrence": None}


def claim(worker_id: str, limit: int) -> list[AutomationEvent]:
    """Take up to `limit` due events for `worker_id`, oldest due first."""
    return leases.claim(
        AutomationEvent,
        worker_id=worker_id,
        limit=limit,
        waiting=EventStatus.PENDING,
        claimed=EventStatus.PROCESSING,
        lease_seconds=engine.LEASE_SECONDS,
        max_attempts=engine.max_attempts(),
        exhausted={"status": EventStatus.FAILED, "last_error": LEASE_RAN_OUT},
    )


def release(events: Iterable[AutomationEvent], worker_id: str) -> int:
    """Give claimed events back unprocessed (the worker asked to stop): pending again, attempt not counted."""
    return leases.release(AutomationEvent, list(events), worker_id=worker_id, waiting=EventStatus.PENDING, claimed=EventStatus.PROCESSING)


def _due(name: str, every: float, now: float) -> bool:
    last = _last_run[name]
    return last is None or now - last >= every


def run_scan() -> int:
    _last_run["scan"] = time.monotonic()
    return scan.scan()


def run_recurrence() -> int:
    _last_run["recurrence"] = time.monotonic()
    created, problems = recurrence.generate_all()
    for problem in problems:
        log.warning("recurring jobs: %s", problem)
    return created


def periodic() -> Counter[str]:
    """The scan and the recurring jobs, each if its time has come in this process."""
    counts: Counter[str] = Counter()
    now = time.monotonic()
    if _due("scan", SCAN_EVERY_SECONDS, now):
        counts["scanned"] += run_scan()
    if _due("recurrence", RECURRENCE_EVERY_SECONDS, now):
        counts["generated"] += run_recurrence()
    return counts


def process_due(worker_id: str, limit: int, should_stop: Callable[[], bool] | None = None) -> Counter[str]:
    """Claim up to `limit` due events and run their rules one by one; returns how many were claimed and
    each outcome's count. When `should_stop()` turns true, the event being processed finishes and the
    rest of the batch is released."""
    claimed = claim(worker_id, limit)
    counts: Counter[str] = Counter(claimed=len(claimed))
    for i, event in enumerate(claimed):
        if should_stop is not None and should_stop():
            counts["released"] += release(claimed[i:], worker_id)
            break
        counts[engine.process(event)] += 1
    return counts


def step(worker_id: str, limit: int, should_stop: Callable[[], bool] | None = None, *, periodic_work: bool = True) -> Counter[str]:
    """One round: the periodic work when due (unless `periodic_work` is off), up to `limit` due events,
    then up to `limit` due webhook deliveries. Returns the counts: `claimed` and the engine's outcomes
    (done, retry, failed, not_ours, released) for events, `webhook_*` for deliveries, `scanned` and
    `generated` for the periodic work."""
    from .webhooks import delivery  # built next to this module; imported when first used

    counts = periodic() if periodic_work else Counter()
    counts.update(process_due(worker_id, limit, should_stop))
    if should_stop is not None and should_stop():
        return counts
    sent = delivery.deliver_due(worker_id, limit, should_stop)
    counts.update({f"webhook_{key}": value for key, value in sent.items()})
    return counts


def busy(counts: Counter[str]) -> bool:
    """Whether a step found work (so the next one should come at once, not after the interval)."""
    return counts["claimed"] > 0 or counts["webhook_claimed"] > 0
