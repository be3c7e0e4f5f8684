"""Keyword retrieval: BM25 over SQLite FTS5, ``ts_rank_cd`` over PostgreSQL tsvectors, one interface; and the
choice of engine (:func:`keyword_retriever`), which prefers the tantivy index of ``search/tantivy_keyword.py``.

Every retriever takes a parsed :class:`SearchQuery` and a filter clause, and returns :class:`Hit` lists (paper id
and score, higher is better), the shape every retriever returns so they can be fused, swapped and tested alone.

Semantics, the same on every engine: plain words are alternatives, ranked so that papers matching more of them
come first (BM25 in FTS5 and tantivy; term coordination then cover density in PostgreSQL, whose ranking has no
IDF), so a natural-language query still finds papers that miss a word; English function words leave the
alternatives (``content_words``), and a plain word the engines would split ("fine-tuning", "model's") stands for its
parts (``plain_words``); phrases and field-restricted terms are required, exclusions remove matches,
``prefix*`` matches words starting with the prefix; diacritics are folded and English words stemmed. User text
reaches the engines only as quoted, escaped string literals (FTS5), bound parameters (PostgreSQL) or analysed
terms (tantivy), so ``NEAR(`` or ``*`` in the box is just text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
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

from papertide.config import Settings
from papertide.db import among
from papertide.models import Paper
from papertide.search.query import SearchQuery, Term

# Title matters most, then authors, then the abstract (FTS5 bm25() column weights; PostgreSQL A/B/C weights).
# 3/2/1 scored best of the variants measured in bench/RESULTS.md (10/5/1, 3/2/1, 2/1/1, 1/1/1).
FTS5_WEIGHTS = (3.0, 2.0, 1.0)
PG_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"  # D, C, B, A as ts_rank expects


# English function words. Plain words are alternatives (OR), so in a natural-language query ("what work deals with
# the cost of pruning") they would admit every paper containing "the"; they are dropped from the alternatives when
# the query has other words. Phrases keep them, and PostgreSQL's english configuration drops the same kind anyway.
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just me more most my myself no nor not of off on once
    only or other our ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves also via whether within without
    upon among any either neither us let may might must shall
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def content_words(terms: list[Term]) -> list[Term]:
    """The plain words that carry meaning; all of them when every word is a function word ("to be or not")."""
    kept = [t for t in terms if t.prefix or t.text.lower() not in STOP_WORDS]
    return kept or terms


_WORD_PART = re.compile(r"[^\W_]+")  # what every engine's tokenizer keeps: runs of letters and digits
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)


def plain_words(query: SearchQuery) -> list[Term]:
    """The alternatives of ``query``: its unquoted, unfielded words, each split into the parts an engine indexes
    ("fine-tuning" is "fine" and "tuning", "model's" is "model"), function words dropped (``content_words``).
    Papers holding the parts side by side hold both parts, so they still rank first. Scoring the parts as a phrase
    instead costs more than it brings: a phrase among the alternatives stops tantivy from skipping papers that
    cannot reach the top, which made such queries four times slower at 2.7M papers (bench/RESULTS.md)."""
    parts: list[Term] = []
    for term in query.positive_terms:
        if term.phrase or term.field is not None:
            continue
        if term.prefix:
            parts.append(term)
            continue
        parts.extend(Term(part) for part in _WORD_PART.findall(_POSSESSIVE.sub("", term.text)))
    return content_words(parts)


@dataclass(frozen=True, slots=True)
class Hit:
    paper_id: int
    score: float


class KeywordRetriever(Protocol):
    def search(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]: ...

    def search_exact(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        """Like ``search``, filtering before ranking: for filters so narrow that ranked candidates rarely pass."""
        ...

    def constraint(self, query: SearchQuery) -> ColumnElement[bool]:
        """The query's hard parts (phrases, field terms, exclusions) as a filter, so semantic hits obey them too."""
        ...


def database_retriever(session: Session) -> KeywordRetriever:
    """The database's own full-text retriever: FTS5 on SQLite, tsvectors on PostgreSQL."""
    return Fts5Retriever() if session.get_bind().dialect.name == "sqlite" else PostgresRetriever()


def keyword_retriever(session: Session, settings: Settings | None = None) -> KeywordRetriever:
    """tantivy when the settings give it an index directory (``PAPERTIDE_KEYWORD_ENGINE``, auto: beside a SQLite
    file), else the database's own full text, which also answers while no tantivy index is usable."""
    database = database_retriever(session)
    path = settings.keyword_index_path if settings is not None else None
    if path is None:
        return database
    from papertide.search.tantivy_keyword import TantivyRetriever, open_keyword_index  # imports tantivy

    return TantivyRetriever(open_keyword_index(path), database)


def prefix_root(word: str) -> str:
    """The part of a typed prefix to match: both indexes hold English stems ("splatting" is stored as "splat"),
    which a typed prefix ("splatt*") can overrun, so the last two letters are dropped (never below three)."""
    return word[: max(3, len(word) - 2)]


def fts5_string(text_value: str) -> str:
    """An FTS5 string literal: double quotes around, inner quotes doubled; nothing inside is syntax."""
    return '"' + text_value.replace('"', '""') + '"'


_FTS_COLUMNS = {"title": "title", "author": "authors", "abstract": "abstract"}
_BM25: ColumnElement[float] = literal_column(f"bm25(paper_search, {', '.join(str(w) for w in FTS5_WEIGHTS)})")
WIDEST = 16_000  # the most candidates ranked then filtered before the exact join answers instead
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

    def constraint(self, query: SearchQuery) -> ColumnElement[bool]:
        required = [self._term(t) for t in query.positive_terms if t.phrase or t.field is not None]
        excluded = [self._term(t) for t in query.terms if t.negated]
        conditions: list[ColumnElement[bool]] = []
        if required:
            conditions.append(Paper.id.in_(self._matching(" AND ".join(required), "required")))
        if excluded:
            conditions.append(Paper.id.not_in(self._matching(" OR ".join(excluded), "excluded")))
        return and_(true(), *conditions)

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
            return func.phraseto_tsquery("english", normalised)
        if term.prefix:
            root = func.papertide_unaccent(prefix_root(term.text))
            lexeme = func.nullif(cast(func.plainto_tsquery("simple", root), Text), "")
            return cast(lexeme.op("||")(":*"), TSQUERY)
        return func.plainto_tsquery("english", normalised)

    def _matches(self, term: Term) -> ColumnElement[bool]:
        column: ColumnElement[Any] = literal_column(f"papers.{_PG_COLUMNS[term.field]}")
        return column.op("@@")(self._tsquery(term))

    def constraint(self, query: SearchQuery) -> ColumnElement[bool]:
        required = [self._matches(t) for t in query.positive_terms if t.phrase or t.field is not None]
        excluded = [not_(self._matches(t)) for t in query.terms if t.negated]
        return and_(true(), *required, *excluded)

    def search(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        words = plain_words(query)
        required = [t for t in query.positive_terms if t.phrase or t.field is not None]
        if not words and not required:
            return []
        conditions: list[ColumnElement[bool]] = [where]
        if words:
            conditions.append(or_(*(self._matches(t) for t in words)))
        conditions.extend(self._matches(t) for t in required)
        conditions.extend(not_(self._matches(t)) for t in query.terms if t.negated)
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
            select(Paper.id, score).where(and_(true(), *conditions)).order_by(score.desc(), Paper.id).limit(limit)
        )
        return [Hit(paper_id, float(score)) for paper_id, score in session.execute(statement)]

    search_exact = search  # PostgreSQL filters before it ranks already
