"""Each action kind run by the engine does its thing, with the rule's author as the actor; a failing
action undoes the rule's other actions, never the change that triggered it, and the retry after the
fault is fixed succeeds with both attempts in the log."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from serviceopus.accounts.roles import Role
from serviceopus.automation.models import Alert, AutomationEvent, EventStatus, EventType, FollowUpTask, RuleRun
from serviceopus.automation.rules import actions
from serviceopus.closeout.models import CloseoutRequirement
from serviceopus.dispatch.models import DispatchSettings
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.models import Job, JobEvent, Source
from serviceopus.jobs.status import JobStatus
from serviceopus.messaging.models import OutboxMessage
from tests.factories import UserFactory

from .rule_support import drain, make_rule, new_job, retry_now, runs, world

pytestmark = pytest.mark.django_db
Outcome = RuleRun.Outcome
CREATED = EventType.JOB_CREATED


@pytest.fixture
def w(db):  # type: ignore[no-untyped-def]
    return world()


@pytest.fixture
def author(db):  # type: ignore[no-untyped-def]
    """An admin who is not a superuser: her rights are her role's, so taking one away is felt."""
    return UserFactory(username="ada", first_name="Ada", last_name="Admin", role=Role.ADMIN)


def run_one(rule, job):  # type: ignore[no-untyped-def]
    """The rule's one run on the job's creation event."""
    drain()
    return RuleRun.objects.get(rule=rule, event__job=job, event__type=CREATED)


def test_raise_alert_to_a_role_alerts_each_member(author, manager, dispatcher, w):
    other_manager = UserFactory(username="mia", first_name="Mia", last_name="Manager", role=Role.MANAGER)
    UserFactory(username="gone", role=Role.MANAGER, is_active=False)
    rule = make_rule(
        author,
        name="Big jobs",
        trigger=CREATED,
        actions=[
            {
                "kind": "raise_alert",
                "title": "Look at {job_number} for {customer}",
                "body": "{rule}: a {job_type} job",
                "level": "warning",
                "to_role": "manager",
            }
        ],
    )
    job = new_job(author, w)
    run = run_one(rule, job)
    title = f"Look at {job.number} for Harbor Dental"
    assert run.outcome == Outcome.DONE
    assert run.actions_taken == [f"Alert “{title}” to Service manager (2 people)"]
    alerts = list(Alert.objects.order_by("user_id").values_list("user_id", "job_id", "title", "body", "level", "rule_id", "read_at"))
    assert alerts == [
        (u.pk, job.pk, title, "Big jobs: a Maintenance job", "warning", rule.pk, None) for u in sorted([manager, other_manager], key=lambda u: u.pk)
    ]


def test_raise_alert_to_one_user(author, office, w):
    rule = make_rule(author, trigger=CREATED, actions=[{"kind": "raise_alert", "title": "New job", "to_user": office.pk}])
    job = new_job(author, w)
    assert run_one(rule, job).actions_taken == ["Alert “New job” to Oscar Office (1 person)"]
    assert list(Alert.objects.values_list("user_id", "level")) == [(office.pk, "info")]


def test_an_alert_to_a_role_nobody_holds_is_logged_not_failed(author, w):
    rule = make_rule(author, trigger=CREATED, actions=[{"kind": "raise_alert", "title": "Hello", "to_role": "dispatcher"}])
    job = new_job(author, w)
    run = run_one(rule, job)
    assert (run.outcome, run.actions_taken) == (Outcome.DONE, ["Alert “Hello” not raised: nobody active holds the role Dispatcher"])
    assert not Alert.objects.exists()


def test_create_task_for_a_role_due_days_after_the_event(author, w):
    rule = make_rule(
        author,
        trigger=CREATED,
        actions=[{"kind": "create_task", "title": "Call {customer}", "notes": "About {job_number}", "to_role": "manager", "due_days": 2}],
    )
    job = new_job(author, w)
    event = AutomationEvent.objects.get(job=job, type=CREATED)
    due = timezone.localdate(event.created_at) + timedelta(days=2)
    assert run_one(rule, job).actions_taken == [f"Task “Call Harbor Dental” for Service manager, due {due:%Y-%m-%d}"]
    task = FollowUpTask.objects.get()
    assert (task.job_id, task.title, task.notes, task.owner_id, task.owner_role, task.due_date, task.rule_id, task.created_by_id, task.done_at) == (
        job.pk,
        "Call Harbor Dental",
        f"About {job.number}",
        None,
        "manager",
        due,
        rule.pk,
        author.pk,
        None,
    )
    note = JobEvent.objects.get(job=job, kind=JobEvent.Kind.NOTE)
    assert (note.actor_id, note.message) == (author.pk, f"Follow-up task for Service manager, due {due:%Y-%m-%d}: Call Harbor Dental")


def test_create_task_for_one_user(author, manager, w):
    rule = make_rule(author, trigger=CREATED, actions=[{"kind": "create_task", "title": "Check", "to_user": manager.pk, "due_days": 0}])
    job = new_job(author, w)
    run_one(rule, job)
    assert list(FollowUpTask.objects.values_list("owner_id", "owner_role", "due_date")) == [(manager.pk, "", timezone.localdate())]


def test_add_requirement_holds_the_job_and_opens_a_blocker_caused_by_the_rule(author, w):
    rule = make_rule(
        author, name="Photos", trigger=CREATED, actions=[{"kind": "add_requirement", "requirement": "photos", "photo_tag": "after", "min_count": 2}]
    )
    job = new_job(author, w)
    assert run_one(rule, job).actions_taken == ["Closeout requirement added: At least 2 photos tagged after"]
    req = CloseoutRequirement.objects.get()
    assert (req.job_id, req.job_type_id, req.kind, req.photo_tag, req.min_count, req.added_by_id) == (job.pk, None, "photos", "after", 2, author.pk)
    assert JobEvent.objects.get(job=job, kind=JobEvent.Kind.CLOSEOUT).message == "Closeout requirement added: At least 2 photos tagged after (rule “Photos”)"
    blocker = AutomationEvent.objects.get(type=EventType.BLOCKER_OPENED)
    assert (blocker.job_id, blocker.rule_chain, blocker.data["blocker"]) == (job.pk, [rule.pk], "photos:after")


def test_send_notification_writes_the_outbox(author, w):
    rule = make_rule(author, trigger=CREATED, actions=[{"kind": "send_notification", "notice": "portal_link"}])
    job = new_job(author, w)
    assert run_one(rule, job).actions_taken == ["Notification “Portal link” to the customer: email; sms"]
    rows = list(OutboxMessage.objects.order_by("channel").values_list("job_id", "notice", "channel", "recipient", "status", "created_by_id"))
    assert rows == [
        (job.pk, "portal_link", "email", "desk@harbor.example", "pending", author.pk),
        (job.pk, "portal_link", "sms", "+1 555 010 0100", "pending", author.pk),
    ]


def test_set_field_priority_and_tags(author, w):
    rule = make_rule(
        author,
        trigger=CREATED,
        actions=[
            {"kind": "set_field", "field": "priority", "value": 4},
            {"kind": "set_field", "field": "add_tag", "value": "VIP"},
            {"kind": "set_field", "field": "remove_tag", "value": "new-customer"},
            {"kind": "set_field", "field": "remove_tag", "value": "absent"},
        ],
    )
    job = new_job(author, w, priority=2, tags=["new-customer", "boiler"])
    assert run_one(rule, job).actions_taken == [
        "Priority set to Urgent (was Normal)",
        "Tag “vip” added",
        "Tag “new-customer” removed",
        "Tag “absent” not on the job",
    ]
    job.refresh_from_db()
    assert (job.priority, sorted(job.tags.values_list("name", flat=True)), job.version) == (4, ["boiler", "vip"], 4)
    edits = list(JobEvent.objects.filter(job=job, kind=JobEvent.Kind.EDITED).order_by("id").values_list("actor_id", "message"))
    assert edits == [(author.pk, "Edited priority"), (author.pk, "Edited tags"), (author.pk, "Edited tags")]


def test_set_field_that_holds_already_changes_nothing(author, w):
    rule = make_rule(
        author, trigger=CREATED, actions=[{"kind": "set_field", "field": "priority", "value": 2}, {"kind": "set_field", "field": "add_tag", "value": "x"}]
    )
    job = new_job(author, w, priority=2, tags=["x"])
    assert run_one(rule, job).actions_taken == ["Priority already Normal", "Tag “x” already on the job"]
    job.refresh_from_db()
    assert job.version == 1
    assert not JobEvent.objects.filter(job=job, kind=JobEvent.Kind.EDITED).exists()


def test_create_job_follows_the_job_with_a_planned_visit(author, w):
    rule = make_rule(
        author,
        name="Follow-up",
        trigger=CREATED,
        actions=[{"kind": "create_job", "job_type": w["repair"].pk, "scope": "Return for {job_number}", "days_after": 3}],
    )
    job = new_job(author, w)
    event = AutomationEvent.objects.get(job=job, type=CREATED)
    day = timezone.localdate(event.created_at) + timedelta(days=3)
    planned = timezone.make_aware(datetime.combine(day, time(DispatchSettings.current().day_start_hour)))
    run = run_one(rule, job)
    follow = Job.objects.exclude(pk=job.pk).get()
    assert run.actions_taken == [f"Follow-up job {follow.number} created (Repair), visit planned {day:%Y-%m-%d} {planned.hour:02d}:00"]
    assert (follow.customer_id, follow.location_id, follow.job_type_id, follow.scope, follow.source, follow.source_reference, follow.next_visit_at) == (
        job.customer_id,
        job.location_id,
        w["repair"].pk,
        f"Return for {job.number}",
        Source.DIRECT,
        job.number,
        planned,
    )
    assert follow.created_by_id == author.pk
    # The new job's own "created" event says which rule caused it (the loop guard reads this).
    assert AutomationEvent.objects.get(job=follow, type=CREATED).rule_chain == [rule.pk]


def test_create_job_without_days_has_no_visit_date(author, w):
    rule = make_rule(author, trigger=CREATED, actions=[{"kind": "create_job", "job_type": w["repair"].pk, "scope": "Later"}])
    job = new_job(author, w)
    run_one(rule, job)
    assert Job.objects.exclude(pk=job.pk).get().next_visit_at is None


def test_placeholders_fill_only_known_names():
    class J:
        number, customer, job_type = "J-000042", type("C", (), {"name": "Rosa"})(), type("T", (), {"name": "Repair"})()

    ctx = actions.Context(rule=type("R", (), {"name": "R1"})(), event=None, job=J(), author=None)  # type: ignore[arg-type]
    assert actions.fill("{job_number} {customer} {job_type} {rule} {{literal}} {job_number:>20}", ctx) == "J-000042 Rosa Repair R1 {literal} J-000042"


# ---- failures ----------------------------------------------------------------------------------------


def test_author_losing_a_right_fails_the_rule_keeps_nothing_and_the_retry_succeeds(author, manager, w):
    rule = make_rule(
        author,
        trigger=EventType.JOB_STATUS_CHANGED,
        params={"to": "on_hold"},
        actions=[{"kind": "raise_alert", "title": "On hold", "to_role": "manager"}, {"kind": "set_field", "field": "priority", "value": 4}],
    )
    job = new_job(author, w, priority=2)
    job_actions.job_transition(actor=manager, job_id=job.pk, to=JobStatus.ON_HOLD, hold_reason="parts")
    author.role = Role.TECHNICIAN
    author.save()

    before = timezone.now()
    counts = drain()
    assert counts["retry"] == 1
    failed = RuleRun.objects.get(rule=rule)
    assert (failed.outcome, failed.attempt, failed.actions_taken) == (Outcome.FAILED, 1, [])
    assert failed.error == "Action 2 (Set a field) failed, so none of this rule's actions was kept: You may not edit jobs."
    assert not Alert.objects.exists()  # the first action was undone with the second
    job.refresh_from_db()
    assert (job.status, job.priority) == (JobStatus.ON_HOLD, 2)  # the change that triggered it stands
    event = AutomationEvent.objects.get(type=EventType.JOB_STATUS_CHANGED)
    assert (event.status, event.attempts) == (EventStatus.PENDING, 1)
    assert before + timedelta(seconds=22) <= event.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    assert drain()["claimed"] == 0  # not due before its backoff

    author.role = Role.ADMIN
    author.save()
    retry_now()
    drain()
    assert runs(rule) == [(Outcome.FAILED, 1), (Outcome.DONE, 2)]
    assert list(Alert.objects.values_list("user_id", "title")) == [(manager.pk, "On hold")]
    job.refresh_from_db()
    assert (job.status, job.priority) == (JobStatus.ON_HOLD, 4)
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (EventStatus.DONE, 2, "")


def test_an_author_who_left_makes_the_rule_fail_until_someone_takes_it_over(author, owner, w):
    rule = make_rule(author, trigger=CREATED, actions=[{"kind": "raise_alert", "title": "Hi", "to_role": "admin"}])
    job = new_job(author, w)
    author.is_active = False
    author.save()
    drain()
    run = RuleRun.objects.get(rule=rule)
    assert (run.outcome, run.explanation) == (Outcome.FAILED, ["No conditions: the rule runs on every such event."])
    assert run.error == "No action was taken: The rule's author is no longer an active user; an admin must save the rule again to take it over."
    rule.created_by = owner  # an admin saves the rule: it is hers now
    rule.save()
    retry_now()
    drain()
    assert runs(rule) == [(Outcome.FAILED, 1), (Outcome.DONE, 2)]
    assert list(Alert.objects.values_list("user_id", "job_id")) == [(owner.pk, job.pk)]


def test_a_concurrent_edit_makes_set_field_fail_as_stale_then_the_retry_applies_it(author, w, monkeypatch):
    rule = make_rule(
        author, trigger=CREATED, actions=[{"kind": "create_task", "title": "T", "to_role": "manager"}, {"kind": "set_field", "field": "priority", "value": 4}]
    )
    job = new_job(author, w, priority=2)
    real = job_actions.job_update

    def someone_edits_first(**kwargs):  # type: ignore[no-untyped-def]
        Job.objects.filter(pk=kwargs["job_id"]).update(version=kwargs["version"] + 1)  # a person saved the job meanwhile
        return real(**kwargs)

    monkeypatch.setattr(job_actions, "job_update", someone_edits_first)
    drain()
    run = RuleRun.objects.get(rule=rule)
    assert run.outcome == Outcome.FAILED
    assert run.error.endswith("Someone else changed this job after you opened it. Reload to see their changes.")
    assert not FollowUpTask.objects.exists()
    monkeypatch.setattr(job_actions, "job_update", real)
    retry_now()
    drain()
    assert runs(rule) == [(Outcome.FAILED, 1), (Outcome.DONE, 2)]
    assert FollowUpTask.objects.count() == 1
    job.refresh_from_db()
    assert job.priority == 4
