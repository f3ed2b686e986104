"""Reads of the news capability."""

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from yulan.core.mail import Progress, outbox_progress
from yulan.core.models import Community, User
from yulan.core.permissions import Perm, community_scope
from yulan.news.models import Bulletin, BulletinItem, Post, Subscriber, Topic


def topics() -> QuerySet[Topic]:
    return Topic.objects.all()


def posts_public(
    *, topic: Topic | None = None, community: Community | None = None, kind: str | None = None
) -> QuerySet[Post]:
    """Live posts, newest first. A community's news includes the city-wide posts."""
    posts = Post.objects.live()
    if topic is not None:
        posts = posts.filter(topics=topic)
    if community is not None:
        posts = posts.filter(Q(communities=community) | Q(communities__isnull=True))
    if kind:
        posts = posts.filter(kind=kind)
    return (
        posts.distinct()
        .order_by("-publish_at", "-pk")
        .prefetch_related(Prefetch("topics", queryset=Topic.objects.order_by("position", "slug")), "communities")
    )


def post_public(slug: str) -> Post | None:
    return posts_public().filter(slug=slug).first()


def posts_for_staff(*, user: User, state: str | None = None) -> QuerySet[Post]:
    posts = Post.objects.select_related("created_by").prefetch_related("communities")
    scope = community_scope(user, Perm.NEWS_WRITE)
    if scope is not None:
        posts = posts.filter(communities__in=scope).distinct()
    if state:
        posts = posts.filter(state=state)
    return posts.order_by("-updated_at", "-pk")


def bulletin_items(bulletin: Bulletin) -> list[BulletinItem]:
    return list(bulletin.items.select_related("post").prefetch_related("post__topics", "post__communities"))


def bulletin_candidates(bulletin: Bulletin) -> QuerySet[Post]:
    """Live posts not yet in the bulletin, newest first (to add one by hand)."""
    return Post.objects.live().exclude(pk__in=bulletin.items.values("post_id")).order_by("-publish_at")[:50]


def bulletin_progress(bulletin: Bulletin) -> Progress:
    return outbox_progress(bulletin.stream)


def bulletin_audience(bulletin: Bulletin) -> int:
    """How many subscribers currently take the weekly bulletin (an upper bound of recipients)."""
    return Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, weekly=True).count()


def subscriber_counts() -> dict[str, Any]:
    by_status = dict(Subscriber.objects.values_list("status").annotate(n=Count("pk")).order_by())
    by_language = dict(
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
        .values_list("language")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {"by_status": by_status, "by_language": by_language}


def subscribers_search(query: str) -> QuerySet[Subscriber]:
    query = query.strip().lower()
    rows = Subscriber.objects.order_by("email")
    if query:
        rows = rows.filter(email__contains=query)
    return rows
