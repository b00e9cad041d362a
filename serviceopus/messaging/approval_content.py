"""What an approval request shows the customer, priced once and frozen: each line's quantity, unit
price, amount and tax, and the totals, as one canonical JSON document and its SHA-256.

Pricing follows billing exactly (billing/pricing.py), so the invoice later shows what the customer
approved: a line's amount is quantity × unit price rounded half-up to the cent
(core.money.line_total_cents); its tax is amount × the company's default tax rate rounded half-up
(billing.pricing.line_tax), on taxable lines only. Labour is taxable only when the billing settings tax
labour. Totals are sums of those integers.

The customer's page carries the hash of the document it showed, and an approval counts only for that
hash: what was signed is exactly what was shown, and a request that changed (or was tampered with in
the database) cannot be approved from an old page."""

import hashlib
import json
from decimal import Decimal
from typing import Any

from serviceopus.billing.models import BillingSettings
from serviceopus.billing.pricing import line_tax
from serviceopus.core.money import line_total_cents
from serviceopus.jobs.models import LineItem

from .models import ApprovalRequest

QUANTUM = Decimal("0.001")


def quantity_text(quantity: Decimal) -> str:
    """'1.500': always three decimals, so the same quantity always hashes the same."""
    return f"{quantity.quantize(QUANTUM):f}"


def price_lines(lines: list[dict[str, Any]], *, settings: BillingSettings | None = None) -> tuple[list[dict[str, Any]], int, int, int]:
    """Validated lines ({kind, description, quantity: Decimal, unit_price_cents: int}) → the stored
    lines and (subtotal, tax, total) in cents."""
    settings = settings or BillingSettings.current()
    rate = settings.default_tax_rate.rate_milli_percent if settings.default_tax_rate else 0
    priced = []
    for line in lines:
        quantity = Decimal(line["quantity"]).quantize(QUANTUM)
        unit = int(line["unit_price_cents"])
        amount = line_total_cents(quantity, unit)
        taxable = line["kind"] != LineItem.Kind.LABOUR or settings.tax_labour
        priced.append(
            {
                "kind": line["kind"],
                "description": line["description"],
                "quantity": quantity_text(quantity),
                "unit_price_cents": unit,
                "amount_cents": amount,
                "tax_cents": line_tax(amount, rate) if taxable else 0,
                "taxable": taxable,
            }
        )
    subtotal = sum(line["amount_cents"] for line in priced)
    tax = sum(line["tax_cents"] for line in priced)
    return priced, subtotal, tax, subtotal + tax


def document(
    *, job_id: int, number: int, kind: str, title: str, message: str, lines: list[dict[str, Any]], subtotal_cents: int, tax_cents: int, total_cents: int
) -> dict[str, Any]:
    """The document the hash covers. Money in cents, quantities as strings: the same request gives the
    same bytes on either database."""
    return {
        "job": job_id,
        "number": number,
        "kind": kind,
        "title": title,
        "message": message,
        "lines": lines,
        "subtotal_cents": subtotal_cents,
        "tax_cents": tax_cents,
        "total_cents": total_cents,
    }


def document_of(approval: ApprovalRequest) -> dict[str, Any]:
    return document(
        job_id=approval.job_id,
        number=approval.number,
        kind=approval.kind,
        title=approval.title,
        message=approval.message,
        lines=approval.lines,
        subtotal_cents=approval.subtotal_cents,
        tax_cents=approval.tax_cents,
        total_cents=approval.total_cents,
    )


def content_hash(doc: dict[str, Any]) -> str:
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def is_intact(approval: ApprovalRequest) -> bool:
    """True when the stored snapshot still hashes to the stored hash (nothing edited it behind the
    actions' back): only then may it be shown for approval or approved."""
    return content_hash(document_of(approval)) == approval.content_hash
