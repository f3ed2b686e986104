"""Demonstration events for the coming weeks (loaded by `manage.py demo`)."""

import datetime

from django.utils import timezone

from yulan.core.models import Community, User
from yulan.events import services
from yulan.events.models import Event, Question
from yulan.guide.models import Place

EVENTS = [
    # slug, kind, community, place, days ahead, hour, hours long, capacity, languages, title, description
    (
        "lantern-festival-evening",
        Event.Kind.CELEBRATION,
        "hongqiao-sd",
        "greater-hongqiao-business-service-center",
        5,
        18,
        3,
        80,
        ["en", "zh-hans", "ja"],
        {"en": "Lantern Festival evening", "zh-hans": "元宵节游园会", "ja": "元宵節の夕べ"},
        {
            "en": "<p>Make lanterns, guess riddles and share tangyuan with your neighbours.</p>",
            "zh-hans": "<p>做花灯、猜灯谜，和邻居一起吃汤圆。</p>",
        },
    ),
    (
        "family-calligraphy-morning",
        Event.Kind.FAMILY,
        "hongqiao-sd",
        "hongqiao-international-trade-service-center",
        9,
        10,
        2,
        24,
        ["en", "zh-hans"],
        {"en": "Family calligraphy morning", "zh-hans": "亲子书法体验"},
        {"en": "<p>Brushes, ink and patient teachers. For children from six with a parent.</p>"},
    ),
    (
        "residents-roundtable-hongqiao",
        Event.Kind.ROUNDTABLE,
        "hongqiao-sd",
        "greater-hongqiao-business-service-center",
        12,
        14,
        2,
        30,
        ["en", "zh-hans", "ko"],
        {"en": "Residents' roundtable: parking and waste sorting", "zh-hans": "居民圆桌会：停车与垃圾分类"},
        {"en": "<p>Tell the sub-district office what works and what does not. Interpreters present.</p>"},
    ),
    (
        "foreign-enterprise-forum",
        Event.Kind.FORUM,
        None,
        "greater-hongqiao-business-service-center",
        20,
        9,
        4,
        200,
        ["en", "zh-hans"],
        {"en": "Foreign enterprise policy forum", "zh-hans": "外资企业政策宣讲会"},
        {"en": "<p>The latest on work permits, social insurance and tax for foreign-invested companies.</p>"},
    ),
    (
        "online-visa-seminar",
        Event.Kind.SEMINAR,
        None,
        None,
        3,
        19,
        1,
        None,
        ["en"],
        {"en": "Online seminar: renewing your residence permit", "zh-hans": "线上讲座：居留许可续签"},
        {"en": "<p>The exit-entry administration explains the steps and answers questions.</p>"},
    ),
]


def load(*, editor: User, coordinator: User) -> None:
    now = timezone.localtime()
    for slug, kind, community_slug, place_slug, days, hour, hours, capacity, languages, title, text in EVENTS:
        community = Community.objects.get(slug=community_slug) if community_slug else None
        actor = coordinator if community is not None else editor
        start = (now + datetime.timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
        event = services.event_create(
            actor=actor,
            data=services.EventInput(
                slug=slug,
                kind=kind,
                title=title,
                description=text,
                community_id=community.pk if community else None,
                place_id=Place.objects.get(slug=place_slug).pk if place_slug else None,
                online_url="" if place_slug else "https://meeting.example.org/visa-seminar",
                starts_at=start,
                ends_at=start + datetime.timedelta(hours=hours),
                languages=languages,
                capacity=capacity,
                max_party_size=4 if kind == Event.Kind.FAMILY else 2,
                contact_name="Community centre",
                contact_email="events@yulan.example",
            ),
        )
        services.event_publish(actor=actor, event_id=event.pk)
        if kind == Event.Kind.FAMILY:
            services.question_add(
                actor=actor,
                event_id=event.pk,
                label={"en": "Age of the child", "zh-hans": "孩子的年龄"},
                kind=Question.Kind.TEXT,
                required=True,
            )
