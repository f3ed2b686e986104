"""Public pages in a real browser: what a visitor sees, and no serious accessibility faults."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo")]


def test_home(page, assert_accessible):
    page.goto("/en/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Yulan")
    expect(page.get_by_role("link", name="Find places near me")).to_be_visible()
    expect(page.locator(".cards .card h3 a", has_text="Payment")).to_have_attribute("href", "/en/guide/payment/")
    assert_accessible(page)


def test_guide_index(page, assert_accessible):
    page.goto("/en/guide/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Guide to living in the city")
    card = page.locator(".card", has=page.get_by_role("link", name="Emergencies"))
    expect(card).to_contain_text("1 article")
    assert_accessible(page)


def test_guide_category(page, assert_accessible):
    page.goto("/en/guide/payment/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Payment")
    assert_accessible(page)
    page.get_by_role("link", name="Three ways to pay: card, QR code or cash").click()
    expect(page).to_have_url(re.compile(r"/en/guide/article/paying-in-the-city/$"))


def test_guide_article(page, assert_accessible):
    page.goto("/en/guide/article/emergency-numbers/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Emergency numbers")
    expect(page.locator("article")).to_contain_text("ambulance 120")
    expect(page.locator("article")).to_have_attribute("lang", "en")
    expect(page.locator(".notice")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Emergencies")).to_be_visible()
    assert_accessible(page)


def test_guide_article_falls_back_with_a_notice(page, assert_accessible):
    # "paying-in-the-city" has English, Chinese and French text, but no Japanese.
    page.goto("/ja/guide/article/paying-in-the-city/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    notice = page.get_by_role("note")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("English")
    article = page.locator("article")
    expect(article).to_have_attribute("lang", "en")
    expect(article.get_by_role("heading", level=1)).to_have_text("Three ways to pay: card, QR code or cash")
    assert_accessible(page)


def test_guide_article_in_chinese(page, assert_accessible):
    page.goto("/zh-hans/guide/article/paying-in-the-city/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    article = page.locator("article")
    expect(article).to_have_attribute("lang", "zh-hans")
    expect(article.get_by_role("heading", level=1)).to_have_text("三种支付方式：刷卡、扫码或现金")
    expect(article).to_contain_text("商店、出租车和地铁站支持国际银行卡")
    expect(page.get_by_role("note")).to_have_count(0)
    assert_accessible(page)


def test_places_list_filtered_by_kind(page, assert_accessible):
    page.goto("/en/places/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory of places")
    expect(page.locator("main .cards > .card")).to_have_count(11)
    page.get_by_label("Kind").select_option("library")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]kind=library"))
    cards = page.locator("main .cards > .card")
    expect(cards).to_have_count(1)
    expect(cards.get_by_role("heading")).to_have_text("Hongqiao International Library")
    expect(page.get_by_text("1 place", exact=True)).to_be_visible()
    expect(page.get_by_label("Kind")).to_have_value("library")
    assert_accessible(page)


def test_place_detail_works_without_map_tiles(page, page_errors, assert_accessible):
    tile_requests = []
    page.on("requestfailed", lambda request: tile_requests.append(request.url) if "tile" in request.url else None)
    page.goto("/en/places/hongqiao-international-library/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hongqiao International Library")
    expect(page.locator("#map")).to_be_attached()
    expect(page.get_by_role("region", name="Map")).to_be_visible()
    # The map script ran (Leaflet took the container) and its tiles could not load.
    expect(page.locator("#map.leaflet-container")).to_be_attached()
    page.wait_for_function("document.querySelectorAll('#map img.leaflet-tile').length > 0")
    expect(page.get_by_text("Changning District, Shanghai", exact=True)).to_be_visible()
    # Once tiles fail, the script repeats the coordinates under the (empty) map.
    expect(page.locator("#map + .meta")).to_contain_text("Coordinates: 31.19600, 121.40600")
    expect(page.get_by_text("Coordinates: 31.19600, 121.40600").last).to_be_visible()
    hours = page.get_by_role("table")
    expect(hours.get_by_role("row", name="Tuesday")).to_contain_text("09:00–20:00")
    expect(hours.get_by_role("row", name="Monday")).to_contain_text("Closed")
    assert tile_requests, "expected the outside tile requests to be aborted"
    assert page_errors == []
    assert_accessible(page)


def test_near_me_by_address_then_bad_coordinates(page, assert_accessible):
    page.goto("/en/places/near/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Places near me")
    assert_accessible(page)
    page.get_by_label("Address, community or place name").fill("Huacao")
    page.get_by_role("button", name="Find places").click()
    expect(page).to_have_url(re.compile(r"[?&]address=Huacao"))
    expect(page.get_by_role("heading", level=2)).to_have_text(re.compile(r"^\d+ places? near Huacao Town$"))
    results = page.locator("main .cards > .card")
    expect(results.get_by_role("link", name="Huacao International Community Center")).to_be_visible()
    expect(results.first).to_contain_text("min on foot")
    assert_accessible(page)

    page.get_by_label("Address, community or place name").fill("")
    page.get_by_text("Or enter coordinates").click()
    page.get_by_label("Latitude").fill("abc")
    page.get_by_label("Longitude").fill("121.4")
    page.get_by_role("button", name="Find places").click()
    latitude = page.get_by_label("Latitude")
    expect(latitude).to_be_visible()
    expect(latitude).to_have_value("abc")
    expect(latitude).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-lat")).to_have_text("“abc” is not a number.")
    expect(latitude).to_have_accessible_description("“abc” is not a number.")
    expect(page.locator("main .cards")).to_have_count(0)
    assert_accessible(page)


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("library", id="latin"),
        pytest.param("图书馆", id="chinese"),
        pytest.param("国际图书", id="chinese-substring"),
        pytest.param("libary", id="typo"),
    ],
)
def test_search_finds_the_library(page, assert_accessible, query):
    page.goto("/en/")
    page.get_by_role("search").get_by_role("searchbox").fill(query)
    page.get_by_role("search").get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/en/search/\?q="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    expect(page.get_by_label("Search the guide and places").first).to_have_value(query)
    places = page.locator("main .cards")
    expect(places.get_by_role("link", name="Hongqiao International Library")).to_be_visible()
    if query == "library":
        assert_accessible(page)


def test_not_found_page(page, assert_accessible):
    response = page.goto("/en/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    page.get_by_role("link", name="Back to the home page").click()
    expect(page).to_have_url(re.compile(r"/en/$"))
    page.go_back()
    assert_accessible(page)


def test_language_switcher(page, assert_accessible):
    page.goto("/en/")
    switcher = page.get_by_role("navigation", name="Language")
    expect(switcher.get_by_role("link", name="English")).to_have_attribute("aria-current", "true")
    switcher.get_by_role("link", name="日本語").click()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/ja/"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator('nav.language-switcher a[hreflang="ja"]')).to_have_attribute("aria-current", "true")
    # The guide's category names come in Japanese.
    expect(page.locator(".cards").get_by_role("link", name="支払い")).to_be_visible()
    assert_accessible(page)
