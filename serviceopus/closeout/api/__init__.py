"""The closeout API: one router per topic, gathered here and mounted under /api/v1 by
serviceopus/api/api.py. Every write calls the closeout actions, as the pages do."""

from ninja import Router

from . import blockers, checklists, documents, incidents, quality, signatures

router = Router()
for topic in (blockers, checklists, documents, signatures, quality, incidents):
    router.add_router("/", topic.router)
