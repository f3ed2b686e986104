"""A fixed-window rate limit on public writes, counted in the cache (shared through Redis when
several servers run)."""

import time

from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def allow(scope: str, key: str, *, limit: int, period_seconds: int) -> bool:
    """Count one more hit for `key` in `scope`; False once more than `limit` fall in the window."""
    if limit <= 0:
        return True
    window = int(time.time() // period_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    if cache.add(cache_key, 1, timeout=period_seconds):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=period_seconds)
        count = 1
    return count <= limit
