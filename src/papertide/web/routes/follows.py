"""What a signed-in reader follows: saving a search (a POST from the search page) and dropping it, ``/following``
(their follows with unfollow buttons, and their digest's choices), and ``/following.opml``: every feed they follow
(categories, organizations, authors, topics, saved searches; from their follows and their digest's preferences) as
an OPML list that feed readers import. Authors and topics are followed on their own pages (``routes/authors.py``,
``routes/topics.py``).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from papertide.people import author_key
from papertide.queries.follows import FollowRow, query_follows
from papertide.queries.topics import TopicRow
from papertide.services.follows import follow, live_topics, unfollow
from papertide.services.subscriptions import Preferences, subscriptions_of_user
from papertide.web.deps import AppSettings, ReadSession, WriteSession
from papertide.web.rendering.feeds import OpmlFeed, render_opml
from papertide.web.rendering.templating import templates
from papertide.web.security import SignedIn, enforce_rate_limit
from papertide.web.viewmodels.cards import author_url, query_string

router = APIRouter()
Query = Annotated[str, Form(max_length=1000)]


@router.post("/following/search")
def follow_search(request: Request, session: WriteSession, user: SignedIn, q: Query) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    follow(session, user.id, "search", q)
    return RedirectResponse("/following", status_code=303)


@router.post("/following/search/remove")
def unfollow_search(request: Request, session: WriteSession, user: SignedIn, q: Query) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    unfollow(session, user.id, "search", q)
    return RedirectResponse("/following", status_code=303)


@router.get("/following")
def following_page(request: Request, session: ReadSession, user: SignedIn) -> Response:
    follows = query_follows(session, user.id)
    context = {"follows": follows, "topics": _topics(session, follows), "digests": _digests(session, user.id)}
    return templates.TemplateResponse(request, "following.html", context)


@router.get("/following.opml")
def following_opml(session: ReadSession, settings: AppSettings, user: SignedIn) -> Response:
    body = render_opml(f"papertide: feeds {user.username} follows", _feeds(session, user.id), settings.base_url)
    return Response(
        body,
        media_type="text/x-opml; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="papertide-feeds.opml"',
            "Cache-Control": "private, no-store",
        },
    )


def _feeds(session: Session, user_id: int) -> list[tuple[str, list[OpmlFeed]]]:
    follows = query_follows(session, user_id)
    wanted = _digests(session, user_id)
    authors = {f.key: f.label for f in follows if f.kind == "author"}
    for name in _all(wanted, "authors"):  # as typed into the digest form: the page of the name's key
        authors.setdefault(author_key(name), name)
    authors.pop("", None)
    searches = dict.fromkeys([*(f.key for f in follows if f.kind == "search"), *_all(wanted, "searches")])
    topics = {t.slug: t for _, now in _topics(session, follows) for t in now}  # where each followed topic lives now
    return [
        ("Categories", [_category(c) for c in dict.fromkeys(_all(wanted, "categories"))]),
        ("Organizations", [_organization(o) for o in dict.fromkeys(_all(wanted, "organizations"))]),
        ("Authors", [_author(key, name) for key, name in authors.items()]),
        ("Topics", [_topic(t) for t in topics.values()]),
        ("Saved searches", [_search(q) for q in searches]),
    ]


def _topics(session: Session, follows: list[FollowRow]) -> list[tuple[FollowRow, list[TopicRow]]]:
    """Each followed topic with the live topics it now lives on as (none once it faded)."""
    return [(f, live_topics(session, f.key)) for f in follows if f.kind == "topic"]


def _digests(session: Session, user_id: int) -> list[Preferences]:
    """What the account's active subscriptions receive."""
    return [own.preferences for own in subscriptions_of_user(session, user_id) if own.status == "active"]


def _all(preferences: list[Preferences], field: str) -> list[str]:
    return [value for wanted in preferences for value in getattr(wanted, field)]


def _category(category: str) -> OpmlFeed:
    path = quote(category, safe=".")
    return OpmlFeed(
        f"papertide: new in {category}", f"/feeds/category/{path}.rss", "/search" + query_string(q=f"cat:{category}")
    )


def _organization(name: str) -> OpmlFeed:
    path = quote(name, safe="")
    return OpmlFeed(f"papertide: papers from {name}", f"/feeds/org/{path}.rss", f"/orgs/{path}")


def _author(key: str, name: str) -> OpmlFeed:
    page = author_url(key)
    return OpmlFeed(f"papertide: papers by {name}", "/feeds/author/" + page.removeprefix("/authors/") + ".rss", page)


def _topic(topic: TopicRow) -> OpmlFeed:
    return OpmlFeed(f"papertide: topic “{topic.label}”", f"/topics/{topic.slug}.rss", f"/topics/{topic.slug}")


def _search(query: str) -> OpmlFeed:
    return OpmlFeed(
        f"papertide: search “{query}”", "/feeds/search.rss" + query_string(q=query), "/search" + query_string(q=query)
    )
