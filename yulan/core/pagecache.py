"""Whole-page cache for visitors without a session.

A view marks its response as public (`@public_page`); the middleware, high in the stack, keeps
such pages for visitors who carry no session and no pending message (they all see the same
page) and answers the next such visitor from the cache before sessions, authentication and
the view run. Any write to public content bumps a generation number (`public_pages_changed`,
after the transaction commits), which retires every cached page at once.

With a shared cache (Redis, `REDIS_URL`) the bump reaches every server process at once. With
the local-memory default each process has its own cache, so another process may show an old
page for up to `YULAN_PAGE_CACHE_SECONDS`. Each process reads the generation at most once a
second, so with a shared cache other processes follow a change within a second.
"""

import hashlib
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction
from django.http import HttpRequest, HttpResponse

GENERATION_KEY = "public-pages:generation"
KEPT_HEADERS = ("Content-Type", "Content-Language", "Vary", "X-Frame-Options")
# Each process reads the generation at most once a second: a hit then costs one cache read.
GENERATION_READ_SECONDS = 1.0
_generation: tuple[float, int] | None = None  # (read at, value)
# Pages are also kept in the process's own memory: a key holds the generation, so a page
# retired in the shared cache is never found here either.
local = caches["pages"]


def _current_generation() -> int:
    global _generation
    now = time.monotonic()
    if _generation is None or now - _generation[0] > GENERATION_READ_SECONDS:
        _generation = (now, cache.get(GENERATION_KEY, 0))
    return _generation[1]


def public_page(view: Callable[..., HttpResponse] | None = None, *, seconds: int | None = None) -> Any:
    """The page is the same for every visitor without a session: it may be cached. A page
    showing something that changes without an edit (places left at an event) gives a shorter
    life in `seconds`: `@public_page(seconds=15)`."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response.public_page = True  # type: ignore[attr-defined]
            if seconds is not None:
                response.public_page_seconds = seconds  # type: ignore[attr-defined]
            return response

        return wrapper

    return decorate(view) if view is not None else decorate


def public_pages_changed() -> None:
    """Retire every cached page once the current transaction commits."""

    def bump() -> None:
        global _generation
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:
            cache.add(GENERATION_KEY, 1, timeout=None)
        _generation = None

    transaction.on_commit(bump)


def _visitor_without_session(request: HttpRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


class PublicPageCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _visitor_without_session(request) or settings.YULAN_PAGE_CACHE_SECONDS <= 0:
            return self.get_response(request)
        generation = _current_generation()
        key = "public-page:" + hashlib.sha256(f"{generation}|{request.get_full_path()}".encode()).hexdigest()
        kept = local.get(key)
        if kept is None:
            kept = cache.get(key)
            if kept is not None:
                local.set(key, kept, kept[2])
        if kept is not None:
            content, headers, _seconds = kept
            response = HttpResponse(content, headers=headers)
            response["X-Page-Cache"] = "hit"
            return response
        response = self.get_response(request)
        if (
            getattr(response, "public_page", False)
            and response.status_code == 200
            and not response.cookies
            and not response.streaming
        ):
            headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
            seconds = min(
                settings.YULAN_PAGE_CACHE_SECONDS,
                getattr(response, "public_page_seconds", settings.YULAN_PAGE_CACHE_SECONDS),
            )
            kept = (response.content, headers, seconds)
            cache.set(key, kept, seconds)
            local.set(key, kept, seconds)
        return response
