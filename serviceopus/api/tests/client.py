"""A small API client for tests: a real token (made by the action), sent as a Bearer header."""

import json
from typing import Any

from django.test import Client

from serviceopus.accounts.actions import api_token_create
from serviceopus.accounts.models import User

BASE = "/api/v1"


class ApiClient:
    def __init__(self, user: User, *, token: str | None = None, raise_request_exception: bool = True) -> None:
        self.user = user
        self.token = token or api_token_create(actor=user, name="tests")[1]
        self.client = Client(raise_request_exception=raise_request_exception)

    def _headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(BASE + path, params or {}, headers=self._headers())

    def post(self, path: str, body: Any = None, *, key: str | None = None, raw: str | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(BASE + path, data, content_type="application/json", headers=self._headers(key))

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(BASE + path, json.dumps(body), content_type="application/json", headers=self._headers())

    def delete(self, path: str) -> Any:
        return self.client.delete(BASE + path, headers=self._headers())


def api_client(user: User, **kwargs: Any) -> ApiClient:
    return ApiClient(user, **kwargs)


def error_of(response: Any) -> dict[str, Any]:
    """The error object of a response, checked to have the one error shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields", "details"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    for field in error["fields"]:
        assert set(field) == {"path", "message"}, field
    return error


def field_paths(response: Any) -> set[str]:
    return {f["path"] for f in error_of(response)["fields"]}
