"""The Open311 GeoReport v2 API. A few tests talk to a live server through a real client
library (georeport) and `requests`, as 311 applications do; the many error cases use Django's
test client, which is quicker."""

import datetime
import json
from urllib.parse import urlencode

import pytest
import requests
import xmltodict
from django.utils import timezone
from georeport import GeoReport

from yulan.voice import apikeys, open311, tokens
from yulan.voice.models import Category, Item, Reply

from .conftest import jpeg_bytes, submit

BASE = "/open311/v2"
CONTACT = ("ana@example.org", "Ana Lima", "13800001111")


def get(client, path, params=None, **headers):
    return client.get(f"{BASE}/{path}", params or {}, **headers)


def post(client, fields, fmt="json", query=""):
    return client.post(
        f"{BASE}/requests.{fmt}{query}",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )


def parsed(response):
    if response["Content-Type"].startswith("text/xml"):
        return xmltodict.parse(response.content)
    return json.loads(response.content)


def error_of(response):
    """The (code, description) of a spec error body, JSON or XML."""
    data = parsed(response)
    if isinstance(data, dict):
        first = data["errors"]["error"]
        return int(first["code"]), first["description"]
    return data[0]["code"], data[0]["description"]


def spec_fields(key, **extra):
    """A POST shaped like the specification's example request."""
    fields = {
        "api_key": key,
        "jurisdiction_id": "city.gov",
        "service_code": "streets",
        "lat": "31.2012",
        "long": "121.4093",
        "address_string": "1234 5th street",
        "email": CONTACT[0],
        "device_id": "tt222111",
        "account_id": "123456",
        "first_name": "Ana",
        "last_name": "Lima",
        "phone": CONTACT[2],
        "description": "A large sinkhole is destroying the street",
        "media_url": "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg",
        "attribute[community]": "hongqiao",
        "attribute[kind]": "problem",
        "attribute[public]": "yes",
    }
    fields.update(extra)
    return fields


@pytest.fixture
def key(open311_client):
    return open311_client[1]


def as_list(found):
    """xmltodict gives a lone element as a mapping, a list only for several."""
    return found if isinstance(found, list) else [found]


def _age(item, days):
    moment = timezone.now() - datetime.timedelta(days=days)
    Item.objects.filter(pk=item.pk).update(created_at=moment, updated_at=moment)


def _merge(item, into):
    now = timezone.now()
    Item.objects.filter(pk=item.pk).update(status=Item.Status.MERGED, merged_into=into, closed_at=now, updated_at=now)


def _no_contact(text):
    for detail in CONTACT:
        assert detail not in text
    assert "Lima" not in text


# --- over the wire: a real client library against a live server -----------------------------------


@pytest.fixture
def published(routing, other_community):
    """Public items of several kinds, one private one, and one older than 90 days."""
    Category.objects.create(slug="retired", name={"en": "Retired"}, active=False)
    kw = {"contact_email": CONTACT[0], "contact_name": CONTACT[1], "contact_phone": CONTACT[2]}
    lamp = submit(text="The streetlight on Hongqiao Road is broken.", latitude=31.2012, longitude=121.4093, **kw).item
    bus = submit(category="services", community="", text="The bus stop sign is only in Chinese.", **kw).item
    old = submit(text="A pothole in front of the old market.", **kw).item
    _age(old, 120)
    private = submit(text="Please call me about my residence permit.", public_consent=False, **kw).item
    duplicate = submit(text="Streetlight by building 5 is out, again.", **kw).item
    _merge(duplicate, lamp)
    Reply.objects.create(
        item=bus, kind=Reply.Kind.PUBLIC, text={"en": "We will add English.", "zh-hans": "我们会加英文。"}
    )
    Reply.objects.create(item=bus, kind=Reply.Kind.NOTE, text={"en": "internal: ask the bus company"})
    return {"lamp": lamp, "bus": bus, "old": old, "private": private, "duplicate": duplicate}


@pytest.mark.django_db(transaction=True)
def test_georeport_client_reads_everything(live_server, published):
    lamp, bus, private, duplicate = (published[k] for k in ("lamp", "bus", "private", "duplicate"))
    root = live_server.url + BASE
    for fmt in ("json", "xml"):
        client = GeoReport(root_address=root, output_format=fmt)

        services = client.get_service_list()
        assert [s["service_code"] for s in services] == ["services", "streets"]
        streets = services[1]
        assert streets["service_name"] == "Streets and lighting"
        assert streets["description"] == "Broken streetlights, pavements, signs."
        assert streets["group"] == "city" and streets["keywords"] == "streetlight, pavement, sign"
        assert streets["type"] == "realtime"
        assert streets["metadata"] in (True, "true")

        definition = client.get_service_definition("streets")
        assert definition["service_code"] == "streets"
        attributes = definition["attributes"]
        attributes = attributes if fmt == "json" else attributes["attribute"]
        assert [(a["code"], str(a["order"])) for a in attributes] == [
            ("community", "1"),
            ("kind", "2"),
            ("public", "3"),
        ]
        for attribute in attributes:
            assert attribute["datatype"] == "singlevaluelist"
            assert attribute["required"] in (False, "false")
        values = [a["values"] if fmt == "json" else a["values"]["value"] for a in attributes]
        assert {"key": "hongqiao", "name": "Hongqiao Subdistrict"} in values[0]
        assert [v["key"] for v in values[1]] == ["suggestion", "problem", "idea"]
        assert [v["key"] for v in values[2]] == ["no", "yes"]

        found = client.get_service_requests()
        ids = [r["service_request_id"] for r in found]
        # Public ones of the last 90 days, newest first, merged included, the private one never.
        assert ids == [str(duplicate.pk), str(bus.pk), str(lamp.pk)]
        record = found[2]
        assert record["status"] == "open"
        assert record["service_code"] == "streets" and record["service_name"] == "Streets and lighting"
        assert record["description"] == lamp.text
        assert record["agency_responsible"] == "Foreign Affairs Office"
        assert record["service_notice"] == "Routed to Foreign Affairs Office. We aim to respond within 3 days."
        assert float(record["lat"]) == 31.2012 and float(record["long"]) == 121.4093
        assert record["requested_datetime"] == lamp.created_at.astimezone(datetime.UTC).isoformat(timespec="seconds")
        assert record["expected_datetime"] == lamp.due_at.astimezone(datetime.UTC).isoformat(timespec="seconds")
        merged = found[0]
        assert merged["status"] == "closed" and merged["status_notes"] == f"Merged into #{lamp.pk}"
        assert found[1]["status_notes"] == "We will add English."
        assert found[1]["agency_responsible"] == "City Services Office"

        closed = as_list(client.get_service_requests(status="closed"))
        assert [r["service_request_id"] for r in closed] == [str(duplicate.pk)]
        opened = as_list(client.get_service_requests(service_code="streets", status="open"))
        assert [r["service_request_id"] for r in opened] == [str(lamp.pk)]
        picked = client.get_service_requests(service_request_id=f"{lamp.pk},{bus.pk},{private.pk}", status="closed")
        assert sorted(r["service_request_id"] for r in picked) == sorted([str(lamp.pk), str(bus.pk)])
        start = (timezone.now() - datetime.timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (timezone.now() - datetime.timedelta(days=110)).strftime("%Y-%m-%dT%H:%M:%SZ")
        older = as_list(client.get_service_requests(start_date=start, end_date=end))
        assert [r["service_request_id"] for r in older] == [str(published["old"].pk)]

        one = client.get_service_request(str(bus.pk))
        assert one["service_request_id"] == str(bus.pk) and one["description"] == bus.text
        # Not public: its status only, not what it says.
        minimal = client.get_service_request(str(private.pk))
        assert set(minimal) == {
            "service_request_id",
            "status",
            "service_code",
            "service_name",
            "requested_datetime",
            "updated_datetime",
        }

    # Nothing a reader gets holds a contact detail or a private text, in any format.
    for fmt in ("json", "xml"):
        for path in (f"requests.{fmt}", f"requests/{lamp.pk}.{fmt}", f"requests/{private.pk}.{fmt}"):
            body = requests.get(f"{root}/{path}", timeout=10).text
            _no_contact(body)
            assert private.text not in body
            assert "internal" not in body


@pytest.mark.django_db(transaction=True)
def test_post_over_http_like_the_spec_example(live_server, routing, key):
    url = live_server.url + BASE + "/requests.json"
    fields = spec_fields(key)
    response = requests.post(url, data=fields, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    [answer] = response.json()
    assert answer["account_id"] is None
    assert answer["service_notice"] == "Routed to Foreign Affairs Office. We aim to respond within 3 days."
    item = Item.objects.get(pk=int(answer["service_request_id"]))
    assert item.source == Item.Source.OPEN311
    assert item.api_client == apikeys.verify(key)
    assert item.text == "A large sinkhole is destroying the street"
    assert (item.latitude, item.longitude) == (31.2012, 121.4093)
    assert item.address == "1234 5th street"
    assert item.community.slug == "hongqiao" and item.kind == "problem" and item.public_consent
    assert (item.contact_email, item.contact_name, item.contact_phone) == (CONTACT[0], "Ana Lima", CONTACT[2])
    assert item.media_url == fields["media_url"]

    # The same request again (a client retrying) is the same request.
    again = requests.post(url, data=fields, timeout=10)
    assert again.status_code == 200
    assert again.json()[0]["service_request_id"] == answer["service_request_id"]

    # XML, with a photo sent along as multipart.
    fields = spec_fields(key, description="The pavement is cracked here.", media_url="")
    response = requests.post(
        live_server.url + BASE + "/requests.xml",
        data=fields,
        files={"media": ("pavement.jpg", jpeg_bytes(), "image/jpeg")},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    request = xmltodict.parse(response.content)["service_requests"]["request"]
    assert request["account_id"] is None
    photographed = Item.objects.get(pk=int(request["service_request_id"]))
    assert photographed.photo and not photographed.media_url

    # Its public record links to the photo.
    record = requests.get(f"{live_server.url}{BASE}/requests/{photographed.pk}.json", timeout=10).json()[0]
    assert record["media_url"].startswith("http://")
    assert str(photographed.pk) in record["media_url"]

    # A bad key over the wire: 403 in the spec's error format.
    refused = requests.post(url, data=spec_fields("not-a-key"), timeout=10)
    assert refused.status_code == 403
    assert refused.json()[0]["code"] == 403


# --- discovery and services ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/open311/discovery", "/open311/v2/discovery"])
def test_discovery(client, db, path):
    data = json.loads(client.get(f"{path}.json").content)
    [endpoint] = data["endpoints"]
    assert endpoint == {
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": "http://testserver/open311/v2",
        "changeset": open311.CHANGESET,
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    assert data["changeset"] and data["contact"] and data["key_service"]

    response = client.get(f"{path}.xml")
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    document = xmltodict.parse(response.content)["discovery"]
    endpoint = document["endpoints"]["endpoint"]
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"]["format"] == ["text/xml", "application/json"]


def test_services_in_the_readers_language(client, routing):
    def names(**kw):
        return {s["service_code"]: s["service_name"] for s in json.loads(get(client, "services.json", **kw).content)}

    assert names()["streets"] == "Streets and lighting"
    assert names(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")["streets"] == "道路与照明"
    assert names(params={"locale": "zh-hans"})["streets"] == "道路与照明"
    assert names(params={"locale": "zh_CN"})["streets"] == "道路与照明"
    # A locale the site does not have: the Accept-Language header decides.
    assert names(params={"locale": "xx_YY"}, HTTP_ACCEPT_LANGUAGE="zh-hans")["streets"] == "道路与照明"
    # A category without a translation falls back to English.
    assert names(params={"locale": "ja"})["services"] == "Public services"
    response = get(client, "services.json", {"locale": "zh-hans"})
    assert response["Content-Language"] == "zh-hans"


def test_service_definition_in_the_readers_language(client, routing):
    data = json.loads(get(client, "services/streets.json", {"locale": "zh-hans"}).content)
    community = data["attributes"][0]
    assert {"key": "hongqiao", "name": "虹桥街道"} in community["values"]


def test_inactive_and_unknown_services(client, routing):
    Category.objects.filter(slug="services").update(active=False)
    codes = [s["service_code"] for s in json.loads(get(client, "services.json").content)]
    assert codes == ["streets"]
    for path in ("services/services.json", "services/nothing.json", "services/nothing.xml"):
        response = get(client, path)
        assert response.status_code == 404
        code, description = error_of(response)
        assert code == 404 and "service_code" in description


# --- posting ------------------------------------------------------------------------------------------


def test_post_routes_and_answers(client, routing, key):
    response = post(client, spec_fields(key, **{"attribute[community]": ""}, lat="", long=""))
    assert response.status_code == 200, response.content
    [answer] = parsed(response)
    item = Item.objects.get(pk=int(answer["service_request_id"]))
    # Without a community or a place, the default rule routes it.
    assert item.community is None and item.office.slug == "city-services"
    assert answer["service_notice"] == "Routed to City Services Office. We aim to respond within 3 days."
    assert item.language == "en" and item.contact_language == "en"


def test_post_notice_in_hours_and_in_the_clients_language(client, routing, key):
    Category.objects.filter(slug="streets").update(response_hours=36)
    response = post(client, spec_fields(key, locale="zh-hans"))
    [answer] = parsed(response)
    item = Item.objects.get(pk=int(answer["service_request_id"]))
    assert item.contact_language == "zh-hans"
    assert "36" in answer["service_notice"]
    Category.objects.filter(slug="streets").update(response_hours=36)
    response = post(client, spec_fields(key, description="Another street problem"))
    assert parsed(response)[0]["service_notice"].endswith("We aim to respond within 36 hours.")


def test_post_address_id_and_defaults(client, routing, key):
    fields = spec_fields(key, lat="", long="", address_string="", address_id="545483")
    for name in ("attribute[kind]", "attribute[public]", "attribute[community]", "email", "phone", "media_url"):
        fields.pop(name)
    response = post(client, fields, fmt="xml")
    assert response.status_code == 200, response.content
    request = xmltodict.parse(response.content)["service_requests"]["request"]
    item = Item.objects.get(pk=int(request["service_request_id"]))
    assert item.address == "address id: 545483"
    assert item.kind == Item.Kind.PROBLEM and not item.public_consent
    both = post(client, spec_fields(key, address_id="77", description="Other"))
    assert Item.objects.get(pk=int(parsed(both)[0]["service_request_id"])).address == "1234 5th street; address id: 77"


def test_post_key_in_the_query_string(client, routing, key):
    fields = spec_fields(key)
    del fields["api_key"]
    response = post(client, fields, query="?" + urlencode({"api_key": key}))
    assert response.status_code == 200, response.content


def test_post_html_is_made_plain_text(client, routing, key):
    response = post(client, spec_fields(key, description="<script>alert(1)</script><b>Broken</b> lamp"))
    assert response.status_code == 200
    item = Item.objects.get(pk=int(parsed(response)[0]["service_request_id"]))
    assert "<" not in item.text and "script" not in item.text
    assert "Broken" in item.text


def test_post_repeat_gives_the_same_id(client, routing, key):
    first = parsed(post(client, spec_fields(key)))[0]["service_request_id"]
    second = parsed(post(client, spec_fields(key), fmt="xml"))["service_requests"]["request"]["service_request_id"]
    assert first == second
    assert Item.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"api_key": ""}, 403, "api_key"),
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "nothing"}, 404, "service_code"),
        ({"lat": "", "long": "", "address_string": ""}, 400, "location"),
        ({"lat": "31.2", "long": "", "address_string": ""}, 400, "location"),
        ({"description": ""}, 400, "write"),
        ({"description": "<p> </p>"}, 400, "write"),
        ({"description": "x" * 4001}, 400, "4000"),
        ({"lat": "abc"}, 400, "number"),
        ({"lat": "nan"}, 400, "Latitude"),
        ({"lat": "200"}, 400, "Latitude"),
        ({"long": "1e400"}, 400, "Longitude"),
        ({"long": ""}, 400, "latitude"),
        ({"email": "not-an-address"}, 400, "e-mail"),
        ({"media_url": "javascript:alert(1)"}, 400, "media"),
        ({"attribute[kind]": "complaint"}, 400, "suggestion"),
        ({"attribute[public]": "maybe"}, 400, "yes or no"),
        ({"attribute[community]": "atlantis"}, 404, "communit"),
    ],
)
def test_post_errors(client, routing, key, change, status, words):
    fields = spec_fields(key, **change)
    for fmt in ("json", "xml"):
        response = post(client, fields, fmt=fmt)
        assert response.status_code == status, response.content
        code, description = error_of(response)
        assert code == status
        assert words in description
    assert not Item.objects.exists()


def test_post_with_a_revoked_key(client, routing, key):
    apikeys.revoke(key[:8])
    response = post(client, spec_fields(key))
    assert response.status_code == 403
    assert error_of(response)[1] == "Invalid api_key received -- can't proceed with create_request."


def test_post_rate_limit_per_key(client, routing, key, settings):
    settings.YULAN_OPEN311_POSTS_PER_HOUR = 2
    for n in range(2):
        assert post(client, spec_fields(key, description=f"Problem number {n}")).status_code == 200
    refused = post(client, spec_fields(key, description="One too many"))
    assert refused.status_code == 429
    assert error_of(refused)[0] == 429
    # Another client has its own allowance.
    _client, other = apikeys.create("Other app")
    assert post(client, spec_fields(other, description="From elsewhere")).status_code == 200


def test_post_with_a_photo_that_is_not_an_image(client, routing, key):
    fields = spec_fields(key)
    fields["media"] = _upload(b"not an image at all")
    response = client.post(f"{BASE}/requests.json", fields)
    assert response.status_code == 400
    assert "image" in error_of(response)[1]
    assert not Item.objects.exists()


def test_post_with_a_photo(client, routing, key):
    fields = spec_fields(key)
    fields["media"] = _upload(jpeg_bytes())
    response = client.post(f"{BASE}/requests.json", fields)
    assert response.status_code == 200, response.content
    assert Item.objects.get().photo


def test_post_malformed_or_too_large_body(client, routing, key, settings):
    broken = client.generic(
        "POST",
        f"{BASE}/requests.json",
        b'--xyz\r\nContent-Disposition: form-data; name="api_key"\r\n\r\n',
        content_type="multipart/form-data",  # without its boundary
    )
    assert broken.status_code == 400
    assert error_of(broken)[0] == 400
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    large = post(client, spec_fields(key, description="y" * 2000))
    assert large.status_code == 400
    assert error_of(large)[0] == 400


def _upload(data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("photo.jpg", data, content_type="image/jpeg")


# --- reading requests -------------------------------------------------------------------------------


def test_records_and_status_notes(client, routing, settings):
    lamp = submit(latitude=31.2012, longitude=121.4093).item
    declined = submit(text="Please ban all scooters from the whole city.").item
    Item.objects.filter(pk=declined.pk).update(
        status=Item.Status.DECLINED,
        status_reason="This is a national rule & not ours <sorry>.",
        closed_at=timezone.now(),
    )
    Reply.objects.create(item=lamp, kind=Reply.Kind.PUBLIC, text={"en": "First answer."})
    Reply.objects.create(item=lamp, kind=Reply.Kind.PUBLIC, text={"en": "Fixed today.", "zh-hans": "今天修好了。"})
    Reply.objects.create(item=lamp, kind=Reply.Kind.PRIVATE, text={"en": "private: we called you"})
    Item.objects.filter(pk=lamp.pk).update(media_url="https://photos.example.org/1.jpg")

    records = {r["service_request_id"]: r for r in parsed(get(client, "requests.json"))}
    record = records[str(lamp.pk)]
    assert record["status_notes"] == "Fixed today."
    assert record["media_url"] == "https://photos.example.org/1.jpg"
    assert record["address_id"] == "" and record["zipcode"] == ""
    assert records[str(declined.pk)]["status"] == "closed"
    assert records[str(declined.pk)]["status_notes"] == "This is a national rule & not ours <sorry>."
    assert records[str(declined.pk)]["expected_datetime"] is None
    chinese = {r["service_request_id"]: r for r in parsed(get(client, "requests.json", {"locale": "zh-hans"}))}
    assert chinese[str(lamp.pk)]["status_notes"] == "今天修好了。"

    # XML escapes what needs escaping and reads back the same.
    response = get(client, "requests.xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<service_requests>')
    assert b"&amp; not ours &lt;sorry&gt;" in response.content
    rows = {r["service_request_id"]: r for r in xmltodict.parse(response.content)["service_requests"]["request"]}
    assert rows[str(declined.pk)]["status_notes"] == "This is a national rule & not ours <sorry>."
    assert rows[str(lamp.pk)]["lat"] == "31.2012"
    _no_contact(response.content.decode())
    assert "private: we called you" not in response.content.decode()


def test_an_empty_list(client, db):
    assert parsed(get(client, "requests.json")) == []
    assert xmltodict.parse(get(client, "requests.xml").content) == {"service_requests": None}


def test_list_queries_do_not_grow_with_the_rows(client, routing, django_assert_num_queries):
    for n in range(12):
        item = submit(text=f"Broken pavement number {n} near the school gate.").item
        Reply.objects.create(item=item, kind=Reply.Kind.PUBLIC, text={"en": f"Answer {n}"})
    # The items with their category and office, then the latest public replies of them all.
    with django_assert_num_queries(2):
        rows = parsed(get(client, "requests.json"))
    assert len(rows) == 12


def test_hidden_and_private_items_are_not_listed(client, routing):
    hidden = submit(text="Someone wrote their phone number 13800001111 here.").item
    Item.objects.filter(pk=hidden.pk).update(hidden=True)
    assert parsed(get(client, "requests.json")) == []
    minimal = parsed(get(client, f"requests/{hidden.pk}.json"))
    assert minimal == [
        {
            "service_request_id": str(hidden.pk),
            "status": "open",
            "service_code": "streets",
            "service_name": "Streets and lighting",
            "requested_datetime": hidden.created_at.astimezone(datetime.UTC).isoformat(timespec="seconds"),
            "updated_datetime": hidden.updated_at.astimezone(datetime.UTC).isoformat(timespec="seconds"),
        }
    ]


def test_at_most_1000_newest_first(client, routing, monkeypatch):
    monkeypatch.setattr(open311, "MAX_RESULTS", 3)
    items = [submit(text=f"Streetlight number {n} is out tonight.").item for n in range(5)]
    ids = [r["service_request_id"] for r in parsed(get(client, "requests.json"))]
    assert ids == [str(i.pk) for i in reversed(items)][:3]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-45T00:00:00Z"}, "end_date"),
        ({"start_date": "0001-01-01T00:00:00+05:00"}, "start_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90 days"),
        ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "before"),
        ({"status": "pending"}, "status"),
        ({"service_request_id": "12,abc"}, "service_request_id"),
        ({"service_request_id": "99999999999999999999999"}, "service_request_id"),
    ],
)
def test_list_argument_errors(client, db, params, words):
    for fmt in ("json", "xml"):
        response = get(client, f"requests.{fmt}", params)
        assert response.status_code == 400, response.content
        code, description = error_of(response)
        assert code == 400 and words in description


def test_list_dates(client, routing):
    recent = submit(text="Recent problem with a traffic light.").item
    old = submit(text="An old problem with the pavement.").item
    _age(old, 100)

    def ids(**params):
        return [r["service_request_id"] for r in parsed(get(client, "requests.json", params))]

    assert ids() == [str(recent.pk)]
    day = (timezone.now() - datetime.timedelta(days=100)).date()
    assert ids(start_date=f"{day - datetime.timedelta(days=1)}") == [str(old.pk)]
    assert ids(end_date=f"{day + datetime.timedelta(days=2)}T00:00:00+08:00") == [str(old.pk)]
    # The offset's "+" sent unencoded arrives as a space: still understood.
    assert ids(end_date=f"{day + datetime.timedelta(days=2)}T00:00:00 08:00") == [str(old.pk)]
    # An offset is honoured: the same instant written two ways.
    old.refresh_from_db()
    moment = old.created_at.astimezone(datetime.UTC)
    at = moment + datetime.timedelta(seconds=1)
    assert ids(start_date=(moment - datetime.timedelta(days=1)).isoformat(), end_date=at.isoformat()) == [str(old.pk)]
    shifted = at.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
    assert ids(start_date=(moment - datetime.timedelta(days=1)).isoformat(), end_date=shifted.isoformat()) == [
        str(old.pk)
    ]


def test_single_request(client, routing):
    item = submit().item
    [record] = parsed(get(client, f"requests/{item.pk}.json"))
    assert record["service_request_id"] == str(item.pk) and record["description"] == item.text
    xml_record = xmltodict.parse(get(client, f"requests/{item.pk}.xml").content)["service_requests"]["request"]
    assert xml_record["service_request_id"] == str(item.pk)
    for path in ("requests/999999.json", "requests/abc.xml", "requests/99999999999999999999999.json"):
        response = get(client, path)
        assert response.status_code == 404
        assert error_of(response)[0] == 404


def test_tokens(client, routing):
    item = submit(public_consent=False).item
    token = tokens.track(item)
    for fmt in ("json", "xml"):
        response = get(client, f"tokens/{token}.{fmt}")
        assert response.status_code == 200
        data = parsed(response)
        found = data[0] if fmt == "json" else data["service_requests"]["request"]
        assert found == {"service_request_id": str(item.pk), "token": token}
    for forged in (token[:-2] + "xx", "12345", "a.b.c"):
        response = get(client, f"tokens/{forged}.json")
        assert response.status_code == 404
        assert error_of(response)[0] == 404
    # Once the item's secret changes, its old token is retired.
    Item.objects.filter(pk=item.pk).update(secret="changed")
    assert get(client, f"tokens/{token}.json").status_code == 404


def test_jurisdiction(client, routing, key, settings):
    for path in ("services.json", "services/streets.json", "requests.json", "discovery.json"):
        assert get(client, path, {"jurisdiction_id": "anything.gov"}).status_code == 200
    settings.YULAN_OPEN311_JURISDICTION = "shanghai.gov.cn"
    for path in ("services.json", "services/streets.xml", "requests.json", "requests/1.json", "tokens/x.json"):
        response = get(client, path, {"jurisdiction_id": "city.gov"})
        assert response.status_code == 404
        assert error_of(response) == (404, "jurisdiction_id not found")
    assert get(client, "services.json", {"jurisdiction_id": "shanghai.gov.cn"}).status_code == 200
    assert get(client, "services.json", {"jurisdiction_id": ""}).status_code == 200
    assert get(client, "services.json").status_code == 200
    refused = post(client, spec_fields(key, jurisdiction_id="city.gov"))
    assert refused.status_code == 404
    assert not Item.objects.exists()
    assert post(client, spec_fields(key, jurisdiction_id="shanghai.gov.cn")).status_code == 200


def test_formats_and_methods(client, routing):
    json_response = get(client, "services.json")
    assert json_response["Content-Type"] == "application/json; charset=utf-8"
    xml_response = get(client, "services.xml")
    assert xml_response["Content-Type"] == "text/xml; charset=utf-8"
    assert xml_response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<services>')
    assert b"xmlns" not in xml_response.content

    for path in ("v2/services.html", "v2/services", "v2/requests/1.yaml", "v2/nothing/at/all", "v3/services.json"):
        response = client.get(f"/open311/{path}")
        assert response.status_code == 404
        assert error_of(response)[0] == 404

    for method, path in (("put", "requests.json"), ("delete", "services.xml"), ("post", "services.json")):
        response = getattr(client, method)(f"{BASE}/{path}")
        assert response.status_code == 405
        assert error_of(response)[0] == 405
        assert "GET" in response["Allow"]
    assert client.head(f"{BASE}/services.json").status_code == 200
    assert get(client, "services.JSON")["Content-Type"] == "application/json; charset=utf-8"
    # Posting to an address that is not there: a 404, not a CSRF refusal.
    assert client.post(f"{BASE}/service.json", {"api_key": "x"}).status_code == 404
