"""Load demonstration data drawn from the city's published material: the nine member
communities of the info-services alliance, named experience bases, the community centre and
the guide's categories. People in it are fictional."""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from yulan.core.models import Community, District, Office, Role, User
from yulan.core.services import role_grant
from yulan.guide import services as guide_services
from yulan.guide.models import Article, Category, Organization, Place

DEMO_PASSWORD = "yulan-demo-2026"  # noqa: S105  (documented demo login, local data only)

DISTRICTS = {
    "pudong": {"en": "Pudong New Area", "zh-hans": "浦东新区"},
    "changning": {"en": "Changning District", "zh-hans": "长宁区"},
    "putuo": {"en": "Putuo District", "zh-hans": "普陀区"},
    "minhang": {"en": "Minhang District", "zh-hans": "闵行区"},
    "qingpu": {"en": "Qingpu District", "zh-hans": "青浦区"},
}

# (slug, district, kind, names, estimated foreign population, lat, lng). The seed gives only
# the total (about 95,000) for the nine; the split here is illustrative.
COMMUNITIES = [
    ("huamu", "pudong", "subdistrict", {"en": "Huamu Subdistrict", "zh-hans": "花木街道"}, 16000, 31.2165, 121.5500),
    ("jinqiao", "pudong", "town", {"en": "Jinqiao Town", "zh-hans": "金桥镇"}, 14000, 31.2560, 121.6050),
    ("zhangjiang", "pudong", "town", {"en": "Zhangjiang Town", "zh-hans": "张江镇"}, 9000, 31.2040, 121.5980),
    ("sanlin", "pudong", "town", {"en": "Sanlin Town", "zh-hans": "三林镇"}, 6000, 31.1480, 121.5120),
    (
        "hongqiao-sd",
        "changning",
        "subdistrict",
        {"en": "Hongqiao Subdistrict", "zh-hans": "虹桥街道"},
        15000,
        31.2010,
        121.4090,
    ),
    (
        "yichuan-road",
        "putuo",
        "subdistrict",
        {"en": "Yichuan Road Subdistrict", "zh-hans": "宜川路街道"},
        3000,
        31.2560,
        121.4330,
    ),
    ("huacao", "minhang", "town", {"en": "Huacao Town", "zh-hans": "华漕镇"}, 12000, 31.2240, 121.3050),
    ("hongqiao-town", "minhang", "town", {"en": "Hongqiao Town", "zh-hans": "虹桥镇"}, 14000, 31.1780, 121.3960),
    ("xujing", "qingpu", "town", {"en": "Xujing Town", "zh-hans": "徐泾镇"}, 6000, 31.1900, 121.2700),
]

OFFICES = [
    ("city-foreign-affairs", {"en": "Shanghai Foreign Affairs Office", "zh-hans": "上海市外事办公室"}),
    ("city-information", {"en": "Information Office of the Municipal Government", "zh-hans": "市政府新闻办公室"}),
    ("changning-foreign-affairs", {"en": "Changning District Foreign Affairs Office", "zh-hans": "长宁区外事办公室"}),
    ("exit-entry", {"en": "Exit-Entry Administration", "zh-hans": "出入境管理局"}),
    ("human-resources", {"en": "Human Resources and Social Security Bureau", "zh-hans": "人力资源和社会保障局"}),
]

CATEGORIES = [
    (
        "useful-apps",
        {
            "en": "Useful apps",
            "zh-hans": "实用应用",
            "ja": "便利なアプリ",
            "ko": "유용한 앱",
            "fr": "Applications utiles",
            "de": "Nützliche Apps",
            "es": "Aplicaciones útiles",
            "ru": "Полезные приложения",
        },
    ),
    (
        "payment",
        {
            "en": "Payment",
            "zh-hans": "支付",
            "ja": "支払い",
            "ko": "결제",
            "fr": "Paiement",
            "de": "Bezahlen",
            "es": "Pagos",
            "ru": "Оплата",
        },
    ),
    (
        "transport",
        {
            "en": "Transport",
            "zh-hans": "交通",
            "ja": "交通",
            "ko": "교통",
            "fr": "Transports",
            "de": "Verkehr",
            "es": "Transporte",
            "ru": "Транспорт",
        },
    ),
    (
        "education",
        {
            "en": "Education",
            "zh-hans": "教育",
            "ja": "教育",
            "ko": "교육",
            "fr": "Éducation",
            "de": "Bildung",
            "es": "Educación",
            "ru": "Образование",
        },
    ),
    (
        "medical-care",
        {
            "en": "Medical care",
            "zh-hans": "医疗",
            "ja": "医療",
            "ko": "의료",
            "fr": "Soins médicaux",
            "de": "Medizinische Versorgung",
            "es": "Atención médica",
            "ru": "Медицинская помощь",
        },
    ),
    (
        "legal-visas",
        {
            "en": "Legal & visas",
            "zh-hans": "法律与签证",
            "ja": "法律・ビザ",
            "ko": "법률 및 비자",
            "fr": "Droit et visas",
            "de": "Recht & Visa",
            "es": "Legal y visados",
            "ru": "Право и визы",
        },
    ),
    (
        "housing",
        {
            "en": "Housing",
            "zh-hans": "住房",
            "ja": "住まい",
            "ko": "주거",
            "fr": "Logement",
            "de": "Wohnen",
            "es": "Vivienda",
            "ru": "Жильё",
        },
    ),
    (
        "culture",
        {
            "en": "Culture",
            "zh-hans": "文化",
            "ja": "文化",
            "ko": "문화",
            "fr": "Culture",
            "de": "Kultur",
            "es": "Cultura",
            "ru": "Культура",
        },
    ),
    (
        "shopping",
        {
            "en": "Shopping",
            "zh-hans": "购物",
            "ja": "買い物",
            "ko": "쇼핑",
            "fr": "Achats",
            "de": "Einkaufen",
            "es": "Compras",
            "ru": "Покупки",
        },
    ),
    (
        "emergencies",
        {
            "en": "Emergencies",
            "zh-hans": "紧急情况",
            "ja": "緊急時",
            "ko": "긴급 상황",
            "fr": "Urgences",
            "de": "Notfälle",
            "es": "Emergencias",
            "ru": "Экстренные случаи",
        },
    ),
]

ARTICLES = [
    (
        "paying-in-the-city",
        "payment",
        {
            "en": "Three ways to pay: card, QR code or cash",
            "zh-hans": "三种支付方式：刷卡、扫码或现金",
            "fr": "Trois façons de payer : carte, code QR ou espèces",
        },
        {
            "en": "<p>Shops, taxis and metro stations accept international bank cards, QR-code payment apps "
            "and cash. Link a foreign card to a payment app with your passport, and keep some cash "
            "for small vendors.</p>",
            "zh-hans": "<p>商店、出租车和地铁站支持国际银行卡、扫码支付和现金。可凭护照将境外银行卡绑定到支付应用，"
            "并为小商户备些现金。</p>",
            "fr": "<p>Les commerces, taxis et stations de métro acceptent les cartes bancaires internationales, "
            "le paiement par code QR et les espèces.</p>",
        },
    ),
    (
        "emergency-numbers",
        "emergencies",
        {
            "en": "Emergency numbers",
            "zh-hans": "紧急电话",
            "ja": "緊急電話番号",
            "ko": "긴급 전화번호",
            "ru": "Экстренные номера",
        },
        {
            "en": "<p>Police <strong>110</strong>, fire <strong>119</strong>, ambulance <strong>120</strong>. "
            "The city hotline <strong>12345</strong> answers in English and other languages.</p>",
            "zh-hans": "<p>报警 <strong>110</strong>，火警 <strong>119</strong>，急救 <strong>120</strong>。"
            "市民服务热线 <strong>12345</strong> 提供外语服务。</p>",
            "ja": "<p>警察 <strong>110</strong>、消防 <strong>119</strong>、救急 <strong>120</strong>。</p>",
            "ko": "<p>경찰 <strong>110</strong>, 화재 <strong>119</strong>, 구급차 <strong>120</strong>.</p>",
            "ru": "<p>Полиция <strong>110</strong>, пожарные <strong>119</strong>, скорая <strong>120</strong>.</p>",
        },
    ),
    (
        "metro-and-buses",
        "transport",
        {"en": "Metro and buses", "zh-hans": "地铁和公交", "de": "U-Bahn und Busse"},
        {
            "en": "<p>Pay with a transport card, a bank card or a QR code at the gate. Trains run from about "
            "5:30 until after 22:30.</p>",
            "zh-hans": "<p>可在闸机使用交通卡、银行卡或乘车码。地铁约5:30至22:30后运营。</p>",
            "de": "<p>Bezahlt wird am Drehkreuz mit Verkehrskarte, Bankkarte oder QR-Code.</p>",
        },
    ),
    (
        "seeing-a-doctor",
        "medical-care",
        {"en": "Seeing a doctor in English", "zh-hans": "用英语看病"},
        {
            "en": "<p>Several hospitals run international departments with staff who speak English, "
            "Japanese or Korean. Book ahead and bring your passport and insurance card.</p>",
            "zh-hans": "<p>多家医院设有国际部，医护人员可使用英语、日语或韩语。请提前预约并携带护照和保险卡。</p>",
        },
    ),
    (
        "residence-permit",
        "legal-visas",
        {"en": "Your residence permit", "zh-hans": "居留许可"},
        {
            "en": "<p>Register your address within 24 hours of arrival (hotels do it for you). Apply for a "
            "residence permit at the Exit-Entry Administration within 30 days of entry.</p>",
            "zh-hans": "<p>抵达后24小时内办理住宿登记（酒店代为办理）。入境后30日内到出入境管理部门申请居留许可。</p>",
        },
    ),
    (
        "useful-apps-overview",
        "useful-apps",
        {"en": "Apps that make daily life easy"},
        {
            "en": "<p>Maps, ride hailing, food delivery, translation and the city's own service apps — "
            "what they do and how to register with a foreign phone number.</p>"
        },
    ),
]

# (slug, kind, community, names, address, lat, lng, languages, services, hours)
PLACES = [
    (
        "greater-hongqiao-business-service-center",
        "experience_base",
        "hongqiao-sd",
        {"en": "Greater Hongqiao Business Service Center", "zh-hans": "大虹桥商务服务中心"},
        {"en": "Changning District, Shanghai", "zh-hans": "上海市长宁区"},
        31.2040,
        121.4010,
        ["en", "zh", "ja"],
        ["Business registration help", "Multilingual consultation"],
        "Mon-Fri 09:00-17:30",
    ),
    (
        "hongqiao-international-trade-service-center",
        "experience_base",
        "hongqiao-sd",
        {"en": "Hongqiao International Trade Service Center", "zh-hans": "虹桥国际贸易服务中心"},
        {"en": "Changning District, Shanghai"},
        31.1990,
        121.4150,
        ["en", "zh"],
        ["Trade services", "Import and export advice"],
        "Mon-Fri 09:00-17:00",
    ),
    (
        "simic-valley",
        "experience_base",
        "hongqiao-sd",
        {"en": "SIMIC Valley", "zh-hans": "SIMIC 谷"},
        {"en": "Changning District, Shanghai"},
        31.2085,
        121.3980,
        ["en", "zh"],
        ["Innovation showcase"],
        "Tue-Sun 10:00-18:00",
    ),
    (
        "digital-changning-experience-hall",
        "experience_base",
        "hongqiao-sd",
        {"en": "Digital Changning Experience Hall (under construction)", "zh-hans": "数字长宁体验馆（建设中）"},
        {"en": "Changning District, Shanghai"},
        31.2150,
        121.4200,
        ["zh"],
        [],
        "",
    ),
    (
        "iflytek-experience-hall",
        "experience_base",
        "hongqiao-sd",
        {"en": "iFLYTEK Experience Hall", "zh-hans": "科大讯飞体验馆"},
        {"en": "Changning District, Shanghai"},
        31.2210,
        121.4050,
        ["en", "zh"],
        ["Speech and translation technology demonstrations"],
        "Mon-Sat 09:30-17:00",
    ),
    (
        "ecupl-changning-waterfront",
        "experience_base",
        "hongqiao-sd",
        {"en": "Waterfront of the ECUPL Changning campus", "zh-hans": "华东政法大学长宁校区滨水区"},
        {"en": "Suzhou Creek, Changning District, Shanghai"},
        31.2260,
        121.4260,
        ["en", "zh"],
        ["Historic architecture walks"],
        "Mo-Su 06:00-22:00",
    ),
    (
        "columbia-circle",
        "experience_base",
        "hongqiao-sd",
        {"en": "Columbia Circle", "zh-hans": "上生·新所"},
        {"en": "Yan'an Road West, Changning District, Shanghai"},
        31.2070,
        121.4290,
        ["en", "zh"],
        ["Urban renewal showcase", "Exhibitions"],
        "Mo-Su 10:00-22:00",
    ),
    (
        "hongqiao-international-library",
        "library",
        "hongqiao-sd",
        {"en": "Hongqiao International Library", "zh-hans": "虹桥国际图书馆"},
        {"en": "Changning District, Shanghai"},
        31.1960,
        121.4060,
        ["en", "zh", "ja", "ko", "fr", "de"],
        ["Foreign-language books", "Reading room"],
        "Tue-Sun 09:00-20:00",
    ),
    (
        "huacao-international-community-center",
        "community_centre",
        "huacao",
        {"en": "Huacao International Community Center", "zh-hans": "华漕国际社区中心"},
        {"en": "Huacao Town, Minhang District, Shanghai", "zh-hans": "上海市闵行区华漕镇"},
        31.2235,
        121.3045,
        ["en", "zh", "ko", "ja"],
        ["City news service desk", "Chinese cooking classes", "Tea ceremony sessions"],
        "Mon-Fri 09:00-18:00\nSat 10:00-16:00",
    ),
    (
        "changning-international-clinic",
        "hospital",
        "hongqiao-sd",
        {"en": "District hospital — international department (demo)", "zh-hans": "区医院国际部（示例）"},
        {"en": "Changning District, Shanghai"},
        31.2100,
        121.4120,
        ["en", "zh", "ja"],
        ["General practice", "Paediatrics"],
        "Mon-Fri 08:00-20:00\nSat,Sun 09:00-17:00",
    ),
    (
        "pudong-service-hall",
        "service_hall",
        "huamu",
        {"en": "Pudong citizen service hall (demo)", "zh-hans": "浦东市民中心（示例）"},
        {"en": "Huamu Subdistrict, Pudong New Area, Shanghai"},
        31.2180,
        121.5450,
        ["en", "zh"],
        ["Work permit", "Residence permit", "Social insurance"],
        "Mon-Fri 09:00-17:00",
    ),
]


class Command(BaseCommand):
    help = "Load the demonstration data (once; run again to do nothing)."

    def handle(self, *args: object, **options: object) -> None:
        if Community.objects.exists():
            self.stdout.write("Demo data already loaded.")
            return
        self._load()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))

    def _load(self) -> None:
        districts = {slug: District.objects.create(slug=slug, name=names) for slug, names in DISTRICTS.items()}
        communities = {}
        for slug, district, kind, names, population, lat, lng in COMMUNITIES:
            communities[slug] = Community.objects.create(
                slug=slug,
                district=districts[district],
                kind=kind,
                name=names,
                estimated_foreign_population=population,
                latitude=lat,
                longitude=lng,
            )
        offices = {slug: Office.objects.create(slug=slug, name=names) for slug, names in OFFICES}
        for position, (slug, names) in enumerate(CATEGORIES):
            Category.objects.create(slug=slug, name=names, position=position)

        admin = User.objects.create_superuser("admin@yulan.example", DEMO_PASSWORD, display_name="Ada Admin")
        editor = User.objects.create_user("editor@yulan.example", DEMO_PASSWORD, display_name="Eli Editor")
        coordinator = User.objects.create_user(
            "coordinator@yulan.example", DEMO_PASSWORD, display_name="Cai Coordinator"
        )
        responder = User.objects.create_user("responder@yulan.example", DEMO_PASSWORD, display_name="Rui Responder")
        User.objects.create_user("resident@yulan.example", DEMO_PASSWORD, display_name="Rosa Resident")
        from allauth.account.models import EmailAddress

        for user in User.objects.all():
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        role_grant(actor=admin, user=editor, role=Role.EDITOR)
        role_grant(actor=admin, user=coordinator, role=Role.COORDINATOR, community=communities["hongqiao-sd"])
        role_grant(actor=admin, user=responder, role=Role.RESPONDER, office=offices["changning-foreign-affairs"])

        operator = Organization.objects.create(
            slug="changning-foreign-affairs-office",
            name={"en": "Changning District Foreign Affairs Office", "zh-hans": "长宁区外事办公室"},
        )
        for slug, category, title, body in ARTICLES:
            article = guide_services.article_create(
                actor=editor,
                data=guide_services.ArticleInput(
                    slug=slug, category_id=Category.objects.get(slug=category).pk, title=title, body=body
                ),
            )
            guide_services.article_set_state(actor=editor, article_id=article.pk, state=Article.State.PUBLISHED)
        # One page left unreviewed for long, so the review flag shows in the staff area.
        Article.objects.filter(slug="useful-apps-overview").update(
            last_reviewed_at=timezone.now() - datetime.timedelta(days=settings.YULAN_GUIDE_STALE_DAYS + 30)
        )
        for slug, kind, community, names, address, lat, lng, languages, services, hours in PLACES:
            guide_services.place_create(
                actor=admin,
                data=guide_services.PlaceInput(
                    slug=slug,
                    kind=kind,
                    name=names,
                    address=address,
                    latitude=lat,
                    longitude=lng,
                    community_id=communities[community].pk,
                    organization_id=operator.pk if community == "hongqiao-sd" else None,
                    languages=languages,
                    services=[{"en": s} for s in services],
                    hours=hours,
                    wheelchair_accessible=kind in {"library", "community_centre", "hospital", "service_hall"},
                ),
            )
        assert Place.objects.count() == len(PLACES)
        from yulan.news import demo as news_demo

        news_demo.load(editor=editor)
        from yulan.events import demo as events_demo

        events_demo.load(editor=editor, coordinator=coordinator)
        from yulan.voice import demo as voice_demo

        voice_demo.load(editor=editor, coordinator=coordinator)
