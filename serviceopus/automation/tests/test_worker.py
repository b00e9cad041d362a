"""The automation worker: two workers at once process each event exactly once, a dead worker's events
come back when its lease runs out (and fail after the last attempt), the periodic work keeps its pace,
stopping releases what was not started, and `automation_worker --once` does everything due."""

import os
import signal
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.db.models import Count
from django.utils import timezone

from serviceopus.automation import worker
from serviceopus.automation.models import Alert, AutomationEvent, EventStatus, EventType, FollowUpTask, RuleRun
from serviceopus.automation.rules import engine
from serviceopus.dispatch.status import VisitStatus
from tests.factories import VisitFactory

from .rule_support import make_rule, new_job, world

Outcome = RuleRun.Outcome
ALERT = [{"kind": "raise_alert", "title": "New {job_number}", "to_role": "admin"}]


@pytest.fixture
def fresh_clock(monkeypatch):  # type: ignore[no-untyped-def]
    """The periodic work has not run yet in this process."""
    monkeypatch.setitem(worker._last_run, "scan", None)
    monkeypatch.setitem(worker._last_run, "recurrence", None)


def expire_leases() -> int:
    """The worker holding them died: their leases run out."""
    return AutomationEvent.objects.filter(status=EventStatus.PROCESSING).update(lease_until=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_process_each_event_exactly_once(owner):
    w = world()
    rule = make_rule(owner, trigger=EventType.JOB_CREATED, actions=ALERT)
    jobs = [new_job(owner, w) for _ in range(30)]
    barrier = threading.Barrier(2)
    seen: dict[str, Counter] = {"w0": Counter(), "w1": Counter()}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            while True:
                counts = worker.step(name, 4, periodic_work=False)
                seen[name].update(counts)
                if not worker.busy(counts):
                    break
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert seen["w0"]["done"] + seen["w1"]["done"] == 30
    per_event = RuleRun.objects.filter(rule=rule).values("event").annotate(n=Count("id"))
    assert sorted(row["n"] for row in per_event) == [1] * 30
    assert Alert.objects.count() == 30
    assert set(AutomationEvent.objects.values_list("status", "attempts")) == {(EventStatus.DONE, 1)}
    assert set(Alert.objects.values_list("job_id", flat=True)) == {j.pk for j in jobs}


@pytest.mark.django_db(transaction=True)
def test_a_dead_workers_event_is_processed_by_another_when_its_lease_runs_out(owner):
    w = world()
    rule = make_rule(owner, trigger=EventType.JOB_CREATED, actions=ALERT)
    job = new_job(owner, w)
    assert [e.job_id for e in worker.claim("dead", 10)] == [job.pk]  # then the process was killed
    assert worker.step("alive", 10, periodic_work=False)["claimed"] == 0  # its lease still holds
    expire_leases()
    counts = worker.step("alive", 10, periodic_work=False)
    assert (counts["claimed"], counts["done"]) == (1, 1)
    event = AutomationEvent.objects.get()
    assert (event.status, event.attempts, event.claimed_by) == (EventStatus.DONE, 2, "alive")
    assert list(RuleRun.objects.filter(rule=rule).values_list("outcome", "attempt")) == [(Outcome.DONE, 2)]
    assert Alert.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_event_that_kills_its_worker_every_time_fails_after_the_last_attempt(owner, settings):
    settings.AUTOMATION_MAX_ATTEMPTS = 2
    w = world()
    make_rule(owner, trigger=EventType.JOB_CREATED, actions=ALERT)
    new_job(owner, w)
    for name in ("first", "second"):
        assert len(worker.claim(name, 10)) == 1
        expire_leases()
    assert worker.claim("third", 10) == []
    event = AutomationEvent.objects.get()
    assert (event.status, event.attempts, event.last_error, event.lease_until) == (EventStatus.FAILED, 2, worker.LEASE_RAN_OUT, None)
    assert not RuleRun.objects.exists()


@pytest.mark.django_db
def test_stopping_releases_the_events_not_started(owner):
    w = world()
    make_rule(owner, trigger=EventType.JOB_CREATED, actions=ALERT)
    for _ in range(3):
        new_job(owner, w)
    calls = []

    def stop_after_one() -> bool:
        calls.append(1)
        return len(calls) > 1

    counts = worker.step("w", 10, should_stop=stop_after_one, periodic_work=False)
    assert (counts["claimed"], counts["done"], counts["released"]) == (3, 1, 2)
    assert sorted(AutomationEvent.objects.values_list("status", "attempts", "claimed_by")) == [
        (EventStatus.DONE, 1, "w"),
        (EventStatus.PENDING, 0, ""),
        (EventStatus.PENDING, 0, ""),
    ]


@pytest.mark.django_db
def test_the_periodic_work_keeps_its_pace(monkeypatch, fresh_clock):
    calls: Counter[str] = Counter()
    monkeypatch.setattr(worker.scan, "scan", lambda: calls.update(["scan"]) or 2)
    monkeypatch.setattr(worker.recurrence, "generate_all", lambda: calls.update(["recurrence"]) or (1, []))
    first = worker.step("w", 10)
    assert (first["scanned"], first["generated"]) == (2, 1)
    worker.step("w", 10)
    assert calls == {"scan": 1, "recurrence": 1}
    monkeypatch.setitem(worker._last_run, "scan", worker._last_run["scan"] - worker.SCAN_EVERY_SECONDS)  # a minute later
    worker.step("w", 10)
    assert calls == {"scan": 2, "recurrence": 1}
    monkeypatch.setitem(worker._last_run, "recurrence", worker._last_run["recurrence"] - worker.RECURRENCE_EVERY_SECONDS)
    worker.step("w", 10)
    assert calls == {"scan": 2, "recurrence": 2}
    assert worker.step("w", 10, periodic_work=False)["scanned"] == 0
    assert calls == {"scan": 2, "recurrence": 2}


# ---- the command --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_once_scans_and_processes_everything_due_then_exits(owner, capsys):
    w = world()
    make_rule(
        owner,
        trigger=EventType.VISIT_PAUSED_LONG,
        params={"minutes": 30},
        actions=[{"kind": "create_task", "title": "Paused {job_number}", "to_role": "manager"}],
    )
    # A job created by a rule's action is itself an event the same run processes.
    make_rule(
        owner,
        trigger=EventType.JOB_CREATED,
        conditions=[{"field": "job_type", "op": "is", "value": w["maintenance"].pk}],
        actions=[{"kind": "create_job", "job_type": w["repair"].pk, "scope": "Check"}],
    )
    alert = make_rule(owner, trigger=EventType.JOB_CREATED, actions=ALERT)
    visit = VisitFactory(status=VisitStatus.PAUSED, pause_reason="Parts", paused_at=timezone.now() - timedelta(minutes=40))
    new_job(owner, w)

    call_command("automation_worker", "--once", "--batch", "1")

    assert FollowUpTask.objects.get().job_id == visit.job_id
    assert RuleRun.objects.filter(rule=alert, outcome=Outcome.DONE).count() == 2  # the person's job and the follow-up
    assert set(AutomationEvent.objects.values_list("status", flat=True)) == {EventStatus.DONE}
    out = capsys.readouterr().out
    assert "claimed 3" in out
    assert "scanned 1" in out


@pytest.mark.django_db
def test_once_inside_a_transaction_leaves_the_callers_connection_open(owner):
    w = world()
    make_rule(owner, trigger=EventType.JOB_CREATED, actions=ALERT)
    new_job(owner, w)
    call_command("automation_worker", "--once")
    assert Alert.objects.count() == 1  # the test's transaction goes on


@pytest.mark.django_db(transaction=True)
def test_the_worker_stops_on_sigterm_after_the_current_event(owner, monkeypatch):
    w = world()
    make_rule(owner, trigger=EventType.JOB_CREATED, actions=ALERT)
    for _ in range(3):
        new_job(owner, w)
    real = engine.process

    def process_then_sigterm(event):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the first event is being processed
        return real(event)

    monkeypatch.setattr(engine, "process", process_then_sigterm)
    before = signal.getsignal(signal.SIGTERM)
    call_command("automation_worker", "--batch", "3", "--interval", "0")
    assert sorted(AutomationEvent.objects.values_list("status", flat=True)) == [EventStatus.DONE, EventStatus.PENDING, EventStatus.PENDING]
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.django_db(transaction=True)
def test_a_database_error_is_waited_out(monkeypatch):
    calls = []

    def flaky_step(worker_id, limit, should_stop=None, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(worker_id)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        os.kill(os.getpid(), signal.SIGTERM)
        return Counter()

    monkeypatch.setattr(worker, "step", flaky_step)
    call_command("automation_worker", "--interval", "0", "--worker-id", "w9")
    assert calls == ["w9", "w9"]
