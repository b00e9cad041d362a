"""A planning run's lifecycle: queued by an office user, planned by the task (the real planner with a
short time limit), progress written while it runs, cancelled on request, a failure explained."""

from datetime import date

import pytest

from serviceopus.core.errors import ConflictError, DomainError
from serviceopus.dispatch import planning
from serviceopus.dispatch.models import PlanningRun
from serviceopus.dispatch.planner.builder import BLOCKED_BY_PARTS
from serviceopus.dispatch.planner.travel import TravelError
from serviceopus.jobs.models import PartsReadiness

from .planning_support import seed_day

S = PlanningRun.Status
DAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def quick(settings):  # type: ignore[no-untyped-def]
    settings.PLANNER_TIME_LIMIT = 1.0


@pytest.mark.django_db
def test_a_run_plans_the_day_and_stores_the_proposal(dispatcher, django_capture_on_commit_callbacks):
    seeded = seed_day(DAY, technicians=2, visits=6)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        run = planning.run_start(actor=dispatcher, day=DAY)
    assert len(queued) == 1  # the task goes to the queue only once the run row is committed
    run.refresh_from_db()
    assert run.status == S.DONE, run.error
    assert (run.visit_count, run.served) == (6, 6)
    assert run.stage == "Done"
    result = run.result
    assert {t["name"] for t in result["technicians"]} == {"Alex Tech", "Blair Tech"}
    assert set(result["visits"]) == {str(v.pk) for v in seeded.visits}
    proposed, current = result["proposed"], result["current"]
    assert proposed["served"] == 6
    assert proposed["window_violations"] == 0
    assert proposed["unassigned"] == []
    assert sorted(s["visit_id"] for r in proposed["routes"] for s in r["stops"]) == sorted(v.pk for v in seeded.visits)
    # As booked: three visits on Alex's day, three in the tray.
    assert current["served"] == 3
    assert len(current["unassigned"]) == 3
    assert result["stages"]
    assert run.started_at is not None
    assert run.finished_at is not None


@pytest.mark.django_db
def test_blocked_jobs_are_shown_unassigned_with_the_reason(dispatcher, django_capture_on_commit_callbacks):
    seeded = seed_day(DAY, technicians=1, visits=2)
    job = seeded.visits[1].job
    job.parts_readiness = PartsReadiness.BLOCKED
    job.save()
    with django_capture_on_commit_callbacks(execute=True):
        run = planning.run_start(actor=dispatcher, day=DAY)
    run.refresh_from_db()
    assert [(u["visit_id"], u["code"]) for u in run.result["proposed"]["unassigned"]] == [(seeded.visits[1].pk, BLOCKED_BY_PARTS)]
    assert run.result["visits"][str(seeded.visits[1].pk)]["in_problem"] is False


@pytest.mark.django_db
def test_only_schedulers_start_runs_and_one_at_a_time(tech_a, dispatcher):
    with pytest.raises(DomainError) as refused:
        planning.run_start(actor=tech_a.user, day=DAY)
    assert refused.value.code == "forbidden"
    first = planning.run_start(actor=dispatcher, day=DAY)  # not committed to the queue in this test
    with pytest.raises(ConflictError) as busy:
        planning.run_start(actor=dispatcher, day=DAY)
    assert (busy.value.code, busy.value.details["run_id"]) == ("run_active", first.pk)
    assert PlanningRun.objects.count() == 1


@pytest.mark.django_db
def test_cancel_a_queued_run_and_the_worker_skips_it(dispatcher):
    run = planning.run_start(actor=dispatcher, day=DAY)
    planning.run_cancel(actor=dispatcher, run_id=run.pk)
    planning.execute_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.result) == (S.CANCELLED, {})
    with pytest.raises(ConflictError) as finished:
        planning.run_cancel(actor=dispatcher, run_id=run.pk)
    assert finished.value.code == "run_finished"


@pytest.mark.django_db
def test_a_cancel_while_running_stops_the_planner_and_keeps_its_best_plan(dispatcher, monkeypatch):
    seed_day(DAY, technicians=2, visits=6)
    run = planning.run_start(actor=dispatcher, day=DAY)
    real = planning.plan_day
    asked = []

    def plan_and_cancel(problem, matrix, **kwargs):  # type: ignore[no-untyped-def]
        planning.run_cancel(actor=dispatcher, run_id=run.pk)  # pressed while the solver runs
        stop = kwargs["should_stop"]
        asked.append(stop())
        return real(problem, matrix, time_limit=5, **kwargs)

    monkeypatch.setattr(planning, "plan_day", plan_and_cancel)
    planning.execute_run(run.pk)
    run.refresh_from_db()
    assert asked == [True]
    assert run.status == S.CANCELLED
    assert run.result["proposed"]["served"] >= 1
    assert run.elapsed_seconds < 5


@pytest.mark.django_db
def test_progress_is_written_at_most_once_a_second(dispatcher):
    run = planning.run_start(actor=dispatcher, day=DAY)
    PlanningRun.objects.filter(pk=run.pk).update(status=S.RUNNING)
    now = [100.0]
    progress = planning._Progress(run.pk, clock=lambda: now[0])

    class P:
        stage, served, weighted_served, travel_metres, elapsed_seconds = "first plan", 3, 6, 12000, 0.2

    progress.on_progress(P)
    P.served = 5
    now[0] = 100.5
    progress.on_progress(P)  # within the second: not written
    run.refresh_from_db()
    assert (run.stage, run.served, run.travel_metres) == ("first plan", 3, 12000)
    now[0] = 101.1
    progress.on_progress(P)
    run.refresh_from_db()
    assert run.served == 5


@pytest.mark.django_db
def test_a_failed_run_says_why(dispatcher, monkeypatch):
    seed_day(DAY, technicians=1, visits=1)
    run = planning.run_start(actor=dispatcher, day=DAY)

    def unreachable(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise TravelError("The routing server at http://osrm.local did not answer within 10 seconds.")

    monkeypatch.setattr(planning, "cached_matrix", unreachable)
    planning.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == S.FAILED
    assert run.error == "The routing server at http://osrm.local did not answer within 10 seconds."


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_runs_the_task(dispatcher, settings):
    """Through the django-tasks database backend, as in production: queued on commit, run by db_worker."""
    from django.core.management import call_command

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # django-tasks resets its backends
    seed_day(DAY, technicians=1, visits=2)
    run = planning.run_start(actor=dispatcher, day=DAY)
    run.refresh_from_db()
    assert run.status == S.QUEUED
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    run.refresh_from_db()
    assert run.status == S.DONE, run.error
    assert run.served == 2


@pytest.mark.django_db
def test_a_run_whose_worker_died_no_longer_holds_the_day(dispatcher):
    from datetime import timedelta

    from django.utils import timezone

    dead = PlanningRun.objects.create(day=DAY, status=S.RUNNING, updated_at=timezone.now() - timedelta(hours=1))
    fresh = planning.run_start(actor=dispatcher, day=DAY)
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (S.FAILED, "The worker running this plan stopped before it finished.")
    assert fresh.status == S.QUEUED


@pytest.mark.django_db
def test_the_database_keeps_one_active_run_per_day():
    from django.db import IntegrityError, transaction

    PlanningRun.objects.create(day=DAY, status=S.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanningRun.objects.create(day=DAY, status=S.QUEUED)
    PlanningRun.objects.create(day=DAY, status=S.DONE)  # finished runs are history: any number
    assert PlanningRun.objects.count() == 2
