"""The jobs API: jobs (list, detail, create, edit, transition, notes, timeline), line items and job
types. `router` is mounted under /api/v1 by serviceopus/api/api.py."""

from ninja import Router

from .job_types import router as job_types_router
from .jobs import router as jobs_router
from .line_items import router as line_items_router

router = Router()
router.add_router("", jobs_router)
router.add_router("", line_items_router)
router.add_router("", job_types_router)

__all__ = ["router"]
