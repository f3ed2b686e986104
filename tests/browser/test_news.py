"""News in a real browser: the public list and posts and the e-mail subscription on a phone-sized
screen, and the editors' side (posts, the weekly bulletin, subscribers) in the staff area."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from yulan.core.models import Community, OutgoingMail, User
from yulan.news import services, tokens
from yulan.news.models import Bulletin, Post, Subscriber, Topic

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo")]

# No mobile emulation (see test_layout): a mobile browser zooms out to fit a page that is too
# wide, which would hide the overflow this looks for.
PHONE = {"width": 375, "height": 667}

# The demo's posts, newest first (published 1, 3, 5, 6, 9 and 11 days ago).
DEMO_TITLES = [
    "Typhoon warning for the weekend",
    "Work and residence permits at one window",
    "Register where you stay within 24 hours",
    "Free Mandarin classes at Hongqiao",
    "Neighbours from 20 countries at the lantern festival",
    "Metro night service extended on Fridays",
]


@pytest.fixture
def phone(page: Page) -> Page:
    """The test's page (with its checks for failed scripts and missing files) on a phone-sized screen."""
    page.set_viewport_size(PHONE)
    return page


def assert_fits_the_screen(page: Page) -> None:
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["inner"] == PHONE["width"]
    assert widths["scroll"] <= widths["inner"], f"{page.url} scrolls sideways on a phone: {widths}"


def news_titles(page: Page) -> Locator:
    return page.locator("main .news-list > .news-item").get_by_role("heading", level=2)


def field_of(page: Page, control: Locator) -> Locator:
    """The `.field` box that holds a form control, its label and its error."""
    return page.locator(".field", has=control)


def count_of(page: Page, label: str) -> Locator:
    """The number beside `label` in the page's counts."""
    term = page.locator("dt").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    return page.locator("main dl.counts > div", has=term).locator("dd")


# --- public pages ----------------------------------------------------------------------------


def test_news_list_filters_by_topic_community_and_kind(phone, assert_accessible):
    page = phone
    page.goto("/en/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="News").click()
    expect(page).to_have_url(re.compile(r"/en/news/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("News")
    expect(news_titles(page)).to_have_text(DEMO_TITLES)
    typhoon = page.locator(".news-item", has=page.get_by_role("link", name=DEMO_TITLES[0]))
    expect(typhoon.locator(".badge")).to_have_text("Urgent")
    expect(typhoon).to_contain_text("Stay indoors on Saturday; some metro lines may stop.")
    expect(typhoon.get_by_role("link", name="Safety and emergencies")).to_have_attribute(
        "href", "/en/news/?topic=safety"
    )
    expect(page.locator('head link[type="application/rss+xml"]')).to_have_attribute("href", "/en/news/feed.rss")
    assert_accessible(page)
    assert_fits_the_screen(page)

    page.get_by_label("Topic", exact=True).select_option(label="Visas and residence")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]topic=visas-residence"))
    expect(news_titles(page)).to_have_text(
        ["Work and residence permits at one window", "Register where you stay within 24 hours"]
    )
    expect(page.get_by_label("Topic", exact=True)).to_have_value("visas-residence")
    # The feeds follow the filter.
    expect(page.locator('head link[type="application/rss+xml"]')).to_have_attribute(
        "href", "/en/news/topic/visas-residence/feed.rss"
    )
    expect(page.get_by_role("link", name="Atom", exact=True)).to_have_attribute(
        "href", "/en/news/topic/visas-residence/feed.atom"
    )
    assert_fits_the_screen(page)

    # A community's news: its own posts and the city-wide ones, not another community's.
    page.get_by_label("Topic", exact=True).select_option("")
    page.get_by_label("Community", exact=True).select_option(label="Huacao Town")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]community=huacao"))
    expect(news_titles(page)).to_have_text(
        [
            "Typhoon warning for the weekend",
            "Work and residence permits at one window",
            "Register where you stay within 24 hours",
            "Metro night service extended on Fridays",
        ]
    )
    expect(page.get_by_label("Community", exact=True)).to_have_value("huacao")
    assert_accessible(page)

    page.get_by_label("Topic", exact=True).select_option(label="Community life")
    page.get_by_label("Community", exact=True).select_option(label="Hongqiao Subdistrict")
    page.get_by_role("button", name="Filter").click()
    expect(news_titles(page)).to_have_text(
        ["Free Mandarin classes at Hongqiao", "Neighbours from 20 countries at the lantern festival"]
    )
    hongqiao = page.locator(".news-item", has=page.get_by_role("link", name="Free Mandarin classes at Hongqiao"))
    expect(hongqiao.locator(".meta")).to_contain_text("Hongqiao Subdistrict")

    page.get_by_label("Community", exact=True).select_option(label="Huacao Town")
    page.get_by_role("button", name="Filter").click()
    expect(news_titles(page)).to_have_count(0)
    expect(page.locator("main .news-list")).to_have_text("No news yet.")

    page.get_by_label("Topic", exact=True).select_option("")
    page.get_by_label("Community", exact=True).select_option("")
    page.get_by_label("Kind", exact=True).select_option(label="Policy update")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]kind=policy"))
    expect(news_titles(page)).to_have_text(["Work and residence permits at one window"])
    assert_accessible(page)
    assert_fits_the_screen(page)


def test_news_list_in_chinese(phone, assert_accessible):
    page = phone
    page.goto("/zh-hans/news/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("新闻")
    expect(news_titles(page).first).to_have_text("周末台风预警")
    expect(news_titles(page)).to_have_count(len(DEMO_TITLES))
    expect(page.locator(".news-item").first.locator(".meta")).to_contain_text("全市")
    topic = page.get_by_label("主题", exact=True)
    expect(topic.locator("option[value=visas-residence]")).to_have_text("签证与居留")
    assert_accessible(page)
    assert_fits_the_screen(page)

    topic.select_option("visas-residence")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/zh-hans/news/\?.*topic=visas-residence"))
    expect(news_titles(page)).to_have_text(["工作许可与居留许可“一窗办理”", "请在24小时内办理住宿登记"])
    item = page.locator(".news-item").first
    expect(item.get_by_role("link", name="签证与居留")).to_have_attribute(
        "href", "/zh-hans/news/?topic=visas-residence"
    )
    # The summary exists only in English, and says so to screen readers.
    summary = item.locator("p[lang=en]")
    expect(summary).to_have_text("Apply for both permits together, with one set of documents.")
    assert_accessible(page)
    assert_fits_the_screen(page)

    topic.select_option("")
    page.locator("#f-community").select_option("hongqiao-sd")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#f-community option:checked")).to_have_text("虹桥街道")
    expect(news_titles(page)).to_have_count(len(DEMO_TITLES))
    assert_fits_the_screen(page)


def test_news_post_page(phone, sign_in, assert_accessible):
    page = phone
    # A resident signed in sees the same pages (past the page cache).
    sign_in(page, "resident@yulan.example")
    page.goto("/en/news/")
    page.get_by_role("link", name="Typhoon warning for the weekend").click()
    expect(page).to_have_url(re.compile(r"/en/news/typhoon-warning-weekend/$"))
    article = page.locator("article")
    expect(article.get_by_role("heading", level=1)).to_have_text("Typhoon warning for the weekend")
    expect(article).to_have_attribute("lang", "en")
    expect(article.locator(".badge")).to_have_text("Urgent")
    expect(article.locator(".lead")).to_have_text("Stay indoors on Saturday; some metro lines may stop.")
    expect(article).to_contain_text("The city has issued a yellow typhoon warning.")
    expect(page.get_by_role("note")).to_have_count(0)
    expect(page.get_by_role("link", name="Get the news by e-mail")).to_have_attribute("href", "/en/news/subscribe/")
    assert_accessible(page)
    assert_fits_the_screen(page)

    article.get_by_role("link", name="Safety and emergencies").click()
    expect(page).to_have_url(re.compile(r"/en/news/\?topic=safety$"))
    expect(news_titles(page)).to_have_text(["Typhoon warning for the weekend"])
    page.go_back()
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="News").click()
    expect(page).to_have_url(re.compile(r"/en/news/$"))


def test_news_post_falls_back_to_english_with_a_notice(phone, assert_accessible):
    page = phone
    # Its title is in Chinese, its text only in English.
    page.goto("/zh-hans/news/work-and-residence-permit-one-window/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    article = page.locator("article")
    expect(article.get_by_role("heading", level=1)).to_have_text("工作许可与居留许可“一窗办理”")
    expect(article).to_have_attribute("lang", "en")
    expect(article).to_contain_text("Overseas talents can now apply for the work permit and the residence permit")
    note = page.get_by_role("note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("English")
    assert_accessible(page)
    assert_fits_the_screen(page)


def test_unpublished_and_unknown_posts_are_not_found(page):
    Post.objects.filter(slug="metro-night-service-extended").update(state=Post.State.DRAFT)
    for path in ["/en/news/metro-night-service-extended/", "/en/news/no-such-post/"]:
        response = page.goto(path)
        assert response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    page.goto("/en/news/")
    expect(page.get_by_role("link", name="Metro night service extended on Fridays")).to_have_count(0)
    expect(news_titles(page)).to_have_count(len(DEMO_TITLES) - 1)


# --- subscribing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "error"),
    [
        pytest.param(
            "not-an-address",
            "“not-an-address” is not a valid e-mail address. Check it for typing mistakes.",
            id="malformed",
        ),
        pytest.param(
            "x@mailinator.com",
            "Addresses from throwaway mailbox services cannot receive the bulletin. Please use an address you keep.",
            id="throwaway",
        ),
    ],
)
def test_subscribe_refuses_a_bad_address(phone, assert_accessible, address, error):
    page = phone
    page.goto("/en/news/subscribe/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Get the news by e-mail")
    assert_accessible(page)
    assert_fits_the_screen(page)

    page.get_by_label("E-mail", exact=True).fill(address)
    page.get_by_label("Language of the e-mails").select_option("ja")
    page.get_by_label("Urgent notices, as soon as they are published").uncheck()
    page.get_by_role("group", name="Topics").get_by_label("Health").check()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Subscribe").click()
    assert posted.value.status == 400

    email = page.get_by_label("E-mail", exact=True)
    expect(email).to_have_value(address)
    expect(field_of(page, email).get_by_role("alert")).to_have_text(error)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(error)
    # Everything else chosen is kept too.
    expect(page.get_by_label("Language of the e-mails")).to_have_value("ja")
    expect(page.get_by_label("The weekly bulletin")).to_be_checked()
    expect(page.get_by_label("Urgent notices, as soon as they are published")).not_to_be_checked()
    expect(page.get_by_role("group", name="Topics").get_by_label("Health")).to_be_checked()
    expect(page.get_by_role("group", name="Topics").get_by_label("Transport")).not_to_be_checked()
    assert_accessible(page)
    assert_fits_the_screen(page)
    assert Subscriber.objects.count() == 0
    assert not OutgoingMail.objects.filter(kind="subscription").exists()


def test_subscribe_confirm_and_manage(phone, assert_accessible):
    page = phone
    page.goto("/en/news/")
    page.get_by_role("link", name="Get the news by e-mail").click()
    expect(page).to_have_url(re.compile(r"/en/news/subscribe/$"))
    expect(page.get_by_label("Language of the e-mails")).to_have_value("en")
    page.get_by_label("E-mail", exact=True).fill("  Rosa.Resident@Example.org ")
    page.get_by_label("Urgent notices, as soon as they are published").uncheck()
    page.get_by_role("group", name="Topics").get_by_label("Health").check()
    page.get_by_role("group", name="Communities").get_by_label("Huacao Town").check()
    page.get_by_role("button", name="Subscribe").click()

    expect(page).to_have_url(re.compile(r"/en/news/subscribe/sent/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    expect(page.locator("main")).to_contain_text("within 7 days")
    assert_accessible(page)
    assert_fits_the_screen(page)

    subscriber = Subscriber.objects.get()
    assert subscriber.email == "rosa.resident@example.org"
    assert subscriber.status == Subscriber.Status.PENDING
    assert (subscriber.language, subscriber.weekly, subscriber.urgent) == ("en", True, False)
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["health"]
    assert list(subscriber.communities.values_list("slug", flat=True)) == ["huacao"]
    assert OutgoingMail.objects.filter(kind="subscription", to_email="rosa.resident@example.org").count() == 1

    # Asking again at once (a second tap, say) makes no second subscriber and sends no second mail.
    page.goto("/en/news/subscribe/")
    page.get_by_label("E-mail", exact=True).fill("rosa.resident@example.org")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    assert Subscriber.objects.count() == 1
    assert OutgoingMail.objects.filter(kind="subscription").count() == 1

    # Opening the link only asks: a link checker that opens it confirms nobody.
    page.goto(f"/en/news/subscribe/confirm/{tokens.make(subscriber, tokens.CONFIRM)}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your subscription")
    expect(page.locator("main")).to_contain_text("Send the news to rosa.resident@example.org?")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING
    assert_accessible(page)
    assert_fits_the_screen(page)

    page.get_by_role("button", name="Yes, subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.confirmed_at is not None
    assert_accessible(page)

    page.get_by_role("link", name="Change your choices").click()
    expect(page).to_have_url(re.compile(r"/en/news/subscription/[^/]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your subscription")
    expect(page.locator("main")).to_contain_text("rosa.resident@example.org: Subscribed")
    expect(page.get_by_role("group", name="Topics").get_by_label("Health")).to_be_checked()
    expect(page.get_by_role("group", name="Communities").get_by_label("Huacao Town")).to_be_checked()
    expect(page.get_by_label("Urgent notices, as soon as they are published")).not_to_be_checked()


def test_a_forged_confirmation_link_is_refused(phone, assert_accessible):
    page = phone
    subscriber = Subscriber.objects.create(email="someone@example.org")
    token = tokens.make(subscriber, tokens.CONFIRM)
    # A link for the preferences is no confirmation link, and an altered one is no link at all.
    for bad in [tokens.make(subscriber, tokens.MANAGE), token[:-2] + ("AA" if token[-2:] != "AA" else "BB")]:
        response = page.goto(f"/en/news/subscribe/confirm/{bad}/")
        assert response.status == 400
        expect(page.get_by_role("heading", level=1)).to_have_text("Sorry")
        expect(page.locator("main")).to_contain_text(
            "This link is not valid. Please use the link from your latest e-mail."
        )
        expect(page.get_by_role("button", name="Yes, subscribe")).to_have_count(0)
    assert_accessible(page)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING


def test_preferences_save_then_unsubscribe(phone, assert_accessible):
    page = phone
    subscriber = Subscriber.objects.create(
        email="kim@example.org", status=Subscriber.Status.ACTIVE, confirmed_at=timezone.now(), urgent=False
    )
    subscriber.topics.set([Topic.objects.get(slug="health")])
    page.goto(f"/en/news/subscription/{tokens.make(subscriber, tokens.MANAGE)}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your subscription")
    expect(page.locator("main")).to_contain_text("kim@example.org: Subscribed")
    # No address field: the link says whose subscription it is.
    expect(page.get_by_label("E-mail", exact=True)).to_have_count(0)
    topics = page.get_by_role("group", name="Topics")
    expect(topics.get_by_label("Health")).to_be_checked()
    expect(page.get_by_label("Urgent notices, as soon as they are published")).not_to_be_checked()
    assert_accessible(page)
    assert_fits_the_screen(page)

    # Nothing to send at all is refused, and the choices made stay on the page.
    page.get_by_label("The weekly bulletin").uncheck()
    topics.get_by_label("Transport").check()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.locator(".form-errors[role=alert]")).to_have_text("Choose the weekly bulletin, urgent notices or both.")
    expect(page.get_by_label("The weekly bulletin")).not_to_be_checked()
    expect(page.get_by_role("group", name="Topics").get_by_label("Transport")).to_be_checked()
    assert_accessible(page)
    subscriber.refresh_from_db()
    assert subscriber.weekly is True

    page.get_by_label("The weekly bulletin").check()
    page.get_by_label("Urgent notices, as soon as they are published").check()
    page.get_by_role("group", name="Topics").get_by_label("Health").uncheck()
    page.get_by_label("Language of the e-mails").select_option("zh-hans")
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
    expect(page.get_by_label("Language of the e-mails")).to_have_value("zh-hans")
    expect(page.get_by_role("group", name="Topics").get_by_label("Transport")).to_be_checked()
    expect(page.get_by_role("group", name="Topics").get_by_label("Health")).not_to_be_checked()
    assert_accessible(page)
    subscriber.refresh_from_db()
    assert (subscriber.language, subscriber.weekly, subscriber.urgent) == ("zh-hans", True, True)
    assert list(subscriber.topics.values_list("slug", flat=True)) == ["transport"]

    page.get_by_role("button", name="Unsubscribe from everything").click()
    expect(page).to_have_url(re.compile(r"/en/news/unsubscribe/[^/]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    expect(page.locator("main")).to_contain_text("We will send no more news to kim@example.org.")
    assert_accessible(page)
    assert_fits_the_screen(page)
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None

    # The same link still reaches the preferences, to subscribe again.
    page.get_by_role("link", name="Changed your mind? Subscribe again").click()
    expect(page.locator("main")).to_contain_text("kim@example.org: Unsubscribed")


# --- staff -----------------------------------------------------------------------------------


def test_editor_writes_and_publishes_a_news_post(page, new_context, sign_in, assert_accessible):
    # A visitor without an account has the news list (from the page cache) open meanwhile.
    visitor = new_context().new_page()
    visitor.goto("/en/news/")
    expect(news_titles(visitor).first).to_have_text(DEMO_TITLES[0])

    sign_in(page, "editor@yulan.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="News posts").click()
    expect(page).to_have_url(re.compile(r"/en/staff/news/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("News posts")
    expect(page.get_by_role("row", name=re.compile("Typhoon warning for the weekend"))).to_contain_text("Published")
    assert_accessible(page)

    page.get_by_role("link", name="New post").click()
    expect(page).to_have_url(re.compile(r"/en/staff/news/new/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New post")
    assert_accessible(page)

    title = page.locator("#group-title").get_by_label("English")
    body = page.locator("#group-body").get_by_label("English")
    slug = page.get_by_label("Web address")
    topics = page.get_by_role("group", name="Topics")
    slug.fill("Metro line 18 opens!")
    title.fill("Metro line 18 opens")
    body.fill("<p>The new line links Pudong with the airport.</p>")
    topics.get_by_label("Transport").check()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save").click()
    assert posted.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("New post")
    expect(field_of(page, slug).get_by_role("alert")).to_have_text(
        "Use lower-case letters, digits and hyphens only, like “public-transport”."
    )
    expect(slug).to_have_attribute("aria-invalid", "true")
    expect(slug).to_have_accessible_description(re.compile(r"Use lower-case letters, digits and hyphens only"))
    expect(slug).to_have_value("Metro line 18 opens!")
    expect(title).to_have_value("Metro line 18 opens")
    expect(body).to_have_value("<p>The new line links Pudong with the airport.</p>")
    expect(topics.get_by_label("Transport")).to_be_checked()
    assert_accessible(page)
    assert not Post.objects.filter(title__icontains="Metro line 18").exists()

    slug.fill("metro-line-18-opens")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit post")
    expect(page).to_have_url(re.compile(r"/en/staff/news/\d+/$"))
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.locator("main")).to_contain_text("State: Draft")
    expect(page.get_by_role("link", name="View")).to_have_count(0)
    assert_accessible(page)
    post = Post.objects.get(slug="metro-line-18-opens")
    assert post.state == Post.State.DRAFT
    assert list(post.topics.values_list("slug", flat=True)) == ["transport"]

    # A draft is not public.
    assert visitor.goto("/en/news/metro-line-18-opens/").status == 404

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_contain_text("State changed.")
    expect(page.locator("main")).to_contain_text("State: Published")
    page.get_by_role("link", name="View").click()
    expect(page).to_have_url(re.compile(r"/en/news/metro-line-18-opens/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Metro line 18 opens")
    expect(page.locator("article")).to_contain_text("The new line links Pudong with the airport.")
    expect(page.locator("article .meta")).to_contain_text("Whole city")

    # Newest first in the list, for the visitor too: the cached list was retired.
    visitor.goto("/en/news/")
    expect(news_titles(visitor).first).to_have_text("Metro line 18 opens")
    visitor.goto("/en/news/?topic=transport")
    expect(news_titles(visitor)).to_have_text(["Metro line 18 opens", "Metro night service extended on Fridays"])
    assert visitor.goto("/en/news/metro-line-18-opens/").status == 200


def _post_this_week(editor: User, slug: str, title: str, topic: str) -> Post:
    post = services.post_create(
        actor=editor,
        data=services.PostInput(
            slug=slug,
            title={"en": title},
            body={"en": f"<p>{title}.</p>"},
            topic_ids=[Topic.objects.get(slug=topic).pk],
        ),
    )
    # Published now: in this week's bulletin.
    return services.post_set_state(actor=editor, post_id=post.pk, state=Post.State.PUBLISHED)


def test_editor_compiles_reorders_and_sends_the_bulletin(page, sign_in, assert_accessible):
    editor = User.objects.get(email="editor@yulan.example")
    _post_this_week(editor, "clinic-opens-saturdays", "Clinic opens on Saturdays", "health")
    _post_this_week(editor, "bus-route-71-changes", "Bus route 71 changes", "transport")
    reader = Subscriber.objects.create(
        email="reader@example.org", status=Subscriber.Status.ACTIVE, confirmed_at=timezone.now()
    )

    sign_in(page, "editor@yulan.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="Weekly bulletins").click()
    expect(page).to_have_url(re.compile(r"/en/staff/bulletins/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekly bulletins")
    expect(page.get_by_role("cell", name="No bulletins yet.")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Compile this week's bulletin so far").click()
    expect(page).to_have_url(re.compile(r"/en/staff/bulletins/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Bulletin for the week of "))
    expect(page.locator("main")).to_contain_text("State: Draft")
    expect(page.locator("main")).to_contain_text("1 subscriber takes the weekly bulletin.")
    bulletin = Bulletin.objects.get()
    assert bulletin.week_start == services.week_start_of(timezone.localdate())
    assert_accessible(page)

    clinic = page.get_by_role("group", name="Clinic opens on Saturdays")
    bus = page.get_by_role("group", name="Bus route 71 changes")
    expect(clinic.get_by_label("Order")).to_have_value(re.compile(r"^\d+$"))
    clinic_position = int(clinic.get_by_label("Order").input_value())
    bus_position = int(bus.get_by_label("Order").input_value())
    assert clinic_position < bus_position, "posts are compiled in the order they were published"
    legends = page.locator("fieldset.bulletin-item > legend")
    titles = legends.all_inner_texts()
    assert titles.index("Clinic opens on Saturdays") < titles.index("Bus route 71 changes")

    # Move the bus post to the top.
    bus.get_by_label("Order").fill("1")
    clinic.get_by_label("Order").fill(str(bus_position + 5))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(legends.first).to_have_text("Bus route 71 changes")
    expect(page.get_by_role("group", name="Bus route 71 changes").get_by_label("Order")).to_have_value("1")
    titles = legends.all_inner_texts()
    assert titles.index("Bus route 71 changes") < titles.index("Clinic opens on Saturdays")
    positions = dict(bulletin.items.values_list("post__slug", "position"))
    assert positions["bus-route-71-changes"] == 1
    assert positions["clinic-opens-saturdays"] == bus_position + 5
    assert_accessible(page)

    # An empty date sends at once.
    expect(page.get_by_label("Send at")).to_have_value("")
    page.get_by_role("button", name="Send or schedule").click()
    expect(page.get_by_role("status").first).to_contain_text("Sending has started.")
    expect(page.locator("main")).to_contain_text("State: Sending")
    # The page does not reload itself under the reader (axe: meta-refresh); it offers a link.
    expect(page.locator("meta[http-equiv=refresh]")).to_have_count(0)
    expect(page.get_by_role("link", name="Refresh")).to_be_visible()
    assert_accessible(page)
    # Being sent, it can no longer be changed.
    expect(page.get_by_role("button", name="Send or schedule")).to_have_count(0)
    expect(page.get_by_role("listitem").filter(has_text="Bus route 71 changes")).to_be_visible()
    bulletin.refresh_from_db()
    assert bulletin.state == Bulletin.State.SENDING
    assert bulletin.sending_started_at is not None
    assert list(OutgoingMail.objects.filter(stream=bulletin.stream).values_list("to_email", flat=True)) == [
        reader.email
    ]

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Weekly bulletins").click()
    expect(page.get_by_role("row", name=re.compile(str(bulletin)))).to_contain_text("Sending")


def test_subscribers_page(page, sign_in, assert_accessible):
    huacao = Community.objects.get(slug="huacao")
    active = Subscriber.objects.create(
        email="ana@example.org", status=Subscriber.Status.ACTIVE, confirmed_at=timezone.now(), language="es"
    )
    active.communities.set([huacao])
    Subscriber.objects.create(email="ben@example.org")
    Subscriber.objects.create(email="chen@example.net", status=Subscriber.Status.UNSUBSCRIBED)

    sign_in(page, "editor@yulan.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="Subscribers").click()
    expect(page).to_have_url(re.compile(r"/en/staff/subscribers/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribers")
    expect(count_of(page, "Subscribed")).to_have_text("1")
    expect(count_of(page, "Waiting for confirmation")).to_have_text("1")
    expect(count_of(page, "Unsubscribed")).to_have_text("1")
    expect(count_of(page, "Suppressed")).to_have_text("0")
    assert_accessible(page)

    page.get_by_label("Find an address").fill("example.org")
    page.get_by_role("button", name="Find").click()
    expect(page).to_have_url(re.compile(r"[?&]q=example.org"))
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("row", name=re.compile("ana@example.org"))).to_contain_text("Subscribed")
    expect(page.get_by_role("row", name=re.compile("ben@example.org"))).to_contain_text("Waiting for confirmation")
    assert_accessible(page)
    # At phone width the table scrolls sideways, and a keyboard can reach it to do so.
    page.set_viewport_size({"width": 375, "height": 667})
    expect(page.get_by_role("region", name="Subscribers")).to_have_attribute("tabindex", "0")
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_label("Addresses").fill("ANA@example.org\nnobody@example.org\n")
    page.get_by_label("Reason").select_option(label="Bounced")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_role("status")).to_have_text("1 addresses suppressed; 1 not found.")
    expect(count_of(page, "Suppressed")).to_have_text("1")
    expect(count_of(page, "Subscribed")).to_have_text("0")
    assert_accessible(page)
    active.refresh_from_db()
    assert active.status == Subscriber.Status.SUPPRESSED
    assert active.suppressed_reason == Subscriber.Suppression.BOUNCE
