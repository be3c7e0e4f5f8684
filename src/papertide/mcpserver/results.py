"""What the MCP tools answer: small structured values (ids, titles, dates, a one-line reason), never pages.

Each is a pydantic model, so the SDK publishes its JSON schema as the tool's output schema and sends it as
structured content beside a JSON text copy. Dates are ISO days and only true ones: ``published`` is arXiv's,
``featured_on`` the Daily Papers day; either is null when unknown.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from papertide.queries.collections import CollectionRow
from papertide.queries.papers import PaperRow


class PaperBrief(BaseModel):
    arxiv_id: str = Field(description="Canonical arXiv id, e.g. 2503.24322; pass it to get_paper or read_paper.")
    title: str
    published: str | None = Field(description="arXiv publication day (YYYY-MM-DD), null when unknown.")
    featured_on: str | None = Field(description="Daily Papers day it was featured on (YYYY-MM-DD), or null.")
    upvotes: int = Field(description="Upvotes on this papertide instance.")
    hf_upvotes: int | None = Field(description="Upvotes on hf.co's Daily Papers, null when hf.co never listed it.")
    url: str = Field(description="The paper's page on this instance.")
    why: str = Field(description="One line: why this paper is in the answer.")

    @classmethod
    def of(cls, row: PaperRow, base_url: str, why: str) -> PaperBrief:
        published = row.announced_on or (row.submitted_at.date() if row.submitted_at else None)
        return cls(
            arxiv_id=row.arxiv_id,
            title=" ".join(row.title.split()),
            published=published.isoformat() if published else None,
            featured_on=row.featured_on.isoformat() if row.featured_on else None,
            upvotes=row.upvotes,
            hf_upvotes=row.hf_upvotes,
            url=f"{base_url}/papers/{row.arxiv_id}",
            why=why,
        )


class PaperList(BaseModel):
    papers: list[PaperBrief]
    total: int = Field(description="How many papers matched in all (the list holds at most `limit`).")
    notes: list[str] = Field(default_factory=list, description="What was ignored or assumed, if anything.")


class PaperDetail(BaseModel):
    arxiv_id: str
    title: str
    authors: list[str]
    abstract: str | None
    categories: list[str] = Field(description="arXiv categories, primary first.")
    published: str | None = Field(description="arXiv publication day (YYYY-MM-DD), null when unknown.")
    featured_on: str | None = Field(description="Daily Papers day it was featured on (YYYY-MM-DD), or null.")
    upvotes: int = Field(description="Upvotes on this papertide instance.")
    comments: int = Field(description="Comments on this papertide instance.")
    hf_upvotes: int | None = Field(description="Upvotes on hf.co's Daily Papers, null when hf.co never listed it.")
    hf_comments: int | None = Field(description="Comments on hf.co, null when hf.co never listed it.")
    ai_summary: str | None = Field(description="hf.co's machine-written summary (not the authors'), or null.")
    ai_keywords: list[str] | None = Field(description="hf.co's machine-picked keywords, or null.")
    keyphrases: list[str] = Field(description="papertide's own keyphrases, extracted on this server (not hf.co's).")
    gist: str | None = Field(description="papertide's own one-sentence gist from the abstract (not hf.co's), or null.")
    code_url: str | None
    project_url: str | None
    github_stars: int | None
    url: str = Field(description="The paper's page on this instance.")
    markdown_url: str = Field(description="The page as Markdown (what read_paper returns).")
    pdf_url: str

    @classmethod
    def of(cls, row: PaperRow, base_url: str) -> PaperDetail:
        brief = PaperBrief.of(row, base_url, "")
        return cls(
            arxiv_id=row.arxiv_id,
            title=brief.title,
            authors=[author["name"] for author in row.authors],
            abstract=" ".join(row.abstract.split()) if row.abstract else None,
            categories=row.categories,
            published=brief.published,
            featured_on=brief.featured_on,
            upvotes=row.upvotes,
            comments=row.comments,
            hf_upvotes=row.hf_upvotes,
            hf_comments=row.hf_comments,
            ai_summary=row.ai_summary,
            ai_keywords=row.ai_keywords or None,
            keyphrases=row.keyphrases,
            gist=row.gist,
            code_url=row.code_url,
            project_url=row.project_url,
            github_stars=row.github_stars,
            url=brief.url,
            markdown_url=f"{brief.url}.md",
            pdf_url=f"https://arxiv.org/pdf/{row.arxiv_id}",
        )


class CollectionBrief(BaseModel):
    id: int = Field(description="Pass it to add_to_collection as collection_id.")
    title: str
    owner: str
    public: bool
    size: int = Field(description="Papers in the collection.")
    url: str

    @classmethod
    def of(cls, row: CollectionRow, base_url: str) -> CollectionBrief:
        url = f"{base_url}{row.path}"
        return cls(id=row.id, title=row.title, owner=row.owner, public=row.is_public, size=row.size, url=url)


class CollectionList(BaseModel):
    collections: list[CollectionBrief]


class Added(BaseModel):
    collection_id: int
    arxiv_id: str
    detail: str
