"""The invoice lifecycle as data.

draft → issued → partially_paid → paid, and void. A payment or a credit note moves an invoice along
by its balance (`by_balance`); a refund can move it back. Only an issued invoice with nothing paid or
credited may be voided; an issued invoice is never deleted and never edited (a credit note corrects it).
"""

from django.db import models


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


S = InvoiceStatus
ALLOWED: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.ISSUED, S.PAID}),  # a zero invoice (warranty, no charge) is paid when issued
    S.ISSUED: frozenset({S.PARTIALLY_PAID, S.PAID, S.VOID}),
    S.PARTIALLY_PAID: frozenset({S.PAID, S.ISSUED}),
    S.PAID: frozenset({S.PARTIALLY_PAID, S.ISSUED}),  # refunds
    S.VOID: frozenset(),
}

# Issued and not void: these count as billed, take payments and appear in the accounting export.
OPEN_FOR_PAYMENT = (S.ISSUED, S.PARTIALLY_PAID)
ISSUED_STATES = (S.ISSUED, S.PARTIALLY_PAID, S.PAID)


def by_balance(*, balance_cents: int, paid_cents: int) -> str:
    """The state an issued invoice is in, read off its balance and what has been paid (net of refunds).
    A credit note lowers the balance without being a payment."""
    if balance_cents <= 0:
        return S.PAID
    return S.PARTIALLY_PAID if paid_cents > 0 else S.ISSUED
