"""News services: who may post where, scheduling, urgent notices, subscriptions, the bulletin."""

import datetime
import email.header
import re

import pytest
from django.core import signing
from django.utils import timezone, translation
from django.utils.translation import gettext

from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.mail import outbox_deliver
from yulan.core.models import AuditEntry, OutgoingMail
from yulan.news import services, tokens
from yulan.news.models import Bulletin, Post, Subscriber

from .conftest import days_ago, make_post, make_subscriber

# --- posts ------------------------------------------------------------------------------------


def test_an_editor_posts_for_the_whole_city_and_it_is_audited(editor, health):
    post = make_post(editor, "city-news", [health])
    assert post.is_live()
    assert list(post.communities.all()) == []
    assert AuditEntry.objects.filter(action="post.create", target_id=str(post.pk)).exists()
    assert AuditEntry.objects.filter(action="post.state.published", target_id=str(post.pk)).exists()


def test_a_coordinator_posts_for_its_own_community_only(coordinator, community, other_community, health):
    post = make_post(coordinator, "local-news", [health], [community])
    assert post.is_live()
    with pytest.raises(NotAllowed):
        make_post(coordinator, "elsewhere", [health], [other_community])
    with pytest.raises(NotAllowed):
        make_post(coordinator, "whole-city", [health], [])
    assert not Post.objects.filter(slug__in=["elsewhere", "whole-city"]).exists()


def test_a_coordinator_cannot_touch_another_communitys_post(editor, coordinator, other_community, health):
    post = make_post(editor, "other-news", [health], [other_community], publish=False)
    with pytest.raises(NotAllowed):
        services.post_set_state(actor=coordinator, post_id=post.pk, state=Post.State.PUBLISHED)


def test_a_resident_cannot_post(resident, health):
    with pytest.raises(NotAllowed):
        make_post(resident, "nope", [health])


def test_script_in_a_post_is_removed(editor, health):
    post = services.post_create(
        actor=editor,
        data=services.PostInput(
            slug="sanitised",
            title={"en": "<b>Clinic</b> hours<script>alert(1)</script>"},
            body={"en": '<p onclick="steal()">Open <a href="javascript:alert(1)">daily</a></p><script>x()</script>'},
            topic_ids=[health.pk],
        ),
    )
    post.refresh_from_db()
    assert post.title.data["en"] == "Clinic hours"
    body = post.body.data["en"]
    assert "script" not in body and "onclick" not in body and "javascript:" not in body
    assert "Open" in body and "daily" in body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "Not A Slug"}, "slug"),
        ({"topic_ids": []}, "topics"),
        ({"topic_ids": [999999]}, "topics"),
        ({"community_ids": [999999]}, "communities"),
        ({"title": {"xx": "Unknown language"}}, "title"),
        ({"source_language": "xx"}, "source_language"),
        ({"kind": "gossip"}, "kind"),
    ],
)
def test_bad_post_input_names_the_field_and_stores_nothing(editor, health, change, field):
    data = {"slug": "ok", "title": {"en": "T"}, "body": {"en": "B"}, "topic_ids": [health.pk], **change}
    with pytest.raises(ApplicationError) as exc:
        services.post_create(actor=editor, data=services.PostInput(**data))
    assert exc.value.field == field
    assert not Post.objects.exists()


def test_a_scheduled_post_stays_hidden_until_its_time_then_is_announced_once(editor, health):
    later = timezone.now() + datetime.timedelta(hours=2)
    post = make_post(editor, "later", [health], publish_at=later)
    assert post.state == Post.State.PUBLISHED and not post.is_live()
    assert services.posts_publish_due() == 0
    Post.objects.filter(pk=post.pk).update(publish_at=days_ago(0.001))
    assert services.posts_publish_due() == 1
    assert services.posts_publish_due() == 0
    assert Post.objects.get(pk=post.pk).announced_at is not None


def test_an_urgent_post_notifies_matching_urgent_subscribers_once(
    editor, health, transport, community, other_community, django_capture_on_commit_callbacks, smtp_server
):
    make_subscriber("all@example.org")
    make_subscriber("health-here@example.org", topics=[health], communities=[community], language="zh-hans")
    make_subscriber("transport@example.org", topics=[transport])
    make_subscriber("elsewhere@example.org", communities=[other_community])
    make_subscriber("weekly-only@example.org", urgent=False)
    make_subscriber("pending@example.org", status="pending")
    with django_capture_on_commit_callbacks(execute=True):
        post = make_post(editor, "boil-water", [health], [community], urgent=True)
    assert services.post_announce(post.pk) is False  # already done
    outbox_deliver()
    assert sorted(smtp_server.inbox.recipients) == ["all@example.org", "health-here@example.org"]
    (zh,) = smtp_server.inbox.to("health-here@example.org")
    assert zh["Subject"].startswith("[紧急]") or "boil-water 的标题" in zh["Subject"]
    assert "boil-water 的标题" in zh["Subject"]
    assert zh["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# --- subscriptions ----------------------------------------------------------------------------


def request(address="New.Person@Example.org", **kwargs):
    services.subscription_request(
        data=services.SubscriptionInput(email=address, language=kwargs.pop("language", "en"), **kwargs)
    )


def test_subscribing_sends_a_confirmation_link_and_nothing_else_until_confirmed(db, health, smtp_server):
    request(topic_ids=[health.pk], language="ja")
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "new.person@example.org"
    assert subscriber.status == Subscriber.Status.PENDING and subscriber.language == "ja"
    outbox_deliver()
    (message,) = smtp_server.inbox.messages
    text = message.get_body(("plain",)).get_content()
    token = text.split("/news/subscribe/confirm/")[1].split("/")[0]
    assert "/ja/news/subscribe/confirm/" in text
    confirmed = services.subscription_confirm(token=token)
    assert confirmed.status == Subscriber.Status.ACTIVE and confirmed.confirmed_at is not None
    assert list(confirmed.topics.all()) == [health]


def test_signing_up_twice_keeps_one_subscriber_and_reveals_nothing(db, smtp_server):
    request()
    request("NEW.person@example.org")  # within minutes: no second e-mail
    assert Subscriber.objects.count() == 1
    assert OutgoingMail.objects.count() == 1
    subscriber = Subscriber.objects.get()
    services.subscription_confirm(token=tokens.make(subscriber, tokens.CONFIRM))
    Subscriber.objects.update(last_notice_at=days_ago(1))
    request(weekly=False)  # already subscribed: a note with the preferences link, choices unchanged
    assert Subscriber.objects.count() == 1
    subscriber.refresh_from_db()
    assert subscriber.weekly is True
    last = OutgoingMail.objects.order_by("-pk").first()
    assert "already subscribed" in last.subject and "/news/subscription/" in last.text


def test_a_suppressed_address_gets_nothing_however_often_it_signs_up(db):
    make_subscriber("complained@example.org", status="suppressed")
    request("complained@example.org")
    assert OutgoingMail.objects.count() == 0


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("not-an-address", "not a valid e-mail address"),
        ("someone@localhost", "not a valid e-mail address"),
        ("burner@mailinator.com", "throwaway"),
        ("x@sub.yopmail.com", "throwaway"),
        ("", "Enter your e-mail address"),
    ],
)
def test_a_bad_address_is_refused_with_a_reason(db, address, words):
    with pytest.raises(ApplicationError) as exc:
        request(address)
    assert exc.value.field == "email" and words in str(exc.value.message)
    assert not Subscriber.objects.exists()


def test_unknown_choices_are_refused(db, health):
    for kwargs, field in [
        ({"topic_ids": [12345]}, "topics"),
        ({"community_ids": ["x"]}, "communities"),
        ({"language": "xx"}, "language"),
        ({"weekly": False, "urgent": False}, "frequency"),
    ]:
        with pytest.raises(ApplicationError) as exc:
            request(**kwargs)
        assert exc.value.field == field
    assert not Subscriber.objects.exists()


def test_forged_altered_and_expired_links_are_refused(db, settings):
    subscriber = make_subscriber("a@example.org", status="pending")
    good = tokens.make(subscriber, tokens.CONFIRM)
    for token in ["nonsense", good[:-2] + "xx", signing.dumps([subscriber.pk, "wrong-secret"], salt=tokens.CONFIRM)]:
        with pytest.raises(ApplicationError):
            services.subscription_confirm(token=token)
    # A preferences link is not a confirmation link.
    with pytest.raises(ApplicationError):
        services.subscription_confirm(token=tokens.make(subscriber, tokens.MANAGE))
    settings.YULAN_SUBSCRIBE_CONFIRM_DAYS = -1
    with pytest.raises(ApplicationError) as exc:
        services.subscription_confirm(token=good)
    assert "expired" in str(exc.value.message)
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_mail_queued_before_an_unsubscribe_is_not_sent(editor, health, smtp_server):
    subscriber = make_subscriber("a@example.org")
    bulletin = _send_bulletin(editor, health)
    services.subscription_unsubscribe(token=tokens.make(subscriber, tokens.MANAGE))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert outbox_deliver().cancelled == 1
    assert smtp_server.inbox.messages == []
    assert OutgoingMail.objects.get(stream=bulletin.stream).status == OutgoingMail.Status.CANCELLED
    # The same link again is harmless.
    services.subscription_unsubscribe(token=tokens.make(subscriber, tokens.MANAGE))


def test_deleting_a_subscription_forgets_the_address(db):
    subscriber = make_subscriber("a@example.org")
    token = tokens.make(subscriber, tokens.MANAGE)
    services.subscription_delete(token=token)
    assert not Subscriber.objects.exists()
    with pytest.raises(ApplicationError):
        services.subscription_update(token=token, data=services.SubscriptionInput(email="", language="en"))


def test_a_hard_bounce_suppresses_the_subscriber(db, editor, health, smtp_server):
    make_subscriber("gone@example.org")
    smtp_server.inbox.refuse["gone@example.org"] = "550 5.1.1 No such user"
    bulletin = _send_bulletin(editor, health)
    outbox_deliver()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.SUPPRESSED
    assert subscriber.suppressed_reason == Subscriber.Suppression.BOUNCE and "550" in subscriber.suppressed_detail
    assert OutgoingMail.objects.get(stream=bulletin.stream).status == OutgoingMail.Status.FAILED


def test_staff_record_complaints_and_are_audited(db, editor, resident):
    make_subscriber("angry@example.org")
    assert services.subscriber_suppress(email="Angry@example.org ", reason="complaint", actor=editor) is True
    assert services.subscriber_suppress(email="nobody@example.org", reason="complaint", actor=editor) is False
    assert Subscriber.objects.get().suppressed_reason == "complaint"
    assert AuditEntry.objects.filter(action="subscriber.complaint").exists()
    with pytest.raises(NotAllowed):
        services.subscriber_suppress(email="angry@example.org", reason="bounce", actor=resident)


# --- the weekly bulletin ----------------------------------------------------------------------


def _send_bulletin(editor, *topics, posts=None):
    week = services.week_start_of(timezone.localdate())
    if posts is None:
        make_post(editor, f"post-{week}", list(topics))
    bulletin = services.bulletin_compile(week_start=week, actor=editor)
    services.bulletin_schedule(actor=editor, bulletin_id=bulletin.pk, send_at=None)
    services.bulletin_fanout(bulletin.pk)
    bulletin.refresh_from_db()
    return bulletin


def test_compiling_takes_the_weeks_live_posts_urgent_first_and_only_once(editor, health):
    week = services.week_start_of(timezone.localdate()) - datetime.timedelta(days=7)
    start = timezone.make_aware(datetime.datetime.combine(week, datetime.time(9)))
    make_post(editor, "monday", [health], publish_at=start)
    make_post(editor, "wednesday-urgent", [health], publish_at=start + datetime.timedelta(days=2), urgent=True)
    make_post(editor, "draft", [health], publish_at=start, publish=False)
    make_post(editor, "week-before", [health], publish_at=start - datetime.timedelta(days=3))
    make_post(editor, "this-week", [health], publish_at=start + datetime.timedelta(days=7, hours=1))
    bulletin = services.bulletin_compile(week_start=week + datetime.timedelta(days=3), actor=editor)
    assert bulletin.week_start == week
    assert [i.post.slug for i in bulletin.items.all()] == ["wednesday-urgent", "monday"]
    assert services.bulletin_compile(week_start=week).pk == bulletin.pk
    assert Bulletin.objects.count() == 1


def test_the_periodic_job_compiles_last_weeks_bulletin_after_the_set_time(db, settings):
    settings.YULAN_BULLETIN_WEEKDAY, settings.YULAN_BULLETIN_HOUR = 0, 7
    monday = timezone.make_aware(datetime.datetime(2026, 11, 23, 6, 0))
    assert services.bulletin_compile_due(monday) is None
    pk = services.bulletin_compile_due(monday + datetime.timedelta(hours=2))
    assert Bulletin.objects.get(pk=pk).week_start == datetime.date(2026, 11, 16)
    assert services.bulletin_compile_due(monday + datetime.timedelta(hours=3)) is None


def test_editors_reorder_annotate_remove_and_add_posts(editor, health):
    week = services.week_start_of(timezone.localdate())
    for slug in ["a", "b", "c"]:
        make_post(editor, slug, [health])
    bulletin = services.bulletin_compile(week_start=week, actor=editor)
    items = {i.post.slug: i for i in bulletin.items.all()}
    services.bulletin_update(
        actor=editor,
        bulletin_id=bulletin.pk,
        intro={"en": "<p>Hello <script>x</script>readers</p>", "zh-hans": "读者好"},
        items=[
            services.ItemEdit(items["a"].pk, 30, note={"en": "Read this first"}),
            services.ItemEdit(items["b"].pk, 5),
            services.ItemEdit(items["c"].pk, 0, remove=True),
        ],
    )
    assert [i.post.slug for i in bulletin.items.all()] == ["b", "a"]
    assert bulletin.items.get(post__slug="a").note.data == {"en": "Read this first"}
    bulletin.refresh_from_db()
    assert "script" not in bulletin.intro.data["en"]
    services.bulletin_add_post(actor=editor, bulletin_id=bulletin.pk, post_id=items["c"].post_id)
    assert [i.post.slug for i in bulletin.items.all()] == ["b", "a", "c"]
    with pytest.raises(ApplicationError):
        services.bulletin_add_post(actor=editor, bulletin_id=bulletin.pk, post_id=items["c"].post_id)


def test_a_coordinator_cannot_send_the_bulletin(editor, coordinator, health):
    make_post(editor, "x", [health])
    bulletin = services.bulletin_compile(week_start=timezone.localdate(), actor=editor)
    with pytest.raises(NotAllowed):
        services.bulletin_schedule(actor=coordinator, bulletin_id=bulletin.pk, send_at=None)


def test_an_empty_bulletin_cannot_be_sent_and_a_sent_one_cannot_be_changed(editor, health):
    bulletin = services.bulletin_compile(week_start=timezone.localdate(), actor=editor)
    with pytest.raises(ApplicationError) as exc:
        services.bulletin_schedule(actor=editor, bulletin_id=bulletin.pk, send_at=None)
    assert exc.value.field == "items"
    make_post(editor, "x", [health])
    services.bulletin_add_post(actor=editor, bulletin_id=bulletin.pk, post_id=Post.objects.get().pk)
    services.bulletin_schedule(actor=editor, bulletin_id=bulletin.pk, send_at=None)
    with pytest.raises(ApplicationError) as exc:
        services.bulletin_update(actor=editor, bulletin_id=bulletin.pk, intro={}, items=[])
    assert exc.value.status == 409


def test_a_scheduled_bulletin_starts_at_its_time(editor, health):
    make_post(editor, "x", [health])
    bulletin = services.bulletin_compile(week_start=timezone.localdate(), actor=editor)
    at = timezone.now() + datetime.timedelta(hours=1)
    services.bulletin_schedule(actor=editor, bulletin_id=bulletin.pk, send_at=at)
    bulletin.refresh_from_db()
    assert bulletin.state == Bulletin.State.SCHEDULED
    assert services.bulletins_resume(now=timezone.now()) == []
    services.bulletins_resume(now=at + datetime.timedelta(seconds=1))
    bulletin.refresh_from_db()
    assert bulletin.state == Bulletin.State.SENDING


def test_each_subscriber_gets_one_message_in_their_language_with_only_their_posts(
    editor, health, transport, community, other_community, smtp_server
):
    make_post(editor, "clinic", [health], [community], title={"en": "Clinic opens", "zh-hans": "诊所开业"})
    make_post(editor, "metro", [transport], [], title={"en": "Metro works", "ja": "地下鉄工事"})
    make_post(editor, "far-away", [health], [other_community], title={"en": "Far away news"})
    make_subscriber("zh@example.org", language="zh-hans", topics=[health], communities=[community])
    make_subscriber("ja@example.org", language="ja", topics=[transport])
    make_subscriber("all@example.org", language="fr")
    make_subscriber("urgent-only@example.org", weekly=False)
    make_subscriber("unsub@example.org", status="unsubscribed")
    bulletin = _send_bulletin(editor, posts=[])
    assert bulletin.recipients == 3
    stats = outbox_deliver()
    assert stats.sent == 3
    assert sorted(smtp_server.inbox.recipients) == ["all@example.org", "ja@example.org", "zh@example.org"]

    (zh,) = smtp_server.inbox.to("zh@example.org")
    raw_subject = zh.get("Subject")
    assert "周报" in raw_subject or "Yulan" in raw_subject
    zh_text = zh.get_body(("plain",)).get_content()
    zh_html = zh.get_body(("html",)).get_content()
    assert "诊所开业" in zh_text and "诊所开业" in zh_html
    assert "Metro works" not in zh_text and "Far away news" not in zh_text

    (ja,) = smtp_server.inbox.to("ja@example.org")
    ja_text = ja.get_body(("plain",)).get_content()
    assert "地下鉄工事" in ja_text and "Clinic" not in ja_text

    (fr,) = smtp_server.inbox.to("all@example.org")
    fr_html = fr.get_body(("html",)).get_content()
    # No French translation: English is shown, and the message says so.
    assert "Clinic opens" in fr_html and "Metro works" in fr_html and "Far away news" in fr_html
    with translation.override("fr"):
        notice = gettext("Not yet available in your language; shown in %(lang)s.").split("%(lang)s")[0]
    assert notice in fr_html and 'lang="en"' in fr_html

    for message in (zh, ja, fr):
        unsubscribe = str(message["List-Unsubscribe"]).strip()
        assert unsubscribe.startswith("<http") and "/news/unsubscribe/" in unsubscribe
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe.strip("<>") in message.get_body(("plain",)).get_content()
        assert message.is_multipart() and message.get_content_type() == "multipart/alternative"
    # The subject travels as 7-bit encoded words and decodes to the Chinese text.
    raw = smtp_server.inbox.raw[smtp_server.inbox.messages.index(zh)]
    headers = re.sub(rb"\r?\n[ \t]+", b" ", raw.split(b"\r\n\r\n", 1)[0])
    (subject,) = [line[len(b"Subject: ") :] for line in headers.splitlines() if line.startswith(b"Subject: ")]
    assert subject.isascii() and b"=?utf-8?" in subject.lower()
    assert (
        str(email.header.make_header(email.header.decode_header(subject.decode()))).strip()
        == str(zh["Subject"]).strip()
    )


def test_running_the_fanout_again_queues_nobody_twice(editor, health):
    for i in range(7):
        make_subscriber(f"s{i}@example.org")
    bulletin = _send_bulletin(editor, health)
    Bulletin.objects.filter(pk=bulletin.pk).update(fanout_done_at=None)
    assert services.bulletin_fanout(bulletin.pk) == 0
    assert OutgoingMail.objects.filter(stream=bulletin.stream).count() == 7


def test_mail_for_someone_who_unsubscribed_after_the_fanout_is_not_sent(editor, health, smtp_server):
    keep = make_subscriber("keep@example.org")
    leave = make_subscriber("leave@example.org")
    bulletin = _send_bulletin(editor, health)
    services.subscription_unsubscribe(token=tokens.make(leave, tokens.MANAGE))
    outbox_deliver()
    assert smtp_server.inbox.recipients == [keep.email]
    services.bulletins_resume()
    bulletin.refresh_from_db()
    assert bulletin.state == Bulletin.State.SENT


def test_long_lines_in_any_script_arrive_intact_within_smtp_line_limits(editor, health, smtp_server):
    summary = "这是一段很长的中文摘要，没有空格也没有换行。" * 45  # 990 characters, 2,970 bytes, one line
    make_post(editor, "long", [health], summary={"zh-hans": summary, "en": "Short"})
    make_subscriber("zh@example.org", language="zh-hans")
    make_subscriber("en@example.org", language="en")
    _send_bulletin(editor, posts=[])
    assert outbox_deliver().sent == 2
    raw = smtp_server.inbox.raw[[str(m["To"]) for m in smtp_server.inbox.messages].index("zh@example.org")]
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    (zh,) = smtp_server.inbox.to("zh@example.org")
    assert summary in zh.get_body(("plain",)).get_content()
    assert summary in zh.get_body(("html",)).get_content()
    (en,) = smtp_server.inbox.to("en@example.org")
    assert "Short" in en.get_body(("plain",)).get_content() and summary not in en.get_body(("plain",)).get_content()
    # Each message has its own id, and the same list headers.
    assert zh["Message-ID"] != en["Message-ID"]
    assert str(zh["List-Id"]) == str(en["List-Id"])
