"""Events in a real browser: the public list and an event page, registering by e-mail on a
phone and the ticket's QR code (decoded in the page with the vendored jsQR), and the organisers'
side (the event page, the event form with errors, check-in at the door on a phone)."""

import re
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from yulan.core.mail import outbox_deliver
from yulan.core.models import User
from yulan.events import services
from yulan.events.models import Event, Registration

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo")]

# No mobile emulation (see test_layout): a mobile browser zooms out to fit a page that is too
# wide, which would hide the overflow this looks for.
PHONE = {"width": 390, "height": 844}
COORDINATOR = "coordinator@yulan.example"  # runs Hongqiao's events in the demo
LANTERNS = "lantern-festival-evening"  # Hongqiao, 80 places, at most 2 per registration
CALLIGRAPHY = "family-calligraphy-morning"  # Hongqiao, asks (required) for the child's age

# Draw the ticket's inline SVG into a canvas and read it back with jsQR, as a door phone would.
DECODE_QR = """async () => {
  const svg = document.querySelector(".ticket-qr svg");
  const xml = new XMLSerializer().serializeToString(svg);
  const image = new Image();
  const loaded = new Promise((resolve, reject) => { image.onload = resolve; image.onerror = reject; });
  image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(xml);
  await loaded;
  const size = Math.max(image.naturalWidth, 200) * 2;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, size, size);
  context.drawImage(image, 0, 0, size, size);
  const pixels = context.getImageData(0, 0, size, size);
  const code = jsQR(pixels.data, size, size);
  return code ? code.data : null;
}"""


@pytest.fixture
def phone(page: Page) -> Page:
    """The test's page (with its checks for failed scripts and missing files) on a phone-sized screen."""
    page.set_viewport_size(PHONE)
    return page


@pytest.fixture
def signed_in(live_server) -> Callable[[BrowserContext, str], None]:
    """Give a browser context the session of a demo account, without the sign-in form."""

    def sign(context: BrowserContext, email: str) -> None:
        client = Client()
        client.force_login(User.objects.get(email=email))
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    return sign


def assert_fits_the_screen(page: Page) -> None:
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["inner"] == PHONE["width"]
    assert widths["scroll"] <= widths["inner"], f"{page.url} scrolls sideways on a phone: {widths}"


def field_of(page: Page, name: str):
    """The `.field` box that holds the control named `name`, its label and its error."""
    return page.locator(".field", has=page.locator(f'[name="{name}"]'))


def confirmation_path(address: str) -> str:
    """The path of the confirmation link in the mail sent to `address` (the live server sends
    its outbox as the request commits; send whatever is left)."""
    for _ in range(50):
        outbox_deliver()
        links = [
            url
            for message in mail.outbox
            if message.to == [address]
            for url in re.findall(r"https?://\S+", message.body)
            if "/events/confirm/" in url
        ]
        if links:
            return urlsplit(links[-1]).path
        time.sleep(0.1)
    raise AssertionError(f"no confirmation e-mail to {address}")


def register_account(slug: str, name: str, *, party: int = 1) -> Registration:
    """A resident with an account registered for the demo event `slug` (confirmed at once)."""
    user = User.objects.create_user(f"{name.split()[0].lower()}@example.org", "pw-1234-abcd", display_name=name)
    event = Event.objects.get(slug=slug)
    result = services.registration_create(
        event_id=event.pk, data=services.RegistrationInput(name="", party_size=party), user=user
    )
    return result.registration


# --- public pages ----------------------------------------------------------------------------


def test_events_list_and_an_event_page(phone, assert_accessible):
    page = phone
    page.goto("/en/events/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Events")
    titles = page.locator("main .event-list > li").get_by_role("heading", level=2)
    expect(titles.first).to_have_text("Online seminar: renewing your residence permit")
    expect(titles).to_have_count(5)
    assert_accessible(page)
    assert_fits_the_screen(page)

    page.get_by_label("Type").select_option(label="Family activity")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]kind=family"))
    expect(titles).to_have_text(["Family calligraphy morning"])
    assert_accessible(page)

    # A bad date is answered with a message beside the field, not an error page.
    with page.expect_response(lambda r: "/en/events/?" in r.url) as answered:
        page.goto("/en/events/?date_from=2030-02-30")
    assert answered.value.status == 400
    expect(field_of(page, "date_from").get_by_role("alert")).to_have_text("Enter a valid date.")
    assert_accessible(page)

    page.goto("/en/events/")
    page.get_by_role("link", name="Lantern Festival evening").click()
    expect(page).to_have_url(re.compile(rf"/en/events/{LANTERNS}/$"))
    article = page.locator("article")
    expect(article.get_by_role("heading", level=1)).to_have_text("Lantern Festival evening")
    expect(article).to_contain_text("Make lanterns, guess riddles and share tangyuan with your neighbours.")
    expect(article.locator("dl.facts")).to_contain_text("80 places left")
    expect(page.locator('script[type="application/ld+json"]')).to_have_count(1)
    expect(page.get_by_role("link", name="Add to calendar")).to_have_attribute(
        "href", f"/en/events/{LANTERNS}/event.ics"
    )
    assert_accessible(page)
    assert_fits_the_screen(page)


def test_the_registration_form_shows_errors_beside_their_fields(phone, assert_accessible):
    page = phone
    page.goto(f"/en/events/{CALLIGRAPHY}/")
    page.get_by_role("link", name="Register").click()
    expect(page).to_have_url(re.compile(rf"/en/events/{CALLIGRAPHY}/register/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Register")
    assert_accessible(page)
    assert_fits_the_screen(page)

    email = page.get_by_label("E-mail")
    age = page.get_by_label("Age of the child")
    page.get_by_role("spinbutton", name="Places").fill("9")
    email.fill("parent(at)example.org")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Register").click()
    assert posted.value.status == 400
    name = page.get_by_label("Your name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(field_of(page, "name").get_by_role("alert")).to_have_text("This field is required.")
    expect(age).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_value("parent(at)example.org")
    expect(page.get_by_role("spinbutton", name="Places")).to_have_value("9")
    assert_accessible(page)
    assert_fits_the_screen(page)

    # Name and age given: the address and the number of places are what is left.
    name.fill("Pat Parent")
    page.get_by_label("Age of the child").fill("7")
    page.get_by_role("button", name="Register").click()
    expect(field_of(page, "email").get_by_role("alert")).to_contain_text(
        "“parent(at)example.org” is not a valid e-mail address."
    )
    expect(page.get_by_label("Your name")).to_have_value("Pat Parent")
    expect(page.get_by_label("Age of the child")).to_have_value("7")
    assert_accessible(page)
    assert not Registration.objects.filter(name="Pat Parent").exists()


def test_a_visitor_registers_by_email_on_a_phone_and_the_ticket_qr_code_scans(phone, assert_accessible):
    page = phone
    page.goto(f"/en/events/{LANTERNS}/register/")
    page.get_by_label("Your name").fill("Mei Visitor")
    page.get_by_label("E-mail").fill("mei@example.org")
    page.get_by_role("spinbutton", name="Places").fill("2")
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(rf"/en/events/{LANTERNS}/register/sent/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    assert_accessible(page)
    assert_fits_the_screen(page)
    reg = Registration.objects.get(email="mei@example.org")
    assert reg.status == Registration.Status.PENDING

    page.goto(confirmation_path("mei@example.org"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your registration")
    expect(page.locator("main")).to_contain_text("For Mei Visitor, 2 place(s).")
    assert_accessible(page)
    reg.refresh_from_db()
    assert reg.status == Registration.Status.PENDING
    page.get_by_role("button", name="Confirm my registration").click()

    expect(page).to_have_url(re.compile(r"/en/events/registration/[^/]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your registration")
    expect(page.locator("#registration-status")).to_have_text("Confirmed")
    reg.refresh_from_db()
    assert reg.status == Registration.Status.CONFIRMED
    ticket = page.get_by_role("region", name="Your ticket")
    expect(ticket.locator("#ticket-code")).to_have_text(reg.display_code)
    expect(ticket.get_by_role("img", name=f"QR code for {reg.display_code}")).to_be_visible()
    assert_accessible(page)
    assert_fits_the_screen(page)

    page.add_script_tag(url="/static/vendor/jsqr/jsQR.js")
    assert page.evaluate(DECODE_QR) == f"{settings.SITE_URL.rstrip('/')}/checkin/{reg.code}"


def test_a_resident_with_an_account_registers_and_cancels(phone, signed_in, assert_accessible):
    page = phone
    resident = User.objects.get(email="resident@yulan.example")
    signed_in(page.context, resident.email)
    page.goto(f"/en/events/{LANTERNS}/")
    page.get_by_role("link", name="Register").click()
    expect(page.get_by_label("E-mail")).to_have_count(0)
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#registration-status")).to_have_text("Confirmed")
    expect(page.locator(".ticket-qr svg")).to_be_visible()
    assert_accessible(page)
    assert_fits_the_screen(page)

    page.get_by_role("button", name="Cancel my registration").click()
    expect(page.get_by_role("status")).to_have_text("Your registration is cancelled.")
    expect(page.locator("#registration-status")).to_have_text("Cancelled")
    expect(page.get_by_role("region", name="Your ticket")).to_have_count(0)
    assert_accessible(page)
    assert Registration.objects.get(user=resident).status == Registration.Status.CANCELLED


# --- staff -----------------------------------------------------------------------------------


def test_the_staff_event_page_and_check_in_with_a_result(page, signed_in, assert_accessible):
    reg = register_account(LANTERNS, "Ola Attendee", party=2)
    register_account(LANTERNS, "Ben Second")
    event = reg.event
    signed_in(page.context, COORDINATOR)
    page.goto("/en/staff/events/")
    page.get_by_role("link", name="Lantern Festival evening").click()
    expect(page).to_have_url(re.compile(rf"/en/staff/events/{event.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Lantern Festival evening")
    expect(page.get_by_role("row", name=re.compile("Ola Attendee"))).to_contain_text("Confirmed")
    assert_accessible(page)

    page.get_by_role("link", name="Check-in at the door").click()
    expect(page).to_have_url(re.compile(rf"/en/staff/events/{event.pk}/checkin/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check-in")
    assert_accessible(page)
    page.get_by_label("Registration code").fill("NOPE0-NOPE0")
    page.get_by_role("button", name="Check in", exact=True).click()
    expect(page.locator("#checkin-result")).to_contain_text("No registration has this code.")
    assert_accessible(page)
    page.get_by_label("Registration code").fill(reg.code)
    page.get_by_role("button", name="Check in", exact=True).click()
    expect(page.locator("#checkin-result")).to_contain_text("Checked in: Ola Attendee · 2 places")
    expect(page.locator("main")).to_contain_text("1 of 2 registrations checked in (2 of 3 places).")
    assert_accessible(page)


def test_the_event_form_with_errors(page, signed_in, assert_accessible):
    signed_in(page.context, COORDINATOR)
    page.goto("/en/staff/events/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("New event")
    assert_accessible(page)

    page.locator("#group-title").get_by_label("English").fill("Dumpling workshop")
    page.get_by_label("Web address").fill("dumpling-workshop")
    page.get_by_label("Community").select_option(label="Hongqiao Subdistrict")
    page.get_by_label("Online link").fill("https://meet.example.org/dumplings")
    time_zone = page.get_by_label("Time zone")
    time_zone.fill("Mars/Olympus")
    page.get_by_label("Starts").fill("2030-03-01T18:00")
    page.get_by_label("Ends").fill("2030-03-01T20:00")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save").click()
    assert posted.value.status == 400
    expect(time_zone).to_have_attribute("aria-invalid", "true")
    expect(field_of(page, "time_zone").get_by_role("alert")).to_contain_text("Unknown time zone “Mars/Olympus”.")
    expect(time_zone).to_have_value("Mars/Olympus")
    expect(page.locator("#group-title").get_by_label("English")).to_have_value("Dumpling workshop")
    expect(page.get_by_label("Starts")).to_have_value("2030-03-01T18:00")
    assert_accessible(page)

    time_zone.fill("Europe/Paris")
    page.get_by_label("Ends").fill("2030-03-01T17:00")
    page.get_by_role("button", name="Save").click()
    expect(field_of(page, "ends_at").get_by_role("alert")).to_have_text("The event must end after it starts.")
    assert_accessible(page)
    assert not Event.objects.filter(slug="dumpling-workshop").exists()

    page.get_by_label("Ends").fill("2030-03-01T20:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("The event is saved as a draft.")
    event = Event.objects.get(slug="dumpling-workshop")
    assert event.local_start.hour == 18 and event.starts_at.hour == 17


def test_a_coordinator_checks_in_at_the_door_on_a_phone(phone, signed_in, assert_accessible):
    page = phone
    reg = register_account(LANTERNS, "Kim Guest")
    signed_in(page.context, COORDINATOR)
    page.goto(f"/en/staff/events/{reg.event_id}/checkin/")
    code = page.get_by_label("Registration code")
    expect(code).to_be_focused()
    assert_fits_the_screen(page)

    code.fill(reg.display_code.lower())
    page.get_by_role("button", name="Check in", exact=True).click()
    result = page.locator("#checkin-result")
    expect(result).to_have_attribute("role", "alert")
    expect(result).to_contain_text("Checked in: Kim Guest · 1 place")
    assert_accessible(page)
    assert_fits_the_screen(page)
    reg.refresh_from_db()
    assert reg.checked_in_at is not None

    page.get_by_label("Registration code").fill(reg.display_code.lower())
    page.get_by_role("button", name="Check in", exact=True).click()
    expect(result).to_contain_text("Already checked in: Kim Guest")
    assert_accessible(page)
    assert_fits_the_screen(page)


def test_a_scanned_ticket_link_opens_the_staff_check_in_for_that_code(phone, signed_in, assert_accessible):
    page = phone
    reg = register_account(LANTERNS, "Sam Scanned")
    signed_in(page.context, COORDINATOR)
    page.goto(f"/checkin/{reg.code}")
    expect(page).to_have_url(re.compile(rf"/en/staff/events/checkin/{reg.code}/$"))
    expect(page.locator("main")).to_contain_text("Sam Scanned")
    expect(page.locator("main code")).to_have_text(reg.display_code)
    assert_accessible(page)
    assert_fits_the_screen(page)
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#checkin-result")).to_contain_text("Checked in: Sam Scanned")
