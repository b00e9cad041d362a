"""Stand-ins for the outside world, on loopback: a real SMTP server (aiosmtpd) and an HTTP SMS provider
(http.server in a thread). Both record what reaches them and keep a deduplicated view the way the real
receiving side would: the mail by its Message-ID, the texts by their Idempotency-Key. Tests use them
directly, and the outbox crash test points a separate worker process at them."""

import asyncio
import email
import email.policy
import itertools
import json
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from aiosmtpd.controller import Controller

from tests.local_http import LocalHttpServer

# aiosmtpd logs every SMTP command at INFO; a failing test's output should show ours.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    """A port nobody listens on now (aiosmtpd's controller cannot be given port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pause(delay: float | tuple[float, float]) -> float:
    return random.uniform(*delay) if isinstance(delay, tuple) else delay


# ---- SMTP ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    message_id: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    body: str
    headers: dict[str, str]


class _SmtpHandler:
    def __init__(self, server: "SmtpServer") -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.server.refuse:
            return self.server.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        mail = Mail(
            message_id=str(parsed["Message-ID"] or ""),
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            subject=str(parsed["Subject"] or ""),
            body=body.get_content().replace("\r\n", "\n") if body is not None else "",  # the wire's CRLF, as the text was written
            headers={k: str(v) for k, v in parsed.items()},
        )
        # Stored first, answered after the pause: as with a real server, a sender that dies meanwhile
        # never learns its message arrived, and sends it again.
        self.server._record(mail)
        await asyncio.sleep(_pause(self.server.delay))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on 127.0.0.1. `delay` (seconds, or a (low, high) range) is the pause before it
    confirms each message; `refuse` maps an address to the SMTP answer it gets (e.g. "550 No such user")."""

    def __init__(self, *, delay: float | tuple[float, float] = 0.0, refuse: dict[str, str] | None = None) -> None:
        self.delay = delay
        self.refuse = refuse or {}
        self.host = "127.0.0.1"
        self.port = free_port()
        self._lock = threading.Lock()
        self._received: list[Mail] = []
        self._controller = Controller(_SmtpHandler(self), hostname=self.host, port=self.port)

    def _record(self, mail: Mail) -> None:
        with self._lock:
            self._received.append(mail)

    @property
    def received(self) -> list[Mail]:
        """Every message that arrived, duplicates too, in order."""
        with self._lock:
            return list(self._received)

    def by_message_id(self) -> dict[str, list[Mail]]:
        """The receiving side's deduplicated view: each Message-ID with the copies that arrived."""
        view: dict[str, list[Mail]] = {}
        for mail in self.received:
            view.setdefault(mail.message_id, []).append(mail)
        return view

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- HTTP SMS provider -----------------------------------------------------------------------------------


@dataclass
class SmsRequest:
    key: str
    authorization: str
    payload: dict[str, Any]
    status: int


@dataclass
class _Plan:
    fail: list[int] = field(default_factory=list)  # statuses for the next requests, then normal service
    slow: list[float] = field(default_factory=list)  # extra pauses for the next requests


class SmsProviderFake(LocalHttpServer):
    """An HTTP SMS provider on 127.0.0.1. Accepts POST {"to","from","body"} with `Authorization: Bearer
    <token>` and an Idempotency-Key; the first request with a key sends the text and answers {"id": …},
    a repeat answers the same id and sends nothing. `fail_next(n, status)` answers the next n requests
    with `status`; `slow_next(n, seconds)` holds the next n answers back (the text is still sent, as a
    provider whose answer was lost would); `delay` pauses every answer."""

    def __init__(self, *, token: str = "test-sms-token", delay: float | tuple[float, float] = 0.0) -> None:
        self.token = token
        self.delay = delay
        self._lock = threading.Lock()
        self._plan = _Plan()
        self._ids = itertools.count(1)
        self.requests: list[SmsRequest] = []
        self.delivered: dict[str, dict[str, Any]] = {}  # Idempotency-Key → {"id", "to", "from", "body"}
        super().__init__()

    @property
    def url(self) -> str:
        return self.address("/messages")

    def fail_next(self, n: int, status: int = 500) -> None:
        with self._lock:
            self._plan.fail.extend([status] * n)

    def slow_next(self, n: int, seconds: float) -> None:
        with self._lock:
            self._plan.slow.extend([seconds] * n)

    def sent_count(self, key: str) -> int:
        """How many requests came with this key (the wire), against the one text the customer gets."""
        with self._lock:
            return sum(1 for r in self.requests if r.key == key)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        key = handler.headers.get("Idempotency-Key") or ""
        authorization = handler.headers.get("Authorization") or ""
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = {}
        with self._lock:
            planned = self._plan.fail.pop(0) if self._plan.fail else None
            slow = self._plan.slow.pop(0) if self._plan.slow else 0.0
            if planned is not None:
                status, answer = planned, {"error": "planned failure"}
            elif authorization != f"Bearer {self.token}":
                status, answer = 401, {"error": "bad token"}
            elif not key or not isinstance(payload, dict) or not {"to", "from", "body"} <= payload.keys():
                status, answer = 400, {"error": "missing fields"}
            else:
                if key not in self.delivered:
                    self.delivered[key] = {"id": f"sms_{next(self._ids)}", **payload}
                status, answer = 200, {"id": self.delivered[key]["id"]}
            self.requests.append(SmsRequest(key=key, authorization=authorization, payload=payload if isinstance(payload, dict) else {}, status=status))
        time.sleep(slow + _pause(self.delay))
        body = json.dumps(answer).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting, or was killed
            pass
