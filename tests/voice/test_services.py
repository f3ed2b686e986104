"""Feedback services: submission and its checks, repeats, routing, triage (status, assignment,
rerouting, hiding, themes, bulk), replies and who hears of them, merging, support and following,
a submitter's own data, and who may do which of these where."""

import datetime
import io
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.mail import outbox_deliver
from yulan.core.models import AuditEntry, Office, OutgoingMail, User
from yulan.voice import selectors, services, tokens
from yulan.voice.models import Category, Follower, Item, Reply, RoutingRule, StatusSpan, Support, Tag

from .conftest import jpeg_bytes, submit

Status = Item.Status
TEXT = "The streetlight outside building 5 on Hongqiao Road has been broken for two weeks."


@pytest.fixture
def item(routing):
    """A public item in Hongqiao about its streets: routed to the foreign-affairs office."""
    return submit().item


# --- helpers ------------------------------------------------------------------------------------

_accounts = iter(range(1, 1_000_000))


def account(email: str = "", *, language: str = "en") -> User:
    n = next(_accounts)
    return User.objects.create_user(
        email or f"voice-resident{n}@example.org", "pw-resident-1234", preferred_language=language
    )


def follower(item: Item, email: str, language: str = "en", *, confirmed: bool = True) -> Follower:
    """`email` follows `item` the way a visitor does: asks, then confirms the mailed link."""
    found = services.follow_request(item_id=item.pk, email=email, language=language)
    return services.follow_confirm(follower_id=found.pk) if confirmed else found


def queued(item: Item, notice: str) -> list[tuple[str, str]]:
    """(address, language) of each notice of this kind queued about `item`, oldest first."""
    rows = OutgoingMail.objects.filter(kind="feedback", context__item=item.pk, context__notice=notice)
    return list(rows.order_by("pk").values_list("to_email", "language"))


def deliver() -> list[mail.EmailMessage]:
    """Send what the outbox holds (to Django's in-memory mailbox) and return what was sent."""
    before = len(mail.outbox)
    outbox_deliver()
    return mail.outbox[before:]


def html_of(message) -> str:
    (alternative,) = message.alternatives
    return alternative[0]


def sent_to(messages, address: str):
    return [m for m in messages if m.to == [address]]


def tokens_in(text: str) -> list[str]:
    return [segment for url in re.findall(r"https?://\S+", text) for segment in url.split("/") if segment]


def links_to(text: str, read) -> list:
    """What each signed link in `text` reads as, through `read` (those it refuses are left out)."""
    found = []
    for segment in tokens_in(text):
        try:
            found.append(read(segment))
        except ApplicationError:
            continue
    return found


def audits(item: Item, action: str = "") -> list[AuditEntry]:
    rows = AuditEntry.objects.filter(target_type="voice.item", target_id=str(item.pk)).order_by("pk")
    return list(rows.filter(action=action) if action else rows)


def fresh(item: Item) -> Item:
    return Item.objects.get(pk=item.pk)


def force(item: Item, status: str, **extra) -> Item:
    """Put an item in a status directly, as if it had got there."""
    Item.objects.filter(pk=item.pk).update(status=status, **extra)
    return fresh(item)


def office_named(slug: str, district) -> Office:
    return Office.objects.create(slug=slug, name={"en": slug.replace("-", " ").title()}, district=district)


# --- submission ---------------------------------------------------------------------------------


def test_a_submission_is_stored_routed_and_confirmed(item, office, community, streets):
    assert item.pk and item.status == Status.RECEIVED
    assert (item.category, item.community, item.office) == (streets, community, office)
    assert (item.contact_email, item.contact_name, item.contact_language) == ("ana@example.org", "Ana", "en")
    assert item.public_consent and not item.hidden
    assert item.due_at == item.created_at + datetime.timedelta(hours=72)
    assert item.fingerprint and item.secret
    assert [(s.status, s.ended_at) for s in item.spans.all()] == [(Status.RECEIVED, None)]
    assert queued(item, "received") == [("ana@example.org", "en")]


def test_the_text_is_kept_as_plain_text_without_markup_or_scripts(routing):
    raw = (
        "<p>The <b>streetlight</b> is broken.<script>alert('x')</script></p>"
        '<img src=x onerror="alert(1)">\r\n\r\n\r\n\r\nPlease <a href="javascript:alert(1)">fix</a> it &amp; soon.'
    )
    item = submit(text=raw).item
    assert item.text == "The streetlight is broken.\n\nPlease fix it & soon."
    assert submit(text="a < b and c > d, so 5 > 3", contact_email="math@example.org").item.text == (
        "a < b and c > d, so 5 > 3"
    )


def test_a_no_break_space_stays_a_character(routing):
    item = submit(text="Le lampadaire est cassé depuis deux semaines\u00a0!", language="fr").item
    assert item.text == "Le lampadaire est cassé depuis deux semaines\u00a0!"


@pytest.mark.parametrize("text", ["", "   \n\t ", "<script>alert(1)</script>", "<p></p>", None])
def test_an_empty_text_is_refused_naming_the_field(routing, text):
    with pytest.raises(ApplicationError) as exc:
        submit(text=text)
    assert exc.value.field == "text" and exc.value.status == 400
    assert not Item.objects.exists() and not OutgoingMail.objects.exists()


def test_a_text_over_the_limit_is_refused_naming_the_field(routing, settings):
    settings.YULAN_FEEDBACK_MAX_CHARS = 60
    assert len(submit(text="x" * 60).item.text) == 60
    with pytest.raises(ApplicationError) as exc:
        submit(text="y" * 61)
    assert exc.value.field == "text"
    assert "60" in exc.value.message and "61" in exc.value.message
    assert Item.objects.count() == 1


@pytest.mark.parametrize("kind", Item.Kind.values)
def test_each_kind_is_accepted(routing, kind):
    assert submit(kind=kind).item.kind == kind


def test_an_unknown_kind_is_refused(routing):
    with pytest.raises(ApplicationError) as exc:
        submit(kind="complaint")
    assert exc.value.field == "kind"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"category": "weather"}, "category"), ({"category": ""}, "category"), ({"community": "atlantis"}, "community")],
)
def test_an_unknown_category_or_community_is_a_404_naming_the_field(routing, change, field):
    with pytest.raises(ApplicationError) as exc:
        submit(**change)
    assert (exc.value.field, exc.value.status) == (field, 404)
    assert not Item.objects.exists()


def test_an_inactive_category_takes_no_feedback(routing, streets):
    Category.objects.filter(pk=streets.pk).update(active=False)
    with pytest.raises(ApplicationError) as exc:
        submit()
    assert (exc.value.field, exc.value.status) == ("category", 404)


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [
        ("nan", 121.4, "latitude"),
        (float("nan"), 121.4, "latitude"),
        ("inf", 121.4, "latitude"),
        (float("-inf"), 121.4, "latitude"),
        (31.2, "nan", "longitude"),
        (31.2, float("inf"), "longitude"),
        (31.2, None, "latitude"),
        (None, 121.4, "latitude"),
        ("", 121.4, "latitude"),
        (90.0001, 0, "latitude"),
        (-91, 0, "latitude"),
        (0, 180.5, "longitude"),
        (0, -181, "longitude"),
        ("north", 121.4, "latitude"),
        ([31.2], 121.4, "latitude"),
    ],
)
def test_bad_coordinates_are_refused_naming_the_field(routing, latitude, longitude, field):
    with pytest.raises(ApplicationError) as exc:
        submit(latitude=latitude, longitude=longitude)
    assert exc.value.field == field
    assert not Item.objects.exists()


def test_a_longitude_that_is_not_a_number_names_the_longitude(routing):
    with pytest.raises(ApplicationError) as exc:
        submit(latitude=31.2, longitude="east")
    assert exc.value.field == "longitude"


@pytest.mark.parametrize(
    ("latitude", "longitude", "stored"),
    [
        ("31.2010004", "121.40900049", (31.201, 121.409)),
        (0, 0, (0.0, 0.0)),
        (-90, 180, (-90.0, 180.0)),
        (None, None, (None, None)),
        ("", "", (None, None)),
    ],
)
def test_good_coordinates_are_stored_rounded(routing, latitude, longitude, stored):
    item = submit(latitude=latitude, longitude=longitude, community="hongqiao").item
    assert (item.latitude, item.longitude) == stored


def test_an_anonymous_submission_keeps_no_contact_and_no_account(routing, resident):
    result = submit(
        user=resident, anonymous=True, contact_email="ana@example.org", contact_name="Ana", contact_phone="123"
    )
    item = fresh(result.item)
    assert item.user is None
    assert (item.contact_name, item.contact_email, item.contact_phone) == ("", "", "")
    assert not item.has_contact
    assert not OutgoingMail.objects.exists()


def test_the_account_address_is_used_when_none_is_given(routing, resident):
    item = submit(user=resident, contact_email="").item
    assert (item.user, item.contact_email) == (resident, "resident@example.org")
    assert queued(item, "received") == [("resident@example.org", "en")]
    other = submit(user=resident, contact_email=" Other@Example.ORG ", text="A different point entirely.").item
    assert other.contact_email == "other@example.org"


def test_without_any_address_nothing_is_mailed(routing):
    item = submit(contact_email="", contact_phone="+86 (21) 1234-5678 ext").item
    assert item.contact_phone == "+86 (21) 1234-5678"
    assert item.has_contact
    assert not OutgoingMail.objects.exists()


def test_a_bad_address_is_refused_naming_the_field(routing):
    with pytest.raises(ApplicationError) as exc:
        submit(contact_email="ana at example")
    assert exc.value.field == "contact_email"


def test_contact_name_and_place_are_plain_text(routing):
    item = submit(contact_name="<b>Ana</b><script>x()</script>", address="<i>Gate 2</i>, Hongqiao Rd").item
    assert (item.contact_name, item.address) == ("Ana", "Gate 2, Hongqiao Rd")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/a.jpg", "not a link"])
def test_a_media_link_must_be_http(routing, url):
    with pytest.raises(ApplicationError) as exc:
        submit(media_url=url)
    assert exc.value.field == "media_url"


def test_the_nearest_community_is_found_from_the_coordinates(routing, community, other_community, office):
    # About 300 m from Hongqiao's centre, 10 km from Huacao's.
    near = submit(community="", latitude=31.2035, longitude=121.4105).item
    assert near.community == community
    assert near.office == office  # the community found counts for routing too
    near_huacao = submit(community="", latitude=31.2245, longitude=121.3060, contact_email="b@example.org").item
    assert near_huacao.community == other_community


def test_no_community_beyond_the_configured_distance(routing, settings, city_office):
    # Pudong: some 20 km from either centre.
    far = submit(community="", latitude=31.2215, longitude=121.5440).item
    assert far.community is None
    assert far.office == city_office  # the default rule
    settings.YULAN_FEEDBACK_COMMUNITY_KM = 0
    close = submit(community="", latitude=31.2035, longitude=121.4105, contact_email="c@example.org").item
    assert close.community is None


def test_a_named_community_wins_over_the_coordinates(routing, other_community):
    item = submit(community="huacao", latitude=31.2035, longitude=121.4105).item
    assert item.community == other_community


def test_the_response_target_comes_from_the_category(routing):
    item = submit(category="services").item
    assert item.due_at - item.created_at == datetime.timedelta(hours=120)


@pytest.mark.parametrize(
    ("text", "page", "found"),
    [
        (TEXT, "zh-hans", "en"),
        ("虹桥路5号楼外的路灯坏了两个星期了，晚上走路很危险，请尽快修理。", "en", "zh-hans"),
        ("虹橋路5号棟の前の街灯が二週間も壊れたままです。夜は暗くて危ないです。", "en", "ja"),
        ("Уличный фонарь возле дома 5 на улице Хунцяо не работает уже две недели.", "en", "ru"),
        ("Le lampadaire devant l'immeuble 5 de la rue Hongqiao est cassé depuis deux semaines.", "en", "fr"),
        ("ok", "ja", "ja"),
        ("Bus 71", "ko", "ko"),
        ("12345 !!!", "de", "de"),
    ],
)
def test_the_language_is_told_from_the_text_or_else_the_page(routing, text, page, found):
    item = submit(text=text, language=page).item
    assert item.language == found
    assert item.contact_language == page


def test_an_unknown_page_language_falls_back_to_the_site_language(routing):
    item = submit(text="ok", language="xx").item
    assert (item.language, item.contact_language) == ("en", "en")
    assert queued(item, "received") == [("ana@example.org", "en")]


def test_the_confirmation_is_written_in_the_page_language_with_the_tracking_link(routing):
    item = submit(language="zh-hans").item
    assert queued(item, "received") == [("ana@example.org", "zh-hans")]
    (message,) = deliver()
    assert message.to == ["ana@example.org"]
    assert item.reference in message.subject
    assert "您好" in message.body  # the greeting, in the page's language
    # What they sent is not quoted: the address was typed by anyone and is not confirmed.
    assert TEXT not in message.body
    assert links_to(message.body, tokens.read_track) == [item]
    assert "/zh-hans/" in message.body
    assert 'lang="zh-hans"' in html_of(message)
    assert links_to(html_of(message), tokens.read_track) == [item]


def test_a_photo_is_stored_without_its_metadata(routing):
    upload = SimpleUploadedFile("street.jpg", jpeg_bytes(), content_type="image/jpeg")
    item = submit(photo=upload).item
    assert item.photo.startswith("feedback/") and item.photo.endswith(".jpg")
    with default_storage.open(item.photo) as stored, Image.open(stored) as image:
        assert image.format == "JPEG"
        assert not image.getexif()


def test_a_bad_photo_stores_nothing(routing):
    before = set(default_storage.listdir("feedback")[1]) if default_storage.exists("feedback") else set()
    upload = SimpleUploadedFile("street.jpg", b"not an image at all", content_type="image/jpeg")
    with pytest.raises(ApplicationError) as exc:
        submit(photo=upload)
    assert exc.value.field == "photo"
    assert not Item.objects.exists()
    after = set(default_storage.listdir("feedback")[1]) if default_storage.exists("feedback") else set()
    assert after == before


def test_a_failed_store_removes_the_photo_it_saved(routing, monkeypatch):
    saved = []
    real_store = services.photos.store

    def store(data):
        saved.append(real_store(data))
        return saved[-1]

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.photos, "store", store)
    monkeypatch.setattr(services.StatusSpan.objects, "create", broken)
    upload = SimpleUploadedFile("street.jpg", jpeg_bytes(), content_type="image/jpeg")
    with pytest.raises(RuntimeError):
        submit(photo=upload)
    assert len(saved) == 1 and not default_storage.exists(saved[0])
    assert not Item.objects.exists()


# --- repeats ------------------------------------------------------------------------------------


def test_the_same_submission_again_is_the_same_item(routing):
    first = submit()
    again = submit()
    assert first.created and not again.created
    assert again.item.pk == first.item.pk
    assert Item.objects.count() == 1
    assert len(queued(first.item, "received")) == 1


@pytest.mark.parametrize(
    "text",
    [
        "  the STREETLIGHT outside building 5 on Hongqiao Road\n\nhas been broken   for two weeks.  ",
        "<p>The streetlight outside building 5 on <b>Hongqiao Road</b> has been broken for two weeks.</p>",
    ],
)
def test_spaces_case_and_markup_do_not_make_a_repeat_new(routing, text):
    first = submit()
    again = submit(text=text)
    assert not again.created and again.item.pk == first.item.pk


def test_an_account_repeating_itself_is_one_item_whatever_address_it_types(routing, resident):
    first = submit(user=resident)
    assert not submit(user=resident, contact_email="").created
    assert submit(user=resident, contact_email="another@example.org").item.pk == first.item.pk


@pytest.mark.parametrize(
    "change",
    [
        {"contact_email": "bo@example.org"},
        {"category": "services"},
        {"community": "huacao"},
        {"address": "Gate 2"},
        {"latitude": 31.2035, "longitude": 121.4105},
        {"text": "The streetlight outside building 7 on Hongqiao Road has been broken for two weeks."},
    ],
)
def test_another_sender_place_or_wording_is_a_new_item(routing, other_community, change):
    first = submit()
    other = submit(**change)
    assert other.created and other.item.pk != first.item.pk


def test_after_the_window_the_same_words_are_a_new_item(routing, settings):
    first = submit()
    Item.objects.filter(pk=first.item.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=settings.YULAN_FEEDBACK_DUPLICATE_HOURS, minutes=1)
    )
    again = submit()
    assert again.created and again.item.pk != first.item.pk
    assert not submit().created  # and that one is now the one repeats fold into


def test_copying_a_public_anonymous_item_does_not_hand_it_over(routing):
    first = submit(anonymous=True, address="Gate 2", latitude=31.2035, longitude=121.4105).item
    Item.objects.filter(pk=first.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=10))
    seen = selectors.item_public(first.pk)
    copied = services.ItemInput(
        category=seen.category.slug,
        community=seen.community.slug,
        text=seen.text,
        latitude=seen.latitude,
        longitude=seen.longitude,
        address=seen.address,
        anonymous=True,
    )
    assert services.item_submit(copied).item.pk != first.pk


# --- routing ------------------------------------------------------------------------------------


@pytest.fixture
def four_offices(district):
    return {name: office_named(f"{name}-office", district) for name in ("both", "category", "community", "default")}


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (("both", "category", "community", "default"), "both"),
        (("category", "community", "default"), "category"),
        (("community", "default"), "community"),
        (("default",), "default"),
        (("both", "default"), "both"),
        (("category", "default"), "category"),
        ((), None),
    ],
)
def test_the_most_specific_rule_routes(streets, community, four_offices, rules, expected):
    made = {
        "both": {"category": streets, "community": community},
        "category": {"category": streets, "community": None},
        "community": {"category": None, "community": community},
        "default": {"category": None, "community": None},
    }
    for name in rules:
        RoutingRule.objects.create(office=four_offices[name], **made[name])
    item = submit().item
    assert item.office == (four_offices[expected] if expected else None)
    assert services.route(streets.pk, community.pk) == (four_offices[expected].pk if expected else None)


def test_rules_of_other_categories_and_communities_do_not_route(
    streets, services_category, community, other_community, four_offices
):
    RoutingRule.objects.create(category=services_category, community=community, office=four_offices["both"])
    RoutingRule.objects.create(category=streets, community=other_community, office=four_offices["category"])
    RoutingRule.objects.create(category=None, community=other_community, office=four_offices["community"])
    assert submit().item.office is None
    # Without a community, only rules that leave the community open apply.
    RoutingRule.objects.create(category=streets, community=None, office=four_offices["default"])
    assert submit(community="", contact_email="x@example.org").item.office == four_offices["default"]


# --- status ---------------------------------------------------------------------------------------

ALLOWED = {
    Status.RECEIVED: {Status.ASSIGNED, Status.IN_PROGRESS, Status.ANSWERED, Status.CLOSED, Status.DECLINED},
    Status.ASSIGNED: {Status.RECEIVED, Status.IN_PROGRESS, Status.ANSWERED, Status.CLOSED, Status.DECLINED},
    Status.IN_PROGRESS: {Status.ASSIGNED, Status.ANSWERED, Status.CLOSED, Status.DECLINED},
    Status.ANSWERED: {Status.IN_PROGRESS, Status.CLOSED},
    Status.CLOSED: {Status.IN_PROGRESS},
    Status.DECLINED: {Status.RECEIVED},
    Status.MERGED: set(),
}
MOVES = [(old, new) for old in Status.values for new in Status.values if new not in (old, Status.MERGED)]


@pytest.mark.parametrize(("old", "new"), MOVES)
def test_each_status_change_is_allowed_or_refused(item, editor, old, new):
    if old == Status.MERGED:
        other = submit(text="Another point about the same street.").item
        item = force(item, old, merged_into=other, assignee=editor)
    else:
        item = force(item, old, assignee=editor)
    spans = StatusSpan.objects.count()
    if new in ALLOWED[old]:
        changed = services.item_set_status(actor=editor, item_id=item.pk, status=new, reason="Not ours.")
        assert fresh(changed).status == new
        assert StatusSpan.objects.count() == spans + 1
    else:
        with pytest.raises(ApplicationError) as exc:
            services.item_set_status(actor=editor, item_id=item.pk, status=new, reason="Not ours.")
        assert (exc.value.status, exc.value.field) == (409, "status")
        assert fresh(item).status == old
        assert StatusSpan.objects.count() == spans
        assert not audits(item, "feedback.status")


def test_setting_the_status_it_has_changes_nothing(item, editor):
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.RECEIVED)
    assert item.spans.count() == 1
    assert not audits(item, "feedback.status")
    assert not queued(item, "status")


@pytest.mark.parametrize(("status", "field"), [("done", "status"), ("merged", "status"), ("", "status")])
def test_an_unknown_or_merged_status_is_refused(item, editor, status, field):
    with pytest.raises(ApplicationError) as exc:
        services.item_set_status(actor=editor, item_id=item.pk, status=status)
    assert exc.value.field == field


@pytest.mark.parametrize("reason", ["", "   ", "<script>x</script>"])
def test_declining_needs_a_reason(item, editor, reason):
    with pytest.raises(ApplicationError) as exc:
        services.item_set_status(actor=editor, item_id=item.pk, status=Status.DECLINED, reason=reason)
    assert exc.value.field == "reason"
    assert fresh(item).status == Status.RECEIVED


def test_a_declined_item_keeps_its_reason_and_tells_the_submitter(item, editor):
    deliver()  # the confirmation of receipt
    services.item_set_status(
        actor=editor, item_id=item.pk, status=Status.DECLINED, reason="<b>This is the district's job.</b>"
    )
    item = fresh(item)
    assert (item.status, item.status_reason) == (Status.DECLINED, "This is the district's job.")
    assert item.closed_at is not None and item.first_response_at == item.closed_at
    (message,) = deliver()
    assert message.to == ["ana@example.org"]
    assert "This is the district's job." in message.body
    assert links_to(message.body, tokens.read_track) == [item]


def test_spans_record_each_stretch_and_reopening_clears_closed_at(item, editor):
    steps = [Status.IN_PROGRESS, Status.ANSWERED, Status.CLOSED, Status.IN_PROGRESS]
    seen = {}
    for step in steps:
        services.item_set_status(actor=editor, item_id=item.pk, status=step)
        seen[step] = fresh(item)
    spans = list(item.spans.order_by("started_at", "id"))
    assert [s.status for s in spans] == [Status.RECEIVED, *steps]
    for earlier, later in zip(spans, spans[1:], strict=False):
        assert earlier.ended_at == later.started_at
    assert spans[-1].ended_at is None
    assert all(s.actor == editor for s in spans[1:])
    # The first answer counts as the first response, and stays it.
    answered_at = seen[Status.ANSWERED].status_changed_at
    assert seen[Status.IN_PROGRESS].first_response_at == answered_at
    assert seen[Status.ANSWERED].first_response_at == answered_at
    assert seen[Status.ANSWERED].closed_at is None
    assert seen[Status.CLOSED].closed_at == seen[Status.CLOSED].status_changed_at
    assert seen[Status.IN_PROGRESS].closed_at is None  # reopened


def test_reopening_a_declined_item_clears_closed_at_and_the_assignee(item, editor, responder):
    services.item_assign(actor=editor, item_id=item.pk, assignee_id=responder.pk)
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.DECLINED, reason="Not ours.")
    assert fresh(item).closed_at is not None
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.RECEIVED)
    item = fresh(item)
    assert (item.status, item.closed_at, item.assignee) == (Status.RECEIVED, None, None)


def test_back_to_received_leaves_nobody_assigned(item, editor, responder):
    services.item_assign(actor=editor, item_id=item.pk, assignee_id=responder.pk)
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.RECEIVED)
    assert (fresh(item).status, fresh(item).assignee) == (Status.RECEIVED, None)


def test_assigned_by_hand_needs_someone_assigned(item, editor):
    with pytest.raises(ApplicationError) as exc:
        services.item_set_status(actor=editor, item_id=item.pk, status=Status.ASSIGNED)
    assert exc.value.field == "status"


def test_a_status_change_tells_the_submitter_and_confirmed_followers(item, editor):
    follower(item, "zhang@example.org", "zh-hans")
    follower(item, "ito@example.org", "ja", confirmed=False)
    follower(item, "ana@example.org")  # the submitter follows too: told once
    deliver()
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.IN_PROGRESS)
    assert queued(item, "status") == [("ana@example.org", "en"), ("zhang@example.org", "zh-hans")]
    messages = deliver()
    assert sorted(m.to[0] for m in messages) == ["ana@example.org", "zhang@example.org"]
    (to_ana,) = sent_to(messages, "ana@example.org")
    (to_zhang,) = sent_to(messages, "zhang@example.org")
    assert "In progress" in to_ana.body
    assert links_to(to_ana.body, tokens.read_track) == [item]
    # A follower is sent to the public page and can stop following; never the tracking link.
    assert "您好" in to_zhang.body and "/zh-hans/" in to_zhang.body
    assert links_to(to_zhang.body, tokens.read_track) == []
    (unfollow,) = links_to(to_zhang.body, tokens.read_follow)
    assert unfollow.email == "zhang@example.org"


def test_followers_of_an_item_that_is_not_public_hear_nothing(item, editor):
    follower(item, "zhang@example.org", "zh-hans")
    services.item_set_hidden(actor=editor, item_id=item.pk, hidden=True)
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.IN_PROGRESS)
    assert queued(item, "status") == [("ana@example.org", "en")]


def test_a_status_mail_is_sent_only_if_still_true(item, editor):
    deliver()
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.IN_PROGRESS)
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.ANSWERED)
    messages = deliver()
    assert len(messages) == 1
    assert "Answered" in messages[0].subject
    rows = OutgoingMail.objects.filter(context__notice="status").order_by("pk")
    assert [r.status for r in rows] == [OutgoingMail.Status.CANCELLED, OutgoingMail.Status.SENT]


# --- assignment -----------------------------------------------------------------------------------


def test_assigning_and_unassigning_moves_between_received_and_assigned(item, coordinator, responder):
    services.item_assign(actor=coordinator, item_id=item.pk, assignee_id=responder.pk)
    item = fresh(item)
    assert (item.assignee, item.status) == (responder, Status.ASSIGNED)
    services.item_assign(actor=coordinator, item_id=item.pk, assignee_id=None)
    item = fresh(item)
    assert (item.assignee, item.status) == (None, Status.RECEIVED)
    assert [s.status for s in item.spans.all()] == [Status.RECEIVED, Status.ASSIGNED, Status.RECEIVED]
    assert len(audits(item, "feedback.assign")) == 2


def test_assigning_work_in_progress_keeps_its_status(item, editor, responder, coordinator):
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.IN_PROGRESS)
    services.item_assign(actor=editor, item_id=item.pk, assignee_id=responder.pk)
    services.item_assign(actor=editor, item_id=item.pk, assignee_id=coordinator.pk)
    assert (fresh(item).status, fresh(item).assignee) == (Status.IN_PROGRESS, coordinator)
    services.item_assign(actor=editor, item_id=item.pk, assignee_id=None)
    assert fresh(item).status == Status.IN_PROGRESS


@pytest.mark.parametrize("who", ["resident", "huacao_coordinator", "other_responder", "nobody", "inactive"])
def test_the_assignee_must_handle_the_item(request, item, editor, who):
    if who == "nobody":
        assignee_id = 999_999
    elif who == "inactive":
        colleague = request.getfixturevalue("responder")
        User.objects.filter(pk=colleague.pk).update(is_active=False)
        assignee_id = colleague.pk
    else:
        assignee_id = request.getfixturevalue(who).pk
    with pytest.raises(ApplicationError) as exc:
        services.item_assign(actor=editor, item_id=item.pk, assignee_id=assignee_id)
    assert exc.value.field == "assignee"
    assert (fresh(item).assignee, fresh(item).status) == (None, Status.RECEIVED)


# --- rerouting ------------------------------------------------------------------------------------


def test_rerouting_out_of_the_assignees_scope_drops_the_assignee(item, responder, city_office, other_responder):
    services.item_assign(actor=responder, item_id=item.pk, assignee_id=responder.pk)
    services.item_reroute(actor=responder, item_id=item.pk, office_id=city_office.pk)
    item = fresh(item)
    assert (item.office, item.assignee, item.status) == (city_office, None, Status.RECEIVED)
    assert audits(item, "feedback.reroute")[0].before["office_id"] != city_office.pk
    # It has left the responder's queue: the city office's responder has it now.
    with pytest.raises(NotAllowed):
        services.item_set_status(actor=responder, item_id=item.pk, status=Status.IN_PROGRESS)
    services.item_assign(actor=other_responder, item_id=item.pk, assignee_id=other_responder.pk)


def test_rerouting_keeps_an_assignee_who_still_handles_it(item, coordinator, city_office):
    services.item_assign(actor=coordinator, item_id=item.pk, assignee_id=coordinator.pk)
    services.item_reroute(actor=coordinator, item_id=item.pk, office_id=city_office.pk)
    item = fresh(item)
    assert (item.office, item.assignee, item.status) == (city_office, coordinator, Status.ASSIGNED)


def test_rerouting_to_another_community(item, coordinator, huacao_coordinator, other_community):
    services.item_reroute(actor=coordinator, item_id=item.pk, office_id=None, community_id=other_community.pk)
    item = fresh(item)
    assert (item.community, item.office) == (other_community, None)
    with pytest.raises(NotAllowed):
        services.item_for_staff(actor=coordinator, item_id=item.pk)
    assert services.item_for_staff(actor=huacao_coordinator, item_id=item.pk) == item


@pytest.mark.parametrize(
    ("change", "field"), [({"office_id": 999_999}, "office"), ({"community_id": 999_999}, "community")]
)
def test_rerouting_to_what_does_not_exist_is_refused(item, editor, office, change, field):
    with pytest.raises(ApplicationError) as exc:
        services.item_reroute(actor=editor, item_id=item.pk, **{"office_id": office.pk, **change})
    assert exc.value.field == field


# --- who may do what, where -------------------------------------------------------------------------


def _act(action: str, actor: User, item: Item, other: Item, helper: User) -> None:
    calls = {
        "read": lambda: services.item_for_staff(actor=actor, item_id=item.pk),
        "status": lambda: services.item_set_status(actor=actor, item_id=item.pk, status=Status.IN_PROGRESS),
        "assign": lambda: services.item_assign(actor=actor, item_id=item.pk, assignee_id=helper.pk),
        "reroute": lambda: services.item_reroute(actor=actor, item_id=item.pk, office_id=None),
        "hide": lambda: services.item_set_hidden(actor=actor, item_id=item.pk, hidden=True),
        "tag": lambda: services.item_tag(actor=actor, item_id=item.pk, names=["lighting"]),
        "note": lambda: services.reply_add(actor=actor, item_id=item.pk, kind="note", text={"en": "Seen."}),
        "reply": lambda: services.reply_add(actor=actor, item_id=item.pk, kind="public", text={"en": "On it."}),
        "merge": lambda: services.item_merge(actor=actor, item_id=other.pk, into_id=item.pk),
        "merge_into_other": lambda: services.item_merge(actor=actor, item_id=item.pk, into_id=other.pk),
        "bulk": lambda: services.items_bulk(
            actor=actor, item_ids=[other.pk, item.pk], action="status", value=Status.IN_PROGRESS
        ),
    }
    calls[action]()


ACTIONS = ["read", "status", "assign", "reroute", "hide", "tag", "note", "reply", "merge", "merge_into_other", "bulk"]


@pytest.fixture
def scene(routing, community, other_community, office, city_office):
    """Two items in each community: streets in Hongqiao go to the foreign-affairs office, the
    rest to the city services office."""
    hongqiao = submit().item
    hongqiao_too = submit(text="Another lamp is out further along Hongqiao Road.").item
    huacao = submit(community="huacao").item
    huacao_too = submit(community="huacao", text="The pavement near Huacao market is broken.").item
    assert (hongqiao.office, huacao.office) == (office, city_office)
    return {"hongqiao": (hongqiao, hongqiao_too), "huacao": (huacao, huacao_too)}


# (actor, community of the item) → may the actor act on it?
SCOPES = [
    ("editor", "hongqiao", True),
    ("editor", "huacao", True),
    ("admin_user", "huacao", True),
    ("coordinator", "hongqiao", True),
    ("coordinator", "huacao", False),
    ("huacao_coordinator", "hongqiao", False),
    ("huacao_coordinator", "huacao", True),
    ("responder", "hongqiao", True),  # routed to its office
    ("responder", "huacao", False),
    ("other_responder", "hongqiao", False),
    ("other_responder", "huacao", True),
    ("resident", "hongqiao", False),
    ("resident", "huacao", False),
]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("who", "where", "allowed"), SCOPES)
def test_staff_act_only_inside_their_scope(request, scene, editor, action, who, where, allowed):
    actor = request.getfixturevalue(who)
    item, other = scene[where]
    helper = editor  # an editor handles everything: a valid assignee anywhere
    before = (fresh(item).status, fresh(item).hidden, fresh(item).office_id, Reply.objects.count())
    audited = AuditEntry.objects.filter(action__startswith="feedback.").count()
    if allowed:
        _act(action, actor, item, other, helper)
    else:
        with pytest.raises(NotAllowed) as exc:
            _act(action, actor, item, other, helper)
        assert exc.value.status == 403
        assert (fresh(item).status, fresh(item).hidden, fresh(item).office_id, Reply.objects.count()) == before
        assert fresh(other).status == Status.RECEIVED
        assert AuditEntry.objects.filter(action__startswith="feedback.").count() == audited


def test_an_anonymous_visitor_handles_nothing(item):
    with pytest.raises(NotAllowed):
        services.item_set_status(actor=AnonymousUser(), item_id=item.pk, status=Status.IN_PROGRESS)
    with pytest.raises(NotAllowed):
        services.item_for_staff(actor=AnonymousUser(), item_id=item.pk)


def test_an_item_of_no_community_and_no_office_is_for_city_wide_staff_only(streets, coordinator, responder, editor):
    item = submit(community="").item
    assert (item.community, item.office) == (None, None)
    for actor in (coordinator, responder):
        with pytest.raises(NotAllowed):
            services.item_for_staff(actor=actor, item_id=item.pk)
    assert services.item_for_staff(actor=editor, item_id=item.pk) == item


def test_a_responder_handles_its_offices_items_in_any_community(routing, responder, office, other_community):
    RoutingRule.objects.create(category=routing["streets"], community=other_community, office=office)
    item = submit(community="huacao").item
    services.item_set_status(actor=responder, item_id=item.pk, status=Status.IN_PROGRESS)


def test_an_item_that_does_not_exist_is_a_404(editor, db):
    with pytest.raises(ApplicationError) as exc:
        services.item_set_status(actor=editor, item_id=424242, status=Status.CLOSED)
    assert exc.value.status == 404
    with pytest.raises(ApplicationError) as exc:
        services.item_for_staff(actor=editor, item_id=424242)
    assert exc.value.status == 404


# --- replies ------------------------------------------------------------------------------------


def test_a_note_is_kept_for_staff_and_mailed_to_nobody(item, responder):
    follower(item, "zhang@example.org")
    deliver()
    reply = services.reply_add(
        actor=responder, item_id=item.pk, kind="note", text={"en": "<b>Called</b> the district."}
    )
    reply.refresh_from_db()
    assert reply.text.data == {"en": "Called the district."}
    assert (reply.author, reply.office) == (responder, item.office)
    assert fresh(item).first_response_at is None
    assert not queued(item, "reply")
    assert deliver() == []
    assert audits(item, "feedback.reply.note")


def test_a_private_reply_goes_to_the_submitter_only(item, responder):
    follower(item, "zhang@example.org")
    deliver()
    reply = services.reply_add(actor=responder, item_id=item.pk, kind="private", text={"en": "Can you send a photo?"})
    assert queued(item, "reply") == [("ana@example.org", "en")]
    assert fresh(item).first_response_at == reply.created_at
    (message,) = deliver()
    assert message.to == ["ana@example.org"]
    assert "Can you send a photo?" in message.body
    assert links_to(message.body, tokens.read_track) == [item]


def test_a_private_reply_needs_an_address_to_go_to(routing, editor):
    item = submit(anonymous=True).item
    with pytest.raises(ApplicationError) as exc:
        services.reply_add(actor=editor, item_id=item.pk, kind="private", text={"en": "Thanks."})
    assert (exc.value.field, exc.value.status) == ("kind", 409)
    assert not item.replies.exists()


@pytest.mark.parametrize("how", ["no consent", "hidden"])
def test_a_public_reply_needs_a_public_item(routing, editor, how):
    item = submit(public_consent=how != "no consent").item
    if how == "hidden":
        services.item_set_hidden(actor=editor, item_id=item.pk, hidden=True)
    with pytest.raises(ApplicationError) as exc:
        services.reply_add(actor=editor, item_id=item.pk, kind="public", text={"en": "Fixed."})
    assert (exc.value.field, exc.value.status) == ("kind", 409)
    assert not item.replies.exists()


def test_a_public_reply_reaches_the_submitter_and_confirmed_followers_in_their_language(routing, responder):
    item = submit(language="zh-hans").item
    follower(item, "zhang@example.org", "zh-hans")
    follower(item, "dupont@example.org", "fr")
    follower(item, "ito@example.org", "ja", confirmed=False)
    deliver()
    services.reply_add(
        actor=responder,
        item_id=item.pk,
        kind="public",
        text={"en": "The lamp was repaired on Monday.", "zh-hans": "路灯已于周一修好。"},
    )
    assert sorted(queued(item, "reply")) == [
        ("ana@example.org", "zh-hans"),
        ("dupont@example.org", "fr"),
        ("zhang@example.org", "zh-hans"),
    ]
    messages = deliver()
    assert sorted(m.to[0] for m in messages) == ["ana@example.org", "dupont@example.org", "zhang@example.org"]
    (to_ana,) = sent_to(messages, "ana@example.org")
    (to_zhang,) = sent_to(messages, "zhang@example.org")
    (to_dupont,) = sent_to(messages, "dupont@example.org")
    assert "路灯已于周一修好。" in to_ana.body and "The lamp was repaired" not in to_ana.body
    assert "路灯已于周一修好。" in to_zhang.body
    assert "The lamp was repaired on Monday." in to_dupont.body and "Bonjour" in to_dupont.body
    assert links_to(to_ana.body, tokens.read_track) == [item]
    assert links_to(to_zhang.body, tokens.read_track) == []
    assert [f.email for f in links_to(to_dupont.body, tokens.read_follow)] == ["dupont@example.org"]


@pytest.mark.parametrize(
    ("kind", "text", "field"),
    [
        ("memo", {"en": "Hi"}, "kind"),
        ("public", {}, "text"),
        ("public", {"en": "  "}, "text"),
        ("public", {"en": "<script>x</script>"}, "text"),
        ("public", {"xx": "Hi"}, "text"),
        ("public", ["Hi"], "text"),
    ],
)
def test_a_bad_reply_is_refused_naming_the_field(item, editor, kind, text, field):
    with pytest.raises(ApplicationError) as exc:
        services.reply_add(actor=editor, item_id=item.pk, kind=kind, text=text)
    assert exc.value.field == field
    assert not Reply.objects.exists()


def test_a_reply_mail_is_not_sent_once_the_reply_is_gone(item, editor):
    deliver()
    reply = services.reply_add(actor=editor, item_id=item.pk, kind="public", text={"en": "Fixed."})
    reply.delete()
    assert deliver() == []


def test_a_follower_who_left_before_sending_gets_nothing(item, editor):
    gone = follower(item, "zhang@example.org")
    deliver()
    services.reply_add(actor=editor, item_id=item.pk, kind="public", text={"en": "Fixed."})
    services.unfollow(follower_id=gone.pk)
    assert [m.to for m in deliver()] == [["ana@example.org"]]


def test_followers_hear_nothing_of_an_item_hidden_before_sending(item, editor):
    follower(item, "zhang@example.org")
    deliver()
    services.reply_add(actor=editor, item_id=item.pk, kind="public", text={"en": "Fixed."})
    services.item_set_hidden(actor=editor, item_id=item.pk, hidden=True)
    assert [m.to for m in deliver()] == [["ana@example.org"]]


def test_a_public_reply_to_many_followers_queues_one_delivery(item, editor, django_capture_on_commit_callbacks):
    for n in range(12):
        follower(item, f"follower{n}@example.org")
    with django_capture_on_commit_callbacks() as callbacks, CaptureQueriesContext(connection) as queries:
        services.reply_add(actor=editor, item_id=item.pk, kind="public", text={"en": "Fixed."})
    assert len(queued(item, "reply")) == 13
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT") and "outgoingmail" in q["sql"]]
    assert len(inserts) <= 2
    assert len(callbacks) <= 2


def test_reply_notices_read_their_reply_once_per_batch(item, editor):
    for n in range(12):
        follower(item, f"follower{n}@example.org")
    deliver()
    services.reply_add(actor=editor, item_id=item.pk, kind="public", text={"en": "Fixed."})
    with CaptureQueriesContext(connection) as queries:
        assert len(deliver()) == 13
    reads = [q for q in queries.captured_queries if q["sql"].startswith("SELECT") and "voice_reply" in q["sql"]]
    assert len(reads) <= 1


# --- hiding and themes ------------------------------------------------------------------------------


def test_hiding_takes_an_item_off_the_public_pages_and_back(item, coordinator, resident):
    services.item_set_hidden(actor=coordinator, item_id=item.pk, hidden=True)
    assert not fresh(item).is_public
    assert selectors.item_public(item.pk) is None
    assert item.pk not in {i.pk for i in selectors.items_public()}
    with pytest.raises(ApplicationError) as exc:
        services.support_add(user=resident, item_id=item.pk)
    assert exc.value.status == 404
    services.item_set_hidden(actor=coordinator, item_id=item.pk, hidden=False)
    assert selectors.item_public(item.pk) is not None
    assert [a.action for a in audits(item) if a.action.startswith("feedback.")] == ["feedback.hide", "feedback.show"]


def test_themes_are_added_once_and_removed(item, responder):
    services.item_tag(actor=responder, item_id=item.pk, names=["Noise at night", "<b>Bus signs</b>", "  ", "噪音"])
    services.item_tag(actor=responder, item_id=item.pk, names=["noise at night"])
    assert sorted(item.tags.values_list("slug", flat=True)) == ["bus-signs", "noise-at-night", "噪音"]
    assert Tag.objects.get(slug="bus-signs").name == "Bus signs"
    services.item_tag(actor=responder, item_id=item.pk, names=[], remove=["Bus signs"])
    assert sorted(item.tags.values_list("slug", flat=True)) == ["noise-at-night", "噪音"]
    last = audits(item, "feedback.tag")[-1]
    assert (last.before, last.after) == (
        {"tags": ["bus-signs", "noise-at-night", "噪音"]},
        {"tags": ["noise-at-night", "噪音"]},
    )


def test_a_theme_needs_a_name(item, responder):
    with pytest.raises(ApplicationError) as exc:
        services.item_tag(actor=responder, item_id=item.pk, names=["!!!"])
    assert exc.value.field == "tag"


# --- merging ------------------------------------------------------------------------------------


@pytest.fixture
def pair(routing):
    """A duplicate by an account holder (Bo), and the item that goes on (by Ana)."""
    bo = account("bo@example.org", language="fr")
    target = submit().item
    duplicate = submit(user=bo, contact_email="", text="Lamp at building 5 Hongqiao Road still broken.").item
    return duplicate, target, bo


def test_merging_carries_supporters_and_followers_once_each(pair, coordinator):
    duplicate, target, bo = pair
    both, only_dup, only_target = account(), account(), account()
    for user in (both, only_dup):
        services.support_add(user=user, item_id=duplicate.pk)
    for user in (both, only_target):
        services.support_add(user=user, item_id=target.pk)
    follower(duplicate, "shared@example.org")
    follower(target, "shared@example.org")
    follower(duplicate, "dup-only@example.org", "ja")
    follower(duplicate, "pending@example.org", confirmed=False)

    merged = services.item_merge(actor=coordinator, item_id=duplicate.pk, into_id=target.pk)

    target = fresh(target)
    supporters = sorted(Support.objects.filter(item=target).values_list("user_id", flat=True))
    assert supporters == sorted([both.pk, only_dup.pk, only_target.pk, bo.pk])  # Bo's own voice counts there
    followers = {f.email: f.confirmed for f in Follower.objects.filter(item=target)}
    assert followers == {
        "shared@example.org": True,
        "dup-only@example.org": True,
        "pending@example.org": False,
        "bo@example.org": True,  # the duplicate's author hears how it goes on
    }
    assert target.supporters_count == 4
    assert target.followers_count == 3
    assert not Support.objects.filter(item=duplicate).exists()
    assert not Follower.objects.filter(item=duplicate).exists()
    duplicate = fresh(merged)
    assert (duplicate.status, duplicate.merged_into) == (Status.MERGED, target)
    assert (duplicate.supporters_count, duplicate.followers_count) == (0, 0)
    assert duplicate.closed_at is not None and duplicate.first_response_at is not None
    assert [s.status for s in duplicate.spans.all()] == [Status.RECEIVED, Status.MERGED]
    assert audits(duplicate, "feedback.merge")[0].after["merged_into_id"] == target.pk


def test_the_duplicates_author_is_told_where_it_went(pair, coordinator):
    duplicate, target, bo = pair
    deliver()
    services.item_merge(actor=coordinator, item_id=duplicate.pk, into_id=target.pk)
    assert queued(duplicate, "merged") == [("bo@example.org", "en")]
    (message,) = deliver()
    assert message.to == ["bo@example.org"]
    assert f"#{target.pk}" in message.subject and f"#{target.pk}" in message.body
    assert links_to(message.body, tokens.read_track) == [duplicate]


def test_merging_the_same_authors_items_makes_no_self_support(routing, coordinator):
    ana = account("ana-account@example.org")
    target = submit(user=ana).item
    duplicate = submit(user=ana, text="Still broken: the lamp at building 5.").item
    services.item_merge(actor=coordinator, item_id=duplicate.pk, into_id=target.pk)
    assert not Support.objects.filter(item=target).exists()
    assert not Follower.objects.filter(item=target).exists()
    assert fresh(target).supporters_count == 0


def test_an_author_who_followed_their_own_item_is_merged_without_error(pair, coordinator):
    duplicate, target, bo = pair
    services.follow_request(item_id=duplicate.pk, email="bo@example.org", language="fr", user=bo)
    services.item_merge(actor=coordinator, item_id=duplicate.pk, into_id=target.pk)
    assert Follower.objects.get(item=target, email="bo@example.org").confirmed


def test_merging_never_makes_an_author_support_their_own_item(pair, coordinator):
    duplicate, target, bo = pair
    ana = account("ana-account@example.org")
    Item.objects.filter(pk=target.pk).update(user=ana)
    services.support_add(user=ana, item_id=duplicate.pk)
    services.item_merge(actor=coordinator, item_id=duplicate.pk, into_id=target.pk)
    assert not Support.objects.filter(item=target, user=ana).exists()


def test_merging_into_itself_is_refused(item, editor):
    with pytest.raises(ApplicationError) as exc:
        services.item_merge(actor=editor, item_id=item.pk, into_id=item.pk)
    assert exc.value.field == "into"


def test_chains_are_refused(routing, editor):
    a, b, c = (submit(text=f"Lamp number {n} on Hongqiao Road is out.").item for n in (1, 2, 3))
    services.item_merge(actor=editor, item_id=a.pk, into_id=b.pk)
    with pytest.raises(ApplicationError) as exc:
        services.item_merge(actor=editor, item_id=c.pk, into_id=a.pk)  # into a merged item
    assert (exc.value.field, exc.value.status) == ("into", 409)
    assert str(b.pk) in exc.value.message
    with pytest.raises(ApplicationError) as exc:
        services.item_merge(actor=editor, item_id=a.pk, into_id=c.pk)  # merging it again
    assert exc.value.status == 409
    with pytest.raises(ApplicationError) as exc:
        services.item_merge(actor=editor, item_id=b.pk, into_id=424242)
    assert (exc.value.field, exc.value.status) == ("into", 404)
    assert fresh(c).status == Status.RECEIVED and fresh(b).status == Status.RECEIVED


def test_merging_needs_both_items_in_scope(scene, coordinator):
    (hongqiao, _), (huacao, _) = scene["hongqiao"], scene["huacao"]
    for a, b in ((hongqiao, huacao), (huacao, hongqiao)):
        with pytest.raises(NotAllowed):
            services.item_merge(actor=coordinator, item_id=a.pk, into_id=b.pk)
    assert Item.objects.filter(status=Status.MERGED).count() == 0


# --- bulk -------------------------------------------------------------------------------------------


def test_bulk_changes_every_item(scene, editor, responder):
    ids = [i.pk for pair in scene.values() for i in pair]
    assert services.items_bulk(actor=editor, item_ids=ids, action="status", value=Status.IN_PROGRESS) == 4
    assert set(Item.objects.values_list("status", flat=True)) == {Status.IN_PROGRESS}
    assert services.items_bulk(actor=editor, item_ids=ids, action="tag", value="lighting") == 4
    assert Tag.objects.get(slug="lighting").items.count() == 4
    assert services.items_bulk(actor=editor, item_ids=ids, action="assign", value=str(editor.pk)) == 4
    assert set(Item.objects.values_list("assignee_id", flat=True)) == {editor.pk}


def test_bulk_is_all_or_nothing(scene, coordinator):
    mine = [i.pk for i in scene["hongqiao"]]
    theirs = scene["huacao"][0].pk
    outbox = OutgoingMail.objects.count()
    audited = AuditEntry.objects.count()
    with pytest.raises(NotAllowed):
        services.items_bulk(actor=coordinator, item_ids=[*mine, theirs], action="status", value=Status.CLOSED)
    assert set(Item.objects.values_list("status", flat=True)) == {Status.RECEIVED}
    assert StatusSpan.objects.filter(status=Status.CLOSED).count() == 0
    assert (OutgoingMail.objects.count(), AuditEntry.objects.count()) == (outbox, audited)


def test_bulk_stops_at_an_item_that_cannot_take_the_change(scene, editor):
    first, second = scene["hongqiao"]
    services.item_set_status(actor=editor, item_id=second.pk, status=Status.CLOSED)
    with pytest.raises(ApplicationError) as exc:
        services.items_bulk(
            actor=editor, item_ids=[first.pk, second.pk], action="status", value=Status.DECLINED, reason="x"
        )
    assert exc.value.status == 409
    assert (fresh(first).status, fresh(second).status) == (Status.RECEIVED, Status.CLOSED)


def test_bulk_reroute_and_unassign(scene, editor, city_office):
    ids = [i.pk for i in scene["hongqiao"]]
    services.items_bulk(actor=editor, item_ids=ids, action="assign", value=str(editor.pk))
    services.items_bulk(actor=editor, item_ids=ids, action="reroute", value=str(city_office.pk))
    services.items_bulk(actor=editor, item_ids=ids, action="assign", value="")
    rows = set(Item.objects.filter(pk__in=ids).values_list("office_id", "assignee_id", "status"))
    assert rows == {(city_office.pk, None, Status.RECEIVED)}


@pytest.mark.parametrize(
    ("ids", "action", "field"),
    [([], "status", "items"), ([1, 2, 3], "status", "items"), ([1], "delete", "action")],
)
def test_bulk_refuses_too_many_none_or_an_unknown_action(scene, editor, settings, ids, action, field):
    settings.YULAN_FEEDBACK_BULK_MAX = 2
    with pytest.raises(ApplicationError) as exc:
        services.items_bulk(actor=editor, item_ids=ids, action=action, value=Status.CLOSED)
    assert exc.value.field == field
    assert set(Item.objects.values_list("status", flat=True)) == {Status.RECEIVED}


@pytest.mark.parametrize("action", ["assign", "reroute"])
@pytest.mark.parametrize("value", ["somebody", "12a", "١٢"])
def test_bulk_refuses_a_value_that_is_not_a_number(scene, editor, action, value):
    ids = [i.pk for i in scene["hongqiao"]]
    with pytest.raises(ApplicationError) as exc:
        services.items_bulk(actor=editor, item_ids=ids, action=action, value=value)
    assert exc.value.field == "value"
    assert not audits(scene["hongqiao"][0])


def test_bulk_errors_name_the_item_at_fault(scene, coordinator, editor):
    mine, theirs = scene["hongqiao"][0], scene["huacao"][0]
    with pytest.raises(NotAllowed) as exc:
        services.items_bulk(actor=coordinator, item_ids=[mine.pk, theirs.pk], action="status", value=Status.CLOSED)
    assert f"#{theirs.pk}" in exc.value.message
    services.item_set_status(actor=editor, item_id=mine.pk, status=Status.CLOSED)
    with pytest.raises(ApplicationError) as exc:
        services.items_bulk(actor=editor, item_ids=[mine.pk], action="status", value=Status.ANSWERED)
    assert f"#{mine.pk}" in exc.value.message and (exc.value.status, exc.value.field) == (409, "status")


@pytest.mark.parametrize("ids", [["x"], [None], ["1.5"]])
def test_bulk_refuses_item_ids_that_are_not_numbers(scene, editor, ids):
    with pytest.raises(ApplicationError) as exc:
        services.items_bulk(actor=editor, item_ids=ids, action="status", value=Status.CLOSED)
    assert exc.value.field == "items"


# --- support --------------------------------------------------------------------------------------


def test_support_counts_once_per_account(item, resident):
    assert services.support_add(user=resident, item_id=item.pk).supporters_count == 1
    assert services.support_add(user=resident, item_id=item.pk).supporters_count == 1
    assert Support.objects.filter(item=item).count() == 1
    assert services.support_remove(user=resident, item_id=item.pk).supporters_count == 0
    assert services.support_remove(user=resident, item_id=item.pk).supporters_count == 0


def test_supporting_your_own_item_is_refused(routing, resident):
    item = submit(user=resident).item
    with pytest.raises(ApplicationError) as exc:
        services.support_add(user=resident, item_id=item.pk)
    assert exc.value.status == 409
    assert fresh(item).supporters_count == 0


def test_only_public_items_can_be_supported(routing, resident):
    private = submit(public_consent=False).item
    with pytest.raises(ApplicationError) as exc:
        services.support_add(user=resident, item_id=private.pk)
    assert exc.value.status == 404
    with pytest.raises(ApplicationError) as exc:
        services.support_add(user=resident, item_id=424242)
    assert exc.value.status == 404


def test_a_merged_item_sends_support_to_the_one_that_goes_on(pair, editor, resident):
    duplicate, target, _bo = pair
    services.item_merge(actor=editor, item_id=duplicate.pk, into_id=target.pk)
    with pytest.raises(ApplicationError) as exc:
        services.support_add(user=resident, item_id=duplicate.pk)
    assert exc.value.status == 409


# --- following ----------------------------------------------------------------------------------


def test_an_account_follows_with_its_own_address_at_once(item, resident):
    found = services.follow_request(item_id=item.pk, email="Resident@Example.org", language="ja", user=resident)
    assert (found.confirmed, found.user, found.email, found.language) == (True, resident, "resident@example.org", "ja")
    assert fresh(item).followers_count == 1
    again = services.follow_request(item_id=item.pk, email="resident@example.org", language="ja", user=resident)
    assert again.pk == found.pk and fresh(item).followers_count == 1
    assert not queued(item, "follow_confirm")


def test_another_address_is_confirmed_by_mail_first(item, resident, monkeypatch):
    found = services.follow_request(item_id=item.pk, email="Zhang@Example.org", language="zh-hans", user=resident)
    assert (found.confirmed, found.user, found.email) == (False, None, "zhang@example.org")
    assert fresh(item).followers_count == 0
    # Asking again within the hour sends no second confirmation.
    services.follow_request(item_id=item.pk, email="zhang@example.org", language="zh-hans")
    assert queued(item, "follow_confirm") == [("zhang@example.org", "zh-hans")]
    later = timezone.now() + datetime.timedelta(hours=1, minutes=1)
    monkeypatch.setattr(services, "_now", lambda: later)
    services.follow_request(item_id=item.pk, email="zhang@example.org", language="zh-hans")
    assert len(queued(item, "follow_confirm")) == 2

    messages = deliver()
    to_zhang = sent_to(messages, "zhang@example.org")
    assert len(to_zhang) == 2
    (link,) = links_to(to_zhang[0].body, tokens.read_follow)
    assert link.pk == found.pk
    services.follow_confirm(follower_id=link.pk)
    services.follow_confirm(follower_id=link.pk)
    assert fresh(item).followers_count == 1
    assert Follower.objects.get(pk=found.pk).confirmed


def test_a_confirmation_is_not_sent_once_confirmed(item):
    found = services.follow_request(item_id=item.pk, email="zhang@example.org", language="en")
    services.follow_confirm(follower_id=found.pk)
    assert sent_to(deliver(), "zhang@example.org") == []


def test_unfollowing_counts_down_once(item):
    kept = follower(item, "kept@example.org")
    gone = follower(item, "gone@example.org")
    pending = follower(item, "pending@example.org", confirmed=False)
    assert fresh(item).followers_count == 2
    services.unfollow(follower_id=gone.pk)
    services.unfollow(follower_id=gone.pk)
    services.unfollow(follower_id=pending.pk)
    assert fresh(item).followers_count == 1
    assert list(Follower.objects.filter(item=item).values_list("pk", flat=True)) == [kept.pk]


@pytest.mark.parametrize(
    ("email", "language", "field"),
    [("", "en", "email"), ("not an address", "en", "email"), ("a@example.org", "xx", "language")],
)
def test_following_needs_an_address_and_a_language(item, email, language, field):
    with pytest.raises(ApplicationError) as exc:
        services.follow_request(item_id=item.pk, email=email, language=language)
    assert exc.value.field == field
    assert not Follower.objects.exists()


def test_only_public_items_can_be_followed(routing):
    private = submit(public_consent=False).item
    with pytest.raises(ApplicationError) as exc:
        services.follow_request(item_id=private.pk, email="a@example.org", language="en")
    assert exc.value.status == 404


# --- a submitter's own data -------------------------------------------------------------------------


def test_the_export_holds_what_was_sent_and_answered(routing, editor, resident):
    by_mail = submit().item
    by_account = submit(user=resident, contact_email="", text="The bus sign at stop 3 is only in Chinese.").item
    submit(contact_email="someone-else@example.org", text="Nothing to do with Ana.")
    services.reply_add(actor=editor, item_id=by_mail.pk, kind="note", text={"en": "Internal."})
    services.reply_add(actor=editor, item_id=by_mail.pk, kind="public", text={"en": "Fixed."})
    follower(by_account, "ana@example.org")

    data = services.my_data_export(email="ANA@example.org")
    assert [i["reference"] for i in data["items"]] == [by_mail.reference]
    (exported,) = data["items"]
    assert (exported["contact_email"], exported["contact_name"], exported["text"]) == ("ana@example.org", "Ana", TEXT)
    assert [r["text"] for r in exported["replies"]] == [{"en": "Fixed."}]
    assert data["following"] == [by_account.pk]
    assert [i["reference"] for i in services.my_data_export(user=resident)["items"]] == [by_account.reference]


def test_erasing_keeps_the_items_without_their_author(routing, editor, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("street.jpg", jpeg_bytes(), content_type="image/jpeg")
    item = submit(photo=upload, contact_phone="12345").item
    other = submit(contact_email="someone-else@example.org").item
    followed = submit(contact_email="bo@example.org", text="The bus sign at stop 3 is only in Chinese.").item
    follower(followed, "ana@example.org")
    assert fresh(followed).followers_count == 1
    photo = item.photo
    assert default_storage.exists(photo)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.my_data_erase(email="Ana@Example.org") == 1

    item = fresh(item)
    assert item.text == TEXT and item.status == Status.RECEIVED  # what the city was told stays
    assert (item.contact_name, item.contact_email, item.contact_phone, item.user, item.photo) == ("", "", "", None, "")
    assert item.anonymised_at is not None and item.fingerprint == ""
    assert not default_storage.exists(photo)
    (entry,) = audits(item, "feedback.anonymise")
    assert entry.actor is None and "ana@example.org" not in str((entry.before, entry.after))
    assert not Follower.objects.filter(email="ana@example.org").exists()
    assert fresh(followed).followers_count == 0
    assert fresh(other).contact_email == "someone-else@example.org"
    assert services.my_data_erase(email="ana@example.org") == 0
    assert services.my_data_export(email="ana@example.org") == {"items": [], "following": []}
    # Sending the same words again is a new item: the erased one no longer answers for them.
    assert submit(photo=None, contact_phone="12345").created


def test_erasing_by_account(routing, resident):
    item = submit(user=resident, contact_email="").item
    assert services.my_data_erase(user=resident) == 1
    assert (fresh(item).user, fresh(item).contact_email) == (None, "")


def test_erasing_leaves_no_contact_details_in_the_audit_log(item, editor):
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.IN_PROGRESS)
    services.item_set_hidden(actor=editor, item_id=item.pk, hidden=True)
    services.my_data_erase(email="ana@example.org")
    written = str(list(AuditEntry.objects.values_list("before", "after")))
    assert "ana@example.org" not in written
    assert "'Ana'" not in written


def test_nothing_more_is_mailed_to_an_erased_submitter(item, editor):
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.IN_PROGRESS)
    services.my_data_erase(email="ana@example.org")
    assert sent_to(deliver(), "ana@example.org") == []


def test_a_data_link_is_mailed_only_where_there_is_something_once_an_hour(routing):
    submit()
    services.my_data_request(email="nobody@example.org", language="en")
    services.my_data_request(email="Ana@Example.org", language="fr")
    services.my_data_request(email="ana@example.org", language="fr")
    rows = OutgoingMail.objects.filter(context__notice="my_data")
    assert list(rows.values_list("to_email", "language")) == [("ana@example.org", "fr")]
    (message,) = sent_to(deliver(), "ana@example.org")[-1:]
    assert "Bonjour" in message.body
    (token,) = [t for t in tokens_in(message.body) if _reads_my_data(t)]
    assert tokens.read_my_data(token) == "ana@example.org"
    with pytest.raises(ApplicationError) as exc:
        services.my_data_request(email="", language="en")
    assert exc.value.field == "email"


def _reads_my_data(token: str) -> bool:
    try:
        tokens.read_my_data(token)
    except ApplicationError:
        return False
    return True


# --- audit and transactions -------------------------------------------------------------------------


def test_every_staff_write_is_audited_without_secrets(pair, editor, responder, city_office):
    duplicate, target, _bo = pair
    services.item_assign(actor=editor, item_id=target.pk, assignee_id=responder.pk)
    services.item_set_status(actor=editor, item_id=target.pk, status=Status.IN_PROGRESS)
    services.item_set_hidden(actor=editor, item_id=target.pk, hidden=False)
    services.item_tag(actor=editor, item_id=target.pk, names=["lighting"])
    services.reply_add(actor=editor, item_id=target.pk, kind="public", text={"en": "On it."})
    services.item_reroute(actor=editor, item_id=target.pk, office_id=city_office.pk)
    services.item_merge(actor=editor, item_id=duplicate.pk, into_id=target.pk)
    entries = AuditEntry.objects.filter(action__startswith="feedback.")
    assert sorted(e.action for e in entries) == sorted(
        [
            "feedback.assign",
            "feedback.status",
            "feedback.show",
            "feedback.tag",
            "feedback.reply.public",
            "feedback.reroute",
            "feedback.merge",
        ]
    )
    for entry in entries:
        assert entry.actor == editor
        for side in (entry.before or {}, entry.after or {}):
            assert "secret" not in side and "fingerprint" not in side
        assert target.secret not in str((entry.before, entry.after))
        assert duplicate.secret not in str((entry.before, entry.after))


def test_mail_is_delivered_only_after_the_write_commits(item, editor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.item_set_status(actor=editor, item_id=item.pk, status=Status.IN_PROGRESS)
    assert callbacks  # delivery is asked for once the change is stored
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ApplicationError):
        services.item_set_status(actor=editor, item_id=item.pk, status=Status.MERGED)
    assert callbacks == []


def test_a_photo_upload_of_another_format_is_stored_as_jpeg(routing):
    out = io.BytesIO()
    Image.new("RGBA", (30, 20), (0, 128, 0, 100)).save(out, format="PNG")
    item = submit(photo=SimpleUploadedFile("a.png", out.getvalue(), content_type="image/png")).item
    with default_storage.open(item.photo) as stored, Image.open(stored) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (30, 20))


def test_reopening_a_declined_item_drops_the_reason(routing, coordinator):
    item = submit().item
    services.item_set_status(actor=coordinator, item_id=item.pk, status="declined", reason="A private matter")
    item = services.item_set_status(actor=coordinator, item_id=item.pk, status="received")
    assert item.status_reason == ""


def test_a_merged_item_cannot_be_assigned(routing, coordinator):
    first = submit().item
    duplicate = submit(text="Streetlight at building 5 broken", contact_email="b@example.org").item
    services.item_merge(actor=coordinator, item_id=duplicate.pk, into_id=first.pk)
    with pytest.raises(ApplicationError) as exc:
        services.item_assign(actor=coordinator, item_id=duplicate.pk, assignee_id=coordinator.pk)
    assert exc.value.status == 409
    assert Item.objects.get(pk=duplicate.pk).assignee_id is None


def test_a_theme_named_twice_is_one_theme(routing, coordinator):
    item = submit().item
    services.item_tag(actor=coordinator, item_id=item.pk, names=["Night noise", "night noise", "Night  noise"])
    assert Tag.objects.count() == 1
    assert list(item.tags.values_list("slug", flat=True)) == ["night-noise"]


def test_routing_and_categories_read_from_memory_follow_every_change(routing, editor, office, city_office):
    assert submit().item.office == office
    services.rule_set(actor=editor, category_id=routing["streets"].pk, community_id=None, office_id=city_office.pk)
    RoutingRule.objects.filter(category=routing["streets"], community__isnull=False).delete()
    assert submit(text="Another dark streetlight on Hongqiao Road.").item.office == city_office
    services.category_save(actor=editor, slug="streets", name={"en": "Streets"}, active=False)
    with pytest.raises(ApplicationError) as exc:
        submit(text="A third one.")
    assert exc.value.field == "category"
    # One submission reads no reference table: category, community, rules come from memory.
    with CaptureQueriesContext(connection) as queries:
        submit(category="services", text="Forms only in Chinese at the service hall.", contact_email="")
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    for table in ("voice_category", "core_community", "voice_routingrule", "core_office"):
        assert f'FROM "{table}"' not in tables
