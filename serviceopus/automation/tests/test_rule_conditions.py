"""conditions.evaluate: every field of the spec and every op, held and not held, with the line the run log
shows; conditions read the job as it is now, not as the event saw it."""

from typing import Any

import pytest

from serviceopus.automation.models import AutomationEvent, EventType, FollowUpTask, WorkflowRule
from serviceopus.automation.rules import conditions, spec
from serviceopus.closeout.models import CloseoutRequirement, RequirementKind
from serviceopus.jobs.models import BillingType, Job, Tag
from serviceopus.jobs.status import JobStatus
from tests.factories import CustomerFactory, JobFactory, LocationFactory

from .rule_support import add_photos, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db):  # type: ignore[no-untyped-def]
    w = world()
    job = JobFactory(
        location=w["home"],
        job_type=w["maintenance"],
        status=JobStatus.IN_PROGRESS,
        priority=3,
        billing_type=BillingType.TIME_AND_MATERIALS,
        estimated_duration_minutes=90,
        scope="Leaking valve in the basement",
    )
    job.tags.add(Tag.objects.create(name="warranty"))
    add_photos(job, 1, "after")
    add_photos(job, 2, "before")
    FollowUpTask.objects.create(job=job, title="Call back", owner_role="manager")
    FollowUpTask.objects.create(job=job, title="Done already", owner_role="manager", done_at=job.created_at)
    w["job"] = job
    w["other_customer"] = CustomerFactory(name="Rosa Diaz")
    return w


def check(w: dict[str, Any], *conds: dict[str, Any]) -> tuple[bool, list[str]]:
    rule = WorkflowRule(name="r", trigger=EventType.JOB_CREATED, conditions=spec.clean_conditions(list(conds)), actions=[])
    return conditions.evaluate(rule, AutomationEvent(type=EventType.JOB_CREATED, job=w["job"]))


def test_every_field_has_a_reader_and_every_op_a_comparison():
    assert set(conditions.READERS) == set(spec.FIELDS)
    assert set(conditions.NUMBER) == set(spec.NUMBER_OPS)
    assert set(conditions.CHOICE) == set(spec.CHOICE_OPS)
    assert set(conditions.TAG) == set(spec.TAG_OPS)
    assert set(conditions.TEXT) == set(spec.TEXT_OPS)


@pytest.mark.parametrize(
    ("op", "value", "held", "line"),
    [
        ("eq", 3, True, "Priority = High: yes (High)"),
        ("eq", 4, False, "Priority = Urgent: no (High)"),
        ("ne", 4, True, "Priority ≠ Urgent: yes (High)"),
        ("ne", 3, False, "Priority ≠ High: no (High)"),
        ("lt", 4, True, "Priority < Urgent: yes (High)"),
        ("lt", 3, False, "Priority < High: no (High)"),
        ("lte", 3, True, "Priority ≤ High: yes (High)"),
        ("lte", 2, False, "Priority ≤ Normal: no (High)"),
        ("gt", 2, True, "Priority > Normal: yes (High)"),
        ("gt", 3, False, "Priority > High: no (High)"),
        ("gte", 3, True, "Priority ≥ High: yes (High)"),
        ("gte", 4, False, "Priority ≥ Urgent: no (High)"),
    ],
)
def test_priority_with_each_number_op(w, op, value, held, line):
    assert check(w, {"field": "priority", "op": op, "value": value}) == (held, [line])


@pytest.mark.parametrize(
    ("cond", "held", "line"),
    [
        ({"field": "photo_count", "op": "lt", "value": 2, "tag": "after"}, True, "Photos tagged after on the job < 2: yes (1)"),
        ({"field": "photo_count", "op": "gte", "value": 2, "tag": "after"}, False, "Photos tagged after on the job ≥ 2: no (1)"),
        ({"field": "photo_count", "op": "eq", "value": 3}, True, "Photos on the job = 3: yes (3)"),
        ({"field": "photo_count", "op": "gt", "value": 3}, False, "Photos on the job > 3: no (3)"),
        ({"field": "estimated_duration_minutes", "op": "gte", "value": 90}, True, "Estimated duration (minutes) ≥ 90: yes (90)"),
        ({"field": "estimated_duration_minutes", "op": "lt", "value": 60}, False, "Estimated duration (minutes) < 60: no (90)"),
        ({"field": "open_tasks", "op": "eq", "value": 1}, True, "Open follow-up tasks = 1: yes (1)"),
        ({"field": "open_tasks", "op": "eq", "value": 0}, False, "Open follow-up tasks = 0: no (1)"),
        ({"field": "open_blockers", "op": "eq", "value": 0}, True, "Open completion blockers = 0: yes (0)"),
        ({"field": "open_blockers", "op": "gt", "value": 0}, False, "Open completion blockers > 0: no (0)"),
        ({"field": "tags", "op": "has", "value": "Warranty"}, True, "Job has tag “warranty”: yes"),
        ({"field": "tags", "op": "has", "value": "vip"}, False, "Job has tag “vip”: no"),
        ({"field": "tags", "op": "has_not", "value": "vip"}, True, "Job does not have tag “vip”: yes"),
        ({"field": "tags", "op": "has_not", "value": "warranty"}, False, "Job does not have tag “warranty”: no"),
        ({"field": "scope", "op": "contains", "value": "LEAK"}, True, "Scope contains “LEAK”: yes"),
        ({"field": "scope", "op": "contains", "value": "roof"}, False, "Scope contains “roof”: no"),
        ({"field": "scope", "op": "not_contains", "value": "roof"}, True, "Scope does not contain “roof”: yes"),
        ({"field": "scope", "op": "not_contains", "value": "valve"}, False, "Scope does not contain “valve”: no"),
        ({"field": "billing_type", "op": "is", "value": "time_materials"}, True, "Billing type is Time & materials: yes (Time & materials)"),
        ({"field": "billing_type", "op": "is", "value": "warranty"}, False, "Billing type is Warranty / no charge: no (Time & materials)"),
        ({"field": "billing_type", "op": "is_not", "value": "warranty"}, True, "Billing type is not Warranty / no charge: yes (Time & materials)"),
        ({"field": "billing_type", "op": "is_not", "value": "time_materials"}, False, "Billing type is not Time & materials: no (Time & materials)"),
        (
            {"field": "billing_type", "op": "in", "value": ["fixed_price", "time_materials"]},
            True,
            "Billing type is one of Fixed price, Time & materials: yes (Time & materials)",
        ),
        ({"field": "billing_type", "op": "in", "value": ["fixed_price"]}, False, "Billing type is one of Fixed price: no (Time & materials)"),
        ({"field": "billing_type", "op": "not_in", "value": ["fixed_price"]}, True, "Billing type is none of Fixed price: yes (Time & materials)"),
        ({"field": "billing_type", "op": "not_in", "value": ["time_materials"]}, False, "Billing type is none of Time & materials: no (Time & materials)"),
        ({"field": "status", "op": "is", "value": "in_progress"}, True, "Job status is In progress: yes (In progress)"),
        ({"field": "status", "op": "in", "value": ["new", "scheduled"]}, False, "Job status is one of New, Scheduled: no (In progress)"),
    ],
)
def test_each_field_and_op(w, cond, held, line):
    assert check(w, cond) == (held, [line])


@pytest.mark.parametrize(
    ("op", "pick", "held", "line"),
    [
        ("is", ["maintenance"], True, "Job type is Maintenance: yes (Maintenance)"),
        ("is", ["repair"], False, "Job type is Repair: no (Maintenance)"),
        ("is_not", ["repair"], True, "Job type is not Repair: yes (Maintenance)"),
        ("is_not", ["maintenance"], False, "Job type is not Maintenance: no (Maintenance)"),
        ("in", ["repair", "maintenance"], True, "Job type is one of Repair, Maintenance: yes (Maintenance)"),
        ("in", ["repair"], False, "Job type is one of Repair: no (Maintenance)"),
        ("not_in", ["repair"], True, "Job type is none of Repair: yes (Maintenance)"),
        ("not_in", ["maintenance"], False, "Job type is none of Maintenance: no (Maintenance)"),
    ],
)
def test_job_type_with_each_choice_op(w, op, pick, held, line):
    ids = [w[name].pk for name in pick]
    assert check(w, {"field": "job_type", "op": op, "value": ids if op in ("in", "not_in") else ids[0]}) == (held, [line])


@pytest.mark.parametrize(
    ("op", "pick", "held", "line"),
    [
        ("is", ["customer"], True, "Customer is Harbor Dental: yes (Harbor Dental)"),
        ("is", ["other_customer"], False, "Customer is Rosa Diaz: no (Harbor Dental)"),
        ("is_not", ["other_customer"], True, "Customer is not Rosa Diaz: yes (Harbor Dental)"),
        ("not_in", ["customer", "other_customer"], False, "Customer is none of Harbor Dental, Rosa Diaz: no (Harbor Dental)"),
    ],
)
def test_customer_with_choice_ops(w, op, pick, held, line):
    ids = [w[name].pk for name in pick]
    assert check(w, {"field": "customer", "op": op, "value": ids if op in ("in", "not_in") else ids[0]}) == (held, [line])


def test_all_conditions_must_hold_and_all_are_explained(w):
    held, lines = check(
        w,
        {"field": "job_type", "op": "is", "value": w["maintenance"].pk},
        {"field": "photo_count", "op": "lt", "value": 1, "tag": "after"},
        {"field": "priority", "op": "gte", "value": 3},
    )
    assert held is False
    assert lines == ["Job type is Maintenance: yes (Maintenance)", "Photos tagged after on the job < 1: no (1)", "Priority ≥ High: yes (High)"]


def test_no_conditions_always_hold(w):
    assert check(w) == (True, ["No conditions: the rule runs on every such event."])


def test_an_event_without_a_job_never_matches(w):
    rule = WorkflowRule(name="r", trigger=EventType.INVOICE_ISSUED, conditions=[], actions=[])
    assert conditions.evaluate(rule, AutomationEvent(type=EventType.INVOICE_ISSUED)) == (False, ["This event concerns no job; rules act on jobs."])


def test_conditions_read_the_job_as_it_is_now_not_the_payload(w):
    job = w["job"]
    event = AutomationEvent.objects.create(type=EventType.JOB_CREATED, job=job, data={"job": {"priority": 1}})
    Job.objects.filter(pk=job.pk).update(priority=4)
    add_photos(job, 1, "after")
    rule = WorkflowRule(
        name="r",
        trigger=EventType.JOB_CREATED,
        conditions=spec.clean_conditions([{"field": "priority", "op": "eq", "value": 4}, {"field": "photo_count", "op": "eq", "value": 2, "tag": "after"}]),
        actions=[],
    )
    assert conditions.evaluate(rule, event) == (True, ["Priority = Urgent: yes (Urgent)", "Photos tagged after on the job = 2: yes (2)"])


def test_open_blockers_counts_the_completion_blockers(w):
    job = w["job"]
    CloseoutRequirement.objects.create(job=job, kind=RequirementKind.PHOTOS, photo_tag="after", min_count=3)
    CloseoutRequirement.objects.create(job=job, kind=RequirementKind.CUSTOMER_SIGNATURE)
    assert check(w, {"field": "open_blockers", "op": "eq", "value": 2}) == (True, ["Open completion blockers = 2: yes (2)"])


def test_documents_are_not_photos(w):
    job = JobFactory(location=LocationFactory(customer=w["customer"]))
    add_photos(job, 2, "other", kind="document")
    w = {**w, "job": job}
    assert check(w, {"field": "photo_count", "op": "eq", "value": 0}) == (True, ["Photos on the job = 0: yes (0)"])
