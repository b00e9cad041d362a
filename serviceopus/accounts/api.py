"""Personal API tokens: list your own, create one (the secret is shown in that one response only),
revoke one. A token acts as the user who made it, with that user's role."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router, Status
from pydantic import BaseModel

from serviceopus.api.schemas import READ, WRITE, IsoDateTime, StrictIn, Text, responses
from serviceopus.core.errors import InvalidInput

from . import actions
from .models import ApiToken

router = Router(tags=["tokens"])


class TokenOut(BaseModel):
    id: int
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str


class TokenIn(StrictIn):
    name: Text(100, min_length=1)
    expires_at: IsoDateTime | None = None


def token_out(t: ApiToken) -> dict[str, Any]:
    return {name: getattr(t, name) for name in TokenOut.model_fields}


@router.get("/tokens", response=responses({200: list[TokenOut]}, READ), summary="Your API tokens")
def token_list(request: HttpRequest) -> list[dict[str, Any]]:
    # A person has a handful of tokens; their own rows, newest first.
    return [token_out(t) for t in ApiToken.objects.filter(user=request.auth).order_by("-created_at", "-id")[:200]]


@router.post("/tokens", response=responses({201: TokenCreatedOut}, WRITE), summary="Create an API token (the secret is shown once)")
def token_create(request: HttpRequest, body: TokenIn, response: HttpResponse) -> Status:
    """The secret is in this response only. It is never stored, not even for Idempotency-Key replay:
    a retry with the same key creates another token (list and revoke the spare one)."""
    if body.expires_at is not None and body.expires_at <= timezone.now():
        raise InvalidInput("Please correct the highlighted fields.", {"expires_at": "The expiry must be in the future."})
    token, raw = actions.api_token_create(actor=request.auth, name=body.name, expires_at=body.expires_at)
    response["Cache-Control"] = "no-store"
    return Status(201, {**token_out(token), "token": raw})


@router.delete("/tokens/{token_id}", response=responses({204: None}, WRITE), summary="Revoke one of your API tokens")
def token_revoke(request: HttpRequest, token_id: int) -> Status:
    actions.api_token_revoke(actor=request.auth, token_id=token_id)
    return Status(204, None)
