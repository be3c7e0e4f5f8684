"""The retriever contract every search module shares: :class:`Hit` (a paper id and a score, higher is better),
the keyword and vector retriever protocols, and the word helpers that give plain words one meaning on every engine.

Every retriever and ranker returns :class:`Hit` lists, so keyword, vector and personal rankers fuse, swap and are
tested alone. The retrievers (``keyword.py``, ``tantivy_keyword.py``, ``vectors.py``), fusion and "more like this"
depend on this module and not on each other.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from papertide.search.query import SearchQuery, Term

# The most candidates a keyword retriever ranks and then filters before it lets the database's exact join answer
# instead (a filter so narrow that ranked candidates rarely pass it).
WIDEST = 16_000


@dataclass(frozen=True, slots=True)
class Hit:
    paper_id: int
    score: float


class KeywordRetriever(Protocol):
    def search(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]: ...

    def search_exact(self, session: Session, query: SearchQuery, where: ColumnElement[bool], limit: int) -> list[Hit]:
        """Like ``search``, filtering before ranking: for filters so narrow that ranked candidates rarely pass."""
        ...

    def constraint(self, session: Session, query: SearchQuery) -> ColumnElement[bool]:
        """The query's hard parts (phrases, field terms, exclusions) as a filter, so semantic hits, searches of filters
        alone and their trends obey them too, reading each as the retriever's own ranking does."""
        ...

    def matching(self, session: Session, query: SearchQuery) -> ColumnElement[bool]:
        """Every paper the query's words find (what ``search`` ranks), as a filter, unranked and unbounded: what a
        count of its matches reads (trends). Dates and categories of ``query`` may narrow it already."""
        ...

    def narrowing(self, session: Session, query: SearchQuery, most: int) -> ColumnElement[bool] | None:
        """The papers within the query's categories and dates, as a filter, when an index beside the database
        holds every paper written (so it finds what the database would) and they are at most ``most``; None
        otherwise, and always for the database's own full text (which holds no categories)."""
        ...


Candidates = list[tuple[int, float]]  # (paper id, cosine similarity), best first, not yet filtered


class VectorRetriever(Protocol):
    def search(
        self,
        session: Session,
        vector: np.ndarray,
        where: ColumnElement[bool],
        limit: int,
        exclude: Collection[int] = (),
        first: Candidates | None = None,
    ) -> list[Hit]:
        """Papers passing ``where`` nearest to ``vector``, best first, scored by cosine similarity; ``first`` are
        candidates :meth:`first_candidates` fetched ahead (on another thread) for the same vector, limit and where."""
        ...

    def prepare(self, session: Session) -> None:
        """Bring what :meth:`first_candidates` reads up to date with the database."""
        ...

    def first_candidates(self, vector: np.ndarray, limit: int, where: ColumnElement[bool]) -> Candidates | None:
        """What a search starts from, found off the caller's session (on a worker thread): the vector file's
        unfiltered neighbours, or PostgreSQL's filtered ones read on a connection of the retriever's own; None
        when nothing can be fetched ahead."""
        ...

    def close(self) -> None:
        """Release what the retriever holds open (connections of its own)."""
        ...


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
    """The plain words that carry meaning; all of them when every word is a function word ("to be or not").

    A lone ASCII letter or digit is dropped too: it comes from initials and split words ("I.B.M.", "k-means",
    "Phi-3"), and a letter rare in the corpus gets a high IDF for matching nothing the query meant. Dropping them
    is what took tantivy from below bm25s (which keeps only tokens of two or more characters) to above it on CACM
    (bench/RESULTS.md)."""
    kept = [t for t in terms if t.prefix or not is_function_word(t.text)]
    return kept or terms


def is_function_word(word: str) -> bool:
    """A word no retriever ranks by: an English function word, or a lone ASCII letter or digit."""
    return word.lower() in STOP_WORDS or bool(_LONE_CHARACTER.fullmatch(word))


_LONE_CHARACTER = re.compile(r"[A-Za-z0-9]")


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
        parts.extend(Term(part) for part in word_parts(term.text))
    return content_words(parts)


def word_parts(word: str) -> list[str]:
    """The parts of one typed word that every engine indexes: "fine-tuning" is "fine" and "tuning"."""
    return _WORD_PART.findall(_POSSESSIVE.sub("", word))


def prefix_root(word: str) -> str:
    """The part of a typed prefix to match: every index holds English stems ("splatting" is stored as "splat"),
    which a typed prefix ("splatt*") can overrun, so the last two letters are dropped (never below three)."""
    return word[: max(3, len(word) - 2)]
