"""The engine: which rules run on an event, the run log, the loop guard, retries with backoff and giving
up, rules already settled not run again, webhooks fanned out once when the rules are settled, and a
claim lost to another worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from serviceopus.automation import events, worker
from serviceopus.automation.models import Alert, AutomationEvent, EventStatus, EventType, RuleRun
from serviceopus.automation.rules import engine
from serviceopus.automation.webhooks import delivery
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.models import Job
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory

from .rule_support import drain, make_rule, new_job, retry_now, runs, world

pytestmark = pytest.mark.django_db
Outcome = RuleRun.Outcome
CREATED = EventType.JOB_CREATED
ALERT = {"kind": "raise_alert", "title": "New {job_number}", "to_role": "admin"}


@pytest.fixture
def w(db):  # type: ignore[no-untyped-def]
    return world()


@pytest.fixture
def fanned(monkeypatch):  # type: ignore[no-untyped-def]
    """The events handed to the webhooks' fan-out, in order."""
    seen: list[int] = []
    monkeypatch.setattr(delivery, "fan_out", lambda event: seen.append(event.pk) or 0)
    return seen


@pytest.fixture
def broken(monkeypatch):  # type: ignore[no-untyped-def]
    """broken(True) makes the set_field action fail (a database error, as an outage would); broken(False) mends it."""
    from serviceopus.automation.rules import actions

    real = actions.RUNNERS["set_field"]

    def set_broken(on: bool) -> None:
        def fail(action, ctx):  # type: ignore[no-untyped-def]
            raise RuntimeError("the database went away")

        monkeypatch.setitem(actions.RUNNERS, "set_field", fail if on else real)

    return set_broken


def test_a_run_is_logged_with_its_explanation_and_actions(owner, w, fanned):
    rule = make_rule(owner, trigger=CREATED, conditions=[{"field": "priority", "op": "gte", "value": 3}], actions=[ALERT])
    job = new_job(owner, w, priority=4)
    low = new_job(owner, w, priority=1)
    assert drain()["done"] == 2
    done = RuleRun.objects.get(rule=rule, job=job)
    assert (done.outcome, done.attempt, done.explanation, done.actions_taken, done.error) == (
        Outcome.DONE,
        1,
        ["Priority ≥ High: yes (Urgent)"],
        [f"Alert “New {job.number}” to Admin (1 person)"],
        "",
    )
    assert done.duration_ms >= 0
    skipped = RuleRun.objects.get(rule=rule, job=low)
    assert (skipped.outcome, skipped.explanation, skipped.actions_taken) == (Outcome.NOT_MATCHED, ["Priority ≥ High: no (Low)"], [])
    assert list(Alert.objects.values_list("job_id", flat=True)) == [job.pk]
    events_ = list(AutomationEvent.objects.order_by("pk"))
    assert [(e.status, e.attempts, e.lease_until, e.processed_at is not None) for e in events_] == [(EventStatus.DONE, 1, None, True)] * 2
    assert fanned == [e.pk for e in events_]


def test_disabled_rules_and_rules_saved_after_the_event_do_not_run(owner, w):
    off = make_rule(owner, trigger=CREATED, actions=[ALERT], enabled=False)
    job = new_job(owner, w)
    later = make_rule(owner, trigger=CREATED, actions=[ALERT])
    drain()
    assert not RuleRun.objects.filter(rule__in=[off, later]).exists()
    assert AutomationEvent.objects.get(job=job).status == EventStatus.DONE


def test_a_time_based_event_runs_only_its_own_rule(owner, w):
    mine = make_rule(owner, trigger=EventType.JOB_OVERDUE, params={"hours": 4}, actions=[ALERT])
    other = make_rule(owner, trigger=EventType.JOB_OVERDUE, params={"hours": 4}, actions=[ALERT])
    job = JobFactory(location=w["home"])
    events.emit(EventType.JOB_OVERDUE, actor=None, job=job, data={}, rule_id=mine.pk, dedupe_key="k1")
    drain()
    assert runs(mine) == [(Outcome.DONE, 1)]
    assert runs(other) == []


def test_an_event_without_a_job_is_logged_not_matched(owner, w):
    rule = make_rule(owner, trigger=EventType.INVOICE_ISSUED, actions=[ALERT])
    events.emit(EventType.INVOICE_ISSUED, actor=owner, job=None, data={})
    drain()
    assert list(RuleRun.objects.values_list("rule_id", "outcome", "explanation")) == [
        (rule.pk, Outcome.NOT_MATCHED, ["This event concerns no job; rules act on jobs."])
    ]


# ---- loops -----------------------------------------------------------------------------------------------


def test_a_rule_never_runs_on_an_event_its_own_actions_caused(owner, w):
    rule = make_rule(owner, trigger=CREATED, actions=[ALERT])
    job = JobFactory(location=w["home"])
    with events.acting_rule((rule.pk,)):
        event = events.emit(CREATED, actor=owner, job=job, data={})
    drain()
    run = RuleRun.objects.get(rule=rule)
    assert (run.event_id, run.outcome, run.explanation, run.actions_taken) == (
        event.pk,
        Outcome.LOOP,
        ["Skipped: this event was caused by this rule's own actions."],
        [],
    )
    assert not Alert.objects.exists()


def test_two_rules_feeding_each_other_stop_and_the_log_shows_the_loop(owner, manager, w):
    """A status change creates a follow-up job; every new job creates a follow-up job too."""
    on_hold = make_rule(
        owner,
        name="A",
        trigger=EventType.JOB_STATUS_CHANGED,
        params={"to": "on_hold"},
        actions=[{"kind": "create_job", "job_type": w["repair"].pk, "scope": "After {job_number}"}],
    )
    on_new = make_rule(owner, name="B", trigger=CREATED, actions=[{"kind": "create_job", "job_type": w["repair"].pk, "scope": "After {job_number}"}])
    first = new_job(owner, w)
    job_actions.job_transition(actor=manager, job_id=first.pk, to=JobStatus.ON_HOLD, hold_reason="parts")
    drain()
    # B on the person's job → job 2, its event carrying [B]: B skips it. A on the hold → job 3, [A]: B runs
    # → job 4, [A, B]: B skips it. Quiet.
    assert Job.objects.count() == 4
    chains = sorted(tuple(c) for c in AutomationEvent.objects.filter(type=CREATED).values_list("rule_chain", flat=True))
    assert chains == sorted([(), (on_new.pk,), (on_hold.pk,), (on_hold.pk, on_new.pk)])
    assert sorted(o for o, _ in runs(on_new)) == [Outcome.DONE, Outcome.DONE, Outcome.LOOP, Outcome.LOOP]
    assert runs(on_hold) == [(Outcome.DONE, 1)]
    assert set(AutomationEvent.objects.values_list("status", flat=True)) == {EventStatus.DONE}


def test_chains_deeper_than_three_rules_stop(owner, w):
    rule = make_rule(owner, trigger=CREATED, actions=[ALERT])
    job = JobFactory(location=w["home"])
    with events.acting_rule((991, 992, 993)):
        events.emit(CREATED, actor=owner, job=job, data={})
    drain()
    assert list(RuleRun.objects.values_list("rule_id", "outcome", "explanation")) == [
        (rule.pk, Outcome.LOOP, ["Skipped: this event was caused by a chain of 3 rules, the most allowed."])
    ]


# ---- retries -----------------------------------------------------------------------------------------------


def test_a_failing_rule_does_not_rerun_the_rules_that_succeeded(owner, w, broken, fanned):
    good = make_rule(owner, name="good", trigger=CREATED, actions=[ALERT])
    bad = make_rule(owner, name="bad", trigger=CREATED, actions=[{"kind": "set_field", "field": "priority", "value": 4}])
    job = new_job(owner, w)
    broken(True)
    assert drain()["retry"] == 1
    event = AutomationEvent.objects.get(job=job)
    assert (event.status, event.last_error) == (EventStatus.PENDING, "bad: failed")
    assert RuleRun.objects.get(rule=bad).error == "Action 1 (Set a field) failed, so none of this rule's actions was kept: RuntimeError: the database went away"
    assert fanned == []  # webhooks wait until every rule is settled
    broken(False)
    retry_now()
    drain()
    assert runs(good) == [(Outcome.DONE, 1)]
    assert runs(bad) == [(Outcome.FAILED, 1), (Outcome.DONE, 2)]
    assert Alert.objects.count() == 1
    assert fanned == [event.pk]


def test_backoff_doubles_and_is_capped():
    for attempts, low, high in ((1, 22.5, 30), (2, 45, 60), (3, 90, 120), (8, 2700, 3600), (20, 2700, 3600)):
        for _ in range(20):
            assert low <= engine.backoff(attempts).total_seconds() <= high


def test_after_the_last_attempt_the_rule_gives_up_and_the_event_fails(owner, w, broken, fanned, settings):
    settings.AUTOMATION_MAX_ATTEMPTS = 3
    rule = make_rule(owner, trigger=CREATED, actions=[{"kind": "set_field", "field": "priority", "value": 4}])
    job = new_job(owner, w)
    broken(True)
    outcomes = []
    for _ in range(3):
        counts = drain()
        outcomes.append(next(k for k in ("retry", "failed") if counts[k]))
        retry_now()
    assert outcomes == ["retry", "retry", "failed"]
    assert runs(rule) == [(Outcome.FAILED, 1), (Outcome.FAILED, 2), (Outcome.GAVE_UP, 3)]
    event = AutomationEvent.objects.get(job=job)
    assert (event.status, event.attempts, event.lease_until) == (EventStatus.FAILED, 3, None)
    assert event.last_error == "Gave up after 3 attempts. Rule: failed"
    assert fanned == [event.pk]  # webhook receivers still hear of the event
    assert drain()["claimed"] == 0


# ---- the claim -----------------------------------------------------------------------------------------------


def test_a_worker_that_lost_its_claim_writes_nothing(owner, w, fanned):
    rule = make_rule(owner, trigger=CREATED, actions=[ALERT])
    job = new_job(owner, w)
    (event,) = worker.claim("slow", 10)
    # Its lease ran out and another worker took the event over.
    AutomationEvent.objects.filter(pk=event.pk).update(claimed_by="other", lease_until=timezone.now() + timedelta(seconds=60))
    assert engine.process(event) == "not_ours"
    assert not RuleRun.objects.filter(rule=rule).exists()
    assert not Alert.objects.exists()
    assert fanned == []
    assert AutomationEvent.objects.get(job=job).claimed_by == "other"


def test_a_rule_settled_by_another_worker_is_not_run_again(owner, w):
    rule = make_rule(owner, trigger=CREATED, actions=[ALERT])
    new_job(owner, w)
    (event,) = worker.claim("w1", 10)
    RuleRun.objects.create(rule=rule, event=event, outcome=Outcome.DONE, attempt=1)  # the first worker's, committed meanwhile
    assert engine.process(event) == "done"
    assert runs(rule) == [(Outcome.DONE, 1)]
    assert not Alert.objects.exists()


def test_a_failing_fan_out_puts_the_event_back_without_running_the_rule_again(owner, w, monkeypatch):
    rule = make_rule(owner, trigger=CREATED, actions=[ALERT])
    job = new_job(owner, w)

    def fail(event):  # type: ignore[no-untyped-def]
        raise RuntimeError("no route to the webhooks table")

    monkeypatch.setattr(delivery, "fan_out", fail)
    assert drain()["retry"] == 1
    event = AutomationEvent.objects.get(job=job)
    assert (event.status, event.attempts, event.last_error) == (EventStatus.PENDING, 1, "RuntimeError: no route to the webhooks table")
    monkeypatch.setattr(delivery, "fan_out", lambda event: 0)
    retry_now()
    assert drain()["done"] == 1
    assert runs(rule) == [(Outcome.DONE, 1)]
    assert Alert.objects.count() == 1
