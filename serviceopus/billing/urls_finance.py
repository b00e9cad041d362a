"""Job financials and invoice documents: the PDF download and the estimate re-baseline."""

from django.urls import path

from .views import documents, financials

app_name = "finance"

urlpatterns = [
    path("invoices/<int:invoice_id>/pdf/", documents.invoice_pdf, name="invoice_pdf"),
    path("jobs/<int:job_id>/estimate/", financials.estimate_capture, name="estimate_capture"),
]
