"""Feedback reads: what the public pages may show (and never the submitter's details), the
staff triage queue in each one's scope with its filters and cursor pages, open counts and the
time spent in each status."""

import datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from yulan.voice import selectors, services
from yulan.voice.models import Item, Reply, StatusSpan
from yulan.voice.selectors import QueueFilters

from .conftest import submit

Status = Item.Status
ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
PRIVATE_FIELDS = {"contact_name", "contact_email", "contact_phone", "user_id", "secret", "fingerprint"}


def make(n: int = 1, **overrides) -> Item:
    """The n-th distinct item (its own words, so that no two are repeats)."""
    overrides.setdefault("text", f"Point number {n}: the lamp at building {n} on Hongqiao Road is out.")
    return submit(**overrides).item


@pytest.fixture
def scene(routing, community, other_community, office, city_office):
    """Hongqiao's streets go to the foreign-affairs office; Huacao's to the city services office."""
    return {
        "hongqiao": make(1),
        "hongqiao_hidden": make(2),
        "hongqiao_private": make(3, public_consent=False),
        "huacao": make(4, community="huacao"),
        "nowhere": make(5, community=""),
    }


# --- public ---------------------------------------------------------------------------------------


def test_the_public_list_shows_consented_visible_unmerged_items(scene, editor):
    services.item_set_hidden(actor=editor, item_id=scene["hongqiao_hidden"].pk, hidden=True)
    merged = make(6)
    services.item_merge(actor=editor, item_id=merged.pk, into_id=scene["hongqiao"].pk)
    shown = [i.pk for i in selectors.items_public()]
    assert shown == [scene["nowhere"].pk, scene["huacao"].pk, scene["hongqiao"].pk]  # newest first
    for item in selectors.items_public():
        assert item.get_deferred_fields() >= PRIVATE_FIELDS


def test_the_public_list_filters(scene, editor, community, streets):
    services.item_set_status(actor=editor, item_id=scene["huacao"].pk, status=Status.CLOSED)
    assert {i.pk for i in selectors.items_public(community_id=community.pk)} == {
        scene["hongqiao"].pk,
        scene["hongqiao_hidden"].pk,
    }
    assert {i.pk for i in selectors.items_public(status="closed")} == {scene["huacao"].pk}
    assert scene["huacao"].pk not in {i.pk for i in selectors.items_public(status="open")}
    assert len(selectors.items_public(category_id=streets.pk)) == 4
    assert len(selectors.items_public(category_id=streets.pk + 1000)) == 0


def test_the_public_list_reads_its_rows_in_one_query(scene, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = list(selectors.items_public())
        names = [(str(i.category), i.community and str(i.community)) for i in rows]
    assert len(names) == 4


def test_one_public_item_never_loads_the_submitters_details(scene, editor, django_assert_num_queries):
    item = scene["hongqiao"]
    services.reply_add(actor=editor, item_id=item.pk, kind="note", text={"en": "Internal only."})
    services.reply_add(actor=editor, item_id=item.pk, kind="private", text={"en": "Just for Ana."})
    public = services.reply_add(actor=editor, item_id=item.pk, kind="public", text={"en": "Fixed on Monday."})
    services.item_set_status(actor=editor, item_id=item.pk, status=Status.ANSWERED)

    with django_assert_num_queries(3):
        found = selectors.item_public(item.pk)
        assert (found.category.slug, str(found.community), str(found.office)) == (
            "streets",
            "Hongqiao Subdistrict",
            "Foreign Affairs Office",
        )
        assert [r.pk for r in found.public_replies] == [public.pk]
        assert [s.status for s in found.history] == [Status.RECEIVED, Status.ANSWERED]
        assert found.status == Status.ANSWERED and found.text.startswith("Point number 1")
    deferred = found.get_deferred_fields()
    assert deferred >= PRIVATE_FIELDS
    # Nor who on the staff changed the status.
    assert all("actor_id" in span.get_deferred_fields() for span in found.history)


def test_a_public_item_is_none_when_not_public(scene, editor):
    services.item_set_hidden(actor=editor, item_id=scene["hongqiao_hidden"].pk, hidden=True)
    assert selectors.item_public(scene["hongqiao_private"].pk) is None
    assert selectors.item_public(scene["hongqiao_hidden"].pk) is None
    assert selectors.item_public(424242) is None


def test_the_submitter_sees_replies_but_not_notes(scene, editor):
    item = scene["hongqiao"]
    for kind in ("note", "private", "public"):
        services.reply_add(actor=editor, item_id=item.pk, kind=kind, text={"en": f"A {kind} reply."})
    assert [r.kind for r in selectors.replies_for_submitter(item)] == [Reply.Kind.PRIVATE, Reply.Kind.PUBLIC]


def test_history_is_in_order(scene, editor):
    item = scene["hongqiao"]
    for status in (Status.IN_PROGRESS, Status.ANSWERED, Status.CLOSED):
        services.item_set_status(actor=editor, item_id=item.pk, status=status)
    assert [s.status for s in selectors.history(item)] == [
        Status.RECEIVED,
        Status.IN_PROGRESS,
        Status.ANSWERED,
        Status.CLOSED,
    ]


def test_an_accounts_own_items_leave_out_erased_ones(routing, resident):
    kept = make(1, user=resident, contact_email="")
    gone = make(2, user=resident, contact_email="")
    Item.objects.filter(pk=gone.pk).update(anonymised_at=timezone.now())
    assert [i.pk for i in selectors.items_of_user(resident)] == [kept.pk]


# --- the triage queue -----------------------------------------------------------------------------


def queued_pks(user, **filters) -> set[int]:
    return {i.pk for i in selectors.queue(user, QueueFilters(**filters)).items}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("editor", {"hongqiao", "hongqiao_hidden", "hongqiao_private", "huacao", "nowhere"}),
        ("admin_user", {"hongqiao", "hongqiao_hidden", "hongqiao_private", "huacao", "nowhere"}),
        ("coordinator", {"hongqiao", "hongqiao_hidden", "hongqiao_private"}),
        ("huacao_coordinator", {"huacao"}),
        ("responder", {"hongqiao", "hongqiao_hidden", "hongqiao_private"}),
        ("other_responder", {"huacao", "nowhere"}),  # the default rule sends them to its office
        ("resident", set()),
    ],
)
def test_the_queue_holds_what_each_one_handles(request, scene, who, sees):
    user = request.getfixturevalue(who)
    assert queued_pks(user, status="all") == {scene[name].pk for name in sees}
    assert {i.pk for i in selectors.handled_by(user)} == {scene[name].pk for name in sees}


def test_an_anonymous_visitor_has_an_empty_queue(scene):
    assert list(selectors.handled_by(AnonymousUser())) == []
    assert selectors.queue(AnonymousUser(), QueueFilters(status="all")).items == []


def test_the_queue_filters(scene, editor, responder, office, other_community, streets):
    hongqiao, huacao = scene["hongqiao"], scene["huacao"]
    services.item_assign(actor=editor, item_id=hongqiao.pk, assignee_id=responder.pk)
    services.item_assign(actor=editor, item_id=huacao.pk, assignee_id=editor.pk)
    services.item_set_status(actor=editor, item_id=scene["nowhere"].pk, status=Status.CLOSED)
    services.item_tag(actor=editor, item_id=huacao.pk, names=["Bus signs"])
    Item.objects.filter(pk=scene["hongqiao_private"].pk).update(
        due_at=timezone.now() - datetime.timedelta(hours=1), language="zh-hans"
    )
    everything = {i.pk for i in scene.values()}
    open_ones = everything - {scene["nowhere"].pk}

    assert queued_pks(editor) == open_ones  # open by default
    assert queued_pks(editor, status="all") == everything
    assert queued_pks(editor, status=Status.CLOSED) == {scene["nowhere"].pk}
    assert queued_pks(editor, status=Status.ASSIGNED) == {hongqiao.pk, huacao.pk}
    assert queued_pks(editor, office_id=office.pk) == {hongqiao.pk, scene["hongqiao_hidden"].pk} | {
        scene["hongqiao_private"].pk
    }
    assert queued_pks(editor, community_id=other_community.pk) == {huacao.pk}
    assert queued_pks(editor, category_id=streets.pk) == open_ones
    assert queued_pks(editor, assignee="me") == {huacao.pk}
    assert queued_pks(responder, assignee="me") == {hongqiao.pk}
    assert queued_pks(editor, assignee=str(responder.pk)) == {hongqiao.pk}
    assert queued_pks(editor, assignee="none") == open_ones - {hongqiao.pk, huacao.pk}
    assert queued_pks(editor, overdue=True) == {scene["hongqiao_private"].pk}
    assert queued_pks(editor, tag="bus-signs") == {huacao.pk}
    assert queued_pks(editor, language="zh-hans") == {scene["hongqiao_private"].pk}
    assert queued_pks(editor, q=f"#{huacao.pk}") == {huacao.pk}
    assert queued_pks(editor, q=str(huacao.pk)) == {huacao.pk}
    assert queued_pks(editor, q="BUILDING 4") == {huacao.pk}
    # Filters narrow the scope; they never widen it.
    assert queued_pks(responder, community_id=other_community.pk) == set()
    assert queued_pks(responder, q=f"#{huacao.pk}") == set()


def test_the_queue_pages_by_cursor_through_equal_timestamps(routing, editor):
    items = [make(n) for n in range(1, 8)]
    same = timezone.now().replace(microsecond=123457)
    Item.objects.filter(pk__in=[i.pk for i in items[1:6]]).update(created_at=same)
    Item.objects.filter(pk=items[0].pk).update(created_at=same - datetime.timedelta(seconds=1))
    Item.objects.filter(pk=items[6].pk).update(created_at=same + datetime.timedelta(seconds=1))
    expected = [items[6].pk, *sorted((i.pk for i in items[1:6]), reverse=True), items[0].pk]

    seen, cursor, pages = [], "", 0
    while True:
        page = selectors.queue(editor, QueueFilters(status="all"), cursor=cursor, per_page=3)
        seen += [i.pk for i in page.items]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert pages == 3
    # A page that ends exactly on the last item has no next page.
    assert selectors.queue(editor, QueueFilters(status="all"), per_page=7).next_cursor == ""


@pytest.mark.parametrize("cursor", ["nonsense", "12_x", "abc_1", "1e400_5", "_", "99999999999999999999_1"])
def test_a_bad_cursor_gives_the_first_page(routing, editor, cursor):
    items = [make(n) for n in range(1, 4)]
    page = selectors.queue(editor, QueueFilters(status="all"), cursor=cursor)
    assert [i.pk for i in page.items] == sorted((i.pk for i in items), reverse=True)


def test_a_queue_page_costs_the_same_queries_however_many_rows(routing, editor, responder, django_assert_num_queries):
    for n in range(1, 6):
        item = make(n)
        services.item_assign(actor=editor, item_id=item.pk, assignee_id=responder.pk)
    selectors.queue(editor, QueueFilters())  # the editor's grants, read once
    with django_assert_num_queries(1):
        page = selectors.queue(editor, QueueFilters())
        lines = [(str(i.category), str(i.community), str(i.office), i.assignee.email) for i in page.items]
    assert len(lines) == 5


def test_open_counts(scene, editor, coordinator):
    Item.objects.filter(pk=scene["hongqiao"].pk).update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    services.item_set_status(actor=editor, item_id=scene["hongqiao_hidden"].pk, status=Status.CLOSED)
    assert selectors.open_counts(editor) == {"open": 4, "overdue": 1, "cap": 1000}
    assert selectors.open_counts(coordinator) == {"open": 2, "overdue": 1, "cap": 1000}


def test_open_counts_stop_past_the_cap(routing, editor, streets):
    now = timezone.now()
    Item.objects.bulk_create(
        Item(category=streets, text=f"Point {n}", fingerprint=f"bulk-{n}", due_at=now - datetime.timedelta(hours=1))
        for n in range(1005)
    )
    counts = selectors.open_counts(editor)
    assert counts == {"open": 1001, "overdue": 1001, "cap": 1000}  # "more than 1000"


def test_time_in_status_adds_up_each_stretch(routing):
    item = make(1)
    start = timezone.now() - datetime.timedelta(hours=10)
    StatusSpan.objects.filter(item=item).update(started_at=start, ended_at=start + datetime.timedelta(hours=2))
    StatusSpan.objects.create(
        item=item,
        status=Status.IN_PROGRESS,
        started_at=start + datetime.timedelta(hours=2),
        ended_at=start + datetime.timedelta(hours=5),
    )
    StatusSpan.objects.create(
        item=item,
        status=Status.RECEIVED,
        started_at=start + datetime.timedelta(hours=5),
        ended_at=start + datetime.timedelta(hours=6),
    )
    StatusSpan.objects.create(item=item, status=Status.ASSIGNED, started_at=start + datetime.timedelta(hours=6))
    totals = selectors.time_in_status(item)
    assert totals[Status.RECEIVED] == datetime.timedelta(hours=3)
    assert totals[Status.IN_PROGRESS] == datetime.timedelta(hours=3)
    # Still assigned: counted up to now.
    assert datetime.timedelta(hours=4) <= totals[Status.ASSIGNED] < datetime.timedelta(hours=4, minutes=1)
    assert set(totals) == {Status.RECEIVED, Status.IN_PROGRESS, Status.ASSIGNED}


def test_active_categories_only(routing, streets, services_category):
    services_category.active = False
    services_category.save()
    assert list(selectors.categories_active()) == [streets]


@pytest.mark.parametrize(
    "filters",
    [
        {"q": "#99999999999999999999999"},
        {"q": "99999999999999999999999"},
        {"assignee": "99999999999999999999999"},
    ],
)
def test_numbers_past_any_id_find_nothing_without_an_error(routing, editor, filters):
    make(1)
    assert selectors.queue(editor, QueueFilters(status="all", **filters)).items == []


def test_a_cursor_past_any_id_is_read_without_an_error(routing, editor):
    items = [make(n) for n in range(1, 3)]
    stamp = max(i.created_at for i in items).timestamp() + 1
    page = selectors.queue(editor, QueueFilters(status="all"), cursor=f"{stamp:.6f}_99999999999999999999999")
    assert {i.pk for i in page.items} == {i.pk for i in items}
