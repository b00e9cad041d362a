"""The invoice (or credit note) as a PDF for the customer (WeasyPrint): the company's details from
BillingSettings, who it is billed to, the number and dates, the jobs, the lines (covered work at zero
with what it would have cost), tax per rate, the totals, what has been paid and credited, the balance
due, and how to pay. A draft is marked DRAFT on every page and has no number yet; a void invoice VOID.

A credit note shows what it credits as positive amounts (its lines are stored negative) and names the
invoice it corrects. Nothing is fetched while rendering (no images, no network)."""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from serviceopus.core.money import format_cents

from .actions.invoices import _bill_to as bill_to_of
from .models import BillingSettings, Invoice, InvoiceLine
from .status import InvoiceStatus

TEMPLATE = "billing/invoice_pdf.html"


class NoFetching(URLFetcher):
    """The template embeds nothing; refuse any URL that text on the invoice might smuggle in."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        raise ValueError(f"The invoice PDF fetches nothing, not {url[:100]!r}.")


@dataclass(frozen=True)
class PdfLine:
    line: InvoiceLine
    unit_price: str
    amount: str
    list_amount: str
    tax_label: str


@dataclass(frozen=True)
class TaxRow:
    label: str
    base: str
    tax: str


def _percent(milli: int) -> str:
    """8250 → "8.25 %"; no rate → ""."""
    if not milli:
        return ""
    whole, frac = divmod(milli, 1000)
    return f"{whole}.{frac:03d}".rstrip("0").rstrip(".") + " %"


def _tax_rows(lines: list[InvoiceLine], sign: int) -> list[TaxRow]:
    """Tax per rate, in the order the rates first appear: the base it was charged on and the tax."""
    base: dict[tuple[str, int], int] = defaultdict(int)
    tax: dict[tuple[str, int], int] = defaultdict(int)
    for line in lines:
        if not line.tax_rate_milli_percent:
            continue
        key = (line.tax_rate.name if line.tax_rate else "Tax", line.tax_rate_milli_percent)
        base[key] += sign * line.amount_cents
        tax[key] += sign * line.tax_cents
    return [TaxRow(f"{name} {_percent(milli)}", format_cents(base[(name, milli)]), format_cents(tax[(name, milli)])) for name, milli in base]


def invoice_pdf_context(invoice: Invoice) -> dict[str, Any]:
    """What the template shows (five queries; a draft two more to work out whom it will bill)."""
    settings = BillingSettings.current()
    lines = list(invoice.lines.select_related("tax_rate").order_by("position", "id"))
    job_numbers = sorted(invoice.jobs.values_list("number", flat=True))
    is_credit = invoice.kind == Invoice.Kind.CREDIT_NOTE
    # A credit note's lines are stored negative; on paper it credits positive amounts.
    sign = -1 if is_credit else 1
    is_draft = invoice.status == InvoiceStatus.DRAFT
    return {
        "settings": settings,
        "invoice": invoice,
        "title": "Credit note" if is_credit else "Invoice",
        "is_credit": is_credit,
        "is_draft": is_draft,
        "is_void": invoice.status == InvoiceStatus.VOID,
        "bill_to": invoice.bill_to or bill_to_of(invoice),
        "job_numbers": job_numbers,
        "lines": [
            PdfLine(
                line,
                format_cents(sign * line.unit_price_cents),
                format_cents(sign * line.amount_cents),
                format_cents(line.list_amount_cents),
                _percent(line.tax_rate_milli_percent),
            )
            for line in lines
        ],
        "tax_rows": _tax_rows(lines, sign),
        "subtotal": format_cents(invoice.subtotal_cents),
        "tax": format_cents(invoice.tax_cents),
        "total": format_cents(invoice.total_cents),
        "paid": format_cents(invoice.paid_cents) if invoice.paid_cents else "",
        "credited": format_cents(invoice.credited_cents) if invoice.credited_cents else "",
        "balance": format_cents(invoice.balance_cents),
        "balance_cents": invoice.balance_cents,
        "generated_at": timezone.now(),
    }


def render_invoice_html(invoice: Invoice) -> str:
    return render_to_string(TEMPLATE, invoice_pdf_context(invoice))


def invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF. `invoice` should come with its customer and the invoice it credits (select_related)."""
    pdf = HTML(string=render_invoice_html(invoice), base_url="invoice:", url_fetcher=NoFetching()).write_pdf()
    assert pdf is not None
    return pdf


def pdf_filename(invoice: Invoice) -> str:
    """INV-000001.pdf, CN-000002.pdf; a draft has no number yet: draft-12.pdf."""
    name = invoice.number or f"draft-{invoice.pk}"
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) + ".pdf"
