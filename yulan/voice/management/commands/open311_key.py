from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from yulan.core.errors import ApplicationError
from yulan.voice import apikeys
from yulan.voice.models import ApiClient


class Command(BaseCommand):
    help = "Open311 API keys: create one (shown once), list them, or revoke one by its first characters."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Make a key for a client application and print it once.")
        create.add_argument("name", help="The client application's name.")
        actions.add_parser("list", help="List the clients and the first characters of their keys.")
        revoke = actions.add_parser("revoke", help="Stop a key from working.")
        revoke.add_argument("prefix", help="The key's first characters, as the list shows them.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "create":
                client, raw = apikeys.create(options["name"])
                self.stdout.write(_("Key for %(name)s (shown only now, keep it safe):") % {"name": client.name})
                self.stdout.write(raw)
            elif action == "list":
                self._list()
            elif action == "revoke":
                client = apikeys.revoke(options["prefix"])
                self.stdout.write(_("Revoked: %(client)s") % {"client": client})
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None

    def _list(self) -> None:
        clients = ApiClient.objects.order_by("created_at", "id")
        if not clients:
            self.stdout.write(_("No Open311 clients yet."))
            return
        for client in clients:
            state = _("active") if client.active else _("revoked")
            used = f"{client.last_used_at:%Y-%m-%d %H:%M}" if client.last_used_at else _("never")
            self.stdout.write(
                f"{client.key_prefix}…  {state:<8}  {_('created')} {client.created_at:%Y-%m-%d}  "
                f"{_('last used')} {used}  {client.name}"
            )
