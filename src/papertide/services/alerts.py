"""Saved searches as digest sections: the papers matching a saved search that this subscription has not had yet.

The candidates are the saved query (the whole query language, filters included) run keyword-only, newest first,
over papers published since ``LOOKBACK`` before the digest's period. Papers that an earlier period's digest
carried to this subscription for this search (``alert_deliveries``) are left out, so no paper comes twice;
papers carried by an earlier try of this same period stay in, so a digest retried after a failure carries what
the first try would have. The section shows the newest ``per_section``; the rest are counted and linked to the
search, and count as carried too, so the next digest holds only papers new since this one. What a digest
carries is recorded in the transaction that claims its ledger row (``services/digests.py``), before the mail
leaves: a run killed after that never resends (the ledger's rule, which this follows).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.db import insert_ignoring_conflicts
from papertide.models import AlertDelivery
from papertide.queries.papers import PaperRow
from papertide.search.engine import SearchEngine, SearchOptions
from papertide.search.query import parse_query
from papertide.text import xml_safe

LOOKBACK = timedelta(days=14)
CANDIDATES = 100
MAX_SEARCH_CHARS = 300


class InvalidSearch(ValueError):
    """Not a search that can be saved; the message says why."""


def saved_search_text(text: str) -> str:
    """A search as it is saved: one line of at most ``MAX_SEARCH_CHARS`` that means something to the query
    language (filters alone count, an arXiv id that jumps to one paper does not); :class:`InvalidSearch` else."""
    query = " ".join(xml_safe(text).split())
    if len(query) > MAX_SEARCH_CHARS:
        raise InvalidSearch(f"A saved search has at most {MAX_SEARCH_CHARS} characters.")
    parsed = parse_query(query)
    if parsed.is_empty or parsed.arxiv_id is not None:
        raise InvalidSearch(f"{query[:40]!r} is not a search to follow: give words, a phrase or a filter (cat:cs.CL).")
    return query


@dataclass(frozen=True, slots=True)
class Carried:
    """The papers one search's section carries (shown or counted), to record with the digest's claim."""

    search_key: str
    paper_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AlertPapers:
    shown: list[PaperRow]
    more: int  # matching and new, but past the section's size
    carried: Carried


def search_key(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def search_candidates(session: Session, engine: SearchEngine, query: str, start: date) -> list[PaperRow]:
    """The newest papers matching ``query`` published since ``LOOKBACK`` before ``start`` (a period's first day);
    the same for every subscriber of a run, so a run searches once per distinct query."""
    options = SearchOptions(sort="date", limit=CANDIDATES, semantic=False, after=start - LOOKBACK)
    return engine.search(session, parse_query(query), options).rows


def new_for_search(
    session: Session,
    subscription_id: int,
    query: str,
    period_key: str,
    candidates: list[PaperRow],
    per_section: int,
) -> AlertPapers:
    """What the saved search ``query`` brings this subscription in the period: its candidates less what an
    earlier period carried."""
    key = search_key(query)
    carried_before = set(
        session.execute(
            select(AlertDelivery.paper_id).where(
                AlertDelivery.subscription_id == subscription_id,
                AlertDelivery.search_key == key,
                AlertDelivery.period != period_key,
            )
        ).scalars()
    )
    fresh = [row for row in candidates if row.id not in carried_before]
    return AlertPapers(fresh[:per_section], max(0, len(fresh) - per_section), Carried(key, tuple(r.id for r in fresh)))


def record_carried(session: Session, subscription_id: int, period_key: str, carried: Sequence[Carried]) -> None:
    """Note what a digest carries, in its claim's transaction; a retry of the period finds the rows there already."""
    for item in carried:
        for paper_id in item.paper_ids:
            row = {"subscription_id": subscription_id, "search_key": item.search_key, "paper_id": paper_id}
            insert_ignoring_conflicts(session, AlertDelivery, {**row, "period": period_key})
