"""What a page may load and how a browser must treat it: the Content-Security-Policy, the framing ban, ``nosniff`` and
the referrer policy, added to a response's headers. ``web/middleware/headers.py`` puts them on every response, and
the crash pages that Starlette answers outside every middleware get them from ``web/errors.py``.

The policy allows exactly what the pages use: scripts and styles from this site only (KaTeX, its fonts and
papertide.js are shipped under /static; no inline script, no style attribute in a template, and KaTeX styles
what it renders through the DOM, which a policy does not govern). Images, fonts and fetch() fall under
``default-src 'self'``: there are no remote avatars and KaTeX needs no ``data:`` fonts. The Swagger UI page
(``web/routes/api_docs.py``) is served from this site too; it only adds ``data:`` images, which Swagger's
stylesheet uses for its icons.
"""

from __future__ import annotations

_LOCKED_DOWN = "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
CONTENT_SECURITY_POLICY = f"default-src 'self'; script-src 'self'; style-src 'self'; {_LOCKED_DOWN}"
DOCS_POLICY = f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; {_LOCKED_DOWN}"
_EVERY_RESPONSE = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
_HTML_ONLY = ((b"x-frame-options", b"DENY"),)

Headers = list[tuple[bytes, bytes]]


def with_security_headers(headers: Headers, policy: str) -> Headers:
    """``headers`` plus the security headers it lacks: a response that sets one itself keeps its own."""
    present = {name.lower() for name, _ in headers}
    wanted = list(_EVERY_RESPONSE)
    if _is_html(headers):
        wanted += [*_HTML_ONLY, (b"content-security-policy", policy.encode())]
    return headers + [(name, value) for name, value in wanted if name not in present]


def _is_html(headers: Headers) -> bool:
    return any(name.lower() == b"content-type" and value.lower().startswith(b"text/html") for name, value in headers)
