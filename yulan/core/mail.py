"""Outgoing e-mail through the outbox.

`mail_queue` writes a row in the caller's transaction and, once that commits, asks the task
worker to deliver. `outbox_deliver` (run by the `deliver_outbox` task) claims due rows in small
batches — `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, the database write lock that every
SQLite transaction here takes up front — sends them over one SMTP connection and records each
outcome. A claim is a lease: rows of a worker that died are claimed again when it runs out.
So a crash loses nothing, and a message is sent twice only if it was in flight at the crash.

Kinds of mail whose content is rendered at send time (a bulletin per subscriber) register a
renderer here; kinds that want to know about addresses that bounce register a handler.
"""

import logging
import random
import smtplib
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Count, F
from django.template.loader import render_to_string
from django.utils import timezone

from yulan.core.models import OutgoingMail

logger = logging.getLogger(__name__)

Status = OutgoingMail.Status
# A renderer turns claimed rows into messages; a row it leaves out is not sent (cancelled).
Renderer = Callable[[list[OutgoingMail]], dict[int, EmailMessage]]
BounceHandler = Callable[[str, str], None]


@dataclass
class MailKind:
    render: Renderer | None = None
    on_bounce: BounceHandler | None = None


_KINDS: dict[str, MailKind] = defaultdict(MailKind)


def register_renderer(kind: str, render: Renderer) -> None:
    _KINDS[kind].render = render


def register_bounce_handler(kind: str, handler: BounceHandler) -> None:
    """`handler(address, reason)` runs when the receiving server refuses an address for good."""
    _KINDS[kind].on_bounce = handler


def templated_message(*, to: str, subject: str, template: str, context: dict[str, Any]) -> EmailMessage:
    """A text and HTML message from `<template>.txt` and `<template>.html`, rendered in the active
    language with the site's name."""
    context = {"site_name": settings.YULAN_SITE_NAME, **context}
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    return message


# --- queueing ---------------------------------------------------------------------------------


def mail_queue(
    *,
    kind: str,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    language: str = "",
    headers: dict[str, str] | None = None,
    key: str | None = None,
) -> OutgoingMail:
    """Queue one rendered message; it is delivered after the surrounding transaction commits."""
    mail = OutgoingMail.objects.create(
        kind=kind,
        to_email=to,
        subject=subject[:300],
        text=text,
        html=html,
        language=language,
        headers=headers or {},
        key=key,
    )
    delivery_start()
    return mail


def mail_queue_later(
    *, kind: str, to: str, language: str, context: dict[str, Any], key: str | None = None, stream: str = ""
) -> None:
    """Queue one message of a kind with a renderer: the row names what to say (`context`) and
    the renderer writes it at send time, so it says what is true then, or nothing if the
    message has become pointless (a reminder for an event that was cancelled)."""
    row = OutgoingMail(kind=kind, to_email=to, language=language, context=context, key=key, stream=stream)
    if key is None:
        row.save()
    else:
        mail_queue_many([row])
    delivery_start()


def mail_queue_many(rows: Iterable[OutgoingMail], *, chunk: int = 2000) -> int:
    """Queue many rows at once (a fan-out). Rows whose key is already queued are skipped, so
    running a fan-out again after a crash queues only what is missing. Returns rows written."""
    written = 0
    buffer: list[OutgoingMail] = []
    for row in rows:
        buffer.append(row)
        if len(buffer) >= chunk:
            written += _insert(buffer)
            buffer = []
    if buffer:
        written += _insert(buffer)
    return written


def outbox_statistics_refresh() -> None:
    """After a large fan-out, tell PostgreSQL's planner how many rows now wait: with the
    statistics of a nearly empty queue it sorts every waiting row for each claim instead of
    reading the few it needs along the index. (SQLite plans these queries well without.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {OutgoingMail._meta.db_table}")


def _insert(rows: list[OutgoingMail]) -> int:
    keys = {row.key for row in rows if row.key}
    with transaction.atomic():
        existing = OutgoingMail.objects.filter(key__in=keys).count() if keys else 0
        OutgoingMail.objects.bulk_create(rows, ignore_conflicts=True)
    return len(keys) - existing + sum(1 for row in rows if not row.key)


# Set while a delivery task waits in the queue (cleared when it starts): a burst of single
# messages (a feedback form sent hundreds of times a second) then queues one task, not one each.
DELIVERY_WAITING_KEY = "outbox:delivery-waiting"


def delivery_start(workers: int = 1) -> None:
    """After commit, queue `workers` delivery tasks (each drains the outbox with the others).
    For a single message, no new task is queued while one is waiting to start: it will claim
    this message too. (A task that never starts is covered by the periodic kick once the mark
    lapses.)"""
    from yulan.core import tasks

    def enqueue() -> None:
        if workers <= 1:
            if cache.add(DELIVERY_WAITING_KEY, 1, timeout=settings.YULAN_PERIODIC_SECONDS * 2):
                tasks.deliver_outbox.enqueue()
            return
        for _ in range(workers):
            tasks.deliver_outbox.enqueue()

    transaction.on_commit(enqueue)


def delivery_started() -> None:
    """A delivery task is starting: messages committed from now on need a task of their own."""
    cache.delete(DELIVERY_WAITING_KEY)


def outbox_kick() -> bool:
    """Periodic job: make sure a delivery task is queued while due mail waits (for retries whose
    backoff is over, and for rows a dead worker left behind). Safe to run any number of times."""
    from django_tasks_db.models import DBTaskResult

    from yulan.core import tasks

    if not OutgoingMail.objects.filter(
        status__in=[Status.PENDING, Status.SENDING], next_attempt_at__lte=timezone.now()
    ).exists():
        return False
    if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db"):
        path = f"{tasks.deliver_outbox.func.__module__}.{tasks.deliver_outbox.func.__qualname__}"
        if DBTaskResult.objects.ready().filter(task_path=path).exists():
            return False
    tasks.deliver_outbox.enqueue()
    return True


# --- delivery ---------------------------------------------------------------------------------


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)


def outbox_claim(*, worker: str, limit: int) -> list[OutgoingMail]:
    """Claim up to `limit` due rows for `worker` and return them. Each claim counts as an
    attempt and holds the row for the lease; other workers skip rows held by someone else."""
    now = timezone.now()
    lease = timedelta(seconds=settings.YULAN_MAIL_LEASE_SECONDS)
    with transaction.atomic():
        rows: list[OutgoingMail] = []
        # Waiting rows first, then rows whose claim ran out. One status at a time, so that the
        # (status, next_attempt_at, id) index gives the oldest rows without sorting the table.
        for status in (Status.PENDING, Status.SENDING):
            due = OutgoingMail.objects.filter(status=status, next_attempt_at__lte=now).order_by("next_attempt_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True)
            rows += due[: limit - len(rows)]
            if len(rows) >= limit:
                break
        if not rows:
            return []
        OutgoingMail.objects.filter(id__in=[row.pk for row in rows]).update(
            status=Status.SENDING,
            claimed_by=worker,
            claimed_at=now,
            next_attempt_at=now + lease,
            attempts=F("attempts") + 1,
        )
    for row in rows:
        row.status, row.claimed_by, row.claimed_at = Status.SENDING, worker, now
        row.next_attempt_at, row.attempts = now + lease, row.attempts + 1
    return rows


def _stored_message(mail: OutgoingMail) -> EmailMessage:
    message = EmailMultiAlternatives(
        mail.subject, mail.text, settings.DEFAULT_FROM_EMAIL, [mail.to_email], headers=mail.headers or None
    )
    if mail.html:
        message.attach_alternative(mail.html, "text/html")
    return message


def _render(rows: list[OutgoingMail]) -> dict[int, EmailMessage]:
    by_kind: dict[str, list[OutgoingMail]] = defaultdict(list)
    for row in rows:
        by_kind[row.kind].append(row)
    messages: dict[int, EmailMessage] = {}
    for kind, group in by_kind.items():
        render = _KINDS[kind].render if kind in _KINDS else None
        if render is None:
            messages.update({row.pk: _stored_message(row) for row in group})
        else:
            messages.update(render(group))
    return messages


def _permanent(exc: BaseException) -> bool:
    """5xx answers about the recipient or the message will not change on a retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return False  # our own configuration; retry once it is fixed
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{addr}: {code} {msg!r}" for addr, (code, msg) in exc.recipients.items())
    return f"{type(exc).__name__}: {exc}"[:1000]


def _backoff(attempts: int) -> timedelta:
    base = settings.YULAN_MAIL_RETRY_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(base, 6 * 3600) * random.uniform(0.8, 1.2))  # noqa: S311 (jitter)


class _Pacer:
    """Keeps one worker at or under YULAN_MAIL_RATE_PER_SECOND (0 = no limit)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


def outbox_deliver(
    *, worker: str | None = None, batch: int | None = None, max_batches: int | None = None
) -> DeliveryStats:
    """Send due mail until none is left (or `max_batches` claims have been handled)."""
    worker = worker or f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:12]}"
    batch = batch or settings.YULAN_MAIL_BATCH
    stats = DeliveryStats()
    pacer = _Pacer(settings.YULAN_MAIL_RATE_PER_SECOND)
    smtp = get_connection(fail_silently=False)
    try:
        while max_batches is None or stats.batches < max_batches:
            rows = outbox_claim(worker=worker, limit=batch)
            if not rows:
                break
            stats.batches += 1
            _deliver_batch(rows, smtp, pacer, stats)
    finally:
        smtp.close()
    return stats


def _deliver_batch(rows: list[OutgoingMail], smtp: Any, pacer: _Pacer, stats: DeliveryStats) -> None:
    try:
        messages = _render(rows)
    except Exception as exc:  # a rendering bug must not stop other mail
        logger.exception("rendering %d outgoing e-mails failed", len(rows))
        messages = {}
        render_error = _describe(exc)
    else:
        render_error = ""
    sent: list[int] = []
    retry: list[tuple[OutgoingMail, str]] = []
    failed: list[tuple[OutgoingMail, str]] = []
    cancelled: list[int] = []
    for row in rows:
        message = messages.get(row.pk)
        if message is None:
            if render_error:
                retry.append((row, render_error))
            else:
                cancelled.append(row.pk)
            continue
        pacer.wait()
        try:
            # Open once and keep it open: send_messages() on a closed backend would open and
            # close a connection for every message.
            smtp.open()
            smtp.send_messages([message])
        except (smtplib.SMTPException, OSError) as exc:
            reason = _describe(exc)
            if _permanent(exc):
                failed.append((row, reason))
            else:
                retry.append((row, reason))
                smtp.close()  # the next send opens a fresh connection
        else:
            sent.append(row.pk)
    _record(rows[0].claimed_by, sent, retry, failed, cancelled)
    stats.sent += len(sent)
    stats.retried += len(retry)
    stats.failed += len(failed)
    stats.cancelled += len(cancelled)
    stats.errors.extend(reason for _row, reason in retry + failed)
    for row, reason in failed:
        handler = _KINDS[row.kind].on_bounce if row.kind in _KINDS else None
        if handler is not None:
            try:
                handler(row.to_email, reason)
            except Exception:
                logger.exception("recording a bounce for outgoing e-mail %s failed", row.pk)


def _record(
    worker: str,
    sent: list[int],
    retry: list[tuple[OutgoingMail, str]],
    failed: list[tuple[OutgoingMail, str]],
    cancelled: list[int],
) -> None:
    now = timezone.now()
    with transaction.atomic():
        # Only rows still held by this worker: if the lease ran out and another worker took a
        # row over, that worker records it.
        mine = OutgoingMail.objects.filter(claimed_by=worker, status=Status.SENDING)
        if sent:
            mine.filter(id__in=sent).update(status=Status.SENT, sent_at=now, last_error="")
        if cancelled:
            mine.filter(id__in=cancelled).update(status=Status.CANCELLED)
        for row, reason in failed:
            mine.filter(id=row.pk).update(status=Status.FAILED, last_error=reason)
        for row, reason in retry:
            if row.attempts >= settings.YULAN_MAIL_MAX_ATTEMPTS:
                mine.filter(id=row.pk).update(status=Status.FAILED, last_error=reason)
            else:
                mine.filter(id=row.pk).update(
                    status=Status.PENDING, next_attempt_at=now + _backoff(row.attempts), last_error=reason
                )


def outbox_prune(now: Any = None) -> int:
    """Periodic job: forget sent and unsent mail after YULAN_MAIL_KEEP_DAYS (failed rows stay
    for staff to look at until then too). Returns the rows deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.YULAN_MAIL_KEEP_DAYS)
    deleted, _by_model = OutgoingMail.objects.filter(
        status__in=[Status.SENT, Status.CANCELLED, Status.FAILED], created_at__lt=cutoff
    ).delete()
    return deleted


# --- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    pending: int
    sending: int
    sent: int
    failed: int
    cancelled: int

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.sent + self.failed + self.cancelled

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.cancelled

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)


def outbox_progress(stream: str | None = None) -> Progress:
    rows = OutgoingMail.objects.all()
    if stream is not None:
        rows = rows.filter(stream=stream)
    counts = dict(rows.values_list("status").annotate(n=Count("id")).order_by())
    return Progress(**{status: counts.get(status, 0) for status in Status.values})
