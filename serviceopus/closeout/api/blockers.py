"""The closeout API: blockers."""

from ninja import Router

router = Router(tags=["closeout"])
