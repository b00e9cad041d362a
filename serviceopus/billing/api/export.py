"""The accounting export over HTTP: the journal after a cursor, as JSON or as a CSV attachment (see
billing/export.py and docs/accounting-export.md). Needs billing.export (403 otherwise).

The same `since` gives the same bytes every time; the CSV carries its cursor in the X-Next-Since and
X-Has-More headers, the JSON in its body.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Query, Router

from serviceopus.api.schemas import LIST, error_body, responses
from serviceopus.core.errors import DomainError

from .. import export
from .schemas import ExportOut, ExportParams

router = Router(tags=["accounting"])

CSV_RESPONSE = {
    200: {
        "description": (
            "JSON (format=json) or, for format=csv, a CSV attachment (accounting-<kind>-since-<since>.csv) whose cursor is in the "
            "X-Next-Since and X-Has-More headers."
        ),
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/accounting/export", response=responses({200: ExportOut}, LIST), summary="Export the accounting journal", openapi_extra={"responses": CSV_RESPONSE}
)
def accounting_export(request: HttpRequest, params: ExportParams = Query(...)) -> HttpResponse:  # noqa: B008
    """Issued invoices and credit notes, voids, payments and refunds recorded after `since`, in the
    order they were recorded, at most `limit` entries. Store `next_since` and send it next time:
    nothing is missed and nothing comes twice; asking again with the same `since` gives the same
    bytes. CSV comes in two layouts: kind=invoices (a row per invoice line, a Void row per voided
    invoice) and kind=payments (a row per payment or refund, refunds negative)."""
    if not request.auth.has_perm("billing.export"):
        raise DomainError("forbidden", "You may not export invoices and payments.")
    kind = params.kind or ("all" if params.format == "json" else "invoices")
    if params.format == "csv" and kind == "all":
        message = "CSV is laid out per kind: choose kind=invoices or kind=payments."
        return JsonResponse(error_body("invalid", message, {"query.kind": message}), status=422)
    batch = export.entries_since(params.since, params.limit, kind)
    if params.format == "json":
        response = HttpResponse(export.to_json(batch), content_type="application/json")
    else:
        response = HttpResponse(export.to_csv(batch), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.filename(batch, "csv")}"'
    response["X-Next-Since"] = str(batch.next_since)
    response["X-Has-More"] = "true" if batch.has_more else "false"
    return response
