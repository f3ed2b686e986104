import datetime

import pytest
from django.utils import timezone

from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.models import AuditEntry
from yulan.guide import services
from yulan.guide.models import Article, OpeningHours, Place, SearchDocument


def article_input(category, **overrides):
    data = {
        "slug": "metro",
        "category_id": category.pk,
        "title": {"en": "Metro and buses", "zh-hans": "地铁和公交"},
        "body": {"en": "<p>Trains run late.</p>", "zh-hans": "<p>地铁运营到很晚。</p>"},
    }
    data.update(overrides)
    return services.ArticleInput(**data)


def place_input(**overrides):
    data = {
        "slug": "library",
        "kind": Place.Kind.LIBRARY,
        "name": {"en": "Hongqiao International Library", "zh-hans": "虹桥国际图书馆"},
        "address": {"en": "Changning District"},
        "latitude": "31.1960",
        "longitude": "121.4060",
        "hours": "Tue-Sun 09:00-20:00",
        "languages": ["en", "zh", "ja"],
        "services": [{"en": "Reading room"}],
    }
    data.update(overrides)
    return services.PlaceInput(**data)


# --- articles ---------------------------------------------------------------------------------


def test_an_editor_creates_a_draft_that_search_does_not_show(editor, category):
    article = services.article_create(actor=editor, data=article_input(category))
    assert article.state == Article.State.DRAFT
    assert not SearchDocument.objects.filter(kind="article", object_id=article.pk).exists()
    assert AuditEntry.objects.filter(action="article.create", target_id=str(article.pk), actor=editor).exists()


def test_publishing_indexes_every_language_and_counts_as_a_review(editor, category):
    article = services.article_create(actor=editor, data=article_input(category))
    article = services.article_set_state(actor=editor, article_id=article.pk, state=Article.State.PUBLISHED)
    assert article.published_at is not None
    assert article.last_reviewed_at is not None
    langs = set(SearchDocument.objects.filter(kind="article", object_id=article.pk).values_list("language", flat=True))
    assert langs == {"en", "zh-hans"}


def test_unpublishing_takes_the_article_out_of_search(editor, category):
    article = services.article_create(actor=editor, data=article_input(category))
    services.article_set_state(actor=editor, article_id=article.pk, state=Article.State.PUBLISHED)
    services.article_set_state(actor=editor, article_id=article.pk, state=Article.State.DRAFT)
    assert not SearchDocument.objects.filter(kind="article", object_id=article.pk).exists()


def test_script_in_an_article_is_removed_before_it_is_stored(editor, category):
    article = services.article_create(
        actor=editor,
        data=article_input(
            category,
            title={"en": "Hi <script>alert(1)</script>"},
            body={"en": '<p onmouseover="x()">Safe</p><script>alert(1)</script>'},
        ),
    )
    article.refresh_from_db()
    assert "<script" not in article.title.data["en"]
    assert "<script" not in article.body.data["en"]
    assert "onmouseover" not in article.body.data["en"]
    assert "Safe" in article.body.data["en"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"slug": "Not A Slug!"}, "slug"),
        ({"title": {"xx": "Hello"}}, "title"),
        ({"title": {}}, "title"),
        ({"body": {"en": "x" * 60_000}}, "body"),
        ({"category_id": 999_999}, "category"),
        ({"source_language": "tlh"}, "source_language"),
    ],
)
def test_bad_article_input_is_refused_naming_the_field_and_nothing_is_stored(editor, category, overrides, field):
    with pytest.raises(ApplicationError) as exc:
        services.article_create(actor=editor, data=article_input(category, **overrides))
    assert exc.value.field == field
    assert not Article.objects.exists()


def test_a_duplicate_address_is_refused(editor, category):
    services.article_create(actor=editor, data=article_input(category))
    with pytest.raises(ApplicationError) as exc:
        services.article_create(actor=editor, data=article_input(category))
    assert exc.value.field == "slug"
    assert Article.objects.count() == 1


def test_a_coordinator_may_not_write_the_guide(coordinator, category):
    with pytest.raises(NotAllowed):
        services.article_create(actor=coordinator, data=article_input(category))


def test_an_update_records_before_and_after(editor, category):
    article = services.article_create(actor=editor, data=article_input(category))
    services.article_update(
        actor=editor, article_id=article.pk, data=article_input(category, title={"en": "Metro, buses and ferries"})
    )
    entry = AuditEntry.objects.get(action="article.update")
    assert entry.before["title"]["en"] == "Metro and buses"
    assert entry.after["title"]["en"] == "Metro, buses and ferries"


def test_a_published_article_cannot_jump_to_review(editor, category):
    article = services.article_create(actor=editor, data=article_input(category))
    services.article_set_state(actor=editor, article_id=article.pk, state=Article.State.PUBLISHED)
    with pytest.raises(ApplicationError) as exc:
        services.article_set_state(actor=editor, article_id=article.pk, state=Article.State.REVIEW)
    assert exc.value.field == "state"


def test_pages_not_reviewed_within_the_set_age_are_due(editor, category, settings):
    settings.YULAN_GUIDE_STALE_DAYS = 30
    article = services.article_create(actor=editor, data=article_input(category))
    article = services.article_set_state(actor=editor, article_id=article.pk, state=Article.State.PUBLISHED)
    assert not article.review_due()
    assert article.review_due(timezone.now() + datetime.timedelta(days=31))
    Article.objects.filter(pk=article.pk).update(last_reviewed_at=timezone.now() - datetime.timedelta(days=40))
    from yulan.guide.selectors import articles_due_count

    assert articles_due_count() == 1
    services.article_mark_reviewed(actor=editor, article_id=article.pk)
    assert articles_due_count() == 0


# --- places -----------------------------------------------------------------------------------


def test_a_place_is_stored_with_hours_languages_services_and_search(editor):
    place = services.place_create(actor=editor, data=place_input())
    assert place.hours.count() == 6
    assert sorted(place.languages.values_list("code", flat=True)) == ["en", "ja", "zh"]
    assert place.services.count() == 1
    assert SearchDocument.objects.filter(kind="place", object_id=place.pk, language="zh-hans").exists()
    assert AuditEntry.objects.get(action="place.create").after["languages"] == ["en", "zh", "ja"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"latitude": "abc"}, "latitude"),
        ({"latitude": "91"}, "latitude"),
        ({"longitude": "nan"}, "longitude"),
        ({"longitude": "-181"}, "longitude"),
        ({"hours": "Mon-Fri 9-5"}, "hours"),
        ({"languages": ["en", "klingon"]}, "languages"),
        ({"name": {"xx": "?"}}, "name"),
        ({"kind": "castle"}, "kind"),
    ],
)
def test_bad_place_input_is_refused_and_nothing_half_saved(editor, overrides, field):
    with pytest.raises(ApplicationError) as exc:
        services.place_create(actor=editor, data=place_input(**overrides))
    assert exc.value.field == field
    assert not Place.objects.exists()
    assert not OpeningHours.objects.exists()
    assert not SearchDocument.objects.exists()


def test_a_failed_update_keeps_the_old_hours(editor):
    place = services.place_create(actor=editor, data=place_input())
    with pytest.raises(ApplicationError):
        services.place_update(actor=editor, place_id=place.pk, data=place_input(hours="Tue nonsense"))
    assert place.hours.count() == 6


def test_a_coordinator_edits_places_of_its_own_community_only(coordinator, community, other_community):
    place = services.place_create(actor=coordinator, data=place_input(community_id=community.pk))
    with pytest.raises(NotAllowed):
        services.place_create(actor=coordinator, data=place_input(slug="other", community_id=other_community.pk))
    with pytest.raises(NotAllowed):
        services.place_create(actor=coordinator, data=place_input(slug="citywide", community_id=None))
    with pytest.raises(NotAllowed):
        services.place_update(actor=coordinator, place_id=place.pk, data=place_input(community_id=other_community.pk))
    place.refresh_from_db()
    assert place.community_id == community.pk
