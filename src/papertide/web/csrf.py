"""CSRF tokens: one per session, created on first use, checked on every state-changing request.

The token travels in the ``X-CSRF-Token`` header (scripts) or the ``csrf_token`` form field (plain HTML forms,
url-encoded or, for an upload, multipart).
:class:`papertide.web.security.GuardMiddleware` does the checking; templates print the token through
:mod:`papertide.web.rendering.templating`.
"""

from __future__ import annotations

import secrets
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs

from fastapi import Request
from starlette.types import Scope

CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (so anonymous forms such as log-in carry one too)."""
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return str(token)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(scope: Scope, headers: dict[bytes, bytes], body: bytes) -> bool:
    """Whether the request carries its session's token, in the header or in a form body."""
    expected = scope.get("session", {}).get("csrf")
    if not expected:
        return False
    provided = headers.get(CSRF_HEADER, b"").decode("latin-1")
    content_type = headers.get(b"content-type", b"")
    if not provided and content_type.startswith(b"application/x-www-form-urlencoded"):
        try:
            values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=200).get(CSRF_FIELD, [""])
        except ValueError:  # more fields than any form of ours has: no form of ours
            return False
        provided = values[0]
    elif not provided and content_type.startswith(b"multipart/form-data"):
        provided = _multipart_field(content_type, body, CSRF_FIELD)
    return bool(provided) and secrets.compare_digest(provided, str(expected))


def _multipart_field(content_type: bytes, body: bytes, name: str) -> str:
    """The value of the text field ``name`` in a multipart/form-data body (an upload form's token), or ""."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type + b"\r\n\r\n" + body)
    if not message.is_multipart():
        return ""
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name and part.get_filename() is None:
            value = part.get_payload(decode=True)
            return value.decode("utf-8", "replace").strip() if isinstance(value, bytes) else ""
    return ""
