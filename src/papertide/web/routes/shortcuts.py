"""Short forms people type or guess, each a permanent redirect to its page (issue 33: ``/trending`` was a 404):
the listings by their everyday names and a few paths other paper sites use. The query string goes along, so
``/trending?page=2`` lands on the second page."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

router = APIRouter()

SHORT_FORMS: Final = {
    "/trending": "/papers/trending",
    "/papers": "/",
    "/daily": "/",
    "/papers/daily": "/",
    "/today": "/",
    "/week": "/papers/week",
    "/weekly": "/papers/week",
    "/papers/weekly": "/papers/week",
    "/month": "/papers/month",
    "/monthly": "/papers/month",
    "/papers/monthly": "/papers/month",
    "/papers/search": "/search",
    "/register": "/signup",
}


def _redirect(request: Request) -> RedirectResponse:
    target = SHORT_FORMS[request.url.path]
    query = request.url.query
    return RedirectResponse(f"{target}?{query}" if query else target, status_code=301)


for _path in SHORT_FORMS:
    router.add_api_route(_path, _redirect, methods=["GET"], include_in_schema=False)
