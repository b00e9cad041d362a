"""What a signature covers: the job's scope, its line items and totals at the moment of signing, as one
canonical JSON document and its SHA-256. A signature whose stored hash no longer matches the job's
current content is stale: it is shown as such and never counts as the customer's sign-off."""

import hashlib
import json

from serviceopus.jobs import queries as job_queries
from serviceopus.jobs.models import Job


def signed_content(job: Job) -> dict:
    """The document a signer agrees to. Money in cents, quantities as strings: the same job always
    gives the same bytes, on either database."""
    items, totals = job_queries.line_items_with_totals(job)
    return {
        "job": job.number,
        "scope": job.scope,
        "lines": [
            {
                "kind": i.kind,
                "description": i.description,
                "quantity": str(i.quantity.normalize()),
                "unit_price_cents": i.unit_price_cents,
                "total_cents": i.total_cents,
            }
            for i in items
        ],
        # What the customer sees; the cost of the work is the company's business, not part of the deal.
        "totals": {"subtotal_cents": totals.subtotal_cents, "taxable_cents": totals.taxable_cents},
    }


def content_hash(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def current_hash(job: Job) -> str:
    return content_hash(signed_content(job))
