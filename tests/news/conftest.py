import datetime

import pytest
from django.utils import timezone

from yulan.news import services
from yulan.news.models import Post, Subscriber, Topic


@pytest.fixture
def health(db):
    return Topic.objects.create(slug="health", name={"en": "Health", "zh-hans": "医疗健康"})


@pytest.fixture
def transport(db):
    return Topic.objects.create(slug="transport", name={"en": "Transport", "zh-hans": "交通出行"})


def make_post(actor, slug, topics, communities=(), *, urgent=False, publish_at=None, title=None, publish=True, **extra):
    post = services.post_create(
        actor=actor,
        data=services.PostInput(
            slug=slug,
            title=title or {"en": f"Title of {slug}", "zh-hans": f"{slug} 的标题"},
            summary=extra.pop("summary", None) or {"en": f"Summary of {slug}"},
            body={"en": f"<p>Body of {slug}</p>"},
            topic_ids=[t.pk for t in topics],
            community_ids=[c.pk for c in communities],
            urgency=Post.Urgency.URGENT if urgent else Post.Urgency.NORMAL,
            publish_at=publish_at,
            **extra,
        ),
    )
    if publish:
        post = services.post_set_state(actor=actor, post_id=post.pk, state=Post.State.PUBLISHED)
    return post


def make_subscriber(email, *, language="en", topics=(), communities=(), weekly=True, urgent=True, status="active"):
    subscriber = Subscriber.objects.create(
        email=email,
        language=language,
        weekly=weekly,
        urgent=urgent,
        status=status,
        confirmed_at=timezone.now() if status == "active" else None,
    )
    subscriber.topics.set(topics)
    subscriber.communities.set(communities)
    return subscriber


def days_ago(n: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)
