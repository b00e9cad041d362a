"""The routing benchmark's parts (bench/routing*.py): Solomon's reader and its instance, the seeded day,
the peers' adapters on tiny instances, the yardstick and the tables. No timings are asserted; solver
runs are one second."""

import math
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bench import routing, routing_day, routing_peers, routing_solomon
from serviceopus.dispatch.planner.instance import Instance, Job, Vehicle, from_problem
from serviceopus.dispatch.planner.model import pre_check
from serviceopus.dispatch.planner.timing import schedule

ROOT = Path(__file__).resolve().parents[3]
SOLOMON_DATA = (ROOT / routing.SOLOMON_DIR).resolve()

TINY_SOLOMON = """TINY1

VEHICLE
NUMBER     CAPACITY
  25         20

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0          0          0          0        100          0
    1      3          4         10          0         50         10
    2      6          8         10         20         60         10
    3      0         10         15          0         80          5
"""


@pytest.fixture
def tiny_solomon(tmp_path: Path) -> routing_solomon.SolomonInstance:
    path = tmp_path / "TINY1.txt"
    path.write_text(TINY_SOLOMON)
    return routing_solomon.read_instance(path)


# ---- Solomon -------------------------------------------------------------------------------------------


def test_reader_reads_header_and_customers(tiny_solomon):
    assert tiny_solomon.name == "TINY1"
    assert (tiny_solomon.vehicles, tiny_solomon.capacity) == (25, 20)
    assert tiny_solomon.customers[0] == routing_solomon.Customer(0, 0.0, 0.0, 0, 0, 100, 0)
    assert tiny_solomon.customers[3] == routing_solomon.Customer(3, 0.0, 10.0, 15, 0, 80, 5)
    assert len(tiny_solomon.customers) == 4
    assert tiny_solomon.leg(0, 2) == 10.0


def test_reader_refuses_customers_out_of_order(tmp_path):
    path = tmp_path / "BAD.txt"
    path.write_text(TINY_SOLOMON.replace("    2      6", "    7      6"))
    with pytest.raises(ValueError, match="numbered 0"):
        routing_solomon.read_instance(path)


def test_instance_is_scaled_by_100_with_the_given_fleet(tiny_solomon):
    instance = routing_solomon.to_instance(tiny_solomon, vehicles=2)
    assert instance.distance_scale == 100
    assert instance.durations is instance.distances
    assert instance.distances[0][1] == 500
    assert instance.distances[1][3] == round(100 * math.hypot(3, 6))  # 670.82… → 671
    assert [(v.start, v.end, v.shift, v.capacity) for v in instance.vehicles] == [(0, 0, (0, 10_000), 20)] * 2
    assert [(j.id, j.location, j.service, j.window, j.demand, j.weight) for j in instance.jobs] == [
        (1, 1, 1000, (0, 5000), 10, 1),
        (2, 2, 1000, (2000, 6000), 10, 1),
        (3, 3, 500, (0, 8000), 15, 1),
    ]


def test_instance_with_durations_rounded_up(tiny_solomon):
    instance = routing_solomon.to_instance(tiny_solomon, vehicles=1, durations="ceil")
    assert (instance.durations[0][1], instance.distances[0][1]) == (500, 500)
    assert (instance.durations[1][3], instance.distances[1][3]) == (671, 671)  # 670.82…
    assert (instance.durations[1][2], instance.distances[1][2]) == (500, 500)
    assert (instance.durations[2][3], instance.distances[2][3]) == (633, 632)  # 632.46…
    with pytest.raises(ValueError, match="round or ceil"):
        routing_solomon.to_instance(tiny_solomon, vehicles=1, durations="floor")


def test_exact_distance_and_problems(tiny_solomon):
    # 0 → 1 → 2 → 0 and 0 → 3 → 0: 5 + 5 + 10 and 10 + 10.
    good = [[1, 2], [3]]
    assert routing_solomon.exact_distance(tiny_solomon, good) == pytest.approx(40.0)
    assert routing_solomon.exact_problems(tiny_solomon, good) == []
    assert routing_solomon.exact_problems(tiny_solomon, [[1, 2]]) == ["1 customer not served"]
    assert routing_solomon.exact_problems(tiny_solomon, [[3]]) == ["2 customers not served"]
    assert routing_solomon.exact_problems(tiny_solomon, [[1, 3], [2]]) == ["route 1 over capacity"]
    # 2 before 1: waits at 2 until 20, leaves at 30, reaches 1 at 35 ≤ 50.
    assert routing_solomon.exact_problems(tiny_solomon, [[3], [2, 1]]) == []
    late = routing_solomon.SolomonInstance("LATE", 2, 20, (*tiny_solomon.customers[:2], routing_solomon.Customer(2, 6, 8, 10, 0, 12, 10)))
    assert routing_solomon.exact_problems(late, [[1], [2]]) == []
    assert routing_solomon.exact_problems(late, [[1, 2]]) == ["route 1: customer 2 starts at 20.0000 > 12"]


def test_best_known_and_names(tmp_path):
    (tmp_path / "bks.csv").write_text("instance,vehicles,distance\nC101,10,828.94\nR101,19,1650.80\n")
    for name in ("R101", "RC101", "C101", "C102"):
        (tmp_path / f"{name}.txt").write_text(TINY_SOLOMON)
    assert routing_solomon.read_best_known(tmp_path / "bks.csv") == {
        "C101": routing_solomon.BestKnown(10, 828.94),
        "R101": routing_solomon.BestKnown(19, 1650.80),
    }
    assert routing_solomon.instance_names(tmp_path) == ["C101", "C102", "R101", "RC101"]
    assert [routing_solomon.family_of(n) for n in ("C101", "R112", "RC105")] == ["C1", "R1", "RC1"]
    assert routing_solomon.gap_percent(101.0, 100.0) == pytest.approx(1.0)


@pytest.mark.skipif(not (SOLOMON_DATA / "bks.csv").exists(), reason="the shared Solomon data is not next to the repository")
def test_shared_solomon_data_reads():
    best = routing_solomon.read_best_known(SOLOMON_DATA / "bks.csv")
    names = routing_solomon.instance_names(SOLOMON_DATA)
    assert len(names) == 29
    assert set(names) == set(best)
    c101 = routing_solomon.read_instance(SOLOMON_DATA / "C101.txt")
    assert (c101.name, c101.capacity, len(c101.customers)) == ("C101", 200, 101)
    assert best["C101"] == routing_solomon.BestKnown(10, 828.94)


# ---- the seeded day ------------------------------------------------------------------------------------


def test_day_is_the_same_for_a_seed_and_differs_between_seeds():
    day = routing_day.generate_day(3)
    assert routing_day.generate_day(3) == day
    assert routing_day.generate_day(4) != day
    assert routing_day.day_matrix(routing_day.generate_day(3)) == routing_day.day_matrix(day)


def test_day_has_the_shape_the_issue_asks_for():
    day = routing_day.generate_day(1)
    assert (len(day.technicians), len(day.visits)) == (30, 250)
    assert {t.shift_end - t.shift_start for t in day.technicians} == {timedelta(hours=8)}
    assert all(1 <= len(t.skill_ids) <= 3 for t in day.technicians)
    assert set().union(*(t.skill_ids for t in day.technicians)) == set(routing_day.SKILLS)
    assert all(t.start_place == t.end_place and t.break_window is None for t in day.technicians)
    assert {v.window_end - v.window_start for v in day.visits} <= {timedelta(hours=h) for h in (2, 3, 4)}
    assert {v.duration_minutes for v in day.visits} <= {30, 45, 60, 90, 120, 180}
    assert all(len(v.required_skill_ids) <= 1 and v.priority == 2 and not v.must for v in day.visits)
    # Every visit can be started inside its window and finished inside somebody's shift.
    assert pre_check(day) == (day.visits, [])
    matrix = routing_day.day_matrix(day)
    assert max(max(row) for row in matrix.metres) <= 2 * routing_day.RADIUS_KM * routing_day.ROAD_FACTOR * 1000 * 1.01


def test_day_with_breaks():
    day = routing_day.generate_day(1, technicians=4, visits=10, breaks=True)
    assert {(t.break_window.earliest_start, t.break_window.latest_end, t.break_window.minutes) for t in day.technicians} == {
        (routing_day.at(11, 30), routing_day.at(14), 30)
    }


# ---- peers and the yardstick ---------------------------------------------------------------------------


def line_instance(*, capacity: int | None = None) -> Instance:
    """Places on a line, 100 m (and 100 s) apart; job 4 opens before anyone could reach it."""
    n = 5
    matrix = tuple(tuple(100 * abs(a - b) for b in range(n)) for a in range(n))
    vehicles = (
        Vehicle(id=1, start=0, end=0, shift=(0, 3600), skills=frozenset({7}), capacity=capacity, break_window=(1000, 2500, 600)),
        Vehicle(id=2, start=0, end=0, shift=(0, 3600), capacity=capacity),
    )
    jobs = (
        Job(id=10, location=1, service=60, window=(0, 3600), demand=1),
        Job(id=11, location=2, service=60, window=(0, 3600), skills=frozenset({7}), demand=1),
        Job(id=12, location=3, service=60, window=(0, 500), demand=1),
        Job(id=13, location=4, service=60, window=(3000, 3100), demand=1),
        Job(id=14, location=4, service=60, window=(10, 20), demand=1),
    )
    return Instance(durations=matrix, distances=matrix, vehicles=vehicles, jobs=jobs)


@pytest.mark.parametrize("peer", sorted(routing_peers.PEERS))
def test_peer_serves_what_can_be_served_within_every_rule(peer):
    instance = line_instance()
    run = routing_peers.PEERS[peer](instance, 1.0)
    judged = routing_peers.judge(instance, run.routes)
    assert (judged.served, judged.violations) == (4, 0)
    assert sorted(j for route in run.routes for j in route) == [0, 1, 2, 3]
    assert 1 in run.routes[0]  # the skilled job went to the one vehicle with the skill
    assert all(schedule(instance, v, route) is not None for v, route in enumerate(run.routes))


@pytest.mark.parametrize("peer", sorted(routing_peers.PEERS))
def test_peer_on_a_solomon_instance_keeps_the_capacity(peer, tiny_solomon):
    instance = routing_solomon.to_instance(tiny_solomon, vehicles=2)
    run = routing_peers.PEERS[peer](instance, 1.0)
    judged = routing_peers.judge(instance, run.routes)
    assert (judged.served, judged.violations) == (3, 0)
    routes = routing_solomon.customers_of(instance, run.routes)
    assert routing_solomon.exact_problems(tiny_solomon, routes) == []
    # Capacity 20 with demands 10, 10, 15: customer 3 rides alone, 1 and 2 together.
    assert sorted(map(sorted, routes)) == [[1, 2], [3]]
    assert routing_solomon.exact_distance(tiny_solomon, routes) == pytest.approx(40.0)


@pytest.mark.parametrize("peer", sorted(routing_peers.PEERS))
def test_peer_on_a_seeded_day_returns_valid_routes(peer):
    day = routing_day.generate_day(2, technicians=3, visits=12, breaks=True)
    matrix = routing_day.day_matrix(day)
    instance = from_problem(day, matrix, pre_check(day)[0])
    run = routing_peers.PEERS[peer](instance, 1.0)
    judged = routing_peers.judge(instance, run.routes)
    assert judged.violations == 0
    assert judged.served == sum(len(r) for r in run.routes) > 0
    assert judged.km(instance) == judged.distance / 1000


def test_judge_counts_what_breaks_a_rule_as_violations():
    instance = line_instance()
    # Job 4 cannot be reached in its window; job 1 needs skill 7, which vehicle 1 lacks; job 0 twice.
    judged = routing_peers.judge(instance, ((0, 2, 4), (1, 0, 3)))
    assert judged.routes == ((0, 2), (3,))
    assert (judged.served, judged.violations, judged.weight) == (3, 3, 3)
    assert judged.distance == 2 * 300 + 2 * 400
    assert judged.km(instance) == pytest.approx(1.4)


def test_vroom_priority_keeps_order_within_0_to_100():
    assert [routing_peers.vroom_priority(w, 8) for w in (1, 2, 4, 8)] == [1, 2, 4, 8]
    assert [routing_peers.vroom_priority(w, 8000) for w in (1, 8, 2000, 8000)] == [1, 1, 25, 100]


# ---- the harness ---------------------------------------------------------------------------------------


def test_seed_lists_and_budgets():
    assert routing.seed_list("1-5") == [1, 2, 3, 4, 5]
    assert routing.seed_list("1..3,9") == [1, 2, 3, 9]
    assert routing.numbers("10,60") == [10.0, 60.0]
    args = routing.parse(["--quick"])
    assert (args.instances, args.solomon_budgets, args.seeds, args.day_budgets) == ("C101,R101,RC101", [2.0], [1], [2.0])
    assert args.solomon_dir == SOLOMON_DATA
    assert routing.parse(["--solvers", "vroom,ours"]).solvers == ["ours", "vroom"]


def test_table_is_fixed_width():
    text = routing.table(["seed", "served", "km"], [[1, 240, "1500.5"], ["mean", 240.0, "1500.5"]], groups=[(" ours ", 2)])
    assert text.splitlines() == [
        "      ---- ours ----",
        "seed  served      km",
        "----  ------  ------",
        "1        240  1500.5",
        "mean   240.0  1500.5",
    ]


def test_verdict_is_served_first_then_km():
    def run(solver, served, km, violations=0):
        return {"solver": solver, "served": served, "km": km, "violations": violations}

    assert routing._verdict(1, [run("ours", 240, 1600.0), run("ortools", 239, 1400.0), run("vroom", 240, 1700.0)]).startswith("  seed 1: yes")
    assert routing._verdict(2, [run("ours", 240, 1600.0), run("ortools", 240, 1599.9), run("vroom", 238, 1500.0)]).startswith("  seed 2: NO ")
    assert "2 violations" in routing._verdict(3, [run("ours", 245, 1500.0, 2), run("vroom", 240, 1600.0)])


def test_help_documents_the_options():
    answer = subprocess.run([sys.executable, str(ROOT / "bench" / "routing.py"), "--help"], capture_output=True, text=True, check=True, timeout=60)
    for option in (
        "--quick",
        "--processes",
        "--solomon-dir",
        "--families",
        "--instances",
        "--solomon-budgets",
        "--solomon-durations",
        "--seeds",
        "--day-budgets",
        "--solvers",
        "--breaks",
    ):
        assert option in answer.stdout


@pytest.mark.parametrize("solver", routing.SOLVERS)
def test_day_run_judges_each_solver_alike(solver):
    row = routing.day_run(2, 1.0, solver, True, 3, 12, 0)
    assert (row["seed"], row["solver"], row["visits"], row["set_aside"], row["violations"], row["note"]) == (2, solver, 12, 0, 0, "")
    assert 0 < row["served"] <= 12
    assert row["km"] > 0
    assert (row["first"] is not None) == (solver == "ours")


def test_solomon_run_reports_the_exact_distance(tmp_path):
    (tmp_path / "TINY1.txt").write_text(TINY_SOLOMON)
    row = routing.solomon_run(str(tmp_path), "TINY1", 2, 1.0, 0)
    assert (row["served"], row["customers"], row["routes"], row["problems"]) == (3, 3, 2, [])
    assert row["distance"] == pytest.approx(40.0)


def test_solomon_tables_keep_infeasible_results_out_of_the_means():
    best = {"R101": routing_solomon.BestKnown(19, 1000.0), "R102": routing_solomon.BestKnown(17, 2000.0)}

    def result(name, distance, served, problems):
        return {"name": name, "budget": 10.0, "served": served, "customers": 100, "distance": distance, "problems": problems, "first": 0.5}

    text = routing.solomon_tables([result("R101", 1010.0, 100, []), result("R102", 1900.0, 99, ["1 customer not served"])], best, [10.0])
    lines = text.splitlines()
    assert next(line for line in lines if line.startswith("R101")).split() == ["R101", "19", "1000.00", "1010.00", "+1.00", "100/100", "0.50"]
    assert next(line for line in lines if line.startswith("R102")).split() == ["R102", "17", "2000.00", "-", "infeasible", "99/100", "0.50"]
    assert "  R102 at 10 s: 1 customer not served" in lines
    assert next(line for line in lines if line.startswith("R1 ")).split() == ["R1", "2", "+1.00", "+1.00", "1"]
