"""The JSON bodies of papertide's own API (``/api/v1``), as pydantic models: they validate requests, shape
responses and document both in the OpenAPI schema that the tests fuzz."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from papertide.queries.comments import CommentRow
from papertide.queries.papers import PaperRow
from papertide.web.deps import MAX_ROW_ID


class Problem(BaseModel):
    """RFC 9457 problem details: every API error looks like this."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


_PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}
PROBLEMS: dict[int | str, dict[str, object]] = {
    400: {"description": "A parameter is out of range or inconsistent; `detail` says which.", **_PROBLEM},
    401: {"description": "An API token is unknown or revoked.", **_PROBLEM},
    403: {"description": "Not allowed: a read token on a write, no CSRF token, not an admin.", **_PROBLEM},
    404: {"description": "No such paper, collection or organization.", **_PROBLEM},
    422: {"description": "A value failed validation; `detail` lists them.", **_PROBLEM},
    429: {"description": "Too many requests; retry after `Retry-After` seconds.", **_PROBLEM},
    502: {"description": "arXiv did not answer; try again later.", **_PROBLEM},
    503: {"description": "A service papertide depends on is off or unreachable.", **_PROBLEM},
}


class Author(BaseModel):
    name: str


class Paper(BaseModel):
    arxiv_id: str = Field(examples=["2503.24322"])
    title: str
    abstract: str | None
    authors: list[Author]
    categories: list[str]
    published_on: date | None = Field(description="arXiv listing date, else the first version's day")
    featured_on: date | None
    upvotes: int
    comments: int
    code_url: str | None
    project_url: str | None
    submitted_by: str | None
    organization: str | None
    url: str
    keyphrases: list[str] = Field(
        description="papertide's own keyphrases (extracted on this server; not hf.co's ai_keywords), [] until read"
    )
    gist: str | None = Field(
        description="papertide's own one-sentence gist: the abstract sentence nearest the whole abstract (not "
        "hf.co's ai_summary); null without an abstract or until read"
    )

    @classmethod
    def of(cls, row: PaperRow, base_url: str) -> Paper:
        return cls(
            arxiv_id=row.arxiv_id,
            title=row.title,
            abstract=row.abstract,
            authors=[Author(name=a["name"]) for a in row.authors],
            categories=list(row.categories),
            published_on=row.published_on,
            featured_on=row.featured_on,
            upvotes=row.upvotes,
            comments=row.comments,
            code_url=row.code_url,
            project_url=row.project_url,
            submitted_by=row.submitted_by.name if row.submitted_by else None,
            organization=row.organization.name if row.organization else None,
            url=f"{base_url}/papers/{row.arxiv_id}",
            keyphrases=row.keyphrases,
            gist=row.gist,
        )


class Page(BaseModel):
    items: list[Paper]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last one.")


class Facet(BaseModel):
    category: str
    count: int


class SearchPage(Page):
    total: int = Field(description="Matches considered (at most 1,000).")
    facets: list[Facet]
    warnings: list[str]


class ScoredPaper(BaseModel):
    paper: Paper
    score: float = Field(description="Cosine similarity to the query vector.")


class SimilarPage(BaseModel):
    items: list[ScoredPaper]
    warnings: list[str]


class CommentOut(BaseModel):
    id: int
    parent_id: int | None
    author: str | None
    body: str
    html: str
    created_at: datetime
    edited_at: datetime | None

    @classmethod
    def of(cls, row: CommentRow) -> CommentOut:
        return cls(
            id=row.id,
            parent_id=row.parent_id,
            author=row.author,
            body="" if row.deleted else row.body,
            html="" if row.deleted else row.body_html,
            created_at=row.created_at,
            edited_at=row.edited_at,
        )


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)
    parent_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)


class VoteOut(BaseModel):
    voted: bool
    upvotes: int


class CollectionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5_000)
    public: bool = True


class CollectionOut(BaseModel):
    id: int
    slug: str
    title: str
    description: str | None
    public: bool
    size: int
    url: str


class ItemIn(BaseModel):
    arxiv_id: str = Field(max_length=300, examples=["2503.24322"])
    note: str | None = Field(None, max_length=2_000)


class PreferencesIn(BaseModel):
    cadence: Literal["daily", "weekly"] = "daily"
    trending: bool = True
    categories: list[str] = Field(default_factory=list, max_length=20)
    organizations: list[str] = Field(default_factory=list, max_length=20)
    authors: list[str] = Field(default_factory=list, max_length=20)
    searches: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Saved searches in the query language; each digest brings the papers new since the last one.",
        examples=[['cat:cs.CL "speculative decoding" -survey']],
    )
    personal: bool = Field(False, description="Papers picked for the account (only for a signed-in subscriber).")


class SubscriptionIn(PreferencesIn):
    email: str = Field(max_length=320)


class SubscriptionOut(PreferencesIn):
    id: int
    email: str
    status: Literal["pending", "active", "suspended", "unsubscribed"]


class Accepted(BaseModel):
    detail: str


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for; a cursor that is not ours raises ValueError."""
    if not cursor:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["o"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError("cursor is not one this API returned") from error
    if not isinstance(offset, int) or not 0 <= offset <= 100_000:
        raise ValueError("cursor is not one this API returned")
    return offset


class SessionIn(BaseModel):
    """A reading-group session to schedule: a start in its time zone, the papers, who presents, where."""

    starts_at: str = Field(max_length=40, examples=["2026-07-16T15:00"])
    time_zone: str = Field(max_length=64, examples=["Europe/Paris"])
    papers: list[str] = Field(min_length=1, max_length=10, examples=[["2503.24322"]])
    presenter: str | None = Field(None, max_length=64, description="A member's username.")
    place: str | None = Field(None, max_length=500, description="A room or a meeting link.")
    slides_url: str | None = Field(None, max_length=500)
    title: str | None = Field(None, max_length=200)
    duration_minutes: int = Field(60, ge=5, le=24 * 60)


class SessionOut(BaseModel):
    id: int
    url: str
    title: str | None
    starts_at: datetime
    time_zone: str
    local_start: str
    duration_minutes: int
    presenter: str | None
    place: str | None
    slides_url: str | None
    papers: list[str]
