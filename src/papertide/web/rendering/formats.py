"""Content negotiation and citation responses: which format a request asks for (by suffix or by ``Accept``), the
BibTeX/RIS/CSL-JSON response of some papers, JSON-LD made safe inside HTML, and COinS spans for cards.

One helper, :func:`negotiate`, serves every URL that answers in more than one format: the paper page answers
``Accept: text/markdown`` with its ``.md`` twin, ``application/json`` with its ``.json`` twin and the three
citation types with their files; collections and
searches answer only by suffix. Responses that depend on ``Accept`` say ``Vary: Accept`` (and the page cache keys
on it), so no cache hands BibTeX to a browser.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup

from papertide.services.citations import (
    FORMATS,
    LABELS,
    MEDIA_TYPES,
    SUFFIXES,
    Citable,
    coins,
    dublin_core_tags,
    highwire_tags,
    render,
    scholarly_article,
)
from papertide.text import latex_plain
from papertide.web.rendering.caching import mark_public
from papertide.web.viewmodels.cards import Card, excerpt, paper_url

HTML = "text/html"
MARKDOWN = "text/markdown"
JSON = "application/json"
# What the paper URL offers, HTML first: it wins ties, so */* and browsers get the page.
PAPER_MEDIA = (HTML, MARKDOWN, JSON, *MEDIA_TYPES.values())
FORMAT_OF_MEDIA = {media: name for name, media in MEDIA_TYPES.items()}
MAX_ACCEPT = 2_000
DESCRIPTION_CHARS = 300


def _ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept[:MAX_ACCEPT].split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def _quality(media: str, ranges: list[tuple[str, float]]) -> float:
    """The q of the most specific range matching ``media`` (RFC 9110 §12.5.1), 0 when none does."""
    kind = media.split("/")[0]
    best_specificity, quality = -1, 0.0
    for candidate, q in ranges:
        specificity = 2 if candidate == media else 1 if candidate == f"{kind}/*" else 0 if candidate == "*/*" else -1
        if specificity > best_specificity:
            best_specificity, quality = specificity, q
    return quality


def negotiate(accept: str | None, offered: Sequence[str]) -> str:
    """The offered media type the client prefers; the first offered when it sends no ``Accept`` or accepts none
    of them (a page is more use than a 406)."""
    if not accept:
        return offered[0]
    ranges = _ranges(accept)
    scored = [(_quality(media, ranges), -index, media) for index, media in enumerate(offered)]
    quality, _, media = max(scored)
    return media if quality > 0 else offered[0]


def citation_response(request: Request, papers: Sequence[Citable], format_name: str, filename: str) -> Response:
    """``papers`` as a citation file; ``filename`` without its suffix names the download."""
    body = render(papers, format_name)
    disposition = f'inline; filename="{filename}{SUFFIXES[format_name]}"'
    response = Response(
        body,
        media_type=f"{MEDIA_TYPES[format_name]}; charset=utf-8",
        headers={"Content-Disposition": disposition, "Vary": "Accept"},
    )
    return mark_public(response, request)


def json_ld(data: dict[str, Any]) -> Markup:
    """JSON for a ``<script type="application/ld+json">`` block: ``<``, ``>`` and ``&`` escaped as JSON
    escapes, so a title holding ``</script>`` cannot end the block, and the JSON still parses to the same data."""
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def card_coins(card: Card) -> str:
    """The COinS ContextObject of a listing card (Zotero's Connector saves every card of a page from these)."""
    return coins(card.arxiv_id, card.title, card.authors, card.published_on)


@dataclass(frozen=True, slots=True)
class PaperMeta:
    """What a paper page's ``<head>`` and Cite control carry for machines: Highwire and Dublin Core tags, Open Graph
    and Twitter card values (the description short, as link previews show it), the JSON-LD block, the BibTeX to
    copy and the citation downloads."""

    url: str
    tags: list[tuple[str, str]]
    title: str
    description: str
    json_ld: Markup
    bibtex: str
    downloads: list[tuple[str, str, str]]


def paper_meta(paper: Citable, base_url: str) -> PaperMeta:
    url = f"{base_url}{paper_url(paper.arxiv_id)}"
    return PaperMeta(
        url=url,
        tags=highwire_tags(paper, url) + dublin_core_tags(paper),
        title=latex_plain(paper.title),
        description=excerpt(latex_plain(paper.abstract), DESCRIPTION_CHARS) or "",
        json_ld=json_ld(scholarly_article(paper, url)),
        bibtex=render([paper], "bibtex"),
        downloads=citation_downloads(paper_url(paper.arxiv_id)),
    )


def citation_downloads(base_path: str, query: str = "") -> list[tuple[str, str, str]]:
    """(label, URL, media type) of the citation files of a page at ``base_path``."""
    return [(LABELS[name], f"{base_path}{SUFFIXES[name]}{query}", MEDIA_TYPES[name]) for name in FORMATS]
