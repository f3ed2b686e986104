"""iCalendar (RFC 5545) files of events: one event to add to a calendar, or a feed to subscribe to.

Each event keeps one UID forever, in every file it appears in, so that a calendar updates the
entry it already has (SEQUENCE says which version is newer) instead of adding a second one.
Times are written in the event's own time zone, with the VTIMEZONE components they need.
"""

import datetime
import html
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation
from icalendar import Calendar, vCalAddress, vDuration, vText
from icalendar import Event as VEvent

from yulan.core.i18n import localize
from yulan.events.models import Event
from yulan.news.services import site_url

PRODID = "-//Yulan//Events//EN"
# How often a subscribed calendar should look for changes.
REFRESH_INTERVAL = datetime.timedelta(hours=6)

_STATUS: dict[str, str] = {
    Event.Status.PUBLISHED: "CONFIRMED",
    Event.Status.CANCELLED: "CANCELLED",
    Event.Status.DRAFT: "TENTATIVE",
}

# Where a block of HTML ends, so that its text does not run into the next one.
_PARAGRAPH_END = re.compile(r"</(?:p|h[1-6]|blockquote|pre|ul|ol|table)\s*>|<hr\s*/?>", re.IGNORECASE)
_LINE_END = re.compile(r"<br\s*/?>|</(?:li|tr)\s*>", re.IGNORECASE)
_LIST_ITEM = re.compile(r"<li(?:\s[^>]*)?>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")


def plain_text(fragment: str) -> str:
    """The text of a stored HTML fragment, with paragraphs and list items kept on their own lines."""
    text = _PARAGRAPH_END.sub("\n\n", fragment)
    text = _LINE_END.sub("\n", text)
    text = _LIST_ITEM.sub("- ", text)
    text = html.unescape(nh3.clean(text, tags=set())).replace("\xa0", " ")
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def event_uid(event: Event) -> str:
    """The event's UID: the same in every file and feed, for as long as the event exists."""
    return f"event-{event.pk}@{site_host()}"


def event_url(event: Event, language: str) -> str:
    return site_url("events:detail", event.slug, language=language)


def event_kind_label(event: Event, language: str) -> str:
    with translation.override(language):
        return str(event.get_kind_display())


def location_text(event: Event, language: str) -> str:
    """Venue name, address and room note; the online link when there is no venue."""
    parts: list[str] = []
    if event.place is not None:
        place = event.place
        parts.append(localize(place.name, language, place.source_language).text)
        parts.append(localize(place.address, language, place.source_language).text)
    parts.append(localize(event.venue_note, language, event.source_language).text)
    if event.place is None and event.online_url:
        parts.append(event.online_url)
    return ", ".join(part.strip() for part in parts if part and part.strip())


def _description(event: Event, language: str, url: str) -> str:
    parts = [plain_text(localize(event.description, language, event.source_language).text)]
    if event.place is not None and event.online_url:
        parts.append(event.online_url)
    parts.append(url)
    return "\n\n".join(part for part in parts if part)


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value.astimezone(datetime.UTC)


def _vevent(event: Event, *, language: str, stamp: datetime.datetime) -> VEvent:
    url = event_url(event, language)
    title = localize(event.title, language, event.source_language)
    description = localize(event.description, language, event.source_language)
    component = VEvent()
    component.add("uid", event_uid(event))
    component.add("dtstamp", stamp)
    component.add("dtstart", event.local_start)
    component.add("dtend", event.local_end)
    component.add("sequence", event.sequence)
    component.add("created", _utc(event.created_at))
    component.add("last-modified", _utc(event.updated_at))
    component.add("summary", title.text, parameters={"LANGUAGE": title.language} if title.text else {})
    component.add(
        "description",
        _description(event, language, url),
        parameters={"LANGUAGE": description.language} if description.text else {},
    )
    location = location_text(event, language)
    if location:
        component.add("location", location)
    if event.place is not None and event.place.latitude is not None and event.place.longitude is not None:
        component.add("geo", (event.place.latitude, event.place.longitude))
    component.add("url", url)
    component.add("status", _STATUS.get(event.status, "CONFIRMED"))
    component.add("categories", [event_kind_label(event, language)])
    if event.contact_email:
        organizer = vCalAddress(f"mailto:{event.contact_email}")
        organizer.params["CN"] = event.contact_name or settings.YULAN_SITE_NAME
        component.add("organizer", organizer)
    return component


def calendar_bytes(events: Iterable[Event], *, name: str, language: str) -> bytes:
    """One VCALENDAR with a VEVENT for each event, texts in `language` where they exist."""
    # A queryset is read in one query, with each event's venue.
    rows = list(events.select_related("place") if isinstance(events, QuerySet) else events)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # NAME (RFC 7986) and X-WR-CALNAME are not typed as text by the library: escape them here.
    calendar.add("name", vText(name))
    calendar.add("x-wr-calname", vText(name))
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    stamp = timezone.now().astimezone(datetime.UTC).replace(microsecond=0)
    for event in rows:
        calendar.add_component(_vevent(event, language=language, stamp=stamp))
    if rows:
        # Time zone rules from the year before the first event to the year after the last one.
        first = min(event.local_start for event in rows).date()
        last = max(event.local_end for event in rows).date()
        calendar.add_missing_timezones(
            first_date=datetime.date(first.year - 1, 1, 1), last_date=datetime.date(last.year + 2, 1, 1)
        )
    return calendar.to_ical()


def event_bytes(event: Event, *, language: str) -> bytes:
    """A calendar file with this one event, named after it."""
    title = localize(event.title, language, event.source_language).text
    return calendar_bytes([event], name=title, language=language)
