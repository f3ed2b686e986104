"""Read API of the events: coming events, filtered like the public list, in one language."""

import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from yulan.core.cleaning import clean_language
from yulan.core.errors import ApplicationError
from yulan.core.i18n import localize
from yulan.core.models import Community
from yulan.events import selectors
from yulan.events.models import Event

router = Router(tags=["events"])


class EventOut(Schema):
    slug: str
    kind: str
    status: str
    title: str
    language: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    time_zone: str
    languages: list[str]
    community: str | None
    place: str | None
    online: bool
    capacity: int | None
    places_left: int | None
    registration_open: bool
    url: str
    calendar_url: str


class EventDetailOut(EventOut):
    description_html: str
    audience: str


class EventQuery(Schema):
    lang: str = Field(settings.LANGUAGE_CODE, max_length=10)
    community: str | None = Field(None, max_length=50)
    kind: str | None = Field(None, max_length=20)
    language: str | None = Field(None, max_length=10)
    date_from: datetime.date | None = Field(None, alias="from")
    date_to: datetime.date | None = Field(None, alias="to")
    free: bool = False
    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(20, ge=1, le=100)


def _event_out(event: Event, lang: str, *, detail: bool = False) -> dict[str, Any]:
    title = localize(event.title, lang, fallback=event.source_language)
    with translation.override(lang):
        url = reverse("events:detail", args=[event.slug])
        calendar_url = reverse("events:ics", args=[event.slug])
    out: dict[str, Any] = {
        "slug": event.slug,
        "kind": event.kind,
        "status": event.status,
        "title": title.text,
        "language": title.language,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "time_zone": event.time_zone,
        "languages": event.language_list,
        "community": event.community.slug if event.community else None,
        "place": event.place.slug if event.place else None,
        "online": bool(event.online_url),
        "capacity": event.capacity,
        "places_left": event.places_left,
        "registration_open": event.registration_open(),
        "url": url,
        "calendar_url": calendar_url,
    }
    if detail:
        out["description_html"] = localize(event.description, lang, fallback=event.source_language).text
        out["audience"] = localize(event.audience, lang, fallback=event.source_language).text
    return out


def _day(value: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(value, datetime.time.min))


@router.get("events", response=list[EventOut], summary="Coming events, soonest first")
def events(request: HttpRequest, q: Query[EventQuery]) -> list[dict[str, Any]]:
    lang = clean_language(q.lang, field="lang")
    community = None
    if q.community:
        community = Community.objects.filter(slug=q.community).first()
        if community is None:
            raise ApplicationError(_("Choose a community from the list."), field="community")
    if q.kind and q.kind not in Event.Kind.values:
        raise ApplicationError(_("Choose a type of event from the list."), field="kind")
    if q.date_from and q.date_to and q.date_to < q.date_from:
        raise ApplicationError(_("The end of the period must not be before its start."), field="to")
    found = selectors.events_public(
        community=community,
        kind=q.kind,
        language=clean_language(q.language, field="language") if q.language else None,
        date_from=_day(q.date_from) if q.date_from else None,
        date_to=_day(q.date_to + datetime.timedelta(days=1)) if q.date_to else None,
        free_only=q.free,
    )
    start = (q.page - 1) * q.per_page
    return [_event_out(e, lang) for e in found[start : start + q.per_page]]


@router.get("events/{slug}", response=EventDetailOut, summary="One event")
def event(request: HttpRequest, slug: str, lang: str = settings.LANGUAGE_CODE) -> dict[str, Any]:
    found = selectors.event_public(slug)
    if found is None:
        raise ApplicationError(_("There is no such event."), field="slug", status=404)
    return _event_out(found, clean_language(lang, field="lang"), detail=True)
