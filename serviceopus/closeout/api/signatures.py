"""The closeout API: signatures."""

from ninja import Router

router = Router(tags=["closeout"])
