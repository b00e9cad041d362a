"""An open follow-up task holds the job's close: job_transition refuses it with the tasks named and
changes nothing; done, the job closes. A payment that would close the job still stands: the job stays
invoiced and its timeline says why."""

import pytest

from serviceopus.automation.guards import follow_up_guard
from serviceopus.automation.models import FollowUpTask
from serviceopus.automation.tasks import task_complete, task_reopen
from serviceopus.billing.models import Payment
from serviceopus.billing.status import InvoiceStatus
from serviceopus.jobs.actions import TransitionRefused, job_transition
from serviceopus.jobs.guards import transition_blockers
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.billing_support import invoice_and_pay
from tests.factories import JobFactory, LineItemFactory

from .task_support import make_task, rows

pytestmark = pytest.mark.django_db


def snapshot(job: Job) -> tuple:
    return (Job.objects.filter(pk=job.pk).values().get(), rows(JobEvent), rows(FollowUpTask))


def test_closing_is_refused_while_a_task_is_open_and_changes_nothing(office, manager):
    job = JobFactory(status=JobStatus.INVOICED)  # no invoice: billing has nothing to say about it
    first = make_task(office, job, "Call the customer back")
    make_task(office, job, "Send the warranty papers", owner_id=manager.pk)
    before = snapshot(job)
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED)
    assert refused.value.code == "blocked"
    [blocker] = refused.value.details["blockers"]
    assert blocker == {
        "code": "open_follow_up_tasks",
        "message": "2 follow-up tasks are still open: Call the customer back; Send the warranty papers. Mark them done first.",
        "items": ["Call the customer back", "Send the warranty papers"],
        "tab": "tasks",
        "waivable": False,
        "office_only": False,
    }
    assert snapshot(job) == before

    task_complete(actor=office, task_id=first.pk)
    [blocker] = transition_blockers(Job.objects.get(pk=job.pk), JobStatus.CLOSED)
    assert blocker.message == "1 follow-up task is still open: Send the warranty papers. Mark them done first."
    task_complete(actor=office, task_id=FollowUpTask.objects.get(title="Send the warranty papers").pk)
    assert job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED).status == JobStatus.CLOSED


def test_only_the_close_is_guarded(office, manager):
    job = JobFactory(status=JobStatus.INVOICED)
    make_task(office, job)
    assert [b.code for b in follow_up_guard(job, JobStatus.CLOSED)] == ["open_follow_up_tasks"]
    for to in set(JobStatus.values) - {JobStatus.CLOSED}:
        assert follow_up_guard(job, to) == [], to
    # Another job's task holds nothing here.
    other = JobFactory(status=JobStatus.INVOICED)
    assert job_transition(actor=manager, job_id=other.pk, to=JobStatus.CLOSED).status == JobStatus.CLOSED


def test_a_reopened_task_holds_the_close_again(office, manager):
    job = JobFactory(status=JobStatus.INVOICED)
    task = make_task(office, job)
    task_complete(actor=office, task_id=task.pk)
    task_reopen(actor=office, task_id=task.pk)
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED)
    assert [b["code"] for b in refused.value.details["blockers"]] == ["open_follow_up_tasks"]


def test_a_long_list_is_cut_short_in_the_blocker(office):
    job = JobFactory(status=JobStatus.INVOICED)
    for n in range(12):
        make_task(office, job, f"Task {n:02d}")
    [blocker] = transition_blockers(job, JobStatus.CLOSED)
    assert blocker.items == [f"Task {n:02d}" for n in range(10)]
    assert blocker.message.startswith("12 follow-up tasks are still open: Task 00; Task 01;")
    assert blocker.message.endswith("Task 09; and 2 more. Mark them done first.")


def test_paying_the_invoice_still_records_the_payment_and_the_job_stays_invoiced(office, manager):
    job = JobFactory(status=JobStatus.WORK_COMPLETE)
    LineItemFactory(job=job)
    task = make_task(office, job, "Return the spare filter")
    invoice = invoice_and_pay(job, office)
    # The payment stands; the close it asked for was refused, and the timeline says why.
    assert invoice.status == InvoiceStatus.PAID
    assert Payment.objects.filter(invoice=invoice, amount_cents=invoice.total_cents).count() == 1
    assert Job.objects.get(pk=job.pk).status == JobStatus.INVOICED
    event = JobEvent.objects.filter(job=job, message__startswith="Paid in full, but not closed").get()
    assert event.message == ("Paid in full, but not closed: Closed is blocked: 1 follow-up task is still open: Return the spare filter. Mark them done first.")
    # Done, the office closes it.
    task_complete(actor=office, task_id=task.pk)
    assert job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED).status == JobStatus.CLOSED
