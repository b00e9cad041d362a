"""Running the rules on one event the worker claimed (worker.py), outside the transaction of the change
that caused it — that change committed long before, and nothing here can undo or block it.

What holds, precisely:

- **Which rules.** A time-based event (the scan found a visit late, a job overdue…) is for the one rule
  the scan found it for. Any other event runs every enabled rule whose trigger is the event's type,
  whose trigger parameters match (from/to of a status change) and which existed when the event
  happened: a rule saved at 10:05 does not act on what happened at 10:00.
- **One rule, one transaction.** Per rule: the claim is checked (and the lease renewed) with a
  conditional update on the event row, the conditions are read from the current rows, and the actions
  run in order inside `acting_rule(chain + [rule])`; the run's log row is written in the same
  transaction. So either all of a rule's actions happen, with their DONE row, or none does. A slow
  worker whose lease ran out and whose event another worker claimed fails that check and stops; the new
  owner finds the rules the first one finished DONE in the log and does not run them again. (While a
  rule's transaction holds the event row, PostgreSQL's SKIP LOCKED claim passes it by.)
- **Failures are retried, never half-kept.** An exception rolls the rule's transaction back; a FAILED
  row (attempt, error — a short text, never a secret) is written on its own, and the event goes back to
  the queue after a backoff (30 s doubling, jittered, at most an hour). Rules already DONE or NOT_MATCHED
  for this event are not run again. After AUTOMATION_MAX_ATTEMPTS the failing rules are logged GAVE_UP
  and the event is FAILED.
- **No endless loops.** An event caused by a rule's own actions carries that rule's id in its
  `rule_chain`: the rule is logged LOOP and does nothing; so is every rule on an event already MAX_CHAIN
  rules deep.
- **Webhooks once, after the rules.** When every rule is settled (or given up on), `fan_out` writes the
  event's webhook deliveries in the same transaction that marks the event done — conditional on the
  claim, so two workers never fan out the same event twice.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from serviceopus.core import leases
from serviceopus.core.errors import DomainError

from .. import events
from ..models import AutomationEvent, EventStatus, EventType, RuleRun, WorkflowRule
from ..models.events import TIME_BASED
from . import actions, conditions, spec

log = logging.getLogger(__name__)

Outcome = RuleRun.Outcome
# A rule's effects may trigger other rules, whose effects may trigger others: three deep is more than a
# real workflow needs (a status change → a follow-up job → its alert), and it stops any cycle of several
# rules quickly.
MAX_CHAIN = 3
LEASE_SECONDS = 60
ERROR_MAX_CHARS = 1000
# Rule runs that need no further attempt on this event.
SETTLED = (Outcome.DONE, Outcome.NOT_MATCHED, Outcome.LOOP)


def max_attempts() -> int:
    return settings.AUTOMATION_MAX_ATTEMPTS


def backoff(attempts: int) -> timedelta:
    return leases.backoff(attempts, base_seconds=settings.AUTOMATION_BACKOFF_SECONDS, max_seconds=settings.AUTOMATION_BACKOFF_MAX_SECONDS)


class NotOurs(Exception):
    """The event is no longer claimed by this worker (its lease ran out and another took it over)."""


def _mine(event: AutomationEvent) -> Q:
    return Q(pk=event.pk, status=EventStatus.PROCESSING, claimed_by=event.claimed_by)


def _hold(event: AutomationEvent) -> None:
    """Inside a transaction: check the event is still ours and renew its lease. On PostgreSQL the update
    locks the event row until commit, which makes two workers' rule transactions on it take turns."""
    if not AutomationEvent.objects.filter(_mine(event)).update(lease_until=leases.lease_end(timezone.now(), LEASE_SECONDS)):
        raise NotOurs


# ---- which rules ---------------------------------------------------------------------------------------


def trigger_matches(rule: WorkflowRule, event: AutomationEvent) -> bool:
    params = rule.trigger_params or {}
    data = event.data or {}
    if event.type == EventType.JOB_STATUS_CHANGED:
        return all(params.get(k) in (None, data.get(k)) for k in ("from", "to"))
    if event.type == EventType.VISIT_STATUS_CHANGED:
        return params.get("to") in (None, data.get("to"))
    return True


def rules_for(event: AutomationEvent) -> list[WorkflowRule]:
    qs = WorkflowRule.objects.select_related("created_by").filter(enabled=True, trigger=event.type)
    if event.type in TIME_BASED:
        return list(qs.filter(pk=event.rule_id)) if event.rule_id else []
    return [r for r in qs.filter(created_at__lte=event.created_at).order_by("pk") if trigger_matches(r, event)]


# ---- one rule ------------------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    if isinstance(exc, actions.ActionFailed):
        return str(exc)
    if isinstance(exc, DomainError):
        # The action's own refusal, for people: its message and the field messages (never a secret).
        fields = getattr(exc, "fields", None) or {}
        return " ".join([exc.message, *(str(v) for v in fields.values())])
    return f"{type(exc).__name__}: {exc}"


class _RuleFailed(Exception):
    def __init__(self, error: str, explanation: list[str]) -> None:
        super().__init__(error)
        self.error = error[:ERROR_MAX_CHARS]
        self.explanation = explanation


def _act(rule: WorkflowRule, ctx: actions.Context, chain: tuple[int, ...], explanation: list[str]) -> list[str]:
    taken = []
    with events.acting_rule((*chain, rule.pk)):
        for index, action in enumerate(rule.actions):
            try:
                taken.append(actions.run(action, ctx))
            except Exception as exc:
                what = spec.ACTION_KINDS.get(action.get("kind", ""), "Action")
                raise _RuleFailed(f"Action {index + 1} ({what}) failed, so none of this rule's actions was kept: {_reason(exc)}", explanation) from exc
    return taken


def _run(rule: WorkflowRule, event: AutomationEvent, chain: tuple[int, ...], started: float) -> str:
    """The rule's transaction: claim check, conditions, actions, log row. Returns the outcome written."""
    run = {"rule": rule, "event": event, "job_id": event.job_id, "attempt": event.attempts}
    with transaction.atomic():
        _hold(event)
        if RuleRun.objects.filter(event=event, rule=rule, outcome__in=SETTLED).exists():
            return "settled"  # another worker finished it while this one waited for the event row
        try:
            job = conditions.current_job(event.job_id) if event.job_id else None
            matched, explanation = conditions.evaluate(rule, event, job)
        except Exception as exc:
            raise _RuleFailed(f"Reading the conditions failed: {_reason(exc)}", []) from exc
        if not matched:
            RuleRun.objects.create(outcome=Outcome.NOT_MATCHED, explanation=explanation, duration_ms=_ms(started), created_at=timezone.now(), **run)
            return Outcome.NOT_MATCHED
        assert job is not None
        try:
            ctx = actions.Context(rule=rule, event=event, job=job, author=actions.author_of(rule))
        except actions.ActionFailed as exc:
            raise _RuleFailed(f"No action was taken: {exc}", explanation) from exc
        taken = _act(rule, ctx, chain, explanation)
        RuleRun.objects.create(outcome=Outcome.DONE, explanation=explanation, actions_taken=taken, duration_ms=_ms(started), created_at=timezone.now(), **run)
    return Outcome.DONE


def _ms(started: float) -> int:
    return max(0, int((time.monotonic() - started) * 1000))


def run_rule(rule: WorkflowRule, event: AutomationEvent) -> str:
    """Settle one rule on the event: LOOP, NOT_MATCHED, DONE, or FAILED / GAVE_UP (logged, actions undone).
    Raises NotOurs when the claim was lost."""
    started = time.monotonic()
    chain = tuple(int(r) for r in (event.rule_chain or []))
    if rule.pk in chain or len(chain) >= MAX_CHAIN:
        why = "caused by this rule's own actions" if rule.pk in chain else f"caused by a chain of {len(chain)} rules, the most allowed"
        with transaction.atomic():
            _hold(event)
            if not RuleRun.objects.filter(event=event, rule=rule, outcome__in=SETTLED).exists():
                RuleRun.objects.create(
                    rule=rule,
                    event=event,
                    job_id=event.job_id,
                    attempt=event.attempts,
                    outcome=Outcome.LOOP,
                    explanation=[f"Skipped: this event was {why}."],
                    created_at=timezone.now(),
                )
        return Outcome.LOOP
    try:
        return _run(rule, event, chain, started)
    except _RuleFailed as failed:
        last = event.attempts >= max_attempts()
        outcome = Outcome.GAVE_UP if last else Outcome.FAILED
        log.warning("automation event %s rule %s attempt %d: %s, %s", event.uid, rule.pk, event.attempts, outcome, failed.error)
        with transaction.atomic():
            _hold(event)
            RuleRun.objects.create(
                rule=rule,
                event=event,
                job_id=event.job_id,
                attempt=event.attempts,
                outcome=outcome,
                explanation=failed.explanation,
                error=failed.error,
                duration_ms=_ms(started),
                created_at=timezone.now(),
            )
        return outcome


# ---- one event -----------------------------------------------------------------------------------------


def _fan_out(event: AutomationEvent) -> None:
    # Imported here: the webhooks package is built on this app's models and may import the engine's
    # neighbours; a module-level import would tie their loading order.
    from ..webhooks import delivery

    delivery.fan_out(event)


def _finish(event: AutomationEvent, *, status: str, error: str = "") -> None:
    """Mark the event settled and write its webhook deliveries, in one transaction, only if still ours."""
    with transaction.atomic():
        done = {"status": status, "processed_at": timezone.now(), "lease_until": None, "last_error": error[:ERROR_MAX_CHARS]}
        if not AutomationEvent.objects.filter(_mine(event)).update(**done):
            raise NotOurs
        _fan_out(event)


def process(event: AutomationEvent) -> str:
    """Run the rules of one event claimed by `event.claimed_by`; returns the outcome: done, retry,
    failed (no more attempts), or not_ours (the claim was lost meanwhile; the other worker finishes).

    Precondition: the event came from worker.claim (status processing, attempts counted). Every write is
    conditional on that claim; see the module's docstring for what holds."""
    try:
        return _process(event)
    except NotOurs:
        log.info("automation event %s: taken over by another worker", event.uid)
        return "not_ours"
    except Exception as exc:
        # A bug, a rule deleted while it ran, the webhooks' fan-out failing: the event must neither stop
        # the worker nor be lost. (With the database gone, this write fails too and the worker waits.)
        log.exception("automation event %s: unexpected error", event.uid)
        return _unsettled(event, f"{type(exc).__name__}: {exc}")


def _unsettled(event: AutomationEvent, error: str) -> str:
    """Back to the queue after a backoff, or failed after the last attempt."""
    if event.attempts >= max_attempts():
        change: dict[str, object] = {"status": EventStatus.FAILED, "processed_at": timezone.now()}
        outcome = "failed"
    else:
        change = {"status": EventStatus.PENDING, "next_attempt_at": timezone.now() + backoff(event.attempts)}
        outcome = "retry"
    if not AutomationEvent.objects.filter(_mine(event)).update(lease_until=None, last_error=error[:ERROR_MAX_CHARS], **change):
        return "not_ours"
    return outcome


def _process(event: AutomationEvent) -> str:
    settled = set(RuleRun.objects.filter(event=event, outcome__in=SETTLED).values_list("rule_id", flat=True))
    failures: list[str] = []
    for rule in rules_for(event):
        if rule.pk in settled:
            continue
        outcome = run_rule(rule, event)
        if outcome in (Outcome.FAILED, Outcome.GAVE_UP):
            failures.append(f"{rule.name}: failed")
    if not failures:
        _finish(event, status=EventStatus.DONE)
        return "done"
    error = "; ".join(failures)
    if event.attempts >= max_attempts():
        # Given up: the rules' failures are in their log; webhook receivers still hear of the event.
        _finish(event, status=EventStatus.FAILED, error=f"Gave up after {event.attempts} attempts. {error}")
        return "failed"
    return _unsettled(event, error)
