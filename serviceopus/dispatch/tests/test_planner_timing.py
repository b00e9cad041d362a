"""`timing`: exact times for an ordered route (waiting, departure, shift, the break in every position,
capacity, skills), `repair` and the lexicographic score. Instances are built by hand on tiny integer
matrices, so every expected time can be worked out on paper."""

from serviceopus.dispatch.planner.instance import Instance, Job, Vehicle
from serviceopus.dispatch.planner.timing import Score, Timed, repair, route_distance, schedule, score

# Places 0 (the depot), 1 and 2: 100 s between any two of them; metres are ten times the seconds.
TRIANGLE = [[0, 100, 100], [100, 0, 100], [100, 100, 0]]
TRIANGLE_METRES = [[10 * s for s in row] for row in TRIANGLE]


def instance(*jobs: Job, vehicles: tuple[Vehicle, ...] | None = None, overtime: bool = False) -> Instance:
    return Instance(
        durations=TRIANGLE,
        distances=TRIANGLE_METRES,
        vehicles=vehicles if vehicles is not None else (Vehicle(1, 0, 0, (0, 1000)),),
        jobs=jobs,
        overtime=overtime,
    )


def van(*, shift: tuple[int, int] = (0, 1000), rest: tuple[int, int, int] | None = None, skills: frozenset[int] = frozenset(), capacity=None) -> Vehicle:  # type: ignore[no-untyped-def]
    return Vehicle(1, 0, 0, shift, skills=skills, capacity=capacity, break_window=rest)


# --- schedule: windows, departure, shift ----------------------------------------------------------------


def test_service_starts_as_soon_as_reached_and_waits_for_a_window_to_open() -> None:
    # Job 0 from 100 to 150; the drive to job 1 arrives at 250, its window opens at 400.
    timed = schedule(instance(Job(1, 1, 50, (0, 1000)), Job(2, 2, 50, (400, 500))), 0, [0, 1])
    assert timed == Timed(departure=0, arrivals=(100, 250), starts=(100, 400), end=550, break_start=None)


def test_a_window_that_closes_before_the_arrival_cannot_be_timed() -> None:
    assert schedule(instance(Job(1, 1, 50, (0, 99))), 0, [0]) is None
    assert schedule(instance(Job(1, 1, 50, (0, 100))), 0, [0]) == Timed(0, (100,), (100,), 250, None)  # the last instant still counts


def test_departure_is_delayed_to_reach_the_first_job_as_it_opens() -> None:
    timed = schedule(instance(Job(1, 1, 50, (300, 500))), 0, [0])
    assert timed == Timed(departure=200, arrivals=(300,), starts=(300,), end=450, break_start=None)


def test_the_shift_end_bounds_the_return_unless_overtime_is_allowed() -> None:
    jobs = (Job(1, 1, 300, (0, 1000)), Job(2, 2, 300, (0, 1000)))  # back at 100+300+100+300+100 = 900
    tight = (van(shift=(0, 899)),)
    assert schedule(instance(*jobs, vehicles=(van(shift=(0, 900)),)), 0, [0, 1]) == Timed(0, (100, 500), (100, 500), 900, None)
    assert schedule(instance(*jobs, vehicles=tight), 0, [0, 1]) is None
    assert schedule(instance(*jobs, vehicles=tight, overtime=True), 0, [0, 1]) == Timed(0, (100, 500), (100, 500), 900, None)


def test_an_empty_route_is_timed_as_staying_home_without_a_break() -> None:
    vehicles = (van(shift=(50, 1000), rest=(0, 100, 60)),)
    assert schedule(instance(vehicles=vehicles), 0, []) == Timed(departure=50, arrivals=(), starts=(), end=50, break_start=None)


# --- schedule: the break ---------------------------------------------------------------------------------


def test_break_before_the_first_drive() -> None:
    # The break (0–60 at the latest) can only come before leaving: after job 0 (100–200) it is too late.
    timed = schedule(instance(Job(1, 1, 100, (0, 1000)), vehicles=(van(rest=(0, 60, 60)),)), 0, [0])
    assert timed == Timed(departure=0, arrivals=(160,), starts=(160,), end=360, break_start=0)


def test_break_between_jobs_break_then_drive_when_both_orders_start_the_next_job_alike() -> None:
    # Job 0 ends at 200; the break may start from 150: break 200–260, drive, job 1 at 360 (driving first
    # and resting on arrival, 300–360, starts it no earlier, so the break comes first).
    jobs = (Job(1, 1, 100, (0, 1000)), Job(2, 2, 100, (0, 1000)))
    timed = schedule(instance(*jobs, vehicles=(van(rest=(150, 400, 60)),)), 0, [0, 1])
    assert timed == Timed(departure=0, arrivals=(100, 360), starts=(100, 360), end=560, break_start=200)


def test_break_between_jobs_drive_then_break_when_that_starts_the_next_job_earlier() -> None:
    # The break may start from 300 only: resting before the drive (300–360) would start job 1 at 460;
    # driving first (arrival 300) and resting there (300–360) starts it at 360.
    jobs = (Job(1, 1, 100, (0, 1000)), Job(2, 2, 100, (0, 1000)))
    timed = schedule(instance(*jobs, vehicles=(van(rest=(300, 400, 60)),)), 0, [0, 1])
    assert timed == Timed(departure=0, arrivals=(100, 300), starts=(100, 360), end=560, break_start=300)


def test_break_before_driving_home() -> None:
    timed = schedule(instance(Job(1, 1, 100, (0, 1000)), vehicles=(van(rest=(200, 300, 60)),)), 0, [0])
    assert timed == Timed(departure=0, arrivals=(100,), starts=(100,), end=360, break_start=200)


def test_break_after_coming_home() -> None:
    # Home at 300; the break may start from 400: resting after coming home ends the route at 300.
    timed = schedule(instance(Job(1, 1, 100, (0, 1000)), vehicles=(van(rest=(400, 500, 60)),)), 0, [0])
    assert timed == Timed(departure=0, arrivals=(100,), starts=(100,), end=300, break_start=400)


def test_the_break_goes_where_the_day_ends_earliest() -> None:
    # Before the first drive (0–60) the route ends at 360 (job 0 from 160); before driving home (200–260)
    # it ends at 360 too, but after job 0 starting at 100. Both end at 360: the earliest position wins.
    timed = schedule(instance(Job(1, 1, 100, (0, 1000)), vehicles=(van(rest=(0, 300, 60)),)), 0, [0])
    assert timed is not None
    assert timed.end == 360
    assert timed == Timed(departure=0, arrivals=(160,), starts=(160,), end=360, break_start=0)


def test_a_break_window_that_cannot_be_met_makes_the_route_untimeable() -> None:
    job = Job(1, 1, 100, (100, 100))  # must start at 100, as soon as it can be reached
    assert schedule(instance(job), 0, [0]) == Timed(0, (100,), (100,), 300, None)
    assert schedule(instance(job, vehicles=(van(rest=(0, 120, 60)),)), 0, [0]) is None
    assert schedule(instance(job, vehicles=(van(rest=(2000, 2100, 60)),)), 0, [0]) is None  # after the shift


def test_break_then_drive_is_used_when_drive_then_break_would_end_the_break_too_late() -> None:
    # Break window 10–70, 60 s long: resting at home 10–70 then driving (arrival 170) keeps it; driving
    # first (arrival 100) and resting 100–160 ends after 70. The job's window is wide open.
    timed = schedule(instance(Job(1, 1, 10, (0, 1000)), vehicles=(van(rest=(10, 70, 60)),)), 0, [0])
    assert timed == Timed(departure=0, arrivals=(170,), starts=(170,), end=280, break_start=10)


def test_break_before_driving_home_is_used_when_resting_at_home_would_end_the_break_too_late() -> None:
    # Job 0 must start at 100 (so no break before it) and ends at 200; the break may run 260–330.
    timed = schedule(instance(Job(1, 1, 100, (0, 100)), vehicles=(van(rest=(260, 330, 60)),)), 0, [0])
    assert timed == Timed(departure=0, arrivals=(100,), starts=(100,), end=420, break_start=260)


# --- schedule: capacity and skills -----------------------------------------------------------------------


def test_capacity() -> None:
    jobs = (Job(1, 1, 10, (0, 1000), demand=3), Job(2, 2, 10, (0, 1000), demand=3))
    assert schedule(instance(*jobs, vehicles=(van(capacity=6),)), 0, [0, 1]) == Timed(0, (100, 210), (100, 210), 320, None)
    assert schedule(instance(*jobs, vehicles=(van(capacity=5),)), 0, [0, 1]) is None
    assert schedule(instance(*jobs, vehicles=(van(capacity=5),)), 0, [1]) == Timed(0, (100,), (100,), 210, None)


def test_skills() -> None:
    job = Job(1, 1, 10, (0, 1000), skills=frozenset({7}))
    assert schedule(instance(job, vehicles=(van(skills=frozenset({3})),)), 0, [0]) is None
    assert schedule(instance(job, vehicles=(van(skills=frozenset({3, 7})),)), 0, [0]) == Timed(0, (100,), (100,), 210, None)


# --- repair ----------------------------------------------------------------------------------------------


def test_repair_keeps_routes_that_can_be_timed_and_fills_in_missing_vehicles() -> None:
    inst = instance(Job(1, 1, 10, (0, 1000)), Job(2, 2, 10, (0, 1000)), vehicles=(van(), van()))
    assert repair(inst, [[1, 0]]) == ((1, 0), ())
    assert repair(inst, [[], [0], [1]]) == ((), (0,))  # a route past the vehicle count is ignored


def test_repair_drops_duplicates_unknown_jobs_and_jobs_the_vehicle_lacks_the_skill_for() -> None:
    jobs = (Job(1, 1, 10, (0, 1000)), Job(2, 2, 10, (0, 1000)), Job(3, 2, 10, (0, 1000), skills=frozenset({5})))
    inst = instance(*jobs, vehicles=(van(), van()))
    assert repair(inst, [[0, 1, 0, 7, -1], [1, 2, 0]]) == ((0, 1), ())


def test_repair_drops_the_lightest_job_whose_removal_fixes_the_route() -> None:
    # Three 200 s jobs at place 1 need 800 s; the shift has 700: one must go, the lightest (weight 1).
    jobs = (Job(1, 1, 200, (0, 1000), weight=8), Job(2, 1, 200, (0, 1000), weight=1), Job(3, 1, 200, (0, 1000), weight=2))
    inst = instance(*jobs, vehicles=(van(shift=(0, 700)),))
    assert repair(inst, [[0, 1, 2]]) == ((0, 2),)
    assert schedule(inst, 0, [0, 2]) == Timed(0, (100, 300), (100, 300), 600, None)


def test_repair_drops_a_job_that_cannot_be_served_at_all() -> None:
    inst = instance(Job(1, 1, 10, (0, 1000)), Job(2, 2, 10, (0, 50)), Job(3, 1, 10, (0, 1000)))
    assert repair(inst, [[0, 1, 2]]) == ((0, 2),)


def test_repair_drops_the_least_weight_even_when_that_takes_two_jobs() -> None:
    # Shift 550 s: the must job (300 s) alone needs 500; the two optional ones (150 s each) need 500 too.
    jobs = (Job(1, 1, 300, (0, 1000), weight=2000), Job(2, 1, 150, (0, 1000), weight=2), Job(3, 1, 150, (0, 1000), weight=2))
    inst = instance(*jobs, vehicles=(van(shift=(0, 550)),))
    assert repair(inst, [[0, 1, 2]]) == ((0,),)


# --- score ----------------------------------------------------------------------------------------------


def test_score_sums_weight_distance_and_served_an_empty_route_costs_nothing() -> None:
    jobs = (Job(1, 1, 10, (0, 1000), weight=8), Job(2, 2, 10, (0, 1000), weight=1), Job(3, 2, 10, (0, 1000), weight=4))
    inst = instance(*jobs, vehicles=(van(), van()))
    assert route_distance(inst, 0, [0, 1]) == 3000  # 0 → 1 → 2 → 0
    assert route_distance(inst, 1, []) == 0
    assert score(inst, ((0, 1), ())) == Score(weight=9, distance=3000, served=2)
    assert score(inst, ((0,), (2,))) == Score(weight=12, distance=4000, served=2)


def test_score_is_better_by_weight_first_then_by_distance() -> None:
    best = Score(weight=10, distance=900, served=2)
    assert best.better(None)
    assert best.better(Score(weight=9, distance=1, served=5))  # more weight beats any distance and count
    assert not Score(weight=9, distance=1, served=5).better(best)
    assert Score(weight=10, distance=899, served=1).better(best)  # same weight: shorter wins
    assert not Score(weight=10, distance=901, served=3).better(best)
    assert not best.better(Score(weight=10, distance=900, served=7))  # a tie is not better
