"""Translatable content: `{lang: text}` stored with django-i18nfield, validated here, and read
with a visible fallback."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from i18nfield.strings import LazyI18nString

from yulan.core.errors import ApplicationError


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def language_name(code: str) -> str:
    return dict(settings.LANGUAGES).get(code, code)


def spoken_language_name(code: str) -> str:
    """A spoken language's name in the reader's language: "ja" → "Japanese" / "日语" …"""
    if code == "zh":
        return str(_("Chinese"))
    info = LANG_INFO.get(code)
    return translation.gettext(info["name"]) if info else code


def clean_translations(
    value: Any,
    *,
    field: str,
    required: bool = True,
    max_chars: int | None = None,
) -> dict[str, str]:
    """Check a `{lang: text}` mapping: known language codes only, text values, within size.
    Empty translations are dropped. Raises ApplicationError naming the field."""
    if isinstance(value, LazyI18nString):
        value = value.data
    if value is None or value == "":
        value = {}
    if isinstance(value, str):
        value = {settings.LANGUAGE_CODE: value}
    if not isinstance(value, dict):
        raise ApplicationError(_("Enter the text as a mapping of language code to text."), field=field)
    known = set(language_codes())
    limit = max_chars or settings.YULAN_MAX_TEXT_CHARS
    cleaned: dict[str, str] = {}
    for code, text in value.items():
        if code not in known:
            raise ApplicationError(
                _("Unknown language code “%(code)s”. Use one of: %(codes)s.")
                % {"code": code, "codes": ", ".join(sorted(known))},
                field=field,
            )
        if text is None:
            continue
        if not isinstance(text, str):
            raise ApplicationError(_("Each translation must be text."), field=field)
        text = text.strip()
        if len(text) > limit:
            raise ApplicationError(
                _("The %(lang)s text is too long: %(n)d characters, at most %(max)d.")
                % {"lang": language_name(code), "n": len(text), "max": limit},
                field=field,
            )
        if text:
            cleaned[code] = text
    if required and not cleaned:
        raise ApplicationError(_("This field is required in at least one language."), field=field)
    return cleaned


@dataclass(frozen=True)
class Localized:
    text: str
    language: str
    requested: str

    @property
    def is_fallback(self) -> bool:
        return bool(self.text) and self.language != self.requested

    @property
    def language_label(self) -> str:
        return language_name(self.language)

    def __str__(self) -> str:
        return self.text


def localize(value: Any, language: str | None = None, fallback: str | None = None) -> Localized:
    """The text in `language` (default: the active one); if missing, in `fallback` (the
    content's own default language), then English, then any language that has it. The result
    says which language it is in, so a page can say so."""
    requested = language or translation.get_language() or settings.LANGUAGE_CODE
    data = value.data if isinstance(value, LazyI18nString) else value
    if not data:
        return Localized("", requested, requested)
    if isinstance(data, str):
        return Localized(data, requested, requested)
    order = [requested, fallback, settings.LANGUAGE_CODE, *data.keys()]
    for code in order:
        if code and data.get(code):
            return Localized(data[code], code, requested)
    return Localized("", requested, requested)


def translations_of(value: Any) -> dict[str, str]:
    """The `{lang: text}` mapping behind a stored value, whatever form it is in."""
    data = value.data if isinstance(value, LazyI18nString) else value
    if isinstance(data, dict):
        return data
    if isinstance(data, str) and data:
        return {settings.LANGUAGE_CODE: data}
    return {}
