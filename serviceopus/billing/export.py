"""The accounting export: the journal (AccountingEntry) after a cursor, as JSON, or as CSV laid out so
that its columns map onto QuickBooks Online's and Xero's invoice imports (docs/accounting-export.md
lists every column and the mapping).

The cursor is an entry's `seq`. Entries become visible in `seq` order (see AccountingEntry), so a
reader that stores `next_since` and asks again from there never misses one and never sees one twice.
The output is built only from the entries' immutable snapshots — never from live rows (a customer
renamed later) and never from the clock — so exporting again from the same cursor gives the same
bytes, on SQLite and on PostgreSQL alike.
"""

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from .models import AccountingEntry, Payment

K = AccountingEntry.Kind
INVOICE_KINDS = (K.INVOICE_ISSUED, K.CREDIT_NOTE_ISSUED, K.INVOICE_VOIDED)
PAYMENT_KINDS = (K.PAYMENT, K.REFUND)
# Which journal entries each export carries; "all" only in JSON (the CSV layouts differ by kind).
KINDS: dict[str, tuple[str, ...] | None] = {"all": None, "invoices": INVOICE_KINDS, "payments": PAYMENT_KINDS}
FORMATS = ("json", "csv")
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000

INVOICE_COLUMNS = [
    "EntrySeq",
    "EntryKind",
    "EntryDate",
    "InvoiceId",
    "InvoiceNo",
    "Kind",
    "CreditsInvoiceNo",
    "Customer",
    "CustomerId",
    "InvoiceDate",
    "DueDate",
    "Memo",
    "LineNo",
    "LineId",
    "ItemType",
    "Description",
    "Quantity",
    "UnitPrice",
    "LineAmount",
    "TaxCode",
    "TaxName",
    "TaxRate",
    "TaxAmount",
    "InvoiceSubtotal",
    "InvoiceTax",
    "InvoiceTotal",
    "Currency",
    "JobNumbers",
    "LineJobNumber",
]
PAYMENT_COLUMNS = [
    "EntrySeq",
    "EntryKind",
    "PaymentId",
    "Kind",
    "InvoiceId",
    "InvoiceNo",
    "Customer",
    "CustomerId",
    "Date",
    "Method",
    "Reference",
    "Amount",
    "Currency",
]
ITEM_TYPES = {
    "service": "Service",
    "labour": "Labour",
    "material": "Material",
    "fee": "Fee",
    "discount": "Discount",
    "adjustment": "Adjustment",
    "credit": "Credit",
}
METHODS = dict(Payment.Method.choices)


@dataclass(frozen=True)
class Batch:
    """One read of the journal: the entries after `since` (at most `limit`), and where to go on from."""

    since: int
    entries: list[AccountingEntry]
    next_since: int
    has_more: bool
    kind: str = "all"


def entries_since(since: int, limit: int = DEFAULT_LIMIT, kind: str = "all") -> Batch:
    """The entries with `seq` > `since`, in `seq` order, at most `limit` of them, of `kind` (all,
    invoices, payments). `next_since` is the last `seq` returned, or `since` when there is none, so a
    cursor past the end stays where it is."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT}")
    if since < 0:
        raise ValueError("since must be 0 or more")
    qs = AccountingEntry.objects.filter(seq__gt=since).order_by("seq")
    kinds = KINDS[kind]
    if kinds is not None:
        qs = qs.filter(kind__in=kinds)
    rows = list(qs[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Batch(since=since, entries=rows, next_since=rows[-1].seq if rows else since, has_more=has_more, kind=kind)


# ---- JSON ---------------------------------------------------------------------------------------


def _sorted(value: Any) -> Any:
    """The snapshot with its keys in one order: PostgreSQL's jsonb gives them back in its own."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def entry_json(entry: AccountingEntry) -> dict[str, Any]:
    """`id` is the document the entry records: the invoice or credit note (issued, voided) or the payment."""
    data = entry.data or {}
    return {
        "seq": entry.seq,
        "kind": entry.kind,
        "id": data.get("id"),
        "invoice_id": entry.invoice_id,
        "payment_id": entry.payment_id,
        "data": _sorted(data),
    }


def batch_json(batch: Batch) -> dict[str, Any]:
    return {"since": batch.since, "next_since": batch.next_since, "has_more": batch.has_more, "entries": [entry_json(e) for e in batch.entries]}


def to_json(batch: Batch) -> str:
    return json.dumps(batch_json(batch), ensure_ascii=False, separators=(",", ":")) + "\n"


# ---- CSV ----------------------------------------------------------------------------------------


def money(cents: int | None) -> str:
    """Cents as a decimal string with two places ("120.50", "-3.05"); never through a float."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{part:02d}"


def percent(milli_percent: int) -> str:
    """Thousandths of a percent as a percent with three places: 8875 → "8.875"."""
    whole, part = divmod(int(milli_percent), 1000)
    return f"{whole}.{part:03d}"


def _customer(data: dict[str, Any]) -> tuple[str, str]:
    customer = data.get("customer") or {}
    return customer.get("name", ""), str(customer.get("id", ""))


def _document_rows(entry: AccountingEntry) -> list[dict[str, str]]:
    """One row per line of an issued invoice or credit note. A credit note's lines are stored
    negative; here they carry the credit note's own (positive) amounts, as its total does, and
    `Kind` says which way they go."""
    data = entry.data
    credit = data.get("kind") == "credit_note"
    sign = -1 if credit else 1
    name, customer_id = _customer(data)
    head = {
        "EntrySeq": str(entry.seq),
        "EntryKind": entry.kind,
        "EntryDate": data.get("issue_date") or "",
        "InvoiceId": str(data.get("id", "")),
        "InvoiceNo": data.get("number") or "",
        "Kind": "CreditNote" if credit else "Invoice",
        "CreditsInvoiceNo": data.get("credits") or "",
        "Customer": name,
        "CustomerId": customer_id,
        "InvoiceDate": data.get("issue_date") or "",
        "DueDate": data.get("due_date") or "",
        "Memo": data.get("memo", ""),
        "InvoiceSubtotal": money(data.get("subtotal_cents")),
        "InvoiceTax": money(data.get("tax_cents")),
        "InvoiceTotal": money(data.get("total_cents")),
        "Currency": data.get("currency", ""),
        "JobNumbers": " ".join(data.get("jobs") or []),
    }
    rows = []
    for number, line in enumerate(data.get("lines") or [], start=1):
        rate = int(line.get("tax_rate_milli_percent") or 0)
        rows.append(
            {
                **head,
                "LineNo": str(number),
                "LineId": str(line.get("id", "")),
                "ItemType": ITEM_TYPES.get(line.get("kind", ""), str(line.get("kind", "")).capitalize()),
                "Description": line.get("description", ""),
                "Quantity": line.get("quantity", ""),
                "UnitPrice": money(sign * int(line.get("unit_price_cents") or 0)),
                "LineAmount": money(sign * int(line.get("amount_cents") or 0)),
                "TaxCode": "TAX" if rate else "NON",
                "TaxName": line.get("tax_rate") or "",
                "TaxRate": percent(rate),
                "TaxAmount": money(sign * int(line.get("tax_cents") or 0)),
                "LineJobNumber": line.get("job") or "",
            }
        )
    return rows


def _void_row(entry: AccountingEntry, issued: dict[str, Any]) -> dict[str, str]:
    """The invoice as it was issued (customer, dates, totals), marked Void, so an importer can reverse it."""
    data = entry.data
    name, customer_id = _customer(issued)
    return {
        "EntrySeq": str(entry.seq),
        "EntryKind": entry.kind,
        "EntryDate": data.get("voided_on") or "",
        "InvoiceId": str(data.get("id", "")),
        "InvoiceNo": data.get("number") or "",
        "Kind": "Void",
        "Customer": name,
        "CustomerId": customer_id,
        "InvoiceDate": issued.get("issue_date") or "",
        "DueDate": issued.get("due_date") or "",
        "Description": f"Void: {data.get('reason', '')}",
        "InvoiceSubtotal": money(issued.get("subtotal_cents")),
        "InvoiceTax": money(issued.get("tax_cents")),
        "InvoiceTotal": money(issued.get("total_cents")),
        "Currency": issued.get("currency", ""),
        "JobNumbers": " ".join(issued.get("jobs") or []),
    }


def _payment_row(entry: AccountingEntry) -> dict[str, str]:
    data = entry.data
    name, customer_id = _customer(data)
    amount = int(data.get("amount_cents") or 0)
    refund = entry.kind == K.REFUND
    return {
        "EntrySeq": str(entry.seq),
        "EntryKind": entry.kind,
        "PaymentId": str(data.get("id", "")),
        "Kind": "Refund" if refund else "Payment",
        "InvoiceId": str(data.get("invoice_id", "")),
        "InvoiceNo": data.get("invoice_number") or "",
        "Customer": name,
        "CustomerId": customer_id,
        "Date": data.get("received_on") or "",
        "Method": METHODS.get(data.get("method", ""), data.get("method", "")),
        "Reference": data.get("reference", ""),
        "Amount": money(-amount if refund else amount),
        "Currency": data.get("currency", ""),
    }


def _issued_snapshots(entries: list[AccountingEntry]) -> dict[int, dict[str, Any]]:
    """The issue snapshot of each voided invoice in `entries` (one query): immutable, unlike the invoice row."""
    voided = [e.invoice_id for e in entries if e.kind == K.INVOICE_VOIDED]
    if not voided:
        return {}
    rows = AccountingEntry.objects.filter(kind=K.INVOICE_ISSUED, invoice_id__in=voided).values_list("invoice_id", "data")
    return dict(rows)


def invoice_rows(entries: list[AccountingEntry]) -> list[dict[str, str]]:
    issued = _issued_snapshots(entries)
    rows: list[dict[str, str]] = []
    for entry in entries:
        if entry.kind in (K.INVOICE_ISSUED, K.CREDIT_NOTE_ISSUED):
            rows.extend(_document_rows(entry))
        elif entry.kind == K.INVOICE_VOIDED:
            rows.append(_void_row(entry, issued.get(entry.invoice_id, {})))
    return rows


def payment_rows(entries: list[AccountingEntry]) -> list[dict[str, str]]:
    return [_payment_row(e) for e in entries if e.kind in PAYMENT_KINDS]


def to_csv(batch: Batch) -> str:
    """The batch in the layout of its kind (invoices or payments), with a header row; RFC 4180 line ends."""
    if batch.kind == "payments":
        columns, rows = PAYMENT_COLUMNS, payment_rows(batch.entries)
    elif batch.kind == "invoices":
        columns, rows = INVOICE_COLUMNS, invoice_rows(batch.entries)
    else:
        raise ValueError("CSV needs kind invoices or payments")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def render(batch: Batch, fmt: str) -> str:
    if fmt == "json":
        return to_json(batch)
    if fmt == "csv":
        return to_csv(batch)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def filename(batch: Batch, fmt: str) -> str:
    """Named after what it holds, not when it was made: the same export has the same name."""
    return f"accounting-{batch.kind}-since-{batch.since}.{fmt}"
