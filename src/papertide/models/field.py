"""The shape of the field (issue 31): papertide's own keyphrases and gist of each paper, the history of votes, and
the topic atlas (builds, topics, their papers, their weekly counts and their life events).

Everything here is derived: keyphrases and gists by the insights job (``services/keyphrases.py``), vote history by
the vote and mirror services (``services/momentum.py``), topics by ``papertide topics build``
(``services/topics.py``). hf.co's own summary and keywords stay on ``papers`` (``ai_summary``, ``ai_keywords``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from papertide.models.base import Base, JsonType, UtcDateTime, utcnow


class PaperInsight(Base):
    """papertide's own reading of a paper: keyphrases (from the title alone when there is no abstract) and a
    one-sentence extractive gist (None without an abstract). ``text_hash`` is the hash of the title and abstract it
    was made from, so a changed abstract is read again and an unchanged one never."""

    __tablename__ = "paper_insights"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    keyphrases: Mapped[list[str]] = mapped_column(JsonType, default=list)
    gist: Mapped[str | None] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(32))
    made_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PaperKeyphrase(Base):
    """One row per (keyphrase, paper), the phrase folded to lower case: what ``kw:`` looks up by index."""

    __tablename__ = "paper_keyphrases"
    __table_args__ = (Index("ix_paper_keyphrases_paper", "paper_id"),)

    phrase: Mapped[str] = mapped_column(String(120), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)


class VoteDay(Base):
    """Upvotes a paper gained on a day, by figure: ``source`` "local" (this instance's votes, less retracted ones)
    or "hf" (hf.co's count as each mirror run saw it move). The sum over a paper's rows of one source is that
    figure; sparklines and "rising fastest" read the last days of it by index."""

    __tablename__ = "vote_days"
    __table_args__ = (Index("ix_vote_days_day_paper", "day", "paper_id"),)

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(8), primary_key=True)
    gained: Mapped[int] = mapped_column(Integer, default=0)


class FacetDay(Base):
    """Changes to the papers and upvotes (both figures) by day of publication of each category (``kind`` "cat"),
    papertide keyphrase ("kw", folded) and organization ("org", its name in lower case); a day's count is the sum
    of its rows. What a trend series of one ``cat:``, ``kw:`` or ``org:`` filter reads by index instead of the
    papers (``services/trends.py``).

    A paper counts on its ``published_on`` while it is visible, as search's filters count it. The database keeps
    these rows itself, by triggers that migration 0019 creates on ``papers``, ``paper_categories``,
    ``paper_keyphrases``, ``featured_papers`` and ``organizations``: every writer (ingest, the mirror, votes,
    moderation, the insights job, imports) appends what it changed in its own transaction, so the counts are never
    behind what search finds and no two writers wait on one count row. ``services/trends.fold_facet_days`` folds
    each day's rows into one. A migration that rebuilds one of those tables on SQLite (a batch copy) drops its
    triggers and must create them again."""

    __tablename__ = "facet_days"
    __table_args__ = (Index("ix_facet_days_facet_day", "kind", "facet", "day", "papers", "upvotes"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(3))
    facet: Mapped[str] = mapped_column(String(120))
    day: Mapped[date] = mapped_column(Date)
    papers: Mapped[int] = mapped_column(Integer, default=0)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)


class TopicBuild(Base):
    """One run of ``papertide topics build``: what it grouped, how, and how long it took."""

    __tablename__ = "topic_builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    papers: Mapped[int] = mapped_column(Integer, default=0)
    topics: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    method: Mapped[str] = mapped_column(String(200))


class Topic(Base):
    """A topic with an identity across builds: the alignment of each build with the previous one keeps its slug.

    ``status`` is "live" while the newest build has it, "merged" or "split" when it went into others (its events
    say which), "faded" when its papers scattered. ``centroid`` (float32 bytes, unit length) is what the next build
    aligns with; ``x``/``y`` its place on the map (0..1)."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    label: Mapped[str] = mapped_column(String(300))
    words: Mapped[list[str]] = mapped_column(JsonType, default=list)
    status: Mapped[str] = mapped_column(String(16), default="live", index=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    growth: Mapped[float] = mapped_column(Float, default=0.0)  # emergence: see services/emergence.py
    x: Mapped[float] = mapped_column(Float, default=0.5)
    y: Mapped[float] = mapped_column(Float, default=0.5)
    centroid: Mapped[bytes] = mapped_column(LargeBinary)
    born_build_id: Mapped[int | None] = mapped_column(ForeignKey("topic_builds.id", ondelete="SET NULL"))
    last_build_id: Mapped[int | None] = mapped_column(ForeignKey("topic_builds.id", ondelete="SET NULL"))


class TopicPaper(Base):
    """A paper's topic in the newest build and its place on the map (0..1)."""

    __tablename__ = "topic_papers"
    __table_args__ = (Index("ix_topic_papers_topic", "topic_id", "paper_id"),)

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)


class TopicWeek(Base):
    """A topic's papers and their upvotes by ISO week of publication (``week`` is that week's Monday), as the
    newest build counted them: topic trend charts and emergence read these, never the papers."""

    __tablename__ = "topic_weeks"

    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    papers: Mapped[int] = mapped_column(Integer, default=0)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)


class TopicEvent(Base):
    """What a build found happened to a topic: "born", "merged" (``others``: the topics it went into, or that
    went into it), "split" (``others``: the topics it split into) or "faded"; ``week`` is the Monday of the build's
    week, so the history reads week by week."""

    __tablename__ = "topic_events"
    __table_args__ = (Index("ix_topic_events_topic_week", "topic_id", "week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("topic_builds.id", ondelete="CASCADE"), index=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    week: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    others: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    size: Mapped[int] = mapped_column(Integer, default=0)
