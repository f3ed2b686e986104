"""The worker that `make run` starts: tasks queued in the database are run by `db_worker`."""

import pytest
from django.core.management import call_command
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from yulan.core import tasks

from ..smtp import SMTPServer


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_mail_is_queued_on_commit_and_sent_by_the_worker(transactional_db, database_queue, settings):
    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        with transaction.atomic():
            transaction.on_commit(
                lambda: tasks.send_email.enqueue(
                    subject="验证码 / Code", body="Hello", to=["a@example.org"], from_email="Yulan <x@example.org>"
                )
            )
            assert DBTaskResult.objects.count() == 0  # nothing queued before the commit
        assert DBTaskResult.objects.count() == 1
        assert server.inbox.messages == []
        call_command("db_worker", batch=True, interval=0, startup_delay=False, verbosity=0)
        (message,) = server.inbox.messages
        assert message["Subject"] == "验证码 / Code"
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_a_failed_send_is_recorded_not_lost(transactional_db, database_queue, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens
    tasks.send_email.enqueue(subject="s", body="b", to=["a@example.org"], from_email="x@example.org")
    call_command("db_worker", batch=True, interval=0, startup_delay=False, verbosity=0)
    result = DBTaskResult.objects.get()
    assert result.status == "FAILED"
    assert "Connection refused" in str(result.exception_class_path) + str(result.traceback)
