"""Keyword retrieval in the database itself: BM25 over SQLite FTS5, ``ts_rank_cd`` over PostgreSQL tsvectors, one
:class:`KeywordRetriever` (``search/retrieval.py``) each; the tantivy index of ``search/tantivy_keyword.py`` falls
back to them, and ``search/service.py`` chooses between them from the settings.

Every retriever takes a parsed :class:`SearchQuery` and a filter clause, and returns :class:`Hit` lists.

Semantics, the same on every engine: plain words are alternatives, ranked so that papers matching more of them
come first (BM25 in FTS5 and tantivy; term coordination then cover density in PostgreSQL, whose ranking has no
IDF), so a natural-language query still finds papers that miss a word; English function words leave the
alternatives (``content_words``), and a plain word the engines would split ("fine-tuning", "model's") stands for its
parts (``plain_words``; both in ``search/retrieval.py``); phrases and field-restricted terms are required,
exclusions remove matches, ``prefix*`` matches words starting with the prefix; diacritics are folded and English
words stemmed. User text reaches the engines only as quoted, escaped string literals (FTS5), bound parameters
(PostgreSQL) or analysed terms (tantivy), so ``NEAR(`` or ``*`` in the box is just text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from papertide.db import among
from papertide.models import Paper
from papertide.search.query import SearchQuery, Term
from papertide.search.retrieval import WIDEST, Hit, KeywordRetriever, plain_words, prefix_root

# Title matters most, then authors, then the abstract (FTS5 bm25() column weights; PostgreSQL A/B/C weights).
# 3/2/1 scored best of the variants measured in bench/RESULTS.md (10/5/1, 3/2/1, 2/1/1, 1/1/1).
FTS5_WEIGHTS = (3.0, 2.0, 1.0)
PG_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"  # D, C, B, A as ts_rank expects


def database_retriever(sqlite: bool) -> KeywordRetriever:
    """The database's own full-text retriever: FTS5 on SQLite, tsvectors on PostgreSQL."""
    return Fts5Retriever() if sqlite else PostgresRetriever()


def fts5_string(text_value: str) -> str:
    """An FTS5 string literal: double quotes around, inner quotes doubled; nothing inside is syntax."""
    return '"' + text_value.replace('"', '""') + '"'


_FTS_COLUMNS = {"title": "title", "author": "authors", "abstract": "abstract"}
_BM25: ColumnElement[float] = literal_column(f"bm25(paper_search, {', '.join(str(w) for w in FTS5_WEIGHTS)})")
_PAPER_SEARCH = table("paper_search", column("rowid"))


class Fts5Retriever:
    def match_expression(self, query: SearchQuery) -> str | None:
        words = plain_words(query)
        required = [t for t in query.positive_terms if t.phrase or t.field is not None]
        parts: list[str] = []
        if words:
            parts.append("(" + " OR ".join(self._term(t) for t in words) + ")")
        parts.extend(self._term(t) for t in required)
        if not parts:
            return None
        expression = " AND ".join(parts)
        for term in (t for t in query.terms if t.negated):
            expression += " NOT " + self._term(term)
        return expression

    def constraint(self, session: Session, query: SearchQuery) -> ColumnElement[bool]:
        required = [self._term(t) for t in query.positive_terms if t.phrase or t.field is not None]
        excluded = [self._term(t) for t in query.terms if t.negated]
        conditions: list[ColumnElement[bool]] = []
        if required:
            conditions.append(Paper.id.in_(self._matching(" AND ".join(required), "required")))
        if excluded:
            conditions.append(Paper.id.not_in(self._matching(" OR ".join(excluded), "excluded")))
        return and_(true(), *conditions)

    def matching(self, session: Session, query: SearchQuery) -> ColumnElement[bool]:
        expression = self.match_expression(query)
        return false() if expression is None else Paper.id.in_(self._matching(expression, "match"))

    def narrowing(self, session: Session, query: SearchQuery, most: int) -> ColumnElement[bool] | None:
        return None

    def _matching(self, expression: str, name: str) -> Any:
        match = literal_column("paper_search").op("MATCH")(bindparam(f"{name}_match", expression))
        return select(_PAPER_SEARCH.c.rowid).where(match)

    def _term(self, term: Term) -> str:
        literal = fts5_string(prefix_root(term.text)) + " *" if term.prefix else fts5_string(term.text)
        return f"{_FTS_COLUMNS[term.field]} : {literal}" if term.field else literal

    def search(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        """Rank in the FTS index alone, then filter the best candidates; joining every match to ``papers`` to
        filter first costs about four times more (bench/RESULTS.md). A narrow filter widens the candidate set,
        and past WIDEST the exact join answers."""
        expression = self.match_expression(query)
        if expression is None:
            return []
        matches = literal_column("paper_search").op("MATCH")(bindparam("match", expression))
        fetch = limit
        while fetch <= WIDEST:
            ranked = session.execute(
                select(_PAPER_SEARCH.c.rowid, _BM25).where(matches).order_by(_BM25).limit(fetch)
            ).all()
            ids = [paper_id for paper_id, _ in ranked]
            passing = set(session.execute(select(Paper.id).where(among(session, Paper.id, ids), where)).scalars())
            # bm25() is lower-is-better; flip it so every retriever's scores grow with relevance.
            hits = [Hit(paper_id, -float(score)) for paper_id, score in ranked if paper_id in passing]
            if len(hits) >= limit or len(ranked) < fetch:
                return hits[:limit]
            fetch *= 4
        return self.search_exact(session, query, where, limit)

    def search_exact(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        """Every match joined to ``papers`` and filtered before ranking: for filters too narrow to widen into."""
        expression = self.match_expression(query)
        if expression is None:
            return []
        matches = literal_column("paper_search").op("MATCH")(bindparam("match", expression))
        statement = (
            select(Paper.id, _BM25)
            .join(_PAPER_SEARCH, _PAPER_SEARCH.c.rowid == Paper.id)
            .where(matches, where)
            .order_by(_BM25)
            .limit(limit)
        )
        return [Hit(paper_id, -float(score)) for paper_id, score in session.execute(statement)]


_PG_COLUMNS = {"title": "title_tsv", "author": "authors_tsv", "abstract": "abstract_tsv", None: "search_tsv"}


class PostgresRetriever:
    def _tsquery(self, term: Term) -> ColumnElement[Any]:
        normalised = func.papertide_unaccent(term.text)
        if term.phrase:
            # Hyphens as spaces: PostgreSQL's parser keeps "fine-tuning" whole beside its parts, so the phrase
            # would miss "fine tuning"; FTS5 and tantivy split it, and so the phrase means the same on every engine.
            return func.phraseto_tsquery("english", func.papertide_unaccent(term.text.replace("-", " ")))
        if term.prefix:
            root = func.papertide_unaccent(prefix_root(term.text))
            lexeme = func.nullif(cast(func.plainto_tsquery("simple", root), Text), "")
            return cast(lexeme.op("||")(":*"), TSQUERY)
        return func.plainto_tsquery("english", normalised)

    def _matches(self, term: Term) -> ColumnElement[bool]:
        column: ColumnElement[Any] = literal_column(f"papers.{_PG_COLUMNS[term.field]}")
        return column.op("@@")(self._tsquery(term))

    def constraint(self, session: Session, query: SearchQuery) -> ColumnElement[bool]:
        required = [self._matches(t) for t in query.positive_terms if t.phrase or t.field is not None]
        excluded = [not_(self._matches(t)) for t in query.terms if t.negated]
        return and_(true(), *required, *excluded)

    def matching(self, session: Session, query: SearchQuery) -> ColumnElement[bool]:
        words = plain_words(query)
        required = [t for t in query.positive_terms if t.phrase or t.field is not None]
        if not words and not required:
            return false()
        conditions = [or_(*(self._matches(t) for t in words))] if words else []
        conditions.extend(self._matches(t) for t in required)
        conditions.extend(not_(self._matches(t)) for t in query.terms if t.negated)
        return and_(*conditions)

    def narrowing(self, session: Session, query: SearchQuery, most: int) -> ColumnElement[bool] | None:
        return None

    def search(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        words = plain_words(query)
        required = [t for t in query.positive_terms if t.phrase or t.field is not None]
        if not words and not required:
            return []
        positive = [*words, *required]
        combined = self._tsquery(positive[0])
        for term in positive[1:]:
            combined = combined.op("||")(self._tsquery(term))
        density = func.ts_rank_cd(
            literal_column(f"'{PG_WEIGHTS}'::float4[]"), literal_column("papers.search_tsv"), combined
        )
        # ts_rank has no IDF, so a paper repeating one common word would beat one matching every word; rank first
        # by how many query terms match (coordination), then by cover density within the same count.
        matched = sum((case((self._matches(term), 1), else_=0) for term in positive), start=literal(0))
        score = matched + density / (density + 1)
        statement = (
            select(Paper.id, score)
            .where(where, self.matching(session, query))
            .order_by(score.desc(), Paper.id)
            .limit(limit)
        )
        return [Hit(paper_id, float(score)) for paper_id, score in session.execute(statement)]

    search_exact = search  # PostgreSQL filters before it ranks already
