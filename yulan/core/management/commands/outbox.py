import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count

from yulan.core.mail import outbox_deliver, outbox_progress
from yulan.core.models import OutgoingMail


def bar(percent: int, width: int = 30) -> str:
    filled = width * percent // 100
    return "[" + "#" * filled + "-" * (width - filled) + f"] {percent:3d}%"


class Command(BaseCommand):
    help = "Show the outbox: sent, failed and waiting mail per mailing; --watch repeats, --send delivers here."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--stream", help="Only this mailing, like bulletin:12 or urgent:40.")
        parser.add_argument("--watch", type=float, metavar="SECONDS", help="Repeat every SECONDS until nothing waits.")
        parser.add_argument("--send", action="store_true", help="Deliver due mail in this process, then show.")

    def handle(self, *args: Any, stream: str | None, watch: float | None, send: bool, **options: Any) -> None:
        if send:
            stats = outbox_deliver()
            self.stdout.write(f"delivered here: sent {stats.sent}, retry {stats.retried}, failed {stats.failed}")
        while True:
            streams = [stream] if stream else self._streams()
            waiting = 0
            for name in streams:
                p = outbox_progress(name)
                waiting += p.pending + p.sending
                self.stdout.write(
                    f"{name or '(single messages)':<24} {bar(p.percent)}  sent {p.sent}  failed {p.failed}  "
                    f"not sent {p.cancelled}  waiting {p.pending + p.sending}  of {p.total}"
                )
            if not watch or not waiting:
                return
            self.stdout.write("")
            time.sleep(watch)

    def _streams(self) -> list[str]:
        rows = OutgoingMail.objects.values_list("stream").annotate(n=Count("id")).order_by("stream")
        return [name for name, _n in rows]
