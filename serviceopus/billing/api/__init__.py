"""The billing API: invoices and their lines, credit notes, payments and refunds, the ready-to-invoice
queue and the accounting export — one router per topic, gathered here and mounted under /api/v1 by
serviceopus/api/api.py. Every write calls the billing actions, as the pages do."""

from ninja import Router

from . import export, invoices, lines, payments

router = Router()
for topic in (invoices, lines, payments, export):
    router.add_router("/", topic.router)

__all__ = ["router"]
