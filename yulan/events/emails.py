"""The e-mails of the events capability, written when they are sent.

Each outbox row names a notice and a registration; the renderer loads what it needs in bulk,
writes every message in the registrant's language from one text/HTML template pair, and leaves
out a message that no longer applies (a reminder for an event that moved or was cancelled, an
offer already taken or lapsed): the outbox then marks it "not sent".
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from yulan.core.i18n import localize
from yulan.core.mail import register_renderer, templated_message
from yulan.core.models import OutgoingMail
from yulan.events import selectors, tokens
from yulan.events.models import Event, Registration
from yulan.news.services import site_url

Status = Registration.Status


def register() -> None:
    register_renderer("event", render)


def when_text(event: Event) -> str:
    """ "Saturday 12 December 2026, 14:00–16:30 (Asia/Shanghai)" in the active language."""
    start, end = event.local_start, event.local_end
    text = formats.date_format(start, "DATETIME_FORMAT")
    if end.date() == start.date():
        text += "–" + formats.time_format(end, "TIME_FORMAT")
    else:
        text += " – " + formats.date_format(end, "DATETIME_FORMAT")
    return f"{text} ({event.time_zone})"


def where_text(event: Event) -> str:
    parts = []
    if event.place is not None:
        parts.append(localize(event.place.name).text)
        parts.append(localize(event.place.address).text)
    note = localize(event.venue_note, fallback=event.source_language).text
    if note:
        parts.append(note)
    if event.online_url:
        parts.append(event.online_url)
    return " · ".join(p for p in parts if p)


@dataclass
class Notice:
    subject: str
    paragraphs: list[str]
    action_label: str = ""
    action_url: str = ""
    show_code: bool = False
    # A sign-up's name is not checked yet: the mail asking to confirm it does not repeat it.
    greet_by_name: bool = True


def _notice(name: str, reg: Registration, event: Event, row: OutgoingMail) -> Notice | None:
    title = localize(event.title, fallback=event.source_language).text
    manage = site_url("events:registration", tokens.make(reg, tokens.MANAGE), language=reg.language)
    ctx = row.context
    builders: dict[str, Callable[[], Notice | None]] = {
        "pending": lambda: (
            Notice(
                _("Confirm your registration: %(title)s") % {"title": title},
                [
                    _("Someone, probably you, registered this address for “%(title)s”.") % {"title": title},
                    _("To confirm, open this link within %(hours)d hours. Your place is decided when you confirm.")
                    % {"hours": settings.YULAN_EVENT_CONFIRM_HOURS},
                    _("If it was not you, ignore this message."),
                ],
                _("Confirm my registration"),
                site_url("events:confirm", tokens.make(reg, tokens.CONFIRM), language=reg.language),
                greet_by_name=False,
            )
            if reg.status == Status.PENDING
            else None
        ),
        "already": lambda: Notice(
            _("Your registration: %(title)s") % {"title": title},
            [
                _("Someone, probably you, tried to register this address again for “%(title)s”.") % {"title": title},
                _("You are already registered: %(status)s.") % {"status": reg.get_status_display()},
            ],
            _("See my registration"),
            manage,
            show_code=reg.holds_place,
        ),
        "confirmed": lambda: Notice(
            _("Your place: %(title)s") % {"title": title},
            [
                pgettext("seats", "Your registration is confirmed for %(n)d place(s).") % {"n": reg.party_size},
                _("Show the code below, or the QR code on your registration page, at the door."),
                _("If you cannot come, please cancel so that someone on the waiting list gets your place."),
            ],
            _("My ticket, calendar file and cancellation"),
            manage,
            show_code=True,
        ),
        "waitlisted": lambda: Notice(
            _("Waiting list: %(title)s") % {"title": title},
            [
                _("The event is full, so you are on the waiting list, number %(n)d in line.")
                % {"n": selectors.waitlist_line_number(reg) or 1},
                _("If a place becomes free, we offer it to you by e-mail."),
            ],
            _("See my registration"),
            manage,
        ),
        "offer": lambda: (
            Notice(
                _("A place is free for you: %(title)s") % {"title": title},
                [
                    _("A place has become free and it is yours if you accept it by %(when)s.")
                    % {"when": formats.date_format(reg.offer_expires_at.astimezone(event.tz), "DATETIME_FORMAT")},
                    _("If you do not accept in time, it passes to the next person on the waiting list."),
                ],
                _("Accept or decline the place"),
                manage,
            )
            if reg.status == Status.OFFERED
            and reg.offer_expires_at is not None
            and event.status == Event.Status.PUBLISHED
            else None
        ),
        "offer_expired": lambda: Notice(
            _("Offer passed on: %(title)s") % {"title": title},
            [_("The place offered to you was not accepted in time and has passed to the next person.")],
        ),
        "cancelled": lambda: Notice(
            _("Registration cancelled: %(title)s") % {"title": title},
            [
                _("The organiser cancelled your registration.")
                if reg.cancelled_by_staff
                else _("Your registration is cancelled. Thank you for letting us know.")
            ],
        ),
        "reminder": lambda: (
            Notice(
                _("Reminder: %(title)s") % {"title": title},
                [_("A reminder that you are registered for this event. We look forward to seeing you.")],
                _("My ticket, calendar file and cancellation"),
                manage,
                show_code=True,
            )
            if reg.status == Status.CONFIRMED
            and event.status == Event.Status.PUBLISHED
            and event.starts_at.isoformat() == ctx.get("starts_at")
            else None
        ),
        "moved": lambda: (
            Notice(
                _("Changed: %(title)s") % {"title": title},
                [_("The organiser changed the time or place of this event. Here are the new details.")],
                _("See my registration"),
                manage,
                show_code=reg.holds_place,
            )
            if event.status == Event.Status.PUBLISHED
            and ctx.get("sequence") == event.sequence
            and reg.status in (Status.CONFIRMED, Status.OFFERED, Status.WAITLISTED)
            else None
        ),
        "event_cancelled": lambda: (
            Notice(
                _("Cancelled: %(title)s") % {"title": title},
                [_("We are sorry: the organiser has cancelled this event.")],
            )
            if event.status == Event.Status.CANCELLED
            else None
        ),
    }
    build = builders.get(name)
    return build() if build else None


def _message(row: OutgoingMail, reg: Registration) -> EmailMessage | None:
    event = reg.event
    language = reg.language or settings.LANGUAGE_CODE
    with translation.override(language):
        notice = _notice(str(row.context.get("notice")), reg, event, row)
        if notice is None:
            return None
        context: dict[str, Any] = {
            "notice": notice,
            "event": event,
            "registration": reg,
            "title": localize(event.title, fallback=event.source_language).text,
            "when": when_text(event),
            "where": where_text(event),
            "event_url": site_url("events:detail", event.slug, language=language),
            "LANGUAGE_CODE": language,
        }
        return templated_message(
            to=row.to_email, subject=notice.subject, template="events/email/notice", context=context
        )


def render(rows: list[OutgoingMail]) -> dict[int, EmailMessage]:
    ids = {row.context.get("registration") for row in rows}
    regs = Registration.objects.select_related("event", "event__place").in_bulk([i for i in ids if isinstance(i, int)])
    messages: dict[int, EmailMessage] = {}
    for row in rows:
        reg = regs.get(row.context.get("registration"))
        if reg is None:
            continue
        message = _message(row, reg)
        if message is not None:
            messages[row.pk] = message
    return messages
