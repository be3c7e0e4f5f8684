"""``/api/docs``: the OpenAPI reference in Swagger UI, served entirely by papertide.

Swagger UI's files come from the ``fastapi-offline`` package (mounted at ``/static/swagger-ui`` by ``create_app``)
and its start-up is ``static/api-docs.js``, not an inline script: the page loads nothing from another host and
runs under the site's own Content-Security-Policy (plus ``data:`` images for Swagger's icons).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from papertide.web.rendering.templating import templates

router = APIRouter()
DOCS_PATH = "/api/docs"
SWAGGER_UI_PATH = "/static/swagger-ui"


def swagger_ui_files() -> Path:
    """The directory of Swagger UI's script and stylesheet inside the installed ``fastapi-offline`` package."""
    return Path(str(resources.files("fastapi_offline") / "static"))


@router.get(DOCS_PATH, include_in_schema=False)
def api_docs(request: Request) -> Response:
    return templates.TemplateResponse(request, "api_docs.html", {"assets": SWAGGER_UI_PATH})
