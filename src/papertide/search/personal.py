""" "For you": a per-user linear model over the stored paper vectors, in the spirit of arxiv-sanity-lite.

Positives are the user's upvotes and the papers in their collections; negatives are their "not interested" clicks
plus a random sample of other papers (the background, as arxiv-sanity uses every other paper). The model is an
L2-regularised logistic regression fitted with a few hundred gradient steps over those examples only, never over
the corpus, warm-started from the previous weights, and refitted only when the user's signals change (their
fingerprint). A collection imported from a citation manager (``services/library_import.py``) is such a set of
positives, so a new user starts warm, and picks it explains say so ("like papers in your library “thesis”").
Since stored vectors have unit length, ranking by ``w·x`` is a nearest-neighbour search along ``w``,
so picks come from the same vector index as search. Each pick is explained by the positive it is closest to.

Reading picks may write: :func:`user_ranker`, which ``/for-you``, the personal feed and digests go through, stores a
refitted model in ``user_rankers`` when the user's signals changed since the last fit. The stored row is a cache of
the fit (a few hundred gradient steps over about a thousand vectors), so a GET changes no user data; storing it
keeps every later request, and the digest job, from refitting.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from papertide.db import Database, among
from papertide.models import (
    Collection,
    CollectionItem,
    Paper,
    PaperDismissal,
    PaperEmbedding,
    UserRanker,
    Vote,
    utcnow,
)
from papertide.queries.papers import PaperRow, query_papers_by_ids
from papertide.search.semantic import Semantic
from papertide.text import latex_plain

BACKGROUND_SAMPLE = 1_000
STEPS = 300
LEARNING_RATE = 5.0
L2 = 1e-3


@dataclass(frozen=True, slots=True)
class Signals:
    upvoted: tuple[int, ...]
    collected: tuple[int, ...]
    dismissed: tuple[int, ...]
    # (paper id, title of the user's oldest collection holding it): an imported library explains its picks
    libraries: tuple[tuple[int, str], ...] = ()

    @property
    def positives(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.upvoted) | set(self.collected)))

    def fingerprint(self, model: str) -> str:
        text = f"{model}|{self.positives}|{sorted(self.dismissed)}"
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Ranker:
    weights: np.ndarray | None  # None: not enough examples with vectors yet
    fingerprint: str
    positives: int
    negatives: int


@dataclass(frozen=True, slots=True)
class Pick:
    paper_id: int
    score: float
    because_id: int
    because: str  # "upvoted" or "collected"
    library: str | None = None  # the collection that holds ``because_id``, when collected


def user_signals(session: Session, user_id: int) -> Signals:
    upvoted = session.execute(select(Vote.paper_id).where(Vote.user_id == user_id)).scalars()
    collected = session.execute(
        select(CollectionItem.paper_id, Collection.title)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(Collection.owner_id == user_id)
        .order_by(Collection.id.desc())  # the oldest collection last, so it wins in the dict below
    ).all()
    libraries = {paper_id: title for paper_id, title in collected}
    dismissed = session.execute(select(PaperDismissal.paper_id).where(PaperDismissal.user_id == user_id)).scalars()
    return Signals(
        tuple(sorted(set(upvoted))),
        tuple(sorted(libraries)),
        tuple(sorted(set(dismissed))),
        tuple(sorted(libraries.items())),
    )


def fit_logistic(features: np.ndarray, labels: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Weights (last entry the bias) of a class-balanced, L2-regularised logistic regression."""
    rows = np.hstack([features, np.ones((len(features), 1), dtype=np.float32)])
    positive_share = labels.mean()
    sample_weight = np.where(labels == 1, 0.5 / positive_share, 0.5 / (1 - positive_share)) / len(labels)
    weights = start.copy() if start is not None and start.shape == (rows.shape[1],) else np.zeros(rows.shape[1])
    for _ in range(STEPS):
        predicted = 1.0 / (1.0 + np.exp(-(rows @ weights)))
        gradient = rows.T @ (sample_weight * (predicted - labels)) + L2 * np.append(weights[:-1], 0.0)
        weights -= LEARNING_RATE * gradient
    return weights.astype(np.float32)


def _background(session: Session, semantic: Semantic, exclude: set[int]) -> list[np.ndarray]:
    """Vectors of about BACKGROUND_SAMPLE random papers, drawn by id so no query scans the table."""
    low, high = session.execute(select(func.min(PaperEmbedding.id), func.max(PaperEmbedding.id))).one()
    if low is None:
        return []
    generator = random.Random(high)  # the same sample while the corpus is the same: stable picks
    wanted = min(BACKGROUND_SAMPLE * 2, high - low + 1)
    ids = generator.sample(range(low, high + 1), wanted)
    rows = session.execute(
        select(PaperEmbedding.paper_id, PaperEmbedding.vector).where(
            among(session, PaperEmbedding.id, ids), PaperEmbedding.model == semantic.model
        )
    ).all()
    return [vector for paper_id, vector in rows if paper_id not in exclude][:BACKGROUND_SAMPLE]


def fit_user_model(session: Session, semantic: Semantic, signals: Signals, previous: UserRanker | None) -> Ranker:
    """Fit the user's weights from their examples and a background sample (reads only)."""
    vectors = semantic.vectors_of(session, [*signals.positives, *signals.dismissed])
    positives = [vectors[pid] for pid in signals.positives if pid in vectors]
    negatives = [vectors[pid] for pid in signals.dismissed if pid in vectors]
    negatives += _background(session, semantic, set(signals.positives))
    if not positives or not negatives:
        return Ranker(None, signals.fingerprint(semantic.model), len(positives), len(negatives))
    features = np.vstack([*positives, *negatives]).astype(np.float32)
    labels = np.array([1.0] * len(positives) + [0.0] * len(negatives))
    start = np.frombuffer(previous.weights, dtype=np.float32) if previous and previous.model == semantic.model else None
    weights = fit_logistic(features, labels, start)
    return Ranker(weights, signals.fingerprint(semantic.model), len(positives), len(negatives))


def user_ranker(database: Database, semantic: Semantic, user_id: int) -> tuple[Signals, Ranker]:
    """The user's signals and model; the model is refitted and stored only when the signals changed. A write on
    the read path, on purpose: the stored fit is a cache that saves every later request the refit."""
    with database.read_session() as session:
        signals = user_signals(session, user_id)
        stored = session.get(UserRanker, user_id)
        fingerprint = signals.fingerprint(semantic.model)
        if stored is not None and stored.fingerprint == fingerprint:
            weights = np.frombuffer(stored.weights, dtype=np.float32)
            return signals, Ranker(weights, fingerprint, stored.positives, stored.negatives)
        ranker = fit_user_model(session, semantic, signals, stored)
    if ranker.weights is not None:
        with database.write_session() as session:
            row = session.get(UserRanker, user_id) or UserRanker(user_id=user_id)
            row.model = semantic.model
            row.fingerprint = ranker.fingerprint
            row.weights = ranker.weights.tobytes()
            row.positives = ranker.positives
            row.negatives = ranker.negatives
            row.trained_at = utcnow()
            session.add(row)
    return signals, ranker


def picks_for(
    session: Session,
    semantic: Semantic,
    signals: Signals,
    weights: np.ndarray,
    limit: int = 30,
    where: ColumnElement[bool] | None = None,
) -> list[Pick]:
    """The user's top papers by their model, minus what they already upvoted, collected or dismissed."""
    direction = weights[:-1] / (np.linalg.norm(weights[:-1]) or 1.0)
    seen = {*signals.positives, *signals.dismissed}
    visible = and_(Paper.hidden.is_(False), where if where is not None else true())
    hits = semantic.search(session, direction, visible, limit, exclude=seen)
    positives = semantic.vectors_of(session, signals.positives)
    candidates = semantic.vectors_of(session, [hit.paper_id for hit in hits])
    upvoted = set(signals.upvoted)
    libraries = dict(signals.libraries)
    picks = []
    for hit in hits:
        vector = candidates.get(hit.paper_id)
        if vector is None or not positives:
            continue
        because_id = max(positives, key=lambda pid: float(positives[pid] @ vector))
        score = float(weights[:-1] @ vector + weights[-1])
        if because_id in upvoted:
            picks.append(Pick(hit.paper_id, score, because_id, "upvoted"))
        else:
            picks.append(Pick(hit.paper_id, score, because_id, "collected", libraries.get(because_id)))
    return picks


@dataclass(frozen=True, slots=True)
class ExplainedPick:
    pick: Pick
    paper: PaperRow
    because: PaperRow  # the user's upvoted or collected paper it is closest to

    @property
    def explanation(self) -> str:
        """Why this pick, in words for mails and feeds: the upvote, or the library (collection) it resembles."""
        title = latex_plain(self.because.title)
        if self.pick.library is not None:
            return f"like papers in your library “{self.pick.library}” (closest: “{title}”)"
        return f"because you {self.pick.because} “{title}”"


@dataclass(frozen=True, slots=True)
class PersonalPicks:
    signals: Signals
    ready: bool  # False until the user has a positive with a vector
    picks: list[ExplainedPick]


def personal_picks(
    database: Database, semantic: Semantic, user_id: int, limit: int, where: ColumnElement[bool] | None = None
) -> PersonalPicks:
    """The user's picks with their papers and explanations: what ``/for-you``, the personal feed and digests show.
    Stores the user's refitted model when their signals changed (:func:`user_ranker`)."""
    signals, ranker = user_ranker(database, semantic, user_id)
    if ranker.weights is None:
        return PersonalPicks(signals, False, [])
    with database.read_session() as session:
        picks = picks_for(session, semantic, signals, ranker.weights, limit, where)
        rows = {row.id: row for row in query_papers_by_ids(session, [p.paper_id for p in picks])}
        reasons = {row.id: row for row in query_papers_by_ids(session, sorted({p.because_id for p in picks}))}
    explained = [
        ExplainedPick(pick, rows[pick.paper_id], reasons[pick.because_id])
        for pick in picks
        if pick.paper_id in rows and pick.because_id in reasons
    ]
    return PersonalPicks(signals, True, explained)
