"""Keeping ``papers.name_mentions``, the in-corpus citation count of known-item search's namesake prior
(``search/titles.py`` says what a mention is and whom it counts for), as papers arrive: the paper upsert and
featuring (``services/papers.py``) hand over what changed, a batch at a time, and this module moves the counts in a
few statements per batch. Migration 0018 filled them for papers stored before it.

Bulk loads (a snapshot, a directory of Daily Papers days, an OAI harvest from the command line, a mirror backfill:
``services/ingest.py``, ``services/mirror.py``) defer the count instead: old papers arriving after newer ones would
have every newer paper read again, batch after batch. A deferred write leaves a marker, in its own transaction, and
the load gathers its changes (:class:`DeferredMentions`). It ends by counting them all at once, one pass from the
oldest day they touch, when it alone owes the count and changed at most a quarter of the corpus (the Daily Papers
days loaded over a snapshot); otherwise with one pass over the whole corpus (``recount_mentions``: a first load, or
another writer owed one meanwhile). A load cut short leaves the marker behind: every write skips the count while it
stands (the recount will see its papers), the next bulk load's recount, ``papertide ingest mentions`` or the worker
(``jobs/scheduler.py``, once the marker has been quiet a while) finish it, and a recount or a load's count clears the
marker only if no write moved it meanwhile.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, cast
from uuid import uuid4

from sqlalchemy import Table, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from papertide.db import Database
from papertide.models import IngestCheckpoint, Paper, utcnow
from papertide.search.titles import Names, Namesakes, mention_counts, mention_text

_LOOKUP_CHUNK = 500
_PAPERS = cast(Table, Paper.__table__)
# The most name heads a re-read sifts in the database: past this, one pass of many LIKEs costs more than reading.
_SIFTED_HEADS = 40
_SAID_COLUMNS = (Paper.title, Paper.abstract)
# The marker of a recount owed (an ``ingest_checkpoints`` row): its position changes with every write that owes one.
_OWED = ("name-mentions", "recount owed")
_READ_ROWS = 2_000
# How far a recount got: (papers read, of how many); the CLI draws it as a bar, bulk loads pass it on.
RecountProgress = Callable[[int, int], None]
# A bulk load counts its own changes at its end while they are at most this share of the corpus and this many (each
# is held with its text until then); past either, one recount of the whole corpus reads about as much.
_DEFERRED_SHARE = 0.25
_DEFERRED_MOST = 50_000


def unwatched_recount(_done: int, _total: int) -> None:
    """A recount's progress for runs nobody watches."""


@dataclass(frozen=True)
class Said:
    """A paper as name mentions read it: its text, its date and the name it coins."""

    text: str
    on: date | None
    name: str | None


def saying(row: Mapping[str, Any]) -> Said:
    """A paper's row (stored or about to be, with its ``name_key``) as name mentions read it."""
    return Said(mention_text(row["title"], row["abstract"]), row["published_on"], row["name_key"])


# (paper, name) -> mentions of that name gained (or lost) by that paper in this batch.
_Change = Counter[tuple[int, str]]


def count_mentions(
    session: Session, changes: dict[int, tuple[Said | None, Said]], progress: RecountProgress = unwatched_recount
) -> int:
    """Keep ``papers.name_mentions`` (``search/titles.py``) for a batch of new or changed papers: what each said
    before stops counting, what it says now counts, and where a name gains, loses or moves a namesake, the other
    papers' mentions of it from that day on go to whom they go to now. A few statements per batch, whatever its
    size; the text read is the batch's and, for names whose namesakes changed, the papers dated from the change
    (``progress``: how many of those were read). How many papers' counts it moved."""
    keyed = session.execute(select(Paper.name_key).where(Paper.name_key.is_not(None)).distinct()).scalars()
    names = Names(key for key in keyed if key)
    said = {
        paper_id: ([] if old is None else [(k, old.on) for k in names.mentioned(old.text) - {old.name}])
        for paper_id, (old, _) in changes.items()
    }
    saying = {
        paper_id: [(k, new.on) for k in names.mentioned(new.text) - {new.name}]
        for paper_id, (_, new) in changes.items()
    }
    moved = {paper_id: pair for paper_id, pair in changes.items() if _moved(*pair)}
    since: dict[str, date] = {}
    for old, new in moved.values():
        for was in (old, new):
            if was is not None and was.name:
                since[was.name] = min(since.get(was.name, date.max), was.on or date.min)
    keys = set(since) | {k for pairs in [*said.values(), *saying.values()] for k, _ in pairs}
    now = Namesakes(_namesakes(session, keys))
    before = Namesakes(
        [(i, k, on) for k, papers in now.by_name.items() for on, i in papers if i not in moved]
        + [(i, old.name, old.on) for i, (old, _) in moved.items() if old is not None and old.name]
    )
    change: _Change = Counter()
    for paper_id in changes:
        change.subtract((owner, k) for k, on in said[paper_id] for owner in before.owners(k, on))
        change.update((owner, k) for k, on in saying[paper_id] for owner in now.owners(k, on))
    _reattribute(session, since, set(changes), before, now, change, progress)
    return _write_mentions(session, change, moved)


def _moved(old: Said | None, new: Said) -> bool:
    """Whether a paper joins, leaves or changes its place among namesakes (a name and a date)."""
    was = (old.name, old.on) if old is not None and old.name else None
    return was != ((new.name, new.on) if new.name else None)


def _namesakes(session: Session, keys: set[str]) -> list[tuple[int, str, date | None]]:
    ordered = sorted(keys)
    found: list[tuple[int, str, date | None]] = []
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        chunk = ordered[start : start + _LOOKUP_CHUNK]
        statement = select(Paper.id, Paper.name_key, Paper.published_on).where(Paper.name_key.in_(chunk))
        found += [(paper_id, str(key), named_on) for paper_id, key, named_on in session.execute(statement)]
    return found


def _reattribute(
    session: Session,
    since: dict[str, date],
    batch: set[int],
    before: Namesakes,
    now: Namesakes,
    change: _Change,
    progress: RecountProgress,
) -> None:
    """The other papers' mentions of names whose namesakes changed, dated on or after the change: counted for whom
    they go to now instead of whom they went to before. Only papers that new or newer are read, and only those
    that pass a cheap first look (``Names.may_mention``) are analysed."""
    names = Names(since)
    if not names.heads:  # no name anyone can mention (each longer than a mention is looked for)
        return
    statement = select(Paper.id, Paper.published_on, Paper.name_key, Paper.title, Paper.abstract)
    first = min(since.values())
    if first > date.min:
        statement = statement.where(or_(Paper.published_on >= first, Paper.published_on.is_(None)))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    progress(0, total)
    if len(names.heads) <= _SIFTED_HEADS:
        # The database drops what cannot mention them before any text leaves it (a backfill of a few old papers
        # would otherwise read every newer paper); accented or Greek spellings of a plain-letter name are lost here.
        statement = statement.where(
            or_(*(column.icontains(head, autoescape=True) for head in names.heads for column in _SAID_COLUMNS))
        )
    rows = session.execute(statement.execution_options(yield_per=_READ_ROWS))
    for read, (paper_id, said_on, own, title, abstract) in enumerate(rows, 1):
        if read % _READ_ROWS == 0:
            progress(read, total)  # of the papers dated from the change; the database sifts some out unread
        text = mention_text(title, abstract)
        if paper_id in batch or not names.may_mention(text):
            continue
        for key in names.mentioned(text) - {own}:
            if (said_on or date.max) >= since[key]:
                change.subtract((owner, key) for owner in before.owners(key, said_on))
                change.update((owner, key) for owner in now.owners(key, said_on))
    progress(total, total)


def _write_mentions(session: Session, change: _Change, moved: dict[int, tuple[Said | None, Said]]) -> int:
    """Add the changes to the counts; a paper with a new name (or new) starts again from what it gets now. How many
    papers' counts it wrote."""
    renamed = {i: new.name for i, (old, new) in moved.items() if old is None or old.name != new.name}
    added: Counter[int] = Counter()
    counted: Counter[int] = Counter({paper_id: 0 for paper_id in renamed})
    for (paper_id, key), count in change.items():
        if paper_id not in renamed:
            added[paper_id] += count
        elif renamed[paper_id] == key:
            counted[paper_id] += count
    connection = session.connection()
    by_id = _PAPERS.update().where(_PAPERS.c.id == bindparam("_id"))
    rows = [{"_id": paper_id, "change": count} for paper_id, count in added.items() if count]
    if rows:
        connection.execute(by_id.values(name_mentions=_PAPERS.c.name_mentions + bindparam("change")), rows)
    written = len(rows)
    if counted:
        rows = [{"_id": paper_id, "count": count} for paper_id, count in counted.items()]
        connection.execute(by_id.values(name_mentions=bindparam("count")), rows)
    return written + len(counted)


def undated_papers(session: Session, paper_ids: list[int]) -> dict[int, Said]:
    """The papers featuring may date (no listing or first-version date), as name mentions read them now."""
    found: dict[int, Said] = {}
    for start in range(0, len(paper_ids), _LOOKUP_CHUNK):
        statement = select(Paper.id, Paper.title, Paper.abstract, Paper.published_on, Paper.name_key).where(
            Paper.id.in_(paper_ids[start : start + _LOOKUP_CHUNK]),
            Paper.announced_on.is_(None),
            Paper.submitted_at.is_(None),
        )
        for row in session.execute(statement).mappings():
            found[row["id"]] = saying(dict(row))
    return found


def count_redated(session: Session, undated: dict[int, Said], *, defer: DeferredMentions | None) -> None:
    """Move the name mentions of the papers featuring dated: their mentions and their place among namesakes
    (:func:`keep_mentions`: now, or owed to ``defer``'s load)."""
    if not undated:
        return
    dates = dict(session.execute(select(Paper.id, Paper.published_on).where(Paper.id.in_(list(undated)))).all())
    changes: dict[int, tuple[Said | None, Said]] = {
        i: (said, replace(said, on=dates[i])) for i, said in undated.items() if dates.get(i) != said.on
    }
    if changes:
        keep_mentions(session, changes, defer=defer)


def keep_mentions(
    session: Session, changes: dict[int, tuple[Said | None, Said]], *, defer: DeferredMentions | None
) -> None:
    """Count a batch's changes now (:func:`count_mentions`), or owe them to ``defer``'s bulk load, or owe a recount
    when one is owed already (the recount will read these papers anyway, and counting on stale counts is waste)."""
    if defer is not None:
        defer.owe(session, changes)
    elif _owed(session) is not None:
        owe_mentions(session)
    else:
        count_mentions(session, changes)


class DeferredMentions:
    """The name-mention changes a bulk load owes, gathered batch by batch (each paper's first text before the load
    and its latest), and where it last left the marker of a count owed. The changes are let go (and the whole
    corpus recounted at the end) past ``most`` papers, or when the marker was not where the load left it: a count
    was owed before the load began, or another writer owed one meanwhile, whose changes are not here."""

    def __init__(self, most: int = _DEFERRED_MOST) -> None:
        self.most = most
        self.changes: dict[int, tuple[Said | None, Said]] | None = {}
        self.position: str | None = None

    def owe(self, session: Session, changes: dict[int, tuple[Said | None, Said]]) -> None:
        """Move the marker in the batch's transaction and keep its changes."""
        left = [] if self.position is None else [self.position]  # where this load left the marker
        found, self.position = _moved_marker(session)
        if found != left:
            self.changes = None
        if self.changes is None:
            return
        for paper_id, (old, new) in changes.items():
            self.changes[paper_id] = (self.changes[paper_id][0] if paper_id in self.changes else old, new)
        if len(self.changes) > self.most:
            self.changes = None

    def countable(self, session: Session) -> bool:
        """Whether the load's changes are at hand and at most ``_DEFERRED_SHARE`` of the corpus (whether it alone
        owes the count is settled where the count clears the marker: :func:`finish_mentions`)."""
        if self.changes is None:
            return False
        corpus = session.execute(select(func.count()).select_from(Paper)).scalar_one()
        return len(self.changes) <= corpus * _DEFERRED_SHARE


def owe_mentions(session: Session) -> str:
    """Mark a recount owed, in the caller's transaction; the marker's new position, which any later write moves."""
    return _moved_marker(session)[1]


def _moved_marker(session: Session) -> tuple[list[str], str]:
    """Move the marker of a count owed to a new position, in the caller's transaction: the positions it was found
    at (none when no count was owed) and the new one."""
    position = uuid4().hex
    found = session.execute(delete(IngestCheckpoint).where(*_marker()).returning(IngestCheckpoint.position))
    was = list(found.scalars())
    session.add(IngestCheckpoint(source=_OWED[0], key=_OWED[1], position=position, updated_at=utcnow()))
    return was, position


def mentions_owed_since(session: Session) -> datetime | None:
    """When a write last owed a recount; None when none is owed."""
    statement = select(IngestCheckpoint.updated_at).where(*_marker())
    return session.execute(statement).scalar_one_or_none()


def finish_mentions(
    database: Database, progress: RecountProgress = unwatched_recount, deferred: DeferredMentions | None = None
) -> int | None:
    """What a bulk load owes, if anything is: its own changes counted at once when they can be
    (:class:`DeferredMentions`), else a recount of the whole corpus (:func:`recount_mentions`); how many papers'
    counts moved, None when nothing was owed."""
    with database.read_session() as session:
        if _owed(session) is None:
            return None
        countable = deferred is not None and deferred.countable(session)
    if countable:
        assert deferred is not None and deferred.changes is not None
        with database.write_session() as session:
            # Cleared in the count's transaction, and only where the load left it: another writer that owed a
            # recount since has moved it (PostgreSQL: waits for this transaction, then owes it again).
            cleared = delete(IngestCheckpoint).where(*_marker(), IngestCheckpoint.position == deferred.position)
            if session.execute(cleared.returning(IngestCheckpoint.position)).first() is not None:
                return count_mentions(session, deferred.changes, progress)
    return recount_mentions(database, progress)


def recount_mentions(database: Database, progress: RecountProgress = unwatched_recount) -> int:
    """Every paper's count afresh in one pass (``search/titles.mention_counts``: the corpus's coined names indexed
    by first word, then each title and abstract read once and its word runs looked up), written where it changed;
    how many papers' counts changed. The marker is moved before the pass and cleared after it only if no write
    moved it meanwhile: a paper written during the pass was not counted or counted against the old figures."""
    with database.write_session() as session:
        position = owe_mentions(session)
    with database.read_session() as session:
        counts = _counted(session, progress)
        nonzero = select(Paper.id, Paper.name_mentions).where(Paper.name_mentions != 0)
        stored = {paper_id: count for paper_id, count in session.execute(nonzero)}
    changed = [
        {"_id": paper_id, "count": counts.get(paper_id, 0)}
        for paper_id in set(counts) | set(stored)
        if counts.get(paper_id, 0) != stored.get(paper_id, 0)
    ]
    with database.write_session() as session:
        if changed:
            by_id = _PAPERS.update().where(_PAPERS.c.id == bindparam("_id"))
            session.connection().execute(by_id.values(name_mentions=bindparam("count")), changed)
        session.execute(delete(IngestCheckpoint).where(*_marker(), IngestCheckpoint.position == position))
    return len(changed)


def _counted(session: Session, progress: RecountProgress) -> Counter[int]:
    named = select(Paper.id, Paper.name_key, Paper.published_on).where(Paper.name_key.is_not(None))
    namesakes = [(paper_id, str(key), on) for paper_id, key, on in session.execute(named)]
    total = session.execute(select(func.count()).select_from(Paper)).scalar_one()
    return mention_counts(namesakes, _texts(session, total, progress))


def _texts(
    session: Session, total: int, progress: RecountProgress
) -> Iterator[tuple[int, date | None, str | None, str]]:
    """Every paper as mentions are read (id, date, the name it coins, its text), telling ``progress`` how far."""
    statement = select(Paper.id, Paper.published_on, Paper.name_key, Paper.title, Paper.abstract)
    progress(0, total)
    read = 0
    for paper_id, on, own, title, abstract in session.execute(statement.execution_options(yield_per=_READ_ROWS)):
        yield paper_id, on, own, mention_text(title, abstract)
        read += 1
        if read % _READ_ROWS == 0:
            progress(read, total)
    progress(read, max(read, total))


def _owed(session: Session) -> str | None:
    return session.execute(select(IngestCheckpoint.position).where(*_marker())).scalar_one_or_none()


def _marker() -> tuple[Any, Any]:
    return IngestCheckpoint.source == _OWED[0], IngestCheckpoint.key == _OWED[1]
