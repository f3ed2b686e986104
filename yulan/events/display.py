"""Events as lines of a list: every text worked out once in Python, so that a page of twenty
renders as one loop over plain strings rather than nested includes, filters and tags."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.urls import reverse
from django.utils import dateformat, translation
from django.utils.translation import gettext as _
from django.utils.translation import npgettext

from yulan.core.i18n import Localized, localize, spoken_language_name
from yulan.events.models import Event

SLUG_SLOT = "slug-slot"


@dataclass(frozen=True)
class EventLine:
    event: Event
    title: Localized
    url: str
    starts: str  # ISO 8601, for <time datetime>
    when: str
    where: str
    place_url: str
    community: str
    badge: str
    badge_warn: bool
    languages: list[tuple[str, str]]


def when_short(event: Event) -> str:
    """ "Sat 12 Dec 2026, 14:00–16:30" on the event's own clock, in the active language."""
    start, end = event.local_start, event.local_end
    text = dateformat.format(start, "D j M Y, H:i")
    if end.date() == start.date():
        return f"{text}–{dateformat.format(end, 'H:i')}"
    return f"{text} – {dateformat.format(end, 'D j M Y, H:i')}"


def badge(event: Event) -> tuple[str, bool]:
    """What the places look like: (text, whether it is a warning)."""
    if event.status == Event.Status.CANCELLED:
        return _("Cancelled"), True
    if event.capacity is None:
        return _("Open to all"), False
    if event.is_full:
        return (_("Full: waiting list") if event.waitlist_enabled else _("Full")), True
    left = event.places_left or 0
    return npgettext("seats", "%(n)s place left", "%(n)s places left", left) % {"n": left}, False


@cache
def _language_name(code: str, language: str) -> str:
    with translation.override(language):
        return spoken_language_name(code)


def _url(name: str, slug: str, template: dict[str, str]) -> str:
    if name not in template:
        template[name] = reverse(name, args=[SLUG_SLOT])
    return template[name].replace(SLUG_SLOT, slug)


def event_lines(events: Iterable[Event]) -> list[EventLine]:
    """Lines for events read with their community and place."""
    language = translation.get_language() or "en"
    urls: dict[str, str] = {}
    lines = []
    for event in events:
        place = event.place
        where = []
        if place is not None:
            where.append(f"{localize(place.name).text}, {localize(place.address).text}")
        note = localize(event.venue_note, fallback=event.source_language).text
        if note:
            where.append(note)
        if event.online_url:
            where.append(_("Online"))
        text, warn = badge(event)
        lines.append(
            EventLine(
                event=event,
                title=localize(event.title, fallback=event.source_language),
                url=_url("events:detail", event.slug, urls),
                starts=event.starts_at.astimezone(datetime.UTC).isoformat(),
                when=when_short(event),
                where=" · ".join(where),
                place_url=_url("guide:place", place.slug, urls) if place is not None else "",
                community=localize(event.community.name).text if event.community is not None else "",
                badge=text,
                badge_warn=warn,
                languages=[(code, _language_name(code, language)) for code in event.language_list],
            )
        )
    return lines
