"""Job financials and invoice documents: the PDF download and the estimate re-baseline."""

app_name = "finance"

urlpatterns: list = []
