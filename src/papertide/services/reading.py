"""A paper as Markdown, for LLM agents and ``HfApi.read_paper``: the one renderer behind ``/papers/{id}.md`` and
the MCP server's ``read_paper`` tool and ``papertide://papers/{id}`` resource, so the two always agree.

A read: it takes the caller's session and the semantic side (None when semantic search is off), and lists up to
:data:`SIMILAR_LISTED` similar papers when it can; a model that fails to load leaves that list out rather than
failing the page.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from papertide.queries.papers import PaperRow, query_papers_by_ids
from papertide.search.embedder import EmbedderError
from papertide.search.semantic import Semantic
from papertide.search.similar import Examples, similar_papers

SIMILAR_LISTED = 5
log = logging.getLogger(__name__)


def read_paper_markdown(session: Session, semantic: Semantic | None, row: PaperRow, base_url: str) -> str:
    """``row`` (a visible paper) as Markdown, with its similar papers when semantic search is on."""
    return paper_markdown(row, base_url, _similar(session, semantic, row.id))


def _similar(session: Session, semantic: Semantic | None, paper_id: int) -> list[PaperRow]:
    if semantic is None:
        return []
    try:
        hits = similar_papers(session, semantic, Examples(positives=[paper_id]), limit=SIMILAR_LISTED)
    except EmbedderError:
        log.exception("similar papers left out of the Markdown: the embedding model did not load")
        return []
    return query_papers_by_ids(session, [hit.paper_id for hit in hits])


def paper_markdown(row: PaperRow, base_url: str, similar: list[PaperRow]) -> str:
    """The paper page as Markdown: title, authors, links, dates, counts, abstract, similar papers, source."""
    authors = ", ".join(author["name"] for author in row.authors) or "unknown authors"
    lines = [
        f"# {' '.join(row.title.split())}",
        "",
        f"**Authors:** {authors}",
        f"**arXiv:** [{row.arxiv_id}](https://arxiv.org/abs/{row.arxiv_id}) · "
        f"[PDF](https://arxiv.org/pdf/{row.arxiv_id})",
    ]
    published = row.published_on
    if published:
        lines.append(f"**Published:** {published.isoformat()}")
    if row.featured_on:
        lines.append(f"**Featured:** {row.featured_on.isoformat()}")
    if row.categories:
        lines.append(f"**Categories:** {', '.join(row.categories)}")
    if row.code_url:
        lines.append(f"**Code:** {row.code_url}")
    if row.project_url:
        lines.append(f"**Project page:** {row.project_url}")
    lines.append(f"**Upvotes:** {row.upvotes} · **Comments:** {row.comments}")
    if row.hf_upvotes is not None:
        lines.append(f"**On hf.co:** {row.hf_upvotes} upvotes · {row.hf_comments or 0} comments")
    lines += ["", "## Abstract", "", " ".join((row.abstract or "No abstract.").split())]
    if row.ai_summary:  # hf.co's machine-written summary, never mixed into the abstract
        lines += ["", "## AI summary (from hf.co)", "", " ".join(row.ai_summary.split())]
        if row.ai_keywords:
            lines += ["", f"**Keywords (hf.co):** {', '.join(row.ai_keywords)}"]
    if similar:
        lines += ["", "## Similar papers", ""]
        lines += [f"- [{' '.join(s.title.split())}]({base_url}/papers/{s.arxiv_id}.md)" for s in similar]
    lines += ["", f"Source: {base_url}/papers/{row.arxiv_id}", ""]
    return "\n".join(lines)
