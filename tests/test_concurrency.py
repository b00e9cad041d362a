"""Concurrent API writes against the real database (SQLite file or PostgreSQL): each thread has its own
connection, as separate requests would. Exactly one of several identical status changes wins and the
rest get 409; an Idempotency-Key used by many requests at once has exactly one effect."""

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from serviceopus.accounts.actions import api_token_create
from serviceopus.api.models import IdempotencyRecord
from serviceopus.customers.models import Customer
from serviceopus.jobs.models import Job, JobEvent
from serviceopus.jobs.status import JobStatus
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 24


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
