"""Writing papers: the one upsert every source goes through, featuring papers on a day, and the counters.

Merge rule, the same for every source: a record never erases what another source knew (``None`` means "this
source does not know"); a record whose version is at least the stored one overwrites the fields it knows; a
record without a version (a Daily Papers item) only fills gaps. Re-ingesting the same data changes nothing, and
metadata updates never touch votes, comments or featured days, which live in their own tables.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from papertide.arxiv_ids import effective_date
from papertide.models import (
    Comment,
    FeaturedPaper,
    Organization,
    Paper,
    PaperAuthor,
    PaperCategory,
    User,
    Vote,
    utcnow,
)
from papertide.people import author_key
from papertide.records import (
    AccountRecord,
    AuthorRecord,
    FeaturedRecord,
    IngestCounts,
    PaperRecord,
    RejectedLine,
    content_hash,
)
from papertide.search.titles import name_key, title_key
from papertide.services.name_mentions import (
    DeferredMentions,
    Said,
    count_redated,
    keep_mentions,
    saying,
    undated_papers,
)

# The columns a record can set; their merged values feed the content hash.
_METADATA_FIELDS = (
    "title",
    "abstract",
    "authors",
    "categories",
    "versions",
    "submitted_at",
    "updated_at",
    "announced_on",
    "comments",
    "journal_ref",
    "doi",
    "report_no",
    "license",
    "code_url",
    "project_url",
)
_LOOKUP_CHUNK = 500
PAPER_WRITES_LOCK = 0x70617065  # pg_advisory_xact_lock key: "pape"
_PAPERS = cast(Table, Paper.__table__)
_PAPER_CATEGORIES = cast(Table, PaperCategory.__table__)
_PAPER_AUTHORS = cast(Table, PaperAuthor.__table__)
log = logging.getLogger(__name__)


def _update_by_id(columns: Iterable[str]) -> Any:
    """An executemany UPDATE of ``papers`` keyed by ``id`` (bound as ``_id``) setting the other columns."""
    return (
        _PAPERS.update()
        .where(_PAPERS.c.id == bindparam("_id"))
        .values({name: bindparam(name) for name in columns if name != "_id"})
    )


def upsert_papers(
    session: Session, records: Iterable[PaperRecord], *, defer_mentions: DeferredMentions | None = None
) -> IngestCounts:
    """Insert new papers and merge updates into known ones, in bulk; returns what happened to each.
    ``defer_mentions``: a bulk load's batch, whose name-mention changes the load counts at its end instead
    (``services/name_mentions.py``)."""
    counts = IngestCounts()
    incoming = _merge_duplicates(records)
    existing = _load_existing(session, list(incoming))
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    category_changes: dict[str, list[str]] = {}
    author_changes: dict[str, list[dict[str, Any]]] = {}
    said: dict[str, tuple[Said | None, Said]] = {}
    now = _write_stamp(session)
    for arxiv_id, record in incoming.items():
        stored = existing.get(arxiv_id)
        row = _merged_row(stored, record)
        if row["title"] is None:
            counts.rejected += 1
            counts.rejections.append(RejectedLine(0, f"{arxiv_id}: no title from any source"))
            continue
        row["content_hash"] = content_hash({key: row[key] for key in (*_METADATA_FIELDS, "version")})
        row["primary_category"] = row["categories"][0] if row["categories"] else None
        row["author_names"] = ", ".join(author["name"] for author in row["authors"])
        row["enrichment"] = enrichment_state(row, stored)
        row.update(_derived(arxiv_id, row, stored))
        if stored is None:
            said[arxiv_id] = (None, saying(row))
            inserts.append({**row, "arxiv_id": arxiv_id, "created_at": now, "modified_at": now})
            category_changes[arxiv_id] = row["categories"]
            author_changes[arxiv_id] = row["authors"]
            counts.added += 1
        elif row["content_hash"] == stored["content_hash"]:
            counts.unchanged += 1
        else:
            said[arxiv_id] = (saying(stored), saying(row))
            updates.append({**row, "_id": stored["id"], "modified_at": now})
            if row["categories"] != stored["categories"]:
                category_changes[arxiv_id] = row["categories"]
            if row["authors"] != stored["authors"]:
                author_changes[arxiv_id] = row["authors"]
            counts.updated += 1
    ids = {arxiv_id: row["id"] for arxiv_id, row in existing.items()}
    if inserts:
        # Core statements on the table: the ORM bulk path would fall back to one statement per row.
        result = session.connection().execute(_PAPERS.insert().returning(_PAPERS.c.id, _PAPERS.c.arxiv_id), inserts)
        ids.update({arxiv_id: paper_id for paper_id, arxiv_id in result})
    if updates:
        session.connection().execute(_update_by_id(updates[0].keys()), updates)
    _replace_categories(session, {ids[arxiv_id]: cats for arxiv_id, cats in category_changes.items()})
    _replace_authors(session, {ids[arxiv_id]: authors for arxiv_id, authors in author_changes.items()})
    said_changes = {ids[arxiv_id]: (old, new) for arxiv_id, (old, new) in said.items() if old != new}
    if said_changes:
        keep_mentions(session, said_changes, defer=defer_mentions)
    return counts


def _write_stamp(session: Session) -> datetime:
    """The ``modified_at`` of this transaction's paper writes, in commit order. The keyword index's watermark is the
    newest ``(modified_at, id)`` it holds, so a paper stamped before another but committed after it would be missed.
    SQLite has one writer at a time. On PostgreSQL paper writes take turns (an advisory lock held to the end of the
    transaction) and stamp with the database's clock once it is their turn."""
    if session.get_bind().dialect.name != "postgresql":
        return utcnow()
    session.execute(select(func.pg_advisory_xact_lock(PAPER_WRITES_LOCK)))
    stamp: datetime = session.execute(select(func.clock_timestamp())).scalar_one()
    return stamp.astimezone(UTC)


def _derived(arxiv_id: str, row: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """The columns derived from a merged row: the effective date and the title's keys (``search/titles.py``). A
    paper without a listing or first-version date keeps the date featuring gave it (``_date_by_featured_day``)."""
    dated = row["announced_on"] is not None or row["submitted_at"] is not None
    published = effective_date(arxiv_id, row["announced_on"], row["submitted_at"], None)
    return {
        "published_on": published if dated or stored is None else stored["published_on"] or published,
        "title_key": title_key(row["title"]),
        "name_key": name_key(row["title"]),
    }


def _merge_duplicates(records: Iterable[PaperRecord]) -> dict[str, PaperRecord]:
    merged: dict[str, PaperRecord] = {}
    for record in records:
        earlier = merged.get(record.arxiv_id)
        merged[record.arxiv_id] = record if earlier is None else _prefer(earlier, record)
    return merged


def _prefer(first: PaperRecord, second: PaperRecord) -> PaperRecord:
    """Two records of one paper in a batch: the more authoritative one wins, the other fills its gaps."""
    winner, other = (second, first) if _outranks(second.version, first.version) else (first, second)
    filled = {name: getattr(other, name) for name in winner.__dataclass_fields__ if _unknown(getattr(winner, name))}
    return PaperRecord(**{**{n: getattr(winner, n) for n in winner.__dataclass_fields__}, **filled})


def _outranks(version: int | None, than: int | None) -> bool:
    return version is not None and (than is None or version >= than)


def _unknown(value: object) -> bool:
    return value is None or value == () or value == [] or value == ""


def _load_existing(session: Session, arxiv_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    columns = [
        Paper.id,
        Paper.arxiv_id,
        Paper.version,
        Paper.content_hash,
        Paper.enrichment,
        Paper.published_on,
        Paper.name_key,
        *_metadata_columns(),
    ]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(arxiv_ids), _LOOKUP_CHUNK):
        chunk = arxiv_ids[start : start + _LOOKUP_CHUNK]
        for row in session.execute(select(*columns).where(Paper.arxiv_id.in_(chunk))).mappings():
            found[row["arxiv_id"]] = dict(row)
    return found


def _metadata_columns() -> list[Any]:
    return [getattr(Paper, name) for name in _METADATA_FIELDS]


def _merged_row(stored: dict[str, Any] | None, record: PaperRecord) -> dict[str, Any]:
    fresh = _record_values(record)
    if stored is None:
        return {**fresh, "version": record.version}
    authoritative = _outranks(record.version, stored["version"])
    row: dict[str, Any] = {}
    for name in _METADATA_FIELDS:
        old, new = stored[name], fresh[name]
        row[name] = new if not _unknown(new) and (authoritative or _unknown(old)) else old
    if row["authors"] is stored["authors"]:
        row["authors"] = _with_hf_users(row["authors"], fresh["authors"])
    row["versions"] = _merge_versions(stored["versions"], fresh["versions"])
    row["version"] = record.version if authoritative else stored["version"]
    return row


def _record_values(record: PaperRecord) -> dict[str, Any]:
    return {
        "title": record.title,
        "abstract": record.abstract,
        "authors": [_author_value(author) for author in record.authors],
        "categories": [c for c in record.categories if _fitting(record.arxiv_id, _CATEGORY, c)],
        "versions": [{"version": v.version, "created": _iso(v.created)} for v in record.versions],
        "submitted_at": record.submitted_at,
        "updated_at": record.updated_at,
        "announced_on": record.announced_on,
        "comments": record.comments,
        "journal_ref": record.journal_ref,
        "report_no": record.report_no,
        **{name: _bounded(record, name) for name in _BOUNDED_FIELDS},
    }


# Record fields stored in columns of a set length. PostgreSQL refuses a longer value, and with it every paper of the
# batch; SQLite would keep it whole. So a value that cannot fit is left out, never cut: a cut DOI or link points
# somewhere else. No real record comes near (arXiv categories are under 20 characters, DOIs under 100).
_BOUNDED_FIELDS = ("doi", "license", "code_url", "project_url")
# A category lands in two columns; the shorter decides.
_CATEGORY = min(
    _PAPER_CATEGORIES.c.category, _PAPERS.c.primary_category, key=lambda column: cast(Any, column.type).length
)


def _bounded(record: PaperRecord, name: str) -> str | None:
    return _fitting(record.arxiv_id, _PAPERS.c[name], getattr(record, name))


def _fitting(subject: str, column: Any, value: str | None) -> str | None:
    """``value``, or None (logged) when it is longer than ``column`` stores."""
    length: int = column.type.length
    if value is None or len(value) <= length:
        return value
    log.warning("%s: its %s is %d characters, over the %d stored; left out", subject, column.name, len(value), length)
    return None


def _author_value(author: AuthorRecord) -> dict[str, Any]:
    value: dict[str, Any] = {"name": author.name, "affiliations": list(author.affiliations)}
    if author.hf_user:
        value["hf_user"] = author.hf_user
    return value


def _with_hf_users(stored: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """arXiv's author list, each author with the hf.co user name hf.co's list gives the same name."""
    users = {author["name"]: author["hf_user"] for author in fresh if author.get("hf_user")}
    if not users:
        return stored
    return [{**author, "hf_user": users[author["name"]]} if author["name"] in users else author for author in stored]


def enrichment_state(row: dict[str, Any], stored: dict[str, Any] | None) -> str | None:
    """ "wanted" while the abstract, the authors or the categories are unknown; "missing" stays once arXiv said it
    has no such paper (services/enrichment.py marks it), so it is not asked again every run."""
    if row["abstract"] and row["authors"] and row["categories"]:
        return None
    return "missing" if stored is not None and stored["enrichment"] == "missing" else "wanted"


def _merge_versions(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_number = {entry["version"]: entry for entry in old}
    by_number.update({entry["version"]: entry for entry in new})
    return [by_number[number] for number in sorted(by_number)]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _replace_categories(session: Session, categories: dict[int, list[str]]) -> None:
    if not categories:
        return
    session.execute(delete(PaperCategory).where(PaperCategory.paper_id.in_(list(categories))))
    rows = [
        {"paper_id": paper_id, "category": category, "is_primary": position == 0}
        for paper_id, cats in categories.items()
        for position, category in enumerate(dict.fromkeys(cats))
    ]
    if rows:
        session.connection().execute(_PAPER_CATEGORIES.insert(), rows)


def _replace_authors(session: Session, authors: dict[int, list[dict[str, Any]]]) -> None:
    """The name keys ``/authors/{key}`` finds papers by (``paper_authors``), for papers whose authors changed."""
    if not authors:
        return
    session.execute(delete(PaperAuthor).where(PaperAuthor.paper_id.in_(list(authors))))
    rows = [
        {"paper_id": paper_id, "position": position, "name_key": key, "name": author["name"][:300]}
        for paper_id, names in authors.items()
        for position, author in enumerate(names)
        if (key := author_key(author["name"]))
    ]
    if rows:
        session.connection().execute(_PAPER_AUTHORS.insert(), rows)


def reindex_authors(session: Session) -> None:
    """Rebuild every paper's name keys (an import loads papers as exported; the keys are derived, not exported)."""
    after = 0
    while True:
        statement = select(Paper.id, Paper.authors).where(Paper.id > after).order_by(Paper.id).limit(_LOOKUP_CHUNK)
        batch = session.execute(statement).all()
        if not batch:
            return
        _replace_authors(session, {paper_id: authors or [] for paper_id, authors in batch})
        after = batch[-1][0]


@dataclass(slots=True)
class FeatureCounts:
    papers: IngestCounts
    featured: IngestCounts


def feature_papers(
    session: Session, items: Sequence[FeaturedRecord], *, defer_mentions: DeferredMentions | None = None
) -> FeatureCounts:
    """Record Daily Papers items: upsert their papers, accounts and organizations, the featured rows and hf.co's
    figures. Rerunning a day updates hf.co's figures and never touches this instance's votes or comments; an
    item whose featured row and hf.co figures are as stored counts as unchanged. ``defer_mentions`` as for
    :func:`upsert_papers`."""
    paper_counts = upsert_papers(session, [item.paper for item in items], defer_mentions=defer_mentions)
    paper_ids = _paper_ids(session, [item.paper.arxiv_id for item in items])
    users = _ensure_accounts(session, User, "username", [i.submitter for i in items if i.submitter])
    orgs = _ensure_accounts(session, Organization, "name", [i.organization for i in items if i.organization])
    featured_counts = IngestCounts()
    undated = undated_papers(session, list(paper_ids.values()))
    for item in items:
        paper_id = paper_ids.get(item.paper.arxiv_id)
        if paper_id is None:  # rejected by the upsert (no title from any source)
            featured_counts.rejected += 1
            continue
        values = {
            "featured_on": item.featured_on,
            "submitted_by_id": users.get(item.submitter.name) if item.submitter else None,
            "organization_id": orgs.get(item.organization.name) if item.organization else None,
        }
        outcome = _upsert_featured(session, paper_id, values)
        if outcome == "added":
            _date_by_featured_day(session, paper_id, item.featured_on)
        if _set_hf_figures(session, paper_id, item) and outcome == "unchanged":
            outcome = "updated"
        setattr(featured_counts, outcome, getattr(featured_counts, outcome) + 1)
    count_redated(session, undated, defer=defer_mentions)
    return FeatureCounts(paper_counts, featured_counts)


def _date_by_featured_day(session: Session, paper_id: int, featured_on: date) -> None:
    """A paper with no listing or first-version date goes by the day it was first featured (the effective date,
    ``arxiv_ids.effective_date``), stamped as a change so the keyword index re-reads its date."""
    session.execute(
        update(Paper)
        .where(
            Paper.id == paper_id,
            Paper.announced_on.is_(None),
            Paper.submitted_at.is_(None),
            or_(Paper.published_on.is_(None), Paper.published_on != featured_on),
        )
        .values(published_on=featured_on, modified_at=_write_stamp(session))
        .execution_options(synchronize_session=False)
    )


def _set_hf_figures(session: Session, paper_id: int, item: FeaturedRecord) -> bool:
    """Store what hf.co says of the paper (only what the item carries); True when something changed."""
    known = {
        "hf_upvotes": item.upvotes,
        "hf_comments": item.num_comments,
        "github_stars": item.github_stars,
        "ai_summary": item.ai_summary,
        "ai_keywords": list(item.ai_keywords) if item.ai_keywords is not None else None,
    }
    values = {name: value for name, value in known.items() if value is not None}
    if not values:
        return False
    current = session.execute(select(*(getattr(Paper, name) for name in values)).where(Paper.id == paper_id)).one()
    changes = {name: value for (name, value), old in zip(values.items(), current, strict=True) if old != value}
    if changes:
        session.execute(update(Paper).where(Paper.id == paper_id).values(**changes))
    return bool(changes)


def _paper_ids(session: Session, arxiv_ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    unique = list(dict.fromkeys(arxiv_ids))
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        chunk = unique[start : start + _LOOKUP_CHUNK]
        found.update(
            {a: i for i, a in session.execute(select(Paper.id, Paper.arxiv_id).where(Paper.arxiv_id.in_(chunk)))}
        )
    return found


def _ensure_accounts(
    session: Session, model: type[User] | type[Organization], key: str, accounts: Sequence[AccountRecord]
) -> dict[str, int]:
    """Find or create users/organizations named by imported items; imported users get no password."""
    table = cast(Table, model.__table__)
    # A name too long to store names nobody here: the item keeps its paper, without that account.
    wanted = {account.name: account for account in accounts if _fitting("an account", table.c[key], account.name)}
    if not wanted:
        return {}
    column = getattr(model, key)
    known: dict[str, int] = {
        name: ident for name, ident in session.execute(select(column, model.id).where(column.in_(list(wanted))))
    }
    missing = [
        {
            key: name,
            "fullname": _fitting(name, table.c.fullname, account.fullname),
            "avatar_url": _fitting(name, table.c.avatar_url, account.avatar_url),
            "created_at": utcnow(),
        }
        for name, account in wanted.items()
        if name not in known
    ]
    if missing:
        created = session.execute(insert(model).returning(column, model.id), missing)
        known.update({name: ident for name, ident in created})
    return known


def _upsert_featured(session: Session, paper_id: int, values: dict[str, Any]) -> str:
    current = session.execute(select(FeaturedPaper).where(FeaturedPaper.paper_id == paper_id)).scalar_one_or_none()
    if current is None:
        session.add(FeaturedPaper(paper_id=paper_id, created_at=utcnow(), **values))
        session.flush()
        return "added"
    # The day a paper was first featured here (a local submission, an earlier import) stands: hf.co features a
    # paper once too, and a mirror rerun must not move the local list. Submitter and organization fill gaps.
    changes = {k: v for k, v in values.items() if v is not None and getattr(current, k) is None}
    for name, value in changes.items():
        setattr(current, name, value)
    return "updated" if changes else "unchanged"


def refresh_counters(session: Session, paper_ids: Sequence[int]) -> None:
    """Recompute this instance's ``upvote_count`` and ``comment_count`` of papers from its votes and comments
    (hf.co's figures live apart, in ``hf_upvotes``/``hf_comments``)."""
    if not paper_ids:
        return
    session.flush()
    votes = select(func.count()).select_from(Vote).where(Vote.paper_id == Paper.id).scalar_subquery()
    comments = (
        select(func.count())
        .select_from(Comment)
        .where(Comment.paper_id == Paper.id, Comment.hidden.is_(False), Comment.deleted.is_(False))
        .scalar_subquery()
    )
    unique_ids = sorted(set(paper_ids))
    for start in range(0, len(unique_ids), _LOOKUP_CHUNK):
        chunk = unique_ids[start : start + _LOOKUP_CHUNK]
        # Lock the papers first (in id order): the recount below then starts after any concurrent voter on the same
        # paper has committed, and sees that vote. Without the lock, PostgreSQL's recount runs on a snapshot from
        # before the other vote and overwrites its count (24 concurrent votes counted 4). FOR NO KEY UPDATE, since
        # inserting a vote holds a key-share lock on its paper (the foreign key): a plain FOR UPDATE would wait on
        # that and deadlock two voters. SQLite has one writer at a time, so there the lock is implied.
        locking = select(Paper.id).where(Paper.id.in_(chunk)).order_by(Paper.id).with_for_update(key_share=True)
        session.execute(locking)
        session.execute(
            update(Paper)
            .where(Paper.id.in_(chunk))
            .values(
                upvote_count=votes,
                comment_count=comments,
            )
            .execution_options(synchronize_session=False)
        )
