"""Demonstration feedback (loaded by `manage.py demo`): categories, routing to the offices,
items in several languages at different stages, and an open survey. People are fictional."""

import datetime

from django.utils import timezone

from yulan.core.models import Community, Office, User
from yulan.voice import services
from yulan.voice.models import Category, Item, RoutingRule, Survey, SurveyQuestion

CATEGORIES = [
    # slug, group, response hours, names, description
    (
        "signs",
        "streets",
        120,
        {"en": "Signs and wayfinding", "zh-hans": "标识与指引"},
        {"en": "Missing or confusing signs, bilingual signs."},
    ),
    (
        "streets",
        "streets",
        72,
        {"en": "Streets and lighting", "zh-hans": "道路与照明"},
        {"en": "Streetlights, pavements, crossings."},
    ),
    (
        "services",
        "services",
        120,
        {"en": "Public services", "zh-hans": "公共服务"},
        {"en": "Service halls, forms, opening hours, languages spoken."},
    ),
    (
        "medical",
        "services",
        72,
        {"en": "Medical care", "zh-hans": "医疗"},
        {"en": "International departments, appointments, insurance."},
    ),
    (
        "community-life",
        "community",
        168,
        {"en": "Community life", "zh-hans": "社区生活"},
        {"en": "Activities, neighbours, ideas for the centre."},
    ),
    (
        "roundtable",
        "community",
        168,
        {"en": "Raised at roundtables", "zh-hans": "圆桌会议意见"},
        {"en": "Points raised at roundtables and dialogues."},
    ),
]

# (text, category, community, kind, public, days ago, status, reply)
ITEMS = [
    (
        "The bilingual sign at the Loushanguan Road metro exit 3 points the wrong way to the service centre.",
        "signs",
        "hongqiao-sd",
        "problem",
        True,
        12,
        "answered",
        {"en": "Thank you: the sign was replaced on Monday.", "zh-hans": "谢谢：标识已于周一更换。"},
    ),
    (
        "Could the community centre hold a Chinese class for parents on Saturday mornings?",
        "community-life",
        "hongqiao-sd",
        "idea",
        True,
        9,
        "in_progress",
        None,
    ),
    ("虹桥路上5号楼外面的路灯坏了两个星期了。", "streets", "hongqiao-sd", "problem", True, 6, "assigned", None),
    (
        "病院の国際外来の予約をオンラインでできるようにしてほしいです。",
        "medical",
        "huamu",
        "suggestion",
        True,
        4,
        "received",
        None,
    ),
    (
        "Il faudrait des formulaires en français au guichet des permis de séjour.",
        "services",
        "jinqiao",
        "suggestion",
        False,
        3,
        "received",
        None,
    ),
    (
        "The crossing light at Gubei Road is too short for older people and children.",
        "streets",
        "hongqiao-sd",
        "problem",
        True,
        2,
        "received",
        None,
    ),
    (
        "Спасибо за вечер фонарей! Можно больше таких мероприятий для семей?",
        "community-life",
        "huacao",
        "idea",
        True,
        1,
        "received",
        None,
    ),
]


def load(*, editor: User, coordinator: User) -> None:
    offices = {o.slug: o for o in Office.objects.all()}
    for position, (slug, group, hours, names, description) in enumerate(CATEGORIES):
        Category.objects.create(
            slug=slug, group=group, response_hours=hours, name=names, description=description, position=position
        )
    categories = {c.slug: c for c in Category.objects.all()}
    RoutingRule.objects.create(category=None, community=None, office=offices["city-foreign-affairs"])
    RoutingRule.objects.create(category=categories["services"], community=None, office=offices["exit-entry"])
    hongqiao = Community.objects.get(slug="hongqiao-sd")
    RoutingRule.objects.create(category=None, community=hongqiao, office=offices["changning-foreign-affairs"])

    now = timezone.now()
    for n, (text, category, community, kind, public, days, status, reply) in enumerate(ITEMS):
        result = services.item_submit(
            services.ItemInput(
                category=category,
                community=community,
                text=text,
                kind=kind,
                public_consent=public,
                contact_email=f"resident{n}@example.org",
                contact_name=f"Resident {n}",
            )
        )
        item = result.item
        created = now - datetime.timedelta(days=days)
        Item.objects.filter(pk=item.pk).update(
            created_at=created,
            updated_at=created,
            status_changed_at=created,
            due_at=created + datetime.timedelta(hours=item.category.response_hours),
        )
        item.spans.update(started_at=created)
        actor = coordinator if community == "hongqiao-sd" else editor
        if status in ("assigned", "in_progress", "answered"):
            services.item_assign(actor=actor, item_id=item.pk, assignee_id=actor.pk)
        if status in ("in_progress", "answered"):
            services.item_set_status(actor=actor, item_id=item.pk, status="in_progress")
        if reply:
            services.reply_add(actor=actor, item_id=item.pk, kind="public", text=reply)
        if status == "answered":
            services.item_set_status(actor=actor, item_id=item.pk, status="answered")

    survey = Survey.objects.create(
        slug="community-centre-opening-hours",
        title={"en": "When should the community centre be open?", "zh-hans": "社区中心应该什么时候开放？"},
        intro={"en": "Five questions, two minutes. Your answers shape next year's timetable."},
        community=hongqiao,
        status=Survey.Status.OPEN,
        opens_at=now - datetime.timedelta(days=3),
        closes_at=now + datetime.timedelta(days=30),
        created_by=coordinator,
    )
    SurveyQuestion.objects.create(
        survey=survey,
        position=1,
        kind=SurveyQuestion.Kind.MULTIPLE,
        label={"en": "Which times suit you?", "zh-hans": "哪些时间适合您？"},
        choices={
            "en": "Weekday mornings\nWeekday evenings\nSaturday\nSunday",
            "zh-hans": "工作日上午\n工作日晚上\n周六\n周日",
        },
        required=True,
    )
    SurveyQuestion.objects.create(
        survey=survey,
        position=2,
        kind=SurveyQuestion.Kind.SCALE,
        label={"en": "How useful is the centre to you today?", "zh-hans": "社区中心目前对您有多大帮助？"},
        scale_min=1,
        scale_max=5,
    )
    SurveyQuestion.objects.create(
        survey=survey,
        position=3,
        kind=SurveyQuestion.Kind.TEXT,
        label={"en": "What would you add?", "zh-hans": "您希望增加什么？"},
    )
