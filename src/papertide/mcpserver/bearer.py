"""The token an MCP request carries, and what it is told when the token is no good: the part of authentication
that needs no SDK, so that ``endpoint.py`` can refuse an unknown token before the SDK is loaded and ``caller.py``
say the same words to a tool call."""

from __future__ import annotations

from collections.abc import Mapping

TOKEN_ADVICE = "Create a personal access token in Settings → API tokens and add it to your MCP client's configuration."
UNKNOWN_TOKEN = f"That API token is unknown or revoked. {TOKEN_ADVICE}"


def bearer(headers: Mapping[str, str] | None) -> str | None:
    """The bearer token of an HTTP request's headers (lower-case names), None without one (the web guard has
    already refused a request with two ``Authorization`` headers)."""
    value = (headers or {}).get("authorization", "")
    if value[:7].lower() != "bearer ":
        return None
    return value[7:].strip() or None
