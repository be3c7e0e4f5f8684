"""Known-item search: the papers a query names. A query that is a paper's title near enough (``search/titles.py``
says what "near enough" is), the coined name before its colon, or a long prefix of its title puts that paper
first, whatever either retriever thought of it: a follow-up that repeats the name in its title and abstract
("o3-mini vs DeepSeek-R1") outscores the original on words, which a user naming the original never wants.

Three tiers, in this order: the whole title, the coined name, a prefix of the title of at least ``PREFIX_WORDS``
words. Within a tier, a paper whose title or coined name the query spells capitals and all comes first ("MoBA",
not "MobA"); then papers that share the name go by a popularity prior (docs/ranking.md): hf.co's and this
instance's upvotes added, then, among true namesakes (the coined-name tier) with equal votes, the in-corpus
citation count as a rate (``search/namesakes.py``), then the older paper (the original comes before the papers
named after it). Lookups are three indexed equality or range queries on ``papers.title_key`` /
``papers.name_key``.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Text, literal, select
from sqlalchemy.orm import Session

from papertide.db import among
from papertide.models import Paper
from papertide.queries.papers import BOTH_UPVOTES
from papertide.search.namesakes import Candidate, by_mention_rate
from papertide.search.query import SearchQuery
from papertide.search.retrieval import Hit
from papertide.search.titles import coined_name, same_spelling, title_words

# The fewest words a title prefix needs to name a paper: two-word prefixes ("Vision Transformers") are topics.
PREFIX_WORDS = 3
# The most papers one tier puts ahead of the retrievers' ranking.
PER_TIER = 3
# The most papers of one tier the prior orders: a common 3-word opening ("A Survey on") names no paper anyway.
TIER_CANDIDATES = 500
# The popularity prior in the database: votes, then age; ``by_mention_rate`` reorders true namesakes' equal votes.
PRIOR = (BOTH_UPVOTES.desc(), Paper.published_on.asc().nulls_last(), Paper.id)
# Past the last character any title key can hold, closing the range of keys that start with a prefix.
_AFTER_ALL = "\U0010ffff"


def named_papers(session: Session, query: SearchQuery, where: ColumnElement[bool]) -> list[int]:
    """The ids of the papers ``query`` names (passing ``where``), best first; empty when it names none."""
    key = _query_key(query)
    if not key:
        return []
    typed = query.natural_text
    found: list[int] = []
    for tier, condition in enumerate(_tiers(key)):
        candidates = _by_prior(session, condition, where, namesakes=tier == _NAME_TIER)
        ranked = sorted(candidates, key=lambda candidate: not _spelled_as_typed(typed, candidate.title))
        found += [candidate.paper_id for candidate in ranked[:PER_TIER] if candidate.paper_id not in found]
    return found


def _spelled_as_typed(typed: str, title: str) -> bool:
    """Whether ``typed`` spells the title or its coined name letter for letter, capitals included: among papers
    that share a name, the one whose capitals the user typed ("MoBA", not "MobA") goes first."""
    return same_spelling(typed, title) or same_spelling(typed, coined_name(title) or "")


def known_items_first(named: list[int], hits: list[Hit]) -> list[Hit]:
    """``hits`` with the named papers moved (or added) to the front, scored just above the best hit."""
    if not named:
        return hits
    top = max((hit.score for hit in hits), default=0.0)
    front = [Hit(paper_id, top + len(named) - rank) for rank, paper_id in enumerate(named)]
    chosen = set(named)
    return front + [hit for hit in hits if hit.paper_id not in chosen]


def _query_key(query: SearchQuery) -> str:
    """The query's words as titles are keyed, when the query is plain words (no fields, exclusions or prefixes)."""
    if any(term.field or term.negated or term.prefix for term in query.terms):
        return ""
    return " ".join(title_words(query.natural_text))


_NAME_TIER = 1  # in ``_tiers``: the papers that coin the name the query is, true namesakes


def _tiers(key: str) -> list[ColumnElement[bool]]:
    tiers = [Paper.title_key == key, Paper.name_key == key]
    if len(key.split()) >= PREFIX_WORDS:
        # Keys are compared byte by byte (``C`` collation on PostgreSQL, SQLite's default), so this range is
        # exactly the titles that continue the prefix with another word, and an index range scan.
        # The bounds are plain text: typed as the column, PostgreSQL would be sent a COLLATE it cannot parse there.
        low, high = literal(key + " ", Text), literal(key + " " + _AFTER_ALL, Text)
        tiers.append(Paper.title_key.between(low, high))
    return tiers


def _by_prior(
    session: Session, key_match: ColumnElement[bool], where: ColumnElement[bool], *, namesakes: bool
) -> list[Candidate]:
    """Papers matching the key and passing ``where``, most popular first by ``PRIOR`` (and, for ``namesakes``,
    ``by_mention_rate``). The key goes first, alone: joined with ``where``, SQLite's planner walks the ``hidden``
    index over every paper (90 ms at 84,000 papers) instead of the key's range."""
    keyed = dict(session.execute(select(Paper.id, Paper.published_on).where(key_match).limit(TIER_CANDIDATES)).all())
    if not keyed:
        return []
    columns = (Paper.id, Paper.title, BOTH_UPVOTES, Paper.name_mentions, Paper.published_on)
    statement = select(*columns).where(among(session, Paper.id, list(keyed)), where).order_by(*PRIOR)
    candidates = [Candidate(*row) for row in session.execute(statement)]
    return by_mention_rate(session, candidates, list(keyed.values())) if namesakes else candidates
