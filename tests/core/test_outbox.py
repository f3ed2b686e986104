"""The outbox: rows become messages on a real SMTP server; failures are retried or recorded,
claims are exclusive, and a claim whose worker died is taken over after its lease."""

import datetime

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from yulan.core import mail
from yulan.core.models import OutgoingMail

Status = OutgoingMail.Status


def queue(to: str = "someone@example.org", **kwargs) -> OutgoingMail:
    return mail.mail_queue(kind="test", to=to, subject=kwargs.pop("subject", "Hello"), text="Body", **kwargs)


def test_a_queued_message_arrives_with_its_text_and_html(db, smtp_server):
    queue(subject="签证 — 更新 / Visa update", html="<p>Body</p>", headers={"X-Yulan-Test": "1"})
    stats = mail.outbox_deliver()
    assert stats.sent == 1
    (message,) = smtp_server.inbox.messages
    assert message["Subject"] == "签证 — 更新 / Visa update"
    assert message["X-Yulan-Test"] == "1"
    assert message.get_body(("plain",)).get_content().strip() == "Body"
    assert message.get_body(("html",)).get_content().strip() == "<p>Body</p>"
    row = OutgoingMail.objects.get()
    assert row.status == Status.SENT and row.sent_at is not None and row.attempts == 1


def test_delivery_is_queued_only_when_the_transaction_commits(transactional_db, settings, smtp_server):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with transaction.atomic():
        queue()
        assert DBTaskResult.objects.count() == 0
    assert DBTaskResult.objects.count() == 1
    call_command("db_worker", batch=True, interval=0, startup_delay=False, verbosity=0)
    assert len(smtp_server.inbox.messages) == 1
    assert OutgoingMail.objects.get().status == Status.SENT


def test_a_rolled_back_transaction_queues_nothing(transactional_db, smtp_server):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue()
        raise RuntimeError
    assert OutgoingMail.objects.count() == 0
    assert smtp_server.inbox.messages == []


def test_a_temporary_refusal_is_retried_later_and_then_delivered(db, smtp_server, settings):
    settings.YULAN_MAIL_RETRY_SECONDS = 60
    smtp_server.inbox.refuse["later@example.org"] = "451 Greylisted, try again later"
    queue("later@example.org")
    queue("fine@example.org")
    stats = mail.outbox_deliver()
    assert (stats.sent, stats.retried) == (1, 1)
    row = OutgoingMail.objects.get(to_email="later@example.org")
    assert row.status == Status.PENDING and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at > timezone.now() + datetime.timedelta(seconds=40)
    # Not due yet: nothing is claimed.
    assert mail.outbox_deliver().sent == 0
    del smtp_server.inbox.refuse["later@example.org"]
    OutgoingMail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert mail.outbox_deliver().sent == 1
    assert sorted(smtp_server.inbox.recipients) == ["fine@example.org", "later@example.org"]


def test_retries_end_after_the_set_number_of_attempts(db, smtp_server, settings):
    settings.YULAN_MAIL_MAX_ATTEMPTS = 2
    smtp_server.inbox.refuse["later@example.org"] = "451 Try again later"
    row = queue("later@example.org")
    mail.outbox_deliver()
    OutgoingMail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    mail.outbox_deliver()
    row.refresh_from_db()
    assert row.status == Status.FAILED and row.attempts == 2


def test_a_permanent_refusal_is_recorded_and_reported_to_the_kind(db, smtp_server):
    bounced: list[tuple[str, str]] = []
    mail.register_bounce_handler("test-bounce", lambda address, reason: bounced.append((address, reason)))
    smtp_server.inbox.refuse["gone@example.org"] = "550 No such user"
    mail.mail_queue(kind="test-bounce", to="gone@example.org", subject="s", text="t")
    stats = mail.outbox_deliver()
    assert stats.failed == 1
    row = OutgoingMail.objects.get()
    assert row.status == Status.FAILED and "550" in row.last_error
    assert bounced and bounced[0][0] == "gone@example.org"


def test_an_unreachable_server_keeps_the_mail_for_a_retry(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens
    queue()
    stats = mail.outbox_deliver()
    assert stats.retried == 1
    row = OutgoingMail.objects.get()
    assert row.status == Status.PENDING
    assert "Connection refused" in row.last_error or "Errno" in row.last_error


def test_a_claim_is_exclusive_until_its_lease_runs_out(db, settings):
    settings.YULAN_MAIL_LEASE_SECONDS = 300
    for i in range(5):
        queue(f"p{i}@example.org")
    first = mail.outbox_claim(worker="a", limit=3)
    second = mail.outbox_claim(worker="b", limit=10)
    assert len(first) == 3 and len(second) == 2
    assert not {m.pk for m in first} & {m.pk for m in second}
    assert mail.outbox_claim(worker="c", limit=10) == []
    # Worker "a" died: once its lease is over, its rows are claimed again (a second attempt).
    OutgoingMail.objects.filter(claimed_by="a").update(next_attempt_at=timezone.now())
    again = mail.outbox_claim(worker="c", limit=10)
    assert {m.pk for m in again} == {m.pk for m in first}
    assert all(m.attempts == 2 and m.claimed_by == "c" for m in again)


def test_a_row_with_a_key_is_queued_once(db):
    rows = [OutgoingMail(kind="test", to_email="a@example.org", key="once:1") for _ in range(3)]
    assert mail.mail_queue_many(rows) == 1
    assert mail.mail_queue_many([OutgoingMail(kind="test", to_email="a@example.org", key="once:1")]) == 0
    assert OutgoingMail.objects.count() == 1


def test_progress_counts_each_status(db):
    for status in [Status.SENT, Status.SENT, Status.FAILED, Status.PENDING]:
        OutgoingMail.objects.create(kind="test", stream="s:1", to_email="a@example.org", status=status)
    OutgoingMail.objects.create(kind="test", stream="other", to_email="a@example.org")
    progress = mail.outbox_progress("s:1")
    assert (progress.sent, progress.failed, progress.pending, progress.total) == (2, 1, 1, 4)
    assert progress.percent == 75


def test_the_periodic_kick_queues_delivery_only_while_mail_is_due(transactional_db, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert mail.outbox_kick() is False
    OutgoingMail.objects.create(kind="test", to_email="a@example.org")
    assert mail.outbox_kick() is True
    assert mail.outbox_kick() is False  # one waiting task is enough
    assert DBTaskResult.objects.count() == 1


def test_the_outbox_command_shows_progress(db, capsys):
    OutgoingMail.objects.create(kind="test", stream="bulletin:7", to_email="a@example.org", status=Status.SENT)
    OutgoingMail.objects.create(kind="test", stream="bulletin:7", to_email="b@example.org")
    call_command("outbox")
    out = capsys.readouterr().out
    assert "bulletin:7" in out and "sent 1" in out and "waiting 1" in out and "50%" in out


def test_the_rate_setting_spaces_sends_out(db, smtp_server, settings, monkeypatch):
    settings.YULAN_MAIL_RATE_PER_SECOND = 4
    clock = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(mail.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(mail.time, "sleep", sleep)
    for i in range(5):
        queue(f"r{i}@example.org")
    assert mail.outbox_deliver().sent == 5
    # The first goes at once, each next one a quarter of a second later.
    assert sleeps == [0.25, 0.25, 0.25, 0.25]


def test_one_connection_carries_a_whole_batch(db, smtp_server, monkeypatch):
    import smtplib

    opened: list[int] = []
    real_connect = smtplib.SMTP.connect

    def connect(self, *args, **kwargs):
        opened.append(1)
        return real_connect(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", connect)
    for i in range(12):
        queue(f"r{i}@example.org")
    assert mail.outbox_deliver(batch=5).sent == 12
    assert len(opened) == 1


def test_done_mail_is_pruned_after_the_kept_days(db, settings):
    settings.YULAN_MAIL_KEEP_DAYS = 30
    old = timezone.now() - datetime.timedelta(days=31)
    for status in [Status.SENT, Status.FAILED, Status.CANCELLED, Status.PENDING]:
        OutgoingMail.objects.create(kind="test", to_email="a@example.org", status=status, created_at=old)
    OutgoingMail.objects.create(kind="test", to_email="a@example.org", status=Status.SENT)
    assert mail.outbox_prune() == 3
    assert sorted(OutgoingMail.objects.values_list("status", flat=True)) == [Status.PENDING, Status.SENT]
