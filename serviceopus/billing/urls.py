"""The office's billing pages: invoices, the ready-to-invoice queue, payments."""

app_name = "billing"

urlpatterns: list = []
