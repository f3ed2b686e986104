from typing import Any

from django import template
from django.conf import settings
from django.http import HttpRequest
from django.urls import translate_url
from django.utils.translation import get_language

from yulan.core.i18n import Localized, localize, spoken_language_name

register = template.Library()


@register.simple_tag
def localized(value: Any, fallback: str | None = None) -> Localized:
    """`{% localized article.title article.source_language as title %}` → title.text,
    title.is_fallback, title.language_label."""
    return localize(value, fallback=fallback)


@register.filter
def spoken_language(code: str) -> str:
    return spoken_language_name(code)


@register.filter
def tr(value: Any, fallback: str | None = None) -> str:
    return localize(value, fallback=fallback).text


@register.simple_tag(takes_context=True)
def language_links(context: dict[str, Any]) -> list[dict[str, Any]]:
    request: HttpRequest | None = context.get("request")
    path = request.get_full_path() if request else "/"
    current = get_language()
    return [
        {"code": code, "name": name, "url": translate_url(path, code), "current": code == current}
        for code, name in settings.LANGUAGES
    ]


@register.simple_tag(takes_context=True)
def query_with(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (for pagination links)."""
    request: HttpRequest = context["request"]
    params = request.GET.copy()
    for key, value in changes.items():
        params[key] = value
    return "?" + params.urlencode()


@register.filter
def sanitized(value: str) -> str:
    """Stored HTML was cleaned when written; cleaning again on output guards rows that came
    in another way (imports, the admin)."""
    from django.utils.safestring import mark_safe

    from yulan.core.html import clean_html

    return mark_safe(clean_html(str(value)))  # noqa: S308


@register.filter
def weekday_name(day: int) -> str:
    from django.utils.dates import WEEKDAYS

    return str(WEEKDAYS[day])


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """`mapping|get_item:key` — a dict value by a key that is itself a variable."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
