"""The closeout API: checklists."""

from ninja import Router

router = Router(tags=["closeout"])
