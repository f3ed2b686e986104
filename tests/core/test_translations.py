"""The UI translations: every language's catalogue is complete, in step with the source strings,
compiled, and actually used when a page is served in that language."""

import re
import shutil
from collections import Counter
from io import StringIO
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import to_locale

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = ROOT / "yulan"
LOCALE_DIR = SOURCE_DIR / "locale"
LOCALES = [to_locale(code) for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]

# %(name)s, %(n)d, %s, %.2f ... (a literal "%%" is not a placeholder).
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0\- +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa]")
NAMED_PLACEHOLDER = re.compile(r"%\(\w+\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")

# Translations that are rightly the same as the English: loanwords, units and words both languages share.
SAME_AS_ENGLISH = {
    "zh_Hans": {"API", "%(p)s%%"},
    "ja": {"API", "%(p)s%%"},
    "ko": {"API", "%(p)s%%", "#%(n)d: %(message)s"},
    "fr": {
        "API",
        "district",
        "districts",
        "latitude",
        "longitude",
        "Latitude",
        "Longitude",
        "%(d)s m",
        "%(n)s article",
        "%(n)s place",
        "h",
    },
    "de": {"API", "Administrator", "Name", "Status", "%(d)s m"},
    "es": {"API", "roles", "No", "%(d)s m", "h"},
    "ru": {"API"},
}


@pytest.fixture(autouse=True)
def _restore_the_active_language():
    """A request to /ja/... leaves Japanese active in this thread; the next test must not inherit it."""
    with translation.override(translation.get_language()):
        yield


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "django.po"


def load_po(locale: str) -> polib.POFile:
    path = po_path(locale)
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run `make messages` and translate it"
    return polib.pofile(str(path))


def nplurals(catalogue: polib.POFile | polib.MOFile) -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", catalogue.metadata.get("Plural-Forms", ""))
    assert match, "the catalogue has no Plural-Forms header"
    return int(match.group(1))


def live_entries(catalogue: polib.POFile) -> list[polib.POEntry]:
    return [e for e in catalogue if not e.obsolete]


def translations(catalogue: polib.POFile | polib.MOFile) -> dict[tuple[str | None, str], object]:
    """(context, msgid) -> the translation: a string, or the tuple of plural forms."""
    result: dict[tuple[str | None, str], object] = {}
    for e in catalogue:
        if getattr(e, "obsolete", False) or "fuzzy" in e.flags:
            continue
        key = (e.msgctxt or None, e.msgid)
        if e.msgid_plural:
            result[key] = (e.msgid_plural, tuple(e.msgstr_plural[i] for i in sorted(e.msgstr_plural)))
        else:
            result[key] = e.msgstr
    return result


def describe(entry: polib.POEntry) -> str:
    return f"{entry.msgctxt} | {entry.msgid!r}" if entry.msgctxt else repr(entry.msgid)


def test_every_ui_language_but_english_has_a_catalogue():
    assert len(LOCALES) == 7
    missing = [str(po_path(locale).relative_to(ROOT)) for locale in LOCALES if not po_path(locale).is_file()]
    assert not missing, f"catalogues missing, run `make messages`: {missing}"


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_fully_translated_with_no_fuzzy_entries(locale):
    catalogue = load_po(locale)
    assert not catalogue.metadata_is_fuzzy, f"{locale}: the header is marked fuzzy"
    assert catalogue.metadata.get("Content-Type") == "text/plain; charset=UTF-8"
    assert live_entries(catalogue), f"{locale}: the catalogue is empty"
    forms = nplurals(catalogue)
    fuzzy = [describe(e) for e in live_entries(catalogue) if "fuzzy" in e.flags]
    assert not fuzzy, f"{locale}: fuzzy entries: {fuzzy}"
    untranslated = []
    for e in live_entries(catalogue):
        if e.msgid_plural:
            filled = [e.msgstr_plural.get(i, "") for i in range(forms)]
            if len(e.msgstr_plural) != forms or not all(filled):
                untranslated.append(describe(e))
        elif not e.msgstr:
            untranslated.append(describe(e))
    assert not untranslated, f"{locale}: untranslated entries (all {forms} plural forms needed): {untranslated}"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders_and_tags_of_the_english(locale):
    problems = []
    for e in live_entries(load_po(locale)):
        if e.msgid_plural:
            wanted = set(PLACEHOLDER.findall(e.msgid)) | set(PLACEHOLDER.findall(e.msgid_plural))
            texts = list(e.msgstr_plural.values())
        else:
            wanted = PLACEHOLDER.findall(e.msgid)
            texts = [e.msgstr]
        for text in texts:
            if "python-format" in e.flags:
                found = PLACEHOLDER.findall(text)
                if (set(found) != wanted) if e.msgid_plural else (Counter(found) != Counter(wanted)):
                    problems.append(f"{describe(e)} -> {text!r}: placeholders {sorted(found)} != {sorted(wanted)}")
            elif NAMED_PLACEHOLDER.search(text):
                problems.append(f"{describe(e)} -> {text!r}: a placeholder the English does not have")
            if Counter(HTML_TAG.findall(text)) != Counter(HTML_TAG.findall(e.msgid)):
                problems.append(f"{describe(e)} -> {text!r}: HTML tags differ from the English")
    assert not problems, f"{locale}:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_are_not_left_in_english(locale):
    allowed = SAME_AS_ENGLISH[locale]
    copied = []
    for e in live_entries(load_po(locale)):
        if e.msgid_plural:
            if e.msgstr_plural.get(0) == e.msgid and e.msgid not in allowed:
                copied.append(describe(e))
        elif e.msgstr == e.msgid and e.msgid not in allowed:
            copied.append(describe(e))
    assert not copied, f"{locale}: translations identical to the English: {copied}"


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches_its_po_file(locale):
    mo_path = po_path(locale).with_suffix(".mo")
    assert mo_path.is_file(), f"{mo_path.relative_to(ROOT)} is missing: run `make messages`"
    po, mo = load_po(locale), polib.mofile(str(mo_path))
    assert nplurals(mo) == nplurals(po)
    compiled, source = translations(mo), translations(po)
    stale = sorted(repr(k[1]) for k in source.keys() | compiled.keys() if source.get(k) != compiled.get(k))
    assert not stale, f"{locale}: django.mo differs from django.po, run `make messages`; entries: {stale}"


def test_catalogue_holds_every_ui_string_of_the_source(tmp_path, settings, monkeypatch):
    """Extract the strings from a copy of the source tree, as `make messages` does, and compare."""
    if not (shutil.which("xgettext") and shutil.which("msguniq") and shutil.which("msgmerge")):
        pytest.fail("GNU gettext (xgettext, msguniq, msgmerge) is needed to extract the UI strings")
    copy = tmp_path / "yulan"
    shutil.copytree(SOURCE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "*.po"))
    (copy / "locale").mkdir(exist_ok=True)
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["fr"], no_location=True, verbosity=0, stdout=StringIO(), stderr=StringIO())

    extracted = polib.pofile(str(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"))
    in_source = {(e.msgctxt or None, e.msgid) for e in live_entries(extracted)}
    in_catalogue = {(e.msgctxt or None, e.msgid) for e in live_entries(load_po("fr"))}
    missing = sorted(msgid for _ctx, msgid in in_source - in_catalogue)
    unused = sorted(msgid for _ctx, msgid in in_catalogue - in_source)
    assert not missing, f"UI strings with no translation; run `make messages` and translate them: {missing}"
    assert not unused, f"the catalogue has strings the source no longer uses; run `make messages`: {unused}"
    plurals = {e.msgid: e.msgid_plural for e in live_entries(extracted) if e.msgid_plural}
    assert plurals == {e.msgid: e.msgid_plural for e in live_entries(load_po("fr")) if e.msgid_plural}


def translated(locale: str, msgid: str) -> str:
    for e in live_entries(load_po(locale)):
        if e.msgid == msgid and not e.msgctxt:
            assert e.msgstr and e.msgstr != msgid, f"{locale}: {msgid!r} is not translated"
            return e.msgstr
    raise AssertionError(f"{msgid!r} is not in the {locale} catalogue")


@pytest.mark.parametrize(
    ("url", "locale", "msgids"),
    [
        ("/ja/guide/", "ja", ["Skip to main content", "Guide", "Guide to living in the city", "Places"]),
        ("/de/", "de", ["Skip to main content", "Guide", "Find places near me", "Sign in"]),
        ("/zh-hans/places/", "zh_Hans", ["Skip to main content", "Directory of places", "All kinds"]),
        ("/ru/places/near/", "ru", ["Places near me", "Where are you?", "Use my location"]),
    ],
)
def test_pages_show_the_translated_ui(client, db, url, locale, msgids):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{url.split("/")[1]}"' in html
    for msgid in msgids:
        assert escape(translated(locale, msgid)) in html, f"{url}: the {locale} text for {msgid!r} is not shown"
    assert "Skip to main content" not in html
