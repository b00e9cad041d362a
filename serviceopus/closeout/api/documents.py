"""The closeout API: documents."""

from ninja import Router

router = Router(tags=["closeout"])
