"""Security headers on every response (pure ASGI middleware): a Content-Security-Policy and framing ban on HTML,
``nosniff`` and a referrer policy on everything (``web/rendering/policy.py`` says what they are). Installed in
``create_app`` outside the page cache, so cached pages get them too; the API reference under ``docs_prefix`` gets
its own policy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from papertide.web.rendering.policy import CONTENT_SECURITY_POLICY, DOCS_POLICY, with_security_headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, docs_prefix: str | None = None) -> None:
        self.app = app
        self.docs_prefix = docs_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self._policy_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": with_security_headers(list(message.get("headers", [])), policy)}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _policy_for(self, path: str) -> str:
        docs = self.docs_prefix is not None and path.startswith(self.docs_prefix)
        return DOCS_POLICY if docs else CONTENT_SECURITY_POLICY
