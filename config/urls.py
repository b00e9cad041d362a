from django.contrib import admin
from django.urls import include, path

from serviceopus.api.api import api

admin.site.site_header = "Service Opus configuration"
admin.site.site_title = "Service Opus"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("accounts/", include("serviceopus.accounts.urls")),
    path("customers/", include("serviceopus.customers.urls")),
    path("dispatch/", include("serviceopus.dispatch.urls")),
    path("field/", include("serviceopus.field.urls")),
    path("", include("serviceopus.billing.urls")),  # invoices/, billing/…
    path("", include("serviceopus.billing.urls_finance")),  # invoices/<id>/pdf, jobs/<id>/estimate
    path("", include("serviceopus.inventory.urls")),  # purchasing/, stock/, and job-scoped jobs/<id>/materials/…
    path("", include("serviceopus.closeout.urls")),
    path("", include("serviceopus.messaging.urls")),  # job-scoped jobs/<id>/messages/…, inbox/, settings/notifications/
    path("", include("serviceopus.portal.urls")),  # the customer's p/<token>/ and portal/jobs/<id>/…  # job-scoped: jobs/<id>/documents/…
    path("", include("serviceopus.automation.urls")),
    path("", include("serviceopus.jobs.urls")),
]
