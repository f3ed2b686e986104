"""Search across guide articles and directory places, in any of the site's languages.

The write side keeps one `SearchDocument` per object and language, with two normalized texts:
`haystack` (title and body, case-folded) and `grams` (each run of Chinese, Japanese or Korean
characters cut into overlapping pairs, plus the title's other words).

The read side:
- three characters or more: a substring of `haystack` (trigram index: FTS5 with the trigram
  tokenizer on SQLite, pg_trgm GIN on PostgreSQL), so 国际图书 or "departments of hosp" match;
- one or two characters (医院, 병원, "tv"): a word of `grams` (FTS5 unicode61 on SQLite, a
  'simple' text-search GIN index on PostgreSQL) — trigram indexes cannot look these up;
- nothing found for four characters or more: a typo-forgiving pass (documents sharing the
  query's first and last trigrams, or its first two, or its last two, kept when most of its
  trigrams are present), through the same trigram index.

Matches are not ranked over the whole index (that costs a read per match, tens of thousands
for a common word): the first matches found are taken, those whose title holds the query
first.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from yulan.guide.models import SearchDocument

MAX_QUERY_CHARS = 200
MIN_SIMILARITY = 0.5
CANDIDATES_PER_HIT = 8
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_SHORT_TERM = re.compile(r"^\w{1,2}$")


@dataclass(frozen=True)
class Hit:
    kind: str
    object_id: int


def normalize(text: str) -> str:
    return " ".join(text.casefold().split())


def cjk_pairs(text: str) -> list[str]:
    """Each run of CJK characters as its overlapping pairs (a lone character stays alone)."""
    out: list[str] = []
    for run in _CJK.findall(text):
        out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    return out


def document(*, kind: str, object_id: int, language: str, title: str, body: str) -> SearchDocument:
    """The search document of one object in one language (not saved)."""
    title = title[:300]
    norm_title = normalize(title)
    haystack = normalize(f"{title} {body}")
    grams = " ".join([*dict.fromkeys(cjk_pairs(haystack)), _CJK.sub(" ", norm_title)])
    return SearchDocument(
        kind=kind, object_id=object_id, language=language, title=title, body=body, haystack=haystack, grams=grams
    )


def document_replace(*, kind: str, object_id: int, texts: dict[str, tuple[str, str]]) -> None:
    """Replace the search documents of one object: `texts` maps language → (title, body).
    An empty mapping takes the object out of search."""
    SearchDocument.objects.filter(kind=kind, object_id=object_id).delete()
    SearchDocument.objects.bulk_create(
        document(kind=kind, object_id=object_id, language=lang, title=title, body=body)
        for lang, (title, body) in texts.items()
        if title or body
    )


def _trigrams(text: str) -> list[str]:
    """The query's trigrams in order, without those that start or end with a space."""
    grams = [text[i : i + 3] for i in range(len(text) - 2)]
    return list(dict.fromkeys(g for g in grams if g.strip() == g and '"' not in g and "'" not in g))


def _similar_enough(query: str, haystack: str) -> bool:
    grams = _trigrams(query)
    if not grams:
        return False
    present = sum(1 for g in grams if g in haystack)
    return present / len(grams) >= MIN_SIMILARITY


def _hits(rows: Iterable[tuple[str, int, str]], q: str, limit: int) -> list[Hit]:
    """Distinct objects, those whose title holds the query first, at most `limit`."""
    ordered = sorted(rows, key=lambda row: q not in normalize(row[2]))  # stable: keeps index order
    seen: dict[tuple[str, int], None] = {}
    for kind, object_id, _title in ordered:
        seen.setdefault((kind, object_id), None)
        if len(seen) >= limit:
            break
    return [Hit(kind, object_id) for kind, object_id in seen]


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _short_term(q: str) -> str | None:
    """A one- or two-character query as a word of the `grams` index, or None if it is not one."""
    q = q.strip()
    return q if _SHORT_TERM.match(q) else None


def _sqlite_search(q: str, kinds: list[str], limit: int) -> list[Hit]:
    n = limit * CANDIDATES_PER_HIT
    # Only placeholders are joined into the SQL; every value travels as a parameter.
    kind_in = f"d.kind IN ({','.join('%s' for _ in kinds)})"

    def fts(table: str, match: str, extra: str = "") -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT d.kind, d.object_id, d.title{extra} FROM {table} f "  # noqa: S608
                f"JOIN guide_searchdocument d ON d.id = f.rowid WHERE {table} MATCH %s AND {kind_in} LIMIT %s",
                [match, *kinds, n],
            )
            return cursor.fetchall()

    if len(q) < 3:
        term = _short_term(q)
        if term is None:
            return []
        whole_pair = len(term) == 2 and _CJK.fullmatch(term)
        return _hits(fts("guide_search_short", _fts_phrase(term) + ("" if whole_pair else "*")), q, limit)
    hits = _hits(fts("guide_search_fts", _fts_phrase(q)), q, limit)
    if hits or len(q) < 4:
        return hits
    return _typo_search(
        q, limit, lambda a, b: fts("guide_search_fts", f"{_fts_phrase(a)} AND {_fts_phrase(b)}", ", d.haystack")
    )


def _typo_search(q: str, limit: int, fetch: Callable[[str, str], list[tuple[Any, ...]]]) -> list[Hit]:
    """Documents holding two of the query's trigrams (`fetch` finds them), kept when most of
    its trigrams are present. A typo breaks the trigrams around it; the word's start or its
    end survives, so the pairs tried are (first, last), (first, second), (second-last, last)."""
    grams = _trigrams(q)
    if len(grams) < 2:
        return []
    found: list[tuple[str, int, str]] = []
    for first, last in dict.fromkeys([(grams[0], grams[-1]), (grams[0], grams[1]), (grams[-2], grams[-1])]):
        if first == last:
            continue
        found.extend((kind, oid, title) for kind, oid, title, hay in fetch(first, last) if _similar_enough(q, hay))
        if len({(k, o) for k, o, _t in found}) >= limit:
            break
    return _hits(found, q, limit)


def _postgres_search(q: str, kinds: list[str], limit: int) -> list[Hit]:
    n = limit * CANDIDATES_PER_HIT
    base = SearchDocument.objects.filter(kind__in=kinds)
    if len(q) < 3:
        term = _short_term(q)
        if term is None:
            return []
        whole_pair = len(term) == 2 and _CJK.fullmatch(term)
        query = f"'{term}'" + ("" if whole_pair else ":*")
        match = RawSQL(
            "to_tsvector('simple'::regconfig, grams) @@ to_tsquery('simple'::regconfig, %s)",
            [query],
            output_field=BooleanField(),
        )
        return _hits(base.filter(match).values_list("kind", "object_id", "title")[:n], q, limit)
    hits = _hits(base.filter(haystack__contains=q).values_list("kind", "object_id", "title")[:n], q, limit)
    if hits or len(q) < 4:
        return hits
    return _typo_search(
        q,
        limit,
        lambda a, b: list(
            base.filter(haystack__contains=a)
            .filter(haystack__contains=b)
            .values_list("kind", "object_id", "title", "haystack")[:n]
        ),
    )


def search(query: str, *, kinds: Iterable[str] = ("article", "place"), limit: int = 50) -> list[Hit]:
    q = normalize(query)[:MAX_QUERY_CHARS]
    if not q:
        return []
    kind_list = list(kinds)
    if connection.vendor == "postgresql":
        return _postgres_search(q, kind_list, limit)
    return _sqlite_search(q, kind_list, limit)
