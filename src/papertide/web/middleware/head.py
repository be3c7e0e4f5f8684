"""HEAD answered as GET without the body (pure ASGI middleware). FastAPI's routes answer only the methods they
declare, so without this every page, feed and API read answered HEAD with 405, which link checkers, caches and
feed readers that probe with HEAD read as a dead link. The headers (Content-Length, ETag, caching) are those of
the GET, as RFC 9110 §9.3.2 asks; a route that has no GET still answers 405.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
