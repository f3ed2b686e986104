"""Reads of the guide and directory."""

import datetime
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from yulan.core.i18n import translations_of
from yulan.core.models import Community
from yulan.core.permissions import Perm, community_scope
from yulan.guide import geo, search
from yulan.guide.hours import Interval, is_open
from yulan.guide.models import Article, Category, OpeningHours, Place, PlaceLanguage, ScheduleException
from yulan.guide.services import stale_cutoff


def local_now() -> datetime.datetime:
    return timezone.now().astimezone(ZoneInfo(settings.TIME_ZONE))


# --- guide ------------------------------------------------------------------------------------


def categories_with_counts() -> QuerySet[Category]:
    return Category.objects.annotate(
        published_count=Count("articles", filter=Q(articles__state=Article.State.PUBLISHED))
    )


def articles_published(*, category: Category | None = None) -> QuerySet[Article]:
    qs = Article.objects.filter(state=Article.State.PUBLISHED).select_related("category")
    if category is not None:
        qs = qs.filter(category=category)
    return qs


def article_published_get(*, slug: str) -> Article | None:
    return articles_published().filter(slug=slug).first()


def articles_for_staff(*, state: str | None = None, due_only: bool = False) -> QuerySet[Article]:
    qs = Article.objects.select_related("category").order_by("-updated_at")
    if state:
        qs = qs.filter(state=state)
    if due_only:
        cutoff = stale_cutoff()
        qs = qs.filter(state=Article.State.PUBLISHED).filter(
            Q(last_reviewed_at__lt=cutoff) | Q(last_reviewed_at__isnull=True)
        )
    return qs


def articles_due_count() -> int:
    return articles_for_staff(due_only=True).count()


# --- directory --------------------------------------------------------------------------------


def _place_detail_prefetch(qs: QuerySet[Place]) -> QuerySet[Place]:
    return qs.select_related("community", "organization").prefetch_related(
        "languages", "services", "hours", Prefetch("exceptions", queryset=ScheduleException.objects.all())
    )


def place_get(*, slug: str) -> Place | None:
    return _place_detail_prefetch(Place.objects.filter(slug=slug, is_published=True)).first()


def places_list(
    *, kind: str | None = None, community: Community | None = None, language: str | None = None
) -> QuerySet[Place]:
    qs = Place.objects.filter(is_published=True)
    if kind:
        qs = qs.filter(kind=kind)
    if community is not None:
        qs = qs.filter(community=community)
    if language:
        qs = qs.filter(languages__code=language)
    return qs.select_related("community").prefetch_related("languages").order_by("slug")


def places_for_staff(*, user: Any) -> QuerySet[Place]:
    qs = Place.objects.select_related("community").order_by("slug")
    scope = community_scope(user, Perm.DIRECTORY_WRITE)
    if scope is not None:
        qs = qs.filter(community_id__in=scope)
    return qs


def place_schedule(place: Place) -> tuple[list[tuple[int, Interval]], list[tuple[datetime.date, Interval | None]]]:
    weekly = [(h.weekday, Interval(h.opens, h.closes)) for h in place.hours.all()]
    exceptions = [(e.date, _exception_interval(e.closed, e.opens, e.closes)) for e in place.exceptions.all()]
    return weekly, exceptions


def _exception_interval(closed: bool, opens: datetime.time | None, closes: datetime.time | None) -> Interval | None:
    """A special day's hours; None means closed all day."""
    if closed or opens is None or closes is None:
        return None
    return Interval(opens, closes)


def place_is_open(place: Place, at: datetime.datetime | None = None) -> bool:
    weekly, exceptions = place_schedule(place)
    return is_open(weekly, exceptions, at or local_now())


@dataclass
class NearbyPlace:
    place: Place
    distance_m: float
    open_now: bool | None

    @property
    def walking_minutes(self) -> int:
        detour = settings.YULAN_WALK_DETOUR_PERCENT / 100
        return max(1, round(self.distance_m * detour / settings.YULAN_WALK_METRES_PER_MINUTE))


# What a near-me result shows; the long texts (description, accessibility) stay unread.
NEARBY_FIELDS = (
    "slug",
    "kind",
    "name",
    "address",
    "latitude",
    "longitude",
    "source_language",
    "community__slug",
    "community__name",
)


def places_near(
    *,
    lat: float,
    lng: float,
    radius_m: float,
    language: str | None = None,
    kind: str | None = None,
    open_now: bool = False,
    at: datetime.datetime | None = None,
    limit: int = 50,
) -> list[NearbyPlace]:
    """Places within `radius_m` of the point, nearest first. A bounding box on the indexed
    coordinates makes the first cut; the exact distance decides."""
    radius_m = min(radius_m, geo.MAX_RADIUS_M)
    lat_lo, lat_hi, lng_lo, lng_hi = geo.bounding_box(lat, lng, radius_m)
    qs = Place.objects.filter(
        is_published=True, latitude__gte=lat_lo, latitude__lte=lat_hi, longitude__gte=lng_lo, longitude__lte=lng_hi
    )
    if kind:
        qs = qs.filter(kind=kind)
    if language:
        qs = qs.filter(languages__code=language)
    candidates = []
    for pk, plat, plng in qs.values_list("pk", "latitude", "longitude"):
        d = geo.haversine_m(lat, lng, plat, plng)
        if d <= radius_m:
            candidates.append((d, pk))
    candidates.sort()
    at = at or local_now()
    if open_now:
        weekly, exceptions = _schedules_on([pk for _d, pk in candidates], at.date())
        candidates = [(d, pk) for d, pk in candidates if is_open(weekly.get(pk, []), exceptions.get(pk, []), at)]
        candidates = candidates[:limit]
    else:
        candidates = candidates[:limit]
        weekly, exceptions = _schedules_on([pk for _d, pk in candidates], at.date())
    # Only what a result shows (name, address, community, languages) is loaded with the places;
    # whether each is open comes from the plain rows read above.
    places = (
        Place.objects.filter(pk__in=[pk for _d, pk in candidates])
        .select_related("community")
        .only(*NEARBY_FIELDS)
        .prefetch_related("languages")
        .in_bulk()
    )
    return [
        NearbyPlace(places[pk], d, is_open(weekly.get(pk, []), exceptions.get(pk, []), at))
        for d, pk in candidates
        if pk in places
    ]


def _schedules_on(
    ids: list[int], date: datetime.date
) -> tuple[dict[int, list[tuple[int, Interval]]], dict[int, list[tuple[datetime.date, Interval | None]]]]:
    """The weekly hours of these places on that date's weekday and their exceptions on that date
    (all that `is_open` looks at for a moment on that date), read as plain rows."""
    weekly: dict[int, list[tuple[int, Interval]]] = {}
    for place_id, weekday, opens, closes in OpeningHours.objects.filter(
        place_id__in=ids, weekday=date.weekday()
    ).values_list("place_id", "weekday", "opens", "closes"):
        weekly.setdefault(place_id, []).append((weekday, Interval(opens, closes)))
    exceptions: dict[int, list[tuple[datetime.date, Interval | None]]] = {}
    for place_id, day, closed, ex_opens, ex_closes in ScheduleException.objects.filter(
        place_id__in=ids, date=date
    ).values_list("place_id", "date", "closed", "opens", "closes"):
        exceptions.setdefault(place_id, []).append((day, _exception_interval(closed, ex_opens, ex_closes)))
    return weekly, exceptions


@dataclass
class GeocodeResult:
    lat: float
    lng: float
    label: Any


def geocode(*, address: str) -> GeocodeResult | None:
    """Find a point for an address from what the city's own data knows: a community's name or
    a place's name or address. No outside geocoder is asked, so no address leaves the server."""
    text = address.strip()
    if not text:
        return None
    for community in Community.objects.filter(latitude__isnull=False):
        names = translations_of(community.name)
        if any(n and (n.casefold() in text.casefold() or text.casefold() in n.casefold()) for n in names.values()):
            return GeocodeResult(community.latitude, community.longitude, community.name)  # type: ignore[arg-type]
    hits = search.search(text, kinds=["place"], limit=1)
    if hits:
        place = Place.objects.filter(pk=hits[0].object_id).first()
        if place is not None:
            return GeocodeResult(place.latitude, place.longitude, place.name)
    return None


SEARCH_ARTICLE_FIELDS = ("slug", "title", "source_language", "category__slug", "category__name")


@dataclass
class SearchResults:
    articles: list[Article]
    places: list[Place]


def search_guide_and_directory(*, query: str, limit: int = 50) -> SearchResults:
    hits = search.search(query, limit=limit)
    article_ids = [h.object_id for h in hits if h.kind == "article"]
    place_ids = [h.object_id for h in hits if h.kind == "place"]
    # A result shows an article's title and category and a place as near-me does; the long texts
    # (an article's body and summary in every language) stay unread.
    articles = articles_published().only(*SEARCH_ARTICLE_FIELDS).in_bulk(article_ids)
    places = (
        Place.objects.filter(is_published=True)
        .select_related("community")
        .only(*NEARBY_FIELDS)
        .prefetch_related("languages")
        .in_bulk(place_ids)
    )
    return SearchResults(
        articles=[articles[i] for i in article_ids if i in articles],
        places=[places[i] for i in place_ids if i in places],
    )


def spoken_languages() -> list[str]:
    return list(PlaceLanguage.objects.values_list("code", flat=True).distinct().order_by("code"))
