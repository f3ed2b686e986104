"""Rendering the bulletin and urgent notices at send time.

A fan-out stores only ids in the outbox. Here the claimed rows are turned into messages: the
text of one bulletin in one language with one choice of posts is rendered once per worker and
reused for every subscriber who gets the same; only the personal links differ."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate, make_msgid
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.utils import translation

from yulan.core.i18n import localize
from yulan.core.mail import register_bounce_handler, register_renderer
from yulan.core.models import OutgoingMail
from yulan.news import tokens
from yulan.news.models import Bulletin, BulletinItem, Post, Subscriber

MANAGE = "{{yulan-manage-url}}"
UNSUBSCRIBE = "{{yulan-unsubscribe-url}}"


@dataclass(frozen=True)
class Variant:
    subject: str
    text: str
    html: str
    list_id: str
    language: str


def register() -> None:
    from yulan.news.services import record_bounce

    register_renderer("bulletin", render_bulletins)
    register_renderer("urgent", render_urgent)
    for kind in ("bulletin", "urgent", "subscription"):
        register_bounce_handler(kind, record_bounce)


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _post_entry(post: Post, note: Any = None) -> dict[str, Any]:
    from django.urls import reverse

    title = localize(post.title, fallback=post.source_language)
    return {
        "title": title,
        "summary": localize(post.summary, fallback=post.source_language),
        "note": localize(note).text if note else "",
        "url": _absolute(reverse("news:post", args=[post.slug])),
        "kind": post.get_kind_display(),
        "urgent": post.is_urgent,
        "publish_at": post.publish_at,
    }


@lru_cache(maxsize=512)
def _bulletin_variant(bulletin_id: int, started: str, language: str, post_ids: tuple[int, ...]) -> Variant:
    bulletin = Bulletin.objects.get(pk=bulletin_id)
    items = {
        item.post_id: item
        for item in BulletinItem.objects.filter(bulletin_id=bulletin_id, post_id__in=post_ids).select_related("post")
    }
    with translation.override(language):
        entries = [_post_entry(items[pid].post, items[pid].note) for pid in post_ids if pid in items]
        context = {
            "bulletin": bulletin,
            "intro": localize(bulletin.intro).text,
            "entries": entries,
            "language": language,
            "manage_url": MANAGE,
            "unsubscribe_url": UNSUBSCRIBE,
            "site_name": settings.YULAN_SITE_NAME,
            "city": settings.YULAN_CITY,
        }
        subject = render_to_string("news/email/bulletin_subject.txt", context).strip()
        text = render_to_string("news/email/bulletin.txt", context)
        html = render_to_string("news/email/bulletin.html", context)
    return Variant(subject, text, html, f"bulletin.{_list_host()}", language)


@lru_cache(maxsize=256)
def _urgent_variant(post_id: int, updated: str, language: str) -> Variant:
    post = Post.objects.get(pk=post_id)
    with translation.override(language):
        context = {
            "entry": _post_entry(post),
            "body": localize(post.body, fallback=post.source_language),
            "manage_url": MANAGE,
            "unsubscribe_url": UNSUBSCRIBE,
            "site_name": settings.YULAN_SITE_NAME,
        }
        subject = render_to_string("news/email/urgent_subject.txt", context).strip()
        text = render_to_string("news/email/urgent.txt", context)
        html = render_to_string("news/email/urgent.html", context)
    return Variant(subject, text, html, f"urgent.{_list_host()}", language)


def _list_host() -> str:
    from urllib.parse import urlsplit

    return urlsplit(settings.SITE_URL).hostname or "localhost"


@lru_cache(maxsize=64)
def _link_patterns(language: str) -> tuple[str, str]:
    """The absolute preferences and unsubscribe links of a language, with a slot for the token."""
    from yulan.news.services import site_url

    return (
        site_url("news:manage", TOKEN_SLOT, language=language),
        site_url("news:unsubscribe", TOKEN_SLOT, language=language),
    )


# Slots in a prepared message, filled per recipient.
TOKEN_SLOT = "x-yulan-token-slot"  # noqa: S105 (a placeholder, not a secret)
TO_SLOT = "x-yulan-to-slot@slot.invalid"
MESSAGE_ID_SLOT = "<x-yulan-message-id-slot@slot.invalid>"
DATE_SLOT = "x-yulan-date-slot"
_SLOTS = re.compile(
    b"(" + b"|".join(re.escape(s.encode()) for s in (TOKEN_SLOT, TO_SLOT, MESSAGE_ID_SLOT, DATE_SLOT)) + b")"
)


def _build(
    variant: Variant, to: str, token: str, *, message_id: str | None = None, date: str | None = None
) -> EmailMultiAlternatives:
    manage_pattern, unsubscribe_pattern = _link_patterns(variant.language)
    manage = manage_pattern.replace(TOKEN_SLOT, token)
    unsubscribe = unsubscribe_pattern.replace(TOKEN_SLOT, token)
    headers = {
        # RFC 8058 one-click unsubscribe: mail clients POST to the link.
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{settings.YULAN_SITE_NAME} <{variant.list_id}>",
        "Precedence": "bulk",
        "Auto-Submitted": "auto-generated",
        "Content-Language": variant.language,
    }
    if message_id:
        headers["Message-ID"] = message_id
    if date:
        headers["Date"] = date
    message = EmailMultiAlternatives(
        variant.subject,
        variant.text.replace(MANAGE, manage).replace(UNSUBSCRIBE, unsubscribe),
        settings.DEFAULT_FROM_EMAIL,
        [to],
        headers=headers,
    )
    message.attach_alternative(variant.html.replace(MANAGE, manage).replace(UNSUBSCRIBE, unsubscribe), "text/html")
    return message


@lru_cache(maxsize=512)
def _prepared(variant: Variant) -> list[bytes] | None:
    """The variant as bytes, cut at the slots: building a MIME message (encoding the subject,
    the parts) costs more than sending it, and it is the same for every recipient but for the
    address, the token, the message id and the date. None if a slot did not come through
    intact (a part that had to be encoded), in which case each message is built whole."""
    raw = (
        _build(variant, TO_SLOT, TOKEN_SLOT, message_id=MESSAGE_ID_SLOT, date=DATE_SLOT)
        .message()
        .as_bytes(linesep="\r\n")
    )
    links = sum(part.count(slot) for part in (variant.text, variant.html) for slot in (MANAGE, UNSUBSCRIBE))
    counts = {slot: raw.count(slot.encode()) for slot in (TOKEN_SLOT, TO_SLOT, MESSAGE_ID_SLOT, DATE_SLOT)}
    if counts != {TOKEN_SLOT: links + 1, TO_SLOT: 1, MESSAGE_ID_SLOT: 1, DATE_SLOT: 1}:
        return None
    return _SLOTS.split(raw)


class PreparedMessage(EmailMessage):
    """A message already in its final bytes; Django's SMTP backend sends them as they are."""

    def __init__(self, raw: bytes, to: str) -> None:
        super().__init__(from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
        self.raw = raw

    def message(self) -> Any:
        return _Raw(self.raw)


class _Raw:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def as_bytes(self, *args: Any, **kwargs: Any) -> bytes:
        return self.raw


def _personal(variant: Variant, row: OutgoingMail, subscriber: Subscriber) -> EmailMessage:
    token = tokens.make(subscriber, tokens.MANAGE)
    pieces = _prepared(variant) if row.to_email.isascii() else None
    if pieces is None:
        return _build(variant, row.to_email, token)
    values = {
        TOKEN_SLOT.encode(): token.encode(),
        TO_SLOT.encode(): row.to_email.encode(),
        MESSAGE_ID_SLOT.encode(): make_msgid(domain=DNS_NAME).encode(),
        DATE_SLOT.encode(): formatdate(localtime=settings.EMAIL_USE_LOCALTIME).encode(),
    }
    # Odd pieces are the slots.
    raw = b"".join(values[piece] if i % 2 else piece for i, piece in enumerate(pieces))
    return PreparedMessage(raw, row.to_email)


def _subscribers(rows: Iterable[OutgoingMail]) -> dict[int, Subscriber]:
    ids = {row.context.get("s") for row in rows}
    return {
        s.pk: s
        for s in Subscriber.objects.filter(pk__in=ids, status=Subscriber.Status.ACTIVE).only(
            "pk", "secret", "weekly", "urgent", "email"
        )
    }


def render_bulletins(rows: list[OutgoingMail]) -> dict[int, EmailMessage]:
    subscribers = _subscribers(rows)
    started = {
        pk: str(ts)
        for pk, ts in Bulletin.objects.filter(pk__in={row.context["b"] for row in rows}).values_list(
            "pk", "sending_started_at"
        )
    }
    messages: dict[int, EmailMessage] = {}
    for row in rows:
        subscriber = subscribers.get(row.context["s"])
        bulletin_id = row.context["b"]
        if subscriber is None or not subscriber.weekly or bulletin_id not in started:
            continue  # unsubscribed, suppressed or deleted since the fan-out: not sent
        variant = _bulletin_variant(bulletin_id, started[bulletin_id], row.language or "en", tuple(row.context["p"]))
        messages[row.pk] = _personal(variant, row, subscriber)
    return messages


def render_urgent(rows: list[OutgoingMail]) -> dict[int, EmailMessage]:
    subscribers = _subscribers(rows)
    posts = {
        pk: str(ts)
        for pk, ts in Post.objects.live()
        .filter(pk__in={row.context["p"] for row in rows})
        .values_list("pk", "updated_at")
    }
    messages: dict[int, EmailMessage] = {}
    for row in rows:
        subscriber = subscribers.get(row.context["s"])
        post_id = row.context["p"]
        if subscriber is None or not subscriber.urgent or post_id not in posts:
            continue  # unsubscribed since, or the post was withdrawn
        variant = _urgent_variant(post_id, posts[post_id], row.language or "en")
        messages[row.pk] = _personal(variant, row, subscriber)
    return messages
