"""The inventory API: items and places, stock movements, a job's materials and a technician's usage,
and purchase orders — one router per topic, gathered here and mounted under /api/v1 by
serviceopus/api/api.py. Every write calls the inventory actions, as the pages do."""

from ninja import Router

from . import items, materials, purchase_orders, stock

router = Router()
for topic in (items, stock, materials, purchase_orders):
    router.add_router("/", topic.router)

__all__ = ["router"]
