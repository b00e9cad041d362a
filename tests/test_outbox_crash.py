"""The outbox survives a worker killed mid-batch: 100 notifications (50 emails, 50 texts) go to a real
SMTP server and an HTTP SMS provider on loopback; `manage.py outbox_worker` runs as a separate process
against this test database, is SIGKILLed while it holds claimed messages, and a new worker finishes the
job. Every message reaches the receiving side exactly once by its id (Message-ID, Idempotency-Key); on
the wire, only the message that was in flight when the worker died may have gone twice."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from serviceopus.messaging.models import Channel, Notice, OutboxMessage
from serviceopus.messaging.outbox import notify
from serviceopus.messaging.tests.fakes import SmsProviderFake, SmtpServer
from tests.factories import CustomerFactory, JobFactory, LocationFactory

pytestmark = pytest.mark.django_db(transaction=True)

S = OutboxMessage.Status
JOBS = 25  # × 2 notices × 2 channels = 100 messages
BATCH = 5
LEASE_SECONDS = 2
KILL_AFTER = 35  # messages arrived (on either server) before the kill
SEND_DELAY = (0.02, 0.05)  # each server's pause before confirming a message


def _database_env() -> dict[str, str]:
    """The worker process's settings for the database this test runs on."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        return {"DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    return {"DATABASE_URL": "", "SQLITE_PATH": str(db["NAME"])}


def _worker(worker_id: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "outbox_worker", "--batch", str(BATCH), "--interval", "0.1", "--worker-id", worker_id]
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(condition: Callable[[], bool], *, timeout: float, what: str, worker: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}) while waiting for {what}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.005)


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.kill()
        worker.wait(timeout=10)


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(tmp_path):
    for _ in range(JOBS):
        job = JobFactory(location=LocationFactory(customer=CustomerFactory(phone="555-0100")))
        notify(job=job, notice=Notice.ON_THE_WAY, context={"eta": "10:40"})
        notify(job=job, notice=Notice.COMPLETED)
    messages = list(OutboxMessage.objects.all())
    assert [m.status for m in messages] == [S.PENDING] * 100
    emails = {m.message_id for m in messages if m.channel == Channel.EMAIL}
    texts = {str(m.uid) for m in messages if m.channel == Channel.SMS}
    assert len(emails) == len(texts) == 50

    log = tmp_path / "worker.log"
    with SmtpServer(delay=SEND_DELAY) as smtp, SmsProviderFake(token="crash-token", delay=SEND_DELAY) as sms:
        env = {
            **os.environ,
            **_database_env(),
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "SECRET_KEY": settings.SECRET_KEY,  # the portal links' secrets derive from it
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": smtp.host,
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_TIMEOUT": "5",
            "SMS_PROVIDER": "serviceopus.messaging.channels.HttpSmsProvider",
            "SMS_HTTP_URL": sms.url,
            "SMS_HTTP_TOKEN": "crash-token",
            "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
            "OUTBOX_BACKOFF_SECONDS": "1",
        }

        def arrived() -> int:
            return len(smtp.received) + len(sms.requests)

        def held_by(worker_id: str) -> int:
            return OutboxMessage.objects.filter(status=S.SENDING, claimed_by=worker_id).count()

        def mid_send() -> bool:
            # A server has taken a message the worker has not marked sent yet (it waits for the confirmation),
            # and more of its batch are still to come: the kill lands mid-batch, mid-send.
            seen = arrived()
            return seen >= KILL_AFTER and seen > OutboxMessage.objects.filter(status=S.SENT).count() and held_by("first") >= 3

        first = _worker("first", env, log)
        try:
            _wait_for(mid_send, timeout=30, what=f"{KILL_AFTER} messages", worker=first, log=log)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            _stop(first)
        assert first.returncode == -signal.SIGKILL
        at_kill = arrived()
        stranded = held_by("first")
        assert stranded >= 2  # claimed, some perhaps on the wire, none marked: only their lease brings them back

        second = _worker("second", env, log)
        try:
            _wait_for(
                lambda: not OutboxMessage.objects.filter(status__in=[S.PENDING, S.SENDING]).exists(),
                timeout=60,
                what="the outbox to drain",
                worker=second,
                log=log,
            )
            second.send_signal(signal.SIGTERM)  # a graceful stop this time
            second.wait(timeout=10)
        finally:
            _stop(second)
        assert second.returncode == 0, log.read_text()[-4000:]

        mail_view, sms_view = smtp.by_message_id(), sms.delivered
        wire_duplicates = len(smtp.received) - len(mail_view) + len(sms.requests) - len(sms_view)
        report = (
            f"{at_kill} messages had arrived when the first worker was killed holding {stranded} claimed; "
            f"on the wire {len(smtp.received)} emails and {len(sms.requests)} texts arrived, {wire_duplicates} of them a resend "
            f"of a message in flight at the kill; the receiving side deduplicated to {len(mail_view)} + {len(sms_view)}."
        )
        print(report)  # noqa: T201

        # Exactly once at the receiving side, by id: each of the 100 messages, nothing else.
        assert set(mail_view) == emails, report
        assert set(sms_view) == texts, report
        # On the wire, at most the one message the dead worker was sending went twice (it sends one at a time).
        assert wire_duplicates <= 1, report
        assert all(len(copies) <= 2 for copies in mail_view.values()), report
        # Every row says sent; the stranded ones on a second attempt, by the second worker.
        rows = list(OutboxMessage.objects.values_list("status", "claimed_by", "attempts"))
        assert {status for status, _, _ in rows} == {S.SENT}, report
        assert sum(1 for _, worker, attempts in rows if worker == "second" and attempts == 2) == stranded, report
        assert all(attempts == 1 for _, worker, attempts in rows if worker == "first"), report
        # The portal URL was put in at send time, in both processes alike.
        assert all("/p/" in mail.body and "[[portal-url]]" not in mail.body for mail in smtp.received), report
