"""The e-mails of the feedback loop, written when they are sent.

Each outbox row names a notice and an item; the renderer writes it in the recipient's language
from one text/HTML template pair, with what is true at sending time."""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from yulan.core.mail import register_renderer, templated_message
from yulan.core.models import OutgoingMail
from yulan.news.services import site_url
from yulan.voice import tokens
from yulan.voice.models import Follower, Item, Reply


def register() -> None:
    register_renderer("feedback", render)


@dataclass
class Notice:
    subject: str
    paragraphs: list[str]
    action_label: str = ""
    action_url: str = ""
    quote: str = ""
    footer_label: str = ""
    footer_url: str = ""


def reply_text(reply: Reply, language: str, fallback: str) -> str:
    """The reply in `language` if it was translated into it, else as written."""
    data = reply.text.data if hasattr(reply.text, "data") else reply.text
    if isinstance(data, dict):
        return data.get(language) or data.get(fallback) or next(iter(data.values()), "")
    return str(data)


def _notice(
    row: OutgoingMail, item: Item, follower: Follower | None, language: str, replies: dict[int, Reply]
) -> Notice | None:
    ctx = row.context
    ref = item.reference
    track = site_url("voice:track", tokens.track(item), language=language)
    page = site_url("voice:detail", item.pk, language=language) if item.is_public else ""
    # A follower reads the public page and may stop following; the submitter uses their link.
    link_label, link = (_("See the item"), page) if follower else (_("Follow your feedback"), track)
    footer: dict[str, str] = {}
    if follower is not None:
        footer = {
            "footer_label": _("Stop following this item"),
            "footer_url": site_url("voice:unfollow", tokens.follow(follower), language=language),
        }
    name = str(ctx.get("notice"))
    builders: dict[str, Callable[[], Notice | None]] = {
        "received": lambda: Notice(
            _("We received your feedback %(ref)s") % {"ref": ref},
            [
                _("Thank you. Your feedback has reference %(ref)s.") % {"ref": ref},
                _("It goes to the office that can act on it; we write to you when it is answered."),
            ],
            _("Follow your feedback"),
            track,
        ),
        "status": lambda: (
            Notice(
                _("%(ref)s is now: %(status)s") % {"ref": ref, "status": item.get_status_display()},
                [_("The status of %(ref)s is now: %(status)s.") % {"ref": ref, "status": item.get_status_display()}]
                + ([item.status_reason] if item.status_reason and item.status == Item.Status.DECLINED else []),
                link_label,
                link,
                **footer,
            )
            # Said only if still true when sent.
            if item.status == ctx.get("status")
            else None
        ),
        "reply": lambda: _reply_notice(item, replies.get(ctx.get("reply")), language, link_label, link, footer),
        "merged": lambda: Notice(
            _("%(ref)s was merged into #%(into)s") % {"ref": ref, "into": ctx.get("into")},
            [
                _("Others raised the same point, so your feedback was merged into #%(into)s.")
                % {"into": ctx.get("into")},
                _("Your voice counts there, and you will hear how it is answered."),
            ],
            _("Follow your feedback"),
            track,
        ),
        "follow_confirm": lambda: (
            Notice(
                _("Confirm: follow %(ref)s") % {"ref": ref},
                [
                    _("Someone, probably you, asked to hear about %(ref)s at this address.") % {"ref": ref},
                    _("If it was not you, ignore this message and nothing will be sent."),
                ],
                _("Yes, keep me informed"),
                site_url("voice:follow_confirm", tokens.follow(follower), language=language),
            )
            if follower is not None and not follower.confirmed
            else None
        ),
    }
    build = builders.get(name)
    return build() if build else None


def _reply_notice(
    item: Item, reply: Reply | None, language: str, label: str, link: str, footer: dict[str, str]
) -> Notice | None:
    if reply is None or reply.item_id != item.pk or reply.kind == Reply.Kind.NOTE:
        return None
    return Notice(
        _("A reply to %(ref)s") % {"ref": item.reference},
        [_("The office answered %(ref)s:") % {"ref": item.reference}],
        label,
        link,
        quote=reply_text(reply, language, item.language),
        **footer,
    )


def _my_data_message(row: OutgoingMail, language: str) -> Notice:
    email = str(row.context.get("email", ""))
    return Notice(
        _("Your feedback and your data"),
        [
            _("Someone, probably you, asked to see the feedback sent from this address."),
            _(
                "The link shows it, lets you download it and lets you remove your contact details. "
                "It is valid for %(hours)d hours."
            )
            % {"hours": settings.YULAN_FEEDBACK_DATA_LINK_HOURS},
            _("If it was not you, ignore this message."),
        ],
        _("See my feedback and data"),
        site_url("voice:my_data_link", tokens.my_data(email), language=language),
    )


def _message(row: OutgoingMail, notice: Notice, language: str) -> EmailMessage:
    return templated_message(
        to=row.to_email,
        subject=notice.subject,
        template="voice/email/notice",
        context={"notice": notice, "LANGUAGE_CODE": language},
    )


def render(rows: list[OutgoingMail]) -> dict[int, EmailMessage]:
    item_ids = [i for i in (row.context.get("item") for row in rows) if isinstance(i, int)]
    items = Item.objects.select_related("category").in_bulk(item_ids)
    follower_ids = [i for i in (row.context.get("follower") for row in rows) if isinstance(i, int)]
    followers = Follower.objects.in_bulk(follower_ids)
    reply_ids = [i for i in (row.context.get("reply") for row in rows) if isinstance(i, int)]
    replies = Reply.objects.in_bulk(reply_ids)
    messages: dict[int, EmailMessage] = {}
    for row in rows:
        language = row.language or settings.LANGUAGE_CODE
        with translation.override(language):
            if row.context.get("notice") == "my_data":
                messages[row.pk] = _message(row, _my_data_message(row, language), language)
                continue
            item = items.get(row.context.get("item"))
            if item is None:
                continue
            follower = followers.get(row.context.get("follower"))
            if row.context.get("follower") is not None and follower is None:
                continue  # stopped following since
            if follower is not None and not item.is_public and row.context.get("notice") != "follow_confirm":
                continue  # taken off the public pages since
            if follower is None and row.to_email != item.contact_email:
                continue  # the submitter's details were removed since
            notice = _notice(row, item, follower, language, replies)
            if notice is not None:
                messages[row.pk] = _message(row, notice, language)
    return messages
