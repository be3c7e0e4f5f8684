"""Security headers on every response (pure ASGI middleware): a Content-Security-Policy and framing ban on HTML,
``nosniff`` and a referrer policy on everything. Installed in ``create_app`` outside the page cache, so cached
pages get them too.

The policy allows exactly what the pages use: scripts and styles from this site only (KaTeX, its fonts and
papertide.js are shipped under /static; no inline script, no style attribute in a template, and KaTeX styles
what it renders through the DOM, which a policy does not govern). Images, fonts and fetch() fall under
``default-src 'self'``: there are no remote avatars and KaTeX needs no ``data:`` fonts. The Swagger UI page under
``docs_prefix`` is served from this site too (``web/routes/api_docs.py``); it only adds ``data:`` images, which
Swagger's stylesheet uses for its icons.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LOCKED_DOWN = "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
CONTENT_SECURITY_POLICY = f"default-src 'self'; script-src 'self'; style-src 'self'; {_LOCKED_DOWN}"
DOCS_POLICY = f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; {_LOCKED_DOWN}"
_EVERY_RESPONSE = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
_HTML_ONLY = ((b"x-frame-options", b"DENY"),)

Headers = list[tuple[bytes, bytes]]


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


def with_security_headers(headers: Headers, policy: str) -> Headers:
    """``headers`` plus the security headers it lacks: a response that sets one itself keeps its own."""
    present = {name.lower() for name, _ in headers}
    wanted = list(_EVERY_RESPONSE)
    if _is_html(headers):
        wanted += [*_HTML_ONLY, (b"content-security-policy", policy.encode())]
    return headers + [(name, value) for name, value in wanted if name not in present]


def _is_html(headers: Headers) -> bool:
    return any(name.lower() == b"content-type" and value.lower().startswith(b"text/html") for name, value in headers)
