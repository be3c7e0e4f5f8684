"""The in-corpus citation count's part in known-item search (``search/known_items.py``): among true namesakes
(papers that coin the same name, ``papers.name_key``) with equal votes, the one the corpus names most often per
paper that could have named it goes first; ties keep the older first.

Why a rate and not the count: a mention counts for the newest namesake not newer than the mentioning paper
(``search/titles.py``), so a raw count also measures how much of the corpus falls after each namesake. In a corpus
dense in recent months a recent namesake collects the most: "VITA" (2408.05211, the omni-modal LLM) was mentioned by
10 of the 24,128 papers of the shared corpus dated between it and "VITA: Vision-to-Action" (2507.13231), which
collected 13 from the 57,443 dated after it, none of them about the robot policy (web addresses, since left out of
the text read, other acronyms, the first VITA's own family). Per paper that could have named them the original
leads by almost two to one. Counts are capped (``MENTIONS_CAP``: past it a name
is a common word or famous, and the count cannot tell which) and each window is padded with ``PADDING`` papers,
so that a namesake a handful of papers old does not win on one mention.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate, groupby

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from papertide.models import Paper

# Mentions counted: past this many, a name is either famous or a common word ("Attention", "Code": every abstract
# says them), and the count cannot tell which.
MENTIONS_CAP = 20
# Papers added to every namesake's window: about a week of a busy corpus; a rate over fewer papers says little.
PADDING = 100


@dataclass(frozen=True, slots=True)
class Candidate:
    """A paper a known-item tier found, with what the prior weighs."""

    paper_id: int
    title: str
    votes: int
    mentions: int
    on: date | None


def by_mention_rate(session: Session, candidates: list[Candidate], namesake_days: list[date | None]) -> list[Candidate]:
    """``candidates`` (namesakes, most voted first, then oldest) with each run of equal votes ordered by mention
    rate, ties kept in order. ``namesake_days``: the dates of every paper of the name, hidden or filtered out or
    not, which bound each one's window (the papers whose mentions count for it)."""
    runs = [list(tied) for _, tied in groupby(candidates, key=lambda candidate: candidate.votes)]
    if not any(len(run) > 1 and any(candidate.mentions for candidate in run) for run in runs):
        return candidates  # nothing for the count to decide: spare the query
    days = sorted(day or date.min for day in namesake_days)
    windows = [_window(candidate.on, days) for candidate in candidates]
    rates = dict(zip((c.paper_id for c in candidates), _rates(session, candidates, windows, days), strict=True))
    return [candidate for run in runs for candidate in sorted(run, key=lambda candidate: -rates[candidate.paper_id])]


def _window(on: date | None, days: list[date]) -> tuple[date, date | None]:
    """From a namesake's day to the next namesake's (open when none is newer): the papers that count for it."""
    start = on or date.min
    return start, next((day for day in days if day > start), None)


def _rates(
    session: Session, candidates: list[Candidate], windows: list[tuple[date, date | None]], days: list[date]
) -> list[float]:
    """Capped mentions per paper of each window (less the namesakes in it, which never name themselves). The
    windows' sizes come from one count per day from the earliest window on (an index range), whatever their number."""
    earliest = min(start for start, _ in windows)
    statement = select(Paper.published_on, func.count()).where(Paper.published_on >= earliest)
    per_day = sorted((day, count) for day, count in session.execute(statement.group_by(Paper.published_on)) if day)
    corpus_days = [day for day, _ in per_day]
    before = [0, *accumulate(count for _, count in per_day)]  # papers dated before corpus_days[i]
    named = [day for day in days if day > date.min]
    rates = []
    for candidate, (start, end) in zip(candidates, windows, strict=True):
        size = _between(corpus_days, before, start, end) - _between(named, range(len(named) + 1), start, end)
        rates.append(min(candidate.mentions, MENTIONS_CAP) / (max(size, 0) + PADDING))
    return rates


def _between(days: list[date], before: Sequence[int], start: date, end: date | None) -> int:
    """How many are dated in [start, end): ``before[i]`` counts those dated before ``days[i]`` (sorted)."""
    last = len(days) if end is None else bisect_left(days, end)
    return before[last] - before[bisect_left(days, start)]
