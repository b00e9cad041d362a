"""The closeout API: quality."""

from ninja import Router

router = Router(tags=["closeout"])
