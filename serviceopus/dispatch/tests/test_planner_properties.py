"""Property test of the whole planner: random small days (1–4 technicians with random shifts, skills and
breaks; 0–12 visits with random places, some without coordinates, windows, some inverted, durations,
skills, some that nobody has, priorities, must, locks, some to a technician without a shift) go through
`plan_day`; every plan it returns passes the validator, holds each visit exactly once, and keeps
pre_check's reasons, and no input raises.

`days(full=False)` keeps to what the planner handles today; `days(full=True)` adds what the failing
tests in test_planner_optimise.py show it does not (a break window opening before every shift or not
fitting in it, technicians whose start and end places differ, days where no visit can be served): its
test is expected to fail until those are fixed, then the marker goes and `full` becomes the only mode."""

from datetime import timedelta
from random import Random

from hypothesis import Phase, given, note, settings
from hypothesis import strategies as st

from serviceopus.dispatch.planner.instance import from_problem
from serviceopus.dispatch.planner.model import BreakWindow, Place, Problem, Reason, TechnicianInput, VisitInput, pre_check
from serviceopus.dispatch.planner.optimise import plan_day
from serviceopus.dispatch.planner.timing import schedule
from serviceopus.dispatch.planner.validator import validate

from .planner_support import DAY, DEPOT, HAVERSINE, at

QUARTER = timedelta(minutes=15)
SKILLS = (1, 2, 3)  # technicians' skills; visits may also need 4, which nobody has
UNKNOWN_TECHNICIAN = 99


def place(rng: Random) -> Place:
    """Within about 11 km of the depot, on a 0.01° grid so that some visits share an address."""
    return Place(round(DEPOT.lat + rng.randint(-10, 10) / 100, 2), round(DEPOT.lng + rng.randint(-10, 10) / 100, 2))


def quarters(rng: Random, low: int, high: int) -> timedelta:
    return QUARTER * rng.randint(low, high)


def technician(rng: Random, id: int, full: bool) -> TechnicianInput:
    home = DEPOT if rng.random() < 0.6 else place(rng)
    end = place(rng) if full and rng.random() < 0.5 else home
    shift = rest = None
    if rng.random() < 0.85:  # the others have no shift
        start = at(6) + quarters(rng, 0, 16)  # 06:00–10:00
        shift = (start, start + quarters(rng, 12, 40))  # 3–10 hours
        if rng.random() < 0.5:
            minutes = rng.choice([15, 30, 45, 60])
            earliest = shift[0] + quarters(rng, -8 if full else 0, 24)
            latest = earliest + timedelta(minutes=minutes) + quarters(rng, 0, 12)
            if full or latest <= shift[1]:
                rest = BreakWindow(earliest, latest, minutes)
    return TechnicianInput(
        id=id,
        name=f"Tech {id}",
        shift_start=shift[0] if shift else None,
        shift_end=shift[1] if shift else None,
        start_place=home,
        end_place=end,
        skill_ids=frozenset(s for s in SKILLS if rng.random() < 0.7),
        break_window=rest,
    )


def visit(rng: Random, id: int, technician_ids: list[int]) -> VisitInput:
    window_start = at(6) + quarters(rng, 4, 32)  # 07:00–14:00
    window_end = window_start + (quarters(rng, -4, -1) if rng.random() < 0.05 else quarters(rng, 0, 32))  # some inverted
    skills = {s for s in SKILLS if rng.random() < 0.15} | ({4} if rng.random() < 0.05 else set())
    locked_technician = rng.choice([*technician_ids, UNKNOWN_TECHNICIAN]) if rng.random() < 0.12 else None
    locked_start = window_start + quarters(rng, -2, 16) if rng.random() < 0.1 else None  # sometimes outside the window
    return VisitInput(
        id=id,
        place=place(rng) if rng.random() < 0.95 else None,
        duration_minutes=15 * rng.randint(1, 12),
        window_start=window_start,
        window_end=window_end,
        required_skill_ids=frozenset(skills),
        priority=rng.randint(1, 4),
        must=rng.random() < 0.25,
        locked_technician_id=locked_technician,
        locked_start=locked_start,
        label=f"V{id}",
    )


def day(seed: int, full: bool) -> tuple[Problem, int]:
    """A random day from `seed`, and a solver seed. Hypothesis draws `seed`, so each example is a
    different day with a distribution set here (Hypothesis's own would spend most examples on edge cases
    such as no visits); a failing day is printed as the Problem it built."""
    rng = Random(seed)
    people = [technician(rng, k + 1, full) for k in range(rng.randint(1, 4))]
    ids = [t.id for t in people]
    jobs = [visit(rng, 100 + k, ids) for k in range(0 if rng.random() < 0.08 else rng.randint(1, 12))]
    working = [t for t in people if t.works]
    if not full and working and jobs:
        # A visit the first working technician can surely serve (at the depot, within the shift, no skill): a
        # day where a solver serves nothing at all crashes today (test_a_day_where_no_visit_can_be_reached...).
        first = working[0]
        assert first.shift_start is not None
        assert first.shift_end is not None
        jobs[0] = VisitInput(id=100, place=first.start_place, duration_minutes=15, window_start=first.shift_start, window_end=first.shift_end, label="V100")
    return Problem(day=DAY, technicians=people, visits=jobs, allow_overtime=rng.random() < 0.3), rng.randint(0, 3)


def days(full: bool = False) -> st.SearchStrategy[tuple[Problem, int]]:
    return st.integers(0, 2**32 - 1).map(lambda seed: day(seed, full))


def check(problem: Problem, seed: int) -> None:
    note(repr(problem))
    matrix = HAVERSINE.matrix(problem.places())
    outcome = plan_day(problem, matrix, time_limit=0.3, iterations=200, seed=seed)
    plan = outcome.plan
    assert validate(problem, plan, matrix) == []
    on_routes = [s.visit_id for r in plan.routes for s in r.stops]
    left_out = [u.visit_id for u in plan.unassigned]
    assert sorted(on_routes + left_out) == sorted(v.id for v in problem.visits)  # each visit exactly once
    assert [r.technician_id for r in plan.routes] == [t.id for t in problem.technicians]
    assert {u.code for u in plan.unassigned} <= {r.value for r in Reason}
    # What pre_check sets aside stays aside, for its reason; the rest is the solver's to serve.
    plannable, set_aside = pre_check(problem)
    assert set(on_routes) <= {v.id for v in plannable}
    codes = {u.visit_id: u.code for u in plan.unassigned}
    assert {u.visit_id: codes[u.visit_id] for u in set_aside} == {u.visit_id: u.code for u in set_aside}
    assert plan.window_violations == 0
    assert plan.overtime_seconds == 0 or problem.allow_overtime
    # No visit the solver left out fits anywhere into the plan as it stands (the last step tops routes up).
    inst = from_problem(problem, matrix, plannable)
    routes = outcome.result.routes
    served = {j for route in routes for j in route}
    for j in range(len(inst.jobs)):
        if j not in served:
            assert all(schedule(inst, v, [*r[:i], j, *r[i:]]) is None for v, r in enumerate(routes) for i in range(len(r) + 1)), inst.jobs[j]


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(case=days())
def test_every_plan_of_a_random_day_is_valid(case: tuple[Problem, int]) -> None:
    check(*case)


@settings(max_examples=25, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate])
@given(case=days(full=True))
def test_every_plan_of_a_random_day_is_valid_with_breaks_anywhere_and_separate_start_and_end(case: tuple[Problem, int]) -> None:
    check(*case)
