"""Feeds: one list of papers written as RSS 2.0 or Atom (feedgen) or JSON Feed 1.1, with conditional GET.

Every feed route builds a :class:`FeedSpec` (title, page URL, the papers) and calls :func:`feed_response`, which
writes the format asked for and answers ``304 Not Modified`` when the reader's ``If-None-Match`` or
``If-Modified-Since`` shows it already has this version. Titles and abstracts are turned into plain text (LaTeX
made readable), so no reader has to interpret markup from a paper.

The writer never raises on text: sources and forms clean what they take in, but a row stored before they did, or
a search query in the feed's title, may still hold a character XML 1.0 cannot carry, and one such character would
make the feed a 500 for every reader. Every string is passed through :func:`xml_safe` on its way out.

A feed's own URL (its Atom ``id`` and ``rel="self"`` link, RSS's atom:link, JSON Feed's ``feed_url``) is the URL a
reader fetches, search query included; the W3C validator warns when the self link is not. Atom feeds name the site
as their author, which RFC 4287 requires of every entry that has none of its own (a paper whose authors are
unknown).
:func:`render_opml` writes the OPML list of a user's feeds the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal
from urllib.parse import quote, quote_plus
from xml.etree import ElementTree

from fastapi import Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator

from papertide.queries.papers import PaperRow
from papertide.text import latex_plain, xml_safe

FeedFormat = Literal["rss", "atom", "json"]
FORMATS: dict[str, FeedFormat] = {"rss": "rss", "atom": "atom", "json": "json"}
MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedSpec:
    title: str
    page_url: str  # the HTML page this feed follows, absolute
    feed_path: str  # without the format suffix, e.g. /feeds/daily
    papers: list[PaperRow]
    description: str = "Research papers from papertide"
    private: bool = False
    query: str = ""  # the feed URL's query string, "?q=…" for a search feed
    reasons: dict[int, str] = field(default_factory=dict)  # paper id -> why it is in the feed, before its abstract


def feed_url(spec: FeedSpec, fmt: FeedFormat, base_url: str) -> str:
    """The URL the feed is fetched at, its query included."""
    return f"{base_url}{spec.feed_path}.{fmt}{spec.query}"


def split_format(value: str) -> tuple[str, FeedFormat] | None:
    """``cs.CL.rss`` -> (``cs.CL``, ``rss``); None when the suffix is not a feed format."""
    stem, _, suffix = value.rpartition(".")
    return (stem, FORMATS[suffix]) if stem and suffix in FORMATS else None


def paper_date(paper: PaperRow) -> datetime:
    """When the paper was featured, else its effective date (listed, first version, id's month). ``featured_at`` is
    the moment the row was written, which is the featured day's own moment only for a local submission: an
    imported day keeps its date."""
    if paper.featured_on is not None:
        at = paper.featured_at
        if at is not None and at.astimezone(UTC).date() == paper.featured_on:
            return at
        return datetime.combine(paper.featured_on, time(0, 0), tzinfo=UTC)
    if paper.published_on is not None:
        return datetime.combine(paper.published_on, time(0, 0), tzinfo=UTC)
    return EPOCH


def feed_response(request: Request, spec: FeedSpec, fmt: FeedFormat, base_url: str) -> Response:
    body = render_feed(spec, fmt, base_url).encode()
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    modified = max((paper_date(p) for p in spec.papers), default=EPOCH).replace(microsecond=0)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified.astimezone(UTC), usegmt=True),
        "Cache-Control": "private, max-age=300" if spec.private else "public, max-age=300",
    }
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        return etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")] or if_none_match == "*"
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def render_feed(spec: FeedSpec, fmt: FeedFormat, base_url: str) -> str:
    spec = replace(
        spec,
        title=xml_safe(spec.title),
        description=xml_safe(spec.description),
        page_url=xml_safe(spec.page_url),
        feed_path=xml_safe(spec.feed_path),
        query=xml_safe(spec.query),
    )
    items = [_item(paper, base_url, spec.reasons.get(paper.id)) for paper in spec.papers]
    return _json_feed(spec, items, base_url) if fmt == "json" else _xml_feed(spec, items, fmt, base_url)


@dataclass(frozen=True, slots=True)
class _Item:
    """One paper as every format writes it: plain text that XML can carry."""

    url: str
    title: str
    summary: str
    published: datetime
    authors: list[str]
    categories: list[str]
    paper: PaperRow


def _item(paper: PaperRow, base_url: str, reason: str | None) -> _Item:
    title = xml_safe(latex_plain(paper.title))
    names = (xml_safe(author["name"]).strip() for author in paper.authors[:20])
    abstract = xml_safe(latex_plain(paper.abstract))
    # Why the paper is in this feed (a lab's activity) first, then papertide's own gist, labelled as such
    # (services/keyphrases.py), then the abstract.
    gist = f"papertide's gist: {xml_safe(latex_plain(paper.gist))}\n\n" if paper.gist else ""
    summary = f"{gist}{abstract}" if abstract else title
    return _Item(
        url=f"{base_url}/papers/{paper.arxiv_id}",
        title=title,
        summary=f"{xml_safe(reason)}\n\n{summary}" if reason else summary,
        published=paper_date(paper),
        authors=[name for name in names if name],  # Atom needs a name for every author
        categories=[term for term in map(xml_safe, paper.categories) if term],
        paper=paper,
    )


def _xml_feed(spec: FeedSpec, items: list[_Item], fmt: Literal["rss", "atom"], base_url: str) -> str:
    feed = FeedGenerator()
    feed.id(f"{base_url}{spec.feed_path}{spec.query}")
    feed.title(spec.title)
    feed.subtitle(spec.description)
    feed.author({"name": "papertide", "uri": base_url})
    feed.link(href=spec.page_url, rel="alternate")
    feed.link(href=feed_url(spec, fmt, base_url), rel="self")
    feed.language("en")
    feed.generator("papertide")
    feed.updated(max((item.published for item in items), default=EPOCH))
    for item in items:
        entry = feed.add_entry(order="append")
        entry.id(item.url)
        entry.guid(item.url, permalink=True)
        entry.title(item.title)
        entry.link(href=item.url)
        entry.description(item.summary)
        entry.published(item.published)
        entry.updated(item.published)
        for name in item.authors:
            entry.author({"name": name})
        for term in item.categories:
            entry.category(term=term)
        for phrase in item.paper.keyphrases:  # papertide's own keyphrases, a vocabulary of their own
            entry.category(term=xml_safe(phrase), scheme=f"{base_url}/search?q=kw:")
    return str((feed.rss_str if fmt == "rss" else feed.atom_str)(pretty=True).decode())


def _json_feed(spec: FeedSpec, items: list[_Item], base_url: str) -> str:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": spec.title,
        "description": spec.description,
        "home_page_url": spec.page_url,
        "feed_url": feed_url(spec, "json", base_url),
        "language": "en",
        "items": [
            {
                "id": item.url,
                "url": item.url,
                "external_url": f"https://arxiv.org/abs/{item.paper.arxiv_id}",
                "title": item.title,
                "content_text": item.summary,
                "date_published": item.published.isoformat(),
                "authors": [{"name": name} for name in item.authors],
                "tags": item.categories,
                "_papertide": {
                    "upvotes": item.paper.upvotes,
                    "comments": item.paper.comments,
                    "hf_upvotes": item.paper.hf_upvotes,  # hf.co's figures, apart (docs/ranking.md)
                    "hf_comments": item.paper.hf_comments,
                    "keyphrases": item.paper.keyphrases,  # papertide's own (services/keyphrases.py)
                    "gist": item.paper.gist,
                },
            }
            for item in items
        ],
    }
    return json.dumps(feed, ensure_ascii=False, indent=1)


@dataclass(frozen=True, slots=True)
class FeedRef:
    """A feed that follows a page, as the page's route declares it: its title and path (without the format
    suffix; a search's carries its ``?q=``). Pages list theirs in their template context as ``feeds``."""

    title: str
    path: str


PERIOD_FEEDS = {"day": "daily", "week": "weekly", "month": "monthly"}
LISTING_FEEDS = ("daily", "weekly", "monthly", "trending")


def listing_feeds(kind: str, category: str | None) -> list[FeedRef]:
    """The feeds of a listing (``kind`` day, week, month or trending) and of the category it is narrowed to."""
    name = PERIOD_FEEDS.get(kind, kind)
    found = [FeedRef(f"{name.capitalize()} papers", f"/feeds/{name}")] if name in LISTING_FEEDS else []
    return found + category_feeds(category)


def category_feeds(category: str | None) -> list[FeedRef]:
    return [FeedRef(f"New in {category}", f"/feeds/category/{quote(category, safe='.')}")] if category else []


def search_feeds(q: str) -> list[FeedRef]:
    return [FeedRef("New papers matching this search", "/feeds/search?q=" + quote_plus(q[:1000]))] if q.strip() else []


def feed_links(feeds: list[FeedRef]) -> list[tuple[str, str, str]]:
    """(title, media type, href) for every format of every feed of a page: its autodiscovery links."""
    links = []
    for feed in feeds:
        base, _, query = feed.path.partition("?")
        for fmt in FORMATS:
            href = f"{base}.{fmt}" + (f"?{query}" if query else "")
            links.append(
                (
                    f"{feed.title} ({fmt.upper() if fmt != 'json' else 'JSON Feed'})",
                    MEDIA_TYPES[fmt].split(";")[0],
                    href,
                )
            )
    return links


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    title: str
    feed_path: str  # with the format suffix and any query: /feeds/author/ada-lovelace.rss
    page_path: str


def render_opml(title: str, groups: list[tuple[str, list[OpmlFeed]]], base_url: str) -> str:
    """An OPML 2.0 subscription list (what feed readers import): one outline per group, one per feed in it."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = xml_safe(title)
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = ElementTree.SubElement(root, "body")
    for group, feeds in groups:
        if not feeds:
            continue
        outline = ElementTree.SubElement(body, "outline", text=group, title=group)
        for feed in feeds:
            name = xml_safe(feed.title)
            attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": xml_safe(base_url + feed.feed_path)}
            ElementTree.SubElement(outline, "outline", attributes, htmlUrl=xml_safe(base_url + feed.page_path))
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
