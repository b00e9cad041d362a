"""Travel times and distances between places, behind one interface.

`TravelProvider.matrix(places)` answers an n×n `Matrix` of whole seconds and metres (row = from,
column = to). Two providers:
- `HaversineProvider`: great-circle distance × a road factor, driven at an average speed (the default;
  no network, no set-up).
- `OsrmProvider`: an OSRM server's table service, asked in blocks no larger than the server's table
  limit. A pair OSRM cannot route between gets `UNREACHABLE`.

`cached_matrix(provider, day, places)` keeps matrices in the database (TravelMatrix), not in process
memory: the web processes and the workers that plan the same day must see the same travel times.
"""

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from http.client import HTTPException
from math import isfinite
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from serviceopus.core.geo import haversine_km

from .model import Place

# Seconds and metres for a pair with no route: longer than any shift, so no plan can use the leg, yet
# small enough that sums over a whole route stay far inside 64-bit integers (the solvers' unit).
UNREACHABLE = 10_000_000

# Coordinates are rounded to 5 decimals (about a metre) for the cache key: the same address geocoded
# twice with noise in the last digits shares one matrix.
KEY_DECIMALS = 5

# An answer larger than this is not a table we asked for (300 × 300 pairs take about 4 MB as JSON).
MAX_ANSWER_BYTES = 64 * 1024 * 1024


class TravelError(Exception):
    """Travel times could not be had (the routing server failed or answered nonsense); the message says
    what to check."""


@dataclass(frozen=True)
class Matrix:
    """Travel between `places`: seconds[i][j] and metres[i][j] from places[i] to places[j]."""

    places: tuple[Place, ...]
    seconds: tuple[tuple[int, ...], ...]
    metres: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        n = len(self.places)
        for name in ("seconds", "metres"):
            rows = getattr(self, name)
            if len(rows) != n or any(len(row) != n for row in rows):
                raise ValueError(f"A travel matrix for {n} places needs {n}×{n} {name}.")

    @cached_property
    def _index(self) -> dict[Place, int]:
        index: dict[Place, int] = {}
        for i, place in enumerate(self.places):
            index.setdefault(place, i)
        return index

    def __contains__(self, place: object) -> bool:
        return place in self._index

    def index(self, place: Place) -> int:
        """The row/column of `place` (KeyError when it is not in the matrix)."""
        return self._index[place]

    def travel(self, origin: Place, destination: Place) -> tuple[int, int]:
        """(seconds, metres) from `origin` to `destination`."""
        i, j = self._index[origin], self._index[destination]
        return self.seconds[i][j], self.metres[i][j]


class TravelProvider(Protocol):
    @property
    def key(self) -> str:
        """What the matrices depend on (kind and parameters): part of the cache key."""
        ...

    def matrix(self, places: Sequence[Place]) -> Matrix: ...


class HaversineProvider:
    """Road distance = great-circle distance × `road_factor`; time = road distance at `speed_kmh`.
    Symmetric; 0 from a place to itself."""

    def __init__(self, road_factor: float | None = None, speed_kmh: float | None = None) -> None:
        self.road_factor = float(settings.PLANNER_ROAD_FACTOR if road_factor is None else road_factor)
        self.speed_kmh = float(settings.PLANNER_SPEED_KMH if speed_kmh is None else speed_kmh)
        if not (self.road_factor >= 1.0 and self.speed_kmh > 0):
            raise ValueError("The road factor must be at least 1 and the speed positive.")

    @property
    def key(self) -> str:
        return f"haversine:{self.road_factor:g}:{self.speed_kmh:g}"

    def leg(self, origin: Place, destination: Place) -> tuple[int, int]:
        """(seconds, metres) of one leg."""
        road_km = haversine_km(origin.lat, origin.lng, destination.lat, destination.lng) * self.road_factor
        return round(road_km / self.speed_kmh * 3600), round(road_km * 1000)

    def matrix(self, places: Sequence[Place]) -> Matrix:
        places = tuple(places)
        n = len(places)
        seconds = [[0] * n for _ in range(n)]
        metres = [[0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                s, m = self.leg(places[i], places[j])
                seconds[i][j] = seconds[j][i] = s
                metres[i][j] = metres[j][i] = m
        return Matrix(places, tuple(map(tuple, seconds)), tuple(map(tuple, metres)))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A routing server that redirects is misconfigured (or not the server meant): say so, never follow.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


class OsrmProvider:
    """OSRM's table service: GET {base_url}/table/v1/driving/{lng,lat;…}?annotations=duration,distance.
    A table of more than `max_table` × `max_table` pairs (osrm-routed's --max-table-size, 100 by default)
    is asked for in blocks, each naming only its own coordinates. Raises TravelError on HTTP errors,
    time-outs, redirects and answers that are not an OSRM table."""

    def __init__(self, base_url: str | None = None, timeout: float | None = None, *, max_table: int = 100) -> None:
        self.base_url = (settings.PLANNER_OSRM_URL if base_url is None else base_url).rstrip("/")
        self.timeout = float(settings.PLANNER_OSRM_TIMEOUT if timeout is None else timeout)
        self.max_table = max_table
        if max_table < 1:
            raise ValueError("max_table must be at least 1.")
        self._opener = urllib.request.build_opener(_NoRedirects)

    @property
    def key(self) -> str:
        # Hashed: a server address may carry credentials, and the key is stored.
        return "osrm:" + hashlib.sha256(self.base_url.encode()).hexdigest()[:16]

    def matrix(self, places: Sequence[Place]) -> Matrix:
        places = tuple(places)
        n = len(places)
        if urlsplit(self.base_url).scheme.lower() not in ("http", "https"):
            raise TravelError("The OSRM address (PLANNER_OSRM_URL) must start with http:// or https://.")
        seconds = [[0] * n for _ in range(n)]
        metres = [[0] * n for _ in range(n)]
        if n >= 2:
            blocks = [list(range(k, min(k + self.max_table, n))) for k in range(0, n, self.max_table)]
            for rows in blocks:
                for cols in blocks:
                    self._block(places, rows, cols, seconds, metres)
        return Matrix(places, tuple(map(tuple, seconds)), tuple(map(tuple, metres)))

    def _block(self, places: tuple[Place, ...], rows: list[int], cols: list[int], seconds: list[list[int]], metres: list[list[int]]) -> None:
        """Fill seconds/metres[rows][cols] from one table request."""
        if rows == cols:
            coordinates, query = [places[i] for i in rows], ""
        else:
            coordinates = [places[i] for i in rows] + [places[j] for j in cols]
            sources = ";".join(str(k) for k in range(len(rows)))
            destinations = ";".join(str(len(rows) + k) for k in range(len(cols)))
            query = f"&sources={sources}&destinations={destinations}"
        path = ";".join(f"{p.lng:.6f},{p.lat:.6f}" for p in coordinates)
        answer = self._get(f"{self.base_url}/table/v1/driving/{path}?annotations=duration,distance{query}")
        durations, distances = answer.get("durations"), answer.get("distances")
        if not (_is_table(durations, len(rows), len(cols)) and _is_table(distances, len(rows), len(cols))):
            raise TravelError(f"The OSRM server's answer has no {len(rows)}×{len(cols)} durations and distances (is it OSRM 5.8 or later?).")
        for a, i in enumerate(rows):
            for b, j in enumerate(cols):
                seconds[i][j] = _whole(durations[a][b])  # type: ignore[index]
                metres[i][j] = _whole(distances[a][b])  # type: ignore[index]

    def _get(self, url: str) -> dict[str, Any]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"}, method="GET")  # noqa: S310 (the scheme is checked in matrix())
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:
            code, message = exc.code, _osrm_message(exc)
            exc.close()
            if 300 <= code < 400:
                raise TravelError(f"The OSRM server redirected ({code}): check PLANNER_OSRM_URL.") from exc
            raise TravelError(f"The OSRM server answered {code}{': ' + message if message else ''}.") from exc
        except (OSError, HTTPException) as exc:  # URLError, time-outs, refused connections, a cut-off answer
            reason = getattr(exc, "reason", exc)
            if isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError):
                raise TravelError(f"The OSRM server did not answer within {self.timeout:g} s.") from exc
            raise TravelError(f"The OSRM server could not be reached ({type(reason).__name__}: {reason}).") from exc
        if len(raw) > MAX_ANSWER_BYTES:
            raise TravelError("The OSRM server's answer is too large to be a table we asked for.")
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise TravelError("The OSRM server's answer is not JSON.") from exc
        if not isinstance(answer, dict):
            raise TravelError("The OSRM server's answer is not an OSRM table.")
        if answer.get("code") != "Ok":
            detail = " ".join(str(part) for part in (answer.get("code"), answer.get("message")) if part)[:300]
            raise TravelError(f"The OSRM server refused the table request ({detail or 'no code'}).")
        return answer


def _osrm_message(exc: urllib.error.HTTPError) -> str:
    """OSRM's error answer is JSON {"code", "message"}; anything else says nothing useful."""
    try:
        body = json.loads(exc.read(64 * 1024))
    except (OSError, HTTPException, ValueError):
        return ""
    if isinstance(body, dict) and body.get("code"):
        return f"{body['code']} {body.get('message', '')}".strip()[:300]
    return ""


def _is_table(value: object, rows: int, cols: int) -> bool:
    return isinstance(value, list) and len(value) == rows and all(isinstance(row, list) and len(row) == cols for row in value)


def _whole(value: object) -> int:
    """A table cell as whole units: null (no route) is UNREACHABLE; so is anything not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not isfinite(value):
        return UNREACHABLE
    return min(UNREACHABLE, max(0, round(value)))


def provider_from_settings() -> TravelProvider:
    """OSRM when PLANNER_OSRM_URL is set, else haversine with the configured road factor and speed."""
    if settings.PLANNER_OSRM_URL:
        return OsrmProvider(settings.PLANNER_OSRM_URL, settings.PLANNER_OSRM_TIMEOUT)
    return HaversineProvider()


def matrix_key(provider: TravelProvider, day: date, places: Sequence[Place]) -> str:
    """The cache key: the provider's key, the day, and the places' rounded coordinates in order."""
    coordinates = ";".join(f"{p.lat:.{KEY_DECIMALS}f},{p.lng:.{KEY_DECIMALS}f}" for p in places)
    return hashlib.sha256(f"{provider.key}|{day.isoformat()}|{coordinates}".encode()).hexdigest()


def cached_matrix(provider: TravelProvider, day: date, places: Sequence[Place]) -> Matrix:
    """The travel matrix for `places` on `day`: from the database when any process stored it before,
    else from `provider` (then stored). Two processes that miss at once both ask the provider; the
    first insert wins and the other is dropped, as both hold the same numbers."""
    # Imported here so that the matrix, the providers and the validator load without Django's app
    # registry (benchmark scripts use them on their own).
    from serviceopus.dispatch.models import TravelMatrix

    places = tuple(places)
    key = matrix_key(provider, day, places)
    row = TravelMatrix.objects.filter(key=key).values_list("seconds", "metres").first()
    if row is not None and len(row[0]) == len(places):
        return Matrix(places, tuple(map(tuple, row[0])), tuple(map(tuple, row[1])))
    matrix = provider.matrix(places)
    try:
        with transaction.atomic():  # a savepoint: a lost race must not break the caller's transaction
            TravelMatrix.objects.create(key=key, day=day, seconds=[list(r) for r in matrix.seconds], metres=[list(r) for r in matrix.metres])
    except IntegrityError:
        pass  # another process stored the same matrix first
    return matrix


def forget_matrices(before_day: date) -> int:
    """Delete the cached matrices of the days before `before_day`; returns how many."""
    from serviceopus.dispatch.models import TravelMatrix

    deleted, _ = TravelMatrix.objects.filter(day__lt=before_day).delete()
    return deleted
