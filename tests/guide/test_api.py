import json
import uuid

import pytest

from yulan.guide import services
from yulan.guide.models import Article, Category

from .test_services import place_input


@pytest.fixture
def library(editor, community):
    return services.place_create(actor=editor, data=place_input(community_id=community.pk))


def test_near_me_answers_json_nearest_first(client, library):
    response = client.get("/api/v1/places/near", {"lat": 31.1965, "lng": 121.4060, "minutes": 15})
    assert response.status_code == 200
    (item,) = response.json()
    assert item["slug"] == "library"
    assert 50 < item["distance_m"] < 60
    assert item["languages"] == ["en", "zh", "ja"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": "abc", "lng": 121}, "lat"),
        ({"lat": 91, "lng": 121}, "lat"),
        ({"lat": 31, "lng": 200}, "lng"),
        ({"lat": 31, "lng": 121, "minutes": 0}, "minutes"),
        ({"lat": 31, "lng": 121, "kind": "castle"}, "kind"),
        ({"lng": 121}, "lat"),
    ],
)
def test_near_me_names_the_bad_parameter(client, db, params, field):
    response = client.get("/api/v1/places/near", params)
    assert response.status_code in (400, 422)
    body = response.json()
    assert body["field"] == field
    assert body["detail"]


def test_search_api_finds_places(client, library):
    body = client.get("/api/v1/search", {"q": "图书馆"}).json()
    assert [p["slug"] for p in body["places"]] == ["library"]
    assert client.get("/api/v1/search", {"q": "x" * 201}).status_code == 422


def test_creating_an_article_needs_a_signed_in_editor(client, resident, category):
    payload = {"slug": "api-article", "category": "payment", "title": {"en": "Hi"}, "body": {"en": "Text"}}
    response = client.post("/api/v1/guide/articles", payload, content_type="application/json")
    assert response.status_code == 401
    client.force_login(resident)
    response = client.post("/api/v1/guide/articles", payload, content_type="application/json")
    assert response.status_code == 403
    assert not Article.objects.exists()


def test_an_editor_creates_a_draft_through_the_api(client, editor, category):
    client.force_login(editor)
    payload = {
        "slug": "api-article",
        "category": "payment",
        "title": {"en": "Hi", "ko": "안녕"},
        "body": {"en": "<p>x"},
    }
    response = client.post("/api/v1/guide/articles", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["title"] == {"en": "Hi", "ko": "안녕"}
    assert response.json()["state"] == "draft"


@pytest.mark.parametrize(
    ("payload", "field", "status"),
    [
        ({"title": {"xx": "Hi"}}, "title", 400),
        ({"title": "not a mapping"}, "title", 422),
        ({"title": {"en": 5}}, "title.en", 422),
        ({"category": "nope"}, "category", 400),
        ({"slug": "Bad Slug"}, "slug", 400),
        ({"body": {"en": "x" * 50_001}}, "body.en", 422),
    ],
)
def test_bad_article_input_gets_a_named_4xx_and_stores_nothing(client, editor, category, payload, field, status):
    client.force_login(editor)
    body = {"slug": "api-article", "category": "payment", "title": {"en": "Hi"}, "body": {"en": "Text"}} | payload
    response = client.post("/api/v1/guide/articles", json.dumps(body), content_type="application/json")
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    assert not Article.objects.exists()


def test_malformed_json_is_a_4xx(client, editor, category):
    client.force_login(editor)
    response = client.post("/api/v1/guide/articles", "{not json", content_type="application/json")
    assert 400 <= response.status_code < 500


def test_the_openapi_schema_is_generated(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/places/near" in schema["paths"]
    assert "/api/v1/guide/articles" in schema["paths"]


def test_a_published_article_is_readable_with_all_languages(client, editor, category):
    article = Article.objects.create(
        slug="pub", category=Category.objects.get(), title={"en": "Pub", "fr": "Pub FR"}, body={"en": "B"}
    )
    assert client.get("/api/v1/guide/articles/pub").status_code == 404
    services.article_set_state(actor=editor, article_id=article.pk, state="published")
    assert client.get("/api/v1/guide/articles/pub").json()["title"] == {"en": "Pub", "fr": "Pub FR"}


def test_the_session_api_refuses_posts_without_csrf(editor, category):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    payload = {"slug": "api-article", "category": "payment", "title": {"en": "Hi"}, "body": {"en": "Text"}}
    response = client.post("/api/v1/guide/articles", payload, content_type="application/json")
    assert response.status_code in (401, 403)
    assert not Article.objects.exists()


def test_uuid_ids_are_stable(library):
    service = library.services.get()
    assert isinstance(service.hsds_id, uuid.UUID)
