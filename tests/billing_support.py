"""A helper for tests outside billing that need a job invoiced or closed: the job guards want an issued
invoice covering its work (invoiced) and that invoice paid (closed), so the job gets them through the
billing actions, as the office would."""

from django.utils import timezone

from serviceopus.accounts.models import User
from serviceopus.billing.actions import invoice_create, invoice_issue, payment_record
from serviceopus.billing.models import Invoice, Payment
from serviceopus.billing.status import InvoiceStatus
from serviceopus.jobs.models import Job


def invoice_and_pay(job: Job, actor: User, *, pay: bool = True) -> Invoice:
    """Invoice the job's uninvoiced work (its billing trigger's draft when there is one) and issue it,
    which makes a work-complete job invoiced; with `pay`, record the balance by card, which closes it
    unless something else holds it. `actor` needs the billing permissions (office, manager)."""
    draft = Invoice.objects.filter(jobs=job, status=InvoiceStatus.DRAFT).first() or invoice_create(actor=actor, job_ids=[job.pk])
    invoice = invoice_issue(actor=actor, invoice_id=draft.pk, version=draft.version)
    if pay and invoice.balance_cents > 0:
        payment_record(
            actor=actor,
            invoice_id=invoice.pk,
            amount_cents=invoice.balance_cents,
            method=Payment.Method.CARD,
            received_on=timezone.localdate(),
            reference="Visa ending 4242",
        )
        invoice.refresh_from_db()
    return invoice
