"""Rendering the bulletin and urgent notices at send time.

A fan-out stores only ids in the outbox. Here the claimed rows become messages. Building a MIME
message per recipient (encoding the subject, each part) costs more than sending it, and most
of it is the same for everyone who reads the same language. So a mailing is prepared once per
language as an `Edition`: the header lines, the opening, one block per post and the footer,
each already encoded (quoted-printable UTF-8, whole lines, so blocks join anywhere). A
subscriber's message is those bytes joined, with their posts and their own links, and goes
out through Django's SMTP backend like any other message."""

import binascii
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from yulan.core.i18n import localize
from yulan.core.mail import register_bounce_handler, register_renderer
from yulan.core.models import OutgoingMail
from yulan.news import tokens
from yulan.news.models import Bulletin, Post, Subscriber

TOKEN_SLOT = "x-yulan-token-slot"  # noqa: S105 (a placeholder in links, not a secret)
CRLF = b"\r\n"


def register() -> None:
    from yulan.news.services import record_bounce

    register_renderer("bulletin", render_bulletins)
    register_renderer("urgent", render_urgent)
    for kind in ("bulletin", "urgent", "subscription"):
        register_bounce_handler(kind, record_bounce)


# --- encoding ---------------------------------------------------------------------------------


def _qp(text: str) -> bytes:
    """Quoted-printable UTF-8 with CRLF line ends, ending with a line end: safe for any line
    length and script, and blocks encoded separately can be joined."""
    if not text.endswith("\n"):
        text += "\n"
    encoded = binascii.b2a_qp(text.replace("\r\n", "\n").encode(), istext=True)
    return encoded.replace(b"\n", CRLF)


def _header(name: str, value: str) -> bytes:
    if value.isascii():
        folded = Header(value, header_name=name).encode(linesep="\r\n")
    else:
        folded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {folded}".encode() + CRLF


def _sender() -> str:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((name, address), charset="utf-8")


def _part(content_type: str) -> bytes:
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    ).encode()


@dataclass(frozen=True)
class Edition:
    """A mailing in one language, encoded and cut into the pieces a message is joined from."""

    language: str
    headers: bytes
    boundary: bytes
    text_head: bytes
    html_head: bytes
    text_blocks: dict[int, bytes]
    html_blocks: dict[int, bytes]
    # Rendered with TOKEN_SLOT in the links; encoded per recipient.
    text_foot: str
    html_foot: str


@lru_cache(maxsize=64)
def _link_patterns(language: str) -> tuple[str, str]:
    """The absolute preferences and unsubscribe links of a language, with a slot for the token."""
    from yulan.news.services import site_url

    return (
        site_url("news:manage", TOKEN_SLOT, language=language),
        site_url("news:unsubscribe", TOKEN_SLOT, language=language),
    )


def _edition(
    *, language: str, subject: str, list_id: str, heads: tuple[str, str], blocks: Mapping[int, tuple[str, str]]
) -> Edition:
    manage, unsubscribe = _link_patterns(language)
    foot_context = {"manage_url": manage, "unsubscribe_url": unsubscribe}
    with translation.override(language):
        text_foot = render_to_string("news/email/foot.txt", foot_context)
        html_foot = render_to_string("news/email/foot.html", foot_context)
    boundary = f"yulan-{secrets.token_hex(16)}".encode()
    headers = b"".join(
        [
            _header("From", _sender()),
            _header("Subject", subject),
            b"MIME-Version: 1.0" + CRLF,
            b'Content-Type: multipart/alternative; boundary="' + boundary + b'"' + CRLF,
            _header("List-Id", f"{settings.YULAN_SITE_NAME} <{list_id}>"),
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" + CRLF,
            b"Precedence: bulk" + CRLF,
            b"Auto-Submitted: auto-generated" + CRLF,
            _header("Content-Language", language),
        ]
    )
    return Edition(
        language=language,
        headers=headers,
        boundary=boundary,
        text_head=_qp(heads[0]) if heads[0] else b"",
        html_head=_qp(heads[1]),
        text_blocks={pk: _qp(text) for pk, (text, _html) in blocks.items()},
        html_blocks={pk: _qp(html) for pk, (_text, html) in blocks.items()},
        text_foot=text_foot,
        html_foot=html_foot,
    )


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


def compose(edition: Edition, *, to: str, token: str, post_ids: Iterable[int]) -> PreparedMessage:
    """One subscriber's message: their posts, in the given order, and their own links."""
    manage, unsubscribe = (link.replace(TOKEN_SLOT, token) for link in _link_patterns(edition.language))
    to_header = to if to.isascii() else sanitize_address(to, "utf-8")
    ids = [pk for pk in post_ids if pk in edition.text_blocks]
    separator = b"--" + edition.boundary + CRLF
    raw = b"".join(
        [
            edition.headers,
            b"To: " + to_header.encode() + CRLF,
            b"Date: " + formatdate(localtime=settings.EMAIL_USE_LOCALTIME).encode() + CRLF,
            b"Message-ID: " + make_msgid(domain=DNS_NAME).encode() + CRLF,
            # RFC 8058 one-click unsubscribe: mail clients POST to this link.
            b"List-Unsubscribe: <" + unsubscribe.encode() + b">" + CRLF,
            CRLF,
            separator,
            _part("text/plain"),
            edition.text_head,
            *(edition.text_blocks[pk] for pk in ids),
            _qp(edition.text_foot.replace(TOKEN_SLOT, token)),
            separator,
            _part("text/html"),
            edition.html_head,
            *(edition.html_blocks[pk] for pk in ids),
            _qp(edition.html_foot.replace(TOKEN_SLOT, token)),
            b"--" + edition.boundary + b"--" + CRLF,
        ]
    )
    return PreparedMessage(raw, to)


# --- the bulletin and urgent notices ------------------------------------------------------------


def _list_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _post_entry(post: Post, note: Any = None) -> dict[str, Any]:
    title = localize(post.title, fallback=post.source_language)
    return {
        "title": title,
        "summary": localize(post.summary, fallback=post.source_language),
        "note": localize(note).text if note else "",
        "url": settings.SITE_URL.rstrip("/") + reverse("news:post", args=[post.slug]),
        "kind": post.get_kind_display(),
        "urgent": post.is_urgent,
    }


@lru_cache(maxsize=64)
def _bulletin_edition(bulletin_id: int, started: str, language: str) -> Edition:
    """`started` (when sending began) tells apart bulletins that reuse an id (in tests)."""
    bulletin = Bulletin.objects.get(pk=bulletin_id)
    items = list(bulletin.items.select_related("post"))
    with translation.override(language):
        context = {
            "bulletin": bulletin,
            "intro": localize(bulletin.intro).text,
            "language": language,
            "site_name": settings.YULAN_SITE_NAME,
        }
        subject = render_to_string("news/email/bulletin_subject.txt", context).strip()
        heads = (
            render_to_string("news/email/bulletin_head.txt", context),
            render_to_string("news/email/bulletin_head.html", context),
        )
        blocks = {}
        for item in items:
            entry = {"e": _post_entry(item.post, item.note)}
            blocks[item.post_id] = (
                render_to_string("news/email/bulletin_entry.txt", entry),
                render_to_string("news/email/bulletin_entry.html", entry),
            )
    return _edition(language=language, subject=subject, list_id=f"bulletin.{_list_host()}", heads=heads, blocks=blocks)


@lru_cache(maxsize=64)
def _urgent_edition(post_id: int, updated: str, language: str) -> Edition:
    post = Post.objects.get(pk=post_id)
    with translation.override(language):
        context = {
            "entry": _post_entry(post),
            "body": localize(post.body, fallback=post.source_language),
            "language": language,
        }
        subject = render_to_string("news/email/urgent_subject.txt", context).strip()
        heads = (
            render_to_string("news/email/urgent_head.txt", context),
            render_to_string("news/email/urgent_head.html", context),
        )
        block = (
            render_to_string("news/email/urgent_entry.txt", context),
            render_to_string("news/email/urgent_entry.html", context),
        )
    return _edition(
        language=language, subject=subject, list_id=f"urgent.{_list_host()}", heads=heads, blocks={post_id: block}
    )


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
    started = dict(
        Bulletin.objects.filter(pk__in={row.context["b"] for row in rows}).values_list("pk", "sending_started_at")
    )
    messages: dict[int, EmailMessage] = {}
    for row in rows:
        subscriber = subscribers.get(row.context["s"])
        bulletin_id = row.context["b"]
        if subscriber is None or not subscriber.weekly or bulletin_id not in started:
            continue  # unsubscribed, suppressed or deleted since the fan-out: not sent
        edition = _bulletin_edition(bulletin_id, str(started[bulletin_id]), row.language or "en")
        token = tokens.make(subscriber, tokens.MANAGE)
        messages[row.pk] = compose(edition, to=row.to_email, token=token, post_ids=row.context["p"])
    return messages


def render_urgent(rows: list[OutgoingMail]) -> dict[int, EmailMessage]:
    subscribers = _subscribers(rows)
    posts = dict(Post.objects.live().filter(pk__in={row.context["p"] for row in rows}).values_list("pk", "updated_at"))
    messages: dict[int, EmailMessage] = {}
    for row in rows:
        subscriber = subscribers.get(row.context["s"])
        post_id = row.context["p"]
        if subscriber is None or not subscriber.urgent or post_id not in posts:
            continue  # unsubscribed since, or the post was withdrawn
        edition = _urgent_edition(post_id, str(posts[post_id]), row.language or "en")
        token = tokens.make(subscriber, tokens.MANAGE)
        messages[row.pk] = compose(edition, to=row.to_email, token=token, post_ids=[post_id])
    return messages
