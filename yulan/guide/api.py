from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import django_auth

from yulan.core.errors import ApplicationError
from yulan.core.i18n import localize, translations_of
from yulan.guide import geo, selectors, services
from yulan.guide.models import Article, Category, Place

router = Router(tags=["guide"])

Text = dict[str, Annotated[str, Field(max_length=50_000)]]


class PlaceOut(Schema):
    slug: str
    kind: str
    name: str
    address: str
    latitude: float
    longitude: float
    languages: list[str]
    url: str


class NearbyOut(PlaceOut):
    distance_m: int
    walking_minutes: int
    open_now: bool | None


class NearQuery(Schema):
    lat: float = Field(..., ge=-90, le=90)
    lng: float = Field(..., ge=-180, le=180)
    minutes: int | None = Field(None, ge=1, le=geo.MAX_WALK_MINUTES)
    distance: int | None = Field(None, ge=50, le=geo.MAX_RADIUS_M)
    language: str | None = Field(None, max_length=10)
    kind: str | None = Field(None, max_length=30)
    open_now: bool = False


def _place_out(place: Place) -> dict[str, Any]:
    return {
        "slug": place.slug,
        "kind": place.kind,
        "name": localize(place.name, fallback=place.source_language).text,
        "address": localize(place.address, fallback=place.source_language).text,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "languages": [lang.code for lang in place.languages.all()],
        "url": f"/places/{place.slug}/",
    }


@router.get("places/near", response=list[NearbyOut], summary="Places near a point, nearest first")
def places_near(request: HttpRequest, q: Query[NearQuery]) -> list[dict[str, Any]]:
    if q.kind is not None and q.kind not in Place.Kind.values:
        raise ApplicationError(_("Choose a kind of place from the list."), field="kind")
    radius = q.distance if q.distance else geo.walking_radius_m(q.minutes or 15)
    found = selectors.places_near(
        lat=q.lat, lng=q.lng, radius_m=radius, language=q.language, kind=q.kind, open_now=q.open_now
    )
    return [
        {
            **_place_out(n.place),
            "distance_m": round(n.distance_m),
            "walking_minutes": n.walking_minutes,
            "open_now": n.open_now,
        }
        for n in found
    ]


class SearchOut(Schema):
    articles: list[dict[str, str]]
    places: list[PlaceOut]


@router.get("search", response=SearchOut, summary="Search guide articles and places in any language")
def search(request: HttpRequest, q: Annotated[str, Field(min_length=1, max_length=200)]) -> dict[str, Any]:
    results = selectors.search_guide_and_directory(query=q)
    return {
        "articles": [
            {
                "slug": a.slug,
                "title": localize(a.title, fallback=a.source_language).text,
                "url": f"/guide/article/{a.slug}/",
            }
            for a in results.articles
        ],
        "places": [_place_out(p) for p in results.places],
    }


class ArticleIn(Schema):
    slug: str = Field(..., max_length=120)
    category: str = Field(..., max_length=50, description="category slug")
    title: Text
    summary: Text = {}
    body: Text
    source_language: str = "en"


class ArticleOut(Schema):
    id: int
    slug: str
    state: str
    title: dict[str, str]
    summary: dict[str, str]
    body: dict[str, str]


def _article_out(article: Article) -> dict[str, Any]:
    return {
        "id": article.pk,
        "slug": article.slug,
        "state": article.state,
        "title": translations_of(article.title),
        "summary": translations_of(article.summary),
        "body": translations_of(article.body),
    }


@router.post("guide/articles", response={201: ArticleOut}, auth=django_auth, summary="Create a draft article")
def article_create(request: HttpRequest, payload: ArticleIn) -> Status[dict[str, Any]]:
    category = Category.objects.filter(slug=payload.category).first()
    if category is None:
        raise ApplicationError(_("Choose a category from the list."), field="category")
    article = services.article_create(
        actor=request.user,  # type: ignore[arg-type]
        data=services.ArticleInput(
            slug=payload.slug,
            category_id=category.pk,
            title=payload.title,
            summary=payload.summary,
            body=payload.body,
            source_language=payload.source_language,
        ),
    )
    return Status(201, _article_out(article))


@router.get("guide/articles/{slug}", response=ArticleOut, summary="A published article, all languages")
def article_get(request: HttpRequest, slug: str) -> dict[str, Any]:
    article = selectors.article_published_get(slug=slug)
    if article is None:
        raise HttpError(404, _("Not found."))
    return _article_out(article)
