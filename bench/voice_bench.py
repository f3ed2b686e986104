"""Benchmark of the feedback loop at city scale, on PostgreSQL.

Seeds a separate database (never the developer's) with five years of a city's feedback, a
million items by default, with set-based SQL, and measures:

1. submissions: Open311 `POST /open311/v2/requests.json` through gunicorn (production
   settings), many clients at once, against bare Django's `POST /echo` served the same way;
   afterwards the database must hold one new item for every 200/201 answer;
2. reports: `reports.compute()` for the last 365 days in this process, city-wide and for one
   community;
3. the triage queue: `GET /en/staff/feedback/` as a community coordinator and as an editor,
   one request at a time and under wrk, against bare Django's `GET /`; and `selectors.queue()`
   in this process, to tell the query from the rendering.

    .venv/bin/python bench/voice_bench.py [--database URL] [--items N] [--reuse] [--seed-only]
                                          [--parts submit report queue] [--workers N]

See bench/README.md.
"""

import argparse
import asyncio
import datetime
import importlib.util
import json
import os
import platform
import pstats
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
VENV_BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"
DEFAULT_DATABASE = f"postgresql://postgres@{LOOPBACK}:5432/yulan_bench_voice"

OPEN311_PATH = "/open311/v2/requests.json"
QUEUE_PATH = "/en/staff/feedback/"

TARGET_SUBMISSIONS_PER_S = 300.0
TARGET_REPORT_P95_S = 2.0
TARGET_QUEUE_P95_MS = 50.0

COMMUNITIES = 24
OFFICES = 8
TAGS = 200
STAFF = 30  # besides the three signed-in accounts: assignees and actors of the history
YEARS = 5
CENTRE = (31.2, 121.45)

LANGS = ["en", "zh-hans", "ja", "ko", "fr", "de", "es", "ru"]
# Share of the items written in each language (cumulative thresholds are built from it).
LANG_SHARE = [0.34, 0.30, 0.08, 0.08, 0.06, 0.05, 0.05, 0.04]
PHRASES = {
    "en": [
        "The streetlight outside the building has been broken for two weeks and the path is dark at night.",
        "Could the service hall keep an English-speaking officer on Saturday mornings?",
        "The bilingual sign at the metro exit points the wrong way to the community centre.",
        "Rubbish is left next to the sorting bins every evening and nobody collects it.",
        "The crossing light is too short for older people and children to get across.",
        "An idea: a monthly walk for new residents to learn where the clinic and the market are.",
    ],
    "zh-hans": [
        "楼外的路灯坏了两个星期了，晚上小路很黑。",
        "希望服务大厅周六上午有会说英语的工作人员。",
        "地铁出口的双语指示牌把社区中心的方向指错了。",
        "每天晚上垃圾分类桶旁边都堆着垃圾，没有人清理。",
        "人行横道的绿灯时间太短，老人和孩子来不及通过。",
        "建议每月为新居民组织一次社区散步，认识诊所和菜场的位置。",
    ],
    "ja": [
        "建物の前の街灯が二週間壊れたままで、夜は道が暗いです。",
        "土曜日の午前中に英語を話せる職員がいると助かります。",
        "地下鉄の出口の案内板がコミュニティセンターの方向を間違えています。",
        "毎晩ごみが分別箱の横に置かれたままで、回収されていません。",
        "横断歩道の青信号が短すぎて、高齢者や子どもが渡りきれません。",
        "新しい住民のために、診療所や市場の場所を知る散歩会を毎月開いてはどうでしょう。",
    ],
    "ko": [
        "건물 앞 가로등이 2주째 고장 나서 밤에 길이 어둡습니다.",
        "토요일 오전에 영어를 할 수 있는 직원이 있었으면 좋겠습니다.",
        "지하철 출구의 이중 언어 표지판이 커뮤니티 센터 방향을 잘못 가리킵니다.",
        "매일 저녁 분리수거함 옆에 쓰레기가 쌓여 있는데 아무도 치우지 않습니다.",
        "횡단보도 신호가 너무 짧아서 노인과 아이들이 다 건너지 못합니다.",
        "새 주민을 위해 병원과 시장 위치를 알려 주는 동네 산책을 매달 열면 좋겠습니다.",
    ],
    "fr": [
        "Le lampadaire devant l'immeuble est en panne depuis deux semaines et le chemin est sombre la nuit.",
        "Le guichet pourrait-il garder un agent anglophone le samedi matin ?",
        "Le panneau bilingue à la sortie du métro indique la mauvaise direction pour le centre.",
        "Des déchets sont laissés à côté des bacs de tri chaque soir et personne ne les ramasse.",
        "Le feu du passage piéton est trop court pour les personnes âgées et les enfants.",
        "Une idée : une promenade mensuelle pour que les nouveaux habitants découvrent le quartier.",
    ],
    "de": [
        "Die Straßenlaterne vor dem Haus ist seit zwei Wochen kaputt, nachts ist der Weg dunkel.",
        "Könnte das Servicezentrum am Samstagvormittag eine englischsprachige Kraft einsetzen?",
        "Das zweisprachige Schild am U-Bahn-Ausgang zeigt in die falsche Richtung zum Zentrum.",
        "Jeden Abend steht Müll neben den Sortiertonnen, und niemand holt ihn ab.",
        "Die Fußgängerampel ist zu kurz für ältere Menschen und Kinder.",
        "Eine Idee: ein monatlicher Spaziergang, damit Neuzugezogene Praxis und Markt kennenlernen.",
    ],
    "es": [
        "La farola frente al edificio lleva dos semanas rota y el camino está oscuro por la noche.",
        "¿Podría la oficina tener a alguien que hable inglés los sábados por la mañana?",
        "El letrero bilingüe de la salida del metro indica mal la dirección del centro comunitario.",
        "Cada noche dejan basura junto a los contenedores y nadie la recoge.",
        "El semáforo peatonal es demasiado corto para las personas mayores y los niños.",
        "Una idea: un paseo mensual para que los nuevos vecinos conozcan la clínica y el mercado.",
    ],
    "ru": [
        "Фонарь перед домом не работает уже две недели, ночью на дорожке темно.",
        "Можно ли по субботам утром держать в центре обслуживания сотрудника, говорящего по-английски?",
        "Двуязычный указатель у выхода из метро показывает неверное направление к центру.",
        "Каждый вечер мусор оставляют рядом с контейнерами, и никто его не убирает.",
        "Светофор на переходе слишком короткий для пожилых людей и детей.",
        "Идея: ежемесячная прогулка для новых жителей, чтобы узнать, где поликлиника и рынок.",
    ],
}
STREETS = ["Hongqiao", "Gubei", "Xianxia", "Loushanguan", "Yan'an", "Huashan", "Changning", "Tianshan", "Zhongshan"]

# (slug, group, response hours, English name, Chinese name); the first ones get most items.
CATEGORIES = [
    ("streets", "streets", 72, "Streets and lighting", "道路与照明"),
    ("services", "services", 120, "Public services", "公共服务"),
    ("rubbish", "environment", 72, "Rubbish and recycling", "垃圾与回收"),
    ("signs", "streets", 120, "Signs and wayfinding", "标识与指引"),
    ("noise", "environment", 48, "Noise", "噪音"),
    ("traffic", "streets", 72, "Traffic and parking", "交通与停车"),
    ("medical", "services", 72, "Medical care", "医疗"),
    ("community-life", "community", 168, "Community life", "社区生活"),
    ("housing", "services", 120, "Housing and property", "住房与物业"),
    ("parks", "environment", 120, "Parks and green spaces", "公园与绿地"),
    ("transport", "streets", 120, "Public transport", "公共交通"),
    ("schools", "services", 168, "Schools and childcare", "学校与托育"),
    ("visas", "services", 72, "Visas and residence", "签证与居留"),
    ("safety", "services", 48, "Safety", "安全"),
    ("roundtable", "community", 168, "Raised at roundtables", "圆桌会议意见"),
]
OFFICE_NAMES = [
    ("city-services", "City Services Office"),
    ("foreign-affairs", "Foreign Affairs Office"),
    ("public-works", "Public Works Bureau"),
    ("environment", "Environment Bureau"),
    ("transport", "Transport Commission"),
    ("health", "Health Commission"),
    ("public-security", "Public Security Entry-Exit Bureau"),
    ("education", "Education Bureau"),
]
# Category group → the office that takes it city-wide (indexes into OFFICE_NAMES).
GROUP_OFFICE = {"streets": 2, "services": 0, "environment": 3, "community": 1}
CATEGORY_OFFICE = {"traffic": 4, "transport": 4, "medical": 5, "visas": 6, "safety": 6, "schools": 7}


def parse_args() -> argparse.Namespace:
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        help="PostgreSQL URL of the bench database (dropped and created again unless --reuse; its name must "
        "contain 'bench')",
    )
    p.add_argument("--items", type=int, default=1_000_000, help="feedback items over five years")
    p.add_argument("--reuse", action="store_true", help="keep the bench database of the last run, no seeding")
    p.add_argument("--seed-only", action="store_true", help="seed and stop")
    p.add_argument("--parts", nargs="+", choices=["submit", "report", "queue"], default=["submit", "report", "queue"])
    p.add_argument("--workers", type=int, default=2 * cores + 1, help="gunicorn workers (default 2 × cores + 1)")
    p.add_argument("--connections", type=int, default=16, help="requests in flight: submission clients and wrk")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--duration", type=int, default=15, help="seconds of each measured load")
    p.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load before each")
    p.add_argument("--report-runs", type=int, default=10, help="measured runs of each report (after one warm-up)")
    p.add_argument("--queue-requests", type=int, default=200, help="sequential requests of the queue page per account")
    p.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/12",
        help="the site's shared cache (a database of its own, emptied before each server starts); "
        "empty: each worker its own memory",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="before each measurement, wait up to this many seconds for a second with the CPUs at most 25 %% busy "
        "(other jobs on a shared machine); 0: do not wait",
    )
    p.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the slowest queries even on target")
    p.add_argument(
        "--profile",
        action="store_true",
        help="after the measurements: each part's requests against one sync worker under cProfile, and the "
        "submission timed in this process (through the test client and item_submit alone)",
    )
    p.add_argument("--no-baseline", action="store_true", help="skip bare Django")
    return p.parse_args()


# --- database -----------------------------------------------------------------------------------


@dataclass
class Database:
    url: str
    name: str
    admin_url: str


def bench_database(url: str) -> Database:
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql") or not name:
        raise SystemExit(f"--database must be a PostgreSQL URL with a database name, not {url!r}")
    if "bench" not in name:
        raise SystemExit(f"refusing to use the database {name!r}: the bench drops it; give a name containing 'bench'")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SystemExit(f"the database name {name!r} must be a plain identifier")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    return Database(url, name, admin)


def reset_database(db: Database) -> None:
    import psycopg

    with psycopg.connect(db.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db.name}")


def django_setup(db: Database) -> None:
    os.environ["DATABASE_URL"] = db.url
    os.environ["SQLITE_PATH"] = ""
    os.environ["DJANGO_SETTINGS_MODULE"] = "yulan.settings"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ["DEBUG"] = "false"
    os.environ["STATIC_MANIFEST"] = "false"
    os.environ.pop("REDIS_URL", None)  # this process: its own memory cache
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCH_DIR))
    import django

    django.setup()


# --- seeding ------------------------------------------------------------------------------------


# The pseudo-random streams of an item's columns (each its own number k for `u`).
STREAMS = [
    *("kind", "phrase", "more", "phrase2", "lat", "lng", "addr", "name", "mail", "phone", "clang", "hidden"),
    *("sup", "fol", "staff", "merge", "changed", "close", "resp", "status", "cat", "nocom", "com", "loc"),
    *("public", "source", "anon"),
]


def u(k: int, col: str = "n") -> str:
    """SQL for a pseudo-random number in [0, 1), fixed by the row's number and the stream k."""
    return f"((hashint8extended({col}, {k}) & 2147483647)::float8 / 2147483648.0)"


def cumulative(shares: list[float]) -> list[float]:
    out, total = [], 0.0
    for share in shares:
        total += share
        out.append(total)
    return out


def lang_case(col: str) -> str:
    """SQL: the index (0–7) of the language for a uniform number in `col`."""
    bounds = cumulative(LANG_SHARE)
    whens = " ".join(f"WHEN {col} < {b:.4f} THEN {i}" for i, b in enumerate(bounds[:-1]))
    return f"(CASE {whens} ELSE {len(bounds) - 1} END)"


# The status of an item by its age: recent ones mostly open, old ones mostly closed or answered.
STATUS_BY_AGE = [
    (14, [("received", 0.45), ("assigned", 0.25), ("in_progress", 0.15), ("answered", 0.10), ("closed", 0.05)]),
    (
        60,
        [
            ("received", 0.07),
            ("assigned", 0.10),
            ("in_progress", 0.15),
            ("answered", 0.25),
            ("closed", 0.40),
            ("declined", 0.03),
        ],
    ),
    (
        None,
        [
            ("received", 0.01),
            ("assigned", 0.02),
            ("in_progress", 0.03),
            ("answered", 0.15),
            ("closed", 0.70),
            ("declined", 0.06),
            ("merged", 0.03),
        ],
    ),
]


def status_case() -> str:
    parts = []
    for max_days, mix in STATUS_BY_AGE:
        bounds = cumulative([share for _, share in mix])
        whens = " ".join(f"WHEN us < {b:.4f} THEN '{s}'" for (s, _), b in zip(mix[:-1], bounds[:-1], strict=True))
        inner = f"CASE {whens} ELSE '{mix[-1][0]}' END"
        parts.append((max_days, inner))
    sql = "CASE"
    for max_days, inner in parts:
        sql += f" WHEN age_d < {max_days} THEN {inner}" if max_days is not None else f" ELSE {inner}"
    return sql + " END"


ITEMS_SQL = """
INSERT INTO voice_item (
    id, kind, text, language, latitude, longitude, address, photo, media_url, contact_name, contact_email,
    contact_phone, contact_language, public_consent, hidden, status, status_reason, source, fingerprint, secret,
    created_at, updated_at, status_changed_at, due_at, first_response_at, closed_at, supporters_count,
    followers_count, anonymised_at, api_client_id, assignee_id, category_id, community_id, event_id,
    merged_into_id, office_id, user_id
)
SELECT
    d.n,
    CASE WHEN {u_kind} < 0.5 THEN 'problem' WHEN {u_kind} < 0.8 THEN 'suggestion' ELSE 'idea' END,
    (%(phrases)s::text[])[d.lang_i * {per_lang} + 1 + floor({u_phrase} * {per_lang})::int]
        || CASE WHEN {u_more} < 0.4
            THEN ' ' || (%(phrases)s::text[])[d.lang_i * {per_lang} + 1 + floor({u_phrase2} * {per_lang})::int]
            ELSE '' END
        || ' (' || (%(streets)s::text[])[1 + d.n %% {streets}] || ' Rd ' || (1 + d.n %% 997) || ', ref ' || d.n || ')',
    (%(langs)s::text[])[d.lang_i + 1],
    CASE WHEN d.located THEN round((d.lat0 + ({u_lat} - 0.5) * 0.04)::numeric, 6)::float8 END,
    CASE WHEN d.located THEN round((d.lng0 + ({u_lng} - 0.5) * 0.04)::numeric, 6)::float8 END,
    CASE WHEN {u_addr} < 0.3 THEN 'No. ' || (1 + d.n %% 300) || ' ' || (%(streets)s::text[])[1 + d.n %% {streets}]
        || ' Road' ELSE '' END,
    '', '',
    CASE WHEN d.anon OR {u_name} >= 0.4 THEN '' ELSE 'Resident ' || d.n END,
    CASE WHEN d.anon OR {u_mail} >= 0.55 THEN '' ELSE 'resident' || d.n || '@example.org' END,
    CASE WHEN d.anon OR {u_phone} >= 0.1 THEN '' ELSE '+86 138 ' || lpad((d.n %% 100000000)::text, 8, '0') END,
    CASE WHEN {u_clang} < 0.85 THEN (%(langs)s::text[])[d.lang_i + 1] ELSE 'en' END,
    d.public,
    d.public AND {u_hidden} < 0.01,
    d.status,
    CASE WHEN d.status = 'declined' THEN 'This is not something our offices can act on.' ELSE '' END,
    CASE WHEN d.open311 THEN 'open311' ELSE 'web' END,
    md5(d.n::text) || md5('fp' || d.n::text),
    substr(md5('secret' || d.n::text), 1, 22),
    d.created_at,
    d.changed_at,
    d.changed_at,
    d.created_at + make_interval(hours => (%(hours)s::int[])[d.cat_i + 1]),
    d.frt,
    d.closed_at,
    CASE WHEN d.public THEN floor(power({u_sup}, 6) * 60)::int ELSE 0 END,
    floor(power({u_fol}, 8) * 20)::int,
    CASE WHEN d.anon THEN d.created_at + interval '3 years' END,
    CASE WHEN d.open311 THEN %(api_client)s::bigint END,
    CASE WHEN d.status IN ('assigned', 'in_progress', 'answered', 'closed')
        THEN (%(staff)s::bigint[])[1 + floor({u_staff} * %(staff_n)s)::int] END,
    (%(categories)s::bigint[])[d.cat_i + 1],
    d.community_id,
    NULL,
    CASE WHEN d.status = 'merged' THEN greatest(1, d.n - 1 - floor({u_merge} * 500)::int) END,
    (%(routes)s::bigint[])[d.cat_i * {route_stride} + coalesce(d.com_i, {coms}) + 1],
    NULL
FROM (
    SELECT d0.*,
        (%(community_ids)s::bigint[])[d0.com_i + 1] AS community_id,
        coalesce((%(community_lat)s::float8[])[d0.com_i + 1], {centre_lat}) AS lat0,
        coalesce((%(community_lng)s::float8[])[d0.com_i + 1], {centre_lng}) AS lng0
    FROM (
    SELECT c.*,
        CASE
            WHEN c.status IN ('closed', 'declined', 'merged') THEN c.closed_at
            WHEN c.status = 'answered' THEN c.frt
            WHEN c.status = 'received' THEN c.created_at
            ELSE c.created_at + (c.now_ts - c.created_at) * (0.1 + 0.5 * {u_changed})
        END AS changed_at
    FROM (
        SELECT b.*,
            CASE
                WHEN b.status = 'closed' THEN greatest(b.frt, least(
                    b.frt + make_interval(secs => exp({u_close} * ln(720)) * 3600), b.now_ts - interval '1 minute'))
                WHEN b.status IN ('declined', 'merged') THEN b.frt
            END AS closed_at
        FROM (
            SELECT a.*,
                CASE WHEN a.status IN ('answered', 'closed', 'declined', 'merged')
                    THEN greatest(a.created_at, least(
                        a.created_at + make_interval(secs => exp({u_resp} * ln(600)) * 3600),
                        a.now_ts - interval '2 minutes'))
                END AS frt
            FROM (
                SELECT s.*, CASE WHEN s.status0 = 'merged' AND s.n = 1 THEN 'closed' ELSE s.status0 END AS status
                FROM (
                    SELECT g.*, {status_case} AS status0
                    FROM (
                        SELECT n, %(now)s::timestamptz AS now_ts,
                            {years} * 365.25 * power((%(items)s - n + 0.5) / %(items)s::float8, 1.25) AS age_d,
                            %(now)s::timestamptz
                                - make_interval(secs => {years} * 365.25 * 86400
                                                * power((%(items)s - n + 0.5) / %(items)s::float8, 1.25)) AS created_at,
                            {u_status} AS us,
                            floor({cats} * power({u_cat}, 1.6))::int AS cat_i,
                            CASE WHEN {u_nocom} < 0.05 THEN NULL ELSE floor({u_com} * {coms})::int END AS com_i,
                            {lang_case} AS lang_i,
                            {u_loc} < 0.4 AS located,
                            {u_public} < 0.6 AS public,
                            {u_source} < 0.15 AS open311,
                            {u_anon} < 0.2
                                AND power((%(items)s - n + 0.5) / %(items)s::float8, 1.25) * {years} > 3.2 AS anon
                        FROM generate_series(1, %(items)s) AS n
                        OFFSET 0
                    ) g
                ) s
            ) a
        ) b
    ) c
) d0
) d
"""

# The history of each item: its spans follow the status it has now.
SPANS_SQL = """
INSERT INTO voice_statusspan (item_id, status, started_at, ended_at, actor_id)
SELECT item_id, status, started_at, ended_at, actor_id
FROM (
    SELECT i.id AS item_id,
        unnest(CASE i.status
            WHEN 'received' THEN ARRAY['received']
            WHEN 'assigned' THEN ARRAY['received', 'assigned']
            WHEN 'in_progress' THEN ARRAY['received', 'assigned', 'in_progress']
            WHEN 'answered' THEN ARRAY['received', 'assigned', 'in_progress', 'answered']
            WHEN 'closed' THEN ARRAY['received', 'assigned', 'answered', 'closed']
            WHEN 'declined' THEN ARRAY['received', 'declined']
            WHEN 'merged' THEN ARRAY['received', 'merged']
        END) AS status,
        unnest(CASE i.status
            WHEN 'received' THEN ARRAY[i.created_at]
            WHEN 'assigned' THEN ARRAY[i.created_at, i.status_changed_at]
            WHEN 'in_progress' THEN ARRAY[i.created_at, i.created_at + (i.status_changed_at - i.created_at) * 0.3,
                                          i.status_changed_at]
            WHEN 'answered' THEN ARRAY[i.created_at, i.created_at + (i.first_response_at - i.created_at) * 0.2,
                                       i.created_at + (i.first_response_at - i.created_at) * 0.5, i.first_response_at]
            WHEN 'closed' THEN ARRAY[i.created_at, i.created_at + (i.first_response_at - i.created_at) * 0.3,
                                     i.first_response_at, i.closed_at]
            ELSE ARRAY[i.created_at, i.first_response_at]
        END) AS started_at,
        unnest(CASE i.status
            WHEN 'received' THEN ARRAY[NULL::timestamptz]
            WHEN 'assigned' THEN ARRAY[i.status_changed_at, NULL]
            WHEN 'in_progress' THEN ARRAY[i.created_at + (i.status_changed_at - i.created_at) * 0.3,
                                          i.status_changed_at, NULL]
            WHEN 'answered' THEN ARRAY[i.created_at + (i.first_response_at - i.created_at) * 0.2,
                                       i.created_at + (i.first_response_at - i.created_at) * 0.5,
                                       i.first_response_at, NULL]
            WHEN 'closed' THEN ARRAY[i.created_at + (i.first_response_at - i.created_at) * 0.3,
                                     i.first_response_at, i.closed_at, NULL]
            ELSE ARRAY[i.first_response_at, NULL]
        END) AS ended_at,
        unnest(CASE i.status
            WHEN 'received' THEN ARRAY[NULL::bigint]
            WHEN 'assigned' THEN ARRAY[NULL, i.assignee_id]
            WHEN 'in_progress' THEN ARRAY[NULL, i.assignee_id, i.assignee_id]
            WHEN 'answered' THEN ARRAY[NULL, i.assignee_id, i.assignee_id, i.assignee_id]
            WHEN 'closed' THEN ARRAY[NULL, i.assignee_id, i.assignee_id, i.assignee_id]
            ELSE ARRAY[NULL, (%(staff)s::bigint[])[1 + i.id %% %(staff_n)s]]
        END) AS actor_id
    FROM voice_item i
    WHERE i.id <= %(items)s
) s
ORDER BY started_at, item_id
"""

# Themes for about 30 % of the items (those staff have triaged), one to three each, the
# recurring ones much more often.
TAGS_SQL = """
INSERT INTO voice_item_tags (item_id, tag_id)
SELECT t.item_id, (%(tags)s::bigint[])[1 + t.k]
FROM (
    SELECT i.id AS item_id,
        unnest(ARRAY[
            floor({tags} * power({u1}, 2))::int,
            CASE WHEN {u2} < 0.45 THEN (floor({tags} * power({u1}, 2))::int + 1 + floor({u3} * 99)::int) %% {tags} END,
            CASE WHEN {u2} < 0.15 THEN (floor({tags} * power({u1}, 2))::int + 100 + floor({u4} * 99)::int) %% {tags} END
        ]) AS k
    FROM voice_item i
    WHERE i.id <= %(items)s AND i.status <> 'received' AND {u0} < 0.32
) t
WHERE t.k IS NOT NULL
ORDER BY t.item_id, t.k
"""


def indexes_of(cursor: Any, tables: list[str]) -> list[tuple[str, str]]:
    """The indexes of these tables that no constraint owns: dropped before the load and made
    again after it (faster than keeping them up to date row by row)."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        ORDER BY i.tablename, i.indexname
        """,
        [tables],
    )
    return list(cursor.fetchall())


def seed(items: int) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from yulan.core.models import Community, District, Office, Role, RoleGrant, User
    from yulan.voice import apikeys, services
    from yulan.voice.models import Category, RoutingRule, Tag

    timings: dict[str, Any] = {}
    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    timings["migrate_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        districts = District.objects.bulk_create(
            District(slug=f"district-{i}", name={"en": f"District {i}", "zh-hans": f"第{i}区"}) for i in range(1, 7)
        )
        communities = Community.objects.bulk_create(
            Community(
                slug=f"community-{i + 1:02d}",
                name={"en": f"{STREETS[i % len(STREETS)]} {i + 1} Sub-district", "zh-hans": f"第{i + 1}街道"},
                district=districts[i % len(districts)],
                estimated_foreign_population=2000 + 500 * i,
                latitude=None if i == COMMUNITIES - 1 else CENTRE[0] + 0.2 * ((i * 7) % 24 / 24 - 0.5),
                longitude=None if i == COMMUNITIES - 1 else CENTRE[1] + 0.3 * ((i * 11) % 24 / 24 - 0.5),
            )
            for i in range(COMMUNITIES)
        )
        offices = Office.objects.bulk_create(
            Office(slug=slug, name={"en": name}, district=districts[0], email=f"{slug}@example.org")
            for slug, name in OFFICE_NAMES[:OFFICES]
        )
        categories = Category.objects.bulk_create(
            Category(
                slug=slug,
                name={"en": en, "zh-hans": zh},
                description={"en": f"{en}: what residents raise about it."},
                group=group,
                keywords=slug.replace("-", ", "),
                response_hours=hours,
                position=i,
            )
            for i, (slug, group, hours, en, zh) in enumerate(CATEGORIES)
        )
        # Routing: a default office, one rule per category (by its group), category × community
        # exceptions (the foreign-affairs office takes some communities' signs and services),
        # and two communities whose centres take everything not otherwise routed.
        rules = [RoutingRule(category=None, community=None, office=offices[0])]
        for category in categories:
            index = CATEGORY_OFFICE.get(category.slug, GROUP_OFFICE[category.group])
            rules.append(RoutingRule(category=category, community=None, office=offices[index % len(offices)]))
        by_slug = {c.slug: c for c in categories}
        for i, community in enumerate(communities):
            if i % 3 == 0:
                rules.append(RoutingRule(category=by_slug["signs"], community=community, office=offices[1]))
            if i % 4 == 1:
                rules.append(RoutingRule(category=by_slug["services"], community=community, office=offices[1]))
        for community in communities[-2:]:
            rules.append(RoutingRule(category=None, community=community, office=offices[1]))
        RoutingRule.objects.bulk_create(rules)
        tags = Tag.objects.bulk_create(Tag(slug=f"theme-{i:03d}", name=f"Theme {i:03d}") for i in range(TAGS))

        password = make_password(None)
        coordinator = User.objects.create(
            email="bench-coordinator@example.org", display_name="Bench coordinator", password=password
        )
        responder = User.objects.create(
            email="bench-responder@example.org", display_name="Bench responder", password=password
        )
        editor = User.objects.create(email="bench-editor@example.org", display_name="Bench editor", password=password)
        grants = [
            RoleGrant(user=coordinator, role=Role.COORDINATOR, community=communities[0]),
            RoleGrant(user=responder, role=Role.RESPONDER, office=offices[2]),
            RoleGrant(user=editor, role=Role.EDITOR),
        ]
        staff = User.objects.bulk_create(
            User(email=f"bench-staff-{i:02d}@example.org", display_name=f"Staff {i}", password=password)
            for i in range(STAFF)
        )
        for i, person in enumerate(staff):
            if i % 2:
                grants.append(RoleGrant(user=person, role=Role.RESPONDER, office=offices[i % len(offices)]))
            else:
                grants.append(RoleGrant(user=person, role=Role.COORDINATOR, community=communities[i % COMMUNITIES]))
        RoleGrant.objects.bulk_create(grants)
        seeded_client, _key = apikeys.create("Seeded city app")

        # Where each (category, community) goes, worked out by the service's own routing: the
        # office of category i in community j (j = the number of communities: none) is at
        # i × (communities + 1) + j.
        routes = [
            services.route(category.pk, community_id)
            for category in categories
            for community_id in [*(c.pk for c in communities), None]
        ]
    timings["setup_s"] = time.perf_counter() - t1

    tables = ["voice_item", "voice_statusspan", "voice_item_tags"]
    with connection.cursor() as cursor:
        saved = indexes_of(cursor, tables)
        for name, _definition in saved:
            cursor.execute(f'DROP INDEX "{name}"')
        # Generated rows are consistent: no foreign-key triggers while loading.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET maintenance_work_mem = '512MB'")

        staff_ids = [s.pk for s in staff]
        params = {
            "items": items,
            "now": now,
            "phrases": [phrase for lang in LANGS for phrase in PHRASES[lang]],
            "langs": LANGS,
            "streets": STREETS,
            "hours": [c.response_hours for c in categories],
            "categories": [c.pk for c in categories],
            "community_ids": [c.pk for c in communities],
            "community_lat": [c.latitude for c in communities],
            "community_lng": [c.longitude for c in communities],
            "staff": staff_ids,
            "staff_n": len(staff_ids),
            "api_client": seeded_client.pk,
            "routes": routes,
        }
        streams = {
            f"u_{name}": u(k)
            for k, name in enumerate(
                STREAMS,
                start=1,
            )
        }
        sql = ITEMS_SQL.format(
            per_lang=len(PHRASES["en"]),
            streets=len(STREETS),
            status_case=status_case(),
            lang_case=lang_case(u(40)),
            years=YEARS,
            cats=len(categories),
            coms=len(communities),
            route_stride=len(communities) + 1,
            centre_lat=CENTRE[0],
            centre_lng=CENTRE[1],
            **streams,
        )
        t2 = time.perf_counter()
        cursor.execute(sql, params)
        timings["items"] = cursor.rowcount
        timings["items_s"] = time.perf_counter() - t2

        t3 = time.perf_counter()
        cursor.execute(SPANS_SQL, {"items": items, "staff": staff_ids, "staff_n": len(staff_ids)})
        timings["spans"] = cursor.rowcount
        timings["spans_s"] = time.perf_counter() - t3

        t4 = time.perf_counter()
        tag_sql = TAGS_SQL.format(
            tags=len(tags), u0=u(50, "i.id"), u1=u(51, "i.id"), u2=u(52, "i.id"), u3=u(53, "i.id"), u4=u(54, "i.id")
        )
        cursor.execute(tag_sql, {"items": items, "tags": [t.pk for t in tags]})
        timings["item_tags"] = cursor.rowcount
        timings["tags_s"] = time.perf_counter() - t4

        t5 = time.perf_counter()
        cursor.execute("SET session_replication_role = DEFAULT")
        for _name, definition in saved:
            cursor.execute(definition)
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"  # noqa: S608
            )
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        cursor.execute(
            "INSERT INTO bench_meta VALUES ('items', %s), ('seeded_at', %s)",
            [str(items), now.isoformat()],
        )
        timings["indexes_s"] = time.perf_counter() - t5

    t6 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    timings["analyze_s"] = time.perf_counter() - t6
    timings["total_s"] = time.perf_counter() - t0
    return timings


def seeded_items() -> int | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_meta') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("SELECT value FROM bench_meta WHERE key = 'items'")
        row = cursor.fetchone()
    return int(row[0]) if row else None


def describe_seed() -> dict[str, Any]:
    """What the bench database holds (a few aggregate queries)."""
    from django.db import connection

    out: dict[str, Any] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), min(created_at), max(created_at),
                   count(*) FILTER (WHERE status IN ('received', 'assigned', 'in_progress')),
                   count(*) FILTER (WHERE public_consent),
                   count(*) FILTER (WHERE latitude IS NOT NULL),
                   count(*) FILTER (WHERE first_response_at IS NOT NULL),
                   count(*) FILTER (WHERE created_at >= now() - interval '365 days')
            FROM voice_item
            """
        )
        n, first, last, open_, public, located, answered, last_year = cursor.fetchone()
        out.update(
            items=n,
            first=first.date().isoformat() if first else "",
            last=last.date().isoformat() if last else "",
            open=open_,
            public=public,
            located=located,
            responded=answered,
            last_365_days=last_year,
        )
        cursor.execute("SELECT status, count(*) FROM voice_item GROUP BY 1 ORDER BY 2 DESC")
        out["by_status"] = dict(cursor.fetchall())
        cursor.execute("SELECT language, count(*) FROM voice_item GROUP BY 1 ORDER BY 2 DESC")
        out["by_language"] = dict(cursor.fetchall())
        cursor.execute("SELECT count(*), count(DISTINCT item_id) FROM voice_statusspan")
        out["spans"], out["items_with_spans"] = cursor.fetchone()
        cursor.execute("SELECT count(*), count(DISTINCT item_id) FROM voice_item_tags")
        out["item_tags"], out["tagged_items"] = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*) FROM voice_item i JOIN core_rolegrant g ON g.community_id = i.community_id
            JOIN core_user u ON u.id = g.user_id WHERE u.email = 'bench-coordinator@example.org'
            """
        )
        out["coordinator_scope"] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('voice_item')), "
            "pg_size_pretty(pg_total_relation_size('voice_statusspan')), "
            "pg_size_pretty(pg_database_size(current_database()))"
        )
        out["size_items"], out["size_spans"], out["size_database"] = cursor.fetchone()
    return out


# --- accounts and sessions ----------------------------------------------------------------------

ACCOUNTS = {
    "coordinator": "bench-coordinator@example.org",
    "responder": "bench-responder@example.org",
    "editor": "bench-editor@example.org",
}


def sign_in(email: str) -> str:
    """A session for the account, made as `django.contrib.auth.login` makes one; returns the
    Cookie header."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string

    from yulan.core.models import User

    user = User.objects.get(email=email)
    store = import_string(settings.SESSION_ENGINE + ".SessionStore")()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


# --- the load client ----------------------------------------------------------------------------


def http_request(method: str, path: str, port: int, *, cookie: str = "", body: str = "") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {LOOPBACK}:{port}", "User-Agent: voice-bench"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    if method == "POST":
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body.encode())}"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _head(raw: bytes) -> tuple[int, int | None, bool]:
    """Status, body length (None: until the connection closes; -1: chunked) and whether the
    server closes the connection."""
    lines = raw.decode("latin-1").split("\r\n")
    code = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        length = -1
    else:
        length = int(headers["content-length"]) if "content-length" in headers else None
    close = headers.get("connection", "").lower() == "close" or lines[0].startswith("HTTP/1.0")
    return code, length, close


@dataclass
class ClientRun:
    seconds: float
    latencies: list[float]
    statuses: list[int]
    bodies: list[bytes]  # of the answers with status 200/201, when asked for
    client_cpu_s: float
    connections_opened: int


def run_client(
    port: int,
    make: Callable[[int], bytes],
    *,
    connections: int,
    seconds: float | None = None,
    count: int | None = None,
    keep_bodies: bool = False,
    timeout: float = 30.0,
) -> ClientRun:
    """Requests `make(0)`, `make(1)` … with `connections` in flight at a time (asyncio, keep-alive
    where the server keeps the connection), for `seconds` or until `count` were sent. Latency
    counts from before the connection is made (when one is needed) to the last byte of the
    answer."""
    latencies: list[float] = []
    statuses: list[int] = []
    bodies: list[bytes] = []
    opened = 0
    counter = iter(range(count if count is not None else 1 << 62))
    deadline = 0.0

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bool]:
        writer.write(request)
        code, length, close = _head(await reader.readuntil(b"\r\n\r\n"))
        body = b""
        if length is None:
            body = await reader.read()
            close = True
        elif length == -1:
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append((await reader.readexactly(size + 2))[:-2])
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            body = b"".join(chunks)
        elif length:
            body = await reader.readexactly(length)
        if keep_bodies and code in (200, 201):
            bodies.append(body)
        return code, close

    async def connection() -> None:
        nonlocal opened
        reader = writer = None
        for i in counter:
            if seconds is not None and time.perf_counter() >= deadline:
                break
            request = make(i)
            t0 = time.perf_counter()
            close = True
            code = -1
            try:
                async with asyncio.timeout(timeout):
                    if writer is None:
                        reader, writer = await asyncio.open_connection(LOOPBACK, port)
                        opened += 1
                    assert reader is not None
                    code, close = await one(reader, writer, request)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                code = -1
            latencies.append(time.perf_counter() - t0)
            statuses.append(code)
            if close and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    async def main() -> float:
        nonlocal deadline
        t0 = time.perf_counter()
        deadline = t0 + (seconds or 0)
        await asyncio.gather(*(connection() for _ in range(connections)))
        return time.perf_counter() - t0

    before = time.thread_time()  # this thread only: not the CPU meter's sampling thread
    elapsed = asyncio.run(main())
    return ClientRun(elapsed, latencies, statuses, bodies, time.thread_time() - before, opened)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summarize(run: ClientRun, ok: tuple[int, ...]) -> dict[str, Any]:
    ms = [x * 1000 for x in run.latencies]
    return {
        "requests": len(run.statuses),
        "seconds": run.seconds,
        "rps": len(run.statuses) / run.seconds if run.seconds else 0.0,
        "ok": sum(1 for s in run.statuses if s in ok),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms, default=0.0),
        "errors": sum(1 for s in run.statuses if s not in ok),
        "statuses": dict(Counter(str(s) for s in run.statuses)),
        "client": "asyncio",
        "client_cpu_s": run.client_cpu_s,
        "connections_opened": run.connections_opened,
    }


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def stop_group(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
    """Stop a process started in its own session, and everything it started."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def log_tail(path: str | Path, lines: int = 40) -> str:
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Server:
    proc: subprocess.Popen[Any]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


PROFILE_HOOKS = """# Generated by bench/voice_bench.py: profile each worker from fork to exit.
import cProfile
import os

_profile = cProfile.Profile()


def post_fork(server, worker):
    _profile.enable()


def worker_exit(server, worker):
    _profile.disable()
    _profile.dump_stats(%(path)r + "." + str(os.getpid()))
"""


@contextmanager
def gunicorn(app: str, *, workers: int, env: dict[str, str], chdir: Path, name: str, profile: Path | None = None):
    port = free_port()
    log_path = OUT_DIR / f"voice-gunicorn-{name}.log"
    log = log_path.open("w")
    cmd = [
        str(VENV_BIN / "gunicorn"),
        app,
        "--chdir", str(chdir),
        "--bind", f"{LOOPBACK}:{port}",
        "--workers", str(1 if profile else workers),
        "--worker-class", "sync",
        "--timeout", "60",
        "--log-level", "error",
    ]  # fmt: skip
    if profile:
        hooks = OUT_DIR / "voice-gunicorn-profile.py"
        hooks.write_text(PROFILE_HOOKS % {"path": str(profile)})
        cmd += ["--config", str(hooks)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.flush()
                raise SystemExit(f"gunicorn ({name}) exited with {proc.returncode}:\n" + log_tail(log_path))
            try:
                with socket.create_connection((LOOPBACK, port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn ({name}) did not start:\n" + log_tail(log_path)) from None
                time.sleep(0.2)
        yield Server(proc, port, log_path)
    finally:
        stop_group(proc)
        log.close()
        errors = log_tail(log_path, 20)
        if "Traceback" in errors or "[ERROR]" in errors:
            print(f"  gunicorn ({name}) logged errors, see {log_path.relative_to(ROOT)}:\n{errors}")


def app_env(args: argparse.Namespace, db: Database) -> dict[str, str]:
    """The site as production runs it (DEBUG off, the shared cache), on the bench database."""
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        env["REDIS_URL"] = args.redis_url
    env.update(
        {
            "DATABASE_URL": db.url,
            "SQLITE_PATH": "",
            "DJANGO_SETTINGS_MODULE": "yulan.settings",
            "DEBUG": "false",
            "ALLOWED_HOSTS": LOOPBACK,
            "STATIC_MANIFEST": "false",
            "LOG_LEVEL": "ERROR",
            # All the load comes from one address and one client: no per-client limit.
            "YULAN_OPEN311_POSTS_PER_HOUR": "0",
            "YULAN_FEEDBACK_PER_HOUR": "0",
        }
    )
    return env


def bare_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env["PYTHONPATH"] = str(BENCH_DIR)
    return env


def wait_idle(port: int, timeout: float = 180) -> float:
    """Wait until the server has no connection left open; returns the seconds waited."""
    busy_states = {"01", "03", "08"}  # ESTABLISHED, SYN_RECV, CLOSE_WAIT
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        open_ = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] in busy_states:
                open_ += 1
        if not open_:
            break
        time.sleep(0.05)
    return time.monotonic() - start


# --- CPU accounting -----------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def proc_cpu(pid: int) -> float:
    fields = proc_stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> float:
    """CPU seconds all processes on the machine have used since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK


def busy_cpu_percent(seconds: float = 1.0) -> float:
    cores = os.cpu_count() or 1
    before = machine_busy()
    time.sleep(seconds)
    return 100.0 * (machine_busy() - before) / (seconds * cores)


QUIET = {"percent": 25.0, "wait_s": 120.0}


def quiet_cpu_percent() -> float:
    """How busy the CPUs were over the last second; first, for up to `--quiet-wait` seconds,
    wait for a second in which other processes left them mostly idle (the machine is shared)."""
    deadline = time.monotonic() + QUIET["wait_s"]
    busy = busy_cpu_percent()
    while busy > QUIET["percent"] and time.monotonic() < deadline:
        busy = busy_cpu_percent(2.0)
    return busy


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class CpuMeter:
    """CPU seconds of a process group (the server) and of the PostgreSQL backends of the bench
    database while a measurement runs; sampled in a thread, because backends come and go."""

    def __init__(self, group: int | None, db: Database) -> None:
        self.group = group
        self.db = db
        self._pg: Any = None
        self._members: list[int] = []
        self.start: dict[str, dict[int, float]] = {}
        self.last: dict[str, dict[int, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _scan_group(self) -> None:
        self._members = []
        if self.group is None:
            return
        for entry in Path("/proc").iterdir():
            fields = proc_stat(int(entry.name)) if entry.name.isdigit() else None
            if fields is not None and int(fields[2]) == self.group:
                self._members.append(int(entry.name))

    def _pids(self) -> dict[str, list[int]]:
        found = {"server": list(self._members)} if self.group is not None else {}
        rows = self._pg.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.db.name]
        ).fetchall()
        found["postgres"] = [pid for (pid,) in rows]
        return found

    def sample(self, first: bool = False) -> None:
        for name, pids in self._pids().items():
            start = self.start.setdefault(name, {})
            last = self.last.setdefault(name, {})
            for pid in pids:
                value = proc_cpu(pid)
                if first:
                    start[pid] = value
                start.setdefault(pid, 0.0)
                last[pid] = max(last.get(pid, 0.0), value)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def __enter__(self) -> "CpuMeter":
        import psycopg

        self._pg = psycopg.connect(self.db.admin_url, autocommit=True)
        self._scan_group()
        self.machine0 = machine_busy()
        self.self0 = time.process_time()
        self.sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._scan_group()
        self.sample()
        self.machine = machine_busy() - self.machine0
        self.bench = time.process_time() - self.self0
        self._pg.close()

    def figures(self) -> dict[str, Any]:
        seconds = {
            name: sum(self.last[name][pid] - self.start[name][pid] for pid in self.last[name]) for name in self.last
        }
        return {"cpu_s": seconds, "machine_cpu_s": self.machine, "bench_cpu_s": self.bench}


def fmt_cpu(r: dict[str, Any]) -> str:
    parts = [f"{k} {v:.1f}" for k, v in r["cpu_s"].items()]
    client = r.get("client_cpu_s", 0.0)
    parts.append(f"client {client:.1f}")
    sampling = r.get("bench_cpu_s", 0.0) - (client if r.get("client") == "asyncio" else 0.0)
    parts.append(f"sampling {max(0.0, sampling):.1f}")
    known = sum(r["cpu_s"].values()) + client + max(0.0, sampling)
    parts.append(f"rest of the machine {max(0.0, r['machine_cpu_s'] - known):.1f}")
    return ", ".join(parts)


def cpu_per_request(r: dict[str, Any]) -> str:
    n = max(1, int(r["requests"]))
    server = 1000 * r["cpu_s"].get("server", 0.0) / n
    pg = 1000 * r["cpu_s"].get("postgres", 0.0) / n
    ceiling = (os.cpu_count() or 1) * 1000 / max(server + pg, 1e-6)
    r["cpu_ms_per_request"] = {"server": server, "postgres": pg, "ceiling_rps": ceiling}
    return f"server {server:.2f} ms + PostgreSQL {pg:.2f} ms a request (at most {ceiling:,.0f}/s on all cores)"


# --- wrk ----------------------------------------------------------------------------------------

LUA = """-- Generated by bench/voice_bench.py: one path, the figures in one line.
function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f " ..
    "max_ms=%.2f err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def run_wrk(url: str, *, seconds: int, threads: int, connections: int, cookie: str = "") -> dict[str, Any]:
    script = OUT_DIR / "voice-wrk.lua"
    script.write_text(LUA)
    cmd = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout", "10s",
        "--latency",
        "-s", str(script),
    ]  # fmt: skip
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    cmd.append(url)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=seconds + 60)
    finally:
        stop_group(proc, timeout=5)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = re.search(r"^BENCH_RESULT (.*)$", out, re.M)
    if proc.returncode != 0 or not match:
        raise SystemExit(f"wrk failed ({proc.returncode}):\n{out}")
    result: dict[str, Any] = {key: float(value) for key, value in (pair.split("=") for pair in match.group(1).split())}
    result["errors"] = int(sum(v for k, v in result.items() if k.startswith("err_")))
    result["client"] = "wrk"
    result["client_cpu_s"] = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    return result


def fetch(url: str, cookie: str = "", data: bytes | None = None) -> tuple[int, bytes, str]:
    headers = {"Cookie": cookie} if cookie else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    try:
        with opener.open(request, timeout=60) as resp:
            return resp.status, resp.read(), resp.headers.get("Location", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Location", "")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# --- part 1: submissions ------------------------------------------------------------------------


def reset_submissions() -> dict[str, int]:
    """Remove what earlier submission runs stored (items above the seed, their history, themes,
    mail and tasks), so that every run starts from the seed."""
    from django.db import connection

    items = seeded_items() or 0
    removed: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table in ("voice_statusspan", "voice_item_tags", "voice_follower", "voice_support", "voice_reply"):
            cursor.execute(f"DELETE FROM {table} WHERE item_id > %s", [items])  # noqa: S608 (fixed names)
        cursor.execute("DELETE FROM voice_item WHERE id > %s", [items])
        removed["items"] = cursor.rowcount
        cursor.execute("DELETE FROM voice_apiclient WHERE name LIKE 'Bench run %%'")
        cursor.execute("TRUNCATE core_outgoingmail, django_tasks_database_dbtaskresult")
        cursor.execute("VACUUM ANALYZE voice_item")
        cursor.execute("VACUUM ANALYZE voice_statusspan")
    return removed


def open311_bodies(key: str, run: str) -> Callable[[int], str]:
    """Request `i`: a distinct description (no repeat detection), a category from the seeded
    list, a point near a community (60 %) or an address, an e-mail address."""
    from yulan.core.models import Community
    from yulan.voice.models import Category

    codes = list(Category.objects.filter(active=True).order_by("position").values_list("slug", flat=True))
    points = [(c.latitude, c.longitude) for c in Community.objects.exclude(latitude=None).order_by("pk")]
    phrases = [p for lang in LANGS for p in PHRASES[lang]]

    def body(i: int) -> str:
        fields = {
            "api_key": key,
            "service_code": codes[(i * 7) % len(codes)],
            "description": f"{phrases[i % len(phrases)]} (bench {run}, request {i})",
            "email": f"bench-{run}-{i}@example.org",
            "first_name": "Bench",
            "last_name": f"Client {i % 97}",
        }
        if i % 5 < 3:
            lat, lng = points[i % len(points)]
            fields["lat"] = f"{lat + ((i * 37) % 100 - 50) / 10000:.6f}"
            fields["long"] = f"{lng + ((i * 53) % 100 - 50) / 10000:.6f}"
        else:
            fields["address_string"] = f"No. {1 + i % 300} {STREETS[i % len(STREETS)]} Road"
        return urllib.parse.urlencode(fields)

    return body


def open311_ids(bodies: list[bytes]) -> tuple[list[int], int]:
    """The service request ids in the answers, and how many answers named none."""
    ids, unreadable = [], 0
    for body in bodies:
        try:
            data = json.loads(body)
            entry = data[0] if isinstance(data, list) else data
            ids.append(int(entry["service_request_id"]))
        except (ValueError, KeyError, IndexError, TypeError):
            unreadable += 1
    return ids, unreadable


def count_items() -> int:
    from yulan.voice.models import Item

    return Item.objects.count()


def run_submit(args: argparse.Namespace, db: Database, *, profile: Path | None = None) -> dict[str, Any]:
    from django.db import connections

    from yulan.voice import apikeys
    from yulan.voice.models import Item

    results: dict[str, Any] = {"removed_before": reset_submissions()}
    run = time.strftime("%H%M%S")
    client, key = apikeys.create(f"Bench run {run}")
    body = open311_bodies(key, run)
    connections.close_all()
    name = "submit-profile" if profile else "submit"
    with gunicorn(
        "yulan.wsgi:application", workers=args.workers, env=app_env(args, db), chdir=ROOT, name=name, profile=profile
    ) as s:
        # One request first: it must be stored, or there is nothing to measure.
        status, answer, _ = fetch(s.base + OPEN311_PATH, data=body(10_000_000).encode())
        if status not in (200, 201):
            raise SystemExit(f"POST {OPEN311_PATH} answered {status}:\n{answer[:3000].decode(errors='replace')}")
        results["sample_answer"] = answer[:400].decode(errors="replace")
        offset = 10_000_001

        def make(i: int) -> bytes:
            return http_request("POST", OPEN311_PATH, s.port, body=body(offset + i))

        # Unmeasured: imports, connections, the language models of every worker.
        warm = run_client(s.port, make, connections=args.connections, count=20 * args.workers)
        offset += len(warm.statuses)
        more = run_client(s.port, make, connections=args.connections, seconds=args.warmup)
        offset += len(more.statuses)
        warm.statuses += more.statuses
        wait_idle(s.port)
        before = count_items()
        results["busy_before_percent"] = quiet_cpu_percent()
        results["loadavg_before"] = load_average()
        seconds = 60 if profile else args.duration
        print(f"  Open311 POST: {seconds} s, {args.connections} clients", flush=True)
        with CpuMeter(s.proc.pid, db) as meter:
            measured = run_client(s.port, make, connections=args.connections, seconds=seconds, keep_bodies=True)
        results["submit"] = summarize(measured, (200, 201)) | meter.figures()
        results["drain_s"] = wait_idle(s.port)
    after = count_items()
    ids, unreadable = open311_ids(measured.bodies)
    stored = Item.objects.filter(pk__in=ids).count() if ids else 0
    by_client = Item.objects.filter(api_client=client).count()
    ok = results["submit"]["ok"]
    results["verify"] = {
        "new_items": after - before,
        "ok_answers": ok,
        "ids_in_answers": len(ids),
        "distinct_ids": len(set(ids)),
        "ids_found": stored,
        "answers_without_id": unreadable,
        "items_of_the_client": by_client,  # includes the first request and the warm-up
        "warmup_requests": len(warm.statuses),
        "warmup_ok": sum(1 for c in warm.statuses if c in (200, 201)),
    }
    results["verify"]["passed"] = (
        after - before == ok
        and len(set(ids)) == ok
        and stored == ok
        and results["submit"]["errors"] == 0
        and not unreadable
    )
    results["loadavg_after"] = load_average()
    # The next parts measure the seed, not the seed and these submissions.
    reset_submissions()
    return results


def run_bare_post(args: argparse.Namespace, db: Database) -> dict[str, Any]:
    """The baseline: the same client POSTs bodies of the same kind to bare Django's echo."""
    body = open311_bodies("k" * 43, "bare")
    with gunicorn("bare_app:application", workers=args.workers, env=bare_env(), chdir=BENCH_DIR, name="bare-post") as s:

        def make(i: int) -> bytes:
            return http_request("POST", "/echo", s.port, body=body(i))

        run_client(s.port, make, connections=args.connections, count=20 * args.workers)
        run_client(s.port, make, connections=args.connections, seconds=args.warmup)
        wait_idle(s.port)
        busy = quiet_cpu_percent()
        with CpuMeter(s.proc.pid, db) as meter:
            measured = run_client(s.port, make, connections=args.connections, seconds=args.duration)
        return summarize(measured, (200, 201)) | meter.figures() | {"busy_before_percent": busy}


def inprocess_submit(count: int = 300) -> dict[str, Any]:
    """Submissions made in this process, one after another: the whole request through Django's
    test client, then `services.item_submit` alone; CPU, wall time and statements of each."""
    from django.db import connection
    from django.test import Client

    from yulan.voice import apikeys, services

    _client, key = apikeys.create(f"Bench run inprocess {time.strftime('%H%M%S')}")
    body = open311_bodies(key, "inproc")
    executed: list[tuple[str, float]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            executed.append((sql, time.perf_counter() - t0))

    test_client = Client()

    def post(i: int) -> None:
        response = test_client.post(
            OPEN311_PATH, body(20_000_000 + i), content_type="application/x-www-form-urlencoded"
        )
        if response.status_code not in (200, 201):
            raise SystemExit(f"in-process POST answered {response.status_code}: {response.content[:500]!r}")

    codes = open311_bodies(key, "x")  # only for the category list
    del codes

    def service(i: int) -> None:
        fields = urllib.parse.parse_qs(body(30_000_000 + i))
        services.item_submit(
            services.ItemInput(
                category=fields["service_code"][0],
                text=fields["description"][0],
                latitude=fields.get("lat", [None])[0],
                longitude=fields.get("long", [None])[0],
                address=fields.get("address_string", [""])[0],
                contact_email=fields["email"][0],
                contact_name="Bench",
                source="open311",
            )
        )

    out = []
    for label, call in (("POST through the test client", post), ("services.item_submit alone", service)):
        call(0)
        walls, cpus, counts, db = [], [], [], []
        with connection.execute_wrapper(wrapper):
            for i in range(1, count + 1):
                executed.clear()
                t0, c0 = time.perf_counter(), time.process_time()
                call(i)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                counts.append(len(executed))
                db.append(sum(t for _, t in executed))
        out.append(
            {
                "label": label,
                "calls": count,
                "wall_p50_ms": 1000 * percentile(walls, 50),
                "wall_p95_ms": 1000 * percentile(walls, 95),
                "cpu_mean_ms": 1000 * statistics.mean(cpus),
                "statements": statistics.mean(counts),
                "db_wait_mean_ms": 1000 * statistics.mean(db),
                "last": [f"{1000 * t:6.2f} ms  {sql[:110]}" for sql, t in executed],
            }
        )
    return {"runs": out}


def inprocess_steps(runs: int = 300) -> list[dict[str, Any]]:
    """The cost of the single steps of a submission, in this process: each `runs` times, CPU
    and wall time. The writes run in a transaction that is rolled back."""
    import hashlib

    from django.db import connection, transaction
    from django.utils import timezone

    from yulan.core import tasks
    from yulan.core.models import Community, Office
    from yulan.voice import apikeys, language, services
    from yulan.voice.models import Category

    _client, key = apikeys.create(f"Bench run steps {time.strftime('%H%M%S')}")
    category = Category.objects.filter(active=True).order_by("position").first()
    community = Community.objects.exclude(latitude=None).order_by("pk").first()
    office = Office.objects.order_by("pk").first()
    assert category is not None and community is not None and office is not None
    text = PHRASES["en"][0] + " (bench steps)"
    fingerprint = hashlib.sha256(text.encode()).hexdigest()
    since = timezone.now() - datetime.timedelta(hours=24)

    def raw_select() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    def enqueue() -> None:
        with transaction.atomic():
            tasks.deliver_outbox.enqueue()
            transaction.set_rollback(True)

    steps: dict[str, Callable[[], Any]] = {
        "apikeys.verify(key)": lambda: apikeys.verify(key),
        "services.category_active(slug)": lambda: services.category_active(category.slug),
        "services.nearest_community(lat, lng)": lambda: services.nearest_community(
            community.latitude or 0.0, community.longitude or 0.0
        ),
        "services.route(category, community)": lambda: services.route(category.pk, community.pk),
        "services._earlier(fingerprint) (repeat check)": lambda: services._earlier(fingerprint, since),
        "language.detect(text)": lambda: language.detect(text, "en"),
        "Office by id (the answer's notice)": lambda: Office.objects.filter(pk=office.pk).first(),
        "deliver_outbox.enqueue() (a task row)": enqueue,
        "SELECT 1 (raw cursor)": raw_select,
    }
    out = []
    for label, call in steps.items():
        call()
        walls, cpus = [], []
        for _ in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            call()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        out.append(
            {"step": label, "cpu_mean_ms": 1000 * statistics.mean(cpus), "wall_p50_ms": 1000 * percentile(walls, 50)}
        )
    return out


# --- part 2: reports ----------------------------------------------------------------------------


@dataclass
class Captured:
    statements: list[tuple[str, Any, float]] = field(default_factory=list)

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, params, time.perf_counter() - t0))


def explain(sql: str, params: Any) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@contextmanager
def template_timer() -> Iterator[list[float]]:
    """Wall and CPU seconds spent rendering templates (the outermost render only; the queries a
    template sets off count in it too), appended to the list it yields as (wall, cpu) pairs."""
    from django.template.backends.django import Template

    spent: list[float] = [0.0, 0.0]
    real = Template.render
    depth = 0

    def render(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal depth
        depth += 1
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return real(self, *args, **kwargs)
        finally:
            depth -= 1
            if depth == 0:
                spent[0] += time.perf_counter() - t0
                spent[1] += time.process_time() - c0

    Template.render = render  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        Template.render = real  # type: ignore[method-assign]


def time_calls(call: Callable[[], Any], runs: int, *, clear_cache: bool = True) -> dict[str, Any]:
    """One warm-up call, then `runs` calls: wall and CPU time, statements and their time, and
    the time spent rendering templates."""
    from django.core.cache import cache
    from django.db import connection

    if clear_cache:
        cache.clear()
    call()
    walls, cpus, db, counts, render_wall, render_cpu = [], [], [], [], [], []
    for _ in range(runs):
        if clear_cache:
            cache.clear()
        captured = Captured()
        with connection.execute_wrapper(captured), template_timer() as rendering:
            t0, c0 = time.perf_counter(), time.process_time()
            call()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        db.append(sum(t for _, _, t in captured.statements))
        counts.append(len(captured.statements))
        render_wall.append(rendering[0])
        render_cpu.append(rendering[1])
    return {
        "render_mean_s": statistics.mean(render_wall),
        "render_cpu_mean_s": statistics.mean(render_cpu),
        "runs": runs,
        "p50_s": percentile(walls, 50),
        "p95_s": percentile(walls, 95),
        "max_s": max(walls),
        "mean_s": statistics.mean(walls),
        "per_s": runs / sum(walls),
        "cpu_mean_s": statistics.mean(cpus),
        "db_mean_s": statistics.mean(db),
        "statements": statistics.mean(counts),
        "last_statements": captured.statements,
    }


def run_reports(args: argparse.Namespace) -> dict[str, Any]:
    from django.utils import timezone

    from yulan.core.models import Community
    from yulan.voice import reports

    end = timezone.localdate()
    start = end - datetime.timedelta(days=365)
    community = Community.objects.order_by("slug").first()
    assert community is not None
    variants = {"city-wide": {}, f"community {community.slug}": {"community_id": community.pk}}
    out: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
    for label, extra in variants.items():
        print(f"  reports.compute {label}: 1 warm-up + {args.report_runs} runs", flush=True)
        busy = quiet_cpu_percent()
        r = time_calls(lambda extra=extra: reports.compute(start=start, end=end, **extra), args.report_runs)
        statements = r.pop("last_statements")
        r["busy_before_percent"] = busy
        r["slowest"] = [
            {"ms": 1000 * t, "sql": sql[:300]} for sql, _params, t in sorted(statements, key=lambda s: -s[2])[:6]
        ]
        if r["p95_s"] > TARGET_REPORT_P95_S or args.explain:
            sql, params, _t = max(statements, key=lambda s: s[2])
            r["explain"] = {"sql": sql, "plan": explain(sql, params)}
        out[label] = r
    return out


# --- part 3: the triage queue -------------------------------------------------------------------


def staff_user(role: str) -> Any:
    from yulan.core.models import User

    return User.objects.get(email=ACCOUNTS[role])


def run_queue_inprocess(args: argparse.Namespace) -> dict[str, Any]:
    """The queue page in this process, to tell the queries from the rest: the whole page through
    Django's test client (middleware, view, template), and each read the view makes
    (`selectors.queue()` for the first page with the default filters, its rows without the
    related tables as the page reads them, `open_counts()`, `colleagues_in_scope()`, the themes
    by `theme_names()`), with the user read afresh each time as a request does (its grants are
    read once per request)."""
    from django.test import Client

    from yulan.core.models import User
    from yulan.voice import selectors, staff_selectors

    out: dict[str, Any] = {}
    runs = max(20, min(100, args.queue_requests // 2))
    for role in ("coordinator", "responder", "editor"):
        quiet_cpu_percent()
        email = ACCOUNTS[role]
        client = Client()
        client.force_login(User.objects.get(email=email))

        def page(client: Client = client) -> None:
            response = client.get(QUEUE_PATH)
            if response.status_code != 200:
                raise SystemExit(f"in-process GET {QUEUE_PATH} answered {response.status_code}")

        def read(name: str, email: str = email) -> Callable[[], Any]:
            def reader() -> Any:
                user = User.objects.get(email=email)
                if name == "queue":
                    return selectors.queue(user, selectors.QueueFilters(), related=False)
                if name == "open_counts":
                    return selectors.open_counts(user)
                if name == "colleagues_in_scope":
                    return list(staff_selectors.colleagues_in_scope(user))
                return staff_selectors.theme_names()

            return reader

        calls = {"page (test client)": page}
        calls.update({name: read(name) for name in ("queue", "open_counts", "colleagues_in_scope", "themes")})
        for name, call in calls.items():
            r = time_calls(call, runs, clear_cache=False)
            statements = r.pop("last_statements")
            r["p50_ms"], r["p95_ms"], r["max_ms"] = 1000 * r["p50_s"], 1000 * r["p95_s"], 1000 * r["max_s"]
            r["rps"] = r["per_s"]
            r["slowest"] = [{"ms": 1000 * t, "sql": sql} for sql, _p, t in sorted(statements, key=lambda s: -s[2])[:3]]
            if name != "page (test client)" and (args.explain or r["p95_ms"] > TARGET_QUEUE_P95_MS / 5):
                sql, params, _t = max(statements, key=lambda s: s[2])
                r["explain"] = {"sql": sql, "plan": explain(sql, params)}
            out[f"{name} ({role})"] = r
    return out


def check_page(server: Server, path: str, cookie: str) -> int:
    status, body, location = fetch(server.base + path, cookie)
    if status != 200:
        raise SystemExit(f"GET {path} answered {status} {location}:\n{body[:3000].decode(errors='replace')}")
    return len(body)


def run_queue_http(args: argparse.Namespace, db: Database, cookies: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    targets = [(role, "yulan", QUEUE_PATH, cookies[role]) for role in ("coordinator", "editor")]
    if not args.no_baseline:
        targets.append(("bare Django", "bare", "/", ""))
    for label, app, path, cookie in targets:
        if app == "bare":
            server = gunicorn(
                "bare_app:application", workers=args.workers, env=bare_env(), chdir=BENCH_DIR, name="bare-get"
            )
        else:
            server = gunicorn(
                "yulan.wsgi:application", workers=args.workers, env=app_env(args, db), chdir=ROOT, name=f"queue-{label}"
            )
        with server as s:
            size = check_page(s, path, cookie)
            request = http_request("GET", path, s.port, cookie=cookie)
            # Warm every worker: imports, connections, templates.
            run_client(s.port, lambda _i, r=request: r, connections=args.connections, count=20 * args.workers)
            wait_idle(s.port)
            print(f"  {label}: {size:,} bytes; {args.queue_requests} requests one at a time", flush=True)
            busy = quiet_cpu_percent()
            with CpuMeter(s.proc.pid, db) as meter:
                single = run_client(s.port, lambda _i, r=request: r, connections=1, count=args.queue_requests)
            one = summarize(single, (200,)) | meter.figures()
            print(f"  {label}: wrk {args.duration} s, {args.connections} connections", flush=True)
            if args.warmup:
                run_wrk(s.base + path, seconds=args.warmup, threads=args.wrk_threads, connections=args.connections,
                        cookie=cookie)  # fmt: skip
                wait_idle(s.port)
            with CpuMeter(s.proc.pid, db) as meter:
                loaded = run_wrk(
                    s.base + path,
                    seconds=args.duration,
                    threads=args.wrk_threads,
                    connections=args.connections,
                    cookie=cookie,
                )
            loaded.update(meter.figures())
            loaded["drain_s"] = wait_idle(s.port)
            out[label] = {"bytes": size, "busy_before_percent": busy, "single": one, "wrk": loaded}
    return out


# --- profiling ----------------------------------------------------------------------------------


def print_profile(paths: list[Path], title: str) -> None:
    if not paths:
        print("  no profile was written")
        return
    stats = pstats.Stats(str(paths[0]))
    for p in paths[1:]:
        stats.add(str(p))
    print(f"\n{title}, by own time:")
    stats.sort_stats("tottime").print_stats(20)
    print(f"{title}, by cumulative time:")
    stats.sort_stats("cumulative").print_stats(40)


def profile_queue(args: argparse.Namespace, db: Database, cookie: str, role: str) -> None:
    prefix = OUT_DIR / f"voice-queue-{role}.prof"
    for old in OUT_DIR.glob(f"voice-queue-{role}.prof.*"):
        old.unlink()
    with gunicorn(
        "yulan.wsgi:application", workers=1, env=app_env(args, db), chdir=ROOT, name="queue-profile", profile=prefix
    ) as s:
        request = http_request("GET", QUEUE_PATH, s.port, cookie=cookie)
        r = summarize(run_client(s.port, lambda _i: request, connections=1, count=args.queue_requests), (200,))
        print(f"  {role}: {r['requests']} requests under the profiler, p50 {r['p50_ms']:.1f} ms")
    print_profile(sorted(OUT_DIR.glob(f"voice-queue-{role}.prof.*")), f"profile of the queue page ({role})")


# --- report -------------------------------------------------------------------------------------


def cpu_model() -> str:
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def project_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "yulan"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return (
        head.stdout.strip() + (" (with changes)" if dirty.stdout.strip() else "") if head.returncode == 0 else "unknown"
    )


@dataclass
class Summary:
    rows: list[tuple[str, str, str, str, str, str, str, str]] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def add(self, label: str, r: dict[str, Any], unit: str = "ms", baseline: str = "", target: str = "") -> None:
        if unit == "s":
            p50, p95, mx = (f"{r[k]:.2f} s" for k in ("p50_s", "p95_s", "max_s"))
            rate = f"{r['per_s']:.2f}/s"
        else:
            p50, p95, mx = (f"{r[k]:.1f}" for k in ("p50_ms", "p95_ms", "max_ms"))
            rate = f"{r['rps']:,.1f}/s"
        self.rows.append((label, p50, p95, mx, rate, baseline, target, ""))

    def check(self, label: str, passed: bool, *, mark: bool = True) -> None:
        """A target; `mark`: its verdict goes on the last row of the table too."""
        self.checks.append((label, passed))
        if mark and self.rows:
            row = self.rows[-1]
            self.rows[-1] = (*row[:7], "met" if passed else "MISSED")

    def print(self) -> None:
        fmt = "{:<44}{:>10}{:>10}{:>10}{:>12}{:>12}{:>12}{:>8}"
        print(fmt.format("", "p50 ms", "p95 ms", "max ms", "rate", "baseline", "target", ""))
        for row in self.rows:
            print(fmt.format(*row))


def report_submit(res: dict[str, Any], bare: dict[str, Any] | None, summary: Summary) -> None:
    r = res["submit"]
    v = res["verify"]
    print()
    print(f"  statuses {r['statuses']}; connections opened {r['connections_opened']}; drain {res['drain_s']:.1f} s")
    print(f"  first answer: {res['sample_answer']}")
    print(f"  CPU seconds ({r['seconds']:.1f} s): {fmt_cpu(r)}")
    print(f"  CPU a submission: {cpu_per_request(r)}")
    client_share = r["client_cpu_s"] / max(r["seconds"], 1e-9)
    print(f"  the load client used {100 * client_share:.0f} % of one core ({r['client_cpu_s']:.2f} s CPU)")
    if bare:
        print(f"  bare Django POST /echo: {bare['rps']:,.1f}/s; CPU seconds: {fmt_cpu(bare)}")
        print(f"  CPU a bare POST: {cpu_per_request(bare)}")
        print(f"  bare client used {100 * bare['client_cpu_s'] / max(bare['seconds'], 1e-9):.0f} % of one core")
    if res["busy_before_percent"] > 10:
        print(f"  warning: other processes kept the CPUs {res['busy_before_percent']:.0f} % busy just before")
    print(
        f"  database: {v['new_items']} new items for {v['ok_answers']} answers 200/201; {v['distinct_ids']} distinct "
        f"ids in the answers, {v['ids_found']} of them stored; warm-up {v['warmup_ok']}/{v['warmup_requests']} ok"
    )
    baseline = f"{bare['rps']:,.0f}/s" if bare else ""
    summary.add("Open311 POST (submissions)", r, baseline=baseline, target=f"≥ {TARGET_SUBMISSIONS_PER_S:.0f}/s")
    summary.check(
        f"submissions {r['rps']:.1f}/s (target ≥ {TARGET_SUBMISSIONS_PER_S:.0f}/s)",
        r["rps"] >= TARGET_SUBMISSIONS_PER_S,
    )
    summary.check(
        f"new items == 200/201 answers ({v['new_items']} == {v['ok_answers']}), no errors ({r['errors']})",
        v["passed"],
        mark=False,
    )
    if bare:
        summary.add("  bare Django POST /echo", bare)
        res["ratio"] = r["rps"] / bare["rps"]
        print(f"  ratio submissions/s ÷ bare Django POST/s: {res['ratio']:.3f}")


def report_reports(res: dict[str, Any], summary: Summary) -> None:
    print(f"\n  period {res['start']} – {res['end']}")
    for label, r in res.items():
        if not isinstance(r, dict):
            continue
        print(
            f"  {label}: p50 {r['p50_s']:.2f} s, p95 {r['p95_s']:.2f} s, max {r['max_s']:.2f} s; "
            f"CPU {r['cpu_mean_s']:.2f} s, statements {r['statements']:.0f} taking {r['db_mean_s']:.2f} s"
        )
        for s in r["slowest"]:
            print(f"    {s['ms']:9.1f} ms  {s['sql'][:150]}")
        if "explain" in r:
            print("  EXPLAIN ANALYZE of the slowest statement:")
            print("    " + r["explain"]["sql"][:2000])
            print("\n".join("    " + line for line in r["explain"]["plan"].splitlines()))
        summary.add(f"report {label}, 365 days", r, unit="s", target=f"p95 ≤ {TARGET_REPORT_P95_S:.0f} s")
        summary.check(f"report {label}: p95 {r['p95_s']:.2f} s (target ≤ {TARGET_REPORT_P95_S:.0f} s)",
                      r["p95_s"] <= TARGET_REPORT_P95_S)  # fmt: skip


def report_queue(inproc: dict[str, Any], http: dict[str, Any], summary: Summary) -> None:
    print()
    for label, r in inproc.items():
        print(
            f"  in-process {label}: p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms; "
            f"CPU {1000 * r['cpu_mean_s']:.1f} ms, {r['statements']:.0f} statements "
            f"taking {1000 * r['db_mean_s']:.1f} ms"
            + (
                f"; templates {1000 * r['render_mean_s']:.1f} ms ({1000 * r['render_cpu_mean_s']:.1f} ms CPU)"
                if r["render_mean_s"]
                else ""
            )
        )
        if "explain" in r:
            print("    " + r["explain"]["sql"][:1500])
            print("\n".join("      " + line for line in r["explain"]["plan"].splitlines()))
    bare = http.get("bare Django")
    for label, r in http.items():
        one, loaded = r["single"], r["wrk"]
        print(
            f"  {label}: {r['bytes']:,} bytes; one at a time {one['rps']:.1f}/s, CPU: {cpu_per_request(one)}; "
            f"wrk {loaded['rps']:.1f}/s, CPU: {cpu_per_request(loaded)}; drain {loaded['drain_s']:.1f} s"
        )
        print(f"    CPU seconds under wrk: {fmt_cpu(loaded)}")
        if r["busy_before_percent"] > 10:
            print(f"    warning: other processes kept the CPUs {r['busy_before_percent']:.0f} % busy just before")
    for label, r in http.items():
        one, loaded = r["single"], r["wrk"]
        is_bare = label == "bare Django"
        b1 = "" if is_bare or not bare else f"{bare['single']['p95_ms']:.1f} ms"
        bw = "" if is_bare or not bare else f"{bare['wrk']['rps']:,.0f}/s"
        target = "" if is_bare else f"p95 ≤ {TARGET_QUEUE_P95_MS:.0f} ms"
        summary.add(f"queue page {label}, 1 connection", one, baseline=b1, target=target)
        if not is_bare:
            summary.check(f"queue page ({label}), one at a time: p95 {one['p95_ms']:.1f} ms (target ≤ "
                          f"{TARGET_QUEUE_P95_MS:.0f} ms)", one["p95_ms"] <= TARGET_QUEUE_P95_MS)  # fmt: skip
        summary.add(f"queue page {label}, wrk -c{int(loaded.get('connections', 0)) or ''}", loaded, baseline=bw,
                    target=target)  # fmt: skip
        if not is_bare:
            summary.check(
                f"queue page ({label}), wrk: p95 {loaded['p95_ms']:.1f} ms (target ≤ {TARGET_QUEUE_P95_MS:.0f} ms)",
                loaded["p95_ms"] <= TARGET_QUEUE_P95_MS and loaded["errors"] == 0,
            )
    for label, r in inproc.items():
        if label.startswith(("page", "queue")):
            summary.add(f"in-process {label}", r)


def missing_pieces(parts: list[str]) -> list[str]:
    need = {
        "submit": [("yulan/voice/open311.py", None)],
        "report": [("yulan/voice/reports.py", None)],
        "queue": [("yulan/voice/views_staff.py", "Placeholder")],
    }
    missing = []
    for part in parts:
        for path, placeholder in need[part]:
            file = ROOT / path
            if not file.exists() or (placeholder and placeholder in file.read_text()[:200]):
                missing.append(f"{part}: {path}")
    return missing


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    db = bench_database(args.database)
    QUIET["wait_s"] = args.quiet_wait
    if args.redis_url and urllib.parse.urlsplit(args.redis_url).hostname != LOOPBACK:
        raise SystemExit(f"--redis-url must point to {LOOPBACK}")
    if "queue" in args.parts and not args.seed_only and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    if importlib.util.find_spec("psycopg") is None:
        raise SystemExit("psycopg is not installed in this environment")
    OUT_DIR.mkdir(exist_ok=True)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; python {platform.python_version()}")
    print(f"database: {db.name}; load average: {load_average()}")

    if not args.reuse:
        reset_database(db)
    django_setup(db)
    from django.core.management import call_command
    from django.db import connection, connections

    seeded: dict[str, Any] = {}
    if args.reuse:
        call_command("migrate", interactive=False, verbosity=0)
        have = seeded_items()
        if have is None:
            raise SystemExit("the bench database was not seeded (or not to the end): run without --reuse")
        if have != args.items:
            print(f"note: the bench database holds the seed of {have:,} items (--items {args.items:,} ignored)")
    else:
        print(f"seeding {args.items:,} items over {YEARS} years …", flush=True)
        seeded = seed(args.items)
        print(
            f"seeded in {seeded['total_s']:.1f} s: migrate {seeded['migrate_s']:.1f}, setup {seeded['setup_s']:.1f}, "
            f"{seeded['items']:,} items {seeded['items_s']:.1f}, {seeded['spans']:,} status spans "
            f"{seeded['spans_s']:.1f}, {seeded['item_tags']:,} item themes {seeded['tags_s']:.1f}, indexes "
            f"{seeded['indexes_s']:.1f}, VACUUM ANALYZE {seeded['analyze_s']:.1f}"
        )
    contents = describe_seed()
    print(
        f"bench database: {contents['items']:,} items {contents['first']} – {contents['last']}, "
        f"{contents['last_365_days']:,} in the last 365 days, {contents['open']:,} open, "
        f"{contents['public']:,} public, {contents['located']:,} located; {contents['spans']:,} status spans; "
        f"{contents['item_tags']:,} themes on "
        f"{contents['tagged_items']:,} items; the coordinator's community {contents['coordinator_scope']:,} items; "
        f"items {contents['size_items']}, spans {contents['size_spans']}, database {contents['size_database']}"
    )
    print(f"  by status: {contents['by_status']}")
    print(f"  by language: {contents['by_language']}")
    if args.seed_only:
        return 0

    missing = missing_pieces(args.parts)
    if missing:
        raise SystemExit("not written yet: " + "; ".join(missing))

    commit = project_commit()
    print(f"project: {commit}; gunicorn {args.workers} sync workers; cache: {args.redis_url or 'worker memory'}")
    summary = Summary()
    record: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "command": " ".join([".venv/bin/python", "bench/voice_bench.py", *sys.argv[1:]]),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "args": vars(args),
        "seed": seeded,
        "contents": contents,
    }
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        record["postgres"] = cursor.fetchone()[0]

    if "submit" in args.parts:
        print(f"\nsubmissions: Open311 POST through gunicorn, {args.connections} clients", flush=True)
        bare = None
        if not args.no_baseline:
            print("  bare Django POST /echo", flush=True)
            bare = run_bare_post(args, db)
        res = run_submit(args, db)
        record["submit"] = res
        record["bare_post"] = bare
        report_submit(res, bare, summary)
        if args.profile:
            print("\nprofile: Open311 POSTs against one sync worker under cProfile (60 s)", flush=True)
            prefix = OUT_DIR / "voice-submit.prof"
            for old in OUT_DIR.glob("voice-submit.prof.*"):
                old.unlink()
            prof = run_submit(args, db, profile=prefix)
            r = prof["submit"]
            print(f"  {r['rps']:.1f}/s under the profiler, p95 {r['p95_ms']:.1f} ms; CPU s: {fmt_cpu(r)}")
            print_profile(sorted(OUT_DIR.glob("voice-submit.prof.*")), "profile of the submissions")
            print("\nin this process, one submission after another (no concurrency, no profiler):")
            timing = inprocess_submit()
            record["submit_inprocess"] = timing
            for t in timing["runs"]:
                print(
                    f"  {t['label']}: wall p50 {t['wall_p50_ms']:.2f} ms, p95 {t['wall_p95_ms']:.2f} ms; CPU "
                    f"{t['cpu_mean_ms']:.2f} ms; {t['statements']:.1f} statements ({t['db_wait_mean_ms']:.2f} ms)"
                )
                for line in t["last"]:
                    print(f"    {line}")
            steps = inprocess_steps()
            record["submit_steps"] = steps
            print("  single steps (CPU a call, wall p50):")
            for step in steps:
                print(f"    {step['step']:<48} {step['cpu_mean_ms']:6.2f} ms CPU  {step['wall_p50_ms']:6.2f} ms")
            reset_submissions()
        connections.close_all()

    if "report" in args.parts:
        print("\nreports: reports.compute() in this process", flush=True)
        res = run_reports(args)
        record["report"] = res
        report_reports(res, summary)
        connections.close_all()

    if "queue" in args.parts:
        print("\ntriage queue: selectors in this process, then GET through gunicorn", flush=True)
        inproc = run_queue_inprocess(args)
        cookies = {role: sign_in(email) for role, email in ACCOUNTS.items()}
        connections.close_all()
        http = run_queue_http(args, db, cookies)
        for r in http.values():
            r["wrk"]["connections"] = args.connections
        record["queue"] = {"inprocess": inproc, "http": http}
        report_queue(inproc, http, summary)
        if args.profile:
            for role in ("coordinator", "editor"):
                profile_queue(args, db, cookies[role], role)

    print("\nsummary (submissions: rate = answers a second; reports: runs a second)")
    summary.print()
    print()
    for label, passed in summary.checks:
        print(f"{'met   ' if passed else 'MISSED'}  {label}")
    if project_commit() != commit:
        print(f"warning: the project changed during the run ({commit} → {project_commit()})")
    print(f"load average at the end: {load_average()}")
    record["checks"] = summary.checks
    record["passed"] = all(p for _, p in summary.checks)
    out = OUT_DIR / "voice-results.json"
    out.write_text(json.dumps(record, indent=2, default=str))
    print(f"\n{'all targets met' if record['passed'] else 'some targets missed'}; figures in {out.relative_to(ROOT)}")
    return 0 if record["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
