"""Concurrent API writes against the real database (SQLite file or PostgreSQL): each thread has its own
connection, as separate requests would. Exactly one of several identical status changes wins and the
rest get 409; an Idempotency-Key used by many requests at once has exactly one effect; of two edits
made from the same version, one wins and the other is refused as stale."""

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from serviceopus.accounts.actions import api_token_create
from serviceopus.api.models import IdempotencyRecord
from serviceopus.customers.models import Customer
from serviceopus.dispatch.actions import visit_schedule
from serviceopus.dispatch.models import Visit, VisitEvent
from serviceopus.field.models import TimeEntry
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory, TechnicianFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 24
# The acceptance bar for the visit status machine (issue 3): fifty taps at once.
TAPS = 50


def run_at_once(n: int, request: Callable[[int], Any]) -> list[Any]:
    """Start `n` threads that each call request(i) at the same moment; returns their results."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = request(i)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    assert not errors, errors
    return results


def _poster(token: str, path: str, body: dict, key: str | None = None) -> Callable[[int], tuple[int, dict, bool]]:
    headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}

    def post(i: int) -> tuple[int, dict, bool]:
        response = Client(raise_request_exception=False).post(f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers)
        return response.status_code, response.json(), response.has_header("Idempotent-Replayed")

    return post


@pytest.fixture
def token(dispatcher) -> str:  # type: ignore[no-untyped-def]
    raw = api_token_create(actor=dispatcher, name="load")[1]
    # The token's first use writes last_used_at; do it now so the threads only race on the job.
    assert Client().get("/api/v1/tokens", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    return raw


def test_one_of_many_identical_transitions_wins(token):
    job = JobFactory(status=JobStatus.SCHEDULED)
    results = run_at_once(THREADS, _poster(token, f"/jobs/{job.pk}/transition", {"to": "in_progress"}))
    statuses = Counter(status for status, _, _ in results)
    assert statuses == {200: 1, 409: THREADS - 1}, statuses
    assert {body["error"]["code"] for status, body, _ in results if status == 409} <= {"not_allowed", "conflict"}
    job.refresh_from_db()
    assert (job.status, job.version) == (JobStatus.IN_PROGRESS, 2)
    assert JobEvent.objects.filter(job=job).count() == 1


def test_one_of_many_edits_with_the_same_version_wins(token):
    job = JobFactory(scope="Original")
    headers = {"Authorization": f"Bearer {token}"}

    def patch(i: int) -> tuple[int, dict]:
        body = json.dumps({"version": 1, "scope": f"Edit {i}"})
        response = Client(raise_request_exception=False).patch(f"/api/v1/jobs/{job.pk}", body, content_type="application/json", headers=headers)
        return response.status_code, response.json()

    results = run_at_once(THREADS, patch)
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 409: THREADS - 1}, statuses
    assert {body["error"]["code"] for status, body in results if status == 409} == {"stale"}
    winner = next(body for status, body in results if status == 200)
    job.refresh_from_db()
    assert (job.scope, job.version) == (winner["scope"], 2)
    assert JobEvent.objects.filter(job=job, kind="edited").count() == 1


def test_one_idempotency_key_used_at_once_has_one_effect(token):
    results = run_at_once(THREADS, _poster(token, "/customers", {"name": "Ann Baker"}, key="create-ann"))
    assert Customer.objects.count() == 1
    created = [body for status, body, _ in results if status == 201]
    in_flight = [body for status, body, _ in results if status == 409]
    assert len(created) + len(in_flight) == THREADS, Counter(status for status, _, _ in results)
    assert created, "the first request must answer 201"
    assert all(body == created[0] for body in created)
    assert created[0]["id"] == Customer.objects.get().pk
    assert {body["error"]["code"] for body in in_flight} <= {"idempotency_in_flight"}
    assert sum(1 for status, _, replayed in results if status == 201 and not replayed) == 1
    assert IdempotencyRecord.objects.get(key="create-ann").state == IdempotencyRecord.State.DONE


def test_one_idempotency_key_on_a_transition_moves_the_job_once(token):
    job = JobFactory(status=JobStatus.SCHEDULED)
    results = run_at_once(THREADS, _poster(token, f"/jobs/{job.pk}/transition", {"to": "in_progress"}, key="start-work"))
    assert {status for status, _, _ in results} <= {200, 409}
    assert {body["error"]["code"] for status, body, _ in results if status == 409} <= {"idempotency_in_flight"}
    answers = [body for status, body, _ in results if status == 200]
    assert answers
    assert all(body == answers[0] for body in answers)
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    assert JobEvent.objects.filter(job=job).count() == 1


# ---- visits -------------------------------------------------------------------------------------


def _warm_token(user) -> str:  # type: ignore[no-untyped-def]
    raw = api_token_create(actor=user, name="load")[1]
    assert Client().get("/api/v1/visits", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    return raw


@pytest.fixture
def crew_visit(dispatcher):  # type: ignore[no-untyped-def]
    """Today's visit with a crew of two, and a warmed-up token for each crew member."""
    lead, helper = TechnicianFactory(), TechnicianFactory()
    start = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
    [visit] = visit_schedule(actor=dispatcher, job_id=JobFactory().pk, start=start, lead_id=lead.pk, helper_ids=[helper.pk])
    return visit, [_warm_token(lead.user), _warm_token(helper.user)]


def test_one_of_fifty_identical_visit_transitions_wins(crew_visit):
    visit, tokens = crew_visit
    path, body = f"/visits/{visit.pk}/transitions", {"to": "en_route", "expected": "scheduled"}
    posters = [_poster(token, path, body) for token in tokens]  # both crew members tap at once
    results = run_at_once(TAPS, lambda i: posters[i % 2](i))
    statuses = Counter(status for status, _, _ in results)
    assert statuses == {200: 1, 409: TAPS - 1}, statuses
    assert {body["error"]["code"] for status, body, _ in results if status == 409} <= {"not_allowed", "conflict"}
    # The losers see the current state.
    assert all(body["error"]["details"]["current_status"] == "en_route" for status, body, _ in results if status == 409)
    visit.refresh_from_db()
    assert (visit.status, visit.version) == ("en_route", 2)
    assert VisitEvent.objects.filter(visit=visit, kind=VisitEvent.Kind.STATUS).count() == 1
    assert TimeEntry.objects.filter(visit=visit).count() == 2  # one travel entry per crew member
    assert Job.objects.get(pk=visit.job_id).status == JobStatus.IN_PROGRESS


def test_fifty_retries_with_one_idempotency_key_have_one_effect_and_one_answer(crew_visit):
    visit, tokens = crew_visit
    post = _poster(tokens[0], f"/visits/{visit.pk}/transitions", {"to": "en_route"}, key="tap-en-route")
    results = run_at_once(TAPS, post)
    assert {status for status, _, _ in results} <= {200, 409}, Counter(status for status, _, _ in results)
    assert {body["error"]["code"] for status, body, _ in results if status == 409} <= {"idempotency_in_flight"}
    assert sum(1 for status, _, replayed in results if status == 200 and not replayed) == 1
    # A client retries an in-flight answer; once the first request is done every retry gets its answer.
    final = [(status, body) if status == 200 else post(i)[:2] for i, (status, body, _) in enumerate(results)]
    assert {status for status, _ in final} == {200}
    assert all(body == final[0][1] for _, body in final)
    assert final[0][1]["status"] == "en_route"
    assert VisitEvent.objects.filter(visit=visit, kind=VisitEvent.Kind.STATUS).count() == 1
    assert Visit.objects.get(pk=visit.pk).version == 2
    assert IdempotencyRecord.objects.get(key="tap-en-route").state == IdempotencyRecord.State.DONE


def test_two_dispatchers_editing_one_visit_version_one_wins(crew_visit, dispatcher, manager):
    visit, _ = crew_visit
    tokens = [_warm_token(dispatcher), _warm_token(manager)]
    notes = ["Gate code 1234", "Call on arrival"]

    def patch(i: int) -> tuple[int, dict]:
        body = json.dumps({"version": visit.version, "crew_notes": notes[i], "duration_minutes": 60 + 30 * i})
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        response = Client(raise_request_exception=False).patch(f"/api/v1/visits/{visit.pk}", body, content_type="application/json", headers=headers)
        return response.status_code, response.json()

    results = run_at_once(2, patch)
    assert sorted(status for status, _ in results) == [200, 409], results
    winner = next(i for i, (status, _) in enumerate(results) if status == 200)
    loser = results[1 - winner][1]["error"]
    assert loser["code"] == "stale"
    assert loser["details"]["current"]["version"] == 2
    visit.refresh_from_db()
    # Nothing of the stale edit was written over the winner's.
    assert (visit.crew_notes, visit.duration_minutes, visit.version) == (notes[winner], 60 + 30 * winner, 2)
    assert VisitEvent.objects.filter(visit=visit).exclude(kind=VisitEvent.Kind.SCHEDULED).count() == 1
