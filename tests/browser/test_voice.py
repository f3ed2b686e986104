"""Feedback in a real browser, on a phone: the form with its mistakes shown beside the fields,
"Use my location", a photo, landing on the tracking page; then the public list with its map and
the item's page; and a resident's own feedback, with the removal of their contact details.
axe-core checks each page."""

import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from yulan.core.models import Community, District, User
from yulan.voice import services
from yulan.voice.models import Category, Item

from ..voice.conftest import jpeg_bytes

pytestmark = [pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
HERE = {"latitude": 31.2012, "longitude": 121.4102}


@pytest.fixture
def places(transactional_db) -> None:
    district, _ = District.objects.get_or_create(slug="changning", defaults={"name": {"en": "Changning District"}})
    Community.objects.get_or_create(
        slug="hongqiao",
        defaults={
            "name": {"en": "Hongqiao Subdistrict"},
            "district": district,
            "latitude": 31.201,
            "longitude": 121.409,
        },
    )
    Category.objects.get_or_create(slug="streets", defaults={"name": {"en": "Streets and lighting"}})


@pytest.fixture
def phone(new_context, page_errors) -> Iterator[Page]:
    """A phone-sized page that may read its location (the test's page fixture, with that)."""
    context = new_context(viewport=PHONE, geolocation=HERE, permissions=["geolocation"])
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    broken: list[str] = []
    page.on(
        "response",
        lambda r: (
            broken.append(f"{r.status} {r.url}") if r.status >= 400 and r.request.resource_type != "document" else None
        ),
    )
    yield page
    assert not page_errors, f"uncaught errors in the page: {page_errors}"
    assert not broken, f"the site failed to serve: {broken}"


def assert_fits_the_screen(page: Page) -> None:
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["inner"] == PHONE["width"]
    assert widths["scroll"] <= widths["inner"], f"{page.url} scrolls sideways on a phone: {widths}"


def field_of(page: Page, name: str):
    return page.locator(".field", has=page.locator(f'[name="{name}"]'))


def test_feedback_sent_from_a_phone_is_tracked_and_shown(phone, places, assert_accessible):
    page = phone
    page.goto("/en/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Feedback").click()
    expect(page).to_have_url(re.compile(r"/en/feedback/$"))
    page.get_by_role("link", name="Tell us something").click()
    expect(page).to_have_url(re.compile(r"/en/feedback/new/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tell us")
    assert_accessible(page)
    assert_fits_the_screen(page)

    # Sent without text: the mistake is shown beside its field and the rest is kept.
    page.get_by_label("Category").select_option(label="Streets and lighting")
    page.get_by_label("Address or place (optional)").fill("Hongqiao Road 5, at the bus stop")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Send").click()
    assert posted.value.status == 400
    text = page.get_by_label("What would you like to tell us? *")
    expect(text).to_have_attribute("aria-invalid", "true")
    expect(field_of(page, "text").get_by_role("alert")).to_have_text("Please write what you would like to tell us.")
    expect(page.get_by_label("Address or place (optional)")).to_have_value("Hongqiao Road 5, at the bus stop")
    assert_accessible(page)

    page.get_by_role("group", name="What is it? *").get_by_label("Idea").check()
    text.fill("Please add an English timetable at the bus stop on Hongqiao Road, near building 5.")
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#location-status")).to_have_text("Your location is added.")
    expect(page.locator("#id_latitude")).to_have_value("31.201200")
    page.get_by_label("Photo (optional)").set_input_files(
        {"name": "stop.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(size=(320, 240))}
    )
    # Anonymous hides the contact fields; changing one's mind brings them back.
    page.get_by_label("Send anonymously").check()
    expect(page.get_by_label("E-mail (optional)")).to_be_hidden()
    page.get_by_label("Send anonymously").uncheck()
    page.get_by_label("E-mail (optional)").fill("mei@example.org")
    consent = page.get_by_label("Show my feedback on the public feedback page")
    expect(consent).not_to_be_checked()
    consent.check()
    assert_fits_the_screen(page)
    page.get_by_role("button", name="Send").click()

    expect(page).to_have_url(re.compile(r"/en/feedback/track/[^/]+/$"))
    item = Item.objects.get()
    assert (item.kind, item.latitude, item.longitude, item.contact_email) == (
        "idea",
        31.2012,
        121.4102,
        "mei@example.org",
    )
    assert item.public_consent and item.photo
    expect(page.get_by_role("heading", level=1)).to_have_text("Your feedback")
    expect(page.locator(".feedback-ref")).to_contain_text(f"#{item.pk}")
    expect(page.get_by_role("status")).to_contain_text("Thank you. We received your feedback.")
    photo = page.locator(".feedback-photo img")
    expect(photo).to_be_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", photo.element_handle())
    assert_accessible(page)
    assert_fits_the_screen(page)

    page.get_by_role("link", name="See the public page").click()
    expect(page).to_have_url(re.compile(rf"/en/feedback/{item.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{item.pk} · Streets and lighting")
    expect(page.locator(".feedback-text")).to_contain_text("English timetable")
    expect(page.locator("#map.leaflet-container")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in to say “me too”")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("mei@example.org")
    assert_accessible(page)
    assert_fits_the_screen(page)

    page.get_by_role("link", name="Feedback", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/en/feedback/$"))
    expect(page.locator(".feedback-list h2")).to_have_text([f"#{item.pk} · Streets and lighting"])
    expect(page.locator("#feedback-map.leaflet-container")).to_be_visible()
    expect(page.locator("#feedback-map .leaflet-marker-icon")).to_have_count(1)
    assert_accessible(page)
    assert_fits_the_screen(page)


def test_a_resident_removes_their_contact_details_after_confirming(phone, places, live_server, assert_accessible):
    page = phone
    user = User.objects.create_user("lin@example.org", "pw-lin-12345", display_name="Lin")
    text = "The zebra crossing at the school gate has faded and drivers do not stop."
    item = services.item_submit(services.ItemInput(category="streets", text=text, public_consent=True), user=user).item
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    page.goto("/en/feedback/mine/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My feedback")
    expect(page.get_by_role("link", name=f"#{item.pk} · Streets and lighting")).to_be_visible()
    assert_accessible(page)
    assert_fits_the_screen(page)

    page.get_by_role("button", name="Remove my contact details from my feedback…").click()
    expect(page.get_by_role("heading", name="Remove your contact details?")).to_be_visible()
    assert Item.objects.get(pk=item.pk).user == user
    assert_accessible(page)
    page.get_by_role("button", name="Yes, remove my contact details").click()
    expect(page.get_by_role("status")).to_contain_text("Your contact details were removed from 1 feedback item.")
    item.refresh_from_db()
    assert (item.user, item.contact_email, item.text) == (None, "", text)

    page.goto("/en/feedback/my-data/")
    expect(page.get_by_label("The e-mail address you gave with your feedback")).to_have_value("lin@example.org")
    assert_accessible(page)
    assert_fits_the_screen(page)
