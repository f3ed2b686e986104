"""Sign-in and sign-up pages in a real browser."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo")]


def test_sign_in_page(page, assert_accessible):
    page.goto("/en/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign In")
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Email").fill("resident@yulan.example")
    page.get_by_label("Password").fill("not-the-password")
    page.locator("main form button[type=submit]").first.click()
    expect(page.get_by_text("The email address and/or password you specified are not correct.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("resident@yulan.example")
    assert_accessible(page)


def test_sign_in_as_resident(page, sign_in):
    sign_in(page, "resident@yulan.example")
    expect(page).to_have_url(re.compile(r"/en/$"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Sign out")).to_be_visible()
    expect(nav.get_by_role("link", name="Staff")).to_have_count(0)


def test_sign_up_with_a_bad_email(page, assert_accessible):
    page.goto("/en/accounts/signup/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")
    assert_accessible(page)
    # Passes the browser's own check (no dot needed there) but not the server's.
    page.get_by_label("Email").fill("someone@example")
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-long-enough-secret-2026")
    page.get_by_label("Password (again)").fill("a-long-enough-secret-2026")
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/en/accounts/signup/$"))
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("someone@example")
    assert_accessible(page)
