"""The staff side of the feedback loop in a real browser, on a phone-sized screen with the demo
data: a coordinator's triage queue and an item page (a note written), a report made and printed,
and a survey answered by a resident and its results. axe-core checks each page."""

import datetime
import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo")]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(new_context, page_errors):
    context = new_context(viewport=PHONE)
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    yield page
    assert not page_errors, f"uncaught errors in the page: {page_errors}"


def fits_the_screen(page: Page) -> None:
    page.wait_for_load_state("load")  # the stylesheet applied
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= widths["inner"], f"{page.url} scrolls sideways on a phone: {widths}"


def test_a_coordinator_triages_on_a_phone(phone, sign_in, assert_accessible):
    page = phone
    sign_in(page, "coordinator@yulan.example")
    page.goto("/en/staff/feedback/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_be_visible()
    # The coordinator of Hongqiao sees its open items only (three in the demo data; one more is answered).
    assert rows.count() == 3
    fits_the_screen(page)
    assert_accessible(page)

    rows.first.locator("a").first.click()
    expect(page).to_have_url(re.compile(r"/en/staff/feedback/\d+/$"))
    expect(page.locator("main")).to_contain_text("resident")  # the contact details, for staff only
    fits_the_screen(page)
    assert_accessible(page)

    page.locator('[name="reply-kind"][value="note"]').check()
    page.locator('[name="reply-text"]').fill("Called the lighting company; they come on Tuesday.")
    page.locator("#form-reply").get_by_role("button").click()
    expect(page.locator("main")).to_contain_text("Called the lighting company")
    assert_accessible(page)


def test_an_editor_makes_a_report_that_prints(phone, sign_in, assert_accessible):
    page = phone
    sign_in(page, "editor@yulan.example")
    page.goto("/en/staff/feedback/reports/")
    assert_accessible(page)
    today = datetime.date.today()
    page.locator('[name="title"]').fill("Feedback this month")
    page.locator('[name="start"]').fill((today - datetime.timedelta(days=30)).isoformat())
    page.locator('[name="end"]').fill(today.isoformat())
    page.locator("form", has=page.locator('[name="title"]')).get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"/en/staff/feedback/reports/\d+/$"))
    charts = page.locator("main svg[role=img]")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 3
    expect(page.locator("main")).to_contain_text("Feedback this month")
    fits_the_screen(page)
    assert_accessible(page)
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(charts.first).to_be_visible()


def test_a_resident_answers_a_survey_and_staff_see_the_results(phone, sign_in, assert_accessible):
    page = phone
    sign_in(page, "resident@yulan.example")
    page.goto("/en/surveys/")
    assert_accessible(page)
    page.get_by_role("link", name="When should the community centre be open?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("When should the community centre be open?")
    fits_the_screen(page)
    assert_accessible(page)
    # Sent without the required answers: the mistakes are shown, nothing is counted.
    page.locator("form.survey-form").get_by_role("button").last.click()
    expect(page.get_by_role("alert").first).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Saturday").check()
    page.get_by_label("Sunday").check()
    page.locator("form.survey-form input[type=checkbox][required], form.survey-form input[name=resident]").first.check()
    page.locator("form.survey-form input[type=radio]").nth(3).check()
    page.locator("form.survey-form textarea").first.fill("A quiet room for homework after school.")
    page.locator("form.survey-form").get_by_role("button").last.click()
    expect(page).to_have_url(re.compile(r"/thanks/$"))
    assert_accessible(page)

    page.goto("/en/accounts/logout/")
    page.locator("main form button[type=submit]").first.click()
    sign_in(page, "coordinator@yulan.example")
    page.goto("/en/staff/surveys/")
    page.get_by_role("link", name="When should the community centre be open?").first.click()
    page.get_by_role("link", name="Results").first.click()
    expect(page.locator("main svg[role=img]").first).to_be_visible()
    expect(page.locator("main")).to_contain_text("A quiet room for homework after school.")
    fits_the_screen(page)
    assert_accessible(page)
