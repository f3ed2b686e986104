"""Writes of the guide and directory. Each checks permission, validates, writes in one
transaction, keeps the search index in step and records an audit entry."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yulan.core.cleaning import clean_language, clean_slug
from yulan.core.errors import ApplicationError
from yulan.core.html import clean_html, strip_html
from yulan.core.i18n import clean_translations, language_codes, translations_of
from yulan.core.models import Community, User
from yulan.core.pagecache import public_pages_changed
from yulan.core.permissions import Perm, require, require_for_community
from yulan.core.services import audit_record, snapshot
from yulan.guide import geo, search
from yulan.guide.hours import HoursError, parse_hours
from yulan.guide.models import (
    Article,
    Category,
    OpeningHours,
    Organization,
    Place,
    PlaceLanguage,
    PlaceService,
    ScheduleException,
)

# --- articles ---------------------------------------------------------------------------------


@dataclass
class ArticleInput:
    slug: str
    category_id: int
    title: Any
    body: Any
    summary: Any = None
    source_language: str = "en"
    community_id: int | None = None


def _article_values(data: ArticleInput) -> dict[str, Any]:
    title = clean_translations(data.title, field="title", max_chars=300)
    for code, text in title.items():
        title[code] = strip_html(text)
    body = {code: clean_html(text) for code, text in clean_translations(data.body, field="body").items()}
    summary = {
        code: strip_html(text)
        for code, text in clean_translations(data.summary, field="summary", required=False, max_chars=1000).items()
    }
    if not Category.objects.filter(pk=data.category_id).exists():
        raise ApplicationError(_("Choose a category from the list."), field="category")
    if data.community_id is not None and not Community.objects.filter(pk=data.community_id).exists():
        raise ApplicationError(_("Choose a community from the list."), field="community")
    return {
        "slug": clean_slug(data.slug),
        "category_id": data.category_id,
        "community_id": data.community_id,
        "title": title,
        "body": body,
        "summary": summary,
        "source_language": clean_language(data.source_language),
    }


def _index_article(article: Article) -> None:
    texts: dict[str, tuple[str, str]] = {}
    if article.state == Article.State.PUBLISHED:
        title = translations_of(article.title)
        body = translations_of(article.body)
        summary = translations_of(article.summary)
        for code in language_codes():
            if title.get(code) or body.get(code):
                texts[code] = (title.get(code, ""), f"{summary.get(code, '')} {strip_html(body.get(code, ''))}")
    search.document_replace(kind="article", object_id=article.pk, texts=texts)


def article_create(*, actor: User, data: ArticleInput) -> Article:
    require(actor, Perm.GUIDE_WRITE)
    values = _article_values(data)
    try:
        with transaction.atomic(durable=True):
            article = Article.objects.create(**values, created_by=actor)
            public_pages_changed()
            audit_record(actor=actor, action="article.create", target=article, after=snapshot(article))
    except IntegrityError:
        raise ApplicationError(_("An article with this address already exists."), field="slug") from None
    return article


def article_update(*, actor: User, article_id: int, data: ArticleInput) -> Article:
    require(actor, Perm.GUIDE_WRITE)
    values = _article_values(data)
    try:
        with transaction.atomic(durable=True):
            article = Article.objects.select_for_update().get(pk=article_id)
            before = snapshot(article)
            for key, value in values.items():
                setattr(article, key, value)
            article.updated_at = timezone.now()
            article.save()
            article.refresh_from_db()
            _index_article(article)
            public_pages_changed()
            audit_record(actor=actor, action="article.update", target=article, before=before, after=snapshot(article))
    except IntegrityError:
        raise ApplicationError(_("An article with this address already exists."), field="slug") from None
    return article


_TRANSITIONS: dict[str, dict[str, Perm]] = {
    Article.State.DRAFT: {Article.State.REVIEW: Perm.GUIDE_WRITE, Article.State.PUBLISHED: Perm.GUIDE_PUBLISH},
    Article.State.REVIEW: {Article.State.DRAFT: Perm.GUIDE_WRITE, Article.State.PUBLISHED: Perm.GUIDE_PUBLISH},
    Article.State.PUBLISHED: {Article.State.DRAFT: Perm.GUIDE_PUBLISH},
}


def article_set_state(*, actor: User, article_id: int, state: str) -> Article:
    """Move an article between draft, review and published. Publishing counts as a review."""
    with transaction.atomic(durable=True):
        article = Article.objects.select_for_update().get(pk=article_id)
        allowed = _TRANSITIONS.get(article.state, {})
        if state not in allowed:
            raise ApplicationError(
                _("An article that is “%(current)s” cannot be moved to “%(target)s”.")
                % {
                    "current": article.get_state_display(),
                    "target": Article.State(state).label if state in Article.State.values else state,
                },
                field="state",
            )
        require(actor, allowed[state])
        before = snapshot(article)
        now = timezone.now()
        article.state = state
        if state == Article.State.PUBLISHED:
            article.published_at = article.published_at or now
            article.last_reviewed_at = now
        article.updated_at = now
        article.save()
        _index_article(article)
        public_pages_changed()
        audit_record(
            actor=actor, action=f"article.state.{state}", target=article, before=before, after=snapshot(article)
        )
    return article


def article_mark_reviewed(*, actor: User, article_id: int) -> Article:
    """An editor confirms the page is still correct; the review clock starts again."""
    require(actor, Perm.GUIDE_PUBLISH)
    with transaction.atomic(durable=True):
        article = Article.objects.select_for_update().get(pk=article_id)
        before = snapshot(article)
        article.last_reviewed_at = timezone.now()
        article.save(update_fields=["last_reviewed_at"])
        public_pages_changed()
        audit_record(actor=actor, action="article.reviewed", target=article, before=before, after=snapshot(article))
    return article


# --- places -----------------------------------------------------------------------------------

# ISO 639-1 codes Django knows, plus "zh" (Django only lists its scripts), plus the site's own.
KNOWN_SPOKEN_LANGUAGES = frozenset(code for code in LANG_INFO if "-" not in code) | {"zh"} | frozenset(language_codes())


@dataclass
class PlaceInput:
    slug: str
    kind: str
    name: Any
    address: Any
    latitude: Any
    longitude: Any
    description: Any = None
    accessibility: Any = None
    wheelchair_accessible: bool = False
    community_id: int | None = None
    organization_id: int | None = None
    phone: str = ""
    email: str = ""
    website: str = ""
    hours: str = ""
    languages: list[str] = field(default_factory=list)
    services: list[Any] = field(default_factory=list)
    source_language: str = "en"


def _place_values(data: PlaceInput) -> dict[str, Any]:
    if data.kind not in Place.Kind.values:
        raise ApplicationError(_("Choose a kind of place from the list."), field="kind")
    lat = geo.parse_coordinate(data.latitude, field="latitude", low=-90, high=90)
    lng = geo.parse_coordinate(data.longitude, field="longitude", low=-180, high=180)
    if data.community_id is not None and not Community.objects.filter(pk=data.community_id).exists():
        raise ApplicationError(_("Choose a community from the list."), field="community")
    if data.organization_id is not None and not Organization.objects.filter(pk=data.organization_id).exists():
        raise ApplicationError(_("Choose an organization from the list."), field="organization")
    return {
        "slug": clean_slug(data.slug),
        "kind": data.kind,
        "name": {k: strip_html(v) for k, v in clean_translations(data.name, field="name", max_chars=300).items()},
        "address": {
            k: strip_html(v) for k, v in clean_translations(data.address, field="address", max_chars=500).items()
        },
        "description": {
            k: clean_html(v)
            for k, v in clean_translations(data.description, field="description", required=False).items()
        },
        "accessibility": {
            k: strip_html(v)
            for k, v in clean_translations(data.accessibility, field="accessibility", required=False).items()
        },
        "wheelchair_accessible": bool(data.wheelchair_accessible),
        "latitude": lat,
        "longitude": lng,
        "community_id": data.community_id,
        "organization_id": data.organization_id,
        "phone": (data.phone or "").strip()[:50],
        "email": (data.email or "").strip(),
        "website": (data.website or "").strip(),
        "source_language": clean_language(data.source_language),
    }


def _clean_languages(codes: list[str]) -> list[str]:
    cleaned = []
    for code in codes:
        code = code.strip().lower()
        if not code:
            continue
        if code not in KNOWN_SPOKEN_LANGUAGES:
            raise ApplicationError(_("Unknown language code “%(code)s”.") % {"code": code}, field="languages")
        if code not in cleaned:
            cleaned.append(code)
    return cleaned


def _clean_services(services: list[Any]) -> list[dict[str, str]]:
    cleaned = []
    for item in services:
        name = clean_translations(item, field="services", required=False, max_chars=300)
        if name:
            cleaned.append({k: strip_html(v) for k, v in name.items()})
    return cleaned


def _index_place(place: Place) -> None:
    texts: dict[str, tuple[str, str]] = {}
    if place.is_published:
        names = translations_of(place.name)
        descriptions = translations_of(place.description)
        addresses = translations_of(place.address)
        services = [translations_of(s.name) for s in place.services.all()]
        for code in language_codes():
            title = names.get(code, "")
            body = " ".join(
                filter(
                    None,
                    [
                        addresses.get(code, ""),
                        strip_html(descriptions.get(code, "")),
                        *(s.get(code, "") for s in services),
                    ],
                )
            )
            if title or body:
                texts[code] = (title or names.get(place.source_language, ""), body)
    search.document_replace(kind="place", object_id=place.pk, texts=texts)


def _write_place_children(place: Place, hours_text: str, languages: list[str], services: list[dict[str, str]]) -> None:
    try:
        parsed = parse_hours(hours_text or "")
    except HoursError as exc:
        raise ApplicationError(str(exc), field="hours") from None
    place.hours.all().delete()
    place.exceptions.all().delete()
    place.languages.all().delete()
    place.services.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(place=place, weekday=day, opens=iv.opens, closes=iv.closes) for day, iv in parsed.weekly
    )
    ScheduleException.objects.bulk_create(
        ScheduleException(
            place=place,
            date=date,
            closed=iv is None,
            opens=iv.opens if iv else None,
            closes=iv.closes if iv else None,
        )
        for date, iv in parsed.exceptions
    )
    PlaceLanguage.objects.bulk_create(PlaceLanguage(place=place, code=code) for code in languages)
    PlaceService.objects.bulk_create(PlaceService(place=place, name=name) for name in services)


def _place_snapshot(place: Place) -> dict[str, Any]:
    data = snapshot(place)
    data["hours"] = [(h.weekday, h.opens.isoformat(), h.closes.isoformat()) for h in place.hours.all()]
    data["languages"] = [lang.code for lang in place.languages.all()]
    data["services"] = [translations_of(s.name) for s in place.services.all()]
    return data


def place_create(*, actor: User, data: PlaceInput) -> Place:
    require_for_community(actor, Perm.DIRECTORY_WRITE, data.community_id)
    values = _place_values(data)
    languages = _clean_languages(data.languages)
    services = _clean_services(data.services)
    try:
        with transaction.atomic(durable=True):
            place = Place.objects.create(**values)
            _write_place_children(place, data.hours, languages, services)
            _index_place(place)
            public_pages_changed()
            audit_record(actor=actor, action="place.create", target=place, after=_place_snapshot(place))
    except IntegrityError:
        raise ApplicationError(_("A place with this address already exists."), field="slug") from None
    return place


def place_update(*, actor: User, place_id: int, data: PlaceInput) -> Place:
    values = _place_values(data)
    languages = _clean_languages(data.languages)
    services = _clean_services(data.services)
    try:
        with transaction.atomic(durable=True):
            place = Place.objects.select_for_update().get(pk=place_id)
            # Both the place's present community and the one it moves to must be the actor's.
            require_for_community(actor, Perm.DIRECTORY_WRITE, place.community_id)
            require_for_community(actor, Perm.DIRECTORY_WRITE, values["community_id"])
            before = _place_snapshot(place)
            for key, value in values.items():
                setattr(place, key, value)
            place.updated_at = timezone.now()
            place.save()
            _write_place_children(place, data.hours, languages, services)
            place.refresh_from_db()
            _index_place(place)
            public_pages_changed()
            audit_record(actor=actor, action="place.update", target=place, before=before, after=_place_snapshot(place))
    except IntegrityError:
        raise ApplicationError(_("A place with this address already exists."), field="slug") from None
    return place


def search_reindex_all() -> int:
    """Rebuild every search document (after a bulk import). Returns the number of objects."""
    n = 0
    for article in Article.objects.all().iterator(chunk_size=500):
        _index_article(article)
        n += 1
    for place in Place.objects.prefetch_related("services").iterator(chunk_size=500):
        _index_place(place)
        n += 1
    return n


def stale_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=settings.YULAN_GUIDE_STALE_DAYS)
