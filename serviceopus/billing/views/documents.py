"""Invoice documents: the PDF of an invoice or credit note, for whoever may see billing. Others get a
404, as for any invoice they may not see: whether an invoice exists is billing information too."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from ..models import Invoice
from ..pdf import invoice_pdf as render_invoice_pdf
from ..pdf import pdf_filename

VIEW = "billing.view_billing"


@login_required
@require_GET
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    if not request.user.has_perm(VIEW):
        raise Http404("No such invoice.")
    invoice = get_object_or_404(Invoice.objects.select_related("customer", "credits"), pk=invoice_id)
    response = HttpResponse(render_invoice_pdf(invoice), content_type="application/pdf")
    # Opened in the browser to read or print; ?download=1 saves it instead.
    disposition = "attachment" if request.GET.get("download") == "1" else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{pdf_filename(invoice)}"'
    response["Cache-Control"] = "private, no-store"
    return response
