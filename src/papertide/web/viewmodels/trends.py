"""The trends page's builder (``/trends``, ``/trends.json``, ``/trends.csv``): up to five series of the search
language counted by ISO week (``services/trends.py``), and the geometry of the charts the template draws as SVG on
the server (no JavaScript): one chart of papers per week, one of upvotes per week, a table beside them for screen
readers. :func:`line_chart` also draws the topic pages' charts."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from papertide.search.engine import SearchEngine
from papertide.services.trends import MAX_SERIES, Series, trend, week_label, window_of

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 36, 12, 28  # the plot's margins: y labels left, half a week label right, weeks below
X_LABELS = 6


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    points: str  # "x,y x,y …" for <polyline points>
    index: int  # its colour (field.css: .series-0 … .series-4)


@dataclass(frozen=True, slots=True)
class Tick:
    at: float
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    width: int
    height: int
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    plot_end: float  # where the plot's grid lines end on the right


@dataclass(frozen=True, slots=True)
class TrendsPage:
    queries: list[str]  # the form's boxes: the series asked for, then blanks up to MAX_SERIES
    weeks: int
    until: str
    series: list[Series]
    charts: list[Chart]
    csv_url: str
    json_url: str


def trends_page(
    session: Session, engine: SearchEngine, queries: list[str], weeks: str | None, until: str | None, today: date
) -> TrendsPage:
    window = window_of(weeks, until, today)
    series = trend(session, engine, queries, window)
    asked = [s.q for s in series]
    labels = [week.week for week in series[0].weeks] if series else []
    charts = (
        [
            line_chart("Papers per week", labels, [(s.q, [w.papers for w in s.weeks]) for s in series]),
            line_chart("Upvotes per week", labels, [(s.q, [w.upvotes for w in s.weeks]) for s in series]),
        ]
        if series
        else []
    )
    params = "?" + urlencode({"q": asked, "weeks": window.weeks, "until": week_label(window.last)}, doseq=True)
    return TrendsPage(
        queries=asked + [""] * (MAX_SERIES - len(asked)),
        weeks=window.weeks,
        until=week_label(window.last),
        series=series,
        charts=charts,
        csv_url=f"/trends.csv{params}",
        json_url=f"/trends.json{params}",
    )


def trends_json(page: TrendsPage) -> dict[str, object]:
    """``/trends.json``: ``{"series": [{"q", "weeks": [{"week", "papers", "upvotes"}]}]}``."""
    return {
        "series": [
            {"q": s.q, "weeks": [{"week": w.week, "papers": w.papers, "upvotes": w.upvotes} for w in s.weeks]}
            for s in page.series
        ]
    }


def trends_csv(page: TrendsPage) -> str:
    """One row per series and week; a query that a spreadsheet would run as a formula is quoted with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["query", "week", "papers", "upvotes"])
    for s in page.series:
        q = f"'{s.q}" if s.q[:1] in ("=", "+", "-", "@", "\t", "\r") else s.q
        writer.writerows([q, w.week, w.papers, w.upvotes] for w in s.weeks)
    return out.getvalue()


def line_chart(title: str, labels: list[str], lines: list[tuple[str, list[int]]]) -> Chart:
    """A chart of weekly values, one line each, scaled to the largest value (at least 1)."""
    top = max([1, *(max(values, default=0) for _, values in lines)])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(labels) - 1)

    def x(index: int) -> float:
        return round(LEFT + index * step, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / top), 1)

    drawn = [
        Line(label, " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values)), index)
        for index, (label, values) in enumerate(lines)
    ]
    every = max(1, len(labels) // X_LABELS)
    x_ticks = [Tick(x(i), label) for i, label in enumerate(labels) if i % every == 0]
    y_ticks = [Tick(y(v), str(v)) for v in sorted({0, top // 2, top})]
    return Chart(title, WIDTH, HEIGHT, drawn, y_ticks, x_ticks, WIDTH - RIGHT)
