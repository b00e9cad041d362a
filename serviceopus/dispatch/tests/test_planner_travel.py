"""Travel times: the haversine provider against known distances, the OSRM provider against a local
server that answers in OSRM's table format (blocks, nulls, errors, time-outs, redirects), and the
per-day cache in the database (a second call reads the row; racing inserts leave one row)."""

import socket
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings

from serviceopus.dispatch.models import TravelMatrix
from serviceopus.dispatch.planner.model import Place
from serviceopus.dispatch.planner.travel import (
    UNREACHABLE,
    HaversineProvider,
    Matrix,
    OsrmProvider,
    TravelError,
    cached_matrix,
    forget_matrices,
    matrix_key,
    provider_from_settings,
)

from .osrm_fake import OsrmFake, distance, duration
from .planner_support import DAY, HAVERSINE

PLACES = (Place(41.880000, -87.630000), Place(41.950000, -87.700000), Place(41.850000, -87.600000), Place(41.910000, -87.650000), Place(41.800000, -87.750000))


def expected(places, measure) -> list[list[int]]:  # type: ignore[no-untyped-def]
    return [[round(measure((a.lng, a.lat), (b.lng, b.lat))) for b in places] for a in places]


# --- haversine ---------------------------------------------------------------------------------------


def test_one_degree_of_latitude_is_111_195_km() -> None:
    # 2π × 6371.0088 km / 360 on the mean-radius sphere; at 60 km/h that is 6671.7 s.
    provider = HaversineProvider(road_factor=1.0, speed_kmh=60)
    assert provider.leg(Place(0, 0), Place(1, 0)) == (6672, 111_195)
    assert provider.leg(Place(10, 20), Place(11, 20)) == (6672, 111_195)


def test_paris_to_london() -> None:
    seconds, metres = HaversineProvider(road_factor=1.0, speed_kmh=60).leg(Place(48.8566, 2.3522), Place(51.5074, -0.1278))
    assert 343_000 <= metres <= 344_000  # 343.5 km as the crow flies
    assert seconds == round(metres / 1000 / 60 * 3600)


def test_road_factor_and_speed_scale_the_great_circle() -> None:
    assert HAVERSINE.leg(Place(0, 0), Place(1, 0)) == (13_010, 144_554)  # 111.195 km × 1.3 at 40 km/h
    assert HAVERSINE.key == "haversine:1.3:40"


def test_haversine_matrix_is_square_symmetric_with_a_zero_diagonal() -> None:
    m = HAVERSINE.matrix(PLACES)
    assert m.places == PLACES
    assert len(m.seconds) == len(m.metres) == 5
    assert all(len(row) == 5 for row in m.seconds + m.metres)
    for i in range(5):
        assert m.seconds[i][i] == m.metres[i][i] == 0
        for j in range(5):
            assert m.seconds[i][j] == m.seconds[j][i]
            assert (m.seconds[i][j], m.metres[i][j]) == (HAVERSINE.leg(PLACES[i], PLACES[j]) if i != j else (0, 0))
    assert HAVERSINE.matrix([]) == Matrix((), (), ())


def test_haversine_reads_its_defaults_from_the_settings() -> None:
    assert HaversineProvider().key == "haversine:1.3:40"
    with override_settings(PLANNER_ROAD_FACTOR=2.0, PLANNER_SPEED_KMH=50.0):
        provider = HaversineProvider()
        assert provider.key == "haversine:2:50"
        assert provider.leg(Place(0, 0), Place(1, 0)) == (round(222.39016 / 50 * 3600), 222_390)


@pytest.mark.parametrize(("factor", "speed"), [(0.9, 40), (1.3, 0), (1.3, -5)])
def test_haversine_refuses_nonsense_parameters(factor, speed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="road factor"):
        HaversineProvider(road_factor=factor, speed_kmh=speed)


def test_matrix_lookups_and_shape() -> None:
    m = Matrix(PLACES[:2], ((0, 5), (7, 0)), ((0, 50), (70, 0)))
    assert m.index(PLACES[1]) == 1
    assert m.travel(PLACES[1], PLACES[0]) == (7, 70)
    assert PLACES[0] in m
    assert PLACES[2] not in m
    with pytest.raises(KeyError):
        m.index(PLACES[2])
    with pytest.raises(ValueError, match="2×2 metres"):
        Matrix(PLACES[:2], ((0, 5), (7, 0)), ((0, 50),))


def test_provider_from_settings() -> None:
    with override_settings(PLANNER_OSRM_URL=""):
        assert isinstance(provider_from_settings(), HaversineProvider)
    with override_settings(PLANNER_OSRM_URL="http://osrm.internal:5000/", PLANNER_OSRM_TIMEOUT=3.5):
        provider = provider_from_settings()
        assert isinstance(provider, OsrmProvider)
        assert (provider.base_url, provider.timeout) == ("http://osrm.internal:5000", 3.5)


# --- OSRM -------------------------------------------------------------------------------------------


def test_osrm_table_in_one_request() -> None:
    with OsrmFake() as fake:
        m = OsrmProvider(fake.url, timeout=5).matrix(PLACES[:3])
    assert [r.path for r in fake.requests] == ["/table/v1/driving/-87.630000,41.880000;-87.700000,41.950000;-87.600000,41.850000?annotations=duration,distance"]
    assert m.places == PLACES[:3]
    assert [list(r) for r in m.seconds] == expected(PLACES[:3], duration)
    assert [list(r) for r in m.metres] == expected(PLACES[:3], distance)
    assert m.seconds[0][1] != m.seconds[1][0]  # rows are origins, columns destinations


def test_osrm_base_url_with_a_path_and_a_trailing_slash() -> None:
    with OsrmFake(prefix="/osrm") as fake:
        m = OsrmProvider(fake.url + "/", timeout=5).matrix(PLACES[:2])
    assert fake.requests[0].path.startswith("/osrm/table/v1/driving/")
    assert [list(r) for r in m.seconds] == expected(PLACES[:2], duration)


def test_osrm_large_tables_are_asked_for_in_blocks_within_the_servers_limit() -> None:
    with OsrmFake(max_table=2) as fake:
        with pytest.raises(TravelError, match="TooBig"):
            OsrmProvider(fake.url, timeout=5).matrix(PLACES)  # 5 × 5 > 2 × 2 in one request
        fake.requests.clear()
        m = OsrmProvider(fake.url, timeout=5, max_table=2).matrix(PLACES)
    assert len(fake.requests) == 9  # blocks of 2, 2, 1 both ways
    assert all(len(r.sources) * len(r.destinations) <= 4 for r in fake.requests)
    assert all(len(r.coordinates) <= 4 for r in fake.requests)  # each block names only its own places
    assert [list(r) for r in m.seconds] == expected(PLACES, duration)
    assert [list(r) for r in m.metres] == expected(PLACES, distance)


def test_osrm_null_is_unreachable() -> None:
    with OsrmFake() as fake:
        fake.unreachable.add((PLACES[2].lng, PLACES[2].lat))
        m = OsrmProvider(fake.url, timeout=5).matrix(PLACES[:3])
    assert m.travel(PLACES[0], PLACES[2]) == (UNREACHABLE, UNREACHABLE)
    assert m.travel(PLACES[1], PLACES[2]) == (UNREACHABLE, UNREACHABLE)
    assert m.travel(PLACES[2], PLACES[2]) == (0, 0)
    assert m.travel(PLACES[2], PLACES[0]) == (expected(PLACES[:3], duration)[2][0], expected(PLACES[:3], distance)[2][0])


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"code": "InvalidQuery", "message": "Query string malformed close to position 3"}, r"answered 400: InvalidQuery Query string malformed"),
        (500, b"Internal Server Error", r"answered 500\.$"),
        (200, {"code": "NoTable", "message": "No table found"}, r"refused the table request \(NoTable No table found\)"),
        (200, {}, r"refused the table request \(no code\)"),
        (200, b"<html>proxy login</html>", "not JSON"),
        (200, [1, 2], "not an OSRM table"),
        (200, {"code": "Ok", "durations": [[0, 1], [1, 0]]}, "no 2×2 durations and distances"),
        (200, {"code": "Ok", "durations": [[0, 1]], "distances": [[0, 1]]}, "no 2×2 durations and distances"),
    ],
)
def test_osrm_errors_are_clear(status, body, message) -> None:  # type: ignore[no-untyped-def]
    with OsrmFake() as fake:
        fake.answer_next(status, body)
        with pytest.raises(TravelError, match=message):
            OsrmProvider(fake.url, timeout=5).matrix(PLACES[:2])


def test_osrm_time_out() -> None:
    with OsrmFake(delay=1.0) as fake, pytest.raises(TravelError, match=r"did not answer within 0\.2 s"):
        OsrmProvider(fake.url, timeout=0.2).matrix(PLACES[:2])


def test_osrm_redirects_are_not_followed() -> None:
    with OsrmFake() as fake:
        fake.answer_next(302, b"", headers={"Location": fake.url + "/elsewhere/table/v1/driving/0,0;1,1"})
        with pytest.raises(TravelError, match=r"redirected \(302\): check PLANNER_OSRM_URL"):
            OsrmProvider(fake.url, timeout=5).matrix(PLACES[:2])
    assert fake.requests == []  # the redirect target was never asked


def test_osrm_server_not_running() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TravelError, match="could not be reached"):
        OsrmProvider(f"http://127.0.0.1:{port}", timeout=2).matrix(PLACES[:2])


def test_osrm_only_http() -> None:
    with pytest.raises(TravelError, match="must start with http"):
        OsrmProvider("file:///etc/passwd", timeout=1).matrix(PLACES[:2])


def test_osrm_asks_nothing_for_fewer_than_two_places() -> None:
    with OsrmFake() as fake:
        provider = OsrmProvider(fake.url, timeout=5)
        assert provider.matrix([PLACES[0]]) == Matrix((PLACES[0],), ((0,),), ((0,),))
        assert provider.matrix([]) == Matrix((), (), ())
    assert fake.requests == []


def test_osrm_key_names_the_server_without_showing_it() -> None:
    a, b = OsrmProvider("http://user:secret@osrm.internal:5000"), OsrmProvider("http://osrm.other:5000")
    assert a.key.startswith("osrm:")
    assert "secret" not in a.key
    assert a.key != b.key
    assert OsrmProvider("http://osrm.other:5000/").key == b.key


# --- the cache ----------------------------------------------------------------------------------------


class Counting:
    """A provider that counts its calls (and can do something first, as another process would)."""

    def __init__(self, provider=HAVERSINE, before=None) -> None:  # type: ignore[no-untyped-def]
        self.provider, self.before, self.calls = provider, before, 0
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return self.provider.key

    def matrix(self, places):  # type: ignore[no-untyped-def]
        with self._lock:
            self.calls += 1
        if self.before is not None:
            self.before(places)
        return self.provider.matrix(places)


@pytest.mark.django_db
def test_second_call_reads_the_stored_row(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    provider = Counting()
    first = cached_matrix(provider, DAY, PLACES)
    assert provider.calls == 1
    row = TravelMatrix.objects.get()
    assert (row.key, row.day) == (matrix_key(provider, DAY, PLACES), DAY)
    assert row.seconds == [list(r) for r in first.seconds]
    with django_assert_num_queries(1):
        second = cached_matrix(provider, DAY, PLACES)
    assert provider.calls == 1
    assert second == first


@pytest.mark.django_db
def test_the_key_covers_provider_day_and_places_in_order() -> None:
    provider = Counting()
    cached_matrix(provider, DAY, PLACES)
    cached_matrix(provider, DAY + timedelta(days=1), PLACES)
    cached_matrix(provider, DAY, PLACES[::-1])
    cached_matrix(Counting(HaversineProvider(road_factor=1.5, speed_kmh=40)), DAY, PLACES)
    assert provider.calls == 3
    assert TravelMatrix.objects.count() == 4


@pytest.mark.django_db
def test_coordinates_equal_to_five_decimals_share_a_matrix() -> None:
    provider = Counting()
    cached_matrix(provider, DAY, PLACES[:2])
    nudged = (Place(41.8800004, -87.6300003), PLACES[1])
    m = cached_matrix(provider, DAY, nudged)
    assert provider.calls == 1
    assert m.places == nudged  # looked up by the places asked for
    assert m.travel(nudged[0], PLACES[1]) == HAVERSINE.leg(PLACES[0], PLACES[1])


@pytest.mark.django_db
def test_forget_matrices_drops_days_before() -> None:
    for offset in (-2, -1, 0, 1):
        cached_matrix(HAVERSINE, DAY + timedelta(days=offset), PLACES[:2])
    assert forget_matrices(DAY) == 2
    assert sorted(TravelMatrix.objects.values_list("day", flat=True)) == [DAY, DAY + timedelta(days=1)]
    assert forget_matrices(DAY) == 0


@pytest.mark.django_db
def test_a_lost_insert_race_leaves_the_callers_transaction_usable() -> None:
    def other_process_first(places):  # type: ignore[no-untyped-def]
        seconds = [list(r) for r in HAVERSINE.matrix(places).seconds]
        TravelMatrix.objects.create(key=matrix_key(HAVERSINE, DAY, places), day=DAY, seconds=seconds, metres=seconds)

    with transaction.atomic():
        m = cached_matrix(Counting(before=other_process_first), DAY, PLACES[:3])
        assert TravelMatrix.objects.count() == 1  # the caller's transaction still works
    assert m == HAVERSINE.matrix(PLACES[:3])


@pytest.mark.django_db(transaction=True)
def test_two_processes_missing_at_once_store_one_row() -> None:
    barrier = threading.Barrier(2, timeout=20)
    provider = Counting(before=lambda places: barrier.wait())  # both have looked and missed before either stores
    results: list[Matrix] = []
    errors: list[BaseException] = []

    def plan_day() -> None:
        try:
            results.append(cached_matrix(provider, DAY, PLACES))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=plan_day) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert provider.calls == 2
    assert TravelMatrix.objects.count() == 1
    assert results[0] == results[1] == HAVERSINE.matrix(PLACES)
