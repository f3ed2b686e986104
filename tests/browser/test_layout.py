"""Pages without JavaScript, and on a phone-sized screen."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo")]


def test_near_me_works_without_javascript(new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/en/places/near/")
    # The location button needs a script: without one it stays hidden.
    expect(page.get_by_role("button", name="Use my location")).to_be_hidden()
    page.get_by_label("Address, community or place name").fill("Huacao")
    page.get_by_role("button", name="Find places").click()
    expect(page).to_have_url(re.compile(r"/en/places/near/\?.*address=Huacao"))
    expect(page.get_by_role("heading", level=2)).to_have_text(re.compile(r"places? near Huacao Town$"))
    expect(page.get_by_role("link", name="Huacao International Community Center")).to_be_visible()

    # The place page still gives the address and coordinates.
    page.get_by_role("link", name="Huacao International Community Center").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Huacao International Community Center")
    expect(page.get_by_text("Huacao Town, Minhang District, Shanghai")).to_be_visible()
    expect(page.get_by_text("Coordinates: 31.22350, 121.30450")).to_be_visible()


@pytest.mark.parametrize(
    "path",
    [
        "/en/",
        "/en/places/hongqiao-international-library/",
        "/en/places/near/?address=Huacao",
        # Longer words in the filters' labels and options.
        "/ru/places/near/",
    ],
    ids=["home", "place", "near", "near-ru"],
)
def test_no_horizontal_overflow_on_a_phone(new_context, path):
    # No mobile emulation: a mobile browser zooms out to fit a page that is too wide, which
    # would hide the overflow this looks for.
    page = new_context(viewport={"width": 375, "height": 667}).new_page()
    page.goto(path)
    page.wait_for_load_state("load")
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["inner"] == 375
    assert widths["scroll"] <= widths["inner"], f"{path} scrolls sideways on a 375px screen: {widths}"
