"""An OSRM routing server on loopback that answers the table service as OSRM does:
GET {prefix}/table/v1/driving/{lng,lat;…}?annotations=duration,distance[&sources=…&destinations=…] →
{"code": "Ok", "durations": [[…]], "distances": [[…]], …}, with null for a pair it cannot route and
{"code": "TooBig"} (400) past its table limit (sources × destinations > max_table²), like
osrm-routed --max-table-size. Travel follows a fixed, asymmetric formula (`duration`, `distance`) so
tests know every cell. It can be told to answer the next requests otherwise, or slowly."""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.local_http import LocalHttpServer


def duration(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Seconds from a to b, as (lng, lat): fractional, and 30.25 s longer northwards than back."""
    if a == b:
        return 0.0
    return round(abs(a[1] - b[1]) * 100_000 + abs(a[0] - b[0]) * 50_000 + (30.25 if a[1] < b[1] else 0.0), 2)


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return round(duration(a, b) * 12.5, 1)


@dataclass(frozen=True)
class TableRequest:
    path: str
    coordinates: list[tuple[float, float]]
    sources: list[int]
    destinations: list[int]
    annotations: str


@dataclass(frozen=True)
class Canned:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class OsrmFake(LocalHttpServer):
    def __init__(self, *, prefix: str = "", max_table: int = 100, delay: float = 0.0) -> None:
        self.prefix = prefix
        self.max_table = max_table
        self.delay = delay
        self.unreachable: set[tuple[float, float]] = set()  # (lng, lat) that no route leads to
        self.requests: list[TableRequest] = []
        self._canned: list[Canned] = []
        self._lock = threading.Lock()
        super().__init__()

    @property
    def url(self) -> str:
        return self.address(self.prefix)

    def answer_next(self, status: int, body: Any, *, headers: dict[str, str] | None = None) -> None:
        """Answer the next request with `status` and `body` (JSON unless bytes)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self._lock:
            self._canned.append(Canned(status, raw, tuple((headers or {}).items())))

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            canned = self._canned.pop(0) if self._canned else None
        if canned is not None:
            status, body, headers = canned.status, canned.body, canned.headers
        else:
            status, answer = self._table(handler)
            body, headers = json.dumps(answer).encode(), (("Content-Type", "application/json"),)
        if self.delay:
            time.sleep(self.delay)
        try:
            handler.send_response(status)
            for name, value in headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:  # the client gave up (a time-out test)
            pass

    def _table(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(handler.path)
        base = f"{self.prefix}/table/v1/driving/"
        if handler.command != "GET" or not parts.path.startswith(base):
            return 400, {"code": "InvalidUrl", "message": 'URL string malformed close to position 1: "/"'}
        try:
            coordinates = [(float(lng), float(lat)) for lng, lat in (c.split(",") for c in parts.path[len(base) :].split(";"))]
            query = parse_qs(parts.query)
            every = list(range(len(coordinates)))
            sources = [int(i) for i in query["sources"][0].split(";")] if "sources" in query else every
            destinations = [int(i) for i in query["destinations"][0].split(";")] if "destinations" in query else every
            annotations = query.get("annotations", ["duration"])[0]
        except (ValueError, KeyError, IndexError):
            return 400, {"code": "InvalidQuery", "message": "Query string malformed close to position 0"}
        with self._lock:
            self.requests.append(TableRequest(handler.path, coordinates, sources, destinations, annotations))
        if len(sources) * len(destinations) > self.max_table**2:
            return 400, {"code": "TooBig", "message": "Too many table coordinates"}

        def cell(measure: Any, s: int, d: int) -> float | None:
            a, b = coordinates[s], coordinates[d]
            return None if b in self.unreachable and a != b else measure(a, b)

        answer: dict[str, Any] = {"code": "Ok", "sources": [{"location": list(coordinates[s])} for s in sources]}
        answer["destinations"] = [{"location": list(coordinates[d])} for d in destinations]
        if "duration" in annotations.split(","):
            answer["durations"] = [[cell(duration, s, d) for d in destinations] for s in sources]
        if "distance" in annotations.split(","):
            answer["distances"] = [[cell(distance, s, d) for d in destinations] for s in sources]
        return 200, answer
