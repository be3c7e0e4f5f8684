"""How a response says the page cache (``web/middleware/pagecache.py``) may keep it: a route marks what an anonymous
visitor got, and the middleware keeps only what is marked (and strips the mark before it leaves)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

MARKER = b"x-page-cache"


def mark_public(response: Response, request: Request) -> Response:
    """Let the cache keep this response when the visitor is anonymous (the page then holds no personal data)."""
    if getattr(request.state, "user", None) is None:
        response.headers[MARKER.decode()] = "public"
    return response
