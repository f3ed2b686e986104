"""The staff side of the feedback loop through the test client: the triage queue (scope,
filters, cursor pages, the overdue flag, bulk actions that change all or nothing, query strings
that are not understood), an item's page and each of its forms with their errors, the routing
rules and categories (setup only), and the staff home page's feedback links."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from yulan.core.models import Role, User
from yulan.core.services import role_grant
from yulan.voice import services
from yulan.voice.models import Category, Item, Reply, RoutingRule, StatusSpan, Tag

from .conftest import submit

Status = Item.Status


# --- helpers ----------------------------------------------------------------------------------


def body(response) -> str:
    return response.content.decode()


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def queue_refs(response) -> list[int]:
    return [item.pk for item in response.context["page"].items]


def field_box(html: str, name: str) -> str:
    """The `.field` box holding the control named `name`: its label, value and error."""
    for chunk in html.split('<div class="field">')[1:]:
        if f'name="{name}"' in chunk:
            return chunk
    raise AssertionError(f"no field {name!r} in the page")


QUEUE = "/en/staff/feedback/"


def item_url(item: Item, action: str = "") -> str:
    return f"/en/staff/feedback/{item.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def other_coordinator(admin_user, other_community):
    """The coordinator of the other community (`coordinator` runs Hongqiao)."""
    user = User.objects.create_user("coordinator-other@example.org", "pw-coord-other-1234")
    role_grant(actor=admin_user, user=user, role=Role.COORDINATOR, community=other_community)
    return user


@pytest.fixture
def items(routing, other_community):
    """Hongqiao streets (→ the foreign-affairs office), Hongqiao services (→ city services by
    default) and Huacao streets (→ city services by default)."""
    street = submit(text="The streetlight outside building 5 on Hongqiao Road is broken.").item
    service = submit(category="services", text="The service centre opening hours are not posted in English.").item
    huacao = submit(
        community="huacao",
        text="A pavement on Huacao Road is broken.",
        contact_email="ben@example.org",
        public_consent=False,
    ).item
    return {"street": street, "service": service, "huacao": huacao}


def many_items(n: int, *, category: Category, community=None, office=None, start=None) -> list[Item]:
    """`n` items a minute apart, the newest first in the queue."""
    start = start or timezone.now() - datetime.timedelta(days=1)
    rows = [
        Item(
            category=category,
            community=community,
            office=office,
            text=f"Item number {i} about the street.",
            fingerprint=f"many-{i}",
            created_at=start + datetime.timedelta(minutes=i),
            updated_at=start,
            status_changed_at=start,
            due_at=start + datetime.timedelta(days=30),
        )
        for i in range(n)
    ]
    return Item.objects.bulk_create(rows)


# --- the queue: who sees what ---------------------------------------------------------------------


def test_the_queue_shows_only_the_users_scope(
    items, coordinator, responder, other_responder, other_coordinator, editor
):
    street, service, huacao = items["street"], items["service"], items["huacao"]
    assert street.office.slug == "foreign-affairs" and service.office.slug == "city-services"

    def refs(user):
        response = signed_in(user).get(QUEUE)
        assert response.status_code == 200
        return set(queue_refs(response))

    assert refs(coordinator) == {street.pk, service.pk}
    assert refs(responder) == {street.pk}
    assert refs(other_responder) == {service.pk, huacao.pk}
    assert refs(other_coordinator) == {huacao.pk}
    assert refs(editor) == {street.pk, service.pk, huacao.pk}


def test_the_queue_is_for_signed_in_staff_only(items, resident):
    assert Client().get(QUEUE).status_code == 302
    assert signed_in(resident).get(QUEUE).status_code == 403


def test_the_queue_shows_the_open_and_overdue_counts(items, editor):
    Item.objects.filter(pk=items["street"].pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    response = signed_in(editor).get(QUEUE)
    assert response.context["counts"]["open"] == "3"
    assert response.context["counts"]["overdue"] == "1"


def test_a_count_past_the_cap_shows_as_more_than(routing, editor, community):
    many_items(1002, category=routing["streets"], community=community)
    response = signed_in(editor).get(QUEUE)
    assert response.context["counts"]["open"] == "1000+"
    assert "1000+" in body(response)


def test_the_overdue_flag_is_written_out(items, editor):
    Item.objects.filter(pk=items["street"].pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    html = body(signed_in(editor).get(QUEUE))
    rows = {
        int(m.group(1)): m.group(0)
        for m in re.finditer(r'<tr[^>]*>\s*<td><input type="checkbox" name="items" value="(\d+)".*?</tr>', html, re.S)
    }
    assert ">Overdue<" in rows[items["street"].pk]
    assert ">Overdue<" not in rows[items["service"].pk]


# --- the queue: filters ---------------------------------------------------------------------------


def test_the_queue_filters(items, editor, office, community, responder):
    street, service, huacao = items["street"], items["service"], items["huacao"]
    client = signed_in(editor)

    def refs(query):
        response = client.get(QUEUE + query)
        assert response.status_code == 200, query
        return set(queue_refs(response))

    assert refs(f"?office={office.pk}") == {street.pk}
    assert refs(f"?community={community.pk}") == {street.pk, service.pk}
    assert refs(f"?category={service.category_id}") == {service.pk}
    assert refs("?q=opening+hours") == {service.pk}
    assert refs(f"?q=%23{huacao.pk}") == {huacao.pk}
    assert refs(f"?q={huacao.pk}") == {huacao.pk}

    services.item_assign(actor=editor, item_id=street.pk, assignee_id=responder.pk)
    services.item_assign(actor=editor, item_id=service.pk, assignee_id=editor.pk)
    assert refs(f"?assignee={responder.pk}") == {street.pk}
    assert refs("?assignee=me") == {service.pk}
    assert refs("?assignee=none") == {huacao.pk}

    services.item_set_status(actor=editor, item_id=huacao.pk, status=Status.CLOSED)
    assert refs("") == {street.pk, service.pk}
    assert refs("?status=closed") == {huacao.pk}
    assert refs("?status=all") == {street.pk, service.pk, huacao.pk}

    Item.objects.filter(pk=service.pk).update(due_at=timezone.now() - datetime.timedelta(minutes=5))
    assert refs("?overdue=on") == {service.pk}

    services.item_tag(actor=editor, item_id=street.pk, names=["Broken lights"])
    assert refs("?theme=broken-lights") == {street.pk}
    assert refs("?theme=Broken+lights") == {street.pk}  # typed by name, as the suggestions offer it

    Item.objects.filter(pk=service.pk).update(language="ja")
    assert refs("?language=ja") == {service.pk}


def test_a_coordinator_filtering_on_another_community_sees_nothing_of_it(items, coordinator, other_community):
    response = signed_in(coordinator).get(f"{QUEUE}?community={other_community.pk}&status=all")
    assert queue_refs(response) == []


@pytest.mark.parametrize(
    "query",
    [
        "?office=abc",
        "?office=99999",
        "?office=99999999999999999999999",
        "?community=-1",
        "?category=%00",
        "?assignee=zz",
        "?assignee=99999999999999999999",
        "?status=nope",
        "?theme=no-such-theme",
        "?language=xx",
        "?overdue=maybe",
        "?q=%2399999999999999999999999",
        "?q=%C2%B2",
        "?q=a%00b",
        "?q=" + "x" * 500,
        "?cursor=garbage",
        "?cursor=nan_1",
        "?cursor=inf_1",
        "?cursor=1e308_1",
        "?cursor=1_99999999999999999999",
        "?cursor=99999999999_5",
        "?cursor=1700000000.5_",
        "?office=1&office=2",
    ],
)
def test_query_strings_that_are_not_understood_never_fail(items, editor, query):
    response = signed_in(editor).get(QUEUE + query)
    assert response.status_code in (200, 400), query
    assert set(queue_refs(response)) <= {i.pk for i in items.values()}


def test_a_filter_not_understood_is_left_out_and_said_so(items, editor, office):
    response = signed_in(editor).get(f"{QUEUE}?office=abc&community=nope")
    assert response.status_code == 400
    assert "not understood" in body(response)
    # The other filters still apply.
    response = signed_in(editor).get(f"{QUEUE}?office={office.pk}&assignee=zz")
    assert set(queue_refs(response)) == {items["street"].pk}


def test_item_pages_with_numbers_too_large_are_not_found(editor):
    assert signed_in(editor).get("/en/staff/feedback/99999999999999999999999/").status_code == 404


# --- the queue: pages -----------------------------------------------------------------------------


def test_cursor_pages_follow_on_without_repeats_and_keep_the_filters(routing, editor, community, office):
    made = many_items(57, category=routing["streets"], community=community, office=office)
    many_items(3, category=routing["services"], community=community, start=timezone.now() - datetime.timedelta(days=2))
    client = signed_in(editor)
    first = client.get(f"{QUEUE}?office={office.pk}")
    page_one = queue_refs(first)
    assert len(page_one) == 50
    assert page_one == [i.pk for i in sorted(made, key=lambda i: i.created_at, reverse=True)][:50]
    link = re.search(r'href="(\?[^"]*cursor=[^"]*)" rel="next"', body(first)).group(1).replace("&amp;", "&")
    assert f"office={office.pk}" in link
    second = client.get(QUEUE + link)
    page_two = queue_refs(second)
    assert len(page_two) == 7
    assert not set(page_one) & set(page_two)
    assert set(page_one) | set(page_two) == {i.pk for i in made}
    assert 'rel="next"' not in body(second)
    assert "First page" in body(second)


# --- the queue: bulk actions --------------------------------------------------------------------------


def test_bulk_assign(items, coordinator, editor):
    street, service = items["street"], items["service"]
    response = signed_in(coordinator).post(
        f"{QUEUE}?status=open",
        {"items": [street.pk, service.pk], "bulk-action": "assign", "bulk-assignee": str(coordinator.pk)},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?status=open"
    for item in (street, service):
        item.refresh_from_db()
        assert item.assignee == coordinator
        assert item.status == Status.ASSIGNED
    follow = signed_in(coordinator).get(QUEUE)
    assert follow.status_code == 200


def test_bulk_status_needs_a_reason_to_decline_and_changes_nothing_without(items, coordinator):
    street, service = items["street"], items["service"]
    client = signed_in(coordinator)
    response = client.post(
        QUEUE, {"items": [street.pk, service.pk], "bulk-action": "status", "bulk-status": "declined"}
    )
    assert response.status_code == 400
    html = body(response)
    assert "Say why this is not for us" in html
    assert "Nothing was changed." in html
    assert f'value="{street.pk}" id="select-{street.pk}" checked' in html
    assert Item.objects.filter(status=Status.DECLINED).count() == 0

    response = client.post(
        QUEUE,
        {
            "items": [street.pk, service.pk],
            "bulk-action": "status",
            "bulk-status": "declined",
            "bulk-reason": "The district handles this; call 12345.",
        },
    )
    assert response.status_code == 302
    assert set(Item.objects.filter(status=Status.DECLINED).values_list("pk", flat=True)) == {street.pk, service.pk}


def test_bulk_reroute_and_theme(items, editor, city_office):
    street, service = items["street"], items["service"]
    client = signed_in(editor)
    response = client.post(
        QUEUE, {"items": [street.pk, service.pk], "bulk-action": "reroute", "bulk-office": str(city_office.pk)}
    )
    assert response.status_code == 302
    assert set(Item.objects.filter(office=city_office).values_list("pk", flat=True)) >= {street.pk, service.pk}
    response = client.post(QUEUE, {"items": [street.pk, service.pk], "bulk-action": "tag", "bulk-tag": "Night noise"})
    assert response.status_code == 302
    assert set(Tag.objects.get(slug="night-noise").items.values_list("pk", flat=True)) == {street.pk, service.pk}


def test_bulk_actions_are_all_or_nothing(items, coordinator):
    """One item the coordinator does not handle in the selection: nothing changes, the message
    names it and the selection is kept."""
    street, huacao = items["street"], items["huacao"]
    response = signed_in(coordinator).post(
        QUEUE, {"items": [street.pk, huacao.pk], "bulk-action": "tag", "bulk-tag": "Lights"}
    )
    assert response.status_code == 403
    html = body(response)
    assert f"You do not handle #{huacao.pk}" in html
    assert "Nothing was changed." in html
    assert f'value="{street.pk}" id="select-{street.pk}" checked' in html
    assert not Tag.objects.filter(slug="lights").exists() or not Tag.objects.get(slug="lights").items.exists()

    response = signed_in(coordinator).post(
        QUEUE, {"items": [street.pk, huacao.pk], "bulk-action": "status", "bulk-status": "in_progress"}
    )
    assert response.status_code == 403
    street.refresh_from_db()
    assert street.status == Status.RECEIVED


def test_bulk_action_errors(items, coordinator, other_responder):
    street = items["street"]
    client = signed_in(coordinator)
    # Nothing selected.
    response = client.post(QUEUE, {"bulk-action": "tag", "bulk-tag": "x"})
    assert response.status_code == 400
    assert "Select at least one item." in body(response)
    # A selection that is not ids.
    response = client.post(QUEUE, {"items": ["abc"], "bulk-action": "tag", "bulk-tag": "x"})
    assert response.status_code == 400
    # An action without its value.
    response = client.post(QUEUE, {"items": [street.pk], "bulk-action": "reroute"})
    assert response.status_code == 400
    assert "Choose or enter a value" in field_box(body(response), "bulk-office")
    # A colleague who does not handle the item (the list offers them: the service says no).
    response = client.post(
        QUEUE, {"items": [street.pk], "bulk-action": "status", "bulk-status": "received", "bulk-reason": ""}
    )
    assert response.status_code == 302  # already received: nothing to do, nothing wrong
    response = client.post(QUEUE, {"items": [street.pk], "bulk-action": "nope"})
    assert response.status_code == 400
    street.refresh_from_db()
    assert street.tags.count() == 0


# --- an item's page -------------------------------------------------------------------------------


def test_the_item_page_shows_everything_to_those_who_handle_it(items, coordinator, responder):
    street = items["street"]
    services.reply_add(actor=responder, item_id=street.pk, kind="note", text={"en": "Checking with the road office."})
    services.reply_add(
        actor=responder, item_id=street.pk, kind="private", text={"en": "Thanks, Ana.", "ja": "アナさん"}
    )
    for user in (coordinator, responder):
        response = signed_in(user).get(item_url(street))
        assert response.status_code == 200
        html = body(response)
        assert "ana@example.org" in html
        assert "Ana" in html
        assert "Internal note" in html and "Private reply" in html
        assert "Checking with the road office." in html
        assert 'lang="ja"' in html
        assert "Received" in html
        assert "Hongqiao Subdistrict" in html


def test_contact_details_never_reach_the_queue(items, coordinator):
    assert "ana@example.org" not in body(signed_in(coordinator).get(QUEUE))


def test_others_cannot_open_the_item_page(items, other_coordinator, other_responder, responder, editor):
    street, service = items["street"], items["service"]
    assert signed_in(other_coordinator).get(item_url(street)).status_code == 403
    assert "ana@example.org" not in body(signed_in(other_coordinator).get(item_url(street)))
    assert signed_in(responder).get(item_url(service)).status_code == 403
    assert signed_in(other_responder).get(item_url(street)).status_code == 403
    assert signed_in(editor).get("/en/staff/feedback/999999/").status_code == 404
    # The forms too.
    response = signed_in(other_coordinator).post(item_url(street, "status"), {"status-status": "in_progress"})
    assert response.status_code == 403
    street.refresh_from_db()
    assert street.status == Status.RECEIVED


def test_the_item_page_lists_time_in_status_and_history(items, coordinator):
    street = items["street"]
    services.item_set_status(actor=coordinator, item_id=street.pk, status=Status.IN_PROGRESS)
    response = signed_in(coordinator).get(item_url(street))
    html = body(response)
    labels = [label for label, _span in response.context["time_in_status"]]
    assert labels == ["Received", "In progress"]
    assert str(coordinator) in html
    assert len(response.context["history"]) == 2


def test_the_item_page_links_the_photo_when_there_is_one(items, editor):
    street = items["street"]
    Item.objects.filter(pk=street.pk).update(photo="feedback/x.jpg", media_url="https://app.example.org/p/1.jpg")
    html = body(signed_in(editor).get(item_url(street)))
    try:
        assert reverse("voice:photo", args=[street.pk]) in html
    except NoReverseMatch:  # the photo page is not there yet: the page says a photo came
        assert "A photo was sent with it." in html
    assert 'href="https://app.example.org/p/1.jpg" rel="noopener noreferrer nofollow"' in html


# --- an item's forms ------------------------------------------------------------------------------


def test_status_form(items, coordinator):
    street = items["street"]
    client = signed_in(coordinator)
    response = client.post(item_url(street, "status"), {"status-status": "in_progress", "status-reason": ""})
    assert response.status_code == 302
    assert response["Location"] == item_url(street)
    street.refresh_from_db()
    assert street.status == Status.IN_PROGRESS


def test_declining_without_a_reason_is_refused(items, coordinator):
    street = items["street"]
    response = signed_in(coordinator).post(
        item_url(street, "status"), {"status-status": "declined", "status-reason": " "}
    )
    assert response.status_code == 400
    assert "Say why this is not for us" in field_box(body(response), "status-reason")
    street.refresh_from_db()
    assert street.status == Status.RECEIVED
    assert StatusSpan.objects.filter(item=street).count() == 1

    response = signed_in(coordinator).post(
        item_url(street, "status"), {"status-status": "declined", "status-reason": "Not a city matter."}
    )
    assert response.status_code == 302
    street.refresh_from_db()
    assert (street.status, street.status_reason) == (Status.DECLINED, "Not a city matter.")


def test_a_status_the_item_cannot_reach_is_refused(items, coordinator):
    street = items["street"]
    services.item_set_status(actor=coordinator, item_id=street.pk, status=Status.CLOSED)
    response = signed_in(coordinator).post(item_url(street, "status"), {"status-status": "received"})
    assert response.status_code == 400
    street.refresh_from_db()
    assert street.status == Status.CLOSED


def test_assign_form_offers_who_may_handle_the_item(items, coordinator, responder, other_responder, editor):
    street = items["street"]
    client = signed_in(coordinator)
    html = body(client.get(item_url(street)))
    box = field_box(html, "assign-assignee")
    assert responder.email in box and coordinator.email in box and editor.email in box
    assert other_responder.email not in box

    response = client.post(item_url(street, "assign"), {"assign-assignee": str(responder.pk)})
    assert response.status_code == 302
    street.refresh_from_db()
    assert (street.assignee, street.status) == (responder, Status.ASSIGNED)

    response = client.post(item_url(street, "assign"), {"assign-assignee": str(other_responder.pk)})
    assert response.status_code == 400
    assert "Choose a colleague who handles this item." in field_box(body(response), "assign-assignee")
    street.refresh_from_db()
    assert street.assignee == responder

    response = client.post(item_url(street, "assign"), {"assign-assignee": "abc"})
    assert response.status_code == 400

    response = client.post(item_url(street, "assign"), {"assign-assignee": ""})
    assert response.status_code == 302
    street.refresh_from_db()
    assert (street.assignee, street.status) == (None, Status.RECEIVED)


def test_reroute_form(items, responder, city_office, coordinator, other_community):
    street = items["street"]
    response = signed_in(responder).post(item_url(street, "route"), {"route-office": str(city_office.pk)})
    # It has left the responder's office: back to the queue.
    assert response.status_code == 302
    assert response["Location"] == QUEUE
    street.refresh_from_db()
    assert street.office == city_office

    response = signed_in(coordinator).post(item_url(street, "route"), {"route-office": "abc"})
    assert response.status_code == 400
    response = signed_in(coordinator).post(
        item_url(street, "route"), {"route-office": str(city_office.pk), "route-community": str(other_community.pk)}
    )
    assert response.status_code == 302
    street.refresh_from_db()
    assert street.community == other_community


def test_reply_forms(items, coordinator):
    street = items["street"]
    client = signed_in(coordinator)
    response = client.post(
        item_url(street, "reply"),
        {
            "reply-kind": "public",
            "reply-text": "The light is repaired.",
            "reply-language": "en",
            "reply-translation": "路灯已修好。",
            "reply-translation_language": "zh-hans",
        },
    )
    assert response.status_code == 302
    reply = Reply.objects.get(item=street)
    assert reply.kind == "public"
    assert reply.text.data == {"en": "The light is repaired.", "zh-hans": "路灯已修好。"}


def test_the_translation_language_is_the_submitters(items, coordinator, routing):
    item = submit(text="街灯坏了两个星期了，请尽快修理。谢谢大家的帮助！", language="zh-hans").item
    html = body(signed_in(coordinator).get(item_url(item)))
    box = field_box(html, "reply-translation_language")
    assert re.search(r'<option value="zh-hans" selected>', box)


def test_a_translation_into_the_same_language_is_refused(items, coordinator):
    street = items["street"]
    response = signed_in(coordinator).post(
        item_url(street, "reply"),
        {
            "reply-kind": "note",
            "reply-text": "One",
            "reply-language": "en",
            "reply-translation": "Two",
            "reply-translation_language": "en",
        },
    )
    assert response.status_code == 400
    assert not Reply.objects.exists()


def test_a_public_reply_on_an_item_that_is_not_public_is_refused(items, other_responder):
    huacao = items["huacao"]
    client = signed_in(other_responder)
    html = body(client.get(item_url(huacao)))
    assert re.search(r'<input type="radio" name="reply-kind" value="public"[^>]*disabled', html)
    assert "not on the public pages" in html
    response = client.post(
        item_url(huacao, "reply"), {"reply-kind": "public", "reply-text": "Done.", "reply-language": "en"}
    )
    assert response.status_code == 409
    html = body(response)
    assert "This item is not public" in html
    assert "Done." in html  # what was typed is kept
    assert not Reply.objects.exists()


def test_a_private_reply_without_an_email_is_refused(routing, coordinator):
    item = submit(text="Anonymous: the bus sign at the corner is wrong.", anonymous=True, contact_email="").item
    client = signed_in(coordinator)
    assert re.search(r'value="private"[^>]*disabled', body(client.get(item_url(item))))
    response = client.post(
        item_url(item, "reply"), {"reply-kind": "private", "reply-text": "Thanks.", "reply-language": "en"}
    )
    assert response.status_code == 409
    assert "no e-mail address" in body(response)
    assert not Reply.objects.exists()


def test_an_empty_reply_is_refused(items, coordinator):
    response = signed_in(coordinator).post(
        item_url(items["street"], "reply"), {"reply-kind": "note", "reply-text": "  ", "reply-language": "en"}
    )
    assert response.status_code == 400
    assert not Reply.objects.exists()


def test_merge_form_and_its_errors(items, coordinator, routing):
    street, service = items["street"], items["service"]
    duplicate = submit(text="Broken light at building 5, Hongqiao Road.", contact_email="carl@example.org").item
    client = signed_in(coordinator)

    response = client.post(item_url(street, "merge"), {"merge-into": f"#{street.pk}"})
    assert response.status_code == 400
    assert "cannot be merged into itself" in field_box(body(response), "merge-into")

    response = client.post(item_url(street, "merge"), {"merge-into": "#999999"})
    assert response.status_code == 404
    assert "There is no item #999999" in body(response)

    response = client.post(item_url(street, "merge"), {"merge-into": "soon"})
    assert response.status_code == 400

    response = client.post(item_url(duplicate, "merge"), {"merge-into": f"#{street.pk}"})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == (Status.MERGED, street.pk)

    # Into an item that is itself merged.
    response = client.post(item_url(service, "merge"), {"merge-into": str(duplicate.pk)})
    assert response.status_code == 409
    assert f"merged into #{street.pk}" in body(response)
    service.refresh_from_db()
    assert service.status == Status.RECEIVED

    # The pages link the two.
    assert item_url(street) in body(client.get(item_url(duplicate)))
    assert item_url(duplicate) in body(client.get(item_url(street)))


def test_merging_into_an_item_the_user_does_not_handle_is_refused(items, coordinator):
    street, huacao = items["street"], items["huacao"]
    response = signed_in(coordinator).post(item_url(street, "merge"), {"merge-into": str(huacao.pk)})
    assert response.status_code == 403
    assert f"You do not handle item #{huacao.pk}" in body(response)
    street.refresh_from_db()
    assert street.status == Status.RECEIVED


def test_hide_and_show(items, coordinator):
    street = items["street"]
    client = signed_in(coordinator)
    assert client.post(item_url(street, "hide"), {"hidden": "1"}).status_code == 302
    street.refresh_from_db()
    assert street.hidden
    assert "Show on the public pages again" in body(client.get(item_url(street)))
    assert client.post(item_url(street, "hide"), {"hidden": "0"}).status_code == 302
    street.refresh_from_db()
    assert not street.hidden
    assert client.post(item_url(street, "hide"), {"hidden": "maybe"}).status_code == 400
    assert client.get(item_url(street, "hide")).status_code == 405


def test_themes_add_and_remove(items, coordinator):
    street = items["street"]
    client = signed_in(coordinator)
    assert client.post(item_url(street, "themes"), {"theme-tag": "Street lights"}).status_code == 302
    assert list(street.tags.values_list("slug", flat=True)) == ["street-lights"]
    assert "Street lights" in body(client.get(item_url(street)))
    response = client.post(item_url(street, "themes"), {"theme-tag": "!!!"})
    assert response.status_code == 400
    assert "Give the theme a name." in field_box(body(response), "theme-tag")
    assert client.post(item_url(street, "themes"), {"remove": "street-lights"}).status_code == 302
    assert street.tags.count() == 0


def test_item_forms_are_protected_against_cross_site_requests(items, coordinator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator)
    html = body(client.get(item_url(items["street"])))
    assert html.count("csrfmiddlewaretoken") >= 7
    response = client.post(item_url(items["street"], "status"), {"status-status": "in_progress"})
    assert response.status_code == 403
    items["street"].refresh_from_db()
    assert items["street"].status == Status.RECEIVED


# --- routing and categories ---------------------------------------------------------------------------


def test_routing_and_categories_need_the_setup_right(routing, coordinator, responder):
    for user in (coordinator, responder):
        client = signed_in(user)
        assert client.get("/en/staff/feedback/routing/").status_code == 403
        assert client.get("/en/staff/feedback/categories/new/").status_code == 403
        assert client.get("/en/staff/feedback/categories/streets/").status_code == 403
        assert client.post("/en/staff/feedback/routing/", {"form": "delete", "rule": "1"}).status_code == 403
    assert RoutingRule.objects.count() == 2


def test_the_routing_page_lists_the_rules_with_the_default(routing, editor):
    response = signed_in(editor).get("/en/staff/feedback/routing/")
    assert response.status_code == 200
    html = body(response)
    assert "Default rule" in html
    assert "City Services Office" in html and "Foreign Affairs Office" in html
    assert "Streets and lighting" in html
    assert reverse("voice:category_edit", args=["streets"]) in html


def test_a_rule_changes_where_new_feedback_goes(routing, editor, community, office, city_office):
    client = signed_in(editor)
    response = client.post(
        "/en/staff/feedback/routing/",
        {
            "form": "rule",
            "rule-category": str(routing["services"].pk),
            "rule-community": str(community.pk),
            "rule-office": str(office.pk),
        },
    )
    assert response.status_code == 302
    item = submit(category="services", text="The service centre needs an English sign.").item
    assert item.office == office

    rule = RoutingRule.objects.get(category=routing["services"], community=community)
    assert client.post("/en/staff/feedback/routing/", {"form": "delete", "rule": str(rule.pk)}).status_code == 302
    item = submit(category="services", text="The service centre needs a Japanese sign.").item
    assert item.office == city_office


def test_rule_form_errors(routing, editor):
    client = signed_in(editor)
    response = client.post("/en/staff/feedback/routing/", {"form": "rule", "rule-office": ""})
    assert response.status_code == 400
    assert "This field is required." in field_box(body(response), "rule-office")
    assert client.post("/en/staff/feedback/routing/", {"form": "delete", "rule": "abc"}).status_code == 400
    assert client.post("/en/staff/feedback/routing/", {"form": "what"}).status_code == 400
    assert RoutingRule.objects.count() == 2


def category_form(**changes):
    data = {
        "name__en": "Noise",
        "name__zh-hans": "噪音",
        "description__en": "Noise at night, building works.",
        "slug": "noise",
        "group": "living",
        "keywords": "noise, loud",
        "response_hours": "48",
        "active": "on",
    }
    data.update(changes)
    return data


def test_new_and_edited_categories(editor, streets):
    client = signed_in(editor)
    assert client.get("/en/staff/feedback/categories/new/").status_code == 200
    response = client.post("/en/staff/feedback/categories/new/", category_form())
    assert response.status_code == 302
    noise = Category.objects.get(slug="noise")
    assert noise.name.data == {"en": "Noise", "zh-hans": "噪音"}
    assert (noise.group, noise.response_hours, noise.active) == ("living", 48, True)

    edit = body(client.get("/en/staff/feedback/categories/noise/"))
    assert 'value="Noise"' in edit and 'value="48"' in edit
    response = client.post(
        "/en/staff/feedback/categories/noise/", category_form(slug="", response_hours="24", active="")
    )
    assert response.status_code == 302
    noise.refresh_from_db()
    assert (noise.response_hours, noise.active) == (24, False)

    # The same code twice, no name, a target out of range.
    response = client.post("/en/staff/feedback/categories/new/", category_form(slug="streets"))
    assert response.status_code == 400
    assert "already exists" in field_box(body(response), "slug")
    response = client.post(
        "/en/staff/feedback/categories/new/", category_form(slug="other", **{"name__en": "", "name__zh-hans": ""})
    )
    assert response.status_code == 400
    assert "required in at least one language" in body(response)
    response = client.post("/en/staff/feedback/categories/new/", category_form(slug="other", response_hours="0"))
    assert response.status_code == 400
    assert not Category.objects.filter(slug="other").exists()
    streets.refresh_from_db()
    assert streets.response_hours == 72

    assert client.get("/en/staff/feedback/categories/no-such-one/").status_code == 404


# --- the staff home page -----------------------------------------------------------------------------


def test_staff_home_links_the_feedback_pages(items, coordinator, editor):
    Item.objects.filter(pk=items["street"].pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    response = signed_in(coordinator).get("/en/staff/")
    assert response.status_code == 200
    assert response.context["can_handle_feedback"] is True
    assert response.context["can_setup_feedback"] is False
    html = body(response)
    assert QUEUE in html
    assert "2 open" in html and "1 overdue" in html
    assert "/en/staff/feedback/routing/" not in html

    html = body(signed_in(editor).get("/en/staff/"))
    assert "/en/staff/feedback/routing/" in html
    assert "3 open" in html


def test_a_coordinator_may_bulk_assign_the_responder_of_its_items_office(items, coordinator, responder):
    """The list offers the responder of the office the community's items go to; the service
    still refuses an item that responder does not handle, and then changes none."""
    street, service = items["street"], items["service"]
    client = signed_in(coordinator)
    assert responder.email in field_box(body(client.get(QUEUE)), "bulk-assignee")
    response = client.post(
        QUEUE, {"items": [street.pk, service.pk], "bulk-action": "assign", "bulk-assignee": str(responder.pk)}
    )
    assert response.status_code == 400
    assert "Choose a colleague who handles this item." in body(response)
    assert not Item.objects.filter(assignee=responder).exists()
    response = client.post(QUEUE, {"items": [street.pk], "bulk-action": "assign", "bulk-assignee": str(responder.pk)})
    assert response.status_code == 302
    assert list(Item.objects.filter(assignee=responder)) == [street]


def test_the_colleagues_offered_are_those_who_may_handle_the_items(items, coordinator, responder, editor):
    """A coordinator is offered itself, the responders of the offices its community's items are
    routed to, and city-wide staff; not the responders of unrelated offices."""
    from yulan.voice import staff_selectors

    offered = {user.pk for user in staff_selectors.colleagues_in_scope(coordinator)}
    assert {coordinator.pk, responder.pk, editor.pk} <= offered
    html = body(signed_in(coordinator).get(QUEUE))
    assert responder.email in html or str(responder) in html


def test_plain_selects_write_what_django_writes():
    from django import forms

    from yulan.voice.forms_staff import PlainSelect

    choices = [("", "Any"), ("a&b", "Tom & <Jerry>"), ("2", "Two")]
    ours = PlainSelect(choices=choices).render("f", "a&b", attrs={"id": "id_f"})
    django = forms.Select(choices=choices).render("f", "a&b", attrs={"id": "id_f"})
    assert re.sub(r">\s+<", "><", ours) == re.sub(r">\s+<", "><", django)
