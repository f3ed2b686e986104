"""Writes of the news capability: posts, subscriptions, the weekly bulletin and the fan-out of
mail to subscribers. Each checks permission, validates, writes in one transaction, records an
audit entry for staff writes and queues its follow-up work after commit."""

import datetime
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from yulan.core.cleaning import clean_language, clean_slug
from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.html import clean_html, strip_html
from yulan.core.i18n import clean_translations
from yulan.core.mail import delivery_start, mail_queue, mail_queue_many, outbox_progress, outbox_statistics_refresh
from yulan.core.models import Community, OutgoingMail, User
from yulan.core.pagecache import public_pages_changed
from yulan.core.permissions import Perm, community_scope, require
from yulan.core.services import audit_record, snapshot
from yulan.news import tokens
from yulan.news.addresses import clean_address
from yulan.news.models import Bulletin, BulletinItem, Post, Subscriber, Topic


def _clean_ids(model: type[Topic] | type[Community], ids: list[Any], *, field: str) -> list[int]:
    try:
        wanted = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        raise ApplicationError(_("Choose from the list."), field=field) from None
    found = set(model.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if len(found) != len(wanted):
        message = _("Choose topics from the list.") if model is Topic else _("Choose communities from the list.")
        raise ApplicationError(message, field=field)
    return wanted


def site_url(name: str, *args: Any, language: str) -> str:
    """An absolute link to a page in `language`."""
    with translation.override(language):
        return settings.SITE_URL.rstrip("/") + reverse(name, args=args)


# --- posts ------------------------------------------------------------------------------------


@dataclass
class PostInput:
    slug: str
    title: Any
    body: Any
    topic_ids: list[int]
    summary: Any = None
    kind: str = Post.Kind.NEWS
    urgency: str = Post.Urgency.NORMAL
    community_ids: list[int] = field(default_factory=list)
    source_language: str = "en"
    publish_at: datetime.datetime | None = None


def _post_values(data: PostInput) -> tuple[dict[str, Any], list[int], list[int]]:
    title = {
        code: strip_html(text) for code, text in clean_translations(data.title, field="title", max_chars=300).items()
    }
    body = {code: clean_html(text) for code, text in clean_translations(data.body, field="body").items()}
    summary = {
        code: strip_html(text)
        for code, text in clean_translations(data.summary, field="summary", required=False, max_chars=1000).items()
    }
    if data.kind not in Post.Kind.values:
        raise ApplicationError(_("Choose a kind of post from the list."), field="kind")
    if data.urgency not in Post.Urgency.values:
        raise ApplicationError(_("Choose normal or urgent."), field="urgency")
    topic_ids = _clean_ids(Topic, data.topic_ids, field="topics")
    if not topic_ids:
        raise ApplicationError(_("Choose at least one topic."), field="topics")
    community_ids = _clean_ids(Community, data.community_ids, field="communities")
    values = {
        "slug": clean_slug(data.slug),
        "kind": data.kind,
        "urgency": data.urgency,
        "title": title,
        "body": body,
        "summary": summary,
        "source_language": clean_language(data.source_language, field="source_language"),
        "publish_at": data.publish_at,
    }
    return values, topic_ids, community_ids


def _require_post_scope(actor: User, perm: Perm, community_ids: list[int] | set[int]) -> None:
    """Editors post anywhere; a coordinator only for its own communities, never city-wide."""
    require(actor, perm)
    scope = community_scope(actor, perm)
    if scope is None:
        return
    if not community_ids:
        raise NotAllowed(_("Only editors may post for the whole city. Choose your community."))
    if not set(community_ids) <= scope:
        raise NotAllowed(_("You may post only for your own community."))


def _post_communities(post: Post) -> set[int]:
    return set(post.communities.values_list("pk", flat=True))


def post_create(*, actor: User, data: PostInput) -> Post:
    values, topic_ids, community_ids = _post_values(data)
    _require_post_scope(actor, Perm.NEWS_WRITE, community_ids)
    try:
        with transaction.atomic(durable=True):
            post = Post.objects.create(**values, created_by=actor)
            post.topics.set(topic_ids)
            post.communities.set(community_ids)
            audit_record(actor=actor, action="post.create", target=post, after=_post_snapshot(post))
    except IntegrityError:
        raise ApplicationError(_("A post with this address already exists."), field="slug") from None
    return post


def _post_snapshot(post: Post) -> dict[str, Any]:
    data = snapshot(post)
    data["topics"] = sorted(post.topics.values_list("pk", flat=True))
    data["communities"] = sorted(post.communities.values_list("pk", flat=True))
    return data


def post_update(*, actor: User, post_id: int, data: PostInput) -> Post:
    values, topic_ids, community_ids = _post_values(data)
    _require_post_scope(actor, Perm.NEWS_WRITE, community_ids)
    try:
        with transaction.atomic(durable=True):
            post = Post.objects.select_for_update().get(pk=post_id)
            _require_post_scope(actor, Perm.NEWS_WRITE, _post_communities(post))
            before = _post_snapshot(post)
            for key, value in values.items():
                setattr(post, key, value)
            if post.state == Post.State.PUBLISHED and post.publish_at is None:
                post.publish_at = timezone.now()
            post.updated_at = timezone.now()
            post.save()
            post.topics.set(topic_ids)
            post.communities.set(community_ids)
            public_pages_changed()
            audit_record(actor=actor, action="post.update", target=post, before=before, after=_post_snapshot(post))
            _announce_on_commit(post)
    except IntegrityError:
        raise ApplicationError(_("A post with this address already exists."), field="slug") from None
    return post


_TRANSITIONS: dict[str, dict[str, Perm]] = {
    Post.State.DRAFT: {Post.State.REVIEW: Perm.NEWS_WRITE, Post.State.PUBLISHED: Perm.NEWS_PUBLISH},
    Post.State.REVIEW: {Post.State.DRAFT: Perm.NEWS_WRITE, Post.State.PUBLISHED: Perm.NEWS_PUBLISH},
    Post.State.PUBLISHED: {Post.State.DRAFT: Perm.NEWS_PUBLISH},
}


def post_set_state(*, actor: User, post_id: int, state: str) -> Post:
    """Move a post between draft, review and published. A published post with a publish time
    in the future stays hidden until then (scheduled); urgent posts are e-mailed when they go
    live."""
    with transaction.atomic(durable=True):
        post = Post.objects.select_for_update().get(pk=post_id)
        allowed = _TRANSITIONS.get(post.state, {})
        if state not in allowed:
            raise ApplicationError(
                _("A post that is “%(current)s” cannot be moved to “%(target)s”.")
                % {
                    "current": post.get_state_display(),
                    "target": Post.State(state).label if state in Post.State.values else state,
                },
                field="state",
            )
        _require_post_scope(actor, allowed[state], _post_communities(post))
        before = _post_snapshot(post)
        post.state = state
        if state == Post.State.PUBLISHED and post.publish_at is None:
            post.publish_at = timezone.now()
        post.updated_at = timezone.now()
        post.save()
        public_pages_changed()
        audit_record(actor=actor, action=f"post.state.{state}", target=post, before=before, after=_post_snapshot(post))
        _announce_on_commit(post)
    return post


def _announce_on_commit(post: Post) -> None:
    if post.is_live() and post.announced_at is None:
        from yulan.news import tasks

        post_id = post.pk
        transaction.on_commit(lambda: tasks.announce_post.enqueue(post_id))


def post_announce(post_id: int) -> bool:
    """Follow-ups of a post going live, done once: retire cached pages and, for an urgent
    post, e-mail the matching subscribers at once. Returns whether this call did them."""
    now = timezone.now()
    with transaction.atomic():
        claimed = Post.objects.live(now).filter(pk=post_id, announced_at__isnull=True).update(announced_at=now)
        if not claimed:
            return False
        public_pages_changed()
    post = Post.objects.get(pk=post_id)
    if post.is_urgent:
        urgent_fanout(post_id)
    return True


def posts_publish_due() -> int:
    """Periodic job: announce posts whose scheduled publish time has come."""
    due = list(Post.objects.live().filter(announced_at__isnull=True).values_list("pk", flat=True)[:100])
    return sum(post_announce(pk) for pk in due)


# --- matching subscribers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    id: int
    email: str
    language: str
    topics: frozenset[int]
    communities: frozenset[int]

    def wants(self, topics: frozenset[int], communities: frozenset[int]) -> bool:
        """Choosing no topics (or no communities) means all; a post for no community is for
        the whole city and reaches everyone who wants its topic."""
        topic_ok = not self.topics or bool(self.topics & topics)
        community_ok = not communities or not self.communities or bool(self.communities & communities)
        return topic_ok and community_ok


def _recipients(
    *, weekly: bool | None = None, urgent: bool | None = None, chunk: int = 5000
) -> Iterator[list[Recipient]]:
    """Active subscribers with their choices, a chunk at a time (three queries a chunk)."""
    rows = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
    if weekly is not None:
        rows = rows.filter(weekly=weekly)
    if urgent is not None:
        rows = rows.filter(urgent=urgent)
    last = 0
    topics_through = Subscriber.topics.through
    communities_through = Subscriber.communities.through
    while True:
        page = list(rows.filter(pk__gt=last).order_by("pk").values_list("pk", "email", "language")[:chunk])
        if not page:
            return
        low, high = page[0][0], page[-1][0]
        topics: dict[int, set[int]] = defaultdict(set)
        for sid, tid in topics_through.objects.filter(subscriber_id__gte=low, subscriber_id__lte=high).values_list(
            "subscriber_id", "topic_id"
        ):
            topics[sid].add(tid)
        communities: dict[int, set[int]] = defaultdict(set)
        for sid, cid in communities_through.objects.filter(subscriber_id__gte=low, subscriber_id__lte=high).values_list(
            "subscriber_id", "community_id"
        ):
            communities[sid].add(cid)
        yield [
            Recipient(pk, email, language, frozenset(topics.get(pk, ())), frozenset(communities.get(pk, ())))
            for pk, email, language in page
        ]
        last = high


def _post_targets(post_ids: list[int]) -> dict[int, tuple[frozenset[int], frozenset[int]]]:
    topics: dict[int, set[int]] = defaultdict(set)
    for pid, tid in Post.topics.through.objects.filter(post_id__in=post_ids).values_list("post_id", "topic_id"):
        topics[pid].add(tid)
    communities: dict[int, set[int]] = defaultdict(set)
    for pid, cid in Post.communities.through.objects.filter(post_id__in=post_ids).values_list(
        "post_id", "community_id"
    ):
        communities[pid].add(cid)
    return {pid: (frozenset(topics[pid]), frozenset(communities[pid])) for pid in post_ids}


def urgent_fanout(post_id: int) -> int:
    """Queue one urgent notice per matching subscriber (once each, however often it runs)."""
    targets = _post_targets([post_id])[post_id]
    stream = f"urgent:{post_id}"
    queued = 0
    for recipients in _recipients(urgent=True):
        queued += mail_queue_many(
            OutgoingMail(
                kind="urgent",
                stream=stream,
                key=f"urgent:{post_id}:{r.id}",
                to_email=r.email,
                language=r.language,
                context={"p": post_id, "s": r.id},
            )
            for r in recipients
            if r.wants(*targets)
        )
    outbox_statistics_refresh()
    delivery_start(workers=settings.YULAN_MAIL_WORKERS)
    return queued


# --- subscriptions ----------------------------------------------------------------------------


@dataclass
class SubscriptionInput:
    email: str
    language: str
    weekly: bool = True
    urgent: bool = True
    topic_ids: list[int] = field(default_factory=list)
    community_ids: list[int] = field(default_factory=list)


def _clean_choices(data: SubscriptionInput) -> tuple[list[int], list[int]]:
    clean_language(data.language, field="language")
    if not data.weekly and not data.urgent:
        raise ApplicationError(_("Choose the weekly bulletin, urgent notices or both."), field="frequency")
    return _clean_ids(Topic, data.topic_ids, field="topics"), _clean_ids(
        Community, data.community_ids, field="communities"
    )


# A second request for the same address within this time sends no second e-mail.
NOTICE_INTERVAL = datetime.timedelta(minutes=10)


def subscription_request(*, data: SubscriptionInput) -> None:
    """Someone asks for news at an address. The answer never reveals whether the address is
    already subscribed: a new or unconfirmed address gets a confirmation link, a subscribed
    one a note with its preferences link, a suppressed one nothing."""
    address = clean_address(data.email)
    topic_ids, community_ids = _clean_choices(data)
    now = timezone.now()
    with transaction.atomic(durable=True):
        subscriber, created = Subscriber.objects.select_for_update().get_or_create(
            email=address, defaults={"language": data.language}
        )
        if subscriber.status == Subscriber.Status.SUPPRESSED:
            return
        if not created and subscriber.last_notice_at and now - subscriber.last_notice_at < NOTICE_INTERVAL:
            return
        if subscriber.status == Subscriber.Status.ACTIVE:
            _queue_subscription_mail(subscriber, "already")
        else:
            # Unconfirmed or unsubscribed: the new choices stand once confirmed.
            subscriber.status = Subscriber.Status.PENDING
            subscriber.language = data.language
            subscriber.weekly, subscriber.urgent = data.weekly, data.urgent
            subscriber.save()
            subscriber.topics.set(topic_ids)
            subscriber.communities.set(community_ids)
            _queue_subscription_mail(subscriber, "confirm")
        subscriber.last_notice_at = now
        subscriber.save(update_fields=["last_notice_at"])


def _queue_subscription_mail(subscriber: Subscriber, which: str) -> None:
    language = subscriber.language
    context = {
        "confirm_url": site_url("news:confirm", tokens.make(subscriber, tokens.CONFIRM), language=language),
        "manage_url": site_url("news:manage", tokens.make(subscriber, tokens.MANAGE), language=language),
        "days": settings.YULAN_SUBSCRIBE_CONFIRM_DAYS,
        "site_name": settings.YULAN_SITE_NAME,
    }
    with translation.override(language):
        subject = render_to_string(f"news/email/{which}_subject.txt", context).strip()
        text = render_to_string(f"news/email/{which}.txt", context)
        html = render_to_string(f"news/email/{which}.html", context)
    mail_queue(kind="subscription", to=subscriber.email, subject=subject, text=text, html=html, language=language)


def subscription_confirm(*, token: str) -> Subscriber:
    subscriber = tokens.read(token, tokens.CONFIRM)
    with transaction.atomic(durable=True):
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status == Subscriber.Status.SUPPRESSED:
            raise ApplicationError(_("This address cannot receive our e-mail. Please contact us."), status=409)
        if subscriber.status != Subscriber.Status.ACTIVE:
            subscriber.status = Subscriber.Status.ACTIVE
            subscriber.confirmed_at = timezone.now()
            subscriber.unsubscribed_at = None
            subscriber.save()
    return subscriber


def subscription_update(*, token: str, data: SubscriptionInput) -> Subscriber:
    """Change what a subscriber receives (from the signed preferences link)."""
    subscriber = tokens.read(token, tokens.MANAGE)
    topic_ids, community_ids = _clean_choices(data)
    with transaction.atomic(durable=True):
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        subscriber.language = data.language
        subscriber.weekly, subscriber.urgent = data.weekly, data.urgent
        if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
            subscriber.status = Subscriber.Status.ACTIVE
            subscriber.unsubscribed_at = None
        subscriber.save()
        subscriber.topics.set(topic_ids)
        subscriber.communities.set(community_ids)
    return subscriber


def subscription_unsubscribe(*, token: str) -> Subscriber:
    """One click ends every mailing to the address. Mail already queued for it is not sent:
    the renderers skip anyone no longer subscribed when the row's turn comes."""
    subscriber = tokens.read(token, tokens.MANAGE)
    with transaction.atomic(durable=True):
        Subscriber.objects.filter(
            pk=subscriber.pk, status__in=[Subscriber.Status.ACTIVE, Subscriber.Status.PENDING]
        ).update(status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now())
    subscriber.refresh_from_db()
    return subscriber


def subscription_delete(*, token: str) -> None:
    """Forget the subscriber entirely (the right to erasure). Queued mail for them is not sent
    (its subscriber is gone); the outbox forgets the address after YULAN_MAIL_KEEP_DAYS."""
    subscriber = tokens.read(token, tokens.MANAGE)
    Subscriber.objects.filter(pk=subscriber.pk).delete()


def subscriber_suppress(*, email: str, reason: str, detail: str = "", actor: User | None = None) -> bool:
    """Record a bounce or a complaint: nothing more is sent to the address. Returns whether a
    subscriber was found."""
    if actor is not None:
        require(actor, Perm.SUBSCRIBERS_MANAGE)
    if reason not in Subscriber.Suppression.values:
        raise ApplicationError(_("Choose bounce or complaint."), field="reason")
    address = email.strip().lower()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(email=address).first()
        if subscriber is None:
            return False
        before = snapshot(subscriber)
        subscriber.status = Subscriber.Status.SUPPRESSED
        subscriber.suppressed_reason = reason
        subscriber.suppressed_detail = detail[:2000]
        subscriber.suppressed_at = timezone.now()
        subscriber.save()
        if actor is not None:
            audit_record(
                actor=actor, action=f"subscriber.{reason}", target=subscriber, before=before, after=snapshot(subscriber)
            )
    return True


def record_bounce(address: str, reason: str) -> None:
    """The receiving server refused the address for good (a hard bounce)."""
    subscriber_suppress(email=address, reason=Subscriber.Suppression.BOUNCE, detail=reason)


# --- the weekly bulletin ----------------------------------------------------------------------


def week_start_of(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def _week_bounds(week_start: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(week_start, datetime.time.min, tzinfo=tz)
    return start, start + datetime.timedelta(days=7)


def bulletin_compile(*, week_start: datetime.date, actor: User | None = None) -> Bulletin:
    """Compile the bulletin of a week from the posts that went live in it: urgent ones first,
    then by time. If it exists already, it is returned unchanged."""
    if actor is not None:
        require(actor, Perm.BULLETIN_SEND)
    week_start = week_start_of(week_start)
    existing = Bulletin.objects.filter(week_start=week_start).first()
    if existing is not None:
        return existing
    start, end = _week_bounds(week_start)
    posts = list(Post.objects.live().filter(publish_at__gte=start, publish_at__lt=end).order_by("publish_at", "pk"))
    posts.sort(key=lambda p: (not p.is_urgent, p.publish_at))
    try:
        with transaction.atomic():
            bulletin = Bulletin.objects.create(week_start=week_start, created_by=actor)
            BulletinItem.objects.bulk_create(
                BulletinItem(bulletin=bulletin, post=post, position=(i + 1) * 10) for i, post in enumerate(posts)
            )
            if actor is not None:
                audit_record(actor=actor, action="bulletin.compile", target=bulletin, after=snapshot(bulletin))
    except IntegrityError:  # compiled at the same moment elsewhere
        return Bulletin.objects.get(week_start=week_start)
    return bulletin


def bulletin_compile_due(now: datetime.datetime | None = None) -> int | None:
    """Periodic job: once the compile time of this week has passed, compile last week's
    bulletin as a draft for the editors (once)."""
    local = timezone.localtime(now or timezone.now())
    this_week = week_start_of(local.date())
    compile_at = datetime.datetime.combine(
        this_week + datetime.timedelta(days=settings.YULAN_BULLETIN_WEEKDAY),
        datetime.time(settings.YULAN_BULLETIN_HOUR),
        tzinfo=local.tzinfo,
    )
    if local < compile_at:
        return None
    last_week = this_week - datetime.timedelta(days=7)
    if Bulletin.objects.filter(week_start=last_week).exists():
        return None
    return bulletin_compile(week_start=last_week).pk


@dataclass
class ItemEdit:
    item_id: int
    position: int
    note: Any = None
    remove: bool = False


def _editable_bulletin(actor: User, bulletin_id: int) -> Bulletin:
    require(actor, Perm.BULLETIN_SEND)
    bulletin = Bulletin.objects.select_for_update().get(pk=bulletin_id)
    if not bulletin.editable:
        raise ApplicationError(_("This bulletin is being sent or was sent; it can no longer be changed."), status=409)
    return bulletin


def bulletin_update(*, actor: User, bulletin_id: int, intro: Any, items: list[ItemEdit]) -> Bulletin:
    """Save the editors' review: the note at the top, the order of the posts, a note on each,
    and posts taken out."""
    intro_clean = {
        k: clean_html(v) for k, v in clean_translations(intro, field="intro", required=False, max_chars=5000).items()
    }
    notes = {
        edit.item_id: {
            k: clean_html(v)
            for k, v in clean_translations(
                edit.note, field=f"note-{edit.item_id}", required=False, max_chars=2000
            ).items()
        }
        for edit in items
    }
    with transaction.atomic(durable=True):
        bulletin = _editable_bulletin(actor, bulletin_id)
        before = snapshot(bulletin)
        bulletin.intro = intro_clean
        bulletin.save(update_fields=["intro"])
        current = {item.pk: item for item in bulletin.items.all()}
        for edit in items:
            item = current.get(edit.item_id)
            if item is None:
                raise ApplicationError(_("This post is no longer in the bulletin. Reload the page."), field="items")
            if edit.remove:
                item.delete()
                continue
            item.position = max(0, int(edit.position))
            item.note = notes[edit.item_id]
            item.save(update_fields=["position", "note"])
        audit_record(actor=actor, action="bulletin.update", target=bulletin, before=before, after=snapshot(bulletin))
    return bulletin


def bulletin_add_post(*, actor: User, bulletin_id: int, post_id: int) -> BulletinItem:
    with transaction.atomic(durable=True):
        bulletin = _editable_bulletin(actor, bulletin_id)
        post = Post.objects.live().filter(pk=post_id).first()
        if post is None:
            raise ApplicationError(_("Only published posts can go into the bulletin."), field="post")
        if bulletin.items.filter(post=post).exists():
            raise ApplicationError(_("This post is already in the bulletin."), field="post")
        last = bulletin.items.aggregate(m=Max("position"))["m"] or 0
        item = BulletinItem.objects.create(bulletin=bulletin, post=post, position=last + 10)
        audit_record(actor=actor, action="bulletin.add_post", target=bulletin, after={"post": post.pk})
    return item


def bulletin_schedule(*, actor: User, bulletin_id: int, send_at: datetime.datetime | None) -> Bulletin:
    """Send the bulletin now (`send_at` None or past) or at a later time."""
    with transaction.atomic(durable=True):
        bulletin = _editable_bulletin(actor, bulletin_id)
        if not bulletin.items.exists():
            raise ApplicationError(_("The bulletin has no posts. Add at least one before sending."), field="items")
        before = snapshot(bulletin)
        now = timezone.now()
        if send_at is not None and send_at > now:
            bulletin.state = Bulletin.State.SCHEDULED
            bulletin.send_at = send_at
            bulletin.save(update_fields=["state", "send_at"])
        else:
            _start_sending(bulletin, now)
        audit_record(
            actor=actor, action=f"bulletin.{bulletin.state}", target=bulletin, before=before, after=snapshot(bulletin)
        )
    return bulletin


def bulletin_unschedule(*, actor: User, bulletin_id: int) -> Bulletin:
    with transaction.atomic(durable=True):
        bulletin = _editable_bulletin(actor, bulletin_id)
        before = snapshot(bulletin)
        bulletin.state, bulletin.send_at = Bulletin.State.DRAFT, None
        bulletin.save(update_fields=["state", "send_at"])
        audit_record(
            actor=actor, action="bulletin.unschedule", target=bulletin, before=before, after=snapshot(bulletin)
        )
    return bulletin


def _start_sending(bulletin: Bulletin, now: datetime.datetime) -> None:
    from yulan.news import tasks

    bulletin.state = Bulletin.State.SENDING
    bulletin.sending_started_at = now
    bulletin.fanout_heartbeat_at = now
    bulletin.save(update_fields=["state", "sending_started_at", "fanout_heartbeat_at"])
    bulletin_id = bulletin.pk
    transaction.on_commit(lambda: tasks.bulletin_fanout.enqueue(bulletin_id))


def bulletin_fanout(bulletin_id: int) -> int:
    """Queue one outbox row per subscriber who wants at least one post of the bulletin, naming
    the posts that subscriber gets. Rows are keyed, so running it again after a crash queues
    only the rows that are missing. Returns the number of rows this run queued."""
    bulletin = Bulletin.objects.get(pk=bulletin_id)
    if bulletin.state != Bulletin.State.SENDING or bulletin.fanout_done_at is not None:
        return 0
    items = list(bulletin.items.order_by("position", "pk").values_list("post_id", flat=True))
    targets = _post_targets(items)
    queued = 0
    cache: dict[tuple[frozenset[int], frozenset[int]], list[int]] = {}
    for recipients in _recipients(weekly=True):
        rows = []
        for r in recipients:
            choice = (r.topics, r.communities)
            post_ids = cache.get(choice)
            if post_ids is None:
                post_ids = cache[choice] = [pid for pid in items if r.wants(*targets[pid])]
            if post_ids:
                rows.append(
                    OutgoingMail(
                        kind="bulletin",
                        stream=bulletin.stream,
                        key=f"bulletin:{bulletin.pk}:{r.id}",
                        to_email=r.email,
                        language=r.language,
                        context={"b": bulletin.pk, "s": r.id, "p": post_ids},
                    )
                )
        written = mail_queue_many(rows)
        if written and not queued:
            # Start delivering while the rest is being queued.
            outbox_statistics_refresh()
            delivery_start(workers=1)
        queued += written
        Bulletin.objects.filter(pk=bulletin.pk).update(fanout_heartbeat_at=timezone.now())
    outbox_statistics_refresh()
    total = OutgoingMail.objects.filter(stream=bulletin.stream).count()
    Bulletin.objects.filter(pk=bulletin.pk).update(fanout_done_at=timezone.now(), recipients=total)
    delivery_start(workers=settings.YULAN_MAIL_WORKERS)
    return queued


# A fan-out that has shown no sign of life for this long is taken to have died, and run again.
FANOUT_STALE = datetime.timedelta(minutes=2)


def bulletins_resume(now: datetime.datetime | None = None) -> list[str]:
    """Periodic job: start scheduled bulletins whose time has come, run again a fan-out that
    died, and mark bulletins sent once no mail of theirs is waiting."""
    from yulan.news import tasks

    now = now or timezone.now()
    done: list[str] = []
    for bulletin_id in Bulletin.objects.filter(state=Bulletin.State.SCHEDULED, send_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            bulletin = Bulletin.objects.select_for_update().get(pk=bulletin_id)
            if bulletin.state == Bulletin.State.SCHEDULED:
                _start_sending(bulletin, now)
                done.append(f"started {bulletin}")
    for bulletin in Bulletin.objects.filter(state=Bulletin.State.SENDING):
        if bulletin.fanout_done_at is None:
            if bulletin.fanout_heartbeat_at is None or now - bulletin.fanout_heartbeat_at > FANOUT_STALE:
                Bulletin.objects.filter(pk=bulletin.pk).update(fanout_heartbeat_at=now)
                tasks.bulletin_fanout.enqueue(bulletin.pk)
                done.append(f"resumed {bulletin}")
            continue
        progress = outbox_progress(bulletin.stream)
        if progress.pending == 0 and progress.sending == 0:
            Bulletin.objects.filter(pk=bulletin.pk, state=Bulletin.State.SENDING).update(
                state=Bulletin.State.SENT, sent_at=now
            )
            done.append(f"sent {bulletin}")
    return done
