from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.utils.translation import get_language

from yulan.core.mail import mail_queue


class AccountAdapter(DefaultAccountAdapter):
    """Account e-mails (verification, login codes, password reset) are rendered in the
    person's language during the request and queued in the outbox in the request's transaction;
    the worker sends them once it has committed."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        host = self.request.get_host() if getattr(self, "request", None) else urlsplit(settings.SITE_URL).netloc
        site = SimpleNamespace(name=settings.YULAN_SITE_NAME, domain=host)
        message = self.render_mail(template_prefix, email, {"email": email, "current_site": site, **context})
        html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = str(content)
        headers = {k: str(v) for k, v in (message.extra_headers or {}).items()}
        for to in message.to:
            mail_queue(
                kind="account",
                to=to,
                subject=str(message.subject),
                text=str(message.body),
                html=html,
                language=get_language() or "",
                headers=headers,
            )
