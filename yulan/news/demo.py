"""Demonstration news: topics and a fortnight of posts (loaded by `manage.py demo`)."""

import datetime

from django.utils import timezone

from yulan.core.models import Community, User
from yulan.news import services
from yulan.news.models import Post, Topic

TOPICS = [
    (
        "visas-residence",
        {"en": "Visas and residence", "zh-hans": "签证与居留", "ja": "ビザと在留", "ko": "비자와 체류"},
    ),
    ("health", {"en": "Health", "zh-hans": "医疗健康", "ja": "医療", "ko": "건강"}),
    ("transport", {"en": "Transport", "zh-hans": "交通出行", "ja": "交通", "ko": "교통"}),
    ("education", {"en": "Education", "zh-hans": "教育", "ja": "教育", "ko": "교육"}),
    ("community-life", {"en": "Community life", "zh-hans": "社区生活", "ja": "地域の暮らし", "ko": "지역 생활"}),
    ("business", {"en": "Business and work", "zh-hans": "工作与营商", "ja": "仕事とビジネス", "ko": "일과 비즈니스"}),
    ("safety", {"en": "Safety and emergencies", "zh-hans": "安全与应急", "ja": "安全と緊急時", "ko": "안전과 비상"}),
]

POSTS = [
    (
        "typhoon-warning-weekend",
        Post.Kind.NEWS,
        Post.Urgency.URGENT,
        ["safety"],
        [],
        1,
        {"en": "Typhoon warning for the weekend", "zh-hans": "周末台风预警"},
        {
            "en": "Stay indoors on Saturday; some metro lines may stop.",
            "zh-hans": "周六请尽量留在室内，部分地铁线路可能停运。",
        },
        {
            "en": "<p>The city has issued a yellow typhoon warning. Secure balconies, keep phones charged "
            "and follow the notices of your community centre.</p>",
            "zh-hans": "<p>本市已发布台风黄色预警。请固定阳台物品，保持手机电量，并留意社区中心的通知。</p>",
        },
    ),
    (
        "work-and-residence-permit-one-window",
        Post.Kind.POLICY,
        Post.Urgency.NORMAL,
        ["visas-residence", "business"],
        [],
        3,
        {"en": "Work and residence permits at one window", "zh-hans": "工作许可与居留许可“一窗办理”"},
        {"en": "Apply for both permits together, with one set of documents."},
        {
            "en": "<p>Overseas talents can now apply for the work permit and the residence permit together at "
            "the district service halls, with one set of documents and one appointment.</p>"
        },
    ),
    (
        "register-residence-within-24-hours",
        Post.Kind.LEGAL,
        Post.Urgency.NORMAL,
        ["visas-residence"],
        [],
        5,
        {
            "en": "Register where you stay within 24 hours",
            "zh-hans": "请在24小时内办理住宿登记",
            "ja": "滞在先の登録は24時間以内に",
        },
        {"en": "What the temporary residence registration is, and how to do it online."},
        {
            "en": "<p>Foreign nationals must register their place of stay with the local police within 24 hours "
            "of arrival (hotels do it for their guests). You can register online or at your community centre.</p>",
            "zh-hans": "<p>外国人应在抵达后24小时内向当地公安机关办理住宿登记（酒店会为住客办理）。"
            "可在网上或社区中心办理。</p>",
        },
    ),
    (
        "free-mandarin-classes-hongqiao",
        Post.Kind.ASSISTANCE,
        Post.Urgency.NORMAL,
        ["education", "community-life"],
        ["hongqiao-sd"],
        6,
        {"en": "Free Mandarin classes at Hongqiao", "zh-hans": "虹桥街道免费中文课"},
        {"en": "Beginner and intermediate groups, Tuesday and Thursday evenings."},
        {
            "en": "<p>The international community centre offers free Mandarin classes for residents. "
            "Sign up at the front desk.</p>"
        },
    ),
    (
        "gubei-neighbours-lantern-festival",
        Post.Kind.STORY,
        Post.Urgency.NORMAL,
        ["community-life"],
        ["hongqiao-sd"],
        9,
        {"en": "Neighbours from 20 countries at the lantern festival", "zh-hans": "20个国家的邻居共度元宵"},
        {"en": "How a community dinner became a tradition."},
        {"en": "<p>Residents from twenty countries made lanterns and shared dumplings with their neighbours.</p>"},
    ),
    (
        "metro-night-service-extended",
        Post.Kind.NEWS,
        Post.Urgency.NORMAL,
        ["transport"],
        [],
        11,
        {"en": "Metro night service extended on Fridays", "zh-hans": "周五地铁延长运营"},
        {"en": "Lines 1, 2 and 10 run until 1 a.m. on Fridays and Saturdays."},
        {"en": "<p>From next month, lines 1, 2 and 10 run until 1 a.m. on Fridays and Saturdays.</p>"},
    ),
]


def load(*, editor: User) -> None:
    topics = {}
    for position, (slug, names) in enumerate(TOPICS):
        topics[slug] = Topic.objects.create(slug=slug, name=names, position=position)
    now = timezone.now()
    for slug, kind, urgency, topic_slugs, community_slugs, days_ago, title, summary, body in POSTS:
        post = services.post_create(
            actor=editor,
            data=services.PostInput(
                slug=slug,
                kind=kind,
                urgency=urgency,
                title=title,
                summary=summary,
                body=body,
                topic_ids=[topics[t].pk for t in topic_slugs],
                community_ids=list(Community.objects.filter(slug__in=community_slugs).values_list("pk", flat=True)),
                publish_at=now - datetime.timedelta(days=days_ago),
            ),
        )
        services.post_set_state(actor=editor, post_id=post.pk, state=Post.State.PUBLISHED)
    # Demo posts are history: no urgent notice goes out for them.
    Post.objects.update(announced_at=now)
