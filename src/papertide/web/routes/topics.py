"""The topic atlas: ``/topics`` (the map and the list) and ``/topics.json``; ``/topics/{slug}`` with
``.json`` and its feed ``.rss``/``.atom``, and signed-in readers follow or unfollow a topic (POST,
``/topics/{slug}/follow`` and ``/unfollow``). Built by ``web/viewmodels/topics.py`` from what the newest
``papertide topics build`` stored; no request groups anything."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from papertide.services.follows import follow, unfollow
from papertide.web.deps import AppSettings, ReadSession, WriteSession
from papertide.web.rendering.caching import mark_public
from papertide.web.rendering.feeds import FeedRef, FeedSpec, feed_response
from papertide.web.rendering.templating import templates
from papertide.web.security import CurrentUser, SignedIn, enforce_rate_limit
from papertide.web.viewmodels.topics import topic_json, topic_page, topics_json, topics_page

router = APIRouter()
Slug = Annotated[str, Path(max_length=120, pattern=r"^[a-z0-9-]+$")]


@router.get("/topics")
def topics(request: Request, session: ReadSession, user: CurrentUser) -> Response:
    page = topics_page(session, user)
    return templates.TemplateResponse(request, "topics.html", {"page": page})  # marks are the reader's own


@router.get("/topics.json")
def topics_as_json(request: Request, session: ReadSession) -> Response:
    return mark_public(JSONResponse(topics_json(topics_page(session, None))), request)


@router.get("/topics/{slug}.json")
def topic_as_json(request: Request, slug: Slug, session: ReadSession, settings: AppSettings) -> Response:
    page = topic_page(session, slug, None, datetime.now(UTC).date())
    return mark_public(JSONResponse(topic_json(page, settings.base_url)), request)


@router.get("/topics/{slug}.rss")
@router.get("/topics/{slug}.atom")
def topic_feed(request: Request, slug: Slug, session: ReadSession, settings: AppSettings) -> Response:
    page = topic_page(session, slug, None, datetime.now(UTC).date())
    spec = FeedSpec(
        f"papertide: topic “{page.topic.label}”",
        f"{settings.base_url}/topics/{page.topic.slug}",
        page.feed_path,
        page.papers,
    )
    return feed_response(request, spec, "atom" if request.url.path.endswith(".atom") else "rss", settings.base_url)


@router.get("/topics/{slug}")
def topic(request: Request, slug: Slug, session: ReadSession, user: CurrentUser) -> Response:
    page = topic_page(session, slug, user, datetime.now(UTC).date())
    feeds = [FeedRef(f"Topic: {page.topic.label}", page.feed_path)]
    context = {"page": page, "feeds": feeds}
    return templates.TemplateResponse(request, "topic.html", context)


@router.post("/topics/{slug}/follow")
def follow_topic(request: Request, slug: Slug, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    follow(session, user.id, "topic", slug)
    return RedirectResponse(f"/topics/{slug}", status_code=303)


@router.post("/topics/{slug}/unfollow")
def unfollow_topic(request: Request, slug: Slug, session: WriteSession, user: SignedIn) -> Response:
    enforce_rate_limit(request, "write", user.id, session)
    unfollow(session, user.id, "topic", slug)
    return RedirectResponse(f"/topics/{slug}", status_code=303)
