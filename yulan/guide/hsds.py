"""The directory as Open Referral HSDS 3.0: a read API (/hsds/services, /hsds/services/{id})
and a whole-directory export with the organization, service, location, service_at_location,
schedule and language tables.

HSDS wants UUIDs: each row's id is a UUID derived from its table and primary key, so it stays
the same across exports. Text is given in one language (?lang=, default English) with the
fallback of the site."""

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError

from yulan.api import error_field
from yulan.core.i18n import language_codes, localize
from yulan.guide import search
from yulan.guide.hours import DAYS
from yulan.guide.models import Organization, Place, PlaceService

NAMESPACE = uuid.UUID("6f1e9a52-2f0c-4a36-9f55-7a3c1d5e0b11")
MAX_PER_PAGE = 100

hsds_api = NinjaAPI(
    title="Yulan directory (Open Referral HSDS 3.0)",
    version="3.0",
    urls_namespace="hsds",
    docs_url="/docs",
)


def hsds_id(table: str, pk: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{table}:{pk}"))


def _text(value: Any, lang: str, fallback: str) -> str:
    return localize(value, lang, fallback).text


def organization_json(org: Organization | None, place: Place, lang: str) -> dict[str, Any]:
    if org is None:  # a place that names no operator stands as its own organization
        return {
            "id": hsds_id("place-organization", place.pk),
            "name": _text(place.name, lang, place.source_language),
            "description": _text(place.description, lang, place.source_language),
            "email": place.email or None,
            "website": place.website or None,
        }
    return {
        "id": hsds_id("organization", org.pk),
        "name": _text(org.name, lang, "en"),
        "description": _text(org.description, lang, "en"),
        "email": org.email or None,
        "website": org.website or None,
    }


def schedules_json(place: Place) -> list[dict[str, Any]]:
    location_id = hsds_id("location", place.pk)
    rows: list[dict[str, Any]] = [
        {
            "id": hsds_id("schedule", h.pk),
            "location_id": location_id,
            "freq": "WEEKLY",
            "wkst": "MO",
            "byday": DAYS[h.weekday].upper(),
            "opens_at": h.opens.strftime("%H:%M"),
            "closes_at": "24:00" if h.closes.hour == 0 and h.closes.minute == 0 else h.closes.strftime("%H:%M"),
        }
        for h in place.hours.all()
    ]
    for e in place.exceptions.all():
        rows.append(
            {
                "id": hsds_id("schedule-exception", e.pk),
                "location_id": location_id,
                "valid_from": e.date.isoformat(),
                "valid_to": e.date.isoformat(),
                "opens_at": e.opens.strftime("%H:%M") if e.opens else None,
                "closes_at": e.closes.strftime("%H:%M") if e.closes else None,
                "description": "closed" if e.closed else (e.note or "special hours"),
            }
        )
    return rows


def languages_json(place: Place) -> list[dict[str, Any]]:
    return [
        {
            "id": hsds_id("language", lang.pk),
            "location_id": hsds_id("location", place.pk),
            "code": lang.code,
            "name": LANG_INFO.get(lang.code, {}).get("name", lang.code),
        }
        for lang in place.languages.all()
    ]


def location_json(place: Place, lang: str, *, nested: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": hsds_id("location", place.pk),
        "location_type": "physical",
        "name": _text(place.name, lang, place.source_language),
        "description": _text(place.description, lang, place.source_language),
        "latitude": place.latitude,
        "longitude": place.longitude,
        "organization_id": organization_json(place.organization, place, lang)["id"],
        "addresses": [
            {
                "id": hsds_id("address", place.pk),
                "location_id": hsds_id("location", place.pk),
                "address_1": _text(place.address, lang, place.source_language),
                "city": settings.YULAN_CITY,
                "country": settings.YULAN_COUNTRY,
                "address_type": "physical",
            }
        ],
        "accessibility": [
            {
                "id": hsds_id("accessibility", place.pk),
                "location_id": hsds_id("location", place.pk),
                "description": _text(place.accessibility, lang, place.source_language)
                or ("wheelchair accessible" if place.wheelchair_accessible else ""),
            }
        ],
        "phones": [{"id": hsds_id("phone", place.pk), "number": place.phone}] if place.phone else [],
    }
    if nested:
        data["schedules"] = schedules_json(place)
        data["languages"] = languages_json(place)
    return data


def service_json(service: PlaceService, lang: str) -> dict[str, Any]:
    place = service.place
    service_id = str(service.hsds_id)
    return {
        "id": service_id,
        "organization": organization_json(place.organization, place, lang),
        "name": _text(service.name, lang, place.source_language),
        "description": _text(service.description, lang, place.source_language),
        "status": "active",
        "email": place.email or None,
        "url": place.website or None,
        "languages": languages_json(place),
        "service_at_locations": [
            {
                "id": hsds_id("service_at_location", service.pk),
                "service_id": service_id,
                "location": location_json(place, lang, nested=True),
            }
        ],
    }


def _services_qs() -> QuerySet[PlaceService]:
    return (
        PlaceService.objects.filter(place__is_published=True)
        .select_related("place", "place__organization")
        .prefetch_related("place__languages", "place__hours", "place__exceptions")
        .order_by("id")
    )


class PageQuery(Schema):
    search: str | None = Field(None, max_length=200)
    page: int = Field(1, ge=1)
    per_page: int = Field(20, ge=1, le=MAX_PER_PAGE)
    lang: str = Field("en", max_length=10)


def _check_lang(lang: str) -> None:
    if lang not in language_codes():
        raise HttpError(400, _("Unknown language code “%(code)s”.") % {"code": lang})


@hsds_api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> Any:
    first = exc.errors[0] if exc.errors else {}
    field = error_field(first.get("loc", []))
    return hsds_api.create_response(
        request,
        {
            "detail": _("Invalid value for “%(field)s”: %(reason)s") % {"field": field, "reason": first.get("msg", "")},
            "field": field,
        },
        status=422,
    )


@hsds_api.get("/services", summary="Services, paged; `search` matches any language")
def services_list(request: HttpRequest, q: Query[PageQuery]) -> dict[str, Any]:
    _check_lang(q.lang)
    qs = _services_qs()
    if q.search:
        hits = search.search(q.search, kinds=["place"], limit=1000)
        qs = qs.filter(place_id__in=[h.object_id for h in hits])
    total = qs.count()
    pages = max(1, math.ceil(total / q.per_page))
    start = (q.page - 1) * q.per_page
    contents = [service_json(s, q.lang) for s in qs[start : start + q.per_page]]
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": q.page,
        "size": len(contents),
        "first_page": q.page == 1,
        "last_page": q.page >= pages,
        "empty": not contents,
        "contents": contents,
    }


@hsds_api.get("/services/{service_id}", summary="One service with its organization, locations and schedules")
def service_detail(request: HttpRequest, service_id: str, lang: str = "en") -> dict[str, Any]:
    _check_lang(lang)
    try:
        wanted = uuid.UUID(service_id)
    except ValueError:
        raise HttpError(404, _("Not found.")) from None
    service = _services_qs().filter(hsds_id=wanted).first()
    if service is None:
        raise HttpError(404, _("Not found."))
    return service_json(service, lang)


def export_tables(lang: str) -> Iterator[str]:
    """The whole directory as one JSON object of HSDS tables, written piece by piece so a
    large directory never sits in memory at once."""
    places = (
        Place.objects.filter(is_published=True)
        .select_related("organization")
        .prefetch_related("languages", "hours", "exceptions", "services")
        .order_by("id")
    )

    def table(name: str, rows: Iterator[dict[str, Any]], first: bool = False) -> Iterator[str]:
        yield ("" if first else ",") + json.dumps(name) + ":["
        sep = ""
        for row in rows:
            yield sep + json.dumps(row, ensure_ascii=False)
            sep = ","
        yield "]"

    def organizations() -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        for place in places.iterator(chunk_size=1000):
            org = organization_json(place.organization, place, lang)
            if org["id"] not in seen:
                seen.add(org["id"])
                yield org

    def services_rows() -> Iterator[dict[str, Any]]:
        for place in places.iterator(chunk_size=1000):
            org_id = organization_json(place.organization, place, lang)["id"]
            for s in place.services.all():
                yield {
                    "id": str(s.hsds_id),
                    "organization_id": org_id,
                    "name": _text(s.name, lang, place.source_language),
                    "description": _text(s.description, lang, place.source_language),
                    "status": "active",
                }

    def locations() -> Iterator[dict[str, Any]]:
        for place in places.iterator(chunk_size=1000):
            yield location_json(place, lang, nested=False)

    def service_at_locations() -> Iterator[dict[str, Any]]:
        for place in places.iterator(chunk_size=1000):
            for s in place.services.all():
                yield {
                    "id": hsds_id("service_at_location", s.pk),
                    "service_id": str(s.hsds_id),
                    "location_id": hsds_id("location", place.pk),
                }

    def schedules() -> Iterator[dict[str, Any]]:
        for place in places.iterator(chunk_size=1000):
            yield from schedules_json(place)

    def languages() -> Iterator[dict[str, Any]]:
        for place in places.iterator(chunk_size=1000):
            yield from languages_json(place)

    yield (
        "{"
        + json.dumps("hsds_version")
        + ":"
        + json.dumps("3.0")
        + ","
        + json.dumps("language")
        + ":"
        + json.dumps(lang)
    )
    yield from table("organization", organizations())
    yield from table("service", services_rows())
    yield from table("location", locations())
    yield from table("service_at_location", service_at_locations())
    yield from table("schedule", schedules())
    yield from table("language", languages())
    yield "}"


@hsds_api.get("/export.json", summary="The whole directory as HSDS tables")
def export(request: HttpRequest, lang: str = "en") -> StreamingHttpResponse:
    _check_lang(lang)
    response = StreamingHttpResponse(export_tables(lang), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="directory-hsds.json"'
    return response
