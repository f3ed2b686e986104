"""The feedback writes that many people do at once: "me too" pressed over and over, the same
submission arriving several times together (a double click, a client retrying), two staff
merging two items into each other, and following. Each thread runs on its own real database
connection: PostgreSQL when DATABASE_URL names one (as `make test-postgres` does), else SQLite.

Mail is only queued here: the delivery tasks asked for on commit are recorded, not run."""

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import make_password
from django.db import connections

from yulan.core.errors import ApplicationError
from yulan.core.models import OutgoingMail, User
from yulan.voice import language, services
from yulan.voice.models import Follower, Item, Support

from .conftest import submit

ON_POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def in_parallel(jobs: Iterable[Any], work: Callable[[Any], Any], threads: int) -> list[tuple[Any, Any]]:
    """Run `work(job)` for every job on `threads` threads that start together, each on its own
    database connection (closed when the thread is done). Returns (job, result or exception)."""
    todo: queue.Queue[Any] = queue.Queue()
    for job in jobs:
        todo.put(job)
    outcomes: list[tuple[Any, Any]] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker() -> None:
        try:
            start.wait()
            while True:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    result = work(job)
                except Exception as exc:  # every failure is counted
                    result = exc
                with lock:
                    outcomes.append((job, result))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()
    return outcomes


def failures(outcomes: list[tuple[Any, Any]]) -> list[str]:
    return [repr(result) for _job, result in outcomes if isinstance(result, BaseException)]


@pytest.fixture(autouse=True)
def _queued_only(settings):
    """Deliveries asked for on commit are only recorded: these tests look at what is stored."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    language.detect("warming up the detector", "en")


def make_people(n: int) -> list[User]:
    password = make_password("pw-person-1234")
    User.objects.bulk_create(User(email=f"voice{i:03d}@example.org", password=password) for i in range(n))
    return list(User.objects.filter(email__startswith="voice").order_by("email"))


def fresh(item: Item) -> Item:
    return Item.objects.get(pk=item.pk)


# --- support ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_presses_of_me_too_by_one_account_count_once(routing, resident):
    item = submit().item
    outcomes = in_parallel(range(20), lambda _n: services.support_add(user=resident, item_id=item.pk), threads=20)
    assert failures(outcomes) == []
    assert Support.objects.filter(item=item).count() == 1
    assert fresh(item).supporters_count == 1
    # And taking it back twenty times at once leaves it at nothing, never below.
    outcomes = in_parallel(range(20), lambda _n: services.support_remove(user=resident, item_id=item.pk), threads=20)
    assert failures(outcomes) == []
    assert (Support.objects.filter(item=item).count(), fresh(item).supporters_count) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_fifty_accounts_at_once_count_fifty(routing):
    item = submit().item
    people = make_people(50)
    outcomes = in_parallel(people, lambda user: services.support_add(user=user, item_id=item.pk), threads=50)
    assert failures(outcomes) == []
    assert Support.objects.filter(item=item).count() == 50
    assert fresh(item).supporters_count == 50


# --- the same submission at once --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_submission_sent_ten_times_at_once_is_stored_once(routing):
    outcomes = in_parallel(range(10), lambda _n: submit(), threads=10)
    assert failures(outcomes) == []
    assert Item.objects.count() == 1
    item = Item.objects.get()
    assert {result.item.pk for _n, result in outcomes} == {item.pk}
    assert sum(1 for _n, result in outcomes if result.created) == 1
    assert OutgoingMail.objects.filter(context__notice="received").count() == 1
    assert item.spans.count() == 1


@pytest.mark.django_db(transaction=True)
def test_different_submissions_at_once_are_all_stored(routing):
    texts = [f"Lamp number {n} on Hongqiao Road has been out since Monday." for n in range(10)]
    outcomes = in_parallel(texts, lambda text: submit(text=text), threads=10)
    assert failures(outcomes) == []
    assert Item.objects.count() == 10
    assert all(result.created for _text, result in outcomes)


@pytest.mark.django_db(transaction=True)
def test_a_repeat_waits_for_a_first_copy_that_is_slow_to_store(routing, monkeypatch):
    real_detect = language.detect

    def slow_detect(text: str, fallback: str) -> str:
        time.sleep(2.5)
        return real_detect(text, fallback)

    monkeypatch.setattr(language, "detect", slow_detect)
    outcomes = in_parallel(range(3), lambda _n: submit(), threads=3)
    assert failures(outcomes) == []
    assert Item.objects.count() == 1


# --- merging --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_merges_into_each_other_at_once_one_wins_without_deadlock(routing, editor, coordinator):
    for round_ in range(5):
        a = submit(text=f"Round {round_}: the lamp at building 5 is out.").item
        b = submit(text=f"Round {round_}: the lamp outside number 5 is broken.").item
        pairs = [(editor, a.pk, b.pk), (coordinator, b.pk, a.pk)]
        outcomes = in_parallel(
            pairs, lambda job: services.item_merge(actor=job[0], item_id=job[1], into_id=job[2]), threads=2
        )
        done = [result for _job, result in outcomes if isinstance(result, Item)]
        refused = [result for _job, result in outcomes if isinstance(result, ApplicationError)]
        assert len(done) == 1 and len(refused) == 1, failures(outcomes)
        assert refused[0].status == 409
        a, b = fresh(a), fresh(b)
        statuses = sorted([a.status, b.status])
        assert statuses == [Item.Status.MERGED, Item.Status.RECEIVED]
        merged, kept = (a, b) if a.status == Item.Status.MERGED else (b, a)
        assert merged.merged_into_id == kept.pk and kept.merged_into_id is None


@pytest.mark.django_db(transaction=True)
def test_a_merge_and_a_bulk_change_of_the_same_items_do_not_deadlock(routing, editor, coordinator, monkeypatch):
    older = submit(text="The lamp at building 5 is out.").item
    newer = submit(text="The lamp outside number 5 is broken.").item
    first_locked = threading.Event()
    real_set_status = services.item_set_status

    def set_status(**kwargs):
        result = real_set_status(**kwargs)
        if kwargs["item_id"] == older.pk:
            # The bulk change holds the older item; give the merge time to come for both.
            first_locked.set()
            time.sleep(1.5)
        return result

    monkeypatch.setattr(services, "item_set_status", set_status)

    def work(job: str) -> Any:
        if job == "bulk":
            return services.items_bulk(
                actor=editor, item_ids=[older.pk, newer.pk], action="status", value=Item.Status.IN_PROGRESS
            )
        first_locked.wait(10)
        return services.item_merge(actor=coordinator, item_id=newer.pk, into_id=older.pk)

    outcomes = in_parallel(["bulk", "merge"], work, threads=2)
    assert failures(outcomes) == []
    assert fresh(newer).status == Item.Status.MERGED


# --- following ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_confirming_a_follow_ten_times_at_once_counts_once(routing):
    item = submit().item
    pending = services.follow_request(item_id=item.pk, email="zhang@example.org", language="zh-hans")
    outcomes = in_parallel(range(10), lambda _n: services.follow_confirm(follower_id=pending.pk), threads=10)
    assert failures(outcomes) == []
    assert fresh(item).followers_count == 1


@pytest.mark.django_db(transaction=True)
def test_an_account_following_ten_times_at_once_counts_once(routing, resident):
    item = submit().item
    outcomes = in_parallel(
        range(10),
        lambda _n: services.follow_request(item_id=item.pk, email=resident.email, language="en", user=resident),
        threads=10,
    )
    assert failures(outcomes) == []
    assert Follower.objects.filter(item=item).count() == 1
    assert fresh(item).followers_count == 1


@pytest.mark.django_db(transaction=True)
def test_an_account_confirming_its_pending_address_twice_at_once_counts_once(routing, resident, monkeypatch):
    item = submit().item
    # The address was given once without signing in: it waits for its confirmation.
    services.follow_request(item_id=item.pk, email=resident.email, language="en")
    both_read = threading.Barrier(2, timeout=3)
    real_save = Follower.save

    def save(self, *args, **kwargs):
        # Both requests have read the row before either writes (SQLite lets only one in at a
        # time: there the wait runs out and they go one after the other).
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Follower, "save", save)
    outcomes = in_parallel(
        range(2),
        lambda _n: services.follow_request(item_id=item.pk, email=resident.email, language="en", user=resident),
        threads=2,
    )
    assert failures(outcomes) == []
    assert Follower.objects.get(item=item).confirmed
    assert fresh(item).followers_count == 1
