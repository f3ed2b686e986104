"""The staff area in a real browser: signed in through the real form, with the demo roles."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo")]

XSS = "<script>alert(1)</script>"


def test_editor_writes_and_publishes_an_article(page, sign_in, assert_accessible):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, "editor@yulan.example")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff area")
    expect(page.get_by_role("link", name="1 page due for review")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Guide articles").first.click()
    expect(page).to_have_url(re.compile(r"/en/staff/articles/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Guide articles")
    expect(page.get_by_role("row", name=re.compile("Apps that make daily life easy"))).to_contain_text("Review due")
    assert_accessible(page)

    page.get_by_role("link", name="New article").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New article")
    assert_accessible(page)

    # Nothing filled in: the errors show beside their fields.
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New article")
    slug = page.get_by_label("Web address")
    expect(slug).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field", has=slug).get_by_role("alert")).to_have_text("This field is required.")
    assert_accessible(page)

    # No title in any language: the error shows on the group of title fields, and the typed text stays.
    slug.fill("tea-houses")
    page.get_by_label("Category").select_option(label="Culture")
    page.locator("#group-body").get_by_label("English").fill("<p>Where to drink tea in the afternoon.</p>")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#group-title").get_by_role("alert")).to_have_text(
        "This field is required in at least one language."
    )
    expect(page.get_by_label("Web address")).to_have_value("tea-houses")
    expect(page.locator("#group-body").get_by_label("English")).to_have_value(
        "<p>Where to drink tea in the afternoon.</p>"
    )
    assert_accessible(page)

    page.locator("#group-title").get_by_label("English").fill("Tea houses")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit article")
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.locator("main")).to_contain_text("State: Draft")
    assert_accessible(page)

    page.get_by_role("button", name="Publish").click()
    expect(page.locator("main")).to_contain_text("State: Published")
    page.get_by_role("link", name="View").click()
    expect(page).to_have_url(re.compile(r"/en/guide/article/tea-houses/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tea houses")
    expect(page.locator("article")).to_contain_text("Where to drink tea in the afternoon.")

    # Script typed into the title or the text never runs, and never reaches the public page.
    page.go_back()
    page.locator("#group-title").get_by_label("English").fill(f"{XSS}Tea houses")
    page.locator("#group-body").get_by_label("English").fill(
        "<p>Tea.</p><script>alert(2)</script><img src=x onerror=alert(3)>"
    )
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    page.goto("/en/guide/article/tea-houses/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tea houses")
    expect(page.locator("article")).to_contain_text("Tea.")
    expect(page.locator("main script")).to_have_count(0)
    expect(page.locator("[onerror]")).to_have_count(0)
    html = page.content()
    assert "<script>alert(" not in html
    assert "alert(2)" not in html

    # Escaped markup in the title is kept as text and shown as text.
    page.go_back()
    page.locator("#group-title").get_by_label("English").fill("Tea &lt;script&gt;alert(4)&lt;/script&gt;")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    page.goto("/en/guide/article/tea-houses/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tea <script>alert(4)</script>")
    expect(page.locator("main script")).to_have_count(0)
    assert "<script>alert(" not in page.content()
    page.goto("/en/staff/articles/")
    expect(page.get_by_role("link", name="Tea <script>alert(4)</script>")).to_be_visible()
    assert dialogs == []


def test_coordinator_gets_the_hours_error_by_line(page, sign_in, assert_accessible):
    sign_in(page, "coordinator@yulan.example")
    page.goto("/en/staff/places/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Directory places")
    # Only the places of the coordinator's community are listed.
    expect(page.get_by_role("link", name="Huacao International Community Center")).to_have_count(0)
    assert_accessible(page)

    page.get_by_role("link", name="Hongqiao International Library").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit place")
    hours = page.get_by_label("Opening hours")
    expect(hours).to_have_value(re.compile(r"^Tu 09:00-20:00\n"))
    assert_accessible(page)

    hours.fill("Mon-Fri 9-5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit place")
    hours = page.get_by_label("Opening hours")
    expect(hours).to_have_value("Mon-Fri 9-5")
    field = page.locator(".field", has=hours)
    expect(field.get_by_role("alert")).to_have_text("Line 1: “9-5” is not a time range like 09:00-17:00.")
    expect(hours).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
