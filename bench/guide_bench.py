"""Load benchmark of the guide and directory: near-me, search, the article page, and bare Django.

Seeds a separate database (never the developer's) with places and guide articles in all eight
languages, serves the site with gunicorn on 127.0.0.1, loads each endpoint with wrk and prints
latency percentiles and throughput against the targets.

    .venv/bin/python bench/guide_bench.py [--database sqlite|postgres] [--places N] [--articles N]
                                          [--duration S] [--warmup S] [--workers N]

See bench/README.md.
"""

import argparse
import datetime
import importlib
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
VENV_BIN = Path(sys.executable).parent
SQLITE_FILE = OUT_DIR / "guide_bench.sqlite3"
LOOPBACK = "127.0.0.1"
PG_ADMIN_URL = f"postgresql://postgres@{LOOPBACK}:5432/postgres"
PG_BENCH_DB = "yulan_bench"
PG_BENCH_URL = f"postgresql://postgres@{LOOPBACK}:5432/{PG_BENCH_DB}"

# The seeded area: about 60 x 60 km around the city centre.
CENTRE_LAT, CENTRE_LNG = 31.2, 121.45
HALF_SIDE_KM = 30.0
DLAT = HALF_SIDE_KM / 111.195
DLNG = HALF_SIDE_KM / (111.195 * math.cos(math.radians(CENTRE_LAT)))

TARGET_P95_MS = 30.0
TARGET_RATIO = 0.5

BATCH = 2000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--places", type=int, default=100_000)
    p.add_argument("--articles", type=int, default=20_000)
    p.add_argument("--duration", type=int, default=15, help="seconds of load per endpoint")
    p.add_argument("--warmup", type=int, default=3, help="seconds of load before each measurement")
    p.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--connections", type=int, default=16, help="wrk connections")
    p.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/14",
        help="the site's shared cache (a database of its own, emptied before each server starts); "
        "empty: each worker's local memory",
    )
    p.add_argument(
        "--single-duration",
        type=int,
        default=10,
        help="seconds of near-me and search with one connection, for latency without queueing (0: skip)",
    )
    p.add_argument(
        "--index",
        choices=["bulk", "reindex"],
        default="bulk",
        help="build search documents with the services' text code and bulk inserts (bulk), "
        "or with services.search_reindex_all() (reindex)",
    )
    p.add_argument(
        "--article-slugs", type=int, default=3000, help="distinct articles the article page load cycles through"
    )
    p.add_argument("--reuse", action="store_true", help="keep the bench database from the last run, no seeding")
    p.add_argument("--only", nargs="+", choices=["near", "search", "article", "bare"], help="endpoints to load")
    return p.parse_args()


# --- database -----------------------------------------------------------------------------------


def database_env(database: str) -> dict[str, str]:
    """The variables that point the app at the bench database, set before Django loads."""
    if database == "postgres":
        return {"DATABASE_URL": PG_BENCH_URL, "SQLITE_PATH": ""}
    return {"DATABASE_URL": "", "SQLITE_PATH": str(SQLITE_FILE)}


def reset_database(database: str) -> None:
    if database == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    else:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)


def django_setup(database: str) -> None:
    os.environ.update(database_env(database))
    os.environ["DJANGO_SETTINGS_MODULE"] = "yulan.settings"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- seeding ------------------------------------------------------------------------------------

HOURS_PATTERNS = [
    # (weekdays, [(opens, closes), ...])
    (range(5), [("09:00", "17:00")]),
    (range(5), [("08:30", "11:30"), ("13:30", "17:00")]),
    (range(7), [("10:00", "21:00")]),
    (range(1, 7), [("09:00", "20:30")]),
    (range(7), [("08:00", "12:00"), ("13:00", "20:00")]),
    (range(6), [("09:00", "17:30")]),
]


def random_point(rng: random.Random, clusters: list[tuple[float, float]]) -> tuple[float, float]:
    """Seven in ten spread evenly over the area, the rest gathered around town centres."""
    if rng.random() < 0.7:
        return CENTRE_LAT + rng.uniform(-DLAT, DLAT), CENTRE_LNG + rng.uniform(-DLNG, DLNG)
    lat, lng = rng.choice(clusters)
    sigma_km = 1.5
    return (
        min(CENTRE_LAT + DLAT, max(CENTRE_LAT - DLAT, rng.gauss(lat, sigma_km / 111.195))),
        min(CENTRE_LNG + DLNG, max(CENTRE_LNG - DLNG, rng.gauss(lng, sigma_km / 95.1))),
    )


def seed(args: argparse.Namespace) -> dict[str, Any]:
    import corpus as text
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from yulan.core.models import Community, District
    from yulan.guide.models import (
        Article,
        Category,
        OpeningHours,
        Place,
        PlaceLanguage,
        PlaceService,
        ScheduleException,
    )

    timings: dict[str, float] = {}
    gen = text.Corpus()
    rng = gen.rng
    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    timings["migrate_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        districts = District.objects.bulk_create(
            District(slug=slug, name={"en": latin, "zh-hans": hanzi}) for slug, latin, hanzi in text.DISTRICTS
        )
        clusters = [
            (CENTRE_LAT + rng.uniform(-DLAT, DLAT) * 0.8, CENTRE_LNG + rng.uniform(-DLNG, DLNG) * 0.8)
            for _ in range(24)
        ]
        communities = Community.objects.bulk_create(
            Community(
                slug=f"community-{i:02d}",
                name={"en": f"{n.pinyin} Sub-district", "zh-hans": f"{n.hanzi}街道"},
                district=districts[i % len(districts)],
                estimated_foreign_population=rng.randint(500, 30_000),
                latitude=lat,
                longitude=lng,
            )
            for i, ((lat, lng), n) in enumerate((c, gen.proper_name()) for c in clusters)
        )
        categories = Category.objects.bulk_create(
            Category(slug=slug, name=names, position=i) for i, (slug, names) in enumerate(text.categories())
        )

        slugs: list[str] = []
        batch = []
        for i in range(args.articles):
            title, summary, body, stem = gen.article()
            slug = f"{re.sub(r'[^a-z0-9]+', '-', stem.lower()).strip('-')}-{i + 1}"
            published = now - datetime.timedelta(days=rng.randint(1, 720))
            batch.append(
                Article(
                    slug=slug,
                    category=categories[i % len(categories)],
                    community=rng.choice(communities) if rng.random() < 0.3 else None,
                    title=title,
                    summary=summary,
                    body=body,
                    source_language=rng.choice(("en", "en", "zh-hans", "ja", "ko", "fr", "de", "es", "ru")),
                    state=Article.State.PUBLISHED,
                    published_at=published,
                    last_reviewed_at=published + datetime.timedelta(days=rng.randint(0, 300)),
                    created_at=published,
                    updated_at=published,
                )
            )
            slugs.append(slug)
            if len(batch) >= BATCH:
                Article.objects.bulk_create(batch)
                batch = []
        Article.objects.bulk_create(batch)
        timings["articles_s"] = time.perf_counter() - t1

        t2 = time.perf_counter()
        kinds = list(text.PLACE_KINDS)
        weights = [text.PLACE_KINDS[k][0] for k in kinds]
        n_hours = n_services = n_languages = 0
        today = now.date()
        for start in range(0, args.places, BATCH):
            places = []
            for i in range(start, min(start + BATCH, args.places)):
                kind = rng.choices(kinds, weights=weights)[0]
                name = gen.proper_name()
                lat, lng = random_point(rng, clusters)
                texts = gen.place_texts(kind, name, gen.proper_name(), rng.choice(text.DISTRICTS), rng.randint(1, 2999))
                places.append(
                    Place(
                        slug=f"{kind.replace('_', '-')}-{name.pinyin.lower()}-{i + 1}",
                        kind=kind,
                        name=texts["name"],
                        address=texts["address"],
                        description=texts["description"],
                        community=rng.choice(communities),
                        latitude=lat,
                        longitude=lng,
                        phone=f"+86 21 {rng.randint(5000_0000, 6999_9999)}",
                        wheelchair_accessible=rng.random() < 0.4,
                        source_language=rng.choice(("zh-hans", "zh-hans", "en")),
                    )
                )
            Place.objects.bulk_create(places)
            languages, services, hours, exceptions = [], [], [], []
            for place in places:
                spoken = ["zh"] + rng.sample(text.SPOKEN[1:], rng.randint(0, 2))
                languages.extend(PlaceLanguage(place=place, code=code) for code in spoken)
                services.extend(PlaceService(place=place, name=gen.service_name()) for _ in range(rng.randint(1, 2)))
                days, intervals = rng.choice(HOURS_PATTERNS)
                for day in days:
                    for opens, closes in intervals:
                        hours.append(
                            OpeningHours(
                                place=place,
                                weekday=day,
                                opens=datetime.time.fromisoformat(opens),
                                closes=datetime.time.fromisoformat(closes),
                            )
                        )
                if rng.random() < 0.05:
                    exceptions.append(
                        ScheduleException(place=place, date=today + datetime.timedelta(days=rng.randint(-3, 30)))
                    )
            PlaceLanguage.objects.bulk_create(languages, batch_size=BATCH)
            PlaceService.objects.bulk_create(services, batch_size=BATCH)
            OpeningHours.objects.bulk_create(hours, batch_size=BATCH)
            ScheduleException.objects.bulk_create(exceptions)
            n_hours += len(hours)
            n_services += len(services)
            n_languages += len(languages)
        timings["places_s"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    documents = build_search_index(args.index)
    timings["search_index_s"] = time.perf_counter() - t3

    t4 = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    timings["vacuum_s"] = time.perf_counter() - t4
    timings["total_s"] = time.perf_counter() - t0
    return {
        "timings": timings,
        "counts": {
            "places": args.places,
            "articles": args.articles,
            "opening_hours": n_hours,
            "services": n_services,
            "spoken_languages": n_languages,
            "search_documents": documents,
        },
    }


def build_search_index(mode: str) -> int:
    """Search documents for every article and place, from the project's own indexing code."""
    from unittest import mock

    from django.db import connection, transaction

    from yulan.guide import search, services
    from yulan.guide.models import Article, Place, SearchDocument

    if mode == "reindex":
        with transaction.atomic():
            services.search_reindex_all()
        return SearchDocument.objects.count()

    # The services assemble each object's texts exactly as on every save, and search.document
    # makes each row as search.document_replace does; the rows are inserted in batches (the
    # database is fresh, so there is nothing to delete first).
    pending: list[SearchDocument] = []
    total = 0

    def collect(*, kind: str, object_id: int, texts: dict[str, tuple[str, str]]) -> None:
        pending.extend(
            search.document(kind=kind, object_id=object_id, language=lang, title=title, body=body)
            for lang, (title, body) in texts.items()
            if title or body
        )

    def flush(force: bool = False) -> None:
        nonlocal pending, total
        if pending and (force or len(pending) >= 4 * BATCH):
            SearchDocument.objects.bulk_create(pending, batch_size=BATCH)
            total += len(pending)
            pending = []

    with transaction.atomic(), mock.patch.object(search, "document_replace", collect):
        postgres = connection.vendor == "postgresql"
        if postgres:
            # One index build after the load is several times faster than growing the GIN index
            # row by row; the statements are the migration's own.
            migration = importlib.import_module("yulan.guide.migrations.0002_search_index")
            with connection.cursor() as cursor:
                for statement in migration.POSTGRES_BACKWARD:
                    cursor.execute(statement)
        for article in Article.objects.all().iterator(chunk_size=BATCH):
            services._index_article(article)
            flush()
        for place in Place.objects.prefetch_related("services").iterator(chunk_size=BATCH):
            services._index_place(place)
            flush()
        flush(force=True)
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
                for statement in migration.POSTGRES_FORWARD:
                    cursor.execute(statement)
    return total


# --- requests -----------------------------------------------------------------------------------


def request_paths(seed_slugs: list[str], article_slugs: int) -> dict[str, list[str]]:
    import corpus as text

    rng = random.Random(7)
    near = []
    for i in range(900):
        lat = CENTRE_LAT + rng.uniform(-DLAT, DLAT)
        lng = CENTRE_LNG + rng.uniform(-DLNG, DLNG)
        near.append(f"/api/v1/places/near?lat={lat:.6f}&lng={lng:.6f}&minutes={(5, 10, 15)[i % 3]}")
    terms = text.Corpus(seed=11).search_terms()
    search = [f"/api/v1/search?q={urllib.parse.quote(term)}" for term in terms]
    slugs = rng.sample(seed_slugs, min(article_slugs, len(seed_slugs)))
    article = [f"/{text.LANGS[i % len(text.LANGS)]}/guide/article/{slug}/" for i, slug in enumerate(slugs)]
    return {"near": near, "search": search, "article": article, "bare": ["/"]}


LUA = """-- Generated by bench/guide_bench.py: each request takes the next path from the list.
local paths = {%(paths)s}
local n = #paths
local counter = 0
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  counter = (tid or 0) * 7919
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% n) + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%%d seconds=%%.3f rps=%%.1f p50_ms=%%.2f p95_ms=%%.2f p99_ms=%%.2f " ..
    "max_ms=%%.2f err_connect=%%d err_read=%%d err_write=%%d err_status=%%d err_timeout=%%d\\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def write_lua(name: str, paths: list[str]) -> Path:
    path = OUT_DIR / f"{name}.lua"
    # Paths are ASCII (percent-encoded); a JSON string is a valid Lua string literal.
    path.write_text(LUA % {"paths": ",\n".join(json.dumps(p) for p in paths)})
    return path


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


@contextmanager
def gunicorn(app: str, *, workers: int, env: dict[str, str], chdir: Path, name: str) -> Iterator[str]:
    port = free_port()
    log = (OUT_DIR / f"gunicorn-{name}.log").open("w")
    cmd = [
        str(VENV_BIN / "gunicorn"),
        app,
        "--chdir", str(chdir),
        "--bind", f"{LOOPBACK}:{port}",
        "--workers", str(workers),
        "--worker-class", "sync",
        "--timeout", "60",
        "--log-level", "error",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.flush()
                raise SystemExit(f"gunicorn ({name}) exited with {proc.returncode}:\n" + log_tail(log.name))
            try:
                with socket.create_connection((LOOPBACK, port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn ({name}) did not start:\n" + log_tail(log.name)) from None
                time.sleep(0.2)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        stop_group(proc)
        log.close()


def wait_idle(base: str, timeout: float = 180) -> float:
    """Wait until the server has no connection left open: requests still queued or running when
    wrk stopped would otherwise run on into the next measurement. Returns the seconds waited."""
    port = int(base.rsplit(":", 1)[1])
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


def log_tail(path: str, lines: int = 40) -> str:
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def app_env(database: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(database_env(database))
    env.pop("REDIS_URL", None)
    if redis_url:
        # The site's shared cache, as a city's servers run it; emptied so every run starts cold.
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        env["REDIS_URL"] = redis_url
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "yulan.settings",
            "DEBUG": "false",
            "ALLOWED_HOSTS": LOOPBACK,
            "STATIC_MANIFEST": "false",
            "LOG_LEVEL": "ERROR",
        }
    )
    return env


def bare_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env["PYTHONPATH"] = str(BENCH_DIR)
    return env


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only: never through a proxy


def check_ok(base: str, paths: list[str], name: str) -> str:
    """The first few requests must answer 200; stop the run otherwise."""
    summary = ""
    for path in paths[:5]:
        url = base + path
        try:
            with OPENER.open(url, timeout=30) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        if status != 200:
            raise SystemExit(f"{name}: GET {path} answered {status}, not 200:\n{body[:2000].decode(errors='replace')}")
        if not summary and name == "near":
            summary = f"{len(json.loads(body))} places around the first point"
        elif not summary and name == "search":
            found = json.loads(body)
            summary = f"{len(found['articles'])} articles, {len(found['places'])} places for the first query"
        elif not summary:
            summary = f"{len(body)} bytes"
    return summary


def run_wrk(base: str, script: Path, *, seconds: int, threads: int, connections: int) -> dict[str, float]:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout", "10s",
        "--latency",
        "-s", str(script),
        base + "/",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=seconds + 60)
    finally:
        stop_group(proc, timeout=5)
    match = re.search(r"^BENCH_RESULT (.*)$", out, re.M)
    if proc.returncode != 0 or not match:
        raise SystemExit(f"wrk failed ({proc.returncode}):\n{out}")
    return {key: float(value) for key, value in (pair.split("=") for pair in match.group(1).split())}


# --- report -------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def errors_of(r: dict[str, float]) -> int:
    return int(sum(v for k, v in r.items() if k.startswith("err_")))


def report(
    results: dict[str, dict[str, float]], single: dict[str, dict[str, float]], background: dict[str, float]
) -> bool:
    labels = {"near": "near-me (API)", "search": "search (API)", "article": "article page", "bare": "bare Django"}

    def table(rows: dict[str, dict[str, float]]) -> None:
        for key, r in rows.items():
            print(
                f"{labels[key]:<16}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['rps']:>9.1f}"
                f"{int(r['requests']):>10}{errors_of(r):>8}{r.get('drain_s', 0):>9.1f}"
            )

    print()
    print(
        f"{'endpoint':<16}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>9}{'requests':>10}{'errors':>8}"
        f"{'drain s':>9}"
    )
    table(results)
    if single:
        print("one connection at a time (no queueing):")
        table(single)
    cut = [labels[k] for k, r in [*results.items(), *single.items()] if r.get("drain_s", 0) > 1]
    if cut:
        print(
            "note: requests were still running when the load stopped, and the server took 'drain s' more to "
            "finish them; wrk counts no unanswered request, so the percentiles of "
            + ", ".join(dict.fromkeys(cut))
            + " are too low"
        )
    busy = {k: v for k, v in background.items() if v > 10}
    if busy:
        print(
            "warning: other processes kept the CPU busy before: " + ", ".join(f"{k} {v:.0f}%" for k, v in busy.items())
        )
    ok = True
    print()
    for key in ("near", "search"):
        if key in results:
            passed = results[key]["p95_ms"] <= TARGET_P95_MS and errors_of(results[key]) == 0
            ok &= passed
            print(
                f"{'PASS' if passed else 'FAIL'}  {labels[key]} p95 {results[key]['p95_ms']:.1f} ms "
                f"(target ≤ {TARGET_P95_MS:.0f} ms)"
            )
    if "article" in results and "bare" in results:
        ratio = results["article"]["rps"] / results["bare"]["rps"]
        passed = ratio >= TARGET_RATIO and errors_of(results["article"]) == 0
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}  article/bare throughput {ratio:.2f} (target ≥ {TARGET_RATIO})")
    return ok


def project_commit() -> str:
    """The commit the site was served from, marked when the project's files differ from it."""
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


def busy_cpu_percent(seconds: float = 1.0) -> float:
    """How busy the CPUs are (all processes) over a short interval, from /proc/stat."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except OSError:
        return 0.0
    return 100.0 * (1 - (idle1 - idle0) / max(1, total1 - total0))


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.redis_url and urllib.parse.urlsplit(args.redis_url).hostname != LOOPBACK:
        raise SystemExit(f"--redis-url must point to {LOOPBACK}")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed")
    OUT_DIR.mkdir(exist_ok=True)
    endpoints = args.only or ["near", "search", "article", "bare"]
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; python {platform.python_version()}")
    print(f"database: {args.database} ({PG_BENCH_URL if args.database == 'postgres' else SQLITE_FILE})")

    if not args.reuse:
        reset_database(args.database)
    django_setup(args.database)
    seeded: dict[str, Any] = {}
    if not args.reuse:
        print(f"seeding {args.places} places and {args.articles} articles ({args.index} search index) …", flush=True)
        seeded = seed(args)
        t = seeded["timings"]
        print(
            f"seeded in {t['total_s']:.1f} s: migrate {t['migrate_s']:.1f}, articles {t['articles_s']:.1f}, "
            f"places {t['places_s']:.1f}, search index {t['search_index_s']:.1f} "
            f"({seeded['counts']['search_documents']} documents), vacuum {t['vacuum_s']:.1f}"
        )
    from django.db import connections

    from yulan.guide.models import Article

    slugs = list(Article.objects.filter(state=Article.State.PUBLISHED).values_list("slug", flat=True))
    if not slugs:
        raise SystemExit("the bench database has no published articles: run without --reuse")
    connections.close_all()
    paths = request_paths(slugs, args.article_slugs)
    scripts = {name: write_lua(name, paths[name]) for name in endpoints}

    results: dict[str, dict[str, float]] = {}
    single: dict[str, dict[str, float]] = {}
    background: dict[str, float] = {}

    commit = project_commit()
    print(f"project: {commit}; cache: {args.redis_url or 'each worker its own memory'}")
    for name in endpoints:
        # A fresh server for each endpoint, so that requests still queued from the last load
        # (slow searches, say) do not run on into the next measurement.
        if name == "bare":
            server = gunicorn("bare_app:application", workers=args.workers, env=bare_env(), chdir=BENCH_DIR, name=name)
        else:
            server = gunicorn(
                "yulan.wsgi:application",
                workers=args.workers,
                env=app_env(args.database, args.redis_url),
                chdir=ROOT,
                name=name,
            )
        with server as base:
            print(f"{name}: {check_ok(base, paths[name], name)}", flush=True)
            background[name] = busy_cpu_percent()
            wrk = {"threads": args.threads, "connections": args.connections}
            if args.warmup:
                run_wrk(base, scripts[name], seconds=args.warmup, **wrk)
                wait_idle(base)
            print(f"  load {args.duration} s, {args.connections} connections", flush=True)
            results[name] = run_wrk(base, scripts[name], seconds=args.duration, **wrk)
            results[name]["drain_s"] = wait_idle(base)
            if results[name]["drain_s"] > 1:
                print(f"  the server took {results[name]['drain_s']:.1f} s more to finish queued requests", flush=True)
            if name in ("near", "search") and args.single_duration:
                print(f"  one connection {args.single_duration} s", flush=True)
                single[name] = run_wrk(base, scripts[name], seconds=args.single_duration, threads=1, connections=1)
                single[name]["drain_s"] = wait_idle(base)

    ok = report(results, single, background)
    if project_commit() != commit:
        print(f"warning: the project changed during the run ({commit} → {project_commit()})")
    record = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "args": vars(args),
        "seed": seeded,
        "results": results,
        "one_connection": single,
        "background_cpu_percent": background,
        "passed": ok,
    }
    out = OUT_DIR / f"results-{args.database}.json"
    out.write_text(json.dumps(record, indent=2))
    print(f"\n{'all targets met' if ok else 'some targets missed'}; figures in {out.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
