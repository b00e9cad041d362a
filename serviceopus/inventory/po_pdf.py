"""The purchase order as a PDF for the vendor (WeasyPrint): the company, the PO number (a draft is
marked DRAFT on every page and has no number yet), the vendor and its contact, where to deliver, the
dates, the lines with their costs and the total, and the jobs the goods are for.

Customers' names stay out: the document goes to a supplier, and the job number is all the office
needs to match a delivery to the work. Nothing is fetched while rendering (no images, no network)."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from serviceopus.core.money import format_cents, line_total_cents

from .models import PurchaseOrder, PurchaseOrderLine
from .quantity import from_milli, show
from .queries import po_total_cents

TEMPLATE = "inventory/po/pdf.html"


class NoFetching(URLFetcher):
    """The template embeds nothing; refuse any URL that text on the order might smuggle in."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        raise ValueError(f"The purchase order PDF fetches nothing, not {url[:100]!r}.")


@dataclass
class PdfLine:
    line: PurchaseOrderLine
    quantity: str
    unit_cost: str
    total: str


def po_pdf_context(po: PurchaseOrder) -> dict[str, Any]:
    """What the template shows. `po` comes from queries.purchase_order (lines already read)."""
    lines = getattr(po, "line_list", None)
    if lines is None:
        lines = list(po.lines.select_related("item", "job").order_by("id"))
        po.line_list = lines
    jobs: dict[int, Any] = {}
    for line in lines:
        if line.job_id and line.job_id not in jobs:
            jobs[line.job_id] = line.job
    return {
        "company_name": settings.COMPANY_NAME,
        "po": po,
        "is_draft": po.status == PurchaseOrder.Status.DRAFT,
        "is_cancelled": po.status == PurchaseOrder.Status.CANCELLED,
        "vendor": po.vendor,
        "ship_to": po.ship_to,
        "lines": [
            PdfLine(
                line,
                show(line.quantity_milli),
                format_cents(line.unit_cost_cents),
                format_cents(line_total_cents(from_milli(line.quantity_milli), line.unit_cost_cents)),
            )
            for line in lines
        ],
        "total": format_cents(po_total_cents(po)),
        "jobs": list(jobs.values()),
        "generated_at": timezone.now(),
    }


def render_po_html(po: PurchaseOrder) -> str:
    return render_to_string(TEMPLATE, po_pdf_context(po))


def render_po_pdf(po: PurchaseOrder) -> bytes:
    pdf = HTML(string=render_po_html(po), base_url="po:", url_fetcher=NoFetching()).write_pdf()
    assert pdf is not None
    return pdf


def pdf_filename(po: PurchaseOrder) -> str:
    name = po.number or f"draft-po-{po.pk}"
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) + ".pdf"
