"""Each trigger fires from the real action that causes it — job created, job and visit status changes, a
blocker opened by an incident, an invoice issued, a payment recorded, and the four time-based ones found
by the scan with times set in the past — and a rule whose trigger parameter does not match stays silent."""

from datetime import datetime, time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from serviceopus.automation.models import Alert, AutomationEvent, EventType, FollowUpTask, RuleRun
from serviceopus.automation.rules import scan
from serviceopus.billing.actions import payment_record
from serviceopus.billing.models import Invoice
from serviceopus.closeout.actions.incidents import incident_report
from serviceopus.dispatch.actions import visit_transition
from serviceopus.dispatch.models import Visit
from serviceopus.dispatch.status import VisitStatus
from serviceopus.jobs import actions as job_actions
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, VisitFactory

from .rule_support import add_photos, drain, issued_invoice, make_rule, new_job, world

pytestmark = pytest.mark.django_db
Outcome = RuleRun.Outcome
NOON = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))


@pytest.fixture
def w(db):  # type: ignore[no-untyped-def]
    return world()


def alert_rule(owner, trigger, params=None, name="Rule"):  # type: ignore[no-untyped-def]
    return make_rule(
        owner, name=name, trigger=trigger, params=params, actions=[{"kind": "raise_alert", "title": f"{name} on {{job_number}}", "to_role": "admin"}]
    )


def fired(rule) -> list[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    """(event type, job) of each DONE run of the rule."""
    return list(RuleRun.objects.filter(rule=rule, outcome=Outcome.DONE).order_by("id").values_list("event__type", "job_id"))


def test_job_created(owner, w):
    rule = alert_rule(owner, EventType.JOB_CREATED)
    job = new_job(owner, w)
    drain()
    assert fired(rule) == [(EventType.JOB_CREATED, job.pk)]
    assert list(Alert.objects.values_list("user_id", "title")) == [(owner.pk, f"Rule on {job.number}")]


def test_job_status_changed_with_from_and_to(owner, manager, w):
    to_hold = alert_rule(owner, EventType.JOB_STATUS_CHANGED, {"to": "on_hold"}, "to hold")
    from_new = alert_rule(owner, EventType.JOB_STATUS_CHANGED, {"from": "new"}, "from new")
    both = alert_rule(owner, EventType.JOB_STATUS_CHANGED, {"from": "new", "to": "on_hold"}, "both")
    other_to = alert_rule(owner, EventType.JOB_STATUS_CHANGED, {"to": "cancelled"}, "to cancelled")
    other_from = alert_rule(owner, EventType.JOB_STATUS_CHANGED, {"from": "scheduled", "to": "on_hold"}, "from scheduled")
    any_change = alert_rule(owner, EventType.JOB_STATUS_CHANGED, {}, "any")
    job = new_job(owner, w)
    job_actions.job_transition(actor=manager, job_id=job.pk, to=JobStatus.ON_HOLD, hold_reason="parts")
    drain()
    for rule in (to_hold, from_new, both, any_change):
        assert fired(rule) == [(EventType.JOB_STATUS_CHANGED, job.pk)], rule.name
    for rule in (other_to, other_from):
        assert not RuleRun.objects.filter(rule=rule).exists(), rule.name


def test_visit_status_changed_to(owner, tech_a, w):
    en_route = alert_rule(owner, EventType.VISIT_STATUS_CHANGED, {"to": "en_route"}, "en route")
    arrived = alert_rule(owner, EventType.VISIT_STATUS_CHANGED, {"to": "arrived"}, "arrived")
    visit = VisitFactory(job=JobFactory(location=w["home"], status=JobStatus.SCHEDULED), crew=[tech_a])
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.EN_ROUTE)
    drain()
    assert fired(en_route) == [(EventType.VISIT_STATUS_CHANGED, visit.job_id)]
    assert RuleRun.objects.get(rule=en_route).event.visit_id == visit.pk
    assert not RuleRun.objects.filter(rule=arrived).exists()


def test_blocker_opened_by_an_incident(owner, office, w):
    rule = alert_rule(owner, EventType.BLOCKER_OPENED)
    job = JobFactory(location=w["home"], status=JobStatus.IN_PROGRESS)
    incident_report(actor=office, job_id=job.pk, kind="property_damage", severity="low", description="Scratched the floor")
    drain()
    assert fired(rule) == [(EventType.BLOCKER_OPENED, job.pk)]
    assert AutomationEvent.objects.get(type=EventType.BLOCKER_OPENED).data["blocker"] == "no_open_incident"


def test_invoice_issued_and_payment_recorded(owner, office):
    issued = alert_rule(owner, EventType.INVOICE_ISSUED, name="issued")
    paid = alert_rule(owner, EventType.PAYMENT_RECORDED, name="paid")
    invoice = issued_invoice(office)
    job = invoice.jobs.get()
    drain()
    assert fired(issued) == [(EventType.INVOICE_ISSUED, job.pk)]
    assert not RuleRun.objects.filter(rule=paid).exists()
    payment_record(actor=office, invoice_id=invoice.pk, amount_cents=1000, method="card", received_on=timezone.localdate())
    drain()
    assert fired(paid) == [(EventType.PAYMENT_RECORDED, job.pk)]
    assert fired(issued) == [(EventType.INVOICE_ISSUED, job.pk)]


def test_a_rolled_back_change_writes_no_event_and_nothing_runs(owner, manager, w):
    rule = alert_rule(owner, EventType.JOB_STATUS_CHANGED)
    job = new_job(owner, w)
    drain()
    before = AutomationEvent.objects.count()

    def request_failing_after_the_move() -> None:
        with transaction.atomic():
            job_actions.job_transition(actor=manager, job_id=job.pk, to=JobStatus.ON_HOLD, hold_reason="parts")
            raise RuntimeError("the request failed after the move")

    with pytest.raises(RuntimeError):
        request_failing_after_the_move()
    assert AutomationEvent.objects.count() == before
    assert drain()["claimed"] == 0
    assert not RuleRun.objects.filter(rule=rule).exists()
    job.refresh_from_db()
    assert job.status == JobStatus.NEW


def test_rules_of_another_trigger_do_not_run(owner, w):
    rule = alert_rule(owner, EventType.INVOICE_ISSUED)
    new_job(owner, w)
    drain()
    assert not RuleRun.objects.filter(rule=rule).exists()


# ---- time-based, through the scan ----------------------------------------------------------------------


def test_visit_at_risk_and_late(owner, w):
    at_risk = alert_rule(owner, EventType.VISIT_LATE, {"which": "at_risk"}, "at risk")
    late = alert_rule(owner, EventType.VISIT_LATE, {"which": "late"}, "late")
    # Not en route, the window ends in 20 minutes (the board's threshold: 30): at risk.
    risky = VisitFactory(job__location=w["home"], scheduled_start=NOON - timedelta(hours=1), window_end=NOON + timedelta(minutes=20))
    # Not arrived, the window ended 10 minutes ago: late.
    behind = VisitFactory(job__location=w["home"], scheduled_start=NOON - timedelta(hours=2), window_end=NOON - timedelta(minutes=10))
    # On time: neither.
    VisitFactory(job__location=w["home"], scheduled_start=NOON, window_end=NOON + timedelta(hours=2))
    assert scan.scan(now=NOON) == 2
    drain()
    assert fired(at_risk) == [(EventType.VISIT_LATE, risky.job_id)]
    assert fired(late) == [(EventType.VISIT_LATE, behind.job_id)]


def test_job_overdue(owner, w):
    four = alert_rule(owner, EventType.JOB_OVERDUE, {"hours": 4}, "4 h")
    six = alert_rule(owner, EventType.JOB_OVERDUE, {"hours": 6}, "6 h")
    job = JobFactory(location=w["home"], status=JobStatus.IN_PROGRESS)
    # The last visit ended five hours ago (started at 6 h ago, 60 minutes long).
    VisitFactory(job=job, number=1, scheduled_start=NOON - timedelta(hours=9), status=VisitStatus.COMPLETED)
    VisitFactory(job=job, number=2, scheduled_start=NOON - timedelta(hours=6), status=VisitStatus.DEPARTED)
    assert scan.scan(now=NOON) == 1
    drain()
    assert fired(four) == [(EventType.JOB_OVERDUE, job.pk)]
    assert not RuleRun.objects.filter(rule=six).exists()


def test_visit_paused_long(owner, tech_a, w):
    thirty = alert_rule(owner, EventType.VISIT_PAUSED_LONG, {"minutes": 30}, "30 min")
    hour = alert_rule(owner, EventType.VISIT_PAUSED_LONG, {"minutes": 60}, "60 min")
    visit = VisitFactory(job=JobFactory(location=w["home"], status=JobStatus.SCHEDULED), crew=[tech_a])
    for to in (VisitStatus.EN_ROUTE, VisitStatus.ARRIVED, VisitStatus.WORKING):
        visit_transition(actor=tech_a.user, visit_id=visit.pk, to=to)
    visit_transition(actor=tech_a.user, visit_id=visit.pk, to=VisitStatus.PAUSED, reason="Waiting for parts")
    Visit.objects.filter(pk=visit.pk).update(paused_at=timezone.now() - timedelta(minutes=40))
    assert scan.scan() == 1
    drain()
    assert fired(thirty) == [(EventType.VISIT_PAUSED_LONG, visit.job_id)]
    assert not RuleRun.objects.filter(rule=hour).exists()


def test_invoice_unpaid(owner, office):
    thirty = alert_rule(owner, EventType.INVOICE_UNPAID, {"days": 30}, "30 days")
    sixty = alert_rule(owner, EventType.INVOICE_UNPAID, {"days": 60}, "60 days")
    invoice = issued_invoice(office)
    Invoice.objects.filter(pk=invoice.pk).update(issue_date=timezone.localdate() - timedelta(days=40))
    assert scan.scan() == 1
    drain()
    assert fired(thirty) == [(EventType.INVOICE_UNPAID, invoice.jobs.get().pk)]
    assert not RuleRun.objects.filter(rule=sixty).exists()
    assert AutomationEvent.objects.get(type=EventType.INVOICE_UNPAID).invoice_id == invoice.pk


def test_photos_rule_at_work_complete_creates_a_task_for_the_manager(owner, manager, w):
    """The issue's example: when a job of type X reaches work complete with fewer than 2 photos, create a
    task for the manager."""
    rule = make_rule(
        owner,
        name="Photos before closeout",
        trigger=EventType.JOB_STATUS_CHANGED,
        params={"to": "work_complete"},
        conditions=[{"field": "job_type", "op": "is", "value": w["maintenance"].pk}, {"field": "photo_count", "op": "lt", "value": 2}],
        actions=[{"kind": "create_task", "title": "Check the photos of {job_number}", "to_role": "manager", "due_days": 1}],
    )
    few = JobFactory(location=w["home"], job_type=w["maintenance"], status=JobStatus.IN_PROGRESS)
    add_photos(few, 1)
    enough = JobFactory(location=w["home"], job_type=w["maintenance"], status=JobStatus.IN_PROGRESS)
    add_photos(enough, 2)
    other_type = JobFactory(location=w["home"], job_type=w["repair"], status=JobStatus.IN_PROGRESS)
    for job in (few, enough, other_type):
        job_actions.job_transition(actor=manager, job_id=job.pk, to=JobStatus.WORK_COMPLETE)
    drain()
    task = FollowUpTask.objects.get()
    assert (task.job_id, task.title, task.owner_role, task.due_date) == (
        few.pk,
        f"Check the photos of {few.number}",
        "manager",
        timezone.localdate() + timedelta(days=1),
    )
    outcomes = dict(RuleRun.objects.filter(rule=rule).values_list("job_id", "outcome"))
    assert outcomes == {few.pk: Outcome.DONE, enough.pk: Outcome.NOT_MATCHED, other_type.pk: Outcome.NOT_MATCHED}
    assert RuleRun.objects.get(rule=rule, job=enough).explanation == ["Job type is Maintenance: yes (Maintenance)", "Photos on the job < 2: no (2)"]
    few.refresh_from_db()
    assert few.status == JobStatus.WORK_COMPLETE
