"""The customer's pages: a secret link (/p/<token>/) is exchanged for a session scoped to one job, then
every page lives under /portal/jobs/<job>/ without the token."""

from django.urls import path

from .views import approvals, page

app_name = "portal"

urlpatterns = [
    path("p/<str:token>/", page.open_link, name="open"),
    path("portal/jobs/<int:job_id>/", page.job_page, name="job"),
    path("portal/jobs/<int:job_id>/progress/", page.progress, name="progress"),
    path("portal/jobs/<int:job_id>/messages/", page.message_send, name="message_send"),
    path("portal/jobs/<int:job_id>/documents/<int:document_id>/", page.document, name="document"),
    path("portal/jobs/<int:job_id>/report/", page.report, name="report"),
    path("portal/jobs/<int:job_id>/invoices/<int:invoice_id>/pdf/", page.invoice_pdf, name="invoice_pdf"),
    path("portal/jobs/<int:job_id>/technicians/<int:technician_id>/photo/", page.technician_photo, name="technician_photo"),
    path("portal/jobs/<int:job_id>/approvals/<int:number>/", approvals.approval, name="approval"),
    path("portal/jobs/<int:job_id>/approvals/<int:number>/approve/", approvals.approve, name="approve"),
    path("portal/jobs/<int:job_id>/approvals/<int:number>/decline/", approvals.decline, name="decline"),
]
