from typing import Any

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from yulan.core.periodic import Scheduler


class Command(DatabaseWorkerCommand):
    help = "Run a task worker and, beside it, the periodic jobs. Run as many as the machine allows."

    def handle(self, *args: Any, **options: Any) -> None:
        scheduler = Scheduler()
        scheduler.start()
        try:
            super().handle(*args, **options)
        finally:
            scheduler.stopping.set()
