"""Keyword search indexes: SQLite FTS5 kept by triggers, PostgreSQL tsvector columns with GIN indexes.

Both index ``papers.author_names`` (added here, kept by the upsert). SQLite: ``paper_search`` is an
external-content FTS5 table over a view of ``papers``, with the
porter stemmer over ``unicode61 remove_diacritics 2`` (``tyr pruner`` finds "Týr-the-Pruner") and prefix indexes.
PostgreSQL: generated ``tsvector`` columns (English stemming over ``unaccent``), one per searchable field plus a
weighted one for ranking, each with a GIN index.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "ALTER TABLE papers ADD COLUMN author_names TEXT NOT NULL DEFAULT ''",
    """UPDATE papers SET author_names = coalesce(
        (SELECT group_concat(json_extract(value, '$.name'), ', ') FROM json_each(papers.authors)), '')""",
    "CREATE VIEW paper_search_source AS SELECT id, title, author_names AS authors, abstract FROM papers",
    """CREATE VIRTUAL TABLE paper_search USING fts5(
        title, authors, abstract,
        content='paper_search_source', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    # Merge index segments less eagerly while bulk ingests write (FTS5 default 4): fewer rewrites per insert.
    "INSERT INTO paper_search(paper_search, rank) VALUES ('automerge', 16)",
    """CREATE TRIGGER paper_search_insert AFTER INSERT ON papers BEGIN
        INSERT INTO paper_search(rowid, title, authors, abstract)
        VALUES (new.id, new.title, new.author_names, new.abstract);
    END""",
    """CREATE TRIGGER paper_search_delete AFTER DELETE ON papers BEGIN
        INSERT INTO paper_search(paper_search, rowid, title, authors, abstract)
        VALUES ('delete', old.id, old.title, old.author_names, old.abstract);
    END""",
    """CREATE TRIGGER paper_search_update AFTER UPDATE OF title, author_names, abstract ON papers BEGIN
        INSERT INTO paper_search(paper_search, rowid, title, authors, abstract)
        VALUES ('delete', old.id, old.title, old.author_names, old.abstract);
        INSERT INTO paper_search(rowid, title, authors, abstract)
        VALUES (new.id, new.title, new.author_names, new.abstract);
    END""",
    "INSERT INTO paper_search(paper_search) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER paper_search_update",
    "DROP TRIGGER paper_search_delete",
    "DROP TRIGGER paper_search_insert",
    "DROP TABLE paper_search",
    "DROP VIEW paper_search_source",
    "ALTER TABLE papers DROP COLUMN author_names",
]

_PG_AUTHORS = "author_names"


def _pg_vector(expression: str) -> str:
    return f"to_tsvector('english', papertide_unaccent(coalesce({expression}, '')))"


POSTGRES_UP = [
    "ALTER TABLE papers ADD COLUMN author_names text NOT NULL DEFAULT ''",
    """UPDATE papers SET author_names = coalesce(
        (SELECT string_agg(value ->> 'name', ', ') FROM jsonb_array_elements(authors)), '')""",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # unaccent() is only STABLE (its dictionary could change); generated columns need IMMUTABLE, and the
    # dictionary is fixed for the life of the index, so pin it with the two-argument form.
    """CREATE FUNCTION papertide_unaccent(text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$""",
    f"ALTER TABLE papers ADD COLUMN title_tsv tsvector GENERATED ALWAYS AS ({_pg_vector('title')}) STORED",
    f"ALTER TABLE papers ADD COLUMN authors_tsv tsvector GENERATED ALWAYS AS ({_pg_vector(_PG_AUTHORS)}) STORED",
    f"ALTER TABLE papers ADD COLUMN abstract_tsv tsvector GENERATED ALWAYS AS ({_pg_vector('abstract')}) STORED",
    f"""ALTER TABLE papers ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
        setweight({_pg_vector("title")}, 'A') || setweight({_pg_vector(_PG_AUTHORS)}, 'B')
        || setweight({_pg_vector("abstract")}, 'C')) STORED""",
    "CREATE INDEX ix_papers_search_tsv ON papers USING gin (search_tsv)",
    "CREATE INDEX ix_papers_title_tsv ON papers USING gin (title_tsv)",
    "CREATE INDEX ix_papers_authors_tsv ON papers USING gin (authors_tsv)",
]
POSTGRES_DOWN = [
    "DROP INDEX ix_papers_authors_tsv",
    "DROP INDEX ix_papers_title_tsv",
    "DROP INDEX ix_papers_search_tsv",
    "ALTER TABLE papers DROP COLUMN search_tsv",
    "ALTER TABLE papers DROP COLUMN abstract_tsv",
    "ALTER TABLE papers DROP COLUMN authors_tsv",
    "ALTER TABLE papers DROP COLUMN title_tsv",
    "DROP FUNCTION papertide_unaccent(text)",
    "ALTER TABLE papers DROP COLUMN author_names",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP)


def downgrade() -> None:
    _run(SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN)
