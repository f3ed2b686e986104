"""Read API of the news: live posts, filtered like the public list, in one language."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from yulan.core.cleaning import clean_language
from yulan.core.errors import ApplicationError
from yulan.core.i18n import localize
from yulan.core.models import Community
from yulan.news import selectors
from yulan.news.models import Post, Topic

router = Router(tags=["news"])


class PostOut(Schema):
    slug: str
    kind: str
    urgent: bool
    title: str
    summary: str
    language: str
    published_at: datetime
    topics: list[str]
    communities: list[str]
    url: str


class PostDetailOut(PostOut):
    body_html: str


class PostQuery(Schema):
    lang: str = Field(settings.LANGUAGE_CODE, max_length=10)
    topic: str | None = Field(None, max_length=50)
    community: str | None = Field(None, max_length=50)
    kind: str | None = Field(None, max_length=20)
    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(20, ge=1, le=100)


def _post_out(post: Post, lang: str, *, body: bool = False) -> dict[str, Any]:
    title = localize(post.title, lang, fallback=post.source_language)
    with translation.override(lang):
        url = reverse("news:post", args=[post.slug])
    out = {
        "slug": post.slug,
        "kind": post.kind,
        "urgent": post.is_urgent,
        "title": title.text,
        "summary": localize(post.summary, lang, fallback=post.source_language).text,
        "language": title.language,
        "published_at": post.publish_at,
        "topics": [t.slug for t in post.topics.all()],
        "communities": [c.slug for c in post.communities.all()],
        "url": url,
    }
    if body:
        out["body_html"] = localize(post.body, lang, fallback=post.source_language).text
    return out


@router.get("news/posts", response=list[PostOut], summary="Live news posts, newest first")
def posts(request: HttpRequest, q: Query[PostQuery]) -> list[dict[str, Any]]:
    lang = clean_language(q.lang, field="lang")
    topic = community = None
    if q.topic:
        topic = Topic.objects.filter(slug=q.topic).first()
        if topic is None:
            raise ApplicationError(_("Choose topics from the list."), field="topic")
    if q.community:
        community = Community.objects.filter(slug=q.community).first()
        if community is None:
            raise ApplicationError(_("Choose communities from the list."), field="community")
    if q.kind and q.kind not in Post.Kind.values:
        raise ApplicationError(_("Choose a kind of post from the list."), field="kind")
    found = selectors.posts_public(topic=topic, community=community, kind=q.kind)
    start = (q.page - 1) * q.per_page
    return [_post_out(p, lang) for p in found[start : start + q.per_page]]


@router.get("news/posts/{slug}", response=PostDetailOut, summary="One live news post")
def post(request: HttpRequest, slug: str, lang: str = settings.LANGUAGE_CODE) -> dict[str, Any]:
    found = selectors.post_public(slug)
    if found is None:
        raise ApplicationError(_("No such post."), field="slug", status=404)
    return _post_out(found, clean_language(lang, field="lang"), body=True)
