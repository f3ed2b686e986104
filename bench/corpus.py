# The word lists keep one concept a line, in every language, however long the line.
# ruff: noqa: E501
"""Generated text for the benchmark: guide articles and places in the site's eight languages,
built from small aligned word lists so that every language gets comparable, varied text."""

import random
from dataclasses import dataclass

LANGS = ["en", "zh-hans", "ja", "ko", "fr", "de", "es", "ru"]
# Languages whose text runs without spaces between words.
NO_SPACES = {"zh-hans", "ja"}

# One concept a line, in the order of LANGS.
NOUNS = """
hospital|医院|病院|병원|hôpital|Krankenhaus|hospital|больница
clinic|诊所|クリニック|의원|clinique|Klinik|clínica|клиника
pharmacy|药店|薬局|약국|pharmacie|Apotheke|farmacia|аптека
library|图书馆|図書館|도서관|bibliothèque|Bibliothek|biblioteca|библиотека
school|学校|学校|학교|école|Schule|escuela|школа
kindergarten|幼儿园|幼稚園|유치원|maternelle|Kindergarten|guardería|детский сад
bank account|银行账户|銀行口座|은행 계좌|compte bancaire|Bankkonto|cuenta bancaria|банковский счёт
post office|邮局|郵便局|우체국|bureau de poste|Postamt|oficina de correos|почта
police station|派出所|警察署|경찰서|commissariat|Polizeiwache|comisaría|полицейский участок
consulate|领事馆|領事館|영사관|consulat|Konsulat|consulado|консульство
visa|签证|ビザ|비자|visa|Visum|visado|виза
residence permit|居留许可|在留許可|거류 허가|titre de séjour|Aufenthaltserlaubnis|permiso de residencia|вид на жительство
passport|护照|パスポート|여권|passeport|Reisepass|pasaporte|паспорт
work permit|工作许可|就労許可|취업 허가|permis de travail|Arbeitserlaubnis|permiso de trabajo|разрешение на работу
tax return|纳税申报|確定申告|세금 신고|déclaration d'impôts|Steuererklärung|declaración de impuestos|налоговая декларация
health insurance|医疗保险|健康保険|건강 보험|assurance maladie|Krankenversicherung|seguro médico|медицинская страховка
metro|地铁|地下鉄|지하철|métro|U-Bahn|metro|метро
bus|公交车|バス|버스|bus|Bus|autobús|автобус
taxi|出租车|タクシー|택시|taxi|Taxi|taxi|такси
railway station|火车站|駅|기차역|gare|Bahnhof|estación de tren|вокзал
airport|机场|空港|공항|aéroport|Flughafen|aeropuerto|аэропорт
rent|房租|家賃|월세|loyer|Miete|alquiler|аренда
apartment|公寓|アパート|아파트|appartement|Wohnung|apartamento|квартира
landlord|房东|大家|집주인|propriétaire|Vermieter|casero|арендодатель
electricity bill|电费|電気代|전기 요금|facture d'électricité|Stromrechnung|factura de la luz|счёт за электричество
mobile phone|手机|携帯電話|휴대폰|téléphone portable|Handy|teléfono móvil|мобильный телефон
SIM card|电话卡|SIMカード|유심 카드|carte SIM|SIM-Karte|tarjeta SIM|сим-карта
mobile payment|移动支付|モバイル決済|모바일 결제|paiement mobile|mobiles Bezahlen|pago móvil|мобильный платёж
market|菜市场|市場|시장|marché|Markt|mercado|рынок
supermarket|超市|スーパー|슈퍼마켓|supermarché|Supermarkt|supermercado|супермаркет
park|公园|公園|공원|parc|Park|parque|парк
museum|博物馆|博物館|박물관|musée|Museum|museo|музей
community centre|社区中心|コミュニティセンター|커뮤니티 센터|centre communautaire|Gemeindezentrum|centro comunitario|общественный центр
volunteer|志愿者|ボランティア|자원봉사자|bénévole|Ehrenamtliche|voluntario|волонтёр
language course|语言课程|語学講座|어학 강좌|cours de langue|Sprachkurs|curso de idiomas|языковые курсы
interpreter|翻译|通訳|통역사|interprète|Dolmetscher|intérprete|переводчик
emergency|急救|救急|응급|urgence|Notfall|emergencia|скорая помощь
doctor|医生|医師|의사|médecin|Arzt|médico|врач
dentist|牙医|歯医者|치과 의사|dentiste|Zahnarzt|dentista|стоматолог
vaccination|疫苗接种|予防接種|예방 접종|vaccination|Impfung|vacunación|вакцинация
childcare|托育|保育|보육|garde d'enfants|Kinderbetreuung|cuidado infantil|уход за детьми
waste sorting|垃圾分类|ゴミの分別|쓰레기 분리수거|tri des déchets|Mülltrennung|separación de residuos|сортировка мусора
driving licence|驾驶证|運転免許証|운전면허증|permis de conduire|Führerschein|licencia de conducir|водительские права
marriage registration|婚姻登记|婚姻届|혼인 신고|enregistrement du mariage|Eheschließung|registro de matrimonio|регистрация брака
birth certificate|出生证明|出生証明書|출생 증명서|acte de naissance|Geburtsurkunde|certificado de nacimiento|свидетельство о рождении
residence registration|临时住宿登记|住居登録|임시 거주 등록|déclaration de résidence|Wohnsitzanmeldung|registro de residencia|регистрация по месту пребывания
social security|社会保险|社会保険|사회 보험|sécurité sociale|Sozialversicherung|seguridad social|социальное страхование
hotline|热线|ホットライン|핫라인|ligne d'assistance|Hotline|línea de ayuda|горячая линия
sports centre|体育中心|スポーツセンター|체육 센터|centre sportif|Sportzentrum|centro deportivo|спортивный центр
tea house|茶馆|茶館|찻집|salon de thé|Teehaus|casa de té|чайная
"""

ADJECTIVES = """
free|免费的|無料の|무료|gratuit|kostenlos|gratuito|бесплатный
new|新的|新しい|새로운|nouveau|neu|nuevo|новый
local|本地的|地元の|지역|local|örtlich|local|местный
international|国际|国際|국제|international|international|internacional|международный
nearby|附近的|近くの|근처의|proche|nah|cercano|ближайший
public|公共|公共の|공공|public|öffentlich|público|государственный
multilingual|多语种|多言語の|다국어|multilingue|mehrsprachig|multilingüe|многоязычный
digital|数字化|デジタルの|디지털|numérique|digital|digital|цифровой
weekend|周末|週末の|주말|du week-end|am Wochenende|de fin de semana|выходной
quick|快速|迅速な|빠른|rapide|schnell|rápido|быстрый
"""

VERBS = """
helps with|协助办理|手伝います|도와줍니다|aide pour|hilft bei|ayuda con|помогает с
explains|解释|説明します|설명합니다|explique|erklärt|explica|объясняет
offers|提供|提供します|제공합니다|propose|bietet|ofrece|предлагает
handles|受理|受け付けます|처리합니다|traite|bearbeitet|tramita|оформляет
renews|续办|更新します|갱신합니다|renouvelle|verlängert|renueva|продлевает
checks|检查|確認します|확인합니다|vérifie|prüft|revisa|проверяет
"""

# fmt: off
SENTENCES = {
    "en": [
        "The {A} {N1} {V} {N2}.",
        "You can find the {N1} near {P}.",
        "Bring your {N1} and {N2} when you visit the {N3}.",
        "{A} {N1} and {N2} services are open to foreign residents.",
        "Ask at the {N1} about {N2}.",
        "Opening hours of the {N1} on {P} change on public holidays.",
        "Staff at the {N1} speak several languages and {V} {N2}.",
    ],
    "zh-hans": [
        "{A}{N1}{V}{N2}。",
        "您可以在{P}附近找到{N1}。",
        "去{N3}时请携带{N1}和{N2}。",
        "外国居民可以使用{A}{N1}和{N2}服务。",
        "关于{N2}，请咨询{N1}。",
        "{P}的{N1}节假日开放时间有调整。",
        "{N1}的工作人员会说多种语言，{V}{N2}。",
    ],
    "ja": [
        "{A}{N1}は{N2}を{V}。",
        "{P}の近くに{N1}があります。",
        "{N3}に行くときは{N1}と{N2}を持参してください。",
        "外国人住民は{A}{N1}と{N2}のサービスを利用できます。",
        "{N2}については{N1}にお問い合わせください。",
        "{P}の{N1}は祝日に営業時間が変わります。",
        "{N1}のスタッフは多言語で{N2}を{V}。",
    ],
    "ko": [
        "{A} {N1}에서 {N2}을(를) {V}.",
        "{P} 근처에서 {N1}을(를) 찾을 수 있습니다.",
        "{N3}에 갈 때 {N1}와(과) {N2}를 가져오세요.",
        "외국인 주민은 {A} {N1} 및 {N2} 서비스를 이용할 수 있습니다.",
        "{N2}에 대해서는 {N1}에 문의하세요.",
        "{P}의 {N1}은(는) 공휴일에 운영 시간이 바뀝니다.",
        "{N1} 직원은 여러 언어로 {N2}을(를) {V}.",
    ],
    "fr": [
        "{N1} ({A}) : le centre {V} {N2}.",
        "Vous trouverez le service « {N1} » près de {P}.",
        "Pour « {N3} », apportez : {N1}, {N2}.",
        "Services ouverts aux résidents étrangers : {N1}, {N2} ({A}).",
        "Renseignez-vous sur « {N2} » au guichet « {N1} ».",
        "Les horaires « {N1} » de {P} changent les jours fériés.",
        "Le personnel « {N1} » parle plusieurs langues et {V} {N2}.",
    ],
    "de": [
        "{N1} ({A}): Das Zentrum {V} {N2}.",
        "Das Angebot „{N1}“ finden Sie in der Nähe von {P}.",
        "Für „{N3}“ mitbringen: {N1}, {N2}.",
        "Dienste für ausländische Einwohner: {N1}, {N2} ({A}).",
        "Fragen zu „{N2}“ beantwortet der Schalter „{N1}“.",
        "Die Öffnungszeiten „{N1}“ in der {P} ändern sich an Feiertagen.",
        "Das Team „{N1}“ spricht mehrere Sprachen und {V} {N2}.",
    ],
    "es": [
        "{N1} ({A}): el centro {V} {N2}.",
        "Encontrará el servicio «{N1}» cerca de {P}.",
        "Para «{N3}», traiga: {N1}, {N2}.",
        "Servicios para residentes extranjeros: {N1}, {N2} ({A}).",
        "Pregunte por «{N2}» en la ventanilla «{N1}».",
        "El horario de «{N1}» en {P} cambia en días festivos.",
        "El personal de «{N1}» habla varios idiomas y {V} {N2}.",
    ],
    "ru": [
        "{N1} ({A}): центр {V} {N2}.",
        "Услугу «{N1}» можно найти рядом: {P}.",
        "Для «{N3}» возьмите: {N1}, {N2}.",
        "Услуги для иностранных жителей: {N1}, {N2} ({A}).",
        "Вопросы о «{N2}» решает окно «{N1}».",
        "Часы работы «{N1}» ({P}) меняются в праздники.",
        "Сотрудники «{N1}» говорят на нескольких языках и {V} {N2}.",
    ],
}

TITLES = {
    "en": ["{N1}: a guide for newcomers", "How to arrange {N1} in Shanghai", "{N1} and {N2}",
           "{A} {N1}: what you need to know", "Step by step: {N1}", "{N1} near {P}"],
    "zh-hans": ["{N1}新手指南", "如何在上海办理{N1}", "{N1}与{N2}", "{A}{N1}须知", "{N1}办理步骤", "{P}附近的{N1}"],
    "ja": ["{N1}：はじめての方へ", "上海で{N1}を手続きする方法", "{N1}と{N2}", "{A}{N1}について", "{N1}の手順",
           "{P}周辺の{N1}"],
    "ko": ["{N1}: 처음 오신 분을 위한 안내", "상하이에서 {N1} 하는 방법", "{N1}와(과) {N2}", "{A} {N1} 알아두기",
           "{N1} 단계별 안내", "{P} 근처 {N1}"],
    "fr": ["{N1} : guide pour les nouveaux arrivants", "Comment obtenir « {N1} » à Shanghai", "{N1} et {N2}",
           "{N1} ({A}) : l'essentiel", "{N1} étape par étape", "{N1} près de {P}"],
    "de": ["{N1}: ein Leitfaden für Neuankömmlinge", "So erhalten Sie „{N1}“ in Shanghai", "{N1} und {N2}",
           "{N1} ({A}): das Wichtigste", "{N1} Schritt für Schritt", "{N1} in der Nähe der {P}"],
    "es": ["{N1}: guía para recién llegados", "Cómo obtener «{N1}» en Shanghái", "{N1} y {N2}",
           "{N1} ({A}): lo esencial", "{N1} paso a paso", "{N1} cerca de {P}"],
    "ru": ["{N1}: руководство для новичков", "Как оформить «{N1}» в Шанхае", "{N1} и {N2}",
           "{N1} ({A}): главное", "{N1} шаг за шагом", "{N1} рядом: {P}"],
}

HEADINGS = {
    "en": ["Who can apply", "What to bring", "Where to go", "Costs", "Good to know"],
    "zh-hans": ["申请对象", "所需材料", "办理地点", "费用", "温馨提示"],
    "ja": ["対象者", "必要なもの", "窓口", "費用", "ご注意"],
    "ko": ["신청 대상", "준비물", "방문 장소", "비용", "알아두기"],
    "fr": ["Qui peut en faire la demande", "Documents à apporter", "Où aller", "Coûts", "Bon à savoir"],
    "de": ["Wer kann beantragen", "Was mitbringen", "Wohin gehen", "Kosten", "Gut zu wissen"],
    "es": ["Quién puede solicitarlo", "Qué llevar", "Adónde ir", "Costes", "Conviene saber"],
    "ru": ["Кто может подать заявление", "Что взять с собой", "Куда обращаться", "Стоимость", "Полезно знать"],
}

# Place kinds: (weight, names by language; {X} is the place's proper name).
PLACE_KINDS = {
    "experience_base": (10, [
        "{X} International Experience Base", "{X}国际交流体验基地", "{X}国際交流体験拠点", "{X} 국제교류 체험기지",
        "Base d'échanges internationaux de {X}", "Internationale Begegnungsstätte {X}",
        "Base de intercambio internacional de {X}", "Международная база обмена {X}"]),
    "community_centre": (15, [
        "{X} Community Centre", "{X}社区活动中心", "{X}コミュニティセンター", "{X} 커뮤니티 센터",
        "Centre communautaire de {X}", "Gemeindezentrum {X}", "Centro comunitario de {X}", "Общественный центр {X}"]),
    "hospital": (10, [
        "{X} Hospital", "{X}医院", "{X}病院", "{X} 병원", "Hôpital de {X}", "Krankenhaus {X}", "Hospital de {X}",
        "Больница {X}"]),
    "service_hall": (15, [
        "{X} Service Hall", "{X}行政服务中心", "{X}行政サービスホール", "{X} 행정서비스센터",
        "Maison des services de {X}", "Bürgeramt {X}", "Centro de servicios de {X}", "Центр госуслуг {X}"]),
    "library": (10, [
        "{X} Library", "{X}图书馆", "{X}図書館", "{X} 도서관", "Bibliothèque de {X}", "Bibliothek {X}",
        "Biblioteca de {X}", "Библиотека {X}"]),
    "other": (40, [
        "{X} Tea House", "{X}茶馆", "{X}茶館", "{X} 찻집", "Salon de thé {X}", "Teehaus {X}", "Casa de té {X}",
        "Чайная {X}"]),
}

# Syllables for proper names: pinyin, hanzi, Cyrillic (Palladius), hangul reading.
SYLLABLES = [
    ("jing", "静", "цзин", "정"), ("an", "安", "ань", "안"), ("xu", "徐", "сюй", "서"), ("hui", "汇", "хуэй", "회"),
    ("chang", "长", "чан", "장"), ("ning", "宁", "нин", "녕"), ("pu", "浦", "пу", "포"), ("dong", "东", "дун", "동"),
    ("hong", "虹", "хун", "홍"), ("kou", "口", "коу", "구"), ("yang", "杨", "ян", "양"), ("min", "闵", "минь", "민"),
    ("hang", "行", "хан", "행"), ("bao", "宝", "бао", "보"), ("shan", "山", "шань", "산"), ("jia", "嘉", "цзя", "가"),
    ("ding", "定", "дин", "정"), ("song", "松", "сун", "송"), ("jiang", "江", "цзян", "강"), ("qing", "青", "цин", "청"),
    ("feng", "奉", "фэн", "봉"), ("xian", "贤", "сянь", "현"), ("jin", "金", "цзинь", "금"), ("wu", "武", "у", "무"),
    ("kang", "康", "кан", "강"), ("hua", "华", "хуа", "화"), ("xin", "新", "синь", "신"), ("tian", "天", "тянь", "천"),
    ("lin", "林", "линь", "림"), ("mei", "梅", "мэй", "매"), ("long", "龙", "лун", "룡"), ("hai", "海", "хай", "해"),
    ("he", "和", "хэ", "화"), ("ping", "平", "пин", "평"), ("guang", "光", "гуан", "광"), ("ming", "明", "мин", "명"),
]

DISTRICTS = [
    ("huangpu", "Huangpu", "黄浦"), ("xuhui", "Xuhui", "徐汇"), ("changning", "Changning", "长宁"),
    ("jingan", "Jing'an", "静安"), ("putuo", "Putuo", "普陀"), ("hongkou", "Hongkou", "虹口"),
    ("yangpu", "Yangpu", "杨浦"), ("pudong", "Pudong", "浦东"), ("minhang", "Minhang", "闵行"),
]

CATEGORIES = """
arrival|Arriving and settling in|抵达与安顿|到着と生活の準備|도착과 정착|Arrivée et installation|Ankommen und einleben|Llegada e instalación|Прибытие и обустройство
papers|Visas and papers|签证与证件|ビザと書類|비자와 서류|Visas et papiers|Visum und Dokumente|Visados y documentos|Визы и документы
health|Health|医疗健康|医療と健康|의료와 건강|Santé|Gesundheit|Salud|Здоровье
housing|Housing|住房|住まい|주거|Logement|Wohnen|Vivienda|Жильё
transport|Getting around|交通出行|交通|교통|Se déplacer|Unterwegs|Transporte|Транспорт
money|Money and banking|金融与银行|お金と銀行|금융과 은행|Argent et banque|Geld und Bank|Dinero y bancos|Деньги и банки
family|Family and children|家庭与儿童|家族と子ども|가족과 아이|Famille et enfants|Familie und Kinder|Familia e hijos|Семья и дети
work|Work and tax|工作与税务|仕事と税金|일과 세금|Travail et impôts|Arbeit und Steuern|Trabajo e impuestos|Работа и налоги
daily|Daily life|日常生活|日常生活|일상생활|Vie quotidienne|Alltag|Vida diaria|Повседневная жизнь
community|Community and volunteering|社区与志愿服务|地域とボランティア|지역사회와 자원봉사|Vie associative et bénévolat|Gemeinschaft und Ehrenamt|Comunidad y voluntariado|Сообщество и волонтёрство
"""

# fmt: on

SPOKEN = ["zh", "en", "ja", "ko", "fr", "de", "es", "ru"]


def _table(text: str) -> list[dict[str, str]]:
    return [dict(zip(LANGS, line.split("|"), strict=True)) for line in text.strip().splitlines()]


def categories() -> list[tuple[str, dict[str, str]]]:
    rows = []
    for line in CATEGORIES.strip().splitlines():
        slug, *names = line.split("|")
        rows.append((slug, dict(zip(LANGS, names, strict=True))))
    return rows


@dataclass
class ProperName:
    pinyin: str
    hanzi: str
    cyrillic: str
    hangul: str

    def street(self, lang: str) -> str:
        return {
            "en": f"{self.pinyin} Road",
            "zh-hans": f"{self.hanzi}路",
            "ja": f"{self.hanzi}路",
            "ko": f"{self.hangul}로",
            "fr": f"rue {self.pinyin}",
            "de": f"{self.pinyin}straße",
            "es": f"calle {self.pinyin}",
            "ru": f"улица {self.cyrillic}",
        }[lang]

    def name(self, lang: str) -> str:
        if lang in NO_SPACES:
            return self.hanzi
        if lang == "ko":
            return self.hangul
        if lang == "ru":
            return self.cyrillic
        return self.pinyin


class Corpus:
    """Deterministic text generator (a seeded random source)."""

    def __init__(self, seed: int = 20261123) -> None:
        self.rng = random.Random(seed)
        self.nouns = _table(NOUNS)
        self.adjectives = _table(ADJECTIVES)
        self.verbs = _table(VERBS)
        # Zipf-like weights: a few concepts are everywhere, most are rarer.
        self.noun_weights = [1 / (rank + 1) ** 0.9 for rank in range(len(self.nouns))]

    def proper_name(self) -> ProperName:
        n = self.rng.choice((2, 2, 2, 3))
        parts = self.rng.sample(SYLLABLES, n)
        return ProperName(
            pinyin="".join(p[0] for p in parts).capitalize(),
            hanzi="".join(p[1] for p in parts),
            cyrillic="".join(p[2] for p in parts).capitalize(),
            hangul="".join(p[3] for p in parts),
        )

    def _nouns(self, k: int) -> list[dict[str, str]]:
        return self.rng.choices(self.nouns, weights=self.noun_weights, k=k)

    def slots(self) -> dict[str, object]:
        n1, n2, n3 = self._nouns(3)
        return {
            "N1": n1,
            "N2": n2,
            "N3": n3,
            "A": self.rng.choice(self.adjectives),
            "V": self.rng.choice(self.verbs),
            "P": self.proper_name(),
        }

    @staticmethod
    def fill(template: str, slots: dict[str, object], lang: str) -> str:
        values = {}
        for key, value in slots.items():
            if isinstance(value, ProperName):
                values[key] = value.street(lang)
            else:
                values[key] = value[lang]  # type: ignore[index]
        text = template.format(**values)
        return text[:1].upper() + text[1:]

    def sentence_slots(self, n: int) -> list[tuple[int, dict[str, object]]]:
        """n sentences as (template index, slots): the same ideas, to be written in each language."""
        return [(self.rng.randrange(7), self.slots()) for _ in range(n)]

    def paragraph(self, plan: list[tuple[int, dict[str, object]]], lang: str) -> str:
        sep = "" if lang in NO_SPACES else " "
        return sep.join(self.fill(SENTENCES[lang][i], s, lang) for i, s in plan)

    def article(self) -> tuple[dict[str, str], dict[str, str], dict[str, str], str]:
        """(title, summary, body HTML, English slug stem) in all languages."""
        title_i = self.rng.randrange(6)
        title_slots = self.slots()
        summary_plan = self.sentence_slots(self.rng.randint(1, 2))
        sections = []
        for _ in range(self.rng.randint(2, 4)):
            heading = self.rng.randrange(5)
            paragraphs = [self.sentence_slots(self.rng.randint(2, 5)) for _ in range(self.rng.randint(1, 2))]
            sections.append((heading, paragraphs))
        title, summary, body = {}, {}, {}
        for lang in LANGS:
            title[lang] = self.fill(TITLES[lang][title_i], title_slots, lang)
            summary[lang] = self.paragraph(summary_plan, lang)
            html = []
            for heading, paragraphs in sections:
                html.append(f"<h2>{HEADINGS[lang][heading]}</h2>")
                html.extend(f"<p>{self.paragraph(p, lang)}</p>" for p in paragraphs)
            body[lang] = "".join(html)
        stem = title_slots["N1"]["en"]  # type: ignore[index]
        return title, summary, body, stem

    def place_texts(
        self, kind: str, name: ProperName, street: ProperName, district: tuple[str, str, str], number: int
    ) -> dict[str, dict[str, str]]:
        """name, address, description, accessibility of a place: English and Chinese always, other
        languages for some places."""
        langs = ["en", "zh-hans"] + [lang for lang in LANGS[2:] if self.rng.random() < 0.25]
        names = PLACE_KINDS[kind][1]
        _slug, d_latin, d_hanzi = district
        address = {
            "en": f"{number} {street.street('en')}, {d_latin} District, Shanghai",
            "zh-hans": f"上海市{d_hanzi}区{street.street('zh-hans')}{number}号",
        }
        for lang in langs[2:]:
            if lang == "ja":
                address[lang] = f"上海市{d_hanzi}区{street.street('ja')}{number}号"
            elif lang == "ko":
                address[lang] = f"상하이시 {d_latin}구 {street.street('ko')} {number}"
            elif lang == "ru":
                address[lang] = f"Шанхай, район {d_latin}, {street.street('ru')}, {number}"
            else:
                address[lang] = f"{street.street(lang)} {number}, {d_latin}, Shanghai"
        plan = self.sentence_slots(self.rng.randint(1, 3))
        description = {lang: f"<p>{self.paragraph(plan, lang)}</p>" for lang in langs}
        title = {lang: names[LANGS.index(lang)].format(X=name.name(lang)) for lang in langs}
        return {"name": title, "address": address, "description": description}

    def service_name(self) -> dict[str, str]:
        noun = self._nouns(1)[0]
        verb = self.rng.choice(self.verbs)
        return {
            lang: self.fill("{V} {N1}" if lang not in NO_SPACES else "{V}{N1}", {"V": verb, "N1": noun}, lang)
            for lang in ("en", "zh-hans")
        }

    def search_terms(self) -> list[str]:
        """Queries as people type them: words in each language, Chinese, Japanese and Korean
        substrings (some of two characters, which trigrams cannot index), and typos."""
        terms = []
        for concept in self.nouns[:30]:
            for lang in LANGS:
                terms.append(concept[lang])
        # Substrings of CJK words and names, two to four characters.
        for concept in self.nouns[:30]:
            for lang in ("zh-hans", "ja", "ko"):
                word = concept[lang].replace(" ", "")
                if len(word) >= 2:
                    start = self.rng.randrange(0, max(1, len(word) - 1))
                    terms.append(word[start : start + self.rng.randint(2, 4)])
        for _ in range(30):
            name = self.proper_name()
            terms.extend([name.pinyin, name.hanzi, name.street("zh-hans"), name.street("en")])
        # Typos in Latin script: a dropped or doubled letter, swapped letters.
        terms += [
            "hospitl",
            "libary",
            "pasport",
            "pharmcy",
            "kindergarden",
            "embasy",
            "resident permit",
            "Krankenhuas",
            "bibliotheque",
            "farmcia",
            "insurence",
            "vacination",
            "Apoteke",
            "consulat",
        ]
        self.rng.shuffle(terms)
        return terms
