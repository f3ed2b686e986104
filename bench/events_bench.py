"""Load benchmark of events: registrations for a popular event, and the event listing.

Seeds a separate database (never the developer's) with accounts, one popular event and 10,000
listed events, serves the site with gunicorn on 127.0.0.1 and measures:

1. registrations: every account, signed in, POSTs the registration form of the popular event
   once, many at a time, through the whole stack (sessions, CSRF, the view, the service, the
   outbox); then the database is checked: places taken == capacity, never more, the rest on the
   waiting list in positions 1..k, nobody twice;
2. the event listing: `GET /en/events/`, a filtered variant and a later page, with wrk.

Each is compared with bare Django (bench/bare_app.py) served the same way in the same run.

    .venv/bin/python bench/events_bench.py [--database postgres|sqlite] [--accounts N] [--capacity N]
                                           [--events N] [--workers N] [--worker-class sync|gthread]

See bench/README.md.
"""

import argparse
import asyncio
import datetime
import json
import os
import platform
import pstats
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
VENV_BIN = Path(sys.executable).parent
SQLITE_FILE = OUT_DIR / "events_bench.sqlite3"
LOOPBACK = "127.0.0.1"
PG_ADMIN_URL = f"postgresql://postgres@{LOOPBACK}:5432/postgres"
PG_BENCH_DB = "yulan_bench_events"
PG_BENCH_URL = f"postgresql://postgres@{LOOPBACK}:5432/{PG_BENCH_DB}"

POPULAR_SLUG = "popular-event"
COMMUNITIES = 24
PLACES = 300
BATCH = 2000
LANGS = ["en", "zh-hans", "ja", "ko", "fr", "de", "es", "ru"]

TARGET_REGISTRATIONS_PER_S = 300.0
TARGET_P95_MS = 30.0

CSRF_CHARS = string.ascii_letters + string.digits
DUMMY_TASKS = "django_tasks.backends.dummy.DummyBackend"


def parse_args() -> argparse.Namespace:
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument("--parts", nargs="+", choices=["register", "listing"], default=["register", "listing"])
    p.add_argument("--accounts", type=int, default=3000, help="signed-in accounts, each registers once")
    p.add_argument("--capacity", type=int, default=1000, help="places of the popular event")
    p.add_argument("--events", type=int, default=10_000, help="events in the listing")
    p.add_argument("--workers", type=int, default=2 * cores + 1, help="gunicorn workers (default 2 × cores + 1)")
    p.add_argument("--worker-class", choices=["sync", "gthread"], default="sync", help="gunicorn worker class")
    p.add_argument("--threads", type=int, default=4, help="threads of each gthread worker")
    p.add_argument("--connections", type=int, default=16, help="requests in flight at once (client and wrk)")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--duration", type=int, default=15, help="seconds of wrk load per listing variant")
    p.add_argument("--warmup", type=int, default=3, help="seconds of wrk load before each listing measurement")
    p.add_argument("--single-duration", type=int, default=10, help="seconds of one-connection listing load (0: skip)")
    p.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/13",
        help="the site's shared cache (a database of its own, emptied before each server starts); "
        "empty: each worker's local memory",
    )
    p.add_argument("--with-worker", action="store_true", help="run one `manage.py worker` during the registrations")
    p.add_argument(
        "--profile",
        action="store_true",
        help="registrations against one sync worker under cProfile, and the service timed in-process",
    )
    p.add_argument(
        "--dummy-tasks",
        action="store_true",
        help="experiment, not the product path: the site enqueues tasks in memory (django_tasks' DummyBackend), "
        "so a registration writes no delivery task row",
    )
    p.add_argument(
        "--page-cache",
        action="store_true",
        help="serve visitors' pages from the site's page cache as in production (event pages live "
        "YULAN_EVENT_PAGE_CACHE_SECONDS); without it the listing is measured as rendered",
    )
    p.add_argument("--no-baseline", action="store_true", help="skip bare Django")
    p.add_argument("--reuse", action="store_true", help="keep the bench database of the last run, no seeding")
    p.add_argument("--seed-only", action="store_true", help="seed and stop")
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
    os.environ["DEBUG"] = "false"
    os.environ["YULAN_EVENT_REGISTER_PER_HOUR"] = "0"
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCH_DIR))
    import django

    django.setup()


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --- seeding ------------------------------------------------------------------------------------


def texts(gen: Any) -> tuple[dict[str, str], dict[str, str]]:
    """An event's title and description: English and Chinese always, other languages for some."""
    import corpus

    langs = ["en", "zh-hans"] + [lang for lang in LANGS[2:] if gen.rng.random() < 0.3]
    title_i = gen.rng.randrange(len(corpus.TITLES["en"]))
    slots = gen.slots()
    plan = gen.sentence_slots(gen.rng.randint(1, 3))
    title = {lang: gen.fill(corpus.TITLES[lang][title_i], slots, lang)[:300] for lang in langs}
    description = {lang: f"<p>{gen.paragraph(plan, lang)}</p>" for lang in langs}
    return title, description


def seed(args: argparse.Namespace) -> dict[str, float]:
    import corpus
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from yulan.core.models import Community, District, Role, RoleGrant, User
    from yulan.events.models import Event
    from yulan.guide.models import Place

    timings: dict[str, float] = {}
    gen = corpus.Corpus(seed=20261205)
    rng = gen.rng
    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    timings["migrate_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        editor = User.objects.create_user("bench-editor@example.org", None, display_name="Bench editor")
        RoleGrant.objects.create(user=editor, role=Role.EDITOR)
        districts = District.objects.bulk_create(
            District(slug=slug, name={"en": latin, "zh-hans": hanzi}) for slug, latin, hanzi in corpus.DISTRICTS
        )
        communities = Community.objects.bulk_create(
            Community(
                slug=f"community-{i:02d}",
                name={"en": f"{n.pinyin} Sub-district", "zh-hans": f"{n.hanzi}街道"},
                district=districts[i % len(districts)],
            )
            for i, n in enumerate(gen.proper_name() for _ in range(COMMUNITIES))
        )
        kinds = list(corpus.PLACE_KINDS)
        places = []
        for i in range(PLACES):
            kind = rng.choice(kinds)
            name = gen.proper_name()
            place_texts = gen.place_texts(
                kind, name, gen.proper_name(), rng.choice(corpus.DISTRICTS), rng.randint(1, 2999)
            )
            places.append(
                Place(
                    slug=f"{kind.replace('_', '-')}-{name.pinyin.lower()}-{i + 1}",
                    kind=kind,
                    name=place_texts["name"],
                    address=place_texts["address"],
                    description=place_texts["description"],
                    community=rng.choice(communities),
                    latitude=31.2 + rng.uniform(-0.25, 0.25),
                    longitude=121.45 + rng.uniform(-0.3, 0.3),
                )
            )
        Place.objects.bulk_create(places)
        timings["places_s"] = time.perf_counter() - t1

        # The popular event: registration open now, a waiting list, one place per registration.
        t2 = time.perf_counter()
        title, description = texts(gen)
        starts = (now + datetime.timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
        Event.objects.create(
            slug=POPULAR_SLUG,
            kind=Event.Kind.CELEBRATION,
            title=title,
            description=description,
            community=communities[0],
            place=places[0],
            starts_at=starts,
            ends_at=starts + datetime.timedelta(hours=3),
            languages=",en,zh-hans,",
            capacity=args.capacity,
            max_party_size=4,
            waitlist_enabled=True,
            status=Event.Status.PUBLISHED,
            created_by=editor,
        )

        # The listing: spread over the coming year; communities, kinds, languages, capacities;
        # some full, some cancelled, a few drafts (not listed).
        batch = []
        event_kinds = Event.Kind.values
        for i in range(args.events):
            title, description = texts(gen)
            starts = now + datetime.timedelta(minutes=30 * rng.randint(2, 2 * 24 * 365))
            capacity = None if rng.random() < 0.2 else rng.choice((12, 20, 24, 30, 40, 50, 80, 100, 200, 500))
            full = capacity is not None and rng.random() < 0.12
            taken = 0 if capacity is None else capacity if full else rng.randint(0, capacity * 9 // 10)
            roll = rng.random()
            status = Event.Status.CANCELLED if roll < 0.03 else Event.Status.DRAFT if roll < 0.05 else "published"
            online = rng.random() < 0.12
            batch.append(
                Event(
                    slug=f"{re.sub(r'[^a-z0-9]+', '-', title['en'].lower()).strip('-')[:90]}-{i + 1}",
                    kind=rng.choice(event_kinds),
                    title=title,
                    description=description,
                    community=None if rng.random() < 0.25 else rng.choice(communities),
                    place=None if online else rng.choice(places),
                    online_url="https://meeting.example.org/e" + str(i) if online else "",
                    starts_at=starts,
                    ends_at=starts + datetime.timedelta(hours=rng.choice((1, 2, 2, 3, 4, 8))),
                    languages="," + ",".join(rng.sample(LANGS, rng.choice((1, 2, 2, 3, 4)))) + ",",
                    capacity=capacity,
                    places_taken=taken,
                    waitlist_enabled=rng.random() < 0.8,
                    max_party_size=rng.choice((1, 2, 4)),
                    status=status,
                    source_language=rng.choice(("en", "en", "zh-hans")),
                    created_by=editor,
                    cancelled_at=now if status == Event.Status.CANCELLED else None,
                )
            )
            if len(batch) >= BATCH:
                Event.objects.bulk_create(batch)
                batch = []
        Event.objects.bulk_create(batch)
        timings["events_s"] = time.perf_counter() - t2

        # Accounts: no password (signing in is done by creating their sessions directly).
        t3 = time.perf_counter()
        for start in range(0, args.accounts, BATCH):
            User.objects.bulk_create(
                User(
                    email=f"registrant{i:06d}@example.org",
                    display_name=f"Registrant {i}",
                    preferred_language=LANGS[i % len(LANGS)],
                    password=make_password(None),
                )
                for i in range(start, min(start + BATCH, args.accounts))
            )
        timings["accounts_s"] = time.perf_counter() - t3

    t4 = time.perf_counter()
    vacuum()
    timings["vacuum_s"] = time.perf_counter() - t4
    timings["total_s"] = time.perf_counter() - t0
    return timings


def reset_registrations(*, sessions: bool = True) -> None:
    """Empty what a registration run leaves: registrations, outbox, task results, sessions."""
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from yulan.core.models import OutgoingMail
    from yulan.events.models import Event, Registration

    tables = [Registration._meta.db_table, OutgoingMail._meta.db_table, DBTaskResult._meta.db_table]
    if sessions:
        tables.append(Session._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (table names from the models)
    Event.objects.filter(slug=POPULAR_SLUG).update(places_taken=0, waitlist_issued=0)


@dataclass
class Account:
    user_id: int
    csrf: str  # the CSRF cookie's secret
    cookie: str  # the Cookie header: session and CSRF secret


def sign_in(accounts: int) -> list[Account]:
    """A signed-in session for each account, made as `django.contrib.auth.login` makes one, and a
    CSRF secret of its own."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import transaction
    from django.utils.module_loading import import_string

    from yulan.core.models import User

    store_class = import_string(settings.SESSION_ENGINE + ".SessionStore")
    backend = settings.AUTHENTICATION_BACKENDS[0]
    users = list(
        User.objects.filter(email__startswith="registrant").order_by("email")[:accounts].only("pk", "password")
    )
    if len(users) < accounts:
        raise SystemExit(f"the bench database has {len(users)} accounts, not {accounts}: seed again (no --reuse)")
    out = []
    with transaction.atomic():
        for user in users:
            store = store_class()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = backend
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            csrf = "".join(secrets.choice(CSRF_CHARS) for _ in range(32))
            cookie = f"{settings.SESSION_COOKIE_NAME}={store.session_key}; {settings.CSRF_COOKIE_NAME}={csrf}"
            out.append(Account(user.pk, csrf, cookie))
    return out


def masked(secret: str) -> str:
    """The CSRF token a page would carry for this cookie secret (Django's masking)."""
    mask = "".join(secrets.choice(CSRF_CHARS) for _ in range(32))
    pairs = zip((CSRF_CHARS.index(x) for x in secret), (CSRF_CHARS.index(y) for y in mask), strict=True)
    return mask + "".join(CSRF_CHARS[(x + y) % len(CSRF_CHARS)] for x, y in pairs)


# --- the load client ----------------------------------------------------------------------------


def http_request(method: str, path: str, port: int, cookie: str = "", body: str = "") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {LOOPBACK}:{port}", "User-Agent: events-bench"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    if method == "POST":
        lines += [
            f"Origin: http://{LOOPBACK}:{port}",
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body.encode())}",
        ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _head(raw: bytes) -> tuple[int, int | None, bool, str]:
    """Status, body length (None: until the connection closes; -1: chunked), whether the server
    closes the connection, and the Location header."""
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
    return code, length, close, headers.get("location", "")


@dataclass
class ClientRun:
    seconds: float
    latencies: list[float]
    statuses: list[int]
    locations: list[str]
    client_cpu_s: float
    connections_opened: int


def run_client(port: int, requests: list[bytes], connections: int, timeout: float = 30.0) -> ClientRun:
    """Send the requests, each once, with `connections` in flight at a time (asyncio, keep-alive
    where the server keeps the connection). Latency counts from before the connection is made
    (when one is needed) to the last byte of the response."""
    n = len(requests)
    latencies = [0.0] * n
    statuses = [0] * n
    locations = [""] * n
    opened = 0
    jobs = iter(range(n))

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, i: int) -> bool:
        writer.write(requests[i])
        code, length, close, location = _head(await reader.readuntil(b"\r\n\r\n"))
        if length is None:  # the body runs to the end of the connection
            await reader.read()
            close = True
        elif length == -1:  # chunked
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the blank line
                pass
        elif length:
            await reader.readexactly(length)
        statuses[i] = code
        locations[i] = location
        return close

    async def connection() -> None:
        nonlocal opened
        reader = writer = None
        for i in jobs:
            t0 = time.perf_counter()
            close = True
            try:
                async with asyncio.timeout(timeout):
                    if writer is None:
                        reader, writer = await asyncio.open_connection(LOOPBACK, port)
                        opened += 1
                    assert reader is not None
                    close = await one(reader, writer, i)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                statuses[i] = -1
            latencies[i] = time.perf_counter() - t0
            if close and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    async def main() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(connections)))
        return time.perf_counter() - t0

    before = time.thread_time()  # this thread only: not the CPU meter's sampling thread
    seconds = asyncio.run(main())
    return ClientRun(seconds, latencies, statuses, locations, time.thread_time() - before, opened)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summarize(run: ClientRun, ok_status: int) -> dict[str, Any]:
    ms = [x * 1000 for x in run.latencies]
    errors = sum(1 for s in run.statuses if s != ok_status)
    return {
        "requests": len(run.statuses),
        "seconds": run.seconds,
        "rps": len(run.statuses) / run.seconds,
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms, default=0.0),
        "errors": errors,
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

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


PROFILE_HOOKS = """# Generated by bench/events_bench.py: profile each worker from fork to exit.
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
def gunicorn(
    app: str, *, args: argparse.Namespace, env: dict[str, str], chdir: Path, name: str, profile: Path | None = None
) -> Iterator[Server]:
    port = free_port()
    log = (OUT_DIR / f"events-gunicorn-{name}.log").open("w")
    workers = 1 if profile else args.workers
    worker_class = "sync" if profile else args.worker_class
    cmd = [
        str(VENV_BIN / "gunicorn"),
        app,
        "--chdir", str(chdir),
        "--bind", f"{LOOPBACK}:{port}",
        "--workers", str(workers),
        "--worker-class", worker_class,
        "--timeout", "60",
        "--log-level", "error",
    ]  # fmt: skip
    if worker_class == "gthread":
        cmd += ["--threads", str(args.threads)]
    if profile:
        hooks = OUT_DIR / "events-gunicorn-profile.py"
        hooks.write_text(PROFILE_HOOKS % {"path": str(profile)})
        cmd += ["--config", str(hooks)]
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
        yield Server(proc, port)
    finally:
        stop_group(proc)
        log.close()
        errors = log_tail(log.name, 20)
        if "Traceback" in errors or "[ERROR]" in errors:
            print(f"  gunicorn ({name}) logged errors, see {log.name}:\n{errors}")


def app_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(database_env(args.database))
    env.pop("REDIS_URL", None)
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        env["REDIS_URL"] = args.redis_url
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "yulan.settings",
            "DEBUG": "false",
            "ALLOWED_HOSTS": LOOPBACK,
            "STATIC_MANIFEST": "false",
            "LOG_LEVEL": "ERROR",
            # All the load comes from one address: no per-address limit.
            "YULAN_EVENT_REGISTER_PER_HOUR": "0",
        }
    )
    if not args.page_cache:
        # The listing is measured as rendered, not from the page cache.
        env["YULAN_PAGE_CACHE_SECONDS"] = "0"
    if args.dummy_tasks:
        env["TASKS_BACKEND"] = DUMMY_TASKS
    return env


def bare_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env["PYTHONPATH"] = str(BENCH_DIR)
    return env


@contextmanager
def task_worker(args: argparse.Namespace) -> Iterator[subprocess.Popen[Any]]:
    """One `manage.py worker` (it delivers the outbox with the console backend into its log)."""
    env = app_env(args)
    env.pop("EMAIL_HOST", None)
    env["PYTHONUNBUFFERED"] = "1"
    log_path = OUT_DIR / "events-worker.log"
    log = log_path.open("w")
    cmd = [sys.executable, "manage.py", "worker", "--interval", "1", "--no-reload", "--no-startup-delay", "-v", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while "Starting worker" not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the task worker did not start:\n{log_tail(log_path)}")
            time.sleep(0.1)
        yield proc
    finally:
        stop_group(proc)
        log.close()


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


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class CpuMeter:
    """CPU seconds of process groups (the server, the task worker) and of the PostgreSQL backends
    of the bench database while a measurement runs; sampled in a thread, because backends come
    and go. PostgreSQL's shared processes (WAL writer, checkpointer) are not counted."""

    def __init__(self, groups: dict[str, int], postgres: bool) -> None:
        self.groups = groups
        self.postgres = postgres
        self._pg: Any = None
        self._members: dict[str, list[int]] = {}
        self.start: dict[str, dict[int, float]] = {}
        self.last: dict[str, dict[int, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _scan_groups(self) -> None:
        """The processes of each group (a walk over /proc: at the start and the end only)."""
        self._members = {name: [] for name in self.groups}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (fields := proc_stat(int(entry.name))) is not None:
                for name, group in self.groups.items():
                    if int(fields[2]) == group:
                        self._members[name].append(int(entry.name))

    def _pids(self) -> dict[str, list[int]]:
        found = dict(self._members)
        if self._pg is not None:
            # Only the backends serving the bench database: the server may have other clients.
            rows = self._pg.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [PG_BENCH_DB]
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
        if self.postgres:
            import psycopg

            self._pg = psycopg.connect(PG_ADMIN_URL, autocommit=True)
        self._scan_groups()
        self.machine0 = machine_busy()
        self.self0 = time.process_time()
        self.sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._scan_groups()
        self.sample()
        self.machine = machine_busy() - self.machine0
        # This process: the load client and the sampling thread.
        self.bench = time.process_time() - self.self0
        if self._pg is not None:
            self._pg.close()

    def seconds(self) -> dict[str, float]:
        return {
            name: sum(self.last[name][pid] - self.start[name][pid] for pid in self.last[name]) for name in self.last
        }

    def figures(self) -> dict[str, Any]:
        return {"cpu_s": self.seconds(), "machine_cpu_s": self.machine, "bench_cpu_s": self.bench}


# --- part 1: registrations ----------------------------------------------------------------------


def register_path() -> str:
    return f"/en/events/{POPULAR_SLUG}/register/"


def check_signed_in(server: Server, account: Account) -> None:
    """The register form of a signed-in account asks for no e-mail address: stop otherwise."""
    request = urllib.request.Request(server.base + register_path(), headers={"Cookie": account.cookie})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as resp:
            status, body = resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode(errors="replace")
    if status != 200 or 'name="email"' in body or 'name="party_size"' not in body:
        raise SystemExit(f"GET {register_path()} as a signed-in account answered {status}:\n{body[:3000]}")


def verify(capacity: int, accounts: list[Account]) -> dict[str, Any]:
    """What the database holds after the registrations."""
    from django.db.models import Count, Max, Min, Sum

    from yulan.core.models import OutgoingMail
    from yulan.events.models import Event, Registration

    event = Event.objects.get(slug=POPULAR_SLUG)
    regs = Registration.objects.filter(event=event)
    by_status = dict(regs.values_list("status").annotate(n=Count("id")).order_by())
    confirmed = regs.filter(status=Registration.Status.CONFIRMED)
    confirmed_places = confirmed.aggregate(s=Sum("party_size"))["s"] or 0
    positions = list(
        regs.filter(status=Registration.Status.WAITLISTED).order_by("position").values_list("position", flat=True)
    )
    waitlisted = len(positions)
    twice = regs.values("user_id").annotate(n=Count("id")).filter(n__gt=1).count()
    twice_email = regs.values("email").annotate(n=Count("id")).filter(n__gt=1).count()
    expected_users = {a.user_id for a in accounts}
    users = set(regs.values_list("user_id", flat=True))
    # Order: places and positions are handed out in the order the row lock is granted, while
    # `decided_at` is stamped before the lock is asked for. Count the waitlisted registrations
    # stamped before the last confirmed one (information, not a target).
    last_confirmed = confirmed.aggregate(m=Max("decided_at"))["m"]
    waiting = regs.filter(status=Registration.Status.WAITLISTED)
    first_waiting = waiting.aggregate(m=Min("decided_at"))["m"]
    stamped_earlier = waiting.filter(decided_at__lt=last_confirmed).count() if last_confirmed else 0
    result = {
        "registrations": regs.count(),
        "by_status": by_status,
        "confirmed_places": confirmed_places,
        "event_places_taken": event.places_taken,
        "waitlisted": waitlisted,
        "event_waitlist_issued": event.waitlist_issued,
        "positions_1_to_k": positions == list(range(1, waitlisted + 1)),
        "accounts_twice": twice,
        "addresses_twice": twice_email,
        "accounts_missing": len(expected_users - users),
        "accounts_unexpected": len(users - expected_users),
        "waitlisted_stamped_before_last_confirmed": stamped_earlier,
        "stamp_overlap_ms": (
            max(0.0, (last_confirmed - first_waiting).total_seconds() * 1000)
            if last_confirmed and first_waiting
            else 0.0
        ),
        "outbox": dict(OutgoingMail.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "task_rows": task_rows(),
    }
    n = len(accounts)
    expect_confirmed = min(capacity, n)
    result["checks"] = {
        f"confirmed places == capacity ({expect_confirmed})": confirmed_places == expect_confirmed
        and event.places_taken == expect_confirmed,
        f"waitlisted == {n - expect_confirmed}, positions 1..k without gaps": waitlisted == n - expect_confirmed
        and result["positions_1_to_k"]
        and event.waitlist_issued == waitlisted,
        f"each of the {n} accounts registered exactly once": twice == 0
        and twice_email == 0
        and result["registrations"] == n
        and not result["accounts_missing"]
        and not result["accounts_unexpected"],
    }
    return result


def task_rows() -> dict[str, int]:
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    return dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")).order_by())


def wait_outbox_drained(timeout: float) -> float | None:
    """With a task worker: seconds until no outbox row waits (None: not within `timeout`)."""
    from yulan.core.models import OutgoingMail

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not OutgoingMail.objects.filter(
            status__in=[OutgoingMail.Status.PENDING, OutgoingMail.Status.SENDING]
        ).exists():
            return time.monotonic() - t0
        time.sleep(0.5)
    return None


def run_registrations(args: argparse.Namespace, *, profile: Path | None = None) -> dict[str, Any]:
    from django.db import connection, connections

    reset_registrations()
    accounts = sign_in(args.accounts)
    vacuum()
    connections.close_all()
    results: dict[str, Any] = {"workers": 1 if profile else args.workers, "loadavg_before": load_average()}
    name = "register-profile" if profile else "register"
    postgres = connection.vendor == "postgresql"
    with gunicorn("yulan.wsgi:application", args=args, env=app_env(args), chdir=ROOT, name=name, profile=profile) as s:
        check_signed_in(s, accounts[0])
        cookies = [a.cookie for a in accounts]
        # The same accounts open the form first: the site's cheapest signed-in page. A first
        # round warms every worker (imports, database connections, templates) unmeasured.
        form = [http_request("GET", register_path(), s.port, cookie) for cookie in cookies]
        run_client(s.port, form[: 20 * results["workers"]], args.connections)
        wait_idle(s.port)
        if not profile:  # the profile is of the registrations alone
            print(f"  register form (GET, signed in): {len(form)} requests", flush=True)
            with CpuMeter({"server": s.proc.pid}, postgres) as meter:
                run = run_client(s.port, form, args.connections)
            results["form"] = summarize(run, 200) | meter.figures()
        results["busy_before_percent"] = busy_cpu_percent()
        posts = [
            http_request(
                "POST",
                register_path(),
                s.port,
                cookie,
                urllib.parse.urlencode({"csrfmiddlewaretoken": masked(a.csrf), "name": "", "party_size": "1"}),
            )
            for a, cookie in zip(accounts, cookies, strict=True)
        ]
        random.Random(5).shuffle(posts)
        with task_worker(args) if args.with_worker else nullcontext() as worker_proc:
            groups = {"server": s.proc.pid}
            if worker_proc is not None:
                groups["task worker"] = worker_proc.pid
                time.sleep(2)  # its periodic jobs run as it starts
            print(f"  registrations (POST): {len(posts)} accounts, {args.connections} at a time", flush=True)
            with CpuMeter(groups, postgres) as meter:
                run = run_client(s.port, posts, args.connections)
                if worker_proc is not None:
                    results["outbox_drained_s"] = wait_outbox_drained(timeout=300)
            results["register"] = summarize(run, 302) | meter.figures()
        bad = [loc for code, loc in zip(run.statuses, run.locations, strict=True) if code == 302]
        results["register"]["redirects_elsewhere"] = sum(
            1 for loc in bad if not loc.startswith("/en/events/registration/")
        )
    results["loadavg_after"] = load_average()
    results["verify"] = verify(args.capacity, accounts)
    return results


def run_bare_post(args: argparse.Namespace) -> dict[str, Any]:
    """The baseline of the registrations: the same client POSTs bodies of the same size to bare
    Django, three times as many requests as there are accounts."""
    with gunicorn("bare_app:application", args=args, env=bare_env(), chdir=BENCH_DIR, name="bare-post") as s:
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": masked("x" * 32), "name": "", "party_size": "1"})
        cookie = f"sessionid={'s' * 32}; csrftoken={'c' * 32}"
        request = http_request("POST", "/", s.port, cookie, body)
        run_client(s.port, [request] * min(1000, args.accounts), args.connections)  # warm-up
        with CpuMeter({"server": s.proc.pid}, postgres=False) as meter:
            run = run_client(s.port, [request] * (3 * args.accounts), args.connections)
        return summarize(run, 200) | meter.figures()


def inprocess_timing(accounts: list[Account], count: int = 500) -> dict[str, Any]:
    """Registrations made in this process, one after another, with nothing else running in it:
    the whole request through Django's test client (the middleware, the view, the service; no
    gunicorn, no network), then registration_create alone. For each: wall and CPU time, the
    queries, and how long the event's row lock was held (from the `SELECT … FOR UPDATE` until
    the commit had returned): with every registration queued on that lock, 1 ÷ that time bounds
    the registrations a second."""
    from django.db import connection
    from django.test import Client

    from yulan.core.models import User
    from yulan.events import services
    from yulan.events.models import Event

    lock: dict[str, float] = {}
    executed: list[tuple[str, float]] = []
    postgres = connection.vendor == "postgresql"

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # PostgreSQL locks the event's row; SQLite takes the database's write lock at BEGIN.
        t0 = time.perf_counter()
        if ("FOR UPDATE" in sql) if postgres else sql.startswith("BEGIN"):
            lock.setdefault("from", t0)
        try:
            return execute(sql, params, many, context)
        finally:
            executed.append((sql, time.perf_counter() - t0))

    real_commit = connection.commit

    def commit() -> None:
        t0 = time.perf_counter()
        real_commit()
        lock["to"] = time.perf_counter()
        executed.append(("COMMIT", lock["to"] - t0))

    def measure(label: str, call: Any, items: list[Any]) -> dict[str, Any]:
        reset_registrations(sessions=False)
        call(items[0])  # warm
        reset_registrations(sessions=False)
        walls, cpus, holds, queries, db = [], [], [], [], []
        with connection.execute_wrapper(wrapper):
            connection.commit = commit  # type: ignore[method-assign]
            try:
                for item in items:
                    lock.clear()
                    executed.clear()
                    t0, c0 = time.perf_counter(), time.process_time()
                    call(item)
                    walls.append(time.perf_counter() - t0)
                    cpus.append(time.process_time() - c0)
                    if "from" in lock and "to" in lock:
                        holds.append(lock["to"] - lock["from"])
                    queries.append(len(executed))
                    db.append(sum(t for _, t in executed))
            finally:
                del connection.commit
        ms = [x * 1000 for x in walls]
        hold_ms = [x * 1000 for x in holds]
        return {
            "label": label,
            "calls": len(walls),
            "wall_p50_ms": percentile(ms, 50),
            "wall_p95_ms": percentile(ms, 95),
            "cpu_mean_ms": 1000 * sum(cpus) / len(cpus),
            "statements_per_call": sum(queries) / len(queries),
            "db_wait_mean_ms": 1000 * sum(db) / len(db),
            "lock_p50_ms": percentile(hold_ms, 50),
            "lock_p95_ms": percentile(hold_ms, 95),
            "statements": [f"{1000 * t:6.2f} ms  {sql[:100]}" for sql, t in executed],
        }

    client = Client(enforce_csrf_checks=True, HTTP_ORIGIN="http://testserver")

    def post(account: Account) -> None:
        client.cookies.clear()
        for part in account.cookie.split("; "):
            key, _, value = part.partition("=")
            client.cookies[key] = value
        body = {"csrfmiddlewaretoken": masked(account.csrf), "name": "", "party_size": "1"}
        response = client.post(register_path(), body)
        if response.status_code != 302:
            raise SystemExit(f"in-process POST answered {response.status_code}")

    event_id = Event.objects.get(slug=POPULAR_SLUG).pk

    def service(user: Any) -> None:
        services.registration_create(event_id=event_id, data=services.RegistrationInput(name=""), user=user)

    users = list(User.objects.filter(email__startswith="registrant").order_by("email")[: min(count, len(accounts))])
    by_id = {u.pk: u for u in users}
    chosen = [a for a in accounts if a.user_id in by_id]
    results = [
        measure("request (test client)", post, chosen),
        measure("registration_create", service, [by_id[a.user_id] for a in chosen]),
    ]
    reset_registrations(sessions=False)
    return {"runs": results}


# --- part 2: the listing ------------------------------------------------------------------------

LUA = """-- Generated by bench/events_bench.py: each request takes the next path from the list.
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


def listing_paths() -> dict[str, list[str]]:
    from yulan.core.models import Community

    slugs = list(Community.objects.order_by("slug").values_list("slug", flat=True))
    filtered = [
        f"/en/events/?community={slug}&language={lang}&free=on" for lang in ("ja", "en", "ko") for slug in slugs
    ]
    random.Random(3).shuffle(filtered)
    return {"list": ["/en/events/"], "filtered": filtered, "page20": ["/en/events/?page=20"], "bare": ["/"]}


def listing_sizes() -> dict[str, str]:
    """How many events each variant lists, from the selector the view uses."""
    from yulan.core.models import Community
    from yulan.events import selectors

    total = selectors.events_public().count()
    counts = [
        selectors.events_public(community=c, language=lang, free_only=True).count()
        for lang in ("ja", "en", "ko")
        for c in Community.objects.all()
    ]
    return {
        "list": f"{total} events listed, 20 a page",
        "filtered": f"{min(counts)}–{max(counts)} events (mean {sum(counts) / len(counts):.0f}) per filter",
        "page20": f"events 381–400 of {total}",
    }


def write_lua(name: str, paths: list[str]) -> Path:
    path = OUT_DIR / f"events-{name}.lua"
    path.write_text(LUA % {"paths": ",\n".join(json.dumps(p) for p in paths)})
    return path


def run_wrk(base: str, script: Path, *, seconds: int, threads: int, connections: int) -> dict[str, float]:
    cmd = [
        "wrk",
        f"-t{min(threads, connections)}",
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
    result: dict[str, Any] = {key: float(value) for key, value in (pair.split("=") for pair in match.group(1).split())}
    result["errors"] = int(sum(v for k, v in result.items() if k.startswith("err_")))
    return result


def wait_idle(port: int, timeout: float = 180) -> float:
    """Wait until the server has no connection left open (requests still queued when wrk stopped
    would otherwise run on into the next measurement). Returns the seconds waited."""
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


def check_ok(server: Server, path: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(server.base + path, timeout=30) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    if status != 200:
        raise SystemExit(f"GET {path} answered {status}, not 200:\n{body[:2000].decode(errors='replace')}")
    return len(body)


def run_listing(args: argparse.Namespace, paths: dict[str, list[str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    results: dict[str, Any] = {}
    single: dict[str, Any] = {}
    names = ["list", "filtered", "page20"] + ([] if args.no_baseline else ["bare"])
    wrk = {"threads": args.wrk_threads, "connections": args.connections}
    for name in names:
        if name == "bare":
            server = gunicorn("bare_app:application", args=args, env=bare_env(), chdir=BENCH_DIR, name="bare-get")
        else:
            server = gunicorn("yulan.wsgi:application", args=args, env=app_env(args), chdir=ROOT, name=name)
        script = write_lua(name, paths[name])
        with server as s:
            size = check_ok(s, paths[name][0])
            busy = busy_cpu_percent()
            if args.warmup:
                run_wrk(s.base, script, seconds=args.warmup, **wrk)
                wait_idle(s.port)
            print(f"  {name}: {size:,} bytes; load {args.duration} s, {args.connections} connections", flush=True)
            loadavg = load_average()
            with CpuMeter({"server": s.proc.pid}, postgres=args.database == "postgres") as meter:
                children = resource.getrusage(resource.RUSAGE_CHILDREN)
                results[name] = run_wrk(s.base, script, seconds=args.duration, **wrk)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
            results[name].update(meter.figures())
            results[name].update(
                {
                    "client": "wrk",
                    "client_cpu_s": after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime,
                    "drain_s": wait_idle(s.port),
                    "bytes": size,
                    "busy_before_percent": busy,
                    "loadavg": loadavg,
                }
            )
            if name != "bare" and args.single_duration:
                print(f"  {name}: one connection {args.single_duration} s", flush=True)
                single[name] = run_wrk(s.base, script, seconds=args.single_duration, threads=1, connections=1)
                single[name]["drain_s"] = wait_idle(s.port)
    return results, single


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


def fmt_cpu(r: dict[str, Any]) -> str:
    """CPU seconds during a measurement: the server, PostgreSQL's backends, the load client (wrk,
    or the asyncio client's thread), this script's sampling, and everything else on the machine."""
    parts = [f"{k} {v:.1f}" for k, v in r["cpu_s"].items()]
    client = r.get("client_cpu_s", 0.0)
    parts.append(f"client {client:.1f}")
    # The asyncio client runs in this process, beside the sampling thread; wrk in its own.
    sampling = r.get("bench_cpu_s", 0.0) - (client if r.get("client") == "asyncio" else 0.0)
    parts.append(f"sampling {max(0.0, sampling):.1f}")
    known = sum(r["cpu_s"].values()) + client + max(0.0, sampling)
    parts.append(f"rest of the machine {max(0.0, r['machine_cpu_s'] - known):.1f}")
    return ", ".join(parts)


ROW = "{:<30}{:>9}{:>9}{:>9}{:>10}{:>10}{:>8}"


def row(label: str, r: dict[str, Any]) -> str:
    return ROW.format(
        label,
        f"{r['p50_ms']:.1f}",
        f"{r['p95_ms']:.1f}",
        f"{r['p99_ms']:.1f}",
        f"{r['rps']:.1f}",
        int(r["requests"]),
        int(r["errors"]),
    )


def cpu_per_request(r: dict[str, Any]) -> tuple[float, float, float]:
    """Server and PostgreSQL CPU milliseconds a request, and the requests a second those would
    allow on all of the machine's cores (the load client left out): a figure that moves less with
    other load on the machine than requests a second do."""
    server = 1000 * r["cpu_s"].get("server", 0.0) / max(1, r["requests"])
    pg = 1000 * r["cpu_s"].get("postgres", 0.0) / max(1, r["requests"])
    return server, pg, (os.cpu_count() or 1) * 1000 / max(server + pg, 1e-6)


def print_cpu_per_request(runs: dict[str, dict[str, Any] | None], main: str) -> None:
    print(f"  CPU a request (server + PostgreSQL backends) and the rate it allows on {os.cpu_count()} cores:")
    ceilings = {}
    for label, r in runs.items():
        if r is None:
            continue
        server, pg, ceiling = cpu_per_request(r)
        ceilings[label] = ceiling
        r["cpu_ms_per_request"] = {"server": server, "postgres": pg, "ceiling_rps": ceiling}
        print(f"    {label:<22} server {server:6.2f} ms + PostgreSQL {pg:5.2f} ms  →  at most {ceiling:8.0f}/s")
    bare = next((v for k, v in ceilings.items() if k.startswith("bare")), None)
    if bare and main in ceilings:
        print(f"    CPU ratio {main} ÷ bare Django: {ceilings[main] / bare:.3f}")


@dataclass
class Checks:
    items: list[tuple[str, bool]] = field(default_factory=list)

    def add(self, label: str, passed: bool) -> None:
        self.items.append((label, passed))

    @property
    def ok(self) -> bool:
        return all(p for _, p in self.items)


def report_registrations(reg: dict[str, Any], bare: dict[str, Any] | None, checks: Checks) -> None:
    r = reg["register"]
    print()
    print(ROW.format("registrations", "p50 ms", "p95 ms", "p99 ms", "req/s", "requests", "errors"))
    print(row("register (POST, signed in)", r))
    if "form" in reg:
        print(row("register form (GET, signed in)", reg["form"]))
    if bare:
        print(row("bare Django (POST)", bare))
    print(f"  statuses of the POSTs: {r['statuses']}; connections opened {r['connections_opened']}")
    if r["redirects_elsewhere"]:
        print(f"  {r['redirects_elsewhere']} redirects went elsewhere than the registration page")
    print(f"  CPU seconds, registrations ({r['seconds']:.1f} s): {fmt_cpu(r)}")
    if "form" in reg:
        print(f"  CPU seconds, register form: {fmt_cpu(reg['form'])}")
    if bare:
        print(f"  CPU seconds, bare Django: {fmt_cpu(bare)}")
    print_cpu_per_request(
        {"registration": r, "register form": reg.get("form"), "bare Django (POST)": bare}, "registration"
    )
    print(f"  load average before {reg['loadavg_before']}, after {reg['loadavg_after']}")
    if reg["busy_before_percent"] > 10:
        print(f"  warning: other processes kept the CPUs {reg['busy_before_percent']:.0f} % busy just before")
    if "outbox_drained_s" in reg:
        drained = reg["outbox_drained_s"]
        print("  outbox drained " + ("not within 300 s" if drained is None else f"{drained:.1f} s after the last POST"))
    v = reg["verify"]
    print(
        f"  database: {v['registrations']} registrations {v['by_status']}; places taken {v['event_places_taken']}, "
        f"confirmed places {v['confirmed_places']}; waiting list {v['waitlisted']} "
        f"(issued {v['event_waitlist_issued']}); outbox {v['outbox']}; task rows {v['task_rows']}"
    )
    if v["waitlisted_stamped_before_last_confirmed"]:
        print(
            f"  note: {v['waitlisted_stamped_before_last_confirmed']} waitlisted registrations have a decided_at "
            f"earlier than the last confirmed one (by up to {v['stamp_overlap_ms']:.1f} ms): the time is taken "
            "before the event's lock is asked for, so it does not follow the order of the decisions"
        )
    checks.add(
        f"registrations {r['rps']:.1f}/s (target ≥ {TARGET_REGISTRATIONS_PER_S:.0f}/s)",
        r["rps"] >= TARGET_REGISTRATIONS_PER_S,
    )
    checks.add(f"every POST answered 302 ({r['errors']} did not)", r["errors"] == 0 and not r["redirects_elsewhere"])
    for label, passed in v["checks"].items():
        checks.add(label, passed)
    if bare:
        ratio = r["rps"] / bare["rps"]
        reg["ratio"] = ratio
        print(f"  ratio registrations/s ÷ bare Django POST/s: {ratio:.3f}")


def report_listing(
    results: dict[str, Any], single: dict[str, Any], sizes: dict[str, str], connections: int, checks: Checks
) -> None:
    labels = {
        "list": "listing",
        "filtered": "listing, filtered",
        "page20": "listing, page 20",
        "bare": "bare Django (GET)",
    }
    print()
    print(ROW.format("listing", "p50 ms", "p95 ms", "p99 ms", "req/s", "requests", "errors") + f"{'drain s':>9}")
    for name, r in results.items():
        print(row(labels[name], r) + f"{r['drain_s']:>9.1f}")
    if single:
        print("one connection at a time (no queueing):")
        for name, r in single.items():
            print(row(labels[name], r))
    for name, r in results.items():
        extra = f"; {sizes[name]}" if name in sizes else ""
        print(f"  {labels[name]}: {r['bytes']:,} bytes{extra}; load average {r['loadavg']}; CPU s: {fmt_cpu(r)}")
        if r["busy_before_percent"] > 10:
            print(f"    warning: other processes kept the CPUs {r['busy_before_percent']:.0f} % busy just before")
        if r["drain_s"] > 1:
            print(f"    the server took {r['drain_s']:.1f} s to finish queued requests: percentiles are too low")
    for name in ("list", "filtered", "page20"):
        if name in results:
            print_cpu_per_request({labels[name]: results[name], labels["bare"]: results.get("bare")}, labels[name])
    bare = results.get("bare")
    for name in ("list", "filtered", "page20"):
        if name not in results:
            continue
        r = results[name]
        ratio = f", {r['rps'] / bare['rps']:.3f} of bare Django's req/s" if bare else ""
        if bare:
            r["ratio"] = r["rps"] / bare["rps"]
        checks.add(
            f"{labels[name]} p95 {r['p95_ms']:.1f} ms, {connections} connections "
            f"(target ≤ {TARGET_P95_MS:.0f} ms){ratio}",
            r["p95_ms"] <= TARGET_P95_MS and r["errors"] == 0,
        )
        if name in single:
            s = single[name]
            checks.add(
                f"{labels[name]} p95 {s['p95_ms']:.1f} ms, one connection (target ≤ {TARGET_P95_MS:.0f} ms)",
                s["p95_ms"] <= TARGET_P95_MS and s["errors"] == 0,
            )


def print_profile(paths: list[Path]) -> None:
    if not paths:
        print("  no profile was written")
        return
    stats = pstats.Stats(str(paths[0]))
    for p in paths[1:]:
        stats.add(str(p))
    print("\nprofile of the single worker, by own time:")
    stats.sort_stats("tottime").print_stats(25)
    print("by cumulative time:")
    stats.sort_stats("cumulative").print_stats(45)


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.redis_url and urllib.parse.urlsplit(args.redis_url).hostname != LOOPBACK:
        raise SystemExit(f"--redis-url must point to {LOOPBACK}")
    if "listing" in args.parts and not args.seed_only and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    OUT_DIR.mkdir(exist_ok=True)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; python {platform.python_version()}")
    print(f"database: {args.database} ({PG_BENCH_URL if args.database == 'postgres' else SQLITE_FILE})")
    print(f"load average: {load_average()}")

    if args.dummy_tasks and args.with_worker:
        raise SystemExit("--dummy-tasks leaves the task worker nothing to do: use one or the other")
    if args.dummy_tasks:
        os.environ["TASKS_BACKEND"] = DUMMY_TASKS
    if not args.reuse:
        reset_database(args.database)
    django_setup(args.database)
    seeded: dict[str, float] = {}
    if args.reuse:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    else:
        print(f"seeding {args.accounts} accounts, 1 popular event, {args.events} listed events …", flush=True)
        seeded = seed(args)
        print(
            f"seeded in {seeded['total_s']:.1f} s: migrate {seeded['migrate_s']:.1f}, places {seeded['places_s']:.1f}, "
            f"events {seeded['events_s']:.1f}, accounts {seeded['accounts_s']:.1f}, vacuum {seeded['vacuum_s']:.1f}"
        )
    if args.seed_only:
        return 0
    from django.db import connections

    from yulan.events.models import Event

    popular = Event.objects.filter(slug=POPULAR_SLUG).first()
    if popular is None:
        raise SystemExit("the bench database has no popular event: run without --reuse")
    if popular.capacity != args.capacity:
        # Each registration run empties the registrations and these counters first anyway.
        Event.objects.filter(pk=popular.pk).update(capacity=args.capacity, places_taken=0, waitlist_issued=0)

    commit = project_commit()
    server_desc = f"{args.workers} {args.worker_class} workers" + (
        f" × {args.threads} threads" if args.worker_class == "gthread" else ""
    )
    print(f"project: {commit}; gunicorn {server_desc}; cache: {args.redis_url or 'each worker its own memory'}")
    checks = Checks()
    record: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "args": vars(args),
        "seed": seeded,
    }

    if "register" in args.parts:
        print(
            f"\nregistrations: {args.accounts} accounts, capacity {args.capacity}, waiting list on; "
            + ("one task worker running" if args.with_worker else "no task worker (mail stays queued)")
            + ("; experiment: tasks enqueued in memory, no task rows" if args.dummy_tasks else ""),
            flush=True,
        )
        bare = None
        if not args.no_baseline:
            print("  bare Django (POST)", flush=True)
            bare = run_bare_post(args)
        reg = run_registrations(args)
        record["registrations"] = reg
        record["bare_post"] = bare
        report_registrations(reg, bare, checks)
        if args.profile:
            print("\nprofile: the same registrations against one sync worker under cProfile", flush=True)
            prefix = OUT_DIR / "events-register.prof"
            for old in OUT_DIR.glob("events-register.prof.*"):
                old.unlink()
            prof = run_registrations(args, profile=prefix)
            r = prof["register"]
            print(
                f"  {r['rps']:.1f}/s under the profiler, p95 {r['p95_ms']:.1f} ms, errors {r['errors']}; "
                f"CPU s: {fmt_cpu(r)}"
            )
            record["profile_run"] = prof
            print_profile(sorted(OUT_DIR.glob("events-register.prof.*")))
            from django.db import connection

            print("\nin this process, one registration after another (no concurrency, no profiler):")
            accounts = sign_in(args.accounts)
            timing = inprocess_timing(accounts)
            record["inprocess"] = timing
            for t in timing["runs"]:
                print(
                    f"  {t['label']}: {t['calls']} calls, wall p50 {t['wall_p50_ms']:.2f} ms, "
                    f"p95 {t['wall_p95_ms']:.2f} ms; CPU {t['cpu_mean_ms']:.2f} ms; {t['statements_per_call']:.1f} "
                    f"statements ({t['db_wait_mean_ms']:.2f} ms waiting for them); row lock held p50 "
                    f"{t['lock_p50_ms']:.2f} ms, p95 {t['lock_p95_ms']:.2f} ms "
                    f"(at most {1000 / max(t['lock_p50_ms'], 1e-3):.0f} registrations/s)"
                )
            print(f"  the statements of the last request ({connection.vendor}):")
            for sql in timing["runs"][0]["statements"]:
                print(f"    {sql}")
        connections.close_all()

    if "listing" in args.parts:
        print(
            f"\nlisting: {args.events} events"
            + ("; visitors served from the page cache" if args.page_cache else "; rendered (page cache off)"),
            flush=True,
        )
        paths = listing_paths()
        sizes = listing_sizes()
        connections.close_all()
        results, single = run_listing(args, paths)
        record["listing"] = {"results": results, "one_connection": single, "sizes": sizes}
        report_listing(results, single, sizes, args.connections, checks)

    print()
    for label, passed in checks.items:
        print(f"{'PASS' if passed else 'FAIL'}  {label}")
    if project_commit() != commit:
        print(f"warning: the project changed during the run ({commit} → {project_commit()})")
    print(f"load average at the end: {load_average()}")
    record["passed"] = checks.ok
    record["checks"] = checks.items
    out = OUT_DIR / f"events-results-{args.database}.json"
    out.write_text(json.dumps(record, indent=2, default=str))
    print(f"\n{'all targets met' if checks.ok else 'some targets missed'}; figures in {out.relative_to(ROOT)}")
    return 0 if checks.ok else 1


if __name__ == "__main__":
    sys.exit(main())
