"""Explanations: why a proposal put a visit where it is or left it out (planner/explain.py), the stored
problem and plan they are worked out from (planner/serial.py), and the "Why?" page of a run."""

from datetime import date

import pytest
from django.urls import reverse

from serviceopus.dispatch.models import PlanningRun
from serviceopus.dispatch.planner.explain import explain
from serviceopus.dispatch.planner.model import Place, Problem
from serviceopus.dispatch.planner.optimise import plan_day
from serviceopus.dispatch.planner.serial import plan_from_dict, problem_from_dict, problem_to_dict
from serviceopus.dispatch.planning import plan_json
from serviceopus.jobs.models import PartsReadiness

from .planner_support import DAY, HAVERSINE, at, tech, visit
from .planning_support import seed_day

S = PlanningRun.Status
RUN_DAY = date(2026, 3, 10)
NORTH, SOUTH = Place(41.95, -87.65), Place(41.80, -87.62)


def small_day() -> Problem:
    """Alex (skill 1) and Blair (no skills); 10 needs skill 1, 11 anyone, 12 a skill nobody has, 13 a
    window before anyone works."""
    return Problem(
        day=DAY,
        technicians=[tech(1, "Alex", skills=[1]), tech(2, "Blair")],
        visits=[
            visit(10, NORTH, skills=[1], window=(at(9), at(11))),
            visit(11, SOUTH, window=(at(9), at(12))),
            visit(12, SOUTH, skills=[9]),
            visit(13, NORTH, window=(at(6), at(7))),
        ],
    )


def test_a_planned_visit_says_who_could_take_it_when_it_is_reached_and_the_alternatives() -> None:
    problem = small_day()
    matrix = HAVERSINE.matrix(problem.places())
    plan = plan_day(problem, matrix, time_limit=0.5, iterations=50).plan
    [alex] = [r for r in plan.routes if r.technician_id == 1]
    stop = next(s for s in alex.stops if s.visit_id == 10)
    why = explain(problem, matrix, plan, 10)
    assert why.summary == f"V10 goes to Alex at {stop.start:%H:%M} (1 of the 2 technicians working has the skills it needs)."
    assert why.details[0].startswith(f"Arrives at {stop.arrival:%H:%M} after ")
    assert "the arrival window is 09:00–11:00" in why.details[0]
    assert len(why.details) == 1  # nobody else has the skill: no alternative to list
    holder = next(r.technician_id for r in plan.routes if any(s.visit_id == 11 for s in r.stops))
    other = {1: "Blair", 2: "Alex"}[holder]
    why_11 = explain(problem, matrix, plan, 11)
    assert "2 of the 2 technicians working" in why_11.summary
    assert why_11.details[1].startswith(f"{other}: would add ")


def test_a_visit_left_out_says_why_and_for_whom_there_was_no_room() -> None:
    problem = small_day()
    matrix = HAVERSINE.matrix(problem.places())
    plan = plan_day(problem, matrix, time_limit=0.5, iterations=50).plan
    nobody = explain(problem, matrix, plan, 12)
    assert nobody.summary == "V12 is not planned: Nobody working that day has every skill the visit needs."
    assert nobody.details == ()
    early = explain(problem, matrix, plan, 13)
    assert early.summary.startswith("V13 is not planned: ")
    assert "shift" in early.summary


def test_problems_and_plans_survive_the_round_trip_through_json() -> None:
    problem = small_day()
    matrix = HAVERSINE.matrix(problem.places())
    plan = plan_day(problem, matrix, time_limit=0.5, iterations=50).plan
    again = problem_from_dict(problem_to_dict(problem))
    assert again == problem
    assert plan_from_dict(again, plan_json(plan)) == plan


@pytest.mark.django_db
def test_the_why_page_explains_a_proposed_visit_and_a_held_back_one(client_as, dispatcher, django_capture_on_commit_callbacks, settings):
    settings.PLANNER_TIME_LIMIT = 1.0
    seeded = seed_day(RUN_DAY, technicians=2, visits=4)
    blocked = seeded.visits[3]
    blocked.job.parts_readiness = PartsReadiness.BLOCKED
    blocked.job.save()
    client = client_as(dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dispatch:plan_start"), {"day": RUN_DAY.isoformat(), "scope": "all"})
    run = PlanningRun.objects.get()
    assert run.status == S.DONE, run.error
    page = client.get(reverse("dispatch:plan_run", args=[run.pk])).content.decode()
    first = seeded.visits[0]
    assert reverse("dispatch:plan_explain", args=[run.pk, first.pk]) in page
    why = client.get(reverse("dispatch:plan_explain", args=[run.pk, first.pk])).content.decode()
    assert f"Why {first.job.number} visit {first.number} is where it is" in why
    assert f"{first.job.number} visit {first.number} goes to " in why
    held = client.get(reverse("dispatch:plan_explain", args=[run.pk, blocked.pk])).content.decode()
    assert "is not planned: The job&#x27;s materials are not on hand yet" in held
    assert client.get(reverse("dispatch:plan_explain", args=[run.pk, 999_999])).status_code == 404
