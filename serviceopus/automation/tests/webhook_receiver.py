"""A webhook receiver on loopback: a real HTTP server (http.server in a thread) that does what a careful
receiver does — checks each request's signature with `signing.verify`, records the event ids it has
seen so a repeat can be dropped — and can be told to fail, hang or answer with a given status."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from serviceopus.automation.webhooks import signing
from tests.local_http import LocalHttpServer


class Headers(dict):
    """Header names are case-insensitive (urllib sends "X-serviceopus-event-id")."""

    def __init__(self, items: Any) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


@dataclass(frozen=True)
class Received:
    path: str
    headers: Headers
    body: bytes
    signature_valid: bool
    status: int  # what the receiver answered

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers.get("X-ServiceOpus-Event-Id", "")


@dataclass
class _Plan:
    answers: list[int] = field(default_factory=list)  # statuses for the next requests, then 200
    hang: list[float] = field(default_factory=list)  # pauses before answering the next requests


class WebhookReceiver(LocalHttpServer):
    """Accepts POSTs on any path. `secret` is the subscription's (set it once the subscription exists;
    `secrets` holds one per path when several subscriptions share the receiver); a request whose
    signature does not verify is answered 401, like a real receiver."""

    def __init__(self, *, secret: str = "", tolerance: int = signing.DEFAULT_TOLERANCE_SECONDS) -> None:
        self.secret = secret
        self.secrets: dict[str, str] = {}
        self.tolerance = tolerance
        self._lock = threading.Lock()
        self._plan = _Plan()
        self._received: list[Received] = []
        super().__init__()

    def url(self, path: str = "/hooks") -> str:
        return self.address(path)

    def answer_next(self, *statuses: int) -> None:
        with self._lock:
            self._plan.answers.extend(statuses)

    def hang_next(self, n: int, seconds: float) -> None:
        with self._lock:
            self._plan.hang.extend([seconds] * n)

    @property
    def received(self) -> list[Received]:
        """Every request that arrived, repeats too, in order."""
        with self._lock:
            return list(self._received)

    def event_ids(self) -> list[str]:
        return [r.event_id for r in self.received]

    def deduplicated(self) -> dict[str, Received]:
        """The receiving side's view: each event id once (the first copy accepted)."""
        seen: dict[str, Received] = {}
        for r in self.received:
            if r.status == 200:
                seen.setdefault(r.event_id, r)
        return seen

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = Headers(handler.headers.items())
        secret = self.secrets.get(handler.path, self.secret)
        valid = bool(secret) and signing.verify(secret, handler.headers.get(signing.HEADER), body, self.tolerance)
        with self._lock:
            planned = self._plan.answers.pop(0) if self._plan.answers else None
            pause = self._plan.hang.pop(0) if self._plan.hang else 0.0
            status = planned if planned is not None else (200 if valid else 401)
            self._received.append(Received(path=handler.path, headers=headers, body=body, signature_valid=valid, status=status))
        time.sleep(pause)
        answer = json.dumps({"ok": status == 200, "note": "planned" if planned is not None else "verified" if valid else "bad signature"}).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(answer)))
            if 300 <= status < 400:
                handler.send_header("Location", self.url("/elsewhere"))
            handler.end_headers()
            handler.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting
            pass
