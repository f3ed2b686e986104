from typing import Any

from django.core.management.base import BaseCommand

from yulan.core import periodic


class Command(BaseCommand):
    help = "Run the periodic jobs once (publishing scheduled posts, compiling bulletins, retrying mail)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("jobs", nargs="*", help="Only these jobs (by name).")

    def handle(self, *args: Any, jobs: list[str], **options: Any) -> None:
        for name, result in periodic.run_once(jobs or None).items():
            self.stdout.write(f"{name}: {result}")
