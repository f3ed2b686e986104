import datetime

import pytest

from yulan.guide import selectors, services
from yulan.guide.geo import haversine_m, walking_radius_m
from yulan.guide.models import Article, Place

from .test_services import article_input, place_input

# Points around Hongqiao, Changning (31.2°N): 0.001° of latitude is about 111 m.
ORIGIN = (31.2000, 121.4000)


@pytest.fixture
def places(editor):
    made = {}
    for slug, dlat, langs, hours, kind in [
        ("near-100m", 0.0009, ["en", "ja"], "Mo-Su 00:00-24:00", Place.Kind.COMMUNITY_CENTRE),
        ("near-500m", 0.0045, ["zh"], "Mon-Fri 09:00-17:00", Place.Kind.HOSPITAL),
        ("mid-900m", 0.0081, ["en"], "", Place.Kind.LIBRARY),
        ("far-3km", 0.027, ["en"], "Mo-Su 00:00-24:00", Place.Kind.COMMUNITY_CENTRE),
    ]:
        made[slug] = services.place_create(
            actor=editor,
            data=place_input(
                slug=slug,
                name={"en": slug},
                latitude=ORIGIN[0] + dlat,
                longitude=ORIGIN[1],
                languages=langs,
                hours=hours,
                kind=kind,
            ),
        )
    return made


def slugs(results):
    return [r.place.slug for r in results]


def test_near_me_orders_by_distance_within_the_radius(places):
    found = selectors.places_near(lat=ORIGIN[0], lng=ORIGIN[1], radius_m=1000)
    assert slugs(found) == ["near-100m", "near-500m", "mid-900m"]
    assert 90 < found[0].distance_m < 110


def test_the_15_minute_walk_ring_reaches_under_a_kilometre(places, settings):
    radius = walking_radius_m(15)
    assert radius == 15 * settings.YULAN_WALK_METRES_PER_MINUTE * 100 / settings.YULAN_WALK_DETOUR_PERCENT
    found = selectors.places_near(lat=ORIGIN[0], lng=ORIGIN[1], radius_m=radius)
    assert slugs(found) == ["near-100m", "near-500m", "mid-900m"]
    found = selectors.places_near(lat=ORIGIN[0], lng=ORIGIN[1], radius_m=walking_radius_m(5))
    assert slugs(found) == ["near-100m"]


def test_near_me_filters_by_language_kind_and_open_now(places):
    assert slugs(selectors.places_near(lat=ORIGIN[0], lng=ORIGIN[1], radius_m=5000, language="ja")) == ["near-100m"]
    assert slugs(selectors.places_near(lat=ORIGIN[0], lng=ORIGIN[1], radius_m=5000, kind=Place.Kind.HOSPITAL)) == [
        "near-500m"
    ]
    sunday_noon = datetime.datetime(2026, 11, 29, 12, 0)
    open_on_sunday = selectors.places_near(lat=ORIGIN[0], lng=ORIGIN[1], radius_m=5000, open_now=True, at=sunday_noon)
    assert slugs(open_on_sunday) == ["near-100m", "far-3km"]
    monday_noon = datetime.datetime(2026, 11, 23, 12, 0)
    assert "near-500m" in slugs(
        selectors.places_near(lat=ORIGIN[0], lng=ORIGIN[1], radius_m=5000, open_now=True, at=monday_noon)
    )


def test_the_bounding_box_does_not_cut_off_places_inside_the_circle(editor):
    # A place due east at 990 m: longitude degrees are shorter than latitude degrees here.
    dlng = 0.99 / (111.32 * 0.8556)
    services.place_create(
        actor=editor, data=place_input(slug="east", latitude=ORIGIN[0], longitude=ORIGIN[1] + dlng, hours="")
    )
    found = selectors.places_near(lat=ORIGIN[0], lng=ORIGIN[1], radius_m=1000)
    assert slugs(found) == ["east"]
    assert haversine_m(ORIGIN[0], ORIGIN[1], ORIGIN[0], ORIGIN[1] + dlng) < 1000


def test_an_address_is_found_from_the_citys_own_data(places, community):
    found = selectors.geocode(address="Hongqiao Subdistrict, Changning")
    assert (found.lat, found.lng) == (community.latitude, community.longitude)
    found = selectors.geocode(address="虹桥街道")
    assert found is not None
    assert selectors.geocode(address="Atlantis 12") is None


# --- search -----------------------------------------------------------------------------------


@pytest.fixture
def indexed(editor, category):
    article = services.article_create(
        actor=editor,
        data=article_input(
            category,
            slug="doctor",
            title={"en": "Seeing a doctor", "ja": "病院に行く", "ko": "병원 가기", "ru": "Визит к врачу"},
            body={
                "en": "<p>International departments of hospitals.</p>",
                "ja": "<p>国際診療部のある病院。</p>",
                "ko": "<p>국제 진료부가 있는 병원.</p>",
                "ru": "<p>Международные отделения больниц.</p>",
            },
        ),
    )
    services.article_set_state(actor=editor, article_id=article.pk, state=Article.State.PUBLISHED)
    draft = services.article_create(
        actor=editor, data=article_input(category, slug="secret-draft", title={"en": "Hospital draft"})
    )
    library = services.place_create(actor=editor, data=place_input())
    return {"article": article, "draft": draft, "library": library}


@pytest.mark.parametrize(
    "query",
    ["doctor", "DOCTOR", "hospitals", "病院", "국제 진료", "병원", "врачу", "Международные", "departments of hosp"],
)
def test_search_finds_articles_in_any_language_and_substring(indexed, query):
    results = selectors.search_guide_and_directory(query=query)
    assert [a.slug for a in results.articles] == ["doctor"]


@pytest.mark.parametrize("query", ["图书馆", "国际图书", "图书", "Hongqiao International", "reading room", "library"])
def test_search_finds_places_by_name_address_and_service(indexed, query):
    results = selectors.search_guide_and_directory(query=query)
    assert [p.slug for p in results.places] == ["library"]


@pytest.mark.parametrize("query", ["libary", "internatonal library", "hospitls"])
def test_search_forgives_a_typo(indexed, query):
    results = selectors.search_guide_and_directory(query=query)
    assert results.articles or results.places


def test_search_never_shows_drafts_and_finds_nothing_for_nonsense(indexed):
    assert selectors.search_guide_and_directory(query="draft").articles == []
    nothing = selectors.search_guide_and_directory(query="zzqxv")
    assert nothing.articles == [] and nothing.places == []


def test_search_treats_quotes_and_operators_as_text(indexed):
    for query in ['"', 'doctor" OR "x', "NEAR(a b)", "*", "a AND", "'; DROP TABLE x; --"]:
        selectors.search_guide_and_directory(query=query)  # must not raise
