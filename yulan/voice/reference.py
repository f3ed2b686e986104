"""The small tables every submission reads — categories, communities and their centres, routing
rules, offices — kept in each process and read again when any of them changes.

A change writes a new generation mark to the shared cache (at once and again after commit);
each process compares its copy's mark on use. With the local-memory cache (no Redis) other
processes cannot see the mark, so a copy is also read again after `MAX_AGE_SECONDS`."""

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction

from yulan.core.models import Community, Office
from yulan.voice.models import Category, RoutingRule

GENERATION_KEY = "voice:reference"
MAX_AGE_SECONDS = 30
# The shared mark is looked at most this often by each process (a submission uses the copy
# several times; one look a second is enough for a change to reach every process).
CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Reference:
    generation: str
    loaded_at: float
    categories: dict[str, Category]  # active ones, by slug (the Open311 service code)
    communities: dict[str, Community]  # by slug
    centres: list[Community]  # those with coordinates
    rules: dict[tuple[int | None, int | None], int]  # (category, community) → office id
    offices: dict[int, Office]


_lock = threading.Lock()
_current: Reference | None = None
_checked_at = 0.0


def _generation() -> str:
    mark = cache.get(GENERATION_KEY)
    if mark is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        mark = cache.get(GENERATION_KEY) or ""
    return str(mark)


def _load(generation: str) -> Reference:
    communities = {c.slug: c for c in Community.objects.all()}
    return Reference(
        generation=generation,
        loaded_at=time.monotonic(),
        categories={c.slug: c for c in Category.objects.filter(active=True)},
        communities=communities,
        centres=[c for c in communities.values() if c.latitude is not None and c.longitude is not None],
        rules={(r.category_id, r.community_id): r.office_id for r in RoutingRule.objects.all()},
        offices={o.pk: o for o in Office.objects.all()},
    )


def current() -> Reference:
    global _current, _checked_at
    found = _current
    now = time.monotonic()
    if found is not None and now - _checked_at < CHECK_SECONDS and now - found.loaded_at < MAX_AGE_SECONDS:
        return found
    generation = _generation()
    _checked_at = now
    if found is not None and found.generation == generation and now - found.loaded_at < MAX_AGE_SECONDS:
        return found
    with _lock:
        found = _load(generation)
        _current = found
    return found


def forget() -> None:
    """Drop this process's copy (the next use reads the tables)."""
    global _current
    _current = None


def changed(**_kwargs: Any) -> None:
    """Some reference row changed: every process reads the tables again on next use."""

    def bump() -> None:
        global _current
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        _current = None  # this process reads the tables again at once

    bump()
    transaction.on_commit(bump)


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    for model in (Category, RoutingRule, Community, Office):
        post_save.connect(changed, sender=model, dispatch_uid=f"voice-reference-save-{model.__name__}")
        post_delete.connect(changed, sender=model, dispatch_uid=f"voice-reference-delete-{model.__name__}")
