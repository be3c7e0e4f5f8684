"""Importing a library from the browser: ``/collections/import`` shows the upload form and answers an upload
(multipart, CSRF-checked by the guard, up to the import's own size limit) with the import's report.

The route fetches unknown papers from arXiv, so it takes the :data:`AppDatabase` and calls the verb that keeps its
transactions short (``services/library_import.py``); a refused file is a 400 with the reason on the same form.
Imports have a limit of their own per account and hour (``PAPERTIDE_RATE_LIMIT_IMPORTS_PER_HOUR``): the reading
of one file is bounded (``services/library_files.py``), the number of files is bounded here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from papertide.queries.collections import query_collections_of
from papertide.services.library_files import MAX_BYTES
from papertide.services.library_import import ImportRefused, ImportReport, import_library
from papertide.web.deps import AppDatabase, AppSettings
from papertide.web.rendering.templating import templates
from papertide.web.security import SignedIn, enforce_rate_limit

router = APIRouter()
# The multipart envelope around the file and the form's few fields.
UPLOAD_LIMIT = MAX_BYTES + 64 * 1024


def _page(
    request: Request,
    database: AppDatabase,
    username: str,
    user_id: int,
    report: ImportReport | None,
    error: str | None,
    status: int,
) -> Response:
    with database.read_session() as session:
        own = [c for c in query_collections_of(session, username, user_id) if c.owner == username]
    context = {"collections": own, "report": report, "error": error, "max_bytes": MAX_BYTES}
    return templates.TemplateResponse(request, "library_import.html", context, status_code=status)


@router.get("/collections/import")
def import_form(request: Request, database: AppDatabase, user: SignedIn) -> Response:
    return _page(request, database, user.username, user.id, None, None, 200)


@router.post("/collections/import")
def import_upload(
    request: Request,
    database: AppDatabase,
    settings: AppSettings,
    user: SignedIn,
    file: Annotated[UploadFile, File(description="A .bib, .ris or CSL-JSON export")],
    collection: Annotated[str, Form(max_length=100)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    enforce_rate_limit(request, "write", user.id)
    enforce_rate_limit(request, "import", user.id)
    data = file.file.read(MAX_BYTES + 1)
    try:
        report = import_library(
            database,
            settings,
            owner_id=user.id,
            data=data,
            filename=file.filename or "",
            collection_slug=collection or None,
            new_title=title.strip() or None,
        )
    except ImportRefused as error:
        return _page(request, database, user.username, user.id, None, str(error), 400)
    return _page(request, database, user.username, user.id, report, None, 200)
