"""papertide's own keyphrases and one-sentence gist of each paper, made locally (no network, no model download):
the extractors and the insights job that runs them as papers arrive (``jobs/tasks.py``, task "insights", and
``papertide topics insights``).

- **Keyphrases**: yake (statistical, per document, no model) over the title and abstract, up to
  ``KEYPHRASES`` phrases of one to three words; a paper without an abstract gets them from its title. Chosen over
  the bundled MiniLM with maximal marginal relevance and corpus TF-IDF by ``bench/keyphrases.py``.
- **Gist**: the abstract's sentence whose MiniLM vector is nearest the abstract's own vector (the abstract read as
  a whole); no abstract, no gist. Chosen over the first sentence and a TF-IDF centroid by ``bench/gist.py``.

Both are stored in ``paper_insights`` (and the phrases, folded, in ``paper_keyphrases`` for ``kw:``), apart from
hf.co's ``ai_summary``/``ai_keywords``, and labelled as papertide's own wherever shown. The job walks papers
whose insight is missing or was made from another title and abstract, in id order and in batches; the model runs
outside transactions and each batch is written in one short transaction (as the embed job does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from papertide.db import Database
from papertide.models import Paper, PaperInsight, PaperKeyphrase, utcnow
from papertide.search.embedder import Embedder, paper_text, text_hash
from papertide.search.query import KEYPHRASE_CHARS, fold_keyphrase
from papertide.text import latex_plain

KEYPHRASES = 8
BATCH = 64
# A sentence ends at . ! or ? followed by a space and a capital, a digit or an opening bracket, unless what ends
# is a common abbreviation ("e.g.", "et al.", "Fig.") or a single capital (an initial).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|et al|etc|vs|cf|Fig|Eq|Sec|resp|approx|No)\.|\b[A-Z]\.)$")
_SPACE = re.compile(r"\s+")
_HAS_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class Insight:
    keyphrases: list[str]
    gist: str | None


def sentences(text: str) -> list[str]:
    """The sentences of an abstract, in order (whitespace folded)."""
    parts: list[str] = []
    for piece in _SENTENCE_END.split(_SPACE.sub(" ", text).strip()):
        if parts and _ABBREVIATION.search(parts[-1]):
            parts[-1] = f"{parts[-1]} {piece}"
        elif piece:
            parts.append(piece)
    return parts


@cache
def _extractor() -> Any:
    import yake  # imported here: yake brings networkx, which the web process has no use for

    return yake.KeywordExtractor(lan="en", n=3, top=KEYPHRASES, dedup_lim=0.7)


def keyphrases(title: str, abstract: str | None) -> list[str]:
    """Up to ``KEYPHRASES`` keyphrases of the paper, best first; from the title alone when it has no abstract."""
    text = latex_plain(f"{title}. {abstract}" if abstract else title)
    found = _extractor().extract_keywords(text)
    kept: list[str] = []
    for phrase, _score in found:
        phrase = phrase.strip(" .,;:-")[:KEYPHRASE_CHARS]
        if _HAS_LETTER.search(phrase) and phrase.lower() not in {k.lower() for k in kept}:
            kept.append(phrase)
    return kept


def gists(embedder: Embedder, abstracts: Sequence[str | None]) -> list[str | None]:
    """Each abstract's sentence nearest to the abstract's own vector (one model call for the whole batch); None
    for a missing abstract, the sentence itself for a one-sentence abstract."""
    split = [sentences(latex_plain(a)) if a else [] for a in abstracts]
    texts: list[str] = []
    for abstract, parts in zip(abstracts, split, strict=True):
        if len(parts) > 1:
            texts.append(abstract or "")
            texts.extend(parts)
    vectors = embedder.encode(texts) if texts else np.zeros((0, 1), np.float32)
    chosen: list[str | None] = []
    at = 0
    for parts in split:
        if len(parts) <= 1:
            chosen.append(parts[0] if parts else None)
            continue
        whole, own = vectors[at], vectors[at + 1 : at + 1 + len(parts)]
        chosen.append(parts[int(np.argmax(own @ whole))])
        at += 1 + len(parts)
    return chosen


def read_papers(embedder: Embedder, papers: Sequence[tuple[str, str | None]]) -> list[Insight]:
    """Keyphrases and gist of each (title, abstract)."""
    found = gists(embedder, [abstract for _, abstract in papers])
    return [Insight(keyphrases(title, abstract), gist) for (title, abstract), gist in zip(papers, found, strict=True)]


def make_insights(
    database: Database,
    embedder: Embedder,
    limit: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Read every paper whose insight is missing or stale (at most ``limit``); how many were looked at.
    ``on_batch`` runs after each committed batch (a job's stop point)."""
    done = 0
    after_id = 0
    while limit is None or done < limit:
        take = BATCH if limit is None else min(BATCH, limit - done)
        with database.read_session() as session:
            rows = session.execute(_pending().where(Paper.id > after_id).limit(take)).all()
        if not rows:
            break
        hashes = {row.id: text_hash(paper_text(row.title, row.abstract)) for row in rows}
        changed = [row for row in rows if row.text_hash != hashes[row.id]]
        insights = read_papers(embedder, [(row.title, row.abstract) for row in changed])
        with database.write_session() as session:
            _store(session, dict(zip((row.id for row in changed), insights, strict=True)), hashes)
            _touch(session, [row.id for row in rows if row.text_hash == hashes[row.id]])
        done += len(rows)
        after_id = rows[-1].id
        if on_batch:
            on_batch(done)
    return done


def pending_count(session: Session) -> int:
    """Papers the insights job has still to look at."""
    return session.scalar(select(func.count()).select_from(_pending().subquery())) or 0


def _pending() -> Select[Any]:
    """Papers without an insight, or changed since it was made (a re-ingest that left the title and abstract alone
    is only stamped again, by their hash)."""
    statement: Select[Any] = (
        select(Paper.id, Paper.title, Paper.abstract, PaperInsight.text_hash)  # type: ignore[assignment]
        .outerjoin(PaperInsight, PaperInsight.paper_id == Paper.id)
        .where(Paper.hidden.is_(False), or_(PaperInsight.paper_id.is_(None), PaperInsight.made_at < Paper.modified_at))
        .order_by(Paper.id)
    )
    return statement


def _touch(session: Session, paper_ids: list[int]) -> None:
    if paper_ids:
        session.execute(update(PaperInsight).where(PaperInsight.paper_id.in_(paper_ids)).values(made_at=utcnow()))


def _store(session: Session, insights: dict[int, Insight], hashes: dict[int, str]) -> None:
    ids = list(insights)
    if not ids:
        return
    live = set(session.execute(select(Paper.id).where(Paper.id.in_(ids))).scalars())  # deleted while we read
    session.execute(delete(PaperKeyphrase).where(PaperKeyphrase.paper_id.in_(ids)))
    session.execute(delete(PaperInsight).where(PaperInsight.paper_id.in_(ids)))
    now = utcnow()
    for paper_id, insight in insights.items():
        if paper_id not in live:
            continue
        session.add(
            PaperInsight(
                paper_id=paper_id,
                keyphrases=insight.keyphrases,
                gist=insight.gist,
                text_hash=hashes[paper_id],
                made_at=now,
            )
        )
        for phrase in dict.fromkeys(fold_keyphrase(k) for k in insight.keyphrases):
            session.add(PaperKeyphrase(phrase=phrase, paper_id=paper_id))
