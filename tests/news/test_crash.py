"""Crash safety of a bulletin send, with real processes: a worker is killed with SIGKILL in the
middle of a mailing and started again. Every subscriber gets the bulletin; the only second
copies are of messages that were in flight at the kill."""

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from yulan.core.mail import outbox_progress
from yulan.core.models import OutgoingMail
from yulan.news import services
from yulan.news.models import Bulletin, Subscriber

from .conftest import make_post

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBERS = 240
BATCH = 10


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgresql://{s['USER']}{password}@{host}:{port}/{s['NAME']}"


def start_worker(smtp_port: int, out: Any) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "yulan.settings",
        "DATABASE_URL": database_url(),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "YULAN_MAIL_BATCH": str(BATCH),
        "YULAN_MAIL_LEASE_SECONDS": "2",
        "YULAN_PERIODIC_SECONDS": "1",
        "YULAN_MAIL_WORKERS": "1",
        "DEBUG": "false",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--interval", "0.2", "--no-reload", "--no-startup-delay", "-v", "0"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def wait_until(predicate, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    rows = dict(OutgoingMail.objects.values_list("status").annotate(n=Count("id")).order_by())
    tasks = list(DBTaskResult.objects.values_list("task_path", "status", "traceback"))
    raise AssertionError(f"timed out waiting for {what}; outbox {rows}; tasks {tasks}; worker log:\n{log.read_text()}")


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_a_worker_killed_mid_send_loses_nothing_and_repeats_only_what_was_in_flight(
    transactional_db, database_queue, editor, health, smtp_server, tmp_path
):
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.fail("the test database must be a file for a second process to use it")
    Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{i:04d}@example.org", language=["en", "zh-hans", "ja"][i % 3], status="active")
        for i in range(SUBSCRIBERS)
    )
    make_post(editor, "weekly-news", [health])
    bulletin = services.bulletin_compile(week_start=timezone.localdate(), actor=editor)
    services.bulletin_schedule(actor=editor, bulletin_id=bulletin.pk, send_at=None)
    smtp_server.inbox.delay = 0.01  # slow enough to be caught in the middle

    log = tmp_path / "worker.log"
    out = log.open("ab")
    worker = start_worker(smtp_server.port, out)
    try:
        wait_until(lambda: len(smtp_server.inbox.recipients) >= SUBSCRIBERS // 3, 60, "a third of the mailing", log)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        in_flight = OutgoingMail.objects.filter(stream=bulletin.stream, status=OutgoingMail.Status.SENDING).count()
        received_at_kill = len(smtp_server.inbox.recipients)
        assert received_at_kill < SUBSCRIBERS, "the worker finished before it was killed"
        assert outbox_progress(bulletin.stream).pending + in_flight > 0

        worker = start_worker(smtp_server.port, out)
        wait_until(
            lambda: Bulletin.objects.get(pk=bulletin.pk).state == Bulletin.State.SENT, 90, "the mailing to finish", log
        )
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
        out.close()
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output

    counts = collections.Counter(smtp_server.inbox.recipients)
    expected = set(Subscriber.objects.values_list("email", flat=True))
    assert set(counts) == expected, "someone did not get the bulletin"
    repeated = sum(n - 1 for n in counts.values())
    assert repeated <= in_flight <= BATCH
    rows = OutgoingMail.objects.filter(stream=bulletin.stream)
    assert rows.count() == SUBSCRIBERS
    assert set(rows.values_list("status", flat=True)) == {OutgoingMail.Status.SENT}
