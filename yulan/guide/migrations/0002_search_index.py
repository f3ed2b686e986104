"""Full-text indexes that Django's model layer does not describe.

SQLite: an FTS5 table with the trigram tokenizer over search documents, kept in step by
triggers, so a substring in any script (Latin, Chinese, Japanese, Korean, Cyrillic) is found.
PostgreSQL: the pg_trgm extension and a GIN trigram index on the normalized text.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE guide_search_fts USING fts5(
        haystack, content='guide_searchdocument', content_rowid='id', tokenize='trigram'
    )""",
    # One- and two-character words (医院, 병원): CJK pairs and title words, word-tokenized.
    """CREATE VIRTUAL TABLE guide_search_short USING fts5(
        grams, content='guide_searchdocument', content_rowid='id', tokenize='unicode61', detail='none'
    )""",
    """CREATE TRIGGER guide_searchdocument_ai AFTER INSERT ON guide_searchdocument BEGIN
        INSERT INTO guide_search_fts(rowid, haystack) VALUES (new.id, new.haystack);
        INSERT INTO guide_search_short(rowid, grams) VALUES (new.id, new.grams);
    END""",
    """CREATE TRIGGER guide_searchdocument_ad AFTER DELETE ON guide_searchdocument BEGIN
        INSERT INTO guide_search_fts(guide_search_fts, rowid, haystack) VALUES ('delete', old.id, old.haystack);
        INSERT INTO guide_search_short(guide_search_short, rowid, grams) VALUES ('delete', old.id, old.grams);
    END""",
    """CREATE TRIGGER guide_searchdocument_au AFTER UPDATE ON guide_searchdocument BEGIN
        INSERT INTO guide_search_fts(guide_search_fts, rowid, haystack) VALUES ('delete', old.id, old.haystack);
        INSERT INTO guide_search_short(guide_search_short, rowid, grams) VALUES ('delete', old.id, old.grams);
        INSERT INTO guide_search_fts(rowid, haystack) VALUES (new.id, new.haystack);
        INSERT INTO guide_search_short(rowid, grams) VALUES (new.id, new.grams);
    END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS guide_searchdocument_au",
    "DROP TRIGGER IF EXISTS guide_searchdocument_ad",
    "DROP TRIGGER IF EXISTS guide_searchdocument_ai",
    "DROP TABLE IF EXISTS guide_search_short",
    "DROP TABLE IF EXISTS guide_search_fts",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS guide_searchdocument_haystack_trgm "
    "ON guide_searchdocument USING gin (haystack gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS guide_searchdocument_grams_words "
    "ON guide_searchdocument USING gin (to_tsvector('simple'::regconfig, grams))",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS guide_searchdocument_grams_words",
    "DROP INDEX IF EXISTS guide_searchdocument_haystack_trgm",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("guide", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
