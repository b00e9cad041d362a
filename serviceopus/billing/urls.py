"""The office's billing pages: invoices, the ready-to-invoice queue, payments."""

from .views import invoices, payments, queue

app_name = "billing"

urlpatterns = [*invoices.urlpatterns, *payments.urlpatterns, *queue.urlpatterns]
