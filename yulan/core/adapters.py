from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction

from yulan.core import tasks


class AccountAdapter(DefaultAccountAdapter):
    """Account e-mails (verification, login codes, password reset) are rendered in the
    person's language during the request and sent by the task worker once the request's
    transaction has committed."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        host = self.request.get_host() if getattr(self, "request", None) else urlsplit(settings.SITE_URL).netloc
        site = SimpleNamespace(name=settings.YULAN_SITE_NAME, domain=host)
        message = self.render_mail(template_prefix, email, {"email": email, "current_site": site, **context})
        html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = str(content)
        subject, body, to = str(message.subject), str(message.body), list(message.to)
        from_email = str(message.from_email)
        headers = {k: str(v) for k, v in (message.extra_headers or {}).items()}
        transaction.on_commit(
            lambda: tasks.send_email.enqueue(
                subject=subject, body=body, to=to, from_email=from_email, html=html, headers=headers
            )
        )
