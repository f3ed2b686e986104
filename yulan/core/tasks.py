"""Background work of the core: sending an e-mail that was rendered in the request."""

from django.core.mail import EmailMultiAlternatives
from django_tasks import task


@task()
def send_email(
    *, subject: str, body: str, to: list[str], from_email: str, html: str = "", headers: dict[str, str] | None = None
) -> None:
    message = EmailMultiAlternatives(subject, body, from_email, to, headers=headers or {})
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
