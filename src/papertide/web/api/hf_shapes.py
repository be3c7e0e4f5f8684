"""Papers in the JSON shapes of hf.co's papers API, so ``huggingface_hub`` and scrapers read papertide unchanged.

Shapes follow the recorded ``/api/daily_papers`` responses and ``huggingface_hub``'s ``PaperInfo`` parser:
a daily item is ``{paper: {...}, publishedAt, title, summary, numComments, submittedBy, organization, …}`` and
``/api/papers/{id}`` is the flat paper object. hf.co's ids (``_id``, ``discussionId``) are 24 hex digits;
papertide derives stable ones from its own keys. ``upvotes`` and ``numComments`` are hf.co's counts (where the
mirror or a Daily Papers file brought them) plus this instance's, the figure the daily lists sort by
(docs/ranking.md); ``ai_summary`` and ``ai_keywords`` are hf.co's own, given only when hf.co's list carried them.
Fields papertide has no data for (``mediaUrls``, thumbnails) are left out rather than invented. An author slot
claimed by an account here (approved: ``services/claims.py``) carries hf.co's ``status: "claimed_verified"``,
``statusLastChangedAt`` and ``user`` (the account); a pending claim shows nowhere.

Collections follow hf.co's collection objects as ``huggingface_hub``'s ``Collection`` and ``CollectionItem`` parse
them: a slug ``namespace/title-slug-<24 hex>`` whose hex is the collection's id, an ``owner`` object (a user or an
organization), paper items whose ``_id`` (the item object id) is the paper's row id in hex, a ``note`` with
``text`` and ``html``.

Dates are true or absent, never the moment papertide imported a record: ``paper.publishedAt`` is arXiv's (the v1
submission, else the listing day); ``paper.submittedOnDailyAt`` and a daily item's ``publishedAt`` are the Daily
Papers day the paper was featured (midnight UTC: papertide keeps the day, from a file, the mirror or a local
submission); an item for a paper never featured (a search hit) carries its publication date.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from papertide.queries.claims import ClaimedBy
from papertide.queries.collections import CollectionEntry, CollectionRow
from papertide.queries.papers import Account, PaperRow, both_upvotes

Claims = Mapping[int, Mapping[int, ClaimedBy]]  # paper id -> author position -> the account that claimed it
THEMES = ("orange", "blue", "green", "purple", "pink", "indigo")
LISTED_ITEMS = 4  # hf.co lists at most four items of each collection; get_collection has them all


def hex_id(*parts: object) -> str:
    """A stable 24-hex id like hf.co's ObjectIds."""
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=12).hexdigest()


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601 with milliseconds and a Z, as hf.co writes dates."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0), tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def published_on(row: PaperRow) -> datetime | date | None:
    """When arXiv published the paper: the v1 submission, else the listing day; None when unknown."""
    return row.submitted_at or row.announced_on


def both_comments(row: PaperRow) -> int:
    """hf.co's comment count (0 when it has none) plus this instance's visible comments."""
    return row.comments + (row.hf_comments or 0)


def _put_date(shape: dict[str, Any], key: str, value: datetime | date | None) -> None:
    """Dates are facts or absent: a key papertide cannot date truly is left out, never filled with a guess."""
    if value is not None:
        shape[key] = iso(value)


def _user(account: Account, *, item_level: bool) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "_id": hex_id("user", account.name),
        "avatarUrl": account.avatar_url or "",
        "fullname": account.fullname or account.name,
        "name": account.name,
        "type": "user",
        "isPro": False,
    }
    if item_level:  # the item-level submittedBy of the 2026 recordings
        shape.update(isHf=False, isHfAdmin=False, isMod=False, followerCount=0, isUserFollowing=False)
    else:  # paper.submittedOnDailyBy, which the parser reads the username from
        shape["user"] = account.name
    return shape


def _organization(account: Account) -> dict[str, Any]:
    return {
        "_id": hex_id("org", account.name),
        "name": account.name,
        "fullname": account.fullname or account.name,
        "avatar": account.avatar_url or "",
    }


def hf_author(row: PaperRow, index: int, claimed: ClaimedBy | None) -> dict[str, Any]:
    """One author of a paper; a claimed slot says whose account it is, as hf.co does."""
    author: dict[str, Any] = {
        "_id": hex_id("author", row.arxiv_id, index),
        "name": row.authors[index]["name"],
        "hidden": False,
    }
    if claimed is not None:
        author["status"] = "claimed_verified"
        _put_date(author, "statusLastChangedAt", claimed.decided_at)
        author["user"] = {
            "_id": hex_id("user", claimed.username),
            "avatarUrl": claimed.avatar_url or "",
            "fullname": claimed.fullname or claimed.username,
            "user": claimed.username,
            "isPro": False,
            "type": "user",
        }
    return author


def hf_paper(row: PaperRow, claims: Claims | None = None) -> dict[str, Any]:
    """The flat paper object (``/api/papers/{id}``, and ``paper`` inside daily items)."""
    claimed = (claims or {}).get(row.id, {})
    paper: dict[str, Any] = {
        "id": row.arxiv_id,
        "authors": [hf_author(row, index, claimed.get(index)) for index in range(len(row.authors))],
        "title": row.title,
        "summary": row.abstract or "",
        "upvotes": both_upvotes(row),
        "discussionId": hex_id("discussion", row.arxiv_id),
        "numComments": both_comments(row),
    }
    if row.ai_summary:
        paper["ai_summary"] = row.ai_summary
    if row.ai_keywords:
        paper["ai_keywords"] = row.ai_keywords
    _put_date(paper, "publishedAt", published_on(row))
    _put_date(paper, "submittedOnDailyAt", row.featured_on)
    if row.submitted_by is not None:
        paper["submittedOnDailyBy"] = _user(row.submitted_by, item_level=False)
    if row.organization is not None:
        paper["organization"] = _organization(row.organization)
    if row.project_url:
        paper["projectPage"] = row.project_url
    if row.code_url:
        paper["githubRepo"] = row.code_url
        paper["githubStars"] = row.github_stars or 0
    return paper


def hf_daily_item(row: PaperRow, claims: Claims | None = None) -> dict[str, Any]:
    """A ``/api/daily_papers`` item: the paper wrapped with when and by whom it was featured."""
    item: dict[str, Any] = {
        "paper": hf_paper(row, claims),
        "title": " ".join(row.title.split()),
        "summary": row.abstract or "",
        "numComments": both_comments(row),
        "isAuthorParticipating": False,
    }
    _put_date(item, "publishedAt", row.featured_on or published_on(row))
    if row.submitted_by is not None:
        item["submittedBy"] = _user(row.submitted_by, item_level=True)
    if row.organization is not None:
        item["organization"] = _organization(row.organization)
    return item


def hf_repos(row: PaperRow) -> dict[str, Any]:
    """``/api/arxiv/{id}/repos``: what links to the paper. papertide hosts no models, datasets or Spaces, so those
    lists are empty; the code repository and project page it knows are given as the paper object names them."""
    repos: dict[str, Any] = {"models": [], "datasets": [], "spaces": []}
    if row.code_url:
        repos["githubRepo"] = row.code_url
        repos["githubStars"] = row.github_stars or 0
    if row.project_url:
        repos["projectPage"] = row.project_url
    return repos


def hf_collection_slug(collection: CollectionRow) -> str:
    """``namespace/title-slug-<24 hex>``, as hf.co's slugs look; the hex is the collection's id."""
    return f"{collection.owner}/{collection.slug}-{collection.id:024x}"


def collection_id_of(slug: str) -> tuple[str, int] | None:
    """(namespace, collection id) of a slug :func:`hf_collection_slug` made; None for any other text."""
    namespace, _, rest = slug.partition("/")
    _, _, digits = rest.rpartition("-")
    if not namespace or len(digits) != 24 or any(c not in "0123456789abcdef" for c in digits):
        return None
    return namespace, int(digits, 16)


def item_object_id(paper_id: int) -> str:
    return f"{paper_id:024x}"


def paper_id_of(object_id: str) -> int | None:
    if len(object_id) != 24 or any(c not in "0123456789abcdef" for c in object_id):
        return None
    return int(object_id, 16)


def _owner(collection: CollectionRow) -> dict[str, Any]:
    kind = "user" if collection.owner_kind == "user" else "org"
    owner: dict[str, Any] = {
        "_id": hex_id(kind, collection.owner),
        "avatarUrl": "",
        "fullname": collection.owner,
        "name": collection.owner,
        "type": kind,
        "isHf": False,
        "isHfAdmin": False,
        "isMod": False,
    }
    owner["isPro" if kind == "user" else "isEnterprise"] = False
    return owner


def hf_collection_item(entry: CollectionEntry, position: int) -> dict[str, Any]:
    """A paper in a collection, as hf.co's paper items are."""
    item: dict[str, Any] = {
        "_id": item_object_id(entry.row.id),
        "id": entry.row.arxiv_id,
        "type": "paper",
        "position": position,
        "title": " ".join(entry.row.title.split()),
        "upvotes": both_upvotes(entry.row),
        "isUpvotedByUser": False,
    }
    _put_date(item, "publishedAt", published_on(entry.row))
    if entry.note:
        item["note"] = {"text": entry.note, "html": html.escape(entry.note)}
    return item


def hf_collection(
    collection: CollectionRow, entries: list[CollectionEntry], base_url: str, *, listed: bool = False
) -> dict[str, Any]:
    """A collection as ``GET /api/collections/{slug}`` answers it (``listed``: as a listing does, four items)."""
    slug = hf_collection_slug(collection)
    shown = entries[:LISTED_ITEMS] if listed else entries
    shape: dict[str, Any] = {
        "slug": slug,
        "title": collection.title,
        "gating": False,
        "lastUpdated": iso(collection.updated_at),
        "owner": _owner(collection),
        "items": [hf_collection_item(entry, position) for position, entry in enumerate(shown)],
        "theme": THEMES[collection.id % len(THEMES)],
        "private": not collection.is_public,
        "upvotes": 0,
        "isUpvotedByUser": False,
        "shareUrl": f"{base_url}{collection.path}",
    }
    if not listed:  # a listing's place is the item's index, which huggingface_hub passes itself
        shape["position"] = 0
    if collection.description:
        shape["description"] = collection.description
    return shape
