"""ASGI middleware, outermost first as ``create_app`` installs it: request metrics, security headers, the page
cache, the session cookie and the guard (body limits, NUL characters, CSRF); and what they share (CSRF tokens,
the access log's redaction)."""
