"""The service report PDF, downloaded from the job workspace: whoever may see the job may download
its report (a technician only for jobs assigned to them; any other job is 404)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from serviceopus.jobs.models import Job
from serviceopus.jobs.queries import access_job_for_user

from ..report import render_service_report, report_filename


def pdf_response(job: Job) -> HttpResponse:
    """The report as an attachment. Not cached by browsers or proxies: it holds customer data."""
    response = HttpResponse(render_service_report(job), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report_filename(job)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def service_report(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_job_for_user(request.user, job_id)
    return pdf_response(job)


urlpatterns = [
    path("jobs/<int:job_id>/service-report.pdf", service_report, name="report"),
]
