"""RSS 2.0 and Atom feeds of the news: everything, per topic and per community, in the
language of the address they are read at."""

from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.translation import gettext as _

from yulan.core.i18n import localize
from yulan.core.models import Community
from yulan.news import selectors
from yulan.news.models import Post, Topic

FEED_ITEMS = 30


class NewsFeed(Feed):
    feed_type: type[SyndicationFeed] = Rss201rev2Feed

    def get_object(self, request: HttpRequest, scope: str = "", slug: str = "") -> Topic | Community | None:
        if scope == "topic":
            return get_object_or_404(Topic, slug=slug)
        if scope == "community":
            return get_object_or_404(Community, slug=slug)
        if scope:
            raise Http404
        return None

    def title(self, obj: Topic | Community | None) -> str:
        if obj is None:
            return _("%(site)s news") % {"site": settings.YULAN_SITE_NAME}
        return _("%(site)s news: %(name)s") % {"site": settings.YULAN_SITE_NAME, "name": localize(obj.name).text}

    def link(self, obj: Topic | Community | None) -> str:
        url = reverse("news:list")
        if isinstance(obj, Topic):
            return f"{url}?topic={obj.slug}"
        if isinstance(obj, Community):
            return f"{url}?community={obj.slug}"
        return url

    def description(self, obj: Topic | Community | None) -> str:
        return _("Official news and notices for the international community of %(city)s.") % {
            "city": settings.YULAN_CITY
        }

    def items(self, obj: Topic | Community | None) -> list[Post]:
        return list(
            selectors.posts_public(
                topic=obj if isinstance(obj, Topic) else None,
                community=obj if isinstance(obj, Community) else None,
            )[:FEED_ITEMS]
        )

    def item_title(self, item: Post) -> str:
        return localize(item.title, fallback=item.source_language).text

    def item_description(self, item: Post) -> str:
        return (
            localize(item.summary, fallback=item.source_language).text
            or localize(item.body, fallback=item.source_language).text
        )

    def item_link(self, item: Post) -> str:
        return reverse("news:post", args=[item.slug])

    def item_guid(self, item: Post) -> str:
        return f"tag:{settings.YULAN_SITE_NAME.lower()},news:post:{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Post) -> Any:
        return item.publish_at

    def item_updateddate(self, item: Post) -> Any:
        return item.updated_at

    def item_categories(self, item: Post) -> list[str]:
        return [localize(t.name).text for t in item.topics.all()]


class AtomNewsFeed(NewsFeed):
    feed_type = Atom1Feed

    def subtitle(self, obj: Topic | Community | None) -> str:
        return self.description(obj)
