"""Search across guide articles and directory places, in any of the site's languages.

The write side keeps one `SearchDocument` per object and language. The read side finds
substrings, including Chinese, Japanese and Korean text with no spaces:
- SQLite: an FTS5 table with the trigram tokenizer (created by migration 0002), ranked by bm25;
- PostgreSQL: pg_trgm GIN index on `haystack`, LIKE for substrings.
If nothing matches exactly, both fall back to trigram similarity, which forgives a typo.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from yulan.guide.models import SearchDocument

MAX_QUERY_CHARS = 200
MIN_SIMILARITY = 0.5


@dataclass(frozen=True)
class Hit:
    kind: str
    object_id: int


def normalize(text: str) -> str:
    return " ".join(text.casefold().split())


def document_replace(*, kind: str, object_id: int, texts: dict[str, tuple[str, str]]) -> None:
    """Replace the search documents of one object: `texts` maps language → (title, body).
    An empty mapping takes the object out of search."""
    SearchDocument.objects.filter(kind=kind, object_id=object_id).delete()
    SearchDocument.objects.bulk_create(
        SearchDocument(
            kind=kind,
            object_id=object_id,
            language=lang,
            title=title[:300],
            body=body,
            haystack=normalize(f"{title} {body}"),
        )
        for lang, (title, body) in texts.items()
        if title or body
    )


def _trigrams(text: str) -> list[str]:
    grams = {text[i : i + 3] for i in range(len(text) - 2)}
    return sorted(g for g in grams if g.strip() == g and '"' not in g)


def _dedupe(rows: Iterable[tuple[str, int]], limit: int) -> list[Hit]:
    seen: dict[tuple[str, int], None] = {}
    for kind, object_id in rows:
        seen.setdefault((kind, object_id), None)
        if len(seen) >= limit:
            break
    return [Hit(kind, object_id) for kind, object_id in seen]


def _similar_enough(query: str, haystack: str) -> bool:
    grams = _trigrams(query)
    if not grams:
        return False
    present = sum(1 for g in grams if g in haystack)
    return present / len(grams) >= MIN_SIMILARITY


def _sqlite_search(q: str, kinds: list[str], limit: int) -> list[Hit]:
    # Only placeholders are joined into the SQL; every value travels as a parameter.
    kind_sql = f" AND d.kind IN ({','.join('%s' for _ in kinds)})"
    with connection.cursor() as cursor:
        if len(q) >= 3:
            cursor.execute(
                "SELECT d.kind, d.object_id FROM guide_search_fts f "  # noqa: S608
                "JOIN guide_searchdocument d ON d.id = f.rowid "
                "WHERE guide_search_fts MATCH %s" + kind_sql + " ORDER BY bm25(guide_search_fts, 4.0, 1.0) LIMIT %s",
                ['"' + q.replace('"', '""') + '"', *kinds, limit * 8],
            )
        else:
            # Trigrams need three characters; a one- or two-character word (医院, 병원) is a scan.
            cursor.execute(
                "SELECT d.kind, d.object_id FROM guide_searchdocument d "  # noqa: S608
                "WHERE instr(d.haystack, %s) > 0" + kind_sql + " ORDER BY instr(d.title, %s) = 0, d.id LIMIT %s",
                [q, *kinds, q, limit * 8],
            )
        hits = _dedupe(cursor.fetchall(), limit)
        if hits or len(q) < 4:
            return hits
        grams = _trigrams(q)
        cursor.execute(
            "SELECT d.kind, d.object_id, d.haystack FROM guide_search_fts f "  # noqa: S608
            "JOIN guide_searchdocument d ON d.id = f.rowid "
            "WHERE guide_search_fts MATCH %s" + kind_sql + " ORDER BY bm25(guide_search_fts, 4.0, 1.0) LIMIT 400",
            [" OR ".join(f'"{g}"' for g in grams), *kinds],
        )
        rows = [(k, oid) for k, oid, hay in cursor.fetchall() if _similar_enough(q, hay)]
    return _dedupe(rows, limit)


def _postgres_search(q: str, kinds: list[str], limit: int) -> list[Hit]:
    from django.contrib.postgres.search import TrigramWordSimilarity
    from django.db.models import Case, IntegerField, Value, When

    base = SearchDocument.objects.filter(kind__in=kinds)
    exact = (
        base.filter(haystack__contains=q)
        .annotate(in_title=Case(When(title__icontains=q, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("in_title", "id")
        .values_list("kind", "object_id")[: limit * 8]
    )
    hits = _dedupe(exact, limit)
    if hits or len(q) < 4:
        return hits
    with transaction.atomic(), connection.cursor() as cursor:
        # The default word-similarity threshold (0.6) misses a single dropped letter in a short word.
        cursor.execute("SET LOCAL pg_trgm.word_similarity_threshold = %s", [MIN_SIMILARITY - 0.1])
        fuzzy = list(
            base.filter(haystack__trigram_word_similar=q)
            .annotate(sim=TrigramWordSimilarity(q, "haystack"))
            .order_by("-sim", "id")
            .values_list("kind", "object_id")[: limit * 8]
        )
    return _dedupe(fuzzy, limit)


def search(query: str, *, kinds: Iterable[str] = ("article", "place"), limit: int = 50) -> list[Hit]:
    q = normalize(query)[:MAX_QUERY_CHARS]
    if not q:
        return []
    kind_list = list(kinds)
    if connection.vendor == "postgresql":
        return _postgres_search(q, kind_list, limit)
    return _sqlite_search(q, kind_list, limit)
