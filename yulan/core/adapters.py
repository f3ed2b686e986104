from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from yulan.core import tasks


class AccountAdapter(DefaultAccountAdapter):
    """Account e-mails (verification, login codes, password reset) are rendered in the
    person's language during the request and sent by the task worker once the request's
    transaction has committed."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        message = self.render_mail(template_prefix, email, context)
        html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = str(content)
        payload = {
            "subject": str(message.subject),
            "body": str(message.body),
            "to": list(message.to),
            "from_email": str(message.from_email),
            "html": html,
            "headers": {k: str(v) for k, v in (message.extra_headers or {}).items()},
        }
        transaction.on_commit(lambda: tasks.send_email.enqueue(**payload))
