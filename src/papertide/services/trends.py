"""Trends: weekly counts of the papers a query finds, and of their upvotes, over a window of ISO weeks. The trends
page (``/trends``, its CSV and ``/trends.json``), the topic pages' charts of saved searches and the "accelerating"
digest section (``services/emergence.py``) all count with :func:`weekly_counts`.

A series is any query of the search language. Its papers are exactly those a keyword search finds for the query
restricted to the window (``after:`` its Monday, ``before:`` its last Sunday): the same parser, the same filter
clause and the same keyword retriever as ``/search`` with semantic neighbours off (a trend counts papers that
match, not related ones), every match and not the search page's 1,000 candidates: the retriever's ``matching``
(one unranked pass of the tantivy index, narrowed by the window and categories there) and the filter clause meet
in the one query that adds the papers up by day. Each paper counts in the ISO week of
its effective date (``papers.published_on``: the listing date, else the first version's day, else the featured day,
else the month its id names); its upvotes are both figures added, as the daily lists order by (docs/ranking.md).

A series of one ``cat:``, ``kw:`` or ``org:`` filter (and dates) adds up ``facet_days`` instead, from an index:
the database appends to it by triggers in every writer's transaction (``models/field.py``, migration 0019) and
:func:`fold_facet_days` folds it to a row a day, so the series answers as fast at a million papers as at a
thousand, and its counts and upvotes are those of the moment (a vote counts as soon as it is committed). Every
other series is counted from its papers as above.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, insert, select
from sqlalchemy.orm import Session

from papertide.errors import Invalid
from papertide.models import FacetDay, FeaturedPaper, Organization, Paper, PaperCategory, PaperKeyphrase
from papertide.queries.papers import BOTH_UPVOTES
from papertide.search.engine import SearchEngine, filter_clause
from papertide.search.query import SearchQuery, parse_query

MAX_SERIES = 5
MAX_WEEKS = 260  # five years
DEFAULT_WEEKS = 26
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_EVERY_PAPER = 2**62  # no bound on the papers an index narrowing may list
_FOLDED = ("kind", "facet", "day", "papers", "upvotes")  # the columns of facet_days a fold writes


class TrendRequestInvalid(Invalid):
    """A trends request the reader has to change: too many series, an empty one, a window that is not one."""


@dataclass(frozen=True, slots=True)
class Window:
    """``weeks`` ISO weeks ending with the week of ``last`` (a Monday)."""

    last: date
    weeks: int

    @property
    def first(self) -> date:
        return self.last - timedelta(weeks=self.weeks - 1)

    @property
    def end(self) -> date:
        return self.last + timedelta(days=6)

    def mondays(self) -> list[date]:
        return [self.first + timedelta(weeks=n) for n in range(self.weeks)]


@dataclass(frozen=True, slots=True)
class WeekCount:
    week: str  # "2025-W12"
    papers: int
    upvotes: int


@dataclass(frozen=True, slots=True)
class Series:
    q: str
    weeks: list[WeekCount]
    warnings: list[str]

    @property
    def papers(self) -> int:
        return sum(week.papers for week in self.weeks)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str) -> date:
    """The Monday of an ISO week written "2025-W12"; :class:`TrendRequestInvalid` when it is not one."""
    match = _WEEK.match(text.strip())
    try:
        if match is None:
            raise ValueError(text)
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise TrendRequestInvalid(f"“{text[:40]}” is not an ISO week such as 2025-W12.") from None


def window_of(weeks: str | None, until: str | None, today: date) -> Window:
    """The window a request asks for: ``weeks`` (1 to MAX_WEEKS, default DEFAULT_WEEKS) ending with the ISO week
    ``until`` (default: this week)."""
    count = DEFAULT_WEEKS
    if weeks not in (None, ""):
        if not weeks.strip().isdigit() or not 1 <= int(weeks) <= MAX_WEEKS:
            raise TrendRequestInvalid(f"weeks must be a whole number from 1 to {MAX_WEEKS}, not “{weeks[:40]}”.")
        count = int(weeks)
    last = parse_week(until) if until else monday_of(today)
    return Window(last, count)


def checked_queries(queries: list[str]) -> list[str]:
    """The series a request names, blank ones left out (a form's unused boxes), or :class:`TrendRequestInvalid`
    saying what to change."""
    named = [q.strip() for q in queries if q.strip()]
    if len(named) > MAX_SERIES:
        raise TrendRequestInvalid(f"A trend compares at most {MAX_SERIES} queries; this asked for {len(named)}.")
    return named


def trend(session: Session, engine: SearchEngine, queries: list[str], window: Window) -> list[Series]:
    return [weekly_counts(session, engine, q, window) for q in checked_queries(queries)]


def weekly_counts(session: Session, engine: SearchEngine, q: str, window: Window) -> Series:
    """The papers ``q`` finds in each week of ``window`` and their upvotes (every week listed, zeros included)."""
    query = parse_query(q)
    bounded = _within(query, window)
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for published, papers, upvotes in _matches(session, engine, bounded):
        cell = counts[monday_of(_as_date(published))]
        cell[0] += papers
        cell[1] += upvotes or 0
    weeks = [
        WeekCount(week_label(m), counts[m][0], counts[m][1]) if m in counts else WeekCount(week_label(m), 0, 0)
        for m in window.mondays()
    ]
    warnings = list(query.warnings)
    if query.arxiv_id:
        warnings.append("An arXiv id names one paper, not a trend: it was counted as that paper alone.")
    return Series(q, weeks, warnings)


def _within(query: SearchQuery, window: Window) -> SearchQuery:
    after = max(filter(None, (query.after, window.first)))
    before = min(filter(None, (query.before, window.end)))
    return replace(query, after=after, before=before)


def _matches(session: Session, engine: SearchEngine, query: SearchQuery) -> list[tuple[object, int, int]]:
    """(day it appeared, papers, both upvote figures) of the papers the query finds within its dates, by day: the
    database adds them up, so a series costs one row a day, not one a paper. A query of one ``cat:``, ``kw:`` or
    ``org:`` filter reads the counts the database keeps by day (``facet_days``) instead of its papers."""
    facet = _one_facet(query)
    if facet is not None:
        return _facet_days(session, *facet, query)
    if query.arxiv_id:
        where = filter_clause(query) & (Paper.arxiv_id == query.arxiv_id)
    elif query.positive_terms:  # its dates read papers.published_on, indexed
        where = filter_clause(query) & engine.keyword.matching(session, query)
    elif not query.has_filters:
        return []
    else:  # filters, and the exclusions search applies to them
        where = _filters_narrowed(session, engine, query) & engine.keyword.constraint(session, query)
    day = Paper.published_on  # the effective date, as search filters and sorts
    statement = select(day, func.count(), func.sum(BOTH_UPVOTES)).where(where).group_by(day)
    return [(published, papers, upvotes) for published, papers, upvotes in session.execute(statement) if published]


def _facets(query: SearchQuery) -> list[tuple[str, str]]:
    """(kind, facet) of ``facet_days`` for each category, keyphrase and organization filter of the query, as search
    compares them (an organization by its name in lower case)."""
    return [
        *(("cat", category) for category in query.categories),
        *(("kw", phrase) for phrase in query.keyphrases),
        *(("org", organization.lower()) for organization in query.organizations),
    ]


def _one_facet(query: SearchQuery) -> tuple[str, str] | None:
    """The query's one facet when it is one category, keyphrase or organization and dates, else None."""
    facets = _facets(query)
    other = query.terms or query.arxiv_id or query.has_code
    other = other or query.min_upvotes is not None or query.max_upvotes is not None
    return facets[0] if len(facets) == 1 and not other else None


def _filters_narrowed(session: Session, engine: SearchEngine, query: SearchQuery) -> ColumnElement[bool]:
    """The filters of a series without words, read through the fewest papers they can be. The keyword index
    narrows by categories and dates at once while it holds every paper written, so the database checks only the
    rest; otherwise a facet's papers of all times (``facet_days``'s total) are read by id when they are fewer than
    the window's. Filters checked paper by paper over the whole window took 1.2 s for ``kw:… cat:…`` at a million
    papers, 63 ms read through the keyphrase (bench/RESULTS.md)."""
    sizes = {facet: _facet_total(session, *facet) for facet in _facets(query) if facet[0] != "cat"}
    fewer = min(sizes.values(), default=_EVERY_PAPER)  # the index's narrowing must beat the facets it cannot read
    indexed = engine.keyword.narrowing(session, query, fewer - 1)
    if indexed is not None:
        return filter_clause(replace(query, categories=())) & indexed
    sizes |= {facet: _facet_total(session, *facet) for facet in _facets(query) if facet[0] == "cat"}
    narrowest = min(sizes, key=lambda key: sizes[key], default=None)
    if narrowest is None:
        return filter_clause(query)
    window = select(func.count()).select_from(Paper).where(Paper.published_on.between(query.after, query.before))
    if sizes[narrowest] < (session.scalar(window) or 0):
        return filter_clause(query) & Paper.id.in_(_FACET_PAPERS[narrowest[0]](narrowest[1]))
    return filter_clause(query)


def _facet_total(session: Session, kind: str, facet: str) -> int:
    """The papers of a facet, at all times (a row a day, read by the table's index)."""
    statement = select(func.sum(FacetDay.papers)).where(FacetDay.kind == kind, FacetDay.facet == facet)
    return int(session.scalar(statement) or 0)


# The papers of a facet of each kind, as ``filter_clause`` finds them.
_FACET_PAPERS: dict[str, Callable[[str], Select[Any]]] = {
    "cat": lambda category: select(PaperCategory.paper_id).where(PaperCategory.category == category),
    "kw": lambda phrase: select(PaperKeyphrase.paper_id).where(PaperKeyphrase.phrase == phrase),
    "org": lambda name: (
        select(FeaturedPaper.paper_id)
        .join(Organization, Organization.id == FeaturedPaper.organization_id)
        .where(func.lower(Organization.name) == name)
    ),
}


def _facet_days(session: Session, kind: str, facet: str, query: SearchQuery) -> list[tuple[object, int, int]]:
    assert query.after and query.before  # the window bounds every series (_within)
    statement = (
        select(FacetDay.day, func.sum(FacetDay.papers), func.sum(FacetDay.upvotes))
        .where(FacetDay.kind == kind, FacetDay.facet == facet, FacetDay.day.between(query.after, query.before))
        .group_by(FacetDay.day)
    )
    return [(day, papers, upvotes) for day, papers, upvotes in session.execute(statement) if papers]


def fold_facet_days(session: Session) -> int:
    """Fold the rows of each (kind, facet, day) in ``facet_days`` into one, dropping days that add up to nothing;
    the number of rows it removed. The triggers only append (migration 0019 says why), so without folding the
    table grows with every change; reads stay correct either way. Rows appended meanwhile are left for next time:
    on PostgreSQL one statement deletes exactly the rows it adds up (its snapshot's), SQLite has one writer."""
    before = session.scalar(select(func.count()).select_from(FacetDay)) or 0
    mark = FacetDay.id <= (session.scalar(select(func.max(FacetDay.id))) or 0)
    if session.get_bind().dialect.name == "postgresql":
        gone = delete(FacetDay).where(mark).returning(*(getattr(FacetDay, name) for name in _FOLDED)).cte()
        session.execute(insert(FacetDay).from_select(_FOLDED, _day_sums(gone.c)))
    else:
        session.execute(insert(FacetDay).from_select(_FOLDED, _day_sums(FacetDay.__table__.c, mark)))
        session.execute(delete(FacetDay).where(mark))
    return before - (session.scalar(select(func.count()).select_from(FacetDay)) or 0)


def _day_sums(rows: Any, *where: ColumnElement[bool]) -> Select[Any]:
    """One row per (kind, facet, day) of ``rows``' columns: its papers and upvotes added up, unless no paper is left
    (then its upvotes add up to nothing too)."""
    key = (rows.kind, rows.facet, rows.day)
    return (
        select(*key, func.sum(rows.papers), func.sum(rows.upvotes))
        .where(*where)
        .group_by(*key)
        .having(func.sum(rows.papers) != 0)
    )


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
