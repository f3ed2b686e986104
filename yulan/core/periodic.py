"""Periodic jobs, registered in this one place. Each is safe to run twice and at the same time
in several workers: it looks at the database and only does what is still to do.

`manage.py worker` runs them beside the task worker; `manage.py periodic` runs them once (for
cron, or by hand)."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    path: str

    @property
    def func(self) -> Callable[[], object]:
        return import_string(self.path)


def jobs() -> list[Job]:
    tick = settings.YULAN_PERIODIC_SECONDS
    return [
        Job("outbox.kick", tick, "yulan.core.mail.outbox_kick"),
        Job("outbox.prune", 6 * 3600, "yulan.core.mail.outbox_prune"),
        Job("news.publish_due", tick, "yulan.news.services.posts_publish_due"),
        Job("news.bulletin_resume", tick, "yulan.news.services.bulletins_resume"),
        Job("news.bulletin_compile", 15 * 60, "yulan.news.services.bulletin_compile_due"),
        Job("events.offers_expire", tick, "yulan.events.services.offers_expire"),
        Job("events.reminders", tick, "yulan.events.services.reminders_queue"),
    ]


def run_once(names: list[str] | None = None) -> dict[str, object]:
    results: dict[str, object] = {}
    for job in jobs():
        if names and job.name not in names:
            continue
        try:
            results[job.name] = job.func()
        except Exception:
            logger.exception("periodic job %s failed", job.name)
            results[job.name] = "error"
    return results


class Scheduler(threading.Thread):
    """Runs each job every `every_seconds` in a background thread of a worker process."""

    def __init__(self) -> None:
        super().__init__(name="yulan-periodic", daemon=True)
        self.stopping = threading.Event()

    def run(self) -> None:
        last: dict[str, float] = {}
        while not self.stopping.is_set():
            now = time.monotonic()
            for job in jobs():
                if now - last.get(job.name, -1e9) >= job.every_seconds:
                    last[job.name] = now
                    run_once([job.name])
            close_old_connections()
            self.stopping.wait(1.0)
        connection.close()
