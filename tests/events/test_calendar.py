"""iCalendar files and feeds of events, and the Schema.org JSON-LD of an event page."""

import datetime
import json
import re
import zoneinfo
from typing import Any

import pytest
from django.utils import timezone
from icalendar import Calendar

from yulan.core.models import Community, District
from yulan.events.calendar import calendar_bytes, event_bytes, event_uid, plain_text
from yulan.events.jsonld import event_jsonld, jsonld_script
from yulan.events.models import Event
from yulan.guide.models import Place

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db


def make_place(**values: Any) -> Place:
    fields: dict[str, Any] = {
        "slug": "hongqiao-centre",
        "kind": Place.Kind.COMMUNITY_CENTRE,
        "name": {"en": "Hongqiao Centre", "zh-hans": "虹桥中心"},
        "address": {"en": "1 Hongqiao Road, Changning", "zh-hans": "长宁区虹桥路1号"},
        "latitude": 31.2,
        "longitude": 121.4,
    }
    fields.update(values)
    return Place.objects.create(**fields)


def make_community() -> Community:
    district = District.objects.create(slug="changning", name={"en": "Changning District"})
    return Community.objects.create(
        slug="hongqiao", name={"en": "Hongqiao Subdistrict", "zh-hans": "虹桥街道"}, district=district
    )


def make_event(slug: str = "tea-ceremony", **values: Any) -> Event:
    tz = zoneinfo.ZoneInfo(values.get("time_zone", "Asia/Shanghai"))
    start = datetime.datetime(2030, 6, 15, 14, 0, tzinfo=tz)
    fields: dict[str, Any] = {
        "slug": slug,
        "kind": Event.Kind.SEMINAR,
        "title": {"en": "Tea ceremony", "zh-hans": "茶道"},
        "description": {"en": "<p>Learn about tea.</p>"},
        "time_zone": "Asia/Shanghai",
        "starts_at": start,
        "ends_at": start + datetime.timedelta(hours=2),
        "status": Event.Status.PUBLISHED,
        "languages": ",en,zh-hans,",
    }
    fields.update(values)
    return Event.objects.create(**fields)


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def vevents(data: bytes) -> list[Any]:
    return parse(data).walk("VEVENT")


def raw_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def script_json(script: str) -> Any:
    match = re.fullmatch(r'<script type="application/ld\+json">(.*)</script>', script, re.DOTALL)
    assert match is not None
    return json.loads(match.group(1))


# --- iCalendar ---------------------------------------------------------------------------------


def test_single_event_file_parses_with_calendar_properties() -> None:
    event = make_event(place=make_place())
    data = event_bytes(event, language="en")
    calendar = parse(data)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//Yulan//Events//EN"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert b"X-WR-CALNAME:Tea ceremony\r\n" in data
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Tea ceremony"
    assert str(vevent["URL"]).endswith("/en/events/tea-ceremony/")
    assert str(vevent["CATEGORIES"].cats[0]) == "Seminar"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert vevent["DTSTAMP"].dt.tzinfo is not None
    assert vevent.decoded("LAST-MODIFIED") == event.updated_at.replace(microsecond=0)


def test_uid_is_stable_across_renders_and_files() -> None:
    event = make_event()
    other = make_event("dumplings", title={"en": "Dumplings"})
    first = vevents(event_bytes(event, language="en"))[0]["UID"]
    second = vevents(event_bytes(event, language="zh-hans"))[0]["UID"]
    feed = {
        str(component["SUMMARY"]): str(component["UID"])
        for component in vevents(calendar_bytes(Event.objects.all(), name="All", language="en"))
    }
    assert str(first) == str(second) == event_uid(event)
    assert feed["Tea ceremony"] == str(first)
    assert len(set(feed.values())) == 2
    assert event_uid(other) != event_uid(event)
    assert re.fullmatch(rf"event-{event.pk}@[\w.-]+", str(first))


def test_times_keep_the_event_time_zone_with_one_vtimezone_per_zone() -> None:
    paris_start = datetime.datetime(2030, 4, 5, 19, 30, tzinfo=PARIS)
    make_event(
        "paris-evening",
        time_zone="Europe/Paris",
        starts_at=paris_start,
        ends_at=paris_start + datetime.timedelta(hours=3),
    )
    make_event("shanghai-afternoon")
    make_event(
        "shanghai-again",
        starts_at=datetime.datetime(2030, 7, 1, 9, tzinfo=SHANGHAI),
        ends_at=datetime.datetime(2030, 7, 1, 11, tzinfo=SHANGHAI),
    )
    data = calendar_bytes(Event.objects.all(), name="All", language="en")
    calendar = parse(data)
    assert sorted(tz.tz_name for tz in calendar.timezones) == ["Asia/Shanghai", "Europe/Paris"]
    assert calendar.get_missing_tzids() == set()
    assert b"DTSTART;TZID=Europe/Paris:20300405T193000\r\n" in data
    assert b"DTEND;TZID=Europe/Paris:20300405T223000\r\n" in data
    assert b"DTSTART;TZID=Asia/Shanghai:20300615T140000\r\n" in data
    # VTIMEZONEs come before the events that use them.
    assert data.index(b"BEGIN:VTIMEZONE") < data.index(b"BEGIN:VEVENT")
    starts = {v.decoded("DTSTART") for v in calendar.walk("VEVENT")}
    assert paris_start in starts
    paris = next(v for v in calendar.walk("VEVENT") if v["DTSTART"].params.get("TZID") == "Europe/Paris")
    assert paris.decoded("DTSTART").utcoffset() == datetime.timedelta(hours=2)  # summer time from 31 March 2030
    assert paris.decoded("DTSTART").astimezone(datetime.UTC) == paris_start.astimezone(datetime.UTC)


def test_cancelled_event_and_sequence() -> None:
    event = make_event(status=Event.Status.CANCELLED, sequence=3, cancelled_at=timezone.now())
    [vevent] = vevents(event_bytes(event, language="en"))
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert vevent["SEQUENCE"] == 3
    event.sequence = 4
    event.status = Event.Status.PUBLISHED
    [vevent] = vevents(event_bytes(event, language="en"))
    assert vevent["SEQUENCE"] == 4
    assert str(vevent["STATUS"]) == "CONFIRMED"


def test_summary_in_the_language_asked_for_else_the_source_language() -> None:
    event = make_event(title={"fr": "Cérémonie du thé", "zh-hans": "茶道"}, source_language="fr")
    assert str(vevents(event_bytes(event, language="zh-hans"))[0]["SUMMARY"]) == "茶道"
    assert str(vevents(event_bytes(event, language="fr"))[0]["SUMMARY"]) == "Cérémonie du thé"
    # No Japanese or English title: the event's own language, not whichever comes first.
    summary = vevents(event_bytes(event, language="ja"))[0]["SUMMARY"]
    assert str(summary) == "Cérémonie du thé"
    assert summary.params["LANGUAGE"] == "fr"


def test_text_with_commas_semicolons_newlines_and_chinese_round_trips() -> None:
    title = "Tea, cakes; talk \\ more — 中文活动，欢迎！"
    note = "Room 3; 2nd floor, east wing"
    place = make_place(name={"en": "Centre; Hall, A"}, address={"en": "1 Road, Changning; Shanghai"})
    event = make_event(
        title={"en": title},
        description={"en": "<p>Bring: tea, cake; 中文</p><p>Second line</p><ul><li>one</li><li>two</li></ul>"},
        venue_note={"en": note},
        place=place,
        contact_name='Li, Wei "Tea" 李',
        contact_email="li.wei@example.org",
    )
    data = event_bytes(event, language="en")
    [vevent] = vevents(data)
    assert str(vevent["SUMMARY"]) == title
    assert b"SUMMARY;LANGUAGE=en:Tea\\, cakes\\; talk \\\\ more" in data
    assert str(vevent["LOCATION"]) == f"Centre; Hall, A, 1 Road, Changning; Shanghai, {note}"
    description = str(vevent["DESCRIPTION"])
    assert description.startswith("Bring: tea, cake; 中文\n\nSecond line\n\n- one\n- two\n\n")
    assert description.endswith("/en/events/tea-ceremony/")
    assert b"\\n" in data and b"\\," in data and b"\\;" in data
    assert vevent["GEO"].latitude == 31.2 and vevent["GEO"].longitude == 121.4
    organizer = vevent["ORGANIZER"]
    assert str(organizer) == "mailto:li.wei@example.org"
    assert organizer.params["CN"] == 'Li, Wei "Tea" 李'
    # The calendar's name is escaped too.
    named = calendar_bytes([event], name="Yulan: a, b; c\n中文", language="en")
    assert "X-WR-CALNAME:Yulan: a\\, b\\; c\\n中文\r\n".encode() in named.replace(b"\r\n ", b"")


def test_lines_are_crlf_and_folded_at_75_octets() -> None:
    long_title = "中文活动，欢迎大家参加。" * 12 + " and a long English tail, with commas; and semicolons" * 3
    make_event(title={"en": long_title}, description={"en": "<p>" + "Долгое описание 长描述 " * 60 + "</p>"})
    make_event(
        "paris",
        time_zone="Europe/Paris",
        title={"en": "Paris"},
        starts_at=datetime.datetime(2030, 11, 2, 10, tzinfo=PARIS),
        ends_at=datetime.datetime(2030, 11, 2, 12, tzinfo=PARIS),
    )
    data = calendar_bytes(Event.objects.all(), name=long_title, language="en")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    lines = raw_lines(data)
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # no multi-byte character cut in two
    assert any(line.startswith(b" ") for line in lines)
    [first, _paris] = sorted(vevents(data), key=lambda v: v.decoded("DTSTART"))
    assert str(first["SUMMARY"]) == long_title


def test_online_event_location_is_the_link() -> None:
    event = make_event(online_url="https://meet.example.org/tea?x=1,2")
    [vevent] = vevents(event_bytes(event, language="en"))
    assert str(vevent["LOCATION"]) == "https://meet.example.org/tea?x=1,2"
    assert "GEO" not in vevent
    assert "ORGANIZER" not in vevent


def test_feed_reads_events_and_venues_in_one_query(django_assert_num_queries: Any) -> None:
    place = make_place()
    for n in range(5):
        make_event(f"event-{n}", place=place, online_url="https://meet.example.org/x" if n % 2 else "")
    with django_assert_num_queries(1):
        data = calendar_bytes(Event.objects.all(), name="All", language="en")
    assert len(vevents(data)) == 5


def test_empty_feed_is_a_valid_calendar() -> None:
    calendar = parse(calendar_bytes(Event.objects.none(), name="Nothing yet", language="en"))
    assert calendar.walk("VEVENT") == []
    assert calendar.timezones == []


def test_plain_text_of_stored_html() -> None:
    assert plain_text("<p>A &amp; B &lt;x&gt;</p><p>two<br>three</p>") == "A & B <x>\n\ntwo\nthree"
    assert plain_text("<h2>Title</h2><ol><li>x</li></ol>") == "Title\n\n- x"
    assert plain_text("") == ""


# --- JSON-LD -----------------------------------------------------------------------------------


def test_jsonld_for_a_venue_event() -> None:
    community = make_community()
    place = make_place()
    opens = datetime.datetime(2030, 6, 1, 9, tzinfo=SHANGHAI)
    event = make_event(
        place=place,
        community=community,
        capacity=40,
        places_taken=15,
        registration_opens_at=opens,
        venue_note={"en": "Room 3"},
    )
    data = script_json(jsonld_script(event_jsonld(event, language="zh-hans")))
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Event"
    assert data["name"] == "茶道"
    assert data["description"] == "Learn about tea."
    assert data["startDate"] == "2030-06-15T14:00:00+08:00"
    assert data["endDate"] == "2030-06-15T16:00:00+08:00"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert data["location"]["@type"] == "Place"
    assert data["location"]["name"] == "虹桥中心, Room 3"
    assert data["location"]["address"]["streetAddress"] == "长宁区虹桥路1号"
    assert data["location"]["geo"] == {"@type": "GeoCoordinates", "latitude": 31.2, "longitude": 121.4}
    assert data["inLanguage"] == ["en", "zh-hans"]
    assert data["organizer"]["@type"] == "Organization"
    assert data["organizer"]["name"] == "虹桥街道"
    assert data["maximumAttendeeCapacity"] == 40
    assert data["remainingAttendeeCapacity"] == 25
    offer = data["offers"]
    assert offer["@type"] == "Offer"
    assert offer["price"] == 0
    assert offer["priceCurrency"] == "CNY"
    assert offer["availability"] == "https://schema.org/InStock"
    assert offer["validFrom"] == "2030-06-01T09:00:00+08:00"
    assert data["url"].endswith("/zh-hans/events/tea-ceremony/")
    assert offer["url"] == data["url"]


def test_jsonld_times_in_the_event_zone_and_status_changes(settings: Any) -> None:
    start = datetime.datetime(2030, 1, 10, 18, tzinfo=PARIS)
    event = make_event(
        time_zone="Europe/Paris", starts_at=start, ends_at=start + datetime.timedelta(hours=1), sequence=2
    )
    data = event_jsonld(event, language="en")
    assert data["startDate"] == "2030-01-10T18:00:00+01:00"
    assert data["eventStatus"] == "https://schema.org/EventRescheduled"
    assert data["organizer"]["name"] == settings.YULAN_SITE_NAME
    assert data["organizer"]["url"] == settings.SITE_URL
    assert "maximumAttendeeCapacity" not in data
    assert data["offers"]["validFrom"] == event.created_at.astimezone(PARIS).isoformat(timespec="seconds")

    event.status = Event.Status.CANCELLED
    data = event_jsonld(event, language="en")
    assert data["eventStatus"] == "https://schema.org/EventCancelled"
    assert data["offers"]["availability"] == "https://schema.org/Discontinued"


def test_jsonld_attendance_modes_and_full_event() -> None:
    online = make_event("online", online_url="https://meet.example.org/tea", capacity=10, places_taken=10)
    data = event_jsonld(online, language="en")
    assert data["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert data["location"] == {"@type": "VirtualLocation", "url": "https://meet.example.org/tea"}
    assert data["remainingAttendeeCapacity"] == 0
    assert data["offers"]["availability"] == "https://schema.org/SoldOut"

    mixed = make_event("mixed", place=make_place(), online_url="https://meet.example.org/mixed")
    data = event_jsonld(mixed, language="en")
    assert data["eventAttendanceMode"] == "https://schema.org/MixedEventAttendanceMode"
    assert [location["@type"] for location in data["location"]] == ["Place", "VirtualLocation"]


def test_jsonld_script_cannot_be_broken_out_of() -> None:
    attack = "</script><script>alert(1)</script> & <!-- \u2028"
    event = make_event(title={"en": attack}, description={"en": "<p>x &lt;/script&gt; y</p>"})
    script = jsonld_script(event_jsonld(event, language="en"))
    assert "</script><script>" not in script
    assert script.count("</script>") == 1
    assert script.count("<") == 2  # the opening and closing tags only
    assert "\\u003c/script\\u003e" in script
    assert "\\u0026" in script
    data = script_json(script)
    assert data["name"] == attack
    assert data["description"] == "x </script> y"
