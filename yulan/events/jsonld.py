"""Schema.org Event data for an event page, as JSON-LD that search engines read."""

import datetime
import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import SafeString, mark_safe

from yulan.core.i18n import localize
from yulan.events.calendar import event_url, plain_text
from yulan.events.models import Event

SCHEMA = "https://schema.org/"
# Registration is free; the currency is only there because an Offer needs one.
DEFAULT_CURRENCY = "CNY"

# Characters that could end the script element or start markup inside it, written as JSON escapes.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    ord("\u2028"): "\\u2028",
    ord("\u2029"): "\\u2029",
}


def _iso(value: datetime.datetime, event: Event) -> str:
    return value.astimezone(event.tz).isoformat(timespec="seconds")


def _status(event: Event) -> str:
    if event.status == Event.Status.CANCELLED:
        return SCHEMA + "EventCancelled"
    if event.status == Event.Status.PUBLISHED and event.sequence > 0:
        return SCHEMA + "EventRescheduled"
    return SCHEMA + "EventScheduled"


def _attendance_mode(event: Event) -> str:
    if event.place is not None and event.online_url:
        return SCHEMA + "MixedEventAttendanceMode"
    if event.online_url:
        return SCHEMA + "OnlineEventAttendanceMode"
    return SCHEMA + "OfflineEventAttendanceMode"


def _location(event: Event, language: str) -> list[dict[str, Any]]:
    locations: list[dict[str, Any]] = []
    note = localize(event.venue_note, language, event.source_language).text
    if event.place is not None:
        place = event.place
        name = localize(place.name, language, place.source_language).text
        address = localize(place.address, language, place.source_language).text
        locations.append(
            {
                "@type": "Place",
                "name": f"{name}, {note}" if note else name,
                "address": {
                    "@type": "PostalAddress",
                    "streetAddress": address,
                    "addressLocality": settings.YULAN_CITY,
                    "addressCountry": settings.YULAN_COUNTRY,
                },
                "geo": {"@type": "GeoCoordinates", "latitude": place.latitude, "longitude": place.longitude},
            }
        )
    elif note and not event.online_url:
        locations.append(
            {
                "@type": "Place",
                "name": note,
                "address": {
                    "@type": "PostalAddress",
                    "addressLocality": settings.YULAN_CITY,
                    "addressCountry": settings.YULAN_COUNTRY,
                },
            }
        )
    if event.online_url:
        locations.append({"@type": "VirtualLocation", "url": event.online_url})
    return locations


def _availability(event: Event) -> str:
    if event.status == Event.Status.CANCELLED:
        return SCHEMA + "Discontinued"
    if event.is_full:
        return SCHEMA + "SoldOut"
    return SCHEMA + "InStock"


def event_jsonld(event: Event, *, language: str) -> dict[str, Any]:
    """The event as a Schema.org Event, texts in `language` where they exist."""
    url = event_url(event, language)
    organizer_name = (
        localize(event.community.name, language).text if event.community is not None else settings.YULAN_SITE_NAME
    )
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "@id": url,
        "url": url,
        "name": localize(event.title, language, event.source_language).text,
        "description": plain_text(localize(event.description, language, event.source_language).text),
        "startDate": _iso(event.starts_at, event),
        "endDate": _iso(event.ends_at, event),
        "eventStatus": _status(event),
        "eventAttendanceMode": _attendance_mode(event),
        "organizer": {"@type": "Organization", "name": organizer_name, "url": settings.SITE_URL},
    }
    locations = _location(event, language)
    if locations:
        data["location"] = locations[0] if len(locations) == 1 else locations
    if event.language_list:
        data["inLanguage"] = event.language_list
    if event.capacity is not None:
        data["maximumAttendeeCapacity"] = event.capacity
        data["remainingAttendeeCapacity"] = event.places_left
    data["offers"] = {
        "@type": "Offer",
        "price": 0,
        "priceCurrency": getattr(settings, "YULAN_CURRENCY", DEFAULT_CURRENCY),
        "availability": _availability(event),
        "url": url,
        "validFrom": _iso(event.registration_opens_at or event.created_at, event),
    }
    return data


def jsonld_script(data: dict[str, Any]) -> SafeString:
    """A <script type="application/ld+json"> element; no text inside can end it early."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308
