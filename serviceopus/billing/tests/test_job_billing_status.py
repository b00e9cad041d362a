"""How billing moves a job and holds it: invoiced when all its work is on issued invoices, back to
work complete on void, closed when paid (unless something else holds it), the billing trigger, the
guard on a job line that is on an invoice, and the estimate."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from serviceopus.billing.actions import estimate_capture, invoice_create, invoice_delete, invoice_line_remove, invoice_void
from serviceopus.billing.models import Estimate, Invoice
from serviceopus.billing.status import InvoiceStatus
from serviceopus.closeout.models import Incident
from serviceopus.core.errors import ConflictError, DomainError
from serviceopus.jobs.actions import TransitionRefused, job_transition, line_item_remove, line_item_update
from serviceopus.jobs.models import BillingTrigger, BillingType, JobEvent, LineItem
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, JobTypeFactory, LineItemFactory

from .conftest import approved_time
from .test_invoices import fresh, issue
from .test_payments import pay

pytestmark = pytest.mark.django_db


def blockers(refused):  # type: ignore[no-untyped-def]
    return [(b["code"], b["message"]) for b in refused.value.details["blockers"]]


def status(job):  # type: ignore[no-untyped-def]
    job.refresh_from_db()
    return job.status


def billing_messages(job):  # type: ignore[no-untyped-def]
    return list(JobEvent.objects.filter(job=job, kind=JobEvent.Kind.BILLING).order_by("pk").values_list("message", flat=True))


# ---- invoiced, void, paid, closed --------------------------------------------------------------------


def test_issue_invoices_the_job_only_when_all_its_work_is_invoiced(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    first = invoice_create(actor=office, job_ids=[job.pk])
    invoice_line_remove(actor=office, invoice_id=first.pk, version=first.version, line_id=first.lines.get(kind="labour").pk)
    issue(office, first)
    assert status(job) == JobStatus.WORK_COMPLETE
    rest = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    assert rest.number == "INV-000002"
    assert status(job) == JobStatus.INVOICED
    move = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.STATUS).latest("pk")
    assert (move.old_value, move.new_value, move.message, move.actor) == (JobStatus.WORK_COMPLETE, JobStatus.INVOICED, "Invoice INV-000002 issued", office)


def test_void_takes_the_job_back_to_work_complete(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    completed = timezone.now().replace(microsecond=0) - timedelta(days=3)
    type(job).objects.filter(pk=job.pk).update(completed_at=completed)
    invoice = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    assert status(job) == JobStatus.INVOICED
    invoice_void(actor=office, invoice_id=invoice.pk, version=invoice.version, reason="Wrong rate")
    assert status(job) == JobStatus.WORK_COMPLETE
    move = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.STATUS).latest("pk")
    assert (move.old_value, move.new_value, move.message) == (JobStatus.INVOICED, JobStatus.WORK_COMPLETE, "Invoice INV-000001 voided")
    job.refresh_from_db()
    assert job.completed_at == completed  # the work was done when it was done, not when the invoice was voided


def test_paid_in_full_closes_the_job(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    pay(office, invoice, 36000)
    assert status(job) == JobStatus.INVOICED
    pay(office, invoice, 438)
    assert status(job) == JobStatus.CLOSED


def test_a_job_with_two_invoices_closes_when_both_are_paid(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    first = invoice_create(actor=office, job_ids=[job.pk])
    invoice_line_remove(actor=office, invoice_id=first.pk, version=first.version, line_id=first.lines.get(kind="labour").pk)
    first = issue(office, first)
    second = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    assert status(job) == JobStatus.INVOICED
    pay(office, second, 18000)
    assert status(job) == JobStatus.INVOICED
    assert billing_messages(job)[-1] == "Paid in full, but not closed: Closed is blocked: Not paid yet: INV-000001 owes $184.38."
    pay(office, first, 18438)
    assert status(job) == JobStatus.CLOSED


def test_a_job_on_an_invoice_with_another_job_follows_its_own_work(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.FIXED_PRICE)
    other = complete_job(BillingType.FIXED_PRICE, customer=job.customer, status=JobStatus.IN_PROGRESS)
    invoice = issue(office, invoice_create(actor=office, job_ids=[job.pk, other.pk]))
    assert (status(job), status(other)) == (JobStatus.INVOICED, JobStatus.IN_PROGRESS)
    pay(office, invoice, invoice.total_cents)
    assert (status(job), status(other)) == (JobStatus.CLOSED, JobStatus.IN_PROGRESS)


def test_closing_is_refused_while_unpaid(office, manager, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    pay(office, invoice, 10000)
    before = billing_rows()
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED)
    assert refused.value.code == "blocked"
    assert blockers(refused) == [("unpaid", "Not paid yet: INV-000001 owes $264.38.")]
    assert refused.value.details["blockers"][0]["tab"] == "payments"
    assert billing_rows() == before


def test_closing_is_refused_while_chargeable_work_is_uninvoiced(manager, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    before = billing_rows()
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED)
    assert blockers(refused) == [("uninvoiced_work", "4 billable items are not on an invoice yet.")]
    assert refused.value.details["blockers"][0]["items"][:3] == ["Diagnostic visit", "Run capacitor", "Trip fee"]
    assert billing_rows() == before


def test_covered_work_left_uninvoiced_does_not_hold_a_close(manager, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.WARRANTY)
    assert job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED).status == JobStatus.CLOSED


def test_invoiced_by_hand_needs_an_issued_invoice_and_nothing_left(office, manager, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    before = billing_rows()
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=manager, job_id=job.pk, to=JobStatus.INVOICED)
    assert blockers(refused) == [
        ("not_invoiced", "Issue an invoice for this job first."),
        ("uninvoiced_work", "4 billable items are not on an invoice yet."),
    ]
    assert billing_rows() == before
    draft = invoice_create(actor=office, job_ids=[job.pk])
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=manager, job_id=job.pk, to=JobStatus.INVOICED)
    assert blockers(refused) == [("not_invoiced", "Issue an invoice for this job first."), ("draft_invoice", "Issue or delete the draft invoice first.")]
    assert refused.value.details["blockers"][1]["items"] == [f"Draft #{draft.pk}"]


def test_covered_work_approved_after_a_no_charge_invoice_does_not_strand_the_job(office, manager, tech_a, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.WARRANTY)
    draft = invoice_create(actor=office, job_ids=[job.pk])
    late = approved_time(job, tech_a, 30)  # approved after the draft was made: on no invoice
    issue(office, draft)
    job.refresh_from_db()
    # The zero invoice is paid as it is issued; the covered half hour left over owes nothing.
    assert job.status == JobStatus.CLOSED
    assert not late.invoice_lines.exists()


def test_a_draft_holds_a_close(office, manager, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.WARRANTY)
    draft = invoice_create(actor=office, job_ids=[job.pk])
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED)
    assert blockers(refused) == [("draft_invoice", "Issue or delete the draft invoice first.")]
    invoice_delete(actor=office, invoice_id=draft.pk, version=draft.version)
    assert job_transition(actor=manager, job_id=job.pk, to=JobStatus.CLOSED).status == JobStatus.CLOSED


def test_a_blocked_auto_close_is_explained_on_the_timeline(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    Incident.objects.create(job=job, kind="property_damage", severity="high", description="Scratched floor", reported_by=office)
    pay(office, invoice, 36438)
    assert fresh(invoice).status == InvoiceStatus.PAID
    assert status(job) == JobStatus.INVOICED
    event = JobEvent.objects.filter(job=job, kind=JobEvent.Kind.BILLING).latest("pk")
    assert event.message == "Paid in full, but not closed: Closed is blocked: Resolve the open incident first: Property damage (high)."
    assert event.data == {"invoice": invoice.pk}


# ---- the billing trigger -----------------------------------------------------------------------------


def finish(actor, job):  # type: ignore[no-untyped-def]
    return job_transition(actor=actor, job_id=job.pk, to=JobStatus.WORK_COMPLETE)


def test_draft_invoice_trigger_creates_a_draft_on_work_complete(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS, status=JobStatus.IN_PROGRESS)
    JobTypeFactory._meta.model.objects.filter(pk=job.job_type_id).update(billing_trigger=BillingTrigger.DRAFT_INVOICE)
    finish(office, job)
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.total_cents, invoice.created_by, list(invoice.jobs.all())) == (InvoiceStatus.DRAFT, 36438, office, [job])
    assert billing_messages(job) == [
        f"Draft invoice #{invoice.pk} created ($364.38)",
        f"Work complete: draft invoice #{invoice.pk} created for review (job type's billing trigger)",
    ]


def test_queue_trigger_creates_nothing(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS, status=JobStatus.IN_PROGRESS)
    finish(office, job)
    assert status(job) == JobStatus.WORK_COMPLETE
    assert not Invoice.objects.exists()
    assert billing_messages(job) == []


def test_draft_invoice_trigger_with_nothing_to_bill_says_so(office, tax, rates):  # type: ignore[no-untyped-def]
    job = JobFactory(status=JobStatus.IN_PROGRESS, job_type=JobTypeFactory(billing_trigger=BillingTrigger.DRAFT_INVOICE))
    finish(office, job)
    assert status(job) == JobStatus.WORK_COMPLETE
    assert not Invoice.objects.exists()
    assert billing_messages(job) == [
        f"No draft invoice was created: Nothing left to invoice on {job.number}: every line and approved time entry is already on an invoice."
    ]


def test_a_void_does_not_fire_the_trigger_again(office, complete_job):  # type: ignore[no-untyped-def]
    """Going back to work complete because an invoice was voided is not the work being completed: the
    office re-invoices when it is ready, instead of finding a draft made behind its back."""
    job = complete_job(BillingType.TIME_AND_MATERIALS, status=JobStatus.IN_PROGRESS)
    JobTypeFactory._meta.model.objects.filter(pk=job.job_type_id).update(billing_trigger=BillingTrigger.DRAFT_INVOICE)
    finish(office, job)
    invoice = issue(office, Invoice.objects.get())
    invoice_void(actor=office, invoice_id=invoice.pk, version=invoice.version, reason="Wrong address")
    assert status(job) == JobStatus.WORK_COMPLETE
    assert list(Invoice.objects.values_list("status", flat=True)) == [InvoiceStatus.VOID]


def test_the_trigger_drafts_only_what_progress_billing_left(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.FIXED_PRICE, status=JobStatus.IN_PROGRESS)
    JobTypeFactory._meta.model.objects.filter(pk=job.job_type_id).update(billing_trigger=BillingTrigger.DRAFT_INVOICE)
    first = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    LineItemFactory(job=job, kind="service", description="Return visit", unit_price_cents=6000, taxable=False, position=4)
    finish(office, job)
    second = Invoice.objects.exclude(pk=first.pk).get()
    assert (second.status, second.total_cents, [line.description for line in second.lines.all()]) == (InvoiceStatus.DRAFT, 6000, ["Return visit"])


def test_the_trigger_leaves_an_existing_draft_alone(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.FIXED_PRICE, status=JobStatus.IN_PROGRESS)
    JobTypeFactory._meta.model.objects.filter(pk=job.job_type_id).update(billing_trigger=BillingTrigger.DRAFT_INVOICE)
    draft = invoice_create(actor=office, job_ids=[job.pk])
    finish(office, job)
    assert list(Invoice.objects.values_list("pk", flat=True)) == [draft.pk]


# ---- a job line on an invoice ------------------------------------------------------------------------


def edit(actor, item, **changes):  # type: ignore[no-untyped-def]
    item.refresh_from_db()
    fields = {
        "kind": item.kind,
        "description": item.description,
        "quantity": item.quantity,
        "unit_price_cents": item.unit_price_cents,
        "unit_cost_cents": item.unit_cost_cents,
        "taxable": item.taxable,
        **changes,
    }
    return line_item_update(actor=actor, line_item_id=item.pk, version=item.version, **fields)


def test_a_job_line_on_a_draft_cannot_change_until_taken_off(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS)
    invoice = invoice_create(actor=office, job_ids=[job.pk])
    item = job.line_items.get(kind=LineItem.Kind.SERVICE)
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        edit(office, item, unit_price_cents=9900)
    assert (refused.value.code, refused.value.message) == (
        "invoiced_line",
        f"“Diagnostic visit” is on draft invoice #{invoice.pk}. Change it on the draft, or take it off the draft first.",
    )
    with pytest.raises(ConflictError) as refused:
        line_item_remove(actor=office, line_item_id=item.pk)
    assert refused.value.code == "invoiced_line"
    assert billing_rows() == before
    invoice_line_remove(actor=office, invoice_id=invoice.pk, version=invoice.version, line_id=invoice.lines.get(line_item=item).pk)
    assert edit(office, item, unit_price_cents=9900).unit_price_cents == 9900


def test_a_job_line_on_an_issued_invoice_is_corrected_by_credit_note(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS, status=JobStatus.IN_PROGRESS)
    issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    item = job.line_items.get(kind=LineItem.Kind.MATERIAL)
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        edit(office, item, quantity=Decimal("3"))
    assert refused.value.message == "“Run capacitor” is on invoice INV-000001. Correct it with a credit note."
    assert billing_rows() == before


def test_a_job_line_on_a_void_invoice_is_free(office, complete_job):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS, status=JobStatus.IN_PROGRESS)
    invoice = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    invoice_void(actor=office, invoice_id=invoice.pk, version=invoice.version, reason="Redo")
    item = job.line_items.get(kind=LineItem.Kind.MATERIAL)
    assert edit(office, item, quantity=Decimal("3")).quantity == Decimal("3")
    assert invoice.lines.get(line_item=item).quantity == Decimal("2")  # the void invoice's record is its own


def test_a_job_line_a_void_invoice_keeps_on_record_is_not_removed(office, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.TIME_AND_MATERIALS, status=JobStatus.IN_PROGRESS)
    invoice = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    invoice_void(actor=office, invoice_id=invoice.pk, version=invoice.version, reason="Redo")
    item = job.line_items.get(kind=LineItem.Kind.MATERIAL)
    before = billing_rows()
    with pytest.raises(ConflictError) as refused:
        line_item_remove(actor=office, line_item_id=item.pk)
    assert (refused.value.code, refused.value.message) == (
        "invoiced_line",
        "“Run capacitor” was on invoice INV-000001, now void, which keeps it on record: set its quantity to 0 instead.",
    )
    assert billing_rows() == before
    fee = LineItemFactory(job=job, kind="fee", description="Never billed", unit_price_cents=100, position=9)
    line_item_remove(actor=office, line_item_id=fee.pk)
    assert not LineItem.objects.filter(pk=fee.pk).exists()


# ---- the estimate -----------------------------------------------------------------------------------


def test_the_estimate_is_taken_when_first_scheduled_and_retaken_on_request(office, tech_a, tech_b, tax, rates):  # type: ignore[no-untyped-def]
    tech_b.hourly_cost_cents = 4501
    tech_b.save()
    job = JobFactory(status=JobStatus.NEW, technicians=[tech_a, tech_b], estimated_duration_minutes=90)
    LineItemFactory(job=job, kind="service", unit_price_cents=8900, position=1)
    LineItemFactory(job=job, kind="material", description="Filter", quantity=Decimal("2"), unit_price_cents=2450, unit_cost_cents=1005, position=2)
    job_transition(actor=office, job_id=job.pk, to=JobStatus.SCHEDULED)
    estimate = Estimate.objects.get(job=job)
    # Revenue as time & materials bills it: the lines and 90 minutes at 120.00 an hour. Labour cost: 90
    # minutes at the crew's average of (3500 + 4501) / 2 an hour: 6000.75, rounded once.
    assert (estimate.revenue_cents, estimate.material_cost_cents, estimate.labour_cost_cents, estimate.captured_by) == (13800 + 18000, 2010, 6001, office)
    assert (estimate.cost_cents, estimate.margin_cents) == (8011, 31800 - 8011)
    LineItemFactory(job=job, kind="fee", description="Permit", unit_price_cents=5000, position=3)
    job_transition(actor=office, job_id=job.pk, to=JobStatus.NEW)
    job_transition(actor=office, job_id=job.pk, to=JobStatus.SCHEDULED)
    assert Estimate.objects.get(job=job).revenue_cents == 31800  # the first schedule's, kept
    retaken = estimate_capture(actor=office, job_id=job.pk)
    assert (retaken.pk, retaken.revenue_cents, retaken.labour_cost_cents) == (estimate.pk, 36800, 6001)
    assert JobEvent.objects.filter(job=job, message="Estimate set from the current lines: revenue $368.00, cost $80.11").count() == 1


@pytest.mark.parametrize(
    ("billing_type", "nte", "revenue"),
    [
        (BillingType.FIXED_PRICE, None, 8900 + 4900),  # the lines; time is in the price
        (BillingType.AGREEMENT, None, 4900),  # service and time covered; the material charged
        (BillingType.WARRANTY, None, 0),
        (BillingType.NOT_TO_EXCEED, 20000, 20000),  # 13800 + 60 min at 120.00, capped
        (BillingType.NOT_TO_EXCEED, 30000, 25800),
    ],
)
def test_the_estimate_is_priced_as_the_job_will_be_billed(office, tech_a, tax, rates, billing_type, nte, revenue):  # type: ignore[no-untyped-def]
    job = JobFactory(status=JobStatus.IN_PROGRESS, technicians=[tech_a], billing_type=billing_type, not_to_exceed_cents=nte, estimated_duration_minutes=60)
    LineItemFactory(job=job, kind="service", unit_price_cents=8900, unit_cost_cents=1500, position=1)
    LineItemFactory(job=job, kind="material", description="Filter", quantity=Decimal("2"), unit_price_cents=2450, unit_cost_cents=1005, position=2)
    estimate = estimate_capture(actor=office, job_id=job.pk)
    # Material cost is the material lines' cost only, as on the Financials tab's actual side.
    assert (estimate.revenue_cents, estimate.material_cost_cents, estimate.labour_cost_cents) == (revenue, 2010, 3500)


def test_without_a_crew_the_estimate_uses_the_company_average(office, tech_a, tax, rates):  # type: ignore[no-untyped-def]
    job = JobFactory(status=JobStatus.IN_PROGRESS, estimated_duration_minutes=45)
    assert estimate_capture(actor=office, job_id=job.pk).labour_cost_cents == 2625  # 45 × 3500 / 60


def test_only_billing_roles_set_the_estimate(dispatcher, tax, rates):  # type: ignore[no-untyped-def]
    job = JobFactory(status=JobStatus.IN_PROGRESS)
    with pytest.raises(DomainError) as refused:
        estimate_capture(actor=dispatcher, job_id=job.pk)
    assert refused.value.code == "forbidden"
    assert not Estimate.objects.exists()
    assert timezone.now()


def test_a_job_with_live_invoices_is_not_cancelled(office, manager, complete_job, billing_rows):  # type: ignore[no-untyped-def]
    job = complete_job(BillingType.FIXED_PRICE, status=JobStatus.ON_HOLD)
    issued = issue(office, invoice_create(actor=office, job_ids=[job.pk]))
    job.line_items.create(kind="fee", description="Storage", quantity=Decimal(1), unit_price_cents=1000)
    draft = invoice_create(actor=office, job_ids=[job.pk])
    before = billing_rows()
    with pytest.raises(TransitionRefused) as refused:
        job_transition(actor=manager, job_id=job.pk, to=JobStatus.CANCELLED)
    assert blockers(refused) == [("has_invoices", f"Void its invoices and delete its draft invoices first: INV-000001, Draft invoice #{draft.pk}.")]
    assert billing_rows() == before
    invoice_delete(actor=office, invoice_id=draft.pk, version=draft.version)
    invoice_void(actor=office, invoice_id=issued.pk, version=issued.version, reason="Job called off")
    assert job_transition(actor=manager, job_id=job.pk, to=JobStatus.CANCELLED).status == JobStatus.CANCELLED
