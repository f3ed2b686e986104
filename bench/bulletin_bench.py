"""Fan-out benchmark of the weekly bulletin: one bulletin to 100,000 subscribers over SMTP.

Seeds a separate database (never the developer's) with subscribers in all eight languages who
chose topics and communities, and a week of posts. Starts an SMTP sink (aiosmtpd in a process of
its own, counting messages and distinct recipients) and `manage.py worker` processes, sends the
bulletin with `bulletin_schedule(send_at=None)` and times it until the sink has counted every
message. In the same run, a bare loop of smtplib sends over one connection delivers pre-rendered
messages of the same size to the same recipients through the same kind of sink: the baseline.

    .venv/bin/python bench/bulletin_bench.py [--database sqlite|postgres] [--subscribers N]
                                             [--workers 1 2 3] [--reuse] [--profile]

See bench/README.md.
"""

import argparse
import asyncio
import datetime
import json
import logging
import os
import platform
import pstats
import random
import resource
import signal
import smtplib
import socket
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
SQLITE_FILE = OUT_DIR / "bulletin_bench.sqlite3"
LOOPBACK = "127.0.0.1"
PG_ADMIN_URL = f"postgresql://postgres@{LOOPBACK}:5432/postgres"
PG_BENCH_DB = "yulan_bench_bulletin"
PG_BENCH_URL = f"postgresql://postgres@{LOOPBACK}:5432/{PG_BENCH_DB}"

TARGET_RATIO = 0.5
TARGET_SECONDS_PER_100K = 300.0
BATCH = 5000
# The sink notes the time of every MARK_EVERY-th message, to tell how far delivery had got
# at a given moment (the end of the fan-out, say).
MARK_EVERY = 1000
FROM = "Yulan <no-reply@localhost>"
PLACEHOLDER = b"\x00rcpt\x00"

# Shares of the subscribers' languages (every one of the site's eight is used).
LANGUAGE_WEIGHTS = {"en": 30, "zh-hans": 14, "ja": 10, "ko": 10, "fr": 9, "de": 9, "es": 10, "ru": 8}
TOPICS = 8
COMMUNITIES = 24


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--subscribers", type=int, default=100_000)
    p.add_argument(
        "--workers", type=int, nargs="+", default=[2], help="task workers; several numbers: one run for each"
    )
    p.add_argument("--reuse", action="store_true", help="keep the seeded database of the last run (no seeding)")
    p.add_argument(
        "--interval", type=float, default=1.0, help="seconds an idle worker waits before it looks for a task again"
    )
    p.add_argument("--timeout", type=float, default=1800, help="give up a run after this many seconds")
    p.add_argument(
        "--profile", action="store_true", help="run the first worker under cProfile and print where its time went"
    )
    p.add_argument("--seed-only", action="store_true", help="seed the database and stop (measure later with --reuse)")
    p.add_argument(
        "--analyze-outbox",
        action="store_true",
        help="experiment, PostgreSQL: ANALYZE the outbox table as soon as the fan-out has written rows "
        "(fresh planner statistics, as autovacuum or the product could provide); not the product path",
    )
    p.add_argument("--no-baseline", action="store_true", help="skip the smtplib baseline (no ratio)")
    return p.parse_args()


# --- the SMTP sink (a process of its own) ------------------------------------------------------


class SinkHandler:
    """aiosmtpd handler: counts messages, recipients and bytes, keeps nothing else."""

    def __init__(self) -> None:
        self.messages = 0
        self.deliveries = 0
        self.recipients: set[str] = set()
        self.bytes = 0
        self.first = 0.0
        self.last = 0.0
        self.marks: list[float] = []
        self.connections = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        now = time.time()
        if not self.messages:
            self.first = now
        self.messages += 1
        self.last = now
        self.deliveries += len(envelope.rcpt_tos)
        self.recipients.update(address.lower() for address in envelope.rcpt_tos)
        self.bytes += len(envelope.original_content or envelope.content)
        if self.messages % MARK_EVERY == 0:
            self.marks.append(now)
        return "250 OK"

    def stats(self, full: bool) -> dict[str, Any]:
        stats = {
            "messages": self.messages,
            "deliveries": self.deliveries,
            "distinct": len(self.recipients),
            "bytes": self.bytes,
            "first": self.first,
            "last": self.last,
            "connections": self.connections,
        }
        if full:
            stats["marks"] = self.marks
        return stats


def sink_main() -> None:
    """`bulletin_bench.py sink`: serve SMTP on a free loopback port and answer `stats` / `full` on a
    second one; print both ports on the first line."""
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    from aiosmtpd.smtp import SMTP

    handler = SinkHandler()

    class CountingSMTP(SMTP):
        def connection_made(self, transport: Any) -> None:
            handler.connections += 1
            super().connection_made(transport)

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        command = (await reader.readline()).decode().strip()
        writer.write(json.dumps(handler.stats(full=command == "full")).encode() + b"\n")
        await writer.drain()
        writer.close()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        smtp = await loop.create_server(
            lambda: CountingSMTP(handler, hostname="sink.localhost", ident="bench sink", data_size_limit=0),
            LOOPBACK,
            0,
        )
        ctl = await asyncio.start_server(control, LOOPBACK, 0)
        print(f"READY {smtp.sockets[0].getsockname()[1]} {ctl.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Event().wait()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(serve())


@dataclass
class Sink:
    proc: subprocess.Popen[Any]
    smtp_port: int
    control_port: int

    def stats(self, full: bool = False) -> dict[str, Any]:
        with socket.create_connection((LOOPBACK, self.control_port), timeout=30) as s:
            s.sendall(b"full\n" if full else b"stats\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return json.loads(b"".join(chunks))


@contextmanager
def sink(name: str) -> Iterator[Sink]:
    log = (OUT_DIR / f"bulletin-sink-{name}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "sink"],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "READY":
            raise SystemExit(f"the SMTP sink did not start:\n{log_tail(log.name)}")
        yield Sink(proc, int(line[1]), int(line[2]))
    finally:
        stop_group(proc)
        log.close()


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
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def last_week() -> datetime.date:
    """The week the worker's periodic job would compile a bulletin for now."""
    from django.utils import timezone

    from yulan.news.services import week_start_of

    return week_start_of(timezone.localdate()) - datetime.timedelta(days=7)


# --- seeding ------------------------------------------------------------------------------------


def seed(subscribers: int) -> dict[str, float]:
    import corpus as text
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from yulan.core.models import Community, District, Role, RoleGrant, User
    from yulan.news.models import Post, Subscriber, Topic

    timings: dict[str, float] = {}
    gen = text.Corpus(seed=20261201)
    rng = gen.rng
    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    timings["migrate_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    now = timezone.now()
    week = last_week()
    tz = timezone.get_current_timezone()
    week_begins = datetime.datetime.combine(week, datetime.time(8), tzinfo=tz)
    with transaction.atomic():
        editor = User.objects.create_user("bench-editor@example.org", None, display_name="Bench editor")
        RoleGrant.objects.create(user=editor, role=Role.EDITOR)
        districts = District.objects.bulk_create(
            District(slug=slug, name={"en": latin, "zh-hans": hanzi}) for slug, latin, hanzi in text.DISTRICTS
        )
        communities = Community.objects.bulk_create(
            Community(
                slug=f"community-{i:02d}",
                name={"en": f"{n.pinyin} Sub-district", "zh-hans": f"{n.hanzi}街道"},
                district=districts[i % len(districts)],
            )
            for i, n in enumerate(gen.proper_name() for _ in range(COMMUNITIES))
        )
        topics = Topic.objects.bulk_create(
            Topic(slug=slug, name=names, position=i) for i, (slug, names) in enumerate(text.categories()[:TOPICS])
        )

        # A week of posts: one for the whole city in every topic (so every subscriber gets at
        # least one), one of them urgent, and posts for two to four communities each. Two posts
        # exist in English and Chinese only, so other languages fall back.
        posts, post_topics, post_communities = [], [], []
        for i in range(2 * TOPICS):
            title, summary, _body, stem = gen.article()
            if i in (3, 11):
                title = {k: v for k, v in title.items() if k in ("en", "zh-hans")}
                summary = {k: v for k, v in summary.items() if k in ("en", "zh-hans")}
            published = week_begins + datetime.timedelta(hours=10 * i + rng.randint(0, 9))
            posts.append(
                Post(
                    slug=f"{stem.lower().replace(' ', '-')}-{i + 1}",
                    kind=rng.choice(Post.Kind.values),
                    urgency=Post.Urgency.URGENT if i == 5 else Post.Urgency.NORMAL,
                    title=title,
                    summary=summary,
                    body={lang: f"<p>{text}</p>" for lang, text in summary.items()},
                    source_language="en",
                    state=Post.State.PUBLISHED,
                    publish_at=published,
                    announced_at=published,  # its follow-ups are done: no urgent notice now
                    created_by=editor,
                    created_at=published,
                    updated_at=published,
                )
            )
            if i < TOPICS:
                chosen = {i % TOPICS} | ({rng.randrange(TOPICS)} if rng.random() < 0.4 else set())
                post_topics.extend((i, t) for t in chosen)
            else:
                post_topics.append((i, rng.randrange(TOPICS)))
                post_communities.extend((i, c) for c in rng.sample(range(COMMUNITIES), rng.randint(2, 4)))
        Post.objects.bulk_create(posts)
        Post.topics.through.objects.bulk_create(
            Post.topics.through(post_id=posts[p].pk, topic_id=topics[t].pk) for p, t in post_topics
        )
        Post.communities.through.objects.bulk_create(
            Post.communities.through(post_id=posts[p].pk, community_id=communities[c].pk) for p, c in post_communities
        )
        timings["content_s"] = time.perf_counter() - t1

        # Subscribers: 35 % chose no topic (all topics), the others one to three; half chose
        # no community (the whole city), the others one or two.
        t2 = time.perf_counter()
        languages = list(LANGUAGE_WEIGHTS)
        weights = list(LANGUAGE_WEIGHTS.values())
        confirmed = now - datetime.timedelta(days=30)
        through_topics = Subscriber.topics.through
        through_communities = Subscriber.communities.through
        for start in range(0, subscribers, BATCH):
            batch = [
                Subscriber(
                    email=f"reader{i:07d}@example.org",
                    language=rng.choices(languages, weights)[0],
                    weekly=True,
                    urgent=rng.random() < 0.7,
                    status=Subscriber.Status.ACTIVE,
                    created_at=confirmed,
                    confirmed_at=confirmed,
                )
                for i in range(start, min(start + BATCH, subscribers))
            ]
            Subscriber.objects.bulk_create(batch)
            links_t, links_c = [], []
            for s in batch:
                if rng.random() >= 0.35:
                    for t in rng.sample(topics, rng.randint(1, 3)):
                        links_t.append(through_topics(subscriber_id=s.pk, topic_id=t.pk))
                if rng.random() >= 0.5:
                    for c in rng.sample(communities, rng.randint(1, 2)):
                        links_c.append(through_communities(subscriber_id=s.pk, community_id=c.pk))
            through_topics.objects.bulk_create(links_t)
            through_communities.objects.bulk_create(links_c)
        timings["subscribers_s"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    timings["analyze_s"] = time.perf_counter() - t3
    timings["total_s"] = time.perf_counter() - t0
    return timings


def reset_mailing() -> None:
    """Remove what a run leaves: outbox rows, bulletins, task results."""
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from yulan.core.models import OutgoingMail
    from yulan.news.models import Bulletin

    tables = [OutgoingMail._meta.db_table, DBTaskResult._meta.db_table]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (table names from the models)
    Bulletin.objects.all().delete()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM ANALYZE {', '.join(tables)}")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def prepare_bulletin() -> tuple[Any, Any]:
    """Compile last week's bulletin as the periodic job does and add the editors' notes."""
    import corpus as text

    from yulan.core.models import User
    from yulan.news import services

    editor = User.objects.get(email="bench-editor@example.org")
    bulletin = services.bulletin_compile(week_start=last_week(), actor=editor)
    items = list(bulletin.items.order_by("position"))
    gen = text.Corpus(seed=5)
    _title, intro, _body, _stem = gen.article()
    _title, note, _body, _stem = gen.article()
    services.bulletin_update(
        actor=editor,
        bulletin_id=bulletin.pk,
        intro={lang: f"<p>{t}</p>" for lang, t in intro.items()},
        items=[services.ItemEdit(item_id=items[0].pk, position=items[0].position, note=note)],
    )
    return editor, bulletin


@dataclass
class Audience:
    recipients: list[tuple[int, str, str, tuple[int, ...]]]  # id, e-mail, language, posts
    variants: int
    posts_per_message: float
    unreached: int


def audience(bulletin: Any) -> Audience:
    """Who gets which posts, worked out with the product's own matching."""
    from yulan.news import services

    items = list(bulletin.items.order_by("position", "pk").values_list("post_id", flat=True))
    targets = services._post_targets(items)
    recipients = []
    unreached = 0
    for chunk in services._recipients(weekly=True):
        for r in chunk:
            posts = tuple(pid for pid in items if r.wants(*targets[pid]))
            if posts:
                recipients.append((r.id, r.email, r.language, posts))
            else:
                unreached += 1
    variants = len({(lang, posts) for _id, _email, lang, posts in recipients})
    mean = sum(len(r[3]) for r in recipients) / max(1, len(recipients))
    return Audience(recipients, variants, mean, unreached)


def rendered_samples(bulletin: Any, people: Audience) -> dict[tuple[str, int], bytes]:
    """Messages as the product renders them, one for each language and number of posts, with the
    address replaced by a placeholder: the baseline's pre-rendered messages. Each recipient then
    gets a message of its language with as many posts as its own, so the sizes match."""
    from yulan.core.models import OutgoingMail
    from yulan.news import emails

    rng = random.Random(3)
    groups: dict[tuple[str, int], list[tuple[int, str, str, tuple[int, ...]]]] = {}
    for r in people.recipients:
        groups.setdefault((r[2], len(r[3])), []).append(r)
    rows = {}
    for i, (key, group) in enumerate(sorted(groups.items())):
        sid, email, language, posts = rng.choice(group)
        rows[key] = OutgoingMail(
            pk=i + 1,
            kind="bulletin",
            to_email=email,
            language=language,
            context={"b": bulletin.pk, "s": sid, "p": list(posts)},
        )
    messages = emails.render_bulletins(list(rows.values()))
    return {
        key: messages[row.pk].message().as_bytes(linesep="\r\n").replace(row.to_email.encode(), PLACEHOLDER)
        for key, row in rows.items()
    }


# --- processes ----------------------------------------------------------------------------------


def stop_group(proc: subprocess.Popen[Any], timeout: float = 30) -> None:
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


def log_tail(path: str, lines: int = 40) -> str:
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Worker:
    proc: subprocess.Popen[Any]
    log: Path
    profile: Path | None


@contextmanager
def workers(args: argparse.Namespace, count: int, smtp_port: int) -> Iterator[list[Worker]]:
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(database_env(args.database))
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "yulan.settings",
            "DEBUG": "false",
            "EMAIL_HOST": LOOPBACK,
            "EMAIL_PORT": str(smtp_port),
            "YULAN_MAIL_WORKERS": str(count),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    started: list[Worker] = []
    handles = []
    try:
        for n in range(1, count + 1):
            log = OUT_DIR / f"bulletin-worker-{n}.log"
            out = log.open("w")
            handles.append(out)
            profile = OUT_DIR / f"bulletin-worker-{n}.prof" if args.profile and n == 1 else None
            cmd = [sys.executable]
            if profile:
                profile.unlink(missing_ok=True)
                cmd += ["-m", "cProfile", "-o", str(profile)]
            cmd += ["manage.py", "worker", "--interval", str(args.interval), "--no-reload", "--no-startup-delay"]
            cmd += ["--worker-id", f"bench-{n}", "-v", "1"]
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            started.append(Worker(proc, log, profile))
        deadline = time.monotonic() + 90
        for w in started:
            while "Starting worker" not in w.log.read_text(errors="replace"):
                if w.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"a worker did not start:\n{log_tail(str(w.log))}")
                time.sleep(0.1)
        yield started
    finally:
        for w in started:
            stop_group(w.proc)
        for out in handles:
            out.close()


# --- CPU accounting -----------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, all its threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> float:
    """CPU seconds all processes on the machine have used since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICK


def busy_cpu_percent(seconds: float = 1.0) -> float:
    cores = os.cpu_count() or 1
    before = machine_busy()
    time.sleep(seconds)
    return 100.0 * (machine_busy() - before) / (seconds * cores)


class PostgresCpu:
    """CPU used by the PostgreSQL server's processes during a run: backends come and go, so
    they are sampled while it runs."""

    def __init__(self) -> None:
        self.start: dict[int, float] = {}
        self.last: dict[int, float] = {}
        for pid in self._pids():
            self.start[pid] = self.last[pid] = proc_cpu(pid)

    @staticmethod
    def _pids() -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with suppress(OSError):
                    if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                        pids.append(int(entry.name))
        return pids

    def sample(self) -> None:
        for pid in self._pids():
            self.start.setdefault(pid, 0.0)
            self.last[pid] = max(self.last.get(pid, 0.0), proc_cpu(pid))

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.start[pid] for pid in self.last)


# --- measurements -------------------------------------------------------------------------------


def wait_for_sink(s: Sink, expected: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = s.stats()
        if stats["distinct"] >= expected or time.monotonic() > deadline:
            return s.stats(full=True)
        time.sleep(0.2)


def run_baseline(people: Audience, samples: dict[tuple[str, int], bytes]) -> dict[str, Any]:
    """A bare loop: one smtplib connection, one pre-rendered message per recipient."""
    expected = len(people.recipients)
    with sink("baseline") as s:
        busy = busy_cpu_percent()
        sink_cpu0, self0 = proc_cpu(s.proc.pid), resource.getrusage(resource.RUSAGE_SELF)
        machine0 = machine_busy()
        t0 = time.time()
        smtp = smtplib.SMTP(LOOPBACK, s.smtp_port, timeout=60)
        for _sid, email, language, posts in people.recipients:
            smtp.sendmail(FROM, [email], samples[language, len(posts)].replace(PLACEHOLDER, email.encode()))
        smtp.quit()
        stats = wait_for_sink(s, expected, timeout=60)
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = {
            "sender": self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime,
            "sink": proc_cpu(s.proc.pid) - sink_cpu0,
        }
        cpu["other processes"] = max(0.0, machine_busy() - machine0 - sum(cpu.values()))
    return {
        "seconds": stats["last"] - t0,
        "messages": stats["messages"],
        "distinct": stats["distinct"],
        "duplicates": stats["deliveries"] - stats["distinct"],
        "mean_bytes": stats["bytes"] / max(1, stats["messages"]),
        "cpu_s": cpu,
        "busy_before_percent": busy,
    }


def run_product(args: argparse.Namespace, count: int, editor: Any, bulletin: Any, expected: int) -> dict[str, Any]:
    from django.db import connection

    from yulan.core.models import OutgoingMail
    from yulan.news import services
    from yulan.news.models import Bulletin

    name = f"workers-{count}"
    with sink(name) as s, workers(args, count, s.smtp_port) as procs:
        time.sleep(2)  # the periodic jobs each worker runs as it starts
        busy = busy_cpu_percent()
        postgres = PostgresCpu() if connection.vendor == "postgresql" else None
        worker_cpu0 = [proc_cpu(w.proc.pid) for w in procs]
        sink_cpu0, self0 = proc_cpu(s.proc.pid), resource.getrusage(resource.RUSAGE_SELF)
        machine0 = machine_busy()

        t_send = time.time()
        services.bulletin_schedule(actor=editor, bulletin_id=bulletin.pk, send_at=None)
        fanout_done: float | None = None
        print(f"  sent at 0.0 s (bulletin_schedule took {time.time() - t_send:.2f} s)", flush=True)
        last_print = 0.0
        printed = seen = 0
        analyze = args.analyze_outbox and connection.vendor == "postgresql"
        stalled_since = time.monotonic()
        outcome = "complete"
        while True:
            time.sleep(0.5)
            stats = s.stats()
            elapsed = time.time() - t_send
            if postgres:
                postgres.sample()
            if fanout_done is None:
                done_at = Bulletin.objects.filter(pk=bulletin.pk).values_list("fanout_done_at", flat=True)[0]
                if done_at is not None:
                    fanout_done = done_at.timestamp() - t_send
                    print(f"  fan-out finished at {fanout_done:.1f} s", flush=True)
            if analyze and OutgoingMail.objects.filter(stream=bulletin.stream).exists():
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {OutgoingMail._meta.db_table}")
                print(f"  ANALYZE of the outbox at {time.time() - t_send:.1f} s (--analyze-outbox)", flush=True)
                analyze = False
            if stats["messages"] != seen:
                seen = stats["messages"]
                stalled_since = time.monotonic()
            if elapsed - last_print >= 10:
                rate = (seen - printed) / (elapsed - last_print)
                print(f"  {elapsed:6.1f} s: {seen:>7} messages at the sink ({rate:,.0f}/s)", flush=True)
                last_print, printed = elapsed, seen
            if stats["distinct"] >= expected:
                break
            if elapsed > args.timeout:
                outcome = "timed out"
                break
            if all(w.proc.poll() is not None for w in procs):
                outcome = "all workers exited"
                break
            if fanout_done is not None and time.monotonic() - stalled_since > 180:
                outcome = "stalled (no message for 3 minutes)"
                break
        # Late duplicates would come from rows still being sent: wait until none is left.
        deadline = time.monotonic() + 30
        while outcome == "complete" and time.monotonic() < deadline:
            waiting = OutgoingMail.objects.filter(
                stream=bulletin.stream, status__in=[OutgoingMail.Status.PENDING, OutgoingMail.Status.SENDING]
            ).exists()
            if not waiting:
                break
            time.sleep(0.5)
        final = s.stats(full=True)
        if postgres:
            postgres.sample()
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = {
            f"worker {n}": proc_cpu(w.proc.pid) - before
            for n, (w, before) in enumerate(zip(procs, worker_cpu0, strict=True), 1)
        }
        cpu["sink"] = proc_cpu(s.proc.pid) - sink_cpu0
        if postgres:
            cpu["postgres"] = postgres.seconds
        cpu["bench (polling)"] = self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime
        cpu["other processes"] = max(0.0, machine_busy() - machine0 - sum(cpu.values()))
        logs = [w.log for w in procs]
        profiles = [w.profile for w in procs if w.profile]
    problems: Counter[str] = Counter()
    for log in logs:
        text = log.read_text(errors="replace")
        problems["tracebacks"] += text.count("Traceback")
        problems["database is locked"] += text.count("database is locked")
    return {
        "workers": count,
        "outcome": outcome,
        "seconds": (final["last"] - t_send) if final["messages"] else None,
        "messages": final["messages"],
        "distinct": final["distinct"],
        "duplicates": final["deliveries"] - final["distinct"],
        "mean_bytes": final["bytes"] / max(1, final["messages"]),
        "smtp_connections": final["connections"],
        "first_message_s": (final["first"] - t_send) if final["messages"] else None,
        "fanout_done_s": fanout_done,
        "sent_before_fanout_done": marks_before(final["marks"], t_send + fanout_done) if fanout_done else None,
        "phases": phases(bulletin, t_send),
        "cpu_s": cpu,
        "busy_before_percent": busy,
        "log_problems": dict(problems),
        "profiles": [str(p) for p in profiles],
    }


def marks_before(marks: list[float], moment: float) -> int:
    return MARK_EVERY * sum(1 for m in marks if m <= moment)


def phases(bulletin: Any, t_send: float) -> dict[str, Any]:
    """When the tasks ran and how the outbox rows ended, from the database."""
    from django.db.models import Count, Max
    from django_tasks_db.models import DBTaskResult

    from yulan.core.models import OutgoingMail

    def rel(moment: datetime.datetime | None) -> float | None:
        return None if moment is None else round(moment.timestamp() - t_send, 2)

    tasks = []
    for t in DBTaskResult.objects.order_by("enqueued_at"):
        tasks.append(
            {
                "task": t.task_path.rsplit(".", 1)[1],
                "status": t.status,
                "enqueued_s": rel(t.enqueued_at),
                "started_s": rel(t.started_at),
                "finished_s": rel(t.finished_at),
                "worker": (t.worker_ids or [""])[-1],
                "result": t.return_value,
            }
        )
    rows = OutgoingMail.objects.filter(stream=bulletin.stream)
    return {
        "tasks": tasks,
        "rows": dict(rows.values_list("status").annotate(n=Count("id")).order_by()),
        "max_attempts": rows.aggregate(m=Max("attempts"))["m"],
        "senders": sorted(rows.values("claimed_by").annotate(n=Count("id")).values_list("n", flat=True)),
    }


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


def fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def report_run(run: dict[str, Any], baseline: dict[str, Any] | None, expected: int) -> list[tuple[str, bool]]:
    print(f"\n{run['workers']} worker(s): {run['outcome']}")
    print(
        f"  total {fmt_s(run['seconds'])} from send to the last message; {run['messages']} messages, "
        f"{run['distinct']} distinct recipients, {run['duplicates']} duplicates, "
        f"{run['mean_bytes']:,.0f} bytes each, {run['smtp_connections']} SMTP connections"
    )
    tasks = run["phases"]["tasks"]
    fanout = next((t for t in tasks if t["task"] == "bulletin_fanout"), None)
    if fanout:
        length = fanout["finished_s"] - fanout["started_s"] if fanout["finished_s"] and fanout["started_s"] else None
        print(
            f"  fan-out task: started {fmt_s(fanout['started_s'])} after the send, ran {fmt_s(length)} "
            f"({fanout['result']} rows queued, worker {fanout['worker']})"
        )
    print(f"  first message {fmt_s(run['first_message_s'])} after the send", end="")
    if run["sent_before_fanout_done"] is not None:
        print(f"; about {run['sent_before_fanout_done']} sent before the fan-out finished", end="")
    if run["seconds"] and run["first_message_s"] is not None:
        span = run["seconds"] - run["first_message_s"]
        print(f"; first → last {span:.1f} s ({run['messages'] / max(span, 1e-9):,.0f} messages/s)", end="")
    print()
    for t in tasks:
        if t["task"] == "deliver_outbox":
            print(
                f"  deliver_outbox: enqueued {fmt_s(t['enqueued_s'])}, ran {fmt_s(t['started_s'])} → "
                f"{fmt_s(t['finished_s'])} on {t['worker']}: {t['result']}"
            )
    print(f"  outbox rows: {run['phases']['rows']}, most attempts {run['phases']['max_attempts']}")
    print("  CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in run["cpu_s"].items()))
    if any(run["log_problems"].values()):
        print(f"  worker logs: {run['log_problems']}")
    if run["busy_before_percent"] > 10:
        print(f"  warning: other processes kept the CPUs {run['busy_before_percent']:.0f} % busy just before")

    scale = expected / 100_000
    limit = TARGET_SECONDS_PER_100K * scale
    scaled = "" if expected == 100_000 else f", scaled to {expected} recipients"
    checks = [
        (
            f"time {fmt_s(run['seconds'])} (target ≤ {limit:.0f} s{scaled})",
            run["outcome"] == "complete" and run["seconds"] is not None and run["seconds"] <= limit,
        ),
        (f"distinct recipients {run['distinct']} (target {expected})", run["distinct"] == expected),
        (f"duplicates {run['duplicates']} (target 0)", run["duplicates"] == 0),
    ]
    if baseline and run["seconds"]:
        ratio = baseline["seconds"] / run["seconds"]
        run["ratio"] = ratio
        checks.append((f"baseline/yulan {ratio:.2f} (target ≥ {TARGET_RATIO})", ratio >= TARGET_RATIO))
    for label, passed in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {label}")
    return checks


def print_profile(path: str) -> None:
    if not Path(path).exists():
        print(f"  no profile was written to {path}")
        return
    print(f"\nprofile of worker 1 ({path}), by own time:")
    stats = pstats.Stats(path)
    stats.sort_stats("tottime").print_stats(25)
    print("by cumulative time:")
    stats.sort_stats("cumulative").print_stats(40)


def main() -> int:
    if sys.argv[1:2] == ["sink"]:
        sink_main()
        return 0
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    OUT_DIR.mkdir(exist_ok=True)
    sys.path.insert(0, str(BENCH_DIR))
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; python {platform.python_version()}")
    print(f"database: {args.database} ({PG_BENCH_URL if args.database == 'postgres' else SQLITE_FILE})")

    if not args.reuse:
        reset_database(args.database)
    django_setup(args.database)
    from django.db import connection

    from yulan.news.models import Subscriber

    seeded: dict[str, float] = {}
    if not args.reuse:
        print(f"seeding {args.subscribers} subscribers …", flush=True)
        seeded = seed(args.subscribers)
        print(
            f"seeded in {seeded['total_s']:.1f} s: migrate {seeded['migrate_s']:.1f}, "
            f"posts {seeded['content_s']:.1f}, subscribers {seeded['subscribers_s']:.1f}, "
            f"analyze {seeded['analyze_s']:.1f}"
        )
        if args.seed_only:
            return 0
    else:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)  # the code may have moved on since the seed
        have = Subscriber.objects.count()
        if have == 0:
            raise SystemExit("the bench database has no subscribers: run without --reuse")
        if have != args.subscribers:
            print(f"note: --reuse keeps the {have} subscribers seeded before (not {args.subscribers})")

    commit = project_commit()
    print(f"project: {commit}")
    reset_mailing()
    editor, bulletin = prepare_bulletin()
    people = audience(bulletin)
    expected = len(people.recipients)
    print(
        f"bulletin {bulletin}: {bulletin.items.count()} posts; {expected} recipients "
        f"({people.unreached} want none of the posts), {people.posts_per_message:.1f} posts a message, "
        f"{people.variants} distinct (language, posts) variants"
    )
    connection.close()

    baseline = None
    if not args.no_baseline:
        samples = rendered_samples(bulletin, people)
        print(f"baseline: smtplib, one connection, {len(samples)} pre-rendered messages …", flush=True)
        baseline = run_baseline(people, samples)
        print(
            f"baseline: {baseline['seconds']:.1f} s for {baseline['messages']} messages "
            f"({baseline['messages'] / baseline['seconds']:,.0f}/s, {baseline['mean_bytes']:,.0f} bytes each), "
            f"{baseline['distinct']} distinct, "
            f"{baseline['duplicates']} duplicates; CPU s: "
            + ", ".join(f"{k} {v:.1f}" for k, v in baseline["cpu_s"].items())
        )

    runs = []
    all_ok = True
    for i, count in enumerate(args.workers):
        if i:
            reset_mailing()
            editor, bulletin = prepare_bulletin()
        connection.close()
        print(f"\n{count} worker(s): sending to {expected} subscribers …", flush=True)
        run = run_product(args, count, editor, bulletin, expected)
        run["commit"] = project_commit()
        checks = report_run(run, baseline, expected)
        all_ok &= all(passed for _label, passed in checks)
        runs.append(run)
        for path in run["profiles"]:
            print_profile(path)
        connection.close()

    if project_commit() != commit:
        print(f"warning: the project changed during the run ({commit} → {project_commit()})")
    record = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
        "args": vars(args),
        "seed": seeded,
        "audience": {"recipients": expected, "variants": people.variants, "posts": people.posts_per_message},
        "baseline": baseline,
        "runs": runs,
        "passed": all_ok,
    }
    out = OUT_DIR / f"bulletin-results-{args.database}.json"
    out.write_text(json.dumps(record, indent=2, default=str))
    print(f"\n{'all targets met' if all_ok else 'some targets missed'}; figures in {out.relative_to(ROOT)}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
