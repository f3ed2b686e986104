"""The pages, through the real URL routing, middleware and templates."""

import pytest

from yulan.core.models import AuditEntry
from yulan.guide import services
from yulan.guide.models import Article, Place

from .test_services import article_input, place_input


@pytest.fixture
def published(editor, category):
    article = services.article_create(actor=editor, data=article_input(category))
    return services.article_set_state(actor=editor, article_id=article.pk, state=Article.State.PUBLISHED)


@pytest.fixture
def library(editor, community):
    return services.place_create(actor=editor, data=place_input(community_id=community.pk))


def test_every_public_page_answers_in_every_language(client, published, library, settings):
    for code, _name in settings.LANGUAGES:
        for path in [
            "/",
            "/guide/",
            "/guide/payment/",
            "/guide/article/metro/",
            "/places/",
            "/places/library/",
            "/places/near/",
            "/search/?q=metro",
        ]:
            response = client.get(f"/{code}{path}")
            assert response.status_code == 200, (code, path)
            assert f'<html lang="{code}"' in response.content.decode()


def test_an_article_in_the_readers_language_shows_no_fallback_notice(client, published):
    page = client.get("/zh-hans/guide/article/metro/").content.decode()
    assert "地铁和公交" in page
    assert 'class="notice"' not in page


def test_a_missing_translation_falls_back_visibly(client, published):
    page = client.get("/ja/guide/article/metro/").content.decode()
    assert "Metro and buses" in page
    assert 'class="notice"' in page


def test_drafts_are_not_public(client, editor, category):
    services.article_create(actor=editor, data=article_input(category, slug="draft-page"))
    assert client.get("/en/guide/article/draft-page/").status_code == 404


def test_the_place_page_shows_hours_languages_and_map_data(client, library):
    page = client.get("/en/places/library/").content.decode()
    assert "Hongqiao International Library" in page
    assert 'data-lat="31.196000"' in page
    assert "09:00–20:00" in page
    assert "Japanese" in page


def test_the_places_list_filters_by_kind_and_language(client, editor, library):
    services.place_create(
        actor=editor, data=place_input(slug="clinic", kind=Place.Kind.HOSPITAL, name={"en": "Clinic"}, languages=["ko"])
    )
    page = client.get("/en/places/?kind=hospital").content.decode()
    assert "Clinic" in page and "Hongqiao International Library" not in page
    page = client.get("/en/places/?language=ja").content.decode()
    assert "Clinic" not in page and "Hongqiao International Library" in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("lat=abc&lng=121.4", "lat", "is not a number"),
        ("lat=95&lng=121.4", "lat", "between -90"),
        ("lat=31.2&lng=1e400", "lng", "between -180"),
        ("lat=31.2&lng=121.4&distance=1", "distance", "between 50"),
        ("lat=31.2&lng=121.4&minutes=9999", "minutes", "between 1"),
        ("address=Atlantis", "address", "could not find"),
    ],
)
def test_near_me_answers_bad_input_with_a_message_and_keeps_the_input(client, library, query, field, message):
    response = client.get(f"/en/places/near/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    typed = query.split("&")[0].split("=")[1]
    assert f'value="{typed}"' in page


def test_near_me_by_address_lists_places_with_walking_time(client, library, community):
    page = client.get("/en/places/near/?address=Hongqiao&minutes=15").content.decode()
    assert "Hongqiao International Library" in page
    assert "min on foot" in page


def test_a_search_too_long_is_refused_politely(client):
    response = client.get("/en/search/?q=" + "x" * 201)
    assert response.status_code == 400
    assert "too long" in response.content.decode()


def test_staff_pages_need_a_staff_role(client, resident):
    assert client.get("/en/staff/").status_code == 302  # to sign-in
    client.force_login(resident)
    assert client.get("/en/staff/").status_code == 403
    assert client.get("/en/staff/articles/").status_code == 403


def test_a_coordinator_cannot_open_the_guide_editor(client, coordinator):
    client.force_login(coordinator)
    assert client.get("/en/staff/").status_code == 200
    assert client.get("/en/staff/articles/new/").status_code == 403


def article_form(cat, **overrides):
    data = {
        "slug": "metro",
        "category": cat.pk,
        "source_language": "en",
        "title__en": "Metro and buses",
        "body__en": "<p>Trains run late.</p>",
        "title__zh-hans": "地铁和公交",
    }
    data.update(overrides)
    return data


def test_an_editor_writes_and_publishes_through_the_staff_pages(client, editor, category):
    client.force_login(editor)
    response = client.post("/en/staff/articles/new/", article_form(category))
    assert response.status_code == 302
    article = Article.objects.get(slug="metro")
    assert article.title.data == {"en": "Metro and buses", "zh-hans": "地铁和公交"}
    response = client.post(f"/en/staff/articles/{article.pk}/state/", {"action": "published"})
    assert response.status_code == 302
    assert client.get("/en/guide/article/metro/").status_code == 200
    assert AuditEntry.objects.filter(action="article.state.published", actor=editor).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slug": "No Spaces Please"}, "lower-case letters"),
        ({"title__en": "", "title__zh-hans": ""}, "at least one language"),
        ({"body__en": "x" * 50_001}, "too long"),
        ({"category": "999999"}, "Select a valid choice"),
    ],
)
def test_the_article_form_keeps_what_was_typed_and_names_the_problem(client, editor, category, overrides, message):
    client.force_login(editor)
    data = article_form(category, **overrides)
    response = client.post("/en/staff/articles/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "地铁和公交" in page or overrides.get("title__zh-hans") == ""
    assert not Article.objects.exists()


def test_the_article_form_refuses_a_post_without_csrf_token(editor, category):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post("/en/staff/articles/new/", article_form(category))
    assert response.status_code == 403
    assert not Article.objects.exists()


def test_a_bad_opening_hours_line_is_named_and_kept(client, coordinator, community):
    client.force_login(coordinator)
    data = {
        "slug": "centre",
        "kind": "community_centre",
        "community": community.pk,
        "latitude": "31.2",
        "longitude": "121.4",
        "source_language": "en",
        "name__en": "Centre",
        "address__en": "Street 1",
        "hours": "Mon-Fri 9-5",
    }
    response = client.post("/en/staff/places/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Line 1" in page
    assert "Mon-Fri 9-5" in page
    assert not Place.objects.exists()
    data["hours"] = "Mon-Fri 09:00-17:00"
    assert client.post("/en/staff/places/new/", data).status_code == 302
    assert Place.objects.get().hours.count() == 5


def test_a_coordinator_does_not_see_other_communities_places(client, coordinator, editor, other_community):
    place = services.place_create(actor=editor, data=place_input(community_id=other_community.pk))
    client.force_login(coordinator)
    assert client.get(f"/en/staff/places/{place.pk}/").status_code == 404
    assert "Hongqiao International Library" not in client.get("/en/staff/places/").content.decode()


def test_an_oversized_body_is_refused_without_a_server_error(client, editor, category, settings):
    client.force_login(editor)
    response = client.post("/en/staff/articles/new/", article_form(category, body__en="x" * 1_100_000))
    assert response.status_code == 400
    assert "too large" in response.content.decode()
    assert not Article.objects.exists()


def test_unknown_pages_answer_404_with_a_page(client, db):
    response = client.get("/en/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_a_server_error_page_needs_no_database_and_speaks_the_language(rf, settings):
    from django.utils import translation

    from yulan.core.errorviews import server_error

    with translation.override("de"):
        response = server_error(rf.get("/de/"))
    assert response.status_code == 500
    assert "Etwas ist schiefgelaufen" in response.content.decode()


def test_a_visitors_article_page_comes_from_the_cache_until_content_changes(
    client, editor, category, published, django_assert_num_queries, django_capture_on_commit_callbacks
):
    assert "Metro and buses" in client.get("/en/guide/article/metro/").content.decode()
    with django_assert_num_queries(0):
        response = client.get("/en/guide/article/metro/")
    assert response["X-Page-Cache"] == "hit"
    assert response["Content-Language"] == "en"
    assert "Metro and buses" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.article_update(
            actor=editor, article_id=published.pk, data=article_input(category, title={"en": "Metro, buses, ferries"})
        )
    assert "Metro, buses, ferries" in client.get("/en/guide/article/metro/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.article_set_state(actor=editor, article_id=published.pk, state=Article.State.DRAFT)
    assert client.get("/en/guide/article/metro/").status_code == 404


def test_only_pages_marked_public_are_cached(client, published):
    client.get("/en/search/?q=metro")
    assert not client.get("/en/search/?q=metro").has_header("X-Page-Cache")
    client.get("/en/guide/article/no-such-page/")
    assert client.get("/en/guide/article/no-such-page/").status_code == 404


def test_a_signed_in_reader_never_gets_a_cached_page(client, resident, published):
    client.get("/en/guide/article/metro/")
    client.force_login(resident)
    response = client.get("/en/guide/article/metro/")
    assert not response.has_header("X-Page-Cache")
    assert "Sign out" in response.content.decode()
