"""Idempotency-Key for every POST to the API (DESIGN.md §5, Reliability).

Same key and body → the stored response; same key, another body → 422; first request still running →
409. Keys are scoped to the authenticated user. The claim on a key is its own committed row, written
before the request runs, so two processes racing with one key cannot both run it.
"""

import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from .auth import user_from_bearer
from .models import IdempotencyRecord
from .schemas import error_body

API_PREFIX = "/api/"
MAX_KEY_LENGTH = 255


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def _comparable_body(request: HttpRequest) -> bytes:
    """The body as sent, except a multipart body's boundary: a client retrying an upload picks a new
    random boundary for the same parts, and that must still count as the same request."""
    content_type = request.content_type or ""
    boundary = request.content_params.get("boundary", "") if content_type == "multipart/form-data" else ""
    if boundary:
        return request.body.replace(boundary.encode("latin-1"), b"")
    return request.body


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return _error(422, "invalid_idempotency_key", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.")
        user = user_from_bearer(request) or (request.user if request.user.is_authenticated else None)
        if user is None:
            return self.get_response(request)  # the API answers 401 itself
        digest = hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + _comparable_body(request)).hexdigest()
        try:
            with transaction.atomic():
                # The path is stored for people reading the table; the digest covers all of it.
                record = IdempotencyRecord.objects.create(user=user, key=key, method=request.method, path=request.path[:500], request_hash=digest)
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if existing is None:  # the first request failed and released its claim just now
                return _error(409, "idempotency_in_flight", "A request with this Idempotency-Key is still being processed; retry shortly.")
            if existing.request_hash != digest:
                return _error(422, "idempotency_key_reused", "This Idempotency-Key was used with another request body or URL.")
            if existing.state == IdempotencyRecord.State.IN_FLIGHT:
                return _error(409, "idempotency_in_flight", "A request with this Idempotency-Key is still being processed; retry shortly.")
            response = HttpResponse(bytes(existing.body), status=existing.status_code, content_type=existing.content_type)
            response["Idempotent-Replayed"] = "true"
            return response

        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500 or response.streaming or "no-store" in response.get("Cache-Control", ""):
            # A server error is not an answer worth replaying: release the key so a retry runs again.
            # A no-store answer holds a secret (a new API token) that must never be written down.
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyRecord.State.DONE,
            status_code=response.status_code,
            content_type=response.get("Content-Type", "application/json")[:100],
            body=response.content,
        )
        return response
