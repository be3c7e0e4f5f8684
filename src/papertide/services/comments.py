"""Comments on papers: a safe Markdown subset (rendered once, sanitized with nh3), math kept for KaTeX.

Math spans (``$…$``, ``$$…$$``, ``\\(…\\)``) are swapped for private-use placeholders before Markdown runs, so
``$a_1 * b_2$`` keeps its underscores and stars, and put back as escaped text for KaTeX to render in the browser.
The two private-use characters the placeholders are made of are stashed the same way when a person types them,
so every placeholder in the rendered text is one this module wrote. Bodies are cleaned of what XML cannot carry
(and PostgreSQL refuses, NUL) before they are stored.
"""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import select
from sqlalchemy.orm import Session

from papertide.models import Comment, Paper, utcnow
from papertide.services.papers import refresh_counters
from papertide.text import xml_safe

MAX_COMMENT = 10_000
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
_OPEN, _CLOSE = "\ue000", "\ue001"
# Math spans, and the placeholder characters themselves: stashing what the person typed keeps it from being read
# back as a placeholder (a lone "\ue0009\ue001" once named a span that did not exist).
_STASHED = re.compile(rf"\$\$.+?\$\$|\$[^$\n]+?\$|\\\(.+?\\\)|\\\[.+?\\\]|[{_OPEN}{_CLOSE}]", re.DOTALL)
_PLACEHOLDER = re.compile(rf"{_OPEN}(\d+){_CLOSE}")
_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr", "h3", "h4"}
_ATTRIBUTES = {"a": {"href", "title"}}


class CommentError(ValueError):
    """The comment cannot be saved or changed; the message says why."""


def render_markdown(text: str) -> str:
    """Markdown → sanitized HTML; raw HTML in the input is shown as text, links get rel=nofollow.

    ``text`` is a body as stored, already without what XML cannot carry (a lone surrogate cannot even be encoded).
    """
    spans: list[str] = []

    def stash(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"{_OPEN}{len(spans) - 1}{_CLOSE}"

    rendered = _markdown.render(_STASHED.sub(stash, text))
    restored = _PLACEHOLDER.sub(lambda m: html.escape(spans[int(m.group(1))], quote=False), rendered)
    return nh3.clean(
        restored,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
    )


def add_comment(session: Session, *, user_id: int, paper_id: int, body: str, parent_id: int | None = None) -> Comment:
    body = _checked(body)
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.paper_id != paper_id:
            raise CommentError("The comment you replied to is not on this paper.")
    if session.get(Paper, paper_id) is None:
        raise CommentError("That paper does not exist.")
    comment = Comment(
        paper_id=paper_id,
        user_id=user_id,
        parent_id=parent_id,
        body=body,
        body_html=render_markdown(body),
        hidden=False,
        deleted=False,
        created_at=utcnow(),
    )
    session.add(comment)
    refresh_counters(session, [paper_id])
    return comment


def edit_comment(session: Session, *, comment_id: int, user_id: int, body: str) -> Comment:
    comment = _own(session, comment_id, user_id)
    comment.body = _checked(body)
    comment.body_html = render_markdown(comment.body)
    comment.edited_at = utcnow()
    return comment


def delete_comment(session: Session, *, comment_id: int, user_id: int) -> Comment:
    """Soft delete: replies keep their place in the thread, the text is gone."""
    comment = _own(session, comment_id, user_id)
    comment.deleted = True
    comment.body = ""
    comment.body_html = ""
    refresh_counters(session, [comment.paper_id])
    return comment


def set_comment_hidden(session: Session, comment_id: int, hidden: bool) -> Comment:
    """Admins hide comments; hidden ones stop counting and are shown to admins only."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise CommentError("That comment does not exist.")
    comment.hidden = hidden
    refresh_counters(session, [comment.paper_id])
    return comment


def _own(session: Session, comment_id: int, user_id: int) -> Comment:
    comment = session.execute(select(Comment).where(Comment.id == comment_id)).scalar_one_or_none()
    if comment is None or comment.deleted:
        raise CommentError("That comment does not exist.")
    if comment.user_id != user_id:
        raise CommentError("You can only change your own comments.")
    return comment


def _checked(body: str) -> str:
    body = xml_safe(body).strip()
    if not body:
        raise CommentError("A comment cannot be empty.")
    if len(body) > MAX_COMMENT:
        raise CommentError(f"A comment is at most {MAX_COMMENT:,} characters; this one has {len(body):,}.")
    return body
