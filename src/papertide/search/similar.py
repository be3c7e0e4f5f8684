"""More like this: papers near one paper, near a pasted text, or near a set of positives and away from negatives.

A set query is Rocchio's: the mean of the positive vectors (a pasted text counts as one more positive) minus half
the mean of the negative ones, normalised; the nearest papers to it, less the examples themselves, are the
answer. A paper that has no stored vector yet (the embed job has not reached it) is embedded on the spot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.models import Paper
from papertide.search.embedder import paper_text
from papertide.search.engine import filter_clause
from papertide.search.query import SearchQuery
from papertide.search.retrieval import Hit
from papertide.search.semantic import Semantic

NEGATIVE_WEIGHT = 0.5
MAX_EXAMPLES = 50


class SimilarityError(ValueError):
    """The request names nothing to be similar to; the message says what to give."""


@dataclass(frozen=True, slots=True)
class Examples:
    text: str | None = None
    positives: Sequence[int] = ()
    negatives: Sequence[int] = ()


def paper_vectors(session: Session, semantic: Semantic, paper_ids: Sequence[int]) -> dict[int, np.ndarray]:
    """Stored vectors, with the missing ones computed now (and not stored: the embed job owns storage)."""
    vectors = semantic.vectors_of(session, paper_ids)
    missing = [pid for pid in paper_ids if pid not in vectors]
    if missing:
        rows = session.execute(select(Paper.id, Paper.title, Paper.abstract).where(Paper.id.in_(missing))).all()
        encoded = semantic.embedder.encode([paper_text(row.title, row.abstract) for row in rows])
        vectors.update({row.id: vector for row, vector in zip(rows, encoded, strict=True)})
    return vectors


def query_vector(session: Session, semantic: Semantic, examples: Examples) -> np.ndarray:
    if len(examples.positives) + len(examples.negatives) > MAX_EXAMPLES:
        raise SimilarityError(f"give at most {MAX_EXAMPLES} example papers")
    vectors = paper_vectors(session, semantic, [*examples.positives, *examples.negatives])
    positives = [vectors[pid] for pid in examples.positives if pid in vectors]
    if examples.text and examples.text.strip():
        positives.append(semantic.embed_query(examples.text))
    if not positives:
        raise SimilarityError("paste an abstract or pick at least one paper to find similar ones")
    combined = np.mean(positives, axis=0)
    negatives = [vectors[pid] for pid in examples.negatives if pid in vectors]
    if negatives:
        combined = combined - NEGATIVE_WEIGHT * np.mean(negatives, axis=0)
    norm = float(np.linalg.norm(combined))
    return combined / norm if norm > 0 else combined


def similar_papers(
    session: Session, semantic: Semantic, examples: Examples, limit: int = 20, query: SearchQuery | None = None
) -> list[Hit]:
    """The nearest visible papers to the examples (filtered like a search when ``query`` carries filters)."""
    vector = query_vector(session, semantic, examples)
    where = filter_clause(query or SearchQuery())
    return semantic.search(session, vector, where, limit, exclude={*examples.positives, *examples.negatives})
