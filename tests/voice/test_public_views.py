"""The public feedback pages through the test client: the form (bad input of every kind, the
photo cleaned of its metadata, the rate limit, a repeat), the tracking page, the public list and
item pages (never a contact detail), who may see a photo, support, following by e-mail, and a
submitter's own data (download and removal)."""

import io
import json
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from yulan.core.mail import outbox_deliver
from yulan.core.models import Role, User
from yulan.core.services import role_grant
from yulan.voice import services, tokens
from yulan.voice.models import Category, Follower, Item, Reply, Support

from .conftest import jpeg_bytes, submit

FORM = "/en/feedback/new/"
LIST = "/en/feedback/"
FORGED = "WzEsImZvcmdlZCJd:1abcde:notasignature"
# Contact details distinctive enough to be searched for in a page.
NAME = "Zhivka Contactname"
EMAIL = "zhivka.private@example.org"
PHONE = "+86 139 1234 5678"
TEXT = "The streetlight outside building 5 on Hongqiao Road has been broken for two weeks."


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def setup(routing, community, other_community):
    return routing


def form_data(**changes) -> dict:
    data = {
        "kind": "problem",
        "category": "streets",
        "community": "hongqiao",
        "text": TEXT,
        "latitude": "",
        "longitude": "",
        "address": "Hongqiao Road 5",
        "contact_name": NAME,
        "contact_email": EMAIL,
        "contact_phone": PHONE,
        "public_consent": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def body(response) -> str:
    return response.content.decode()


def field_box(html: str, name: str) -> str:
    """The `.field` box holding the control named `name`: its label, value and error."""
    for chunk in re.split(r'<div class="field[^"]*">', html)[1:]:
        if f'name="{name}"' in chunk:
            return chunk
    raise AssertionError(f"no field {name!r} in the page")


def deliver() -> list[mail.EmailMessage]:
    before = len(mail.outbox)
    outbox_deliver()
    return mail.outbox[before:]


def links_in(text: str, part: str) -> list[str]:
    return [urlsplit(url).path for url in re.findall(r"https?://[^\s\"'<>]+", text) if part in url]


def track_path(item: Item) -> str:
    return f"/en/feedback/track/{tokens.track(item)}/"


def photo_file(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_photos() -> set[str]:
    return set(default_storage.listdir("feedback")[1]) if default_storage.exists("feedback") else set()


def fetch_photo(client: Client, url: str):
    """A photo response, read to the end (which closes the file, as a server would)."""
    response = client.get(url)
    if response.streaming:
        response.content_bytes = b"".join(response.streaming_content)
    return response


def no_contact_details(html: str) -> None:
    for secret in (NAME, EMAIL, PHONE, "zhivka", "1234 5678"):
        assert secret.lower() not in html.lower(), f"{secret!r} shown"


@pytest.fixture
def public_item(setup):
    result = submit(contact_name=NAME, contact_email=EMAIL, contact_phone=PHONE, latitude=31.2, longitude=121.41)
    return result.item


@pytest.fixture
def private_item(setup):
    return submit(text="Private: the office at the gate was closed on Monday.", public_consent=False).item


@pytest.fixture
def other_coordinator(admin_user, other_community):
    user = User.objects.create_user("coordinator-b@example.org", "pw-coord-b-1234")
    role_grant(actor=admin_user, user=user, role=Role.COORDINATOR, community=other_community)
    return user


# --- the form ---------------------------------------------------------------------------------


def test_the_form_offers_every_field_with_a_label(client, setup):
    Category.objects.create(slug="retired", name={"en": "Retired topic"}, active=False)
    response = client.get(FORM)
    assert response.status_code == 200
    html = body(response)
    assert 'enctype="multipart/form-data"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'maxlength="4000"' in field_box(html, "text")
    assert 'accept="image/*"' in field_box(html, "photo")
    assert "<legend>What is it? *</legend>" in html
    assert html.count('type="radio" name="kind"') == 3
    assert 'value="streets"' in field_box(html, "category") and "Retired topic" not in html
    assert "Hongqiao Subdistrict" in field_box(html, "community")
    assert 'type="hidden" name="latitude"' in html and 'type="hidden" name="longitude"' in html
    assert 'id="use-location"' in html
    consent = field_box(html, "public_consent")
    assert "checked" not in consent and "never your name or contact details" in consent
    for name in ("category", "community", "text", "address", "photo", "anonymous", "contact_email", "contact_phone"):
        box = field_box(html, name)
        assert re.search(r'<label for="id_' + name + '"', box), name
    # The account's name and address are filled in for a signed-in resident.
    resident = User.objects.create_user("mei@example.org", "pw-mei-12345", display_name="Mei Lin")
    client.force_login(resident)
    html = body(client.get(FORM + "?category=streets"))
    assert 'value="mei@example.org"' in field_box(html, "contact_email")
    assert 'value="Mei Lin"' in field_box(html, "contact_name")
    assert 'value="streets" selected' in field_box(html, "category")


def test_feedback_is_sent_tracked_and_confirmed_by_email(client, setup, office):
    response = client.post(FORM, form_data(latitude="31.2011", longitude="121.4101"))
    assert response.status_code == 302
    item = Item.objects.get()
    assert response["Location"].startswith("/en/feedback/track/")
    assert tokens.read_track(response["Location"].split("/")[-2]) == item
    assert (item.category.slug, item.community.slug, item.office, item.kind) == (
        "streets",
        "hongqiao",
        office,
        "problem",
    )
    assert (item.contact_name, item.contact_email, item.contact_phone) == (NAME, EMAIL, PHONE)
    assert (item.latitude, item.longitude, item.address) == (31.2011, 121.4101, "Hongqiao Road 5")
    assert item.public_consent and item.contact_language == "en" and item.language == "en"

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert page["Cache-Control"] == "private, no-store" or set(page["Cache-Control"].split(", ")) == {
        "private",
        "no-store",
    }
    html = body(page)
    assert "Thank you. We received your feedback." in html
    assert f'<p class="feedback-ref"><span class="visually-hidden">Reference number </span>#{item.pk}</p>' in html
    assert "Received" in html and "Streets and lighting" in html and TEXT in html
    assert "We sent this link to the e-mail address you gave" in html
    assert f'href="/en/feedback/{item.pk}/"' in html
    no_contact_details(html)

    (message,) = deliver()
    assert message.to == [EMAIL]
    assert f"#{item.pk}" in message.subject
    (link,) = links_in(message.body, "/feedback/track/")
    assert client.get(link).status_code == 200


def test_a_signed_in_resident_sends_in_french_and_finds_it_in_my_feedback(client, setup, resident):
    client.force_login(resident)
    data = form_data(contact_name="", contact_email="", contact_phone="", public_consent=None)
    data["text"] = "Le lampadaire devant l'immeuble 5 est en panne depuis deux semaines, merci de le réparer."
    response = client.post("/fr/feedback/new/", data)
    assert response.status_code == 302 and response["Location"].startswith("/fr/feedback/track/")
    item = Item.objects.get()
    assert (item.user, item.contact_email, item.contact_language, item.language) == (
        resident,
        resident.email,
        "fr",
        "fr",
    )
    assert not item.public_consent
    mine = client.get("/en/feedback/mine/")
    assert mine.status_code == 200
    assert mine["Cache-Control"].startswith("private")
    (link,) = re.findall(r'href="(/en/feedback/track/[^"]+/)"', body(mine))
    assert tokens.read_track(link.split("/")[-2]) == item
    assert 'lang="fr"' in body(mine)


def test_an_anonymous_sender_keeps_no_contact_details(client, setup, resident):
    client.force_login(resident)
    response = client.post(FORM, form_data(anonymous="on"))
    assert response.status_code == 302
    item = Item.objects.get()
    assert (item.user, item.contact_name, item.contact_email, item.contact_phone) == (None, "", "", "")
    html = body(client.get(response["Location"]))
    assert "this link is the only way back to this page" in html
    assert not deliver()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"text": "   "}, "text", "Please write what you would like to tell us."),
        ({"text": "x" * 4001}, "text", "Please keep it under 4000 characters (this is 4001)."),
        ({"latitude": "91", "longitude": "121.4"}, "latitude", "Latitude must be between -90 and 90."),
        ({"latitude": "abc", "longitude": "121.4"}, "latitude", "Latitude and longitude must be numbers."),
        ({"latitude": "31.2", "longitude": ""}, "latitude", "Give both latitude and longitude, or neither."),
        ({"latitude": "31.2", "longitude": "181"}, "longitude", "Longitude must be between -180 and 180."),
        ({"category": "no-such-thing"}, "category", "Choose one of the listed categories."),
        ({"category": ""}, "category", "Choose a category."),
        ({"community": "atlantis"}, "community", "Choose one of the listed communities."),
        ({"kind": "complaint"}, "kind", "Choose suggestion, problem or idea."),
        ({"contact_email": "ana(at)example.org"}, "contact_email", "Enter a valid e-mail address."),
    ],
)
def test_bad_input_is_answered_beside_its_field_and_nothing_is_stored(client, setup, changes, field, message):
    typed = "Typed words that must come back: the bus stop sign at the park gate is missing."
    data = form_data(**{"text": typed, **changes})
    response = client.post(FORM, data)
    assert response.status_code == 400
    html = body(response)
    assert message in html
    assert "Please check what is marked below. Nothing was sent yet." in html
    if field in ("latitude", "longitude"):
        # Shown in the location group (the coordinates are hidden), and dropped so that sending
        # again works.
        assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}</li></ul>' in html
        assert 'aria-describedby="location-help location-error"' in html
        assert 'name="latitude" id="id_latitude" value=""' in html
    else:
        box = field_box(html, field)
        assert message in box
        assert f'id="id_{field}_error"' in box
        if field != "kind":
            assert 'aria-invalid="true"' in box
            assert re.search(rf'aria-describedby="[^"]*id_{field}_error', box)
    if field != "text":
        assert typed in field_box(html, "text")
        assert 'value="Hongqiao Road 5"' in field_box(html, "address")
        assert "checked" in field_box(html, "public_consent")
    assert not Item.objects.exists()
    assert not deliver()


def test_markup_in_the_text_is_stored_as_plain_text_and_shown_escaped(client, setup):
    text = "<script>alert(1)</script>The sign says &lt;script&gt;alert(2)&lt;/script&gt; and <b>nothing</b> else."
    response = client.post(FORM, form_data(text=text))
    assert response.status_code == 302
    item = Item.objects.get()
    assert "<script>alert(1)" not in item.text and "<b>" not in item.text
    assert item.text.startswith("The sign says")
    for page in (client.get(response["Location"]), client.get(f"/en/feedback/{item.pk}/"), client.get(LIST)):
        html = body(page)
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(2)" in html


def test_a_photo_is_kept_without_its_location_and_camera(client, setup):
    original = jpeg_bytes(size=(640, 480))
    assert Image.open(io.BytesIO(original)).getexif().get(0x8825)  # the phone's GPS block
    response = client.post(FORM, {**form_data(), "photo": photo_file(original)})
    assert response.status_code == 302
    item = Item.objects.get()
    assert item.photo.startswith("feedback/") and item.photo.endswith(".jpg")
    with default_storage.open(item.photo, "rb") as stored, Image.open(stored) as image:
        exif = image.getexif()
        assert image.format == "JPEG" and image.size == (640, 480)
        assert 0x8825 not in exif and 0x010F not in exif
        assert not exif.get_ifd(0x8825)
    html = body(client.get(response["Location"]))
    assert f'src="/en/feedback/{item.pk}/photo.jpg?t=' in html


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            lambda: photo_file(b"just some text, not a picture\n" * 10, "notes.jpg"),
            "This file is not an image we can read.",
        ),
        (lambda: photo_file(jpeg_bytes(size=(400, 300))), "The photo is too large (at most 0.0 MB)."),
    ],
)
def test_a_file_that_is_not_a_photo_or_too_large_is_refused(client, setup, settings, upload, message):
    settings.YULAN_FEEDBACK_PHOTO_MAX_BYTES = 2_000
    typed = "The pavement near the school is broken; photo attached."
    before = stored_photos()
    response = client.post(FORM, {**form_data(text=typed), "photo": upload()})
    assert response.status_code == 400
    html = body(response)
    box = field_box(html, "photo")
    assert message in box and 'aria-invalid="true"' in box
    assert typed in field_box(html, "text")
    assert not Item.objects.exists()
    assert stored_photos() == before


def test_a_photo_sent_with_another_mistake_must_be_chosen_again(client, setup):
    response = client.post(FORM, {**form_data(text=""), "photo": photo_file(jpeg_bytes())})
    assert response.status_code == 400
    assert "Please choose your photo again" in body(response)


def test_a_flood_from_one_address_is_refused_with_the_form_kept(client, setup, settings):
    settings.YULAN_FEEDBACK_PER_HOUR = 2
    for n in range(2):
        assert client.post(FORM, form_data(text=f"{TEXT} ({n})")).status_code == 302
    response = client.post(FORM, form_data(text="A third one, too many."))
    assert response.status_code == 429
    html = body(response)
    assert "Too much feedback came from your connection in the last hour." in html
    assert "A third one, too many." in field_box(html, "text")
    assert Item.objects.count() == 2
    # Another network address is not affected.
    assert client.post(FORM, form_data(text="From elsewhere."), REMOTE_ADDR="10.0.0.9").status_code == 302


def test_the_same_feedback_sent_twice_is_stored_once(client, setup):
    first = client.post(FORM, form_data())
    second = client.post(FORM, form_data())
    assert first.status_code == second.status_code == 302
    item = Item.objects.get()
    assert tokens.read_track(second["Location"].split("/")[-2]) == item
    html = body(client.get(second["Location"]))
    assert "We had already received this feedback" in html
    assert len(deliver()) == 1


def test_typing_in_a_public_anonymous_item_does_not_hand_over_its_tracking_link(client, setup):
    anonymous = form_data(contact_name="", contact_email="", contact_phone="", anonymous="on")
    first = client.post(FORM, anonymous)
    item = Item.objects.get()
    # Someone else copies what the public page shows, within the repeat window.
    stranger = Client()
    copied = stranger.post(FORM, anonymous)
    assert copied.status_code == 302
    assert copied["Location"] == f"/en/feedback/{item.pk}/"
    assert "/track/" not in copied["Location"]
    assert "We had already received this feedback" in body(stranger.get(copied["Location"]))
    assert Item.objects.count() == 1
    # The browser it was sent from still finds its tracking page.
    again = client.post(FORM, anonymous)
    assert "/track/" in first["Location"] and "/track/" in again["Location"]
    assert tokens.read_track(again["Location"].split("/")[-2]) == item


def test_forged_or_retired_tracking_links_are_refused(client, public_item):
    assert client.get(f"/en/feedback/track/{FORGED}/").status_code == 400
    link = track_path(public_item)
    public_item.secret = "changed"
    public_item.save(update_fields=["secret"])
    response = client.get(link)
    assert response.status_code == 404
    assert "no longer valid" in body(response)


def test_posts_without_the_csrf_token_are_refused(setup, public_item):
    client = Client(enforce_csrf_checks=True)
    assert client.post(FORM, form_data(text="Without a token.")).status_code == 403
    assert client.post(f"/en/feedback/{public_item.pk}/follow/", {"email": "x@example.org"}).status_code == 403
    assert client.post("/en/feedback/my-data/", {"email": EMAIL}).status_code == 403
    assert Item.objects.count() == 1 and not Follower.objects.exists()
    # With the token from the page, the form goes through.
    page = client.get(FORM)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body(page))[1]
    response = client.post(FORM, {**form_data(text="With the token."), "csrfmiddlewaretoken": token})
    assert response.status_code == 302


# --- the public pages --------------------------------------------------------------------------


def test_the_list_filters_and_maps_public_items_only(client, setup, other_community, private_item):
    located = submit(text="Located: the crossing light at Yili Road is too short.", latitude=31.2, longitude=121.41)
    elsewhere = submit(
        text="Huacao: no English sign at the clinic entrance.", community="huacao", category="services", latitude=None
    ).item
    hidden = submit(text="Hidden by staff: this contains a phone number.").item
    hidden.hidden = True
    hidden.save(update_fields=["hidden"])
    response = client.get(LIST)
    assert response.status_code == 200
    html = body(response)
    assert f"#{located.item.pk}" in html and f"#{elsewhere.pk}" in html
    assert f"#{private_item.pk}" not in html and "Hidden by staff" not in html and "Private:" not in html
    assert "1 supporter" not in html and "0 supporters" in html
    points = json.loads(re.search(r'<script id="feedback-points" type="application/json">(.*?)</script>', html)[1])
    assert points == [
        {
            "lat": 31.2,
            "lng": 121.41,
            "ref": f"#{located.item.pk}",
            "url": f"/en/feedback/{located.item.pk}/",
            "label": f"#{located.item.pk} Streets and lighting",
            "summary": "Located: the crossing light at Yili Road is too short.",
        }
    ]
    assert 'id="feedback-map"' in html and "leaflet.js" in html

    def refs(query: str) -> set[int]:
        page = client.get(LIST + query)
        assert page.status_code == 200
        return {item.pk for item in page.context["page"]}

    assert refs("?community=huacao") == {elsewhere.pk}
    assert refs("?category=streets") == {located.item.pk}
    assert refs("?status=open") == {located.item.pk, elsewhere.pk}
    assert refs("?status=closed") == set()
    bad = client.get(LIST + "?community=atlantis")
    assert bad.status_code == 400
    assert "Choose one of the listed communities." in body(bad)
    assert client.get(LIST + "?status=nonsense").status_code == 400


def test_the_list_is_kept_for_visitors_without_a_session_and_paginated(client, setup):
    for n in range(23):
        submit(text=f"Item number {n}: the bench at the park is broken again, please fix it.", contact_email="")
    first = client.get(LIST)
    assert first.status_code == 200 and len(first.context["page"]) == 20
    assert client.get(LIST)["X-Page-Cache"] == "hit"
    second = client.get(LIST + "?page=2")
    assert len(second.context["page"]) == 3
    assert 'rel="prev"' in body(second)


def test_public_pages_never_show_contact_details(client, setup, coordinator, public_item):
    services.reply_add(actor=coordinator, item_id=public_item.pk, kind="public", text={"en": "We sent a crew."})
    for url in (LIST, f"/en/feedback/{public_item.pk}/", track_path(public_item), "/zh-hans/feedback/"):
        response = client.get(url)
        assert response.status_code == 200, url
        no_contact_details(body(response))
    # Not for a signed-in visitor either, nor for the staff who handle it (they use the staff pages).
    client.force_login(coordinator)
    no_contact_details(body(client.get(f"/en/feedback/{public_item.pk}/")))


def test_the_item_page(client, setup, coordinator, office, public_item):
    services.reply_add(
        actor=coordinator,
        item_id=public_item.pk,
        kind="public",
        text={"en": "A crew repairs the light on Friday.", "fr": "Une équipe répare le lampadaire vendredi."},
    )
    services.reply_add(actor=coordinator, item_id=public_item.pk, kind="private", text={"en": "Private word to you."})
    services.reply_add(actor=coordinator, item_id=public_item.pk, kind="note", text={"en": "Staff-only note."})
    services.item_set_status(actor=coordinator, item_id=public_item.pk, status="in_progress")
    response = client.get(f"/en/feedback/{public_item.pk}/")
    assert response.status_code == 200
    html = body(response)
    assert f"<h1>#{public_item.pk} · Streets and lighting</h1>" in html
    assert "In progress" in html and "Foreign Affairs Office" in html and "Hongqiao Subdistrict" in html
    assert f'<div class="feedback-text" lang="en" dir="auto"><p>{TEXT}</p></div>' in html
    assert "A crew repairs the light on Friday." in html
    assert "Private word to you." not in html and "Staff-only note." not in html
    assert html.count("<time") >= 3  # sent, and the history: received, in progress
    assert 'id="map"' in html and 'data-lat="31.200000"' in html
    assert "0 people support this." in html
    assert f'href="/en/accounts/login/?next=%2Fen%2Ffeedback%2F{public_item.pk}%2F"' in html
    assert f'action="/en/feedback/{public_item.pk}/follow/"' in html
    # A reader of French gets the translation, marked as French.
    html = body(client.get(f"/fr/feedback/{public_item.pk}/"))
    assert '<div lang="fr" dir="auto"><p>Une équipe répare le lampadaire vendredi.</p></div>' in html
    # The submitter's page shows the private reply too, never the note.
    html = body(client.get(track_path(public_item)))
    assert "A crew repairs the light on Friday." in html and "Private word to you." in html
    assert "Staff-only note." not in html


def test_items_that_are_not_public_have_no_page(client, setup, coordinator, private_item, public_item):
    assert client.get(f"/en/feedback/{private_item.pk}/").status_code == 404
    services.item_set_hidden(actor=coordinator, item_id=public_item.pk, hidden=True)
    assert client.get(f"/en/feedback/{public_item.pk}/").status_code == 404
    assert client.get("/en/feedback/999999/").status_code == 404
    # The submitter still sees their own page, told that it was taken off the public pages.
    assert "the staff took it off the public pages" in body(client.get(track_path(public_item)))


def test_a_merged_item_points_to_the_one_that_goes_on(client, setup, coordinator, public_item):
    target = submit(text="Many streetlights on Hongqiao Road are broken since the storm.").item
    services.item_merge(actor=coordinator, item_id=public_item.pk, into_id=target.pk)
    html = body(client.get(f"/en/feedback/{public_item.pk}/"))
    assert f'<a href="/en/feedback/{target.pk}/">#{target.pk}</a>' in html
    assert "Me too" not in html and "Follow by e-mail" not in html
    assert f"#{public_item.pk}" not in body(client.get(LIST))
    html = body(client.get(track_path(public_item)))
    assert f'<a href="/en/feedback/{target.pk}/">#{target.pk}</a>' in html


# --- photos ------------------------------------------------------------------------------------


def test_who_may_see_a_photo(client, setup, coordinator, other_coordinator, responder):
    def sent(public: bool) -> Item:
        upload = photo_file(jpeg_bytes())
        return submit(text=f"Photo of the broken sign (public: {public}).", public_consent=public, photo=upload).item

    public, private = sent(True), sent(False)
    assert private.office.slug == "foreign-affairs"  # streets in Hongqiao: the responder's office
    url = f"/en/feedback/{public.pk}/photo.jpg"
    response = fetch_photo(client, url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response.content_bytes.startswith(b"\xff\xd8")
    assert "public" in response["Cache-Control"]

    url = f"/en/feedback/{private.pk}/photo.jpg"
    assert fetch_photo(client, url).status_code == 404
    assert fetch_photo(client, f"{url}?t={FORGED}").status_code == 404
    assert fetch_photo(client, f"{url}?t={tokens.track(public)}").status_code == 404  # another item's link
    response = fetch_photo(client, f"{url}?t={tokens.track(private)}")
    assert response.status_code == 200 and response["Cache-Control"] == "private"
    for user, status in ((coordinator, 200), (responder, 200), (other_coordinator, 404)):
        staff = Client()
        staff.force_login(user)
        response = fetch_photo(staff, url)
        assert response.status_code == status, user
        if status == 200:
            assert response["Cache-Control"] == "private"
    # No photo, no item: nothing.
    assert fetch_photo(client, f"/en/feedback/{submit(text='No photo here.').item.pk}/photo.jpg").status_code == 404
    assert fetch_photo(client, "/en/feedback/999999/photo.jpg").status_code == 404


# --- support ------------------------------------------------------------------------------------


def test_support_counts_once_per_account(client, setup, resident, public_item):
    url = f"/en/feedback/{public_item.pk}/support/"
    detail = f"/en/feedback/{public_item.pk}/"
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == f"/en/accounts/login/?next=%2Fen%2Ffeedback%2F{public_item.pk}%2F"
    assert client.get(url).status_code == 405

    client.force_login(resident)
    assert client.post(url)["Location"] == detail
    assert client.post(url)["Location"] == detail
    public_item.refresh_from_db()
    assert public_item.supporters_count == 1 and Support.objects.count() == 1
    html = body(client.get(detail))
    assert "You already support this. Each person counts once." in html
    assert "1 person supports this." in html and "Take back my support" in html

    client.post(url, {"remove": "1"})
    public_item.refresh_from_db()
    assert public_item.supporters_count == 0 and not Support.objects.exists()
    assert "Me too" in body(client.get(detail))


def test_supporting_ones_own_or_a_private_item_is_refused(client, setup, resident):
    own = submit(user=resident, text="My own public item about the broken bench.").item
    private = submit(text="Private item.", public_consent=False).item
    client.force_login(resident)
    assert "This is your own feedback: it already counts." in body(client.get(f"/en/feedback/{own.pk}/"))
    response = client.post(f"/en/feedback/{own.pk}/support/", follow=True)
    assert "This is your own feedback: it already counts." in body(response)
    assert client.post(f"/en/feedback/{private.pk}/support/").status_code == 404
    assert not Support.objects.exists()


# --- following -----------------------------------------------------------------------------------


def test_follow_by_email_confirm_and_stop(client, setup, public_item):
    deliver()  # the submitter's confirmation
    url = f"/en/feedback/{public_item.pk}/follow/"
    response = client.post(url, {"email": "Fan@Example.org"}, follow=True)
    assert response.status_code == 200
    assert "Please check your e-mail." in body(response)
    follower = Follower.objects.get()
    assert (follower.email, follower.confirmed) == ("fan@example.org", False)

    (message,) = deliver()
    assert message.to == ["fan@example.org"]
    (link,) = links_in(message.body, "/feedback/follow/")
    # Opening the link (a mail scanner does) confirms nothing.
    page = client.get(link)
    assert page.status_code == 200 and "Yes, keep me informed" in body(page)
    assert page["Cache-Control"].startswith("private")
    follower.refresh_from_db()
    assert not follower.confirmed
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == f"/en/feedback/{public_item.pk}/"
    follower.refresh_from_db()
    public_item.refresh_from_db()
    assert follower.confirmed and public_item.followers_count == 1

    # The next status change reaches the follower, with a link to stop.
    coordinator = User.objects.create_superuser("boss@example.org", "pw-boss-12345")
    services.item_set_status(actor=coordinator, item_id=public_item.pk, status="in_progress")
    (notice,) = [m for m in deliver() if m.to == ["fan@example.org"]]
    (stop,) = links_in(notice.body, "/feedback/unfollow/")
    page = client.get(stop)
    assert page.status_code == 200 and Follower.objects.exists()
    assert 'type="submit">Stop following</button>' in body(page)
    assert "You no longer follow" in body(client.post(stop))
    assert not Follower.objects.exists()
    public_item.refresh_from_db()
    assert public_item.followers_count == 0
    assert client.get(stop).status_code == 404


def test_following_reveals_nothing_about_an_address(client, setup, public_item, resident):
    url = f"/en/feedback/{public_item.pk}/follow/"
    # Someone's address already follows; asking again with it says the same as for a new one.
    services.follow_confirm(
        follower_id=services.follow_request(item_id=public_item.pk, email="known@example.org", language="en").pk
    )
    answers = [
        body(client.post(url, {"email": email}, follow=True)) for email in ("known@example.org", "new@example.org")
    ]
    for html in answers:
        assert "Please check your e-mail." in html and "You follow this item" not in html
    # A signed-in resident's own address follows at once.
    client.force_login(resident)
    assert f'value="{resident.email}"' in body(client.get(f"/en/feedback/{public_item.pk}/"))
    html = body(client.post(url, {"email": resident.email}, follow=True))
    assert "You follow this item" in html
    assert Follower.objects.get(email=resident.email).confirmed


def test_following_with_a_bad_address_or_too_often(client, setup, settings, public_item):
    url = f"/en/feedback/{public_item.pk}/follow/"
    settings.YULAN_FEEDBACK_PER_HOUR = 3
    response = client.post(url, {"email": "not-an-address"})
    assert response.status_code == 400
    box = field_box(body(response), "email")
    assert "Enter a valid e-mail address." in box and 'value="not-an-address"' in box
    assert client.post(url, {"email": ""}).status_code == 400
    # Every request counts, mistakes included.
    assert client.post(url, {"email": "one@example.org"}).status_code == 302
    response = client.post(url, {"email": "two@example.org"})
    assert response.status_code == 429 and "Too many requests" in body(response)
    assert list(Follower.objects.values_list("email", flat=True)) == ["one@example.org"]
    private = submit(text="A private one.", public_consent=False).item
    settings.YULAN_FEEDBACK_PER_HOUR = 100
    assert client.post(f"/en/feedback/{private.pk}/follow/", {"email": "x@example.org"}).status_code == 404


def test_forged_follow_links_are_refused(client, setup):
    assert client.get(f"/en/feedback/follow/{FORGED}/").status_code == 400
    assert client.post(f"/en/feedback/unfollow/{FORGED}/").status_code == 400


# --- a submitter's own data ------------------------------------------------------------------------


def test_my_data_by_email_link_download_and_removal(client, setup, public_item):
    other = submit(text="Someone else's feedback.", contact_email="other@example.org").item
    deliver()
    # The same answer whether or not anything was sent from the address; a mail only if so.
    for email in (EMAIL, "stranger@example.org"):
        response = client.post("/en/feedback/my-data/", {"email": email})
        assert response.status_code == 200
        assert "If we have feedback from this address, we sent it a link" in body(response)
    (message,) = deliver()
    assert message.to == [EMAIL]
    (link,) = links_in(message.body, "/feedback/my-data/")

    page = client.get(link)
    assert page.status_code == 200 and page["Cache-Control"].startswith("private")
    assert "no-store" in page["Cache-Control"]
    html = body(page)
    assert f"#{public_item.pk}" in html and f"#{other.pk}" not in html
    assert re.search(r'href="/en/feedback/track/[^"]+/"', html)

    download = client.get(link + "?download=1")
    assert download["Content-Disposition"] == 'attachment; filename="my-feedback.json"'
    assert "no-store" in download["Cache-Control"]
    data = json.loads(download.content)
    assert [(i["reference"], i["contact_email"], i["contact_phone"]) for i in data["items"]] == [
        (f"#{public_item.pk}", EMAIL, PHONE)
    ]

    # Removal asks first.
    page = client.post(link)
    assert page.status_code == 200 and "Yes, remove my contact details" in body(page)
    assert Item.objects.get(pk=public_item.pk).contact_email == EMAIL
    response = client.post(link, {"confirm": "yes"})
    assert response.status_code == 302
    item = Item.objects.get(pk=public_item.pk)
    assert (item.contact_name, item.contact_email, item.contact_phone) == ("", "", "")
    assert item.anonymised_at is not None and item.text == TEXT
    assert Item.objects.get(pk=other.pk).contact_email == "other@example.org"
    html = body(client.get(response["Location"]))
    assert "Your contact details were removed from 1 feedback item." in html
    assert "We keep no feedback with contact details from your address." in html
    # The item stays on the public pages.
    assert client.get(f"/en/feedback/{item.pk}/").status_code == 200


def test_my_data_request_checks_the_address_and_its_link(client, setup, settings):
    settings.YULAN_FEEDBACK_PER_HOUR = 2
    response = client.post("/en/feedback/my-data/", {"email": "nope"})
    assert response.status_code == 400
    assert "Enter a valid e-mail address." in field_box(body(response), "email")
    assert client.get(f"/en/feedback/my-data/{FORGED}/").status_code == 400
    assert client.post("/en/feedback/my-data/", {"email": "a@example.org"}).status_code == 200
    assert client.post("/en/feedback/my-data/", {"email": "b@example.org"}).status_code == 429


def test_my_feedback_of_an_account(client, setup, resident):
    assert client.get("/en/feedback/mine/")["Location"].startswith("/en/accounts/login/")
    mine = submit(user=resident, contact_email="", contact_phone="+86 21 5555 0000").item
    submit(text="Not mine at all.", contact_email="someone@example.org")
    client.force_login(resident)
    html = body(client.get("/en/feedback/mine/"))
    assert f"#{mine.pk}" in html and "Not mine at all." not in html
    download = client.get("/en/feedback/mine/?download=1")
    assert download["Content-Disposition"] == 'attachment; filename="my-feedback.json"'
    assert [i["reference"] for i in json.loads(download.content)["items"]] == [f"#{mine.pk}"]

    # A first press asks to confirm; the second removes.
    page = client.post("/en/feedback/mine/")
    assert page.status_code == 200 and "This cannot be undone." in body(page)
    assert Item.objects.get(pk=mine.pk).user == resident
    response = client.post("/en/feedback/mine/", {"confirm": "yes"}, follow=True)
    assert "Your contact details were removed from 1 feedback item." in body(response)
    item = Item.objects.get(pk=mine.pk)
    assert (item.user, item.contact_email, item.contact_phone) == (None, "", "")
    assert "You have not sent feedback with this account yet." in body(response)


# --- the rest of the site ---------------------------------------------------------------------------


def test_the_site_links_to_the_feedback_pages(client, db):
    html = body(client.get("/en/"))
    assert '<li><a href="/en/feedback/">Feedback</a></li>' in html
    assert 'href="/en/feedback/new/"' in html


def test_replies_are_shown_in_the_language_they_have(client, setup, coordinator, public_item):
    reply = services.reply_add(actor=coordinator, item_id=public_item.pk, kind="public", text={"en": "Fixed."})
    assert Reply.objects.get() == reply
    html = body(client.get(f"/ja/feedback/{public_item.pk}/"))
    assert '<div lang="en" dir="auto"><p>Fixed.</p></div>' in html
