"""News pages and feeds through the test client: filters, feeds that parse, the subscription
pages with bad input, one-click unsubscribe, and the staff pages' permissions."""

import feedparser
import pytest
from django.test import Client

from yulan.core.models import OutgoingMail
from yulan.news import services, tokens
from yulan.news.models import Bulletin, Post, Subscriber

from .conftest import days_ago, make_post, make_subscriber


@pytest.fixture
def posts(editor, health, transport, community, other_community):
    return {
        "city": make_post(editor, "city-wide", [transport], publish_at=days_ago(1)),
        "local": make_post(
            editor,
            "local",
            [health],
            [community],
            publish_at=days_ago(2),
            title={"en": "Local clinic", "zh-hans": "本地诊所"},
        ),
        "far": make_post(editor, "far", [health], [other_community], publish_at=days_ago(3)),
        "draft": make_post(editor, "draft", [health], publish=False),
        "scheduled": make_post(editor, "scheduled", [health], publish_at=days_ago(-1)),
    }


def slugs(response) -> list[str]:
    return [p.slug for p in response.context["page"]]


def test_the_news_list_shows_live_posts_newest_first_and_filters(client, posts, health, community):
    assert slugs(client.get("/en/news/")) == ["city-wide", "local", "far"]
    assert slugs(client.get("/en/news/?topic=health")) == ["local", "far"]
    # A community's news includes what is for the whole city.
    assert slugs(client.get(f"/en/news/?community={community.slug}")) == ["city-wide", "local"]
    assert slugs(client.get("/en/news/?topic=unknown&kind=nonsense")) == ["city-wide", "local", "far"]


def test_a_post_page_is_in_the_visitors_language_with_a_visible_fallback(client, posts):
    response = client.get("/zh-hans/news/local/")
    assert response.status_code == 200
    assert "本地诊所" in response.content.decode()
    response = client.get("/fr/news/local/")
    assert "Local clinic" in response.content.decode()
    assert 'class="notice"' in response.content.decode()


@pytest.mark.parametrize("slug", ["draft", "scheduled", "nope"])
def test_unpublished_and_future_posts_are_not_found(client, posts, slug):
    assert client.get(f"/en/news/{slug}/").status_code == 404


def test_feeds_parse_cleanly_and_hold_the_right_posts(client, posts, community, health):
    for url, expected in [
        ("/en/news/feed.rss", {"city-wide", "local", "far"}),
        ("/en/news/feed.atom", {"city-wide", "local", "far"}),
        ("/en/news/topic/health/feed.rss", {"local", "far"}),
        (f"/en/news/community/{community.slug}/feed.atom", {"city-wide", "local"}),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        feed = feedparser.parse(response.content)
        assert not feed.bozo, (url, feed.get("bozo_exception"))
        assert {entry.link.rstrip("/").rsplit("/", 1)[1] for entry in feed.entries} == expected
        assert all(entry.get("published_parsed") for entry in feed.entries)
    zh = feedparser.parse(client.get("/zh-hans/news/topic/health/feed.atom").content)
    assert "本地诊所" in {entry.title for entry in zh.entries}
    assert client.get("/en/news/topic/unknown/feed.rss").status_code == 404
    assert client.get("/en/news/planet/x/feed.rss").status_code == 404


def test_subscribing_answers_the_same_for_new_and_known_addresses(client, health):
    data = {"email": "reader@example.org", "language": "de", "weekly": "on", "urgent": "on", "topics": [health.pk]}
    first = client.post("/en/news/subscribe/", data)
    make_subscriber("known@example.org")
    second = client.post("/en/news/subscribe/", {**data, "email": "known@example.org"})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Subscriber.objects.get(email="reader@example.org").language == "de"
    assert Subscriber.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "field_text"),
    [
        ({"email": "reader(at)example.org"}, "not a valid e-mail address"),
        ({"email": "x@guerrillamail.com"}, "throwaway"),
        ({"email": "a@example.org", "language": "xx"}, "Select a valid choice"),
        ({"email": "a@example.org", "weekly": "", "urgent": ""}, "weekly bulletin, urgent notices or both"),
        ({"email": "a@example.org", "topics": ["99999"]}, "Select a valid choice"),
    ],
)
def test_bad_subscription_input_is_shown_with_what_was_typed(client, health, data, field_text):
    form = {"language": "en", "weekly": "on", "urgent": "on", **data}
    response = client.post("/en/news/subscribe/", form)
    assert response.status_code == 400
    body = response.content.decode()
    assert field_text in body
    assert f'value="{data["email"]}"' in body
    assert not Subscriber.objects.exists()


def test_subscription_requests_are_rate_limited_per_address(client, settings, db):
    settings.YULAN_SUBSCRIBE_PER_HOUR = 2
    for i in range(2):
        assert (
            client.post(
                "/en/news/subscribe/", {"email": f"r{i}@example.org", "language": "en", "weekly": "on"}
            ).status_code
            == 302
        )
    response = client.post("/en/news/subscribe/", {"email": "r9@example.org", "language": "en", "weekly": "on"})
    assert response.status_code == 429
    assert "Too many sign-ups" in response.content.decode()
    assert not Subscriber.objects.filter(email="r9@example.org").exists()


def test_confirming_takes_a_button_press_not_just_opening_the_link(db):
    client = Client(enforce_csrf_checks=True)
    subscriber = make_subscriber("a@example.org", status="pending")
    url = f"/en/news/subscribe/confirm/{tokens.make(subscriber, tokens.CONFIRM)}/"
    page = client.get(url)
    assert page.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING
    # Without the form's CSRF token, nothing happens.
    assert client.post(url).status_code == 403
    csrf = page.cookies["csrftoken"].value
    response = client.post(url, {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE


@pytest.mark.parametrize("path", ["subscribe/confirm", "subscription", "unsubscribe"])
def test_a_forged_link_gets_a_clear_page_not_an_error(client, db, path):
    response = client.get(f"/en/news/{path}/WzEsImZvcmdlZCJd:1abcde:notasignature/")
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_one_click_unsubscribe_works_without_a_session_or_csrf(db):
    client = Client(enforce_csrf_checks=True)
    subscriber = make_subscriber("a@example.org")
    url = f"/fr/news/unsubscribe/{tokens.make(subscriber, tokens.MANAGE)}/"
    response = client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_the_preferences_page_changes_choices_and_can_delete(client, db, health):
    subscriber = make_subscriber("a@example.org")
    url = f"/en/news/subscription/{tokens.make(subscriber, tokens.MANAGE)}/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"language": "ko", "urgent": "on", "topics": [health.pk], "action": "save"})
    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert (subscriber.language, subscriber.weekly, subscriber.urgent) == ("ko", False, True)
    assert list(subscriber.topics.all()) == [health]
    bad = client.post(url, {"language": "ko", "action": "save"})
    assert bad.status_code == 400 and "weekly bulletin, urgent notices or both" in bad.content.decode()
    client.post(url, {"action": "delete"})
    assert not Subscriber.objects.exists()


# --- staff ------------------------------------------------------------------------------------


def test_staff_news_pages_need_the_right_role(client, resident, coordinator, posts):
    client.force_login(resident)
    assert client.get("/en/staff/news/").status_code == 403
    assert client.get("/en/staff/bulletins/").status_code == 403
    client.force_login(coordinator)
    response = client.get("/en/staff/news/")
    assert response.status_code == 200
    # A coordinator lists only its community's posts.
    assert {p.slug for p in response.context["page"]} == {"local"}
    assert client.get("/en/staff/bulletins/").status_code == 403
    assert client.get("/en/staff/subscribers/").status_code == 403


def test_an_editor_writes_and_publishes_a_post_through_the_form(client, editor, health):
    client.force_login(editor)
    form = {
        "slug": "new-rules",
        "kind": "policy",
        "urgency": "normal",
        "topics": [health.pk],
        "source_language": "en",
        "title__en": "New rules",
        "body__en": "<p>Text</p>",
    }
    bad = client.post("/en/staff/news/new/", {**form, "slug": "New Rules!"})
    assert bad.status_code == 400
    assert "lower-case letters" in bad.content.decode() and 'value="New rules"' in bad.content.decode()
    response = client.post("/en/staff/news/new/", form)
    assert response.status_code == 302
    post = Post.objects.get(slug="new-rules")
    client.post(f"/en/staff/news/{post.pk}/state/", {"action": "published"})
    post.refresh_from_db()
    assert post.is_live()


def test_the_bulletin_page_shows_delivery_progress(client, editor, health, smtp_server):
    make_subscriber("a@example.org")
    make_subscriber("b@example.org")
    make_post(editor, "x", [health])
    client.force_login(editor)
    response = client.post("/en/staff/bulletins/", {"week": "this"})
    bulletin = Bulletin.objects.get()
    assert response["Location"].endswith(f"/staff/bulletins/{bulletin.pk}/")
    bad = client.post(f"/en/staff/bulletins/{bulletin.pk}/", {"action": "schedule", "send_at": "next tuesday"})
    assert bad.status_code == 400
    client.post(f"/en/staff/bulletins/{bulletin.pk}/", {"action": "schedule", "send_at": ""})
    services.bulletin_fanout(bulletin.pk)
    OutgoingMail.objects.filter(to_email="a@example.org").update(status=OutgoingMail.Status.SENT)
    page = client.get(f"/en/staff/bulletins/{bulletin.pk}/")
    progress = page.context["progress"]
    assert (progress.sent, progress.pending, progress.total, progress.percent) == (1, 1, 2, 50)
    assert '<progress max="2" value="1"' in page.content.decode()


def test_staff_record_bounces_from_a_pasted_list(client, editor):
    make_subscriber("a@example.org")
    client.force_login(editor)
    response = client.post(
        "/en/staff/subscribers/", {"addresses": "A@example.org\nunknown@example.org\n", "reason": "bounce"}
    )
    assert response.status_code == 302
    assert Subscriber.objects.get().status == Subscriber.Status.SUPPRESSED


# --- API --------------------------------------------------------------------------------------


def test_the_api_lists_live_posts_in_the_asked_language(client, posts, community):
    response = client.get("/api/v1/news/posts?lang=zh-hans&topic=health")
    assert response.status_code == 200
    data = response.json()
    assert [p["slug"] for p in data] == ["local", "far"]
    assert data[0]["title"] == "本地诊所" and data[0]["language"] == "zh-hans"
    assert data[1]["title"] == "far 的标题"
    korean = client.get("/api/v1/news/posts?lang=ko&topic=health").json()
    assert korean[0]["language"] == "en"  # no Korean title: English, and it says so
    assert data[0]["communities"] == [community.slug]
    one = client.get("/api/v1/news/posts/local?lang=en").json()
    assert one["body_html"] == "<p>Body of local</p>"
    assert client.get("/api/v1/news/posts/draft").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lang=xx", "lang"),
        ("topic=nope", "topic"),
        ("community=nope", "community"),
        ("kind=gossip", "kind"),
        ("per_page=1000", "per_page"),
    ],
)
def test_the_api_names_the_bad_parameter(client, db, query, field):
    response = client.get(f"/api/v1/news/posts?{query}")
    assert response.status_code in (400, 422)
    assert response.json()["field"] == field


def test_a_coordinator_cannot_open_another_communitys_post(client, coordinator, posts):
    client.force_login(coordinator)
    assert client.get(f"/en/staff/news/{posts['far'].pk}/").status_code == 404
    assert client.get(f"/en/staff/news/{posts['local'].pk}/").status_code == 200
    assert client.post(f"/en/staff/news/{posts['far'].pk}/state/", {"action": "draft"}).status_code == 404
