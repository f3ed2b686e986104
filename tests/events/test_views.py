"""Events pages through the test client: the public list, event pages and calendar files,
registration by e-mail and with an account (bad input, closed windows, the rate limit, forged
links, CSRF), the registrant's own page, and the staff side (the event form in the event's time
zone, who may see which event, the CSV export, check-in at the door, attendance, moved events)."""

import csv
import datetime
import io
import json
import re
import zoneinfo
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from yulan.core.models import OutgoingMail
from yulan.events import services, tokens
from yulan.events.models import Event, Question, Registration

from .conftest import account, deliver, in_days, make_event, register

Status = Registration.Status
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
FORGED = "WzEsImZvcmdlZCJd:1abcde:notasignature"


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def event(coordinator, community):
    """Community A's published tea afternoon: 10 places, at most 4 per registration, online."""
    return make_event(coordinator, "tea-afternoon", community=community)


def slugs(response) -> list[str]:
    return [e.slug for e in response.context["page"]]


def body(response) -> str:
    return response.content.decode()


def field_box(html: str, name: str) -> str:
    """The `.field` box holding the control named `name`: its label, value and error."""
    for chunk in html.split('<div class="field">')[1:]:
        if f'name="{name}"' in chunk:
            return chunk
    raise AssertionError(f"no field {name!r} in the page")


def path_of(url: str) -> str:
    return urlsplit(url).path


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", text)


def confirm_link(address: str) -> str:
    """Send the outbox and return the path of the confirmation link in the mail to `address`."""
    sent = [m for m in deliver() if m.to == [address]]
    assert sent, f"no mail to {address}"
    found = [path_of(url) for m in sent for url in links_in(m.body) if "/events/confirm/" in url]
    assert len(found) == 1, [m.body for m in sent]
    return found[0]


def manage_path(reg: Registration) -> str:
    return f"/en/events/registration/{tokens.make(reg, tokens.MANAGE)}/"


def registration_at(location: str) -> Registration:
    """The registration whose own page `location` is (links are signed with a timestamp, so two
    links to the same page need not be equal)."""
    match = re.fullmatch(r"/en/events/registration/([^/]+)/", location)
    assert match, location
    return tokens.read(match[1], tokens.MANAGE)


def parse_ics(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def summaries(cal: Calendar) -> set[str]:
    return {str(component["SUMMARY"]) for component in cal.walk("VEVENT")}


def csv_rows(response) -> tuple[bytes, list[list[str]]]:
    raw = b"".join(response.streaming_content)
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def event_form(community=None, **changes) -> dict:
    """What the staff event form sends for a new event (times as typed, in the chosen zone)."""
    data = {
        "title__en": "Spring festival fair",
        "description__en": "<p>Stalls and music.</p>",
        "slug": "spring-fair",
        "kind": "celebration",
        "community": getattr(community, "pk", community) or "",
        "place": "",
        "online_url": "https://meet.example.org/fair",
        "time_zone": "Europe/Paris",
        "starts_at": "2030-03-01T18:00",
        "ends_at": "2030-03-01T20:00",
        "languages": ["en", "fr"],
        "capacity": "50",
        "max_party_size": "4",
        "waitlist_enabled": "on",
        "registration_opens_at": "",
        "registration_closes_at": "",
        "contact_name": "",
        "contact_email": "",
        "contact_phone": "",
        "source_language": "en",
    }
    data.update(changes)
    return data


def edit_form(event: Event, **changes) -> dict:
    """What the edit form sends back for `event` unchanged, with `changes`."""

    def local(value):
        return value.astimezone(event.tz).strftime("%Y-%m-%dT%H:%M") if value else ""

    data = event_form(
        title__en=event.title.data["en"],
        description__en=event.description.data.get("en", ""),
        slug=event.slug,
        kind=event.kind,
        community=event.community_id or "",
        place=event.place_id or "",
        online_url=event.online_url,
        time_zone=event.time_zone,
        starts_at=local(event.starts_at),
        ends_at=local(event.ends_at),
        languages=event.language_list,
        capacity="" if event.capacity is None else str(event.capacity),
        max_party_size=str(event.max_party_size),
        waitlist_enabled="on" if event.waitlist_enabled else "",
        registration_opens_at=local(event.registration_opens_at),
        registration_closes_at=local(event.registration_closes_at),
        source_language=event.source_language,
    )
    data.update(changes)
    return data


# --- the public list and event pages -----------------------------------------------------------


@pytest.fixture
def listing(coordinator, editor, community, other_community):
    """Events of both communities and the city: one full, one cancelled, one draft."""
    full = make_event(
        coordinator, "full-house", community=community, capacity=1, starts_at=in_days(4), title={"en": "Full house"}
    )
    register(full, account())
    cancelled = make_event(editor, "called-off", starts_at=in_days(6), title={"en": "Called off"})
    services.event_cancel(actor=editor, event_id=cancelled.pk)
    return {
        "tea": make_event(coordinator, "tea-afternoon", community=community, starts_at=in_days(10)),
        "full": full,
        "seminar": make_event(
            editor,
            "korean-seminar",
            community=other_community,
            kind=Event.Kind.SEMINAR,
            languages=["ko"],
            capacity=None,
            starts_at=in_days(20),
            title={"en": "Korean seminar"},
        ),
        "cancelled": cancelled,
        "draft": make_event(
            coordinator, "draft-plans", community=community, publish=False, starts_at=in_days(8), title={"en": "Plans"}
        ),
        "past": make_event(editor, "long-ago", starts_at=in_days(-3), title={"en": "Long ago"}),
    }


def test_the_list_shows_published_and_cancelled_events_soonest_first_never_drafts(client, listing):
    response = client.get("/en/events/")
    assert response.status_code == 200
    assert slugs(response) == ["full-house", "called-off", "tea-afternoon", "korean-seminar"]
    html = body(response)
    assert "draft-plans" not in html and "long-ago" not in html
    called_off = html.split('href="/en/events/called-off/"')[1].split("</li>")[0]
    assert "Cancelled" in called_off
    assert client.get("/en/events/draft-plans/").status_code == 404
    assert client.get("/en/events/draft-plans/event.ics").status_code == 404
    page = client.get("/en/events/called-off/")
    assert page.status_code == 200 and "This event was cancelled." in body(page)


def test_filters_narrow_the_list(client, listing, community, other_community):
    local_today = timezone.localdate()
    for query, expected in [
        (f"community={community.slug}", ["full-house", "tea-afternoon"]),
        (f"community={other_community.slug}", ["korean-seminar"]),
        ("kind=seminar", ["korean-seminar"]),
        ("kind=celebration", ["full-house", "called-off", "tea-afternoon"]),
        ("language=ko", ["korean-seminar"]),
        ("language=zh-hans", ["full-house", "called-off", "tea-afternoon"]),
        ("free=on", ["tea-afternoon", "korean-seminar"]),
        (f"date_from={local_today + datetime.timedelta(days=9)}", ["tea-afternoon", "korean-seminar"]),
        (f"date_to={local_today + datetime.timedelta(days=7)}", ["full-house", "called-off"]),
        (
            f"date_from={local_today + datetime.timedelta(days=5)}&date_to={local_today + datetime.timedelta(days=11)}",
            ["called-off", "tea-afternoon"],
        ),
        (f"community={community.slug}&free=on&language=en", ["tea-afternoon"]),
    ]:
        response = client.get(f"/en/events/?{query}")
        assert response.status_code == 200, query
        assert slugs(response) == expected, query
    # The filter stays chosen on the page.
    assert 'value="huacao" selected' in body(client.get(f"/en/events/?community={other_community.slug}"))


@pytest.mark.parametrize(
    "query", ["date_from=2030-13-45", "date_to=tomorrow", "date_from=2030-02-30&kind=seminar", "kind=nonsense"]
)
def test_bad_filters_answer_400_with_a_message_not_500(client, listing, query):
    response = client.get(f"/en/events/?{query}")
    assert response.status_code == 400
    html = body(response)
    assert "Enter a valid date." in html or "Select a valid choice." in html
    assert 'class="field-error" role="alert"' in html


@pytest.mark.parametrize("query", ["date_from=0001-01-01", "date_to=9999-12-31"])
def test_dates_at_the_ends_of_the_calendar_never_answer_500(client, listing, query):
    assert client.get(f"/en/events/?{query}").status_code in (200, 400)


def test_an_event_page_carries_json_ld_that_parses(client, event):
    response = client.get("/en/events/tea-afternoon/")
    assert response.status_code == 200
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', body(response), re.S)
    assert len(scripts) == 1
    data = json.loads(scripts[0])
    assert data["@type"] == "Event"
    assert data["name"] == "International tea afternoon"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["url"].endswith("/en/events/tea-afternoon/")
    assert datetime.datetime.fromisoformat(data["startDate"]) == event.starts_at
    assert data["maximumAttendeeCapacity"] == 10
    assert 'href="/en/events/tea-afternoon/register/"' in body(response)


def test_calendar_files_parse_and_the_community_feed_has_only_its_events(client, listing, community):
    single = parse_ics(client.get("/en/events/tea-afternoon/event.ics"))
    assert summaries(single) == {"International tea afternoon"}
    (vevent,) = single.walk("VEVENT")
    assert vevent.decoded("DTSTART") == listing["tea"].starts_at

    # Published and cancelled events, the recent past too; never a draft.
    everything = parse_ics(client.get("/en/events/calendar.ics"))
    assert summaries(everything) == {
        "Full house",
        "Called off",
        "International tea afternoon",
        "Korean seminar",
        "Long ago",
    }
    assert len({str(c["UID"]) for c in everything.walk("VEVENT")}) == 5
    cancelled = [str(c["SUMMARY"]) for c in everything.walk("VEVENT") if str(c.get("STATUS")) == "CANCELLED"]
    assert cancelled == ["Called off"]

    local = parse_ics(client.get(f"/en/events/community/{community.slug}/calendar.ics"))
    assert summaries(local) == {"Full house", "International tea afternoon"}
    assert client.get("/en/events/community/atlantis/calendar.ics").status_code == 404


def test_my_events_page_gives_a_signed_feed_of_the_accounts_events(client, event, editor):
    resident = account("Rosa")
    other = make_event(editor, "other-event", starts_at=in_days(12), title={"en": "Somebody else's event"})
    register(event, resident)
    register(other, account("Someone"))
    client.force_login(resident)
    page = client.get("/en/events/my/")
    assert page.status_code == 200
    assert "International tea afternoon" in body(page)
    feed_url = page.context["feed_url"]
    assert f'value="{feed_url}"' in body(page)
    client.logout()
    # The signed link stands in for signing in.
    cal = parse_ics(client.get(path_of(feed_url)))
    assert summaries(cal) == {"International tea afternoon"}
    token = path_of(feed_url).rstrip("/").split("/")[-2]
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged = signing.dumps([resident.pk, "not-the-hash"], salt=tokens.CALENDAR, compress=True)
    for bad in (FORGED, altered, forged):
        response = client.get(f"/en/events/my/{bad}/calendar.ics")
        assert response.status_code == 404, bad
        assert "calendar link" in body(response)
    # Signed out, the page itself asks to sign in.
    assert client.get("/en/events/my/")["Location"].startswith("/en/accounts/login/")


# --- registration by e-mail -----------------------------------------------------------------------


def test_registering_by_email_waits_for_the_link_then_confirms_on_a_button(client, event):
    response = client.post(
        "/en/events/tea-afternoon/register/", {"name": "Ana Guest", "email": "Ana@Example.org", "party_size": "2"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/en/events/tea-afternoon/register/sent/"
    assert "Check your e-mail" in body(client.get(response["Location"]))
    reg = Registration.objects.get()
    assert (reg.status, reg.email, reg.party_size, reg.name) == (Status.PENDING, "ana@example.org", 2, "Ana Guest")
    event.refresh_from_db()
    assert event.places_taken == 0

    link = confirm_link("ana@example.org")
    # Opening the link (as a mail scanner would) confirms nothing: it shows a button.
    page = client.get(link)
    assert page.status_code == 200
    assert "Confirm my registration</button>" in body(page)
    assert "For Ana Guest, 2 place(s)." in body(page)
    reg.refresh_from_db()
    assert reg.status == Status.PENDING

    confirmed = client.post(link)
    assert confirmed.status_code == 302
    assert confirmed["Location"].startswith("/en/events/registration/")
    reg.refresh_from_db()
    assert reg.status == Status.CONFIRMED
    event.refresh_from_db()
    assert event.places_taken == 2
    ticket = client.get(confirmed["Location"])
    assert ticket.status_code == 200
    html = body(ticket)
    assert reg.display_code in html and "<svg" in html and "Confirmed" in html
    # Opening the link again later goes to the registration; nothing is decided twice.
    again = client.get(link)
    assert again.status_code == 302 and again["Location"].startswith("/en/events/registration/")
    assert client.post(link).status_code == 302
    event.refresh_from_db()
    assert event.places_taken == 2


@pytest.fixture
def questions(event, coordinator):
    """A required text question and an optional choice on the tea afternoon's form."""
    diet = services.question_add(
        actor=coordinator, event_id=event.pk, label={"en": "Dietary needs"}, kind=Question.Kind.TEXT, required=True
    )
    size = services.question_add(
        actor=coordinator,
        event_id=event.pk,
        label={"en": "Cup size"},
        kind=Question.Kind.CHOICE,
        choices={"en": "Small\nLarge"},
        required=False,
    )
    return diet, size


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "   "}, "name", "This field is required."),
        ({"email": "guest(at)example.org"}, "email", "“guest(at)example.org” is not a valid e-mail address."),
        ({"email": ""}, "email", "This field is required."),
        ({"party_size": "5"}, "party_size", "at most 4"),
        ({"party_size": "0"}, "party_size", "greater than or equal to 1"),
        ({"party_size": "lots"}, "party_size", "Enter a whole number."),
        ({"diet": ""}, "diet", "This field is required."),
        ({"size": "7"}, "size", "Select a valid choice."),
    ],
)
def test_bad_registration_input_is_shown_beside_its_field_with_what_was_typed(
    client, event, questions, changes, field, message
):
    diet, size = questions
    names = {"diet": f"q{diet.pk}", "size": f"q{size.pk}"}
    data = {"name": "Ana Guest", "email": "ana@example.org", "party_size": "2", "diet": "Vegan", "size": "1"}
    data.update(changes)
    form = {names.get(key, key): value for key, value in data.items()}
    response = client.post("/en/events/tea-afternoon/register/", form)
    assert response.status_code == 400
    html = body(response)
    box = field_box(html, names.get(field, field))
    assert 'class="field-error" role="alert"' in box and message in box, box
    # What was typed stays.
    for key, value in form.items():
        if key != names["size"] and value.strip():
            assert f'value="{value}"' in html, key
    if field != "size":
        assert '<option value="1" selected>Large</option>' in html
    assert not Registration.objects.exists()
    assert not OutgoingMail.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"registration_closes_at": "past"}, "Registration closed on"),
        ({"registration_opens_at": "future"}, "Registration opens on"),
    ],
)
def test_registering_outside_the_window_is_refused_with_a_message(client, coordinator, community, overrides, message):
    now = timezone.now()
    values = {
        key: now - datetime.timedelta(hours=1) if when == "past" else now + datetime.timedelta(days=2)
        for key, when in overrides.items()
    }
    make_event(coordinator, "tea-afternoon", community=community, **values)
    page = client.get("/en/events/tea-afternoon/register/")
    assert page.status_code == 200 and "Registration is not open." in body(page)
    assert "Registration is not open." in body(client.get("/en/events/tea-afternoon/"))
    response = client.post(
        "/en/events/tea-afternoon/register/", {"name": "Ana", "email": "ana@example.org", "party_size": "1"}
    )
    assert response.status_code == 409
    assert message in body(response)
    assert 'value="ana@example.org"' in body(response)
    assert not Registration.objects.exists()


def test_registering_for_a_cancelled_event_is_refused(client, event, coordinator):
    services.event_cancel(actor=coordinator, event_id=event.pk)
    page = client.get("/en/events/tea-afternoon/register/")
    assert "This event was cancelled." in body(page)
    response = client.post(
        "/en/events/tea-afternoon/register/", {"name": "Ana", "email": "ana@example.org", "party_size": "1"}
    )
    assert response.status_code == 409
    assert "This event was cancelled." in body(response)
    assert not Registration.objects.exists()


def test_registering_for_a_draft_or_unknown_event_is_not_found(client, coordinator, community):
    make_event(coordinator, "draft-plans", community=community, publish=False)
    for slug in ("draft-plans", "no-such-event"):
        assert client.get(f"/en/events/{slug}/register/").status_code == 404
        data = {"name": "Ana", "email": "ana@example.org", "party_size": "1"}
        assert client.post(f"/en/events/{slug}/register/", data).status_code == 404
    assert not Registration.objects.exists()


def test_registrations_are_rate_limited_per_connection(client, event, settings):
    settings.YULAN_EVENT_REGISTER_PER_HOUR = 2
    for i in range(2):
        data = {"name": f"Guest {i}", "email": f"guest{i}@example.org", "party_size": "1"}
        assert client.post("/en/events/tea-afternoon/register/", data).status_code == 302
    response = client.post(
        "/en/events/tea-afternoon/register/", {"name": "Guest 9", "email": "guest9@example.org", "party_size": "1"}
    )
    assert response.status_code == 429
    assert "Too many registrations from your connection" in body(response)
    assert 'value="guest9@example.org"' in body(response)
    assert not Registration.objects.filter(email="guest9@example.org").exists()
    assert Registration.objects.count() == 2


def test_the_same_address_twice_answers_the_same_and_tells_the_owner(client, event):
    data = {"name": "Ana", "email": "ana@example.org", "party_size": "1"}
    first = client.post("/en/events/tea-afternoon/register/", data)
    deliver()
    second = client.post("/en/events/tea-afternoon/register/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Registration.objects.count() == 1
    (mail,) = deliver()
    assert mail.to == ["ana@example.org"] and "/events/confirm/" in mail.body


@pytest.mark.parametrize("page", ["confirm", "registration"])
def test_a_forged_or_altered_link_gets_a_clear_page_not_an_error(client, event, page):
    reg = register(event, email="ana@example.org")
    wrong_purpose = tokens.make(reg, tokens.MANAGE if page == "confirm" else tokens.CONFIRM)
    good = tokens.make(reg, tokens.CONFIRM if page == "confirm" else tokens.MANAGE)
    altered = good[:-2] + ("xy" if good[-2:] != "xy" else "yz")
    for token in (FORGED, wrong_purpose, altered, "nonsense", "a:b:c"):
        for response in (client.get(f"/en/events/{page}/{token}/"), client.post(f"/en/events/{page}/{token}/")):
            assert response.status_code == 400, token
            assert "This link is not valid." in body(response)
    # A link of a registration whose secret changed, or of a registration that is gone.
    Registration.objects.filter(pk=reg.pk).update(secret="retired")
    response = client.get(f"/en/events/{page}/{good}/")
    assert response.status_code == 404 and "no longer valid" in body(response)
    purpose = tokens.CONFIRM if page == "confirm" else tokens.MANAGE
    for payload in ([999999, "x"], ["1", "x"], {"a": 1, "b": 2}, 5):
        response = client.get(f"/en/events/{page}/{signing.dumps(payload, salt=purpose)}/")
        assert response.status_code in (400, 404), payload
    reg.refresh_from_db()
    assert reg.status == Status.PENDING


def test_an_expired_confirmation_link_says_so(client, event, settings):
    reg = register(event, email="ana@example.org")
    link = f"/en/events/confirm/{tokens.make(reg, tokens.CONFIRM)}/"
    settings.YULAN_EVENT_CONFIRM_HOURS = 0
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 400
        assert "This confirmation link has expired. Please register again." in body(response)
    reg.refresh_from_db()
    assert reg.status == Status.PENDING


def test_posts_without_the_csrf_token_are_refused(event):
    client = Client(enforce_csrf_checks=True)
    data = {"name": "Ana", "email": "ana@example.org", "party_size": "1"}
    assert client.post("/en/events/tea-afternoon/register/", data).status_code == 403
    assert not Registration.objects.exists()
    reg = register(event, email="ana@example.org")
    link = f"/en/events/confirm/{tokens.make(reg, tokens.CONFIRM)}/"
    page = client.get(link)
    assert page.status_code == 200
    assert client.post(link).status_code == 403
    reg.refresh_from_db()
    assert reg.status == Status.PENDING
    assert client.post(manage_path(reg), {"action": "cancel"}).status_code == 403
    reg.refresh_from_db()
    assert reg.status == Status.PENDING
    # With the form's token, it works.
    response = client.post(link, {"csrfmiddlewaretoken": page.cookies["csrftoken"].value})
    assert response.status_code == 302
    reg.refresh_from_db()
    assert reg.status == Status.CONFIRMED


# --- registration with an account --------------------------------------------------------------------


def test_an_account_is_confirmed_at_once_and_sees_its_ticket(client, event, settings):
    resident = account("Rosa Resident")
    client.force_login(resident)
    form = client.get("/en/events/tea-afternoon/register/")
    assert form.status_code == 200
    assert 'name="email"' not in body(form)
    response = client.post("/en/events/tea-afternoon/register/", {"party_size": "3"})
    assert response.status_code == 302
    reg = Registration.objects.get()
    assert registration_at(response["Location"]) == reg
    assert (reg.status, reg.user, reg.email, reg.name, reg.party_size) == (
        Status.CONFIRMED,
        resident,
        resident.email,
        "Rosa Resident",
        3,
    )
    event.refresh_from_db()
    assert event.places_taken == 3
    ticket = client.get(response["Location"])
    html = body(ticket)
    assert reg.display_code in html
    assert '<svg role="img" class="qr"' in html
    assert f"QR code for {reg.display_code}" in html
    # The event page knows.
    assert "You are registered" in body(client.get("/en/events/tea-afternoon/"))

    # Registering again leads to the same registration, with a note, and no second row.
    for again in (
        client.get("/en/events/tea-afternoon/register/"),
        client.post("/en/events/tea-afternoon/register/", {"party_size": "1"}),
    ):
        assert again.status_code == 302
        assert registration_at(again["Location"]) == reg
    followed = client.get(response["Location"])
    assert "You are already registered for this event." in body(followed)
    assert Registration.objects.count() == 1


def test_cancelling_frees_the_place_and_the_first_in_line_accepts_the_offer(client, coordinator, community):
    event = make_event(coordinator, "tea-afternoon", community=community, capacity=2)
    first, second, third = account("First"), account("Second"), account("Third")
    client.force_login(first)
    client.post("/en/events/tea-afternoon/register/", {"party_size": "2"})
    holder = Registration.objects.get(user=first)
    waiting = [register(event, second, party=2), register(event, third)]
    assert [r.status for r in waiting] == [Status.WAITLISTED, Status.WAITLISTED]
    page = client.get(manage_path(waiting[1]))
    assert "number 2 in line" in body(page)

    response = client.post(manage_path(holder), {"action": "cancel"})
    assert response.status_code == 302
    assert "Your registration is cancelled." in body(client.get(response["Location"]))
    holder.refresh_from_db()
    assert holder.status == Status.CANCELLED
    for reg in waiting:
        reg.refresh_from_db()
    assert [r.status for r in waiting] == [Status.OFFERED, Status.WAITLISTED]
    event.refresh_from_db()
    assert event.places_taken == 2  # held for the offer

    client.force_login(second)
    offer = client.get("/en/events/my/")
    assert "Place offered" in body(offer)
    offer_page = client.get(manage_path(waiting[0]))
    assert "Accept the place" in body(offer_page)
    assert "<svg" in body(offer_page)  # an offered place already has its ticket
    accepted = client.post(manage_path(waiting[0]), {"action": "accept"})
    assert accepted.status_code == 302
    page = client.get(accepted["Location"])
    assert "The place is yours." in body(page)
    waiting[0].refresh_from_db()
    assert waiting[0].status == Status.CONFIRMED
    # Accepting again changes nothing; an unknown action is refused with a message.
    client.post(manage_path(waiting[0]), {"action": "accept"})
    nonsense = client.post(manage_path(waiting[0]), {"action": "explode"}, follow=True)
    assert "Choose what to do." in body(nonsense)
    # Cancelling twice says so.
    again = client.post(manage_path(holder), {"action": "cancel"}, follow=True)
    assert "This registration is already cancelled." in body(again)


# --- staff: the event form -------------------------------------------------------------------------


def test_a_coordinator_creates_an_event_with_times_in_its_own_zone(client, coordinator, community):
    client.force_login(coordinator)
    assert client.get("/en/staff/events/new/").status_code == 200
    response = client.post("/en/staff/events/new/", event_form(community))
    assert response.status_code == 302
    event = Event.objects.get(slug="spring-fair")
    assert response["Location"] == f"/en/staff/events/{event.pk}/"
    assert event.time_zone == "Europe/Paris"
    assert event.starts_at == datetime.datetime(2030, 3, 1, 17, 0, tzinfo=datetime.UTC)
    assert event.ends_at == datetime.datetime(2030, 3, 1, 19, 0, tzinfo=datetime.UTC)
    assert event.local_start.hour == 18
    assert (event.status, event.community, event.created_by) == (Event.Status.DRAFT, community, coordinator)
    assert event.language_list == ["en", "fr"]
    page = client.get(response["Location"])
    assert "The event is saved as a draft." in body(page)
    # The edit form shows the times as typed, in the event's zone.
    edit = body(client.get(f"/en/staff/events/{event.pk}/edit/"))
    assert 'value="2030-03-01T18:00"' in edit and 'value="Europe/Paris"' in edit
    # In summer Paris is two hours ahead of UTC.
    response = client.post(
        f"/en/staff/events/{event.pk}/edit/",
        edit_form(event, starts_at="2030-07-01T18:00", ends_at="2030-07-01T21:30"),
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.starts_at == datetime.datetime(2030, 7, 1, 16, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_at": "2030-03-01T17:00"}, "ends_at", "The event must end after it starts."),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Unknown time zone “Mars/Olympus”."),
        ({"time_zone": "Paris"}, "time_zone", "Unknown time zone “Paris”."),
        ({"starts_at": "next tuesday"}, "starts_at", "Enter a date and time like 2026-12-24 18:30."),
        ({"slug": "Spring Fair!"}, "slug", "lower-case letters"),
        ({"online_url": ""}, "place", "Choose a venue from the directory or give an online link."),
        ({"capacity": "0"}, "capacity", "greater than or equal to 1"),
        ({"registration_closes_at": "2030-03-02T10:00"}, "registration_closes_at", "before the event ends"),
    ],
)
def test_bad_event_input_is_shown_beside_its_field_and_nothing_is_saved(
    client, coordinator, community, changes, field, message
):
    client.force_login(coordinator)
    response = client.post("/en/staff/events/new/", event_form(community, **changes))
    assert response.status_code == 400
    html = body(response)
    box = field_box(html, field)
    assert 'class="field-error" role="alert"' in box and message in box, box
    # What was typed stays.
    assert 'value="Spring festival fair"' in html
    assert "&lt;p&gt;Stalls and music.&lt;/p&gt;</textarea>" in html
    for key, value in changes.items():
        if value:
            assert f'value="{value}"' in html, key
    assert not Event.objects.exists()


def test_the_title_is_required_in_some_language(client, coordinator, community):
    client.force_login(coordinator)
    response = client.post("/en/staff/events/new/", event_form(community, title__en=""))
    assert response.status_code == 400
    group = body(response).split('id="group-title"')[1].split("</fieldset>")[0]
    assert "This field is required in at least one language." in group
    assert not Event.objects.exists()


def test_a_coordinator_may_not_make_a_city_wide_event_or_one_for_another_community(
    client, coordinator, community, other_community
):
    client.force_login(coordinator)
    city = client.post("/en/staff/events/new/", event_form(None))
    assert city.status_code in (400, 403)
    assert "Only editors may run city-wide events." in body(city)
    other = client.post("/en/staff/events/new/", event_form(other_community))
    assert other.status_code == 400
    assert "Select a valid choice." in field_box(body(other), "community")
    assert not Event.objects.exists()


def test_the_capacity_cannot_be_set_below_the_places_taken(client, event, coordinator):
    for _ in range(3):
        register(event, account())
    client.force_login(coordinator)
    response = client.post(f"/en/staff/events/{event.pk}/edit/", edit_form(event, capacity="2"))
    assert response.status_code == 400
    html = body(response)
    assert "3 places are already taken: the capacity cannot be lower." in field_box(html, "capacity")
    assert 'name="capacity" value="2"' in html
    event.refresh_from_db()
    assert (event.capacity, event.places_taken) == (10, 3)


def test_moving_a_published_event_tells_its_registrants(client, event, coordinator):
    regs = [register(event, account()) for _ in range(2)]
    register(event, email="pending@example.org")
    client.force_login(coordinator)
    # Saving without a change tells nobody.
    assert client.post(f"/en/staff/events/{event.pk}/edit/", edit_form(event)).status_code == 302
    assert not OutgoingMail.objects.filter(context__notice="moved").exists()
    event.refresh_from_db()
    assert event.sequence == 0

    later = event.local_start + datetime.timedelta(days=1)
    response = client.post(
        f"/en/staff/events/{event.pk}/edit/",
        edit_form(
            event,
            starts_at=later.strftime("%Y-%m-%dT%H:%M"),
            ends_at=(later + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        ),
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.sequence == 1
    assert event.local_start == later
    moved = OutgoingMail.objects.filter(kind="event", context__notice="moved")
    assert sorted(moved.values_list("to_email", flat=True)) == sorted(r.email for r in regs)
    # The notices say what changed.
    sent = [m for m in deliver() if m.subject.startswith("Changed:")]
    assert len(sent) == 2


# --- staff: who sees which event -------------------------------------------------------------------


def test_a_coordinator_of_another_community_cannot_reach_the_event(client, event, other_coordinator):
    reg = register(event, account())
    client.force_login(other_coordinator)
    for url in (
        f"/en/staff/events/{event.pk}/",
        f"/en/staff/events/{event.pk}/edit/",
        f"/en/staff/events/{event.pk}/checkin/",
        f"/en/staff/events/{event.pk}/registrations.csv",
        f"/en/staff/events/checkin/{reg.code}/",
    ):
        assert client.get(url).status_code == 403, url
    for url, data in (
        (f"/en/staff/registrations/{reg.pk}/cancel/", {}),
        (f"/en/staff/events/{event.pk}/state/", {"action": "cancel"}),
        (f"/en/staff/events/{event.pk}/edit/", edit_form(event, capacity="20")),
        (f"/en/staff/events/{event.pk}/checkin/", {"code": reg.code}),
        (f"/en/staff/events/{event.pk}/", {"form": "point", "point-text": "x", "point-language": "en"}),
    ):
        assert client.post(url, data).status_code == 403, url
    reg.refresh_from_db()
    event.refresh_from_db()
    assert (reg.status, reg.checked_in_at) == (Status.CONFIRMED, None)
    assert (event.status, event.capacity) == (Event.Status.PUBLISHED, 10)
    listing = client.get("/en/staff/events/")
    assert listing.status_code == 200 and list(listing.context["page"]) == []


def test_an_editor_reaches_every_event_and_others_are_turned_away(client, event, editor, resident):
    reg = register(event, account())
    urls = (
        f"/en/staff/events/{event.pk}/",
        f"/en/staff/events/{event.pk}/edit/",
        f"/en/staff/events/{event.pk}/checkin/",
        f"/en/staff/events/{event.pk}/registrations.csv",
        f"/en/staff/events/checkin/{reg.code}/",
        "/en/staff/events/",
        "/en/staff/events/new/",
        "/en/staff/events/attendance/",
    )
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/en/accounts/login/?next="), url
    client.force_login(resident)
    for url in urls:
        assert client.get(url).status_code == 403, url
    client.force_login(editor)
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert [e.slug for e in client.get("/en/staff/events/").context["page"]] == ["tea-afternoon"]
    response = client.post(f"/en/staff/registrations/{reg.pk}/cancel/")
    assert response.status_code == 302
    assert "The registration is cancelled" in body(client.get(response["Location"]))
    reg.refresh_from_db()
    assert reg.status == Status.CANCELLED and reg.cancelled_by_staff


def test_unknown_staff_objects_are_not_found(client, editor):
    client.force_login(editor)
    for url in ("/en/staff/events/99999/", "/en/staff/events/99999/edit/", "/en/staff/events/99999/checkin/"):
        assert client.get(url).status_code == 404, url
    assert client.post("/en/staff/registrations/99999/cancel/").status_code == 404
    response = client.get("/en/staff/events/checkin/ZZZZZZZZZZ/")
    assert response.status_code == 404 and "No registration has this code." in body(response)


def test_changing_the_state_of_an_unknown_event_is_not_found(client, editor):
    client.force_login(editor)
    assert client.post("/en/staff/events/99999/state/", {"action": "publish"}).status_code == 404


def test_publishing_and_cancelling_from_the_staff_page(client, coordinator, community):
    event = make_event(coordinator, "tea-afternoon", community=community, publish=False)
    client.force_login(coordinator)
    response = client.post(f"/en/staff/events/{event.pk}/state/", {"action": "publish"})
    assert response.status_code == 302
    assert "The event is published." in body(client.get(response["Location"]))
    reg = register(event, account())
    again = client.post(f"/en/staff/events/{event.pk}/state/", {"action": "publish"}, follow=True)
    assert "Only a draft can be published." in body(again)
    client.post(f"/en/staff/events/{event.pk}/state/", {"action": "cancel"})
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    assert OutgoingMail.objects.filter(to_email=reg.email, context__notice="event_cancelled").exists()
    # A cancelled event can no longer be edited.
    edit = client.post(f"/en/staff/events/{event.pk}/edit/", edit_form(event, capacity="20"))
    assert edit.status_code == 400 and "can no longer be changed" in body(edit)


# --- staff: the CSV export -----------------------------------------------------------------------------


def test_the_csv_export_has_a_row_per_registration_and_the_answers(client, event, coordinator, questions):
    diet, size = questions
    first = register(event, email="ana@example.org", name="Ana", answers={str(diet.pk): "Vegan", str(size.pk): "1"})
    services.registration_confirm_address(registration_id=first.pk)
    register(
        event,
        email="mallory@example.org",
        name='=HYPERLINK("http://evil.example/","Click")',
        answers={str(diet.pk): "@SUM(1+1)"},
    )
    register(event, account("Zhang Wei 张伟"), answers={str(diet.pk): "-none-"})
    client.force_login(coordinator)
    response = client.get(f"/en/staff/events/{event.pk}/registrations.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="registrations-tea-afternoon.csv"' in response["Content-Disposition"]
    raw, rows = csv_rows(response)
    assert raw.startswith(b"\xef\xbb\xbf")
    header, *lines = rows
    assert header == [
        "Code",
        "Status",
        "Name",
        "E-mail",
        "Language",
        "Places",
        "Waiting list position",
        "Registered",
        "Checked in",
        "Dietary needs",
        "Cup size",
    ]
    assert len(lines) == 3
    by_email = {line[3]: dict(zip(header, line, strict=True)) for line in lines}
    ana = by_email["ana@example.org"]
    assert (ana["Status"], ana["Dietary needs"], ana["Cup size"]) == ("Confirmed", "Vegan", "Large")
    assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", ana["Code"])
    mallory = by_email["mallory@example.org"]
    assert mallory["Name"].startswith("'=HYPERLINK(")
    assert mallory["Dietary needs"] == "'@SUM(1+1)"
    assert mallory["Status"] == "Waiting for e-mail confirmation"
    zhang = next(line for email, line in by_email.items() if email.startswith("resident"))
    assert zhang["Name"] == "Zhang Wei 张伟" and zhang["Dietary needs"] == "'-none-"


# --- staff: check-in at the door -----------------------------------------------------------------------


def test_check_in_by_code_once(client, event, coordinator, community):
    reg = register(event, account("Rosa"), party=2)
    client.force_login(coordinator)
    url = f"/en/staff/events/{event.pk}/checkin/"
    page = client.get(url)
    assert page.status_code == 200 and "0 of 1 registrations checked in" in body(page)

    first = client.post(url, {"code": reg.display_code.lower()})
    assert first.status_code == 200
    html = body(first)
    assert "<strong>Checked in</strong>: Rosa · 2 places" in html
    assert "1 of 1 registrations checked in (2 of 2 places)." in html
    reg.refresh_from_db()
    assert reg.checked_in_at is not None and reg.checked_in_by == coordinator

    second = client.post(url, {"code": reg.code})
    assert second.status_code == 200
    assert "<strong>Already checked in</strong>: Rosa" in body(second)

    # A scanned link works too.
    third = client.post(url, {"code": f"http://127.0.0.1:8000/checkin/{reg.code}"})
    assert "Already checked in" in body(third)

    # A checked-in registration can no longer be cancelled.
    cancel = client.post(f"/en/staff/registrations/{reg.pk}/cancel/", follow=True)
    assert "This registration was already checked in." in body(cancel)


def test_check_in_refuses_unknown_codes_other_events_and_places_not_held(client, coordinator, community):
    event = make_event(coordinator, "tea-afternoon", community=community, capacity=1)
    other = make_event(coordinator, "other-tea", community=community, starts_at=in_days(11))
    holder = register(event, account("Holder"))
    waiting = register(event, account("Waiting"))
    pending = register(event, email="pending@example.org", name="Pending")
    elsewhere = register(other, account("Elsewhere"))
    gone = register(other, account("Gone"))
    client.force_login(coordinator)
    url = f"/en/staff/events/{event.pk}/checkin/"
    cases = [
        ("ZZZZZ-ZZZZZ", "No registration has this code."),
        ("!!!", "No registration has this code."),
        (elsewhere.code, "This code is for another event."),
        (waiting.code, "This registration has no confirmed place."),
        (pending.code, "This registration has no confirmed place."),
    ]
    services.registration_cancel(registration_id=gone.pk)
    for code, message in cases:
        response = client.post(url, {"code": code})
        assert response.status_code == 422, code
        assert message in body(response), code
    empty = client.post(url, {"code": ""})
    assert empty.status_code == 400 and "This field is required." in body(empty)
    other_url = f"/en/staff/events/{other.pk}/checkin/"
    response = client.post(other_url, {"code": gone.code})
    assert response.status_code == 422 and "This registration was cancelled." in body(response)
    for reg in (waiting, pending, elsewhere, gone):
        reg.refresh_from_db()
        assert reg.checked_in_at is None
    assert client.post(url, {"code": holder.code}).status_code == 200


def test_a_scanned_checkin_link_leads_to_the_staff_page_for_that_code(client, event, coordinator):
    reg = register(event, account("Rosa"))
    response = client.get(f"/checkin/{reg.code}")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/staff/events/checkin/{reg.code}/")
    lower = client.get(f"/checkin/{reg.display_code.lower()}")
    assert lower["Location"] == response["Location"]
    # Not signed in: on to the sign-in page first.
    assert "/accounts/login/" in client.get(response["Location"])["Location"]
    client.force_login(coordinator)
    page = client.get(f"/en/staff/events/checkin/{reg.code}/")
    assert page.status_code == 200
    html = body(page)
    assert "Rosa" in html and reg.display_code in html
    assert f'action="/en/staff/events/{event.pk}/checkin/"' in html
    done = client.post(f"/en/staff/events/{event.pk}/checkin/", {"code": reg.code})
    assert "Checked in" in body(done)
    assert "Already checked in" in body(client.get(f"/en/staff/events/checkin/{reg.code}/"))


@pytest.mark.parametrize("code", ["---", "%E2%9C%93"])
def test_a_checkin_link_without_a_code_is_not_found(client, code):
    assert client.get(f"/checkin/{code}").status_code == 404


# --- staff: attendance -----------------------------------------------------------------------------


def test_attendance_counts_per_event_and_community(client, event, coordinator, editor, other_community):
    other = make_event(editor, "korean-seminar", community=other_community, starts_at=in_days(11))
    city = make_event(editor, "city-forum", starts_at=in_days(12), capacity=None)
    came = register(event, account(), party=3)
    register(event, account(), party=2)
    services.checkin(actor=coordinator, event_id=event.pk, code=came.code)
    register(other, account())
    seen = register(city, account())
    services.checkin(actor=editor, event_id=city.pk, code=seen.code)
    make_event(editor, "draft-plans", publish=False, starts_at=in_days(10))
    make_event(editor, "too-late", starts_at=in_days(40))
    today = timezone.localdate()
    query = f"?date_from={today}&date_to={today + datetime.timedelta(days=20)}"

    client.force_login(coordinator)
    response = client.get(f"/en/staff/events/attendance/{query}")
    assert response.status_code == 200
    rows = [(e.slug, e.registered_places, e.attended, e.attended_places) for e in response.context["events"]]
    assert rows == [("tea-afternoon", 5, 1, 3)]
    assert [
        (r["community"], r["events"], r["registered_places"], r["attended_places"])
        for r in response.context["communities"]
    ] == [(event.community, 1, 5, 3)]

    client.force_login(editor)
    response = client.get(f"/en/staff/events/attendance/{query}")
    rows = [(e.slug, e.registered_places, e.attended_places) for e in response.context["events"]]
    assert rows == [("tea-afternoon", 5, 3), ("korean-seminar", 1, 0), ("city-forum", 1, 1)]
    by_community = {
        r["community"]: (r["events"], r["registered_places"], r["attended_places"])
        for r in response.context["communities"]
    }
    assert by_community == {event.community: (1, 5, 3), other_community: (1, 1, 0), None: (1, 1, 1)}
    assert "Whole city" in body(response)
    # The default period is this month so far.
    assert client.get("/en/staff/events/attendance/").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "date_from=0001-01-01&date_to=2030-03-01",
        "date_from=2030-03-01&date_to=9999-12-31",
    ],
)
def test_an_attendance_period_at_the_ends_of_the_calendar_never_answers_500(client, coordinator, query):
    client.force_login(coordinator)
    assert client.get(f"/en/staff/events/attendance/?{query}").status_code in (200, 400)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=2030-03-10&date_to=2030-03-01", "The end of the period must not be before its start."),
        ("date_from=2030-03-10&date_to=someday", "Enter a valid date."),
        ("date_from=&date_to=2030-03-01", "This field is required."),
    ],
)
def test_a_bad_attendance_period_answers_400_with_a_message(client, coordinator, query, message):
    client.force_login(coordinator)
    response = client.get(f"/en/staff/events/attendance/?{query}")
    assert response.status_code == 400
    assert message in body(response)
    assert "By community" not in body(response)


# --- markup ------------------------------------------------------------------------------------


def described_by_missing(html: str) -> list[str]:
    """The ids that an `aria-describedby` names but no element has."""
    ids = {i for value in re.findall(r'aria-describedby="([^"]*)"', html) for i in value.split()}
    return sorted(i for i in ids if f'id="{i}"' not in html)


@pytest.mark.parametrize(
    "page",
    [
        "register",
        "register-errors",
        "event-form",
        "event-form-errors",
        "checkin",
    ],
)
def test_every_field_description_exists(client, event, coordinator, questions, page):
    client.force_login(coordinator)
    response = {
        "register": lambda: client.get("/en/events/tea-afternoon/register/"),
        "register-errors": lambda: client.post("/en/events/tea-afternoon/register/", {"party_size": "x"}),
        "event-form": lambda: client.get(f"/en/staff/events/{event.pk}/edit/"),
        "event-form-errors": lambda: client.post("/en/staff/events/new/", event_form(time_zone="x", capacity="0")),
        "checkin": lambda: client.get(f"/en/staff/events/{event.pk}/checkin/"),
    }[page]()
    html = body(response)
    assert "aria-describedby" in html
    assert described_by_missing(html) == []


def test_a_visitors_event_list_is_cached_only_briefly(client, editor, monkeypatch):
    """Places left change without an edit, so the list is kept for seconds, not minutes."""
    import time as real_time

    from django.core.cache.backends import locmem

    make_event(editor, capacity=10)
    assert not client.get("/en/events/").has_header("X-Page-Cache")
    assert client.get("/en/events/")["X-Page-Cache"] == "hit"
    later = real_time.time() + settings.YULAN_EVENT_PAGE_CACHE_SECONDS + 1
    monkeypatch.setattr(locmem.time, "time", lambda: later)
    assert not client.get("/en/events/").has_header("X-Page-Cache")
